//! Errors of the use-cases, each with the message a person reads.

use thiserror::Error;
use vsys_domain::{Invalid, Lang, Msg};
use vsys_store::StoreError;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("invalid input")]
    Invalid(Invalid),
    #[error("not logged in")]
    NotLoggedIn,
    #[error("session expired")]
    SessionExpired,
    #[error("login failed")]
    LoginFailed,
    #[error("login throttled for {retry_after_secs}s")]
    Throttled { retry_after_secs: i64 },
    #[error("account locked")]
    Locked,
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
    #[error("conflict")]
    Conflict,
    #[error("csrf rejected")]
    Csrf,
    #[error("unavailable")]
    Unavailable,
    /// A file that could not be read or written as CSV (the message names the line or cell).
    #[error("csv: {0}")]
    Csv(crate::table_csv::TableError),
    #[error("internal: {0}")]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn msg(&self) -> Msg {
        match self {
            AppError::Invalid(_) | AppError::Csv(_) => Msg::InvalidInput,
            AppError::NotLoggedIn => Msg::NotLoggedIn,
            AppError::SessionExpired => Msg::SessionExpired,
            AppError::LoginFailed => Msg::LoginFailed,
            AppError::Throttled { .. } => Msg::LoginThrottled,
            AppError::Locked => Msg::AccountLocked,
            AppError::TotpRequired => Msg::TotpRequired,
            AppError::TotpInvalid => Msg::TotpInvalid,
            AppError::TotpSetupRequired => Msg::TotpSetupRequired,
            AppError::PasswordChangeRequired => Msg::PasswordChangeRequired,
            AppError::Forbidden => Msg::Forbidden,
            AppError::NotFound => Msg::NotFound,
            AppError::Conflict => Msg::Conflict,
            AppError::Csrf => Msg::CsrfRejected,
            AppError::Unavailable => Msg::Unavailable,
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
            _ => None,
        }
    }

    pub fn invalid(field: &str, msg: Msg) -> AppError {
        AppError::Invalid(Invalid::one(field, msg))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict => AppError::Conflict,
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(i: Invalid) -> Self {
        AppError::Invalid(i)
    }
}
