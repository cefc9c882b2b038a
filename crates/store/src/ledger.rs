//! Each site's stock ledger: append-only movements per lot, in exact vials and doses.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::StockLedger as L;
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct LedgerRow {
    pub id: String,
    pub org_code: String,
    pub lot: String,
    pub cycle_id: Option<String>,
    /// `delivered`, `transfer_in`, `transfer_out`, `administered`, `wasted`, `correction`.
    #[sqlx(try_from = "String")]
    pub kind: vsys_domain::ledger::EntryKind,
    pub vials: i64,
    pub doses: i64,
    pub doses_per_vial: i64,
    pub reason: Option<String>,
    pub note: Option<String>,
    /// What wrote it: a delivery, a transfer, or a day's results (`results:YYYY-MM-DD`).
    pub reference: Option<String>,
    /// The entry a correction reverses (each entry is reversed at most once).
    pub reverses: Option<String>,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
}

const COLUMNS: [L; 14] = [
    L::Id,
    L::OrgCode,
    L::Lot,
    L::CycleId,
    L::Kind,
    L::Vials,
    L::Doses,
    L::DosesPerVial,
    L::Reason,
    L::Note,
    L::Reference,
    L::Reverses,
    L::At,
    L::By,
];

/// Appends entries; never updates or deletes one. The stock rollups move by the entries, in
/// the same transaction (a correction under the kind of the entry it reverses).
pub async fn append(tx: &mut Tx, rows: &[LedgerRow]) -> StoreResult<()> {
    let codes: Vec<&str> = rows
        .iter()
        .map(|r| r.org_code.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let municipalities = crate::rollups::municipalities_of(tx, &codes).await?;
    let mut moves: std::collections::BTreeMap<
        crate::rollups::StockKey,
        crate::rollups::StockFigures,
    > = std::collections::BTreeMap::new();
    let kinds = crate::rollups::counted_kinds(
        tx,
        &rows
            .iter()
            .map(|r| (r.id.clone(), r.kind.as_str().to_owned(), r.reverses.clone()))
            .collect::<Vec<_>>(),
    )
    .await?;
    for (r, kind) in rows.iter().zip(kinds) {
        let f = moves
            .entry((
                crate::rollups::japan_day(r.at),
                municipalities.get(&r.org_code).cloned().unwrap_or_default(),
                r.cycle_id.clone().unwrap_or_default(),
                kind,
            ))
            .or_default();
        f.entries += 1;
        f.vials += r.vials;
        f.doses += r.doses;
    }
    crate::rollups::add_stock(tx, &moves).await?;
    for chunk in rows.chunks(1000) {
        tx.exec(&insert_rows(chunk)).await?;
    }
    Ok(())
}

/// The INSERT of ledger rows alone, as [`append`] issues it after the rollups' increment (the
/// benchmarks' baseline and bulk loader use it too; nothing else may write the ledger).
pub fn insert_rows(rows: &[LedgerRow]) -> sea_query::InsertStatement {
    let mut q = Query::insert()
        .into_table(L::Table)
        .columns(COLUMNS)
        .to_owned();
    for r in rows {
        q.values_panic([
            r.id.clone().into(),
            r.org_code.clone().into(),
            r.lot.clone().into(),
            r.cycle_id.clone().into(),
            r.kind.as_str().into(),
            r.vials.into(),
            r.doses.into(),
            r.doses_per_vial.into(),
            r.reason.clone().into(),
            r.note.clone().into(),
            r.reference.clone().into(),
            r.reverses.clone().into(),
            r.at.into(),
            r.by.clone().into(),
        ]);
    }
    q
}

/// A site's whole ledger, oldest first (ids are time-ordered UUIDs).
pub async fn for_org(tx: &mut Tx, org_code: &str) -> StoreResult<Vec<LedgerRow>> {
    tx.all(
        &Query::select()
            .columns(COLUMNS)
            .from(L::Table)
            .and_where(Expr::col(L::OrgCode).eq(org_code))
            .order_by(L::At, Order::Asc)
            .order_by(L::Id, Order::Asc)
            .to_owned(),
    )
    .await
}

/// Entries written for one reference (e.g. a day's results) that no correction reversed yet.
pub async fn unreversed_for_reference(
    tx: &mut Tx,
    org_code: &str,
    reference: &str,
) -> StoreResult<Vec<LedgerRow>> {
    let reversed = Query::select()
        .column(L::Reverses)
        .from(L::Table)
        .and_where(Expr::col(L::OrgCode).eq(org_code))
        .and_where(Expr::col(L::Reverses).is_not_null())
        .to_owned();
    tx.all(
        &Query::select()
            .columns(COLUMNS)
            .from(L::Table)
            .and_where(Expr::col(L::OrgCode).eq(org_code))
            .and_where(Expr::col(L::Reference).eq(reference))
            .and_where(Expr::col(L::Kind).ne("correction"))
            .and_where(Expr::col(L::Id).not_in_subquery(reversed))
            .order_by(L::Id, Order::Asc)
            .to_owned(),
    )
    .await
}

/// The sites under `path` that hold stock (a positive balance in doses), with that balance:
/// the organisations of the scope by their path index, each one's entries by the ledger's
/// organisation index — never a list of every site of a prefecture.
pub async fn holders_under(tx: &mut Tx, path: &str) -> StoreResult<Vec<(String, i64)>> {
    use crate::schema::Orgs;
    let sum = Expr::col((L::Table, L::Doses)).sum();
    tx.all(
        &Query::select()
            .column((L::Table, L::OrgCode))
            .expr(sum.clone().cast_as("int8"))
            .from(Orgs::Table)
            .inner_join(
                L::Table,
                Expr::col((L::Table, L::OrgCode)).equals((Orgs::Table, Orgs::Code)),
            )
            .cond_where(crate::orgs::under((Orgs::Table, Orgs::Path), path))
            .group_by_col((L::Table, L::OrgCode))
            .and_having(sum.gt(0))
            .order_by((L::Table, L::OrgCode), Order::Asc)
            .to_owned(),
    )
    .await
}

/// Stock on hand in doses per site, for the given sites (sites with no entries are left out).
pub async fn doses_by_org(tx: &mut Tx, codes: &[String]) -> StoreResult<Vec<(String, i64)>> {
    sum_doses(tx, codes, &[]).await
}

/// Doses delivered (net of transfers and of corrections of either) per site, for the usage
/// rate (administered ÷ delivered).
pub async fn received_by_org(tx: &mut Tx, codes: &[String]) -> StoreResult<Vec<(String, i64)>> {
    sum_doses(tx, codes, &["delivered", "transfer_in", "transfer_out"]).await
}

/// Doses per site over the entries of the given kinds (all kinds when empty), with the
/// corrections that reversed one of them.
pub async fn sum_doses(
    tx: &mut Tx,
    codes: &[String],
    kinds: &[&str],
) -> StoreResult<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(1000) {
        let mut q = Query::select()
            .column(L::OrgCode)
            .expr(Expr::col(L::Doses).sum().cast_as("int8"))
            .from(L::Table)
            .and_where(Expr::col(L::OrgCode).is_in(chunk.iter().map(String::as_str)))
            .group_by_col(L::OrgCode)
            .to_owned();
        if !kinds.is_empty() {
            // The entries of these kinds, and the corrections that reversed one of them.
            let reversed = Query::select()
                .column(L::Id)
                .from(L::Table)
                .and_where(Expr::col(L::OrgCode).is_in(chunk.iter().map(String::as_str)))
                .and_where(Expr::col(L::Kind).is_in(kinds.iter().copied()))
                .to_owned();
            q.cond_where(
                sea_query::Cond::any()
                    .add(Expr::col(L::Kind).is_in(kinds.iter().copied()))
                    .add(
                        sea_query::Cond::all()
                            .add(Expr::col(L::Kind).eq("correction"))
                            .add(Expr::col(L::Reverses).in_subquery(reversed)),
                    ),
            );
        }
        out.extend(tx.all::<(String, i64), _>(&q).await?);
    }
    Ok(out)
}

/// When each site last wrote to its ledger (freshness of the stock figure).
pub async fn last_entry_by_org(
    tx: &mut Tx,
    codes: &[String],
) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(1000) {
        let rows: Vec<(String, DateTime<Utc>)> = tx
            .all(
                &Query::select()
                    .column(L::OrgCode)
                    .expr(Expr::col(L::At).max())
                    .from(L::Table)
                    .and_where(Expr::col(L::OrgCode).is_in(chunk.iter().map(String::as_str)))
                    .group_by_col(L::OrgCode)
                    .to_owned(),
            )
            .await?;
        out.extend(rows);
    }
    Ok(out)
}
