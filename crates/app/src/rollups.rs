//! The dashboards' rollups (`vsys_store::rollups`): kept by every write of results and of the
//! stock ledger in its own transaction; built once when a database first has them (an older
//! database gains them by migration with its rows already there); checked and rebuilt from
//! the raw rows by the operator (`vsys rollups check`, `vsys rollups rebuild`).

use crate::App;
use crate::audit::{Who, record};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use vsys_store::{Db, coordination, rollups};

/// The counter moved by every rebuild (0: never built on this database). Named after what
/// the rollups hold: when that changes (here: prefectures' and deliveries' rollups, and
/// corrections counted under the kind they reverse) the name changes, so every database
/// rebuilds them once.
pub const TOPIC: &str = "rollups-2";

/// What a rebuild or a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Rows of results per day × municipality.
    pub result_rows: usize,
    /// Rows of stock movements per day × municipality × cycle × kind.
    pub stock_rows: usize,
    /// Keys whose stored figures differ from the raw rows' (a check; 0 after a rebuild).
    pub differences: usize,
}

async fn rebuild_in(db: &Db, now: DateTime<Utc>, who: &Who) -> AppResult<Report> {
    let mut tx = db.begin_long().await?;
    let (result_rows, stock_rows) = rollups::rebuild(&mut tx).await?;
    coordination::bump(&mut tx, TOPIC).await?;
    record(
        &mut tx,
        who,
        now,
        "rollups.rebuild",
        "rollups",
        "all",
        None::<&()>,
        Some(&serde_json::json!({"result_rows": result_rows, "stock_rows": stock_rows})),
    )
    .await?;
    tx.commit().await?;
    Ok(Report {
        result_rows,
        stock_rows,
        differences: 0,
    })
}

/// Builds the rollups from the raw rows once, when this database never had them built.
pub async fn ensure_built(db: &Db, now: DateTime<Utc>) -> AppResult<Option<Report>> {
    if coordination::version(db, TOPIC).await? > 0 {
        return Ok(None);
    }
    rebuild_in(db, now, &Who::system()).await.map(Some)
}

/// Replaces the rollups with the figures of the raw rows (the operator's command; audited).
pub async fn rebuild(app: &App) -> AppResult<Report> {
    rebuild_in(&app.db, app.clock.now(), &Who::system()).await
}

/// How many keys differ between two sets of figures (in one and not the other, or different).
fn differing<K: Ord, V: PartialEq>(
    fresh: &std::collections::BTreeMap<K, V>,
    stored: &std::collections::BTreeMap<K, V>,
) -> usize {
    fresh
        .iter()
        .filter(|(k, v)| stored.get(*k) != Some(*v))
        .count()
        + stored.keys().filter(|k| !fresh.contains_key(*k)).count()
}

/// Compares the stored rollups with the raw rows' figures.
pub async fn check(app: &App) -> AppResult<Report> {
    let mut tx = app.db.read_long().await?;
    let fresh = rollups::recompute(&mut tx).await?;
    let stored = rollups::stored(&mut tx).await?;
    let differences = differing(&fresh.results, &stored.results)
        + differing(&fresh.stock, &stored.stock)
        + differing(&fresh.prefecture_results, &stored.prefecture_results)
        + differing(&fresh.prefecture_stock, &stored.prefecture_stock)
        + differing(&fresh.deliveries, &stored.deliveries);
    Ok(Report {
        result_rows: stored.results.len(),
        stock_rows: stored.stock.len(),
        differences,
    })
}
