//! Reporting periods (opened and closed by the nation) and each site's daily results.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::{DailyResults as R, ReportingPeriods as P};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct PeriodRow {
    pub id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub opened_at: DateTime<Utc>,
    pub opened_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
}

const PERIOD_COLUMNS: [P; 7] = [
    P::Id,
    P::FirstDay,
    P::LastDay,
    P::OpenedAt,
    P::OpenedBy,
    P::ClosedAt,
    P::ClosedBy,
];

pub async fn insert_period(tx: &mut Tx, p: &PeriodRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(P::Table)
            .columns(PERIOD_COLUMNS)
            .values_panic([
                p.id.clone().into(),
                p.first_day.into(),
                p.last_day.into(),
                p.opened_at.into(),
                p.opened_by.clone().into(),
                p.closed_at.into(),
                p.closed_by.clone().into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// All periods, newest first.
pub async fn periods(tx: &mut Tx) -> StoreResult<Vec<PeriodRow>> {
    tx.all(
        &Query::select()
            .columns(PERIOD_COLUMNS)
            .from(P::Table)
            .order_by(P::FirstDay, Order::Desc)
            .order_by(P::Id, Order::Desc)
            .to_owned(),
    )
    .await
}

/// The open period that covers `day`, if any.
pub async fn open_period_for(tx: &mut Tx, day: NaiveDate) -> StoreResult<Option<PeriodRow>> {
    tx.opt(
        &Query::select()
            .columns(PERIOD_COLUMNS)
            .from(P::Table)
            .and_where(Expr::col(P::ClosedAt).is_null())
            .and_where(Expr::col(P::FirstDay).lte(day))
            .and_where(Expr::col(P::LastDay).gte(day))
            .limit(1)
            .to_owned(),
    )
    .await
}

/// Closes an open period; `Conflict` when it was already closed, `NotFound` when unknown.
pub async fn close_period(
    tx: &mut Tx,
    id: &str,
    at: DateTime<Utc>,
    by: &str,
) -> StoreResult<PeriodRow> {
    let n = tx
        .exec(
            &Query::update()
                .table(P::Table)
                .values([(P::ClosedAt, at.into()), (P::ClosedBy, by.into())])
                .and_where(Expr::col(P::Id).eq(id))
                .and_where(Expr::col(P::ClosedAt).is_null())
                .to_owned(),
        )
        .await?;
    let row: Option<PeriodRow> = tx
        .opt(
            &Query::select()
                .columns(PERIOD_COLUMNS)
                .from(P::Table)
                .and_where(Expr::col(P::Id).eq(id))
                .to_owned(),
        )
        .await?;
    match (n, row) {
        (_, None) => Err(StoreError::NotFound),
        (0, Some(_)) => Err(StoreError::Conflict),
        (_, Some(r)) => Ok(r),
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct ResultRow {
    pub org_code: String,
    pub day: NaiveDate,
    /// Doses given that day; `elderly + underlying + others == total`.
    pub total: i64,
    pub elderly: i64,
    pub underlying: i64,
    pub others: i64,
    /// 廃棄本数: vials wasted that day (besides an opened vial's remainder).
    pub wasted_vials: i64,
    pub waste_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
}

const RESULT_COLUMNS: [R; 11] = [
    R::OrgCode,
    R::Day,
    R::Total,
    R::Elderly,
    R::Underlying,
    R::Others,
    R::WastedVials,
    R::WasteReason,
    R::UpdatedAt,
    R::UpdatedBy,
    R::Version,
];

pub async fn get(tx: &mut Tx, org_code: &str, day: NaiveDate) -> StoreResult<Option<ResultRow>> {
    tx.opt(
        &Query::select()
            .columns(RESULT_COLUMNS)
            .from(R::Table)
            .and_where(Expr::col(R::OrgCode).eq(org_code))
            .and_where(Expr::col(R::Day).eq(day))
            .to_owned(),
    )
    .await
}

/// A site's results from `from` to `to` inclusive, newest first.
pub async fn for_org(
    tx: &mut Tx,
    org_code: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<ResultRow>> {
    tx.all(
        &Query::select()
            .columns(RESULT_COLUMNS)
            .from(R::Table)
            .and_where(Expr::col(R::OrgCode).eq(org_code))
            .and_where(Expr::col(R::Day).gte(from))
            .and_where(Expr::col(R::Day).lte(to))
            .order_by(R::Day, Order::Desc)
            .to_owned(),
    )
    .await
}

/// Writes a day's results: inserts when `expected` is `None`, else updates if the stored
/// version is still `expected`.
/// The day's rollup moves by the difference, in the same transaction.
pub async fn put(tx: &mut Tx, r: &ResultRow, expected: Option<i64>) -> StoreResult<ResultRow> {
    let next = expected.map(|v| v + 1).unwrap_or(0);
    let before = get(tx, &r.org_code, r.day).await?;
    let n = match expected {
        None => {
            if before.is_some() {
                return Err(StoreError::Conflict);
            }
            tx.exec(
                &Query::insert()
                    .into_table(R::Table)
                    .columns(RESULT_COLUMNS)
                    .values_panic([
                        r.org_code.clone().into(),
                        r.day.into(),
                        r.total.into(),
                        r.elderly.into(),
                        r.underlying.into(),
                        r.others.into(),
                        r.wasted_vials.into(),
                        r.waste_reason.clone().into(),
                        r.updated_at.into(),
                        r.updated_by.clone().into(),
                        0i64.into(),
                    ])
                    .to_owned(),
            )
            .await?
        }
        Some(v) => {
            tx.exec(
                &Query::update()
                    .table(R::Table)
                    .values([
                        (R::Total, r.total.into()),
                        (R::Elderly, r.elderly.into()),
                        (R::Underlying, r.underlying.into()),
                        (R::Others, r.others.into()),
                        (R::WastedVials, r.wasted_vials.into()),
                        (R::WasteReason, r.waste_reason.clone().into()),
                        (R::UpdatedAt, r.updated_at.into()),
                        (R::UpdatedBy, r.updated_by.clone().into()),
                        (R::Version, next.into()),
                    ])
                    .and_where(Expr::col(R::OrgCode).eq(r.org_code.as_str()))
                    .and_where(Expr::col(R::Day).eq(r.day))
                    .and_where(Expr::col(R::Version).eq(v))
                    .to_owned(),
            )
            .await?
        }
    };
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    let figures = |x: &ResultRow, reports: i64| crate::rollups::ResultFigures {
        reports,
        total: x.total,
        elderly: x.elderly,
        underlying: x.underlying,
        others: x.others,
        wasted_vials: x.wasted_vials,
    };
    let new = figures(r, 1);
    let old = before.as_ref().map(|b| figures(b, 1)).unwrap_or_default();
    let delta = crate::rollups::ResultFigures {
        reports: new.reports - old.reports,
        total: new.total - old.total,
        elderly: new.elderly - old.elderly,
        underlying: new.underlying - old.underlying,
        others: new.others - old.others,
        wasted_vials: new.wasted_vials - old.wasted_vials,
    };
    let municipality = crate::rollups::municipalities_of(tx, &[r.org_code.as_str()])
        .await?
        .remove(&r.org_code)
        .unwrap_or_default();
    crate::rollups::add_results(tx, r.day, &municipality, &delta).await?;
    Ok(ResultRow {
        version: next,
        ..r.clone()
    })
}

/// Doses given per site between two days inclusive, for the given sites.
pub async fn administered_by_org(
    tx: &mut Tx,
    codes: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(1000) {
        let rows: Vec<(String, i64)> = tx
            .all(
                &Query::select()
                    .column(R::OrgCode)
                    .expr(Expr::col(R::Total).sum().cast_as("int8"))
                    .from(R::Table)
                    .and_where(Expr::col(R::OrgCode).is_in(chunk.iter().map(String::as_str)))
                    .and_where(Expr::col(R::Day).gte(from))
                    .and_where(Expr::col(R::Day).lte(to))
                    .group_by_col(R::OrgCode)
                    .to_owned(),
            )
            .await?;
        out.extend(rows);
    }
    Ok(out)
}
