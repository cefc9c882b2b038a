//! Security headers on every response, and the client address behind trusted proxies.

use crate::AppState;
use crate::wrap::Wrap;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use vsys_domain::Lang;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The API viewer's page sets inline styles; its scripts are still files of our own.
const CSP_DOCS: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                        connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[derive(Clone, Copy, Debug, Default)]
pub struct Headers;

impl Wrap for Headers {
    /// Whether the request is for the API's documentation (its own CSP).
    type Carry = bool;

    fn before(&self, req: &mut Request) -> Result<bool, Box<Response>> {
        Ok(req.uri().path().starts_with("/api/docs"))
    }

    async fn after(self, docs: bool, mut res: Response) -> Response {
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if docs { CSP_DOCS } else { CSP }),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            "permissions-policy",
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(self)"),
        );
        h.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        res
    }
}

/// The longest request target (path and query) served: 8 KiB. Longer is a 414. (hyper refuses
/// request heads beyond its own buffer, ~400 KiB, before any layer runs: those get its bare 431
/// or a closed connection, documented in docs/SECURITY.md.)
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Refuses request targets over [`MAX_URI_BYTES`] with 414.
#[derive(Clone, Copy, Debug, Default)]
pub struct UriLimit;

impl Wrap for UriLimit {
    type Carry = ();

    fn before(&self, req: &mut Request) -> Result<(), Box<Response>> {
        let len = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().len())
            .unwrap_or(0);
        if len > MAX_URI_BYTES {
            let lang = crate::i18n::lang_of(req.headers());
            return Err(Box::new(crate::error::status_problem(
                axum::http::StatusCode::URI_TOO_LONG,
                lang,
                None,
            )));
        }
        Ok(())
    }

    async fn after(self, (): (), res: Response) -> Response {
        res
    }
}

/// Under `/api/`, every error is a problem document: whatever answered with another content
/// type (the router's 405, a layer's 413, a framework rejection this crate's extractors do not
/// cover) is rewritten into one, in the caller's language, keeping the original text as its
/// detail.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiProblems;

impl Wrap for ApiProblems {
    /// The caller's language, for requests under `/api/`.
    type Carry = Option<Lang>;

    fn before(&self, req: &mut Request) -> Result<Option<Lang>, Box<Response>> {
        Ok(req
            .uri()
            .path()
            .starts_with("/api/")
            .then(|| crate::i18n::lang_of(req.headers())))
    }

    async fn after(self, lang: Option<Lang>, res: Response) -> Response {
        let Some(lang) = lang else { return res };
        let status = res.status();
        let is_problem = res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
        if !(status.is_client_error() || status.is_server_error()) || is_problem {
            return res;
        }
        let (parts, body) = res.into_parts();
        let detail = axum::body::to_bytes(body, 4096)
            .await
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .filter(|t| !t.is_empty());
        let mut out = crate::error::status_problem(status, lang, detail);
        for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
            if let Some(v) = parts.headers.get(&name) {
                out.headers_mut().insert(name, v.clone());
            }
        }
        out
    }
}

/// The client's address: the peer, or — only when the peer is a configured trusted proxy — the
/// right-most address of `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer),
    )
}

/// The client address of a request, as a string for logs and the audit trail.
pub fn request_ip(state: &AppState, parts: &axum::http::request::Parts) -> Option<String> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    client_ip(peer, &parts.headers, &state.app.config.trusted_proxies).map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.2"),
        );
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let inner: IpAddr = [10, 0, 0, 2].into();
        let client: IpAddr = [203, 0, 113, 9].into();
        let stranger: IpAddr = [198, 51, 100, 7].into();
        assert_eq!(client_ip(Some(stranger), &h, &[proxy]), Some(stranger));
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), Some(inner));
        assert_eq!(client_ip(Some(proxy), &h, &[proxy, inner]), Some(client));
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
    }

    /// A panicking handler behind the server's panic layer and problem net: a 500 problem
    /// document, and the connection is answered, not dropped.
    #[tokio::test]
    #[allow(clippy::panic)]
    async fn a_panic_is_answered_with_a_problem() {
        use tower::ServiceExt;
        let app: axum::Router = axum::Router::new()
            .route(
                "/api/v1/boom",
                axum::routing::get(|| async {
                    if std::hint::black_box(true) {
                        panic!("boom");
                    }
                    "never"
                }),
            )
            .route(
                "/api/v1/text",
                axum::routing::get(|| async { (axum::http::StatusCode::IM_A_TEAPOT, "plain") }),
            )
            .layer(crate::wrap::WrapLayer(ApiProblems))
            .layer(crate::wrap::WrapLayer(UriLimit))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                crate::error::panic_response,
            ));
        let call = |uri: String| {
            let app = app.clone();
            async move {
                app.oneshot(
                    axum::http::Request::builder()
                        .uri(uri)
                        .body(axum::body::Body::empty())
                        .unwrap_or_default(),
                )
                .await
                .map_err(|e| e.to_string())
            }
        };
        let ctype = |r: &Response| {
            r.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let res = call("/api/v1/boom".into()).await;
        let res = res.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ctype(&res), "application/problem+json");
        // Any other non-problem error under /api/ becomes one, keeping its status and text.
        let res = call("/api/v1/text".into())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), axum::http::StatusCode::IM_A_TEAPOT);
        assert_eq!(ctype(&res), "application/problem+json");
        let body = axum::body::to_bytes(res.into_body(), 4096)
            .await
            .unwrap_or_default();
        assert!(String::from_utf8_lossy(&body).contains("plain"));
        // A request target over 8 KiB: 414.
        let res = call(format!("/api/v1/text?q={}", "a".repeat(MAX_URI_BYTES)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), axum::http::StatusCode::URI_TOO_LONG);
        assert_eq!(ctype(&res), "application/problem+json");
    }
}
