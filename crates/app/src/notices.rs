//! In-app notices (お知らせ), each also sent by e-mail through the outbox.

use crate::App;
use crate::audit::{Who, record};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use vsys_domain::notice::{Audience, CitizenTopic};
use vsys_domain::{Action, Msg};
use vsys_store::notices::{NoticeRow, UserNotice};
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
    let link = d
        .link
        .as_deref()
        .map(|l| format!("\n\n{}{l}", app.config.base_url()))
        .unwrap_or_default();
    let body = format!(
        "{}\n\n{}{link}\n\n---\n{}\n\n{}\n\n-- \nV-SYS (vsys)",
        d.title_ja, d.body_ja, d.title_en, d.body_en
    );
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

pub async fn list(app: &App, actor: &Actor, page: Page) -> AppResult<(Vec<UserNotice>, i64)> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    Ok(notices::list_for_user(&mut tx, actor.org_code(), &actor.user_id, page).await?)
}

pub async fn unread(app: &App, actor: &Actor) -> AppResult<i64> {
    let mut tx = app.db.read().await?;
    Ok(notices::unread_count(&mut tx, actor.org_code(), &actor.user_id).await?)
}

/// Marks one of the caller's notices read.
pub async fn mark_read(app: &App, actor: &Actor, id: &str) -> AppResult<NoticeRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let n = notices::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if n.org_code != actor.org_code() || n.user_id.as_deref().is_some_and(|u| u != actor.user_id) {
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
    let n = notices::mark_all_read(&mut tx, actor.org_code(), &actor.user_id, now).await?;
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
