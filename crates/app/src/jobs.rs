//! Background jobs: a long task (a registry import) runs in the process that received it, while
//! its progress and outcome live in the database, so that any process can show them.

use crate::App;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use std::sync::{Arc, Mutex, PoisonError};
use vsys_domain::Lang;
use vsys_store::jobs::{self, JobRow};

/// Finished jobs (and jobs that stopped moving: a process that died) are kept this long.
const KEEP_HOURS: i64 = 24;
/// How often reported progress is written down.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Writes down a new job of `kind` started by `actor`; returns its id.
pub(crate) async fn create(app: &App, actor: &Actor, kind: &str, phase: &str) -> AppResult<String> {
    let now = app.clock.now();
    let id = data_encoding::HEXLOWER.encode(&rand::random::<[u8; 16]>());
    let mut tx = app.db.begin().await?;
    jobs::purge(&mut tx, now - chrono::Duration::hours(KEEP_HOURS)).await?;
    jobs::insert(
        &mut tx,
        &JobRow {
            id: id.clone(),
            kind: kind.to_owned(),
            user_id: actor.user_id.clone(),
            org_code: actor.org_code().to_owned(),
            phase: phase.to_owned(),
            done: 0,
            total: 0,
            outcome: None,
            error_ja: None,
            error_en: None,
            started_at: now,
            updated_at: now,
            finished_at: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Progress reported from inside a task (a plain callback, which must not wait), written down
/// by a companion task every [`FLUSH_EVERY`]. On SQLite a flush waits while the task itself
/// holds the write lock; the next one catches up.
#[derive(Clone)]
pub(crate) struct Reporter {
    latest: Arc<Mutex<Option<Progress>>>,
}

/// A phase and how far it got (done of total).
type Progress = (&'static str, usize, usize);

impl Reporter {
    pub(crate) fn report(&self, phase: &'static str, done: usize, total: usize) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some((phase, done, total));
    }

    fn take(&self) -> Option<Progress> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Runs `work` in the background as job `id`, reporting through the [`Reporter`] it is given,
/// and writes down how it ended: `Ok` (its outcome as JSON) or the error in both languages.
pub(crate) fn spawn<F, Fut>(app: App, id: String, work: F)
where
    F: FnOnce(Reporter) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, AppError>> + Send + 'static,
{
    tokio::spawn(async move {
        let reporter = Reporter {
            latest: Arc::new(Mutex::new(None)),
        };
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let flusher = {
            let (app, id, reporter) = (app.clone(), id.clone(), reporter.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(FLUSH_EVERY) => {}
                        _ = stop_rx.changed() => break,
                    }
                    if let Some((phase, done, total)) = reporter.take()
                        && let Err(e) = write_progress(&app, &id, phase, done, total).await
                    {
                        tracing::warn!(job = %id, error = %e, "job progress not written");
                    }
                }
            })
        };
        let result = work(reporter.clone()).await;
        let _ = stop_tx.send(true);
        let _ = flusher.await;
        // The last report too (the task may end within one flush interval).
        if let Some((phase, done, total)) = reporter.take()
            && let Err(e) = write_progress(&app, &id, phase, done, total).await
        {
            tracing::warn!(job = %id, error = %e, "job progress not written");
        }
        let now = app.clock.now();
        let (outcome, error) = match &result {
            Ok(v) => (Some(v.to_string()), None),
            Err(e) => {
                tracing::info!(job = %id, error = %e, "job refused");
                (
                    None,
                    Some((error_text(e, Lang::Ja), error_text(e, Lang::En))),
                )
            }
        };
        let written = async {
            let mut tx = app.db.begin().await?;
            jobs::finish(
                &mut tx,
                &id,
                if result.is_ok() { "done" } else { "failed" },
                outcome.as_deref(),
                error.as_ref().map(|(ja, en)| (ja.as_str(), en.as_str())),
                now,
            )
            .await?;
            tx.commit().await?;
            Ok::<(), AppError>(())
        };
        if let Err(e) = written.await {
            tracing::error!(job = %id, error = %e, "job outcome not written");
        }
    });
}

async fn write_progress(
    app: &App,
    id: &str,
    phase: &str,
    done: usize,
    total: usize,
) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    jobs::progress(
        &mut tx,
        id,
        phase,
        i64::try_from(done).unwrap_or(i64::MAX),
        i64::try_from(total).unwrap_or(i64::MAX),
        app.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A job of `kind` as the person who started it sees it (anyone else: not found).
pub(crate) async fn view(app: &App, actor: &Actor, kind: &str, id: &str) -> AppResult<JobRow> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    jobs::get(&mut tx, id)
        .await?
        .filter(|j| j.kind == kind && j.user_id == actor.user_id)
        .ok_or(AppError::NotFound)
}

/// Why a job failed, in words: every bad row of a refused file, by row number.
fn error_text(e: &AppError, lang: Lang) -> String {
    match e {
        AppError::Csv(t) => t.message(lang),
        AppError::Invalid(inv) => inv
            .0
            .iter()
            .map(|f| {
                let at = f.row.map(|r| match lang {
                    Lang::Ja => format!("{r}行目 "),
                    Lang::En => format!("row {r}, "),
                });
                format!(
                    "{}{}: {}",
                    at.unwrap_or_default(),
                    f.field,
                    f.msg.text(lang)
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other
            .detail(lang)
            .unwrap_or_else(|| other.text(lang).to_owned()),
    }
}
