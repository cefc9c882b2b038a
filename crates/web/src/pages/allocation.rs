//! Cycles, supply and the division screens (割り当てられたワクチン量の確認・分配量の登録).

use super::Chrome;
use crate::AppState;
use crate::error::{PageError, render, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, int};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::HashMap;
use vsys_app::AppError;
use vsys_app::allocation::{Division, LineInput, StoredExplanation};
use vsys_app::rows::Page;
use vsys_domain::Capability;
use vsys_domain::allocation::{Explanation, Formula, Quota};
use vsys_domain::chain::{Level, Status};
use vsys_domain::{Lang, Msg};

fn status_badge(st: Status, lang: Lang) -> (&'static str, &'static str) {
    (st.label(lang), st.badge())
}

/// The explanation of a line, in words: each quota's share, deductions, caps and rounding.
pub fn explain(e: &Explanation, manual: i64, lang: Lang) -> String {
    let mut parts: Vec<String> = e
        .quotas
        .iter()
        .filter(|q| q.share > 0.0 || q.pool > 0)
        .map(|q| {
            let fb = q
                .fallback_to
                .map(|f| format!("→{}", f.label(lang)))
                .unwrap_or_default();
            format!("{}{fb} {:.2}", q.quota.label(lang), q.share)
        })
        .collect();
    let (stock, redis, cap, round, manual_l) = match lang {
        Lang::Ja => ("在庫控除", "再配分", "上限", "端数", "手修正"),
        Lang::En => ("stock", "redistributed", "cap", "rounding", "by hand"),
    };
    if e.stock_deducted > 0.0 {
        parts.push(format!("{stock} −{:.2}", e.stock_deducted));
    }
    if e.redistributed.abs() > 1e-9 {
        parts.push(format!("{redis} {:+.2}", e.redistributed));
    }
    if let Some((_, c)) = &e.cap {
        parts.push(format!("{cap} {c}"));
    }
    if e.rounding != 0 {
        parts.push(format!("{round} {:+}", e.rounding));
    }
    if manual != 0 {
        parts.push(format!("{manual_l} {manual:+}"));
    }
    format!(
        "{} = {} (v{})",
        parts.join(" / "),
        e.amount + manual,
        e.formula_version
    )
}

fn stored(expl: Option<&str>) -> Option<StoredExplanation> {
    expl.and_then(|e| serde_json::from_str(e).ok())
}

fn explain_stored(expl: Option<&str>, lang: Lang) -> String {
    match stored(expl) {
        Some(StoredExplanation {
            auto: Some(a),
            manual_adjustment,
        }) => explain(&a, manual_adjustment, lang),
        Some(StoredExplanation { auto: None, .. }) => match lang {
            Lang::Ja => "手入力".into(),
            Lang::En => "entered by hand".into(),
        },
        None => String::new(),
    }
}

pub struct CycleLine {
    pub id: String,
    pub name: String,
    pub period: String,
    pub vaccine: String,
    pub my_status: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "cycles.html")]
pub struct CyclesPage {
    pub c: Chrome,
    pub cycles: Vec<CycleLine>,
    pub my_org: String,
    pub can_create: bool,
    pub vaccines: Vec<(String, String)>,
    pub needles: Vec<(String, String)>,
    pub syringes: Vec<(String, String)>,
    pub errors: Vec<(String, &'static str)>,
}

async fn cycles_page(
    s: &AppState,
    u: &WebUser,
    errors: Vec<(String, &'static str)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let (list, _) = vsys_app::cycles::list(&s.app, &u.actor, Page::first(100))
        .await
        .map_err(err)?;
    let products = vsys_app::products::list(&s.app, &u.actor, None)
        .await
        .map_err(err)?;
    let name_of = |id: &str| {
        products
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let mut cycles = Vec::new();
    for x in &list {
        let mine = vsys_app::allocation::own_node(&s.app, &u.actor, &x.id)
            .await
            .ok()
            .flatten();
        cycles.push(CycleLine {
            id: x.id.clone(),
            name: x.name.clone(),
            period: format!("{} 〜 {}", x.period_start, x.period_end),
            vaccine: name_of(&x.vaccine_id),
            my_status: mine.map(|n| status_badge(n.status, lang)),
        });
    }
    let pick = |kind: vsys_domain::ProductKind| {
        products
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| {
                (
                    p.id.clone(),
                    format!("{} {}", p.name, p.spec.clone().unwrap_or_default()),
                )
            })
            .collect()
    };
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Cycles.text(lang), "/cycles").await;
    let can_create = u.actor.can(Capability::ManageProgramme);
    Ok(render_status(
        status,
        &CyclesPage {
            c,
            cycles,
            my_org: u.actor.org_code().into(),
            can_create,
            vaccines: pick(vsys_domain::ProductKind::Vaccine),
            needles: pick(vsys_domain::ProductKind::Needle),
            syringes: pick(vsys_domain::ProductKind::Syringe),
            errors,
        },
    ))
}

pub async fn cycles(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    cycles_page(&s, &u, vec![], StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct CycleForm {
    number: String,
    vaccine_id: String,
    needle_id: Option<String>,
    syringe_id: Option<String>,
    period_start: String,
    period_end: String,
    deadline_prefecture: String,
    deadline_municipality: String,
    deadline_site: String,
    unit_site: String,
    chain: Option<String>,
}

fn field_errors(e: &AppError, lang: Lang) -> Vec<(String, &'static str)> {
    match e {
        AppError::Invalid(inv) => inv
            .0
            .iter()
            .map(|f| {
                let label = crate::i18n::field_label(&f.field, lang);
                let label = if label.is_empty() {
                    f.field.clone()
                } else {
                    label.to_owned()
                };
                let at = f.row.map(|r| match lang {
                    Lang::Ja => format!("{r}行目 {label}"),
                    Lang::En => format!("row {r}, {label}"),
                });
                (at.unwrap_or(label), f.msg.text(lang))
            })
            .collect(),
        other => vec![(String::new(), other.text(lang))],
    }
}

pub async fn cycle_create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<CycleForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let date = |v: &str| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
    let dates = [
        &f.period_start,
        &f.period_end,
        &f.deadline_prefecture,
        &f.deadline_municipality,
        &f.deadline_site,
    ]
    .map(|d| date(d));
    let (Some(number), [Some(ps), Some(pe), Some(dp), Some(dm), Some(ds)]) =
        (f.number.trim().parse::<i64>().ok(), dates)
    else {
        return cycles_page(
            &s,
            &u,
            vec![(String::new(), Msg::InvalidInput.text(lang))],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = vsys_app::cycles::CycleInput {
        number,
        name: None,
        vaccine_id: f.vaccine_id,
        needle_id: f.needle_id.filter(|x| !x.is_empty()),
        syringe_id: f.syringe_id.filter(|x| !x.is_empty()),
        period_start: ps,
        period_end: pe,
        deadline_prefecture: dp,
        deadline_municipality: dm,
        deadline_site: ds,
        chain: f
            .chain
            .as_deref()
            .filter(|c| !c.is_empty())
            .and_then(vsys_domain::Chain::parse),
        unit_site: vsys_domain::Unit::parse(&f.unit_site),
        formulas: None,
    };
    match vsys_app::cycles::create(&s.app, &u.actor, &input).await {
        Ok(c) => Ok(Redirect::to(&format!("/cycles/{}", c.id)).into_response()),
        Err(e @ AppError::Invalid(_)) => {
            cycles_page(
                &s,
                &u,
                field_errors(&e, lang),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

#[derive(Template)]
#[template(path = "cycle.html")]
pub struct CyclePage {
    pub c: Chrome,
    pub cycle: vsys_app::rows::CycleRow,
    pub supply: Vec<(String, String, String)>,
    pub supply_products: Vec<(String, String)>,
    pub supplier_default: String,
    pub my_link: Option<String>,
    pub errors: Vec<(String, &'static str)>,
    pub can_request: bool,
    /// A municipal site in a priority-programme cycle: no request form, and why.
    pub no_requests: bool,
    /// capacity, requested, storage, needles, syringes, version ("" when none yet)
    pub req: RequestFields,
    pub request_errors: Vec<(String, &'static str)>,
}

pub async fn cycle(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    cycle_page(&s, &u, &id, vec![], StatusCode::OK).await
}

async fn cycle_page(
    s: &AppState,
    u: &WebUser,
    id: &str,
    errors: Vec<(String, &'static str)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    cycle_page_with(s, u, id, errors, vec![], None, status).await
}

/// The fields of the request form: capacity, requested, storage, needles, syringes, version.
type RequestFields = (String, String, String, String, String, String);

async fn cycle_page_with(
    s: &AppState,
    u: &WebUser,
    id: &str,
    errors: Vec<(String, &'static str)>,
    request_errors: Vec<(String, &'static str)>,
    typed: Option<RequestFields>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let id = id.to_owned();
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let cycle = vsys_app::cycles::get(&s.app, &u.actor, &id)
        .await
        .map_err(err)?;
    let supply = vsys_app::cycles::supply(&s.app, &u.actor, &id)
        .await
        .map_err(err)?;
    let products = vsys_app::products::list(&s.app, &u.actor, None)
        .await
        .map_err(err)?;
    let name_of = |pid: &str| {
        products
            .iter()
            .find(|p| p.id == pid)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let kind = u.actor.principal().org_kind;
    use vsys_domain::OrgKind::*;
    let may_supply = u.actor.can(Capability::SupplyProducts);
    let in_cycle: Vec<&String> = [
        Some(&cycle.vaccine_id),
        cycle.needle_id.as_ref(),
        cycle.syringe_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let supply_products = if may_supply {
        products
            .iter()
            .filter(|p| {
                in_cycle.contains(&&p.id) && (kind == Nation || p.owner_code == u.actor.org_code())
            })
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    } else {
        vec![]
    };
    let my_link = vsys_app::allocation::own_node(&s.app, &u.actor, &id)
        .await
        .ok()
        .flatten()
        .map(|_| format!("/allocations/{id}/{}", u.actor.org_code()));
    let c = Chrome::for_actor(&s.app, &u.actor, lang, &cycle.name, "/cycles").await;
    let chain = cycle.chain;
    let can_request = chain.takes_requests_from(kind) && u.actor.can(Capability::RequestSupply);
    let no_requests = kind == Site && !chain.takes_requests_from(kind);
    let req = match typed {
        Some(t) => t,
        None => match vsys_app::requests::get(&s.app, &u.actor, &id, u.actor.org_code())
            .await
            .ok()
            .flatten()
        {
            Some(r) => (
                r.capacity_doses.to_string(),
                r.requested_doses.to_string(),
                r.storage,
                r.needles.to_string(),
                r.syringes.to_string(),
                r.version.to_string(),
            ),
            None => (
                String::new(),
                String::new(),
                "freezer".into(),
                String::new(),
                String::new(),
                String::new(),
            ),
        },
    };
    Ok(render_status(
        status,
        &CyclePage {
            c,
            errors,
            can_request,
            no_requests,
            req,
            request_errors,
            supply: supply
                .iter()
                .map(|x| {
                    (
                        x.supplier_code.clone(),
                        name_of(&x.product_id),
                        int(x.quantity),
                    )
                })
                .collect(),
            supply_products,
            supplier_default: if kind == Nation {
                String::new()
            } else {
                u.actor.org_code().into()
            },
            my_link,
            cycle,
        },
    ))
}

#[derive(Deserialize)]
pub struct SupplyForm {
    supplier_code: Option<String>,
    product_id: String,
    quantity: String,
}

pub async fn supply_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Form(f): Form<SupplyForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let Ok(quantity) = f.quantity.trim().replace(',', "").parse::<i64>() else {
        let errors = vec![(
            crate::i18n::field_label("quantity", lang).to_owned(),
            Msg::InvalidInput.text(lang),
        )];
        return cycle_page(&s, &u, &id, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let input = vsys_app::cycles::SupplyInput {
        supplier_code: f.supplier_code.filter(|x| !x.trim().is_empty()),
        product_id: f.product_id,
        quantity,
    };
    match vsys_app::cycles::register_supply(&s.app, &u.actor, &id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/cycles/{id}")).into_response()),
        Err(e @ AppError::Invalid(_)) => {
            cycle_page(
                &s,
                &u,
                &id,
                field_errors(&e, lang),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

pub struct DivLine {
    pub code: String,
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
    pub errors: Vec<String>,
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
    d: Division,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let a = &u.actor;
    let pres = vsys_app::allocation::presentation(&d.cycle);
    let level = d.node.level;
    let unit = vsys_app::allocation::unit_of(&d.cycle, level);
    let st = d.node.status;
    let own = a.principal().is_own(&d.node.path);
    let operator = a.principal().may(vsys_domain::Action::Write, &d.node.path);
    let may_write = own && operator;
    let has_children = !d.children.is_empty();
    let lines: Vec<DivLine> = d
        .children
        .iter()
        .map(|ch| {
            let n = ch.node.as_ref();
            let vials = n.map(|n| n.vials).unwrap_or(0);
            let child_status = n.map(|n| n.status);
            DivLine {
                code: ch.org.code.clone(),
                name: ch.org.name.clone(),
                amount: pres
                    .from_vials_floor(vials, d.child_unit)
                    .amount
                    .to_string(),
                doses: int(pres.doses(vials)),
                needles: int(n.map(|n| n.needles).unwrap_or(0)),
                syringes: int(n.map(|n| n.syringes).unwrap_or(0)),
                status: n.map(|n| status_badge(n.status, lang)),
                explanation: explain_stored(n.and_then(|n| n.explanation.as_deref()), lang),
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
    let c = Chrome::for_actor(&s.app, a, lang, &d.cycle.name, "/cycles").await;
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
        can_edit: operator
            && vsys_app::allocation::is_divider(a, &d.cycle, &d.node)
            && has_children
            && st == Status::Confirmed,
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
        errors,
        cycle: d.cycle,
    };
    Ok(render_status(status, &page))
}

/// The link in allocation notices: the caller's own node of the cycle.
pub async fn mine(u: WebUser, Path(cycle): Path<String>) -> Response {
    Redirect::to(&format!("/allocations/{cycle}/{}", u.actor.org_code())).into_response()
}

pub async fn division(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    division_page(&s, &u, d, vec![], StatusCode::OK).await
}

/// After a refused change: the same screen, current data, and what was wrong.
async fn refused(
    s: &AppState,
    u: &WebUser,
    cycle: &str,
    org: &str,
    e: AppError,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let status = match &e {
        AppError::Conflict => StatusCode::CONFLICT,
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => return Err(PageError(e, lang)),
    };
    let errors = field_errors(&e, lang)
        .into_iter()
        .map(|(f, m)| {
            if f.is_empty() {
                m.to_owned()
            } else {
                format!("{f}: {m}")
            }
        })
        .collect();
    let d = vsys_app::allocation::division(&s.app, &u.actor, cycle, org)
        .await
        .map_err(|e| PageError(e, lang))?;
    division_page(s, u, d, errors, status).await
}

fn back(cycle: &str, org: &str) -> Response {
    Redirect::to(&format!("/allocations/{cycle}/{org}")).into_response()
}

/// A status change by the node's owner (or divider): back to the screen, or the same screen
/// with the reason it was refused.
macro_rules! transition {
    ($name:ident, $call:path) => {
        pub async fn $name(
            State(s): State<AppState>,
            u: WebUser,
            Path((cycle, org)): Path<(String, String)>,
        ) -> Result<Response, PageError> {
            match $call(&s.app, &u.actor, &cycle, &org).await {
                Ok(_) => Ok(back(&cycle, &org)),
                Err(e) => refused(&s, &u, &cycle, &org, e).await,
            }
        }
    };
}

transition!(confirm, vsys_app::allocation::confirm);
transition!(finish, vsys_app::allocation::finish);
transition!(withdraw, vsys_app::allocation::withdraw);
transition!(finalise, vsys_app::allocation::finalise);

/// Sends the child `org` back; returns to the parent's screen (with the reason if refused).
pub async fn send_back(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let mine = u.actor.org_code().to_owned();
    match vsys_app::allocation::send_back(&s.app, &u.actor, &cycle, &org).await {
        Ok(_) => Ok(back(&cycle, &mine)),
        Err(e) => refused(&s, &u, &cycle, &mine, e).await,
    }
}

/// The weights of a formula as form fields.
fn weight_fields(f: &Formula, lang: Lang) -> Vec<(&'static str, &'static str, u32)> {
    let w = &f.weights;
    vec![
        ("population", Quota::Population.label(lang), w.population),
        ("requested", Quota::Requested.label(lang), w.requested),
        ("capacity", Quota::Capacity.label(lang), w.capacity),
        ("usage", Quota::Usage.label(lang), w.usage),
        ("equal", Quota::Equal.label(lang), w.equal),
    ]
}

fn formula_from(form: &HashMap<String, String>, base: &Formula) -> Formula {
    let mut f = base.clone();
    let get = |k: &str, d: u32| {
        form.get(k)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(d)
    };
    f.weights.population = get("population", f.weights.population);
    f.weights.requested = get("requested", f.weights.requested);
    f.weights.capacity = get("capacity", f.weights.capacity);
    f.weights.usage = get("usage", f.weights.usage);
    f.weights.equal = get("equal", f.weights.equal);
    f
}

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
    let has_weights = form.contains_key("population");
    let formula = if has_weights {
        let c = vsys_app::cycles::get(&s.app, &u.actor, &cycle)
            .await
            .map_err(|e| PageError(e, u.lang))?;
        let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
            .await
            .map_err(|e| PageError(e, u.lang))?;
        let level = d.node.level.child().unwrap_or(Level::Site);
        Some(formula_from(
            &form,
            &vsys_app::allocation::formula_for(&c, level),
        ))
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
        Ok(_) => Ok(back(&cycle, &org)),
        Err(e) => refused(&s, &u, &cycle, &org, e).await,
    }
}

/// Saves the division table (`amount_<code>` fields, in the child unit).
pub async fn save(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut version = -1;
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for (k, v) in &form {
        if k == "version" {
            version = v.parse().unwrap_or(-1);
        } else if let Some(code) = k.strip_prefix("amount_") {
            match v.trim().replace(',', "").parse::<i64>() {
                Ok(amount) => lines.push(LineInput {
                    org_code: code.to_owned(),
                    amount,
                    needles: None,
                    syringes: None,
                }),
                Err(_) => bad.push(code.to_owned()),
            }
        }
    }
    if !bad.is_empty() {
        let mut inv = vsys_domain::Invalid::default();
        for code in bad {
            inv.push(&code, Msg::InvalidInput);
        }
        return refused(&s, &u, &cycle, &org, AppError::Invalid(inv)).await;
    }
    match vsys_app::allocation::save_division(&s.app, &u.actor, &cycle, &org, version, &lines, None)
        .await
    {
        Ok(_) => Ok(back(&cycle, &org)),
        Err(e) => refused(&s, &u, &cycle, &org, e).await,
    }
}

#[derive(Template)]
#[template(path = "simulate.html")]
pub struct SimulatePage {
    pub c: Chrome,
    pub cycle_name: String,
    pub org_name: String,
    pub base: String,
    pub weights: Vec<(&'static str, &'static str, u32)>,
    /// The total typed for a what-if run (empty: the amount received).
    pub total: Option<i64>,
    pub computed_total: i64,
    pub child_unit_label: &'static str,
    pub undistributed: i64,
    pub rounded_off: i64,
    /// code, name, current, simulated, difference, breakdown
    pub lines: Vec<(String, String, String, String, String, String)>,
    pub can_apply: bool,
    pub version: i64,
}

pub async fn simulate(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
        .await
        .map_err(err)?;
    let level = d.node.level.child().unwrap_or(Level::Site);
    let formula = formula_from(&q, &vsys_app::allocation::formula_for(&d.cycle, level));
    let pres = vsys_app::allocation::presentation(&d.cycle);
    let total_vials = q
        .get("total")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|t| pres.to_vials(t, d.child_unit));
    let p =
        vsys_app::allocation::simulate(&s.app, &u.actor, &cycle, &org, Some(&formula), total_vials)
            .await
            .map_err(err)?;
    let lines = p
        .lines
        .iter()
        .map(|l| {
            let current = pres.from_vials_floor(l.current_vials, d.child_unit).amount;
            (
                l.org_code.clone(),
                l.org_name.clone(),
                current.to_string(),
                l.amount.to_string(),
                format!("{:+}", l.amount - current),
                explain(&l.explanation, 0, lang),
            )
        })
        .collect();
    let st = d.node.status;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Simulate.text(lang), "/cycles").await;
    Ok(render(&SimulatePage {
        c,
        cycle_name: d.cycle.name.clone(),
        org_name: d.org.name.clone(),
        base: format!("/allocations/{cycle}/{org}"),
        weights: weight_fields(&formula, lang),
        total: q.get("total").and_then(|t| t.trim().parse().ok()),
        computed_total: p.total,
        child_unit_label: d.child_unit.label(lang),
        undistributed: p.undistributed,
        rounded_off: p.rounded_off_vials,
        lines,
        can_apply: u.actor.principal().is_own(&d.node.path)
            && st == Status::Confirmed
            && u.actor
                .principal()
                .may(vsys_domain::Action::Write, &d.node.path)
            && total_vials.is_none(),
        version: d.node.version,
    }))
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
        Err(e) => {
            refused(
                &s,
                &u,
                &cycle,
                &org,
                AppError::Invalid(vsys_domain::Invalid(vec![vsys_domain::FieldError::new(
                    &e.message(lang),
                    Msg::InvalidInput,
                )])),
            )
            .await
        }
    }
}

/// Imports the division from an uploaded CSV (all or nothing; bad rows named).
pub async fn import(
    State(s): State<AppState>,
    u: WebUser,
    Path((cycle, org)): Path<(String, String)>,
    mut mp: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let lang = u.lang;
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
        )
        .await;
    };
    match vsys_app::csv_files::allocation::import(&s.app, &u.actor, &cycle, &org, version, &bytes)
        .await
    {
        Ok(_) => Ok(back(&cycle, &org)),
        Err(AppError::Csv(e)) => {
            let d = vsys_app::allocation::division(&s.app, &u.actor, &cycle, &org)
                .await
                .map_err(|e| PageError(e, lang))?;
            division_page(
                &s,
                &u,
                d,
                vec![e.message(lang)],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => refused(&s, &u, &cycle, &org, e).await,
    }
}

#[derive(Template)]
#[template(path = "products.html")]
pub struct ProductsPage {
    pub c: Chrome,
    /// kind, name + spec, owner, storage, presentation
    pub products: Vec<(&'static str, String, String, &'static str, String)>,
    pub can_create: bool,
    pub owner_default: String,
    pub storage: Vec<(&'static str, &'static str)>,
    pub errors: Vec<(String, &'static str)>,
    pub rules: vsys_app::rows::SupplyRulesRow,
    pub can_rules: bool,
    pub roundings: Vec<(&'static str, &'static str)>,
}

fn storage_label(s: &str, lang: Lang) -> &'static str {
    match (s, lang) {
        ("ultra_cold", Lang::Ja) => "超低温（−90~−60℃）",
        ("frozen", Lang::Ja) => "冷凍（−25~−15℃）",
        ("fridge", Lang::Ja) => "冷蔵（2~8℃）",
        ("ultra_cold", Lang::En) => "Ultra-cold (−90~−60 °C)",
        ("frozen", Lang::En) => "Frozen (−25~−15 °C)",
        ("fridge", Lang::En) => "Refrigerated (2~8 °C)",
        _ => "—",
    }
}

async fn products_page(
    s: &AppState,
    u: &WebUser,
    errors: Vec<(String, &'static str)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let list = vsys_app::products::list_current(&s.app, &u.actor)
        .await
        .map_err(err)?;
    let mut products = Vec::new();
    for (p, current) in &list {
        let presentation = match (p.kind.as_str(), current) {
            ("vaccine", Some(x)) => format!(
                "{} {} × {} {}",
                x.doses_per_vial,
                Ui::DosesPerVial.text(lang),
                x.vials_per_box,
                Ui::VialsPerBox.text(lang)
            ),
            _ => p
                .units_per_pack
                .map(|n| match lang {
                    Lang::Ja => format!("{n} 本/パック"),
                    Lang::En => format!("{n} per pack"),
                })
                .unwrap_or_default(),
        };
        let kind = match p.kind.as_str() {
            "vaccine" => Ui::Vaccine.text(lang),
            "needle" => Ui::Needle.text(lang),
            _ => Ui::Syringe.text(lang),
        };
        let name = match &p.spec {
            Some(spec) => format!("{} {spec}", p.name),
            None => p.name.clone(),
        };
        products.push((
            kind,
            name,
            p.owner_code.clone(),
            storage_label(p.storage_class.as_deref().unwrap_or_default(), lang),
            presentation,
        ));
    }
    use vsys_domain::OrgKind::*;
    let kind = u.actor.principal().org_kind;
    let rules = vsys_app::products::rules(&s.app, &u.actor)
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Products.text(lang), "/products").await;
    Ok(render_status(
        status,
        &ProductsPage {
            c,
            products,
            can_create: u.actor.can(Capability::SupplyProducts),
            owner_default: if kind == Nation {
                String::new()
            } else {
                u.actor.org_code().into()
            },
            storage: ["ultra_cold", "frozen", "fridge"]
                .into_iter()
                .map(|x| (x, storage_label(x, lang)))
                .collect(),
            errors,
            rules,
            can_rules: u.actor.can(Capability::ManageProgramme),
            roundings: match lang {
                Lang::Ja => vec![
                    ("up", "切り上げ"),
                    ("nearest", "四捨五入"),
                    ("down", "切り捨て"),
                ],
                Lang::En => vec![
                    ("up", "round up"),
                    ("nearest", "nearest"),
                    ("down", "round down"),
                ],
            },
        },
    ))
}

pub async fn products(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    products_page(&s, &u, vec![], StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ProductForm {
    kind: String,
    owner_code: Option<String>,
    name: String,
    spec: Option<String>,
    storage_class: Option<String>,
    doses_per_vial: Option<String>,
    vials_per_box: Option<String>,
    units_per_pack: Option<String>,
    needs_dry_ice: Option<String>,
}

pub async fn product_create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<ProductForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let num = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .and_then(|x| x.parse::<i64>().ok())
    };
    let Some(kind) = vsys_domain::ProductKind::parse(f.kind.trim()) else {
        return products_page(
            &s,
            &u,
            vec![("kind".into(), Msg::InvalidInput.text(lang))],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = vsys_app::products::ProductInput {
        kind,
        owner_code: f.owner_code.clone().filter(|x| !x.trim().is_empty()),
        name: f.name.clone(),
        spec: f.spec.clone(),
        storage_class: f.storage_class.clone().filter(|x| !x.is_empty()),
        days_after_thaw: None,
        needs_dry_ice: f.needs_dry_ice.is_some(),
        units_per_pack: num(&f.units_per_pack),
        doses_per_vial: num(&f.doses_per_vial),
        vials_per_box: num(&f.vials_per_box),
        from_cycle: None,
    };
    match vsys_app::products::create(&s.app, &u.actor, &input).await {
        Ok(_) => Ok(Redirect::to("/products").into_response()),
        Err(e @ AppError::Invalid(_)) => {
            products_page(
                &s,
                &u,
                field_errors(&e, lang),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

#[derive(Deserialize)]
pub struct RulesForm {
    version: i64,
    needles_per_dose_milli: String,
    syringes_per_dose_milli: String,
    pack_rounding: String,
    dry_ice_grams_ultra_cold: String,
    dry_ice_grams_frozen: String,
}

pub async fn rules_submit(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<RulesForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let n = |v: &str| v.trim().parse::<i64>().unwrap_or(-1);
    let input = vsys_app::products::RulesInput {
        needles_per_dose_milli: n(&f.needles_per_dose_milli),
        syringes_per_dose_milli: n(&f.syringes_per_dose_milli),
        pack_rounding: f.pack_rounding,
        dry_ice_grams_ultra_cold: n(&f.dry_ice_grams_ultra_cold),
        dry_ice_grams_frozen: n(&f.dry_ice_grams_frozen),
    };
    match vsys_app::products::set_rules(&s.app, &u.actor, f.version, &input).await {
        Ok(_) => Ok(Redirect::to("/products").into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict)) => {
            products_page(
                &s,
                &u,
                field_errors(&e, lang),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

#[derive(Deserialize)]
pub struct RequestForm {
    version: String,
    capacity_doses: String,
    requested_doses: String,
    storage: String,
    needles: String,
    syringes: String,
}

/// A site reports its capacity and request for the cycle (接種可能量・希望量等の報告).
pub async fn request_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Form(f): Form<RequestForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let typed = Some((
        f.capacity_doses.clone(),
        f.requested_doses.clone(),
        f.storage.clone(),
        f.needles.clone(),
        f.syringes.clone(),
        f.version.clone(),
    ));
    let n = |field: &str, v: &str| {
        v.trim().replace(',', "").parse::<i64>().map_err(|_| {
            (
                crate::i18n::field_label(field, lang).to_owned(),
                Msg::InvalidInput.text(lang),
            )
        })
    };
    let parsed = (
        n("capacity_doses", &f.capacity_doses),
        n("requested_doses", &f.requested_doses),
        n("needles", &f.needles),
        n("syringes", &f.syringes),
    );
    let (Ok(capacity_doses), Ok(requested_doses), Ok(needles), Ok(syringes)) = parsed.clone()
    else {
        let errors = [
            parsed.0.err(),
            parsed.1.err(),
            parsed.2.err(),
            parsed.3.err(),
        ]
        .into_iter()
        .flatten()
        .collect();
        return cycle_page_with(
            &s,
            &u,
            &id,
            vec![],
            errors,
            typed,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = vsys_app::requests::RequestInput {
        capacity_doses,
        requested_doses,
        storage: f.storage.clone(),
        needles,
        syringes,
    };
    let version = f.version.trim().parse::<i64>().ok();
    match vsys_app::requests::put(&s.app, &u.actor, &id, u.actor.org_code(), version, &input).await
    {
        Ok(_) => Ok(Redirect::to(&format!("/cycles/{id}")).into_response()),
        Err(e @ AppError::Invalid(_)) => {
            cycle_page_with(
                &s,
                &u,
                &id,
                vec![],
                field_errors(&e, lang),
                typed,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        // Someone else saved first: show what is stored now (with its version) and say so.
        Err(e @ AppError::Conflict) => {
            cycle_page_with(
                &s,
                &u,
                &id,
                vec![],
                field_errors(&e, lang),
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}
