//! 入荷・在庫: a deliverer's goods of a cycle — assigned, received from upstream, delivered,
//! on hand — and the form to register what arrived.

use super::Chrome;
use super::delivery::item_options;
use super::display::quantity;
use super::form::{Errs, Flash, FormMap, Shown, Vals, date, done, number, text};
use super::upstream::{CyclePick, CycleQuery, pick_cycle};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenQuery as Query};
use crate::i18n::Ui;
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use vsys_app::AppError;
use vsys_app::delivery::InboundInput;
use vsys_domain::{Capability, Invalid, Msg, ProductKind};

pub struct StockLine {
    pub key: String,
    pub item: &'static str,
    pub assigned: String,
    pub received: String,
    pub delivered: String,
    pub on_hand: String,
    /// More delivered than received (an arrival not registered yet).
    pub short: bool,
}

#[derive(Template)]
#[template(path = "upstream_stock.html")]
pub struct StockPage {
    pub c: Chrome,
    pub pick: CyclePick,
    pub rows: Vec<StockLine>,
    pub can_record: bool,
    /// value, label
    pub items: Vec<(&'static str, &'static str)>,
    pub today: String,
    pub errs: Errs,
    pub vals: Vals,
}

async fn stock_page(
    s: &AppState,
    u: &WebUser,
    asked: Option<&str>,
    shown: Shown,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    // The deliverers that receive goods to deliver.
    if !a.can(Capability::KeepDelivererStock) {
        return Err(err(AppError::Forbidden));
    }
    let pick = pick_cycle(s, a, asked, "/deliveries/stock")
        .await
        .map_err(err)?;
    let stock = if pick.cycle.is_empty() {
        Vec::new()
    } else {
        vsys_app::delivery::deliverer_stock(&s.app, a, &pick.cycle)
            .await
            .map_err(err)?
    };
    let rows = stock
        .iter()
        .map(|x| StockLine {
            key: x.item.as_str().to_owned(),
            item: x.item.label(lang),
            assigned: quantity(x.item, x.assigned, lang),
            received: quantity(x.item, x.received, lang),
            delivered: quantity(x.item, x.delivered, lang),
            on_hand: quantity(x.item, x.on_hand, lang),
            short: x.on_hand < 0,
        })
        .collect();
    let today = vsys_app::clock::japan_date(s.app.clock.now()).to_string();
    let mut vals = Vals::default();
    vals.set("inbound.item", "vaccine");
    vals.set("inbound.received_on", today.clone());
    let vals = shown.vals(vals, &[]);
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::DelivererStockTitle.text(lang),
        "/deliveries/stock",
    )
    .await
    .with_flash(shown.flash.as_deref());
    Ok(render_status(
        shown.errs.status(),
        &StockPage {
            c,
            pick,
            rows,
            can_record: a.can(Capability::RecordInbound),
            items: item_options(lang).collect(),
            today,
            errs: shown.errs,
            vals,
        },
    ))
}

pub async fn stock(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<CycleQuery>,
) -> Result<Response, PageError> {
    stock_page(&s, &u, q.cycle.as_deref(), Shown::asked(q.flash)).await
}

/// 入荷の登録: what arrived from upstream for the cycle shown.
pub async fn inbound(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let cycle = text(&f, "cycle_id");
    let mut inv = Invalid::default();
    let typed_item = text(&f, "item");
    let item = ProductKind::parse(&typed_item);
    if typed_item.is_empty() {
        inv.push("item", Msg::Required);
    } else if item.is_none() {
        inv.push("item", Msg::InvalidInput);
    }
    let quantity = number(&f, "quantity", None, &mut inv);
    let received_on = date(&f, "received_on", &mut inv);
    let result = match (received_on, item) {
        (Some(received_on), Some(item)) if inv.is_empty() => {
            let input = InboundInput {
                cycle_id: cycle.clone(),
                item,
                quantity,
                received_on,
            };
            vsys_app::delivery::record_inbound(&s.app, &u.actor, &input)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::Invalid(inv)),
    };
    match result {
        Ok(()) => Ok(done(
            &format!("/deliveries/stock?cycle={}", urlencoding::encode(&cycle)),
            Flash::Received,
            "",
        )),
        Err(e) => {
            let mut shown = Shown::after("inbound", e, f, u.lang)?;
            shown.errs = shown
                .errs
                .reword("received_on", Msg::FutureDay, Ui::InboundFuture);
            stock_page(&s, &u, Some(&cycle), shown).await
        }
    }
}
