//! The list of deliveries: for deliverers a form over the lines of the page (all or nothing),
//! for the prefecture the change of wholesaler of an undated line.

use super::{
    Filters, ListQuery, PER_PAGE, back, filters, kept, may_enter, may_reassign, may_see_status,
    saved_rows, storage_label,
};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{L, Ui};
use crate::pages::display::quantity;
use crate::pages::form::{Errs, Flash, FormMap, day, done, text};
use crate::pages::{Chrome, Pager};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};
use vsys_app::delivery::{BulkLine, DatesInput};
use vsys_app::rows::{DeliveryRow, Page};
use vsys_app::{Actor, AppError, AppResult};
use vsys_domain::{Lang, Msg};

/// How the list is shown after a refused form.
#[derive(Default)]
pub(super) struct ListShown {
    pub errs: Errs,
    /// What was typed into the bulk form.
    pub typed: Option<FormMap>,
    /// By delivery id: the reasons shown under its line (field, "label: message").
    pub by_line: HashMap<String, Vec<(String, String)>>,
    /// Lines someone else changed meanwhile: shown as stored, not as typed.
    pub stale: HashSet<String>,
    /// The lines of the refused form, in its order (shown again in that order).
    pub keep: Vec<String>,
}

impl ListShown {
    pub fn refused(errs: Errs) -> ListShown {
        ListShown {
            errs,
            ..ListShown::default()
        }
    }
}

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
    /// Saved by the form just sent (marked 「保存済」, kept in its place).
    pub saved: bool,
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
    /// The lines are those of the form just saved, in its order (not the query's sort).
    pub kept: bool,
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

/// The list; after a refused form, with the reasons by line and what was typed.
pub(super) async fn deliveries_page(
    s: &AppState,
    u: &WebUser,
    q: &ListQuery,
    shown: ListShown,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let page = q.page();
    let (mut list, total) = vsys_app::delivery::list(&s.app, a, &q.app(page, PER_PAGE))
        .await
        .map_err(err)?;
    // After a save (or a refusal), the lines of the form stay in the order they were shown,
    // even where their new dates would sort (or filter) them elsewhere.
    let keep = if shown.keep.is_empty() {
        kept(q)
    } else {
        shown.keep.clone()
    };
    let saved_ids: HashSet<String> = saved_rows(q)
        .into_iter()
        .filter_map(|n| keep.get(n.wrapping_sub(1)).cloned())
        .collect();
    let mut kept_order = false;
    if !keep.is_empty() {
        let mut again = Vec::with_capacity(keep.len());
        for id in &keep {
            match vsys_app::delivery::get(&s.app, a, id).await {
                Ok(d) => again.push(d),
                Err(AppError::NotFound) => {}
                Err(e) => return Err(err(e)),
            }
        }
        if !again.is_empty() {
            list = again;
            kept_order = true;
        }
    }
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
    let ListShown {
        errs,
        typed,
        mut by_line,
        stale,
        keep: _,
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
                quantity: quantity(d.item, d.quantity, lang),
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
                saved: saved_ids.contains(&d.id),
                errors: by_line.remove(&d.id).unwrap_or_default(),
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
        errs.status(),
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
            kept: kept_order,
        },
    ))
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    deliveries_page(&s, &u, &q, ListShown::default()).await
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
    // What is wrong with the lines as typed, by their number on the page.
    let mut errs = Errs::new(
        "bulk",
        Msg::InvalidInput,
        StatusCode::UNPROCESSABLE_ENTITY,
        lang,
    );
    let mut lines: Vec<BulkLine> = Vec::new();
    // The page number of each line sent.
    let mut sent: Vec<usize> = Vec::new();
    let mut ids: HashMap<usize, String> = HashMap::new();
    // The lines of the form in its order.
    let mut order: Vec<String> = Vec::new();
    for n in 1..=Page::MAX_PER_PAGE as usize {
        let id = text(&f, &format!("id_{n}"));
        if id.is_empty() {
            break;
        }
        ids.insert(n, id.clone());
        order.push(id.clone());
        let now = |k: &str| text(&f, &format!("{k}_{n}"));
        let was = |k: &str| text(&f, &format!("was_{k}_{n}"));
        let mut input = DatesInput::default();
        let mut changed = false;
        let scheduled = now("scheduled_on");
        if scheduled != was("scheduled_on") {
            changed = true;
            if scheduled.is_empty() {
                errs.push("scheduled_on", Some(n), Ui::ScheduledCleared.text(lang));
            } else {
                match day(&scheduled) {
                    Some(d) => input.scheduled_on = Some(d),
                    None => errs.push("scheduled_on", Some(n), Msg::InvalidDate.text(lang)),
                }
            }
        }
        // 納入実績日 is entered once; the form does not offer it again.
        let delivered = now("delivered_on");
        if was("delivered_on").is_empty() && !delivered.is_empty() {
            changed = true;
            match day(&delivered) {
                Some(d) => input.delivered_on = Some(d),
                None => errs.push("delivered_on", Some(n), Msg::InvalidDate.text(lang)),
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
    if !errs.any() {
        if lines.is_empty() {
            return Ok(back(&q, Flash::DeliveriesUnchanged));
        }
        match vsys_app::delivery::enter_many(&s.app, &u.actor, &lines).await {
            Ok(_) => return Ok(back_in_place(&q, &order, &sent)),
            // The use-case numbers the lines it was sent; the page numbers them all.
            Err(e) => {
                errs = Errs::refused("bulk", e, lang)?
                    .renumber(|row| sent.get(row.wrapping_sub(1)).copied());
            }
        }
    }
    let mut shown = ListShown::refused(errs);
    for (n, id) in &ids {
        let reasons = shown.errs.of_row(*n);
        if reasons.is_empty() {
            continue;
        }
        if shown.errs.bad(*n, "version") {
            shown.stale.insert(id.clone());
        }
        shown.by_line.insert(id.clone(), reasons);
    }
    shown.typed = Some(f);
    shown.keep = order;
    deliveries_page(&s, &u, &q, shown).await
}

/// Back to the list after a save, its lines in the order they were shown and the saved ones
/// marked (by their number on the page), with the message.
fn back_in_place(q: &ListQuery, order: &[String], sent: &[usize]) -> Response {
    let saved: Vec<String> = sent.iter().map(usize::to_string).collect();
    done(
        &format!(
            "/deliveries?{}&page={}&keep={}&saved={}",
            q.qs(),
            q.page(),
            urlencoding::encode(&order.join(",")),
            saved.join(",")
        ),
        Flash::DeliveriesSaved,
        "",
    )
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
    let code = text(&f, "deliverer_code");
    match vsys_app::delivery::reassign(&s.app, &u.actor, &id, &code).await {
        Ok(_) => Ok(back(&q, Flash::Reassigned)),
        Err(e) => {
            let mut shown = ListShown::refused(Errs::refused("reassign", e, u.lang)?);
            shown.by_line.insert(id, shown.errs.lines());
            deliveries_page(&s, &u, &q, shown).await
        }
    }
}
