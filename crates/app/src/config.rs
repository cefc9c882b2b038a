//! Runtime configuration. The binary fills it from flags, environment and an optional TOML
//! file; nothing here is ever logged with its secrets.

use serde::Deserialize;
use std::net::IpAddr;

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
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
    /// Public base URL used in links inside e-mails.
    pub base_url: String,
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
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
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
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("secret_key_file", &self.secret_key_file)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
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
}

fn default_smtp_port() -> u16 {
    587
}
fn default_tls() -> String {
    "starttls".into()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
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
            base_url: "http://127.0.0.1:8080".into(),
            mail_workers: 1,
            secret_key: None,
            secret_key_file: "vsys-secret.key".into(),
            metrics_token: None,
            sent_mail_retention_days: 90,
        }
    }
}
