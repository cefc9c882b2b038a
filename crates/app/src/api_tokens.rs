//! Organisation API tokens: a deliverer's own system posts dates with one, a municipality's
//! booking system the reservation statuses of its sites. Created and revoked by the
//! organisation's administrators; the plain token is shown once and only its SHA-256 is kept.
//! A token acts as an operator of its organisation.

use crate::App;
use crate::audit::record;
use crate::auth::{random_token, token_hash};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use serde::Serialize;
use vsys_domain::Capability;
use vsys_domain::{Action, Msg, OrgCode, Principal, Role};
use vsys_store::deliveries::{self, TokenRow};
use vsys_store::orgs;

/// Every organisation token starts with this, so the API can tell it from a session token.
pub const PREFIX: &str = "vsys_";

#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    pub token: TokenRow,
    /// The token itself: shown this once.
    pub secret: String,
}

async fn admin_of(app: &App, actor: &Actor, org_code: &str) -> AppResult<orgs::OrgRow> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    let org = orgs::get(&mut tx, org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.principal.may(Action::Read, &org.path) {
        return Err(AppError::NotFound);
    }
    // Tokens are for an organisation's own systems (deliverers, municipalities), made by its
    // own administrators.
    if !actor.principal.is_own(&org.path) {
        return Err(AppError::Forbidden);
    }
    actor.require_can(Capability::ManageApiTokens)?;
    Ok(org)
}

pub async fn create(app: &App, actor: &Actor, org_code: &str, name: &str) -> AppResult<NewToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("name", Msg::Required));
    }
    let org = admin_of(app, actor, org_code).await?;
    let now = app.clock.now();
    let secret = format!("{PREFIX}{}", random_token());
    let row = TokenRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_code: org.code.clone(),
        name: name.to_owned(),
        token_hash: token_hash(&secret),
        created_at: now,
        created_by: Some(actor.user_id.clone()),
        revoked_at: None,
        last_used_at: None,
    };
    let mut tx = app.db.begin().await?;
    deliveries::insert_token(&mut tx, &row).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "api_token.create",
        "api_token",
        &row.id,
        None::<&()>,
        Some(&row),
    )
    .await?;
    tx.commit().await?;
    Ok(NewToken { token: row, secret })
}

pub async fn list(app: &App, actor: &Actor, org_code: &str) -> AppResult<Vec<TokenRow>> {
    let org = admin_of(app, actor, org_code).await?;
    let mut tx = app.db.read().await?;
    Ok(deliveries::tokens(&mut tx, &org.code).await?)
}

pub async fn revoke(app: &App, actor: &Actor, org_code: &str, id: &str) -> AppResult<()> {
    let org = admin_of(app, actor, org_code).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    deliveries::revoke_token(&mut tx, &org.code, id, now).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "api_token.revoke",
        "api_token",
        id,
        None::<&()>,
        Some(&serde_json::json!({"revoked_at": now})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The caller a live organisation token stands for: an operator of its organisation, named
/// `token:<id>` in the audit log.
pub async fn authenticate(app: &App, secret: &str, ip: Option<String>) -> AppResult<Actor> {
    let now = app.clock.now();
    let mut tx = app.db.read().await?;
    let t = deliveries::token_by_hash(&mut tx, &token_hash(secret))
        .await?
        .filter(|t| t.revoked_at.is_none())
        .ok_or(AppError::NotLoggedIn)?;
    let org = orgs::get(&mut tx, &t.org_code)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    drop(tx);
    if t.last_used_at
        .is_none_or(|l| now - l > chrono::Duration::seconds(60))
    {
        let mut w = app.db.begin().await?;
        deliveries::touch_token(&mut w, &t.id, now).await?;
        w.commit().await?;
    }
    let kind = org.kind;
    let code = OrgCode::parse(&org.code).map_err(|_| AppError::NotLoggedIn)?;
    Ok(Actor {
        user_id: format!("token:{}", t.id),
        email: String::new(),
        name: t.name.clone(),
        org_name: org.name.clone(),
        principal: Principal {
            org_code: code,
            org_kind: kind,
            org_path: org.path.clone(),
            role: Role::Operator,
        },
        ip,
        must_change_password: false,
        session: None,
        login_complete: true,
        csrf_token: String::new(),
    })
}
