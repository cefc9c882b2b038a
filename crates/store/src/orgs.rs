//! Organisations and the areas they serve.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::{OrgAreas, Orgs, Users};
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct OrgRow {
    pub code: String,
    #[sqlx(try_from = "String")]
    pub kind: vsys_domain::OrgKind,
    pub name: String,
    pub name_en: Option<String>,
    pub parent_code: Option<String>,
    pub path: String,
    pub prefecture_code: Option<String>,
    pub population: Option<i64>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const COLUMNS: [Orgs; 13] = [
    Orgs::Code,
    Orgs::Kind,
    Orgs::Name,
    Orgs::NameEn,
    Orgs::ParentCode,
    Orgs::Path,
    Orgs::PrefectureCode,
    Orgs::Population,
    Orgs::Lat,
    Orgs::Lng,
    Orgs::CreatedAt,
    Orgs::UpdatedAt,
    Orgs::Version,
];

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(|c| (Orgs::Table, c)))
        .from(Orgs::Table)
        .to_owned()
}

fn values(r: &OrgRow) -> [sea_query::SimpleExpr; 13] {
    [
        r.code.clone().into(),
        r.kind.as_str().into(),
        r.name.clone().into(),
        r.name_en.clone().into(),
        r.parent_code.clone().into(),
        r.path.clone().into(),
        r.prefecture_code.clone().into(),
        r.population.into(),
        r.lat.into(),
        r.lng.into(),
        r.created_at.into(),
        r.updated_at.into(),
        r.version.into(),
    ]
}

/// Tells everything that caches organisations that they change in this transaction: divisions
/// (which name them), the registry's lists, and sessions (an organisation's name and place are
/// part of who its users are). One statement; a write that fails rolls it back with itself.
async fn bump(tx: &mut Tx) -> StoreResult<()> {
    use crate::coordination::{ALLOCATIONS, REGISTRY, SESSIONS, bump_each};
    bump_each(tx, &[ALLOCATIONS, REGISTRY, SESSIONS]).await
}

/// Inserts organisations in batches (master data, demo). Rows must come parents first.
pub async fn insert_many(tx: &mut Tx, rows: &[OrgRow]) -> StoreResult<()> {
    bump(tx).await?;
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert()
            .into_table(Orgs::Table)
            .columns(COLUMNS)
            .to_owned();
        for r in chunk {
            q.values_panic(values(r));
        }
        tx.exec(&q).await?;
    }
    Ok(())
}

/// Writes an organisation if its stored version is still `expected` (`row.version` is the
/// new one).
pub async fn update(tx: &mut Tx, row: &OrgRow, expected: i64) -> StoreResult<()> {
    bump(tx).await?;
    let n = tx
        .exec(
            &Query::update()
                .table(Orgs::Table)
                .values([
                    (Orgs::Name, row.name.clone().into()),
                    (Orgs::NameEn, row.name_en.clone().into()),
                    (Orgs::ParentCode, row.parent_code.clone().into()),
                    (Orgs::Path, row.path.clone().into()),
                    (Orgs::PrefectureCode, row.prefecture_code.clone().into()),
                    (Orgs::UpdatedAt, row.updated_at.into()),
                    (Orgs::Version, row.version.into()),
                ])
                .and_where(Expr::col(Orgs::Code).eq(row.code.as_str()))
                .and_where(Expr::col(Orgs::Version).eq(expected))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(crate::StoreError::Conflict);
    }
    Ok(())
}

/// Inserts or replaces (name, parent, path, prefecture, updated_at, version) organisations in
/// batches: the registry import. Rows must come parents first.
pub async fn upsert_many(tx: &mut Tx, rows: &[OrgRow]) -> StoreResult<()> {
    bump(tx).await?;
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert()
            .into_table(Orgs::Table)
            .columns(COLUMNS)
            .to_owned();
        for r in chunk {
            q.values_panic(values(r));
        }
        q.on_conflict(
            sea_query::OnConflict::column(Orgs::Code)
                .update_columns([
                    Orgs::Name,
                    Orgs::ParentCode,
                    Orgs::Path,
                    Orgs::PrefectureCode,
                    Orgs::UpdatedAt,
                    Orgs::Version,
                ])
                .to_owned(),
        );
        tx.exec(&q).await?;
    }
    Ok(())
}

pub async fn get(tx: &mut Tx, code: &str) -> StoreResult<Option<OrgRow>> {
    tx.opt(
        &select()
            .and_where(Expr::col((Orgs::Table, Orgs::Code)).eq(code))
            .to_owned(),
    )
    .await
}

pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    tx.count(
        &Query::select()
            .expr(Expr::col(Orgs::Code).count())
            .from(Orgs::Table)
            .to_owned(),
    )
    .await
}

/// A filter over the organisations inside one scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OrgFilter {
    /// Only organisations whose path starts with this (the caller's scope).
    pub scope_path: String,
    pub kind: Option<String>,
    /// Only organisations of one of these kinds (when not empty).
    pub kinds: Vec<String>,
    pub parent_code: Option<String>,
    /// Matches code prefix or a part of the name.
    pub q: Option<String>,
}

fn filtered(f: &OrgFilter) -> SelectStatement {
    let mut cond = Cond::all().add(under((Orgs::Table, Orgs::Path), &f.scope_path));
    if let Some(k) = &f.kind {
        cond = cond.add(Expr::col((Orgs::Table, Orgs::Kind)).eq(k.as_str()));
    }
    if !f.kinds.is_empty() {
        cond = cond
            .add(Expr::col((Orgs::Table, Orgs::Kind)).is_in(f.kinds.iter().map(String::as_str)));
    }
    if let Some(p) = &f.parent_code {
        cond = cond.add(Expr::col((Orgs::Table, Orgs::ParentCode)).eq(p.as_str()));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pat = escape_like(q);
        cond = cond.add(
            Cond::any()
                .add(like((Orgs::Table, Orgs::Code), format!("{pat}%")))
                .add(like((Orgs::Table, Orgs::Name), format!("%{pat}%"))),
        );
    }
    Query::select()
        .from(Orgs::Table)
        .cond_where(cond)
        .to_owned()
}

/// `col` lies under `prefix`: `col >= prefix AND col < prefix⁺` (prefix⁺ = the prefix with its
/// last character's successor), a range an index serves on both backends (the path columns
/// compare bytewise: SQLite's default, the "C" collation on PostgreSQL) — unlike
/// `LIKE 'prefix%'`, which scans every row.
pub fn under(col: impl sea_query::IntoColumnRef + Clone, prefix: &str) -> Cond {
    let mut upper = prefix.to_owned();
    let cond = Cond::all().add(Expr::col(col.clone()).gte(prefix));
    match upper.pop() {
        Some(last) => {
            let next = char::from_u32(last as u32 + 1).unwrap_or(char::MAX);
            upper.push(next);
            cond.add(Expr::col(col).lt(upper))
        }
        // Everything is under the empty prefix.
        None => cond,
    }
}

/// Escapes `\\`, `%` and `_` so that a user's text matches literally in [`like`].
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `col LIKE pattern ESCAPE '\\'`, the same on both backends. Build `pattern` from
/// [`escape_like`]d parts.
pub fn like(col: impl sea_query::IntoColumnRef, pattern: String) -> sea_query::Expr {
    Expr::col(col).like(sea_query::LikeExpr::new(pattern).escape('\\'))
}

pub async fn list(
    tx: &mut Tx,
    f: &OrgFilter,
    page: crate::Page,
) -> StoreResult<(Vec<OrgRow>, i64)> {
    // In path order — the order of the indexes (kind, path) and (path) that find the scope —
    // so a page is read off the index with no sort: an organisation's children come after it,
    // siblings by code, a prefecture's sites by municipality. The count reads only that index
    // (`COUNT(*)`: counting a column would visit every row), as a subquery of the page's
    // statement; a window count (`COUNT(*) OVER ()`) would materialise every matching row.
    let mut rows = filtered(f);
    rows.columns(COLUMNS.map(|c| (Orgs::Table, c)))
        .order_by((Orgs::Table, Orgs::Path), Order::Asc);
    let count = filtered(f).expr(crate::db::count_rows()).to_owned();
    tx.page(rows, count, page).await
}

/// Does the organisation have an enabled administrator?
pub async fn has_admin(tx: &mut Tx, code: &str) -> StoreResult<bool> {
    let n = tx
        .count(
            &Query::select()
                .expr(Expr::col(Users::Id).count())
                .from(Users::Table)
                .and_where(Expr::col(Users::OrgCode).eq(code))
                .and_where(Expr::col(Users::Role).eq("admin"))
                .and_where(Expr::col(Users::Disabled).eq(false))
                .to_owned(),
        )
        .await?;
    Ok(n > 0)
}

pub async fn add_area(tx: &mut Tx, org: &str, area: &str) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(OrgAreas::Table)
            .columns([OrgAreas::OrgCode, OrgAreas::AreaCode])
            .values_panic([org.into(), area.into()])
            .to_owned(),
    )
    .await?;
    Ok(())
}

pub async fn areas(tx: &mut Tx, org: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = tx
        .all(
            &Query::select()
                .column(OrgAreas::AreaCode)
                .from(OrgAreas::Table)
                .and_where(Expr::col(OrgAreas::OrgCode).eq(org))
                .order_by(OrgAreas::AreaCode, Order::Asc)
                .to_owned(),
        )
        .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}

/// The highest serial used by codes starting with `prefix` (for assigning the next code).
pub async fn max_code_with_prefix(
    tx: &mut Tx,
    prefix: &str,
    len: usize,
) -> StoreResult<Option<String>> {
    let rows: Option<(String,)> = tx
        .opt(
            &Query::select()
                .column(Orgs::Code)
                .from(Orgs::Table)
                .and_where(like(Orgs::Code, format!("{}%", escape_like(prefix))))
                .and_where(sea_query::Func::char_length(Expr::col(Orgs::Code)).eq(len as i64))
                .order_by(Orgs::Code, Order::Desc)
                .limit(1)
                .to_owned(),
        )
        .await?;
    Ok(rows.map(|(c,)| c))
}

/// The organisations with these codes (any order; codes that do not exist are left out),
/// read in chunks of 1,000 codes.
pub async fn get_many(tx: &mut Tx, codes: &[String]) -> StoreResult<Vec<OrgRow>> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(1000) {
        out.extend(
            tx.all::<OrgRow, _>(
                &select()
                    .and_where(
                        Expr::col((Orgs::Table, Orgs::Code))
                            .is_in(chunk.iter().map(String::as_str)),
                    )
                    .to_owned(),
            )
            .await?,
        );
    }
    Ok(out)
}

/// Replaces the areas an organisation serves.
pub async fn set_areas(tx: &mut Tx, org: &str, areas: &[String]) -> StoreResult<()> {
    tx.exec(
        &Query::delete()
            .from_table(OrgAreas::Table)
            .and_where(Expr::col(OrgAreas::OrgCode).eq(org))
            .to_owned(),
    )
    .await?;
    for a in areas {
        add_area(tx, org, a).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::{Query, SqliteQueryBuilder};

    fn rendered(prefix: &str) -> String {
        Query::select()
            .column(Orgs::Code)
            .from(Orgs::Table)
            .cond_where(under(Orgs::Path, prefix))
            .to_string(SqliteQueryBuilder)
    }

    #[test]
    fn under_is_a_half_open_range_after_the_prefix() {
        let sql = rendered("/JP/13/");
        assert!(sql.contains(r#""path" >= '/JP/13/'"#), "{sql}");
        // '/' + 1 = '0': '/JP/130…' is the first path not under '/JP/13/'.
        assert!(sql.contains(r#""path" < '/JP/130'"#), "{sql}");
        // Characters LIKE would read as wildcards are plain here.
        let sql = rendered("/JP/1%_");
        assert!(sql.contains(r#"< '/JP/1%`'"#), "{sql}");
    }

    #[test]
    fn the_empty_prefix_takes_everything() {
        let sql = rendered("");
        assert!(!sql.contains('<'), "{sql}");
    }
}
