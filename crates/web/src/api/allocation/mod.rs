//! Products, supply rules, cycles, supply and the allocation chain.

use super::{Paged, etag, if_match};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Path, Query};
use crate::session::ApiUser;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vsys_app::allocation::{Division, LineInput, Proposal};
use vsys_app::cycles::{CycleInput, SupplyInput};
use vsys_app::products::{ProductInput, RulesInput};
use vsys_domain::Lang;
use vsys_domain::allocation::Formula;
use vsys_store::allocations::NodeRow;
use vsys_store::cycles::{CycleRow, SupplyRow};
use vsys_store::products::{PresentationRow, ProductRow, SupplyRulesRow};

pub(super) fn json_etag<T: Serialize>(status: StatusCode, version: i64, body: T) -> Response {
    let mut res = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

pub(super) fn err(lang: Lang) -> impl Fn(vsys_app::AppError) -> ApiError {
    move |e| ApiError::new(e, lang)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductOut {
    #[schema(value_type = Object)]
    product: ProductRow,
    #[schema(value_type = Vec<Object>)]
    presentations: Vec<PresentationRow>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KindQuery {
    /// `vaccine`, `needle` or `syringe`.
    kind: Option<String>,
}

/// Product masters (shared: every staff user reads them).
#[utoipa::path(get, path = "/api/v1/products", tag = "masters", params(KindQuery), responses((status = 200, body = Vec<Object>)))]
pub async fn list_products(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<KindQuery>,
) -> Result<Json<Vec<ProductRow>>, ApiError> {
    Ok(Json(
        vsys_app::products::list(&s.app, &u.actor, q.kind.as_deref())
            .await
            .map_err(err(u.lang))?,
    ))
}

/// Create a product (its manufacturer or warehouse, or the nation).
#[utoipa::path(post, path = "/api/v1/products", tag = "masters", request_body = ProductInput,
    responses((status = 201, body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_product(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<ProductInput>,
) -> Result<Response, ApiError> {
    let p = vsys_app::products::create(&s.app, &u.actor, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::CREATED, p.version, p))
}

/// One product with its presentations (doses per vial, vials per box) over time.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "masters", params(("id" = String, Path)),
    responses((status = 200, body = ProductOut), (status = 404, body = Problem)))]
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
        ProductOut {
            product,
            presentations,
        },
    ))
}

/// Change a product (If-Match). A new presentation applies from `from_cycle` on.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "masters", params(("id" = String, Path)), request_body = ProductInput,
    responses((status = 200, body = Object), (status = 412, body = Problem), (status = 428, body = Problem)))]
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
    Ok(json_etag(StatusCode::OK, p.version, p))
}

/// The nation's supply rules (needles and syringes per dose, pack rounding, dry ice).
#[utoipa::path(get, path = "/api/v1/supply-rules", tag = "masters", responses((status = 200, body = Object)))]
pub async fn get_rules(State(s): State<AppState>, u: ApiUser) -> Result<Response, ApiError> {
    let r = vsys_app::products::rules(&s.app, &u.actor)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, r))
}

/// Set the supply rules (the nation; If-Match, `"v-1"` before the first time).
#[utoipa::path(put, path = "/api/v1/supply-rules", tag = "masters", request_body = RulesInput,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 412, body = Problem)))]
pub async fn set_rules(
    State(s): State<AppState>,
    u: ApiUser,
    headers: HeaderMap,
    Json(b): Json<RulesInput>,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    let r: SupplyRulesRow = vsys_app::products::set_rules(&s.app, &u.actor, v, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, r))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    page: Option<u64>,
    per_page: Option<u64>,
}

/// Cycles, newest first (shared master data).
#[utoipa::path(get, path = "/api/v1/cycles", tag = "allocation", params(PageQuery), responses((status = 200, body = Object)))]
pub async fn list_cycles(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paged<CycleRow>>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
    let (items, total) = vsys_app::cycles::list(&s.app, &u.actor, page)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(Paged {
        items,
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Create a cycle (the nation).
#[utoipa::path(post, path = "/api/v1/cycles", tag = "allocation", request_body = CycleInput,
    responses((status = 201, body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_cycle(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<CycleInput>,
) -> Result<Response, ApiError> {
    let c = vsys_app::cycles::create(&s.app, &u.actor, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::CREATED, c.version, c))
}

/// One cycle.
#[utoipa::path(get, path = "/api/v1/cycles/{id}", tag = "allocation", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_cycle(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = vsys_app::cycles::get(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, c.version, c))
}

/// The supply registered for a cycle.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/supply", tag = "allocation", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Object>)))]
pub async fn list_supply(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<SupplyRow>>, ApiError> {
    Ok(Json(
        vsys_app::cycles::supply(&s.app, &u.actor, &id)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// Register a supplier's supply for a cycle (manufacturers, warehouses, the nation).
#[utoipa::path(post, path = "/api/v1/cycles/{id}/supply", tag = "allocation", params(("id" = String, Path)), request_body = SupplyInput,
    responses((status = 200, body = Vec<Object>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn register_supply(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Json(b): Json<SupplyInput>,
) -> Result<Json<Vec<SupplyRow>>, ApiError> {
    Ok(Json(
        vsys_app::cycles::register_supply(&s.app, &u.actor, &id, &b)
            .await
            .map_err(err(u.lang))?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LineOut {
    org_code: String,
    org_name: String,
    /// In the child level's unit (`unit`).
    amount: i64,
    vials: i64,
    doses: i64,
    needles: i64,
    syringes: i64,
    status: Option<vsys_domain::Status>,
    #[schema(value_type = Object)]
    explanation: Option<serde_json::Value>,
    /// The site's reported capacity (接種可能量, doses); absent until it reports.
    capacity_doses: Option<i64>,
    /// The site's reported request (納品希望量, doses); absent until it reports.
    requested_doses: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DivisionOut {
    cycle_id: String,
    org_code: String,
    status: vsys_domain::Status,
    /// The unit of this node's amount and the unit of its children's lines.
    unit: vsys_domain::Unit,
    child_unit: vsys_domain::Unit,
    amount: i64,
    vials: i64,
    doses: i64,
    needles: i64,
    syringes: i64,
    allocated_vials: i64,
    remainder_vials: i64,
    remainder: i64,
    version: i64,
    #[schema(value_type = Object)]
    explanation: Option<serde_json::Value>,
    lines: Vec<LineOut>,
}

fn division_out(d: &Division) -> DivisionOut {
    let pres = vsys_app::allocation::presentation(&d.cycle);
    let level = d.node.level;
    let unit = vsys_app::allocation::unit_of(&d.cycle, level);
    DivisionOut {
        cycle_id: d.cycle.id.clone(),
        org_code: d.org.code.clone(),
        status: d.node.status,
        unit,
        child_unit: d.child_unit,
        amount: pres.from_vials_floor(d.node.vials, unit).amount,
        vials: d.node.vials,
        doses: pres.doses(d.node.vials),
        needles: d.node.needles,
        syringes: d.node.syringes,
        allocated_vials: d.allocated_vials,
        remainder_vials: d.remainder_vials(),
        remainder: pres
            .from_vials_floor(d.remainder_vials(), d.child_unit)
            .amount,
        version: d.node.version,
        explanation: d
            .node
            .explanation
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok()),
        lines: d
            .children
            .iter()
            .map(|c| {
                let n: Option<&NodeRow> = c.node.as_ref();
                let vials = n.map(|n| n.vials).unwrap_or(0);
                LineOut {
                    org_code: c.org.code.clone(),
                    org_name: c.org.name.clone(),
                    amount: pres.from_vials_floor(vials, d.child_unit).amount,
                    vials,
                    doses: pres.doses(vials),
                    needles: n.map(|n| n.needles).unwrap_or(0),
                    syringes: n.map(|n| n.syringes).unwrap_or(0),
                    status: n.map(|n| n.status),
                    explanation: n
                        .and_then(|n| n.explanation.as_deref())
                        .and_then(|e| serde_json::from_str(e).ok()),
                    capacity_doses: c.request.as_ref().map(|r| r.capacity_doses),
                    requested_doses: c.request.as_ref().map(|r| r.requested_doses),
                }
            })
            .collect(),
    }
}

/// An organisation's allocation in a cycle and its division among its children (ETag: the
/// division's version).
#[utoipa::path(get, path = "/api/v1/cycles/{id}/allocations/{org}", tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
    responses((status = 200, body = DivisionOut), (status = 404, body = Problem)))]
pub async fn get_division(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let d = vsys_app::allocation::division(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, d.node.version, division_out(&d)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinesBody {
    lines: Vec<LineInput>,
}

/// Save the division (all lines, in the child unit). Requires If-Match; the sum can never
/// exceed the node's amount.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/allocations/{org}/lines", tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
    request_body = LinesBody, responses((status = 200, body = DivisionOut), (status = 412, body = Problem), (status = 422, body = Problem)))]
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
    let d = vsys_app::allocation::division(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, d.node.version, division_out(&d)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SimulateBody {
    /// Another formula (weights, caps); default: the cycle's.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    formula: Option<Formula>,
    /// Another total to divide, in vials (0–1,000,000,000); default: the node's amount.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    #[serde(default)]
    total_vials: Option<i64>,
}

/// 分配シミュレーション: the division with other weights or totals, with its explanation,
/// side by side with the current lines. Saves nothing.
#[utoipa::path(post, path = "/api/v1/cycles/{id}/allocations/{org}/simulate", tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
    request_body = SimulateBody, responses((status = 200, body = Object), (status = 404, body = Problem)))]
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
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    formula: Option<Formula>,
}

/// Auto-fill the division with the cycle's (or the given) formula and save it (If-Match).
#[utoipa::path(post, path = "/api/v1/cycles/{id}/allocations/{org}/autofill", tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
    request_body = AutofillBody, responses((status = 200, body = DivisionOut), (status = 412, body = Problem)))]
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
    let d = vsys_app::allocation::division(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, d.node.version, division_out(&d)))
}

macro_rules! transition {
    ($name:ident, $path:literal, $call:path, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
            responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)))]
        pub async fn $name(State(s): State<AppState>, u: ApiUser, Path((id, org)): Path<(String, String)>) -> Result<Response, ApiError> {
            let n = $call(&s.app, &u.actor, &id, &org).await.map_err(err(u.lang))?;
            Ok(json_etag(StatusCode::OK, n.version, n))
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
    "Take a 分配完了 back (its divider, while every child is still 未確認): back to 確認済; the children are held back and told."
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
    "確定: finalise the chain below (the closing level)."
);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EncodingQuery {
    /// `shift_jis` (default, for Excel) or `utf-8`.
    encoding: Option<String>,
}

/// The division as CSV. Shift_JIS refuses (422, naming the cell) a character it cannot hold.
#[utoipa::path(get, path = "/api/v1/cycles/{id}/allocations/{org}/csv", tag = "allocation", params(("id" = String, Path), ("org" = String, Path), EncodingQuery),
    responses((status = 200, content_type = "text/csv"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn export_csv(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    Query(q): Query<EncodingQuery>,
) -> Result<Response, ApiError> {
    use vsys_app::table_csv::Encoding;
    let d = vsys_app::allocation::division(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?;
    let enc = Encoding::parse(q.encoding.as_deref().unwrap_or("shift_jis"))
        .ok_or_else(|| ApiError::BadRequest("encoding: shift_jis or utf-8".into(), u.lang))?;
    let (bytes, name) = vsys_app::allocation_csv::export(&d, enc, u.lang)
        .map_err(|e| ApiError::new(vsys_app::AppError::Csv(e), u.lang))?;
    Ok(crate::download::csv(bytes, &name, enc))
}

/// Replace the division's lines from a CSV body (UTF-8 or Shift_JIS; If-Match). All or
/// nothing: every bad row is reported with its row number.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/allocations/{org}/csv", tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
    request_body(content = String, content_type = "text/csv"), responses((status = 200, body = DivisionOut), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn import_csv(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
    headers: HeaderMap,
    crate::extract::ImportBody(body): crate::extract::ImportBody,
) -> Result<Response, ApiError> {
    let v = if_match(&headers, u.lang)?;
    vsys_app::allocation_csv::import(&s.app, &u.actor, &id, &org, v, &body)
        .await
        .map_err(err(u.lang))?;
    let d = vsys_app::allocation::division(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, d.node.version, division_out(&d)))
}

/// A site's capacity and request for a cycle (接種可能量・納品希望量, in doses).
#[utoipa::path(get, path = "/api/v1/cycles/{id}/requests/{org}", tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_request(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, org)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let r = vsys_app::requests::get(&s.app, &u.actor, &id, &org)
        .await
        .map_err(err(u.lang))?
        .ok_or(ApiError::new(vsys_app::AppError::NotFound, u.lang))?;
    Ok(json_etag(StatusCode::OK, r.version, r))
}

/// Report (create, or with If-Match change) a site's capacity and request, until the cycle's
/// site deadline. The auto-fill divides by requests and caps by capacity.
#[utoipa::path(put, path = "/api/v1/cycles/{id}/requests/{org}", tag = "allocation", params(("id" = String, Path), ("org" = String, Path)),
    request_body = vsys_app::requests::RequestInput, responses((status = 200, body = Object), (status = 412, body = Problem), (status = 422, body = Problem)))]
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
    Ok(json_etag(StatusCode::OK, r.version, r))
}
