//! Background jobs (a registry import): who started them, how far they are, how they ended.
//! Kept in the database so that any process can report a job's progress.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::Jobs as J;
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Query};

#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct JobRow {
    pub id: String,
    /// What runs (`site_import`).
    pub kind: String,
    pub user_id: String,
    pub org_code: String,
    /// The step it is at (the job's own words, e.g. `reading`, `checking`, `writing`, `done`).
    pub phase: String,
    pub done: i64,
    pub total: i64,
    /// The result as JSON, once it succeeded.
    pub outcome: Option<String>,
    /// Why it failed, in Japanese and English.
    pub error_ja: Option<String>,
    pub error_en: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: [J; 13] = [
    J::Id,
    J::Kind,
    J::UserId,
    J::OrgCode,
    J::Phase,
    J::Done,
    J::Total,
    J::Outcome,
    J::ErrorJa,
    J::ErrorEn,
    J::StartedAt,
    J::UpdatedAt,
    J::FinishedAt,
];

pub async fn insert(tx: &mut Tx, j: &JobRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(J::Table)
            .columns(COLUMNS)
            .values_panic([
                j.id.clone().into(),
                j.kind.clone().into(),
                j.user_id.clone().into(),
                j.org_code.clone().into(),
                j.phase.clone().into(),
                j.done.into(),
                j.total.into(),
                j.outcome.clone().into(),
                j.error_ja.clone().into(),
                j.error_en.clone().into(),
                j.started_at.into(),
                j.updated_at.into(),
                j.finished_at.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<JobRow>> {
    tx.opt(
        &Query::select()
            .columns(COLUMNS)
            .from(J::Table)
            .and_where(Expr::col(J::Id).eq(id))
            .to_owned(),
    )
    .await
}

/// Records progress of a job that has not finished (a late report never overwrites the end).
pub async fn progress(
    tx: &mut Tx,
    id: &str,
    phase: &str,
    done: i64,
    total: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(J::Table)
            .value(J::Phase, phase)
            .value(J::Done, done)
            .value(J::Total, total)
            .value(J::UpdatedAt, now)
            .and_where(Expr::col(J::Id).eq(id))
            .and_where(Expr::col(J::FinishedAt).is_null())
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Ends a job with its outcome (JSON) or its error in both languages.
pub async fn finish(
    tx: &mut Tx,
    id: &str,
    phase: &str,
    outcome: Option<&str>,
    error: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(J::Table)
            .value(J::Phase, phase)
            .value(J::Outcome, outcome)
            .value(J::ErrorJa, error.map(|e| e.0))
            .value(J::ErrorEn, error.map(|e| e.1))
            .value(J::UpdatedAt, now)
            .value(J::FinishedAt, now)
            .and_where(Expr::col(J::Id).eq(id))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Removes jobs that have not moved since `before` (retention).
pub async fn purge(tx: &mut Tx, before: DateTime<Utc>) -> StoreResult<u64> {
    tx.exec(
        &Query::delete()
            .from_table(J::Table)
            .and_where(Expr::col(J::UpdatedAt).lt(before))
            .to_owned(),
    )
    .await
}
