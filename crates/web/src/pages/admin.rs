//! Users, organisations and the audit log.

use super::{Chrome, Pager};
use crate::AppState;
use crate::error::{PageError, render, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use vsys_app::AppError;
use vsys_app::accounts::{NewUser, UserChange};
use vsys_app::orgs::OrgQuery;
use vsys_app::rows::OrgRow;
use vsys_app::rows::{AuditFilter, AuditRow};
use vsys_app::table_csv::{self, Encoding};
use vsys_domain::{Lang, Msg, OrgKind, Role};

pub struct UserLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: &'static str,
    pub last_login: String,
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub c: Chrome,
    pub org_code: String,
    pub org_name: String,
    pub users: Vec<UserLine>,
    pub pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    org: Option<String>,
    page: Option<u64>,
    flash: Option<String>,
}

pub async fn users(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let page = vsys_app::page_of(q.page, None, 50).map_err(|e| PageError(e, u.lang))?;
    let org_code = q
        .org
        .clone()
        .unwrap_or_else(|| u.actor.org_code().to_owned());
    let (list, total) = vsys_app::accounts::list(&s.app, &u.actor, Some(&org_code), page)
        .await
        .map_err(err)?;
    let org = vsys_app::orgs::get(&s.app, &u.actor, &org_code)
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Users.text(lang), "/users")
        .await
        .with_flash(q.flash.as_deref());
    let users = list
        .iter()
        .map(|x| UserLine {
            id: x.id.clone(),
            name: x.name.clone(),
            email: x.email.clone(),
            role: x.role.label(lang),
            status: if x.locked {
                Ui::Locked.text(lang)
            } else if x.disabled {
                Ui::Disabled.text(lang)
            } else {
                Ui::Enabled.text(lang)
            },
            last_login: x
                .last_login_at
                .as_ref()
                .map(jst)
                .unwrap_or_else(|| Ui::Never.text(lang).into()),
        })
        .collect();
    Ok(render(&UsersPage {
        c,
        org_code: org.code.clone(),
        org_name: org.name,
        users,
        pager: Pager::new(
            page.page,
            page.per_page,
            total,
            format!("/users?org={}&", org.code),
        ),
    }))
}

#[derive(Template)]
#[template(path = "user_form.html")]
pub struct UserForm {
    pub c: Chrome,
    pub heading: String,
    pub action: String,
    pub creating: bool,
    pub id: String,
    pub version: i64,
    pub org_code: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub roles: Vec<(&'static str, &'static str)>,
    pub disabled: bool,
    pub locked: bool,
    /// Whether two-step verification can be reset: set up, and not the viewer's own account.
    pub totp_resettable: bool,
    /// Whether the viewer is looking at their own account (which they cannot lock).
    pub own: bool,
    pub errors: Vec<(String, &'static str)>,
}

fn roles(lang: Lang) -> Vec<(&'static str, &'static str)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str(), r.label(lang)))
        .collect()
}

pub async fn user_new(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    u.actor
        .require_password_changed()
        .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::NewUser.text(lang), "/users").await;
    Ok(render(&UserForm {
        c,
        heading: Ui::NewUser.text(lang).into(),
        action: "/users".into(),
        creating: true,
        id: String::new(),
        version: 0,
        org_code: q.org.unwrap_or_else(|| u.actor.org_code().into()),
        email: String::new(),
        name: String::new(),
        role: "operator".into(),
        roles: roles(lang),
        disabled: false,
        locked: false,
        totp_resettable: false,
        own: false,
        errors: vec![],
    }))
}

pub async fn user_totp_reset(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let x = vsys_app::accounts::reset_totp(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(Redirect::to(&format!("/users?org={}&flash=totp_reset", x.org_code)).into_response())
}

#[derive(Deserialize)]
pub struct UserCreateForm {
    org_code: String,
    email: String,
    name: String,
    role: String,
    password: String,
}

fn field_errors(e: &AppError, lang: Lang) -> Vec<(String, &'static str)> {
    match e {
        AppError::Invalid(inv) => inv
            .0
            .iter()
            .map(|f| (f.field.clone(), f.msg.text(lang)))
            .collect(),
        other => vec![(String::new(), other.text(lang))],
    }
}

pub async fn user_create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<UserCreateForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let n = NewUser {
        org_code: f.org_code.clone(),
        email: f.email.clone(),
        name: f.name.clone(),
        role: f.role.clone(),
        password: f.password,
    };
    match vsys_app::accounts::create(&s.app, &u.actor, &n).await {
        Ok(row) => Ok(
            Redirect::to(&format!("/users?org={}&flash=user_created", row.org_code))
                .into_response(),
        ),
        Err(e @ AppError::Invalid(_)) => {
            let c =
                Chrome::for_actor(&s.app, &u.actor, lang, Ui::NewUser.text(lang), "/users").await;
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &UserForm {
                    c,
                    heading: Ui::NewUser.text(lang).into(),
                    action: "/users".into(),
                    creating: true,
                    id: String::new(),
                    version: 0,
                    org_code: f.org_code,
                    email: f.email,
                    name: f.name,
                    role: f.role,
                    roles: roles(lang),
                    disabled: false,
                    locked: false,
                    totp_resettable: false,
                    own: false,
                    errors: field_errors(&e, lang),
                },
            ))
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

/// The edit form of an account, with what the person typed and any errors.
async fn edit_form(
    s: &AppState,
    u: &WebUser,
    id: &str,
    typed: Option<(String, String, bool)>,
    errors: Vec<(String, &'static str)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let x = vsys_app::accounts::get(&s.app, &u.actor, id)
        .await
        .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, &x.name, "/users").await;
    let (name, role, disabled) =
        typed.unwrap_or((x.name.clone(), x.role.as_str().to_owned(), x.disabled));
    Ok(render_status(
        status,
        &UserForm {
            c,
            heading: x.name.clone(),
            action: format!("/users/{}", x.id),
            creating: false,
            id: x.id.clone(),
            version: x.version,
            org_code: x.org_code,
            email: x.email,
            name,
            role,
            roles: roles(lang),
            disabled,
            locked: x.locked,
            totp_resettable: x.totp_secret.is_some() && x.id != u.actor.user_id(),
            own: x.id == u.actor.user_id(),
            errors,
        },
    ))
}

pub async fn user_edit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    edit_form(&s, &u, &id, None, vec![], StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct UserUpdateForm {
    version: i64,
    name: String,
    role: String,
    disabled: Option<String>,
}

pub async fn user_update(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Form(f): Form<UserUpdateForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let change = UserChange {
        name: Some(f.name.clone()),
        role: Some(f.role.clone()),
        disabled: Some(f.disabled.is_some()),
    };
    match vsys_app::accounts::update(&s.app, &u.actor, &id, f.version, &change).await {
        Ok(x) => Ok(
            Redirect::to(&format!("/users?org={}&flash=user_saved", x.org_code)).into_response(),
        ),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict)) => {
            let status = if matches!(e, AppError::Conflict) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let typed = Some((f.name, f.role, f.disabled.is_some()));
            edit_form(&s, &u, &id, typed, field_errors(&e, lang), status).await
        }
        Err(e) => Err(PageError(e, lang)),
    }
}

pub async fn user_lock(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let x = vsys_app::accounts::lock(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(Redirect::to(&format!("/users?org={}&flash=locked", x.org_code)).into_response())
}

pub async fn user_unlock(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let x = vsys_app::accounts::unlock(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(Redirect::to(&format!("/users?org={}&flash=unlocked", x.org_code)).into_response())
}

#[derive(Deserialize)]
pub struct ResetForm {
    password: String,
}

pub async fn user_reset(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Form(f): Form<ResetForm>,
) -> Result<Response, PageError> {
    match vsys_app::accounts::reset_password(&s.app, &u.actor, &id, &f.password).await {
        Ok(x) => {
            Ok(Redirect::to(&format!("/users?org={}&flash=reset", x.org_code)).into_response())
        }
        Err(e @ AppError::Invalid(_)) => {
            let errors = field_errors(&e, u.lang);
            edit_form(&s, &u, &id, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(PageError(e, u.lang)),
    }
}

pub struct OrgLine {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub population: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
pub struct OrgsPage {
    pub c: Chrome,
    pub q: String,
    pub kind: String,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub orgs: Vec<OrgLine>,
    pub pager: Pager,
}

pub async fn orgs(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<OrgQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let page = vsys_app::page_of(q.page, None, 50).map_err(|e| PageError(e, u.lang))?;
    let (list, total) = vsys_app::orgs::list(
        &s.app,
        &u.actor,
        &OrgQuery {
            per_page: Some(50),
            ..q.clone()
        },
    )
    .await
    .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Orgs.text(lang), "/orgs").await;
    let base = format!(
        "/orgs?q={}&kind={}&parent={}&",
        urlencoding::encode(q.q.as_deref().unwrap_or_default()),
        urlencoding::encode(q.kind.as_deref().unwrap_or_default()),
        urlencoding::encode(q.parent.as_deref().unwrap_or_default())
    );
    Ok(render(&OrgsPage {
        c,
        q: q.q.clone().unwrap_or_default(),
        kind: q.kind.clone().unwrap_or_default(),
        kinds: OrgKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(lang)))
            .collect(),
        orgs: list
            .iter()
            .map(|o| OrgLine {
                code: o.code.clone(),
                name: o.name.clone(),
                kind: o.kind.label(lang),
                population: o.population.map(crate::i18n::int).unwrap_or_default(),
            })
            .collect(),
        pager: Pager::new(page.page, page.per_page, total, base),
    }))
}

#[derive(Template)]
#[template(path = "org.html")]
pub struct OrgPage {
    pub c: Chrome,
    pub org: OrgRow,
    pub kind_label: &'static str,
    pub children: Vec<OrgRow>,
    pub children_total: i64,
    pub areas: Vec<String>,
    pub can_manage_users: bool,
    /// Links to the organisation's API tokens and to setting the areas it serves.
    pub can_manage_tokens: bool,
    pub can_set_areas: bool,
    /// A deliverer: a link to its basic information (基本情報).
    pub is_deliverer: bool,
}

pub async fn org(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let org = vsys_app::orgs::get(&s.app, &u.actor, &code)
        .await
        .map_err(err)?;
    let q = OrgQuery {
        parent: Some(org.code.clone()),
        per_page: Some(100),
        ..Default::default()
    };
    let (children, children_total) = if u.actor.principal().covers(&org.path) {
        vsys_app::orgs::list(&s.app, &u.actor, &q)
            .await
            .map_err(err)?
    } else {
        (vec![], 0)
    };
    let areas = vsys_app::orgs::areas(&s.app, &u.actor, &org.code)
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, &org.name, "/orgs").await;
    let can_manage_users = u
        .actor
        .principal()
        .may(vsys_domain::Action::ManageUsers, &org.path);
    let can_manage_tokens = super::api_tokens::may_manage_tokens(&u.actor, &org);
    let can_set_areas = super::areas::may_set_areas(&u.actor, &org);
    let is_deliverer = org.kind.is_deliverer();
    Ok(render(&OrgPage {
        c,
        kind_label: org.kind.label(lang),
        org,
        children,
        children_total,
        areas,
        can_manage_users,
        can_manage_tokens,
        can_set_areas,
        is_deliverer,
    }))
}

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    pub partition: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub object_id: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
    pub page: Option<u64>,
}

fn jst_midnight(d: &str) -> Option<chrono::DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    let offset = chrono::FixedOffset::east_opt(9 * 3600)?;
    offset
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        AuditFilter {
            partition: some(&self.partition),
            action_prefix: some(&self.action),
            object_id: some(&self.object_id),
            from: jst_midnight(&self.from),
            until: jst_midnight(&self.until).map(|t| t + chrono::Duration::days(1)),
            ..Default::default()
        }
    }
    fn query_string(&self) -> String {
        format!(
            "partition={}&action={}&object_id={}&from={}&until={}",
            urlencoding::encode(&self.partition),
            urlencoding::encode(&self.action),
            urlencoding::encode(&self.object_id),
            urlencoding::encode(&self.from),
            urlencoding::encode(&self.until)
        )
    }
}

pub struct AuditLine {
    pub when: String,
    /// The actor's name (their id if the account is gone), or `system`.
    pub who: String,
    pub who_id: String,
    pub org: String,
    pub ip: String,
    pub action: String,
    pub object: String,
    pub details: String,
}

fn audit_line(e: &AuditRow, names: &HashMap<String, String>) -> AuditLine {
    let details = match (&e.before, &e.after) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (None, Some(a)) => a.clone(),
        (Some(b), None) => b.clone(),
        (None, None) => String::new(),
    };
    AuditLine {
        when: jst(&e.at),
        who: match &e.actor_user {
            Some(id) => names.get(id).cloned().unwrap_or_else(|| id.clone()),
            None => "system".into(),
        },
        who_id: e.actor_user.clone().unwrap_or_default(),
        org: e.actor_org.clone().unwrap_or_default(),
        ip: e.ip.clone().unwrap_or_default(),
        action: e.action.clone(),
        object: format!("{}:{}", e.object_type, e.object_id),
        details: details.chars().take(300).collect(),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub c: Chrome,
    pub f: AuditQuery,
    pub query: String,
    pub entries: Vec<AuditLine>,
    pub pager: Pager,
}

pub async fn audit(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let page = vsys_app::page_of(q.page, None, 100).map_err(|e| PageError(e, u.lang))?;
    let (rows, total) = vsys_app::audit::search(&s.app, &u.actor, &q.filter(), page)
        .await
        .map_err(|e| PageError(e, lang))?;
    let names = vsys_app::audit::actor_names(&s.app, &u.actor, &rows)
        .await
        .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Audit.text(lang), "/audit").await;
    let query = q.query_string();
    Ok(render(&AuditPage {
        c,
        pager: Pager::new(page.page, page.per_page, total, format!("/audit?{query}&")),
        query,
        entries: rows.iter().map(|e| audit_line(e, &names)).collect(),
        f: q,
    }))
}

/// The audit log as CSV (UTF-8 with BOM, so Excel opens it correctly).
pub async fn audit_csv(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let rows = vsys_app::audit::export(&s.app, &u.actor, &q.filter(), 100_000)
        .await
        .map_err(|e| PageError(e, lang))?;
    let header = [
        "id",
        "partition",
        "seq",
        "at",
        "actor_user",
        "actor_org",
        "ip",
        "action",
        "object_type",
        "object_id",
        "before",
        "after",
        "hash",
    ];
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|e| {
            let at = vsys_domain::audit::canonical_time(e.at);
            vec![
                e.id,
                e.partition,
                e.seq.to_string(),
                at,
                e.actor_user.unwrap_or_default(),
                e.actor_org.unwrap_or_default(),
                e.ip.unwrap_or_default(),
                e.action,
                e.object_type,
                e.object_id,
                e.before.unwrap_or_default(),
                e.after.unwrap_or_default(),
                e.hash,
            ]
        })
        .collect();
    let bytes = table_csv::write(&header, &cells, Encoding::Utf8)
        .map_err(|e| PageError(AppError::Internal(anyhow::anyhow!("{e}")), lang))?;
    Ok(crate::download::csv(
        bytes,
        "vsys-audit.csv",
        Encoding::Utf8,
    ))
}
