//! The bulk registrations running in the background, in a process-global registry (so only
//! the process that runs a job knows it). Kept apart behind two calls, [`start`] and [`read`],
//! so that the registry can give way to jobs kept in the database.

use crate::pages::form::Errs;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use vsys_app::site_import::{ImportSummary, Phase};
use vsys_app::{Actor, App, AppError};
use vsys_domain::Lang;

/// An import running (or finished) in the background.
struct Job {
    user_id: String,
    started: Instant,
    phase: Phase,
    done: usize,
    total: usize,
    /// The summary, or the error in Japanese and English.
    outcome: Option<Result<ImportSummary, [String; 2]>>,
    finished: Option<Instant>,
    reads: u8,
}

/// A finished job is dropped after it was shown twice or ten minutes after it finished; a job
/// that never finishes (a crashed task) after an hour.
const KEEP_FINISHED: Duration = Duration::from_secs(600);
const KEEP_ANY: Duration = Duration::from_secs(3600);

fn jobs() -> MutexGuard<'static, HashMap<String, Job>> {
    static JOBS: OnceLock<Mutex<HashMap<String, Job>>> = OnceLock::new();
    let mut map = JOBS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    map.retain(|_, j| {
        now.duration_since(j.started) < KEEP_ANY
            && j.finished
                .is_none_or(|f| now.duration_since(f) < KEEP_FINISHED)
    });
    map
}

fn update_job(id: &str, f: impl FnOnce(&mut Job)) {
    if let Some(j) = jobs().get_mut(id) {
        f(j);
    }
}

/// The message of a failed import (every bad row of a refused file, by row number).
fn import_error(e: &AppError, lang: Lang) -> String {
    Errs::of("import", e, lang).summary().join("\n")
}

/// Starts importing `bytes` for `actor` in the background; the job's id.
pub fn start(app: &App, actor: &Actor, bytes: Vec<u8>) -> String {
    let id = data_encoding::HEXLOWER.encode(&rand::random::<[u8; 16]>());
    jobs().insert(
        id.clone(),
        Job {
            user_id: actor.user_id().to_owned(),
            started: Instant::now(),
            phase: Phase::Reading,
            done: 0,
            total: 0,
            outcome: None,
            finished: None,
            reads: 0,
        },
    );
    let (app, actor, job) = (app.clone(), actor.clone(), id.clone());
    tokio::spawn(async move {
        let progress = |phase: Phase, done: usize, total: usize| {
            update_job(&job, |j| {
                j.phase = phase;
                j.done = done;
                j.total = total;
            });
        };
        let r = vsys_app::site_import::import(&app, &actor, &bytes, &progress).await;
        if let Err(e) = &r {
            tracing::info!(job = %job, error = %e, "site import refused");
        }
        let outcome = r.map_err(|e| [import_error(&e, Lang::Ja), import_error(&e, Lang::En)]);
        update_job(&job, |j| {
            if outcome.is_ok() {
                j.phase = Phase::Done;
            }
            j.outcome = Some(outcome);
            j.finished = Some(Instant::now());
        });
    });
    id
}

/// Where a job stands, as the person who started it sees it.
pub struct Progress {
    pub phase: Phase,
    pub done: usize,
    pub total: usize,
    /// Once finished: the summary, or why the file was refused (in lines).
    pub outcome: Option<Result<ImportSummary, Vec<String>>>,
}

/// Job `id` as user `user_id` sees it (`None`: no such job of theirs). A finished job is
/// forgotten once it was read twice.
pub fn read(id: &str, user_id: &str, lang: Lang) -> Option<Progress> {
    let mut map = jobs();
    let j = map.get_mut(id).filter(|j| j.user_id == user_id)?;
    let progress = Progress {
        phase: j.phase,
        done: j.done,
        total: j.total,
        outcome: j.outcome.as_ref().map(|o| match o {
            Ok(x) => Ok(*x),
            Err(m) => Err(m[usize::from(lang == Lang::En)]
                .lines()
                .map(str::to_owned)
                .collect()),
        }),
    };
    if progress.outcome.is_some() {
        j.reads += 1;
        if j.reads >= 2 {
            map.remove(id);
        }
    }
    Some(progress)
}
