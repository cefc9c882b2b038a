//! What operators need from the database beyond the repositories: the pool's use (metrics), and
//! the checks and copies behind restoring an SQLite database from a backup (`vsys restore`).

use crate::db::Db;
use crate::error::{StoreError, StoreResult};
use crate::migrate::MIGRATIONS;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Connections of the pool now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (in use or idle).
    pub open: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

impl PoolStats {
    /// Connections handed out to callers now.
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

impl Db {
    /// The pool's use now (cheap: no database call).
    pub fn pool_stats(&self) -> PoolStats {
        match self {
            Db::Sqlite(p) => PoolStats {
                open: p.size(),
                idle: p.num_idle() as u32,
                max: p.options().get_max_connections(),
            },
            Db::Postgres(p) => PoolStats {
                open: p.size(),
                idle: p.num_idle() as u32,
                max: p.options().get_max_connections(),
            },
        }
    }
}

/// The newest schema version this build knows.
pub fn latest_schema_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// The file an `sqlite:` URL names; `None` for another database or an in-memory one.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    let opts = SqliteConnectOptions::from_str(url).ok()?;
    let path = opts.get_filename();
    if path.as_os_str().is_empty() || path == Path::new(":memory:") {
        return None;
    }
    Some(path.to_path_buf())
}

/// What the check of a database file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The highest migration applied to it.
    pub schema_version: i64,
}

/// Why a file is not a usable vsys SQLite database.
#[derive(Debug, thiserror::Error)]
pub enum FileRefusal {
    #[error("{0} cannot be opened as an SQLite database: {1}")]
    NotSqlite(String, String),
    #[error("{0} fails PRAGMA integrity_check: {1}")]
    Damaged(String, String),
    #[error("{0} is an SQLite database but not a vsys one (it has no schema_migrations table)")]
    NotVsys(String),
    #[error(
        "{path} has schema version {found}, newer than this build's {known}: restore it with a newer vsys"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
}

async fn open_read_only(path: &Path) -> Result<sqlx::SqlitePool, FileRefusal> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(FileRefusal::NotSqlite(shown, "no such file".into()));
    }
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .map_err(|e| FileRefusal::NotSqlite(shown, e.to_string()))
}

/// Checks that `path` is a sound vsys SQLite database this build can run: `PRAGMA
/// integrity_check` answers ok, the migrations table is there, and no migration in it is newer
/// than this build's. Opens the file read-only.
pub async fn check_sqlite_file(path: &Path) -> Result<FileCheck, FileRefusal> {
    let shown = path.display().to_string();
    let pool = open_read_only(path).await?;
    let result = async {
        let verdict: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&pool)
            .await
            .map_err(|e| FileRefusal::NotSqlite(shown.clone(), e.to_string()))?;
        let first = verdict.first().map(|v| v.0.as_str()).unwrap_or("no answer");
        if first != "ok" {
            let all: Vec<&str> = verdict.iter().take(5).map(|v| v.0.as_str()).collect();
            return Err(FileRefusal::Damaged(shown.clone(), all.join("; ")));
        }
        let table: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        )
        .fetch_optional(&pool)
        .await
        .map_err(|e| FileRefusal::NotSqlite(shown.clone(), e.to_string()))?;
        if table.is_none() {
            return Err(FileRefusal::NotVsys(shown.clone()));
        }
        let (found,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&pool)
                .await
                .map_err(|e| FileRefusal::NotVsys(format!("{shown} ({e})")))?;
        let known = latest_schema_version();
        if found > known {
            return Err(FileRefusal::TooNew {
                path: shown.clone(),
                found,
                known,
            });
        }
        Ok(FileCheck {
            schema_version: found,
        })
    }
    .await;
    pool.close().await;
    result
}

/// Writes a consistent copy of the SQLite database `from` to the new file `to` (`VACUUM INTO`
/// from a read-only connection: whatever `from`'s WAL holds is included), and forces it to
/// disk. Refuses an existing `to`.
pub async fn copy_sqlite_file(from: &Path, to: &Path) -> StoreResult<u64> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(from).read_only(true))
        .await?;
    let done = vacuum_into(&pool, to).await;
    pool.close().await;
    done
}

/// Writes a consistent, compacted copy of an SQLite database to `path` (`VACUUM INTO`,
/// which reads one snapshot while the server keeps running), then checks the copy with
/// `PRAGMA integrity_check`. Returns the copy's size in bytes. Refuses an existing file.
/// PostgreSQL is backed up with its own tools (`pg_dump`, `pg_basebackup`):
/// [`StoreError::Unsupported`].
pub async fn backup_into(db: &Db, path: &Path) -> StoreResult<u64> {
    let Db::Sqlite(pool) = db else {
        return Err(StoreError::Unsupported("backup of PostgreSQL"));
    };
    let mut conn = pool.acquire().await?;
    crate::db::sqlite_budget(&mut conn, None).await?;
    let bytes = vacuum_into(&mut *conn, path).await?;
    drop(conn);
    check_sqlite_file(path)
        .await
        .map_err(|e| StoreError::Corrupt(format!("backup copy: {e}")))?;
    Ok(bytes)
}

/// `VACUUM INTO` the new file `to` over `conn` (one snapshot of its database, compacted), then
/// forces the copy to disk; its size in bytes. Refuses an existing `to`. The one copy behind
/// `vsys backup` and `vsys restore`.
pub(crate) async fn vacuum_into<'c, E>(conn: E, to: &Path) -> StoreResult<u64>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    if to.exists() {
        return Err(StoreError::Unique(to.display().to_string()));
    }
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Corrupt("target path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO ?1")
        .bind(target)
        .execute(conn)
        .await?;
    let file = std::fs::File::open(to).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}

/// The leases still running in the SQLite database at `path` (a server renews its lease for
/// scheduled work every second), after folding its WAL into the file (`wal_checkpoint
/// (TRUNCATE)`), so that the file alone holds every commit. `path` must exist.
pub async fn quiesce_sqlite_file(
    path: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Vec<(String, String)>> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(std::time::Duration::from_secs(5)),
        )
        .await?;
    let db = Db::Sqlite(pool.clone());
    let mut tx = db.read().await?;
    let leases = crate::coordination::live_leases(&mut tx, now).await;
    drop(tx);
    let checkpoint = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await;
    pool.close().await;
    checkpoint?;
    Ok(match leases {
        Ok(rows) => rows.into_iter().map(|(n, h, _)| (n, h)).collect(),
        // A database of a version without leases: nothing to go by.
        Err(_) => Vec::new(),
    })
}

/// Forces a directory's entries (a rename into it) to disk.
pub fn sync_dir(dir: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Corrupt(format!("file: {e}"))
}
