#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! Two `vsys serve` processes on one database, driven alternately: nothing a request needs
//! lives in one process alone. A session made on one is good on the other; a change made on
//! one reaches what the other cached (the change signal: LISTEN/NOTIFY on PostgreSQL, a poll on
//! SQLite) well before the cache's own expiry; a mail is sent once although both run a mail
//! worker; a logout on one ends the session on the other at once.

mod common;

use common::{Server, login, serve_args, vsys};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};
use vsys_testkit::smtp::SmtpReceiver;
use vsys_testkit::{db_test, fresh_db};

fn start(url: &str, smtp_port: u16, demo: bool) -> Server {
    let args = serve_args(if demo {
        &["--demo", "--sites", "20"]
    } else {
        &[]
    });
    let mut cmd = vsys(url, &args);
    cmd.env("VSYS_SMTP_HOST", "127.0.0.1")
        .env("VSYS_SMTP_PORT", smtp_port.to_string())
        .env("VSYS_SMTP_TLS", "none")
        .stderr(Stdio::inherit());
    common::start(cmd)
}

/// `GET /api/v1/me`: the status and, when 200, the role.
async fn me(http: &reqwest::Client, base: &str, token: &str) -> (u16, String) {
    let r = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["role"].as_str().unwrap_or_default().to_owned())
}

/// Asks `me` until `done` holds; the time it took. Gives up at half the session cache's
/// lifetime: an answer that only came when the cached entry expired would not prove the signal.
async fn until_me(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    done: impl Fn(&(u16, String)) -> bool,
) -> Duration {
    let started = Instant::now();
    let limit = Duration::from_secs(vsys_app::session_cache::TTL_SECS as u64 / 2);
    loop {
        let got = me(http, base, token).await;
        if done(&got) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{base} still answers {got:?} {limit:?} after the change"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

db_test!(two_processes_share_one_database, |backend| async move {
    let Some(t) = fresh_db(backend, "two_processes", |_| async { Ok(()) }).await else {
        return;
    };
    let smtp = SmtpReceiver::start().await;
    // A seeds the demo world; B starts once it is there.
    let a = start(&t.url, smtp.port, true);
    let b = start(&t.url, smtp.port, false);
    let http = reqwest::Client::new();

    // Log in on A, act on B.
    let admin = login(&http, &a.base, "minato-admin@demo.vsys.jp").await;
    let operator = login(&http, &a.base, "minato-operator@demo.vsys.jp").await;
    assert_eq!(
        me(&http, &b.base, &operator).await,
        (200, "operator".into())
    );
    // A has the operator's session cached now.
    assert_eq!(
        me(&http, &a.base, &operator).await,
        (200, "operator".into())
    );

    // On B the admin makes the operator a viewer; A's cached session sees it at once.
    let users: Value = http
        .get(format!("{}/api/v1/users?org=13103", b.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "minato-operator@demo.vsys.jp")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .expect("the operator is listed");
    let got = http
        .get(format!("{}/api/v1/users/{id}", b.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let etag = got.headers()["etag"].to_str().unwrap().to_owned();
    let changed = http
        .patch(format!("{}/api/v1/users/{id}", b.base))
        .bearer_auth(&admin)
        .header("if-match", etag)
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let took = until_me(&http, &a.base, &operator, |g| g == &(200, "viewer".into())).await;
    eprintln!("{backend:?}: the role change reached the other process in {took:?}");
    // A viewer cannot post a notice, on either process.
    for base in [&a.base, &b.base] {
        let r = http
            .post(format!("{base}/api/v1/orgs/13103/notices"))
            .bearer_auth(&operator)
            .json(&json!({"category": "info", "title_ja": "x", "title_en": "x", "body_ja": "x", "body_en": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{base}");
    }

    // The admin posts a notice on B: one mail per account of 港区, sent once although both
    // processes run a mail worker.
    let r = http
        .post(format!("{}/api/v1/orgs/13103/notices", b.base))
        .bearer_auth(&admin)
        .json(
            &json!({"category": "info", "title_ja": "二つの処理", "title_en": "Two processes",
            "body_ja": "本文", "body_en": "Body"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let started = Instant::now();
    while smtp.mails().len() < 3 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a second sender every chance to send a duplicate.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut to: Vec<String> = smtp
        .mails()
        .into_iter()
        .flat_map(|m| m.to)
        .map(|a| a.trim_matches(['<', '>']).to_owned())
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            "minato-admin@demo.vsys.jp",
            "minato-operator@demo.vsys.jp",
            "minato-viewer@demo.vsys.jp"
        ],
        "each account of 港区 gets the notice once"
    );

    // Logging out on B ends the session on A, whose cache had it.
    assert_eq!(me(&http, &a.base, &operator).await.0, 200);
    let out = http
        .delete(format!("{}/api/v1/session", b.base))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let took = until_me(&http, &a.base, &operator, |g| g.0 == 401).await;
    eprintln!("{backend:?}: the logout reached the other process in {took:?}");
    assert_eq!(me(&http, &b.base, &operator).await.0, 401);

    // A caches the nation's division; B auto-fills it; A's very next read shows B's lines
    // (the cache checks the change counter in the reader's own transaction: no wait at all).
    let nation = login(&http, &a.base, "nation-operator@demo.vsys.jp").await;
    let cycles: Value = http
        .get(format!("{}/api/v1/cycles", a.base))
        .bearer_auth(&nation)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cycle = cycles["items"][0]["id"].as_str().unwrap().to_owned();
    let division = |base: String| {
        let (http, nation, cycle) = (http.clone(), nation.clone(), cycle.clone());
        async move {
            let res = http
                .get(format!("{base}/api/v1/cycles/{cycle}/allocations/JP"))
                .bearer_auth(&nation)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let etag = res.headers()["etag"].to_str().unwrap().to_owned();
            let body: Value = res.json().await.unwrap();
            (etag, body["allocated_vials"].as_i64().unwrap())
        }
    };
    let (etag_a, divided_a) = division(a.base.clone()).await;
    assert_eq!(division(a.base.clone()).await, (etag_a.clone(), divided_a));
    assert_eq!(divided_a, 0, "nothing divided yet");
    let filled = http
        .post(format!(
            "{}/api/v1/cycles/{cycle}/allocations/JP/autofill",
            b.base
        ))
        .bearer_auth(&nation)
        .header("if-match", &etag_a)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(filled.status(), 200, "{:?}", filled.text().await);
    let (etag_after, divided_after) = division(a.base.clone()).await;
    assert_ne!(etag_after, etag_a, "A serves the division B saved");
    assert!(divided_after > 0, "A shows B's lines");
    drop((a, b));
});
