//! Authentication: password hashing, login with throttling and lockout, sessions with idle and
//! absolute expiry, TOTP, password change.

use crate::App;
use crate::audit::{Who, record};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;
use vsys_domain::totp::TotpSecret;
use vsys_domain::validation::Email;
use vsys_domain::{Invalid, Msg, OrgKind, Role};
use vsys_store::sessions::SessionRow;
use vsys_store::throttle::ThrottleRow;
use vsys_store::users::UserRow;
use vsys_store::{Tx, orgs, sessions, throttle, users};

/// argon2id with m = 19 MiB, t = 2, p = 1 (OWASP's first recommendation).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords on the blocking pool, at most `n` at a time, so that a storm
/// of logins queues instead of starving the server of memory and cores.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(n: usize) -> Self {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(n.max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let pw = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2()
                .hash_password(pw.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing: {e}")))
    }

    pub async fn verify(&self, password: &str, hash: &str) -> AppResult<bool> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let (pw, hash) = (password.to_owned(), hash.to_owned());
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|h| argon2().verify_password(pw.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))
    }

    /// A hash to verify against when the e-mail is unknown, so both cases take the same time.
    async fn dummy(&self) -> AppResult<&'static str> {
        static DUMMY: OnceLock<String> = OnceLock::new();
        if let Some(h) = DUMMY.get() {
            return Ok(h);
        }
        let h = self.hash(&random_token()).await?;
        Ok(DUMMY.get_or_init(|| h))
    }
}

/// 32 random bytes, URL-safe base64: session tokens, CSRF tokens.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    data_encoding::BASE64URL_NOPAD.encode(&b)
}

/// What the database keeps of a token: its SHA-256.
pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

pub fn new_totp_secret() -> TotpSecret {
    let mut b = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut b);
    TotpSecret::from_bytes(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser session (cookie, CSRF token).
    Web,
    /// An API bearer token.
    Api,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }
}

pub const STAGE_ACTIVE: &str = "active";
pub const STAGE_TOTP: &str = "totp";
pub const STAGE_TOTP_SETUP: &str = "totp_setup";

pub struct LoginRequest<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub totp: Option<&'a str>,
    pub ip: Option<String>,
    pub kind: SessionKind,
}

/// A session just created: the secret token (shown once) and its row.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub row: SessionRow,
}

fn acct_key(email: &str) -> String {
    format!("acct:{email}")
}
fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

fn blocked_for(r: &Option<ThrottleRow>, now: DateTime<Utc>) -> Option<i64> {
    r.as_ref()
        .and_then(|r| r.blocked_until)
        .filter(|t| *t > now)
        .map(|t| (t - now).num_seconds().max(1))
}

/// Logs in. Throttling: after `account_throttle_after` failures an account waits an
/// exponentially growing delay; after `account_lock_after` it is locked until an admin lifts
/// it; an address with `ip_block_after` failures inside the window is blocked for a while.
pub async fn login(app: &App, req: LoginRequest<'_>) -> AppResult<NewSession> {
    let now = app.clock.now();
    let email = Email::parse(req.email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| req.email.trim().to_lowercase());
    let (user, acct, ip_row) = {
        let mut tx = app.db.read().await?;
        let user = users::by_email(&mut tx, &email).await?;
        let acct = throttle::get(&mut tx, &acct_key(&email)).await?;
        let ip_row = match &req.ip {
            Some(ip) => throttle::get(&mut tx, &ip_key(ip)).await?,
            None => None,
        };
        (user, acct, ip_row)
    };
    if let Some(secs) = blocked_for(&ip_row, now).or_else(|| blocked_for(&acct, now)) {
        return Err(AppError::Throttled {
            retry_after_secs: secs,
        });
    }
    if user.as_ref().is_some_and(|u| u.locked) {
        return Err(AppError::Locked);
    }
    let ok = match &user {
        Some(u) => app.hasher.verify(req.password, &u.password_hash).await?,
        None => {
            let _ = app
                .hasher
                .verify(req.password, app.hasher.dummy().await?)
                .await?;
            false
        }
    };
    let mut tx = app.db.begin().await?;
    let Some(user) = user.filter(|_| ok) else {
        let locked = record_failure(
            app,
            &mut tx,
            &email,
            req.ip.as_deref(),
            now,
            "auth.login_failed",
        )
        .await?;
        tx.commit().await?;
        return Err(if locked {
            AppError::Locked
        } else {
            AppError::LoginFailed
        });
    };
    if user.disabled {
        return Err(AppError::Invalid(Invalid::one(
            "email",
            Msg::AccountDisabled,
        )));
    }
    let org = orgs::get(&mut tx, &user.org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = OrgKind::parse(&org.kind).unwrap_or(OrgKind::Institution);
    let needs_setup =
        user.totp_secret.is_none() && user.role == Role::Admin.as_str() && kind.admins_need_totp();
    let mut user = user;
    let stage = match (&user.totp_secret, req.totp) {
        (Some(secret), Some(code)) => {
            let secret = TotpSecret::from_base32(secret)
                .ok_or_else(|| anyhow::anyhow!("stored TOTP secret unreadable"))?;
            match secret.verify(code, now.timestamp(), user.totp_last_step) {
                Some(step) => {
                    user.totp_last_step = Some(step);
                    STAGE_ACTIVE
                }
                None => {
                    let locked = record_failure(
                        app,
                        &mut tx,
                        &email,
                        req.ip.as_deref(),
                        now,
                        "auth.totp_failed",
                    )
                    .await?;
                    tx.commit().await?;
                    return Err(if locked {
                        AppError::Locked
                    } else {
                        AppError::TotpInvalid
                    });
                }
            }
        }
        (Some(_), None) if req.kind == SessionKind::Api => return Err(AppError::TotpRequired),
        (Some(_), None) => STAGE_TOTP,
        (None, _) if needs_setup && req.kind == SessionKind::Api => {
            return Err(AppError::TotpSetupRequired);
        }
        (None, _) if needs_setup => STAGE_TOTP_SETUP,
        (None, _) => STAGE_ACTIVE,
    };
    throttle::clear(&mut tx, &acct_key(&email)).await?;
    if stage == STAGE_ACTIVE {
        user.last_login_at = Some(now);
        user.updated_at = now;
        user = users::update(&mut tx, &user).await?;
    }
    let session = create_session(&mut tx, app, &user, req.kind, stage, req.ip.clone(), now).await?;
    let who = Who {
        user_id: Some(user.id.clone()),
        org_code: Some(user.org_code.clone()),
        ip: req.ip.clone(),
    };
    record(
        &mut tx,
        &who,
        now,
        "auth.login",
        "session",
        &session.row.id_hash[..16],
        None::<&()>,
        Some(&serde_json::json!({"kind": req.kind.as_str(), "stage": stage})),
    )
    .await?;
    tx.commit().await?;
    Ok(session)
}

async fn create_session(
    tx: &mut Tx,
    app: &App,
    user: &UserRow,
    kind: SessionKind,
    stage: &str,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<NewSession> {
    let token = random_token();
    let row = SessionRow {
        id_hash: token_hash(&token),
        user_id: user.id.clone(),
        kind: kind.as_str().into(),
        stage: stage.into(),
        csrf_token: random_token(),
        ip,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::seconds(app.config.absolute_timeout_secs),
    };
    sessions::insert(tx, &row).await?;
    Ok(NewSession { token, row })
}

/// Counts a failure against the account and the address; returns whether the account is now
/// locked.
async fn record_failure(
    app: &App,
    tx: &mut Tx,
    email: &str,
    ip: Option<&str>,
    now: DateTime<Utc>,
    action: &str,
) -> AppResult<bool> {
    let p = &app.config.login;
    let window = Duration::seconds(p.window_secs);
    let bump = |row: Option<ThrottleRow>, key: String| -> ThrottleRow {
        match row {
            Some(r) if r.window_start + window > now || r.blocked_until.is_some() => ThrottleRow {
                failures: r.failures + 1,
                ..r
            },
            _ => ThrottleRow {
                key,
                failures: 1,
                window_start: now,
                blocked_until: None,
            },
        }
    };
    let mut acct = bump(throttle::get(tx, &acct_key(email)).await?, acct_key(email));
    if acct.failures >= p.account_throttle_after {
        let exp = (acct.failures - p.account_throttle_after).min(20) as u32;
        let delay = (p.base_delay_secs.saturating_mul(1i64 << exp)).min(p.max_delay_secs);
        acct.blocked_until = Some(now + Duration::seconds(delay));
    }
    throttle::put(tx, &acct).await?;
    if let Some(ip) = ip {
        let mut r = bump(throttle::get(tx, &ip_key(ip)).await?, ip_key(ip));
        if r.failures >= p.ip_block_after {
            r.blocked_until = Some(now + Duration::seconds(p.ip_block_secs));
        }
        throttle::put(tx, &r).await?;
    }
    let user = users::by_email(tx, email).await?;
    let who = Who {
        user_id: user.as_ref().map(|u| u.id.clone()),
        org_code: user.as_ref().map(|u| u.org_code.clone()),
        ip: ip.map(str::to_owned),
    };
    record(
        tx,
        &who,
        now,
        action,
        "account",
        email,
        None::<&()>,
        Some(&serde_json::json!({"failures": acct.failures})),
    )
    .await?;
    let mut locked = false;
    if let Some(u) = user.filter(|u| !u.locked && acct.failures >= p.account_lock_after) {
        let after = users::update(
            tx,
            &UserRow {
                locked: true,
                updated_at: now,
                ..u.clone()
            },
        )
        .await?;
        record(
            tx,
            &who,
            now,
            "user.lock",
            "user",
            &u.id,
            Some(&u),
            Some(&after),
        )
        .await?;
        locked = true;
    }
    Ok(locked)
}

/// The session behind a token, checked for kind, idle and absolute expiry.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: Actor,
    pub stage: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn authenticate(
    app: &App,
    token: &str,
    kind: SessionKind,
    ip: Option<String>,
) -> AppResult<Authenticated> {
    let now = app.clock.now();
    let hash = token_hash(token);
    let mut tx = app.db.read().await?;
    let Some(s) = sessions::get(&mut tx, &hash).await? else {
        return Err(AppError::NotLoggedIn);
    };
    if s.kind != kind.as_str() {
        return Err(AppError::NotLoggedIn);
    }
    let idle = Duration::seconds(app.config.idle_timeout_secs);
    if s.expires_at <= now || s.last_seen_at + idle <= now {
        drop(tx);
        let mut w = app.db.begin().await?;
        sessions::delete(&mut w, &hash).await?;
        w.commit().await?;
        return Err(AppError::SessionExpired);
    }
    let user = users::get(&mut tx, &s.user_id)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    if user.disabled || user.locked {
        return Err(AppError::NotLoggedIn);
    }
    let org = orgs::get(&mut tx, &user.org_code)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    drop(tx);
    // Record activity, but at most every few seconds per session: one write per page view
    // would serialise every reader on SQLite.
    let touch_every = Duration::seconds((app.config.idle_timeout_secs / 10).clamp(1, 30));
    if now - s.last_seen_at >= touch_every {
        let mut w = app.db.begin().await?;
        sessions::touch(&mut w, &hash, now).await?;
        w.commit().await?;
    }
    let mut actor = Actor::from_rows(&user, &org, ip)?;
    actor.session = Some(hash);
    actor.csrf_token = s.csrf_token.clone();
    Ok(Authenticated {
        actor,
        stage: s.stage,
        expires_at: s.expires_at,
    })
}

pub async fn logout(app: &App, actor: &Actor) -> AppResult<()> {
    let Some(hash) = &actor.session else {
        return Ok(());
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    sessions::delete(&mut tx, hash).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "auth.logout",
        "session",
        &hash[..16],
        None::<&()>,
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Second login step: the TOTP code for a session in stage `totp`.
pub async fn complete_totp(app: &App, actor: &Actor, code: &str) -> AppResult<()> {
    let now = app.clock.now();
    let hash = actor.session.clone().ok_or(AppError::NotLoggedIn)?;
    let mut tx = app.db.begin().await?;
    let user = users::get(&mut tx, &actor.user_id)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    let secret = user
        .totp_secret
        .as_deref()
        .and_then(TotpSecret::from_base32)
        .ok_or(AppError::TotpSetupRequired)?;
    match secret.verify(code, now.timestamp(), user.totp_last_step) {
        Some(step) => {
            users::update(
                &mut tx,
                &UserRow {
                    totp_last_step: Some(step),
                    last_login_at: Some(now),
                    updated_at: now,
                    ..user
                },
            )
            .await?;
            sessions::set_stage(&mut tx, &hash, STAGE_ACTIVE).await?;
            record(
                &mut tx,
                &actor.into(),
                now,
                "auth.totp_ok",
                "session",
                &hash[..16],
                None::<&()>,
                None::<&()>,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        None => {
            let locked = record_failure(
                app,
                &mut tx,
                &user.email,
                actor.ip.as_deref(),
                now,
                "auth.totp_failed",
            )
            .await?;
            if locked {
                sessions::delete(&mut tx, &hash).await?;
            }
            tx.commit().await?;
            Err(if locked {
                AppError::Locked
            } else {
                AppError::TotpInvalid
            })
        }
    }
}

/// Enrols TOTP: the caller shows `secret` (base32) to the user, who proves it with a code.
pub async fn enable_totp(app: &App, actor: &Actor, secret_b32: &str, code: &str) -> AppResult<()> {
    let now = app.clock.now();
    let secret = TotpSecret::from_base32(secret_b32)
        .ok_or_else(|| AppError::invalid("code", Msg::TotpInvalid))?;
    let step = secret
        .verify(code, now.timestamp(), None)
        .ok_or_else(|| AppError::invalid("code", Msg::TotpInvalid))?;
    let mut tx = app.db.begin().await?;
    let user = users::get(&mut tx, &actor.user_id)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    let after = users::update(
        &mut tx,
        &UserRow {
            totp_secret: Some(secret.to_base32()),
            totp_last_step: Some(step),
            updated_at: now,
            ..user.clone()
        },
    )
    .await?;
    if let Some(hash) = &actor.session {
        sessions::set_stage(&mut tx, hash, STAGE_ACTIVE).await?;
    }
    record(
        &mut tx,
        &actor.into(),
        now,
        "user.totp_enable",
        "user",
        &user.id,
        Some(&user),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes one's own password; other sessions of the user end.
pub async fn change_password(app: &App, actor: &Actor, current: &str, new: &str) -> AppResult<()> {
    let now = app.clock.now();
    let user = {
        let mut tx = app.db.read().await?;
        users::get(&mut tx, &actor.user_id)
            .await?
            .ok_or(AppError::NotLoggedIn)?
    };
    let mut invalid = Invalid::default();
    if !app.hasher.verify(current, &user.password_hash).await? {
        invalid.push("current_password", Msg::CurrentPasswordWrong);
    }
    if let Err(m) = vsys_domain::password::check(new, &user.email) {
        invalid.push("new_password", m);
    } else if new == current {
        invalid.push("new_password", Msg::PasswordUnchanged);
    }
    invalid.into_result()?;
    let hash = app.hasher.hash(new).await?;
    let mut tx = app.db.begin().await?;
    let after = users::update(
        &mut tx,
        &UserRow {
            password_hash: hash,
            must_change_password: false,
            updated_at: now,
            ..user.clone()
        },
    )
    .await?;
    sessions::delete_for_user(&mut tx, &user.id, actor.session.as_deref()).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "user.password_change",
        "user",
        &user.id,
        Some(&user),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
