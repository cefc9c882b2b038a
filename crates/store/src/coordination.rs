//! What several processes sharing one database agree on: who runs a piece of scheduled work
//! (leases), and what changed since they last looked (a counter per topic).

use crate::db::{Backend, Db, Tx};
use crate::error::StoreResult;
use crate::schema::{Changes, Leases};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Query};

/// Takes or renews the lease `name` for `holder` until `until`, unless another holder's lease
/// is still running at `now`. True when `holder` holds it afterwards.
pub async fn take_lease(
    tx: &mut Tx,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    tx.exec(
        &Query::insert()
            .into_table(Leases::Table)
            .columns([Leases::Name, Leases::Holder, Leases::ExpiresAt])
            .values_panic([name.into(), holder.into(), until.into()])
            .on_conflict(
                OnConflict::column(Leases::Name)
                    .update_columns([Leases::Holder, Leases::ExpiresAt])
                    .action_and_where(
                        Expr::col((Leases::Table, Leases::ExpiresAt))
                            .lte(now)
                            .or(Expr::col((Leases::Table, Leases::Holder)).eq(holder)),
                    )
                    .to_owned(),
            )
            .to_owned(),
    )
    .await?;
    let current: Option<(String,)> = tx
        .opt(
            &Query::select()
                .column(Leases::Holder)
                .from(Leases::Table)
                .and_where(Expr::col(Leases::Name).eq(name))
                .to_owned(),
        )
        .await?;
    Ok(current.is_some_and(|(h,)| h == holder))
}

/// Gives a lease up (a process stopping).
pub async fn release_lease(tx: &mut Tx, name: &str, holder: &str) -> StoreResult<()> {
    tx.exec(
        &Query::delete()
            .from_table(Leases::Table)
            .and_where(Expr::col(Leases::Name).eq(name))
            .and_where(Expr::col(Leases::Holder).eq(holder))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Accounts and sessions: whatever changes who a session token stands for. Bumped by the
/// repositories of sessions and users themselves, so no use-case can forget it.
pub const SESSIONS: &str = "sessions";
/// The registry: organisations, sites' profiles (details, reservation status, confirmation)
/// and their pending changes, the vaccines sites handle, and citizens' notices. Bumped by the
/// repositories of those tables themselves (every
/// write); the read caches of organisation and site lists check it on every read, and the
/// public site's snapshot follows it.
pub const REGISTRY: &str = "registry";
/// What a division shows: cycles, allocation nodes, sites' requests and the organisations they
/// name. Bumped by the repositories of those tables themselves (every write), so no use-case
/// can forget it; read caches of divisions check it on every read.
pub const ALLOCATIONS: &str = "allocations";

/// The PostgreSQL channel that carries the topics of committed changes.
pub const CHANNEL: &str = "vsys_changes";

/// Bumps the counter of `topic` in the caller's transaction (so the bump commits with the
/// change, or not at all); on PostgreSQL also NOTIFYs the topic, delivered at commit.
pub async fn bump(tx: &mut Tx, topic: &str) -> StoreResult<()> {
    bump_each(tx, &[topic]).await
}

/// [`bump`] for several topics in one statement (a write that more than one cache shows).
pub async fn bump_each(tx: &mut Tx, topics: &[&str]) -> StoreResult<()> {
    if topics.is_empty() {
        return Ok(());
    }
    let mut q = Query::insert()
        .into_table(Changes::Table)
        .columns([Changes::Topic, Changes::Version])
        .to_owned();
    for topic in topics {
        q.values_panic([(*topic).into(), 1i64.into()]);
    }
    tx.exec(
        &q.on_conflict(
            OnConflict::column(Changes::Topic)
                .value(
                    Changes::Version,
                    Expr::col((Changes::Table, Changes::Version)).add(1i64),
                )
                .to_owned(),
        )
        .to_owned(),
    )
    .await?;
    if tx.backend() == Backend::Postgres {
        for topic in topics {
            tx.notify(CHANNEL, topic).await?;
        }
    }
    Ok(())
}

/// The counter of one topic now (0 before its first change), read on its own (one statement,
/// no transaction): a read cache checks it before anything else, and whatever it reads after
/// is at least as new.
pub async fn version(db: &Db, topic: &str) -> StoreResult<i64> {
    let v: Option<(i64,)> = db
        .opt_now(
            &Query::select()
                .column(Changes::Version)
                .from(Changes::Table)
                .and_where(Expr::col(Changes::Topic).eq(topic))
                .to_owned(),
        )
        .await?;
    Ok(v.map_or(0, |(v,)| v))
}

/// Every topic's counter.
pub async fn versions(tx: &mut Tx) -> StoreResult<Vec<(String, i64)>> {
    tx.all(
        &Query::select()
            .columns([Changes::Topic, Changes::Version])
            .from(Changes::Table)
            .to_owned(),
    )
    .await
}

/// The leases still running at `now`: (name, holder, expiry). A server running scheduled work
/// renews its lease every tick, so a live row means a live process (see `vsys restore`).
pub async fn live_leases(
    tx: &mut Tx,
    now: DateTime<Utc>,
) -> StoreResult<Vec<(String, String, DateTime<Utc>)>> {
    tx.all(
        &Query::select()
            .columns([Leases::Name, Leases::Holder, Leases::ExpiresAt])
            .from(Leases::Table)
            .and_where(Expr::col(Leases::ExpiresAt).gt(now))
            .to_owned(),
    )
    .await
}

/// When the lease `name` runs out, if anyone has taken it.
pub async fn lease_expiry(tx: &mut Tx, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let row: Option<(DateTime<Utc>,)> = tx
        .opt(
            &Query::select()
                .column(Leases::ExpiresAt)
                .from(Leases::Table)
                .and_where(Expr::col(Leases::Name).eq(name))
                .to_owned(),
        )
        .await?;
    Ok(row.map(|(t,)| t))
}
