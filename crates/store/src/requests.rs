//! What each site asks for in a cycle: capacity (接種可能量), requested delivery (納品希望量),
//! storage, and needles and syringes needed. All amounts in doses or pieces.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::SiteRequests as R;
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct RequestRow {
    pub cycle_id: String,
    pub org_code: String,
    pub capacity_doses: i64,
    pub requested_doses: i64,
    /// `dry_ice` or `freezer`.
    pub storage: String,
    pub needles: i64,
    pub syringes: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
}

const COLUMNS: [R; 10] = [
    R::CycleId,
    R::OrgCode,
    R::CapacityDoses,
    R::RequestedDoses,
    R::Storage,
    R::Needles,
    R::Syringes,
    R::UpdatedAt,
    R::UpdatedBy,
    R::Version,
];

pub async fn get(tx: &mut Tx, cycle_id: &str, org_code: &str) -> StoreResult<Option<RequestRow>> {
    tx.opt(
        &Query::select()
            .columns(COLUMNS)
            .from(R::Table)
            .and_where(Expr::col(R::CycleId).eq(cycle_id))
            .and_where(Expr::col(R::OrgCode).eq(org_code))
            .to_owned(),
    )
    .await
}

/// Requests of the given organisations in a cycle.
pub async fn for_orgs(
    tx: &mut Tx,
    cycle_id: &str,
    codes: &[String],
) -> StoreResult<Vec<RequestRow>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chunk in codes.chunks(1000) {
        out.extend(
            tx.all::<RequestRow, _>(
                &Query::select()
                    .columns(COLUMNS)
                    .from(R::Table)
                    .and_where(Expr::col(R::CycleId).eq(cycle_id))
                    .and_where(Expr::col(R::OrgCode).is_in(chunk.iter().map(String::as_str)))
                    .order_by(R::OrgCode, Order::Asc)
                    .to_owned(),
            )
            .await?,
        );
    }
    Ok(out)
}

/// Writes a request if the stored version is still `expected` (`None`: there is none yet).
pub async fn put(tx: &mut Tx, r: &RequestRow, expected: Option<i64>) -> StoreResult<RequestRow> {
    // Divisions show requests: their read caches follow this signal.
    crate::coordination::bump(tx, crate::coordination::ALLOCATIONS).await?;
    let next = expected.map(|v| v + 1).unwrap_or(0);
    match expected {
        None => {
            let n = tx
                .exec(
                    &Query::insert()
                        .into_table(R::Table)
                        .columns(COLUMNS)
                        .values_panic([
                            r.cycle_id.clone().into(),
                            r.org_code.clone().into(),
                            r.capacity_doses.into(),
                            r.requested_doses.into(),
                            r.storage.clone().into(),
                            r.needles.into(),
                            r.syringes.into(),
                            r.updated_at.into(),
                            r.updated_by.clone().into(),
                            0i64.into(),
                        ])
                        .on_conflict(
                            OnConflict::columns([R::CycleId, R::OrgCode])
                                .do_nothing()
                                .to_owned(),
                        )
                        .to_owned(),
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Conflict);
            }
        }
        Some(v) => {
            let n = tx
                .exec(
                    &Query::update()
                        .table(R::Table)
                        .values([
                            (R::CapacityDoses, r.capacity_doses.into()),
                            (R::RequestedDoses, r.requested_doses.into()),
                            (R::Storage, r.storage.clone().into()),
                            (R::Needles, r.needles.into()),
                            (R::Syringes, r.syringes.into()),
                            (R::UpdatedAt, r.updated_at.into()),
                            (R::UpdatedBy, r.updated_by.clone().into()),
                            (R::Version, next.into()),
                        ])
                        .and_where(Expr::col(R::CycleId).eq(r.cycle_id.as_str()))
                        .and_where(Expr::col(R::OrgCode).eq(r.org_code.as_str()))
                        .and_where(Expr::col(R::Version).eq(v))
                        .to_owned(),
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Conflict);
            }
        }
    }
    Ok(RequestRow {
        version: next,
        ..r.clone()
    })
}

/// Requested and capacity doses of a cycle summed per municipality (the sites' parent), for
/// the sites under `path`: `(municipality, requested, capacity)`.
pub async fn requested_by_municipality(
    tx: &mut Tx,
    cycle_id: &str,
    path: &str,
) -> StoreResult<Vec<(String, i64, i64)>> {
    use crate::schema::Orgs;
    let rows: Vec<(Option<String>, i64, i64)> = tx
        .all(
            &Query::select()
                .column((Orgs::Table, Orgs::ParentCode))
                .expr(
                    Expr::col((R::Table, R::RequestedDoses))
                        .sum()
                        .cast_as("int8"),
                )
                .expr(
                    Expr::col((R::Table, R::CapacityDoses))
                        .sum()
                        .cast_as("int8"),
                )
                .from(R::Table)
                .inner_join(
                    Orgs::Table,
                    Expr::col((Orgs::Table, Orgs::Code)).equals((R::Table, R::OrgCode)),
                )
                .and_where(Expr::col((R::Table, R::CycleId)).eq(cycle_id))
                .cond_where(crate::orgs::under((Orgs::Table, Orgs::Path), path))
                .group_by_col((Orgs::Table, Orgs::ParentCode))
                .to_owned(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(m, r, c)| (m.unwrap_or_default(), r, c))
        .collect())
}
