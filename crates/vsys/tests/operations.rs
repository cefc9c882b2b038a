#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! A real `vsys serve` as operators run it, on both backends: JSON logs whose request lines
//! carry the request id answered in `X-Request-Id`; `/metrics` with the gauges operators alert
//! on; and a graceful shutdown on SIGTERM that lets every admitted request finish, gives up
//! the scheduled-work lease and exits 0.

mod common;

use common::{serve_args, vsys};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vsys_testkit::{db_test, fresh_db};

const TOKEN: &str = "operations-test-metrics-token";

struct Server {
    server: common::Server,
    /// Every line the server wrote to standard error.
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = common::Server;
    fn deref(&self) -> &common::Server {
        &self.server
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut common::Server {
        &mut self.server
    }
}

fn start(url: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    // One password hash at a time: a burst of logins stays in flight for a while.
    let config = dir.path().join("vsys.toml");
    std::fs::write(&config, "hash_concurrency = 1\n").unwrap();
    let mut cmd = vsys(
        url,
        &serve_args(&["--demo", "--sites", "20", "--log-format", "json"]),
    );
    cmd.env("VSYS_CONFIG", &config)
        .env("VSYS_METRICS_TOKEN", TOKEN)
        .env("VSYS_SHUTDOWN_GRACE_SECS", "120")
        .env("VSYS_MAIL_DIR", dir.path().join("mail"))
        .env("RUST_LOG", "info,sqlx=warn")
        .stderr(Stdio::piped());
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let server = common::start_with(cmd, move |child| {
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
    });
    Server {
        server,
        log,
        _dir: dir,
    }
}

/// Waits (polling) until `done` holds; gives up after a minute.
async fn until<F: AsyncFnMut() -> bool>(what: &str, mut done: F) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn metrics(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The value of an unlabelled gauge in a scrape.
fn gauge(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

db_test!(
    json_logs_metrics_and_a_graceful_shutdown,
    |backend| async move {
        let Some(t) = fresh_db(backend, "operations", |_| async { Ok(()) }).await else {
            return;
        };
        let server = start(&t.url);
        let http = reqwest::Client::new();
        let base = server.base.clone();

        // Request ids: a well-formed one is kept, anything else replaced by one of ours.
        let r = http
            .get(format!("{base}/healthz"))
            .header("x-request-id", "ops-test.1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"], "ops-test.1");
        let r = http
            .get(format!("{base}/api/v1/me"))
            .header("x-request-id", "not well formed!")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(id.len() >= 16 && id != "not well formed!", "{id}");
        // The request's log line is one JSON object carrying that id.
        let log = server.log.clone();
        let find = |id: String| {
            let log = log.clone();
            async move || {
                log.lock().unwrap().iter().any(|l| {
                    serde_json::from_str::<Value>(l)
                        .is_ok_and(|v| v["span"]["request_id"] == id.as_str())
                })
            }
        };
        until("the request's log line", find(id.clone())).await;
        until("the kept id's log line", find("ops-test.1".into())).await;
        let line = server
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains(&id))
            .cloned()
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["span"]["path"], "/api/v1/me", "{line}");
        assert_eq!(v["status"], 401, "{line}");

        // Metrics: requests, latency, admission, pool, outbox, scheduled work.
        let scrape = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(scrape.status(), 401, "the token is required");
        until("the first round of scheduled work", async || {
            let m = metrics(&http, &base).await;
            gauge(&m, "vsys_scheduled_lag_seconds").is_some()
                && m.contains("vsys_job_last_run_timestamp_seconds{job=\"checkpoint\"}")
        })
        .await;
        let scrape = metrics(&http, &base).await;
        for series in [
            "vsys_http_requests_total{",
            "vsys_http_request_duration_seconds_count{",
            "vsys_http_in_flight ",
            "vsys_http_queued ",
            "vsys_http_max_in_flight ",
            "vsys_db_pool_connections{state=\"in_use\"}",
            "vsys_db_pool_connections{state=\"idle\"}",
            "vsys_db_pool_max_connections ",
            "vsys_outbox_pending ",
            "vsys_outbox_oldest_due_seconds ",
            "vsys_scheduled_lag_seconds ",
            "vsys_job_last_run_timestamp_seconds{job=\"checkpoint\"}",
            "vsys_metrics_db_up 1",
        ] {
            assert!(scrape.contains(series), "{series} missing:\n{scrape}");
        }
        assert_eq!(gauge(&scrape, "vsys_db_pool_max_connections"), Some(16.0));
        assert_eq!(gauge(&scrape, "vsys_http_max_in_flight"), Some(128.0));

        // Graceful shutdown: a burst of logins (one hash at a time), SIGTERM while many are
        // in flight; every one of them is answered, and the process exits 0.
        let mut accounts = Vec::new();
        for slug in [
            "nation",
            "tokyo",
            "minato",
            "clinic",
            "site",
            "pfizer",
            "wholesaler",
            "dryice",
            "syringe",
        ] {
            for role in ["operator", "viewer"] {
                accounts.push(format!("{slug}-{role}@demo.vsys.jp"));
            }
        }
        let burst: Vec<_> = accounts
            .iter()
            .chain(accounts.iter())
            .map(|email| {
                let http = http.clone();
                let url = format!("{base}/api/v1/session");
                let body = json!({"email": email, "password": vsys_app::demo::DEMO_PASSWORD});
                tokio::spawn(async move {
                    let r = http.post(url).json(&body).send().await?;
                    Ok::<u16, reqwest::Error>(r.status().as_u16())
                })
            })
            .collect();
        let admitted = burst.len() / 2;
        let mut seen = 0.0;
        until("logins in flight", async || {
            seen = gauge(&metrics(&http, &base).await, "vsys_http_in_flight").unwrap_or(0.0);
            seen >= admitted as f64
        })
        .await;
        let signalled = Instant::now();
        let term = Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let mut answered = 0;
        for r in burst {
            match r.await.unwrap() {
                Ok(201) => answered += 1,
                Ok(s) => panic!("a login in flight was answered {s}"),
                Err(e) => panic!("a login in flight lost its connection: {e}"),
            }
        }
        let mut server = server;
        let status = server.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
        eprintln!(
            "{backend:?}: SIGTERM with {seen} requests in flight: all {answered} logins answered 201, exit 0 after {:?}",
            signalled.elapsed()
        );
        let log = server.log.lock().unwrap().clone();
        for l in &log {
            assert!(
                serde_json::from_str::<Value>(l).is_ok(),
                "not one JSON object per line: {l}"
            );
        }
        assert!(
            log.iter()
                .any(|l| l.contains("shutdown requested") && l.contains("SIGTERM")),
            "the shutdown is logged"
        );
        // The scheduled-work lease was given up: another process takes over at once.
        let mut tx = t.db.read().await.unwrap();
        let live = vsys_store::coordination::live_leases(&mut tx, chrono::Utc::now())
            .await
            .unwrap();
        assert!(live.is_empty(), "{live:?}");
    }
);
