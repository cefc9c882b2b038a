//! Logging in and out, and one's own account.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Json;
use crate::security::request_ip;
use crate::session::{ApiUser, ReqLang};
use axum::extract::State;
use axum::http::{StatusCode, request::Parts};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vsys_app::auth::{self, LoginRequest, SessionKind};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    email: String,
    password: String,
    /// The 6-digit TOTP code, for accounts with two-factor authentication.
    totp: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    /// The bearer token (`Authorization: Bearer …`).
    token: String,
    /// When the session ends at the latest (it also ends after 30 minutes idle).
    expires_at: DateTime<Utc>,
}

/// Log in and get a bearer token.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginBody, security(()),
    responses((status = 201, description = "Logged in.", body = TokenOut),
        (status = 401, description = "Login failed: wrong e-mail or password, or a TOTP code is missing or wrong (`/problems/login-failed`, `/problems/totp-required`, `/problems/totp-invalid`)."),
        (status = 403, description = "The account must set up two-factor authentication first, on the web (`/problems/totp-setup-required`)."),
        (status = 429, description = "Too many attempts (`/problems/login-throttled`): wait `Retry-After` seconds.", headers(("Retry-After" = i64, description = "Seconds to wait before the next attempt.")))))]
pub async fn login(
    State(s): State<AppState>,
    ReqLang(lang): ReqLang,
    parts: Parts,
    Json(b): Json<LoginBody>,
) -> Result<(StatusCode, Json<TokenOut>), ApiError> {
    let ip = request_ip(&s, &parts);
    let req = LoginRequest {
        email: &b.email,
        password: &b.password,
        totp: b.totp.as_deref(),
        ip,
        kind: SessionKind::Api,
    };
    let new = auth::login(&s.app, req)
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    Ok((
        StatusCode::CREATED,
        Json(TokenOut {
            token: new.token,
            expires_at: new.row.expires_at,
        }),
    ))
}

/// End this token's session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204, description = "Logged out.")))]
pub async fn logout(State(s): State<AppState>, u: ApiUser) -> Result<StatusCode, ApiError> {
    auth::logout(&s.app, &u.actor)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account and organisation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MeOut {
    /// The account's id (UUIDv7).
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub org_code: String,
    pub org_name: String,
    pub org_kind: vsys_domain::OrgKind,
    pub role: vsys_domain::Role,
    /// Every operation but this one and `POST /api/v1/me/password` answers 403 until the
    /// password is changed.
    pub must_change_password: bool,
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, description = "Who I am.", body = MeOut)))]
pub async fn me(u: ApiUser) -> Json<MeOut> {
    let a = u.actor;
    Json(MeOut {
        org_code: a.org_code().to_owned(),
        org_kind: a.principal().org_kind,
        role: a.principal().role,
        user_id: a.user_id().to_owned(),
        email: a.email().to_owned(),
        name: a.name().to_owned(),
        org_name: a.org_name().to_owned(),
        must_change_password: a.must_change_password(),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    current_password: String,
    /// 12–256 characters, not the e-mail address, not a common password.
    new_password: String,
}

/// Change my password (allowed while a change is required). Other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session", request_body = PasswordBody,
    responses((status = 204, description = "Changed; other sessions ended."), (status = 412)))]
pub async fn change_password(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    auth::change_password(&s.app, &u.actor, &b.current_password, &b.new_password)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TotpBody {
    /// A base32 secret the client generated and showed to the user.
    secret: String,
    /// A current code from the authenticator, proving the secret was stored.
    code: String,
}

/// Turn on two-factor authentication for my account.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "session", request_body = TotpBody,
    responses((status = 204, description = "Two-factor authentication is on."), (status = 409, description = "Already set up (`/problems/wrong-state`)."), (status = 412)))]
pub async fn enable_totp(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<TotpBody>,
) -> Result<StatusCode, ApiError> {
    u.actor
        .require_password_changed()
        .map_err(|e| ApiError::new(e, u.lang))?;
    auth::enable_totp(&s.app, &u.actor, &b.secret, &b.code)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}
