//! Cycles (クール) and the supply registered for them.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::{CycleSupply, Cycles};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct CycleRow {
    pub id: String,
    pub number: i64,
    /// e.g. `ファイザー_クール010`.
    pub name: String,
    pub vaccine_id: String,
    pub needle_id: Option<String>,
    pub syringe_id: Option<String>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub deadline_prefecture: NaiveDate,
    pub deadline_municipality: NaiveDate,
    pub deadline_site: NaiveDate,
    /// `standard` or `priority`.
    #[sqlx(try_from = "String")]
    pub chain: vsys_domain::chain::Chain,
    /// The presentation in force for this cycle (a later change does not rewrite it).
    pub doses_per_vial: i64,
    pub vials_per_box: i64,
    /// Allocation unit to sites: `box` or `vial` (upper levels always divide boxes).
    #[sqlx(try_from = "String")]
    pub unit_site: vsys_domain::units::Unit,
    /// JSON: the auto-fill formula of each level.
    #[sqlx(try_from = "String")]
    pub formulas: vsys_domain::allocation::Formulas,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const COLUMNS: [Cycles; 19] = [
    Cycles::Id,
    Cycles::Number,
    Cycles::Name,
    Cycles::VaccineId,
    Cycles::NeedleId,
    Cycles::SyringeId,
    Cycles::PeriodStart,
    Cycles::PeriodEnd,
    Cycles::DeadlinePrefecture,
    Cycles::DeadlineMunicipality,
    Cycles::DeadlineSite,
    Cycles::Chain,
    Cycles::DosesPerVial,
    Cycles::VialsPerBox,
    Cycles::UnitSite,
    Cycles::Formulas,
    Cycles::CreatedAt,
    Cycles::UpdatedAt,
    Cycles::Version,
];

fn columns() -> [Cycles; 19] {
    COLUMNS
}

fn select() -> SelectStatement {
    Query::select()
        .columns(columns())
        .from(Cycles::Table)
        .to_owned()
}

pub async fn insert(tx: &mut Tx, c: &CycleRow) -> StoreResult<()> {
    // Divisions show their cycle: their read caches follow this signal.
    crate::coordination::bump(tx, crate::coordination::ALLOCATIONS).await?;
    tx.exec(
        &Query::insert()
            .into_table(Cycles::Table)
            .columns(columns())
            .values_panic([
                c.id.clone().into(),
                c.number.into(),
                c.name.clone().into(),
                c.vaccine_id.clone().into(),
                c.needle_id.clone().into(),
                c.syringe_id.clone().into(),
                c.period_start.into(),
                c.period_end.into(),
                c.deadline_prefecture.into(),
                c.deadline_municipality.into(),
                c.deadline_site.into(),
                c.chain.as_str().into(),
                c.doses_per_vial.into(),
                c.vials_per_box.into(),
                c.unit_site.as_str().into(),
                c.formulas.to_stored().into(),
                c.created_at.into(),
                c.updated_at.into(),
                c.version.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<CycleRow>> {
    tx.opt(&select().and_where(Expr::col(Cycles::Id).eq(id)).to_owned())
        .await
}

/// Newest first.
pub async fn list(tx: &mut Tx, page: crate::Page) -> StoreResult<(Vec<CycleRow>, i64)> {
    let total = tx
        .count(
            &Query::select()
                .expr(Expr::col(Cycles::Id).count())
                .from(Cycles::Table)
                .to_owned(),
        )
        .await?;
    let rows = tx
        .all(
            &select()
                .order_by(Cycles::Number, Order::Desc)
                .order_by(Cycles::Name, Order::Asc)
                .limit(page.limit())
                .offset(page.offset())
                .to_owned(),
        )
        .await?;
    Ok((rows, total))
}

/// Writes the formulas if the version is still current.
pub async fn update_formulas(
    tx: &mut Tx,
    id: &str,
    version: i64,
    formulas: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    crate::coordination::bump(tx, crate::coordination::ALLOCATIONS).await?;
    let n = tx
        .exec(
            &Query::update()
                .table(Cycles::Table)
                .values([
                    (Cycles::Formulas, formulas.into()),
                    (Cycles::UpdatedAt, now.into()),
                    (Cycles::Version, (version + 1).into()),
                ])
                .and_where(Expr::col(Cycles::Id).eq(id))
                .and_where(Expr::col(Cycles::Version).eq(version))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(version + 1)
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct SupplyRow {
    pub cycle_id: String,
    pub supplier_code: String,
    pub product_id: String,
    /// Boxes of vaccine, or packs of needles/syringes.
    pub quantity: i64,
    pub updated_at: DateTime<Utc>,
}

pub async fn put_supply(tx: &mut Tx, s: &SupplyRow) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::ALLOCATIONS).await?;
    tx.exec(
        &Query::insert()
            .into_table(CycleSupply::Table)
            .columns([
                CycleSupply::CycleId,
                CycleSupply::SupplierCode,
                CycleSupply::ProductId,
                CycleSupply::Quantity,
                CycleSupply::UpdatedAt,
            ])
            .values_panic([
                s.cycle_id.clone().into(),
                s.supplier_code.clone().into(),
                s.product_id.clone().into(),
                s.quantity.into(),
                s.updated_at.into(),
            ])
            .on_conflict(
                OnConflict::columns([
                    CycleSupply::CycleId,
                    CycleSupply::SupplierCode,
                    CycleSupply::ProductId,
                ])
                .update_columns([CycleSupply::Quantity, CycleSupply::UpdatedAt])
                .to_owned(),
            )
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn supply(tx: &mut Tx, cycle_id: &str) -> StoreResult<Vec<SupplyRow>> {
    tx.all(
        &Query::select()
            .columns([
                CycleSupply::CycleId,
                CycleSupply::SupplierCode,
                CycleSupply::ProductId,
                CycleSupply::Quantity,
                CycleSupply::UpdatedAt,
            ])
            .from(CycleSupply::Table)
            .and_where(Expr::col(CycleSupply::CycleId).eq(cycle_id))
            .order_by(CycleSupply::SupplierCode, Order::Asc)
            .order_by(CycleSupply::ProductId, Order::Asc)
            .to_owned(),
    )
    .await
}

/// A cycle named for people: its number and the name of its vaccine (e.g. 第10クール
/// コミナティ筋注).
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct CycleLabelRow {
    pub id: String,
    pub number: i64,
    pub vaccine_name: String,
}

/// The labels of these cycles, in one statement (a page's references resolved at once).
pub async fn labels(tx: &mut Tx, ids: &[&str]) -> StoreResult<Vec<CycleLabelRow>> {
    use crate::schema::Products as P;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.all(
        &Query::select()
            .columns([(Cycles::Table, Cycles::Id), (Cycles::Table, Cycles::Number)])
            .expr_as(
                Expr::col((P::Table, P::Name)),
                sea_query::Alias::new("vaccine_name"),
            )
            .from(Cycles::Table)
            .inner_join(
                P::Table,
                Expr::col((P::Table, P::Id)).equals((Cycles::Table, Cycles::VaccineId)),
            )
            .and_where(Expr::col((Cycles::Table, Cycles::Id)).is_in(ids.iter().copied()))
            .to_owned(),
    )
    .await
}
