//! Product masters and the nation's supply rules. Manufacturers and needle/syringe warehouses
//! maintain their own products; the nation maintains all of them and the supply rules.

use crate::App;
use crate::audit::record;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use serde::Deserialize;
use vsys_domain::Capability;
use vsys_domain::{Action, Invalid, Msg, OrgKind, ProductKind};
use vsys_store::products::{self, PresentationRow, ProductRow, SupplyRulesRow};
use vsys_store::{Tx, orgs};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProductInput {
    /// `vaccine`, `needle` or `syringe`.
    pub kind: ProductKind,
    /// The maintaining manufacturer (vaccines) or warehouse (needles, syringes); default: mine.
    pub owner_code: Option<String>,
    pub name: String,
    pub spec: Option<String>,
    /// `ultra_cold` (−90~−60℃), `frozen` (−25~−15℃), `fridge` (2~8℃).
    pub storage_class: Option<String>,
    pub days_after_thaw: Option<i64>,
    #[serde(default)]
    pub needs_dry_ice: bool,
    pub units_per_pack: Option<i64>,
    /// Vaccines: doses per vial and vials per box, valid from cycle `from_cycle` (default 1).
    pub doses_per_vial: Option<i64>,
    pub vials_per_box: Option<i64>,
    pub from_cycle: Option<i64>,
}

const STORAGE: [&str; 3] = ["ultra_cold", "frozen", "fridge"];

fn validate(p: &ProductInput) -> Result<(), Invalid> {
    let mut inv = Invalid::default();
    if p.name.trim().is_empty() || p.name.chars().count() > 200 {
        inv.push("name", Msg::Required);
    }
    if p.kind == ProductKind::Vaccine {
        if !p
            .storage_class
            .as_deref()
            .is_some_and(|s| STORAGE.contains(&s))
        {
            inv.push("storage_class", Msg::InvalidInput);
        }
        if !p.doses_per_vial.is_some_and(|d| (1..=100).contains(&d)) {
            inv.push("doses_per_vial", Msg::InvalidInput);
        }
        if !p.vials_per_box.is_some_and(|v| (1..=10_000).contains(&v)) {
            inv.push("vials_per_box", Msg::InvalidInput);
        }
    } else if !p.units_per_pack.is_some_and(|u| (1..=100_000).contains(&u)) {
        inv.push("units_per_pack", Msg::InvalidInput);
    }
    if p.days_after_thaw.is_some_and(|d| !(0..=365).contains(&d)) {
        inv.push("days_after_thaw", Msg::InvalidInput);
    }
    inv.into_result()
}

/// May the actor maintain products owned by `owner`?
async fn require_owner(
    tx: &mut Tx,
    actor: &Actor,
    owner: &str,
    kind: ProductKind,
) -> AppResult<()> {
    let org = orgs::get(tx, owner)
        .await?
        .ok_or_else(|| AppError::invalid("owner_code", Msg::UnknownOrg))?;
    let fits = match kind {
        ProductKind::Vaccine => org.kind == OrgKind::Manufacturer,
        ProductKind::Needle | ProductKind::Syringe => org.kind == OrgKind::SyringeWarehouse,
    };
    if !fits {
        return Err(AppError::invalid("owner_code", Msg::InvalidOrgCode));
    }
    actor.require(Action::Write, &org.path)
}

pub async fn list(app: &App, actor: &Actor, kind: Option<&str>) -> AppResult<Vec<ProductRow>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    Ok(products::list(&mut tx, kind).await?)
}

/// Products with the presentation in force now (the latest), for the product list.
pub async fn list_current(
    app: &App,
    actor: &Actor,
) -> AppResult<Vec<(ProductRow, Option<PresentationRow>)>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    let mut latest: std::collections::HashMap<String, PresentationRow> =
        std::collections::HashMap::new();
    for p in products::all_presentations(&mut tx).await? {
        latest.insert(p.product_id.clone(), p);
    }
    Ok(products::list(&mut tx, None)
        .await?
        .into_iter()
        .map(|p| {
            let current = latest.remove(&p.id);
            (p, current)
        })
        .collect())
}

pub async fn get(
    app: &App,
    actor: &Actor,
    id: &str,
) -> AppResult<(ProductRow, Vec<PresentationRow>)> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    let p = products::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let pres = products::presentations(&mut tx, id).await?;
    Ok((p, pres))
}

pub async fn create(app: &App, actor: &Actor, p: &ProductInput) -> AppResult<ProductRow> {
    validate(p)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let owner = p
        .owner_code
        .clone()
        .unwrap_or_else(|| actor.org_code().to_owned());
    require_owner(&mut tx, actor, &owner, p.kind).await?;
    let row = insert_product(&mut tx, &actor.into(), now, &owner, p).await?;
    tx.commit().await?;
    Ok(row)
}

/// Writes a validated product and its presentation, audited, in the caller's transaction
/// (the caller has authorised `who`).
pub(crate) async fn insert_product(
    tx: &mut Tx,
    who: &crate::audit::Who,
    now: chrono::DateTime<chrono::Utc>,
    owner: &str,
    p: &ProductInput,
) -> AppResult<ProductRow> {
    let row = ProductRow {
        id: uuid::Uuid::now_v7().to_string(),
        kind: p.kind,
        owner_code: owner.to_owned(),
        name: p.name.trim().to_owned(),
        spec: p.spec.clone().filter(|s| !s.trim().is_empty()),
        storage_class: p
            .storage_class
            .clone()
            .filter(|_| p.kind == ProductKind::Vaccine),
        days_after_thaw: p.days_after_thaw,
        needs_dry_ice: p.needs_dry_ice,
        units_per_pack: p.units_per_pack.filter(|_| p.kind != ProductKind::Vaccine),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    products::insert(tx, &row).await?;
    if let Some((d, v)) = p.doses_per_vial.zip(p.vials_per_box) {
        let pres = PresentationRow {
            product_id: row.id.clone(),
            from_cycle: p.from_cycle.unwrap_or(1).max(1),
            doses_per_vial: d,
            vials_per_box: v,
        };
        products::put_presentation(tx, &pres).await?;
    }
    record(
        tx,
        who,
        now,
        "product.create",
        "product",
        &row.id,
        None::<&()>,
        Some(&(&row, p.doses_per_vial, p.vials_per_box)),
    )
    .await?;
    Ok(row)
}

/// Changes a product (If-Match `version`). A new doses-per-vial or vials-per-box applies from
/// `from_cycle` on; cycles already created keep the presentation they were created with.
pub async fn update(
    app: &App,
    actor: &Actor,
    id: &str,
    version: i64,
    p: &ProductInput,
) -> AppResult<ProductRow> {
    validate(p)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let before = products::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    require_owner(&mut tx, actor, &before.owner_code, before.kind).await?;
    if before.version != version {
        return Err(AppError::Conflict);
    }
    let after = products::update(
        &mut tx,
        &ProductRow {
            name: p.name.trim().to_owned(),
            spec: p.spec.clone().filter(|s| !s.trim().is_empty()),
            storage_class: p
                .storage_class
                .clone()
                .filter(|_| before.kind == ProductKind::Vaccine),
            days_after_thaw: p.days_after_thaw,
            needs_dry_ice: p.needs_dry_ice,
            units_per_pack: p
                .units_per_pack
                .filter(|_| before.kind != ProductKind::Vaccine),
            updated_at: now,
            ..before.clone()
        },
    )
    .await?;
    if let Some((d, v)) = p.doses_per_vial.zip(p.vials_per_box) {
        // A different presentation needs the cycle it applies from; the same one changes nothing.
        let current = products::presentations(&mut tx, id).await?.pop();
        let unchanged = current
            .as_ref()
            .is_some_and(|c| c.doses_per_vial == d && c.vials_per_box == v);
        if !unchanged && p.from_cycle.is_none() {
            return Err(AppError::invalid("from_cycle", Msg::Required));
        }
        let from = p
            .from_cycle
            .or(current.map(|c| c.from_cycle))
            .unwrap_or(1)
            .max(1);
        let pres = PresentationRow {
            product_id: id.to_owned(),
            from_cycle: from,
            doses_per_vial: d,
            vials_per_box: v,
        };
        products::put_presentation(&mut tx, &pres).await?;
    }
    record(
        &mut tx,
        &actor.into(),
        now,
        "product.update",
        "product",
        id,
        Some(&before),
        Some(&(&after, p.doses_per_vial, p.vials_per_box, p.from_cycle)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The rules in force (defaults until the nation sets them).
pub fn default_rules(now: chrono::DateTime<chrono::Utc>) -> SupplyRulesRow {
    SupplyRulesRow {
        id: "current".into(),
        needles_per_dose_milli: 1000,
        syringes_per_dose_milli: 1000,
        pack_rounding: "up".into(),
        dry_ice_grams_ultra_cold: 10_000,
        dry_ice_grams_frozen: 5_000,
        updated_at: now,
        version: -1,
    }
}

pub async fn rules(app: &App, actor: &Actor) -> AppResult<SupplyRulesRow> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    Ok(products::rules(&mut tx)
        .await?
        .unwrap_or_else(|| default_rules(app.clock.now())))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RulesInput {
    pub needles_per_dose_milli: i64,
    pub syringes_per_dose_milli: i64,
    pub pack_rounding: String,
    pub dry_ice_grams_ultra_cold: i64,
    pub dry_ice_grams_frozen: i64,
}

/// Sets the supply rules (the nation's operators and admins). `version` −1 when none exist yet.
pub async fn set_rules(
    app: &App,
    actor: &Actor,
    version: i64,
    r: &RulesInput,
) -> AppResult<SupplyRulesRow> {
    actor.require_can(Capability::ManageProgramme)?;
    let mut inv = Invalid::default();
    for (f, v) in [
        ("needles_per_dose_milli", r.needles_per_dose_milli),
        ("syringes_per_dose_milli", r.syringes_per_dose_milli),
    ] {
        if !(0..=10_000).contains(&v) {
            inv.push(f, Msg::InvalidInput);
        }
    }
    if !matches!(r.pack_rounding.as_str(), "up" | "nearest" | "down") {
        inv.push("pack_rounding", Msg::InvalidInput);
    }
    for (f, v) in [
        ("dry_ice_grams_ultra_cold", r.dry_ice_grams_ultra_cold),
        ("dry_ice_grams_frozen", r.dry_ice_grams_frozen),
    ] {
        if !(0..=1_000_000).contains(&v) {
            inv.push(f, Msg::InvalidInput);
        }
    }
    inv.into_result()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let before = products::rules(&mut tx).await?;
    if before.as_ref().map(|b| b.version).unwrap_or(-1) != version {
        return Err(AppError::Conflict);
    }
    let row = SupplyRulesRow {
        id: "current".into(),
        needles_per_dose_milli: r.needles_per_dose_milli,
        syringes_per_dose_milli: r.syringes_per_dose_milli,
        pack_rounding: r.pack_rounding.clone(),
        dry_ice_grams_ultra_cold: r.dry_ice_grams_ultra_cold,
        dry_ice_grams_frozen: r.dry_ice_grams_frozen,
        updated_at: now,
        version,
    };
    let after = products::put_rules(&mut tx, &row, before.as_ref().map(|b| b.version)).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "supply_rules.update",
        "supply_rules",
        "current",
        before.as_ref(),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Needles or syringes for `doses`, by the rules: `per_dose_milli`/1000 per dose, rounded to
/// whole packs of `per_pack` as the rules say. Returns pieces (a whole number of packs).
/// Computed in 128 bits, so no input can overflow; a result beyond 64 bits saturates.
pub fn pieces_for_doses(doses: i64, per_dose_milli: i64, per_pack: i64, rounding: &str) -> i64 {
    vsys_domain::supplies::SupplyRule {
        per_dose_milli,
        per_pack,
        rounding: vsys_domain::supplies::PackRounding::parse(rounding),
    }
    .wanted(doses)
}

#[cfg(test)]
mod tests {
    use super::pieces_for_doses;

    #[test]
    fn packs() {
        assert_eq!(pieces_for_doses(1170, 1000, 100, "up"), 1200);
        assert_eq!(pieces_for_doses(1170, 1000, 100, "down"), 1100);
        assert_eq!(pieces_for_doses(1150, 1000, 100, "nearest"), 1200);
        assert_eq!(pieces_for_doses(1000, 1100, 100, "up"), 1100);
        assert_eq!(pieces_for_doses(0, 1000, 100, "up"), 0);
        assert_eq!(
            pieces_for_doses(i64::MAX, i64::MAX, i64::MAX, "up"),
            i64::MAX
        );
    }
}
