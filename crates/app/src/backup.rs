//! Backups of the embedded database (`vsys backup`).

use crate::App;
use crate::audit::{Who, record};
use crate::error::{AppError, AppResult};
use serde::Serialize;
use std::path::Path;
use vsys_domain::Msg;

/// What a backup wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Backup {
    pub path: String,
    pub bytes: u64,
}

/// Copies the SQLite database to `path` while it keeps serving, checks the copy's integrity,
/// and records the backup in the audit log (a backup holds every record, personal data
/// included, so who made one and where must be traceable).
pub async fn backup(app: &App, path: &Path) -> AppResult<Backup> {
    if path.exists() {
        return Err(AppError::invalid("file", Msg::BackupTargetExists));
    }
    let bytes = vsys_store::ops::backup_into(&app.db, path).await?;
    let done = Backup {
        path: path.display().to_string(),
        bytes,
    };
    let mut tx = app.db.begin().await?;
    record(
        &mut tx,
        &Who::system(),
        app.clock.now(),
        "system.backup",
        "database",
        &done.path,
        None::<&()>,
        Some(&done),
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// Why nothing was restored (`vsys restore` prints it and exits 2).
#[derive(Debug, thiserror::Error)]
pub enum RestoreRefused {
    #[error(
        "vsys restore restores the embedded SQLite database; restore PostgreSQL with its own tools: pg_restore from a pg_dump archive, or a base backup (pg_basebackup) with point-in-time recovery (docs/OPERATIONS.md)"
    )]
    Postgres,
    #[error("the database URL names no SQLite file")]
    NoFile,
    #[error("not restored: {0}")]
    Backup(#[from] vsys_store::ops::FileRefusal),
    #[error("{0} is the database itself")]
    SameFile(String),
    #[error(
        "{0} exists; restoring replaces it (the old file is kept beside it as *.before-restore-*): add --force"
    )]
    TargetExists(String),
    #[error("a vsys server is running on {0} ({1}); stop every server first")]
    InUse(String, String),
    #[error("restore failed: {0}")]
    Failed(String),
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The database file restored.
    pub path: String,
    /// The backup it was restored from.
    pub from: String,
    pub bytes: u64,
    /// The backup's schema version, and the migrations applied on top of it.
    pub backup_schema_version: i64,
    pub migrated: Vec<i64>,
    /// Where the database that was replaced is kept, if there was one.
    pub previous: Option<String>,
}

/// Held by every `vsys serve` on an SQLite database (shared) and by `vsys restore`
/// (exclusive), on the file `DB.lock` beside it: a restore never replaces a database a server
/// runs on, and no server starts during a restore. Released when dropped (or the process ends).
pub struct DatabaseLock(#[allow(dead_code)] std::fs::File);

/// The lock file of an SQLite database.
fn lock_path(db: &Path) -> std::path::PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_owned();
    name.push(".lock");
    db.with_file_name(name)
}

fn open_lock(db: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(db))
}

/// The shared lock a server holds on its SQLite database while it runs (`None` on
/// PostgreSQL). Fails while a restore runs.
pub fn hold_for_serving(config: &crate::Config) -> AppResult<Option<DatabaseLock>> {
    let Some(path) = vsys_store::ops::sqlite_path(&config.database_url) else {
        return Ok(None);
    };
    let file = open_lock(&path).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "opening {}: {e}",
            lock_path(&path).display()
        ))
    })?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(DatabaseLock(file))),
        Err(std::fs::TryLockError::WouldBlock) => Err(AppError::Internal(anyhow::anyhow!(
            "{} is being restored (vsys restore holds {}); start the server when it is done",
            path.display(),
            lock_path(&path).display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(AppError::Internal(anyhow::anyhow!(
            "locking {}: {e}",
            lock_path(&path).display()
        ))),
    }
}

/// Restores the SQLite database of `config` from the backup `from` (`vsys restore`):
///
/// 1. checks the backup (`PRAGMA integrity_check`, a vsys schema, no migration newer than this
///    build's);
/// 2. takes the database's lock exclusively (refused while any `vsys serve` runs on it) and,
///    when the database exists, refuses unless `force`, and refuses while a lease in it is
///    still renewed (a server of an older version, which takes no lock);
/// 3. copies the backup beside the database (`VACUUM INTO` a temporary file, fsync), checks the
///    copy, keeps the old database as `DB.before-restore-TIMESTAMP` and renames the copy into
///    place (then fsyncs the directory): at every moment the database file is either the old
///    one or the whole new one;
/// 4. runs the migrations the backup lacks and records the restore in the restored audit log
///    (`system.restore`).
pub async fn restore(
    config: &crate::Config,
    from: &Path,
    force: bool,
    by: &Who,
) -> Result<Restored, RestoreRefused> {
    use vsys_store::ops;
    if crate::is_postgres_url(&config.database_url) {
        return Err(RestoreRefused::Postgres);
    }
    let path = ops::sqlite_path(&config.database_url).ok_or(RestoreRefused::NoFile)?;
    let shown = path.display().to_string();
    let failed =
        |what: &str, e: &dyn std::fmt::Display| RestoreRefused::Failed(format!("{what}: {e}"));
    let check = ops::check_sqlite_file(from).await?;
    if path.exists() && std::fs::canonicalize(&path).ok() == std::fs::canonicalize(from).ok() {
        return Err(RestoreRefused::SameFile(shown));
    }
    let lock = open_lock(&path).map_err(|e| failed("opening the lock file", &e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(RestoreRefused::InUse(
                shown,
                format!("{} is held", lock_path(&path).display()),
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(failed("locking", &e)),
    }
    let now = chrono::Utc::now();
    let existed = path.exists();
    if existed {
        if !force {
            return Err(RestoreRefused::TargetExists(shown));
        }
        let leases = ops::quiesce_sqlite_file(&path, now)
            .await
            .map_err(|e| failed("opening the database to replace", &e))?;
        if let Some((name, holder)) = leases.first() {
            return Err(RestoreRefused::InUse(
                shown,
                format!("its lease '{name}' is held by {holder}"),
            ));
        }
    }
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let tmp = path.with_file_name(format!("{name}.restore-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let bytes = match ops::copy_sqlite_file(from, &tmp).await {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(failed("copying the backup", &e));
        }
    };
    if let Err(e) = ops::check_sqlite_file(&tmp).await {
        let _ = std::fs::remove_file(&tmp);
        return Err(failed("checking the copy", &e));
    }
    let mut previous = None;
    if existed {
        let kept = path.with_file_name(format!(
            "{name}.before-restore-{}",
            now.format("%Y%m%dT%H%M%SZ")
        ));
        std::fs::rename(&path, &kept).map_err(|e| failed("keeping the old database", &e))?;
        // Its WAL was folded into it; what is left of it (and the shared-memory index) belongs
        // to the old file, never to the restored one.
        for ext in ["-wal", "-shm"] {
            let side = path.with_file_name(format!("{name}{ext}"));
            if side.exists() {
                let kept_side = kept.with_file_name(format!(
                    "{}{ext}",
                    kept.file_name().unwrap_or_default().to_string_lossy()
                ));
                let _ = std::fs::rename(&side, &kept_side);
            }
        }
        previous = Some(kept.display().to_string());
    }
    std::fs::rename(&tmp, &path).map_err(|e| failed("moving the copy into place", &e))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    ops::sync_dir(dir).map_err(|e| failed("syncing the directory", &e))?;

    let app = App::connect(config.clone())
        .await
        .map_err(|e| failed("opening the restored database", &e))?;
    let result = async {
        app.prepare().await?;
        let done = Restored {
            path: shown.clone(),
            from: from.display().to_string(),
            bytes,
            backup_schema_version: check.schema_version,
            migrated: vsys_store::migrate::MIGRATIONS
                .iter()
                .map(|m| m.version)
                .filter(|v| *v > check.schema_version)
                .collect(),
            previous,
        };
        let mut tx = app.db.begin().await?;
        record(
            &mut tx,
            by,
            app.clock.now(),
            "system.restore",
            "database",
            &done.path,
            None::<&()>,
            Some(&done),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(done)
    }
    .await;
    app.close().await;
    drop(lock);
    result.map_err(|e| failed("migrating the restored database", &e))
}
