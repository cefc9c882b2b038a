//! Failed-login counters per key (`acct:<email>` or `ip:<address>`), kept in the database so
//! that every process sees the same count.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::LoginThrottle;
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, OnConflict, Query};

#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i64,
    pub window_start: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
}

pub async fn get(tx: &mut Tx, key: &str) -> StoreResult<Option<ThrottleRow>> {
    tx.opt(
        &Query::select()
            .columns([
                LoginThrottle::Key,
                LoginThrottle::Failures,
                LoginThrottle::WindowStart,
                LoginThrottle::BlockedUntil,
            ])
            .from(LoginThrottle::Table)
            .and_where(Expr::col(LoginThrottle::Key).eq(key))
            .to_owned(),
    )
    .await
}

pub async fn put(tx: &mut Tx, r: &ThrottleRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(LoginThrottle::Table)
            .columns([
                LoginThrottle::Key,
                LoginThrottle::Failures,
                LoginThrottle::WindowStart,
                LoginThrottle::BlockedUntil,
            ])
            .values_panic([
                r.key.clone().into(),
                r.failures.into(),
                r.window_start.into(),
                r.blocked_until.into(),
            ])
            .on_conflict(
                OnConflict::column(LoginThrottle::Key)
                    .update_columns([
                        LoginThrottle::Failures,
                        LoginThrottle::WindowStart,
                        LoginThrottle::BlockedUntil,
                    ])
                    .to_owned(),
            )
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn clear(tx: &mut Tx, key: &str) -> StoreResult<()> {
    tx.exec(
        &Query::delete()
            .from_table(LoginThrottle::Table)
            .and_where(Expr::col(LoginThrottle::Key).eq(key))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Clears every key that starts with `prefix` (all of an account's per-address counters).
pub async fn clear_prefix(tx: &mut Tx, prefix: &str) -> StoreResult<u64> {
    tx.exec(
        &Query::delete()
            .from_table(LoginThrottle::Table)
            .and_where(crate::orgs::like(
                LoginThrottle::Key,
                format!("{}%", crate::orgs::escape_like(prefix)),
            ))
            .to_owned(),
    )
    .await
}

/// Removes counters that have been quiet since `quiet_since` (retention).
pub async fn purge(tx: &mut Tx, quiet_since: DateTime<Utc>) -> StoreResult<u64> {
    tx.exec(
        &Query::delete()
            .from_table(LoginThrottle::Table)
            .and_where(Expr::col(LoginThrottle::WindowStart).lte(quiet_since))
            .cond_where(
                Cond::any()
                    .add(Expr::col(LoginThrottle::BlockedUntil).is_null())
                    .add(Expr::col(LoginThrottle::BlockedUntil).lte(quiet_since)),
            )
            .to_owned(),
    )
    .await
}
