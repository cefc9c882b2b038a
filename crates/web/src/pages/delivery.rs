//! Delivery (配送): the list of deliveries — for deliverers a form to enter 納入予定日,
//! 納入実績日, 配送番号, ロット and 備考 of many lines at once (or by CSV), for the prefecture
//! the change of wholesaler of an undated line — and 配送状況, the counts without a scheduled
//! date, late and delivered, each a link to the lines behind it. What a user sees is decided
//! by `vsys_app::delivery`; every handler calls one use-case and renders a template, and a
//! refused form comes back with the reasons by row and what was typed.

use super::form::{FormMap, day, text};
use super::{Chrome, Pager};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{L, Ui, field_label, int};
use crate::session::WebUser;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use vsys_app::csv_files::Encoding;
use vsys_app::delivery::{BulkLine, DatesInput, DeliveryQuery};
use vsys_app::rows::DeliveryRow;
use vsys_app::rows::Page;
use vsys_app::{Actor, AppError, AppResult};
use vsys_domain::Capability;
use vsys_domain::{Lang, Msg, OrgKind, ProductKind};

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
pub(super) fn item_options(lang: Lang) -> impl Iterator<Item = (&'static str, &'static str)> {
    ProductKind::ALL
        .into_iter()
        .map(move |k| (k.as_str(), k.label(lang)))
}

/// Vials of vaccine, pieces of needles and syringes.
fn quantity(d: &DeliveryRow, lang: Lang) -> String {
    let unit = if d.item == vsys_domain::ProductKind::Vaccine {
        Ui::VialsUnit
    } else {
        Ui::Pieces
    };
    match lang {
        Lang::Ja => format!("{}{}", int(d.quantity), unit.text(lang)),
        Lang::En => format!("{} {}", int(d.quantity), unit.text(lang)),
    }
}

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

fn field_name(field: &str, lang: Lang) -> String {
    match field_label(field, lang) {
        "" => field.to_owned(),
        l => l.to_owned(),
    }
}

/// "3行目 " / "row 3, ": where on the page (or in the file) an error is.
fn at_row(n: usize, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{n}行目 "),
        Lang::En => format!("Row {n}, "),
    }
}

// ---------------------------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------------------------

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

/// Back to the list as it was filtered, with a message.
fn back(q: &ListQuery, flash: &str) -> Response {
    Redirect::to(&format!(
        "/deliveries?{}&page={}&flash={flash}",
        q.qs(),
        q.page()
    ))
    .into_response()
}

/// The reasons a form was refused, shown above it (`form`: `bulk`, `import`, `csv`,
/// `reassign`).
#[derive(Default)]
pub struct Errs {
    pub form: String,
    pub title: &'static str,
    pub items: Vec<String>,
}

impl Errs {
    fn new(form: &str, title: &'static str, items: Vec<String>) -> Errs {
        Errs {
            form: form.to_owned(),
            title,
            items,
        }
    }

    pub fn on(&self, form: &str) -> bool {
        self.form == form && !self.items.is_empty()
    }
}

/// One refused field of one line of the bulk form.
struct RowErr {
    /// The line's number on the page.
    n: usize,
    field: String,
    msg: String,
}

/// How the list is shown after a refused form.
#[derive(Default)]
struct Shown {
    errs: Errs,
    /// What was typed into the bulk form.
    typed: Option<FormMap>,
    /// By delivery id: (field, "label: message").
    row_errs: HashMap<String, Vec<(String, String)>>,
    /// Lines someone else changed meanwhile: shown as stored, not as typed.
    stale: HashSet<String>,
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

// ---------------------------------------------------------------------------------------------
// The list (and the bulk form)
// ---------------------------------------------------------------------------------------------

pub struct Line {
    /// Its number on the page (errors name it).
    pub n: usize,
    pub id: String,
    pub version: i64,
    pub cycle: String,
    pub site_code: String,
    pub site_name: String,
    pub item: &'static str,
    pub quantity: String,
    pub deliverer: String,
    pub storage: &'static str,
    /// Stored values: the form sends only the lines that differ from them.
    pub was_scheduled: String,
    pub was_delivered: String,
    pub was_number: String,
    pub was_lot: String,
    pub was_note: String,
    /// Shown values (what was typed, after a refusal).
    pub scheduled: String,
    pub delivered: String,
    pub number: String,
    pub lot: String,
    pub note: String,
    pub late: bool,
    /// 納入実績日 once entered stays.
    pub delivered_locked: bool,
    /// (field, "label: message")
    pub errors: Vec<(String, String)>,
    /// Wholesalers it may be given to instead: code, name.
    pub reassign_to: Vec<(String, String)>,
}

impl Line {
    /// Whether `field` of this line was refused.
    pub fn bad(&self, field: &str) -> bool {
        self.errors.iter().any(|(f, _)| f == field)
    }
}

#[derive(Template)]
#[template(path = "deliveries.html")]
pub struct DeliveriesPage {
    pub c: Chrome,
    pub f: Filters,
    pub rows: Vec<Line>,
    pub pager: Pager,
    pub show_cycle: bool,
    pub editable: bool,
    pub may_reassign: bool,
    pub may_status: bool,
    /// The filters as a query string (links, form actions).
    pub qs: String,
    pub page: u64,
    pub today: String,
    pub errs: Errs,
}

impl DeliveriesPage {
    /// Columns of the table (a line's errors span them all).
    pub fn columns(&self) -> usize {
        13 + usize::from(self.show_cycle) + usize::from(self.may_reassign)
    }
}

/// Names of the sites and deliverers of the lines, in one query.
async fn org_names(
    s: &AppState,
    a: &Actor,
    rows: &[DeliveryRow],
    lang: Lang,
) -> AppResult<HashMap<String, String>> {
    let codes: Vec<String> = rows
        .iter()
        .flat_map(|d| [d.site_code.clone(), d.deliverer_code.clone()])
        .collect();
    vsys_app::orgs::names(&s.app, a, &codes, lang).await
}

/// A line the prefecture may still give to another wholesaler.
fn reassignable(d: &DeliveryRow) -> bool {
    d.item == vsys_domain::ProductKind::Vaccine
        && d.scheduled_on.is_none()
        && d.delivered_on.is_none()
}

/// The wholesalers serving the municipalities of the reassignable lines (code, name), where
/// more than one does.
async fn serving(
    s: &AppState,
    a: &Actor,
    rows: &[DeliveryRow],
) -> AppResult<HashMap<String, Vec<(String, String)>>> {
    let munis: HashSet<&str> = rows
        .iter()
        .filter(|d| reassignable(d))
        .map(|d| d.municipality_code.as_str())
        .collect();
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if munis.is_empty() {
        return Ok(out);
    }
    let prefectures: HashSet<&str> = munis.iter().filter_map(|m| m.get(..2)).collect();
    let (wholesalers, _) = vsys_app::orgs::list(
        &s.app,
        a,
        &vsys_app::orgs::OrgQuery {
            kind: Some("wholesaler".into()),
            per_page: Some(Page::MAX_PER_PAGE),
            ..Default::default()
        },
    )
    .await?;
    for w in wholesalers.iter().filter(|w| {
        w.prefecture_code
            .as_deref()
            .is_none_or(|p| prefectures.contains(p))
    }) {
        for area in vsys_app::orgs::areas(&s.app, a, &w.code).await? {
            if munis.contains(area.as_str()) {
                out.entry(area)
                    .or_default()
                    .push((w.code.clone(), w.name.clone()));
            }
        }
    }
    out.retain(|_, ws| ws.len() > 1);
    for ws in out.values_mut() {
        ws.sort();
    }
    Ok(out)
}

async fn deliveries_page(
    s: &AppState,
    u: &WebUser,
    q: &ListQuery,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let page = q.page();
    let (list, total) = vsys_app::delivery::list(&s.app, a, &q.app(page, PER_PAGE))
        .await
        .map_err(err)?;
    let today = vsys_app::clock::japan_date(s.app.clock.now());
    let f = filters(s, a, lang, q, "/deliveries").await.map_err(err)?;
    let names = org_names(s, &u.actor, &list, lang).await.map_err(err)?;
    let serving = if may_reassign(a) {
        serving(s, a, &list).await.map_err(err)?
    } else {
        HashMap::new()
    };
    let cycle_names: HashMap<&str, &str> = f
        .cycles
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let Shown {
        errs,
        typed,
        mut row_errs,
        stale,
    } = shown;
    let name_of = |code: &str| names.get(code).cloned().unwrap_or_default();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let date_s = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let rows = list
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let n = i + 1;
            let was_scheduled = date_s(d.scheduled_on);
            let was_delivered = date_s(d.delivered_on);
            let (was_number, was_lot, was_note) =
                (opt(&d.delivery_number), opt(&d.lot), opt(&d.note));
            // What was typed into this line, when the form was refused for another reason
            // than someone else changing the line.
            let typed = typed
                .as_ref()
                .filter(|t| t.get(&format!("id_{n}")) == Some(&d.id) && !stale.contains(&d.id));
            let shown = |k: &str, stored: &str| match typed {
                Some(t) => t
                    .get(&format!("{k}_{n}"))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_else(|| stored.to_owned()),
                None => stored.to_owned(),
            };
            let reassign_to = serving
                .get(&d.municipality_code)
                .filter(|_| reassignable(d))
                .map(|ws| {
                    ws.iter()
                        .filter(|(c, _)| *c != d.deliverer_code)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            Line {
                n,
                id: d.id.clone(),
                version: d.version,
                cycle: cycle_names
                    .get(d.cycle_id.as_str())
                    .map(|c| (*c).to_owned())
                    .unwrap_or_default(),
                site_code: d.site_code.clone(),
                site_name: name_of(&d.site_code),
                item: d.item.label(lang),
                quantity: quantity(d, lang),
                deliverer: match name_of(&d.deliverer_code) {
                    n if n.is_empty() => d.deliverer_code.clone(),
                    n => format!("{n}（{}）", d.deliverer_code),
                },
                storage: storage_label(d.storage.as_deref(), lang),
                scheduled: shown("scheduled_on", &was_scheduled),
                delivered: if d.delivered_on.is_some() {
                    was_delivered.clone()
                } else {
                    shown("delivered_on", "")
                },
                number: shown("delivery_number", &was_number),
                lot: shown("lot", &was_lot),
                note: shown("note", &was_note),
                late: d.delivered_on.is_none() && d.scheduled_on.is_some_and(|s| s < today),
                delivered_locked: d.delivered_on.is_some(),
                errors: row_errs.remove(&d.id).unwrap_or_default(),
                reassign_to,
                was_scheduled,
                was_delivered,
                was_number,
                was_lot,
                was_note,
            }
        })
        .collect();
    let qs = q.qs();
    let c = Chrome::for_actor(&s.app, a, lang, l.t(Ui::Deliveries), "/deliveries")
        .await
        .with_flash(q.flash.as_deref());
    Ok(render_status(
        status,
        &DeliveriesPage {
            c,
            show_cycle: f.cycle.is_empty(),
            f,
            rows,
            pager: Pager::new(page, PER_PAGE, total, format!("/deliveries?{qs}&")),
            editable: may_enter(a),
            may_reassign: may_reassign(a),
            may_status: may_see_status(a),
            qs,
            page,
            today: today.to_string(),
            errs,
        },
    ))
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    deliveries_page(&s, &u, &q, Shown::default(), StatusCode::OK).await
}

/// The bulk form: the lines whose values differ from the stored ones go to
/// `delivery::enter_many`, all or nothing.
pub async fn save(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    if !may_enter(&u.actor) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let mut errors: Vec<RowErr> = Vec::new();
    let mut lines: Vec<BulkLine> = Vec::new();
    // The page number of each line sent.
    let mut sent: Vec<usize> = Vec::new();
    let mut ids: HashMap<usize, String> = HashMap::new();
    for n in 1..=Page::MAX_PER_PAGE as usize {
        let id = text(&f, &format!("id_{n}"));
        if id.is_empty() {
            break;
        }
        ids.insert(n, id.clone());
        let now = |k: &str| text(&f, &format!("{k}_{n}"));
        let was = |k: &str| text(&f, &format!("was_{k}_{n}"));
        let mut bad = |field: &str, msg: &str| {
            errors.push(RowErr {
                n,
                field: field.to_owned(),
                msg: msg.to_owned(),
            })
        };
        let mut input = DatesInput::default();
        let mut changed = false;
        let scheduled = now("scheduled_on");
        if scheduled != was("scheduled_on") {
            changed = true;
            if scheduled.is_empty() {
                bad("scheduled_on", Ui::ScheduledCleared.text(lang));
            } else {
                match day(&scheduled) {
                    Some(d) => input.scheduled_on = Some(d),
                    None => bad("scheduled_on", Msg::InvalidDate.text(lang)),
                }
            }
        }
        // 納入実績日 is entered once; the form does not offer it again.
        let delivered = now("delivered_on");
        if was("delivered_on").is_empty() && !delivered.is_empty() {
            changed = true;
            match day(&delivered) {
                Some(d) => input.delivered_on = Some(d),
                None => bad("delivered_on", Msg::InvalidDate.text(lang)),
            }
        }
        for (k, slot) in [
            ("delivery_number", &mut input.delivery_number),
            ("lot", &mut input.lot),
            ("note", &mut input.note),
        ] {
            let v = now(k);
            if v != was(k) {
                changed = true;
                *slot = Some(v);
            }
        }
        if changed {
            lines.push(BulkLine {
                id,
                version: text(&f, &format!("version_{n}")).parse().unwrap_or(-1),
                dates: input,
            });
            sent.push(n);
        }
    }
    if errors.is_empty() && lines.is_empty() {
        return Ok(back(&q, "deliveries_unchanged"));
    }
    if errors.is_empty() {
        match vsys_app::delivery::enter_many(&s.app, &u.actor, &lines).await {
            Ok(_) => return Ok(back(&q, "deliveries_saved")),
            Err(AppError::Invalid(inv)) => {
                errors = inv
                    .0
                    .into_iter()
                    .map(|e| RowErr {
                        n: e.row
                            .and_then(|r| sent.get(r.wrapping_sub(1)).copied())
                            .unwrap_or(0),
                        field: e.field,
                        msg: e.msg.text(lang).to_owned(),
                    })
                    .collect();
            }
            Err(e) => return Err(PageError(e, lang)),
        }
    }
    errors.sort_by_key(|e| e.n);
    let mut shown = Shown {
        errs: Errs::new(
            "bulk",
            Msg::InvalidInput.text(lang),
            errors
                .iter()
                .map(|e| {
                    format!(
                        "{}{}: {}",
                        if e.n > 0 {
                            at_row(e.n, lang)
                        } else {
                            String::new()
                        },
                        field_name(&e.field, lang),
                        e.msg
                    )
                })
                .collect(),
        ),
        ..Shown::default()
    };
    for e in &errors {
        let Some(id) = ids.get(&e.n) else { continue };
        if e.field == "version" {
            shown.stale.insert(id.clone());
        }
        shown.row_errs.entry(id.clone()).or_default().push((
            e.field.clone(),
            format!("{}: {}", field_name(&e.field, lang), e.msg),
        ));
    }
    shown.typed = Some(f);
    deliveries_page(&s, &u, &q, shown, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// All the lines of the filters, page by page of the use-case.
async fn all_rows(s: &AppState, a: &Actor, q: &ListQuery) -> AppResult<Vec<DeliveryRow>> {
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let (batch, total) =
            vsys_app::delivery::list(&s.app, a, &q.app(page, Page::MAX_PER_PAGE)).await?;
        let got = batch.len();
        rows.extend(batch);
        if got == 0 || rows.len() as i64 >= total {
            return Ok(rows);
        }
        page += 1;
    }
}

/// The filtered lines as CSV (Shift_JIS by default, for Excel; or UTF-8).
pub async fn export(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let rows = all_rows(&s, &u.actor, &q)
        .await
        .map_err(|e| PageError(e, lang))?;
    let encoding =
        Encoding::parse(q.encoding.as_deref().unwrap_or("shift_jis")).unwrap_or(Encoding::ShiftJis);
    match vsys_app::csv_files::delivery::export(&rows, encoding, lang) {
        Ok((bytes, filename)) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    format!(
                        "text/csv; charset={}",
                        if encoding == Encoding::ShiftJis {
                            "Shift_JIS"
                        } else {
                            "utf-8"
                        }
                    ),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            bytes,
        )
            .into_response()),
        Err(e) => {
            let mut items = vec![e.message(lang)];
            if encoding == Encoding::ShiftJis {
                items.push(Ui::ExportSjisFailed.text(lang).to_owned());
            }
            let shown = Shown {
                errs: Errs::new("csv", Msg::InvalidInput.text(lang), items),
                ..Shown::default()
            };
            let q = ListQuery {
                encoding: None,
                ..q
            };
            deliveries_page(&s, &u, &q, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Dates from an uploaded CSV file (all or nothing; every bad row named).
pub async fn import(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let lang = u.lang;
    if !may_enter(&u.actor) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let mut file: Option<Vec<u8>> = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            file = field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    let refused = |items: Vec<String>| Shown {
        errs: Errs::new("import", Msg::InvalidInput.text(lang), items),
        ..Shown::default()
    };
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let shown = refused(vec![format!(
            "{}: {}",
            Ui::ImportFile.text(lang),
            Msg::Required.text(lang)
        )]);
        return deliveries_page(&s, &u, &q, shown, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match vsys_app::csv_files::delivery::import(&s.app, &u.actor, &bytes).await {
        Ok(_) => Ok(back(&q, "deliveries_imported")),
        Err(AppError::Csv(e)) => {
            let shown = refused(e.message(lang).lines().map(str::to_owned).collect());
            deliveries_page(&s, &u, &q, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::Invalid(inv)) => {
            let items = inv
                .0
                .iter()
                .map(|e| {
                    format!(
                        "{}{}: {}",
                        e.row.map(|r| at_row(r, lang)).unwrap_or_default(),
                        field_name(&e.field, lang),
                        e.msg.text(lang)
                    )
                })
                .collect();
            deliveries_page(&s, &u, &q, refused(items), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

/// 卸業者の変更: the prefecture gives an undated line to another wholesaler serving the
/// municipality.
pub async fn reassign(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let code = text(&f, "deliverer_code");
    match vsys_app::delivery::reassign(&s.app, &u.actor, &id, &code).await {
        Ok(_) => Ok(back(&q, "reassigned")),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict)) => {
            let (title, found): (&'static str, Vec<(String, String)>) = match &e {
                AppError::Invalid(inv) => (
                    Msg::InvalidInput.text(lang),
                    inv.0
                        .iter()
                        .map(|x| {
                            (
                                x.field.clone(),
                                format!("{}: {}", field_name(&x.field, lang), x.msg.text(lang)),
                            )
                        })
                        .collect(),
                ),
                _ => (
                    Msg::Conflict.text(lang),
                    vec![(String::new(), Msg::Conflict.text(lang).to_owned())],
                ),
            };
            let shown = Shown {
                errs: Errs::new(
                    "reassign",
                    title,
                    found.iter().map(|(_, m)| m.clone()).collect(),
                ),
                row_errs: HashMap::from([(id, found)]),
                ..Shown::default()
            };
            deliveries_page(&s, &u, &q, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

// ---------------------------------------------------------------------------------------------
// 配送状況
// ---------------------------------------------------------------------------------------------

pub struct CountLink {
    pub id: &'static str,
    pub label: &'static str,
    pub count: String,
    pub link: String,
    pub warn: bool,
}

/// day, count, link
pub type DayCount = (String, String, String);

#[derive(Template)]
#[template(path = "delivery_status.html")]
pub struct StatusPage {
    pub c: Chrome,
    pub f: Filters,
    pub as_of: String,
    pub counts: Vec<CountLink>,
    pub by_scheduled: Vec<DayCount>,
    pub by_delivered: Vec<DayCount>,
    pub qs: String,
}

/// Counts of the lines in the caller's area (or of the deliverer's own), each a link to them.
pub async fn status(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    if !may_see_status(a) {
        return Err(err(AppError::Forbidden));
    }
    let q = ListQuery {
        state: None,
        page: None,
        ..q
    };
    let st = vsys_app::delivery::status(&s.app, a, &q.app(1, PER_PAGE))
        .await
        .map_err(err)?;
    let link = |state: &str| format!("/deliveries?{}", q.qs_with(state));
    let counts = vec![
        CountLink {
            id: "status-total",
            label: l.t(Ui::Total),
            count: int(st.total),
            link: link(""),
            warn: false,
        },
        CountLink {
            id: "status-unscheduled",
            label: l.t(Ui::StateUnscheduled),
            count: int(st.unscheduled),
            link: link("unscheduled"),
            warn: st.unscheduled > 0,
        },
        CountLink {
            id: "status-late",
            label: l.t(Ui::StateLate),
            count: int(st.late),
            link: link("late"),
            warn: st.late > 0,
        },
        CountLink {
            id: "status-delivered",
            label: l.t(Ui::StateDelivered),
            count: int(st.delivered),
            link: link("delivered"),
            warn: false,
        },
    ];
    let days = |v: &[(NaiveDate, i64)], prefix: &str| -> Vec<DayCount> {
        v.iter()
            .map(|(d, n)| (d.to_string(), int(*n), link(&format!("{prefix}:{d}"))))
            .collect()
    };
    let f = filters(&s, a, lang, &q, "/deliveries/status")
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        l.t(Ui::DeliveryStatusTitle),
        "/deliveries/status",
    )
    .await;
    Ok(render_status(
        StatusCode::OK,
        &StatusPage {
            c,
            f,
            as_of: l.t(Ui::AsOf).replace("{date}", &st.today.to_string()),
            counts,
            by_scheduled: days(&st.by_scheduled_day, "scheduled"),
            by_delivered: days(&st.by_delivered_day, "delivered"),
            qs: q.qs(),
        },
    ))
}
