//! Cycles (クール): created by the nation with their vaccine, period, deadlines, chain and
//! allocation units; supply registered by manufacturers and warehouses. Creating a cycle
//! creates the nation's node of its allocation chain.

use crate::App;
use crate::audit::record;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use chrono::NaiveDate;
use serde::Deserialize;
use vsys_domain::Capability;
use vsys_domain::{
    Action, Chain, Formulas, Invalid, Level, Msg, OrgKind, ProductKind, Status, Unit,
};
use vsys_store::allocations::{self, NodeRow};
use vsys_store::cycles::{self, CycleRow, SupplyRow};
use vsys_store::{Page, StoreError, orgs, products};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CycleInput {
    pub number: i64,
    /// Default: `<vaccine name>_クール<number, 3 digits>`.
    pub name: Option<String>,
    pub vaccine_id: String,
    pub needle_id: Option<String>,
    pub syringe_id: Option<String>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub deadline_prefecture: NaiveDate,
    pub deadline_municipality: NaiveDate,
    pub deadline_site: NaiveDate,
    /// `standard` (default) or `priority`.
    pub chain: Option<Chain>,
    /// `box` (default) or `vial`: the unit sites receive.
    pub unit_site: Option<Unit>,
    /// Auto-fill formula per level; a level left out gets the default formula.
    pub formulas: Option<Formulas>,
}

pub async fn create(app: &App, actor: &Actor, c: &CycleInput) -> AppResult<CycleRow> {
    actor.require_can(Capability::ManageProgramme)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let row = create_in(&mut tx, &actor.into(), now, c).await?;
    tx.commit().await?;
    Ok(row)
}

/// Validates and writes a cycle with the nation's node of its chain, audited, in the caller's
/// transaction (the caller has authorised `who`).
pub(crate) async fn create_in(
    tx: &mut vsys_store::Tx,
    who: &crate::audit::Who,
    now: chrono::DateTime<chrono::Utc>,
    c: &CycleInput,
) -> AppResult<CycleRow> {
    let mut inv = Invalid::default();
    if !(1..=9999).contains(&c.number) {
        inv.push("number", Msg::CycleNumberRange);
    }
    if c.period_end < c.period_start {
        inv.push("period_end", Msg::PeriodEndBeforeStart);
    }
    // The chain runs nation → prefecture → municipality → site: each level's deadline comes
    // no later than the next one's (equal days allowed).
    if c.deadline_municipality < c.deadline_prefecture {
        inv.push("deadline_municipality", Msg::DeadlineOrder);
    }
    if c.deadline_site < c.deadline_municipality {
        inv.push("deadline_site", Msg::DeadlineOrder);
    }
    let chain = c.chain.unwrap_or(Chain::Standard);
    let unit_site = c.unit_site.unwrap_or(Unit::Box);
    if !matches!(unit_site, Unit::Box | Unit::Vial) {
        inv.push("unit_site", Msg::WrongUnit);
    }
    let formulas = c.formulas.clone().unwrap_or_default();
    let vaccine = products::get(tx, &c.vaccine_id)
        .await?
        .filter(|p| p.kind == ProductKind::Vaccine);
    if vaccine.is_none() {
        inv.push("vaccine_id", Msg::NotFound);
    }
    for (field, id, kind) in [
        ("needle_id", &c.needle_id, ProductKind::Needle),
        ("syringe_id", &c.syringe_id, ProductKind::Syringe),
    ] {
        if let Some(id) = id
            && products::get(tx, id)
                .await?
                .filter(|p| p.kind == kind)
                .is_none()
        {
            inv.push(field, Msg::NotFound);
        }
    }
    let pres = match &vaccine {
        Some(v) => products::presentation_for(tx, &v.id, c.number).await?,
        None => None,
    };
    if vaccine.is_some() && pres.is_none() {
        inv.push("vaccine_id", Msg::InvalidInput);
    }
    inv.into_result()?;
    let (Some(vaccine), Some(pres)) = (vaccine, pres) else {
        return Err(AppError::invalid("vaccine_id", Msg::InvalidInput));
    };
    let given = c
        .name
        .clone()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let given_name = given.is_some();
    let name = given.unwrap_or_else(|| format!("{}_クール{:03}", vaccine.name, c.number));
    let row = CycleRow {
        id: uuid::Uuid::now_v7().to_string(),
        number: c.number,
        name,
        vaccine_id: vaccine.id.clone(),
        needle_id: c.needle_id.clone(),
        syringe_id: c.syringe_id.clone(),
        period_start: c.period_start,
        period_end: c.period_end,
        deadline_prefecture: c.deadline_prefecture,
        deadline_municipality: c.deadline_municipality,
        deadline_site: c.deadline_site,
        chain,
        doses_per_vial: pres.doses_per_vial,
        vials_per_box: pres.vials_per_box,
        unit_site,
        formulas,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    match cycles::insert(tx, &row).await {
        // The name is unique; made from the vaccine and the number unless one was given, so
        // the screen's field is the number then.
        Err(StoreError::Unique(_)) if given_name => {
            return Err(AppError::invalid("name", Msg::InvalidInput));
        }
        Err(StoreError::Unique(_)) => {
            return Err(AppError::invalid("number", Msg::CycleNumberTaken));
        }
        other => other?,
    }
    let root = NodeRow {
        id: uuid::Uuid::now_v7().to_string(),
        cycle_id: row.id.clone(),
        org_code: "JP".into(),
        parent_id: None,
        level: Level::Nation,
        path: "/JP/".into(),
        vials: 0,
        needles: 0,
        syringes: 0,
        status: Status::Confirmed,
        released: true,
        explanation: None,
        updated_at: now,
        updated_by: who.user_id.clone(),
        version: 0,
    };
    allocations::insert(tx, &root).await?;
    record(
        tx,
        who,
        now,
        "cycle.create",
        "cycle",
        &row.id,
        None::<&()>,
        Some(&row),
    )
    .await?;
    Ok(row)
}

/// Cycles are shared master data: every staff user reads them.
pub async fn list(app: &App, actor: &Actor, page: Page) -> AppResult<(Vec<CycleRow>, i64)> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    Ok(cycles::list(&mut tx, page).await?)
}

pub async fn get(app: &App, actor: &Actor, id: &str) -> AppResult<CycleRow> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    cycles::get(&mut tx, id).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SupplyInput {
    /// The manufacturer or warehouse supplying (default: mine).
    pub supplier_code: Option<String>,
    pub product_id: String,
    /// Boxes of vaccine, or packs of needles/syringes.
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub quantity: i64,
}

/// Registers (or corrects) a supplier's supply for a cycle. The nation's node then holds the
/// cycle's total supply; it can never fall below what the nation already divided.
pub async fn register_supply(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    s: &SupplyInput,
) -> AppResult<Vec<SupplyRow>> {
    if s.quantity < 0 || s.quantity > 100_000_000 {
        return Err(AppError::invalid("quantity", Msg::InvalidInput));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let cycle = cycles::get(&mut tx, cycle_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let supplier_code = s
        .supplier_code
        .clone()
        .unwrap_or_else(|| actor.org_code().to_owned());
    let supplier = orgs::get(&mut tx, &supplier_code)
        .await?
        .ok_or_else(|| AppError::invalid("supplier_code", Msg::UnknownOrg))?;
    if !matches!(
        supplier.kind,
        OrgKind::Manufacturer | OrgKind::SyringeWarehouse
    ) {
        return Err(AppError::invalid("supplier_code", Msg::InvalidOrgCode));
    }
    actor.require_can(Capability::SupplyProducts)?;
    actor.require(Action::Write, &supplier.path)?;
    let after = supply_in(
        &mut tx,
        &actor.into(),
        now,
        &cycle,
        &supplier_code,
        &s.product_id,
        s.quantity,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Records a supply line of an authorised supplier and refreshes the nation's node, audited,
/// in the caller's transaction.
pub(crate) async fn supply_in(
    tx: &mut vsys_store::Tx,
    who: &crate::audit::Who,
    now: chrono::DateTime<chrono::Utc>,
    cycle: &CycleRow,
    supplier_code: &str,
    product_id: &str,
    quantity: i64,
) -> AppResult<Vec<SupplyRow>> {
    let cycle_id = cycle.id.as_str();
    let product = products::get(tx, product_id)
        .await?
        .ok_or_else(|| AppError::invalid("product_id", Msg::NotFound))?;
    let in_cycle = [
        Some(&cycle.vaccine_id),
        cycle.needle_id.as_ref(),
        cycle.syringe_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|id| *id == product.id);
    if !in_cycle {
        return Err(AppError::invalid("product_id", Msg::InvalidInput));
    }
    // A supplier registers what it supplies: its own products.
    if product.owner_code != supplier_code {
        return Err(AppError::invalid("product_id", Msg::NotSupplier));
    }
    let before = cycles::supply(tx, cycle_id).await?;
    cycles::put_supply(
        tx,
        &SupplyRow {
            cycle_id: cycle_id.into(),
            supplier_code: supplier_code.to_owned(),
            product_id: product.id.clone(),
            quantity,
            updated_at: now,
        },
    )
    .await?;
    let after = cycles::supply(tx, cycle_id).await?;
    crate::allocation::refresh_root(tx, cycle, &after, now, who.user_id.as_deref()).await?;
    record(
        tx,
        who,
        now,
        "cycle.supply",
        "cycle",
        cycle_id,
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

pub async fn supply(app: &App, actor: &Actor, cycle_id: &str) -> AppResult<Vec<SupplyRow>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    Ok(cycles::supply(&mut tx, cycle_id).await?)
}
