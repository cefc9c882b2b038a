//! In-app notices (お知らせ) for an organisation or one of its users, with read state.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::{NoticeGroups, NoticeReads, Notices};
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;
use vsys_domain::notice::Audience;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct NoticeRow {
    pub id: String,
    pub org_code: String,
    pub user_id: Option<String>,
    pub category: String,
    pub title_ja: String,
    pub title_en: String,
    pub body_ja: String,
    pub body_en: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    /// `staff` (the organisation's users) or `citizens` (the public site).
    #[sqlx(try_from = "String")]
    pub audience: vsys_domain::notice::Audience,
}

/// A notice as one user sees it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct UserNotice {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub notice: NoticeRow,
    pub read_at: Option<DateTime<Utc>>,
}

const COLUMNS: [Notices; 12] = [
    Notices::Id,
    Notices::OrgCode,
    Notices::UserId,
    Notices::Category,
    Notices::TitleJa,
    Notices::TitleEn,
    Notices::BodyJa,
    Notices::BodyEn,
    Notices::Link,
    Notices::CreatedAt,
    Notices::CreatedBy,
    Notices::Audience,
];

/// Writes a notice; a citizens' notice moves the `registry` counter, which the public
/// snapshot follows.
pub async fn insert(tx: &mut Tx, n: &NoticeRow) -> StoreResult<()> {
    if n.audience == Audience::Citizens {
        crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    }
    tx.exec(
        &Query::insert()
            .into_table(Notices::Table)
            .columns(COLUMNS)
            .values_panic([
                n.id.clone().into(),
                n.org_code.clone().into(),
                n.user_id.clone().into(),
                n.category.clone().into(),
                n.title_ja.clone().into(),
                n.title_en.clone().into(),
                n.body_ja.clone().into(),
                n.body_en.clone().into(),
                n.link.clone().into(),
                n.created_at.into(),
                n.created_by.clone().into(),
                n.audience.as_str().into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

fn for_user(org_code: &str, user_id: &str) -> SelectStatement {
    Query::select()
        .from(Notices::Table)
        .left_join(
            NoticeReads::Table,
            Cond::all()
                .add(
                    Expr::col((NoticeReads::Table, NoticeReads::NoticeId))
                        .equals((Notices::Table, Notices::Id)),
                )
                .add(Expr::col((NoticeReads::Table, NoticeReads::UserId)).eq(user_id)),
        )
        .and_where(Expr::col((Notices::Table, Notices::OrgCode)).eq(org_code))
        .and_where(Expr::col((Notices::Table, Notices::Audience)).eq(Audience::Staff.as_str()))
        .cond_where(
            Cond::any()
                .add(Expr::col((Notices::Table, Notices::UserId)).is_null())
                .add(Expr::col((Notices::Table, Notices::UserId)).eq(user_id)),
        )
        .to_owned()
}

pub async fn list_for_user(
    tx: &mut Tx,
    org_code: &str,
    user_id: &str,
    page: crate::Page,
) -> StoreResult<(Vec<UserNotice>, i64)> {
    let total = tx
        .count(
            &for_user(org_code, user_id)
                .expr(Expr::col((Notices::Table, Notices::Id)).count())
                .to_owned(),
        )
        .await?;
    let rows = tx
        .all(
            &for_user(org_code, user_id)
                .columns(COLUMNS.map(|c| (Notices::Table, c)))
                .column((NoticeReads::Table, NoticeReads::ReadAt))
                .order_by((Notices::Table, Notices::CreatedAt), Order::Desc)
                .order_by((Notices::Table, Notices::Id), Order::Desc)
                .limit(page.limit())
                .offset(page.offset())
                .to_owned(),
        )
        .await?;
    Ok((rows, total))
}

pub async fn unread_count(tx: &mut Tx, org_code: &str, user_id: &str) -> StoreResult<i64> {
    tx.count(
        &for_user(org_code, user_id)
            .expr(Expr::col((Notices::Table, Notices::Id)).count())
            .and_where(Expr::col((NoticeReads::Table, NoticeReads::ReadAt)).is_null())
            .to_owned(),
    )
    .await
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<NoticeRow>> {
    tx.opt(
        &Query::select()
            .columns(COLUMNS)
            .from(Notices::Table)
            .and_where(Expr::col(Notices::Id).eq(id))
            .to_owned(),
    )
    .await
}

/// Marks a notice read for a user; returns whether it was unread before.
pub async fn mark_read(
    tx: &mut Tx,
    notice_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::insert()
                .into_table(NoticeReads::Table)
                .columns([
                    NoticeReads::NoticeId,
                    NoticeReads::UserId,
                    NoticeReads::ReadAt,
                ])
                .values_panic([notice_id.into(), user_id.into(), now.into()])
                .on_conflict(
                    OnConflict::columns([NoticeReads::NoticeId, NoticeReads::UserId])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
    Ok(n > 0)
}

/// Marks every unread notice of a user read, in one statement (the user's own: its
/// organisation's staff notices and those addressed to it); returns how many were unread.
pub async fn mark_all_read(
    tx: &mut Tx,
    org_code: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let unread = for_user(org_code, user_id)
        .column((Notices::Table, Notices::Id))
        .expr(Expr::val(user_id))
        .expr(Expr::val(now))
        .and_where(Expr::col((NoticeReads::Table, NoticeReads::ReadAt)).is_null())
        .to_owned();
    tx.exec(
        &Query::insert()
            .into_table(NoticeReads::Table)
            .columns([
                NoticeReads::NoticeId,
                NoticeReads::UserId,
                NoticeReads::ReadAt,
            ])
            .select_from(unread)
            .map_err(|e| crate::error::StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns([NoticeReads::NoticeId, NoticeReads::UserId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned(),
    )
    .await
}

/// A notice gathering the notices of one event for an organisation, with the items so far.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeGroup {
    pub notice: NoticeRow,
    pub items: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    #[sqlx(flatten)]
    notice: NoticeRow,
    items: String,
}

/// The group of `key` for `org_code` that nobody has read yet (the newest), which a new
/// notice of the event joins; `None` when there is none (the next one starts a group).
pub async fn open_group(
    tx: &mut Tx,
    org_code: &str,
    key: &str,
) -> StoreResult<Option<NoticeGroup>> {
    let row: Option<GroupRow> = tx
        .opt(
            &Query::select()
                .columns(COLUMNS.map(|c| (Notices::Table, c)))
                .column((NoticeGroups::Table, NoticeGroups::Items))
                .from(NoticeGroups::Table)
                .inner_join(
                    Notices::Table,
                    Expr::col((Notices::Table, Notices::Id))
                        .equals((NoticeGroups::Table, NoticeGroups::NoticeId)),
                )
                .and_where(Expr::col((NoticeGroups::Table, NoticeGroups::OrgCode)).eq(org_code))
                .and_where(Expr::col((NoticeGroups::Table, NoticeGroups::GroupKey)).eq(key))
                .and_where(
                    Expr::exists(
                        Query::select()
                            .expr(Expr::val(1))
                            .from(NoticeReads::Table)
                            .and_where(
                                Expr::col((NoticeReads::Table, NoticeReads::NoticeId))
                                    .equals((Notices::Table, Notices::Id)),
                            )
                            .to_owned(),
                    )
                    .not(),
                )
                .order_by((Notices::Table, Notices::CreatedAt), Order::Desc)
                .order_by((Notices::Table, Notices::Id), Order::Desc)
                .limit(1)
                .to_owned(),
        )
        .await?;
    Ok(row.map(|r| NoticeGroup {
        notice: r.notice,
        items: serde_json::from_str(&r.items).unwrap_or_default(),
    }))
}

/// Writes a new notice as the start of the group `key` of its organisation.
pub async fn insert_group(
    tx: &mut Tx,
    n: &NoticeRow,
    key: &str,
    items: &[String],
) -> StoreResult<()> {
    insert(tx, n).await?;
    tx.exec(
        &Query::insert()
            .into_table(NoticeGroups::Table)
            .columns([
                NoticeGroups::NoticeId,
                NoticeGroups::OrgCode,
                NoticeGroups::GroupKey,
                NoticeGroups::Items,
            ])
            .values_panic([
                n.id.clone().into(),
                n.org_code.clone().into(),
                key.into(),
                items_json(items).into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Rewrites a group's notice (its texts, link and time: it moves to the top of the list)
/// and its items.
pub async fn update_group(tx: &mut Tx, n: &NoticeRow, items: &[String]) -> StoreResult<()> {
    tx.exec(
        &Query::update()
            .table(Notices::Table)
            .values([
                (Notices::TitleJa, n.title_ja.clone().into()),
                (Notices::TitleEn, n.title_en.clone().into()),
                (Notices::BodyJa, n.body_ja.clone().into()),
                (Notices::BodyEn, n.body_en.clone().into()),
                (Notices::Link, n.link.clone().into()),
                (Notices::CreatedAt, n.created_at.into()),
                (Notices::CreatedBy, n.created_by.clone().into()),
            ])
            .and_where(Expr::col(Notices::Id).eq(n.id.as_str()))
            .to_owned(),
    )
    .await?;
    tx.exec(
        &Query::update()
            .table(NoticeGroups::Table)
            .value(NoticeGroups::Items, items_json(items))
            .and_where(Expr::col(NoticeGroups::NoticeId).eq(n.id.as_str()))
            .to_owned(),
    )
    .await?;
    Ok(())
}

fn items_json(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// The citizens' notices, FAQ and guide pages, newest first (at most `limit`; the public
/// snapshot holds them).
pub async fn for_citizens(tx: &mut Tx, limit: u64) -> StoreResult<Vec<NoticeRow>> {
    tx.all(
        &Query::select()
            .columns(COLUMNS)
            .from(Notices::Table)
            .and_where(Expr::col(Notices::Audience).eq(Audience::Citizens.as_str()))
            .order_by(Notices::CreatedAt, Order::Desc)
            .order_by(Notices::Id, Order::Desc)
            .limit(limit)
            .to_owned(),
    )
    .await
}

/// Deletes a citizens' notice (the nation withdraws it); `NotFound` for any other notice.
pub async fn delete_for_citizens(tx: &mut Tx, id: &str) -> StoreResult<NoticeRow> {
    let row = get(tx, id)
        .await?
        .filter(|n| n.audience == Audience::Citizens)
        .ok_or(crate::error::StoreError::NotFound)?;
    crate::coordination::bump(tx, crate::coordination::REGISTRY).await?;
    tx.exec(
        &Query::delete()
            .from_table(Notices::Table)
            .and_where(Expr::col(Notices::Id).eq(id))
            .to_owned(),
    )
    .await?;
    Ok(row)
}
