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

/// The weights a formula is typed with: field, and how the screens label it.
pub(crate) const WEIGHTS: [(&str, vsys_domain::allocation::Quota); 5] = [
    ("population", vsys_domain::allocation::Quota::Population),
    ("requested", vsys_domain::allocation::Quota::Requested),
    ("capacity", vsys_domain::allocation::Quota::Capacity),
    ("usage", vsys_domain::allocation::Quota::Usage),
    ("equal", vsys_domain::allocation::Quota::Equal),
];

/// The switches of a formula as form fields (ticked: `on`): stock deduction and the caps.
pub(crate) const OPTIONS: [(&str, crate::i18n::Ui); 3] = [
    ("deduct_stock", crate::i18n::Ui::DeductStockOption),
    ("cap_by_request", crate::i18n::Ui::CapByRequestOption),
    ("cap_by_capacity", crate::i18n::Ui::CapByCapacityOption),
];

/// Whether the switch `field` of a formula is on.
pub(crate) fn option_of(f: &Formula, field: &str) -> bool {
    match field {
        "deduct_stock" => f.deduct_stock,
        "cap_by_request" => f.cap_by_request,
        _ => f.cap_by_capacity,
    }
}

/// The formula `base` with the weights of a form (or query) where they are given (typed as
/// whole numbers: full-width digits, separators and spaces allowed) and, when the form carries
/// its switches (`options`), stock deduction and the caps as ticked. A weight that is not a
/// number, negative, above [`vsys_domain::validation::MAX_QUANTITY`], or weights all zero are
/// refused, the field named (never replaced by the defaults).
fn formula_from(
    form: &HashMap<String, String>,
    base: &Formula,
) -> Result<Formula, vsys_domain::Invalid> {
    use vsys_domain::Msg;
    let mut f = base.clone();
    let mut inv = vsys_domain::Invalid::default();
    let mut get = |k: &str, d: u32| {
        let typed = form.get(k).map(String::as_str).unwrap_or_default();
        let n = match crate::pages::form::whole(typed) {
            Ok(None) => return d,
            Ok(Some(n)) => n,
            Err(m) => {
                inv.push(k, m);
                return d;
            }
        };
        match vsys_domain::validation::quantity(n).map(u32::try_from) {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => {
                inv.push(k, Msg::NumberOutOfRange);
                d
            }
            Err(m) => {
                inv.push(k, m);
                d
            }
        }
    };
    f.weights.population = get("population", f.weights.population);
    f.weights.requested = get("requested", f.weights.requested);
    f.weights.capacity = get("capacity", f.weights.capacity);
    f.weights.usage = get("usage", f.weights.usage);
    f.weights.equal = get("equal", f.weights.equal);
    let w = &f.weights;
    if inv.is_empty() && [w.population, w.requested, w.capacity, w.usage, w.equal] == [0; 5] {
        inv.push("weights", Msg::InvalidInput);
    }
    if form.contains_key("options") {
        let on = |k: &str| form.get(k).is_some_and(|v| v == "on");
        f.deduct_stock = on("deduct_stock");
        f.cap_by_request = on("cap_by_request");
        f.cap_by_capacity = on("cap_by_capacity");
    }
    inv.into_result().map(|()| f)
}

/// How the screens word a refused formula: each weight by its label, with what to type.
fn formula_errs(errs: crate::pages::form::Errs, lang: Lang) -> crate::pages::form::Errs {
    use crate::i18n::Ui;
    use vsys_domain::Msg;
    let mut errs =
        errs.label("weights", Ui::Weights)
            .reword("weights", Msg::InvalidInput, Ui::WeightsAllZero);
    for (k, q) in WEIGHTS {
        errs = errs
            .named(
                k,
                &format!("{}（{}）", q.label(lang), Ui::Weights.text(lang)),
            )
            .reword(k, Msg::InvalidInput, Ui::CellNotNumber)
            .reword(k, Msg::NegativeNumber, Ui::WeightNegative)
            .reword(k, Msg::NumberOutOfRange, Ui::WeightTooLarge);
    }
    errs.label("total", Ui::SimTotal)
        .reword("total", Msg::InvalidInput, Ui::CellNotNumber)
}
