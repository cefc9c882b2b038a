//! How values are written on the screens (times, quantities with their unit, organisation
//! names), and the pieces of pages rendered apart.

use crate::i18n::{Ui, int, jst};
use askama::Template;
use axum::http::HeaderMap;
use vsys_app::rows::OrgRow;
use vsys_app::{AppError, AppResult};
use vsys_domain::{Lang, ProductKind};

/// A time in Japan time, or "—".
pub fn when(t: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    t.map(jst).unwrap_or_else(|| "—".to_owned())
}

/// Vials of vaccine, pieces of needles and syringes ("120本", "120 vials").
pub fn quantity(item: ProductKind, n: i64, lang: Lang) -> String {
    let unit = if item == ProductKind::Vaccine {
        Ui::VialsUnit
    } else {
        Ui::Pieces
    };
    match lang {
        Lang::Ja => format!("{}{}", int(n), unit.text(lang)),
        Lang::En => format!("{} {}", int(n), unit.text(lang)),
    }
}

/// An organisation's name in `lang` (its English name where it has one).
pub fn org_name(o: &OrgRow, lang: Lang) -> String {
    match (lang, &o.name_en) {
        (Lang::En, Some(en)) if !en.is_empty() => en.clone(),
        _ => o.name.clone(),
    }
}

/// A piece of a page (htmx swaps it in, and the whole page includes it).
pub fn fragment<T: Template>(t: &T) -> AppResult<String> {
    t.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

/// Whether htmx asked (it gets the piece of the page, a plain form the whole page).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}
