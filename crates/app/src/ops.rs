//! What operators watch (`/metrics`): the mail outbox's depth and lag, how long ago scheduled
//! work last ran in any process, and the database pool's use. Read at scrape time.

use crate::App;
use crate::error::AppResult;
use vsys_store::{coordination, outbox};

pub use vsys_store::ops::PoolStats;

/// The pool's use (no database call).
pub fn pool(app: &App) -> PoolStats {
    app.db.pool_stats()
}

/// What the database says about background work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// Mails not sent yet (due or waiting for a retry).
    pub outbox_pending: i64,
    /// How long the oldest unsent mail has been due (0 when none is).
    pub outbox_oldest_due_secs: f64,
    /// Seconds since a process last ran scheduled work (renewed its lease, every
    /// [`crate::maintenance::TICK`]); `None` before any process ever has.
    pub scheduled_lag_secs: Option<f64>,
}

/// Reads the backlog (two indexed reads in one snapshot).
pub async fn backlog(app: &App) -> AppResult<Backlog> {
    let now = app.clock.now();
    let mut tx = app.db.read().await?;
    let pending = outbox::pending_count(&mut tx).await?;
    let oldest = outbox::oldest_pending_due(&mut tx).await?;
    let lease = coordination::lease_expiry(&mut tx, crate::maintenance::LEASE).await?;
    drop(tx);
    let secs = |d: chrono::TimeDelta| d.num_milliseconds().max(0) as f64 / 1000.0;
    let ttl = crate::maintenance::TICK * crate::maintenance::LEASE_TICKS;
    Ok(Backlog {
        outbox_pending: pending,
        outbox_oldest_due_secs: oldest.map(|t| secs(now - t)).unwrap_or(0.0),
        scheduled_lag_secs: lease.map(|until| {
            let renewed = until - chrono::TimeDelta::from_std(ttl).unwrap_or_default();
            secs(now - renewed)
        }),
    })
}
