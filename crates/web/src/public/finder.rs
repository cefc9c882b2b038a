//! The citizens' finder at `/search/`: prefecture → municipality, postal code, free text,
//! distance, filters; a site's page at `/search/sites/{code}`.

use crate::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
