//! Bulk generator for the dashboard benchmark (`bench/dashboard.sh`, issue 15): on a database
//! already seeded with the demo world (`vsys demo --sites 70000`), writes a year of daily
//! results for every site (kinds `site` and `institution`: 70,000 × 365 ≈ 25.5 million rows of
//! `daily_results`) and one `delivered` stock-ledger entry per site every two weeks (≈ 1.8
//! million rows of `stock_ledger`).
//!
//!   cargo run --release -p vsys-bench --example dashboard_data -- DATABASE_URL [DAYS]
//!
//! Raw data only, on purpose not through the audited use-cases: no audit entries, no rollups
//! (run `vsys rollups rebuild` afterwards, as `bench/dashboard.sh` does), no `administered`
//! ledger entries for the days' doses (the use-case writes those; the benchmark's brief asks
//! for the deliveries only). For speed the generator loads with multi-row INSERTs (2,900 rows
//! per statement on SQLite, 5,000 on PostgreSQL) in transactions of 2,000 sites, with SQLite's
//! `synchronous = OFF` and foreign-key checks off (PostgreSQL: `session_replication_role =
//! replica`, which skips the foreign-key triggers) — for this generator only, on codes it has
//! just read from `orgs`. PostgreSQL's tables are vacuumed and analysed at the end (as
//! autovacuum would after a while); SQLite gets no `ANALYZE`, like a production database.
//!
//! The figures vary realistically and are the same on every run (an LCG seeded by each site's
//! code): a mass-vaccination site (`9…`) gives 150–1,500 doses a day, a clinic 5–120, in
//! waves over the year, fewer on Sundays at clinics, none on about 5 % of days; about 5 % of
//! days waste 1–3 vials with a reason. The year ends yesterday (Japan time). Sites are written
//! in code order, 2,000 per transaction, so a stopped run resumes after the last site it
//! committed; exits 0 without writing when every site has its results (delete the database to
//! regenerate).

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use sea_query::{Expr, ExprTrait, Query};
use std::time::Instant;
use vsys_store::db::Limits;
use vsys_store::schema::{DailyResults as R, Orgs};
use vsys_store::{Backend, Db, Tx};

type Error = Box<dyn std::error::Error>;

const SITES_PER_TRANSACTION: usize = 2_000;
const WASTE_REASONS: [&str; 4] = ["expired_after_thaw", "breakage", "cold_chain", "other"];

/// Knuth's MMIX LCG seeded by FNV-1a of a site's code.
struct Rng(u64);

impl Rng {
    fn for_code(code: &str, salt: u64) -> Rng {
        Rng(code.bytes().fold(0xcbf2_9ce4_8422_2325 ^ salt, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }))
    }
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1_u64 << 53) as f64
    }
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

struct Day {
    day: NaiveDate,
    total: i64,
    elderly: i64,
    underlying: i64,
    others: i64,
    wasted_vials: i64,
    waste_reason: Option<&'static str>,
    at: chrono::DateTime<Utc>,
}

struct Delivery {
    id: String,
    lot: String,
    vials: i64,
    at: chrono::DateTime<Utc>,
}

/// Noon-ish times in Japan as UTC: `hour` o'clock JST on `day`, plus `minutes`.
fn jst(day: NaiveDate, hour: u32, minutes: i64) -> chrono::DateTime<Utc> {
    let naive = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default());
    Utc.from_utc_datetime(&naive) - Duration::hours(9) + Duration::minutes(minutes)
}

/// A site's year: its daily results and its deliveries.
fn site_year(code: &str, first: NaiveDate, days: i64) -> (Vec<Day>, Vec<Delivery>) {
    let mut rng = Rng::for_code(code, 15);
    let mass = code.starts_with('9');
    let capacity = if mass {
        rng.between(150.0, 1_500.0)
    } else {
        // Most clinics small, a few large.
        5.0 + 115.0 * rng.next().powi(2)
    };
    let phase = rng.between(0.0, std::f64::consts::TAU);
    let mut out = Vec::with_capacity(days as usize);
    for i in 0..days {
        let day = first + Duration::days(i);
        let wave = 0.65 + 0.35 * ((i as f64) * std::f64::consts::TAU / 120.0 + phase).sin();
        let weekday = match (day.weekday(), mass) {
            (Weekday::Sun, false) => 0.2,
            (Weekday::Sat, false) => 0.7,
            (Weekday::Sat | Weekday::Sun, true) => 1.2,
            _ => 1.0,
        };
        let closed = rng.next() < 0.05;
        let total = if closed {
            0
        } else {
            (capacity * wave * weekday * rng.between(0.7, 1.3)).round() as i64
        };
        // The elderly first: their share falls over the year.
        let elderly_share = 0.7 - 0.5 * (i as f64 / days as f64) + rng.between(-0.1, 0.1);
        let elderly = ((total as f64) * elderly_share.clamp(0.0, 1.0)).round() as i64;
        let underlying = (((total - elderly) as f64) * rng.between(0.1, 0.3)).round() as i64;
        let others = total - elderly - underlying;
        let w = rng.next();
        let wasted_vials = if total == 0 || w >= 0.05 {
            0
        } else if w < 0.04 {
            1
        } else {
            2 + (w * 100.0) as i64 % 2
        };
        let waste_reason = (wasted_vials > 0)
            .then(|| WASTE_REASONS[(rng.next() * WASTE_REASONS.len() as f64) as usize % 4]);
        let at = jst(day, 18, (rng.next() * 240.0) as i64);
        out.push(Day {
            day,
            total,
            elderly,
            underlying,
            others,
            wasted_vials,
            waste_reason,
            at,
        });
    }
    // A delivery every two weeks, from a day of the first fortnight on: two weeks' doses in
    // vials of 6, with a margin.
    let offset = (rng.next() * 14.0) as i64;
    let mut deliveries = Vec::new();
    let mut k = 0;
    while offset + 14 * k < days {
        let day = first + Duration::days(offset + 14 * k);
        let at = jst(day, 10, (rng.next() * 120.0) as i64);
        let vials = std::cmp::Ord::max((capacity * 14.0 * 0.8 / 6.0).ceil() as i64, 1);
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            u64::try_from(at.timestamp()).unwrap_or(0),
            at.timestamp_subsec_nanos(),
        );
        deliveries.push(Delivery {
            id: uuid::Uuid::new_v7(ts).to_string(),
            lot: format!("BN{:02}{:04}", k, (rng.next() * 10_000.0) as u32),
            vials,
            at,
        });
        k += 1;
    }
    (out, deliveries)
}

async fn insert_results(
    tx: &mut Tx,
    rows: &[(&str, Day)],
    per_statement: usize,
) -> Result<(), Error> {
    for chunk in rows.chunks(per_statement) {
        let mut q = Query::insert()
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
            .to_owned();
        for (code, d) in chunk {
            q.values_panic([
                (*code).into(),
                d.day.into(),
                d.total.into(),
                d.elderly.into(),
                d.underlying.into(),
                d.others.into(),
                d.wasted_vials.into(),
                d.waste_reason.map(str::to_owned).into(),
                d.at.into(),
                None::<String>.into(),
                0i64.into(),
            ]);
        }
        tx.exec(&q).await?;
    }
    Ok(())
}

async fn insert_deliveries(tx: &mut Tx, rows: &[(&str, Delivery)]) -> Result<(), Error> {
    for chunk in rows.chunks(2_000) {
        let entries: Vec<vsys_store::ledger::LedgerRow> = chunk
            .iter()
            .map(|(code, d)| vsys_store::ledger::LedgerRow {
                id: d.id.clone(),
                org_code: (*code).to_owned(),
                lot: d.lot.clone(),
                cycle_id: None,
                kind: vsys_domain::ledger::EntryKind::Delivered,
                vials: d.vials,
                doses: d.vials * 6,
                doses_per_vial: 6,
                reason: None,
                note: None,
                reference: Some("bench:dashboard_data".to_owned()),
                reverses: None,
                at: d.at,
                by: None,
            })
            .collect();
        // The ledger's own INSERT, without the rollups' increments: `vsys rollups rebuild`
        // derives them afterwards.
        tx.exec(&vsys_store::ledger::insert_rows(&entries)).await?;
    }
    Ok(())
}

async fn run(url: &str, days: i64) -> Result<(), Error> {
    let db = Db::connect_limited(
        url,
        Limits {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(60),
            ..Limits::default()
        },
    )
    .await?;
    let backend = db.backend();
    // Sites are written in code order, 2,000 per transaction: a run that was stopped resumes
    // after the last site it committed.
    let (sites, done) = {
        let mut tx = db.read_long().await?;
        let (last,): (Option<String>,) = tx
            .one(
                &Query::select()
                    .expr(Expr::col(R::OrgCode).max())
                    .from(R::Table)
                    .to_owned(),
            )
            .await?;
        let rows: Vec<(String,)> = tx
            .all(
                &Query::select()
                    .column(Orgs::Code)
                    .from(Orgs::Table)
                    .and_where(Expr::col(Orgs::Kind).is_in(["site", "institution"]))
                    .to_owned(),
            )
            .await?;
        let mut all: Vec<String> = rows.into_iter().map(|(c,)| c).collect();
        all.sort();
        let total = all.len();
        let left: Vec<String> = all
            .into_iter()
            .filter(|c| last.as_ref().is_none_or(|l| c > l))
            .collect();
        if total > 0 && left.is_empty() {
            println!(
                "dashboard_data: the database already holds every site's results; nothing written"
            );
            return Ok(());
        }
        (left, total)
    };
    if sites.is_empty() {
        return Err("no sites: seed the demo world first (vsys demo --sites 70000)".into());
    }
    // For this bulk load only (one connection in the pool, so the pragmas hold for the
    // transactions below).
    if let Db::Sqlite(pool) = &db {
        let mut c = pool.acquire().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(
            "PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576;",
        ))
        .execute(&mut *c)
        .await?;
    }
    let yesterday = vsys_store::rollups::japan_day(Utc::now()) - Duration::days(1);
    let first = yesterday - Duration::days(days - 1);
    let per_statement = match backend {
        Backend::Sqlite => 2_900,
        Backend::Postgres => 5_000,
    };
    println!(
        "dashboard_data: {} sites × {days} days ({first} … {yesterday}) on {}{}",
        sites.len(),
        backend.name(),
        if sites.len() < done {
            format!(
                " (resuming: {} of {done} sites were written before)",
                done - sites.len()
            )
        } else {
            String::new()
        }
    );
    let started = Instant::now();
    let (mut results, mut entries) = (0usize, 0usize);
    for (n, batch) in sites.chunks(SITES_PER_TRANSACTION).enumerate() {
        let mut tx = db.begin_long().await?;
        if backend == Backend::Postgres {
            tx.raw("SET LOCAL session_replication_role = replica")
                .await?;
        }
        // Generated per half-batch to bound memory (a batch holds 730,000 rows).
        for part in batch.chunks(SITES_PER_TRANSACTION / 2) {
            let mut days_rows = Vec::with_capacity(part.len() * days as usize);
            let mut deliveries = Vec::new();
            for code in part {
                let (d, l) = site_year(code, first, days);
                days_rows.extend(d.into_iter().map(|d| (code.as_str(), d)));
                deliveries.extend(l.into_iter().map(|l| (code.as_str(), l)));
            }
            insert_results(&mut tx, &days_rows, per_statement).await?;
            insert_deliveries(&mut tx, &deliveries).await?;
            results += days_rows.len();
            entries += deliveries.len();
        }
        tx.commit().await?;
        db.checkpoint().await?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "dashboard_data: {:>6} / {} sites, {results} results, {entries} ledger entries, {secs:.0} s ({:.0} rows/s)",
            ((n + 1) * SITES_PER_TRANSACTION).min(sites.len()),
            sites.len(),
            results as f64 / secs.max(0.001)
        );
    }
    let loaded = started.elapsed().as_secs_f64();
    if let Db::Postgres(pool) = &db {
        // One statement per call: VACUUM refuses to run in the implicit transaction of a
        // multi-statement query.
        let mut c = pool.acquire().await?;
        for sql in [
            "SET statement_timeout = 0",
            "VACUUM (ANALYZE) daily_results",
            "VACUUM (ANALYZE) stock_ledger",
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *c)
                .await?;
        }
    }
    println!(
        "dashboard_data: wrote {results} daily results and {entries} ledger entries in {loaded:.0} s ({:.0} s with the final VACUUM ANALYZE); now run `vsys rollups rebuild`",
        started.elapsed().as_secs_f64()
    );
    db.close().await;
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: dashboard_data DATABASE_URL [DAYS (default 365)]")?;
    let days: i64 = args.next().map(|d| d.parse()).transpose()?.unwrap_or(365);
    if days < 1 {
        return Err("DAYS must be at least 1".into());
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(&url, days))
}
