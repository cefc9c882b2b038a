//! Runtime configuration. The binary fills it from flags, environment and an optional TOML
//! file; nothing here is ever logged with its secrets.

use serde::Deserialize;
use std::net::IpAddr;

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    /// A second address that serves the public site alone (the finder, open data, static
    /// files, `/healthz`; everything else is 404 there) (`VSYS_PUBLIC_LISTEN`,
    /// `serve --public-listen`). Unset: the public site is served on `listen` only (it always
    /// is there too).
    pub public_listen: Option<String>,
    pub database_url: String,
    /// Mark the session cookie `Secure` and name it `__Host-vsys_session`. Turn off only for
    /// plain-http local use.
    pub cookie_secure: bool,
    pub idle_timeout_secs: i64,
    pub absolute_timeout_secs: i64,
    /// Proxies whose `X-Forwarded-For` is believed (exact addresses).
    pub trusted_proxies: Vec<IpAddr>,
    /// Concurrent password hashes at most (each takes 19 MiB and ~50 ms of a core).
    pub hash_concurrency: usize,
    pub login: LoginPolicy,
    pub smtp: Option<SmtpConfig>,
    /// Where mail goes when no SMTP server is configured (one `.eml` file per mail).
    pub mail_dir: String,
    pub mail_from: String,
    /// Public base URL used in links inside e-mails (`VSYS_BASE_URL`). Unset: derived from
    /// `listen` ([`Config::base_url`]); behind a proxy set it, since the derived address is
    /// the server's own, not the one people open.
    pub base_url: Option<String>,
    pub mail_workers: usize,
    /// The key that seals TOTP secrets at rest: 32 bytes as 64 hex digits or base64
    /// (`VSYS_SECRET_KEY`). Every process of one deployment needs the same key. When unset, the
    /// binary reads or creates `secret_key_file`.
    pub secret_key: Option<String>,
    /// Where the binary keeps a generated key when `secret_key` is not set.
    pub secret_key_file: String,
    /// Sent mail is deleted after this many days (unsent mail is kept).
    pub sent_mail_retention_days: i64,
    /// Bearer token that `/metrics` requires (`VSYS_METRICS_TOKEN`); unset: `/metrics` is not
    /// served.
    pub metrics_token: Option<String>,
    /// Connections in the database pool.
    pub db_max_connections: u32,
    /// How long a request waits for a free database connection before it is answered 503.
    pub db_acquire_timeout_ms: u64,
    /// How long one database call may run (PostgreSQL `statement_timeout`; on SQLite a budget
    /// per transaction). Bulk work (demo, imports, migrations, audit verification) is exempt.
    pub db_statement_timeout_ms: u64,
    pub overload: OverloadPolicy,
    /// After SIGTERM or SIGINT, how long `serve` lets requests in flight finish (and a mail
    /// being sent complete) before it exits anyway (`VSYS_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// How log lines are written to standard error: `text` (for people) or `json` (one object
    /// per line, for a log collector) (`VSYS_LOG_FORMAT`, `--log-format`).
    pub log_format: String,
    /// The public site (コロナワクチンナビ) and open data.
    pub public: PublicPolicy,
}

/// The public site's settings (`[public]` in the configuration file).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicPolicy {
    /// A reservation status set longer ago than this is shown as possibly out of date
    /// (`VSYS_PUBLIC_STALE_AFTER_HOURS`).
    pub stale_after_hours: i64,
    /// Requests one client (address; behind `trusted_proxies`, the forwarded one) may make to
    /// the public site and open data at once before it is refused with 429 (a token bucket per
    /// process: this many at once, refilled at `rate_per_second`) (`VSYS_PUBLIC_RATE_BURST`).
    pub rate_burst: u32,
    /// Requests a second one client may make in the long run (`VSYS_PUBLIC_RATE_PER_SECOND`);
    /// 0 turns the limit off.
    pub rate_per_second: u32,
    /// `Cache-Control: public, max-age=` of the public answers, seconds
    /// (`VSYS_PUBLIC_MAX_AGE_SECS`).
    pub max_age_secs: u32,
}

impl Default for PublicPolicy {
    fn default() -> Self {
        PublicPolicy {
            stale_after_hours: 72,
            rate_burst: 120,
            rate_per_second: 20,
            max_age_secs: 60,
        }
    }
}

/// How the server sheds load it cannot serve in time: rather than letting every request slow
/// down until all time out, it admits a bounded number at once, queues a bounded number for a
/// short while, and answers the rest at once — 503 (or 429 to one client holding too many) with
/// `Retry-After`. `/healthz`, `/readyz` and `/metrics` are never shed.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OverloadPolicy {
    /// Requests being served at once, at most.
    pub max_in_flight: usize,
    /// Requests waiting for a place, at most; beyond, 503 at once.
    pub max_queued: usize,
    /// How long a request waits for a place before it is answered 503.
    pub queue_wait_ms: u64,
    /// Requests of one client (address) served or waiting at once, at most; beyond, 429.
    pub per_client: usize,
    /// A request still running after this long is answered 503 (its work is abandoned, its
    /// transaction rolled back).
    pub request_timeout_secs: u64,
    /// Seconds announced in `Retry-After` when a request is shed (a busy database announces
    /// the default, [`crate::error::BUSY_RETRY_AFTER_SECS`]).
    pub retry_after_secs: u64,
}

impl Default for OverloadPolicy {
    fn default() -> Self {
        OverloadPolicy {
            max_in_flight: 128,
            max_queued: 512,
            queue_wait_ms: 2000,
            per_client: 64,
            request_timeout_secs: 60,
            retry_after_secs: crate::error::BUSY_RETRY_AFTER_SECS.unsigned_abs(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_listen", &self.public_listen)
            .field("database_url", &vsys_store::db::redact(&self.database_url))
            .field("cookie_secure", &self.cookie_secure)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("absolute_timeout_secs", &self.absolute_timeout_secs)
            .field("trusted_proxies", &self.trusted_proxies)
            .field(
                "smtp",
                &self.smtp.as_ref().map(|s| format!("{}:{}", s.host, s.port)),
            )
            .field("mail_dir", &self.mail_dir)
            .field("base_url", &self.base_url)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("secret_key_file", &self.secret_key_file)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("db_max_connections", &self.db_max_connections)
            .field("db_acquire_timeout_ms", &self.db_acquire_timeout_ms)
            .field("db_statement_timeout_ms", &self.db_statement_timeout_ms)
            .field("overload", &self.overload)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("log_format", &self.log_format)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginPolicy {
    /// Failures of one account, from any address, before each further attempt waits
    /// `base_delay_secs`, doubling with every failure up to `account_max_delay_secs`.
    pub account_throttle_after: i64,
    /// The longest failures from anywhere can make an account wait: the ceiling of what an
    /// outsider who knows the address can impose on its owner.
    pub account_max_delay_secs: i64,
    /// Failures of one account from one address before that pair waits, doubling up to
    /// `max_delay_secs` (the one guessing is slowed far more than the account's owner).
    pub pair_throttle_after: i64,
    /// Failures from one address inside the window before the address is blocked.
    pub ip_block_after: i64,
    /// A key with no attempt for this long (and no block since) starts counting afresh.
    pub window_secs: i64,
    pub ip_block_secs: i64,
    pub base_delay_secs: i64,
    pub max_delay_secs: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            account_throttle_after: 5,
            account_max_delay_secs: 120,
            pair_throttle_after: 5,
            ip_block_after: 30,
            window_secs: 900,
            ip_block_secs: 900,
            base_delay_secs: 30,
            max_delay_secs: 3600,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// `none` (local relay), `starttls` or `tls`.
    #[serde(default = "default_tls")]
    pub tls: String,
    /// How long connecting to the server and each exchange with it may take.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
}

fn default_smtp_timeout() -> u64 {
    10
}

fn default_smtp_port() -> u16 {
    587
}
fn default_tls() -> String {
    "starttls".into()
}

impl Config {
    /// The database bounds this configuration asks for.
    /// The base of links inside e-mails: `base_url` when set (without a trailing `/`),
    /// otherwise `http://{listen}`, or `https://{listen}` when the session cookie is `Secure`
    /// (that is, unless the server runs with `--plain-http`).
    pub fn base_url(&self) -> String {
        match self
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let scheme = if self.cookie_secure { "https" } else { "http" };
                format!("{scheme}://{}", self.listen.trim())
            }
        }
    }

    /// Whether `base_url` is derived while requests come through a proxy: the derived address
    /// is then most likely not the one people open (the binary warns at start).
    pub fn base_url_guessed_behind_proxy(&self) -> bool {
        self.base_url.as_deref().is_none_or(|u| u.trim().is_empty())
            && !self.trusted_proxies.is_empty()
    }

    pub fn db_limits(&self) -> vsys_store::db::Limits {
        vsys_store::db::Limits {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: std::time::Duration::from_millis(self.db_acquire_timeout_ms.max(1)),
            statement_timeout: std::time::Duration::from_millis(
                self.db_statement_timeout_ms.max(1),
            ),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_listen: None,
            database_url: "sqlite:vsys.db".into(),
            cookie_secure: true,
            idle_timeout_secs: 30 * 60,
            absolute_timeout_secs: 12 * 3600,
            trusted_proxies: Vec::new(),
            hash_concurrency: 2,
            login: LoginPolicy::default(),
            smtp: None,
            mail_dir: "mail-out".into(),
            mail_from: "V-SYS <no-reply@vsys.example.jp>".into(),
            base_url: None,
            mail_workers: 1,
            secret_key: None,
            secret_key_file: "vsys-secret.key".into(),
            metrics_token: None,
            sent_mail_retention_days: 90,
            db_max_connections: 16,
            db_acquire_timeout_ms: 5000,
            db_statement_timeout_ms: 10_000,
            overload: OverloadPolicy::default(),
            shutdown_grace_secs: 30,
            log_format: "text".into(),
            public: PublicPolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn base_url_defaults_from_the_listen_address() {
        let mut c = Config {
            listen: "10.0.0.5:9000".into(),
            cookie_secure: false,
            ..Config::default()
        };
        assert_eq!(c.base_url(), "http://10.0.0.5:9000");
        c.cookie_secure = true;
        assert_eq!(c.base_url(), "https://10.0.0.5:9000");
        assert!(!c.base_url_guessed_behind_proxy());
        c.trusted_proxies = vec!["10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))];
        assert!(c.base_url_guessed_behind_proxy());
        c.base_url = Some("https://vsys.example.jp/".into());
        assert_eq!(c.base_url(), "https://vsys.example.jp");
        assert!(!c.base_url_guessed_behind_proxy());
        c.base_url = Some("  ".into());
        assert_eq!(c.base_url(), "https://10.0.0.5:9000");
    }
}
