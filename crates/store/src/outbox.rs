//! The transactional mail outbox. A mail is written in the same transaction as the change that
//! causes it; workers claim due mails with a lease, so no two processes send one at once.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::Outbox;
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, Order, Query};

#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct MailRow {
    pub id: String,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

const COLUMNS: [Outbox; 11] = [
    Outbox::Id,
    Outbox::ToAddr,
    Outbox::Subject,
    Outbox::Body,
    Outbox::CreatedAt,
    Outbox::Attempts,
    Outbox::NextAttemptAt,
    Outbox::LockedBy,
    Outbox::LockedUntil,
    Outbox::SentAt,
    Outbox::LastError,
];

pub async fn enqueue(
    tx: &mut Tx,
    to: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    tx.exec(
        &Query::insert()
            .into_table(Outbox::Table)
            .columns([
                Outbox::Id,
                Outbox::ToAddr,
                Outbox::Subject,
                Outbox::Body,
                Outbox::CreatedAt,
                Outbox::Attempts,
                Outbox::NextAttemptAt,
            ])
            .values_panic([
                id.clone().into(),
                to.into(),
                subject.into(),
                body.into(),
                now.into(),
                0i64.into(),
                now.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(id)
}

fn claimable(now: DateTime<Utc>) -> Cond {
    Cond::all()
        .add(Expr::col(Outbox::SentAt).is_null())
        .add(Expr::col(Outbox::NextAttemptAt).lte(now))
        .add(
            Cond::any()
                .add(Expr::col(Outbox::LockedUntil).is_null())
                .add(Expr::col(Outbox::LockedUntil).lt(now)),
        )
}

/// Claims one due mail for `worker` until `lease_until`. The claim is a single conditional
/// UPDATE: of two workers racing for one row, the second finds the lease taken and gets none.
pub async fn claim(
    tx: &mut Tx,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> StoreResult<Option<MailRow>> {
    let candidate: Option<(String,)> = tx
        .opt(
            &Query::select()
                .column(Outbox::Id)
                .from(Outbox::Table)
                .cond_where(claimable(now))
                .order_by(Outbox::NextAttemptAt, Order::Asc)
                .limit(1)
                .to_owned(),
        )
        .await?;
    let Some((id,)) = candidate else {
        return Ok(None);
    };
    tx.opt(
        &Query::update()
            .table(Outbox::Table)
            .values([
                (Outbox::LockedBy, worker.into()),
                (Outbox::LockedUntil, lease_until.into()),
            ])
            .and_where(Expr::col(Outbox::Id).eq(id.as_str()))
            .cond_where(claimable(now))
            .returning(Query::returning().columns(COLUMNS))
            .to_owned(),
    )
    .await
}

/// Records the SMTP server's acceptance. Only the worker holding the lease may.
pub async fn mark_sent(
    tx: &mut Tx,
    id: &str,
    worker: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::update()
                .table(Outbox::Table)
                .values([
                    (Outbox::SentAt, now.into()),
                    (Outbox::LockedUntil, Option::<DateTime<Utc>>::None.into()),
                    (Outbox::Attempts, Expr::col(Outbox::Attempts).add(1)),
                ])
                .and_where(Expr::col(Outbox::Id).eq(id))
                .and_where(Expr::col(Outbox::LockedBy).eq(worker))
                .to_owned(),
        )
        .await?;
    Ok(n > 0)
}

/// Records a failed attempt and when to try again.
pub async fn mark_failed(
    tx: &mut Tx,
    id: &str,
    worker: &str,
    error: &str,
    retry_at: DateTime<Utc>,
) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(Outbox::Table)
            .values([
                (Outbox::LastError, error.into()),
                (Outbox::NextAttemptAt, retry_at.into()),
                (Outbox::LockedUntil, Option::<DateTime<Utc>>::None.into()),
                (Outbox::Attempts, Expr::col(Outbox::Attempts).add(1)),
            ])
            .and_where(Expr::col(Outbox::Id).eq(id))
            .and_where(Expr::col(Outbox::LockedBy).eq(worker))
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<MailRow>> {
    tx.opt(
        &Query::select()
            .columns(COLUMNS)
            .from(Outbox::Table)
            .and_where(Expr::col(Outbox::Id).eq(id))
            .to_owned(),
    )
    .await
}

/// Counts of (pending, sent) mails.
pub async fn counts(tx: &mut Tx) -> StoreResult<(i64, i64)> {
    let pending = tx
        .count(
            &Query::select()
                .expr(Expr::col(Outbox::Id).count())
                .from(Outbox::Table)
                .and_where(Expr::col(Outbox::SentAt).is_null())
                .to_owned(),
        )
        .await?;
    let sent = tx
        .count(
            &Query::select()
                .expr(Expr::col(Outbox::Id).count())
                .from(Outbox::Table)
                .and_where(Expr::col(Outbox::SentAt).is_not_null())
                .to_owned(),
        )
        .await?;
    Ok((pending, sent))
}

/// Removes mail sent before `before` (retention); unsent mail is kept whatever its age.
pub async fn purge_sent(tx: &mut Tx, before: DateTime<Utc>) -> StoreResult<u64> {
    tx.exec(
        &Query::delete()
            .from_table(Outbox::Table)
            .and_where(Expr::col(Outbox::SentAt).is_not_null())
            .and_where(Expr::col(Outbox::SentAt).lt(before))
            .to_owned(),
    )
    .await
}

/// When the oldest unsent mail was due (`next_attempt_at` of the earliest), if any is: how far
/// behind the mail workers are.
pub async fn oldest_pending_due(tx: &mut Tx) -> StoreResult<Option<DateTime<Utc>>> {
    let row: Option<(DateTime<Utc>,)> = tx
        .opt(
            &Query::select()
                .column(Outbox::NextAttemptAt)
                .from(Outbox::Table)
                .and_where(Expr::col(Outbox::SentAt).is_null())
                .order_by(Outbox::NextAttemptAt, Order::Asc)
                .limit(1)
                .to_owned(),
        )
        .await?;
    Ok(row.map(|(t,)| t))
}

/// Mails not sent yet (served by the `outbox_due` index, whatever the sent mail kept).
pub async fn pending_count(tx: &mut Tx) -> StoreResult<i64> {
    tx.count(
        &Query::select()
            .expr(Expr::col(Outbox::Id).count())
            .from(Outbox::Table)
            .and_where(Expr::col(Outbox::SentAt).is_null())
            .to_owned(),
    )
    .await
}
