//! The two backends behind one handle. Every repository builds its statements once with
//! sea-query; [`Tx`] renders them for the backend in use and runs them.

use crate::error::{StoreError, StoreResult};
use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> StoreResult<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::BadUrl(redact(url)))
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL with any password replaced, safe to log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A row type readable from both backends.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// `COUNT(*)`: counts rows from whatever index finds them (counting a column, even one that
/// is never null, makes both databases read it from every row).
pub fn count_rows() -> sea_query::Expr {
    sea_query::Func::count(sea_query::Expr::col(sea_query::Asterisk)).into()
}

/// The column that carries the count of a [`Tx::page`].
const PAGE_TOTAL: &str = "page_total";

/// A row of a [`Tx::page`] with the count beside it.
struct Counted<T> {
    row: T,
    total: i64,
}

impl<'r, R, T> FromRow<'r, R> for Counted<T>
where
    R: sqlx::Row,
    T: FromRow<'r, R>,
    &'r str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(r: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Counted {
            row: T::from_row(r)?,
            total: r.try_get(PAGE_TOTAL)?,
        })
    }
}

/// Connection pool of either backend. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How long a SQLite writer waits for the lock before the write fails with an error (it is
/// never dropped silently).
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds on every database call, so that no request holds a connection for long and a
/// request that cannot get one is told so quickly (the web layer answers 503 with
/// `Retry-After`; see [`StoreError::Busy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long a call waits for a free connection.
    pub acquire_timeout: Duration,
    /// How long one use of a connection may run: PostgreSQL's `statement_timeout` (per
    /// statement); on SQLite, which has none, a progress handler interrupts whatever runs once
    /// this much time has passed since the connection was taken from the pool (per transaction:
    /// stricter). Bulk work opts out with [`Db::begin_long`] / [`Db::read_long`].
    pub statement_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// SQLite virtual-machine steps between two looks at the clock by the progress handler
/// (a few hundred microseconds of work).
const SQLITE_PROGRESS_STEPS: i32 = 4096;

/// Gives a SQLite connection a fresh time budget: past `deadline`, whatever it runs is
/// interrupted (`SQLITE_INTERRUPT`, reported as [`StoreError::Busy`]).
pub(crate) async fn sqlite_budget(
    conn: &mut sqlx::SqliteConnection,
    budget: Option<Duration>,
) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    match budget {
        Some(b) => {
            let deadline = std::time::Instant::now() + b;
            handle.set_progress_handler(SQLITE_PROGRESS_STEPS, move || {
                std::time::Instant::now() < deadline
            });
        }
        None => handle.remove_progress_handler(),
    }
    Ok(())
}

impl Db {
    /// Connects to `sqlite:PATH` (the file is created when missing; WAL, foreign keys on) or
    /// `postgres://…`, with the default [`Limits`].
    pub async fn connect(url: &str) -> StoreResult<Db> {
        Self::connect_limited(url, Limits::default()).await
    }

    pub async fn connect_with(url: &str, max_connections: u32) -> StoreResult<Db> {
        Self::connect_limited(
            url,
            Limits {
                max_connections,
                ..Limits::default()
            },
        )
        .await
    }

    pub async fn connect_limited(url: &str, limits: Limits) -> StoreResult<Db> {
        let budget = limits.statement_timeout;
        match Backend::from_url(url)? {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    // 16 KiB pages for new databases (existing ones keep theirs until a
                    // VACUUM): a national cycle's 80,000 rows with their explanations touch
                    // a quarter of the pages, ~20 % faster to persist (docs/PERFORMANCE.md).
                    .page_size(16_384)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // A writer waits for the lock as long as it may run at all.
                    .busy_timeout(budget.min(SQLITE_BUSY_TIMEOUT))
                    // 64 MiB of page cache per connection (the default is 2 MiB): bulk writes
                    // such as a national division touch every page of several indexes.
                    .pragma("cache_size", "-65536")
                    // The server checkpoints the WAL in the background (`Db::checkpoint`), so a
                    // commit does not copy the WAL into the database on the writer's time. The
                    // automatic checkpoint stays as a safety net for a WAL of 10,000 pages
                    // (~160 MiB), far above what a national division writes (~3,000).
                    .pragma("wal_autocheckpoint", "10000")
                    .pragma("temp_store", "memory");
                let pool = SqlitePoolOptions::new()
                    .max_connections(limits.max_connections)
                    .acquire_timeout(limits.acquire_timeout)
                    // Every time a connection is handed out, it gets a fresh budget.
                    .after_connect(move |conn, _| {
                        Box::pin(async move { sqlite_budget(conn, Some(budget)).await })
                    })
                    .before_acquire(move |conn, _| {
                        Box::pin(
                            async move { sqlite_budget(conn, Some(budget)).await.map(|_| true) },
                        )
                    })
                    .connect_with(opts)
                    .await?;
                Ok(Db::Sqlite(pool))
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url)?
                    .application_name("vsys")
                    .options([
                        ("statement_timeout", format!("{}ms", budget.as_millis())),
                        // A transaction left open by a stuck client frees its locks.
                        (
                            "idle_in_transaction_session_timeout",
                            format!("{}ms", (budget * 3).as_millis()),
                        ),
                    ]);
                let pool = PgPoolOptions::new()
                    .max_connections(limits.max_connections)
                    .acquire_timeout(limits.acquire_timeout)
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a read-write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing on a
    /// lock upgrade half-way.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(Conn::Tx(p.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres(p) => Tx::Postgres(Conn::Tx(p.begin().await?)),
        })
    }

    /// Starts a transaction for reading only (a consistent snapshot that takes no write lock).
    pub async fn read(&self) -> StoreResult<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(Conn::Tx(p.begin().await?)),
            Db::Postgres(p) => Tx::Postgres(Conn::Tx(p.begin().await?)),
        })
    }

    /// A read whose statements each see the database as of their own start: no `BEGIN` and
    /// `COMMIT` (on SQLite two hand-offs to the connection's thread fewer, on PostgreSQL two
    /// round trips). For a page of a list and its count, where a write landing between them
    /// costs at most a total that is off by that write; never for reads that must agree with
    /// each other. Writes on it are refused.
    pub async fn read_each(&self) -> StoreResult<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(Conn::Plain(p.acquire().await?)),
            Db::Postgres(p) => Tx::Postgres(Conn::Plain(p.acquire().await?)),
        })
    }

    /// One read statement on its own, outside any transaction (no `BEGIN`/`COMMIT`: on SQLite
    /// each is a hand-off to the connection's thread). For a single value whose snapshot need
    /// not match anything else's, such as a change counter checked before a cached read.
    pub async fn opt_now<T: Row, S: SqlxBinder>(&self, stmt: &S) -> StoreResult<Option<T>> {
        Ok(match self {
            Db::Sqlite(p) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with::<_, T, _>(sqlx::AssertSqlSafe(sql), values)
                    .fetch_optional(p)
                    .await?
            }
            Db::Postgres(p) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with::<_, T, _>(sqlx::AssertSqlSafe(sql), values)
                    .fetch_optional(p)
                    .await?
            }
        })
    }

    /// [`Db::begin`] for bulk work that may run longer than the statement timeout (seeding the
    /// demo world, importing a registry, migrations, retention): no time budget.
    pub async fn begin_long(&self) -> StoreResult<Tx> {
        let mut tx = self.begin().await?;
        tx.unbounded().await?;
        Ok(tx)
    }

    /// [`Db::read`] without a time budget (verifying the whole audit chain, copies).
    pub async fn read_long(&self) -> StoreResult<Tx> {
        let mut tx = self.read().await?;
        tx.unbounded().await?;
        Ok(tx)
    }

    /// Copies what the WAL holds into the database file (SQLite `wal_checkpoint(PASSIVE)`:
    /// never waits for readers or writers; what they still need is copied next time). Returns
    /// the WAL's size and how much was copied, in pages; `None` on PostgreSQL, which has
    /// nothing to do.
    pub async fn checkpoint(&self) -> StoreResult<Option<(i64, i64)>> {
        match self {
            Db::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                sqlite_budget(&mut conn, None).await?;
                let (_busy, log, done): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                        .fetch_one(&mut *conn)
                        .await?;
                Ok(Some((log, done)))
            }
            Db::Postgres(_) => Ok(None),
        }
    }

    /// Listens on a PostgreSQL channel (`None` on SQLite, which has no notifications: poll).
    pub async fn listen(&self, channel: &str) -> StoreResult<Option<Listener>> {
        match self {
            Db::Sqlite(_) => Ok(None),
            Db::Postgres(p) => {
                let mut l = sqlx::postgres::PgListener::connect_with(p).await?;
                l.listen(channel).await?;
                Ok(Some(Listener(l)))
            }
        }
    }

    /// Is the database reachable?
    pub async fn ping(&self) -> StoreResult<()> {
        match self {
            Db::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
            Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// A PostgreSQL listener (see [`Db::listen`]).
pub struct Listener(sqlx::postgres::PgListener);

impl Listener {
    /// The next notification's payload. Reconnects by itself after a lost connection (what
    /// was sent meanwhile is lost: callers also poll).
    pub async fn recv(&mut self) -> StoreResult<String> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

/// FNV-1a: a stable 64-bit name for an advisory lock.
fn fnv1a(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// A transaction of either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Conn<Sqlite>),
    Postgres(Conn<Postgres>),
}

/// What a [`Tx`] runs its statements on: a transaction, or — for [`Db::read_each`] — a plain
/// connection, on which each statement sees the database as of its own start and nothing may
/// be written.
pub enum Conn<DB: sqlx::Database> {
    Tx(Transaction<'static, DB>),
    Plain(sqlx::pool::PoolConnection<DB>),
}

impl<DB: sqlx::Database> std::ops::Deref for Conn<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            Conn::Tx(t) => t,
            Conn::Plain(c) => c,
        }
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for Conn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Conn::Tx(t) => t,
            Conn::Plain(c) => c,
        }
    }
}

impl<DB: sqlx::Database> Conn<DB> {
    async fn commit(self) -> StoreResult<()> {
        match self {
            Conn::Tx(t) => Ok(t.commit().await?),
            Conn::Plain(_) => Ok(()),
        }
    }

    /// Writes belong in a transaction: refused on a plain connection.
    fn writable(&self) -> StoreResult<()> {
        match self {
            Conn::Tx(_) => Ok(()),
            Conn::Plain(_) => Err(StoreError::Unsupported("a write outside a transaction")),
        }
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Lifts the time budget for the rest of this transaction. On PostgreSQL that is the
    /// statement timeout and the idle-in-transaction timeout both: bulk work computes between
    /// its statements (a rollup rebuild sums 1.8 million ledger entries of a national year in
    /// memory), and the server would otherwise end the session as a stuck client's.
    async fn unbounded(&mut self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => sqlite_budget(tx, None).await?,
            Tx::Postgres(tx) => {
                sqlx::query("SET LOCAL statement_timeout = 0")
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("SET LOCAL idle_in_transaction_session_timeout = 0")
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs a statement; returns the number of rows it affected.
    pub async fn exec<S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<u64> {
        Ok(match self {
            Tx::Sqlite(tx) => {
                tx.writable()?;
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            }
            Tx::Postgres(tx) => {
                tx.writable()?;
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            }
        })
    }

    pub async fn all<T: Row, S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<Vec<T>> {
        Ok(match self {
            Tx::Sqlite(tx) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with::<_, T, _>(sqlx::AssertSqlSafe(sql), values)
                    .fetch_all(&mut **tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with::<_, T, _>(sqlx::AssertSqlSafe(sql), values)
                    .fetch_all(&mut **tx)
                    .await?
            }
        })
    }

    pub async fn opt<T: Row, S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<Option<T>> {
        Ok(match self {
            Tx::Sqlite(tx) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with::<_, T, _>(sqlx::AssertSqlSafe(sql), values)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with::<_, T, _>(sqlx::AssertSqlSafe(sql), values)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        })
    }

    /// Exactly one row, or [`StoreError::NotFound`].
    pub async fn one<T: Row, S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<T> {
        self.opt(stmt).await?.ok_or(StoreError::NotFound)
    }

    /// A page of `rows` (filtered and ordered; the page's limit and offset are added here)
    /// and the number of all rows `count` counts, in one statement: the count rides along as
    /// a scalar subquery, which both databases evaluate once. Only a page past the end asks
    /// for the count again, alone.
    pub async fn page<T: Row>(
        &mut self,
        mut rows: sea_query::SelectStatement,
        count: sea_query::SelectStatement,
        page: crate::Page,
    ) -> StoreResult<(Vec<T>, i64)> {
        rows.expr_as(
            sea_query::Expr::SubQuery(None, Box::new(count.clone().into())),
            sea_query::Alias::new(PAGE_TOTAL),
        )
        .limit(page.limit())
        .offset(page.offset());
        let found: Vec<Counted<T>> = self.all(&rows).await?;
        let total = match found.first() {
            Some(first) => first.total,
            None if page.offset() == 0 => 0,
            None => self.count(&count).await?,
        };
        Ok((found.into_iter().map(|c| c.row).collect(), total))
    }

    /// A single integer (e.g. `COUNT(*)`).
    pub async fn count<S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<i64> {
        let (n,): (i64,) = self.one(stmt).await?;
        Ok(n)
    }

    /// Runs literal SQL that is the same on both backends (DDL rendered by sea-query, pragmas).
    pub async fn raw(&mut self, sql: &str) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut **tx)
                .await
                .map(|_| ())?,
            Tx::Postgres(tx) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut **tx)
                .await
                .map(|_| ())?,
        }
        Ok(())
    }

    /// PostgreSQL `NOTIFY channel, payload`, delivered when the transaction commits.
    pub async fn notify(&mut self, channel: &str, payload: &str) -> StoreResult<()> {
        if let Tx::Postgres(tx) = self {
            tx.writable()?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Serialises this transaction with every other that locks the same `names`, until it
    /// ends. PostgreSQL: transaction-scoped advisory locks, taken in one order (no deadlock);
    /// SQLite: nothing to do, its writers (`BEGIN IMMEDIATE`) already run one at a time.
    pub async fn lock_names(&mut self, names: &[&str]) -> StoreResult<()> {
        let Tx::Postgres(tx) = self else {
            return Ok(());
        };
        tx.writable()?;
        let mut ids: Vec<i64> = names.iter().map(|n| fnv1a(n.as_bytes())).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Backend::from_url("sqlite:vsys.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/d").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::from_url("mysql://x").is_err());
        assert_eq!(
            redact("postgres://u:secret@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
    }
}
