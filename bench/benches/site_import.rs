//! 医療機関の一括登録 on SQLite: a Shift_JIS file of 80,000 institutions spread over the 1,741
//! real municipalities (every tenth a satellite of an institution of the same municipality),
//! imported by a nation operator (`vsys_app::site_import::import`).
//!
//! * `baseline_decode_parse`: reading the file only (`csv_files::decode` + `parse`).
//! * `import_80k_new`: the whole import into a database that has only the master data (a fresh
//!   copy each iteration): read, check, create 80,000 organisations and profiles, audit.
//! * `reimport_80k_unchanged`: the same file again: read, check, compare, nothing written but
//!   the audit entry.
//!
//! Goal: the full import under 10 s in a release build. `cargo bench -p vsys-bench --bench
//! site_import && bench/ratios.sh`.

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vsys_app::csv_files::{self, Encoding};
use vsys_app::site_import::{self, HEADERS, ImportSummary};
use vsys_app::{Actor, App, Config, SystemClock};
use vsys_store::Db;
use vsys_store::users::UserRow;

const ROWS: usize = 80_000;
const EMAIL: &str = "bench-nation-operator@example.jp";

fn fail<E: std::fmt::Display>(e: E) -> ! {
    panic!("{e}")
}

/// The file: 80,000 rows, municipality by municipality in turn, codes numbered per prefecture.
fn file() -> Vec<u8> {
    let munis = vsys_app::master_data::municipalities().unwrap_or_else(|e| fail(e));
    let mut serial: std::collections::HashMap<String, u32> = Default::default();
    let mut codes: Vec<String> = Vec::with_capacity(ROWS);
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        let m = &munis[i % munis.len()];
        let n = serial.entry(m.prefecture_code.clone()).or_insert(0);
        *n += 1;
        let code = format!("{}5{:07}", m.prefecture_code, n);
        // Every tenth row (after the first round) is a satellite of the same municipality's
        // institution of the previous round.
        let satellite = i >= munis.len() && i % 10 == 9;
        // (Row i - 1,741 has i % 10 == 8 there: always a hub.)
        let hub = if satellite {
            codes[i - munis.len()].clone()
        } else {
            String::new()
        };
        rows.push(vec![
            code.clone(),
            if i % 50 == 0 {
                format!("{:010}", i)
            } else {
                String::new()
            },
            format!("{}医院{}", m.name, i / munis.len() + 1),
            format!("{:03}-{:04}", 100 + i % 800, i % 10_000),
            m.code.clone(),
            format!(
                "{}{}{}丁目{}番",
                m.prefecture,
                m.name,
                i % 9 + 1,
                i % 30 + 1
            ),
            format!("代表 {}", i % 1000),
            ["契約済", "手続中", "未契約"][i % 3].to_owned(),
            if satellite {
                "サテライト型".into()
            } else {
                "基本型".into()
            },
            hub,
        ]);
        codes.push(code);
    }
    csv_files::write(&HEADERS, &rows, Encoding::ShiftJis).unwrap_or_else(|e| fail(e))
}

/// A database with the master data and a nation operator, closed, to copy for each run.
async fn template(path: &Path) {
    let db = Db::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap_or_else(|e| fail(e));
    let app = App::new(db.clone(), Config::default(), Arc::new(SystemClock));
    app.prepare().await.unwrap_or_else(|e| fail(e));
    let now = Utc::now();
    let mut tx = db.begin().await.unwrap_or_else(|e| fail(e));
    vsys_store::users::insert(
        &mut tx,
        &UserRow::new(
            "JP",
            EMAIL,
            "ベンチ 利用者".into(),
            vsys_domain::Role::Operator,
            "-".into(),
            false,
            now,
        ),
    )
    .await
    .unwrap_or_else(|e| fail(e));
    tx.commit().await.unwrap_or_else(|e| fail(e));
    app.close().await;
}

/// Copies the template (its WAL was checkpointed on close) and opens the copy.
async fn open_copy(template: &Path, copy: &Path) -> (App, Actor) {
    std::fs::copy(template, copy).unwrap_or_else(|e| fail(e));
    let db = Db::connect(&format!("sqlite:{}", copy.display()))
        .await
        .unwrap_or_else(|e| fail(e));
    let app = App::new(db, Config::default(), Arc::new(SystemClock));
    let actor = vsys_app::accounts::actor_on_host(&app, EMAIL)
        .await
        .unwrap_or_else(|e| fail(e));
    (app, actor)
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// An import that prints when each phase starts (seconds from the start).
async fn import_timed(app: &App, actor: &Actor, bytes: &[u8]) -> ImportSummary {
    let start = Instant::now();
    let seen = std::sync::Mutex::new(Vec::<String>::new());
    let s = site_import::import(app, actor, bytes, &|phase, _, _| {
        let name = format!("{phase:?}");
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.contains(&name) {
            println!("  {name:<9} from {:6.2} s", start.elapsed().as_secs_f64());
            seen.push(name);
        }
    })
    .await
    .unwrap_or_else(|e| fail(format!("{e:?}")));
    println!(
        "  {:<9} at   {:6.2} s",
        "end",
        start.elapsed().as_secs_f64()
    );
    s
}

async fn import(app: &App, actor: &Actor, bytes: &[u8]) -> ImportSummary {
    site_import::import(app, actor, bytes, &|_, _, _| {})
        .await
        .unwrap_or_else(|e| fail(format!("{e:?}")))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e));
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let template_path = dir.path().join("template.db");
    rt.block_on(template(&template_path));
    let bytes = file();

    // One run of each outside criterion, to show the figures and check the counts.
    let once = dir.path().join("once.db");
    let (app, actor) = rt.block_on(open_copy(&template_path, &once));
    let t = Instant::now();
    println!("site import of new rows, by phase:");
    let s = rt.block_on(import_timed(&app, &actor, &bytes));
    let first = t.elapsed();
    assert_eq!((s.rows, s.created, s.unchanged), (ROWS, ROWS, 0));
    let t = Instant::now();
    println!("site import of unchanged rows, by phase:");
    let s = rt.block_on(import_timed(&app, &actor, &bytes));
    let again = t.elapsed();
    assert_eq!((s.created, s.updated, s.unchanged), (0, 0, ROWS));
    println!(
        "site import: {} bytes (Shift_JIS), {ROWS} rows: new {:.2} s, unchanged {:.2} s",
        bytes.len(),
        first.as_secs_f64(),
        again.as_secs_f64()
    );

    let mut g = c.benchmark_group("site_import_80k_sqlite");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.bench_function("baseline_decode_parse", |b| {
        b.iter(|| {
            let (text, _) = csv_files::decode(black_box(&bytes)).unwrap_or_else(|e| fail(e));
            csv_files::parse(&text, &HEADERS[..8]).unwrap_or_else(|e| fail(e))
        })
    });
    let mut n = 0usize;
    let mut previous: Option<PathBuf> = None;
    g.bench_function("import_80k_new", |b| {
        b.iter_batched(
            || {
                if let Some(p) = previous.take() {
                    remove_db(&p);
                }
                n += 1;
                let path = dir.path().join(format!("run-{n}.db"));
                previous = Some(path.clone());
                rt.block_on(open_copy(&template_path, &path))
            },
            |(app, actor)| {
                let s = rt.block_on(import(&app, &actor, &bytes));
                assert_eq!(s.created, ROWS);
                // Closing the pool (and dropping the app) is left out of the timing.
                (app, actor)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("reimport_80k_unchanged", |b| {
        b.iter(|| {
            let s = rt.block_on(import(&app, &actor, &bytes));
            assert_eq!(s.unchanged, ROWS);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
