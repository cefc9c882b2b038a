//! The forms of a site's stock ledger: 入荷 (by the municipality or above), 移送 from a hub to
//! its satellites, and 訂正 of an entry. A refused form comes back on the site's page.

use super::site::site_refused;
use crate::AppState;
use crate::error::PageError;
use crate::extract::{Form, ScreenPath as Path};
use crate::pages::form::{Flash, FormMap, ascii_digits, done, number, opt, text};
use crate::session::WebUser;
use axum::extract::State;
use axum::response::Response;
use vsys_app::AppError;
use vsys_app::stock::{ReceiptInput, TransferInput};
use vsys_domain::Invalid;

/// 入荷の登録 by the municipality or above.
pub async fn receive(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let input = ReceiptInput {
        lot: text(&f, "lot"),
        vials: number(&f, "vials", None, &mut inv),
        cycle_id: opt(&f, "cycle_id"),
    };
    if !inv.is_empty() {
        return site_refused(&s, &u, &code, "receive", f, AppError::Invalid(inv), false).await;
    }
    match vsys_app::stock::receive(&s.app, &u.actor, &code, &input).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), Flash::Received, "#stock")),
        Err(e) => site_refused(&s, &u, &code, "receive", f, e, false).await,
    }
}

/// 移送: whole vials of a lot from this hub to one of its satellites.
pub async fn transfer(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let t = TransferInput {
        to: ascii_digits(&text(&f, "to")),
        lot: text(&f, "lot"),
        vials: number(&f, "vials", None, &mut inv),
    };
    if !inv.is_empty() {
        return site_refused(&s, &u, &code, "transfer", f, AppError::Invalid(inv), false).await;
    }
    match vsys_app::stock::transfer(&s.app, &u.actor, &code, &t).await {
        Ok(_) => Ok(done(
            &format!("/sites/{code}"),
            Flash::Transferred,
            "#stock",
        )),
        Err(e) => site_refused(&s, &u, &code, "transfer", f, e, false).await,
    }
}

/// 訂正: reverses a ledger entry, with the reason.
pub async fn correct(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    match vsys_app::stock::correct(&s.app, &u.actor, &code, &id, &text(&f, "reason")).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), Flash::Corrected, "#ledger")),
        Err(e) => {
            let form = format!("correct:{id}");
            site_refused(&s, &u, &code, &form, f, e, false).await
        }
    }
}
