//! What keeping the dashboards' rollups costs a write (issue 15): a site's day of results
//! through `vsys_store::results::put` (the version check, the row, the municipality lookup and
//! the rollup's atomic increment) against the same-run baseline of the identical INSERT into
//! `daily_results` issued alone; and one stock-ledger entry through `vsys_store::ledger::append`
//! (the municipality lookup, the stock rollup's increment, the row) against the identical
//! INSERT alone. Each write is its own transaction, as a use-case's is; 100 sites of one
//! municipality write in turn, day after day backwards, so the rollup row of a day is hot for
//! 100 writes in a row (as when a municipality's sites report the same evening) and then new.
//!
//! SQLite always (a fresh file); PostgreSQL too when `VSYS_BENCH_ROLLUPS_PG_URL` names a
//! database (created by the caller; migrated here, reusable: each run adds its own
//! organisations). `cargo bench -p vsys-bench --bench rollups && bench/ratios.sh` prints the
//! ratios (groups `rollups_results_*`, `rollups_ledger_*`).

use chrono::{Duration, NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use sea_query::Query;
use std::cell::Cell;
use vsys_domain::ledger::EntryKind;
use vsys_store::ledger::LedgerRow;
use vsys_store::orgs::OrgRow;
use vsys_store::results::ResultRow;
use vsys_store::schema::DailyResults as R;
use vsys_store::{Db, Tx, ledger, migrate, orgs, results};

const SITES: usize = 100;

fn fail<E: std::fmt::Display>(e: E) -> ! {
    panic!("{e}")
}

fn org(code: &str, kind: vsys_domain::OrgKind, parent: Option<&OrgRow>) -> OrgRow {
    let now = Utc::now();
    OrgRow {
        code: code.into(),
        kind,
        name: code.into(),
        name_en: None,
        parent_code: parent.map(|p| p.code.clone()),
        path: match parent {
            Some(p) => format!("{}{code}/", p.path),
            None => format!("/{code}/"),
        },
        prefecture_code: None,
        population: Some(1000),
        lat: None,
        lng: None,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

/// A municipality of its own with `SITES` sites for one benchmark; their codes.
async fn sites(db: &Db, tag: &str) -> Vec<String> {
    let mut tx = db.begin().await.unwrap_or_else(|e| fail(e));
    let nation = match orgs::get(&mut tx, "JP").await.unwrap_or_else(|e| fail(e)) {
        Some(n) => n,
        None => {
            let n = org("JP", vsys_domain::OrgKind::Nation, None);
            orgs::insert_many(&mut tx, std::slice::from_ref(&n))
                .await
                .unwrap_or_else(|e| fail(e));
            n
        }
    };
    let muni = org(tag, vsys_domain::OrgKind::Municipality, Some(&nation));
    let rows: Vec<OrgRow> = (0..SITES)
        .map(|i| {
            org(
                &format!("{tag}{i:03}"),
                vsys_domain::OrgKind::Site,
                Some(&muni),
            )
        })
        .collect();
    orgs::insert_many(&mut tx, std::slice::from_ref(&muni))
        .await
        .unwrap_or_else(|e| fail(e));
    orgs::insert_many(&mut tx, &rows)
        .await
        .unwrap_or_else(|e| fail(e));
    tx.commit().await.unwrap_or_else(|e| fail(e));
    rows.into_iter().map(|r| r.code).collect()
}

/// The `i`-th write's site and day: the sites in turn, a day further back every `SITES` writes.
fn key(codes: &[String], i: usize) -> (String, NaiveDate) {
    let last = Utc::now().date_naive();
    (
        codes[i % codes.len()].clone(),
        last - Duration::days((i / codes.len()) as i64),
    )
}

fn result_row(code: String, day: NaiveDate, i: usize) -> ResultRow {
    let total = 20 + (i % 37) as i64;
    ResultRow {
        org_code: code,
        day,
        total,
        elderly: total / 2,
        underlying: total / 5,
        others: total - total / 2 - total / 5,
        wasted_vials: i.is_multiple_of(20) as i64,
        waste_reason: i.is_multiple_of(20).then(|| "breakage".to_owned()),
        updated_at: Utc::now(),
        updated_by: Some("bench".into()),
        version: 0,
    }
}

/// The INSERT `results::put` issues for a first write, alone.
async fn raw_result(tx: &mut Tx, r: &ResultRow) {
    tx.exec(
        &Query::insert()
            .into_table(R::Table)
            .columns([
                R::OrgCode,
                R::Day,
                R::Total,
                R::Elderly,
                R::Underlying,
                R::Others,
                R::WastedVials,
                R::WasteReason,
                R::UpdatedAt,
                R::UpdatedBy,
                R::Version,
            ])
            .values_panic([
                r.org_code.clone().into(),
                r.day.into(),
                r.total.into(),
                r.elderly.into(),
                r.underlying.into(),
                r.others.into(),
                r.wasted_vials.into(),
                r.waste_reason.clone().into(),
                r.updated_at.into(),
                r.updated_by.clone().into(),
                0i64.into(),
            ])
            .to_owned(),
    )
    .await
    .unwrap_or_else(|e| fail(e));
}

fn ledger_row(code: String, day: NaiveDate, i: usize) -> LedgerRow {
    let at = day
        .and_hms_opt(1, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now);
    LedgerRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_code: code,
        lot: format!("LOT{:03}", i % 100),
        cycle_id: None,
        kind: EntryKind::Delivered,
        vials: 10,
        doses: 60,
        doses_per_vial: 6,
        reason: None,
        note: None,
        reference: Some("bench".into()),
        reverses: None,
        at,
        by: Some("bench".into()),
    }
}

/// The INSERT `ledger::append` issues for one entry, alone.
async fn raw_entry(tx: &mut Tx, r: &LedgerRow) {
    tx.exec(&ledger::insert_rows(std::slice::from_ref(r)))
        .await
        .unwrap_or_else(|e| fail(e));
}

fn on(c: &mut Criterion, backend: &str, url: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e));
    let db = rt.block_on(async {
        let db = Db::connect(url).await.unwrap_or_else(|e| fail(e));
        migrate::run(&db, Utc::now())
            .await
            .unwrap_or_else(|e| fail(e));
        db
    });
    // Codes of this run only (a PostgreSQL database is reused across runs).
    let run = format!("{:x}", Utc::now().timestamp_millis() % 0xff_ffff);
    let mut results_group = c.benchmark_group(format!("rollups_results_{backend}"));
    let codes = rt.block_on(sites(&db, &format!("B{run}a")));
    let n = Cell::new(0usize);
    results_group.bench_function("baseline_insert_without_rollup", |b| {
        b.iter(|| {
            let i = n.replace(n.get() + 1);
            let (code, day) = key(&codes, i);
            let r = result_row(code, day, i);
            rt.block_on(async {
                let mut tx = db.begin().await.unwrap_or_else(|e| fail(e));
                raw_result(&mut tx, &r).await;
                tx.commit().await.unwrap_or_else(|e| fail(e));
            })
        })
    });
    let codes = rt.block_on(sites(&db, &format!("B{run}b")));
    let n = Cell::new(0usize);
    results_group.bench_function("put_with_rollup", |b| {
        b.iter(|| {
            let i = n.replace(n.get() + 1);
            let (code, day) = key(&codes, i);
            let r = result_row(code, day, i);
            rt.block_on(async {
                let mut tx = db.begin().await.unwrap_or_else(|e| fail(e));
                results::put(&mut tx, &r, None)
                    .await
                    .unwrap_or_else(|e| fail(e));
                tx.commit().await.unwrap_or_else(|e| fail(e));
            })
        })
    });
    results_group.finish();
    let mut ledger_group = c.benchmark_group(format!("rollups_ledger_{backend}"));
    let codes = rt.block_on(sites(&db, &format!("B{run}c")));
    let n = Cell::new(0usize);
    ledger_group.bench_function("baseline_insert_without_rollup", |b| {
        b.iter(|| {
            let i = n.replace(n.get() + 1);
            let (code, day) = key(&codes, i);
            let r = ledger_row(code, day, i);
            rt.block_on(async {
                let mut tx = db.begin().await.unwrap_or_else(|e| fail(e));
                raw_entry(&mut tx, &r).await;
                tx.commit().await.unwrap_or_else(|e| fail(e));
            })
        })
    });
    let codes = rt.block_on(sites(&db, &format!("B{run}d")));
    let n = Cell::new(0usize);
    ledger_group.bench_function("append_with_rollup", |b| {
        b.iter(|| {
            let i = n.replace(n.get() + 1);
            let (code, day) = key(&codes, i);
            let r = ledger_row(code, day, i);
            rt.block_on(async {
                let mut tx = db.begin().await.unwrap_or_else(|e| fail(e));
                ledger::append(&mut tx, std::slice::from_ref(&r))
                    .await
                    .unwrap_or_else(|e| fail(e));
                tx.commit().await.unwrap_or_else(|e| fail(e));
            })
        })
    });
    ledger_group.finish();
    rt.block_on(db.close());
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let url = format!("sqlite:{}", dir.path().join("rollups.db").display());
    on(c, "sqlite", &url);
    if let Ok(pg) = std::env::var("VSYS_BENCH_ROLLUPS_PG_URL") {
        on(c, "postgres", &pg);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
