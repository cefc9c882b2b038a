//! Allocation nodes: per cycle and organisation, the amounts it received (vials, needles,
//! syringes), its status, and how its amount was computed.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::AllocationNodes as N;
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct NodeRow {
    pub id: String,
    pub cycle_id: String,
    pub org_code: String,
    pub parent_id: Option<String>,
    /// `nation`, `prefecture`, `municipality` or `site`.
    #[sqlx(try_from = "String")]
    pub level: vsys_domain::chain::Level,
    /// The organisation's path (for scope queries).
    pub path: String,
    /// Vaccine, always held in vials (exact for boxes and vials alike).
    pub vials: i64,
    pub needles: i64,
    pub syringes: i64,
    /// `unconfirmed`, `confirmed`, `divided` or `final`.
    #[sqlx(try_from = "String")]
    pub status: vsys_domain::chain::Status,
    /// Whether the owner can see and act on it (the parent finished dividing).
    pub released: bool,
    /// JSON explanation of how the amount was computed, stored with the division.
    pub explanation: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
}

const COLUMNS: [N; 15] = [
    N::Id,
    N::CycleId,
    N::OrgCode,
    N::ParentId,
    N::Level,
    N::Path,
    N::Vials,
    N::Needles,
    N::Syringes,
    N::Status,
    N::Released,
    N::Explanation,
    N::UpdatedAt,
    N::UpdatedBy,
    N::Version,
];

pub(crate) fn select() -> SelectStatement {
    Query::select().columns(COLUMNS).from(N::Table).to_owned()
}

/// Every write to allocation nodes bumps the [`crate::coordination::ALLOCATIONS`] signal in
/// the same transaction (read caches of divisions check it).
async fn changed(tx: &mut Tx) -> StoreResult<()> {
    crate::coordination::bump(tx, crate::coordination::ALLOCATIONS).await
}

pub async fn insert(tx: &mut Tx, n: &NodeRow) -> StoreResult<()> {
    insert_many(tx, std::slice::from_ref(n)).await
}

/// Inserts nodes in batches (a division's new lines).
pub async fn insert_many(tx: &mut Tx, nodes: &[NodeRow]) -> StoreResult<()> {
    changed(tx).await?;
    for chunk in nodes.chunks(2000) {
        let mut q = Query::insert()
            .into_table(N::Table)
            .columns(COLUMNS)
            .to_owned();
        for n in chunk {
            q.values_panic([
                n.id.clone().into(),
                n.cycle_id.clone().into(),
                n.org_code.clone().into(),
                n.parent_id.clone().into(),
                n.level.as_str().into(),
                n.path.clone().into(),
                n.vials.into(),
                n.needles.into(),
                n.syringes.into(),
                n.status.as_str().into(),
                n.released.into(),
                n.explanation.clone().into(),
                n.updated_at.into(),
                n.updated_by.clone().into(),
                n.version.into(),
            ]);
        }
        tx.exec(&q).await?;
    }
    Ok(())
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<NodeRow>> {
    tx.opt(&select().and_where(Expr::col(N::Id).eq(id)).to_owned())
        .await
}

pub async fn by_org(tx: &mut Tx, cycle_id: &str, org_code: &str) -> StoreResult<Option<NodeRow>> {
    tx.opt(
        &select()
            .and_where(Expr::col(N::CycleId).eq(cycle_id))
            .and_where(Expr::col(N::OrgCode).eq(org_code))
            .to_owned(),
    )
    .await
}

pub async fn children(tx: &mut Tx, parent_id: &str) -> StoreResult<Vec<NodeRow>> {
    tx.all(
        &select()
            .and_where(Expr::col(N::ParentId).eq(parent_id))
            .order_by(N::OrgCode, Order::Asc)
            .to_owned(),
    )
    .await
}

/// Nodes of a cycle under a path (the node at the path included), in path order.
pub async fn subtree(tx: &mut Tx, cycle_id: &str, path: &str) -> StoreResult<Vec<NodeRow>> {
    tx.all(
        &select()
            .and_where(Expr::col(N::CycleId).eq(cycle_id))
            .cond_where(crate::orgs::under(N::Path, path))
            .order_by(N::Path, Order::Asc)
            .to_owned(),
    )
    .await
}

/// Takes the node for a change: bumps its version if it is still `version`. Inside a
/// transaction this also locks the row (PostgreSQL) or the database (SQLite), so a concurrent
/// division of the same parent waits, then finds the version moved and fails with
/// [`StoreError::Conflict`].
pub async fn claim(
    tx: &mut Tx,
    id: &str,
    version: i64,
    now: DateTime<Utc>,
    by: Option<&str>,
) -> StoreResult<i64> {
    changed(tx).await?;
    let n = tx
        .exec(
            &Query::update()
                .table(N::Table)
                .values([
                    (N::Version, (version + 1).into()),
                    (N::UpdatedAt, now.into()),
                    (N::UpdatedBy, by.map(str::to_owned).into()),
                ])
                .and_where(Expr::col(N::Id).eq(id))
                .and_where(Expr::col(N::Version).eq(version))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(if get(tx, id).await?.is_some() {
            StoreError::Conflict
        } else {
            StoreError::NotFound
        });
    }
    Ok(version + 1)
}

/// Writes amounts, status, release and explanation of a node (the caller holds its parent).
pub async fn write(tx: &mut Tx, n: &NodeRow) -> StoreResult<()> {
    write_many(tx, std::slice::from_ref(n)).await
}

/// [`write`] for several nodes (a division's lines): one bump of the signal for all of them.
pub async fn write_many(tx: &mut Tx, nodes: &[NodeRow]) -> StoreResult<()> {
    if nodes.is_empty() {
        return Ok(());
    }
    changed(tx).await?;
    for n in nodes {
        write_one(tx, n).await?;
    }
    Ok(())
}

async fn write_one(tx: &mut Tx, n: &NodeRow) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(N::Table)
            .values([
                (N::Vials, n.vials.into()),
                (N::Needles, n.needles.into()),
                (N::Syringes, n.syringes.into()),
                (N::Status, n.status.as_str().into()),
                (N::Released, n.released.into()),
                (N::Explanation, n.explanation.clone().into()),
                (N::UpdatedAt, n.updated_at.into()),
                (N::UpdatedBy, n.updated_by.clone().into()),
                (N::Version, Expr::col(N::Version).add(1)),
            ])
            .and_where(Expr::col(N::Id).eq(n.id.as_str()))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Sets the status of every node under a path of one cycle (finalisation).
pub async fn set_status_under(
    tx: &mut Tx,
    cycle_id: &str,
    path: &str,
    status: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    changed(tx).await?;
    tx.exec(
        &Query::update()
            .table(N::Table)
            .values([
                (N::Status, status.into()),
                (N::UpdatedAt, now.into()),
                (N::Version, Expr::col(N::Version).add(1)),
            ])
            .cond_where(
                Cond::all()
                    .add(Expr::col(N::CycleId).eq(cycle_id))
                    .add(crate::orgs::under(N::Path, path)),
            )
            .to_owned(),
    )
    .await
}

/// Nodes of an organisation across cycles (its allocations), newest cycle first.
pub async fn for_org(tx: &mut Tx, org_code: &str) -> StoreResult<Vec<NodeRow>> {
    tx.all(
        &select()
            .and_where(Expr::col(N::OrgCode).eq(org_code))
            .order_by(N::UpdatedAt, Order::Desc)
            .to_owned(),
    )
    .await
}
