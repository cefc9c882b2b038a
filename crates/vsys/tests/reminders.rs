#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! Two `vsys serve` processes on one database where deadline reminders are due: each late
//! organisation gets exactly one automatic reminder (one notice, one audit entry), although
//! both processes run scheduled work.

mod common;

use chrono::Duration;
use common::{Server, serve_args, vsys};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;
use vsys_app::allocation::{self, LineInput};
use vsys_app::{App, Config, SystemClock};
use vsys_store::Db;
use vsys_store::schema::Notices;
use vsys_testkit::{db_test, fresh_db};

fn config() -> Config {
    Config {
        secret_key: Some(vsys_testkit::TEST_SECRET_KEY.into()),
        mail_workers: 0,
        ..Default::default()
    }
}

fn start(url: &str, mail: &std::path::Path) -> Server {
    let mut cmd = vsys(url, &serve_args(&[]));
    cmd.env("VSYS_MAIL_DIR", mail).stderr(Stdio::inherit());
    common::start(cmd)
}

/// A cycle whose deadlines passed days ago (as the nation may create one): the nation divided
/// among the prefectures; 東京都 gave everything to 港区 (which the demo's autopilot leaves to
/// people) and finished; nobody else acted. The organisations late, by the dashboard's rule:
/// every other prefecture that received something, and 港区.
async fn late_cycle(app: &App) -> (String, Vec<String>) {
    let on = |email: &'static str| vsys_app::accounts::actor_on_host(app, email);
    let nation = on("nation-operator@demo.vsys.jp").await.unwrap();
    let cycles = vsys_app::cycles::list(app, &nation, vsys_store::Page::all())
        .await
        .unwrap()
        .0;
    let demo = cycles.iter().find(|c| c.number == 10).unwrap();
    let today = vsys_app::clock::japan_date(app.clock.now());
    let day = |d: i64| today + Duration::days(d);
    let cycle = vsys_app::cycles::create(
        app,
        &nation,
        &vsys_app::cycles::CycleInput {
            number: 61,
            name: None,
            vaccine_id: demo.vaccine_id.clone(),
            needle_id: demo.needle_id.clone(),
            syringe_id: demo.syringe_id.clone(),
            period_start: day(7),
            period_end: day(20),
            deadline_prefecture: day(-5),
            deadline_municipality: day(-4),
            deadline_site: day(-3),
            chain: None,
            unit_site: None,
            formulas: None,
        },
    )
    .await
    .unwrap();
    let id = cycle.id.as_str();
    let pfizer = on("pfizer-operator@demo.vsys.jp").await.unwrap();
    let warehouse = on("syringe-operator@demo.vsys.jp").await.unwrap();
    for (who, product, quantity) in [
        (&pfizer, Some(cycle.vaccine_id.clone()), 100),
        (&warehouse, cycle.needle_id.clone(), 1000),
        (&warehouse, cycle.syringe_id.clone(), 1000),
    ] {
        vsys_app::cycles::register_supply(
            app,
            who,
            id,
            &vsys_app::cycles::SupplyInput {
                supplier_code: None,
                product_id: product.unwrap(),
                quantity,
            },
        )
        .await
        .unwrap();
    }
    let v = allocation::division(app, &nation, id, "JP")
        .await
        .unwrap()
        .node
        .version;
    allocation::apply_autofill(app, &nation, id, "JP", v, None)
        .await
        .unwrap();
    allocation::finish(app, &nation, id, "JP").await.unwrap();
    let tokyo = on("tokyo-operator@demo.vsys.jp").await.unwrap();
    allocation::confirm(app, &tokyo, id, "13").await.unwrap();
    let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
    let boxes = d.node.vials / cycle.vials_per_box;
    allocation::save_division(
        app,
        &tokyo,
        id,
        "13",
        d.node.version,
        &[LineInput {
            org_code: "13103".into(),
            amount: boxes,
            needles: None,
            syringes: None,
        }],
        None,
    )
    .await
    .unwrap();
    allocation::finish(app, &tokyo, id, "13").await.unwrap();
    let mut late: Vec<String> = allocation::division(app, &nation, id, "JP")
        .await
        .unwrap()
        .children
        .iter()
        .filter(|c| c.org.code != "13" && c.node.as_ref().is_some_and(|n| n.vials > 0))
        .map(|c| c.org.code.clone())
        .collect();
    late.push("13103".to_owned());
    late.sort();
    (cycle.id, late)
}

/// The automatic reminders in the audit log: object (`cycle:org`) → entries.
async fn audited(db: &Db) -> BTreeMap<String, usize> {
    let mut tx = db.read().await.unwrap();
    let f = vsys_store::audit::AuditFilter {
        action_prefix: Some(vsys_app::reminders::ACTION.into()),
        ..Default::default()
    };
    let mut out = BTreeMap::new();
    for e in vsys_store::audit::search(&mut tx, &f, vsys_store::Page::first(500))
        .await
        .unwrap()
        .0
    {
        *out.entry(e.object_id).or_default() += 1;
    }
    out
}

/// The automatic reminder notices: organisation → how many.
async fn notices(db: &Db) -> BTreeMap<String, usize> {
    let mut tx = db.read().await.unwrap();
    let rows: Vec<(String, String)> = tx
        .all(
            &sea_query::Query::select()
                .columns([Notices::OrgCode, Notices::BodyJa])
                .from(Notices::Table)
                .to_owned(),
        )
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for (org, body) in rows {
        if body.contains("V-SYSからの自動のお知らせ") {
            *out.entry(org).or_default() += 1;
        }
    }
    out
}

db_test!(
    two_processes_send_each_reminder_once,
    |backend| async move {
        let key = format!(
            "reminder_processes_v1_{}",
            vsys_app::knowledge::manual_fingerprint()
        );
        let Some(t) = fresh_db(backend, &key, |db| async move {
            let app = App::new(db, config(), Arc::new(SystemClock));
            app.prepare().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            vsys_app::demo::seed(&app, 20, &|_, _| {})
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
        .await
        else {
            return;
        };
        let app = App::new(t.db.clone(), config(), Arc::new(SystemClock));
        let (cycle, late) = late_cycle(&app).await;
        assert!(late.len() > 1, "{late:?}");
        assert!(
            audited(&t.db).await.is_empty(),
            "nothing sent before the servers run"
        );

        let mail = tempfile::tempdir().unwrap();
        let a = start(&t.url, mail.path());
        let b = start(&t.url, mail.path());
        let started = Instant::now();
        while audited(&t.db).await.len() < late.len() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(120),
                "reminders sent: {:?}",
                audited(&t.db).await
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // Give a second sender every chance to send a duplicate (the step runs on start and every
        // minute; the lease moves to the other process only if the runner stops).
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        drop(a);
        drop(b);

        let audit = audited(&t.db).await;
        let expected: BTreeMap<String, usize> =
            late.iter().map(|o| (format!("{cycle}:{o}"), 1)).collect();
        assert_eq!(audit, expected, "one audit entry per late organisation");
        let expected: BTreeMap<String, usize> = late.iter().map(|o| (o.clone(), 1)).collect();
        assert_eq!(
            notices(&t.db).await,
            expected,
            "one notice per late organisation"
        );
        let mut tx = t.db.read().await.unwrap();
        let rows = vsys_store::reminders::sent(&mut tx, &cycle).await.unwrap();
        assert_eq!(rows.len(), late.len());
        assert!(rows.iter().all(|(_, _, source)| source == "auto"));
    }
);
