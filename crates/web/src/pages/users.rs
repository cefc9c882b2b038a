//! Accounts of an organisation: the list, a new account, and one account — its name, role and
//! status, locking, a new initial password, and resetting two-step verification.

use super::form::{Errs, Flash, ascii_digits, done};
use super::{Chrome, Pager};
use crate::AppState;
use crate::error::{PageError, render, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use vsys_app::accounts::{NewUser, UserChange};
use vsys_domain::{Action, Lang, Role};

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
    /// The organisation whose list the new-account form was opened from (where to return
    /// when the new account's own list is not the creator's to see).
    pub back_org: String,
    pub errs: Errs,
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
    let org_code = q.org.unwrap_or_else(|| u.actor.org_code().into());
    Ok(render(&UserForm {
        c,
        heading: Ui::NewUser.text(lang).into(),
        action: "/users".into(),
        creating: true,
        id: String::new(),
        version: 0,
        back_org: org_code.clone(),
        org_code,
        email: String::new(),
        name: String::new(),
        role: "operator".into(),
        roles: roles(lang),
        disabled: false,
        locked: false,
        totp_resettable: false,
        own: false,
        errs: Errs::none(),
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
    Ok(back_to_list(&x.org_code, Flash::TotpReset))
}

#[derive(Deserialize)]
pub struct UserCreateForm {
    org_code: String,
    email: String,
    name: String,
    role: String,
    password: String,
    /// The organisation whose list the form was opened from.
    #[serde(default)]
    back_org: String,
}

/// Back to the list of the account's organisation, with a message.
fn back_to_list(org_code: &str, flash: Flash) -> Response {
    done(&format!("/users?org={org_code}"), flash, "")
}

/// Where a new account's creator lands: the list of the account's organisation when the
/// creator manages its users, else (a superior's admin creating a subordinate's first admin)
/// the list the form was opened from, else home — each with the message that it was created.
async fn after_create(s: &AppState, u: &WebUser, org_code: &str, back_org: &str) -> Response {
    let manages = |path: &str| u.actor.principal().may(Action::ManageUsers, path);
    if let Ok(org) = vsys_app::orgs::get(&s.app, &u.actor, org_code).await
        && manages(&org.path)
    {
        return back_to_list(&org.code, Flash::UserCreated);
    }
    match vsys_app::orgs::get(&s.app, &u.actor, back_org.trim()).await {
        Ok(back) if manages(&back.path) => back_to_list(&back.code, Flash::FirstAdminCreated),
        _ => done("/", Flash::FirstAdminCreated, ""),
    }
}

pub async fn user_create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<UserCreateForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let n = NewUser {
        // Typed as digits: full-width ones as ASCII, spaces around dropped.
        org_code: ascii_digits(f.org_code.trim()),
        email: f.email.clone(),
        name: f.name.clone(),
        role: f.role.clone(),
        password: f.password,
    };
    match vsys_app::accounts::create(&s.app, &u.actor, &n).await {
        Ok(row) => Ok(after_create(&s, &u, &row.org_code, &f.back_org).await),
        Err(e) => {
            let errs = Errs::refused("user", e, lang)?;
            let c =
                Chrome::for_actor(&s.app, &u.actor, lang, Ui::NewUser.text(lang), "/users").await;
            Ok(render_status(
                errs.status(),
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
                    back_org: f.back_org,
                    errs,
                },
            ))
        }
    }
}

/// The edit form of an account; after a refused form, with the reasons (and what was typed:
/// name, role, disabled).
async fn edit_form(
    s: &AppState,
    u: &WebUser,
    id: &str,
    typed: Option<(String, String, bool)>,
    errs: Errs,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let x = vsys_app::accounts::get(&s.app, &u.actor, id)
        .await
        .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, &x.name, "/users").await;
    let (name, role, disabled) =
        typed.unwrap_or((x.name.clone(), x.role.as_str().to_owned(), x.disabled));
    Ok(render_status(
        errs.status(),
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
            back_org: String::new(),
            errs,
        },
    ))
}

pub async fn user_edit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    edit_form(&s, &u, &id, None, Errs::none()).await
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
    let change = UserChange {
        name: Some(f.name.clone()),
        role: Some(f.role.clone()),
        disabled: Some(f.disabled.is_some()),
    };
    match vsys_app::accounts::update(&s.app, &u.actor, &id, f.version, &change).await {
        Ok(x) => Ok(back_to_list(&x.org_code, Flash::UserSaved)),
        Err(e) => {
            let errs = Errs::refused("user", e, u.lang)?;
            let typed = Some((f.name, f.role, f.disabled.is_some()));
            edit_form(&s, &u, &id, typed, errs).await
        }
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
    Ok(back_to_list(&x.org_code, Flash::Locked))
}

pub async fn user_unlock(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let x = vsys_app::accounts::unlock(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(back_to_list(&x.org_code, Flash::Unlocked))
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
        Ok(x) => Ok(back_to_list(&x.org_code, Flash::Reset)),
        Err(e) => {
            let errs = Errs::refused("reset", e, u.lang)?;
            edit_form(&s, &u, &id, None, errs).await
        }
    }
}
