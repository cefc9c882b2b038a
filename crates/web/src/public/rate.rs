//! The public site's per-client rate limit: a token bucket per client address, in this process
//! (each process of a deployment counts on its own). A client may make `rate_burst` requests at
//! once and `rate_per_second` a second in the long run; beyond, it is answered 429 with
//! `Retry-After` (problem details under `/api/`, a short page elsewhere). The client is the
//! peer, or behind a trusted proxy the forwarded address (`security::client_ip`); IPv6 clients
//! count by their /64 network, which one subscriber usually holds whole. Memory is bounded:
//! buckets that have refilled are forgotten when the map is full, and if it is still nearly
//! full (a flood of addresses) it starts afresh.
//!
//! `[public]` in the configuration (`vsys_app::config::PublicPolicy`); `rate_per_second = 0`
//! turns it off.

use crate::error::{ErrorPage, problem_response, render_status};
use crate::i18n::{L, lang_of};
use crate::wrap::Wrap;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use vsys_app::config::PublicPolicy;
use vsys_domain::Msg;

/// Clients remembered at most (about 40 bytes each).
pub const MAX_CLIENTS: usize = 65_536;

/// Whom a bucket belongs to: an IPv4 address, or an IPv6 /64 network.
type Client = IpAddr;

fn client_key(ip: IpAddr) -> Client {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of one server (shared by its listeners).
pub struct Limiter {
    burst: f64,
    per_second: f64,
    max_clients: usize,
    buckets: Mutex<HashMap<Client, Bucket>>,
}

impl Limiter {
    pub fn new(policy: &PublicPolicy) -> Limiter {
        Limiter::with_capacity(policy, MAX_CLIENTS)
    }

    fn with_capacity(policy: &PublicPolicy, max_clients: usize) -> Limiter {
        Limiter {
            burst: f64::from(policy.rate_burst.max(1)),
            per_second: f64::from(policy.rate_per_second),
            max_clients: max_clients.max(4),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the limit is on (`rate_per_second` > 0).
    pub fn is_on(&self) -> bool {
        self.per_second > 0.0
    }

    /// Takes one request of `ip` at `now`: `Err(seconds)` until the next token when its bucket
    /// is empty.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if !self.is_on() {
            return Ok(());
        }
        let key = client_key(ip);
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.max_clients && !map.contains_key(&key) {
            self.prune(&mut map, now);
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }

    /// Forgets the buckets that have refilled (a client that comes back starts full anyway);
    /// if more than three quarters remain, forgets them all, so a scan is followed by at least
    /// a quarter of the map's capacity of new clients before the next.
    fn prune(&self, map: &mut HashMap<Client, Bucket>, now: Instant) {
        map.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_second
                < self.burst
        });
        if map.len() > self.max_clients / 4 * 3 {
            tracing::warn!(
                clients = map.len(),
                "public rate limit: too many clients at once; their counts start afresh"
            );
            map.clear();
        }
    }

    /// Clients remembered now.
    pub fn clients(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The layer of the public routes that applies the [`Limiter`].
#[derive(Clone)]
pub struct RateLimit {
    pub limiter: Arc<Limiter>,
    pub trusted_proxies: Arc<[IpAddr]>,
}

impl Wrap for RateLimit {
    type Carry = ();

    fn before(&self, req: &mut Request) -> Result<(), Box<Response>> {
        if !self.limiter.is_on() {
            return Ok(());
        }
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let Some(ip) = crate::security::client_ip(peer, req.headers(), &self.trusted_proxies)
        else {
            return Ok(());
        };
        match self.limiter.take(ip, Instant::now()) {
            Ok(()) => Ok(()),
            Err(secs) => {
                metrics::counter!("vsys_http_shed_total", "reason" => "public_rate").increment(1);
                Err(Box::new(too_many(req, secs)))
            }
        }
    }

    async fn after(self, (): (), res: Response) -> Response {
        res
    }
}

/// 429 with `Retry-After`: problem details under `/api/`, a short page elsewhere.
fn too_many(req: &Request, retry_after_secs: u64) -> Response {
    let lang = lang_of(req.headers());
    let status = StatusCode::TOO_MANY_REQUESTS;
    let mut res = if req.uri().path().starts_with("/api/") {
        problem_response(
            status,
            "rate-limited",
            Msg::RateLimited.text(lang),
            None,
            vec![],
        )
    } else {
        render_status(
            status,
            &ErrorPage {
                l: L(lang),
                message: Msg::RateLimited.text(lang).to_owned(),
                status: status.as_u16(),
            },
        )
    };
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(burst: u32, per_second: u32) -> PublicPolicy {
        PublicPolicy {
            rate_burst: burst,
            rate_per_second: per_second,
            ..PublicPolicy::default()
        }
    }

    #[test]
    fn a_client_gets_its_burst_then_its_rate() {
        let l = Limiter::new(&policy(3, 2));
        let ip: IpAddr = [192, 0, 2, 1].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take(ip, t0), Ok(()));
        }
        // The next token comes within a second (`rate_per_second` is a whole number).
        assert_eq!(l.take(ip, t0), Err(1), "the burst is spent");
        assert_eq!(
            l.take([192, 0, 2, 2].into(), t0),
            Ok(()),
            "another client is not"
        );
        // Two a second come back: half a second later, one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.take(ip, t1), Ok(()));
        assert!(l.take(ip, t1).is_err());
        // Long after, the bucket is full again, never fuller.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(l.take(ip, t2), Ok(()));
        }
        assert!(l.take(ip, t2).is_err());
    }

    /// The layer answers 429 with `Retry-After`: a problem under `/api/`, a page elsewhere;
    /// requests without a known client (no peer address) are not counted.
    #[tokio::test]
    async fn the_layer_refuses_as_each_client_reads() {
        use tower::ServiceExt;
        let limiter = Arc::new(Limiter::new(&policy(1, 1)));
        let app: axum::Router = axum::Router::new()
            .route("/search/", axum::routing::get(|| async { "page" }))
            .route("/api/v1/public/x", axum::routing::get(|| async { "json" }))
            .layer(crate::wrap::WrapLayer(RateLimit {
                limiter,
                trusted_proxies: Arc::from(Vec::new()),
            }));
        let call = |path: &str, peer: Option<[u8; 4]>| {
            let app = app.clone();
            let mut req = Request::builder()
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap_or_default();
            if let Some(ip) = peer {
                req.extensions_mut()
                    .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
            }
            async move { app.oneshot(req).await.unwrap_or_else(|e| match e {}) }
        };
        let ctype = |r: &Response| {
            r.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let me = Some([192, 0, 2, 1]);
        assert_eq!(call("/search/", me).await.status(), StatusCode::OK);
        let page = call("/search/", me).await;
        assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(ctype(&page).starts_with("text/html"), "{}", ctype(&page));
        assert_eq!(page.headers()[header::RETRY_AFTER], "1");
        let api = call("/api/v1/public/x", me).await;
        assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(ctype(&api), "application/problem+json");
        assert_eq!(api.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            call("/api/v1/public/x", Some([192, 0, 2, 2]))
                .await
                .status(),
            StatusCode::OK
        );
        for _ in 0..5 {
            assert_eq!(call("/search/", None).await.status(), StatusCode::OK);
        }
    }

    #[test]
    fn zero_per_second_is_off() {
        let l = Limiter::new(&policy(1, 0));
        let ip: IpAddr = [192, 0, 2, 1].into();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(l.take(ip, t0), Ok(()));
        }
        assert_eq!(l.clients(), 0, "nothing is remembered");
    }

    #[test]
    fn an_ipv6_network_is_one_client() {
        let l = Limiter::new(&policy(2, 1));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 4]));
        let t0 = Instant::now();
        assert_eq!(l.take(a, t0), Ok(()));
        assert_eq!(l.take(b, t0), Ok(()));
        assert!(l.take(a, t0).is_err(), "the same /64");
        assert_eq!(l.take(other, t0), Ok(()));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(client_key(mapped), IpAddr::from([192, 0, 2, 7]));
    }

    #[test]
    fn memory_is_bounded() {
        let l = Limiter::with_capacity(&policy(2, 1), 100);
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let _ = l.take(IpAddr::from(i.to_be_bytes()), t0);
            assert!(l.clients() <= 100, "{} clients", l.clients());
        }
        // Idle buckets (refilled) are forgotten first: a busy client keeps its count.
        let l = Limiter::with_capacity(&policy(2, 1), 100);
        let busy: IpAddr = [198, 51, 100, 1].into();
        assert_eq!(l.take(busy, t0), Ok(()));
        assert_eq!(l.take(busy, t0), Ok(()));
        for i in 0..99u32 {
            let _ = l.take(IpAddr::from(i.to_be_bytes()), t0);
        }
        let later = t0 + Duration::from_millis(1500);
        // Everyone else has refilled (one request of a burst of 2 at 1/s: full after 1 s);
        // the busy client, which spent its burst, has 1.5 tokens back only.
        let _ = l.take([203, 0, 113, 1].into(), later);
        assert!(l.clients() < 10, "{} clients", l.clients());
        assert_eq!(l.take(busy, later), Ok(()));
        assert!(l.take(busy, later).is_err(), "its count was kept");
    }
}
