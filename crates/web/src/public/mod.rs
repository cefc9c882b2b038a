//! The public site (コロナワクチンナビ): the citizens' finder (HTML, [`finder`]) and the open
//! data API ([`open_data`], its wire types in [`wire`]), both answered from the public snapshot
//! (`vsys_app::public`), never from the database on a citizen's request. No login, no session,
//! no personal data.
//!
//! Every public route sits behind the same two layers ([`routes`]):
//! * the per-client rate limit ([`rate`]): 429 with `Retry-After` beyond
//!   `[public] rate_burst` at once and `rate_per_second` in the long run;
//! * [`PublicHttp`]: CORS for any origin (`Access-Control-Allow-Origin: *`, the preflight
//!   `OPTIONS`), `Cache-Control: public, max-age=[public] max_age_secs` on a successful `GET`
//!   or `HEAD` that set none of its own (HTML pages also `Vary: Accept-Language, Cookie`, the
//!   language's sources), and `304 Not Modified` without a body when the answer has an `ETag`
//!   that `If-None-Match` names. A handler opts out of public caching by setting its own
//!   `Cache-Control`.

pub mod finder;
mod info;
pub mod open_data;
mod page;
pub mod rate;
pub mod wire;
pub mod words;

use crate::AppState;
use crate::wrap::{Wrap, WrapLayer};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;
use vsys_app::App;

/// What the public routes share in one server (both of its listeners): the rate limit's
/// buckets and the open data's kept answers.
pub struct Shared {
    pub limiter: Arc<rate::Limiter>,
    pub answers: open_data::Answers,
    /// The finder's result pages as last rendered (see `finder::finder`).
    pub pages: open_data::Kept,
}

/// Bytes of finder pages kept at most (a page of 20 results is about 30 KB).
const KEPT_PAGE_BYTES: usize = 32 << 20;

impl Shared {
    pub fn new(app: &App) -> Shared {
        Shared {
            limiter: Arc::new(rate::Limiter::new(&app.config.public)),
            answers: open_data::Answers::default(),
            pages: open_data::Kept::new(KEPT_PAGE_BYTES),
        }
    }
}

/// The finder's pages and the open data API, behind the public layers (see the module). The
/// open data operations are documented with the API (`api::openapi`) but routed here.
pub fn routes(state: &AppState) -> Router<AppState> {
    let (open_data, _) = open_data::api().split_for_parts();
    finder::routes()
        .merge(info::routes())
        .merge(open_data)
        .layer(WrapLayer(rate::RateLimit {
            limiter: state.public.limiter.clone(),
            trusted_proxies: state.app.config.trusted_proxies.clone().into(),
        }))
        .layer(WrapLayer(PublicHttp {
            max_age_secs: state.app.config.public.max_age_secs,
        }))
}

/// Headers every cross-origin reader may see.
const EXPOSED: &str = "ETag, Retry-After, Link, X-License, Content-Disposition";

/// CORS, public caching and `304` of the public routes (see the module).
#[derive(Clone, Copy, Debug)]
pub struct PublicHttp {
    pub max_age_secs: u32,
}

/// What [`PublicHttp`] keeps of a request for its answer.
pub struct Asked {
    /// A `GET` or `HEAD`.
    read: bool,
    /// Under `/api/` (JSON or CSV, the same in every language), else an HTML page.
    api: bool,
    if_none_match: Option<String>,
}

impl Wrap for PublicHttp {
    type Carry = Asked;

    fn before(&self, req: &mut Request) -> Result<Asked, Box<Response>> {
        if req.method() == Method::OPTIONS {
            return Err(Box::new(preflight()));
        }
        Ok(Asked {
            read: matches!(*req.method(), Method::GET | Method::HEAD),
            api: req.uri().path().starts_with("/api/"),
            if_none_match: req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }

    async fn after(self, asked: Asked, mut res: Response) -> Response {
        if asked.read && res.status() == StatusCode::OK {
            let h = res.headers_mut();
            if !h.contains_key(header::CACHE_CONTROL) {
                if let Ok(v) =
                    HeaderValue::from_str(&format!("public, max-age={}", self.max_age_secs))
                {
                    h.insert(header::CACHE_CONTROL, v);
                }
                if !asked.api {
                    h.append(
                        header::VARY,
                        HeaderValue::from_static("Accept-Language, Cookie"),
                    );
                }
            }
            let current = h.get(header::ETAG).and_then(|v| v.to_str().ok());
            if let (Some(current), Some(asked)) = (current, asked.if_none_match.as_deref())
                && matches(asked, current)
            {
                res = not_modified(res.headers());
            }
        }
        cors(res.headers_mut());
        res
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2: `W/` aside, the
/// opaque tags are equal; `*` names any).
fn matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let current = opaque(etag);
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || opaque(t) == current)
}

/// `304 Not Modified`: no body, and the headers the 200 would have had that describe it.
fn not_modified(of: &HeaderMap) -> Response {
    let mut res = Response::new(axum::body::Body::empty());
    *res.status_mut() = StatusCode::NOT_MODIFIED;
    for name in [
        header::ETAG,
        header::CACHE_CONTROL,
        header::VARY,
        header::LINK,
        header::CONTENT_LOCATION,
        header::EXPIRES,
        header::DATE,
    ] {
        for v in of.get_all(&name) {
            res.headers_mut().append(name.clone(), v.clone());
        }
    }
    res
}

fn cors(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
}

/// The answer to a CORS preflight (or any `OPTIONS`): what a cross-origin reader may send.
fn preflight() -> Response {
    let mut res = Response::new(axum::body::Body::empty());
    *res.status_mut() = StatusCode::NO_CONTENT;
    let h = res.headers_mut();
    cors(h);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("If-None-Match, Accept-Language"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly() {
        let e = "W/\"p3-00ff-0\"";
        assert!(matches("W/\"p3-00ff-0\"", e));
        assert!(matches("\"p3-00ff-0\"", e), "weak comparison");
        assert!(matches("\"x\", W/\"p3-00ff-0\"", e), "a list");
        assert!(matches("*", e));
        assert!(!matches("W/\"p4-00ff-0\"", e));
        assert!(!matches("", e));
    }
}
