//! Each site's stock: the append-only ledger per lot (delivered, transferred, administered,
//! wasted, corrected), stock on hand and days of supply derived from it, and idle stock (偏在)
//! flagged for the prefecture and the nation. Deliveries enter through [`record_delivery`],
//! the operation the Delivery capability calls inside its own transaction.

use crate::App;
use crate::audit::{Who, record};
use crate::clock::japan_date;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::sites::{site_in_scope, writable_site};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use vsys_domain::Capability;
use vsys_domain::Msg;
use vsys_domain::ledger::{self, EntryKind, LedgerError, LotBalance, Movement, WasteReason};
use vsys_store::ledger::{self as store, LedgerRow};
use vsys_store::orgs::{self, OrgRow};
use vsys_store::{Page, Tx, results};

/// Usage is measured over the last two weeks (one cycle).
pub const WINDOW_DAYS: i64 = 14;
/// Stock lasting longer than two cycles at current usage is idle (偏在).
pub const IDLE_AFTER_DAYS: i64 = 28;

pub(crate) fn movement(r: &LedgerRow) -> Movement {
    Movement {
        lot: r.lot.clone(),
        kind: r.kind,
        vials: r.vials,
        doses: r.doses,
        doses_per_vial: r.doses_per_vial,
        reason: r.reason.as_deref().and_then(WasteReason::parse),
    }
}

/// A ledger row for `m`, written now by `who`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row(
    org_code: &str,
    m: &Movement,
    cycle_id: Option<&str>,
    reference: Option<&str>,
    reverses: Option<&str>,
    note: Option<&str>,
    now: DateTime<Utc>,
    who: &Who,
) -> LedgerRow {
    LedgerRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_code: org_code.to_owned(),
        lot: m.lot.clone(),
        cycle_id: cycle_id.map(str::to_owned),
        kind: m.kind,
        vials: m.vials,
        doses: m.doses,
        doses_per_vial: m.doses_per_vial,
        reason: m.reason.map(|r| r.as_str().to_owned()),
        note: note.map(str::to_owned),
        reference: reference.map(str::to_owned),
        reverses: reverses.map(str::to_owned),
        at: now,
        by: who.user_id.clone(),
    }
}

/// The ledger's refusal as a validation error on `field`.
pub(crate) fn refused(field: &str, e: LedgerError) -> AppError {
    AppError::invalid(field, e.msg())
}

fn valid_lot(lot: &str) -> bool {
    !lot.is_empty()
        && lot.len() <= 20
        && lot.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Records vials delivered to a site, in the caller's transaction (and audit). This is the
/// operation Delivery calls when a deliverer enters the actual date (納入実績日).
#[allow(clippy::too_many_arguments)]
pub async fn record_delivery(
    tx: &mut Tx,
    who: &Who,
    now: DateTime<Utc>,
    org_code: &str,
    lot: &str,
    cycle_id: Option<&str>,
    vials: i64,
    doses_per_vial: i64,
    reference: &str,
) -> AppResult<LedgerRow> {
    let lot = lot.trim();
    if !valid_lot(lot) {
        return Err(AppError::invalid("lot", Msg::InvalidLot));
    }
    let m = ledger::deliver(lot, vials, doses_per_vial).map_err(|e| refused("vials", e))?;
    let r = row(
        org_code,
        &m,
        cycle_id,
        Some(reference),
        None,
        None,
        now,
        who,
    );
    store::append(tx, std::slice::from_ref(&r)).await?;
    record(
        tx,
        who,
        now,
        "stock.delivered",
        "stock",
        &r.id,
        None::<&()>,
        Some(&r),
    )
    .await?;
    Ok(r)
}

/// A receipt registered by hand (supply that did not come through a delivery in vsys).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReceiptInput {
    pub lot: String,
    /// Whole vials, at least 1.
    #[schema(minimum = 1)]
    pub vials: i64,
    /// The cycle the lot was allocated in (fixes doses per vial); the latest when absent.
    pub cycle_id: Option<String>,
}

/// Registers a receipt for a site (operators of the municipality or above: the site's own
/// receipts come from its deliveries).
pub async fn receive(
    app: &App,
    actor: &Actor,
    code: &str,
    input: &ReceiptInput,
) -> AppResult<LedgerRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    if actor.principal.is_own(&org.path) {
        return Err(AppError::Forbidden);
    }
    let cycle = match input.cycle_id.as_deref().filter(|c| !c.is_empty()) {
        Some(id) => vsys_store::cycles::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::invalid("cycle_id", Msg::NotFound))?,
        None => vsys_store::cycles::list(&mut tx, Page::all())
            .await?
            .0
            .into_iter()
            .max_by_key(|c| c.number)
            .ok_or_else(|| AppError::invalid("cycle_id", Msg::NotFound))?,
    };
    let r = record_delivery(
        &mut tx,
        &actor.into(),
        now,
        &org.code,
        &input.lot,
        Some(&cycle.id),
        input.vials,
        cycle.doses_per_vial,
        &format!("receipt:{}", uuid::Uuid::now_v7()),
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

/// A site's stock as its users and the organisations above see it.
#[derive(Debug, Clone, Serialize)]
pub struct StockView {
    pub org_code: String,
    /// Per lot, in FIFO order.
    pub lots: Vec<LotBalance>,
    pub doses: i64,
    pub vials: i64,
    /// Doses given in the last [`WINDOW_DAYS`] days.
    pub administered_in_window: i64,
    /// Days the stock lasts at that rate (none when nothing was given).
    pub days_of_supply: Option<i64>,
    /// When the ledger last changed (how fresh the figure is).
    pub last_entry_at: Option<DateTime<Utc>>,
    /// 偏在: stock that is not being used.
    pub idle: bool,
    /// The whole ledger, newest first.
    pub entries: Vec<LedgerRow>,
}

async fn administered_in_window(
    tx: &mut Tx,
    codes: &[String],
    now: DateTime<Utc>,
) -> AppResult<HashMap<String, i64>> {
    let today = japan_date(now);
    let from = today - Duration::days(WINDOW_DAYS - 1);
    Ok(results::administered_by_org(tx, codes, from, today)
        .await?
        .into_iter()
        .collect())
}

pub(crate) async fn view_in(tx: &mut Tx, org: &OrgRow, now: DateTime<Utc>) -> AppResult<StockView> {
    let rows = store::for_org(tx, &org.code).await?;
    let moves: Vec<Movement> = rows.iter().map(movement).collect();
    let lots = ledger::balances(&moves);
    let doses = ledger::total_doses(&lots);
    let vials = lots.iter().map(|l| l.vials).sum();
    let used = administered_in_window(tx, std::slice::from_ref(&org.code), now)
        .await?
        .get(&org.code)
        .copied()
        .unwrap_or(0);
    let mut entries = rows;
    entries.reverse();
    Ok(StockView {
        org_code: org.code.clone(),
        lots: lots
            .into_iter()
            .filter(|l| l.doses != 0 || l.vials != 0)
            .collect(),
        doses,
        vials,
        administered_in_window: used,
        days_of_supply: ledger::days_of_supply(doses, used, WINDOW_DAYS),
        last_entry_at: entries.first().map(|e| e.at),
        idle: ledger::is_idle(doses, used, WINDOW_DAYS, IDLE_AFTER_DAYS),
        entries,
    })
}

pub async fn view(app: &App, actor: &Actor, code: &str) -> AppResult<StockView> {
    let mut tx = app.db.read().await?;
    let org = site_in_scope(&mut tx, actor, code).await?;
    view_in(&mut tx, &org, app.clock.now()).await
}

/// What a ledger entry's reference is, for people: never its raw id.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryReference {
    /// 納入 of a cycle's delivery, with the cycle's number and vaccine (none when the cycle
    /// is unknown).
    Delivery(Option<vsys_store::cycles::CycleLabelRow>),
    /// 入荷 registered by the municipality or above.
    Receipt,
    /// 移送 between a hub and its satellite.
    Transfer,
    /// The 接種実績 of a day (`YYYY-MM-DD`).
    Results(String),
    /// No reference.
    None,
}

/// The stock view with a readable reference per entry (by entry id), resolved in one query
/// for the whole ledger (the cycles its deliveries name).
pub async fn view_with_references(
    app: &App,
    actor: &Actor,
    code: &str,
) -> AppResult<(StockView, HashMap<String, EntryReference>)> {
    let mut tx = app.db.read().await?;
    let org = site_in_scope(&mut tx, actor, code).await?;
    let view = view_in(&mut tx, &org, app.clock.now()).await?;
    let mut cycle_ids: Vec<&str> = view
        .entries
        .iter()
        .filter(|e| {
            e.reference
                .as_deref()
                .is_some_and(|r| r.starts_with("delivery:"))
        })
        .filter_map(|e| e.cycle_id.as_deref())
        .collect();
    cycle_ids.sort_unstable();
    cycle_ids.dedup();
    let labels: HashMap<String, vsys_store::cycles::CycleLabelRow> =
        vsys_store::cycles::labels(&mut tx, &cycle_ids)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
    let references = view
        .entries
        .iter()
        .map(|e| {
            let r = match e.reference.as_deref().and_then(|r| r.split_once(':')) {
                Some(("delivery", _)) => EntryReference::Delivery(
                    e.cycle_id.as_deref().and_then(|c| labels.get(c)).cloned(),
                ),
                Some(("receipt", _)) => EntryReference::Receipt,
                Some(("transfer", _)) => EntryReference::Transfer,
                Some(("results", day)) => EntryReference::Results(day.to_owned()),
                _ => EntryReference::None,
            };
            (e.id.clone(), r)
        })
        .collect();
    Ok((view, references))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TransferInput {
    /// The satellite receiving the vials.
    pub to: String,
    pub lot: String,
    /// Whole vials, at least 1.
    #[schema(minimum = 1)]
    pub vials: i64,
}

/// Moves whole vials of a lot from a hub to one of its satellites (operators of the hub or
/// above). Both ledgers change in one transaction.
pub async fn transfer(
    app: &App,
    actor: &Actor,
    hub_code: &str,
    t: &TransferInput,
) -> AppResult<(LedgerRow, LedgerRow)> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let hub = writable_site(&mut tx, actor, hub_code).await?;
    let to = orgs::get(&mut tx, t.to.trim()).await?;
    let sat_profile = match &to {
        Some(o) => vsys_store::sites::get(&mut tx, &o.code).await?,
        None => None,
    };
    let (Some(to), Some(_)) = (
        to,
        sat_profile.filter(|p| {
            p.site_type == vsys_domain::SiteType::Satellite
                && p.hub_code.as_deref() == Some(&hub.code)
        }),
    ) else {
        return Err(AppError::invalid("to", Msg::NotSatellite));
    };
    let rows = store::for_org(&mut tx, &hub.code).await?;
    let moves: Vec<Movement> = rows.iter().map(movement).collect();
    let (out, inn) = ledger::transfer(&ledger::balances(&moves), t.lot.trim(), t.vials)
        .map_err(|e| refused("vials", e))?;
    let cycle = rows
        .iter()
        .find(|r| r.lot == out.lot)
        .and_then(|r| r.cycle_id.clone());
    let who: Who = actor.into();
    let reference = format!("transfer:{}", uuid::Uuid::now_v7());
    let out_row = row(
        &hub.code,
        &out,
        cycle.as_deref(),
        Some(&reference),
        None,
        None,
        now,
        &who,
    );
    let in_row = row(
        &to.code,
        &inn,
        cycle.as_deref(),
        Some(&reference),
        None,
        None,
        now,
        &who,
    );
    store::append(&mut tx, &[out_row.clone(), in_row.clone()]).await?;
    record(
        &mut tx,
        &who,
        now,
        "stock.transfer",
        "stock",
        &reference,
        None::<&()>,
        Some(&serde_json::json!({"out": out_row, "in": in_row})),
    )
    .await?;
    tx.commit().await?;
    Ok((out_row, in_row))
}

/// Corrects an entry by appending its reversal (a day's results are corrected by entering the
/// day again). Entries written together — a day's doses and opened-vial remainders, a
/// transfer — are reversed together.
pub async fn correct(
    app: &App,
    actor: &Actor,
    code: &str,
    entry_id: &str,
    reason: &str,
) -> AppResult<Vec<LedgerRow>> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", Msg::CorrectionReasonRequired));
    }
    if reason.chars().count() > 200 {
        return Err(AppError::invalid("reason", Msg::TooLong));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    let rows = store::for_org(&mut tx, &org.code).await?;
    let target = rows
        .iter()
        .find(|r| r.id == entry_id)
        .ok_or(AppError::NotFound)?;
    if target.kind == EntryKind::Correction
        || rows.iter().any(|r| r.reverses.as_deref() == Some(entry_id))
    {
        return Err(AppError::invalid("reason", Msg::AlreadyReversed));
    }
    if target
        .reference
        .as_deref()
        .is_some_and(|r| r.starts_with("results:"))
    {
        return Err(AppError::invalid("reason", Msg::CorrectResultsByDay));
    }
    if target
        .reference
        .as_deref()
        .is_some_and(|r| r.starts_with("transfer:"))
    {
        return Err(AppError::invalid("reason", Msg::CorrectTransferNotHere));
    }
    let moves: Vec<Movement> = rows.iter().map(movement).collect();
    let reversals = ledger::correct(&ledger::balances(&moves), &[movement(target)])
        .map_err(|e| refused("reason", e))?;
    let who: Who = actor.into();
    let written: Vec<LedgerRow> = reversals
        .iter()
        .map(|m| {
            row(
                &org.code,
                m,
                target.cycle_id.as_deref(),
                target.reference.as_deref(),
                Some(&target.id),
                Some(reason),
                now,
                &who,
            )
        })
        .collect();
    store::append(&mut tx, &written).await?;
    record(
        &mut tx,
        &who,
        now,
        "stock.correction",
        "stock",
        &target.id,
        Some(target),
        Some(&written),
    )
    .await?;
    tx.commit().await?;
    Ok(written)
}

/// A site with idle stock, for the prefecture's and the nation's list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdleSite {
    pub code: String,
    pub name: String,
    pub municipality_code: Option<String>,
    pub doses: i64,
    pub administered_in_window: i64,
    pub days_of_supply: Option<i64>,
    pub last_entry_at: Option<DateTime<Utc>>,
}

/// Stock on hand, doses given in the window and doses received per site, for the sites given
/// (the allocation formula's inputs).
pub(crate) struct Demand {
    pub stock: HashMap<String, i64>,
    pub administered: HashMap<String, i64>,
    pub received: HashMap<String, i64>,
}

pub(crate) async fn demand(tx: &mut Tx, codes: &[String], now: DateTime<Utc>) -> AppResult<Demand> {
    Ok(Demand {
        stock: store::doses_by_org(tx, codes).await?.into_iter().collect(),
        administered: administered_in_window(tx, codes, now).await?,
        received: store::received_by_org(tx, codes)
            .await?
            .into_iter()
            .collect(),
    })
}

/// Sites in the actor's scope whose stock is idle (偏在), most doses first.
pub async fn idle_sites(app: &App, actor: &Actor) -> AppResult<Vec<IdleSite>> {
    idle_sites_under(app, actor, &actor.principal.org_path).await
}

/// Sites under `path` (inside the actor's scope) whose stock is idle, most doses first.
pub async fn idle_sites_under(app: &App, actor: &Actor, path: &str) -> AppResult<Vec<IdleSite>> {
    actor.require_can(Capability::OverseeArea)?;
    if !actor.principal().may(vsys_domain::Action::Read, path) {
        return Err(AppError::Forbidden);
    }
    let mut tx = app.db.read().await?;
    // Only a site holding stock can be idle: start from those (by index, with their balance),
    // not from every site of the scope.
    let stock: HashMap<String, i64> = store::holders_under(&mut tx, path)
        .await?
        .into_iter()
        .collect();
    let codes: Vec<String> = stock.keys().cloned().collect();
    let sites: Vec<OrgRow> = orgs::get_many(&mut tx, &codes)
        .await?
        .into_iter()
        .filter(|o| o.kind.is_site())
        .collect();
    let codes: Vec<String> = sites.iter().map(|s| s.code.clone()).collect();
    let administered = administered_in_window(&mut tx, &codes, app.clock.now()).await?;
    let last: HashMap<String, DateTime<Utc>> = store::last_entry_by_org(&mut tx, &codes)
        .await?
        .into_iter()
        .collect();
    let mut out: Vec<IdleSite> = sites
        .into_iter()
        .filter_map(|s| {
            let doses = stock.get(&s.code).copied().unwrap_or(0);
            let used = administered.get(&s.code).copied().unwrap_or(0);
            ledger::is_idle(doses, used, WINDOW_DAYS, IDLE_AFTER_DAYS).then(|| IdleSite {
                doses,
                administered_in_window: used,
                days_of_supply: ledger::days_of_supply(doses, used, WINDOW_DAYS),
                last_entry_at: last.get(&s.code).copied(),
                code: s.code,
                name: s.name,
                municipality_code: s.parent_code,
            })
        })
        .collect();
    out.sort_by(|a, b| b.doses.cmp(&a.doses).then(a.code.cmp(&b.code)));
    Ok(out)
}

/// Whether the actor may see the idle-stock list.
pub fn may_see_idle(actor: &Actor) -> bool {
    actor.can(Capability::OverseeArea)
}
