//! Products, supply rules, cycles, supply and the allocation chain.

pub mod wire;

use super::docs::{IfMatch, IfMatchOptional};
use super::{PageQuery, err, if_match, json_bytes_etag, json_etag};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::session::ApiUser;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use vsys_app::allocation::{LineInput, Proposal};
use vsys_app::cycles::{CycleInput, SupplyInput};
use vsys_app::products::{ProductInput, RulesInput};
use vsys_domain::allocation::Formula;
use wire::{
    CycleOut, CyclePage, DivisionOut, NodeOut, ProductDetailOut, ProductOut, RequestOut, SupplyOut,
    SupplyRulesOut,
};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KindQuery {
    /// Only products of this kind.
    #[param(value_type = Option<vsys_domain::ProductKind>)]
    kind: Option<String>,
}

/// Product masters (shared: every staff user reads them).
#[utoipa::path(get, path = "/api/v1/products", tag = "masters", params(KindQuery),
    responses((status = 200, description = "The products.", body = Vec<ProductOut>)))]
pub async fn list_products(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<KindQuery>,
) -> Result<Json<Vec<ProductOut>>, ApiError> {
    let rows = vsys_app::products::list(&s.app, &u.actor, q.kind.as_deref())
        .await
        .map_err(err(u.lang))?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Create a product (its manufacturer or warehouse, or the nation).
#[utoipa::path(post, path = "/api/v1/products", tag = "masters", request_body = ProductInput,
    responses((status = 201, description = "The new product.", body = ProductOut, headers(("ETag" = String)))))]
pub async fn create_product(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<ProductInput>,
) -> Result<Response, ApiError> {
    let p = vsys_app::products::create(&s.app, &u.actor, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::CREATED,
        p.version,
        ProductOut::from(p),
    ))
}

/// One product with its presentations (doses per vial, vials per box) over time.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "masters", params(("id" = String, Path, description = "The product's id.")),
    responses((status = 200, description = "The product and its presentations.", body = ProductDetailOut, headers(("ETag" = String)))))]
pub async fn get_product(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (product, presentations) = vsys_app::products::get(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::OK,
        product.version,
        ProductDetailOut {
            product: product.into(),
            presentations: presentations.into_iter().map(Into::into).collect(),
        },
    ))
}

/// Change a product (If-Match). A new presentation applies from `from_cycle` on.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "masters", params(("id" = String, Path, description = "The product's id."), IfMatch), request_body = ProductInput,
    responses((status = 200, description = "The product as changed.", body = ProductOut, headers(("ETag" = String)))))]
pub async fn update_product(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<ProductInput>,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    let p = vsys_app::products::update(&s.app, &u.actor, &id, v, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, p.version, ProductOut::from(p)))
}

/// The nation's supply rules (needles and syringes per dose, pack rounding, dry ice).
#[utoipa::path(get, path = "/api/v1/supply-rules", tag = "masters",
    responses((status = 200, description = "The rules (defaults, version -1, until first set).", body = SupplyRulesOut, headers(("ETag" = String)))))]
pub async fn get_rules(State(s): State<AppState>, u: ApiUser) -> Result<Response, ApiError> {
    let r = vsys_app::products::rules(&s.app, &u.actor)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::OK,
        r.version,
        SupplyRulesOut::from(r),
    ))
}

/// Set the supply rules (the nation; If-Match, `"v-1"` before the first time).
#[utoipa::path(put, path = "/api/v1/supply-rules", tag = "masters", params(IfMatch), request_body = RulesInput,
    responses((status = 200, description = "The rules as set.", body = SupplyRulesOut, headers(("ETag" = String)))))]
pub async fn set_rules(
    State(s): State<AppState>,
    u: ApiUser,
    headers: HeaderMap,
    Json(b): Json<RulesInput>,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    let r = vsys_app::products::set_rules(&s.app, &u.actor, v, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::OK,
        r.version,
        SupplyRulesOut::from(r),
    ))
}

/// Cycles, newest first (shared master data).
#[utoipa::path(get, path = "/api/v1/cycles", tag = "allocation", params(PageQuery),
    responses((status = 200, description = "A page of cycles.", body = CyclePage)))]
pub async fn list_cycles(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<CyclePage>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
    let (items, total) = vsys_app::cycles::list(&s.app, &u.actor, page)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(CyclePage::of(items, total, page)))
}

/// Create a cycle (the nation).
#[utoipa::path(post, path = "/api/v1/cycles", tag = "allocation", request_body = CycleInput,
    responses((status = 201, description = "The new cycle.", body = CycleOut, headers(("ETag" = String)))))]
pub async fn create_cycle(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<CycleInput>,
) -> Result<Response, ApiError> {
    let c = vsys_app::cycles::create(&s.app, &u.actor, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::CREATED, c.version, CycleOut::from(c)))
}

/// One cycle.
#[utoipa::path(get, path = "/api/v1/cycles/{id}", tag = "allocation", params(("id" = String, Path, description = "The cycle's id.")),
    responses((status = 200, description = "The cycle.", body = CycleOut, headers(("ETag" = String)))))]
pub async fn get_cycle(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = vsys_app::cycles::get(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, c.version, CycleOut::from(c)))
}

/// The supply registered for a cycle.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/supply", tag = "allocation", params(("id" = String, Path, description = "The cycle's id.")),
    responses((status = 200, description = "Every supplier's supply.", body = Vec<SupplyOut>)))]
pub async fn list_supply(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<SupplyOut>>, ApiError> {
    let rows = vsys_app::cycles::supply(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Register a supplier's supply for a cycle (manufacturers, warehouses, the nation).
#[utoipa::path(post, path = "/api/v1/cycles/{id}/supply", tag = "allocation", params(("id" = String, Path, description = "The cycle's id.")), request_body = SupplyInput,
    responses((status = 200, description = "Every supplier's supply, with this one.", body = Vec<SupplyOut>)))]
pub async fn register_supply(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Json(b): Json<SupplyInput>,
) -> Result<Json<Vec<SupplyOut>>, ApiError> {
    let rows = vsys_app::cycles::register_supply(&s.app, &u.actor, &id, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// An organisation's allocation in a cycle and its division among its children (ETag: the
/// division's version).
#[utoipa::path(get, path = "/api/v1/cycles/{id}/allocations/{org}", tag = "allocation", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report).")),
    responses((status = 200, description = "The division.", body = DivisionOut, headers(("ETag" = String)))))]
pub async fn get_division(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    division_answer(&s, &u, &id, &org).await
}

/// The division as it stands now, with its version as `ETag` (what every read and save of a
/// division answers). Its JSON is serialised once per division the application hands out (see
/// [`super::JsonOf`]).
async fn division_answer(
    s: &AppState,
    u: &ApiUser,
    id: &str,
    org: &str,
) -> Result<Response, ApiError> {
    let d = vsys_app::allocation::division(&s.app, &u.actor, id, org)
        .await
        .map_err(err(u.lang))?;
    let body = s
        .json
        .divisions
        .get_or_make(&d, |d| DivisionOut::from(d), u.lang)?;
    Ok(json_bytes_etag(StatusCode::OK, d.node.version, body))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinesBody {
    /// Every child's line, in the child unit.
    lines: Vec<LineInput>,
}

/// Save the division (all lines, in the child unit). Requires If-Match; the sum can never
/// exceed the node's amount.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/allocations/{org}/lines", tag = "allocation", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report)."), IfMatch),
    request_body = LinesBody, responses((status = 200, description = "The division as saved.", body = DivisionOut, headers(("ETag" = String))), (status = 409)))]
pub async fn save_lines(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    headers: HeaderMap,
    Json(b): Json<LinesBody>,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    vsys_app::allocation::save_division(&s.app, &u.actor, &id, &org, v, &b.lines, None)
        .await
        .map_err(err(u.lang))?;
    division_answer(&s, &u, &id, &org).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SimulateBody {
    /// Another formula (weights, caps); default: the cycle's.
    #[serde(default)]
    formula: Option<Formula>,
    /// Another total to divide, in vials (0–1,000,000,000); default: the node's amount.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    #[serde(default)]
    total_vials: Option<i64>,
}

/// 分配シミュレーション: the division with other weights or totals, with its explanation,
/// side by side with the current lines. Saves nothing.
#[utoipa::path(post, path = "/api/v1/cycles/{id}/allocations/{org}/simulate", tag = "allocation", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report).")),
    request_body = SimulateBody, responses((status = 200, description = "The proposal, with each line's explanation.", body = Proposal)))]
pub async fn simulate(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    Json(b): Json<SimulateBody>,
) -> Result<Json<Proposal>, ApiError> {
    Ok(Json(
        vsys_app::allocation::simulate(
            &s.app,
            &u.actor,
            &id,
            &org,
            b.formula.as_ref(),
            b.total_vials,
        )
        .await
        .map_err(err(u.lang))?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AutofillBody {
    /// Another formula; default: the cycle's.
    #[serde(default)]
    formula: Option<Formula>,
}

/// Auto-fill the division with the cycle's (or the given) formula and save it (If-Match).
#[utoipa::path(post, path = "/api/v1/cycles/{id}/allocations/{org}/autofill", tag = "allocation", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report)."), IfMatch),
    request_body = AutofillBody, responses((status = 200, description = "The division as auto-filled and saved.", body = DivisionOut, headers(("ETag" = String))), (status = 409)))]
pub async fn autofill(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    headers: HeaderMap,
    Json(b): Json<AutofillBody>,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    vsys_app::allocation::apply_autofill(&s.app, &u.actor, &id, &org, v, b.formula.as_ref())
        .await
        .map_err(err(u.lang))?;
    division_answer(&s, &u, &id, &org).await
}

macro_rules! transition {
    ($name:ident, $path:literal, $call:path, $doc:literal $(, $extra:tt)*) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "allocation", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report).")),
            responses((status = 200, description = "The node in its new state.", body = NodeOut, headers(("ETag" = String))), (status = 409), (status = 412) $(, $extra)*))]
        pub async fn $name(State(s): State<AppState>, u: ApiUser, Path((id, org)): Path<(String, String)>) -> Result<Response, ApiError> {
            let n = $call(&s.app, &u.actor, &id, &org).await.map_err(err(u.lang))?;
            Ok(json_etag(StatusCode::OK, n.version, NodeOut::from(n)))
        }
    };
}

transition!(
    confirm,
    "/api/v1/cycles/{id}/allocations/{org}/confirm",
    vsys_app::allocation::confirm,
    "確認済: confirm the amount received."
);
transition!(
    finish,
    "/api/v1/cycles/{id}/allocations/{org}/finish",
    vsys_app::allocation::finish,
    "分配完了: finish dividing; the children are notified."
);
transition!(
    withdraw,
    "/api/v1/cycles/{id}/allocations/{org}/withdraw",
    vsys_app::allocation::withdraw,
    "Take a 分配完了 back (its divider, while every child is still 未確認): back to 確認済; the children are held back and told.",
    (
        status = 422,
        description = "A child has already acted on its amount."
    )
);
transition!(
    send_back,
    "/api/v1/cycles/{id}/allocations/{org}/send-back",
    vsys_app::allocation::send_back,
    "Send a child's finished division back (its parent, before 確定)."
);
transition!(
    finalise,
    "/api/v1/cycles/{id}/allocations/{org}/finalise",
    vsys_app::allocation::finalise,
    "確定: finalise the chain below (the closing level).",
    (
        status = 422,
        description = "Some children have not finished dividing (each named)."
    )
);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EncodingQuery {
    /// `shift_jis` (default, for Excel) or `utf-8`.
    #[param(value_type = Option<CsvEncoding>)]
    encoding: Option<String>,
}

/// The encodings of a CSV download.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum CsvEncoding {
    #[schema(rename = "shift_jis")]
    ShiftJis,
    #[schema(rename = "utf-8")]
    Utf8,
}

/// The division as CSV. Shift_JIS refuses (422, naming the cell) a character it cannot hold.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/allocations/{org}/csv", tag = "allocation", operation_id = "export_division_csv", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report)."), EncodingQuery),
    responses((status = 200, description = "The division as a CSV file (`charset` Shift_JIS or utf-8).", content_type = "text/csv", body = String, headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`"))), (status = 422, description = "A cell cannot be written in Shift_JIS (`/problems/csv`).")))]
pub async fn export_csv(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    Query(q): Query<EncodingQuery>,
) -> Result<Response, ApiError> {
    use vsys_app::csv_files::Encoding;
    let d = vsys_app::allocation::division(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?;
    let enc = Encoding::parse(q.encoding.as_deref().unwrap_or("shift_jis"))
        .ok_or_else(|| ApiError::BadRequest("encoding: shift_jis or utf-8".into(), u.lang))?;
    let (bytes, name) = vsys_app::csv_files::allocation::export(&d, enc, u.lang)
        .map_err(|e| ApiError::new(vsys_app::AppError::Csv(e), u.lang))?;
    Ok(crate::download::csv(bytes, &name, enc))
}

/// Replace the division's lines from a CSV body (UTF-8 or Shift_JIS; If-Match). All or
/// nothing: every bad row is reported with its row number.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/allocations/{org}/csv", tag = "allocation", operation_id = "import_division_csv", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report)."), IfMatch),
    request_body(description = "The division's CSV (as downloaded), UTF-8 or Shift_JIS, at most 64 MiB.", content = String, content_type = "text/csv"),
    responses((status = 200, description = "The division as saved.", body = DivisionOut, headers(("ETag" = String))), (status = 409), (status = 413), (status = 422, description = "Bad rows, each named (`/problems/csv`, `/problems/validation`).")))]
pub async fn import_csv(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    headers: HeaderMap,
    crate::extract::ImportBody(body): crate::extract::ImportBody,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    vsys_app::csv_files::allocation::import(&s.app, &u.actor, &id, &org, v, &body)
        .await
        .map_err(err(u.lang))?;
    division_answer(&s, &u, &id, &org).await
}

/// A site's capacity and request for a cycle (接種可能量・納品希望量, in doses).
#[utoipa::path(get, path = "/api/v1/cycles/{id}/requests/{org}", tag = "allocation", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report).")),
    responses((status = 200, description = "The site's report.", body = RequestOut, headers(("ETag" = String))), (status = 404, description = "Not reported yet, or no such site or cycle in the caller's scope.")))]
pub async fn get_request(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let r = vsys_app::requests::get(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?
        .ok_or(ApiError::new(vsys_app::AppError::NotFound, u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, RequestOut::from(r)))
}

/// Report (create, or with If-Match change) a site's capacity and request, until the cycle's
/// site deadline. The auto-fill divides by requests and caps by capacity.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/requests/{org}", tag = "allocation", params(("id" = String, Path, description = "The cycle's id."), ("org" = String, Path, description = "The organisation's code (whose allocation or report)."), IfMatchOptional),
    request_body = vsys_app::requests::RequestInput, responses((status = 200, description = "The report as saved.", body = RequestOut, headers(("ETag" = String)))))]
pub async fn put_request(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    headers: HeaderMap,
    Json(b): Json<vsys_app::requests::RequestInput>,
) -> Result<Response, ApiError> {
    let version = if headers.contains_key("if-match") {
        Some(if_match(&headers, u.lang)?)
    } else {
        None
    };
    let r = vsys_app::requests::put(&s.app, &u.actor, &id, &org, version, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, RequestOut::from(r)))
}
