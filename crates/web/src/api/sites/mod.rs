//! Sites: registry and details, pending changes, doctors, reservation status, daily results,
//! reporting periods, the stock ledger and idle stock. Clinic and booking systems post results
//! and reservation status here.

use super::allocation::{err, json_etag};
use super::{Paged, if_match};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Path, Query};
use crate::session::ApiUser;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use vsys_app::results::DayInput;
use vsys_app::sites::{
    ChangeOutcome, DetailsInput, NewDoctor, NewMunicipalSite, RegistryInput, SiteQuery, SiteSummary,
};
use vsys_app::stock::{IdleSite, ReceiptInput, StockView, TransferInput};

/// Sites in the caller's scope (filters: `pending` changes, `unconfirmed` institutions).
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites", params(SiteQuery),
    responses((status = 200, body = Paged<SiteSummary>)))]
pub async fn list_sites(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<SiteQuery>,
) -> Result<Json<Paged<SiteSummary>>, ApiError> {
    let (items, total) = vsys_app::sites::list(&s.app, &u.actor, &q)
        .await
        .map_err(err(u.lang))?;
    let p = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
    Ok(Json(Paged {
        items,
        total,
        page: p.page,
        per_page: p.per_page,
    }))
}

/// A site: registry entry, details, reservation status and pending changes. ETag = profile
/// version.
#[utoipa::path(get, path = "/api/v1/sites/{code}", tag = "sites", params(("code" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_site(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let v = vsys_app::sites::get(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, v.profile.version, v))
}

/// Register or change the site's details (If-Match: the profile version; `"v0"` the first
/// time).
#[utoipa::path(put, path = "/api/v1/sites/{code}/details", tag = "sites", params(("code" = String, Path)),
    request_body = DetailsInput, responses((status = 200, body = Object), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_details(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    headers: HeaderMap,
    Json(b): Json<DetailsInput>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers, u.lang)?;
    let v = vsys_app::sites::put_details(&s.app, &u.actor, &code, version, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, v.profile.version, v))
}

/// Change the registry entry (name, address, municipality, contract status …). From the site
/// itself it waits for the municipality (`pending`); from the municipality or above it applies.
#[utoipa::path(put, path = "/api/v1/sites/{code}/registry", tag = "sites", params(("code" = String, Path)),
    request_body = RegistryInput, responses((status = 200, body = ChangeOutcome), (status = 422, body = Problem)))]
pub async fn put_registry(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<RegistryInput>,
) -> Result<Json<ChangeOutcome>, ApiError> {
    Ok(Json(
        vsys_app::sites::change_registry(&s.app, &u.actor, &code, &b)
            .await
            .map_err(err(u.lang))?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// `true` approves and applies the change, `false` rejects it.
    approve: bool,
}

/// Approve or reject a pending change (the municipality or above).
#[utoipa::path(post, path = "/api/v1/site-changes/{id}/decision", tag = "sites", params(("id" = String, Path)),
    request_body = Decision, responses((status = 200, body = Object), (status = 409, body = Problem)))]
pub async fn decide_change(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Json(b): Json<Decision>,
) -> Result<Response, ApiError> {
    let c = vsys_app::sites::decide_change(&s.app, &u.actor, &id, b.approve)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(c).into_response())
}

/// 協力医療機関の確認・確定 (the municipality; If-Match: the profile version).
#[utoipa::path(post, path = "/api/v1/sites/{code}/confirmation", tag = "sites", params(("code" = String, Path)),
    responses((status = 200, body = Object), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm_site(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let version = if_match(&headers, u.lang)?;
    let v = vsys_app::sites::confirm(&s.app, &u.actor, &code, version)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, v.profile.version, v))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReservationBody {
    /// `available` ○, `few` △, `none` ×, `not_needed` ●, `unregistered`.
    status: vsys_domain::Reservation,
}

/// Set the reservation status (booking systems may post it).
#[utoipa::path(put, path = "/api/v1/sites/{code}/reservation", tag = "sites", params(("code" = String, Path)),
    request_body = ReservationBody, responses((status = 200, body = Object), (status = 422, body = Problem)))]
pub async fn put_reservation(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<ReservationBody>,
) -> Result<Response, ApiError> {
    let p = vsys_app::sites::set_reservation(&s.app, &u.actor, &code, b.status)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, p.version, p))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HubBody {
    /// `hub` (基本型) or `satellite` (サテライト型).
    site_type: vsys_domain::SiteType,
    /// The hub of a satellite.
    hub_code: Option<String>,
}

/// Make a site a hub or a satellite of a hub (the municipality or above).
#[utoipa::path(put, path = "/api/v1/sites/{code}/hub", tag = "sites", params(("code" = String, Path)),
    request_body = HubBody, responses((status = 200, body = Object), (status = 422, body = Problem)))]
pub async fn put_hub(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<HubBody>,
) -> Result<Response, ApiError> {
    let p = vsys_app::sites::set_hub(&s.app, &u.actor, &code, b.site_type, b.hub_code.as_deref())
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, p.version, p))
}

/// Register a municipal vaccination site (集団接種会場) of a municipality.
#[utoipa::path(post, path = "/api/v1/municipalities/{code}/sites", tag = "sites", params(("code" = String, Path)),
    request_body = NewMunicipalSite, responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn create_municipal_site(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<NewMunicipalSite>,
) -> Result<Response, ApiError> {
    let v = vsys_app::sites::create_municipal_site(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::CREATED, v.profile.version, v))
}

/// The site's doctors (personal data: every read is audited).
#[utoipa::path(get, path = "/api/v1/sites/{code}/doctors", tag = "sites", params(("code" = String, Path)),
    responses((status = 200, body = Vec<Object>)))]
pub async fn list_doctors(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let d = vsys_app::sites::doctors(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(d).into_response())
}

#[utoipa::path(post, path = "/api/v1/sites/{code}/doctors", tag = "sites", params(("code" = String, Path)),
    request_body = NewDoctor, responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn add_doctor(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<NewDoctor>,
) -> Result<Response, ApiError> {
    let d = vsys_app::sites::add_doctor(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/sites/{code}/doctors/{id}", tag = "sites", params(("code" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn remove_doctor(
    State(s): State<AppState>,
    u: ApiUser,
    Path((code, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    vsys_app::sites::remove_doctor(&s.app, &u.actor, &code, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The site's stock: per lot, totals, days of supply, freshness, idle flag and the ledger.
#[utoipa::path(get, path = "/api/v1/sites/{code}/stock", tag = "stock", params(("code" = String, Path)),
    responses((status = 200, body = StockView), (status = 404, body = Problem)))]
pub async fn get_stock(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<StockView>, ApiError> {
    Ok(Json(
        vsys_app::stock::view(&s.app, &u.actor, &code)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// Register a receipt by hand (the municipality or above: supply outside vsys deliveries).
#[utoipa::path(post, path = "/api/v1/sites/{code}/stock/receipts", tag = "stock", params(("code" = String, Path)),
    request_body = ReceiptInput, responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn receive(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<ReceiptInput>,
) -> Result<Response, ApiError> {
    let r = vsys_app::stock::receive(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// Move whole vials of a lot from a hub to one of its satellites.
#[utoipa::path(post, path = "/api/v1/sites/{code}/stock/transfers", tag = "stock", params(("code" = String, Path)),
    request_body = TransferInput, responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn transfer(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<TransferInput>,
) -> Result<Response, ApiError> {
    let (out, inn) = vsys_app::stock::transfer(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"out": out, "in": inn})),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CorrectionBody {
    reason: String,
}

/// Correct a ledger entry by appending its reversal (nothing is overwritten).
#[utoipa::path(post, path = "/api/v1/sites/{code}/stock/entries/{id}/correction", tag = "stock", params(("code" = String, Path), ("id" = String, Path)),
    request_body = CorrectionBody, responses((status = 201, body = Vec<Object>), (status = 422, body = Problem)))]
pub async fn correct(
    State(s): State<AppState>,
    u: ApiUser,
    Path((code, id)): Path<(String, String)>,
    Json(b): Json<CorrectionBody>,
) -> Result<Response, ApiError> {
    let rows = vsys_app::stock::correct(&s.app, &u.actor, &code, &id, &b.reason)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(rows)).into_response())
}

/// Sites with idle stock (偏在) in the caller's area (nation, prefecture, municipality).
#[utoipa::path(get, path = "/api/v1/stock/idle", tag = "stock",
    responses((status = 200, body = Vec<IdleSite>), (status = 403, body = Problem)))]
pub async fn idle_sites(
    State(s): State<AppState>,
    u: ApiUser,
) -> Result<Json<Vec<IdleSite>>, ApiError> {
    Ok(Json(
        vsys_app::stock::idle_sites(&s.app, &u.actor)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// Reporting periods, newest first.
#[utoipa::path(get, path = "/api/v1/reporting-periods", tag = "results",
    responses((status = 200, body = Vec<Object>)))]
pub async fn list_periods(State(s): State<AppState>, u: ApiUser) -> Result<Response, ApiError> {
    let p = vsys_app::results::periods(&s.app, &u.actor)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(p).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PeriodBody {
    first_day: NaiveDate,
    last_day: NaiveDate,
}

/// Open a reporting period (the nation); every site with an account gets a notice.
#[utoipa::path(post, path = "/api/v1/reporting-periods", tag = "results",
    request_body = PeriodBody, responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn open_period(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<PeriodBody>,
) -> Result<Response, ApiError> {
    let p = vsys_app::results::open_period(&s.app, &u.actor, b.first_day, b.last_day)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

/// Close a reporting period (the nation).
#[utoipa::path(post, path = "/api/v1/reporting-periods/{id}/close", tag = "results", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 409, body = Problem)))]
pub async fn close_period(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = vsys_app::results::close_period(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(p).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// How many days back from today (Japan time), 1–400; 14 by default.
    days: Option<i64>,
}

/// A site's daily results, newest first.
#[utoipa::path(get, path = "/api/v1/sites/{code}/results", tag = "results", params(("code" = String, Path), DaysQuery),
    responses((status = 200, body = Vec<Object>)))]
pub async fn list_results(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Query(q): Query<DaysQuery>,
) -> Result<Response, ApiError> {
    let r = vsys_app::results::recent(&s.app, &u.actor, &code, q.days.unwrap_or(14))
        .await
        .map_err(err(u.lang))?;
    Ok(Json(r).into_response())
}

/// One day's results of a site. ETag = version.
#[utoipa::path(get, path = "/api/v1/sites/{code}/results/{day}", tag = "results", params(("code" = String, Path), ("day" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_day(
    State(s): State<AppState>,
    u: ApiUser,
    Path((code, day)): Path<(String, NaiveDate)>,
) -> Result<Response, ApiError> {
    let r = vsys_app::results::day(&s.app, &u.actor, &code, day)
        .await
        .map_err(err(u.lang))?
        .ok_or(ApiError::new(vsys_app::AppError::NotFound, u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, r))
}

/// Enter a day's results and wastage (the day's numbers, not running totals), while the
/// nation keeps reporting open. Without If-Match the day must be new; with it, re-entering
/// reverses what the day wrote to the stock ledger and writes the new numbers.
#[utoipa::path(put, path = "/api/v1/sites/{code}/results/{day}", tag = "results", params(("code" = String, Path), ("day" = String, Path, description = "YYYY-MM-DD")),
    request_body = DayInput, responses((status = 200, body = Object), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_day(
    State(s): State<AppState>,
    u: ApiUser,
    Path((code, day)): Path<(String, NaiveDate)>,
    headers: HeaderMap,
    Json(b): Json<DayInput>,
) -> Result<Response, ApiError> {
    let version = if headers.contains_key("if-match") {
        Some(if_match(&headers, u.lang)?)
    } else {
        None
    };
    let r = vsys_app::results::put_day(&s.app, &u.actor, &code, day, version, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, r))
}

/// Import the institution registry (医療機関の一括登録) from a CSV body (UTF-8 or Shift_JIS;
/// columns as in the template). Nation or prefecture operators. All or nothing: every bad row
/// is reported with its row number; re-importing the same file changes nothing.
#[utoipa::path(post, path = "/api/v1/site-imports", tag = "sites",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = vsys_app::site_import::ImportSummary), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import_sites(
    State(s): State<AppState>,
    u: ApiUser,
    crate::extract::ImportBody(body): crate::extract::ImportBody,
) -> Result<Json<vsys_app::site_import::ImportSummary>, ApiError> {
    Ok(Json(
        vsys_app::site_import::import(&s.app, &u.actor, &body, &|_, _, _| {})
            .await
            .map_err(err(u.lang))?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    /// The municipality (5 digits).
    municipality: String,
}

/// Public (no login): a municipality's vaccination sites with their reservation status, for
/// the public site and booking portals. Only contracted sites; institutions once confirmed
/// by the municipality. No personal data.
#[utoipa::path(get, path = "/api/v1/public/sites", tag = "sites", params(PublicQuery), security(()),
    responses((status = 200, body = Vec<vsys_app::sites::PublicSite>), (status = 404, body = Problem)))]
pub async fn public_sites(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PublicQuery>,
) -> Result<Json<Vec<vsys_app::sites::PublicSite>>, ApiError> {
    let lang = crate::i18n::lang_of(&headers);
    Ok(Json(
        vsys_app::sites::public_list(&s.app, &q.municipality)
            .await
            .map_err(err(lang))?,
    ))
}
