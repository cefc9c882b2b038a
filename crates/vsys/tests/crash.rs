#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! Crash test: a real `vsys serve` takes a stream of writes over HTTP as the roles that make
//! them — a site's daily results (which write the stock ledger), a prefecture's division lines,
//! a wholesaler's delivery dates — and is killed with SIGKILL at a random point of the stream.
//! Restarted on the same database, every write that was answered with success must be there
//! (the object as acknowledged, or as the one write still in flight left it), each acknowledged
//! write's audit entry too, the stock ledger must balance, `vsys audit verify` must pass and
//! SQLite's `PRAGMA integrity_check` must answer ok. `VSYS_CRASH_ROUNDS` rounds (default 3);
//! `bench/crash.sh` runs many more.

mod common;

use common::{Server, login, output, serve_args, vsys};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use vsys_testkit::{Backend, db_test, fresh_db};

const PASSWORD: &str = vsys_app::demo::DEMO_PASSWORD;

fn start(url: &str, demo: bool) -> Server {
    let args = serve_args(if demo {
        &["--demo", "--sites", "20"]
    } else {
        &[]
    });
    let mut cmd = vsys(url, &args);
    cmd.env(
        "VSYS_MAIL_DIR",
        std::env::temp_dir().join("vsys-crash-mail"),
    )
    .env("RUST_LOG", "error")
    .stderr(Stdio::inherit());
    common::start(cmd)
}

fn run_vsys(url: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    output(vsys(url, args), stdin)
}

/// A small deterministic generator (the seed is printed, so a failing round can be replayed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// One API call; `Err` when the connection failed (the server is gone).
async fn call(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    version: Option<i64>,
    body: Option<Value>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(v) = version {
        req = req.header("if-match", format!("\"v{v}\""));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

async fn ok(
    http: &reqwest::Client,
    base: &str,
    m: reqwest::Method,
    path: &str,
    token: &str,
    version: Option<i64>,
    body: Option<Value>,
) -> Value {
    let (s, v) = call(http, base, m, path, token, version, body)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!((200..300).contains(&s), "{path}: {s} {v}");
    v
}

/// A state change (`POST` without a body) that must succeed.
async fn post(http: &reqwest::Client, base: &str, path: &str, token: &str) -> Value {
    ok(http, base, reqwest::Method::POST, path, token, None, None).await
}

/// What the stream knows of one object: its last acknowledged version and value, and the
/// value of a write sent but not answered (the server died under it).
#[derive(Clone, Debug, Default)]
struct Obj {
    version: Option<i64>,
    value: Option<String>,
    attempt: Option<String>,
}

/// The three kinds of writes, each on its own objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Results,
    Division,
    Delivery,
}

impl Kind {
    fn audit_action(self) -> &'static str {
        match self {
            Kind::Results => "results.day",
            Kind::Division => "allocation.division",
            Kind::Delivery => "delivery.dates",
        }
    }
}

/// Everything the stream drives.
struct World {
    cycle: String,
    clinic: String,
    site_token: String,
    osaka_token: String,
    osaka_municipality: String,
    osaka_amount: i64,
    wholesaler_token: String,
    deliveries: Vec<String>,
    days: Vec<chrono::NaiveDate>,
}

/// Objects and what was acknowledged on them.
#[derive(Default)]
struct Ledger {
    objs: BTreeMap<(Kind, String), Obj>,
    /// Writes acknowledged, and sent without an answer, per kind, over every round.
    acked: BTreeMap<Kind, i64>,
    unanswered: BTreeMap<Kind, i64>,
}

/// Where each object is now, as the server answers: (version, value); `None` when absent.
async fn observe(
    http: &reqwest::Client,
    base: &str,
    w: &World,
    kind: Kind,
    key: &str,
) -> Option<(i64, String)> {
    match kind {
        Kind::Results => {
            let (s, v) = call(
                http,
                base,
                reqwest::Method::GET,
                &format!("/api/v1/sites/{}/results/{key}", w.clinic),
                &w.site_token,
                None,
                None,
            )
            .await
            .unwrap();
            if s == 404 {
                return None;
            }
            assert_eq!(s, 200, "{v}");
            Some((v["version"].as_i64()?, v["total"].to_string()))
        }
        Kind::Division => {
            let v = ok(
                http,
                base,
                reqwest::Method::GET,
                &format!("/api/v1/cycles/{}/allocations/27", w.cycle),
                &w.osaka_token,
                None,
                None,
            )
            .await;
            let amount = v["lines"]
                .as_array()?
                .iter()
                .find(|l| l["org_code"] == key)?["amount"]
                .to_string();
            Some((v["version"].as_i64()?, amount))
        }
        Kind::Delivery => {
            let v = ok(
                http,
                base,
                reqwest::Method::GET,
                &format!("/api/v1/deliveries/{key}"),
                &w.wholesaler_token,
                None,
                None,
            )
            .await;
            Some((v["version"].as_i64()?, v["scheduled_on"].to_string()))
        }
    }
}

/// One writer: sequential writes of one kind until the server goes away or `stop` is set.
/// Returns the objects as it left them, the writes acknowledged and whether one was left
/// unanswered; a refusal the stream never expects is an `Err`.
async fn writer(
    base: String,
    w: Arc<World>,
    kind: Kind,
    mut objs: Vec<(String, Obj)>,
    acks: Arc<AtomicUsize>,
    seed: u64,
) -> Result<(Vec<(String, Obj)>, i64, bool), String> {
    let http = http();
    let mut rng = Rng(seed | 1);
    let mut acked = 0;
    let mut step = 0usize;
    loop {
        let i = step % objs.len();
        step += 1;
        let (key, o) = &mut objs[i];
        let (method, path, token, body, value) = match kind {
            Kind::Results => {
                let old: i64 = o.value.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
                let total = (old + 1 + rng.below(5) as i64) % 7;
                (
                    reqwest::Method::PUT,
                    format!("/api/v1/sites/{}/results/{key}", w.clinic),
                    &w.site_token,
                    json!({"total": total, "elderly": total, "underlying": 0, "others": 0}),
                    total.to_string(),
                )
            }
            Kind::Division => {
                let old: i64 = o.value.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
                let amount = (old + 1 + rng.below(w.osaka_amount.max(1) as u64) as i64)
                    % (w.osaka_amount + 1);
                (
                    reqwest::Method::PUT,
                    format!("/api/v1/cycles/{}/allocations/27/lines", w.cycle),
                    &w.osaka_token,
                    json!({"lines": [{"org_code": key, "amount": amount}]}),
                    amount.to_string(),
                )
            }
            Kind::Delivery => {
                let today = vsys_app::clock::japan_date(chrono::Utc::now());
                let mut day;
                loop {
                    day = today + chrono::Duration::days(1 + rng.below(60) as i64);
                    if o.value.as_deref() != Some(&format!("\"{day}\"")) {
                        break;
                    }
                }
                (
                    reqwest::Method::PATCH,
                    format!("/api/v1/deliveries/{key}"),
                    &w.wholesaler_token,
                    json!({"scheduled_on": day}),
                    format!("\"{day}\""),
                )
            }
        };
        if kind == Kind::Division && o.value.as_deref() == Some(value.as_str()) {
            continue;
        }
        o.attempt = Some(value.clone());
        match call(&http, &base, method, &path, token, o.version, Some(body)).await {
            Ok((200, v)) => {
                o.version = v["version"].as_i64();
                o.value = Some(value);
                o.attempt = None;
                acked += 1;
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Ok((s, v)) => return Err(format!("{kind:?} {path}: {s} {v}")),
            // The server is gone: the write in flight may or may not have committed.
            Err(_) => return Ok((objs, acked, true)),
        }
    }
}

/// Sets the world up through the API: the demo cycle divided down to 港区's sites and
/// finalised (deliveries for the wholesaler), 大阪府 confirmed (its lines for the stream).
async fn set_up(url: &str, base: &str) -> World {
    let http = http();
    let out = run_vsys(
        url,
        &[
            "user",
            "create",
            "--org",
            "27",
            "--role",
            "operator",
            "--email",
            "osaka-crash@example.jp",
            "--name",
            "大阪 太郎",
            "--password-stdin",
            "--must-change-password",
            "false",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{out:?}");
    use reqwest::Method as M;
    let nation = login(&http, base, "nation-operator@demo.vsys.jp").await;
    let tokyo = login(&http, base, "tokyo-operator@demo.vsys.jp").await;
    let minato = login(&http, base, "minato-operator@demo.vsys.jp").await;
    let cycles = ok(&http, base, M::GET, "/api/v1/cycles", &nation, None, None).await;
    let cycle = cycles["items"][0]["id"].as_str().unwrap().to_owned();
    let div = |org: &str| format!("/api/v1/cycles/{cycle}/allocations/{org}");
    let root = ok(&http, base, M::GET, &div("JP"), &nation, None, None).await;
    let v = root["version"].as_i64();
    ok(
        &http,
        base,
        M::POST,
        &format!("{}/autofill", div("JP")),
        &nation,
        v,
        Some(json!({})),
    )
    .await;
    post(&http, base, &format!("{}/finish", div("JP")), &nation).await;
    post(&http, base, &format!("{}/confirm", div("13")), &tokyo).await;
    let d = ok(&http, base, M::GET, &div("13"), &tokyo, None, None).await;
    ok(
        &http,
        base,
        M::PUT,
        &format!("{}/lines", div("13")),
        &tokyo,
        d["version"].as_i64(),
        Some(json!({"lines": [{"org_code": "13103", "amount": d["amount"]}]})),
    )
    .await;
    post(&http, base, &format!("{}/finish", div("13")), &tokyo).await;
    post(&http, base, &format!("{}/confirm", div("13103")), &minato).await;
    let d = ok(&http, base, M::GET, &div("13103"), &minato, None, None).await;
    ok(
        &http,
        base,
        M::POST,
        &format!("{}/autofill", div("13103")),
        &minato,
        d["version"].as_i64(),
        Some(json!({})),
    )
    .await;
    post(&http, base, &format!("{}/finish", div("13103")), &minato).await;
    post(&http, base, &format!("{}/finalise", div("13")), &tokyo).await;
    let wholesaler_token = login(&http, base, "wholesaler-operator@demo.vsys.jp").await;
    let mine = ok(
        &http,
        base,
        M::GET,
        &format!("/api/v1/deliveries?cycle={cycle}&per_page=500"),
        &wholesaler_token,
        None,
        None,
    )
    .await;
    let deliveries: Vec<String> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!deliveries.is_empty(), "{mine}");
    let osaka_token = login(&http, base, "osaka-crash@example.jp").await;
    post(&http, base, &format!("{}/confirm", div("27")), &osaka_token).await;
    let osaka = ok(&http, base, M::GET, &div("27"), &osaka_token, None, None).await;
    let osaka_municipality = osaka["lines"][0]["org_code"].as_str().unwrap().to_owned();
    let site_token = login(&http, base, "clinic-operator@demo.vsys.jp").await;
    let me = ok(&http, base, M::GET, "/api/v1/me", &site_token, None, None).await;
    let clinic = me["org_code"].as_str().unwrap().to_owned();
    let today = vsys_app::clock::japan_date(chrono::Utc::now());
    World {
        cycle,
        clinic,
        site_token,
        osaka_token,
        osaka_municipality,
        osaka_amount: osaka["amount"].as_i64().unwrap(),
        wholesaler_token,
        deliveries,
        days: (0..3).map(|d| today - chrono::Duration::days(d)).collect(),
    }
}

/// Audit entries per kind of write.
async fn audit_counts(url: &str) -> BTreeMap<Kind, i64> {
    let db = vsys_store::Db::connect(url).await.unwrap();
    let mut tx = db.read().await.unwrap();
    let mut out = BTreeMap::new();
    for kind in [Kind::Results, Kind::Division, Kind::Delivery] {
        let f = vsys_store::audit::AuditFilter {
            action_prefix: Some(kind.audit_action().into()),
            ..Default::default()
        };
        let (_, total) = vsys_store::audit::search(&mut tx, &f, vsys_store::Page::first(1))
            .await
            .unwrap();
        out.insert(kind, total);
    }
    drop(tx);
    db.close().await;
    out
}

/// The site's stock ledger balances: per lot `doses == vials × doses per vial` and nothing
/// negative; the entries add up to the balances; the doses the ledger says were given equal
/// the results the site entered.
async fn check_ledger(http: &reqwest::Client, base: &str, w: &World) {
    let stock = ok(
        http,
        base,
        reqwest::Method::GET,
        &format!("/api/v1/sites/{}/stock", w.clinic),
        &w.site_token,
        None,
        None,
    )
    .await;
    for lot in stock["lots"].as_array().unwrap() {
        let (v, d, dpv) = (
            lot["vials"].as_i64().unwrap(),
            lot["doses"].as_i64().unwrap(),
            lot["doses_per_vial"].as_i64().unwrap(),
        );
        assert!(v >= 0 && d >= 0, "negative stock: {lot}");
        assert_eq!(d, v * dpv, "a lot out of balance: {lot}");
    }
    let entries = stock["entries"].as_array().unwrap();
    let sum = |f: &str| entries.iter().map(|e| e[f].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("vials"), stock["vials"].as_i64().unwrap(), "{stock}");
    assert_eq!(sum("doses"), stock["doses"].as_i64().unwrap(), "{stock}");
    let kinds: BTreeMap<&str, &str> = entries
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    let given: i64 = entries
        .iter()
        .filter(|e| {
            e["kind"] == "administered"
                || (e["kind"] == "correction"
                    && e["reverses"]
                        .as_str()
                        .and_then(|r| kinds.get(r))
                        .is_some_and(|k| *k == "administered"))
        })
        .map(|e| -e["doses"].as_i64().unwrap())
        .sum();
    let mut reported = 0;
    for day in &w.days {
        if let Some((_, total)) = observe(http, base, w, Kind::Results, &day.to_string()).await {
            reported += total.parse::<i64>().unwrap();
        }
    }
    assert_eq!(
        given, reported,
        "the ledger's doses given match the results"
    );
}

async fn sqlite_integrity(url: &str) {
    let opts = url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap();
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(verdict, "ok", "PRAGMA integrity_check");
}

fn rounds() -> usize {
    std::env::var("VSYS_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

db_test!(acknowledged_writes_survive_sigkill, |backend| async move {
    let Some(t) = fresh_db(backend, "crash", |_| async { Ok(()) }).await else {
        return;
    };
    // The server alone holds the database, as in production.
    t.db.close().await;
    let url = t.url.clone();
    let seed = std::env::var("VSYS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{backend:?}: crash seed {seed} (VSYS_CRASH_SEED replays it)");
    let mut rng = Rng(seed | 1);
    let mut server = start(&url, true);
    let w = Arc::new(set_up(&url, &server.base).await);
    let baseline = audit_counts(&url).await;
    let mut book = Ledger::default();
    for day in &w.days {
        book.objs
            .insert((Kind::Results, day.to_string()), Obj::default());
    }
    book.objs.insert(
        (Kind::Division, w.osaka_municipality.clone()),
        Obj::default(),
    );
    for d in &w.deliveries {
        book.objs
            .insert((Kind::Delivery, d.clone()), Obj::default());
    }
    let http = http();
    // Start from what the server holds.
    for ((kind, key), o) in book.objs.iter_mut() {
        if let Some((v, val)) = observe(&http, &server.base, &w, *kind, key).await {
            o.version = Some(v);
            o.value = Some(val);
        }
    }
    let n = rounds();
    let started = Instant::now();
    for round in 0..n {
        let acks = Arc::new(AtomicUsize::new(0));
        let target = 5 + rng.below(40) as usize;
        let mut tasks = Vec::new();
        for kind in [Kind::Results, Kind::Division, Kind::Delivery] {
            let objs: Vec<(String, Obj)> = book
                .objs
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, key), o)| (key.clone(), o.clone()))
                .collect();
            tasks.push((
                kind,
                tokio::spawn(writer(
                    server.base.clone(),
                    w.clone(),
                    kind,
                    objs,
                    acks.clone(),
                    rng.next(),
                )),
            ));
        }
        while acks.load(Ordering::SeqCst) < target {
            assert!(
                !tasks.iter().any(|(_, h)| h.is_finished()),
                "a writer stopped before the kill"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // SIGKILL mid-stream: every writer has a request on the wire or about to be.
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for (kind, h) in tasks {
            let (objs, acked, unanswered) = h.await.unwrap().unwrap_or_else(|e| panic!("{e}"));
            *book.acked.entry(kind).or_default() += acked;
            *book.unanswered.entry(kind).or_default() += i64::from(unanswered);
            for (key, o) in objs {
                book.objs.insert((kind, key), o);
            }
        }
        drop(server);
        server = start(&url, false);
        // Every acknowledged write is there: each object as acknowledged, or as the write
        // left in flight made it.
        for ((kind, key), o) in book.objs.iter_mut() {
            let now = observe(&http, &server.base, &w, *kind, key).await;
            let acked = o.version.zip(o.value.clone());
            let fine = match (&now, &acked) {
                (Some(n), Some(a)) if n == a => true,
                (None, None) => true,
                (Some((v, val)), _) => {
                    o.attempt.as_deref() == Some(val.as_str())
                        && o.version.is_none_or(|acked| *v > acked)
                }
                (None, Some(_)) => false,
            };
            assert!(
                fine,
                "round {round}: {kind:?} {key}: the server has {now:?}, acknowledged {acked:?}, in flight {:?}",
                o.attempt
            );
            o.version = now.as_ref().map(|n| n.0);
            o.value = now.map(|n| n.1);
            o.attempt = None;
        }
        // And so is each one's audit entry (written in the same transaction).
        let counts = audit_counts(&url).await;
        for kind in [Kind::Results, Kind::Division, Kind::Delivery] {
            let written = counts[&kind] - baseline[&kind];
            let acked = book.acked.get(&kind).copied().unwrap_or(0);
            let most = acked + book.unanswered.get(&kind).copied().unwrap_or(0);
            assert!(
                (acked..=most).contains(&written),
                "round {round}: {kind:?}: {written} audited, {acked} acknowledged, at most {most}"
            );
        }
        check_ledger(&http, &server.base, &w).await;
        let out = run_vsys(&url, &["audit", "verify"], None);
        assert!(out.status.success(), "round {round}: audit verify: {out:?}");
        if backend == Backend::Sqlite {
            sqlite_integrity(&url).await;
        }
        eprintln!(
            "{backend:?}: round {round}: killed after {} acknowledged writes; all present",
            acks.load(Ordering::SeqCst)
        );
    }
    let took = started.elapsed();
    eprintln!(
        "{backend:?}: {n} crash rounds in {took:?} ({:.2} rounds/s); acknowledged {:?}, unanswered {:?}",
        n as f64 / took.as_secs_f64(),
        book.acked,
        book.unanswered
    );
    drop(server);
});
