//! Background upkeep of the database while the server runs.

use crate::App;
use std::time::Duration;
use tokio::sync::watch;

/// Checkpoints SQLite's WAL every `every` until `stop` turns true, so that commits never pay
/// for copying the WAL into the database file (see `Db::checkpoint`). Does nothing on
/// PostgreSQL.
pub async fn run_checkpointer(app: App, mut stop: watch::Receiver<bool>, every: Duration) {
    if app.db.backend() != vsys_store::Backend::Sqlite {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        match app.db.checkpoint().await {
            Ok(Some((log, done))) if log > done => {
                tracing::debug!(
                    wal_pages = log,
                    copied = done,
                    "checkpoint: readers still hold part of the WAL"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "checkpoint failed; retrying"),
        }
    }
}
