//! Scheduled upkeep while the server runs: checkpoints of SQLite's WAL, the e-mail of
//! announcements whose publication time has come (`notices::mail_due`), the automatic deadline
//! reminders (`crate::reminders`) and retention (expired sessions, quiet login counters, old
//! sent mail, finished jobs). Several processes may share
//! one database; a lease makes one of them the runner at a time.

use crate::App;
use chrono::Duration as Span;
use std::time::Duration;
use tokio::sync::watch;
use vsys_store::{coordination, jobs, outbox, sessions, throttle};

/// The lease that names the process running scheduled work.
pub const LEASE: &str = "scheduled";

/// How often the server runs scheduled work (and renews its lease).
pub const TICK: Duration = Duration::from_secs(1);

/// The lease is taken for this many ticks: another process takes over that long after the
/// runner stops renewing it.
pub const LEASE_TICKS: u32 = 5;

/// How often the runner looks for deadline reminders due (and at once on start and when the
/// day in Japan changes): an organisation becomes late when a day passes, or when its part
/// reaches it after its deadline.
pub const REMINDERS_EVERY: Duration = Duration::from_secs(60);

/// Seconds since the Unix epoch now (for the `…_timestamp_seconds` gauges).
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What one round of retention removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    pub sessions: u64,
    pub throttle_rows: u64,
    pub sent_mail: u64,
    pub jobs: u64,
}

/// Runs scheduled work every `tick` until `stop` turns true, while this process holds the
/// lease (taken for a few ticks and renewed each tick; when a runner dies another takes over
/// after the lease runs out). Retention runs every `retention_every`, the deadline reminders
/// every [`REMINDERS_EVERY`].
pub async fn run_scheduled(
    app: App,
    mut stop: watch::Receiver<bool>,
    tick: Duration,
    retention_every: Duration,
) {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7());
    let mut last_retention: Option<std::time::Instant> = None;
    let mut last_reminders: Option<(std::time::Instant, chrono::NaiveDate)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        match hold_lease(&app, &holder, tick).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "scheduled work: lease not taken");
                continue;
            }
        }
        checkpoint(&app).await;
        match crate::notices::mail_due(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(announcements = n, "announcements mailed"),
            Err(e) => tracing::warn!(error = %e, "announcements' mail failed; retrying"),
        }
        if last_retention.is_none_or(|t| t.elapsed() >= retention_every) {
            match retain(&app).await {
                Ok(r) => {
                    tracing::info!(?r, "retention");
                    metrics::gauge!("vsys_job_last_run_timestamp_seconds", "job" => "retention")
                        .set(unix_now());
                }
                Err(e) => tracing::warn!(error = %e, "retention failed; retrying later"),
            }
            last_retention = Some(std::time::Instant::now());
        }
        let today = crate::clock::japan_date(app.clock.now());
        if last_reminders.is_none_or(|(t, day)| t.elapsed() >= REMINDERS_EVERY || day != today) {
            match crate::reminders::run(&app).await {
                Ok(_) => {
                    metrics::gauge!("vsys_job_last_run_timestamp_seconds", "job" => "reminders")
                        .set(unix_now());
                }
                Err(e) => tracing::warn!(error = %e, "deadline reminders failed; retrying later"),
            }
            last_reminders = Some((std::time::Instant::now(), today));
        }
    }
    if let Ok(mut tx) = app.db.begin().await {
        let _ = coordination::release_lease(&mut tx, LEASE, &holder).await;
        let _ = tx.commit().await;
    }
}

/// Takes or renews the lease for [`LEASE_TICKS`] ticks.
async fn hold_lease(app: &App, holder: &str, tick: Duration) -> crate::AppResult<bool> {
    let now = app.clock.now();
    let ttl = Span::from_std(tick * LEASE_TICKS).unwrap_or(Span::seconds(5));
    let mut tx = app.db.begin().await?;
    let held = coordination::take_lease(&mut tx, LEASE, holder, now, now + ttl).await?;
    tx.commit().await?;
    Ok(held)
}

/// Copies what SQLite's WAL holds into the database file (see `Db::checkpoint`), so that
/// commits never pay for it. Nothing to do on PostgreSQL.
async fn checkpoint(app: &App) {
    match app.db.checkpoint().await {
        Ok(Some((log, done))) if log > done => {
            tracing::debug!(
                wal_pages = log,
                copied = done,
                "checkpoint: readers still hold part of the WAL"
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "checkpoint failed; retrying");
            return;
        }
    }
    metrics::gauge!("vsys_job_last_run_timestamp_seconds", "job" => "checkpoint").set(unix_now());
}

/// Removes what is kept no longer: sessions past their expiry or idle timeout, login counters
/// quiet for a day, mail sent more than `sent_mail_retention_days` ago, jobs a day old.
pub async fn retain(app: &App) -> crate::AppResult<Retention> {
    let now = app.clock.now();
    let idle_cutoff = now - Span::seconds(app.config.idle_timeout_secs);
    let mut tx = app.db.begin_long().await?;
    let r = Retention {
        sessions: sessions::purge(&mut tx, now, idle_cutoff).await?,
        throttle_rows: throttle::purge(&mut tx, now - Span::days(1)).await?,
        sent_mail: outbox::purge_sent(
            &mut tx,
            now - Span::days(app.config.sent_mail_retention_days.max(1)),
        )
        .await?,
        jobs: jobs::purge(&mut tx, now - Span::days(1)).await?,
    };
    // Deleting is a write like any other: a round that removed something says so in the audit
    // log, in the same transaction.
    if r != Retention::default() {
        crate::audit::record(
            &mut tx,
            &crate::audit::Who::system(),
            now,
            "system.retention",
            "database",
            "retention",
            None::<&()>,
            Some(&r),
        )
        .await?;
    }
    tx.commit().await?;
    app.changed().await;
    Ok(r)
}
