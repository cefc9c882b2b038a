//! Managing staff accounts: one account per person, e-mail unique, administered by the
//! organisation's admins (and the nation's).

use crate::App;
use crate::audit::{Who, record};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use vsys_domain::validation::{Email, person_name};
use vsys_domain::{Action, Invalid, Msg, Role};
use vsys_store::orgs::OrgRow;
use vsys_store::users::UserRow;
use vsys_store::{Page, StoreError, Tx, orgs, sessions, users};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub org_code: String,
    pub email: String,
    pub name: String,
    pub role: String,
    /// The initial password, to be changed at first login.
    pub password: String,
}

/// Validates a new account; returns (email, name, role) or every problem found.
fn validate(n: &NewUser) -> Result<(Email, String, Role), Invalid> {
    let mut inv = Invalid::default();
    let email = Email::parse(&n.email)
        .map_err(|m| inv.push("email", m))
        .ok();
    let name = person_name(&n.name).map_err(|m| inv.push("name", m)).ok();
    let role = Role::parse(&n.role).map_err(|m| inv.push("role", m)).ok();
    if let Err(m) = vsys_domain::password::check(&n.password, &n.email) {
        inv.push("password", m);
    }
    match (email, name, role) {
        (Some(e), Some(n), Some(r)) if inv.is_empty() => Ok((e, n, r)),
        _ => Err(inv),
    }
}

async fn org_in_tx(tx: &mut Tx, code: &str) -> AppResult<OrgRow> {
    orgs::get(tx, code)
        .await?
        .ok_or_else(|| AppError::invalid("org_code", Msg::UnknownOrg))
}

/// Creates an account. Allowed to the organisation's admins, the nation's admins, and to an
/// admin of a superior organisation when it is the subordinate's first admin.
pub async fn create(app: &App, actor: &Actor, n: &NewUser) -> AppResult<UserRow> {
    actor.require_password_changed()?;
    let (email, name, role) = validate(n)?;
    let hash = app.hasher.hash(&n.password).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = org_in_tx(&mut tx, n.org_code.trim()).await?;
    let allowed = actor.principal.may(Action::ManageUsers, &org.path)
        || (role == Role::Admin
            && actor
                .principal
                .may_create_first_admin(&org.path, orgs::has_admin(&mut tx, &org.code).await?));
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let row = insert_user(
        &mut tx,
        &actor.into(),
        now,
        &org.code,
        (email, name, role),
        hash,
        true,
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(row)
}

/// Creates an account from the command line or the demo seeder (no actor; audited as system).
/// Creates an account without a logged-in actor (the command line, tests), audited as `by`.
pub async fn create_system(
    app: &App,
    by: &Who,
    n: &NewUser,
    must_change_password: bool,
) -> AppResult<UserRow> {
    let (email, name, role) = validate(n)?;
    let hash = app.hasher.hash(&n.password).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = org_in_tx(&mut tx, n.org_code.trim()).await?;
    let row = insert_user(
        &mut tx,
        by,
        now,
        &org.code,
        (email, name, role),
        hash,
        must_change_password,
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(row)
}

/// Writes a validated new account and its audit entry in the caller's transaction (the
/// caller has authorised `who`). An e-mail already in use is a field error.
async fn insert_user(
    tx: &mut Tx,
    who: &Who,
    now: chrono::DateTime<chrono::Utc>,
    org_code: &str,
    (email, name, role): (Email, String, Role),
    password_hash: String,
    must_change_password: bool,
) -> AppResult<UserRow> {
    let row = UserRow::new(
        org_code,
        email.as_str(),
        name,
        role,
        password_hash,
        must_change_password,
        now,
    );
    match users::insert(tx, &row).await {
        Err(StoreError::Unique(_)) => return Err(AppError::invalid("email", Msg::EmailTaken)),
        other => other?,
    }
    record(
        tx,
        who,
        now,
        "user.create",
        "user",
        &row.id,
        None::<&()>,
        Some(&row),
    )
    .await?;
    Ok(row)
}

/// Loads a user the actor may manage (or the actor themself).
async fn managed(tx: &mut Tx, actor: &Actor, id: &str) -> AppResult<(UserRow, OrgRow)> {
    let user = users::get(tx, id).await?.ok_or(AppError::NotFound)?;
    let org = orgs::get(tx, &user.org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.id != actor.user_id && !actor.principal.may(Action::ManageUsers, &org.path) {
        // Outside the caller's scope the account does not exist, as far as they can tell.
        return Err(if actor.principal.covers(&org.path) {
            AppError::Forbidden
        } else {
            AppError::NotFound
        });
    }
    Ok((user, org))
}

/// An account the actor administers (may manage the users of its organisation): the account
/// and its organisation, `Forbidden` otherwise (`NotFound` outside the actor's scope).
async fn administered(tx: &mut Tx, actor: &Actor, id: &str) -> AppResult<(UserRow, OrgRow)> {
    let (user, org) = managed(tx, actor, id).await?;
    if !actor.principal.may(Action::ManageUsers, &org.path) {
        return Err(AppError::Forbidden);
    }
    Ok((user, org))
}

/// Reads one account (personal data: the read is audited).
pub async fn get(app: &App, actor: &Actor, id: &str) -> AppResult<UserRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (user, _) = managed(&mut tx, actor, id).await?;
    if user.id != actor.user_id {
        record(
            &mut tx,
            &actor.into(),
            now,
            "user.read",
            "user",
            &user.id,
            None::<&()>,
            None::<&()>,
        )
        .await?;
    }
    tx.commit().await?;
    app.changed().await;
    Ok(user)
}

/// Lists accounts of one organisation, or of the caller's own (admins; nation admins anywhere).
pub async fn list(
    app: &App,
    actor: &Actor,
    org_code: Option<&str>,
    page: Page,
) -> AppResult<(Vec<UserRow>, i64)> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let code = org_code.unwrap_or(actor.org_code()).to_owned();
    let org = orgs::get(&mut tx, &code).await?.ok_or(AppError::NotFound)?;
    if !actor.principal.may(Action::ManageUsers, &org.path) {
        return Err(if actor.principal.covers(&org.path) {
            AppError::Forbidden
        } else {
            AppError::NotFound
        });
    }
    let out = users::list(&mut tx, &org.path, Some(&org.code), page).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "user.list",
        "org",
        &org.code,
        None::<&()>,
        Some(&serde_json::json!({"count": out.0.len()})),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(out)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    pub name: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

/// Changes name, role or enabled state, if `version` is still current.
pub async fn update(
    app: &App,
    actor: &Actor,
    id: &str,
    version: i64,
    c: &UserChange,
) -> AppResult<UserRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (user, org) = administered(&mut tx, actor, id).await?;
    if user.version != version {
        return Err(AppError::Conflict);
    }
    let mut inv = Invalid::default();
    let mut next = user.clone();
    if let Some(n) = &c.name {
        match person_name(n) {
            Ok(n) => next.name = n,
            Err(m) => inv.push("name", m),
        }
    }
    if let Some(r) = &c.role {
        match Role::parse(r) {
            Ok(r) => next.role = r,
            Err(m) => inv.push("role", m),
        }
    }
    if let Some(d) = c.disabled {
        next.disabled = d;
    }
    inv.into_result()?;
    let stops_being_admin =
        user.role == Role::Admin && !user.disabled && (next.role != Role::Admin || next.disabled);
    if stops_being_admin && admin_count(&mut tx, &org.code).await? <= 1 {
        return Err(AppError::invalid("role", Msg::LastAdmin));
    }
    next.updated_at = now;
    let after = users::update(&mut tx, &next).await?;
    if after.disabled {
        sessions::delete_for_user(&mut tx, &after.id, None).await?;
    }
    record(
        &mut tx,
        &actor.into(),
        now,
        "user.update",
        "user",
        &user.id,
        Some(&user),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(after)
}

async fn admin_count(tx: &mut Tx, org: &str) -> AppResult<i64> {
    let (list, _) = users::list(tx, "/", Some(org), Page::all()).await?;
    Ok(list
        .iter()
        .filter(|u| u.role == Role::Admin && !u.disabled)
        .count() as i64)
}

/// Locks an account by hand (a suspected compromise, a leaver): its sessions end and no login
/// succeeds until an administrator unlocks it. Failed logins never lock an account (that would
/// let anyone who knows an address lock its owner out); they only slow it down.
pub async fn lock(app: &App, actor: &Actor, id: &str) -> AppResult<UserRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (user, _) = administered(&mut tx, actor, id).await?;
    if user.id == actor.user_id {
        return Err(AppError::invalid("locked", Msg::OwnLock));
    }
    if user.locked {
        return Err(AppError::State(Msg::AlreadyLocked));
    }
    let changed = UserRow {
        locked: true,
        updated_at: now,
        ..user.clone()
    };
    let after = reset(&mut tx, actor, now, "user.lock", &user, &changed).await?;
    tx.commit().await?;
    app.changed().await;
    Ok(after)
}

/// The actor of a command run on the host as a user (`vsys import … --as EMAIL`): the user's
/// own organisation and role. Whoever runs the command holds the database, so nobody logs in
/// and a pending password change does not stop it; a disabled or locked account does.
pub async fn actor_on_host(app: &App, email: &str) -> AppResult<Actor> {
    let mut tx = app.db.read().await?;
    let user = users::by_email(&mut tx, &email.trim().to_lowercase())
        .await?
        .ok_or(AppError::NotFound)?;
    if user.disabled || user.locked {
        return Err(AppError::Forbidden);
    }
    let org = orgs::get(&mut tx, &user.org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut actor = Actor::from_rows(&user, &org, None)?;
    actor.must_change_password = false;
    Ok(actor)
}

/// Lifts a lockout (and the account's login throttle).
pub async fn unlock(app: &App, actor: &Actor, id: &str) -> AppResult<UserRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (user, _) = administered(&mut tx, actor, id).await?;
    let after = users::update(
        &mut tx,
        &UserRow {
            locked: false,
            updated_at: now,
            ..user.clone()
        },
    )
    .await?;
    crate::auth::clear_throttle(&mut tx, &user.email).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "user.unlock",
        "user",
        &user.id,
        Some(&user),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(after)
}

/// An administrator's reset of an account (password, second factor): written, the account's
/// sessions ended, audited.
async fn reset(
    tx: &mut Tx,
    actor: &Actor,
    now: DateTime<Utc>,
    action: &str,
    user: &UserRow,
    changed: &UserRow,
) -> AppResult<UserRow> {
    let after = users::update(tx, changed).await?;
    sessions::delete_for_user(tx, &user.id, None).await?;
    record(
        tx,
        &actor.into(),
        now,
        action,
        "user",
        &user.id,
        Some(user),
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// Clears an account's two-factor authentication after a lost authenticator: its sessions end, and
/// at the next login the user sets it up again (administrators of the nation and prefectures
/// must). Done by an administrator above or beside the user, never by the user themself — a
/// stolen session must not be able to drop the second factor.
pub async fn reset_totp(app: &App, actor: &Actor, id: &str) -> AppResult<UserRow> {
    actor.require_password_changed()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (user, _) = administered(&mut tx, actor, id).await?;
    if user.id == actor.user_id {
        return Err(AppError::invalid("totp", Msg::OwnTotpReset));
    }
    if user.totp_secret.is_none() {
        return Err(AppError::invalid("totp", Msg::TotpNotSet));
    }
    let changed = UserRow {
        totp_secret: None,
        totp_last_step: None,
        updated_at: now,
        ..user.clone()
    };
    let after = reset(&mut tx, actor, now, "user.totp_reset", &user, &changed).await?;
    tx.commit().await?;
    app.changed().await;
    Ok(after)
}

/// Sets a temporary password that must be changed at next login.
pub async fn reset_password(
    app: &App,
    actor: &Actor,
    id: &str,
    temporary: &str,
) -> AppResult<UserRow> {
    actor.require_password_changed()?;
    let user = {
        let mut tx = app.db.read().await?;
        managed(&mut tx, actor, id).await?.0
    };
    vsys_domain::password::check(temporary, &user.email)
        .map_err(|m| AppError::invalid("password", m))?;
    let hash = app.hasher.hash(temporary).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (user, _) = administered(&mut tx, actor, id).await?;
    let changed = UserRow {
        password_hash: hash,
        must_change_password: true,
        updated_at: now,
        ..user.clone()
    };
    let after = reset(&mut tx, actor, now, "user.password_reset", &user, &changed).await?;
    tx.commit().await?;
    app.changed().await;
    Ok(after)
}
