//! In-app notices (お知らせ) for an organisation or one of its users, with read state; and
//! announcements, one row each with its audience (`notice_audience`), matched at read time
//! against the reader's organisation (its kind, the codes along its path, its code).

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::{
    Announcements, NoticeAudience, NoticeGroups, NoticeReads, Notices, Orgs, Users,
};
use chrono::{DateTime, Utc};
use sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;
use vsys_domain::OrgKind;
use vsys_domain::notice::{Addressees, Audience, PART_AREA, PART_KIND, PART_NAME, path_codes};

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

/// Who reads: a user of an organisation (its kind and path decide which announcements it
/// receives), at a time (announcements are listed inside their publication window).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    pub org_code: &'a str,
    pub user_id: &'a str,
    pub kind: OrgKind,
    pub path: &'a str,
    pub now: DateTime<Utc>,
}

/// `notice_audience` has no row of `part` for the notice, or one whose value is among
/// `values`.
fn part_matches(part: &str, values: Vec<String>) -> Cond {
    let rows = |with_value: bool| {
        let mut q = Query::select();
        q.expr(Expr::val(1))
            .from(NoticeAudience::Table)
            .and_where(
                Expr::col((NoticeAudience::Table, NoticeAudience::NoticeId))
                    .equals((Notices::Table, Notices::Id)),
            )
            .and_where(Expr::col((NoticeAudience::Table, NoticeAudience::Part)).eq(part));
        if with_value {
            q.and_where(
                Expr::col((NoticeAudience::Table, NoticeAudience::Value)).is_in(values.clone()),
            );
        }
        q
    };
    Cond::any()
        .add(Expr::exists(rows(false)).not())
        .add(Expr::exists(rows(true)))
}

/// The announcements a reader receives now: published, not expired, not withdrawn, and its
/// organisation satisfying every non-empty part of the audience.
fn announcements_for(r: &Reader) -> Cond {
    let codes: Vec<String> = path_codes(r.path).into_iter().map(str::to_owned).collect();
    Cond::all()
        .add(Expr::col((Notices::Table, Notices::Audience)).eq(Audience::Announcement.as_str()))
        .add(Expr::col((Notices::Table, Notices::CreatedAt)).lte(r.now))
        .add(Expr::col((Announcements::Table, Announcements::WithdrawnAt)).is_null())
        .add(
            Cond::any()
                .add(Expr::col((Announcements::Table, Announcements::ExpiresAt)).is_null())
                .add(Expr::col((Announcements::Table, Announcements::ExpiresAt)).gt(r.now)),
        )
        .add(part_matches(PART_KIND, vec![r.kind.as_str().to_owned()]))
        .add(part_matches(PART_AREA, codes))
        .add(part_matches(PART_NAME, vec![r.org_code.to_owned()]))
}

fn for_user(r: &Reader) -> SelectStatement {
    Query::select()
        .from(Notices::Table)
        .left_join(
            NoticeReads::Table,
            Cond::all()
                .add(
                    Expr::col((NoticeReads::Table, NoticeReads::NoticeId))
                        .equals((Notices::Table, Notices::Id)),
                )
                .add(Expr::col((NoticeReads::Table, NoticeReads::UserId)).eq(r.user_id)),
        )
        .left_join(
            Announcements::Table,
            Expr::col((Announcements::Table, Announcements::NoticeId))
                .equals((Notices::Table, Notices::Id)),
        )
        .cond_where(
            Cond::any()
                .add(
                    Cond::all()
                        .add(Expr::col((Notices::Table, Notices::OrgCode)).eq(r.org_code))
                        .add(
                            Expr::col((Notices::Table, Notices::Audience))
                                .eq(Audience::Staff.as_str()),
                        )
                        .add(
                            Cond::any()
                                .add(Expr::col((Notices::Table, Notices::UserId)).is_null())
                                .add(Expr::col((Notices::Table, Notices::UserId)).eq(r.user_id)),
                        ),
                )
                .add(announcements_for(r)),
        )
        .to_owned()
}

/// The notices a reader receives (its organisation's, its own and the announcements for it),
/// newest first (an announcement by its publication time).
pub async fn list_for_user(
    tx: &mut Tx,
    reader: &Reader<'_>,
    page: crate::Page,
) -> StoreResult<(Vec<UserNotice>, i64)> {
    let total = tx
        .count(
            &for_user(reader)
                .expr(Expr::col((Notices::Table, Notices::Id)).count())
                .to_owned(),
        )
        .await?;
    let rows = tx
        .all(
            &for_user(reader)
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

pub async fn unread_count(tx: &mut Tx, reader: &Reader<'_>) -> StoreResult<i64> {
    tx.count(
        &for_user(reader)
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
/// organisation's staff notices, those addressed to it and the announcements it receives);
/// returns how many were unread.
pub async fn mark_all_read(tx: &mut Tx, reader: &Reader<'_>) -> StoreResult<u64> {
    let unread = for_user(reader)
        .column((Notices::Table, Notices::Id))
        .expr(Expr::val(reader.user_id))
        .expr(Expr::val(reader.now))
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

/// An announcement's own columns.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct AnnouncementRow {
    pub notice_id: String,
    pub written_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub mail: bool,
    pub mailed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// An announcement: its notice (the publication time is the notice's `created_at`) and its
/// own columns.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct Announcement {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub notice: NoticeRow,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub announcement: AnnouncementRow,
}

const ANNOUNCEMENT_COLUMNS: [Announcements; 6] = [
    Announcements::NoticeId,
    Announcements::WrittenAt,
    Announcements::ExpiresAt,
    Announcements::Mail,
    Announcements::MailedAt,
    Announcements::WithdrawnAt,
];

/// Writes an announcement: its notice (audience `announcement`), its own row and its audience.
pub async fn insert_announcement(
    tx: &mut Tx,
    a: &Announcement,
    audience: &Addressees,
) -> StoreResult<()> {
    insert(tx, &a.notice).await?;
    let r = &a.announcement;
    tx.exec(
        &Query::insert()
            .into_table(Announcements::Table)
            .columns(ANNOUNCEMENT_COLUMNS)
            .values_panic([
                r.notice_id.clone().into(),
                r.written_at.into(),
                r.expires_at.into(),
                r.mail.into(),
                r.mailed_at.into(),
                r.withdrawn_at.into(),
            ])
            .to_owned(),
    )
    .await?;
    let rows = audience.rows();
    if !rows.is_empty() {
        let mut q = Query::insert();
        q.into_table(NoticeAudience::Table).columns([
            NoticeAudience::NoticeId,
            NoticeAudience::Part,
            NoticeAudience::Value,
        ]);
        for (part, value) in rows {
            q.values_panic([r.notice_id.clone().into(), part.into(), value.into()]);
        }
        tx.exec(&q).await?;
    }
    Ok(())
}

fn announcements() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(|c| (Notices::Table, c)))
        .columns(ANNOUNCEMENT_COLUMNS.map(|c| (Announcements::Table, c)))
        .from(Notices::Table)
        .inner_join(
            Announcements::Table,
            Expr::col((Announcements::Table, Announcements::NoticeId))
                .equals((Notices::Table, Notices::Id)),
        )
        .and_where(
            Expr::col((Notices::Table, Notices::Audience)).eq(Audience::Announcement.as_str()),
        )
        .to_owned()
}

pub async fn get_announcement(tx: &mut Tx, id: &str) -> StoreResult<Option<Announcement>> {
    tx.opt(
        &announcements()
            .and_where(Expr::col((Notices::Table, Notices::Id)).eq(id))
            .to_owned(),
    )
    .await
}

/// An announcement's audience as stored.
pub async fn audience_of(tx: &mut Tx, id: &str) -> StoreResult<Addressees> {
    let rows: Vec<(String, String)> = tx
        .all(
            &Query::select()
                .columns([NoticeAudience::Part, NoticeAudience::Value])
                .from(NoticeAudience::Table)
                .and_where(Expr::col(NoticeAudience::NoticeId).eq(id))
                .to_owned(),
        )
        .await?;
    Ok(Addressees::from_rows(
        rows.iter().map(|(p, v)| (p.as_str(), v.as_str())),
    ))
}

/// The announcements written by `org_code` (every writer's when `None`), newest first.
pub async fn sent(
    tx: &mut Tx,
    org_code: Option<&str>,
    page: crate::Page,
) -> StoreResult<(Vec<Announcement>, i64)> {
    let mut rows = announcements();
    let mut count = Query::select()
        .expr(crate::db::count_rows())
        .from(Notices::Table)
        .and_where(
            Expr::col((Notices::Table, Notices::Audience)).eq(Audience::Announcement.as_str()),
        )
        .to_owned();
    if let Some(org) = org_code {
        rows.and_where(Expr::col((Notices::Table, Notices::OrgCode)).eq(org));
        count.and_where(Expr::col((Notices::Table, Notices::OrgCode)).eq(org));
    }
    rows.order_by((Notices::Table, Notices::CreatedAt), Order::Desc)
        .order_by((Notices::Table, Notices::Id), Order::Desc);
    tx.page(rows, count, page).await
}

/// Withdraws an announcement (it leaves every list; an e-mail not yet sent never goes);
/// `false` when it was withdrawn already.
pub async fn withdraw(tx: &mut Tx, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::update()
                .table(Announcements::Table)
                .value(Announcements::WithdrawnAt, now)
                .and_where(Expr::col(Announcements::NoticeId).eq(id))
                .and_where(Expr::col(Announcements::WithdrawnAt).is_null())
                .to_owned(),
        )
        .await?;
    Ok(n > 0)
}

/// Announcements whose e-mail is due: to be mailed, published by `now`, not withdrawn, not
/// mailed yet (oldest first, at most `limit`).
pub async fn mail_due(
    tx: &mut Tx,
    now: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<Announcement>> {
    tx.all(
        &announcements()
            .and_where(Expr::col((Announcements::Table, Announcements::Mail)).eq(true))
            .and_where(Expr::col((Announcements::Table, Announcements::MailedAt)).is_null())
            .and_where(Expr::col((Announcements::Table, Announcements::WithdrawnAt)).is_null())
            .and_where(Expr::col((Notices::Table, Notices::CreatedAt)).lte(now))
            .order_by((Notices::Table, Notices::CreatedAt), Order::Asc)
            .limit(limit)
            .to_owned(),
    )
    .await
}

/// Marks an announcement mailed, if it is not yet (and not withdrawn): `true` for the one
/// caller that marks it (who then queues its e-mails in the same transaction), `false` for any
/// other.
pub async fn mark_mailed(tx: &mut Tx, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let n = tx
        .exec(
            &Query::update()
                .table(Announcements::Table)
                .value(Announcements::MailedAt, now)
                .and_where(Expr::col(Announcements::NoticeId).eq(id))
                .and_where(Expr::col(Announcements::MailedAt).is_null())
                .and_where(Expr::col(Announcements::WithdrawnAt).is_null())
                .to_owned(),
        )
        .await?;
    Ok(n > 0)
}

/// The enabled users of the organisations an audience reaches, each area given by its path.
fn recipients(audience: &Addressees, area_paths: &[String]) -> SelectStatement {
    let mut q = Query::select()
        .from(Users::Table)
        .inner_join(
            Orgs::Table,
            Expr::col((Orgs::Table, Orgs::Code)).equals((Users::Table, Users::OrgCode)),
        )
        .and_where(Expr::col((Users::Table, Users::Disabled)).eq(false))
        .to_owned();
    if !audience.kinds.is_empty() {
        q.and_where(
            Expr::col((Orgs::Table, Orgs::Kind)).is_in(audience.kinds.iter().map(|k| k.as_str())),
        );
    }
    if !audience.areas.is_empty() {
        // Every area named resolves to a path; an area that names nothing reaches nobody.
        let mut any = Cond::any().add(Expr::val(1).eq(0));
        for p in area_paths {
            any = any.add(crate::orgs::under((Orgs::Table, Orgs::Path), p));
        }
        q.cond_where(any);
    }
    if !audience.names.is_empty() {
        q.and_where(
            Expr::col((Orgs::Table, Orgs::Code)).is_in(audience.names.iter().map(String::as_str)),
        );
    }
    q
}

/// How many enabled users an audience reaches (its areas given by their paths).
pub async fn recipient_count(
    tx: &mut Tx,
    audience: &Addressees,
    area_paths: &[String],
) -> StoreResult<i64> {
    tx.count(
        &recipients(audience, area_paths)
            .expr(crate::db::count_rows())
            .to_owned(),
    )
    .await
}

/// The e-mail addresses of the enabled users an audience reaches.
pub async fn recipient_emails(
    tx: &mut Tx,
    audience: &Addressees,
    area_paths: &[String],
) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = tx
        .all(
            &recipients(audience, area_paths)
                .column((Users::Table, Users::Email))
                .order_by((Users::Table, Users::Email), Order::Asc)
                .to_owned(),
        )
        .await?;
    Ok(rows.into_iter().map(|(e,)| e).collect())
}

/// How many enabled users have read a notice.
pub async fn read_count(tx: &mut Tx, id: &str) -> StoreResult<i64> {
    tx.count(
        &Query::select()
            .expr(crate::db::count_rows())
            .from(NoticeReads::Table)
            .inner_join(
                Users::Table,
                Expr::col((Users::Table, Users::Id))
                    .equals((NoticeReads::Table, NoticeReads::UserId)),
            )
            .and_where(Expr::col((NoticeReads::Table, NoticeReads::NoticeId)).eq(id))
            .and_where(Expr::col((Users::Table, Users::Disabled)).eq(false))
            .to_owned(),
    )
    .await
}
