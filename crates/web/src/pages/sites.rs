//! Sites (医療機関・接種会場): a site's home page, the list and bulk registration of sites, one
//! site's registry entry, details, doctors and stock, daily results (接種実績) and idle stock
//! (偏在). Every handler parses the form, calls one use-case and renders a template; a refused
//! form comes back with the reasons next to its fields.

use super::form::{FormMap, ascii_digits, opt, text};
use super::home::{NoticeView, notice_view};
use super::{Chrome, Pager, local_path};
use crate::AppState;
use crate::error::{PageError, render, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{L, Ui, field_label, int, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use vsys_app::rows::Page;
use vsys_app::rows::ProfileRow;
use vsys_app::site_import::{ImportSummary, Phase};
use vsys_app::sites::{DetailsInput, NewDoctor, NewMunicipalSite, RegistryInput, SiteQuery};
use vsys_app::stock::{ReceiptInput, StockView, TransferInput};
use vsys_app::{Actor, AppError, AppResult};
use vsys_domain::Capability;
use vsys_domain::chain::{Level, Status};
use vsys_domain::ledger::{EntryKind, WasteReason};
use vsys_domain::{Action, Invalid, Lang, Msg, OrgKind};
use vsys_domain::{ContractStatus, Reservation, SiteType};

// ---------------------------------------------------------------------------------------------
// Forms: values, errors, outcomes
// ---------------------------------------------------------------------------------------------

/// A whole number of a form (thousands separators and full-width digits allowed); an empty
/// field is `empty`, or required when that is `None`.
fn number(f: &FormMap, k: &str, empty: Option<i64>, inv: &mut Invalid) -> i64 {
    let t = ascii_digits(&text(f, k)).replace(',', "");
    if t.is_empty() {
        return match empty {
            Some(d) => d,
            None => {
                inv.push(k, Msg::Required);
                0
            }
        };
    }
    t.parse::<i64>().unwrap_or_else(|_| {
        inv.push(k, Msg::InvalidInput);
        0
    })
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(
        ascii_digits(s.trim()).replace('/', "-").as_str(),
        "%Y-%m-%d",
    )
    .ok()
}

/// The label of a field named in an error, as the form shows it.
fn label_of(form: &str, field: &str, lang: Lang) -> String {
    let own = match (form, field) {
        ("doctor", "name") => Some(Ui::DoctorName),
        ("registry" | "create", "name") => Some(Ui::OrgName),
        ("period", "first_day") => Some(Ui::FirstDay),
        _ => None,
    };
    match own {
        Some(u) => u.text(lang).to_owned(),
        None => match field_label(field, lang) {
            "" => field.to_owned(),
            l => l.to_owned(),
        },
    }
}

/// The reasons a form was refused: each with its field (empty when about the whole form), the
/// field's label and the message, in the user's language.
#[derive(Default)]
pub struct Errs {
    /// The form they belong to (a page has several).
    pub form: String,
    pub title: &'static str,
    pub items: Vec<(String, String, String)>,
}

impl Errs {
    fn new(form: &str, e: &AppError, lang: Lang) -> Errs {
        let items = match e {
            AppError::Invalid(inv) => inv
                .0
                .iter()
                .map(|f| {
                    (
                        f.field.clone(),
                        label_of(form, &f.field, lang),
                        f.msg.text(lang).to_owned(),
                    )
                })
                .collect(),
            other => vec![(
                String::new(),
                String::new(),
                other
                    .detail(lang)
                    .unwrap_or_else(|| other.text(lang).to_owned()),
            )],
        };
        Errs {
            form: form.to_owned(),
            title: match e {
                AppError::Invalid(_) | AppError::Csv(_) => Msg::InvalidInput.text(lang),
                _ => Msg::Conflict.text(lang),
            },
            items,
        }
    }

    /// Whether `form` was refused (its summary is shown above it).
    pub fn on(&self, form: &str) -> bool {
        self.form == form && !self.items.is_empty()
    }

    /// Whether the correction of ledger entry `id` was refused.
    pub fn on_correct(&self, id: &str) -> bool {
        self.form.strip_prefix("correct:") == Some(id) && !self.items.is_empty()
    }

    /// The message shown next to `field` of `form`.
    pub fn at(&self, form: &str, field: &str) -> Option<&str> {
        if self.form != form {
            return None;
        }
        self.items
            .iter()
            .find(|(f, _, _)| f == field)
            .map(|(_, _, m)| m.as_str())
    }

    /// Every reason, as "label: message".
    pub fn summary(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|(_, label, m)| {
                if label.is_empty() {
                    m.clone()
                } else {
                    format!("{label}: {m}")
                }
            })
            .collect()
    }
}

/// The values the forms of a page show: stored values, or what was typed into a refused form
/// (keys are `form.field`).
#[derive(Default)]
pub struct Vals(HashMap<String, String>);

impl Vals {
    pub fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or_default()
    }

    pub fn is(&self, k: &str, v: &str) -> bool {
        self.get(k) == v
    }

    fn set(&mut self, k: &str, v: impl Into<String>) {
        self.0.insert(k.to_owned(), v.into());
    }

    /// What was typed into `form` replaces the stored values (unticked boxes included).
    fn overlay(&mut self, form: &str, typed: &FormMap, checkboxes: &[&str]) {
        for c in checkboxes {
            self.0.remove(&format!("{form}.{c}"));
        }
        for (k, v) in typed {
            if k != crate::session::CSRF_FIELD {
                self.0.insert(format!("{form}.{k}"), v.clone());
            }
        }
    }
}

/// The status of a refused form, or `None` when the error is not the form's (it becomes an
/// error page).
fn refusal_status(e: &AppError) -> Option<StatusCode> {
    match e {
        AppError::Invalid(_) | AppError::Csv(_) => Some(StatusCode::UNPROCESSABLE_ENTITY),
        AppError::Conflict => Some(StatusCode::CONFLICT),
        _ => None,
    }
}

/// Back to `path` with a message (`#anchor` keeps the place on the page).
fn done(path: &str, flash: &str, anchor: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}flash={flash}{anchor}")).into_response()
}

fn render_html<T: Template>(t: &T) -> AppResult<String> {
    t.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

fn when(t: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    t.map(jst).unwrap_or_else(|| "—".to_owned())
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

// ---------------------------------------------------------------------------------------------
// Reservation status (予約受付状況)
// ---------------------------------------------------------------------------------------------

pub struct ResvOption {
    pub value: &'static str,
    pub id: String,
    pub mark: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The reservation block: the current status, when it was set, and one button per status.
#[derive(Template)]
#[template(path = "site_reservation.html")]
pub struct ReservationBlock {
    pub l: L,
    pub csrf: String,
    pub code: String,
    pub mark: &'static str,
    pub label: &'static str,
    pub at: String,
    pub options: Vec<ResvOption>,
    pub can_write: bool,
    pub back: String,
}

fn reservation_block(
    actor: &Actor,
    lang: Lang,
    p: &ProfileRow,
    can_write: bool,
    back: &str,
) -> ReservationBlock {
    let (mark, label) = p.reservation.label(lang);
    ReservationBlock {
        l: L(lang),
        csrf: actor.csrf_token().to_owned(),
        code: p.org_code.clone(),
        mark,
        label,
        at: p
            .reservation_at
            .as_ref()
            .map(jst)
            .unwrap_or_else(|| Ui::NotYet.text(lang).to_owned()),
        options: Reservation::ALL
            .iter()
            .map(|v| {
                let (mark, label) = v.label(lang);
                ResvOption {
                    value: v.as_str(),
                    id: format!("reservation-{}", v.as_str().replace('_', "-")),
                    mark,
                    label,
                    current: *v == p.reservation,
                }
            })
            .collect(),
        can_write,
        back: back.to_owned(),
    }
}

#[derive(Deserialize)]
pub struct ReservationForm {
    status: String,
    back: Option<String>,
}

/// One click sets the reservation status: htmx gets the block back, a plain form a redirect.
pub async fn reservation(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(f): Form<ReservationForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let status = Reservation::parse(f.status.trim())
        .ok_or_else(|| PageError(AppError::invalid("reservation", Msg::InvalidInput), lang))?;
    let p = vsys_app::sites::set_reservation(&s.app, &u.actor, &code, status)
        .await
        .map_err(|e| PageError(e, lang))?;
    let back = f.back.as_deref().and_then(local_path).unwrap_or("/");
    if is_htmx(&headers) {
        return Ok(render(&reservation_block(&u.actor, lang, &p, true, back)));
    }
    Ok(done(back, "reservation", "#reservation"))
}

// ---------------------------------------------------------------------------------------------
// The site's home page
// ---------------------------------------------------------------------------------------------

pub struct AllocLine {
    pub cycle_id: String,
    pub cycle_name: String,
    pub period: String,
    pub status: (&'static str, &'static str),
    pub amount: String,
    pub doses: String,
    /// The cycle's deliveries to the site (none until the cycle is finalised).
    pub deliveries: Vec<SiteDelivery>,
}

/// One delivery on the site's home page: the item with its 納入予定日 and 納入実績日 ("未定"
/// until the deliverer enters them).
pub struct SiteDelivery {
    /// `vaccine`, `needle`, `syringe` (element ids).
    pub key: vsys_domain::ProductKind,
    pub item: &'static str,
    pub scheduled: String,
    pub delivered: String,
}

/// Stock on hand as a summary (doses, vials, use, days of supply, freshness, idle flag).
pub struct StockSummary {
    pub doses: String,
    pub vials: String,
    pub given: String,
    pub days: String,
    pub last: String,
    pub idle: bool,
}

/// Days of supply ("532日", "532 days"; "—" when nothing is being used).
fn days_text(d: Option<i64>, lang: Lang) -> String {
    match (d, lang) {
        (None, _) => "—".to_owned(),
        (Some(d), Lang::Ja) => format!("{}{}", int(d), Ui::Days.text(lang)),
        (Some(d), Lang::En) => format!("{} {}", int(d), Ui::Days.text(lang)),
    }
}

fn stock_summary(v: &StockView, lang: Lang) -> StockSummary {
    StockSummary {
        doses: int(v.doses),
        vials: int(v.vials),
        given: int(v.administered_in_window),
        days: days_text(v.days_of_supply, lang),
        last: when(v.last_entry_at.as_ref()),
        idle: v.idle,
    }
}

#[derive(Template)]
#[template(path = "site_home.html")]
pub struct SiteHomePage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub kind_label: &'static str,
    pub details_missing: bool,
    pub reservation_html: String,
    /// label, link, element id
    pub tasks: Vec<(String, String, String)>,
    /// id, name, deadline
    pub open_cycles: Vec<(String, String, String)>,
    pub allocations: Vec<AllocLine>,
    /// When the doses can be booked from (or why that is not known yet).
    pub reservable: Vec<String>,
    pub stock: StockSummary,
    pub notices: Vec<NoticeView>,
}

/// The home page of a medical institution or municipal site.
pub(super) async fn site_home(
    s: &AppState,
    u: &WebUser,
    flash: Option<&str>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let code = a.org_code().to_owned();
    let site = vsys_app::sites::get(&s.app, a, &code).await.map_err(err)?;
    let can_write = a.principal().may(Action::Write, &site.org.path);
    let stock = vsys_app::stock::view(&s.app, a, &code).await.map_err(err)?;
    let today = vsys_app::clock::japan_date(s.app.clock.now());
    let (cycles, _) = vsys_app::cycles::list(&s.app, a, Page::first(100))
        .await
        .map_err(err)?;
    let mut open: Vec<&vsys_app::rows::CycleRow> =
        cycles.iter().filter(|c| c.deadline_site >= today).collect();
    open.sort_by_key(|c| c.deadline_site);
    let mut allocations = Vec::new();
    // (the vaccine's 納入実績日 or else 納入予定日, doses) of each allocation still to be used.
    let mut dated: Vec<(NaiveDate, i64)> = Vec::new();
    for cy in &cycles {
        let Some(node) = vsys_app::allocation::own_node(&s.app, a, &cy.id)
            .await
            .map_err(err)?
        else {
            continue;
        };
        let pres = vsys_app::allocation::presentation(cy);
        let unit = vsys_app::allocation::unit_of(cy, Level::Site);
        let r = pres.from_vials_floor(node.vials, unit);
        let amount = if r.remainder_vials > 0 {
            format!(
                "{} {} + {} {}",
                int(r.amount),
                unit.label(lang),
                int(r.remainder_vials),
                vsys_domain::units::Unit::Vial.label(lang)
            )
        } else {
            format!("{} {}", int(r.amount), unit.label(lang))
        };
        let st = node.status;
        // Deliveries exist once the cycle is finalised.
        let deliveries = if st == Status::Final {
            vsys_app::delivery::list(
                &s.app,
                a,
                &vsys_app::delivery::DeliveryQuery {
                    cycle: Some(cy.id.clone()),
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?
            .0
        } else {
            vec![]
        };
        if let Some(d) = deliveries
            .iter()
            .find(|d| d.item == vsys_domain::ProductKind::Vaccine)
            .and_then(|d| d.delivered_on.or(d.scheduled_on))
            .filter(|_| cy.period_end >= today)
        {
            dated.push((d, pres.doses(node.vials)));
        }
        let undecided = || l.t(Ui::Undecided).to_owned();
        let mut deliveries: Vec<SiteDelivery> = deliveries
            .iter()
            .map(|d| SiteDelivery {
                key: d.item,
                item: d.item.label(lang),
                scheduled: d
                    .scheduled_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(undecided),
                delivered: d
                    .delivered_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(undecided),
            })
            .collect();
        deliveries.sort_by_key(|d| {
            vsys_app::delivery::ITEMS
                .iter()
                .position(|i| *i == d.key)
                .unwrap_or(usize::MAX)
        });
        allocations.push(AllocLine {
            cycle_id: cy.id.clone(),
            cycle_name: cy.name.clone(),
            period: format!("{} 〜 {}", cy.period_start, cy.period_end),
            status: (st.label(lang), st.badge()),
            amount,
            doses: int(pres.doses(node.vials)),
            deliveries,
        });
    }
    // One sentence per allocation whose vaccine has a delivery date.
    dated.sort();
    let reservable = if dated.is_empty() {
        vec![
            l.t(Ui::ReservableUnknown).to_owned(),
            l.t(Ui::StockAllows).replace("{n}", &int(stock.doses)),
        ]
    } else {
        dated
            .iter()
            .map(|(d, n)| {
                l.t(Ui::ReservableFrom)
                    .replace("{date}", &d.to_string())
                    .replace("{n}", &int(*n))
            })
            .collect()
    };
    let unread = vsys_app::notices::unread(&s.app, a).await.map_err(err)?;
    let mut tasks = vec![
        (
            format!("{}（{unread}）", l.t(Ui::UnreadNotices)),
            "/notices".to_owned(),
            "task-notices".to_owned(),
        ),
        (
            l.t(Ui::SiteInfo).to_owned(),
            format!("/sites/{code}"),
            "task-site".to_owned(),
        ),
        (
            l.t(Ui::ResultsEntry).to_owned(),
            "/results".to_owned(),
            "task-results".to_owned(),
        ),
    ];
    if a.principal()
        .may(Action::ManageUsers, &a.principal().org_path)
    {
        tasks.push((
            l.t(Ui::ManageUsersTask).to_owned(),
            "/users".to_owned(),
            "task-users".to_owned(),
        ));
    }
    let (list, _) = vsys_app::notices::list(&s.app, a, Page::first(5))
        .await
        .map_err(err)?;
    let reservation_html =
        render_html(&reservation_block(a, lang, &site.profile, can_write, "/")).map_err(err)?;
    let c = Chrome::for_actor(&s.app, a, lang, a.org_name(), "/")
        .await
        .with_flash(flash);
    Ok(render(&SiteHomePage {
        c,
        org_name: site.org.name.clone(),
        kind_label: site.org.kind.label(lang),
        details_missing: site.profile.details_at.is_none(),
        reservation_html,
        tasks,
        open_cycles: open
            .iter()
            .map(|c| (c.id.clone(), c.name.clone(), c.deadline_site.to_string()))
            .collect(),
        allocations,
        reservable,
        stock: stock_summary(&stock, lang),
        notices: list.iter().map(|n| notice_view(n, lang)).collect(),
        code,
    }))
}

// ---------------------------------------------------------------------------------------------
// The list of sites, municipal sites, bulk registration
// ---------------------------------------------------------------------------------------------

pub struct SiteLine {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub municipality: String,
    pub contract: &'static str,
    pub site_type: &'static str,
    pub reservation: (&'static str, &'static str),
    pub details: bool,
    /// `None` for municipal sites (only institutions are confirmed).
    pub confirmed: Option<bool>,
    pub pending: usize,
}

#[derive(Template)]
#[template(path = "sites.html")]
pub struct SitesPage {
    pub c: Chrome,
    pub q: String,
    pub municipality: String,
    pub filter: String,
    /// code, name (a prefecture's municipalities; empty: a code is typed)
    pub municipalities: Vec<(String, String)>,
    pub can_filter_municipality: bool,
    /// key, label, link, current
    pub filters: Vec<(&'static str, &'static str, String, bool)>,
    pub rows: Vec<SiteLine>,
    pub pager: Pager,
    pub can_create: bool,
    pub can_import: bool,
    pub errs: Errs,
    pub vals: Vals,
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    q: Option<String>,
    municipality: Option<String>,
    filter: Option<String>,
    page: Option<u64>,
    flash: Option<String>,
}

fn may_import(a: &Actor) -> bool {
    a.can(Capability::ImportRegistry)
}

fn may_create(a: &Actor) -> bool {
    a.can(Capability::CreateMunicipalSites)
}

async fn sites_page(
    s: &AppState,
    u: &WebUser,
    q: &ListQuery,
    errs: Errs,
    typed: Option<&FormMap>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let kind = a.principal().org_kind;
    if !a.can(Capability::OverseeArea) {
        return Err(err(AppError::Forbidden));
    }
    let per_page = 50;
    let page = vsys_app::page_of(q.page, None, per_page).map_err(|e| PageError(e, u.lang))?;
    let filter = q.filter.clone().unwrap_or_default();
    let (list, total) = vsys_app::sites::list(
        &s.app,
        a,
        &SiteQuery {
            municipality: q.municipality.clone(),
            q: q.q.clone(),
            filter: Some(filter.clone()).filter(|f| !f.is_empty()),
            page: Some(page.page),
            per_page: Some(per_page),
        },
    )
    .await
    .map_err(err)?;
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
        .await
        .map_err(err)?;
        municipalities = ms.into_iter().map(|m| (m.code, m.name)).collect();
    }
    let name_of = |code: &str| -> String {
        if kind == OrgKind::Municipality && code == a.org_code() {
            return a.org_name().to_owned();
        }
        municipalities
            .iter()
            .find(|(c, _)| c == code)
            .map(|(c, n)| format!("{n}（{c}）"))
            .unwrap_or_else(|| code.to_owned())
    };
    let rows = list
        .iter()
        .map(|r| SiteLine {
            code: r.code.clone(),
            name: r.name.clone(),
            kind: r.kind.label(lang),
            municipality: r
                .municipality_code
                .as_deref()
                .map(name_of)
                .unwrap_or_default(),
            contract: r.contract_status.label(lang),
            site_type: r.site_type.label(lang),
            reservation: r.reservation.label(lang),
            details: r.details_registered,
            confirmed: (r.kind == vsys_domain::OrgKind::Institution).then_some(r.confirmed),
            pending: r.pending_changes,
        })
        .collect();
    let qs = |filter: &str| {
        format!(
            "/sites?q={}&municipality={}&filter={}",
            urlencoding::encode(q.q.as_deref().unwrap_or_default()),
            urlencoding::encode(q.municipality.as_deref().unwrap_or_default()),
            urlencoding::encode(filter)
        )
    };
    let filters = vec![
        ("all", l.t(Ui::FilterAll), qs(""), filter.is_empty()),
        (
            "pending",
            l.t(Ui::FilterPending),
            qs("pending"),
            filter == "pending",
        ),
        (
            "unconfirmed",
            l.t(Ui::FilterUnconfirmed),
            qs("unconfirmed"),
            filter == "unconfirmed",
        ),
    ];
    let mut vals = Vals::default();
    if let Some(t) = typed {
        vals.overlay("create", t, &[]);
    }
    let c = Chrome::for_actor(&s.app, a, lang, l.t(Ui::Sites), "/sites")
        .await
        .with_flash(q.flash.as_deref());
    Ok(render_status(
        status,
        &SitesPage {
            c,
            q: q.q.clone().unwrap_or_default(),
            municipality: q.municipality.clone().unwrap_or_default(),
            can_filter_municipality: kind != OrgKind::Municipality,
            municipalities,
            pager: Pager::new(page.page, page.per_page, total, format!("{}&", qs(&filter))),
            filter,
            filters,
            rows,
            can_create: may_create(a),
            can_import: may_import(a),
            errs,
            vals,
        },
    ))
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    sites_page(&s, &u, &q, Errs::default(), None, StatusCode::OK).await
}

/// 集団接種会場の登録 (municipality operators).
pub async fn create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let n = NewMunicipalSite {
        name: text(&f, "name"),
        postal_code: opt(&f, "postal_code").map(|p| ascii_digits(&p)),
        address: opt(&f, "address"),
        representative: opt(&f, "representative"),
    };
    let muni = opt(&f, "municipality_code").unwrap_or_else(|| u.actor.org_code().to_owned());
    match vsys_app::sites::create_municipal_site(&s.app, &u.actor, &muni, &n).await {
        Ok(v) => Ok(done(&format!("/sites/{}", v.org.code), "site_created", "")),
        Err(e) => match refusal_status(&e) {
            Some(status) => {
                let errs = Errs::new("create", &e, lang);
                sites_page(&s, &u, &ListQuery::default(), errs, Some(&f), status).await
            }
            None => Err(PageError(e, lang)),
        },
    }
}

/// The template of the bulk registration file (UTF-8 with a BOM, opens in Excel).
pub async fn import_template(_u: WebUser) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"site_import_template.csv\"",
            ),
        ],
        vsys_app::site_import::template(),
    )
        .into_response()
}

/// An import running (or finished) in the background.
struct Job {
    user_id: String,
    started: Instant,
    phase: Phase,
    done: usize,
    total: usize,
    /// The summary, or the error in Japanese and English.
    outcome: Option<Result<ImportSummary, [String; 2]>>,
    finished: Option<Instant>,
    reads: u8,
}

/// A finished job is dropped after it was shown twice or ten minutes after it finished; a job
/// that never finishes (a crashed task) after an hour.
const KEEP_FINISHED: Duration = Duration::from_secs(600);
const KEEP_ANY: Duration = Duration::from_secs(3600);

fn jobs() -> MutexGuard<'static, HashMap<String, Job>> {
    static JOBS: OnceLock<Mutex<HashMap<String, Job>>> = OnceLock::new();
    let mut map = JOBS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    map.retain(|_, j| {
        now.duration_since(j.started) < KEEP_ANY
            && j.finished
                .is_none_or(|f| now.duration_since(f) < KEEP_FINISHED)
    });
    map
}

fn update_job(id: &str, f: impl FnOnce(&mut Job)) {
    if let Some(j) = jobs().get_mut(id) {
        f(j);
    }
}

/// The message of a failed import (every bad row of a refused file, by row number).
fn import_error(e: &AppError, lang: Lang) -> String {
    match e {
        AppError::Csv(t) => t.message(lang),
        AppError::Invalid(inv) => inv
            .0
            .iter()
            .map(|f| {
                let at = f.row.map(|r| match lang {
                    Lang::Ja => format!("{r}行目 "),
                    Lang::En => format!("row {r}, "),
                });
                format!(
                    "{}{}: {}",
                    at.unwrap_or_default(),
                    label_of("import", &f.field, lang),
                    f.msg.text(lang)
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other
            .detail(lang)
            .unwrap_or_else(|| other.text(lang).to_owned()),
    }
}

/// The progress of an import, polled by htmx every second until it is done.
#[derive(Template)]
#[template(path = "site_import_status.html")]
pub struct ImportStatus {
    pub l: L,
    pub id: String,
    pub finished: bool,
    pub phase: &'static str,
    pub done: String,
    pub total: String,
    pub done_n: usize,
    pub total_n: usize,
    /// rows, created, updated, unchanged
    pub summary: Option<(String, String, String, String)>,
    pub error: Vec<String>,
}

#[derive(Template)]
#[template(path = "site_import.html")]
pub struct ImportPage {
    pub c: Chrome,
    pub status_html: String,
    pub finished: bool,
    pub id: String,
}

fn phase_label(p: Phase, started: bool) -> Ui {
    match p {
        _ if !started => Ui::ImportQueued,
        Phase::Reading => Ui::ImportReading,
        Phase::Checking => Ui::ImportChecking,
        Phase::Writing => Ui::ImportWriting,
        Phase::Done => Ui::ImportDone,
    }
}

/// Starts a bulk registration: the file is read here, the import runs in the background.
pub async fn import_start(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let lang = u.lang;
    if !may_import(&u.actor) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let mut file: Option<Vec<u8>> = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            file = field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let e = AppError::invalid("file", Msg::Required);
        let errs = Errs::new("import", &e, lang);
        return sites_page(
            &s,
            &u,
            &ListQuery::default(),
            errs,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let id = data_encoding::HEXLOWER.encode(&rand::random::<[u8; 16]>());
    jobs().insert(
        id.clone(),
        Job {
            user_id: u.actor.user_id().to_owned(),
            started: Instant::now(),
            phase: Phase::Reading,
            done: 0,
            total: 0,
            outcome: None,
            finished: None,
            reads: 0,
        },
    );
    let (app, actor, job) = (s.app.clone(), u.actor.clone(), id.clone());
    tokio::spawn(async move {
        let progress = |phase: Phase, done: usize, total: usize| {
            update_job(&job, |j| {
                j.phase = phase;
                j.done = done;
                j.total = total;
            });
        };
        let r = vsys_app::site_import::import(&app, &actor, &bytes, &progress).await;
        if let Err(e) = &r {
            tracing::info!(job = %job, error = %e, "site import refused");
        }
        let outcome = r.map_err(|e| [import_error(&e, Lang::Ja), import_error(&e, Lang::En)]);
        update_job(&job, |j| {
            if outcome.is_ok() {
                j.phase = Phase::Done;
            }
            j.outcome = Some(outcome);
            j.finished = Some(Instant::now());
        });
    });
    if is_htmx(&headers) {
        return status_response(&s, &u, &id, true).await;
    }
    Ok(Redirect::to(&format!("/sites/import/{id}")).into_response())
}

/// The state of an import (only to the person who started it).
pub async fn import_status(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    status_response(&s, &u, &id, is_htmx(&headers)).await
}

async fn status_response(
    s: &AppState,
    u: &WebUser,
    id: &str,
    fragment: bool,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let status = {
        let mut map = jobs();
        let Some(j) = map.get_mut(id).filter(|j| j.user_id == u.actor.user_id()) else {
            return Err(PageError(AppError::NotFound, lang));
        };
        let finished = j.outcome.is_some();
        let st = ImportStatus {
            l: L(lang),
            id: id.to_owned(),
            finished,
            phase: phase_label(j.phase, j.total > 0 || j.done > 0 || finished).text(lang),
            done: int(j.done as i64),
            total: int(j.total as i64),
            done_n: j.done,
            total_n: j.total,
            summary: match &j.outcome {
                Some(Ok(x)) => Some((
                    int(x.rows as i64),
                    int(x.created as i64),
                    int(x.updated as i64),
                    int(x.unchanged as i64),
                )),
                _ => None,
            },
            error: match &j.outcome {
                Some(Err(m)) => m[usize::from(lang == Lang::En)]
                    .lines()
                    .map(str::to_owned)
                    .collect(),
                _ => vec![],
            },
        };
        if finished {
            j.reads += 1;
            if j.reads >= 2 {
                map.remove(id);
            }
        }
        st
    };
    if fragment {
        return Ok(render(&status));
    }
    let finished = status.finished;
    let status_html = render_html(&status).map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::ImportSites.text(lang), "/sites").await;
    Ok(render(&ImportPage {
        c,
        status_html,
        finished,
        id: id.to_owned(),
    }))
}

// ---------------------------------------------------------------------------------------------
// One site
// ---------------------------------------------------------------------------------------------

pub struct PendingChange {
    pub id: String,
    pub requested_at: String,
    /// field label, before, after
    pub lines: Vec<(String, String, String)>,
}

pub struct DoctorLine {
    pub id: String,
    pub name: String,
    pub registration_number: String,
    pub created_at: String,
}

pub struct EntryLine {
    pub id: String,
    pub at: String,
    pub kind: &'static str,
    pub lot: String,
    pub vials: String,
    pub doses: String,
    pub reason: String,
    pub reference: String,
    pub correctable: bool,
    pub corrected: bool,
}

/// The most ledger entries a page shows (newest first).
const LEDGER_ROWS: usize = 200;

#[derive(Template)]
#[template(path = "site.html")]
pub struct SitePage {
    pub c: Chrome,
    pub code: String,
    pub name: String,
    pub kind_label: &'static str,
    pub is_institution: bool,
    pub own: bool,
    pub can_write: bool,
    pub may_decide: bool,
    pub version: i64,
    /// label, value
    pub registry: Vec<(&'static str, String)>,
    pub contract_options: Vec<(&'static str, &'static str)>,
    pub pending: Vec<PendingChange>,
    pub confirmed_at: Option<String>,
    pub can_confirm: bool,
    pub details_at: Option<String>,
    pub updated_at: String,
    pub site_type: &'static str,
    pub hub_code: String,
    pub is_hub: bool,
    pub type_options: Vec<(&'static str, &'static str)>,
    pub reservation_html: String,
    pub doctors: Option<Vec<DoctorLine>>,
    pub stock: StockSummary,
    /// lot, vials, doses
    pub lots: Vec<(String, String, String)>,
    pub entries: Vec<EntryLine>,
    pub entries_truncated: bool,
    pub can_receive: bool,
    /// id, name
    pub cycles: Vec<(String, String)>,
    pub errs: Errs,
    pub vals: Vals,
}

fn change_value(field: &str, v: &serde_json::Value, lang: Lang) -> String {
    match v {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) if field == "contract_status" => ContractStatus::parse(s)
            .map(|c| c.label(lang).to_owned())
            .unwrap_or_else(|| s.clone()),
        serde_json::Value::String(s) if s.is_empty() => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pending_change(c: &vsys_app::rows::ChangeRow, lang: Lang) -> PendingChange {
    let parse = |s: &str| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).unwrap_or_default()
    };
    let (before, after) = (parse(&c.before), parse(&c.after));
    PendingChange {
        id: c.id.clone(),
        requested_at: jst(&c.requested_at),
        lines: after
            .iter()
            .map(|(k, new)| {
                (
                    label_of("registry", k, lang),
                    change_value(k, before.get(k).unwrap_or(&serde_json::Value::Null), lang),
                    change_value(k, new, lang),
                )
            })
            .collect(),
    }
}

/// How a site's page is shown: a refused form with what was typed into it, the doctors (only
/// on request: reading them is audited), the message after a redirect.
#[derive(Default)]
struct Shown {
    errs: Errs,
    typed: Option<FormMap>,
    doctors: bool,
    flash: Option<String>,
}

/// Renders a site's page.
async fn site_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, PageError> {
    let Shown {
        errs,
        typed,
        doctors: show_doctors,
        flash,
    } = shown;
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let site = vsys_app::sites::get(&s.app, a, code).await.map_err(err)?;
    let (org, p) = (&site.org, &site.profile);
    let code = org.code.clone();
    let own = a.principal().is_own(&org.path);
    let can_write = a.principal().may(Action::Write, &org.path);
    let may_decide = vsys_app::sites::may_decide(a, org);
    let is_institution = org.kind == vsys_domain::OrgKind::Institution;
    let stock = vsys_app::stock::view(&s.app, a, &code).await.map_err(err)?;
    let doctors = if show_doctors {
        Some(
            vsys_app::sites::doctors(&s.app, a, &code)
                .await
                .map_err(err)?
                .into_iter()
                .map(|d| DoctorLine {
                    id: d.id,
                    name: d.name,
                    registration_number: d.registration_number.unwrap_or_default(),
                    created_at: jst(&d.created_at),
                })
                .collect(),
        )
    } else {
        None
    };
    let can_receive = can_write && !own;
    let cycles = if can_receive {
        vsys_app::cycles::list(&s.app, a, Page::first(100))
            .await
            .map_err(err)?
            .0
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        vec![]
    };
    let muni = org.parent_code.clone().unwrap_or_default();
    let muni_label = match vsys_app::orgs::get(&s.app, a, &muni).await {
        Ok(m) => format!("{}（{muni}）", m.name),
        Err(_) => muni.clone(),
    };
    let opt_s = |v: &Option<String>| v.clone().unwrap_or_default();
    let registry = vec![
        (l.t(Ui::OrgCode), code.clone()),
        (l.t(Ui::OrgName), org.name.clone()),
        (l.t(Ui::PostalCode), opt_s(&p.postal_code)),
        (l.t(Ui::Municipality), muni_label),
        (l.t(Ui::StreetAddress), opt_s(&p.address)),
        (l.t(Ui::Representative), opt_s(&p.representative)),
        (
            l.t(Ui::ContractStatus),
            p.contract_status.label(lang).to_owned(),
        ),
        (l.t(Ui::FacilityCode), opt_s(&p.facility_code)),
    ];
    let mut vals = Vals::default();
    vals.set("registry.name", org.name.clone());
    vals.set("registry.postal_code", opt_s(&p.postal_code));
    vals.set("registry.municipality_code", muni);
    vals.set("registry.address", opt_s(&p.address));
    vals.set("registry.representative", opt_s(&p.representative));
    vals.set("registry.contract_status", p.contract_status.as_str());
    vals.set("registry.facility_code", opt_s(&p.facility_code));
    vals.set("details.phone", opt_s(&p.phone));
    vals.set("details.website", opt_s(&p.website));
    vals.set("details.hours", opt_s(&p.hours));
    vals.set("details.vaccines", opt_s(&p.vaccines));
    if p.accepts_non_regular {
        vals.set("details.accepts_non_regular", "on");
    }
    vals.set("details.access", opt_s(&p.access));
    vals.set("details.parking", opt_s(&p.parking));
    vals.set(
        "details.freezers_ultra_cold",
        p.freezers_ultra_cold.to_string(),
    );
    vals.set("details.freezers_minus20", p.freezers_minus20.to_string());
    vals.set("details.storage_location", opt_s(&p.storage_location));
    vals.set("hub.site_type", p.site_type.as_str());
    vals.set("hub.hub_code", opt_s(&p.hub_code));
    if let Some(t) = &typed {
        let form = errs.form.split(':').next().unwrap_or_default().to_owned();
        let checkboxes: &[&str] = if form == "details" {
            &["accepts_non_regular"]
        } else {
            &[]
        };
        vals.overlay(&form, t, checkboxes);
    }
    let reversed: HashSet<&str> = stock
        .entries
        .iter()
        .filter_map(|e| e.reverses.as_deref())
        .collect();
    let entries = stock
        .entries
        .iter()
        .take(LEDGER_ROWS)
        .map(|e| {
            let kind = e.kind;
            let corrected = reversed.contains(e.id.as_str());
            let by_results_or_transfer = e
                .reference
                .as_deref()
                .is_some_and(|r| r.starts_with("results:") || r.starts_with("transfer:"));
            let reason = match (kind, &e.reason, &e.note) {
                (EntryKind::Correction, _, Some(n)) => n.clone(),
                (_, Some(r), _) => WasteReason::parse(r)
                    .map(|w| w.label(lang).to_owned())
                    .unwrap_or_else(|| r.clone()),
                _ => String::new(),
            };
            EntryLine {
                id: e.id.clone(),
                at: jst(&e.at),
                kind: kind.label(lang),
                lot: e.lot.clone(),
                vials: int(e.vials),
                doses: int(e.doses),
                reason,
                reference: e.reference.clone().unwrap_or_default(),
                correctable: can_write
                    && kind != EntryKind::Correction
                    && !corrected
                    && !by_results_or_transfer,
                corrected,
            }
        })
        .collect();
    let reservation_html = render_html(&reservation_block(
        a,
        lang,
        p,
        can_write,
        &format!("/sites/{code}"),
    ))
    .map_err(err)?;
    let c = Chrome::for_actor(&s.app, a, lang, &org.name, &format!("/sites/{code}"))
        .await
        .with_flash(flash.as_deref());
    Ok(render_status(
        status,
        &SitePage {
            c,
            name: org.name.clone(),
            kind_label: org.kind.label(lang),
            is_institution,
            own,
            can_write,
            may_decide,
            version: p.version,
            registry,
            contract_options: ContractStatus::ALL
                .iter()
                .map(|c| (c.as_str(), c.label(lang)))
                .collect(),
            pending: site
                .pending
                .iter()
                .map(|c| pending_change(c, lang))
                .collect(),
            confirmed_at: p.confirmed_at.as_ref().map(jst),
            can_confirm: may_decide
                && is_institution
                && p.confirmed_at.is_none()
                && p.contract_status == ContractStatus::Contracted,
            details_at: p.details_at.as_ref().map(jst),
            updated_at: jst(&p.updated_at),
            site_type: p.site_type.label(lang),
            hub_code: opt_s(&p.hub_code),
            is_hub: p.site_type == SiteType::Hub,
            type_options: SiteType::ALL
                .iter()
                .map(|t| (t.as_str(), t.label(lang)))
                .collect(),
            reservation_html,
            doctors,
            stock: stock_summary(&stock, lang),
            lots: stock
                .lots
                .iter()
                .map(|x| (x.lot.clone(), int(x.vials), int(x.doses)))
                .collect(),
            entries_truncated: stock.entries.len() > LEDGER_ROWS,
            entries,
            can_receive,
            cycles,
            errs,
            vals,
            code,
        },
    ))
}

/// A refused form of a site's page: the page again, with the reasons and what was typed (after
/// a conflict, the stored values instead).
async fn site_refused(
    s: &AppState,
    u: &WebUser,
    code: &str,
    form: &str,
    typed: FormMap,
    e: AppError,
    show_doctors: bool,
) -> Result<Response, PageError> {
    let Some(status) = refusal_status(&e) else {
        return Err(PageError(e, u.lang));
    };
    let shown = Shown {
        errs: Errs::new(form, &e, u.lang),
        typed: (!matches!(e, AppError::Conflict)).then_some(typed),
        doctors: show_doctors,
        flash: None,
    };
    site_page(s, u, code, shown, status).await
}

#[derive(Deserialize, Default)]
pub struct FlashQuery {
    flash: Option<String>,
}

pub async fn detail(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    show(&s, &u, &code, q, false).await
}

/// The page with its doctors shown (each display is audited, so only on request).
pub async fn doctors(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    show(&s, &u, &code, q, true).await
}

async fn show(
    s: &AppState,
    u: &WebUser,
    code: &str,
    q: FlashQuery,
    doctors: bool,
) -> Result<Response, PageError> {
    let shown = Shown {
        doctors,
        flash: q.flash,
        ..Shown::default()
    };
    site_page(s, u, code, shown, StatusCode::OK).await
}

/// Changes the registry entry: applied at once for the municipality and above, filed for
/// approval when the site itself changes it.
pub async fn registry(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let Some(contract_status) = ContractStatus::parse(&text(&f, "contract_status")) else {
        let e = AppError::invalid("contract_status", Msg::InvalidContractStatus);
        return site_refused(&s, &u, &code, "registry", f, e, false).await;
    };
    let r = RegistryInput {
        name: text(&f, "name"),
        postal_code: opt(&f, "postal_code").map(|p| ascii_digits(&p)),
        municipality_code: ascii_digits(&text(&f, "municipality_code")),
        address: opt(&f, "address"),
        representative: opt(&f, "representative"),
        contract_status,
        facility_code: opt(&f, "facility_code").map(|c| ascii_digits(&c)),
    };
    match vsys_app::sites::change_registry(&s.app, &u.actor, &code, &r).await {
        Ok(vsys_app::sites::ChangeOutcome::Applied { .. }) => Ok(done(
            &format!("/sites/{code}"),
            "change_applied",
            "#registry",
        )),
        Ok(vsys_app::sites::ChangeOutcome::Pending { .. }) => {
            Ok(done(&format!("/sites/{code}"), "change_filed", "#changes"))
        }
        Err(e) => site_refused(&s, &u, &code, "registry", f, e, false).await,
    }
}

/// 承認 or 却下 of a pending change (`decision` = `approve` or `reject`).
pub async fn decide(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let approve = match text(&f, "decision").as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            let e = AppError::invalid("decision", Msg::InvalidInput);
            return site_refused(&s, &u, &code, "changes", f, e, false).await;
        }
    };
    match vsys_app::sites::decide_change(&s.app, &u.actor, &id, approve).await {
        Ok(c) => Ok(done(
            &format!("/sites/{}", c.org_code),
            if approve {
                "change_approved"
            } else {
                "change_rejected"
            },
            "#changes",
        )),
        Err(e) => site_refused(&s, &u, &code, "changes", f, e, false).await,
    }
}

/// 協力医療機関の確認 (the municipality or above).
pub async fn confirm(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let version = text(&f, "version").parse::<i64>().unwrap_or(-1);
    match vsys_app::sites::confirm(&s.app, &u.actor, &code, version).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), "confirmed", "#registry")),
        Err(e) => site_refused(&s, &u, &code, "confirm", f, e, false).await,
    }
}

/// The details a site registers on first login and keeps up to date.
pub async fn details(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let d = DetailsInput {
        phone: opt(&f, "phone").map(|p| ascii_digits(&p)),
        website: opt(&f, "website"),
        hours: opt(&f, "hours"),
        vaccines: opt(&f, "vaccines"),
        accepts_non_regular: f.contains_key("accepts_non_regular"),
        access: opt(&f, "access"),
        parking: opt(&f, "parking"),
        freezers_ultra_cold: number(&f, "freezers_ultra_cold", Some(0), &mut inv),
        freezers_minus20: number(&f, "freezers_minus20", Some(0), &mut inv),
        storage_location: opt(&f, "storage_location"),
    };
    if !inv.is_empty() {
        return site_refused(&s, &u, &code, "details", f, AppError::Invalid(inv), false).await;
    }
    let version = text(&f, "version").parse::<i64>().unwrap_or(-1);
    match vsys_app::sites::put_details(&s.app, &u.actor, &code, version, &d).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), "details_saved", "#details")),
        Err(e) => site_refused(&s, &u, &code, "details", f, e, false).await,
    }
}

/// 基本型 or サテライト型 (with its hub).
pub async fn hub(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let Some(site_type) = SiteType::parse(&text(&f, "site_type")) else {
        let e = AppError::invalid("site_type", Msg::InvalidSiteType);
        return site_refused(&s, &u, &code, "hub", f, e, false).await;
    };
    let hub_code = opt(&f, "hub_code").map(|c| ascii_digits(&c));
    match vsys_app::sites::set_hub(&s.app, &u.actor, &code, site_type, hub_code.as_deref()).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), "hub_saved", "#hub")),
        Err(e) => site_refused(&s, &u, &code, "hub", f, e, false).await,
    }
}

pub async fn doctor_add(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let d = NewDoctor {
        name: text(&f, "name"),
        registration_number: opt(&f, "registration_number").map(|r| ascii_digits(&r)),
    };
    match vsys_app::sites::add_doctor(&s.app, &u.actor, &code, &d).await {
        Ok(_) => Ok(done(
            &format!("/sites/{code}/doctors"),
            "doctor_added",
            "#doctors",
        )),
        Err(e) => site_refused(&s, &u, &code, "doctor", f, e, true).await,
    }
}

pub async fn doctor_remove(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    vsys_app::sites::remove_doctor(&s.app, &u.actor, &code, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done(
        &format!("/sites/{code}/doctors"),
        "doctor_removed",
        "#doctors",
    ))
}

/// 入荷の登録 by the municipality or above.
pub async fn receive(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let input = ReceiptInput {
        lot: text(&f, "lot"),
        vials: number(&f, "vials", None, &mut inv),
        cycle_id: opt(&f, "cycle_id"),
    };
    if !inv.is_empty() {
        return site_refused(&s, &u, &code, "receive", f, AppError::Invalid(inv), false).await;
    }
    match vsys_app::stock::receive(&s.app, &u.actor, &code, &input).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), "received", "#stock")),
        Err(e) => site_refused(&s, &u, &code, "receive", f, e, false).await,
    }
}

/// 移送: whole vials of a lot from this hub to one of its satellites.
pub async fn transfer(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let t = TransferInput {
        to: ascii_digits(&text(&f, "to")),
        lot: text(&f, "lot"),
        vials: number(&f, "vials", None, &mut inv),
    };
    if !inv.is_empty() {
        return site_refused(&s, &u, &code, "transfer", f, AppError::Invalid(inv), false).await;
    }
    match vsys_app::stock::transfer(&s.app, &u.actor, &code, &t).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), "transferred", "#stock")),
        Err(e) => site_refused(&s, &u, &code, "transfer", f, e, false).await,
    }
}

/// 訂正: reverses a ledger entry, with the reason.
pub async fn correct(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    match vsys_app::stock::correct(&s.app, &u.actor, &code, &id, &text(&f, "reason")).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), "corrected", "#ledger")),
        Err(e) => {
            let form = format!("correct:{id}");
            site_refused(&s, &u, &code, &form, f, e, false).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Results (接種実績) and reporting periods
// ---------------------------------------------------------------------------------------------

pub struct ResultLine {
    pub day: String,
    pub total: String,
    pub elderly: String,
    pub underlying: String,
    pub others: String,
    pub wasted: String,
    pub reason: String,
    pub updated: String,
}

pub struct PeriodLine {
    pub id: String,
    pub first_day: String,
    pub last_day: String,
    pub open: bool,
    pub opened_at: String,
    pub closed_at: String,
}

#[derive(Template)]
#[template(path = "results.html")]
pub struct ResultsPage {
    pub c: Chrome,
    pub is_site: bool,
    pub can_enter: bool,
    pub day: String,
    pub today: String,
    pub version: String,
    pub day_open: bool,
    pub updated: Option<String>,
    /// value, label
    pub reasons: Vec<(&'static str, &'static str)>,
    pub recent: Vec<ResultLine>,
    pub stock: Option<StockSummary>,
    pub periods: Vec<PeriodLine>,
    pub can_manage_periods: bool,
    pub errs: Errs,
    pub vals: Vals,
}

#[derive(Deserialize, Default)]
pub struct ResultsQuery {
    day: Option<String>,
    flash: Option<String>,
}

fn is_site_user(a: &Actor) -> bool {
    a.can(Capability::RunSite)
}

#[allow(clippy::too_many_arguments)]
async fn results_page(
    s: &AppState,
    u: &WebUser,
    day: Option<NaiveDate>,
    errs: Errs,
    form: &str,
    typed: Option<&FormMap>,
    flash: Option<&str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let today = vsys_app::clock::japan_date(s.app.clock.now());
    let day = day.unwrap_or(today);
    let is_site = is_site_user(a);
    let periods = vsys_app::results::periods(&s.app, a).await.map_err(err)?;
    let day_open = periods
        .iter()
        .any(|p| p.closed_at.is_none() && p.first_day <= day && day <= p.last_day);
    let mut vals = Vals::default();
    let mut version = String::new();
    let mut updated = None;
    let mut recent = Vec::new();
    let mut stock = None;
    if is_site {
        let code = a.org_code();
        let stored = vsys_app::results::day(&s.app, a, code, day)
            .await
            .map_err(err)?;
        if let Some(r) = &stored {
            vals.set("results.total", r.total.to_string());
            vals.set("results.elderly", r.elderly.to_string());
            vals.set("results.underlying", r.underlying.to_string());
            vals.set("results.others", r.others.to_string());
            vals.set("results.wasted_vials", r.wasted_vials.to_string());
            vals.set(
                "results.waste_reason",
                r.waste_reason.clone().unwrap_or_default(),
            );
            version = r.version.to_string();
            updated = Some(jst(&r.updated_at));
        } else {
            vals.set("results.wasted_vials", "0");
        }
        recent = vsys_app::results::recent(&s.app, a, code, 14)
            .await
            .map_err(err)?
            .into_iter()
            .map(|r| ResultLine {
                day: r.day.to_string(),
                total: int(r.total),
                elderly: int(r.elderly),
                underlying: int(r.underlying),
                others: int(r.others),
                wasted: int(r.wasted_vials),
                reason: r
                    .waste_reason
                    .as_deref()
                    .and_then(WasteReason::parse)
                    .map(|w| w.label(lang).to_owned())
                    .unwrap_or_default(),
                updated: jst(&r.updated_at),
            })
            .collect();
        let v = vsys_app::stock::view(&s.app, a, code).await.map_err(err)?;
        stock = Some(stock_summary(&v, lang));
    }
    if let Some(t) = typed {
        vals.overlay(form, t, &[]);
    }
    let c = Chrome::for_actor(&s.app, a, lang, Ui::ResultsTitle.text(lang), "/results")
        .await
        .with_flash(flash);
    Ok(render_status(
        status,
        &ResultsPage {
            c,
            is_site,
            can_enter: is_site && a.principal().may(Action::Write, &a.principal().org_path),
            day: day.to_string(),
            today: today.to_string(),
            version,
            day_open,
            updated,
            reasons: WasteReason::REPORTABLE
                .iter()
                .map(|r| (r.as_str(), r.label(lang)))
                .collect(),
            recent,
            stock,
            periods: periods
                .iter()
                .map(|p| PeriodLine {
                    id: p.id.clone(),
                    first_day: p.first_day.to_string(),
                    last_day: p.last_day.to_string(),
                    open: p.closed_at.is_none(),
                    opened_at: jst(&p.opened_at),
                    closed_at: when(p.closed_at.as_ref()),
                })
                .collect(),
            can_manage_periods: a.can(Capability::ManageProgramme),
            errs,
            vals,
        },
    ))
}

pub async fn results(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let day = match q.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => match date(d) {
            Some(d) => Some(d),
            None => {
                let e = AppError::invalid("day", Msg::InvalidDate);
                return results_page(
                    &s,
                    &u,
                    None,
                    Errs::new("results", &e, lang),
                    "results",
                    None,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    results_page(
        &s,
        &u,
        day,
        Errs::default(),
        "",
        None,
        q.flash.as_deref(),
        StatusCode::OK,
    )
    .await
}

/// A site enters (or re-enters) one day's numbers.
pub async fn results_submit(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let mut inv = Invalid::default();
    let day = date(&text(&f, "day"));
    if day.is_none() {
        inv.push("day", Msg::InvalidDate);
    }
    let input = vsys_app::results::DayInput {
        total: number(&f, "total", None, &mut inv),
        elderly: number(&f, "elderly", Some(0), &mut inv),
        underlying: number(&f, "underlying", Some(0), &mut inv),
        others: number(&f, "others", Some(0), &mut inv),
        wasted_vials: number(&f, "wasted_vials", Some(0), &mut inv),
        waste_reason: opt(&f, "waste_reason"),
    };
    let refused = |e: AppError, day: Option<NaiveDate>, typed: bool, status: StatusCode| {
        let errs = Errs::new("results", &e, lang);
        let (s, u, f) = (&s, &u, &f);
        async move { results_page(s, u, day, errs, "results", typed.then_some(f), None, status).await }
    };
    let Some(day) = day.filter(|_| inv.is_empty()) else {
        return refused(
            AppError::Invalid(inv),
            day,
            true,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    // The version read belongs to the day that was shown; another day typed into the form is
    // saved as new, so a day entered before is never overwritten unseen.
    let shown_day = text(&f, "loaded_day") == day.to_string();
    let version = if shown_day {
        text(&f, "version").parse::<i64>().ok()
    } else {
        None
    };
    let code = u.actor.org_code().to_owned();
    match vsys_app::results::put_day(&s.app, &u.actor, &code, day, version, &input).await {
        Ok(_) => Ok(done(
            &format!("/results?day={day}"),
            "results_saved",
            "#results-form",
        )),
        // Another day was typed and it has results already: show them first.
        Err(AppError::Conflict) if !shown_day => {
            let errs = Errs {
                form: "results".into(),
                title: Msg::Conflict.text(lang),
                items: vec![(
                    "day".into(),
                    label_of("results", "day", lang),
                    Ui::DayAlreadyEntered.text(lang).to_owned(),
                )],
            };
            results_page(
                &s,
                &u,
                Some(day),
                errs,
                "results",
                None,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e @ AppError::Conflict) => refused(e, Some(day), false, StatusCode::CONFLICT).await,
        Err(e @ AppError::Invalid(_)) => {
            refused(e, Some(day), true, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

/// The nation opens a reporting period.
pub async fn period_open(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let mut inv = Invalid::default();
    let first = date(&text(&f, "first_day"));
    let last = date(&text(&f, "last_day"));
    if first.is_none() {
        inv.push("first_day", Msg::InvalidDate);
    }
    if last.is_none() {
        inv.push("last_day", Msg::InvalidDate);
    }
    let r = match (first, last) {
        (Some(a), Some(b)) => vsys_app::results::open_period(&s.app, &u.actor, a, b).await,
        _ => Err(AppError::Invalid(inv)),
    };
    match r {
        Ok(_) => Ok(done("/results", "period_opened", "#periods")),
        Err(e) => match refusal_status(&e) {
            Some(status) => {
                let errs = Errs::new("period", &e, lang);
                results_page(&s, &u, None, errs, "period", Some(&f), None, status).await
            }
            None => Err(PageError(e, lang)),
        },
    }
}

pub async fn period_close(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    vsys_app::results::close_period(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done("/results", "period_closed", "#periods"))
}

// ---------------------------------------------------------------------------------------------
// Idle stock (偏在)
// ---------------------------------------------------------------------------------------------

pub struct IdleLine {
    pub code: String,
    pub name: String,
    pub municipality: String,
    pub doses: String,
    pub given: String,
    pub days: String,
    pub last: String,
}

#[derive(Template)]
#[template(path = "stock_idle.html")]
pub struct IdlePage {
    pub c: Chrome,
    pub rows: Vec<IdleLine>,
}

pub async fn idle(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    let lang = u.lang;
    let list = vsys_app::stock::idle_sites(&s.app, &u.actor)
        .await
        .map_err(|e| PageError(e, lang))?;
    let rows = list
        .into_iter()
        .map(|x| IdleLine {
            code: x.code,
            name: x.name,
            municipality: x.municipality_code.unwrap_or_default(),
            doses: int(x.doses),
            given: int(x.administered_in_window),
            days: days_text(x.days_of_supply, lang),
            last: when(x.last_entry_at.as_ref()),
        })
        .collect();
    let c = Chrome::for_actor(
        &s.app,
        &u.actor,
        lang,
        Ui::IdleTitle.text(lang),
        "/stock/idle",
    )
    .await;
    Ok(render(&IdlePage { c, rows }))
}
