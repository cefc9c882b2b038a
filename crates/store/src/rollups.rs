//! Rollups for the dashboards: results per day × municipality, and stock movements per day ×
//! municipality × cycle × kind of entry. Every write of results or of the stock ledger adds its
//! difference in the same transaction, by an atomic increment (`INSERT … ON CONFLICT DO UPDATE
//! SET n = n + excluded.n`): concurrent writers never read-modify-write a hot row, and a
//! correction (a reversing entry, a day's results written again) moves the figures back.
//! [`recompute`] derives the same figures from the raw rows; [`rebuild`] replaces the rollups
//! with them.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::{DailyResults as Results, Deliveries, Orgs, StockLedger};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Order, Query, Value};
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
    pub prefecture_results: BTreeMap<(NaiveDate, String), ResultFigures>,
    pub prefecture_stock: BTreeMap<PrefectureStockKey, StockFigures>,
    pub deliveries: BTreeMap<DeliveryKey, DeliveryFigures>,
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

/// Adds to the row of `table` keyed by `keys` (its primary key) the numbers `adds`, one
/// atomic statement per batch: `INSERT … ON CONFLICT (keys) DO UPDATE SET c = c +
/// excluded.c`. Concurrent writers never read-modify-write a row; each key appears once per
/// statement (callers sum per key first) and keys come in order, so writers take row locks in
/// the same order.
async fn add_rows(
    tx: &mut Tx,
    table: &str,
    key_cols: &[&str],
    add_cols: &[&str],
    rows: &[(Vec<Value>, Vec<i64>)],
) -> StoreResult<()> {
    let t = Alias::new(table);
    for chunk in rows.chunks(500) {
        let mut q = Query::insert()
            .into_table(t.clone())
            .columns(key_cols.iter().chain(add_cols).map(|c| Alias::new(*c)))
            .to_owned();
        for (keys, adds) in chunk {
            q.values_panic(
                keys.iter()
                    .cloned()
                    .map(Expr::val)
                    .chain(adds.iter().map(|n| Expr::val(*n))),
            );
        }
        let inc = |c: &str| {
            Expr::col((t.clone(), Alias::new(c)))
                .add(Expr::col((Alias::new("excluded"), Alias::new(c))))
        };
        q.on_conflict(
            OnConflict::columns(key_cols.iter().map(|c| Alias::new(*c)))
                .values(add_cols.iter().map(|c| (Alias::new(*c), inc(c))))
                .to_owned(),
        );
        tx.exec(&q).await?;
    }
    Ok(())
}

const RESULT_FIGURES: [&str; 6] = [
    "reports",
    "total",
    "elderly",
    "underlying",
    "others",
    "wasted_vials",
];

const STOCK_FIGURES: [&str; 3] = ["entries", "vials", "doses"];

impl ResultFigures {
    fn numbers(&self) -> Vec<i64> {
        vec![
            self.reports,
            self.total,
            self.elderly,
            self.underlying,
            self.others,
            self.wasted_vials,
        ]
    }
}

impl StockFigures {
    fn numbers(&self) -> Vec<i64> {
        vec![self.entries, self.vials, self.doses]
    }

    fn add(&mut self, o: &StockFigures) {
        self.entries += o.entries;
        self.vials += o.vials;
        self.doses += o.doses;
    }
}

/// The prefecture of a municipality: the first two digits of its code.
pub fn prefecture_of(municipality: &str) -> &str {
    municipality.get(..2).unwrap_or(municipality)
}

/// Adds `d` to the results of `municipality` (and of its prefecture) on `day`.
pub async fn add_results(
    tx: &mut Tx,
    day: NaiveDate,
    municipality: &str,
    d: &ResultFigures,
) -> StoreResult<()> {
    if d.is_zero() {
        return Ok(());
    }
    for (table, key, code) in [
        ("result_rollups", "municipality_code", municipality),
        (
            "prefecture_result_rollups",
            "prefecture_code",
            prefecture_of(municipality),
        ),
    ] {
        add_rows(
            tx,
            table,
            &["day", key],
            &RESULT_FIGURES,
            &[(vec![day.into(), code.into()], d.numbers())],
        )
        .await?;
    }
    Ok(())
}

/// Adds stock movements (summed per key first: one row per key), to the municipalities' and
/// the prefectures' rollups.
pub async fn add_stock(tx: &mut Tx, moves: &BTreeMap<StockKey, StockFigures>) -> StoreResult<()> {
    let rows: Vec<(Vec<Value>, Vec<i64>)> = moves
        .iter()
        .filter(|(_, f)| **f != StockFigures::default())
        .map(|((day, m, c, k), f)| {
            (
                vec![
                    (*day).into(),
                    m.clone().into(),
                    c.clone().into(),
                    k.clone().into(),
                ],
                f.numbers(),
            )
        })
        .collect();
    add_rows(
        tx,
        "stock_rollups",
        &["day", "municipality_code", "cycle_id", "kind"],
        &STOCK_FIGURES,
        &rows,
    )
    .await?;
    let rows: Vec<(Vec<Value>, Vec<i64>)> = prefecture_stock(moves)
        .into_iter()
        .filter(|(_, f)| *f != StockFigures::default())
        .map(|((day, p, k), f)| (vec![day.into(), p.into(), k.into()], f.numbers()))
        .collect();
    add_rows(
        tx,
        "prefecture_stock_rollups",
        &["day", "prefecture_code", "kind"],
        &STOCK_FIGURES,
        &rows,
    )
    .await
}

/// The key of a prefecture's stock rollup: day, prefecture, kind of entry.
pub type PrefectureStockKey = (NaiveDate, String, String);

/// Stock movements summed per prefecture (the cycle dropped).
fn prefecture_stock(
    moves: &BTreeMap<StockKey, StockFigures>,
) -> BTreeMap<PrefectureStockKey, StockFigures> {
    let mut out: BTreeMap<PrefectureStockKey, StockFigures> = BTreeMap::new();
    for ((day, m, _, k), f) in moves {
        out.entry((*day, prefecture_of(m).to_owned(), k.clone()))
            .or_default()
            .add(f);
    }
    out
}

/// Results summed per prefecture.
fn prefecture_results(
    results: &BTreeMap<(NaiveDate, String), ResultFigures>,
) -> BTreeMap<(NaiveDate, String), ResultFigures> {
    let mut out: BTreeMap<(NaiveDate, String), ResultFigures> = BTreeMap::new();
    for ((day, m), f) in results {
        out.entry((*day, prefecture_of(m).to_owned()))
            .or_default()
            .add(f);
    }
    out.retain(|_, f| !f.is_zero());
    out
}

/// Delivery lines of one key (or the difference a write makes to them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryFigures {
    pub lines: i64,
    /// Lines with their 納入実績日.
    pub delivered: i64,
}

/// The key of a delivery rollup: cycle, deliverer, municipality, 納入予定日 (`None`: not yet).
pub type DeliveryKey = (String, String, String, Option<NaiveDate>);

/// The rollup key and figures of one delivery line.
pub fn delivery_line(
    cycle_id: &str,
    deliverer_code: &str,
    municipality_code: &str,
    scheduled_on: Option<NaiveDate>,
    delivered: bool,
) -> (DeliveryKey, DeliveryFigures) {
    (
        (
            cycle_id.to_owned(),
            deliverer_code.to_owned(),
            municipality_code.to_owned(),
            scheduled_on,
        ),
        DeliveryFigures {
            lines: 1,
            delivered: i64::from(delivered),
        },
    )
}

/// The 納入予定日 as the rollup stores it ('' for none).
fn planned_text(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Adds delivery lines (each key summed first; `sign` −1 takes them away).
pub async fn add_deliveries(
    tx: &mut Tx,
    lines: &[(DeliveryKey, DeliveryFigures)],
    sign: i64,
) -> StoreResult<()> {
    let mut sums: BTreeMap<&DeliveryKey, DeliveryFigures> = BTreeMap::new();
    for (k, f) in lines {
        let e = sums.entry(k).or_default();
        e.lines += sign * f.lines;
        e.delivered += sign * f.delivered;
    }
    let rows: Vec<(Vec<Value>, Vec<i64>)> = sums
        .into_iter()
        .filter(|(_, f)| *f != DeliveryFigures::default())
        .map(|((c, d, m, p), f)| {
            (
                vec![
                    c.clone().into(),
                    d.clone().into(),
                    m.clone().into(),
                    planned_text(*p).into(),
                ],
                vec![f.lines, f.delivered],
            )
        })
        .collect();
    add_rows(
        tx,
        "delivery_rollups",
        &[
            "cycle_id",
            "deliverer_code",
            "municipality_code",
            "planned_on",
        ],
        &["lines", "delivered"],
        &rows,
    )
    .await
}

/// The kind a stock entry counts as in the rollups: its own, or for a correction the kind of
/// the entry it reverses (followed through corrections of corrections), so that a reversed
/// delivery or day's doses moves that kind's figures back.
fn counted_kind(
    id: &str,
    entries: &std::collections::HashMap<String, (String, Option<String>)>,
) -> String {
    let mut at = id;
    // Each entry is reversed at most once, so a chain is short; the bound guards bad data.
    for _ in 0..16 {
        match entries.get(at) {
            Some((kind, Some(reversed))) if kind == CORRECTION => at = reversed,
            Some((kind, _)) => return kind.clone(),
            None => return CORRECTION.to_owned(),
        }
    }
    CORRECTION.to_owned()
}

const CORRECTION: &str = "correction";

/// The counted kind of each of `rows` (see [`counted_kind`]), reading the entries that
/// corrections reverse from the ledger (and from `rows` themselves).
pub async fn counted_kinds(
    tx: &mut Tx,
    rows: &[(String, String, Option<String>)],
) -> StoreResult<Vec<String>> {
    let mut known: std::collections::HashMap<String, (String, Option<String>)> = rows
        .iter()
        .map(|(id, k, r)| (id.clone(), (k.clone(), r.clone())))
        .collect();
    let mut wanted: Vec<String> = rows
        .iter()
        .filter(|(_, k, _)| k == CORRECTION)
        .filter_map(|(_, _, r)| r.clone())
        .filter(|r| !known.contains_key(r))
        .collect();
    for _ in 0..16 {
        if wanted.is_empty() {
            break;
        }
        let found: Vec<(String, String, Option<String>)> = tx
            .all(
                &Query::select()
                    .columns([StockLedger::Id, StockLedger::Kind, StockLedger::Reverses])
                    .from(StockLedger::Table)
                    .and_where(Expr::col(StockLedger::Id).is_in(wanted.clone()))
                    .to_owned(),
            )
            .await?;
        wanted = found
            .iter()
            .filter(|(_, k, _)| k == CORRECTION)
            .filter_map(|(_, _, r)| r.clone())
            .filter(|r| !known.contains_key(r))
            .collect();
        known.extend(found.into_iter().map(|(id, k, r)| (id, (k, r))));
    }
    Ok(rows
        .iter()
        .map(|(id, _, _)| counted_kind(id, &known))
        .collect())
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
    id: String,
    reverses: Option<String>,
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
                .column((StockLedger::Table, StockLedger::Id))
                .column((StockLedger::Table, StockLedger::Reverses))
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
    let by_id: std::collections::HashMap<String, (String, Option<String>)> = entries
        .iter()
        .map(|e| (e.id.clone(), (e.kind.clone(), e.reverses.clone())))
        .collect();
    for e in entries {
        let f = out
            .stock
            .entry((
                japan_day(e.at),
                e.municipality_code.unwrap_or_default(),
                e.cycle_id.unwrap_or_default(),
                counted_kind(&e.id, &by_id),
            ))
            .or_default();
        f.entries += 1;
        f.vials += e.vials;
        f.doses += e.doses;
    }
    out.stock.retain(|_, f| *f != StockFigures::default());
    out.prefecture_results = prefecture_results(&out.results);
    out.prefecture_stock = prefecture_stock(&out.stock);
    out.prefecture_stock
        .retain(|_, f| *f != StockFigures::default());
    #[derive(sqlx::FromRow)]
    struct Lines {
        cycle_id: String,
        deliverer_code: String,
        municipality_code: String,
        scheduled_on: Option<NaiveDate>,
        lines: i64,
        delivered: i64,
    }
    let lines: Vec<Lines> = tx
        .all(
            &Query::select()
                .columns([
                    Deliveries::CycleId,
                    Deliveries::DelivererCode,
                    Deliveries::MunicipalityCode,
                    Deliveries::ScheduledOn,
                ])
                .expr_as(
                    Func::count(Expr::col(Deliveries::Id)).cast_as("int8"),
                    Alias::new("lines"),
                )
                .expr_as(
                    Func::count(Expr::col(Deliveries::DeliveredOn)).cast_as("int8"),
                    Alias::new("delivered"),
                )
                .from(Deliveries::Table)
                .group_by_col(Deliveries::CycleId)
                .group_by_col(Deliveries::DelivererCode)
                .group_by_col(Deliveries::MunicipalityCode)
                .group_by_col(Deliveries::ScheduledOn)
                .to_owned(),
        )
        .await?;
    out.deliveries = lines
        .into_iter()
        .map(|l| {
            (
                (
                    l.cycle_id,
                    l.deliverer_code,
                    l.municipality_code,
                    l.scheduled_on,
                ),
                DeliveryFigures {
                    lines: l.lines,
                    delivered: l.delivered,
                },
            )
        })
        .collect();
    Ok(out)
}

/// The rollups as stored (rows of all zeros, left by a write and its correction, are the same
/// as no row).
pub async fn stored(tx: &mut Tx) -> StoreResult<Rollups> {
    #[derive(sqlx::FromRow)]
    struct Day {
        day: NaiveDate,
        area: String,
        #[sqlx(flatten)]
        f: ResultFigures,
    }
    #[derive(sqlx::FromRow)]
    struct S {
        day: NaiveDate,
        area: String,
        cycle_id: String,
        kind: String,
        #[sqlx(flatten)]
        f: StockFigures,
    }
    #[derive(sqlx::FromRow)]
    struct L {
        cycle_id: String,
        deliverer_code: String,
        municipality_code: String,
        planned_on: String,
        #[sqlx(flatten)]
        f: DeliveryFigures,
    }
    let all = |table: &str, cols: &[&str], area: Option<&str>| {
        let mut q = Query::select().from(Alias::new(table)).to_owned();
        if let Some(a) = area {
            q.expr_as(Expr::col(Alias::new(a)), Alias::new("area"));
        }
        q.columns(cols.iter().map(|c| Alias::new(*c)));
        q
    };
    let mut results = BTreeMap::new();
    let mut prefecture_results = BTreeMap::new();
    for (table, area, into) in [
        ("result_rollups", "municipality_code", &mut results),
        (
            "prefecture_result_rollups",
            "prefecture_code",
            &mut prefecture_results,
        ),
    ] {
        let cols: Vec<&str> = ["day"].into_iter().chain(RESULT_FIGURES).collect();
        let rows: Vec<Day> = tx.all(&all(table, &cols, Some(area))).await?;
        into.extend(
            rows.into_iter()
                .filter(|r| !r.f.is_zero())
                .map(|r| ((r.day, r.area), r.f)),
        );
    }
    let cols: Vec<&str> = ["day", "cycle_id", "kind"]
        .into_iter()
        .chain(STOCK_FIGURES)
        .collect();
    let stock: Vec<S> = tx
        .all(&all("stock_rollups", &cols, Some("municipality_code")))
        .await?;
    let cols: Vec<&str> = ["day", "kind"].into_iter().chain(STOCK_FIGURES).collect();
    let mut q = all("prefecture_stock_rollups", &cols, Some("prefecture_code"));
    q.expr_as(Expr::val(""), Alias::new("cycle_id"));
    let prefecture_stock: Vec<S> = tx.all(&q).await?;
    let lines: Vec<L> = tx
        .all(&all(
            "delivery_rollups",
            &[
                "cycle_id",
                "deliverer_code",
                "municipality_code",
                "planned_on",
                "lines",
                "delivered",
            ],
            None,
        ))
        .await?;
    let nonzero = |s: &S| s.f != StockFigures::default();
    Ok(Rollups {
        results,
        prefecture_results,
        stock: stock
            .into_iter()
            .filter(nonzero)
            .map(|s| ((s.day, s.area, s.cycle_id, s.kind), s.f))
            .collect(),
        prefecture_stock: prefecture_stock
            .into_iter()
            .filter(nonzero)
            .map(|s| ((s.day, s.area, s.kind), s.f))
            .collect(),
        deliveries: lines
            .into_iter()
            .filter(|l| l.f != DeliveryFigures::default())
            .map(|l| {
                (
                    (
                        l.cycle_id,
                        l.deliverer_code,
                        l.municipality_code,
                        l.planned_on.parse::<NaiveDate>().ok(),
                    ),
                    l.f,
                )
            })
            .collect(),
    })
}

/// The rollup tables, as [`rebuild`] empties them.
const TABLES: [&str; 5] = [
    "result_rollups",
    "stock_rollups",
    "prefecture_result_rollups",
    "prefecture_stock_rollups",
    "delivery_rollups",
];

/// Replaces the rollups with [`recompute`]'s figures; how many rows the results and the
/// stock rollups of municipalities hold now.
///
/// On PostgreSQL the rollup tables are locked first (writers' increments wait for the rebuild
/// to commit): a write committed before the lock is in the recomputed figures, one after it
/// adds its increment to them. SQLite serialises writers anyway.
pub async fn rebuild(tx: &mut Tx) -> StoreResult<(usize, usize)> {
    if tx.backend() == crate::db::Backend::Postgres {
        tx.raw(&format!(
            "LOCK TABLE {} IN EXCLUSIVE MODE",
            TABLES.join(", ")
        ))
        .await?;
    }
    let fresh = recompute(tx).await?;
    for t in TABLES {
        tx.exec(&Query::delete().from_table(Alias::new(t)).to_owned())
            .await?;
    }
    for ((day, m), f) in &fresh.results {
        add_rows(
            tx,
            "result_rollups",
            &["day", "municipality_code"],
            &RESULT_FIGURES,
            &[(vec![(*day).into(), m.clone().into()], f.numbers())],
        )
        .await?;
    }
    let rows: Vec<(Vec<Value>, Vec<i64>)> = fresh
        .prefecture_results
        .iter()
        .map(|((day, p), f)| (vec![(*day).into(), p.clone().into()], f.numbers()))
        .collect();
    add_rows(
        tx,
        "prefecture_result_rollups",
        &["day", "prefecture_code"],
        &RESULT_FIGURES,
        &rows,
    )
    .await?;
    add_stock(tx, &fresh.stock).await?;
    let lines: Vec<(DeliveryKey, DeliveryFigures)> = fresh
        .deliveries
        .iter()
        .map(|(k, f)| (k.clone(), *f))
        .collect();
    add_deliveries(tx, &lines, 1).await?;
    if tx.backend() == crate::db::Backend::Postgres {
        // Fresh statistics, so that the planner knows the tables' size at once (not after
        // autovacuum has come by).
        tx.raw(&format!("ANALYZE {}", TABLES.join(", "))).await?;
    }
    Ok((fresh.results.len(), fresh.stock.len()))
}

/// The areas one level below `area` in the rollups: the prefectures for the nation (`""`),
/// the municipalities of a prefecture (its two digits) or the municipality itself (five).
fn below(area: &str) -> (&'static str, &'static str) {
    if area.is_empty() {
        ("prefecture_result_rollups", "prefecture_code")
    } else {
        ("result_rollups", "municipality_code")
    }
}

/// An area's results of one day below it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AreaDay {
    pub day: NaiveDate,
    /// The prefecture (for the nation) or municipality.
    pub area: String,
    #[sqlx(flatten)]
    pub f: ResultFigures,
}

/// The results of every day since `from` (all days: `None`) of the areas below `area` (see
/// [`below`]), from the rollups alone: at most 47 rows a day for the nation.
pub async fn results_below(
    tx: &mut Tx,
    area: &str,
    from: Option<NaiveDate>,
) -> StoreResult<Vec<AreaDay>> {
    let (table, col) = below(area);
    let mut q = Query::select()
        .column(Alias::new("day"))
        .expr_as(Expr::col(Alias::new(col)), Alias::new("area"))
        .columns(RESULT_FIGURES.iter().map(|c| Alias::new(*c)))
        .from(Alias::new(table))
        .order_by(Alias::new("day"), Order::Asc)
        .to_owned();
    if !area.is_empty() {
        q.cond_where(crate::orgs::under(Alias::new(col), area));
    }
    if let Some(from) = from {
        q.and_where(Expr::col(Alias::new("day")).gte(from));
    }
    tx.all(&q).await
}

/// Stock movements of one kind below an area.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AreaStock {
    pub area: String,
    pub kind: String,
    #[sqlx(flatten)]
    pub f: StockFigures,
}

/// Stock movements since `from` (all: `None`) summed per area below `area` and kind.
pub async fn stock_below(
    tx: &mut Tx,
    area: &str,
    from: Option<NaiveDate>,
) -> StoreResult<Vec<AreaStock>> {
    let (table, col) = if area.is_empty() {
        ("prefecture_stock_rollups", "prefecture_code")
    } else {
        ("stock_rollups", "municipality_code")
    };
    let mut q = Query::select()
        .expr_as(Expr::col(Alias::new(col)), Alias::new("area"))
        .column(Alias::new("kind"))
        .from(Alias::new(table))
        .group_by_col(Alias::new(col))
        .group_by_col(Alias::new("kind"))
        .to_owned();
    for c in STOCK_FIGURES {
        q.expr_as(
            Expr::col(Alias::new(c)).sum().cast_as("int8"),
            Alias::new(c),
        );
    }
    if !area.is_empty() {
        q.cond_where(crate::orgs::under(Alias::new(col), area));
    }
    if let Some(from) = from {
        q.and_where(Expr::col(Alias::new("day")).gte(from));
    }
    tx.all(&q).await
}

/// Delivery lines of `cycle_id` to the municipalities under `area` (all: `""`).
pub async fn deliveries_below(
    tx: &mut Tx,
    cycle_id: &str,
    area: &str,
) -> StoreResult<Vec<(DeliveryKey, DeliveryFigures)>> {
    #[derive(sqlx::FromRow)]
    struct L {
        deliverer_code: String,
        municipality_code: String,
        planned_on: String,
        #[sqlx(flatten)]
        f: DeliveryFigures,
    }
    let mut q = Query::select()
        .columns(
            [
                "deliverer_code",
                "municipality_code",
                "planned_on",
                "lines",
                "delivered",
            ]
            .map(Alias::new),
        )
        .from(Alias::new("delivery_rollups"))
        .and_where(Expr::col(Alias::new("cycle_id")).eq(cycle_id))
        .to_owned();
    if !area.is_empty() {
        q.cond_where(crate::orgs::under(Alias::new("municipality_code"), area));
    }
    let rows: Vec<L> = tx.all(&q).await?;
    Ok(rows
        .into_iter()
        .filter(|l| l.f != DeliveryFigures::default())
        .map(|l| {
            (
                (
                    cycle_id.to_owned(),
                    l.deliverer_code,
                    l.municipality_code,
                    l.planned_on.parse::<NaiveDate>().ok(),
                ),
                l.f,
            )
        })
        .collect())
}

/// The newest day with stock movements under `area` (see [`stock_below`]).
pub async fn newest_stock_day(tx: &mut Tx, area: &str) -> StoreResult<Option<NaiveDate>> {
    let (table, col) = if area.is_empty() {
        ("prefecture_stock_rollups", "prefecture_code")
    } else {
        ("stock_rollups", "municipality_code")
    };
    let mut q = Query::select()
        .expr_as(Expr::col(Alias::new("day")).max(), Alias::new("day"))
        .from(Alias::new(table))
        .to_owned();
    if !area.is_empty() {
        q.cond_where(crate::orgs::under(Alias::new(col), area));
    }
    let row: Option<(Option<NaiveDate>,)> = tx.opt(&q).await?;
    Ok(row.and_then(|(d,)| d))
}
