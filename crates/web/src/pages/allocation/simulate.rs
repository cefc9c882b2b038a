//! 分配シミュレーション: what the formula would give each organisation below, with other
//! weights or another total, beside what they have now.

use super::{explain, formula_from};
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::{ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::Ui;
use crate::pages::Chrome;
use crate::pages::form::whole;
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use std::collections::HashMap;
use vsys_domain::Lang;
use vsys_domain::allocation::{Formula, Quota};
use vsys_domain::chain::{Level, Status};

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
    let formula = formula_from(&q, &vsys_app::allocation::formula_for(&d.cycle, level))
        .map_err(|inv| err(vsys_app::AppError::Invalid(inv)))?;
    let pres = vsys_app::allocation::presentation(&d.cycle);
    let total = whole(q.get("total").map(String::as_str).unwrap_or_default())
        .map_err(|m| err(vsys_app::AppError::invalid("total", m)))?;
    let total_vials = total.and_then(|t| pres.to_vials(t, d.child_unit));
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
        total,
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
