//! In-app notices (お知らせ), each also sent by e-mail through the outbox; and announcements,
//! written by the nation for anyone and by prefectures and municipalities for their own area,
//! to an audience of kinds, areas and named organisations (one row each, matched at read time).

use crate::App;
use crate::audit::{Who, record};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use vsys_domain::notice::{Addressees, Audience, Category, CitizenTopic};
use vsys_domain::{Action, Msg, OrgCode, OrgKind};
pub use vsys_store::notices::Announcement;
use vsys_store::notices::{AnnouncementRow, NoticeRow, Reader, UserNotice};
use vsys_store::users::UserRow;
use vsys_store::{Page, Tx, notices, orgs, outbox, users};

/// A notice to write; the same text goes by e-mail.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NoticeDraft {
    pub category: String,
    pub title_ja: String,
    pub title_en: String,
    pub body_ja: String,
    pub body_en: String,
    /// A path inside vsys the notice points to, e.g. `/allocations/…`.
    pub link: Option<String>,
}

/// Writes a notice for an organisation (or one of its users) and queues one e-mail per enabled
/// recipient, all inside the caller's transaction.
pub async fn notify(
    tx: &mut Tx,
    app: &App,
    who: &Who,
    now: DateTime<Utc>,
    org_code: &str,
    user_id: Option<&str>,
    d: &NoticeDraft,
) -> AppResult<NoticeRow> {
    let row = new_row(who, now, org_code, user_id, d);
    notices::insert(tx, &row).await?;
    deliver(tx, app, who, now, &row, d, "notice.create", None).await?;
    Ok(row)
}

fn new_row(
    who: &Who,
    now: DateTime<Utc>,
    org_code: &str,
    user_id: Option<&str>,
    d: &NoticeDraft,
) -> NoticeRow {
    NoticeRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_code: org_code.to_owned(),
        user_id: user_id.map(str::to_owned),
        category: d.category.clone(),
        title_ja: d.title_ja.clone(),
        title_en: d.title_en.clone(),
        body_ja: d.body_ja.clone(),
        body_en: d.body_en.clone(),
        link: d.link.clone(),
        created_at: now,
        created_by: who.user_id.clone(),
        audience: vsys_domain::notice::Audience::Staff,
    }
}

/// Queues the e-mails of a notice written (or rewritten) for its organisation, and audits it.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    tx: &mut Tx,
    app: &App,
    who: &Who,
    now: DateTime<Utc>,
    row: &NoticeRow,
    d: &NoticeDraft,
    action: &str,
    before: Option<&NoticeRow>,
) -> AppResult<()> {
    let user_id = row.user_id.as_deref();
    let recipients: Vec<UserRow> = users::list(tx, "/", Some(&row.org_code), Page::all())
        .await?
        .0
        .into_iter()
        .filter(|u| !u.disabled && user_id.is_none_or(|id| u.id == id))
        .collect();
    let body = mail_text(app, d);
    for u in &recipients {
        outbox::enqueue(tx, &u.email, &format!("[V-SYS] {}", d.title_ja), &body, now).await?;
    }
    let before =
        before.map(|b| serde_json::json!({ "title_ja": b.title_ja, "body_ja": b.body_ja }));
    record(tx, who, now, action, "notice", &row.id, before.as_ref(), Some(&serde_json::json!({
        "org_code": row.org_code, "user_id": user_id, "title_ja": d.title_ja, "mails": recipients.len()
    })))
    .await?;
    Ok(())
}

/// The e-mail of a notice: both languages, and the link in full.
fn mail_text(app: &App, d: &NoticeDraft) -> String {
    let link = d
        .link
        .as_deref()
        .map(|l| format!("\n\n{}{l}", app.config.base_url()))
        .unwrap_or_default();
    format!(
        "{}\n\n{}{link}\n\n---\n{}\n\n{}\n\n-- \nV-SYS (vsys)",
        d.title_ja, d.body_ja, d.title_en, d.body_en
    )
}

/// Notices one event for an organisation as part of the group `key` (e.g. the
/// municipalities that confirmed one cycle): while nobody of the organisation has read the
/// group's notice, `item` joins it and the notice is rewritten from `draft` of all the items
/// (it moves to the top of the list); once read, the next item starts a new group. The e-mail
/// of each event still goes (with the group's text so far).
#[allow(clippy::too_many_arguments)]
pub async fn notify_grouped(
    tx: &mut Tx,
    app: &App,
    who: &Who,
    now: DateTime<Utc>,
    org_code: &str,
    key: &str,
    item: &str,
    draft: impl Fn(&[String]) -> NoticeDraft,
) -> AppResult<NoticeRow> {
    match notices::open_group(tx, org_code, key).await? {
        Some(group) => {
            let mut items = group.items;
            if !items.iter().any(|i| i == item) {
                items.push(item.to_owned());
            }
            let d = draft(&items);
            let row = NoticeRow {
                title_ja: d.title_ja.clone(),
                title_en: d.title_en.clone(),
                body_ja: d.body_ja.clone(),
                body_en: d.body_en.clone(),
                link: d.link.clone(),
                created_at: now,
                created_by: who.user_id.clone(),
                ..group.notice.clone()
            };
            notices::update_group(tx, &row, &items).await?;
            deliver(
                tx,
                app,
                who,
                now,
                &row,
                &d,
                "notice.update",
                Some(&group.notice),
            )
            .await?;
            Ok(row)
        }
        None => {
            let items = vec![item.to_owned()];
            let d = draft(&items);
            let row = new_row(who, now, org_code, None, &d);
            notices::insert_group(tx, &row, key, &items).await?;
            deliver(tx, app, who, now, &row, &d, "notice.create", None).await?;
            Ok(row)
        }
    }
}

/// Posts a notice to an organisation in the caller's scope (operators and admins).
pub async fn post(
    app: &App,
    actor: &Actor,
    org_code: &str,
    d: &NoticeDraft,
) -> AppResult<NoticeRow> {
    let now = app.clock.now();
    if d.title_ja.trim().is_empty() {
        return Err(AppError::invalid("title_ja", Msg::Required));
    }
    let mut d = d.clone();
    d.link = match d.link.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => {
            Some(vsys_domain::validation::local_link(l).map_err(|m| AppError::invalid("link", m))?)
        }
        None => None,
    };
    let d = &d;
    let mut tx = app.db.begin().await?;
    let org = orgs::get(&mut tx, org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.principal.covers(&org.path) {
        return Err(AppError::NotFound);
    }
    actor.require(Action::Write, &org.path)?;
    let row = notify(&mut tx, app, &actor.into(), now, &org.code, None, d).await?;
    tx.commit().await?;
    Ok(row)
}

/// The actor as a reader of notices at `now`.
fn reader(actor: &Actor, now: DateTime<Utc>) -> Reader<'_> {
    Reader {
        org_code: actor.org_code(),
        user_id: &actor.user_id,
        kind: actor.principal.org_kind,
        path: &actor.principal.org_path,
        now,
    }
}

/// The caller's notices (its organisation's, its own and the announcements it receives now),
/// newest first.
pub async fn list(app: &App, actor: &Actor, page: Page) -> AppResult<(Vec<UserNotice>, i64)> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.read().await?;
    Ok(notices::list_for_user(&mut tx, &reader(actor, now), page).await?)
}

pub async fn unread(app: &App, actor: &Actor) -> AppResult<i64> {
    let now = app.clock.now();
    let mut tx = app.db.read().await?;
    Ok(notices::unread_count(&mut tx, &reader(actor, now)).await?)
}

/// Marks one of the caller's notices read.
pub async fn mark_read(app: &App, actor: &Actor, id: &str) -> AppResult<NoticeRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let n = notices::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mine = match n.audience {
        Audience::Staff => {
            n.org_code == actor.org_code()
                && n.user_id.as_deref().is_none_or(|u| u == actor.user_id)
        }
        Audience::Announcement => receives(&mut tx, actor, id, now).await?,
        Audience::Citizens => false,
    };
    if !mine {
        return Err(AppError::NotFound);
    }
    if notices::mark_read(&mut tx, id, &actor.user_id, now).await? {
        record(
            &mut tx,
            &actor.into(),
            now,
            "notice.read",
            "notice",
            id,
            None::<&()>,
            None::<&()>,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Marks every unread notice of the caller read (its own: its organisation's and those
/// addressed to it), in one statement, audited once with how many; returns that number.
pub async fn mark_all_read(app: &App, actor: &Actor) -> AppResult<u64> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let n = notices::mark_all_read(&mut tx, &reader(actor, now)).await?;
    if n > 0 {
        record(
            &mut tx,
            &actor.into(),
            now,
            "notice.read_all",
            "user",
            &actor.user_id,
            None::<&()>,
            Some(&serde_json::json!({ "org_code": actor.org_code(), "read": n })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// A notice, FAQ entry or guide page for citizens (the public site), in both languages. The
/// bodies are Markdown (the public site renders them through its one sanitiser).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CitizenDraft {
    /// The title (the question of an FAQ entry); required.
    pub title_ja: String,
    /// The English title; required.
    pub title_en: String,
    /// Markdown, at most 20,000 characters.
    #[serde(default)]
    pub body_ja: String,
    /// Markdown, at most 20,000 characters; when empty the English page shows the Japanese.
    #[serde(default)]
    pub body_en: String,
}

/// The longest title of a citizens' notice, in characters.
pub const CITIZEN_TITLE_MAX: usize = 200;
/// The longest body of a citizens' notice, in characters.
pub const CITIZEN_BODY_MAX: usize = 20_000;

impl CitizenDraft {
    /// Titles required and bounded, bodies bounded, no control characters; trimmed.
    fn checked(&self) -> AppResult<CitizenDraft> {
        let mut inv = vsys_domain::Invalid::default();
        let mut field = |name: &str, raw: &str, required: bool, max: usize| {
            vsys_domain::validation::bounded_text(&mut inv, name, raw, required, max)
        };
        let d = CitizenDraft {
            title_ja: field("title_ja", &self.title_ja, true, CITIZEN_TITLE_MAX),
            title_en: field("title_en", &self.title_en, true, CITIZEN_TITLE_MAX),
            body_ja: field("body_ja", &self.body_ja, false, CITIZEN_BODY_MAX),
            body_en: field("body_en", &self.body_en, false, CITIZEN_BODY_MAX),
        };
        inv.into_result().map_err(AppError::Invalid)?;
        Ok(d)
    }
}

/// Whether the actor may write and withdraw citizens' notices (the nation's operators and
/// administrators); the screens ask it to show the way there.
pub fn may_write_for_citizens(actor: &Actor) -> bool {
    actor.may_write_for_nation()
}

/// Publishes a notice, FAQ entry or guide page on the public site (the nation's operators and
/// administrators). No e-mail: citizens read it on the site, once the public snapshot follows
/// the change (the insert moves the `registry` counter).
pub async fn post_for_citizens(
    app: &App,
    actor: &Actor,
    topic: CitizenTopic,
    draft: &CitizenDraft,
) -> AppResult<NoticeRow> {
    actor.require_nation_writer()?;
    let d = draft.checked()?;
    let now = app.clock.now();
    let row = NoticeRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_code: vsys_domain::OrgCode::nation().to_string(),
        user_id: None,
        category: topic.as_str().to_owned(),
        title_ja: d.title_ja,
        title_en: d.title_en,
        body_ja: d.body_ja,
        body_en: d.body_en,
        link: None,
        created_at: now,
        created_by: Some(actor.user_id.clone()),
        audience: Audience::Citizens,
    };
    let mut tx = app.db.begin().await?;
    notices::insert(&mut tx, &row).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "notice.citizens_create",
        "notice",
        &row.id,
        None::<&()>,
        Some(&serde_json::json!({
            "topic": topic.as_str(), "title_ja": row.title_ja, "title_en": row.title_en,
            "body_ja_chars": row.body_ja.chars().count(), "body_en_chars": row.body_en.chars().count(),
        })),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(row)
}

/// Takes a citizens' notice off the public site (the nation's operators and administrators);
/// `NotFound` for an id that is no citizens' notice.
pub async fn withdraw_for_citizens(app: &App, actor: &Actor, id: &str) -> AppResult<NoticeRow> {
    actor.require_nation_writer()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let row = notices::delete_for_citizens(&mut tx, id.trim()).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "notice.citizens_withdraw",
        "notice",
        &row.id,
        Some(&serde_json::json!({
            "topic": row.category, "title_ja": row.title_ja, "title_en": row.title_en,
            "created_at": row.created_at,
        })),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(row)
}

/// The citizens' notices as stored now, newest first, as many as the public snapshot holds (for the nation's screen that writes and
/// withdraws them; the public site reads its snapshot instead).
pub async fn list_for_citizens(app: &App, actor: &Actor) -> AppResult<Vec<NoticeRow>> {
    actor.require_nation_writer()?;
    let mut tx = app.db.read().await?;
    Ok(notices::for_citizens(&mut tx, crate::public::NOTICES_HELD).await?)
}

/// Whether the actor receives the announcement `id` now (published, not expired, not
/// withdrawn, its organisation in the audience).
async fn receives(tx: &mut Tx, actor: &Actor, id: &str, now: DateTime<Utc>) -> AppResult<bool> {
    let Some(a) = notices::get_announcement(tx, id).await? else {
        return Ok(false);
    };
    let audience = notices::audience_of(tx, id).await?;
    Ok(listed(&a, now) && audience.includes(actor.principal.org_kind, &actor.principal.org_path))
}

/// An announcement is listed from its publication time until its expiry, unless withdrawn.
fn listed(a: &Announcement, now: DateTime<Utc>) -> bool {
    a.notice.created_at <= now
        && a.announcement.expires_at.is_none_or(|e| e > now)
        && a.announcement.withdrawn_at.is_none()
}

/// The longest title of an announcement, in characters.
pub const ANNOUNCEMENT_TITLE_MAX: usize = 200;
/// The longest body of an announcement, in characters.
pub const ANNOUNCEMENT_BODY_MAX: usize = 20_000;
/// The most values of one part of an audience (areas or named organisations).
pub const AUDIENCE_MAX: usize = 500;

/// An announcement as typed into the writer's form (or sent by a client).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AnnouncementDraft {
    /// `general`, `cycle`, `delivery`, `statistics` or `system`.
    pub category: String,
    pub title_ja: String,
    /// When empty, the Japanese title.
    #[serde(default)]
    pub title_en: String,
    /// Markdown.
    pub body_ja: String,
    /// Markdown; when empty, the Japanese text.
    #[serde(default)]
    pub body_en: String,
    /// Kinds of organisation (wire names); empty: every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Prefecture and municipality codes: each area's organisations and everything under
    /// them; empty: the writer's whole area.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Organisation codes; empty: any organisation.
    #[serde(default)]
    pub names: Vec<String>,
    /// Japan time (`YYYY-MM-DD HH:MM`); empty: now.
    #[serde(default)]
    pub publish_at: String,
    /// Japan time; empty: never expires.
    #[serde(default)]
    pub expires_at: String,
    /// Also by e-mail to every recipient, once, when it is published.
    #[serde(default)]
    pub mail: bool,
}

struct CheckedAnnouncement {
    category: Category,
    title_ja: String,
    title_en: String,
    body_ja: String,
    body_en: String,
    kinds: Vec<OrgKind>,
    areas: Vec<OrgCode>,
    names: Vec<OrgCode>,
    publish_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl AnnouncementDraft {
    /// Every field's own rules; what needs the database (the organisations named and the
    /// writer's area) is checked by [`publish`].
    fn checked(&self) -> AppResult<CheckedAnnouncement> {
        let mut inv = vsys_domain::Invalid::default();
        let category = Category::parse(self.category.trim());
        if category.is_none() {
            inv.push("category", Msg::Required);
        }
        let text = |inv: &mut vsys_domain::Invalid, name: &str, raw: &str, required, max| {
            vsys_domain::validation::bounded_text(inv, name, raw, required, max)
        };
        let title_ja = text(
            &mut inv,
            "title_ja",
            &self.title_ja,
            true,
            ANNOUNCEMENT_TITLE_MAX,
        );
        let title_en = text(
            &mut inv,
            "title_en",
            &self.title_en,
            false,
            ANNOUNCEMENT_TITLE_MAX,
        );
        let body_ja = text(
            &mut inv,
            "body_ja",
            &self.body_ja,
            true,
            ANNOUNCEMENT_BODY_MAX,
        );
        let body_en = text(
            &mut inv,
            "body_en",
            &self.body_en,
            false,
            ANNOUNCEMENT_BODY_MAX,
        );
        let mut kinds = Vec::new();
        for k in self
            .kinds
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
        {
            match OrgKind::parse(k) {
                Some(k) => kinds.push(k),
                None => inv.push("kinds", Msg::InvalidInput),
            }
        }
        let codes = |inv: &mut vsys_domain::Invalid, name: &str, raw: &[String]| {
            let mut out = Vec::new();
            for c in raw.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
                match OrgCode::parse(c) {
                    Ok(c) => out.push(c),
                    Err(m) => inv.push(name, m),
                }
            }
            if out.len() > AUDIENCE_MAX {
                inv.push(name, Msg::TooManyItems);
            }
            out
        };
        let areas = codes(&mut inv, "areas", &self.areas);
        let names = codes(&mut inv, "names", &self.names);
        if areas
            .iter()
            .any(|a| !matches!(a.kind(), OrgKind::Prefecture | OrgKind::Municipality))
        {
            inv.push("areas", Msg::NotAnArea);
        }
        let mut time = |name: &str, raw: &str| match vsys_domain::validation::jst_datetime(raw) {
            Ok(t) => t,
            Err(m) => {
                inv.push(name, m);
                None
            }
        };
        let publish_at = time("publish_at", &self.publish_at);
        let expires_at = time("expires_at", &self.expires_at);
        if let (Some(p), Some(e)) = (publish_at, expires_at)
            && e <= p
        {
            inv.push("expires_at", Msg::ExpiryBeforePublish);
        }
        inv.into_result().map_err(AppError::Invalid)?;
        Ok(CheckedAnnouncement {
            category: category.unwrap_or(Category::General),
            title_en: if title_en.is_empty() {
                title_ja.clone()
            } else {
                title_en
            },
            body_en: if body_en.is_empty() {
                body_ja.clone()
            } else {
                body_en
            },
            title_ja,
            body_ja,
            kinds,
            areas,
            names,
            publish_at,
            expires_at,
        })
    }
}

/// Whether the actor writes announcements: operators and administrators of the nation, a
/// prefecture or a municipality. The screens ask it to show the way there.
pub fn may_announce(actor: &Actor) -> bool {
    let p = &actor.principal;
    p.org_kind.is_government() && p.may(Action::Write, &p.org_path)
}

/// Whether the actor sees the sent announcements and their read counts: any user of the
/// nation (every writer's), of a prefecture or of a municipality (its organisation's).
pub fn may_see_sent(actor: &Actor) -> bool {
    actor.principal.org_kind.is_government()
}

/// The paths of an audience's areas (an area that is no organisation has none).
async fn area_paths(tx: &mut Tx, audience: &Addressees) -> AppResult<Vec<String>> {
    let codes: Vec<String> = audience.areas.iter().cloned().collect();
    Ok(orgs::get_many(tx, &codes)
        .await?
        .into_iter()
        .map(|o| o.path)
        .collect())
}

/// Queues the e-mail of an announcement to every enabled user it reaches; returns how many.
async fn mail_announcement(
    tx: &mut Tx,
    app: &App,
    a: &Announcement,
    audience: &Addressees,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let paths = area_paths(tx, audience).await?;
    let to = notices::recipient_emails(tx, audience, &paths).await?;
    let n = &a.notice;
    let body = mail_text(
        app,
        &NoticeDraft {
            category: n.category.clone(),
            title_ja: n.title_ja.clone(),
            title_en: n.title_en.clone(),
            body_ja: n.body_ja.clone(),
            body_en: n.body_en.clone(),
            link: Some("/notices".to_owned()),
        },
    );
    for email in &to {
        outbox::enqueue(tx, email, &format!("[V-SYS] {}", n.title_ja), &body, now).await?;
    }
    Ok(to.len())
}

/// Publishes an announcement (operators and administrators of the nation, a prefecture or a
/// municipality). A prefecture or municipality addresses its own area only: an area or a
/// named organisation outside it is refused ([`Msg::AudienceOutsideArea`]), and no area means
/// its whole area. With `mail`, the e-mails are queued now when it is published now, else by
/// the scheduled step ([`mail_due`]) when its time comes — once either way.
pub async fn publish(
    app: &App,
    actor: &Actor,
    draft: &AnnouncementDraft,
) -> AppResult<Announcement> {
    actor.require_password_changed()?;
    if !may_announce(actor) {
        return Err(AppError::Forbidden);
    }
    let d = draft.checked()?;
    let now = app.clock.now();
    let p = &actor.principal;
    let nation = p.is_nation();
    let mut tx = app.db.begin().await?;
    let mut inv = vsys_domain::Invalid::default();
    for (field, codes) in [("areas", &d.areas), ("names", &d.names)] {
        let wanted: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        let found = orgs::get_many(&mut tx, &wanted).await?;
        for c in &wanted {
            match found.iter().find(|o| &o.code == c) {
                None => inv.push(field, Msg::UnknownOrg),
                Some(o) if !nation && !p.covers(&o.path) => {
                    inv.push(field, Msg::AudienceOutsideArea)
                }
                Some(_) => {}
            }
        }
    }
    inv.into_result().map_err(AppError::Invalid)?;
    let audience = Addressees {
        kinds: d.kinds.iter().copied().collect(),
        areas: d.areas.iter().map(|c| c.to_string()).collect(),
        names: d.names.iter().map(|c| c.to_string()).collect(),
    }
    .within(actor.org_code(), nation);
    let publish_at = d.publish_at.unwrap_or(now);
    if d.expires_at.is_some_and(|e| e <= publish_at) {
        return Err(AppError::invalid("expires_at", Msg::ExpiryBeforePublish));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let a = Announcement {
        notice: NoticeRow {
            id: id.clone(),
            org_code: actor.org_code().to_owned(),
            user_id: None,
            category: d.category.as_str().to_owned(),
            title_ja: d.title_ja,
            title_en: d.title_en,
            body_ja: d.body_ja,
            body_en: d.body_en,
            link: None,
            created_at: publish_at,
            created_by: Some(actor.user_id.clone()),
            audience: Audience::Announcement,
        },
        announcement: AnnouncementRow {
            notice_id: id,
            written_at: now,
            expires_at: d.expires_at,
            mail: draft.mail,
            mailed_at: None,
            withdrawn_at: None,
        },
    };
    notices::insert_announcement(&mut tx, &a, &audience).await?;
    let mails = if a.announcement.mail && publish_at <= now {
        notices::mark_mailed(&mut tx, &a.notice.id, now).await?;
        Some(mail_announcement(&mut tx, app, &a, &audience, now).await?)
    } else {
        None
    };
    record(
        &mut tx,
        &actor.into(),
        now,
        "notice.publish",
        "notice",
        &a.notice.id,
        None::<&()>,
        Some(&serde_json::json!({
            "category": a.notice.category, "title_ja": a.notice.title_ja,
            "audience": audience, "publish_at": publish_at, "expires_at": a.announcement.expires_at,
            "mail": a.announcement.mail, "mails": mails,
        })),
    )
    .await?;
    tx.commit().await?;
    let mut a = a;
    if mails.is_some() {
        a.announcement.mailed_at = Some(now);
    }
    Ok(a)
}

/// Withdraws an announcement: it leaves every list at once, and its e-mail, if not sent yet,
/// never goes. Its writer organisation's operators and administrators (and the nation's)
/// withdraw it; anyone else gets `NotFound`.
pub async fn withdraw(app: &App, actor: &Actor, id: &str) -> AppResult<Announcement> {
    actor.require_password_changed()?;
    if !may_announce(actor) {
        return Err(AppError::Forbidden);
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let a = notices::get_announcement(&mut tx, id.trim())
        .await?
        .filter(|a| actor.principal.is_nation() || a.notice.org_code == actor.org_code())
        .ok_or(AppError::NotFound)?;
    if !notices::withdraw(&mut tx, &a.notice.id, now).await? {
        return Err(AppError::invalid("id", Msg::AlreadyWithdrawn));
    }
    record(
        &mut tx,
        &actor.into(),
        now,
        "notice.withdraw",
        "notice",
        &a.notice.id,
        Some(&serde_json::json!({
            "org_code": a.notice.org_code, "title_ja": a.notice.title_ja,
            "publish_at": a.notice.created_at, "mailed_at": a.announcement.mailed_at,
        })),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(Announcement {
        announcement: AnnouncementRow {
            withdrawn_at: Some(now),
            ..a.announcement
        },
        ..a
    })
}

/// A sent announcement with its audience and how many of its recipients have read it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub announcement: Announcement,
    pub audience: Addressees,
    /// Enabled users who have read it.
    pub read: i64,
    /// Enabled users of the organisations it reaches.
    pub recipients: i64,
}

/// The announcements sent, newest first, with read counts (「既読 N / 対象 M 名」): for a user
/// of the nation every writer's, for a prefecture or municipality its own organisation's.
pub async fn sent(app: &App, actor: &Actor, page: Page) -> AppResult<(Vec<Sent>, i64)> {
    actor.require_password_changed()?;
    if !may_see_sent(actor) {
        return Err(AppError::Forbidden);
    }
    let mut tx = app.db.read().await?;
    let org = (!actor.principal.is_nation()).then(|| actor.org_code());
    let (rows, total) = notices::sent(&mut tx, org, page).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in rows {
        out.push(counted(&mut tx, a).await?);
    }
    Ok((out, total))
}

async fn counted(tx: &mut Tx, a: Announcement) -> AppResult<Sent> {
    let audience = notices::audience_of(tx, &a.notice.id).await?;
    let paths = area_paths(tx, &audience).await?;
    Ok(Sent {
        read: notices::read_count(tx, &a.notice.id).await?,
        recipients: notices::recipient_count(tx, &audience, &paths).await?,
        announcement: a,
        audience,
    })
}

/// One sent announcement with its read counts (as [`sent`] shows it).
pub async fn sent_one(app: &App, actor: &Actor, id: &str) -> AppResult<Sent> {
    actor.require_password_changed()?;
    if !may_see_sent(actor) {
        return Err(AppError::Forbidden);
    }
    let mut tx = app.db.read().await?;
    let a = notices::get_announcement(&mut tx, id)
        .await?
        .filter(|a| actor.principal.is_nation() || a.notice.org_code == actor.org_code())
        .ok_or(AppError::NotFound)?;
    counted(&mut tx, a).await
}

/// The scheduled step: mails every announcement whose time has come and that has not been
/// mailed, each in its own transaction that marks it mailed first (so that it goes exactly
/// once, even with the step run twice or by two processes); returns how many were mailed.
pub async fn mail_due(app: &App) -> AppResult<usize> {
    let now = app.clock.now();
    let due = {
        let mut tx = app.db.read().await?;
        notices::mail_due(&mut tx, now, 100).await?
    };
    let mut done = 0;
    for a in due {
        let mut tx = app.db.begin().await?;
        if !notices::mark_mailed(&mut tx, &a.notice.id, now).await? {
            continue;
        }
        let audience = notices::audience_of(&mut tx, &a.notice.id).await?;
        let mails = mail_announcement(&mut tx, app, &a, &audience, now).await?;
        record(
            &mut tx,
            &Who::system(),
            now,
            "notice.mail",
            "notice",
            &a.notice.id,
            None::<&()>,
            Some(&serde_json::json!({ "title_ja": a.notice.title_ja, "mails": mails })),
        )
        .await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}
