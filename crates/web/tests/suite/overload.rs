//! Overload, black-box on both databases: past its places and its queue the server answers at
//! once — 503 with `Retry-After` (problem `/problems/busy` under `/api/`, a page elsewhere), 429
//! with `Retry-After` to one client holding too many places — while health probes still answer,
//! and it serves again as soon as the load is gone. Only the kinds of answers are asserted,
//! never times.
//!
//! Places are held deterministically: a raw connection sends a request's head announcing a body
//! it never sends, so the request is admitted and then waits for its body for as long as the
//! test keeps the connection open (one refused because a probe had the place at that moment is
//! replaced).

use crate::common::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use vsys_testkit::db_test;

/// A request holding a place until dropped (see the module's documentation).
async fn hold(t: &TestApp) -> TcpStream {
    t.send_raw(
        "POST /api/v1/session HTTP/1.1",
        "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{",
    )
    .await
}

fn retry_after(res: &reqwest::Response) -> i64 {
    res.headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// Holds `n` places and returns them with the problem of a probe refused with `want`:
/// `GET /api/v1/me` without a session is asked until the server refuses it (before that, the
/// probe itself is admitted and answered 401). A probe may take a place at the moment a held
/// request arrives, which is then refused itself: such a held request, answered, is replaced.
async fn hold_until_refused(t: &TestApp, n: usize, want: StatusCode) -> (Vec<TcpStream>, Value) {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(hold(t).await);
    }
    for _ in 0..500 {
        for h in held.iter_mut() {
            let mut byte = [0u8; 1];
            if !matches!(h.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            {
                *h = hold(t).await;
            }
        }
        let res = client()
            .get(t.url("/api/v1/me"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = res.status();
        if status == want {
            assert!(retry_after(&res) >= 1, "Retry-After on {status}");
            return (held, res.json().await.unwrap_or_else(|e| panic!("{e}")));
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "admitted probe");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never refused with {want}");
}

async fn login(t: &TestApp) -> reqwest::Response {
    login_at(&t.base).await
}

async fn login_at(base: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": "minato-operator@demo.vsys.jp", "password": PASSWORD}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Once the held requests are gone, a login is served again (until then it may still be
/// refused with `refused`, while the server notices the closed connections).
async fn served_again(t: &TestApp, refused: StatusCode) {
    for _ in 0..500 {
        let res = login(t).await;
        if res.status() == StatusCode::CREATED {
            return;
        }
        assert_eq!(res.status(), refused);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("not served again once the held requests were gone");
}

/// `n` logins at once; each answer's status and `Retry-After`.
async fn at_once(t: &TestApp, n: usize) -> Vec<(StatusCode, i64)> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let base = t.base.clone();
        set.spawn(async move {
            let res = login_at(&base).await;
            (res.status(), retry_after(&res))
        });
    }
    set.join_all().await
}

db_test!(
    past_capacity_the_server_says_busy_and_recovers,
    |backend| async move {
        let Some(t) = spawn_with(backend, |c| {
            c.overload.max_in_flight = 2;
            c.overload.max_queued = 2;
            c.overload.queue_wait_ms = 100;
            c.overload.per_client = 1_000;
        })
        .await
        else {
            return;
        };
        // Every place taken: a request waits in the queue, then is refused.
        let (held, p) = hold_until_refused(&t, 2, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(p["type"], "/problems/busy", "{p}");
        assert!(p["title"].as_str().is_some_and(|s| !s.is_empty()), "{p}");

        // A crowd at once: every answer a fast refusal with Retry-After (queue full or waited out).
        let answers = at_once(&t, 40).await;
        for (status, retry) in &answers {
            assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(*retry >= 1);
        }
        // A screen is refused as a page, in the user's language, also with Retry-After.
        let res = client()
            .get(t.url("/login"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry_after(&res) >= 1);
        assert!(
            res.headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
        );
        let page = res.text().await.unwrap_or_default();
        assert!(page.contains("混み合って"), "{page}");
        // Probes are never shed.
        for probe in ["/healthz", "/readyz"] {
            let res = client()
                .get(t.url(probe))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status(), StatusCode::OK, "{probe}");
        }

        // The load gone, the server serves again.
        drop(held);
        served_again(&t, StatusCode::SERVICE_UNAVAILABLE).await;

        // A storm of real work at many times capacity: only admitted answers or busy ones.
        let answers = at_once(&t, 60).await;
        for (status, retry) in &answers {
            match *status {
                StatusCode::CREATED => {}
                StatusCode::SERVICE_UNAVAILABLE => assert!(*retry >= 1),
                other => panic!("unexpected {other} under overload"),
            }
        }
        assert_eq!(login(&t).await.status(), StatusCode::CREATED);
    }
);

db_test!(one_client_holds_only_its_share, |backend| async move {
    let Some(t) = spawn_with(backend, |c| {
        c.overload.per_client = 2;
    })
    .await
    else {
        return;
    };
    let (held, p) = hold_until_refused(&t, 2, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(p["type"], "/problems/too-many-requests", "{p}");
    // In English when asked.
    let res = client()
        .get(t.url("/api/v1/me"))
        .header(header::ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let p: Value = res.json().await.unwrap_or_default();
    assert!(
        p["title"].as_str().is_some_and(|s| s.is_ascii()),
        "English title: {p}"
    );
    drop(held);
    served_again(&t, StatusCode::TOO_MANY_REQUESTS).await;
});
