//! Organisations, users, notices and the audit log.

pub mod wire;

use super::docs::IfMatch;
use super::{PageQuery, err, if_match, json_bytes, json_etag};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::session::ApiUser;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use vsys_app::accounts::{NewUser, UserChange};
use vsys_app::notices::NoticeDraft;
use vsys_app::orgs::{NewOrg, OrgQuery};
use vsys_app::rows::AuditFilter;
use wire::{
    AnnouncementIn, AnnouncementOut, AnnouncementPage, AuditPage, CitizenNoticeIn,
    CitizenNoticeOut, NoticeCreated, NoticeOut, NoticePage, OrgOut, OrgPage, UserOut, UserPage,
    VerifyOut,
};

/// Organisations in my scope (prefectures and municipalities: the whole country), in the
/// order of the hierarchy: each after its parent, siblings by code.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", params(OrgQuery),
    responses((status = 200, description = "A page of organisations.", body = OrgPage)))]
pub async fn list_orgs(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<OrgQuery>,
) -> Result<Response, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(err(u.lang))?;
    let found = vsys_app::orgs::list_shared(&s.app, &u.actor, &q)
        .await
        .map_err(err(u.lang))?;
    let body = s.json.org_lists.get_or_make(
        &found,
        |(rows, total)| OrgPage::of(rows.clone(), *total, page),
        u.lang,
    )?;
    Ok(json_bytes(body))
}

/// One organisation.
#[utoipa::path(get, path = "/api/v1/orgs/{code}", tag = "orgs", params(("code" = String, Path, description = "The organisation's code.")),
    responses((status = 200, description = "The organisation.", body = OrgOut, headers(("ETag" = String)))))]
pub async fn get_org(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let o = vsys_app::orgs::get(&s.app, &u.actor, &code)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, o.version, OrgOut::from(o)))
}

/// The areas a deliverer serves (municipalities of a wholesaler; prefectures or
/// municipalities of a dry-ice maker).
#[utoipa::path(get, path = "/api/v1/orgs/{code}/areas", tag = "orgs", params(("code" = String, Path, description = "The organisation's code.")),
    responses((status = 200, description = "Codes of the areas served.", body = Vec<String>)))]
pub async fn get_areas(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(
        vsys_app::orgs::areas(&s.app, &u.actor, &code)
            .await
            .map_err(err(u.lang))?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AreasBody {
    areas: Vec<String>,
}

/// Set the areas a deliverer serves: the prefecture contracts its wholesalers for its
/// municipalities; the nation sets a dry-ice maker's. Deliveries of later cycles follow.
#[utoipa::path(put, path = "/api/v1/orgs/{code}/areas", tag = "orgs", params(("code" = String, Path, description = "The organisation's code.")),
    request_body = AreasBody, responses((status = 200, description = "Codes of the areas now served.", body = Vec<String>)))]
pub async fn set_areas(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<AreasBody>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(
        vsys_app::orgs::set_areas(&s.app, &u.actor, &code, &b.areas)
            .await
            .map_err(err(u.lang))?,
    ))
}

/// Create a subordinate organisation (admins).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = NewOrg,
    responses((status = 201, description = "The new organisation.", body = OrgOut, headers(("ETag" = String)))))]
pub async fn create_org(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<NewOrg>,
) -> Result<Response, ApiError> {
    let o = vsys_app::orgs::create(&s.app, &u.actor, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::CREATED, o.version, OrgOut::from(o)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Organisation code (default: my own).
    org: Option<String>,
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<u64>,
}

/// Accounts of an organisation (its admins; nation admins anywhere).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, description = "A page of accounts.", body = UserPage), (status = 404, description = "No such organisation in the caller's scope.")))]
pub async fn list_users(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<UserQuery>,
) -> Result<Json<UserPage>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(err(u.lang))?;
    let (rows, total) = vsys_app::accounts::list(&s.app, &u.actor, q.org.as_deref(), page)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(UserPage::of(rows, total, page)))
}

/// Create an account; the person must change the password at first login.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, description = "The new account.", body = UserOut, headers(("ETag" = String)))))]
pub async fn create_user(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<NewUser>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::create(&s.app, &u.actor, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(
        StatusCode::CREATED,
        row.version,
        UserOut::from(row),
    ))
}

/// One account (the read is audited).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "The id (UUIDv7).")),
    responses((status = 200, description = "The account.", body = UserOut, headers(("ETag" = String)))))]
pub async fn get_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::get(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Change name, role or enabled state. Requires `If-Match` with the ETag.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "The account's id."), IfMatch), request_body = UserChange,
    responses((status = 200, description = "The account as changed.", body = UserOut, headers(("ETag" = String)))))]
pub async fn update_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<UserChange>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers, u.lang)?;
    let row = vsys_app::accounts::update(&s.app, &u.actor, &id, version, &b)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Lock an account by hand: its sessions end and it cannot log in until unlocked. (Failed
/// logins never lock an account; they slow it down.)
#[utoipa::path(post, path = "/api/v1/users/{id}/lock", tag = "users", params(("id" = String, Path, description = "The id (UUIDv7).")),
    responses((status = 200, description = "The account, locked.", body = UserOut, headers(("ETag" = String))), (status = 409, description = "Already locked (`/problems/wrong-state`)."), (status = 412), (status = 422, description = "One's own account cannot be locked.")))]
pub async fn lock_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::lock(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Lift a lockout (and the account's login throttle).
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = String, Path, description = "The id (UUIDv7).")),
    responses((status = 200, description = "The account, unlocked.", body = UserOut, headers(("ETag" = String))), (status = 412)))]
pub async fn unlock_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::unlock(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Clear a user's two-factor authentication (lost authenticator); they set it up again at the
/// next login. Not for one's own account.
#[utoipa::path(post, path = "/api/v1/users/{id}/totp-reset", tag = "users", params(("id" = String, Path, description = "The id (UUIDv7).")),
    responses((status = 200, description = "The account, without TOTP.", body = UserOut, headers(("ETag" = String))), (status = 412), (status = 422, description = "Not for one's own account.")))]
pub async fn reset_totp(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::reset_totp(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetBody {
    /// A temporary password, to be changed at next login.
    password: String,
}

/// Set a temporary password.
#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", tag = "users", params(("id" = String, Path, description = "The id (UUIDv7).")), request_body = ResetBody,
    responses((status = 200, description = "The account, with the temporary password.", body = UserOut, headers(("ETag" = String))), (status = 412)))]
pub async fn reset_password(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Json(b): Json<ResetBody>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::reset_password(&s.app, &u.actor, &id, &b.password)
        .await
        .map_err(err(u.lang))?;
    Ok(json_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// My notices, newest first, in my language.
#[utoipa::path(get, path = "/api/v1/notices", tag = "notices", params(PageQuery),
    responses((status = 200, description = "A page of my notices.", body = NoticePage)))]
pub async fn list_notices(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<NoticePage>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(err(u.lang))?;
    let (rows, total) = vsys_app::notices::list(&s.app, &u.actor, page)
        .await
        .map_err(err(u.lang))?;
    let en = u.lang == vsys_domain::Lang::En;
    let items: Vec<NoticeOut> = rows.into_iter().map(|n| NoticeOut::of(n, en)).collect();
    Ok(Json(NoticePage::of(items, total, page)))
}

/// Mark one of my notices read.
#[utoipa::path(post, path = "/api/v1/notices/{id}/read", tag = "notices", params(("id" = String, Path, description = "The id (UUIDv7).")),
    responses((status = 204, description = "Marked read.")))]
pub async fn mark_notice_read(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vsys_app::notices::mark_read(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a notice (and e-mail) to an organisation in my scope.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/notices", tag = "notices", params(("code" = String, Path, description = "The organisation's code.")), request_body = NoticeDraft,
    responses((status = 201, description = "The notice was sent.", body = NoticeCreated)))]
pub async fn post_notice(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<NoticeDraft>,
) -> Result<(StatusCode, Json<NoticeCreated>), ApiError> {
    let n = vsys_app::notices::post(&s.app, &u.actor, &code, &b)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(NoticeCreated { id: n.id })))
}

/// Publish an announcement (お知らせ) to an audience of organisation kinds, areas and named
/// organisations (a recipient meets every part given): the nation's, a prefecture's or a
/// municipality's operators and administrators, the latter two within their own area (422
/// otherwise, nothing sent). With `mail`, every recipient gets it by e-mail once, when it is
/// published.
#[utoipa::path(post, path = "/api/v1/announcements", tag = "notices", request_body = AnnouncementIn,
    responses((status = 201, description = "Published (or scheduled).", body = AnnouncementOut)))]
pub async fn publish_announcement(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<AnnouncementIn>,
) -> Result<(StatusCode, Json<AnnouncementOut>), ApiError> {
    let a = vsys_app::notices::publish(&s.app, &u.actor, &b.draft())
        .await
        .map_err(err(u.lang))?;
    let sent = vsys_app::notices::sent_one(&s.app, &u.actor, &a.notice.id)
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(AnnouncementOut::from(sent))))
}

/// The announcements sent, newest first, with read counts: for the nation every writer's,
/// for a prefecture or municipality its own.
#[utoipa::path(get, path = "/api/v1/announcements", tag = "notices", params(PageQuery),
    responses((status = 200, description = "A page of sent announcements.", body = AnnouncementPage)))]
pub async fn list_announcements(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<AnnouncementPage>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(err(u.lang))?;
    let (rows, total) = vsys_app::notices::sent(&s.app, &u.actor, page)
        .await
        .map_err(err(u.lang))?;
    let items: Vec<AnnouncementOut> = rows.into_iter().map(AnnouncementOut::from).collect();
    Ok(Json(AnnouncementPage::of(items, total, page)))
}

/// Withdraw an announcement: it leaves every list, and its e-mail, if not sent yet, never
/// goes (its writer organisation's or the nation's operators and administrators).
#[utoipa::path(delete, path = "/api/v1/announcements/{id}", tag = "notices", params(("id" = String, Path, description = "The id (UUIDv7).")),
    responses((status = 204, description = "Withdrawn.")))]
pub async fn withdraw_announcement(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vsys_app::notices::withdraw(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish a notice, FAQ entry or guide page on the public site (コロナワクチンナビ): the
/// nation's operators and administrators. No e-mail is sent; the public site shows it within
/// seconds.
#[utoipa::path(post, path = "/api/v1/public-notices", tag = "notices", request_body = CitizenNoticeIn,
    responses((status = 201, description = "Published.", body = CitizenNoticeOut)))]
pub async fn post_public_notice(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<CitizenNoticeIn>,
) -> Result<(StatusCode, Json<CitizenNoticeOut>), ApiError> {
    let n = vsys_app::notices::post_for_citizens(&s.app, &u.actor, b.topic, &b.draft())
        .await
        .map_err(err(u.lang))?;
    Ok((StatusCode::CREATED, Json(CitizenNoticeOut::from(n))))
}

/// Withdraw a notice, FAQ entry or guide page from the public site (the nation's operators and
/// administrators).
#[utoipa::path(delete, path = "/api/v1/public-notices/{id}", tag = "notices", params(("id" = String, Path, description = "The id (UUIDv7).")),
    responses((status = 204, description = "Withdrawn.")))]
pub async fn withdraw_public_notice(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vsys_app::notices::withdraw_for_citizens(&s.app, &u.actor, &id)
        .await
        .map_err(err(u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this chain (an organisation's code, or `system`).
    partition: Option<String>,
    /// Only what this user did (id).
    actor_user: Option<String>,
    /// Actions starting with this, e.g. `user.`.
    action: Option<String>,
    /// Only objects of this kind.
    object_type: Option<String>,
    /// Only this object (id or code).
    object_id: Option<String>,
    /// From this instant on (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Before this instant (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<u64>,
}

/// Search the audit log (nation administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of entries, newest first.", body = AuditPage)))]
pub async fn search_audit(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(err(u.lang))?;
    let f = AuditFilter {
        partition: q.partition,
        actor_user: q.actor_user,
        action_prefix: q.action,
        object_type: q.object_type,
        object_id: q.object_id,
        from: q.from,
        until: q.until,
    };
    let (rows, total) = vsys_app::audit::search(&s.app, &u.actor, &f, page)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(AuditPage::of(rows, total, page)))
}

/// Verify every hash chain of the audit log (nation administrators).
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "What the verification found.", body = VerifyOut)))]
pub async fn verify_audit(
    State(s): State<AppState>,
    u: ApiUser,
) -> Result<Json<VerifyOut>, ApiError> {
    let r = vsys_app::audit::verify(&s.app, &u.actor)
        .await
        .map_err(err(u.lang))?;
    Ok(Json(VerifyOut {
        ok: r.breaks.is_empty(),
        partitions: r.partitions,
        entries: r.entries,
        breaks: r.breaks,
    }))
}
