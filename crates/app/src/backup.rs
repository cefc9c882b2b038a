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
    let bytes = app.db.backup_into(path).await?;
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
