//! One organisation's division of what it received among those below it: the states
//! (未確認 → 確認済 → 分配完了 → 確定, send-back, withdrawal), the table saved by hand or
//! auto-filled by the formula, and the table as CSV.

use super::{explain, explain_stored, formula_errs, formula_from, status_badge};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, int};
use crate::pages::Chrome;
use crate::pages::form::{Errs, Flash, FlashQuery, FormMap, Shown, done, whole};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use vsys_app::AppError;
use vsys_app::allocation::{Division, LineInput};
use vsys_domain::chain::{Level, Status};
use vsys_domain::{Lang, Msg};

pub struct DivLine {
    pub code: String,
    /// Why the amount typed for this line was refused.
    pub error: Option<String>,
    pub name: String,
    pub amount: String,
    pub doses: String,
    pub needles: String,
    pub syringes: String,
    pub status: Option<(&'static str, &'static str)>,
    pub explanation: String,
    pub link: bool,
    pub can_send_back: bool,
    /// Sites only: the reported capacity and request in doses, or `None` (not reported).
    pub request: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "division.html")]
pub struct DivisionPage {
    pub c: Chrome,
    pub cycle: vsys_app::rows::CycleRow,
    pub org_name: String,
    pub status: (&'static str, &'static str),
    pub child_unit_label: &'static str,
    pub received: (String, String, String, String),
    pub allocated: (String, String, String, String),
    pub remainder: (String, String, String, String),
    pub note: String,
    /// The children are sites: show what each reported (capacity and request).
    pub site_requests: bool,
    pub my_explanation: Option<String>,
    pub can_confirm: bool,
    pub can_edit: bool,
    /// 分配完了 (also for an organisation with nobody below it: it keeps its amount).
    pub can_finish: bool,
    /// 分配完了 can still be taken back: every child is still 未確認.
    pub can_withdraw: bool,
    pub can_finalise: bool,
    pub version: i64,
    pub base: String,
    pub base_cycle: String,
    pub lines: Vec<DivLine>,
    pub errs: Errs,
    /// The amounts shown are the formula's proposal, not saved yet (nothing was divided).
    pub proposal: bool,
    /// 確定 refused: the organisations below not yet 分配完了 (code, name).
    pub pending: Vec<(String, String)>,
}

/// Amount (with its unit, and any vials that do not make a whole unit), doses, needles and
/// syringes, as shown in the summary.
fn quad(
    pres: &vsys_domain::units::Presentation,
    vials: i64,
    unit: vsys_domain::units::Unit,
    needles: i64,
    syringes: i64,
    lang: Lang,
) -> (String, String, String, String) {
    let r = pres.from_vials_floor(vials, unit);
    let label = unit.label(lang);
    let amount = if r.remainder_vials > 0 {
        format!(
            "{} {label} + {} {}",
            int(r.amount),
            r.remainder_vials,
            vsys_domain::units::Unit::Vial.label(lang)
        )
    } else {
        format!("{} {label}", int(r.amount))
    };
    (amount, int(pres.doses(vials)), int(needles), int(syringes))
}

async fn division_page(
    s: &AppState,
    u: &WebUser,
    d: std::sync::Arc<Division>,
    shown: Shown,
    pending: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let a = &u.actor;
    let errs = shown.errs;
    let pres = vsys_app::allocation::presentation(&d.cycle);
    let level = d.node.level;
    let unit = vsys_app::allocation::unit_of(&d.cycle, level);
    let st = d.node.status;
    let own = a.principal().is_own(&d.node.path);
    let operator = a.principal().may(vsys_domain::Action::Write, &d.node.path);
    let may_write = own && operator;
    let has_children = !d.children.is_empty();
    let can_edit = operator
        && vsys_app::allocation::is_divider(a, &d.cycle, &d.node)
        && has_children
        && st == Status::Confirmed;
    // Nothing divided yet: the table opens with the formula's proposal (not saved).
    let untouched = d
        .children
        .iter()
        .all(|ch| ch.node.as_ref().is_none_or(|n| n.vials == 0));
    let proposal = if can_edit && untouched && shown.typed.is_none() && !errs.any() {
        vsys_app::allocation::simulate(&s.app, a, &d.cycle.id, &d.org.code, None, None)
            .await
            .ok()
    } else {
        None
    };
    let lines: Vec<DivLine> = d
        .children
        .iter()
        .map(|ch| {
            let n = ch.node.as_ref();
            let vials = n.map(|n| n.vials).unwrap_or(0);
            let child_status = n.map(|n| n.status);
            let field = format!("amount_{}", ch.org.code);
            let typed = shown.typed.as_ref().and_then(|t| t.get(&field)).cloned();
            let proposed = proposal
                .as_ref()
                .and_then(|p| p.lines.iter().find(|l| l.org_code == ch.org.code));
            let (amount, doses, needles, syringes, explanation) = match proposed {
                Some(l) => (
                    l.amount.to_string(),
                    int(l.doses),
                    int(l.needles),
                    int(l.syringes),
                    explain(&l.explanation, 0, lang),
                ),
                None => (
                    pres.from_vials_floor(vials, d.child_unit)
                        .amount
                        .to_string(),
                    int(pres.doses(vials)),
                    int(n.map(|n| n.needles).unwrap_or(0)),
                    int(n.map(|n| n.syringes).unwrap_or(0)),
                    explain_stored(n.and_then(|n| n.explanation.as_deref()), lang),
                ),
            };
            DivLine {
                code: ch.org.code.clone(),
                error: errs.at("division", &field),
                name: ch.org.name.clone(),
                amount: typed.unwrap_or(amount),
                doses,
                needles,
                syringes,
                status: n.map(|n| status_badge(n.status, lang)),
                explanation,
                link: n.is_some() && level.child() != Some(Level::Site),
                can_send_back: may_write
                    && child_status == Some(Status::Divided)
                    && st != Status::Final,
                request: ch
                    .request
                    .as_ref()
                    .map(|r| (int(r.capacity_doses), int(r.requested_doses))),
            }
        })
        .collect();
    let note =
        if level == Level::Municipality && has_children && d.requests_reported < d.children.len() {
            format!(
                "{}（{} / {}）",
                Ui::FallbackNote.text(lang),
                d.requests_reported,
                d.children.len()
            )
        } else {
            String::new()
        };
    let base_cycle = format!("/allocations/{}", d.cycle.id);
    let c = Chrome::for_actor(&s.app, a, lang, &d.cycle.name, "/cycles")
        .await
        .with_flash(shown.flash.as_deref());
    let page = DivisionPage {
        c,
        org_name: d.org.name.clone(),
        status: (st.label(lang), st.badge()),
        child_unit_label: d.child_unit.label(lang),
        received: quad(
            &pres,
            d.node.vials,
            unit,
            d.node.needles,
            d.node.syringes,
            lang,
        ),
        allocated: quad(
            &pres,
            d.allocated_vials,
            d.child_unit,
            d.allocated_needles,
            d.allocated_syringes,
            lang,
        ),
        remainder: quad(
            &pres,
            d.remainder_vials(),
            d.child_unit,
            d.node.needles - d.allocated_needles,
            d.node.syringes - d.allocated_syringes,
            lang,
        ),
        note,
        site_requests: level == Level::Municipality,
        my_explanation: d
            .node
            .explanation
            .as_deref()
            .map(|e| explain_stored(Some(e), lang))
            .filter(|e| !e.is_empty()),
        can_confirm: may_write && d.node.released && st == Status::Unconfirmed,
        can_edit,
        can_finish: operator
            && vsys_app::allocation::is_divider(a, &d.cycle, &d.node)
            && level != Level::Site
            && st == Status::Confirmed,
        can_withdraw: operator
            && vsys_app::allocation::is_divider(a, &d.cycle, &d.node)
            && st == Status::Divided
            && vsys_domain::chain::may_withdraw(d.children.iter().map(|ch| {
                ch.node
                    .as_ref()
                    .map(|n| n.status)
                    .unwrap_or(Status::Unconfirmed)
            })),
        can_finalise: operator
            && st == Status::Divided
            && vsys_app::allocation::is_finaliser(a, &d.cycle, &d.node),
        version: d.node.version,
        base: format!("{base_cycle}/{}", d.org.code),
        base_cycle,
        lines,
        errs,
        // A refused save of the proposal is still the proposal, as typed.
        proposal: proposal.is_some()
            || shown
                .typed
                .as_ref()
                .is_some_and(|t| t.contains_key("proposal")),
        pending,
        cycle: d.cycle.clone(),
    };
    Ok(render_status(page.errs.status(), &page))
}

/// The link in allocation notices: the caller's own node of the cycle.
pub async fn mine(u: WebUser, Path(cycle): Path<String>) -> Response {
    Redirect::to(&format!("/allocations/{cycle}/{}", u.actor.org_code())).into_response()
}

pub async fn division(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    division_page(&s, &u, d, Shown::asked(q.flash), Vec::new()).await
}

/// The errors of the division table named as the screen shows them: a line (the `row`-th
/// line sent, `order[row - 1]`) by its organisation's name and code, next to its cell; a
/// whole-table error with what to do.
fn named_lines(e: AppError, order: &[String], d: &Division, lang: Lang) -> Result<Errs, PageError> {
    let e = match e {
        AppError::Invalid(mut inv) => {
            for f in &mut inv.0 {
                if let Some(code) = f.row.and_then(|r| order.get(r.wrapping_sub(1))) {
                    f.field = format!("amount_{code}");
                    f.row = None;
                }
            }
            AppError::Invalid(inv)
        }
        other => other,
    };
    let mut errs = Errs::refused("division", e, lang)?;
    for ch in &d.children {
        let field = format!("amount_{}", ch.org.code);
        errs = errs
            .named(
                &field,
                &format!(
                    "{}（{}）の{}",
                    ch.org.name,
                    ch.org.code,
                    Ui::Amount.text(lang)
                ),
            )
            .reword(&field, Msg::InvalidInput, Ui::CellNotNumber);
    }
    for f in ["amount", "needles", "syringes"] {
        errs = errs.reword(f, Msg::AllocationOverParent, Ui::OverParentHint);
    }
    Ok(errs)
}

/// After a refused change: the same screen, current data, what was typed (`typed`, when a
/// table was sent in the order `order`) and what was wrong.
async fn refused(
    s: &AppState,
    u: &WebUser,
    cycle: &str,
    org: &str,
    e: AppError,
    typed: Option<(FormMap, Vec<String>)>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let d = vsys_app::allocation::division(&s.app, &u.actor, cycle, org)
        .await
        .map_err(|e| PageError(e, lang))?;
    let conflict = matches!(e, AppError::Conflict);
    let order = typed.as_ref().map(|t| t.1.clone()).unwrap_or_default();
    let errs = formula_errs(named_lines(e, &order, &d, lang)?, lang);
    let shown = match typed {
        Some((t, _)) if !conflict => Shown::refused(errs, t),
        _ => Shown {
            errs,
            ..Shown::default()
        },
    };
    division_page(s, u, d, shown, Vec::new()).await
}

fn back(cycle: &str, org: &str, flash: Flash) -> Response {
    done(&format!("/allocations/{cycle}/{org}"), flash, "")
}

/// A status change by the node's owner (or divider): back to the screen with what was done,
/// or the same screen with the reason it was refused.
macro_rules! transition {
    ($name:ident, $call:path, $flash:expr) => {
        pub async fn $name(
            State(s): State<AppState>,
            u: WebUser,
            Path((cycle, org)): Path<(String, String)>,
        ) -> Result<Response, PageError> {
            match $call(&s.app, &u.actor, &cycle, &org).await {
                Ok(_) => Ok(back(&cycle, &org, $flash)),
                Err(e) => refused(&s, &u, &cycle, &org, e, None).await,
            }
        }
    };
}

transition!(
    confirm,
    vsys_app::allocation::confirm,
    Flash::AllocationConfirmed
);
transition!(
    finish,
    vsys_app::allocation::finish,
    Flash::DivisionFinished
);
transition!(
    withdraw,
    vsys_app::allocation::withdraw,
    Flash::DivisionWithdrawn
);

/// 確定: back to the screen, or, when organisations below have not finished dividing, one
/// message with how many and each of them by name, linked to its division.
pub async fn finalise(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let e = match vsys_app::allocation::finalise(&s.app, &u.actor, &cycle, &org).await {
        Ok(_) => return Ok(back(&cycle, &org, Flash::DivisionFinalised)),
        Err(e) => e,
    };
    let codes: Vec<String> = match &e {
        AppError::Invalid(inv)
            if !inv.0.is_empty() && inv.0.iter().all(|f| f.msg == Msg::ChildrenNotDivided) =>
        {
            inv.0.iter().map(|f| f.field.clone()).collect()
        }
        _ => return refused(&s, &u, &cycle, &org, e, None).await,
    };
    let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
        .await
        .map_err(|e| PageError(e, lang))?;
    let pending: Vec<(String, String)> = codes
        .iter()
        .map(|code| {
            let name = d
                .children
                .iter()
                .find(|c| &c.org.code == code)
                .map(|c| c.org.name.clone())
                .unwrap_or_default();
            (code.clone(), name)
        })
        .collect();
    let mut errs = Errs::new(
        "division",
        Msg::ChildrenNotDivided,
        StatusCode::CONFLICT,
        lang,
    );
    errs.push(
        "",
        None,
        Ui::NotDividedCount
            .text(lang)
            .replace("{n}", &pending.len().to_string()),
    );
    let shown = Shown {
        errs,
        ..Shown::default()
    };
    division_page(&s, &u, d, shown, pending).await
}

/// Sends the child `org` back; returns to the parent's screen (with the reason if refused).
pub async fn send_back(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let mine = u.actor.org_code().to_owned();
    match vsys_app::allocation::send_back(&s.app, &u.actor, &cycle, &org).await {
        Ok(_) => Ok(back(&cycle, &mine, Flash::DivisionSentBack)),
        Err(e) => refused(&s, &u, &cycle, &mine, e, None).await,
    }
}

/// Auto-fills the division with the cycle's formula, or with the weights, stock deduction and
/// caps the simulator sent, and saves it.
pub async fn autofill(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let version = form
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    let has_formula = form.contains_key("population") || form.contains_key("options");
    let formula = if has_formula {
        let c = vsys_app::cycles::get(&s.app, &u.actor, &cycle)
            .await
            .map_err(|e| PageError(e, u.lang))?;
        let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
            .await
            .map_err(|e| PageError(e, u.lang))?;
        let level = d.node.level.child().unwrap_or(Level::Site);
        match formula_from(&form, &vsys_app::allocation::formula_for(&c, level)) {
            Ok(f) => Some(f),
            Err(inv) => {
                return refused(&s, &u, &cycle, &org, AppError::Invalid(inv), None).await;
            }
        }
    } else {
        None
    };
    match vsys_app::allocation::apply_autofill(
        &s.app,
        &u.actor,
        &cycle,
        &org,
        version,
        formula.as_ref(),
    )
    .await
    {
        Ok(_) => Ok(back(&cycle, &org, Flash::Autofilled)),
        Err(e) => refused(&s, &u, &cycle, &org, e, None).await,
    }
}

/// Saves the division table (`amount_<code>` fields, in the child unit). A refused table comes
/// back as typed, each refused amount named by its organisation next to its cell.
pub async fn save(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut version = -1;
    let mut lines = Vec::new();
    let mut order = Vec::new();
    let mut inv = vsys_domain::Invalid::default();
    for (k, v) in &form {
        if k == "version" {
            version = v.trim().parse().unwrap_or(-1);
        } else if let Some(code) = k.strip_prefix("amount_") {
            match whole(v) {
                Ok(Some(amount)) => {
                    order.push(code.to_owned());
                    lines.push(LineInput {
                        org_code: code.to_owned(),
                        amount,
                        needles: None,
                        syringes: None,
                    });
                }
                Ok(None) => inv.push(k, Msg::Required),
                Err(m) => inv.push(k, m),
            }
        }
    }
    let typed: FormMap = form.iter().cloned().collect();
    if !inv.is_empty() {
        let e = AppError::Invalid(inv);
        return refused(&s, &u, &cycle, &org, e, Some((typed, order))).await;
    }
    // The table was opened with the formula's proposal: saved with its explanation (what was
    // changed from it is kept as the change by hand).
    let proposal = if typed.contains_key("proposal") {
        vsys_app::allocation::simulate(&s.app, &u.actor, &cycle, &org, None, None)
            .await
            .ok()
    } else {
        None
    };
    match vsys_app::allocation::save_division(
        &s.app,
        &u.actor,
        &cycle,
        &org,
        version,
        &lines,
        proposal.as_ref(),
    )
    .await
    {
        Ok(_) => Ok(back(&cycle, &org, Flash::DivisionSaved)),
        Err(e) => refused(&s, &u, &cycle, &org, e, Some((typed, order))).await,
    }
}
#[derive(Deserialize)]
pub struct ExportQuery {
    encoding: Option<String>,
}

/// The division as CSV (UTF-8 or Shift_JIS for Excel). A character Shift_JIS cannot hold is
/// refused with the cell named; the person can choose UTF-8 instead.
pub async fn export(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
        .await
        .map_err(|e| PageError(e, lang))?;
    let encoding =
        vsys_app::csv_files::Encoding::parse(q.encoding.as_deref().unwrap_or("shift_jis"))
            .unwrap_or(vsys_app::csv_files::Encoding::ShiftJis);
    match vsys_app::csv_files::allocation::export(&d, encoding, lang) {
        Ok((bytes, filename)) => Ok(crate::download::csv(bytes, &filename, encoding)),
        Err(e) => refused(&s, &u, &cycle, &org, AppError::Csv(e), None).await,
    }
}

/// Imports the division from an uploaded CSV (all or nothing; bad rows named).
pub async fn import(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    mut mp: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let mut version = -1;
    let mut file: Option<Vec<u8>> = None;
    while let Ok(Some(field)) = mp.next_field().await {
        match field.name() {
            Some("version") => {
                version = field
                    .text()
                    .await
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(-1)
            }
            Some("file") => file = field.bytes().await.ok().map(|b| b.to_vec()),
            _ => {}
        }
    }
    let Some(bytes) = file else {
        return refused(
            &s,
            &u,
            &cycle,
            &org,
            AppError::invalid("file", Msg::Required),
            None,
        )
        .await;
    };
    match vsys_app::csv_files::allocation::import(&s.app, &u.actor, &cycle, &org, version, &bytes)
        .await
    {
        Ok(_) => Ok(back(&cycle, &org, Flash::DivisionImported)),
        Err(e) => refused(&s, &u, &cycle, &org, e, None).await,
    }
}
