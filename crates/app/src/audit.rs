//! Recording every write in the caller's transaction, searching the log, and verifying chains.

use crate::App;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use vsys_domain::Action;
use vsys_domain::audit::{ChainBreak, ChainVerifier, canonical_time};
use vsys_store::audit::{AuditFilter, AuditRow, NewEntry};
use vsys_store::{Page, Tx};

/// The partition of writes made by the system itself (start-up, CLI, workers).
pub const SYSTEM: &str = "system";

/// Who made a change, as the audit log records it.
#[derive(Debug, Clone)]
pub struct Who {
    pub user_id: Option<String>,
    pub org_code: Option<String>,
    pub ip: Option<String>,
}

impl Who {
    pub fn system() -> Who {
        Who {
            user_id: None,
            org_code: None,
            ip: None,
        }
    }
    /// A command run on the server's host (`vsys user create` …): no account, but the
    /// operating-system user who ran it is named as the actor (`cli:<os user>`).
    pub fn command_line(os_user: &str) -> Who {
        let user: String = os_user
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect();
        Who {
            user_id: Some(format!("cli:{user}")),
            org_code: None,
            ip: None,
        }
    }
    pub fn partition(&self) -> &str {
        self.org_code.as_deref().unwrap_or(SYSTEM)
    }
}

impl From<&Actor> for Who {
    fn from(a: &Actor) -> Who {
        Who {
            user_id: Some(a.user_id.clone()),
            org_code: Some(a.org_code().to_owned()),
            ip: a.ip.clone(),
        }
    }
}

fn json<T: Serialize>(v: Option<&T>) -> AppResult<Option<String>> {
    v.map(|v| serde_json::to_string(v).map_err(|e| AppError::Internal(e.into())))
        .transpose()
}

/// Appends one entry for a write (or a read of personal data) inside `tx`.
#[allow(clippy::too_many_arguments)]
pub async fn record<B: Serialize, A: Serialize>(
    tx: &mut Tx,
    who: &Who,
    at: DateTime<Utc>,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> AppResult<AuditRow> {
    let e = entry(who, at, action, object_type, object_id, before, after)?;
    Ok(vsys_store::audit::append(tx, e).await?)
}

/// One entry to record later with [`record_many`] (a bulk change: one entry per changed row,
/// written in batches).
#[allow(clippy::too_many_arguments)]
pub fn entry<B: Serialize, A: Serialize>(
    who: &Who,
    at: DateTime<Utc>,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> AppResult<NewEntry> {
    Ok(NewEntry {
        partition: who.partition().to_owned(),
        at,
        actor_user: who.user_id.clone(),
        actor_org: who.org_code.clone(),
        ip: who.ip.clone(),
        action: action.to_owned(),
        object_type: object_type.to_owned(),
        object_id: object_id.to_owned(),
        before: json(before)?,
        after: json(after)?,
    })
}

/// Appends many entries inside `tx`.
pub async fn record_many(tx: &mut Tx, entries: Vec<NewEntry>) -> AppResult<()> {
    vsys_store::audit::append_many(tx, entries).await?;
    Ok(())
}

/// Searches the log (nation administrators only).
pub async fn search(
    app: &App,
    actor: &Actor,
    f: &AuditFilter,
    page: Page,
) -> AppResult<(Vec<AuditRow>, i64)> {
    actor.require(Action::ReadAudit, &actor.principal.org_path)?;
    // A page and its count: each may see its own snapshot (see `Db::read_each`).
    let mut tx = app.db.read_each().await?;
    Ok(vsys_store::audit::search(&mut tx, f, page).await?)
}

/// The names of the people who acted in `rows` (for the audit screen), by user id. Whoever may
/// read the log may read who wrote it.
pub async fn actor_names(
    app: &App,
    actor: &Actor,
    rows: &[AuditRow],
) -> AppResult<std::collections::HashMap<String, String>> {
    actor.require(Action::ReadAudit, &actor.principal.org_path)?;
    let mut ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.actor_user.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut tx = app.db.read().await?;
    Ok(vsys_store::users::names(&mut tx, &ids)
        .await?
        .into_iter()
        .collect())
}

/// Result of verifying every chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub partitions: usize,
    pub entries: u64,
    pub breaks: Vec<ChainBreak>,
}

/// Verifies every partition's chain, streaming entries in batches.
/// Verifies every hash chain of the audit log (nation administrators).
pub async fn verify(app: &App, actor: &Actor) -> AppResult<VerifyReport> {
    actor.require(Action::ReadAudit, &actor.principal.org_path)?;
    verify_chains(app).await
}

/// The same check run by the host's operator (`vsys audit verify`), who holds the database
/// anyway; no account is involved.
pub async fn verify_on_host(app: &App) -> AppResult<VerifyReport> {
    verify_chains(app).await
}

async fn verify_chains(app: &App) -> AppResult<VerifyReport> {
    let mut tx = app.db.read_long().await?;
    let heads = vsys_store::audit::heads(&mut tx).await?;
    let mut names: Vec<String> = heads.iter().map(|h| h.0.clone()).collect();
    for p in vsys_store::audit::partitions(&mut tx).await? {
        if !names.contains(&p) {
            names.push(p);
        }
    }
    let mut report = VerifyReport {
        partitions: names.len(),
        entries: 0,
        breaks: Vec::new(),
    };
    for name in names {
        let mut v = ChainVerifier::new(&name);
        let mut after = 0;
        loop {
            let batch = vsys_store::audit::partition_entries(&mut tx, &name, after, 2000).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            for e in &batch {
                let at = canonical_time(e.at);
                v.feed(&e.content(&at), &e.hash);
            }
            report.entries += batch.len() as u64;
        }
        let head = heads
            .iter()
            .find(|h| h.0 == name)
            .map(|h| (h.1, h.2.as_str()));
        report.breaks.extend(v.finish(head));
    }
    Ok(report)
}

/// Exports the log (nation administrators only); the export itself is recorded.
pub async fn export(
    app: &App,
    actor: &Actor,
    f: &AuditFilter,
    max_rows: u64,
) -> AppResult<Vec<AuditRow>> {
    actor.require(Action::ReadAudit, &actor.principal.org_path)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (rows, _) = vsys_store::audit::search(
        &mut tx,
        f,
        Page {
            page: 1,
            per_page: max_rows,
        },
    )
    .await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "audit.export",
        "audit",
        "-",
        None::<&()>,
        Some(&serde_json::json!({"rows": rows.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(rows)
}
