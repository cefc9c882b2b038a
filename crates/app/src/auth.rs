//! Authentication: password hashing, login with throttling and lockout, sessions with idle and
//! absolute expiry, TOTP, password change.

use crate::App;
use crate::audit::{Who, record};
use crate::config::LoginPolicy;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::secrets::Sealer;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;
use vsys_domain::totp::TotpSecret;
use vsys_domain::validation::Email;
use vsys_domain::{Invalid, Msg, Role};
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

pub use vsys_domain::access::Stage;

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
    pub stage: Stage,
}

/// The throttle keys of one login attempt: the address (any account), the account from this
/// address, and the account (from anywhere). Each is a gate with its own threshold and delay.
struct Gates {
    gates: Vec<Gate>,
}

struct Gate {
    key: String,
    /// Failures before the key waits.
    after: i64,
    /// The wait after the n-th failure, if any.
    delay: fn(&LoginPolicy, i64) -> Option<i64>,
    /// Whether a success starts the key afresh (the account's keys do; the address's does not).
    cleared_by_success: bool,
}

/// An attempt that has not been settled yet counts against every gate as a possible failure,
/// in a row of its own (`inflight:` + key) so that concurrent attempts cannot all pass the
/// check before any of them has failed. A crashed process's attempts count for this long.
const INFLIGHT_STALE_SECS: i64 = 60;

fn inflight_key(key: &str) -> String {
    format!("inflight:{key}")
}

/// Every per-address counter of an account starts with this.
fn pair_prefix(email: &str) -> String {
    format!("pair:{email}|")
}

/// Doubling delay after `after` failures: `base`, 2·`base`, 4·`base` … up to `max`.
fn doubling(failures: i64, after: i64, base: i64, max: i64) -> Option<i64> {
    (failures >= after).then(|| {
        let exp = (failures - after).clamp(0, 30) as u32;
        base.saturating_mul(1i64 << exp).min(max)
    })
}

impl Gates {
    fn new(p: &LoginPolicy, email: &str, ip: Option<&str>) -> Gates {
        let mut gates = Vec::new();
        if let Some(ip) = ip {
            gates.push(Gate {
                key: format!("ip:{ip}"),
                after: p.ip_block_after,
                delay: |p, n| (n >= p.ip_block_after).then_some(p.ip_block_secs),
                cleared_by_success: false,
            });
            gates.push(Gate {
                key: format!("{}{ip}", pair_prefix(email)),
                after: p.pair_throttle_after,
                delay: |p, n| {
                    doubling(
                        n,
                        p.pair_throttle_after,
                        p.base_delay_secs,
                        p.max_delay_secs,
                    )
                },
                cleared_by_success: true,
            });
        }
        gates.push(Gate {
            key: format!("acct:{email}"),
            after: p.account_throttle_after,
            delay: |p, n| {
                doubling(
                    n,
                    p.account_throttle_after,
                    p.base_delay_secs,
                    p.account_max_delay_secs,
                )
            },
            cleared_by_success: true,
        });
        Gates { gates }
    }

    /// Every row a decision reads or writes, locked for the rest of the transaction.
    async fn lock(&self, tx: &mut Tx) -> AppResult<()> {
        let mut names: Vec<String> = Vec::new();
        for g in &self.gates {
            names.push(g.key.clone());
            names.push(inflight_key(&g.key));
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        tx.lock_names(&refs).await?;
        Ok(())
    }
}

/// What a gate's row says at `now`: failures that still count, and when it opens again.
fn standing(
    row: Option<&ThrottleRow>,
    now: DateTime<Utc>,
    window_secs: i64,
) -> (i64, Option<DateTime<Utc>>) {
    let Some(r) = row else {
        return (0, None);
    };
    let cutoff = now - Duration::seconds(window_secs);
    let quiet = r.window_start <= cutoff && r.blocked_until.is_none_or(|b| b <= cutoff);
    let failures = if quiet { 0 } else { r.failures };
    (failures, r.blocked_until.filter(|b| *b > now))
}

enum Admission {
    Admitted,
    /// As many attempts are being checked as the gate has room for: try again shortly.
    Busy,
}

/// Admits an attempt through every gate, in a transaction that holds the gates' locks: a
/// closed gate refuses it (429, whatever the password, whether or not the account exists);
/// a gate whose failures plus attempts being checked already reach its threshold makes it
/// wait; otherwise the attempt is counted as being checked.
async fn admit(app: &App, tx: &mut Tx, gates: &Gates, now: DateTime<Utc>) -> AppResult<Admission> {
    let p = &app.config.login;
    gates.lock(tx).await?;
    let mut rows = Vec::new();
    for g in &gates.gates {
        let row = throttle::get(tx, &g.key).await?;
        let (failures, blocked) = standing(row.as_ref(), now, p.window_secs);
        if let Some(until) = blocked {
            // Rounded up: waiting the announced seconds is always enough.
            let ms = (until - now).num_milliseconds();
            return Err(AppError::Throttled {
                retry_after_secs: ((ms + 999) / 1000).max(1),
            });
        }
        let fly = throttle::get(tx, &inflight_key(&g.key))
            .await?
            .filter(|r| r.window_start > now - Duration::seconds(INFLIGHT_STALE_SECS))
            .map(|r| r.failures.max(0))
            .unwrap_or(0);
        rows.push((failures, fly));
    }
    // Room for attempts being checked: what is left before the threshold, and once past it
    // one at a time (each failure closes the gate again).
    if gates
        .gates
        .iter()
        .zip(&rows)
        .any(|(g, (failures, fly))| *fly >= (g.after - failures).max(1))
    {
        return Ok(Admission::Busy);
    }
    for (g, (_, fly)) in gates.gates.iter().zip(&rows) {
        throttle::put(
            tx,
            &ThrottleRow {
                key: inflight_key(&g.key),
                failures: fly + 1,
                window_start: now,
                blocked_until: None,
            },
        )
        .await?;
    }
    Ok(Admission::Admitted)
}

/// Admits a password attempt in short transactions of its own, waiting (a few seconds at most)
/// while the attempts already being checked fill the gates. Committed before any password hash
/// is computed: on SQLite the write lock is never held during argon2.
async fn admit_password(app: &App, gates: &Gates) -> AppResult<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = app.clock.now();
        let mut tx = app.db.begin().await?;
        match admit(app, &mut tx, gates, now).await? {
            Admission::Admitted => {
                tx.commit().await?;
                return Ok(());
            }
            Admission::Busy => drop(tx),
        }
        if std::time::Instant::now() >= deadline {
            return Err(AppError::Throttled {
                retry_after_secs: 1,
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Settles an attempt (in the caller's transaction): it is no longer being checked; a success
/// starts the account's gates afresh, a failure counts on every gate and closes those that
/// reached their threshold.
async fn settle(
    app: &App,
    tx: &mut Tx,
    gates: &Gates,
    now: DateTime<Utc>,
    admitted: bool,
    success: bool,
) -> AppResult<()> {
    let p = &app.config.login;
    gates.lock(tx).await?;
    for g in &gates.gates {
        if admitted && let Some(mut fly) = throttle::get(tx, &inflight_key(&g.key)).await? {
            fly.failures = (fly.failures - 1).max(0);
            throttle::put(tx, &fly).await?;
        }
        if success {
            if g.cleared_by_success {
                throttle::clear(tx, &g.key).await?;
            }
            continue;
        }
        let row = throttle::get(tx, &g.key).await?;
        let (failures, _) = standing(row.as_ref(), now, p.window_secs);
        let failures = failures + 1;
        let blocked_until = (g.delay)(p, failures)
            .map(|secs| now + Duration::seconds(secs))
            .or(row.and_then(|r| r.blocked_until).filter(|_| failures > 1));
        throttle::put(
            tx,
            &ThrottleRow {
                key: g.key.clone(),
                failures,
                window_start: now,
                blocked_until,
            },
        )
        .await?;
    }
    Ok(())
}

/// Clears an account's login counters (after an administrator's unlock).
pub(crate) async fn clear_throttle(tx: &mut Tx, email: &str) -> AppResult<()> {
    throttle::clear(tx, &format!("acct:{email}")).await?;
    throttle::clear_prefix(tx, &pair_prefix(email)).await?;
    Ok(())
}

/// Audits a failed step (the counters already hold it). The reason stays in the audit log: the
/// caller is told only [`AppError::LoginFailed`] or [`AppError::TotpInvalid`].
async fn audit_failure(
    tx: &mut Tx,
    user: Option<&UserRow>,
    email: &str,
    ip: Option<&str>,
    now: DateTime<Utc>,
    action: &str,
    reason: &str,
) -> AppResult<()> {
    let who = Who {
        user_id: user.map(|u| u.id.clone()),
        org_code: user.map(|u| u.org_code.clone()),
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
        Some(&serde_json::json!({ "reason": reason })),
    )
    .await?;
    Ok(())
}

/// Checks a TOTP code and uses up its time step (a code is good once). A wrong or reused code
/// counts as a failure on the gates and is audited; the caller commits either way.
#[allow(clippy::too_many_arguments)]
async fn claim_code(
    app: &App,
    tx: &mut Tx,
    gates: &Gates,
    user: &UserRow,
    secret: &TotpSecret,
    code: &str,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let claimed = match secret.verify(code, now.timestamp(), user.totp_last_step) {
        Some(step) => users::claim_totp_step(tx, &user.id, step).await?,
        None => false,
    };
    if !claimed {
        settle(app, tx, gates, now, true, false).await?;
        audit_failure(
            tx,
            Some(user),
            &user.email,
            ip,
            now,
            "auth.totp_failed",
            "code",
        )
        .await?;
    }
    Ok(claimed)
}

/// The account's TOTP secret, opened with the configured key.
pub fn totp_secret_of(app: &App, user: &UserRow) -> AppResult<Option<TotpSecret>> {
    let Some(stored) = user.totp_secret.as_deref() else {
        return Ok(None);
    };
    let b32 = app
        .sealer
        .open(stored)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("TOTP secret of {}: {e}", user.id)))?;
    TotpSecret::from_base32(&b32)
        .map(Some)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("TOTP secret of {} unreadable", user.id)))
}

/// The current TOTP code of an account (the host's `vsys user totp-code`, for demos and tests on
/// one's own database).
pub async fn totp_code_on_host(app: &App, email: &str) -> AppResult<Option<String>> {
    let mut tx = app.db.read().await?;
    let user = users::by_email(&mut tx, &email.trim().to_lowercase())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(totp_secret_of(app, &user)?.map(|s| s.code_at(app.clock.now().timestamp())))
}

/// A secret as the database keeps it (sealed).
pub fn seal_totp(app: &App, secret: &TotpSecret) -> String {
    app.sealer.seal(&secret.to_base32())
}

/// Seals secrets an older version stored in plaintext, and checks that the configured key opens
/// the sealed ones (a wrong key would lock every administrator out: refuse to start instead).
pub async fn seal_stored_secrets(app: &App) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    let stored = users::totp_secrets(&mut tx).await?;
    let mut sealed_now = 0;
    let mut checked = false;
    for (id, value) in &stored {
        if Sealer::is_sealed(value) {
            if !checked {
                app.sealer.open(value).map_err(|e| {
                    AppError::Internal(anyhow::anyhow!(
                        "{e}: the TOTP secrets in this database were sealed with another key"
                    ))
                })?;
                checked = true;
            }
        } else if users::reseal_totp(&mut tx, id, value, &app.sealer.seal(value)).await? {
            sealed_now += 1;
        }
    }
    tx.commit().await?;
    if sealed_now > 0 {
        tracing::info!(
            count = sealed_now,
            "sealed TOTP secrets stored in plaintext"
        );
    }
    Ok(())
}

/// Logs in. Every attempt is first counted against the account, the account from this address
/// and the address (see [`reserve_attempt`]); the password is checked outside any transaction;
/// then the attempt is settled. Unknown, locked and disabled accounts and wrong passwords get
/// one and the same answer, after a full hash.
pub async fn login(app: &App, req: LoginRequest<'_>) -> AppResult<NewSession> {
    let now = app.clock.now();
    let email = Email::parse(req.email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| req.email.trim().to_lowercase());
    let ip = req.ip.as_deref();
    let gates = Gates::new(&app.config.login, &email, ip);
    admit_password(app, &gates).await?;
    let user = {
        let mut tx = app.db.read().await?;
        users::by_email(&mut tx, &email).await?
    };
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => app.hasher.dummy().await?.to_owned(),
    };
    let password_ok = app.hasher.verify(req.password, &hash).await? && user.is_some();
    let mut tx = app.db.begin().await?;
    let refusal = match &user {
        None => Some("unknown"),
        Some(_) if !password_ok => Some("password"),
        Some(u) if u.locked => Some("locked"),
        Some(u) if u.disabled => Some("disabled"),
        Some(_) => None,
    };
    let (Some(user), None) = (user.as_ref(), refusal) else {
        let reason = refusal.unwrap_or("unknown");
        settle(app, &mut tx, &gates, now, true, false).await?;
        audit_failure(
            &mut tx,
            user.as_ref(),
            &email,
            ip,
            now,
            "auth.login_failed",
            reason,
        )
        .await?;
        tx.commit().await?;
        return Err(AppError::LoginFailed);
    };
    let org = orgs::get(&mut tx, &user.org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    let needs_setup =
        user.totp_secret.is_none() && user.role == Role::Admin && org.kind.admins_need_totp();
    let secret = totp_secret_of(app, user)?;
    let stage = match (&secret, req.totp) {
        (Some(secret), Some(code)) => {
            if !claim_code(app, &mut tx, &gates, user, secret, code, ip, now).await? {
                tx.commit().await?;
                return Err(AppError::TotpInvalid);
            }
            Stage::Active
        }
        (Some(_), None) if req.kind == SessionKind::Api => {
            // The password was right, but the login is not complete: it counts as a failure.
            settle(app, &mut tx, &gates, now, true, false).await?;
            tx.commit().await?;
            return Err(AppError::TotpRequired);
        }
        (Some(_), None) => Stage::Totp,
        (None, _) if needs_setup && req.kind == SessionKind::Api => {
            settle(app, &mut tx, &gates, now, true, false).await?;
            tx.commit().await?;
            return Err(AppError::TotpSetupRequired);
        }
        (None, _) if needs_setup => Stage::TotpSetup,
        (None, _) => Stage::Active,
    };
    settle(app, &mut tx, &gates, now, true, true).await?;
    if stage == Stage::Active {
        users::record_login(&mut tx, &user.id, now).await?;
    }
    let session = create_session(&mut tx, app, user, req.kind, stage, req.ip.clone(), now).await?;
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
        Some(&serde_json::json!({"kind": req.kind.as_str(), "stage": stage.as_str()})),
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
    stage: Stage,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<NewSession> {
    let token = random_token();
    let row = SessionRow {
        id_hash: token_hash(&token),
        user_id: user.id.clone(),
        kind: kind.as_str().into(),
        stage: stage.as_str().into(),
        csrf_token: random_token(),
        ip,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::seconds(app.config.absolute_timeout_secs),
    };
    sessions::insert(tx, &row).await?;
    Ok(NewSession { token, row, stage })
}

/// The session behind a token, checked for kind, idle and absolute expiry.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: Actor,
    pub stage: Stage,
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
    let idle = Duration::seconds(app.config.idle_timeout_secs);
    // The counter first: a change committed after this read makes the entry stale.
    let version = app.signals.version(crate::signal::SESSIONS);
    let cached = app
        .sessions
        .get(&hash, version, now)
        .filter(|e| e.session.expires_at > now && e.session.last_seen_at + idle > now);
    let entry = match cached {
        Some(e) => e,
        None => {
            let e = load_session(app, &hash, idle, now, version).await?;
            app.sessions.put(hash.clone(), e.clone());
            e
        }
    };
    if entry.session.kind != kind.as_str() {
        return Err(AppError::NotLoggedIn);
    }
    // Record activity, but at most every few seconds per session: one write per page view
    // would serialise every reader on SQLite.
    let touch_every = Duration::seconds((app.config.idle_timeout_secs / 10).clamp(1, 30));
    if now - entry.session.last_seen_at >= touch_every {
        let mut w = app.db.begin().await?;
        sessions::touch(&mut w, &hash, now).await?;
        w.commit().await?;
        app.sessions.touched(&hash, now);
    }
    let mut actor = entry.actor;
    actor.ip = ip;
    actor.login_complete = entry.stage == Stage::Active;
    Ok(Authenticated {
        actor,
        stage: entry.stage,
        expires_at: entry.session.expires_at,
    })
}

/// Reads a session with its account and organisation, ending it if it expired.
async fn load_session(
    app: &App,
    hash: &str,
    idle: Duration,
    now: DateTime<Utc>,
    version: i64,
) -> AppResult<crate::session_cache::Entry> {
    let mut tx = app.db.read().await?;
    let Some(s) = sessions::get(&mut tx, hash).await? else {
        return Err(AppError::NotLoggedIn);
    };
    if s.expires_at <= now || s.last_seen_at + idle <= now {
        drop(tx);
        let mut w = app.db.begin().await?;
        sessions::delete(&mut w, hash).await?;
        w.commit().await?;
        app.sessions.forget(hash);
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
    let mut actor = Actor::from_rows(&user, &org, None)?;
    actor.session = Some(hash.to_owned());
    actor.csrf_token = s.csrf_token.clone();
    let stage = Stage::parse(&s.stage)
        .ok_or_else(|| anyhow::anyhow!("session in unknown stage {}", s.stage))?;
    Ok(crate::session_cache::Entry {
        session: s,
        actor,
        stage,
        version,
        loaded_at: now,
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
    app.sessions.forget(hash);
    app.changed().await;
    Ok(())
}

/// The session behind `actor`, read again inside `tx`: the stage a step may act in is the
/// stage the database says, not what the caller believed at the start of the request.
async fn session_in_stage(tx: &mut Tx, actor: &Actor, stage: Stage) -> AppResult<SessionRow> {
    let hash = actor.session.as_deref().ok_or(AppError::NotLoggedIn)?;
    let s = sessions::get(tx, hash)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    if Stage::parse(&s.stage) != Some(stage) {
        return Err(AppError::State(Msg::WrongLoginStep));
    }
    Ok(s)
}

/// Second login step: the TOTP code, for a session in stage [`Stage::Totp`] only. Counted and
/// throttled like a password.
pub async fn complete_totp(app: &App, actor: &Actor, code: &str) -> AppResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let session = session_in_stage(&mut tx, actor, Stage::Totp).await?;
    let user = users::get(&mut tx, &actor.user_id)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    let gates = Gates::new(&app.config.login, &user.email, actor.ip.as_deref());
    // TOTP is cheap to check: admitting, checking and settling share one transaction that
    // holds the gates' locks, so concurrent codes queue behind each other.
    match admit(app, &mut tx, &gates, now).await? {
        Admission::Admitted => {}
        Admission::Busy => {
            return Err(AppError::Throttled {
                retry_after_secs: 1,
            });
        }
    }
    let secret = totp_secret_of(app, &user)?.ok_or(AppError::TotpSetupRequired)?;
    let ip = actor.ip.as_deref();
    if !claim_code(app, &mut tx, &gates, &user, &secret, code, ip, now).await? {
        tx.commit().await?;
        return Err(AppError::TotpInvalid);
    }
    if !sessions::advance_stage(
        &mut tx,
        &session.id_hash,
        Stage::Totp.as_str(),
        Stage::Active.as_str(),
    )
    .await?
    {
        return Err(AppError::State(Msg::WrongLoginStep));
    }
    settle(app, &mut tx, &gates, now, true, true).await?;
    users::record_login(&mut tx, &user.id, now).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "auth.totp_ok",
        "session",
        &session.id_hash[..16],
        None::<&()>,
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(())
}

/// Enrols TOTP: the caller shows `secret` (base32) to the user, who proves it with a code.
/// Only for an account that has no secret (first enrolment, or after an administrator's reset),
/// from a browser session in stage [`Stage::TotpSetup`] or an API session; an enrolled secret
/// is never replaced this way.
pub async fn enable_totp(app: &App, actor: &Actor, secret_b32: &str, code: &str) -> AppResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let hash = actor.session.as_deref().ok_or(AppError::Forbidden)?;
    let session = sessions::get(&mut tx, hash)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    let stage = Stage::parse(&session.stage);
    let may_enrol = match session.kind.as_str() {
        "web" => stage == Some(Stage::TotpSetup),
        "api" => stage == Some(Stage::Active),
        _ => false,
    };
    if !may_enrol {
        return Err(AppError::State(Msg::WrongLoginStep));
    }
    let user = users::get(&mut tx, &actor.user_id)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    if user.totp_secret.is_some() {
        return Err(AppError::State(Msg::TotpAlreadySet));
    }
    let secret = TotpSecret::from_base32(secret_b32)
        .ok_or_else(|| AppError::invalid("secret", Msg::TotpInvalid))?;
    let step = secret
        .verify(code, now.timestamp(), None)
        .ok_or_else(|| AppError::invalid("code", Msg::TotpInvalid))?;
    if !users::enrol_totp(&mut tx, &user.id, &seal_totp(app, &secret), step, now).await? {
        return Err(AppError::State(Msg::TotpAlreadySet));
    }
    if stage == Some(Stage::TotpSetup) {
        sessions::advance_stage(
            &mut tx,
            hash,
            Stage::TotpSetup.as_str(),
            Stage::Active.as_str(),
        )
        .await?;
        users::record_login(&mut tx, &user.id, now).await?;
    }
    let after = users::get(&mut tx, &user.id)
        .await?
        .ok_or(AppError::NotFound)?;
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
    app.changed().await;
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
    app.changed().await;
    Ok(())
}
