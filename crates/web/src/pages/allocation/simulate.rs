//! 分配シミュレーション: what the formula would give each organisation below, with other
//! weights, stock deduction and caps, or another total, beside what they have now. Weights
//! that cannot be read are refused with the field named; when the result cannot be saved the
//! page says why where the button would be.

use super::{OPTIONS, WEIGHTS, explain, formula_errs, formula_from, option_of};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::Ui;
use crate::pages::Chrome;
use crate::pages::form::{Errs, whole};
use crate::session::WebUser;
use askama::Template;
use axum::response::Response;
use axum::{extract::State, http::StatusCode};
use std::collections::HashMap;
use vsys_app::AppError;
use vsys_domain::chain::{Level, Status};

/// A weight as a form field: name, label, value shown (typed, or the formula's), error.
pub struct WeightField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

/// A switch of the formula as a check box: name, label, ticked.
pub struct OptionField {
    pub name: &'static str,
    pub label: &'static str,
    pub on: bool,
}

#[derive(Template)]
#[template(path = "simulate.html")]
pub struct SimulatePage {
    pub c: Chrome,
    pub cycle_name: String,
    pub org_name: String,
    pub base: String,
    pub weights: Vec<WeightField>,
    pub options: Vec<OptionField>,
    /// The total as typed for a what-if run (empty: the amount received).
    pub total: String,
    pub total_error: Option<String>,
    pub computed_total: i64,
    pub child_unit_label: &'static str,
    pub undistributed: i64,
    pub rounded_off: i64,
    /// code, name, current, simulated, difference, breakdown
    pub lines: Vec<(String, String, String, String, String, String)>,
    /// Why the result cannot be saved (`None`: 「この条件で自動入力して保存」 is offered).
    pub no_apply: Option<&'static str>,
    pub version: i64,
    pub errs: Errs,
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
    let base = vsys_app::allocation::formula_for(&d.cycle, level);
    let pres = vsys_app::allocation::presentation(&d.cycle);
    let mut inv = vsys_domain::Invalid::default();
    let formula = formula_from(&q, &base).unwrap_or_else(|bad| {
        inv.0.extend(bad.0);
        base.clone()
    });
    let typed_total = q
        .get("total")
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    let total = match whole(&typed_total) {
        Ok(t) => t,
        Err(m) => {
            inv.push("total", m);
            None
        }
    };
    let total_vials = match total {
        Some(t) => match vsys_domain::validation::quantity(t) {
            Ok(t) => pres.to_vials(t, d.child_unit),
            Err(m) => {
                inv.push("total", m);
                None
            }
        },
        None => None,
    };
    let errs = if inv.is_empty() {
        Errs::none()
    } else {
        formula_errs(Errs::of("simulate", &AppError::Invalid(inv), lang), lang)
    };
    let p = if errs.any() {
        None
    } else {
        Some(
            vsys_app::allocation::simulate(
                &s.app,
                &u.actor,
                &cycle,
                &org,
                Some(&formula),
                total_vials,
            )
            .await
            .map_err(err)?,
        )
    };
    let lines = p
        .iter()
        .flat_map(|p| p.lines.iter())
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
    let weights = WEIGHTS
        .iter()
        .map(|(k, quota)| WeightField {
            name: k,
            label: quota.label(lang),
            value: match q.get(*k) {
                Some(v) => v.clone(),
                None => formula.weights.get(*quota).to_string(),
            },
            error: errs.at("simulate", k),
        })
        .collect();
    let options = OPTIONS
        .iter()
        .map(|(k, label)| OptionField {
            name: k,
            label: label.text(lang),
            on: option_of(&formula, k),
        })
        .collect();
    let a = &u.actor;
    let may_edit = a.principal().is_own(&d.node.path)
        && a.principal().may(vsys_domain::Action::Write, &d.node.path)
        && vsys_app::allocation::is_divider(a, &d.cycle, &d.node);
    let no_apply = if !may_edit {
        Some(Ui::NoApplyRights)
    } else if d.node.status != Status::Confirmed {
        Some(Ui::NoApplyStatus)
    } else if errs.any() {
        Some(Ui::NoApplyErrors)
    } else if total.is_some() {
        Some(Ui::NoApplyTotal)
    } else {
        None
    };
    let c = Chrome::for_actor(&s.app, a, lang, Ui::Simulate.text(lang), "/cycles").await;
    let status = if errs.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_status(
        status,
        &SimulatePage {
            c,
            cycle_name: d.cycle.name.clone(),
            org_name: d.org.name.clone(),
            base: format!("/allocations/{cycle}/{org}"),
            weights,
            options,
            total_error: errs.at("simulate", "total"),
            total: typed_total,
            computed_total: p.as_ref().map_or(0, |p| p.total),
            child_unit_label: d.child_unit.label(lang),
            undistributed: p.as_ref().map_or(0, |p| p.undistributed),
            rounded_off: p.as_ref().map_or(0, |p| p.rounded_off_vials),
            lines,
            no_apply: no_apply.map(|n| n.text(lang)),
            version: d.node.version,
            errs,
        },
    ))
}
