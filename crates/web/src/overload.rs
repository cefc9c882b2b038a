//! Load shedding: the server admits a bounded number of requests at once, lets a bounded number
//! wait a short while for a place, and answers the rest at once — 503 with `Retry-After` when
//! the server is full, 429 with `Retry-After` to one client holding too many places — instead of
//! letting every request slow down until all of them time out. A request that runs too long is
//! answered 503 and its work abandoned (its transaction rolls back). Probes (`/healthz`,
//! `/readyz`) and `/metrics` are never shed, so operators still see the server.
//!
//! The limits are `[overload]` in the configuration (`vsys_app::config::OverloadPolicy`).

use crate::AppState;
use crate::error::{ApiError, PageError};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Semaphore;
use vsys_app::AppError;
use vsys_app::config::OverloadPolicy;

/// The places of one server (shared by every request it serves).
#[derive(Clone)]
pub struct Admission {
    policy: OverloadPolicy,
    places: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Admission {
    pub fn new(policy: &OverloadPolicy) -> Admission {
        Admission {
            policy: policy.clone(),
            places: Arc::new(Semaphore::new(policy.max_in_flight.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            per_client: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> usize {
        self.policy
            .max_in_flight
            .max(1)
            .saturating_sub(self.places.available_permits())
    }

    /// Requests waiting for a place now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Counts one more request of `ip`; `None` when it already holds its share.
    fn enter_client(&self, ip: IpAddr) -> Option<ClientSlot> {
        let mut map = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= self.policy.per_client.max(1) {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            ip,
            map: self.per_client.clone(),
        })
    }
}

/// One request of a client, given back when the request ends (however it ends).
struct ClientSlot {
    ip: IpAddr,
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A place in the queue, given back when the wait ends.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn never_shed(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The refusal, as the caller's kind of client reads it: problem details under `/api/`, a page
/// elsewhere; both with `Retry-After`.
fn refuse(path: &str, lang: vsys_domain::Lang, e: AppError, reason: &'static str) -> Response {
    metrics::counter!("vsys_http_shed_total", "reason" => reason).increment(1);
    if path.starts_with("/api/") {
        ApiError::App(e, lang).into_response()
    } else {
        PageError(e, lang).into_response()
    }
}

/// The middleware (see the module's documentation).
pub async fn admit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if never_shed(&path) {
        return next.run(req).await;
    }
    let a = &s.admission;
    let retry = a.policy.retry_after_secs.max(1) as i64;
    let lang = crate::i18n::lang_of(req.headers());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = crate::security::client_ip(peer, req.headers(), &s.app.config.trusted_proxies);
    let _slot = match client {
        Some(ip) => match a.enter_client(ip) {
            Some(slot) => Some(slot),
            None => {
                let e = AppError::TooManyAtOnce {
                    retry_after_secs: retry,
                };
                return refuse(&path, lang, e, "client");
            }
        },
        None => None,
    };
    let busy = || AppError::Busy {
        retry_after_secs: retry,
    };
    let permit = match a.places.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            if a.queued.fetch_add(1, Ordering::Relaxed) >= a.policy.max_queued {
                a.queued.fetch_sub(1, Ordering::Relaxed);
                return refuse(&path, lang, busy(), "queue_full");
            }
            let waiting = Waiting(a.queued.clone());
            let wait = Duration::from_millis(a.policy.queue_wait_ms);
            let got = tokio::time::timeout(wait, a.places.clone().acquire_owned()).await;
            drop(waiting);
            match got {
                Ok(Ok(p)) => p,
                _ => return refuse(&path, lang, busy(), "queue_wait"),
            }
        }
    };
    let limit = Duration::from_secs(a.policy.request_timeout_secs.max(1));
    let res = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(path, "request ran past the request timeout: answered 503");
            refuse(&path, lang, busy(), "timeout")
        }
    };
    drop(permit);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_its_share_and_gets_it_back() {
        let a = Admission::new(&OverloadPolicy {
            per_client: 2,
            ..OverloadPolicy::default()
        });
        let ip: IpAddr = [192, 0, 2, 1].into();
        let first = a.enter_client(ip);
        let second = a.enter_client(ip);
        assert!(first.is_some() && second.is_some());
        assert!(a.enter_client(ip).is_none(), "a third at once is refused");
        assert!(
            a.enter_client([192, 0, 2, 2].into()).is_some(),
            "others are not"
        );
        drop(first);
        assert!(
            a.enter_client(ip).is_some(),
            "a place given back is free again"
        );
    }

    #[test]
    fn probes_are_never_shed() {
        assert!(never_shed("/healthz") && never_shed("/readyz") && never_shed("/metrics"));
        assert!(!never_shed("/api/v1/me") && !never_shed("/"));
    }
}
