use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated (e.g. an e-mail address already in use).
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// An optimistic version check failed: someone else changed the row.
    #[error("version conflict")]
    Conflict,
    #[error("unsupported database URL: {0}")]
    BadUrl(String),
    #[error("invalid stored data: {0}")]
    Corrupt(String),
    #[error("not supported on this database: {0}")]
    Unsupported(&'static str),
    /// The database could not serve in time: no free connection within the acquire timeout,
    /// or a statement ran past the statement timeout. Nothing was written; try again later.
    #[error("database busy: {0}")]
    Busy(String),
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Unique(d.constraint().unwrap_or_else(|| d.message()).to_owned())
            }
            sqlx::Error::PoolTimedOut => StoreError::Busy("no free connection".into()),
            // PostgreSQL: statement_timeout (57014 query_canceled), lock_timeout (55P03);
            // SQLite: interrupted by the time budget (9), still locked after the busy timeout
            // (5 and its extended codes).
            sqlx::Error::Database(d)
                if matches!(
                    d.code().as_deref(),
                    Some("57014" | "55P03" | "9" | "5" | "261" | "517" | "773")
                ) =>
            {
                StoreError::Busy(d.message().to_owned())
            }
            _ => StoreError::Db(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
