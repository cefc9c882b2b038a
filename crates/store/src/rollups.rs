//! Rollups for the dashboards: results per day × municipality, and stock movements per day ×
//! municipality × cycle × kind of entry. Every write of results or of the stock ledger adds its
//! difference in the same transaction, by an atomic increment (`INSERT … ON CONFLICT DO UPDATE
//! SET n = n + excluded.n`): concurrent writers never read-modify-write a hot row, and a
//! correction (a reversing entry, a day's results written again) moves the figures back.
//! [`recompute`] derives the same figures from the raw rows; [`rebuild`] replaces the rollups
//! with them.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::{
    DailyResults as Results, Orgs, ResultRollups as RR, StockLedger, StockRollups as SR,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Order, Query};
use std::collections::BTreeMap;

/// The day a moment falls on in Japan (the day of a ledger entry in the rollups).
pub fn japan_day(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(9)).date_naive()
}

/// A day's results of one municipality (or the difference a write makes to them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ResultFigures {
    pub reports: i64,
    pub total: i64,
    pub elderly: i64,
    pub underlying: i64,
    pub others: i64,
    pub wasted_vials: i64,
}

impl ResultFigures {
    fn is_zero(&self) -> bool {
        *self == ResultFigures::default()
    }

    fn add(&mut self, o: &ResultFigures) {
        self.reports += o.reports;
        self.total += o.total;
        self.elderly += o.elderly;
        self.underlying += o.underlying;
        self.others += o.others;
        self.wasted_vials += o.wasted_vials;
    }
}

/// Stock movements of one key (or the difference a write makes to them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct StockFigures {
    pub entries: i64,
    pub vials: i64,
    pub doses: i64,
}

/// The key of a stock rollup: day, municipality, cycle ('' for none), kind of entry.
pub type StockKey = (NaiveDate, String, String, String);

/// Every rollup row, as [`recompute`] and [`stored`] compare them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollups {
    pub results: BTreeMap<(NaiveDate, String), ResultFigures>,
    pub stock: BTreeMap<StockKey, StockFigures>,
}

/// The municipality of each site (its parent), for the codes given.
pub async fn municipalities_of(
    tx: &mut Tx,
    codes: &[&str],
) -> StoreResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for chunk in codes.chunks(1000) {
        let rows: Vec<(String, Option<String>)> = tx
            .all(
                &Query::select()
                    .columns([Orgs::Code, Orgs::ParentCode])
                    .from(Orgs::Table)
                    .and_where(Expr::col(Orgs::Code).is_in(chunk.iter().map(|c| (*c).to_owned())))
                    .to_owned(),
            )
            .await?;
        out.extend(rows.into_iter().map(|(c, p)| (c, p.unwrap_or_default())));
    }
    Ok(out)
}

/// Adds `d` to the results of `municipality` on `day` (one atomic statement).
pub async fn add_results(
    tx: &mut Tx,
    day: NaiveDate,
    municipality: &str,
    d: &ResultFigures,
) -> StoreResult<()> {
    if d.is_zero() {
        return Ok(());
    }
    let inc = |c: RR| Expr::col((RR::Table, c)).add(Expr::col((Alias::new("excluded"), c)));
    tx.exec(
        &Query::insert()
            .into_table(RR::Table)
            .columns([
                RR::Day,
                RR::MunicipalityCode,
                RR::Reports,
                RR::Total,
                RR::Elderly,
                RR::Underlying,
                RR::Others,
                RR::WastedVials,
            ])
            .values_panic([
                day.into(),
                municipality.into(),
                d.reports.into(),
                d.total.into(),
                d.elderly.into(),
                d.underlying.into(),
                d.others.into(),
                d.wasted_vials.into(),
            ])
            .on_conflict(
                OnConflict::columns([RR::Day, RR::MunicipalityCode])
                    .values([
                        (RR::Reports, inc(RR::Reports)),
                        (RR::Total, inc(RR::Total)),
                        (RR::Elderly, inc(RR::Elderly)),
                        (RR::Underlying, inc(RR::Underlying)),
                        (RR::Others, inc(RR::Others)),
                        (RR::WastedVials, inc(RR::WastedVials)),
                    ])
                    .to_owned(),
            )
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Adds stock movements (summed per key first: one statement per key).
pub async fn add_stock(tx: &mut Tx, moves: &BTreeMap<StockKey, StockFigures>) -> StoreResult<()> {
    let inc = |c: SR| Expr::col((SR::Table, c)).add(Expr::col((Alias::new("excluded"), c)));
    let rows: Vec<(&StockKey, &StockFigures)> = moves
        .iter()
        .filter(|(_, f)| **f != StockFigures::default())
        .collect();
    for chunk in rows.chunks(500) {
        let mut q = Query::insert()
            .into_table(SR::Table)
            .columns([
                SR::Day,
                SR::MunicipalityCode,
                SR::CycleId,
                SR::Kind,
                SR::Entries,
                SR::Vials,
                SR::Doses,
            ])
            .to_owned();
        for ((day, m, c, k), f) in chunk {
            q.values_panic([
                (*day).into(),
                m.clone().into(),
                c.clone().into(),
                k.clone().into(),
                f.entries.into(),
                f.vials.into(),
                f.doses.into(),
            ]);
        }
        tx.exec(
            &q.on_conflict(
                OnConflict::columns([SR::Day, SR::MunicipalityCode, SR::CycleId, SR::Kind])
                    .values([
                        (SR::Entries, inc(SR::Entries)),
                        (SR::Vials, inc(SR::Vials)),
                        (SR::Doses, inc(SR::Doses)),
                    ])
                    .to_owned(),
            )
            .to_owned(),
        )
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ResultAgg {
    day: NaiveDate,
    municipality_code: Option<String>,
    reports: i64,
    total: i64,
    elderly: i64,
    underlying: i64,
    others: i64,
    wasted_vials: i64,
}

#[derive(sqlx::FromRow)]
struct LedgerAgg {
    municipality_code: Option<String>,
    cycle_id: Option<String>,
    kind: String,
    at: DateTime<Utc>,
    vials: i64,
    doses: i64,
}

/// The rollups as the raw rows give them (results grouped in the database; ledger entries
/// summed here, by their day in Japan).
pub async fn recompute(tx: &mut Tx) -> StoreResult<Rollups> {
    let sum = |c: Results| Expr::col((Results::Table, c)).sum().cast_as("int8");
    let rows: Vec<ResultAgg> = tx
        .all(
            &Query::select()
                .expr_as(Expr::col((Results::Table, Results::Day)), Alias::new("day"))
                .expr_as(
                    Expr::col((Orgs::Table, Orgs::ParentCode)),
                    Alias::new("municipality_code"),
                )
                .expr_as(
                    Func::count(Expr::col((Results::Table, Results::Day))).cast_as("int8"),
                    Alias::new("reports"),
                )
                .expr_as(sum(Results::Total), Alias::new("total"))
                .expr_as(sum(Results::Elderly), Alias::new("elderly"))
                .expr_as(sum(Results::Underlying), Alias::new("underlying"))
                .expr_as(sum(Results::Others), Alias::new("others"))
                .expr_as(sum(Results::WastedVials), Alias::new("wasted_vials"))
                .from(Results::Table)
                .left_join(
                    Orgs::Table,
                    Expr::col((Orgs::Table, Orgs::Code)).equals((Results::Table, Results::OrgCode)),
                )
                .group_by_col((Results::Table, Results::Day))
                .group_by_col((Orgs::Table, Orgs::ParentCode))
                .to_owned(),
        )
        .await?;
    let mut out = Rollups::default();
    for r in rows {
        let f = ResultFigures {
            reports: r.reports,
            total: r.total,
            elderly: r.elderly,
            underlying: r.underlying,
            others: r.others,
            wasted_vials: r.wasted_vials,
        };
        if !f.is_zero() {
            out.results
                .entry((r.day, r.municipality_code.unwrap_or_default()))
                .or_default()
                .add(&f);
        }
    }
    let entries: Vec<LedgerAgg> = tx
        .all(
            &Query::select()
                .expr_as(
                    Expr::col((Orgs::Table, Orgs::ParentCode)),
                    Alias::new("municipality_code"),
                )
                .column((StockLedger::Table, StockLedger::CycleId))
                .column((StockLedger::Table, StockLedger::Kind))
                .column((StockLedger::Table, StockLedger::At))
                .column((StockLedger::Table, StockLedger::Vials))
                .column((StockLedger::Table, StockLedger::Doses))
                .from(StockLedger::Table)
                .left_join(
                    Orgs::Table,
                    Expr::col((Orgs::Table, Orgs::Code))
                        .equals((StockLedger::Table, StockLedger::OrgCode)),
                )
                .to_owned(),
        )
        .await?;
    for e in entries {
        let f = out
            .stock
            .entry((
                japan_day(e.at),
                e.municipality_code.unwrap_or_default(),
                e.cycle_id.unwrap_or_default(),
                e.kind,
            ))
            .or_default();
        f.entries += 1;
        f.vials += e.vials;
        f.doses += e.doses;
    }
    out.stock.retain(|_, f| *f != StockFigures::default());
    Ok(out)
}

/// The rollups as stored (rows of all zeros, left by a write and its correction, are the same
/// as no row).
pub async fn stored(tx: &mut Tx) -> StoreResult<Rollups> {
    #[derive(sqlx::FromRow)]
    struct Day {
        day: NaiveDate,
        municipality_code: String,
        #[sqlx(flatten)]
        f: ResultFigures,
    }
    #[derive(sqlx::FromRow)]
    struct S {
        day: NaiveDate,
        municipality_code: String,
        cycle_id: String,
        kind: String,
        #[sqlx(flatten)]
        f: StockFigures,
    }
    let rs: Vec<Day> = tx
        .all(
            &Query::select()
                .columns([
                    RR::Day,
                    RR::MunicipalityCode,
                    RR::Reports,
                    RR::Total,
                    RR::Elderly,
                    RR::Underlying,
                    RR::Others,
                    RR::WastedVials,
                ])
                .from(RR::Table)
                .order_by(RR::Day, Order::Asc)
                .to_owned(),
        )
        .await?;
    let ss: Vec<S> = tx
        .all(
            &Query::select()
                .columns([
                    SR::Day,
                    SR::MunicipalityCode,
                    SR::CycleId,
                    SR::Kind,
                    SR::Entries,
                    SR::Vials,
                    SR::Doses,
                ])
                .from(SR::Table)
                .to_owned(),
        )
        .await?;
    Ok(Rollups {
        results: rs
            .into_iter()
            .filter(|r| !r.f.is_zero())
            .map(|r| ((r.day, r.municipality_code), r.f))
            .collect(),
        stock: ss
            .into_iter()
            .filter(|s| s.f != StockFigures::default())
            .map(|s| ((s.day, s.municipality_code, s.cycle_id, s.kind), s.f))
            .collect(),
    })
}

/// Replaces the rollups with [`recompute`]'s figures; how many rows each table holds now.
///
/// On PostgreSQL the rollup tables are locked first (writers' increments wait for the rebuild
/// to commit): a write committed before the lock is in the recomputed figures, one after it
/// adds its increment to them. SQLite serialises writers anyway.
pub async fn rebuild(tx: &mut Tx) -> StoreResult<(usize, usize)> {
    if tx.backend() == crate::db::Backend::Postgres {
        tx.raw("LOCK TABLE result_rollups, stock_rollups IN EXCLUSIVE MODE")
            .await?;
    }
    let fresh = recompute(tx).await?;
    tx.exec(&Query::delete().from_table(RR::Table).to_owned())
        .await?;
    tx.exec(&Query::delete().from_table(SR::Table).to_owned())
        .await?;
    for ((day, m), f) in &fresh.results {
        add_results(tx, *day, m, f).await?;
    }
    add_stock(tx, &fresh.stock).await?;
    Ok((fresh.results.len(), fresh.stock.len()))
}

/// Figures per day over an area's municipalities (`prefix`: a prefecture's two digits, a
/// municipality's five, or empty for the nation), from the rollups alone.
pub async fn results_by_day(
    tx: &mut Tx,
    prefix: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<(NaiveDate, ResultFigures)>> {
    #[derive(sqlx::FromRow)]
    struct D {
        day: NaiveDate,
        #[sqlx(flatten)]
        f: ResultFigures,
    }
    let sum = |c: RR, a: &str| (Expr::col(c).sum().cast_as("int8"), Alias::new(a));
    let mut q = Query::select()
        .column(RR::Day)
        .from(RR::Table)
        .and_where(Expr::col(RR::Day).gte(from))
        .and_where(Expr::col(RR::Day).lte(to))
        .group_by_col(RR::Day)
        .order_by(RR::Day, Order::Asc)
        .to_owned();
    for (c, a) in [
        sum(RR::Reports, "reports"),
        sum(RR::Total, "total"),
        sum(RR::Elderly, "elderly"),
        sum(RR::Underlying, "underlying"),
        sum(RR::Others, "others"),
        sum(RR::WastedVials, "wasted_vials"),
    ] {
        q.expr_as(c, a);
    }
    if !prefix.is_empty() {
        q.and_where(Expr::col(RR::MunicipalityCode).like(format!("{prefix}%")));
    }
    let rows: Vec<D> = tx.all(&q).await?;
    Ok(rows.into_iter().map(|d| (d.day, d.f)).collect())
}
