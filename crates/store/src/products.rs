//! Product masters (vaccines, needles, syringes), their presentations over time, and the
//! nation's supply rules.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::{Presentations, Products, SupplyRules};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct ProductRow {
    pub id: String,
    /// `vaccine`, `needle` or `syringe`.
    #[sqlx(try_from = "String")]
    pub kind: vsys_domain::product::ProductKind,
    /// The manufacturer (vaccines) or needle/syringe warehouse that maintains the master.
    pub owner_code: String,
    pub name: String,
    /// e.g. `シリンジ(0.1mL×100本)`.
    pub spec: Option<String>,
    /// `ultra_cold` (−90~−60℃), `frozen` (−25~−15℃) or `fridge` (2~8℃); vaccines only.
    pub storage_class: Option<String>,
    pub days_after_thaw: Option<i64>,
    pub needs_dry_ice: bool,
    /// Needles/syringes per pack.
    pub units_per_pack: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const COLUMNS: [Products; 12] = [
    Products::Id,
    Products::Kind,
    Products::OwnerCode,
    Products::Name,
    Products::Spec,
    Products::StorageClass,
    Products::DaysAfterThaw,
    Products::NeedsDryIce,
    Products::UnitsPerPack,
    Products::CreatedAt,
    Products::UpdatedAt,
    Products::Version,
];

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(Products::Table)
        .to_owned()
}

pub async fn insert(tx: &mut Tx, p: &ProductRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(Products::Table)
            .columns(COLUMNS)
            .values_panic([
                p.id.clone().into(),
                p.kind.as_str().into(),
                p.owner_code.clone().into(),
                p.name.clone().into(),
                p.spec.clone().into(),
                p.storage_class.clone().into(),
                p.days_after_thaw.into(),
                p.needs_dry_ice.into(),
                p.units_per_pack.into(),
                p.created_at.into(),
                p.updated_at.into(),
                p.version.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Writes the mutable fields if the stored version is still `p.version`.
pub async fn update(tx: &mut Tx, p: &ProductRow) -> StoreResult<ProductRow> {
    let n = tx
        .exec(
            &Query::update()
                .table(Products::Table)
                .values([
                    (Products::Name, p.name.clone().into()),
                    (Products::Spec, p.spec.clone().into()),
                    (Products::StorageClass, p.storage_class.clone().into()),
                    (Products::DaysAfterThaw, p.days_after_thaw.into()),
                    (Products::NeedsDryIce, p.needs_dry_ice.into()),
                    (Products::UnitsPerPack, p.units_per_pack.into()),
                    (Products::UpdatedAt, p.updated_at.into()),
                    (Products::Version, (p.version + 1).into()),
                ])
                .and_where(Expr::col(Products::Id).eq(p.id.as_str()))
                .and_where(Expr::col(Products::Version).eq(p.version))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(if get(tx, &p.id).await?.is_some() {
            StoreError::Conflict
        } else {
            StoreError::NotFound
        });
    }
    Ok(ProductRow {
        version: p.version + 1,
        ..p.clone()
    })
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<ProductRow>> {
    tx.opt(
        &select()
            .and_where(Expr::col(Products::Id).eq(id))
            .to_owned(),
    )
    .await
}

pub async fn list(tx: &mut Tx, kind: Option<&str>) -> StoreResult<Vec<ProductRow>> {
    let mut q = select();
    if let Some(k) = kind {
        q.and_where(Expr::col(Products::Kind).eq(k));
    }
    tx.all(
        &q.order_by(Products::Kind, Order::Desc)
            .order_by(Products::Name, Order::Asc)
            .to_owned(),
    )
    .await
}

/// A vaccine's doses per vial and vials per box, valid from a cycle number on.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct PresentationRow {
    pub product_id: String,
    pub from_cycle: i64,
    pub doses_per_vial: i64,
    pub vials_per_box: i64,
}

/// Records a presentation valid from `from_cycle` (replacing one recorded for the same cycle).
pub async fn put_presentation(tx: &mut Tx, p: &PresentationRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(Presentations::Table)
            .columns(PRESENTATION_COLUMNS)
            .values_panic([
                p.product_id.clone().into(),
                p.from_cycle.into(),
                p.doses_per_vial.into(),
                p.vials_per_box.into(),
            ])
            .on_conflict(
                OnConflict::columns([Presentations::ProductId, Presentations::FromCycle])
                    .update_columns([Presentations::DosesPerVial, Presentations::VialsPerBox])
                    .to_owned(),
            )
            .to_owned(),
    )
    .await?;
    Ok(())
}

const PRESENTATION_COLUMNS: [Presentations; 4] = [
    Presentations::ProductId,
    Presentations::FromCycle,
    Presentations::DosesPerVial,
    Presentations::VialsPerBox,
];

/// Every presentation of a product, oldest first.
fn select_presentations() -> sea_query::SelectStatement {
    Query::select()
        .columns(PRESENTATION_COLUMNS)
        .from(Presentations::Table)
        .order_by(Presentations::ProductId, Order::Asc)
        .order_by(Presentations::FromCycle, Order::Asc)
        .to_owned()
}

pub async fn presentations(tx: &mut Tx, product_id: &str) -> StoreResult<Vec<PresentationRow>> {
    tx.all(
        &select_presentations()
            .and_where(Expr::col(Presentations::ProductId).eq(product_id))
            .to_owned(),
    )
    .await
}

/// Every product's presentations, by product and first cycle.
pub async fn all_presentations(tx: &mut Tx) -> StoreResult<Vec<PresentationRow>> {
    tx.all(&select_presentations()).await
}

/// The presentation in force for a cycle number: the latest one starting at or before it.
pub async fn presentation_for(
    tx: &mut Tx,
    product_id: &str,
    cycle: i64,
) -> StoreResult<Option<PresentationRow>> {
    tx.opt(
        &Query::select()
            .columns(PRESENTATION_COLUMNS)
            .from(Presentations::Table)
            .and_where(Expr::col(Presentations::ProductId).eq(product_id))
            .and_where(Expr::col(Presentations::FromCycle).lte(cycle))
            .order_by(Presentations::FromCycle, Order::Desc)
            .limit(1)
            .to_owned(),
    )
    .await
}

/// The nation's supply rules (one row, id `current`).
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct SupplyRulesRow {
    pub id: String,
    /// Needles per dose × 1000 (1000 = one needle per dose; 1100 = 10 % extra).
    pub needles_per_dose_milli: i64,
    pub syringes_per_dose_milli: i64,
    /// `up`, `nearest` or `down`: how needle/syringe counts round to whole packs.
    pub pack_rounding: String,
    /// Dry ice per box in transport, grams, by storage class.
    pub dry_ice_grams_ultra_cold: i64,
    pub dry_ice_grams_frozen: i64,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const RULE_COLUMNS: [SupplyRules; 8] = [
    SupplyRules::Id,
    SupplyRules::NeedlesPerDoseMilli,
    SupplyRules::SyringesPerDoseMilli,
    SupplyRules::PackRounding,
    SupplyRules::DryIceGramsUltraCold,
    SupplyRules::DryIceGramsFrozen,
    SupplyRules::UpdatedAt,
    SupplyRules::Version,
];

pub async fn rules(tx: &mut Tx) -> StoreResult<Option<SupplyRulesRow>> {
    tx.opt(
        &Query::select()
            .columns(RULE_COLUMNS)
            .from(SupplyRules::Table)
            .and_where(Expr::col(SupplyRules::Id).eq("current"))
            .to_owned(),
    )
    .await
}

/// Writes the rules; `expected_version` `None` creates them.
pub async fn put_rules(
    tx: &mut Tx,
    r: &SupplyRulesRow,
    expected_version: Option<i64>,
) -> StoreResult<SupplyRulesRow> {
    match expected_version {
        None => {
            tx.exec(
                &Query::insert()
                    .into_table(SupplyRules::Table)
                    .columns(RULE_COLUMNS)
                    .values_panic([
                        "current".into(),
                        r.needles_per_dose_milli.into(),
                        r.syringes_per_dose_milli.into(),
                        r.pack_rounding.clone().into(),
                        r.dry_ice_grams_ultra_cold.into(),
                        r.dry_ice_grams_frozen.into(),
                        r.updated_at.into(),
                        0i64.into(),
                    ])
                    .to_owned(),
            )
            .await?;
            Ok(SupplyRulesRow {
                id: "current".into(),
                version: 0,
                ..r.clone()
            })
        }
        Some(v) => {
            let n = tx
                .exec(
                    &Query::update()
                        .table(SupplyRules::Table)
                        .values([
                            (
                                SupplyRules::NeedlesPerDoseMilli,
                                r.needles_per_dose_milli.into(),
                            ),
                            (
                                SupplyRules::SyringesPerDoseMilli,
                                r.syringes_per_dose_milli.into(),
                            ),
                            (SupplyRules::PackRounding, r.pack_rounding.clone().into()),
                            (
                                SupplyRules::DryIceGramsUltraCold,
                                r.dry_ice_grams_ultra_cold.into(),
                            ),
                            (
                                SupplyRules::DryIceGramsFrozen,
                                r.dry_ice_grams_frozen.into(),
                            ),
                            (SupplyRules::UpdatedAt, r.updated_at.into()),
                            (SupplyRules::Version, (v + 1).into()),
                        ])
                        .and_where(Expr::col(SupplyRules::Id).eq("current"))
                        .and_where(Expr::col(SupplyRules::Version).eq(v))
                        .to_owned(),
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Conflict);
            }
            Ok(SupplyRulesRow {
                id: "current".into(),
                version: v + 1,
                ..r.clone()
            })
        }
    }
}
