//! Deliveries (one per finalised site line and item) and organisation API tokens.

use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::schema::{
    ApiTokens as T, DelivererInbound as I, DelivererProfiles as P, Deliveries as D,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement, SimpleExpr};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct DeliveryRow {
    pub id: String,
    pub cycle_id: String,
    /// The site's allocation node.
    pub node_id: String,
    pub site_code: String,
    pub site_path: String,
    pub municipality_code: String,
    /// `vaccine`, `needle` or `syringe`: they may arrive on different days.
    #[sqlx(try_from = "String")]
    pub item: vsys_domain::product::ProductKind,
    pub product_id: Option<String>,
    /// Vials (vaccine) or pieces (needles, syringes).
    pub quantity: i64,
    pub deliverer_code: String,
    /// 納入予定日.
    pub scheduled_on: Option<NaiveDate>,
    /// 納入実績日.
    pub delivered_on: Option<NaiveDate>,
    pub delivery_number: Option<String>,
    pub lot: Option<String>,
    pub note: Option<String>,
    /// `dry_ice` or `freezer`, from the site's request.
    pub storage: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
}

const COLUMNS: [D; 19] = [
    D::Id,
    D::CycleId,
    D::NodeId,
    D::SiteCode,
    D::SitePath,
    D::MunicipalityCode,
    D::Item,
    D::ProductId,
    D::Quantity,
    D::DelivererCode,
    D::ScheduledOn,
    D::DeliveredOn,
    D::DeliveryNumber,
    D::Lot,
    D::Note,
    D::Storage,
    D::UpdatedAt,
    D::UpdatedBy,
    D::Version,
];

fn values(r: &DeliveryRow) -> [SimpleExpr; 19] {
    [
        r.id.clone().into(),
        r.cycle_id.clone().into(),
        r.node_id.clone().into(),
        r.site_code.clone().into(),
        r.site_path.clone().into(),
        r.municipality_code.clone().into(),
        r.item.as_str().into(),
        r.product_id.clone().into(),
        r.quantity.into(),
        r.deliverer_code.clone().into(),
        r.scheduled_on.into(),
        r.delivered_on.into(),
        r.delivery_number.clone().into(),
        r.lot.clone().into(),
        r.note.clone().into(),
        r.storage.clone().into(),
        r.updated_at.into(),
        r.updated_by.clone().into(),
        r.version.into(),
    ]
}

fn cols() -> &'static [D] {
    &COLUMNS
}

fn select() -> SelectStatement {
    Query::select()
        .columns(cols().iter().copied())
        .from(D::Table)
        .to_owned()
}

/// The rollup key and figures of a delivery line.
fn rollup_line(r: &DeliveryRow) -> (crate::rollups::DeliveryKey, crate::rollups::DeliveryFigures) {
    crate::rollups::delivery_line(
        &r.cycle_id,
        &r.deliverer_code,
        &r.municipality_code,
        r.scheduled_on,
        r.delivered_on.is_some(),
    )
}

/// Inserts deliveries in batches; a line that already has its delivery is left alone. The
/// delivery rollups count the lines inserted, in the same transaction.
pub async fn insert_many(tx: &mut Tx, rows: &[DeliveryRow]) -> StoreResult<()> {
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert()
            .into_table(D::Table)
            .columns(cols().iter().copied())
            .to_owned();
        for r in chunk {
            q.values_panic(values(r));
        }
        q.on_conflict(
            sea_query::OnConflict::columns([D::NodeId, D::Item])
                .do_nothing()
                .to_owned(),
        );
        q.returning_col(D::Id);
        let inserted: Vec<(String,)> = tx.all(&q).await?;
        let inserted: std::collections::HashSet<String> =
            inserted.into_iter().map(|(id,)| id).collect();
        let lines: Vec<_> = chunk
            .iter()
            .filter(|r| inserted.contains(&r.id))
            .map(rollup_line)
            .collect();
        crate::rollups::add_deliveries(tx, &lines, 1).await?;
    }
    Ok(())
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<DeliveryRow>> {
    tx.opt(&select().and_where(Expr::col(D::Id).eq(id)).to_owned())
        .await
}

/// Writes a delivery (`before` as read, `r` the new one) if its stored version is still
/// `r.version - 1`; the delivery rollups move from the old line's key to the new one's.
pub async fn update(tx: &mut Tx, before: &DeliveryRow, r: &DeliveryRow) -> StoreResult<()> {
    let n = tx
        .exec(
            &Query::update()
                .table(D::Table)
                .values(cols().iter().copied().zip(values(r)).skip(1))
                .and_where(Expr::col(D::Id).eq(r.id.as_str()))
                .and_where(Expr::col(D::Version).eq(r.version - 1))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    let (old, new) = (rollup_line(before), rollup_line(r));
    if old != new {
        crate::rollups::add_deliveries(tx, &[old], -1).await?;
        crate::rollups::add_deliveries(tx, &[new], 1).await?;
    }
    Ok(())
}

/// Which deliveries a list shows.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only deliveries to sites under this path (the caller's area)…
    pub site_path: Option<String>,
    /// …or only those assigned to this deliverer.
    pub deliverer_code: Option<String>,
    pub cycle_id: Option<String>,
    pub municipality_code: Option<String>,
    pub item: Option<String>,
    /// `unscheduled` (no 納入予定日), `late` (scheduled before `today`, not delivered),
    /// `delivered`, or a day: `scheduled:YYYY-MM-DD` / `delivered:YYYY-MM-DD`.
    pub state: Option<String>,
    pub today: Option<NaiveDate>,
}

fn cond(f: &DeliveryFilter) -> Cond {
    let mut c = Cond::all();
    if let Some(p) = &f.site_path {
        c = c.add(crate::orgs::under(D::SitePath, p));
    }
    if let Some(d) = &f.deliverer_code {
        c = c.add(Expr::col(D::DelivererCode).eq(d.as_str()));
    }
    if let Some(v) = &f.cycle_id {
        c = c.add(Expr::col(D::CycleId).eq(v.as_str()));
    }
    if let Some(v) = &f.municipality_code {
        c = c.add(Expr::col(D::MunicipalityCode).eq(v.as_str()));
    }
    if let Some(v) = &f.item {
        c = c.add(Expr::col(D::Item).eq(v.as_str()));
    }
    match f.state.as_deref() {
        Some("unscheduled") => c = c.add(Expr::col(D::ScheduledOn).is_null()),
        Some("late") => {
            c = c
                .add(Expr::col(D::DeliveredOn).is_null())
                .add(Expr::col(D::ScheduledOn).lt(f.today.unwrap_or_default()))
        }
        Some("delivered") => c = c.add(Expr::col(D::DeliveredOn).is_not_null()),
        Some(s) => {
            if let Some(day) = s
                .strip_prefix("scheduled:")
                .and_then(|d| d.parse::<NaiveDate>().ok())
            {
                c = c.add(Expr::col(D::ScheduledOn).eq(day));
            } else if let Some(day) = s
                .strip_prefix("delivered:")
                .and_then(|d| d.parse::<NaiveDate>().ok())
            {
                c = c.add(Expr::col(D::DeliveredOn).eq(day));
            }
        }
        None => {}
    }
    c
}

pub async fn list(
    tx: &mut Tx,
    f: &DeliveryFilter,
    page: crate::Page,
) -> StoreResult<(Vec<DeliveryRow>, i64)> {
    let count = Query::select()
        .expr(crate::db::count_rows())
        .from(D::Table)
        .cond_where(cond(f))
        .to_owned();
    let rows = select()
        .cond_where(cond(f))
        // Undated lines first, the same on both databases.
        .order_by_with_nulls(D::ScheduledOn, Order::Asc, sea_query::NullOrdering::First)
        .order_by(D::SiteCode, Order::Asc)
        .order_by(D::Item, Order::Asc)
        .to_owned();
    tx.page(rows, count, page).await
}

/// Counts by a date column (`scheduled_on` or `delivered_on`) of the filtered deliveries.
pub async fn counts_by_day(
    tx: &mut Tx,
    f: &DeliveryFilter,
    delivered: bool,
) -> StoreResult<Vec<(NaiveDate, i64)>> {
    let col = if delivered {
        D::DeliveredOn
    } else {
        D::ScheduledOn
    };
    tx.all(
        &Query::select()
            .column(col)
            .expr(Expr::col(D::Id).count())
            .from(D::Table)
            .cond_where(cond(f))
            .and_where(Expr::col(col).is_not_null())
            .group_by_col(col)
            .order_by(col, Order::Asc)
            .to_owned(),
    )
    .await
}

/// How many filtered deliveries there are.
pub async fn count(tx: &mut Tx, f: &DeliveryFilter) -> StoreResult<i64> {
    tx.count(
        &Query::select()
            .expr(Expr::col(D::Id).count())
            .from(D::Table)
            .cond_where(cond(f))
            .to_owned(),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct TokenRow {
    pub id: String,
    pub org_code: String,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: [T; 8] = [
    T::Id,
    T::OrgCode,
    T::Name,
    T::TokenHash,
    T::CreatedAt,
    T::CreatedBy,
    T::RevokedAt,
    T::LastUsedAt,
];

pub async fn insert_token(tx: &mut Tx, t: &TokenRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(T::Table)
            .columns(TOKEN_COLUMNS)
            .values_panic([
                t.id.clone().into(),
                t.org_code.clone().into(),
                t.name.clone().into(),
                t.token_hash.clone().into(),
                t.created_at.into(),
                t.created_by.clone().into(),
                t.revoked_at.into(),
                t.last_used_at.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn tokens(tx: &mut Tx, org_code: &str) -> StoreResult<Vec<TokenRow>> {
    tx.all(
        &Query::select()
            .columns(TOKEN_COLUMNS)
            .from(T::Table)
            .and_where(Expr::col(T::OrgCode).eq(org_code))
            .order_by(T::CreatedAt, Order::Desc)
            .to_owned(),
    )
    .await
}

pub async fn token_by_hash(tx: &mut Tx, hash: &str) -> StoreResult<Option<TokenRow>> {
    tx.opt(
        &Query::select()
            .columns(TOKEN_COLUMNS)
            .from(T::Table)
            .and_where(Expr::col(T::TokenHash).eq(hash))
            .to_owned(),
    )
    .await
}

/// Revokes a token of the organisation; `NotFound` when there is no such live token.
pub async fn revoke_token(
    tx: &mut Tx,
    org_code: &str,
    id: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let n = tx
        .exec(
            &Query::update()
                .table(T::Table)
                .value(T::RevokedAt, at)
                .and_where(Expr::col(T::Id).eq(id))
                .and_where(Expr::col(T::OrgCode).eq(org_code))
                .and_where(Expr::col(T::RevokedAt).is_null())
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn touch_token(tx: &mut Tx, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(T::Table)
            .value(T::LastUsedAt, at)
            .and_where(Expr::col(T::Id).eq(id))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// What one deliverer has of one item in a cycle.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct DelivererTotal {
    pub deliverer_code: String,
    #[sqlx(try_from = "String")]
    pub item: vsys_domain::ProductKind,
    pub lines: i64,
    pub quantity: i64,
    pub delivered: i64,
}

/// Per deliverer and item of a cycle: lines, quantity assigned, quantity delivered.
pub async fn totals_by_deliverer(tx: &mut Tx, cycle_id: &str) -> StoreResult<Vec<DelivererTotal>> {
    let delivered = Expr::cust("SUM(CASE WHEN delivered_on IS NOT NULL THEN quantity ELSE 0 END)");
    tx.all(
        &Query::select()
            .column(D::DelivererCode)
            .column(D::Item)
            .expr_as(Expr::col(D::Id).count(), "lines")
            .expr_as(Expr::col(D::Quantity).sum().cast_as("int8"), "quantity")
            .expr_as(delivered.cast_as("int8"), "delivered")
            .from(D::Table)
            .and_where(Expr::col(D::CycleId).eq(cycle_id))
            .group_by_col(D::DelivererCode)
            .group_by_col(D::Item)
            .order_by(D::DelivererCode, Order::Asc)
            .order_by(D::Item, Order::Asc)
            .to_owned(),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct InboundRow {
    pub id: String,
    pub org_code: String,
    pub cycle_id: String,
    #[sqlx(try_from = "String")]
    pub item: vsys_domain::product::ProductKind,
    pub quantity: i64,
    pub received_on: NaiveDate,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
}

const INBOUND_COLUMNS: [I; 8] = [
    I::Id,
    I::OrgCode,
    I::CycleId,
    I::Item,
    I::Quantity,
    I::ReceivedOn,
    I::At,
    I::By,
];

pub async fn insert_inbound(tx: &mut Tx, r: &InboundRow) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(I::Table)
            .columns(INBOUND_COLUMNS)
            .values_panic([
                r.id.clone().into(),
                r.org_code.clone().into(),
                r.cycle_id.clone().into(),
                r.item.as_str().into(),
                r.quantity.into(),
                r.received_on.into(),
                r.at.into(),
                r.by.clone().into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// A deliverer's inbound records of a cycle, oldest first.
pub async fn inbound(tx: &mut Tx, org_code: &str, cycle_id: &str) -> StoreResult<Vec<InboundRow>> {
    tx.all(
        &Query::select()
            .columns(INBOUND_COLUMNS)
            .from(I::Table)
            .and_where(Expr::col(I::OrgCode).eq(org_code))
            .and_where(Expr::col(I::CycleId).eq(cycle_id))
            .order_by(I::ReceivedOn, Order::Asc)
            .order_by(I::Id, Order::Asc)
            .to_owned(),
    )
    .await
}

/// A deliverer's basic information.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, Default)]
pub struct DelivererProfileRow {
    pub org_code: String,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// 担当者.
    pub contact: Option<String>,
    pub email: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
}

const PROFILE_COLUMNS: [P; 9] = [
    P::OrgCode,
    P::PostalCode,
    P::Address,
    P::Phone,
    P::Contact,
    P::Email,
    P::UpdatedAt,
    P::UpdatedBy,
    P::Version,
];

pub async fn profile(tx: &mut Tx, org_code: &str) -> StoreResult<Option<DelivererProfileRow>> {
    tx.opt(
        &Query::select()
            .columns(PROFILE_COLUMNS)
            .from(P::Table)
            .and_where(Expr::col(P::OrgCode).eq(org_code))
            .to_owned(),
    )
    .await
}

/// Writes a deliverer's profile if the stored version is still `expected` (0: none stored).
pub async fn put_profile(
    tx: &mut Tx,
    r: &DelivererProfileRow,
    expected: i64,
) -> StoreResult<DelivererProfileRow> {
    let row = DelivererProfileRow {
        version: expected + 1,
        ..r.clone()
    };
    let values: [SimpleExpr; 9] = [
        row.org_code.clone().into(),
        row.postal_code.clone().into(),
        row.address.clone().into(),
        row.phone.clone().into(),
        row.contact.clone().into(),
        row.email.clone().into(),
        row.updated_at.into(),
        row.updated_by.clone().into(),
        row.version.into(),
    ];
    let n = if expected == 0 {
        tx.exec(
            &Query::insert()
                .into_table(P::Table)
                .columns(PROFILE_COLUMNS)
                .values_panic(values)
                .on_conflict(
                    sea_query::OnConflict::column(P::OrgCode)
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?
    } else {
        tx.exec(
            &Query::update()
                .table(P::Table)
                .values(PROFILE_COLUMNS.into_iter().zip(values).skip(1))
                .and_where(Expr::col(P::OrgCode).eq(row.org_code.as_str()))
                .and_where(Expr::col(P::Version).eq(expected))
                .to_owned(),
        )
        .await?
    };
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(row)
}
