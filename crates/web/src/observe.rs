//! What operators see of each request and of the server: a request id on every request (taken
//! from a well-formed `X-Request-Id`, else made here), answered in the `X-Request-Id` header and
//! carried by the request's log span; and the gauges `/metrics` refreshes at each scrape
//! (admission, database pool, mail outbox, scheduled work).

use crate::AppState;
use crate::wrap::Wrap;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The id of the request being served (a request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// An id a client or proxy may choose: 1–64 characters of letters, digits and `-_.:`, so that
/// it can go into log lines and headers as it is.
fn well_formed(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The layer (outermost: `WrapLayer(RequestIds)`): names the request, answers its id.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIds;

impl Wrap for RequestIds {
    type Carry = Option<HeaderValue>;

    fn before(&self, req: &mut Request) -> Result<Self::Carry, Box<Response>> {
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| well_formed(v))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
        let value = HeaderValue::from_str(&id).ok();
        if let Some(v) = &value {
            req.headers_mut().insert(REQUEST_ID, v.clone());
            req.extensions_mut().insert(RequestId(id));
        }
        Ok(value)
    }

    async fn after(self, value: Self::Carry, mut res: Response) -> Response {
        if let Some(v) = value {
            res.headers_mut().insert(REQUEST_ID, v);
        }
        res
    }
}

/// The span every line logged while serving a request belongs to (see `TraceLayer`).
pub fn span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.as_str())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    )
}

/// Sets the gauges of `/metrics` from what holds now.
pub async fn refresh_gauges(s: &AppState) {
    use metrics::gauge;
    let policy = &s.app.config.overload;
    gauge!("vsys_http_in_flight").set(s.admission.in_flight() as f64);
    gauge!("vsys_http_queued").set(s.admission.queued() as f64);
    gauge!("vsys_http_max_in_flight").set(policy.max_in_flight as f64);
    gauge!("vsys_http_max_queued").set(policy.max_queued as f64);
    let pool = vsys_app::ops::pool(&s.app);
    gauge!("vsys_db_pool_connections", "state" => "in_use").set(f64::from(pool.in_use()));
    gauge!("vsys_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    gauge!("vsys_db_pool_max_connections").set(f64::from(pool.max));
    match vsys_app::ops::backlog(&s.app).await {
        Ok(b) => {
            gauge!("vsys_outbox_pending").set(b.outbox_pending as f64);
            gauge!("vsys_outbox_oldest_due_seconds").set(b.outbox_oldest_due_secs);
            if let Some(lag) = b.scheduled_lag_secs {
                gauge!("vsys_scheduled_lag_seconds").set(lag);
            }
            gauge!("vsys_metrics_db_up").set(1.0);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the backlog could not be read");
            gauge!("vsys_metrics_db_up").set(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_outside_are_taken_only_when_well_formed() {
        assert!(well_formed("abc-123_x.y:z"));
        assert!(well_formed(&"a".repeat(64)));
        assert!(!well_formed(&"a".repeat(65)));
        assert!(!well_formed(""));
        assert!(!well_formed("a b"));
        assert!(!well_formed("a\"b"));
        assert!(!well_formed("日本"));
    }
}
