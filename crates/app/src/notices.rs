//! In-app notices (お知らせ), each also sent by e-mail through the outbox.

use crate::App;
use crate::audit::{Who, record};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde::Deserialize;
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
    let row = NoticeRow {
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
    };
    notices::insert(tx, &row).await?;
    let recipients: Vec<UserRow> = users::list(tx, "/", Some(org_code), Page::all())
        .await?
        .0
        .into_iter()
        .filter(|u| !u.disabled && user_id.is_none_or(|id| u.id == id))
        .collect();
    let link = d
        .link
        .as_deref()
        .map(|l| format!("\n\n{}{l}", app.config.base_url))
        .unwrap_or_default();
    let body = format!(
        "{}\n\n{}{link}\n\n---\n{}\n\n{}\n\n-- \nV-SYS (vsys)",
        d.title_ja, d.body_ja, d.title_en, d.body_en
    );
    for u in &recipients {
        outbox::enqueue(tx, &u.email, &format!("[V-SYS] {}", d.title_ja), &body, now).await?;
    }
    record(tx, who, now, "notice.create", "notice", &row.id, None::<&()>, Some(&serde_json::json!({
        "org_code": org_code, "user_id": user_id, "title_ja": d.title_ja, "mails": recipients.len()
    })))
    .await?;
    Ok(row)
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
