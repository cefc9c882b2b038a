//! Use-cases of vsys: authorise, act, audit and notify, in one transaction each. Screens and the
//! API call these and nothing below them, so no handler can forget a rule.

pub mod accounts;
pub mod allocation;
pub mod api_tokens;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod context;
pub mod csv_files;
pub mod cycles;
pub mod dashboard;
pub mod delivery;
pub mod demo;
pub mod error;
pub mod jobs;
pub mod knowledge;
pub mod mail;
pub mod maintenance;
pub mod master_data;
pub mod notices;
pub mod ops;
pub mod orgs;
pub mod overview;
pub mod products;
pub mod public;
pub mod read_cache;
pub mod reminders;
pub mod requests;
pub mod results;
pub mod rollups;
pub mod rows;
pub mod secrets;
pub mod session_cache;
pub mod signal;
pub mod site_import;
pub mod sites;
pub mod stock;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use context::Actor;
pub use error::{AppError, AppResult, page, page_of};
pub use vsys_store::db::redact;

/// The kind of database a URL names (`sqlite:` or `postgres://`).
pub fn is_postgres_url(url: &str) -> bool {
    vsys_store::Backend::from_url(url).ok() == Some(vsys_store::Backend::Postgres)
}

use std::sync::Arc;
use vsys_store::Db;

/// Pages of each registry list kept in each process's read cache (a page of 50 is about
/// 15 KB: at most ~30 MB each).
pub const CACHED_LIST_PAGES: usize = 2_000;

/// Everything a use-case needs. Cheap to clone. The database handle is the use-cases' alone:
/// screens, the API and the command line reach data only through them.
#[derive(Clone)]
pub struct App {
    pub(crate) db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub hasher: auth::PasswordHasher,
    /// Seals TOTP secrets at rest (key from `Config::secret_key`).
    pub sealer: secrets::Sealer,
    /// The change signal as this process follows it.
    pub signals: signal::Signals,
    /// Sessions read lately (see `session_cache`).
    pub(crate) sessions: Arc<session_cache::SessionCache>,
    /// Divisions as last read, per (cycle, organisation), under the `allocations` signal.
    pub(crate) divisions: Arc<read_cache::ReadCache<(String, String), allocation::Division>>,
    /// Pages of organisation lists as last read, per filter (which holds the caller's scope)
    /// and page, under the `registry` signal.
    pub(crate) org_lists: Arc<read_cache::ReadCache<orgs::ListKey, orgs::ListPage>>,
    /// Pages of site lists, likewise.
    pub(crate) site_lists: Arc<read_cache::ReadCache<sites::ListKey, sites::ListPage>>,
    /// The public site's snapshot (see [`public`]).
    pub(crate) public: Arc<public::Holder>,
}

impl App {
    pub fn new(db: Db, config: Config, clock: Arc<dyn Clock>) -> App {
        let hasher = auth::PasswordHasher::new(config.hash_concurrency);
        let sealer = match config
            .secret_key
            .as_deref()
            .map(secrets::Sealer::from_config)
        {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                // The binary checks the key before it gets here; a library caller that did
                // not still gets a working (if forgetful) process.
                tracing::error!(error = %e, "secret_key refused; using a key for this process only");
                secrets::Sealer::ephemeral()
            }
            None => secrets::Sealer::ephemeral(),
        };
        App {
            db,
            config: Arc::new(config),
            clock,
            hasher,
            sealer,
            signals: signal::Signals::default(),
            sessions: Arc::new(session_cache::SessionCache::default()),
            divisions: Arc::new(read_cache::ReadCache::new(allocation::CACHED_DIVISIONS)),
            org_lists: Arc::new(read_cache::ReadCache::new(CACHED_LIST_PAGES)),
            site_lists: Arc::new(read_cache::ReadCache::new(CACHED_LIST_PAGES)),
            public: Arc::default(),
        }
    }

    /// Catches up with changes this process just committed, so that its own caches drop what
    /// they changed at once (other processes follow within the signal's poll or at once on
    /// PostgreSQL). A failure only delays that.
    pub(crate) async fn changed(&self) {
        if let Err(e) = self.signals.refresh(self).await {
            tracing::warn!(error = %e, "change signal: refresh failed");
        }
    }

    /// Sessions held in this process's cache now.
    pub fn cached_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Connects to the configured database (`sqlite:FILE`, created when missing, or
    /// `postgres://…`) and makes the application on the system clock.
    pub async fn connect(config: Config) -> AppResult<App> {
        let db = Db::connect_limited(&config.database_url, config.db_limits())
            .await
            .map_err(|e| {
                AppError::Internal(anyhow::anyhow!(
                    "connecting to {}: {e}",
                    vsys_store::db::redact(&config.database_url)
                ))
            })?;
        Ok(App::new(db, config, Arc::new(SystemClock)))
    }

    /// Is the database reachable (readiness)?
    pub async fn ping(&self) -> AppResult<()> {
        Ok(self.db.ping().await?)
    }

    /// Closes the database connections (end of a command).
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Runs migrations and loads the master data on first start; seals TOTP secrets stored in
    /// plaintext by older versions, and refuses to go on when the configured key does not open
    /// the sealed ones.
    pub async fn prepare(&self) -> AppResult<()> {
        vsys_store::migrate::run(&self.db, self.clock.now()).await?;
        master_data::bootstrap(&self.db, self.clock.now()).await?;
        knowledge::bootstrap(&self.db, self.clock.now()).await?;
        rollups::ensure_built(&self.db, self.clock.now()).await?;
        auth::seal_stored_secrets(self).await?;
        Ok(())
    }
}
