//! Per-cycle requests of a site (接種可能量・納品希望量): what the auto-fill divides by, capped
//! by, until the cycle's site deadline.

use crate::App;
use crate::audit::record;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use serde::Deserialize;
use vsys_domain::{Action, Invalid, Msg};
use vsys_store::requests::{self, RequestRow};
use vsys_store::{StoreError, cycles, orgs};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RequestInput {
    /// 接種可能量: the most doses the site can administer in the cycle (upper limit).
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub capacity_doses: i64,
    /// 納品希望量: doses the site asks to receive.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub requested_doses: i64,
    /// `dry_ice` or `freezer`.
    pub storage: String,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub needles: i64,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub syringes: i64,
}

fn validate(r: &RequestInput) -> Result<(), Invalid> {
    let mut inv = Invalid::default();
    for (f, v) in [
        ("capacity_doses", r.capacity_doses),
        ("requested_doses", r.requested_doses),
        ("needles", r.needles),
        ("syringes", r.syringes),
    ] {
        if v < 0 {
            inv.push(f, Msg::NegativeNumber);
        } else if v > 10_000_000 {
            inv.push(f, Msg::InvalidInput);
        }
    }
    if r.requested_doses > r.capacity_doses && r.capacity_doses >= 0 {
        inv.push("requested_doses", Msg::RequestOverCapacity);
    }
    if !matches!(r.storage.as_str(), "dry_ice" | "freezer") {
        inv.push("storage", Msg::InvalidInput);
    }
    inv.into_result()
}

/// A site's request in a cycle (the site, and the organisations above it, read it).
pub async fn get(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<Option<RequestRow>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    let org = orgs::get(&mut tx, org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.principal.may(Action::Read, &org.path) {
        return Err(AppError::NotFound);
    }
    cycles::get(&mut tx, cycle_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(requests::get(&mut tx, cycle_id, org_code).await?)
}

/// Registers or changes a site's request (its operators, or those of an organisation above
/// it), until the cycle's site deadline (Japan time, inclusive). `version`: `None` for the
/// first time.
pub async fn put(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
    version: Option<i64>,
    r: &RequestInput,
) -> AppResult<RequestRow> {
    validate(r)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = orgs::get(&mut tx, org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.principal.covers(&org.path) {
        return Err(AppError::NotFound);
    }
    actor.require(Action::Write, &org.path)?;
    if !org.kind.is_site() {
        return Err(AppError::invalid("org_code", Msg::InvalidOrgCode));
    }
    let cycle = cycles::get(&mut tx, cycle_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !cycle.chain.takes_requests_from(org.kind) {
        return Err(AppError::invalid("org_code", Msg::NoRequestsInPriority));
    }
    let today = crate::clock::japan_date(now);
    if today > cycle.deadline_site {
        return Err(AppError::invalid("deadline", Msg::DeadlinePassed));
    }
    let before = requests::get(&mut tx, cycle_id, org_code).await?;
    if before.as_ref().map(|b| b.version) != version {
        return Err(AppError::Conflict);
    }
    let row = RequestRow {
        cycle_id: cycle_id.to_owned(),
        org_code: org_code.to_owned(),
        capacity_doses: r.capacity_doses,
        requested_doses: r.requested_doses,
        storage: r.storage.clone(),
        needles: r.needles,
        syringes: r.syringes,
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version: 0,
    };
    let after = match requests::put(&mut tx, &row, version).await {
        Err(StoreError::Conflict) => return Err(AppError::Conflict),
        other => other?,
    };
    record(
        &mut tx,
        &actor.into(),
        now,
        "request.put",
        "request",
        &format!("{cycle_id}/{org_code}"),
        before.as_ref(),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
