//! Errors of the use-cases, each with the message a person reads.

use thiserror::Error;
use vsys_domain::{Invalid, Lang, Msg};
use vsys_store::StoreError;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("invalid input")]
    Invalid(Invalid),
    /// A query or path parameter out of its range (`page`, `per_page`, …): the request itself
    /// is malformed, whatever the data.
    #[error("bad parameter")]
    BadParameter(Invalid),
    #[error("not logged in")]
    NotLoggedIn,
    #[error("session expired")]
    SessionExpired,
    #[error("login failed")]
    LoginFailed,
    #[error("login throttled for {retry_after_secs}s")]
    Throttled { retry_after_secs: i64 },
    #[error("totp required")]
    TotpRequired,
    #[error("totp invalid")]
    TotpInvalid,
    #[error("totp setup required")]
    TotpSetupRequired,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The data changed since the caller read it (its version no longer matches).
    #[error("conflict")]
    Conflict,
    /// The action does not fit the current state (confirming what is confirmed, editing what is
    /// finalised …); the message says why.
    #[error("wrong state: {0:?}")]
    State(Msg),
    #[error("csrf rejected")]
    Csrf,
    /// The server cannot serve this now (too busy: no place among the requests it serves at
    /// once, no free database connection, a call past its time budget). Nothing was changed.
    #[error("busy")]
    Busy { retry_after_secs: i64 },
    /// This client has too many requests running at once.
    #[error("too many requests at once")]
    TooManyAtOnce { retry_after_secs: i64 },
    /// A file that could not be read or written as CSV (the message names the line or cell).
    #[error("csv: {0}")]
    Csv(crate::csv_files::TableError),
    #[error("internal: {0}")]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// The page of a list a caller asked for; out of range is [`AppError::BadParameter`].
pub fn page(page: Option<u64>, per_page: Option<u64>) -> AppResult<vsys_domain::validation::Page> {
    vsys_domain::validation::Page::parse(page, per_page).map_err(AppError::BadParameter)
}

/// As [`page`], with the screen's own page size.
pub fn page_of(
    page: Option<u64>,
    per_page: Option<u64>,
    default_per_page: u64,
) -> AppResult<vsys_domain::validation::Page> {
    vsys_domain::validation::Page::parse_with(page, per_page, default_per_page)
        .map_err(AppError::BadParameter)
}

impl AppError {
    pub fn msg(&self) -> Msg {
        match self {
            AppError::Invalid(_) | AppError::Csv(_) => Msg::InvalidInput,
            AppError::BadParameter(_) => Msg::BadParameter,
            AppError::State(m) => *m,
            AppError::NotLoggedIn => Msg::NotLoggedIn,
            AppError::SessionExpired => Msg::SessionExpired,
            AppError::LoginFailed => Msg::LoginFailed,
            AppError::Throttled { .. } => Msg::LoginThrottled,
            AppError::TotpRequired => Msg::TotpRequired,
            AppError::TotpInvalid => Msg::TotpInvalid,
            AppError::TotpSetupRequired => Msg::TotpSetupRequired,
            AppError::PasswordChangeRequired => Msg::PasswordChangeRequired,
            AppError::Forbidden => Msg::Forbidden,
            AppError::NotFound => Msg::NotFound,
            AppError::Conflict => Msg::Conflict,
            AppError::Csrf => Msg::CsrfRejected,
            AppError::Busy { .. } => Msg::Busy,
            AppError::TooManyAtOnce { .. } => Msg::TooManyAtOnce,
            AppError::Internal(_) => Msg::Internal,
        }
    }

    pub fn text(&self, lang: Lang) -> &'static str {
        self.msg().text(lang)
    }

    /// The full explanation for a person: row-level details for CSV problems, else the message.
    pub fn detail(&self, lang: Lang) -> Option<String> {
        match self {
            AppError::Csv(e) => Some(e.message(lang)),
            AppError::BadParameter(inv) => Some(
                inv.0
                    .iter()
                    .map(|f| f.msg.text(lang))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        }
    }

    pub fn invalid(field: &str, msg: Msg) -> AppError {
        AppError::Invalid(Invalid::one(field, msg))
    }
}

/// What `Retry-After` announces when the database was too busy.
pub const BUSY_RETRY_AFTER_SECS: i64 = 2;

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict => AppError::Conflict,
            StoreError::Busy(why) => {
                tracing::warn!(why, "database busy: answering unavailable");
                AppError::Busy {
                    retry_after_secs: BUSY_RETRY_AFTER_SECS,
                }
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(i: Invalid) -> Self {
        AppError::Invalid(i)
    }
}
