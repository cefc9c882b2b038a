//! The bounds on database calls (`db::Limits`), on both backends: a call past the statement
//! timeout and a wait past the acquire timeout fail as `StoreError::Busy` (which the web layer
//! answers 503 with `Retry-After`); bulk work opts out of the time budget.

use std::time::{Duration, Instant};
use vsys_store::db::Limits;
use vsys_store::{Db, StoreError};
use vsys_testkit::db_test;

/// A statement that takes a while on either backend: counting a few million rows made up on
/// the fly.
const SLOW: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) SELECT count(*) FROM n";

async fn limited(url: &str, limits: Limits) -> Db {
    Db::connect_limited(url, limits)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

db_test!(calls_past_their_budget_are_busy, |backend| async move {
    let Some(t) = crate::migrated(backend).await else {
        return;
    };
    let db = limited(
        &t.url,
        Limits {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(300),
            statement_timeout: Duration::from_millis(200),
        },
    )
    .await;

    // Past the statement timeout: interrupted, reported as busy, and quickly.
    let started = Instant::now();
    let mut tx = db.read().await.unwrap();
    let r = tx.raw(SLOW).await;
    assert!(matches!(r, Err(StoreError::Busy(_))), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(tx);

    // Bulk work has no budget: the same statement completes.
    let mut tx = db.read_long().await.unwrap();
    tx.raw(SLOW).await.unwrap();
    drop(tx);

    // The connection went back with a fresh budget: an ordinary call works.
    let mut tx = db.read().await.unwrap();
    tx.raw("SELECT 1").await.unwrap();

    // With the only connection held, the next caller waits the acquire timeout, then is busy.
    let r = db.read().await;
    assert!(matches!(r, Err(StoreError::Busy(_))), "{:?}", r.err());
    drop(tx);
    db.read().await.unwrap();
    db.close().await;
});
