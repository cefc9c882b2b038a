//! Open data (オープンデータ): the public sites as JSON and CSV for reusers, under
//! `/api/v1/public/`.

use crate::AppState;
use crate::api::{err, json_bytes};
use crate::error::ApiError;
use crate::extract::Query;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The open data operations (merged into the API, so documented with it).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(public_sites))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    /// The municipality (5 digits).
    #[param(pattern = "^[0-9]{5}$")]
    municipality: String,
}

/// Public (no login): a municipality's vaccination sites with their reservation status, for
/// the public site and booking portals. Only contracted sites; institutions once confirmed
/// by the municipality. No personal data.
#[utoipa::path(get, path = "/api/v1/public/sites", tag = "sites", params(PublicQuery), security(()),
    responses((status = 200, description = "The municipality's sites.", body = Vec<vsys_app::public::PublicSite>), (status = 404, description = "No such municipality.")))]
pub async fn public_sites(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PublicQuery>,
) -> Result<Response, ApiError> {
    let lang = crate::i18n::lang_of(&headers);
    let code = q.municipality.trim();
    let snapshot = vsys_app::public::for_municipality(&s.app, code)
        .await
        .map_err(err(lang))?;
    let body = s.json.public_sites.get_or_make_part(
        &snapshot,
        code.to_owned(),
        |snap| snap.municipality(code).unwrap_or_default().to_vec(),
        lang,
    )?;
    Ok(json_bytes(body))
}
