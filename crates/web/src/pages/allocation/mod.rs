//! Cycles (クール), supply and the division screens (割り当てられたワクチン量の確認・分配量の
//! 登録): the cycles and what each organisation requests, one organisation's division of what
//! it received among those below it, and the simulation of the formula.

pub mod cycles;
pub mod division;
pub mod simulate;

use std::collections::HashMap;
use vsys_app::allocation::StoredExplanation;
use vsys_domain::Lang;
use vsys_domain::allocation::{Explanation, Formula};
use vsys_domain::chain::Status;

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
    let Some(e) = stored(expl) else {
        return String::new();
    };
    let vaccine = match &e.auto {
        Some(a) => explain(a, e.manual_adjustment, lang),
        None => match lang {
            Lang::Ja => "手入力".into(),
            Lang::En => "entered by hand".into(),
        },
    };
    match e
        .supplies
        .map(|s| s.describe(lang))
        .filter(|s| !s.is_empty())
    {
        Some(supplies) => format!("{vaccine} / {supplies}"),
        None => vaccine,
    }
}

/// The formula `base` with the weights of a form (or query) where they are given (typed as
/// whole numbers: full-width digits, separators and spaces allowed); a weight that is not a
/// whole number from 0 up is refused, the field named.
fn formula_from(
    form: &HashMap<String, String>,
    base: &Formula,
) -> Result<Formula, vsys_domain::Invalid> {
    let mut f = base.clone();
    let mut inv = vsys_domain::Invalid::default();
    let mut get = |k: &str, d: u32| {
        let typed = form.get(k).map(String::as_str).unwrap_or_default();
        match crate::pages::form::whole(typed).map(|n| n.map(u32::try_from)) {
            Ok(None) => d,
            Ok(Some(Ok(n))) => n,
            Ok(Some(Err(_))) | Err(_) => {
                inv.push(k, vsys_domain::Msg::InvalidInput);
                d
            }
        }
    };
    f.weights.population = get("population", f.weights.population);
    f.weights.requested = get("requested", f.weights.requested);
    f.weights.capacity = get("capacity", f.weights.capacity);
    f.weights.usage = get("usage", f.weights.usage);
    f.weights.equal = get("equal", f.weights.equal);
    inv.into_result().map(|()| f)
}
