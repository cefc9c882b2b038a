//! Delivery (配送): the list of deliveries — for deliverers a form to enter 納入予定日,
//! 納入実績日, 配送番号, ロット and 備考 of many lines at once (or by CSV), for the prefecture
//! the change of wholesaler of an undated line — and 配送状況, the counts without a scheduled
//! date, late and delivered, each a link to the lines behind it. What a user sees is decided
//! by `vsys_app::delivery`; every handler calls one use-case and renders a template, and a
//! refused form comes back with the reasons by row and what was typed.

pub mod csv;
pub mod list;
pub mod status;

use super::form::{Flash, done};
use crate::AppState;
use crate::i18n::Ui;
use axum::response::Response;
use serde::Deserialize;
use vsys_app::delivery::DeliveryQuery;
use vsys_app::rows::Page;
use vsys_app::{Actor, AppResult};
use vsys_domain::{Capability, Lang, OrgKind, ProductKind};

/// Lines per page of the list (and so of one bulk form).
const PER_PAGE: u64 = 50;

// ---------------------------------------------------------------------------------------------
// Who may do what
// ---------------------------------------------------------------------------------------------

fn is_deliverer(a: &Actor) -> bool {
    a.can(Capability::SeeOwnDeliveries)
}

/// Deliverers' operators enter dates (the list becomes a form).
fn may_enter(a: &Actor) -> bool {
    a.can(Capability::EnterDeliveryDates)
}

/// The prefecture (or the nation) gives an undated line to another wholesaler.
fn may_reassign(a: &Actor) -> bool {
    a.can(Capability::ReassignDeliveries)
}

fn oversees(a: &Actor) -> bool {
    a.can(Capability::OverseeArea)
}

/// 配送状況: the nation, prefectures and municipalities, and deliverers for their own lines.
fn may_see_status(a: &Actor) -> bool {
    oversees(a) || is_deliverer(a)
}

// ---------------------------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------------------------

/// The items as filter options (`vaccine`, `needle`, `syringe`) with their names.
pub(in crate::pages) fn item_options(
    lang: Lang,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    ProductKind::ALL
        .into_iter()
        .map(move |k| (k.as_str(), k.label(lang)))
}

/// How the goods are kept on the way.
fn storage_label(s: Option<&str>, lang: Lang) -> &'static str {
    match s {
        Some("dry_ice") => Ui::StorageDryIce.text(lang),
        Some("freezer") => Ui::StorageFreezer.text(lang),
        _ => "—",
    }
}

/// The label of a `state` filter value.
fn state_label(state: &str, lang: Lang) -> String {
    let day = |u: Ui, d: &str| u.text(lang).replace("{date}", d);
    match state {
        "" => Ui::FilterAll.text(lang).to_owned(),
        "unscheduled" => Ui::StateUnscheduled.text(lang).to_owned(),
        "late" => Ui::StateLate.text(lang).to_owned(),
        "delivered" => Ui::StateDelivered.text(lang).to_owned(),
        s => match (s.strip_prefix("scheduled:"), s.strip_prefix("delivered:")) {
            (Some(d), _) => day(Ui::StateScheduledOn, d),
            (_, Some(d)) => day(Ui::StateDeliveredOn, d),
            _ => s.to_owned(),
        },
    }
}

/// The filters of the list and of the status page (and the page, the message after a
/// redirect, the encoding of a download).
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    cycle: Option<String>,
    municipality: Option<String>,
    item: Option<String>,
    state: Option<String>,
    deliverer: Option<String>,
    page: Option<u64>,
    flash: Option<String>,
    encoding: Option<String>,
    /// After a save: the lines the page showed, in their order (ids, comma-separated), so that
    /// they stay where they were rather than move as their new dates sort them.
    keep: Option<String>,
    /// After a save: the page numbers of the lines that were saved (comma-separated).
    saved: Option<String>,
}

fn clean(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or_default().to_owned()
}

impl ListQuery {
    fn page(&self) -> u64 {
        self.page.unwrap_or(1).max(1)
    }

    fn app(&self, page: u64, per_page: u64) -> DeliveryQuery {
        let some = |v: &Option<String>| Some(clean(v)).filter(|s| !s.is_empty());
        DeliveryQuery {
            cycle: some(&self.cycle),
            municipality: some(&self.municipality),
            item: some(&self.item),
            state: some(&self.state),
            deliverer: some(&self.deliverer),
            page: Some(page),
            per_page: Some(per_page),
        }
    }

    /// The filters as a query string, with `state` replaced.
    fn qs_with(&self, state: &str) -> String {
        format!(
            "cycle={}&municipality={}&item={}&state={}&deliverer={}",
            urlencoding::encode(&clean(&self.cycle)),
            urlencoding::encode(&clean(&self.municipality)),
            urlencoding::encode(&clean(&self.item)),
            urlencoding::encode(state),
            urlencoding::encode(&clean(&self.deliverer)),
        )
    }

    /// The filters as a query string.
    fn qs(&self) -> String {
        self.qs_with(&clean(&self.state))
    }
}

/// The ids of the lines to show in place of the query's page (after a save), at most a page.
fn kept(q: &ListQuery) -> Vec<String> {
    clean(&q.keep)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(PER_PAGE as usize)
        .map(str::to_owned)
        .collect()
}

/// The page numbers of the lines saved (after a save).
fn saved_rows(q: &ListQuery) -> Vec<usize> {
    clean(&q.saved)
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// Back to the list as it was filtered, with a message.
fn back(q: &ListQuery, flash: Flash) -> Response {
    done(
        &format!("/deliveries?{}&page={}", q.qs(), q.page()),
        flash,
        "",
    )
}

// ---------------------------------------------------------------------------------------------
// Filters (list and status)
// ---------------------------------------------------------------------------------------------

pub struct Filters {
    pub action: &'static str,
    pub cycle: String,
    pub municipality: String,
    pub item: String,
    pub state: String,
    pub deliverer: String,
    /// id, name
    pub cycles: Vec<(String, String)>,
    /// code, name (a prefecture's municipalities; empty: a code is typed)
    pub municipalities: Vec<(String, String)>,
    pub municipality_filter: bool,
    pub deliverer_filter: bool,
    /// value, label
    pub items: Vec<(&'static str, &'static str)>,
    /// value, label (none on the status page)
    pub states: Vec<(String, String)>,
}

async fn filters(
    s: &AppState,
    a: &Actor,
    lang: Lang,
    q: &ListQuery,
    action: &'static str,
) -> AppResult<Filters> {
    let (cycles, _) = vsys_app::cycles::list(&s.app, a, Page::first(100)).await?;
    let kind = a.principal().org_kind;
    let mut municipalities = Vec::new();
    if kind == OrgKind::Prefecture {
        let (ms, _) = vsys_app::orgs::list(
            &s.app,
            a,
            &vsys_app::orgs::OrgQuery {
                kind: Some("municipality".into()),
                parent: Some(a.org_code().into()),
                per_page: Some(Page::MAX_PER_PAGE),
                ..Default::default()
            },
        )
        .await?;
        municipalities = ms.into_iter().map(|m| (m.code, m.name)).collect();
    }
    let state = clean(&q.state);
    let mut states: Vec<(String, String)> = ["", "unscheduled", "late", "delivered"]
        .iter()
        .map(|v| ((*v).to_owned(), state_label(v, lang)))
        .collect();
    if !states.iter().any(|(v, _)| *v == state) {
        states.push((state.clone(), state_label(&state, lang)));
    }
    let mut items = vec![("", Ui::FilterAll.text(lang))];
    items.extend(item_options(lang));
    Ok(Filters {
        action,
        cycle: clean(&q.cycle),
        municipality: clean(&q.municipality),
        item: clean(&q.item),
        state,
        deliverer: clean(&q.deliverer),
        cycles: cycles.into_iter().map(|c| (c.id, c.name)).collect(),
        municipalities,
        municipality_filter: matches!(kind, OrgKind::Nation | OrgKind::Prefecture)
            || is_deliverer(a),
        deliverer_filter: oversees(a),
        items,
        states: if action == "/deliveries" {
            states
        } else {
            vec![]
        },
    })
}
