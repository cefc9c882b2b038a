//! The change signal between processes that share one database. A change that others may have
//! cached bumps its topic's counter in the same transaction (`vsys_store::coordination::bump`);
//! every process follows the counters — PostgreSQL wakes it at once with LISTEN/NOTIFY, SQLite
//! is polled — and drops what it cached of a topic whose counter moved.

use crate::App;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

pub use vsys_store::coordination::{REGISTRY, SESSIONS};

/// How often the counters are read when nothing woke us (SQLite has no notifications).
const POLL_SQLITE: Duration = Duration::from_millis(250);
/// On PostgreSQL notifications wake us; the poll only covers a lost listener connection.
const POLL_POSTGRES: Duration = Duration::from_secs(1);

/// The counters this process has seen, one per topic. Cheap to clone.
#[derive(Clone, Default)]
pub struct Signals {
    seen: Arc<RwLock<HashMap<String, i64>>>,
    /// Ticks whenever any counter moves (for those who wait rather than compare).
    changed: Arc<watch::Sender<u64>>,
}

impl Signals {
    /// The counter of `topic` as this process last saw it (0 before any change).
    pub fn version(&self, topic: &str) -> i64 {
        self.seen
            .read()
            .map(|m| m.get(topic).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Waits for any change (after subscribing, `changed().await` on the receiver).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Takes in counters read from the database; true when one moved.
    fn update(&self, versions: Vec<(String, i64)>) -> bool {
        let mut moved = false;
        if let Ok(mut m) = self.seen.write() {
            for (topic, v) in versions {
                let e = m.entry(topic).or_insert(0);
                if v > *e {
                    *e = v;
                    moved = true;
                }
            }
        }
        if moved {
            self.changed.send_modify(|n| *n = n.wrapping_add(1));
        }
        moved
    }

    /// Reads the counters now (after a change this process made, so it sees it at once).
    pub async fn refresh(&self, app: &App) -> crate::AppResult<bool> {
        let mut tx = app.db.read().await?;
        let versions = vsys_store::coordination::versions(&mut tx).await?;
        drop(tx);
        Ok(self.update(versions))
    }
}

/// Follows the counters until `stop` turns true: LISTEN on PostgreSQL, polling on both.
pub async fn run_follower(app: App, mut stop: watch::Receiver<bool>) {
    let mut listener = match app.db.listen(vsys_store::coordination::CHANNEL).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "change signal: cannot LISTEN; polling only");
            None
        }
    };
    let every = if listener.is_some() {
        POLL_POSTGRES
    } else {
        POLL_SQLITE
    };
    loop {
        if let Err(e) = app.signals.refresh(&app).await {
            tracing::warn!(error = %e, "change signal: reading the counters failed");
        }
        let heard = async {
            match listener.as_mut() {
                Some(l) => l.recv().await.map(|_| ()),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            r = heard => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "change signal: listener failed; polling");
                    tokio::time::sleep(every).await;
                }
            }
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
}
