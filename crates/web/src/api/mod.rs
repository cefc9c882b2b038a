//! The JSON API under `/api/v1`, documented by OpenAPI at `/api/openapi.json` (viewer at
//! `/api/docs/`). Every operation is registered together with its documentation, so the
//! document lists exactly the routes that exist.

mod admin;
mod allocation;
mod delivery;
mod docs;
mod session;
mod sites;

mod json_cache;

pub use json_cache::{JsonCaches, JsonOf};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Json;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docs::Responses;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vsys_domain::Lang;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vsys API",
        description = "ワクチン接種円滑化システム (V-SYS) — staff API. Organisations are addressed by code, other resources by UUIDv7; dates are `YYYY-MM-DD` (Japan), timestamps UTC RFC 3339; errors are RFC 9457 problem details (`application/problem+json`); `Accept-Language: ja|en`. Editable resources carry an `ETag` (`\"vN\"`); their updates require `If-Match` (428 without, 412 when stale).",
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "This server")),
    components(schemas(crate::error::Problem, allocation::CsvEncoding)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "session", description = "Logging in and out; one's own account."),
        (name = "orgs", description = "Organisations and the areas deliverers serve."),
        (name = "users", description = "Accounts of an organisation (its administrators)."),
        (name = "notices", description = "In-app notices (also sent by e-mail)."),
        (name = "audit", description = "The hash-chained audit log."),
        (name = "masters", description = "Product masters and the nation's supply rules."),
        (name = "allocation", description = "Cycles (クール), supply and the allocation chain nation → prefecture → municipality → site."),
        (name = "sites", description = "Vaccination sites: registry, details, changes, doctors, reservation status."),
        (name = "stock", description = "Sites' stock ledgers and idle stock."),
        (name = "results", description = "Reporting periods and daily results."),
        (name = "delivery", description = "Deliveries, deliverers and organisation API tokens."),
        (name = "public", description = "Open data (no login): public vaccination sites as JSON and CSV, municipalities and vaccines. Licence CC BY 4.0; `ETag`/`If-None-Match`, `Cache-Control: public`, CORS for any origin, a per-client rate limit (see docs/OPEN_DATA.md).")
    )
)]
struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every operation: the staff API and the open data API. The document is made of this; the
/// open data operations are routed by `public::routes` (behind the public site's layers), the
/// rest by [`routes`].
fn api() -> OpenApiRouter<AppState> {
    staff_api().merge(crate::public::open_data::api())
}

/// The staff API's operations.
fn staff_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::login, session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(session::enable_totp))
        .routes(routes!(admin::list_orgs, admin::create_org))
        .routes(routes!(admin::get_org))
        .routes(routes!(admin::get_areas, admin::set_areas))
        .routes(routes!(delivery::get_info, delivery::put_info))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::get_user, admin::update_user))
        .routes(routes!(admin::unlock_user))
        .routes(routes!(admin::lock_user))
        .routes(routes!(admin::reset_totp))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::list_notices))
        .routes(routes!(admin::mark_notice_read))
        .routes(routes!(admin::post_notice))
        .routes(routes!(
            admin::list_announcements,
            admin::publish_announcement
        ))
        .routes(routes!(admin::withdraw_announcement))
        .routes(routes!(admin::post_public_notice))
        .routes(routes!(admin::withdraw_public_notice))
        .routes(routes!(admin::search_audit))
        .routes(routes!(admin::verify_audit))
        .routes(routes!(
            allocation::list_products,
            allocation::create_product
        ))
        .routes(routes!(allocation::get_product, allocation::update_product))
        .routes(routes!(allocation::get_rules, allocation::set_rules))
        .routes(routes!(allocation::list_cycles, allocation::create_cycle))
        .routes(routes!(allocation::get_cycle))
        .routes(routes!(
            allocation::list_supply,
            allocation::register_supply
        ))
        .routes(routes!(allocation::get_division))
        .routes(routes!(allocation::save_lines))
        .routes(routes!(allocation::simulate))
        .routes(routes!(allocation::autofill))
        .routes(routes!(allocation::confirm))
        .routes(routes!(allocation::finish))
        .routes(routes!(allocation::withdraw))
        .routes(routes!(allocation::send_back))
        .routes(routes!(allocation::finalise))
        .routes(routes!(allocation::export_csv, allocation::import_csv))
        .routes(routes!(allocation::get_request, allocation::put_request))
        .routes(routes!(sites::list_sites))
        .routes(routes!(sites::import_sites))
        .routes(routes!(sites::get_site))
        .routes(routes!(sites::put_details))
        .routes(routes!(sites::put_registry))
        .routes(routes!(sites::decide_change))
        .routes(routes!(sites::confirm_site))
        .routes(routes!(sites::put_reservation))
        .routes(routes!(sites::put_reservations))
        .routes(routes!(sites::put_hub))
        .routes(routes!(sites::create_municipal_site))
        .routes(routes!(sites::list_doctors, sites::add_doctor))
        .routes(routes!(sites::remove_doctor))
        .routes(routes!(sites::get_stock))
        .routes(routes!(sites::receive))
        .routes(routes!(sites::transfer))
        .routes(routes!(sites::correct))
        .routes(routes!(sites::idle_sites))
        .routes(routes!(sites::list_periods, sites::open_period))
        .routes(routes!(sites::close_period))
        .routes(routes!(sites::list_results))
        .routes(routes!(sites::get_day, sites::put_day))
        .routes(routes!(delivery::list_deliveries))
        .routes(routes!(delivery::delivery_status))
        .routes(routes!(delivery::enter_bulk))
        .routes(routes!(delivery::upstream))
        .routes(routes!(delivery::record_inbound))
        .routes(routes!(delivery::deliverer_stock))
        .routes(routes!(delivery::dry_ice))
        .routes(routes!(delivery::export_csv, delivery::import_csv))
        .routes(routes!(delivery::get_delivery, delivery::enter_dates))
        .routes(routes!(delivery::reassign))
        .routes(routes!(delivery::list_tokens, delivery::create_token))
        .routes(routes!(delivery::revoke_token))
}

/// The OpenAPI document of every API operation, each completed with the failures common to
/// all ([`docs::Responses`]; it runs once every route is registered).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().split_for_parts().1;
    utoipa::Modify::modify(&Responses, &mut doc);
    docs::tuples_as_arrays(doc)
}

/// The staff API's routes (the open data API's are `public::routes`).
pub fn routes(_state: AppState) -> Router<AppState> {
    let (router, _) = staff_api().split_for_parts();
    router
}

/// `/api/openapi.json` and the embedded viewer at `/api/docs/`.
pub fn docs() -> Router<AppState> {
    Router::new()
        .merge(utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi()))
}

/// Defines the page type of a list: its items, the total and where the page stands.
macro_rules! page_type {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// This page's items.
            pub items: Vec<$item>,
            /// How many items all pages hold together.
            #[schema(minimum = 0)]
            pub total: i64,
            /// This page's number (from 1).
            #[schema(minimum = 1, maximum = 1_000_000)]
            pub page: u64,
            /// The page size.
            #[schema(minimum = 1, maximum = 500)]
            pub per_page: u64,
        }

        impl $name {
            /// A page of `items`, each converted into its wire type.
            pub fn of<R: Into<$item>>(
                items: Vec<R>,
                total: i64,
                page: vsys_domain::validation::Page,
            ) -> $name {
                $name {
                    items: items.into_iter().map(Into::into).collect(),
                    total,
                    page: page.page,
                    per_page: page.per_page,
                }
            }
        }
    };
}
pub(crate) use page_type;

/// `page` and `per_page` of a list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

/// A JSON body with its version as `ETag`.
pub fn json_etag<T: Serialize>(status: StatusCode, version: i64, body: T) -> Response {
    with_etag((status, Json(body)).into_response(), version)
}

/// [`json_etag`] of a body already serialised (a cached answer).
pub fn json_bytes_etag(status: StatusCode, version: i64, body: axum::body::Bytes) -> Response {
    let mut res = json_bytes(body);
    *res.status_mut() = status;
    with_etag(res, version)
}

/// A 200 answer of a JSON body already serialised (a cached answer).
pub fn json_bytes(body: axum::body::Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn with_etag(mut res: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The API error of an application error, in the caller's language.
pub use crate::error::api_err as err;

/// `"v3"` for version 3.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The version an update is based on, from `If-Match`.
pub fn if_match(headers: &HeaderMap, lang: Lang) -> Result<i64, ApiError> {
    let raw = headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::PreconditionRequired(lang))?;
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::BadRequest("If-Match must be an ETag of this resource".into(), lang)
        })
}
