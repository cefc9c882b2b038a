//! Login sessions (browser cookies and API bearer tokens), stored by the SHA-256 of their
//! secret so that a copy of the database does not hand out live sessions.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::Sessions;
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Query};

#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: String,
    /// `web` (cookie) or `api` (bearer token).
    pub kind: String,
    /// `active`, `totp` (password accepted, code pending) or `totp_setup` (must enrol first).
    pub stage: String,
    pub csrf_token: String,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const COLUMNS: [Sessions; 9] = [
    Sessions::IdHash,
    Sessions::UserId,
    Sessions::Kind,
    Sessions::Stage,
    Sessions::CsrfToken,
    Sessions::Ip,
    Sessions::CreatedAt,
    Sessions::LastSeenAt,
    Sessions::ExpiresAt,
];

pub async fn insert(tx: &mut Tx, s: &SessionRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(Sessions::Table)
            .columns(COLUMNS)
            .values_panic([
                s.id_hash.clone().into(),
                s.user_id.clone().into(),
                s.kind.clone().into(),
                s.stage.clone().into(),
                s.csrf_token.clone().into(),
                s.ip.clone().into(),
                s.created_at.into(),
                s.last_seen_at.into(),
                s.expires_at.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id_hash: &str) -> StoreResult<Option<SessionRow>> {
    tx.opt(
        &Query::select()
            .columns(COLUMNS)
            .from(Sessions::Table)
            .and_where(Expr::col(Sessions::IdHash).eq(id_hash))
            .to_owned(),
    )
    .await
}

pub async fn touch(tx: &mut Tx, id_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(Sessions::Table)
            .value(Sessions::LastSeenAt, now)
            .and_where(Expr::col(Sessions::IdHash).eq(id_hash))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Moves a session from login stage `from` to `to`; false when it is not (or no longer) in
/// `from`, so a step can be completed once and only from its own stage.
pub async fn advance_stage(tx: &mut Tx, id_hash: &str, from: &str, to: &str) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::update()
                .table(Sessions::Table)
                .value(Sessions::Stage, to)
                .and_where(Expr::col(Sessions::IdHash).eq(id_hash))
                .and_where(Expr::col(Sessions::Stage).eq(from))
                .to_owned(),
        )
        .await?;
    changed(tx, n).await?;
    Ok(n == 1)
}

pub async fn delete(tx: &mut Tx, id_hash: &str) -> StoreResult<u64> {
    let n = tx
        .exec(
            &Query::delete()
                .from_table(Sessions::Table)
                .and_where(Expr::col(Sessions::IdHash).eq(id_hash))
                .to_owned(),
        )
        .await?;
    changed(tx, n).await?;
    Ok(n)
}

/// Tells every process that sessions changed (they drop what they cached).
async fn changed(tx: &mut Tx, n: u64) -> StoreResult<()> {
    if n > 0 {
        crate::coordination::bump(tx, crate::coordination::SESSIONS).await?;
    }
    Ok(())
}

/// Ends every session of a user (password change, disable), except `keep` if given.
pub async fn delete_for_user(tx: &mut Tx, user_id: &str, keep: Option<&str>) -> StoreResult<u64> {
    let mut q = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user_id))
        .to_owned();
    if let Some(k) = keep {
        q.and_where(Expr::col(Sessions::IdHash).ne(k));
    }
    let n = tx.exec(&q).await?;
    changed(tx, n).await?;
    Ok(n)
}

/// Removes sessions past their absolute expiry or idle for longer than `idle_cutoff` allows.
pub async fn purge(
    tx: &mut Tx,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> StoreResult<u64> {
    let n = tx
        .exec(
            &Query::delete()
                .from_table(Sessions::Table)
                .cond_where(
                    sea_query::Cond::any()
                        .add(Expr::col(Sessions::ExpiresAt).lte(now))
                        .add(Expr::col(Sessions::LastSeenAt).lte(idle_cutoff)),
                )
                .to_owned(),
        )
        .await?;
    changed(tx, n).await?;
    Ok(n)
}
