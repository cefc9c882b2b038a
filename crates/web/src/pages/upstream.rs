//! 地域卸業者への分配量: what a cycle hands each deliverer and how much of it is delivered —
//! for the manufacturers, warehouses, the nation and the wholesalers themselves; and the
//! choice of the cycle shown, which the deliverers' stock and dry-ice pages share.

use super::Chrome;
use super::display::quantity;
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::ScreenQuery as Query;
use crate::i18n::{Ui, int};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vsys_app::rows::Page;
use vsys_app::{Actor, AppError, AppResult};
use vsys_domain::{Capability, ProductKind};

#[derive(Deserialize, Default)]
pub struct CycleQuery {
    pub cycle: Option<String>,
    pub flash: Option<String>,
}

// The cycle shown (1–3)
// ---------------------------------------------------------------------------------------------

pub struct CyclePick {
    pub action: &'static str,
    /// The cycle shown (empty: there is none yet).
    pub cycle: String,
    /// id, name (newest first)
    pub cycles: Vec<(String, String)>,
}

/// The cycle asked for, or the newest.
pub(super) async fn pick_cycle(
    s: &AppState,
    a: &Actor,
    asked: Option<&str>,
    action: &'static str,
) -> AppResult<CyclePick> {
    let (list, _) = vsys_app::cycles::list(&s.app, a, Page::first(100)).await?;
    let mut cycles: Vec<(String, String)> = list.into_iter().map(|c| (c.id, c.name)).collect();
    let cycle = asked
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .or_else(|| cycles.first().map(|c| c.0.clone()))
        .unwrap_or_default();
    if !cycle.is_empty() && !cycles.iter().any(|c| c.0 == cycle) {
        cycles.push((cycle.clone(), cycle.clone()));
    }
    Ok(CyclePick {
        action,
        cycle,
        cycles,
    })
}

// ---------------------------------------------------------------------------------------------
// 地域卸業者への分配量
// ---------------------------------------------------------------------------------------------

pub struct UpLine {
    pub id: String,
    pub deliverer_code: String,
    pub deliverer: String,
    pub item: &'static str,
    pub lines: String,
    pub quantity: String,
    pub delivered: String,
    pub undelivered: String,
    pub done: bool,
}

/// The sums of one item over the deliverers.
pub struct UpTotal {
    pub key: String,
    pub item: &'static str,
    pub lines: String,
    pub quantity: String,
    pub delivered: String,
    pub undelivered: String,
}

#[derive(Template)]
#[template(path = "upstream.html")]
pub struct UpstreamPage {
    pub c: Chrome,
    pub pick: CyclePick,
    pub rows: Vec<UpLine>,
    pub totals: Vec<UpTotal>,
    /// A deliverer with stock of its own (a link to 入荷・在庫).
    pub stock_link: bool,
}

pub async fn upstream(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<CycleQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    // The nation, manufacturers, warehouses and wholesalers (their own).
    if !a.can(Capability::SeeUpstream) {
        return Err(err(AppError::Forbidden));
    }
    let pick = pick_cycle(&s, a, q.cycle.as_deref(), "/deliveries/upstream")
        .await
        .map_err(err)?;
    let lines = if pick.cycle.is_empty() {
        Vec::new()
    } else {
        vsys_app::delivery::upstream(&s.app, a, &pick.cycle)
            .await
            .map_err(err)?
    };
    let codes: Vec<String> = lines.iter().map(|l| l.deliverer_code.clone()).collect();
    let names = vsys_app::orgs::names(&s.app, a, &codes, lang)
        .await
        .map_err(err)?;
    let rows = lines
        .iter()
        .map(|l| {
            let name = names
                .get(&l.deliverer_code)
                .cloned()
                .unwrap_or_else(|| l.deliverer_name.clone());
            UpLine {
                id: format!("up-{}-{}", l.deliverer_code, l.item),
                deliverer_code: l.deliverer_code.clone(),
                deliverer: name,
                item: l.item.label(lang),
                lines: int(l.lines),
                quantity: quantity(l.item, l.quantity, lang),
                delivered: quantity(l.item, l.delivered, lang),
                undelivered: quantity(l.item, (l.quantity - l.delivered).max(0), lang),
                done: l.quantity > 0 && l.delivered >= l.quantity,
            }
        })
        .collect();
    let totals = ProductKind::ALL
        .into_iter()
        .filter_map(|key| {
            let of: Vec<_> = lines.iter().filter(|l| l.item == key).collect();
            if of.is_empty() {
                return None;
            }
            let (n, q, d) = of.iter().fold((0, 0, 0), |(n, q, d), l| {
                (n + l.lines, q + l.quantity, d + l.delivered)
            });
            Some(UpTotal {
                key: key.as_str().to_owned(),
                item: key.label(lang),
                lines: int(n),
                quantity: quantity(key, q, lang),
                delivered: quantity(key, d, lang),
                undelivered: quantity(key, (q - d).max(0), lang),
            })
        })
        .collect();
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::UpstreamTitle.text(lang),
        "/deliveries/upstream",
    )
    .await
    .with_flash(q.flash.as_deref());
    Ok(render_status(
        StatusCode::OK,
        &UpstreamPage {
            c,
            pick,
            rows,
            totals,
            stock_link: a.can(Capability::KeepDelivererStock),
        },
    ))
}
