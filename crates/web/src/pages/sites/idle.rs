//! 偏在: the sites in the caller's area whose stock lies idle.

use super::days_text;
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::ScreenQuery as Query;
use crate::i18n::{Ui, int};
use crate::pages::Chrome;
use crate::pages::display::when;
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

pub struct IdleLine {
    pub code: String,
    pub name: String,
    pub municipality: String,
    pub doses: String,
    pub given: String,
    pub days: String,
    pub last: String,
}

#[derive(Template)]
#[template(path = "stock_idle.html")]
pub struct IdlePage {
    pub c: Chrome,
    pub rows: Vec<IdleLine>,
}

/// `?area=`: a prefecture or municipality inside the caller's scope (from the dashboard).
#[derive(Debug, Default, serde::Deserialize)]
pub struct IdleQuery {
    pub area: Option<String>,
}

pub async fn idle(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<IdleQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let list = match q.area.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(code) => {
            let area = vsys_app::overview::area(&s.app, &u.actor, Some(code))
                .await
                .map_err(err)?;
            vsys_app::stock::idle_sites_under(&s.app, &u.actor, &area.path).await
        }
        None => vsys_app::stock::idle_sites(&s.app, &u.actor).await,
    }
    .map_err(err)?;
    let rows = list
        .into_iter()
        .map(|x| IdleLine {
            code: x.code,
            name: x.name,
            municipality: x.municipality_code.unwrap_or_default(),
            doses: int(x.doses),
            given: int(x.administered_in_window),
            days: days_text(x.days_of_supply, lang),
            last: when(x.last_entry_at.as_ref()),
        })
        .collect();
    let c = Chrome::for_actor(
        &s.app,
        &u.actor,
        lang,
        Ui::IdleTitle.text(lang),
        "/stock/idle",
    )
    .await;
    Ok(render(&IdlePage { c, rows }))
}
