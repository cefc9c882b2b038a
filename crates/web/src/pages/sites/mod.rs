//! Sites (医療機関・接種会場): a site's home page, the list and bulk registration of sites, one
//! site's registry entry, details, doctors and stock, daily results (接種実績) and idle stock
//! (偏在). Every handler parses the form, calls one use-case and renders a template; a refused
//! form comes back with the reasons next to its fields and what was typed (`pages::form`).

pub mod home;
pub mod idle;
pub mod import;
pub mod list;
pub mod reservation;
pub mod results;
pub mod site;
pub mod stock;

use super::display::when;
use crate::i18n::{Ui, int};
use vsys_app::stock::StockView;
use vsys_domain::Lang;

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
