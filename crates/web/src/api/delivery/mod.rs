//! Deliveries: lists and counts for everyone concerned, dates from the deliverer (one, many,
//! or a CSV), reassignment by the prefecture, and organisation API tokens.

pub mod wire;

use super::allocation::CsvEncoding;
use super::docs::IfMatch;
use super::{err, if_match, json_etag};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::session::ApiUser;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vsys_app::delivery::{BulkLine, DatesInput, DeliveryQuery, DeliveryStatus};
use wire::{ApiTokenOut, DelivererInfoOut, DeliveryOut, DeliveryPage, InboundOut, NewTokenOut};

/// Deliveries the caller may see: a deliverer its own; nation, prefecture and municipality
/// those to sites in their area; a site its own. Filters by cycle, municipality, item,
/// deliverer and state (`unscheduled`, `late`, `delivered`, `scheduled:DAY`, `delivered:DAY`).
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "delivery", params(DeliveryQuery),
    responses((status = 200, description = "A page of deliveries.", body = DeliveryPage)))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let (items, total) = vsys_app::delivery::list(&s.app, &u.actor, &q)
        .await
        .map_err(err(u.lang))?;
    let p = vsys_app::page(q.page, q.per_page).map_err(err(u.lang))?;
    Ok(Json(DeliveryPage::of(items, total, p)))
}

/// Counts for the status view: by scheduled day, by actual day, without a scheduled date,
/// and late (scheduled before today, not delivered).
#[utoipa::path(get, path = "/api/v1/deliveries/status", tag = "delivery", params(DeliveryQuery),
    responses((status = 200, description = "The counts.", body = DeliveryStatus)))]
pub async fn delivery_status(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<DeliveryStatus>, ApiError> {
    Ok(Json(
        vsys_app::delivery::status(&s.app, &u.actor, &q)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// One delivery. ETag = version.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "delivery", params(("id" = String, Path, description = "The delivery's id.")),
    responses((status = 200, description = "The delivery.", body = DeliveryOut, headers(("ETag" = String)))))]
pub async fn get_delivery(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let d = vsys_app::delivery::get(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, d.version, DeliveryOut::from(d)))
}

/// Enter 納入予定日 / 納入実績日 / delivery number / lot / note (the deliverer; If-Match). A
/// scheduled date tells the site; an actual date writes the site's stock.
#[utoipa::path(patch, path = "/api/v1/deliveries/{id}", tag = "delivery", params(("id" = String, Path, description = "The delivery's id."), IfMatch),
    request_body = DatesInput, responses((status = 200, description = "The delivery as entered.", body = DeliveryOut, headers(("ETag" = String)))))]
pub async fn enter_dates(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<DatesInput>,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    let d = vsys_app::delivery::enter(&s.app, &u.actor, &id, v, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, d.version, DeliveryOut::from(d)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BulkBody {
    /// Each delivery with the version it is based on and what to enter.
    lines: Vec<BulkLine>,
}

/// How many deliveries were changed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkOut {
    /// Deliveries changed (lines equal to what is stored change nothing).
    updated: usize,
}

/// Enter many deliveries at once, all or nothing (every refused line named by its row).
#[utoipa::path(post, path = "/api/v1/deliveries/bulk", tag = "delivery",
    request_body = BulkBody, responses((status = 200, description = "All lines were entered.", body = BulkOut), (status = 422, description = "Nothing was entered: every refused line is named by its row (a stale `version` too).")))]
pub async fn enter_bulk(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<BulkBody>,
) -> Result<Json<BulkOut>, ApiError> {
    let updated = vsys_app::delivery::enter_many(&s.app, &u.actor, &b.lines)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(BulkOut { updated }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReassignBody {
    /// The wholesaler to deliver instead.
    deliverer_code: String,
}

/// Give a delivery to another wholesaler serving the municipality (the prefecture, until a
/// date is entered).
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/reassign", tag = "delivery", params(("id" = String, Path, description = "The delivery's id.")),
    request_body = ReassignBody, responses((status = 200, description = "The delivery, reassigned.", body = DeliveryOut, headers(("ETag" = String))), (status = 412)))]
pub async fn reassign(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Json(b): Json<ReassignBody>,
) -> Result<Response, ApiError> {
    let d = vsys_app::delivery::reassign(&s.app, &u.actor, &id, &b.deliverer_code)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, d.version, DeliveryOut::from(d)))
}

/// The organisation's API tokens (its administrators).
#[utoipa::path(get, path = "/api/v1/orgs/{code}/api-tokens", tag = "delivery", params(("code" = String, Path, description = "The organisation's code.")),
    responses((status = 200, description = "The tokens (never their secrets).", body = Vec<ApiTokenOut>)))]
pub async fn list_tokens(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let t = vsys_app::api_tokens::list(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(t.into_iter().map(ApiTokenOut::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenBody {
    /// What the token is for (the system that will use it).
    name: String,
}

/// Create an API token for the organisation's own system; the secret is returned once.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/api-tokens", tag = "delivery", params(("code" = String, Path, description = "The organisation's code.")),
    request_body = TokenBody, responses((status = 201, description = "The token and its secret, shown this once.", body = NewTokenOut)))]
pub async fn create_token(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<TokenBody>,
) -> Result<Response, ApiError> {
    let t = vsys_app::api_tokens::create(&s.app, &u.actor, &code, &b.name)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(NewTokenOut::from(t))).into_response())
}

/// Revoke an API token.
#[utoipa::path(delete, path = "/api/v1/orgs/{code}/api-tokens/{id}", tag = "delivery", params(("code" = String, Path, description = "The organisation's code."), ("id" = String, Path, description = "The token's id.")),
    responses((status = 204, description = "Revoked.")))]
pub async fn revoke_token(
    State(s): State<AppState>,
    u: ApiUser,
    Path((code, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    vsys_app::api_tokens::revoke(&s.app, &u.actor, &code, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// `shift_jis` (default, for Excel) or `utf-8`.
    #[param(value_type = Option<CsvEncoding>)]
    encoding: Option<String>,
}

/// The deliveries the filters select, as CSV (columns 配送ID, 版, 接種会場コード, 品目, 数量,
/// 納入予定日, 納入実績日, 配送番号, ロット, 備考).
#[utoipa::path(get, path = "/api/v1/deliveries/csv", tag = "delivery", operation_id = "export_deliveries_csv", params(DeliveryQuery, CsvQuery),
    responses((status = 200, description = "The deliveries as a CSV file (`charset` Shift_JIS or utf-8).", content_type = "text/csv", body = String, headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`"))), (status = 422, description = "A cell cannot be written in Shift_JIS (`/problems/csv`).")))]
pub async fn export_csv(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<DeliveryQuery>,
    Query(c): Query<CsvQuery>,
) -> Result<Response, ApiError> {
    use vsys_app::csv_files::Encoding;
    let enc = Encoding::parse(c.encoding.as_deref().unwrap_or("shift_jis"))
        .ok_or_else(|| ApiError::BadRequest("encoding: shift_jis or utf-8".into(), u.lang))?;
    let rows = vsys_app::delivery::all(&s.app, &u.actor, &q)
        .await
        .map_err(err(u.lang))?;
    let (bytes, name) = vsys_app::csv_files::delivery::export(&rows, enc, u.lang)
        .map_err(|e| ApiError::new(vsys_app::AppError::Csv(e), u.lang))?;
    Ok(crate::download::csv(bytes, &name, enc))
}

/// Upload dates from a CSV body (UTF-8 or Shift_JIS) in the download's columns: all or
/// nothing, every bad row named.
#[utoipa::path(put, path = "/api/v1/deliveries/csv", tag = "delivery", operation_id = "import_deliveries_csv",
    request_body(description = "The CSV as downloaded, with dates filled in (UTF-8 or Shift_JIS), at most 64 MiB.", content = String, content_type = "text/csv"),
    responses((status = 200, description = "All rows were entered.", body = BulkOut), (status = 413), (status = 422, description = "Nothing was entered: every bad row is named (`/problems/csv`, `/problems/validation`).")))]
pub async fn import_csv(
    State(s): State<AppState>,
    u: ApiUser,
    crate::extract::ImportBody(body): crate::extract::ImportBody,
) -> Result<Json<BulkOut>, ApiError> {
    let updated = vsys_app::csv_files::delivery::import(&s.app, &u.actor, &body)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(BulkOut { updated }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CycleQuery {
    /// The cycle's id.
    cycle: String,
}

/// 地域卸業者（物流倉庫）への分配量: per deliverer and item, what the cycle hands it and how much
/// is delivered (nation; manufacturers and warehouses for what they supply; a deliverer its own).
#[utoipa::path(get, path = "/api/v1/deliveries/upstream", tag = "delivery", params(CycleQuery),
    responses((status = 200, description = "Per deliverer and item.", body = Vec<vsys_app::delivery::UpstreamLine>), (status = 404, description = "No such cycle.")))]
pub async fn upstream(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<CycleQuery>,
) -> Result<Json<Vec<vsys_app::delivery::UpstreamLine>>, ApiError> {
    Ok(Json(
        vsys_app::delivery::upstream(&s.app, &u.actor, &q.cycle)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// Record what the deliverer received from upstream (入荷).
#[utoipa::path(post, path = "/api/v1/deliveries/inbound", tag = "delivery",
    request_body = vsys_app::delivery::InboundInput, responses((status = 201, description = "The receipt recorded.", body = InboundOut)))]
pub async fn record_inbound(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<vsys_app::delivery::InboundInput>,
) -> Result<Response, ApiError> {
    let r = vsys_app::delivery::record_inbound(&s.app, &u.actor, &b)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(InboundOut::from(r))).into_response())
}

/// The deliverer's own stock per item in a cycle (在庫 = 入荷 − 納入済).
#[utoipa::path(get, path = "/api/v1/deliveries/stock", tag = "delivery", params(CycleQuery),
    responses((status = 200, description = "Per item.", body = Vec<vsys_app::delivery::DelivererStock>)))]
pub async fn deliverer_stock(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<CycleQuery>,
) -> Result<Json<Vec<vsys_app::delivery::DelivererStock>>, ApiError> {
    Ok(Json(
        vsys_app::delivery::deliverer_stock(&s.app, &u.actor, &q.cycle)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// Where dry ice is needed, how much and when (dry-ice makers for the areas they serve;
/// nation, prefectures and municipalities for theirs).
#[utoipa::path(get, path = "/api/v1/deliveries/dry-ice", tag = "delivery", params(CycleQuery),
    responses((status = 200, description = "Per delivery needing dry ice.", body = Vec<vsys_app::delivery::DryIceLine>), (status = 404, description = "No such cycle.")))]
pub async fn dry_ice(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<CycleQuery>,
) -> Result<Json<Vec<vsys_app::delivery::DryIceLine>>, ApiError> {
    Ok(Json(
        vsys_app::delivery::dry_ice(&s.app, &u.actor, &q.cycle)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// A deliverer's basic information (the deliverer and the organisations above it). ETag =
/// version (`"v0"` before the first registration).
#[utoipa::path(get, path = "/api/v1/orgs/{code}/deliverer-info", tag = "delivery", params(("code" = String, Path, description = "The organisation's code.")),
    responses((status = 200, description = "The deliverer's information.", body = DelivererInfoOut, headers(("ETag" = String)))))]
pub async fn get_info(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let p = vsys_app::delivery::deliverer_info(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::OK,
        p.version,
        DelivererInfoOut::from(p),
    ))
}

/// Register or change the deliverer's own basic information (If-Match).
#[utoipa::path(put, path = "/api/v1/orgs/{code}/deliverer-info", tag = "delivery", params(("code" = String, Path, description = "The organisation's code."), IfMatch),
    request_body = vsys_app::delivery::DelivererInfo, responses((status = 200, description = "The information as saved.", body = DelivererInfoOut, headers(("ETag" = String)))))]
pub async fn put_info(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    headers: HeaderMap,
    Json(b): Json<vsys_app::delivery::DelivererInfo>,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    let p = vsys_app::delivery::set_deliverer_info(&s.app, &u.actor, &code, v, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::OK,
        p.version,
        DelivererInfoOut::from(p),
    ))
}
