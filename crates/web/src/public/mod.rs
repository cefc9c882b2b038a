//! The public site (コロナワクチンナビ): the citizens' finder (HTML, [`finder`]) and the open
//! data API ([`open_data`]), both answered from the public snapshot (`vsys_app::public`), never
//! from the database on a citizen's request. No login, no session, no personal data.

pub mod finder;
mod info;
pub mod open_data;
mod page;
pub mod words;

use crate::AppState;
use axum::Router;

/// The finder's pages (the open data API is registered with the rest of the API, so the
/// OpenAPI document lists it).
pub fn routes() -> Router<AppState> {
    finder::routes()
}
