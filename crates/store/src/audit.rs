//! The append-only audit log with a hash chain per partition.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::{AuditHeads, AuditLog};
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;
use vsys_domain::audit::{EntryContent, GENESIS, canonical_time, entry_hash, truncate_micros};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct AuditRow {
    pub id: String,
    pub partition: String,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_user: Option<String>,
    pub actor_org: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub hash: String,
}

impl AuditRow {
    /// The hashed content; `at_text` must be [`canonical_time`] of `self.at`.
    pub fn content<'a>(&'a self, at_text: &'a str) -> EntryContent<'a> {
        EntryContent {
            partition: &self.partition,
            seq: self.seq,
            at: at_text,
            actor_user: self.actor_user.as_deref(),
            actor_org: self.actor_org.as_deref(),
            ip: self.ip.as_deref(),
            action: &self.action,
            object_type: &self.object_type,
            object_id: &self.object_id,
            before: self.before.as_deref(),
            after: self.after.as_deref(),
        }
    }
}

const COLUMNS: [AuditLog; 13] = [
    AuditLog::Id,
    AuditLog::Partition,
    AuditLog::Seq,
    AuditLog::At,
    AuditLog::ActorUser,
    AuditLog::ActorOrg,
    AuditLog::Ip,
    AuditLog::Action,
    AuditLog::ObjectType,
    AuditLog::ObjectId,
    AuditLog::Before,
    AuditLog::After,
    AuditLog::Hash,
];

/// What a caller records; the chain fields are filled in by [`append`].
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    pub partition: String,
    pub at: DateTime<Utc>,
    pub actor_user: Option<String>,
    pub actor_org: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Appends an entry to its partition's chain inside the caller's transaction (see
/// [`append_many`]).
pub async fn append(tx: &mut Tx, e: NewEntry) -> StoreResult<AuditRow> {
    let mut rows = append_many(tx, vec![e]).await?;
    rows.pop().ok_or(crate::StoreError::NotFound)
}

/// Appends entries, in order, to their partitions' chains inside the caller's transaction.
/// Each partition's head row is advanced once for all its entries (which locks it: PostgreSQL
/// row lock, SQLite write lock), so appends within one partition are serialised while
/// different partitions never wait for each other; the entries are then written in batches.
pub async fn append_many(tx: &mut Tx, entries: Vec<NewEntry>) -> StoreResult<Vec<AuditRow>> {
    let mut partitions: Vec<String> = Vec::new();
    for e in &entries {
        if !partitions.contains(&e.partition) {
            partitions.push(e.partition.clone());
        }
    }
    let mut rows: Vec<AuditRow> = Vec::with_capacity(entries.len());
    let mut heads: Vec<(String, String)> = Vec::new();
    for p in &partitions {
        let n = entries.iter().filter(|e| &e.partition == p).count() as i64;
        tx.exec(
            &Query::insert()
                .into_table(AuditHeads::Table)
                .columns([AuditHeads::Partition, AuditHeads::Seq, AuditHeads::Hash])
                .values_panic([p.clone().into(), 0i64.into(), GENESIS.into()])
                .on_conflict(
                    OnConflict::column(AuditHeads::Partition)
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        let (last, prev): (i64, String) = tx
            .one(
                &Query::update()
                    .table(AuditHeads::Table)
                    .value(AuditHeads::Seq, Expr::col(AuditHeads::Seq).add(n))
                    .and_where(Expr::col(AuditHeads::Partition).eq(p.as_str()))
                    .returning(Query::returning().columns([AuditHeads::Seq, AuditHeads::Hash]))
                    .to_owned(),
            )
            .await?;
        heads.push((p.clone(), prev));
        for (seq, e) in (last - n + 1..).zip(entries.iter().filter(|e| &e.partition == p)) {
            let at = truncate_micros(e.at);
            let mut row = AuditRow {
                id: uuid::Uuid::now_v7().to_string(),
                partition: e.partition.clone(),
                seq,
                at,
                actor_user: e.actor_user.clone(),
                actor_org: e.actor_org.clone(),
                ip: e.ip.clone(),
                action: e.action.clone(),
                object_type: e.object_type.clone(),
                object_id: e.object_id.clone(),
                before: e.before.clone(),
                after: e.after.clone(),
                hash: String::new(),
            };
            let prev_hash = match heads.iter_mut().find(|h| &h.0 == p) {
                Some(h) => h,
                None => continue,
            };
            let at_text = canonical_time(at);
            row.hash = entry_hash(&prev_hash.1, &row.content(&at_text));
            prev_hash.1 = row.hash.clone();
            rows.push(row);
        }
    }
    for chunk in rows.chunks(2000) {
        let mut q = Query::insert()
            .into_table(AuditLog::Table)
            .columns(COLUMNS)
            .to_owned();
        for row in chunk {
            q.values_panic([
                row.id.clone().into(),
                row.partition.clone().into(),
                row.seq.into(),
                row.at.into(),
                row.actor_user.clone().into(),
                row.actor_org.clone().into(),
                row.ip.clone().into(),
                row.action.clone().into(),
                row.object_type.clone().into(),
                row.object_id.clone().into(),
                row.before.clone().into(),
                row.after.clone().into(),
                row.hash.clone().into(),
            ]);
        }
        tx.exec(&q).await?;
    }
    for (p, hash) in heads {
        tx.exec(
            &Query::update()
                .table(AuditHeads::Table)
                .value(AuditHeads::Hash, hash)
                .and_where(Expr::col(AuditHeads::Partition).eq(p.as_str()))
                .to_owned(),
        )
        .await?;
    }
    Ok(rows)
}

/// Search filter for the audit screen and export.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub partition: Option<String>,
    pub actor_user: Option<String>,
    pub action_prefix: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

fn filtered(f: &AuditFilter) -> SelectStatement {
    let cond = Cond::all()
        .add_option(
            f.partition
                .as_deref()
                .map(|p| Expr::col(AuditLog::Partition).eq(p)),
        )
        .add_option(
            f.actor_user
                .as_deref()
                .map(|p| Expr::col(AuditLog::ActorUser).eq(p)),
        )
        .add_option(
            f.action_prefix
                .as_deref()
                .map(|p| crate::orgs::under(AuditLog::Action, p)),
        )
        .add_option(
            f.object_type
                .as_deref()
                .map(|p| Expr::col(AuditLog::ObjectType).eq(p)),
        )
        .add_option(
            f.object_id
                .as_deref()
                .map(|p| Expr::col(AuditLog::ObjectId).eq(p)),
        )
        .add_option(f.from.map(|t| Expr::col(AuditLog::At).gte(t)))
        .add_option(f.until.map(|t| Expr::col(AuditLog::At).lt(t)));
    Query::select()
        .from(AuditLog::Table)
        .cond_where(cond)
        .to_owned()
}

pub async fn search(
    tx: &mut Tx,
    f: &AuditFilter,
    page: crate::Page,
) -> StoreResult<(Vec<AuditRow>, i64)> {
    let count = filtered(f).expr(crate::db::count_rows()).to_owned();
    let rows = filtered(f)
        .columns(COLUMNS)
        .order_by(AuditLog::At, Order::Desc)
        .order_by(AuditLog::Id, Order::Desc)
        .to_owned();
    tx.page(rows, count, page).await
}

/// Every partition with its head (seq, hash).
pub async fn heads(tx: &mut Tx) -> StoreResult<Vec<(String, i64, String)>> {
    tx.all(
        &Query::select()
            .columns([AuditHeads::Partition, AuditHeads::Seq, AuditHeads::Hash])
            .from(AuditHeads::Table)
            .order_by(AuditHeads::Partition, Order::Asc)
            .to_owned(),
    )
    .await
}

/// Partitions that have entries but no head row (a deleted head is tampering too).
pub async fn partitions(tx: &mut Tx) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = tx
        .all(
            &Query::select()
                .distinct()
                .column(AuditLog::Partition)
                .from(AuditLog::Table)
                .to_owned(),
        )
        .await?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

/// Entries of a partition with `seq > after_seq`, in order, at most `limit`.
pub async fn partition_entries(
    tx: &mut Tx,
    partition: &str,
    after_seq: i64,
    limit: u64,
) -> StoreResult<Vec<AuditRow>> {
    tx.all(
        &Query::select()
            .columns(COLUMNS)
            .from(AuditLog::Table)
            .and_where(Expr::col(AuditLog::Partition).eq(partition))
            .and_where(Expr::col(AuditLog::Seq).gt(after_seq))
            .order_by(AuditLog::Seq, Order::Asc)
            .limit(limit)
            .to_owned(),
    )
    .await
}
