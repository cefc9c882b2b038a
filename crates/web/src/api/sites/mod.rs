//! Sites: registry and details, pending changes, doctors, reservation status, daily results,
//! reporting periods, the stock ledger and idle stock. Clinic and booking systems post results
//! and reservation status here (one site, or many at once).

pub mod wire;

use super::docs::{IfMatch, IfMatchOptional};
use super::{err, if_match, json_bytes, json_etag};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::session::ApiUser;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use vsys_app::results::DayInput;
use vsys_app::sites::{
    DetailsInput, NewDoctor, NewMunicipalSite, RegistryInput, ReservationItem, SiteQuery,
};
use vsys_app::stock::{IdleSite, ReceiptInput, TransferInput};
use wire::{
    ChangeOut, ChangeOutcomeOut, DayResultOut, DoctorOut, LedgerEntryOut, PeriodOut, ProfileOut,
    ReservationsOut, SiteOut, SitePage, StockOut, TransferOut,
};

/// Sites in the caller's scope (filters: `pending` changes, `unconfirmed` institutions), by
/// municipality, then by code.
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites", params(SiteQuery),
    responses((status = 200, description = "A page of sites.", body = SitePage)))]
pub async fn list_sites(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<SiteQuery>,
) -> Result<Response, ApiError> {
    let found = vsys_app::sites::list_shared(&s.app, &u.actor, &q)
        .await
        .map_err(err(u.lang))?;
    let p = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
    let body = s.json.site_lists.get_or_make(
        &found,
        |(items, total)| SitePage::of(items.clone(), *total, p),
        u.lang,
    )?;
    Ok(json_bytes(body))
}

/// A site: registry entry, details, reservation status and pending changes. ETag = profile
/// version.
#[utoipa::path(get, path = "/api/v1/sites/{code}", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    responses((status = 200, description = "The site.", body = SiteOut, headers(("ETag" = String)))))]
pub async fn get_site(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let v = vsys_app::sites::get(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::OK,
        v.profile.version,
        SiteOut::from(v),
    ))
}

/// Register or change the site's details (If-Match: the profile version; `"v0"` the first
/// time): contact, hours, access, freezers, the vaccines handled (`vaccines`: ids of vaccine
/// products, `GET /api/v1/products?kind=vaccine`), the site's own point (`latitude` and
/// `longitude`, both or neither, inside Japan), 予約方法 (`booking`: `phone`, `web`,
/// `walk_in`, `municipal`) and the booking page (`booking_url`, needed for `web`). The fields
/// are replaced as sent: a field left out is cleared.
#[utoipa::path(put, path = "/api/v1/sites/{code}/details", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code."), IfMatch),
    request_body = DetailsInput, responses((status = 200, description = "The site with its details.", body = SiteOut, headers(("ETag" = String)))))]
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
    Ok(json_etag(
        StatusCode::OK,
        v.profile.version,
        SiteOut::from(v),
    ))
}

/// Change the registry entry (name, address, municipality, contract status …). From the site
/// itself it waits for the municipality (`pending`); from the municipality or above it applies.
#[utoipa::path(put, path = "/api/v1/sites/{code}/registry", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    request_body = RegistryInput, responses((status = 200, description = "Applied, or waiting for the municipality.", body = ChangeOutcomeOut), (status = 412)))]
pub async fn put_registry(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<RegistryInput>,
) -> Result<Json<ChangeOutcomeOut>, ApiError> {
    let outcome = vsys_app::sites::change_registry(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    ChangeOutcomeOut::try_from(outcome)
        .map(Json)
        .map_err(|e| ApiError::new(vsys_app::AppError::Internal(e.into()), u.lang))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// `true` approves and applies the change, `false` rejects it.
    approve: bool,
}

/// Approve or reject a pending change (the municipality or above).
#[utoipa::path(post, path = "/api/v1/site-changes/{id}/decision", tag = "sites", params(("id" = String, Path, description = "The id (UUIDv7).")),
    request_body = Decision, responses((status = 200, description = "The change, decided.", body = ChangeOut), (status = 409, description = "Already decided (`/problems/wrong-state`)."), (status = 412)))]
pub async fn decide_change(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Json(b): Json<Decision>,
) -> Result<Response, ApiError> {
    let c = vsys_app::sites::decide_change(&s.app, &u.actor, &id, b.approve)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(ChangeOut::from(c)).into_response())
}

/// 協力医療機関の確認・確定 (the municipality; If-Match: the profile version).
#[utoipa::path(post, path = "/api/v1/sites/{code}/confirmation", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code."), IfMatch),
    responses((status = 200, description = "The site, confirmed.", body = SiteOut, headers(("ETag" = String))), (status = 422, description = "Not an institution the caller's municipality may confirm.")))]
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
    Ok(json_etag(
        StatusCode::OK,
        v.profile.version,
        SiteOut::from(v),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReservationBody {
    /// `available` ○, `few` △, `none` ×, `not_needed` ●, `unregistered`.
    status: vsys_domain::Reservation,
}

/// Set the reservation status (booking systems may post it).
#[utoipa::path(put, path = "/api/v1/sites/{code}/reservation", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    request_body = ReservationBody, responses((status = 200, description = "The site's profile.", body = ProfileOut, headers(("ETag" = String))), (status = 412)))]
pub async fn put_reservation(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<ReservationBody>,
) -> Result<Response, ApiError> {
    let p = vsys_app::sites::set_reservation(&s.app, &u.actor, &code, b.status)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, p.version, ProfileOut::from(p)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReservationsBody {
    /// The sites and their statuses: 1 to 5,000 items, each site once.
    #[schema(min_items = 1, max_items = 5000)]
    items: Vec<ReservationItem>,
}

/// Set the reservation statuses of many sites at once: a municipality's booking system (with
/// the municipality's organisation API token, `vsys_…`) or a staff member's token. Each item
/// names a site by its code (医療機関等コード) and its status (`available` ○, `few` △, `none` ×,
/// `not_needed` ●, `unregistered`; the Japanese words such as 予約可能 and the marks are read
/// too). Every site must be one the caller may change (its municipality's, or an organisation
/// above it). All or nothing: one refused item and nothing is set. The public site shows the
/// new statuses within seconds.
#[utoipa::path(put, path = "/api/v1/reservations", tag = "sites",
    request_body = ReservationsBody, responses((status = 200, description = "Every status was set.", body = ReservationsOut), (status = 422, description = "Nothing was set: each refused item is named by its `row` (from 1), its site code (`item`) and the `field` (`code` or `reservation`); `items` itself when it is empty or longer than 5,000.")))]
pub async fn put_reservations(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<ReservationsBody>,
) -> Result<Json<ReservationsOut>, ApiError> {
    let updated = vsys_app::sites::set_reservations(&s.app, &u.actor, &b.items)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(ReservationsOut { updated }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HubBody {
    /// `hub` (基本型) or `satellite` (サテライト型).
    site_type: vsys_domain::SiteType,
    /// The hub of a satellite.
    hub_code: Option<String>,
}

/// Make a site a hub or a satellite of a hub (the municipality or above).
#[utoipa::path(put, path = "/api/v1/sites/{code}/hub", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    request_body = HubBody, responses((status = 200, description = "The site's profile.", body = ProfileOut, headers(("ETag" = String))), (status = 412)))]
pub async fn put_hub(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<HubBody>,
) -> Result<Response, ApiError> {
    let p = vsys_app::sites::set_hub(&s.app, &u.actor, &code, b.site_type, b.hub_code.as_deref())
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, p.version, ProfileOut::from(p)))
}

/// Register a municipal vaccination site (集団接種会場) of a municipality.
#[utoipa::path(post, path = "/api/v1/municipalities/{code}/sites", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    request_body = NewMunicipalSite, responses((status = 201, description = "The new site.", body = SiteOut, headers(("ETag" = String)))))]
pub async fn create_municipal_site(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<NewMunicipalSite>,
) -> Result<Response, ApiError> {
    let v = vsys_app::sites::create_municipal_site(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::CREATED,
        v.profile.version,
        SiteOut::from(v),
    ))
}

/// The site's doctors (personal data: every read is audited).
#[utoipa::path(get, path = "/api/v1/sites/{code}/doctors", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    responses((status = 200, description = "The site's doctors.", body = Vec<DoctorOut>)))]
pub async fn list_doctors(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let d = vsys_app::sites::doctors(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(d.into_iter().map(DoctorOut::from).collect::<Vec<_>>()).into_response())
}

/// Register a doctor of the site.
#[utoipa::path(post, path = "/api/v1/sites/{code}/doctors", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    request_body = NewDoctor, responses((status = 201, description = "The doctor's entry.", body = DoctorOut)))]
pub async fn add_doctor(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<NewDoctor>,
) -> Result<Response, ApiError> {
    let d = vsys_app::sites::add_doctor(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(DoctorOut::from(d))).into_response())
}

/// Remove a doctor of the site.
#[utoipa::path(delete, path = "/api/v1/sites/{code}/doctors/{id}", tag = "sites", params(("code" = String, Path, description = "The site's (or municipality's) code."), ("id" = String, Path, description = "The doctor's entry id.")),
    responses((status = 204, description = "Removed.")))]
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
#[utoipa::path(get, path = "/api/v1/sites/{code}/stock", tag = "stock", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    responses((status = 200, description = "The site's stock and ledger.", body = StockOut)))]
pub async fn get_stock(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<StockOut>, ApiError> {
    let v = vsys_app::stock::view(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(v.into()))
}

/// Register a receipt by hand (the municipality or above: supply outside vsys deliveries).
#[utoipa::path(post, path = "/api/v1/sites/{code}/stock/receipts", tag = "stock", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    request_body = ReceiptInput, responses((status = 201, description = "The ledger entry written.", body = LedgerEntryOut)))]
pub async fn receive(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<ReceiptInput>,
) -> Result<Response, ApiError> {
    let r = vsys_app::stock::receive(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(LedgerEntryOut::from(r))).into_response())
}

/// Move whole vials of a lot from a hub to one of its satellites.
#[utoipa::path(post, path = "/api/v1/sites/{code}/stock/transfers", tag = "stock", params(("code" = String, Path, description = "The site's (or municipality's) code.")),
    request_body = TransferInput, responses((status = 201, description = "The two ledger entries written.", body = TransferOut)))]
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
        Json(TransferOut {
            out: out.into(),
            inn: inn.into(),
        }),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CorrectionBody {
    /// Why the entry is reversed.
    reason: String,
}

/// Correct a ledger entry by appending its reversal (nothing is overwritten).
#[utoipa::path(post, path = "/api/v1/sites/{code}/stock/entries/{id}/correction", tag = "stock", params(("code" = String, Path, description = "The site's (or municipality's) code."), ("id" = String, Path, description = "The ledger entry's id.")),
    request_body = CorrectionBody, responses((status = 201, description = "The reversing entries written.", body = Vec<LedgerEntryOut>)))]
pub async fn correct(
    State(s): State<AppState>,
    u: ApiUser,
    Path((code, id)): Path<(String, String)>,
    Json(b): Json<CorrectionBody>,
) -> Result<Response, ApiError> {
    let rows = vsys_app::stock::correct(&s.app, &u.actor, &code, &id, &b.reason)
        .await
        .map_err(err(u.lang))?;
    let rows: Vec<LedgerEntryOut> = rows.into_iter().map(Into::into).collect();
    Ok((StatusCode::CREATED, Json(rows)).into_response())
}

/// Sites with idle stock (偏在) in the caller's area (nation, prefecture, municipality).
#[utoipa::path(get, path = "/api/v1/stock/idle", tag = "stock",
    responses((status = 200, description = "Sites with idle stock.", body = Vec<IdleSite>)))]
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
    responses((status = 200, description = "The periods.", body = Vec<PeriodOut>)))]
pub async fn list_periods(State(s): State<AppState>, u: ApiUser) -> Result<Response, ApiError> {
    let p = vsys_app::results::periods(&s.app, &u.actor)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(p.into_iter().map(PeriodOut::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PeriodBody {
    first_day: NaiveDate,
    last_day: NaiveDate,
}

/// Open a reporting period (the nation); every site with an account gets a notice.
#[utoipa::path(post, path = "/api/v1/reporting-periods", tag = "results",
    request_body = PeriodBody, responses((status = 201, description = "The period, open.", body = PeriodOut)))]
pub async fn open_period(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<PeriodBody>,
) -> Result<Response, ApiError> {
    let p = vsys_app::results::open_period(&s.app, &u.actor, b.first_day, b.last_day)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(PeriodOut::from(p))).into_response())
}

/// Close a reporting period (the nation).
#[utoipa::path(post, path = "/api/v1/reporting-periods/{id}/close", tag = "results", params(("id" = String, Path, description = "The period's id.")),
    responses((status = 200, description = "The period, closed.", body = PeriodOut), (status = 409, description = "Already closed (`/problems/wrong-state`)."), (status = 412)))]
pub async fn close_period(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = vsys_app::results::close_period(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(PeriodOut::from(p)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// How many days back from today (Japan time), 1–400; 14 by default.
    #[param(minimum = 1, maximum = 400)]
    days: Option<i64>,
}

/// A site's daily results, newest first.
#[utoipa::path(get, path = "/api/v1/sites/{code}/results", tag = "results", params(("code" = String, Path, description = "The site's (or municipality's) code."), DaysQuery),
    responses((status = 200, description = "The days reported, newest first.", body = Vec<DayResultOut>)))]
pub async fn list_results(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Query(q): Query<DaysQuery>,
) -> Result<Response, ApiError> {
    let r = vsys_app::results::recent(&s.app, &u.actor, &code, q.days.unwrap_or(14))
        .await
        .map_err(err(u.lang))?;
    Ok(Json(r.into_iter().map(DayResultOut::from).collect::<Vec<_>>()).into_response())
}

/// One day's results of a site. ETag = version.
#[utoipa::path(get, path = "/api/v1/sites/{code}/results/{day}", tag = "results", params(("code" = String, Path, description = "The site's (or municipality's) code."), ("day" = NaiveDate, Path, description = "The day (Japan).")),
    responses((status = 200, description = "The day's results.", body = DayResultOut, headers(("ETag" = String))), (status = 404, description = "Nothing entered for that day, or no such site in the caller's scope.")))]
pub async fn get_day(
    State(s): State<AppState>,
    u: ApiUser,
    Path((code, day)): Path<(String, NaiveDate)>,
) -> Result<Response, ApiError> {
    let r = vsys_app::results::day(&s.app, &u.actor, &code, day)
        .await
        .map_err(err(u.lang))?
        .ok_or(ApiError::new(vsys_app::AppError::NotFound, u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, DayResultOut::from(r)))
}

/// Enter a day's results and wastage (the day's numbers, not running totals), while the
/// nation keeps reporting open. Without If-Match the day must be new; with it, re-entering
/// reverses what the day wrote to the stock ledger and writes the new numbers.
#[utoipa::path(put, path = "/api/v1/sites/{code}/results/{day}", tag = "results", params(("code" = String, Path, description = "The site's (or municipality's) code."), ("day" = NaiveDate, Path, description = "The day (Japan)."), IfMatchOptional),
    request_body = DayInput, responses((status = 200, description = "The day's results as saved.", body = DayResultOut, headers(("ETag" = String)))))]
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
    Ok(json_etag(StatusCode::OK, r.version, DayResultOut::from(r)))
}

/// Import the institution registry (医療機関の一括登録) from a CSV body (UTF-8 or Shift_JIS;
/// columns as in the template). Nation or prefecture operators. All or nothing: every bad row
/// is reported with its row number; re-importing the same file changes nothing.
#[utoipa::path(post, path = "/api/v1/site-imports", tag = "sites",
    request_body(description = "The registry CSV (UTF-8 or Shift_JIS), at most 64 MiB.", content = String, content_type = "text/csv"),
    responses((status = 200, description = "What the import did.", body = vsys_app::site_import::ImportSummary), (status = 413), (status = 422, description = "Bad rows, each named; nothing was imported (`/problems/csv`).")))]
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
