//! Deadline reminders: which organisations of one level of a cycle are still due one, and the
//! row per cycle, organisation and deadline that lets exactly one reminder go out.

use crate::allocations::NodeRow;
use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::{AllocationNodes as N, RemindersSent as R};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use vsys_domain::chain::{Level, Status};

/// The nodes of `level` in `cycle_id` that are released to their owner, received something,
/// stand at one of `statuses`, and have not been reminded of `deadline` yet: one statement
/// (a whole level of the country at once).
pub async fn due(
    tx: &mut Tx,
    cycle_id: &str,
    level: Level,
    statuses: &[Status],
    deadline: NaiveDate,
) -> StoreResult<Vec<NodeRow>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    tx.all(
        &crate::allocations::select()
            .and_where(Expr::col((N::Table, N::CycleId)).eq(cycle_id))
            .and_where(Expr::col((N::Table, N::Level)).eq(level.as_str()))
            .and_where(Expr::col((N::Table, N::Status)).is_in(statuses.iter().map(|s| s.as_str())))
            .and_where(Expr::col((N::Table, N::Released)).eq(true))
            .and_where(Expr::col((N::Table, N::Vials)).gt(0))
            .and_where(
                Expr::exists(
                    Query::select()
                        .expr(Expr::val(1))
                        .from(R::Table)
                        .and_where(Expr::col((R::Table, R::CycleId)).equals((N::Table, N::CycleId)))
                        .and_where(Expr::col((R::Table, R::OrgCode)).equals((N::Table, N::OrgCode)))
                        .and_where(Expr::col((R::Table, R::Deadline)).eq(deadline))
                        .to_owned(),
                )
                .not(),
            )
            .order_by((N::Table, N::OrgCode), Order::Asc)
            .to_owned(),
    )
    .await
}

/// Records that `org_code` is reminded of `deadline` in `cycle_id` (`source`: `auto` or
/// `manual`), unless someone already did: true when this call wrote the row. The caller
/// writes the reminder only then, in the same transaction — two processes (or a process and
/// a person) racing on one key write one row, and so one reminder.
pub async fn mark_sent(
    tx: &mut Tx,
    cycle_id: &str,
    org_code: &str,
    deadline: NaiveDate,
    now: DateTime<Utc>,
    source: &str,
) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::insert()
                .into_table(R::Table)
                .columns([R::CycleId, R::OrgCode, R::Deadline, R::SentAt, R::Source])
                .values_panic([
                    cycle_id.into(),
                    org_code.into(),
                    deadline.into(),
                    now.into(),
                    source.into(),
                ])
                .on_conflict(
                    OnConflict::columns([R::CycleId, R::OrgCode, R::Deadline])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
    Ok(n > 0)
}

/// The reminders recorded for a cycle: (organisation, deadline, source), in that order.
pub async fn sent(tx: &mut Tx, cycle_id: &str) -> StoreResult<Vec<(String, NaiveDate, String)>> {
    tx.all(
        &Query::select()
            .columns([R::OrgCode, R::Deadline, R::Source])
            .from(R::Table)
            .and_where(Expr::col(R::CycleId).eq(cycle_id))
            .order_by(R::OrgCode, Order::Asc)
            .order_by(R::Deadline, Order::Asc)
            .to_owned(),
    )
    .await
}
