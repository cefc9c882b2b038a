//! Organisations, users, notices and the audit log.

use super::{Paged, etag, if_match};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Path, Query};
use crate::session::ApiUser;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vsys_app::accounts::{NewUser, UserChange};
use vsys_app::notices::NoticeDraft;
use vsys_app::orgs::{NewOrg, OrgQuery};
use vsys_store::audit::{AuditFilter, AuditRow};
use vsys_store::orgs::OrgRow;
use vsys_store::users::UserRow;

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrgOut {
    code: String,
    kind: vsys_domain::OrgKind,
    name: String,
    name_en: Option<String>,
    parent_code: Option<String>,
    prefecture_code: Option<String>,
    population: Option<i64>,
    lat: Option<f64>,
    lng: Option<f64>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl From<OrgRow> for OrgOut {
    fn from(o: OrgRow) -> Self {
        OrgOut {
            code: o.code,
            kind: o.kind,
            name: o.name,
            name_en: o.name_en,
            parent_code: o.parent_code,
            prefecture_code: o.prefecture_code,
            population: o.population,
            lat: o.lat,
            lng: o.lng,
            updated_at: o.updated_at,
            version: o.version,
        }
    }
}

fn with_etag<T: Serialize>(status: StatusCode, version: i64, body: T) -> Response {
    let mut res = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// Organisations in my scope (prefectures and municipalities: the whole country).
#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", params(OrgQuery),
    responses((status = 200, body = Paged<OrgOut>), (status = 401, body = Problem)))]
pub async fn list_orgs(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<OrgQuery>,
) -> Result<Json<Paged<OrgOut>>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
    let (rows, total) = vsys_app::orgs::list(&s.app, &u.actor, &q)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(Json(Paged {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// One organisation.
#[utoipa::path(get, path = "/api/v1/orgs/{code}", tag = "orgs", params(("code" = String, Path)),
    responses((status = 200, body = OrgOut), (status = 404, body = Problem)))]
pub async fn get_org(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let o = vsys_app::orgs::get(&s.app, &u.actor, &code)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::OK, o.version, OrgOut::from(o)))
}

/// The areas a deliverer serves (municipalities of a wholesaler; prefectures or
/// municipalities of a dry-ice maker).
#[utoipa::path(get, path = "/api/v1/orgs/{code}/areas", tag = "orgs", params(("code" = String, Path)),
    responses((status = 200, body = Vec<String>), (status = 404, body = Problem)))]
pub async fn get_areas(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(
        vsys_app::orgs::areas(&s.app, &u.actor, &code)
            .await
            .map_err(|e| ApiError::new(e, u.lang))?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AreasBody {
    areas: Vec<String>,
}

/// Set the areas a deliverer serves: the prefecture contracts its wholesalers for its
/// municipalities; the nation sets a dry-ice maker's. Deliveries of later cycles follow.
#[utoipa::path(put, path = "/api/v1/orgs/{code}/areas", tag = "orgs", params(("code" = String, Path)),
    request_body = AreasBody, responses((status = 200, body = Vec<String>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_areas(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<AreasBody>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(
        vsys_app::orgs::set_areas(&s.app, &u.actor, &code, &b.areas)
            .await
            .map_err(|e| ApiError::new(e, u.lang))?,
    ))
}

/// Create a subordinate organisation (admins).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = NewOrg,
    responses((status = 201, body = OrgOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_org(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<NewOrg>,
) -> Result<Response, ApiError> {
    let o = vsys_app::orgs::create(&s.app, &u.actor, &b)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::CREATED, o.version, OrgOut::from(o)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserOut {
    id: String,
    org_code: String,
    email: String,
    name: String,
    role: vsys_domain::Role,
    must_change_password: bool,
    totp_enabled: bool,
    disabled: bool,
    locked: bool,
    last_login_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl From<UserRow> for UserOut {
    fn from(u: UserRow) -> Self {
        UserOut {
            totp_enabled: u.totp_secret.is_some(),
            id: u.id,
            org_code: u.org_code,
            email: u.email,
            name: u.name,
            role: u.role,
            must_change_password: u.must_change_password,
            disabled: u.disabled,
            locked: u.locked,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Organisation code (default: my own).
    org: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
}

/// Accounts of an organisation (its admins; nation admins anywhere).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, body = Paged<UserOut>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_users(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<UserQuery>,
) -> Result<Json<Paged<UserOut>>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
    let (rows, total) = vsys_app::accounts::list(&s.app, &u.actor, q.org.as_deref(), page)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(Json(Paged {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Create an account; the person must change the password at first login.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(s): State<AppState>,
    u: ApiUser,
    Json(b): Json<NewUser>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::create(&s.app, &u.actor, &b)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(
        StatusCode::CREATED,
        row.version,
        UserOut::from(row),
    ))
}

/// One account (the read is audited).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = Problem)))]
pub async fn get_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::get(&s.app, &u.actor, &id)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Change name, role or enabled state. Requires `If-Match` with the ETag.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserChange,
    responses((status = 200, body = UserOut), (status = 412, body = Problem), (status = 428, body = Problem)))]
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
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Lock an account by hand: its sessions end and it cannot log in until unlocked. (Failed
/// logins never lock an account; they slow it down.)
#[utoipa::path(post, path = "/api/v1/users/{id}/lock", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn lock_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::lock(&s.app, &u.actor, &id)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Lift a lockout (and the account's login throttle).
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = Problem)))]
pub async fn unlock_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::unlock(&s.app, &u.actor, &id)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

/// Clear a user's two-factor authentication (lost authenticator); they set it up again at the
/// next login. Not for one's own account.
#[utoipa::path(post, path = "/api/v1/users/{id}/totp-reset", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn reset_totp(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::reset_totp(&s.app, &u.actor, &id)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetBody {
    /// A temporary password, to be changed at next login.
    password: String,
}

/// Set a temporary password.
#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", tag = "users", params(("id" = String, Path)), request_body = ResetBody,
    responses((status = 200, body = UserOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn reset_password(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Json(b): Json<ResetBody>,
) -> Result<Response, ApiError> {
    let row = vsys_app::accounts::reset_password(&s.app, &u.actor, &id, &b.password)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(with_etag(StatusCode::OK, row.version, UserOut::from(row)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticeOut {
    id: String,
    org_code: String,
    category: String,
    title: String,
    body: String,
    link: Option<String>,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    page: Option<u64>,
    per_page: Option<u64>,
}

/// My notices, newest first, in my language.
#[utoipa::path(get, path = "/api/v1/notices", tag = "notices", params(PageQuery),
    responses((status = 200, body = Paged<NoticeOut>), (status = 401, body = Problem)))]
pub async fn list_notices(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paged<NoticeOut>>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
    let (rows, total) = vsys_app::notices::list(&s.app, &u.actor, page)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    let en = u.lang == vsys_domain::Lang::En;
    let items = rows
        .into_iter()
        .map(|n| NoticeOut {
            id: n.notice.id,
            org_code: n.notice.org_code,
            category: n.notice.category,
            title: if en {
                n.notice.title_en
            } else {
                n.notice.title_ja
            },
            body: if en {
                n.notice.body_en
            } else {
                n.notice.body_ja
            },
            link: n.notice.link,
            created_at: n.notice.created_at,
            read_at: n.read_at,
        })
        .collect();
    Ok(Json(Paged {
        items,
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Mark one of my notices read.
#[utoipa::path(post, path = "/api/v1/notices/{id}/read", tag = "notices", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn mark_notice_read(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vsys_app::notices::mark_read(&s.app, &u.actor, &id)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a notice (and e-mail) to an organisation in my scope.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/notices", tag = "notices", params(("code" = String, Path)), request_body = NoticeDraft,
    responses((status = 201), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn post_notice(
    State(s): State<AppState>,
    u: ApiUser,
    Path(code): Path<String>,
    Json(b): Json<NoticeDraft>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let n = vsys_app::notices::post(&s.app, &u.actor, &code, &b)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": n.id}))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    partition: Option<String>,
    actor_user: Option<String>,
    action: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    page: Option<u64>,
    per_page: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditOut {
    id: String,
    partition: String,
    seq: i64,
    at: DateTime<Utc>,
    actor_user: Option<String>,
    actor_org: Option<String>,
    ip: Option<String>,
    action: String,
    object_type: String,
    object_id: String,
    before: Option<String>,
    after: Option<String>,
    hash: String,
}

impl From<AuditRow> for AuditOut {
    fn from(e: AuditRow) -> Self {
        AuditOut {
            id: e.id,
            partition: e.partition,
            seq: e.seq,
            at: e.at,
            actor_user: e.actor_user,
            actor_org: e.actor_org,
            ip: e.ip,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            before: e.before,
            after: e.after,
            hash: e.hash,
        }
    }
}

/// Search the audit log (nation administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Paged<AuditOut>), (status = 403, body = Problem)))]
pub async fn search_audit(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Paged<AuditOut>>, ApiError> {
    let page = vsys_app::page(q.page, q.per_page).map_err(|e| ApiError::new(e, u.lang))?;
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
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(Json(Paged {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        page: page.page,
        per_page: page.per_page,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VerifyOut {
    partitions: usize,
    entries: u64,
    ok: bool,
    #[schema(value_type = Vec<Object>)]
    breaks: Vec<vsys_domain::audit::ChainBreak>,
}

/// Verify every hash chain of the audit log (nation administrators).
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyOut), (status = 403, body = Problem)))]
pub async fn verify_audit(
    State(s): State<AppState>,
    u: ApiUser,
) -> Result<Json<VerifyOut>, ApiError> {
    u.actor
        .require(vsys_domain::Action::ReadAudit, &u.actor.principal.org_path)
        .map_err(|e| ApiError::new(e, u.lang))?;
    let r = vsys_app::audit::verify(&s.app)
        .await
        .map_err(|e| ApiError::new(e, u.lang))?;
    Ok(Json(VerifyOut {
        ok: r.breaks.is_empty(),
        partitions: r.partitions,
        entries: r.entries,
        breaks: r.breaks,
    }))
}
