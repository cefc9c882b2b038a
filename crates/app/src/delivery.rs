//! Delivery: when a cycle is finalised (確定), every site line becomes deliveries — vaccine,
//! needles and syringes separately, as they may arrive on different days — each assigned to
//! its deliverer. Deliverers enter 納入予定日 and 納入実績日 (on screen, by CSV, or from their own
//! systems with an organisation API token); a scheduled date tells the site, an actual date
//! writes the site's stock ledger. Nation, prefectures and municipalities follow the counts.

use crate::App;
use crate::audit::{Who, record};
use crate::clock::japan_date;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::notices::{NoticeDraft, notify};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use vsys_domain::Capability;
use vsys_domain::{Action, Invalid, Level, Msg, OrgKind, ProductKind};
use vsys_store::allocations::NodeRow;
use vsys_store::cycles::CycleRow;
use vsys_store::deliveries::{self, DeliveryFilter, DeliveryRow};
use vsys_store::{Page, Tx, orgs, products};

/// The items of a site line, each its own delivery.
pub const ITEMS: [ProductKind; 3] = ProductKind::ALL;

/// Creates the deliveries of the finalised site lines among `nodes` (inside the finalising
/// transaction). The vaccine goes through the wholesaler that serves the site's municipality
/// (the first by code where several do; the prefecture may reassign), or directly from the
/// manufacturer where none does; needles and syringes from the warehouse that supplies them.
pub(crate) async fn create_for_final(
    tx: &mut Tx,
    app: &App,
    who: &Who,
    now: DateTime<Utc>,
    cycle: &CycleRow,
    nodes: &[NodeRow],
) -> AppResult<usize> {
    let sites: Vec<&NodeRow> = nodes
        .iter()
        .filter(|n| n.level == Level::Site && (n.vials > 0 || n.needles > 0 || n.syringes > 0))
        .collect();
    if sites.is_empty() {
        return Ok(0);
    }
    let mut owners: HashMap<String, String> = HashMap::new();
    for id in [
        Some(&cycle.vaccine_id),
        cycle.needle_id.as_ref(),
        cycle.syringe_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(p) = products::get(tx, id).await? {
            owners.insert(id.clone(), p.owner_code);
        }
    }
    let serving = wholesalers_by_municipality(tx).await?;
    let codes: Vec<String> = sites.iter().map(|n| n.org_code.clone()).collect();
    let storage: HashMap<String, String> = vsys_store::requests::for_orgs(tx, &cycle.id, &codes)
        .await?
        .into_iter()
        .map(|r| (r.org_code, r.storage))
        .collect();
    let mut rows = Vec::new();
    for n in sites {
        let municipality = n
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        for (item, product, quantity) in [
            (ProductKind::Vaccine, Some(&cycle.vaccine_id), n.vials),
            (ProductKind::Needle, cycle.needle_id.as_ref(), n.needles),
            (ProductKind::Syringe, cycle.syringe_id.as_ref(), n.syringes),
        ] {
            let Some(product) = product.filter(|_| quantity > 0) else {
                continue;
            };
            let deliverer = match item {
                ProductKind::Vaccine => serving
                    .get(&municipality)
                    .and_then(|w| w.first().cloned())
                    .or_else(|| owners.get(product).cloned()),
                _ => owners.get(product).cloned(),
            };
            let Some(deliverer) = deliverer else {
                continue;
            };
            rows.push(DeliveryRow {
                id: uuid::Uuid::now_v7().to_string(),
                cycle_id: cycle.id.clone(),
                node_id: n.id.clone(),
                site_code: n.org_code.clone(),
                site_path: n.path.clone(),
                municipality_code: municipality.clone(),
                item,
                product_id: Some(product.clone()),
                quantity,
                deliverer_code: deliverer,
                scheduled_on: None,
                delivered_on: None,
                delivery_number: None,
                lot: None,
                note: None,
                storage: storage.get(&n.org_code).cloned(),
                updated_at: now,
                updated_by: who.user_id.clone(),
                version: 0,
            });
        }
    }
    deliveries::insert_many(tx, &rows).await?;
    let mut per_deliverer: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &rows {
        *per_deliverer.entry(r.deliverer_code.as_str()).or_default() += 1;
    }
    for (deliverer, n) in per_deliverer {
        notify(
            tx,
            app,
            who,
            now,
            deliverer,
            None,
            &NoticeDraft {
                category: "delivery".into(),
                title_ja: format!("{} 配送先の確定のお知らせ", cycle.name),
                title_en: format!("{}: deliveries assigned", cycle.name),
                body_ja: format!(
                    "{}の分配量が確定し、配送{n}件が割り当てられました。納入予定日を入力してください。",
                    cycle.name
                ),
                body_en: format!(
                    "The allocation of {} is final: {n} deliveries are assigned to you. Please enter the scheduled dates.",
                    cycle.name
                ),
                link: Some(format!("/deliveries?cycle={}", cycle.id)),
            },
        )
        .await?;
    }
    record(
        tx,
        who,
        now,
        "delivery.create",
        "cycle",
        &cycle.id,
        None::<&()>,
        Some(&serde_json::json!({"deliveries": rows.len()})),
    )
    .await?;
    Ok(rows.len())
}

/// Municipality → the wholesalers serving it (contracted by the prefecture), in code order.
async fn wholesalers_by_municipality(tx: &mut Tx) -> AppResult<HashMap<String, Vec<String>>> {
    let f = orgs::OrgFilter {
        scope_path: "/".into(),
        kind: Some("wholesaler".into()),
        ..orgs::OrgFilter::default()
    };
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for w in orgs::list(tx, &f, Page::all()).await?.0 {
        for area in orgs::areas(tx, &w.code).await? {
            out.entry(area).or_default().push(w.code.clone());
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

/// What a caller may see: deliverers their own deliveries; nation, prefectures and
/// municipalities those to sites in their area; sites their own.
fn scope(actor: &Actor) -> AppResult<DeliveryFilter> {
    let p = &actor.principal;
    Ok(if p.can(Capability::SeeOwnDeliveries) {
        DeliveryFilter {
            deliverer_code: Some(p.org_code.to_string()),
            ..DeliveryFilter::default()
        }
    } else {
        DeliveryFilter {
            site_path: Some(p.org_path.clone()),
            ..DeliveryFilter::default()
        }
    })
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only this cycle's (its id).
    pub cycle: Option<String>,
    /// Only deliveries to sites of this municipality (5 digits).
    pub municipality: Option<String>,
    /// `vaccine`, `needle` or `syringe`.
    pub item: Option<String>,
    /// `unscheduled`, `late`, `delivered`, `scheduled:YYYY-MM-DD` or `delivered:YYYY-MM-DD`.
    pub state: Option<String>,
    /// Only those of this deliverer (for nation, prefecture and municipality users).
    pub deliverer: Option<String>,
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

fn filter(app: &App, actor: &Actor, q: &DeliveryQuery) -> AppResult<DeliveryFilter> {
    let mut f = scope(actor)?;
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    f.cycle_id = clean(&q.cycle);
    f.municipality_code = clean(&q.municipality);
    f.item = clean(&q.item);
    f.state = clean(&q.state);
    if f.deliverer_code.is_none() {
        f.deliverer_code = clean(&q.deliverer);
    }
    f.today = Some(japan_date(app.clock.now()));
    Ok(f)
}

pub async fn list(
    app: &App,
    actor: &Actor,
    q: &DeliveryQuery,
) -> AppResult<(Vec<DeliveryRow>, i64)> {
    actor.require_password_changed()?;
    let f = filter(app, actor, q)?;
    // A page and its count: each may see its own snapshot (see `Db::read_each`).
    let mut tx = app.db.read_each().await?;
    Ok(deliveries::list(&mut tx, &f, crate::page(q.page, q.per_page)?).await?)
}

/// Every delivery the query selects (for a CSV download), without paging.
pub async fn all(app: &App, actor: &Actor, q: &DeliveryQuery) -> AppResult<Vec<DeliveryRow>> {
    actor.require_password_changed()?;
    let f = filter(app, actor, q)?;
    let mut tx = app.db.read().await?;
    Ok(deliveries::list(&mut tx, &f, Page::all()).await?.0)
}

/// Counts for the status views (as in V-SYS's 配送状況の確認): by scheduled day, by actual
/// day, without a scheduled date, and late (scheduled before today, not delivered).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryStatus {
    pub total: i64,
    pub unscheduled: i64,
    pub late: i64,
    pub delivered: i64,
    /// `[day, count]` pairs, by 納入予定日.
    pub by_scheduled_day: Vec<(NaiveDate, i64)>,
    /// `[day, count]` pairs, by 納入実績日.
    pub by_delivered_day: Vec<(NaiveDate, i64)>,
    pub today: NaiveDate,
}

pub async fn status(app: &App, actor: &Actor, q: &DeliveryQuery) -> AppResult<DeliveryStatus> {
    actor.require_password_changed()?;
    let base = filter(
        app,
        actor,
        &DeliveryQuery {
            state: None,
            ..q.clone()
        },
    )?;
    let with = |s: &str| DeliveryFilter {
        state: Some(s.into()),
        ..base.clone()
    };
    let mut tx = app.db.read().await?;
    Ok(DeliveryStatus {
        total: deliveries::count(&mut tx, &base).await?,
        unscheduled: deliveries::count(&mut tx, &with("unscheduled")).await?,
        late: deliveries::count(&mut tx, &with("late")).await?,
        delivered: deliveries::count(&mut tx, &with("delivered")).await?,
        by_scheduled_day: deliveries::counts_by_day(&mut tx, &base, false).await?,
        by_delivered_day: deliveries::counts_by_day(&mut tx, &base, true).await?,
        today: base.today.unwrap_or_default(),
    })
}

/// What a deliverer enters for one delivery. Absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DatesInput {
    /// 納入予定日.
    pub scheduled_on: Option<NaiveDate>,
    /// 納入実績日 (not after today; once entered it writes the site's stock and stays).
    pub delivered_on: Option<NaiveDate>,
    pub delivery_number: Option<String>,
    /// Lot number of the vaccine delivered.
    pub lot: Option<String>,
    pub note: Option<String>,
}

/// Loads a delivery the actor may see (`NotFound` otherwise).
async fn visible(tx: &mut Tx, actor: &Actor, id: &str) -> AppResult<DeliveryRow> {
    actor.require_password_changed()?;
    let d = deliveries::get(tx, id).await?.ok_or(AppError::NotFound)?;
    let p = &actor.principal;
    let sees = d.deliverer_code == p.org_code.as_str() || p.may(Action::Read, &d.site_path);
    if !sees {
        return Err(AppError::NotFound);
    }
    Ok(d)
}

pub async fn get(app: &App, actor: &Actor, id: &str) -> AppResult<DeliveryRow> {
    let mut tx = app.db.read().await?;
    visible(&mut tx, actor, id).await
}

/// Enters dates and details of one delivery (the deliverer's operators, or its API token),
/// inside `tx`. Returns the row written.
async fn enter_in(
    tx: &mut Tx,
    app: &App,
    actor: &Actor,
    now: DateTime<Utc>,
    d: DeliveryRow,
    version: i64,
    input: &DatesInput,
) -> AppResult<DeliveryRow> {
    if d.deliverer_code != actor.principal.org_code.as_str() {
        // Others in the area may look, not write.
        return Err(AppError::Forbidden);
    }
    actor.require_can(Capability::EnterDeliveryDates)?;
    if d.version != version {
        return Err(AppError::Conflict);
    }
    let mut inv = Invalid::default();
    let today = japan_date(now);
    if input.delivered_on.is_some_and(|day| day > today) {
        inv.push("delivered_on", Msg::FutureDay);
    }
    if d.delivered_on.is_some() {
        // Delivered: the dates and the lot are what the stock ledger recorded.
        if input
            .delivered_on
            .is_some_and(|v| Some(v) != d.delivered_on)
        {
            inv.push("delivered_on", Msg::DeliveredAlready);
        }
        if input
            .scheduled_on
            .is_some_and(|v| Some(v) != d.scheduled_on)
        {
            inv.push("scheduled_on", Msg::DeliveredAlready);
        }
        if input
            .lot
            .as_deref()
            .is_some_and(|l| Some(l.trim()) != d.lot.as_deref())
        {
            inv.push("lot", Msg::DeliveredAlready);
        }
    }
    let text =
        |v: &Option<String>, old: &Option<String>, field: &str, max: usize, inv: &mut Invalid| {
            match v.as_deref().map(str::trim) {
                None => old.clone(),
                Some("") => None,
                Some(s) if s.chars().count() > max => {
                    inv.push(field, Msg::TooLong);
                    None
                }
                Some(s) => Some(s.to_owned()),
            }
        };
    let delivery_number = text(
        &input.delivery_number,
        &d.delivery_number,
        "delivery_number",
        40,
        &mut inv,
    );
    let lot = text(&input.lot, &d.lot, "lot", 20, &mut inv);
    let note = text(&input.note, &d.note, "note", 200, &mut inv);
    if lot
        .as_deref()
        .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        inv.push("lot", Msg::InvalidLot);
    }
    inv.into_result()?;
    let delivered_on = input.delivered_on.or(d.delivered_on);
    let after = DeliveryRow {
        // Delivered without notice beforehand: it was due the day it came.
        scheduled_on: input.scheduled_on.or(d.scheduled_on).or(delivered_on),
        delivered_on,
        delivery_number,
        lot,
        note,
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version: d.version + 1,
        ..d.clone()
    };
    let unchanged = after.scheduled_on == d.scheduled_on
        && after.delivered_on == d.delivered_on
        && after.delivery_number == d.delivery_number
        && after.lot == d.lot
        && after.note == d.note;
    if unchanged {
        return Ok(d);
    }
    deliveries::update(tx, &d, &after).await?;
    let who: Who = actor.into();
    record(
        tx,
        &who,
        now,
        "delivery.dates",
        "delivery",
        &d.id,
        Some(&d),
        Some(&after),
    )
    .await?;
    if after.scheduled_on != d.scheduled_on
        && let Some(day) = after.scheduled_on
    {
        let item = item_label(after.item);
        notify(
            tx,
            app,
            &who,
            now,
            &after.site_code,
            None,
            &NoticeDraft {
                category: "delivery".into(),
                title_ja: "配送予定日のお知らせ".into(),
                title_en: "Delivery date".into(),
                body_ja: format!("{}（{}）は{}に納入予定です。", item.0, after.quantity, day),
                body_en: format!("{} ({}) is due on {}.", item.1, after.quantity, day),
                link: Some("/".into()),
            },
        )
        .await?;
    }
    if d.delivered_on.is_none()
        && after.delivered_on.is_some()
        && after.item == ProductKind::Vaccine
    {
        let cycle = vsys_store::cycles::get(tx, &after.cycle_id)
            .await?
            .ok_or(AppError::NotFound)?;
        crate::stock::record_delivery(
            tx,
            &who,
            now,
            &after.site_code,
            after.lot.as_deref().unwrap_or("UNKNOWN"),
            Some(&cycle.id),
            after.quantity,
            cycle.doses_per_vial,
            &format!("delivery:{}", after.id),
        )
        .await?;
    }
    Ok(after)
}

fn item_label(item: ProductKind) -> (&'static str, &'static str) {
    (
        item.label(vsys_domain::Lang::Ja),
        item.label(vsys_domain::Lang::En),
    )
}

/// Enters dates of one delivery.
pub async fn enter(
    app: &App,
    actor: &Actor,
    id: &str,
    version: i64,
    input: &DatesInput,
) -> AppResult<DeliveryRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let d = visible(&mut tx, actor, id).await?;
    let row = enter_in(&mut tx, app, actor, now, d, version, input).await?;
    tx.commit().await?;
    Ok(row)
}

/// One line of a bulk entry (screen list or CSV): which delivery, at which version.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct BulkLine {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub dates: DatesInput,
}

/// Enters many deliveries at once, all or nothing: every refused line is reported with its
/// row (1-based), and nothing is written unless all are accepted.
pub async fn enter_many(app: &App, actor: &Actor, lines: &[BulkLine]) -> AppResult<usize> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let mut inv = Invalid::default();
    let mut done = 0;
    for (i, l) in lines.iter().enumerate() {
        let row = i + 1;
        let result = match visible(&mut tx, actor, &l.id).await {
            Ok(d) => enter_in(&mut tx, app, actor, now, d, l.version, &l.dates).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => done += 1,
            Err(AppError::Invalid(e)) => inv.0.extend(e.0.into_iter().map(|mut f| {
                f.row = Some(row);
                f
            })),
            Err(AppError::Conflict) => {
                let mut f = vsys_domain::FieldError::new("version", Msg::Conflict);
                f.row = Some(row);
                inv.0.push(f);
            }
            Err(AppError::NotFound | AppError::Forbidden) => {
                let mut f = vsys_domain::FieldError::new("id", Msg::NotFound);
                f.row = Some(row);
                inv.0.push(f);
            }
            Err(e) => return Err(e),
        }
    }
    inv.into_result()?;
    tx.commit().await?;
    Ok(done)
}

/// Reassigns a delivery to another wholesaler serving the municipality (the prefecture, until
/// a date is entered on it).
pub async fn reassign(
    app: &App,
    actor: &Actor,
    id: &str,
    deliverer_code: &str,
) -> AppResult<DeliveryRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let d = visible(&mut tx, actor, id).await?;
    actor.require_can(Capability::ReassignDeliveries)?;
    actor.require(Action::Write, &d.site_path)?;
    if d.scheduled_on.is_some() || d.delivered_on.is_some() {
        return Err(AppError::invalid("deliverer_code", Msg::DeliveryDated));
    }
    // Needles and syringes go from the warehouse that supplies them; only vaccine lines
    // move between wholesalers.
    if d.item != ProductKind::Vaccine {
        return Err(AppError::invalid(
            "deliverer_code",
            Msg::OnlyVaccineReassigned,
        ));
    }
    let serving = wholesalers_by_municipality(&mut tx).await?;
    if !serving
        .get(&d.municipality_code)
        .is_some_and(|w| w.iter().any(|c| c == deliverer_code.trim()))
    {
        return Err(AppError::invalid("deliverer_code", Msg::NotServing));
    }
    let after = DeliveryRow {
        deliverer_code: deliverer_code.trim().to_owned(),
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version: d.version + 1,
        ..d.clone()
    };
    deliveries::update(&mut tx, &d, &after).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "delivery.reassign",
        "delivery",
        &d.id,
        Some(&serde_json::json!({"deliverer_code": d.deliverer_code})),
        Some(&serde_json::json!({"deliverer_code": after.deliverer_code})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Upstream (地域卸業者（物流倉庫）への分配量): per deliverer and item, what a cycle hands it to
/// deliver and how much of it has been delivered. The nation sees every deliverer; a
/// manufacturer or warehouse the items it supplies; a deliverer its own lines.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UpstreamLine {
    pub deliverer_code: String,
    pub deliverer_name: String,
    pub item: ProductKind,
    pub lines: i64,
    /// Vials (vaccine) or pieces.
    pub quantity: i64,
    pub delivered: i64,
}

pub async fn upstream(app: &App, actor: &Actor, cycle_id: &str) -> AppResult<Vec<UpstreamLine>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    let cycle = vsys_store::cycles::get(&mut tx, cycle_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = &actor.principal;
    let me = p.org_code.as_str();
    let mut supplied: Vec<ProductKind> = Vec::new();
    for (item, id) in [
        (ProductKind::Vaccine, Some(&cycle.vaccine_id)),
        (ProductKind::Needle, cycle.needle_id.as_ref()),
        (ProductKind::Syringe, cycle.syringe_id.as_ref()),
    ] {
        if let Some(id) = id
            && products::get(&mut tx, id)
                .await?
                .is_some_and(|pr| pr.owner_code == me)
        {
            supplied.push(item);
        }
    }
    let sees = |deliverer: &str, item: ProductKind| {
        p.is_nation() || deliverer == me || supplied.contains(&item)
    };
    actor.require_can(Capability::SeeUpstream)?;
    let mut out = Vec::new();
    for t in deliveries::totals_by_deliverer(&mut tx, cycle_id).await? {
        if !sees(&t.deliverer_code, t.item) {
            continue;
        }
        let name = orgs::get(&mut tx, &t.deliverer_code)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        out.push(UpstreamLine {
            deliverer_code: t.deliverer_code,
            deliverer_name: name,
            item: t.item,
            lines: t.lines,
            quantity: t.quantity,
            delivered: t.delivered,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct InboundInput {
    pub cycle_id: String,
    /// `vaccine`, `needle` or `syringe`.
    pub item: ProductKind,
    /// Vials or pieces received.
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub quantity: i64,
    /// 入荷日 (not after today).
    pub received_on: NaiveDate,
}

/// A deliverer's stock of one item in a cycle: assigned to deliver, received (入荷),
/// delivered, on hand (在庫 = received − delivered).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DelivererStock {
    pub item: ProductKind,
    pub assigned: i64,
    pub received: i64,
    pub delivered: i64,
    pub on_hand: i64,
}

/// Records what the deliverer received from upstream for a cycle (its operators or token).
pub async fn record_inbound(
    app: &App,
    actor: &Actor,
    input: &InboundInput,
) -> AppResult<vsys_store::deliveries::InboundRow> {
    actor.require_can(Capability::RecordInbound)?;
    let mut inv = Invalid::default();
    if !(1..=100_000_000).contains(&input.quantity) {
        inv.push("quantity", Msg::LedgerNotPositive);
    }
    let now = app.clock.now();
    if input.received_on > japan_date(now) {
        inv.push("received_on", Msg::FutureDay);
    }
    inv.into_result()?;
    let mut tx = app.db.begin().await?;
    vsys_store::cycles::get(&mut tx, &input.cycle_id)
        .await?
        .ok_or_else(|| AppError::invalid("cycle_id", Msg::NotFound))?;
    let row = vsys_store::deliveries::InboundRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_code: actor.principal.org_code.to_string(),
        cycle_id: input.cycle_id.clone(),
        item: input.item,
        quantity: input.quantity,
        received_on: input.received_on,
        at: now,
        by: Some(actor.user_id.clone()),
    };
    deliveries::insert_inbound(&mut tx, &row).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "delivery.inbound",
        "inbound",
        &row.id,
        None::<&()>,
        Some(&row),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// The deliverer's own stock per item in a cycle.
pub async fn deliverer_stock(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
) -> AppResult<Vec<DelivererStock>> {
    actor.require_can(Capability::KeepDelivererStock)?;
    let me = actor.principal.org_code.to_string();
    let mut tx = app.db.read().await?;
    let totals = deliveries::totals_by_deliverer(&mut tx, cycle_id).await?;
    let inbound = deliveries::inbound(&mut tx, &me, cycle_id).await?;
    Ok(ITEMS
        .iter()
        .filter_map(|item| {
            let (assigned, delivered) = totals
                .iter()
                .find(|t| t.deliverer_code == me && t.item == *item)
                .map(|t| (t.quantity, t.delivered))
                .unwrap_or((0, 0));
            let received: i64 = inbound
                .iter()
                .filter(|i| i.item == *item)
                .map(|i| i.quantity)
                .sum();
            (assigned > 0 || received > 0).then(|| DelivererStock {
                item: *item,
                assigned,
                received,
                delivered,
                on_hand: received - delivered,
            })
        })
        .collect())
}

/// Where dry ice is needed: vaccine deliveries to sites that store on dry ice, in the areas a
/// dry-ice maker serves (prefectures or municipalities), with the amount by the supply rules
/// (grams per box) and the day (納入予定日).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DryIceLine {
    pub delivery_id: String,
    pub cycle_id: String,
    pub site_code: String,
    pub municipality_code: String,
    pub vials: i64,
    pub boxes: i64,
    pub grams: i64,
    pub scheduled_on: Option<NaiveDate>,
    pub delivered_on: Option<NaiveDate>,
}

pub async fn dry_ice(app: &App, actor: &Actor, cycle_id: &str) -> AppResult<Vec<DryIceLine>> {
    actor.require_can(Capability::SeeDryIce)?;
    let p = &actor.principal;
    let mut tx = app.db.read().await?;
    let areas: Vec<String> = match p.org_kind {
        OrgKind::DryIceMaker => {
            let mut paths = Vec::new();
            for a in orgs::areas(&mut tx, p.org_code.as_str()).await? {
                if let Some(o) = orgs::get(&mut tx, &a).await? {
                    paths.push(o.path);
                }
            }
            paths
        }
        OrgKind::Nation | OrgKind::Prefecture | OrgKind::Municipality => vec![p.org_path.clone()],
        _ => return Err(AppError::Forbidden),
    };
    let cycle = vsys_store::cycles::get(&mut tx, cycle_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rules = products::rules(&mut tx)
        .await?
        .unwrap_or_else(|| crate::products::default_rules(cycle.updated_at));
    let ultra = products::get(&mut tx, &cycle.vaccine_id)
        .await?
        .is_some_and(|v| v.storage_class.as_deref() == Some("ultra_cold"));
    let per_box = if ultra {
        rules.dry_ice_grams_ultra_cold
    } else {
        rules.dry_ice_grams_frozen
    };
    let mut out = Vec::new();
    for path in areas {
        let f = DeliveryFilter {
            site_path: Some(path),
            cycle_id: Some(cycle.id.clone()),
            item: Some("vaccine".into()),
            ..DeliveryFilter::default()
        };
        for d in deliveries::list(&mut tx, &f, Page::all()).await?.0 {
            if d.storage.as_deref() != Some("dry_ice") {
                continue;
            }
            let boxes = (d.quantity + cycle.vials_per_box - 1) / cycle.vials_per_box.max(1);
            out.push(DryIceLine {
                delivery_id: d.id,
                cycle_id: d.cycle_id,
                site_code: d.site_code,
                municipality_code: d.municipality_code,
                vials: d.quantity,
                boxes,
                grams: boxes * per_box,
                scheduled_on: d.scheduled_on,
                delivered_on: d.delivered_on,
            });
        }
    }
    out.sort_by(|a, b| {
        a.scheduled_on
            .cmp(&b.scheduled_on)
            .then(a.site_code.cmp(&b.site_code))
            .then(a.delivery_id.cmp(&b.delivery_id))
    });
    // Areas may overlap (a prefecture and one of its municipalities).
    out.dedup_by(|a, b| a.delivery_id == b.delivery_id);
    Ok(out)
}

/// A deliverer's basic information as entered (基本情報の登録).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DelivererInfo {
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// 担当者.
    pub contact: Option<String>,
    pub email: Option<String>,
}

/// A deliverer's basic information (the deliverer itself and the organisations above it).
pub async fn deliverer_info(
    app: &App,
    actor: &Actor,
    code: &str,
) -> AppResult<vsys_store::deliveries::DelivererProfileRow> {
    let org = crate::orgs::get(app, actor, code).await?;
    if !org.kind.is_deliverer() {
        return Err(AppError::NotFound);
    }
    let mut tx = app.db.read().await?;
    Ok(deliveries::profile(&mut tx, &org.code).await?.unwrap_or(
        vsys_store::deliveries::DelivererProfileRow {
            org_code: org.code.clone(),
            updated_at: org.updated_at,
            ..Default::default()
        },
    ))
}

/// Registers or changes the deliverer's own basic information (its operators; If-Match: the
/// version read, 0 the first time).
pub async fn set_deliverer_info(
    app: &App,
    actor: &Actor,
    code: &str,
    version: i64,
    input: &DelivererInfo,
) -> AppResult<vsys_store::deliveries::DelivererProfileRow> {
    let org = crate::orgs::get(app, actor, code).await?;
    if !org.kind.is_deliverer() {
        return Err(AppError::NotFound);
    }
    if !actor.principal.is_own(&org.path) {
        return Err(AppError::Forbidden);
    }
    actor.require(Action::Write, &org.path)?;
    let mut inv = Invalid::default();
    let clean = |v: &Option<String>, field: &str, max: usize, inv: &mut Invalid| {
        let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        if s.chars().count() > max {
            inv.push(field, Msg::TooLong);
        }
        Some(s.to_owned())
    };
    let postal_code = clean(&input.postal_code, "postal_code", 12, &mut inv).and_then(|p| {
        vsys_domain::place::postal_code(&p)
            .map_err(|m| inv.push("postal_code", m))
            .ok()
    });
    let address = clean(&input.address, "address", 300, &mut inv);
    let phone = clean(&input.phone, "phone", 20, &mut inv);
    if phone.as_deref().is_some_and(|p| {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        !(10..=11).contains(&digits) || !p.chars().all(|c| c.is_ascii_digit() || c == '-')
    }) {
        inv.push("phone", Msg::InvalidPhone);
    }
    let contact = clean(&input.contact, "contact", 100, &mut inv);
    let email = clean(&input.email, "email", 254, &mut inv);
    if email
        .as_deref()
        .is_some_and(|e| vsys_domain::validation::Email::parse(e).is_err())
    {
        inv.push("email", Msg::InvalidEmail);
    }
    inv.into_result()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let before = deliveries::profile(&mut tx, &org.code).await?;
    let row = vsys_store::deliveries::DelivererProfileRow {
        org_code: org.code.clone(),
        postal_code,
        address,
        phone,
        contact,
        email,
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version,
    };
    let row = deliveries::put_profile(&mut tx, &row, version).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "deliverer.info",
        "org",
        &org.code,
        before.as_ref(),
        Some(&row),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}
