//! 一括登録: the nation or a prefecture uploads the registry of institutions as CSV; the file
//! is read here and imported in the background as a job kept in the database (any process can report it), and the page polls its
//! progress with htmx until it is done.

use super::list::{ListQuery, may_import, sites_page};
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::ScreenPath as Path;
use crate::i18n::{L, Ui, int};
use crate::pages::Chrome;
use crate::pages::display::{fragment, is_htmx};
use crate::pages::form::uploaded_file;
use crate::pages::form::{Errs, Shown};
use crate::session::WebUser;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use vsys_app::AppError;
use vsys_app::site_import::Phase;
use vsys_domain::Msg;

/// The template of the bulk registration file (UTF-8 with a BOM, opens in Excel).
pub async fn import_template(_u: WebUser) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"site_import_template.csv\"",
            ),
        ],
        vsys_app::site_import::template(),
    )
        .into_response()
}

/// The progress of an import, polled by htmx every second until it is done.
#[derive(Template)]
#[template(path = "site_import_status.html")]
pub struct ImportStatus {
    pub l: L,
    pub id: String,
    pub finished: bool,
    pub phase: &'static str,
    pub done: String,
    pub total: String,
    pub done_n: usize,
    pub total_n: usize,
    /// rows, created, updated, unchanged
    pub summary: Option<(String, String, String, String)>,
    pub error: Vec<String>,
}

#[derive(Template)]
#[template(path = "site_import.html")]
pub struct ImportPage {
    pub c: Chrome,
    pub status_html: String,
    pub finished: bool,
    pub id: String,
}

/// The words of a job's phase (`None`: it ended refused).
fn phase_label(p: Option<Phase>, started: bool) -> Ui {
    match p {
        _ if !started => Ui::ImportQueued,
        Some(Phase::Reading) => Ui::ImportReading,
        Some(Phase::Checking) => Ui::ImportChecking,
        Some(Phase::Writing) => Ui::ImportWriting,
        Some(Phase::Done) | None => Ui::ImportDone,
    }
}

/// Starts a bulk registration: the file is read here, the import runs in the background.
pub async fn import_start(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let lang = u.lang;
    if !may_import(&u.actor) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let Some(bytes) = uploaded_file(&mut mp).await else {
        let shown = Shown {
            errs: Errs::of("import", &AppError::invalid("file", Msg::Required), lang),
            ..Shown::default()
        };
        return sites_page(&s, &u, &ListQuery::default(), shown).await;
    };
    let id = vsys_app::site_import::start(&s.app, &u.actor, bytes)
        .await
        .map_err(|e| PageError(e, lang))?;
    if is_htmx(&headers) {
        return status_response(&s, &u, &id, true).await;
    }
    Ok(Redirect::to(&format!("/sites/import/{id}")).into_response())
}

/// The state of an import (only to the person who started it).
pub async fn import_status(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    status_response(&s, &u, &id, is_htmx(&headers)).await
}

async fn status_response(
    s: &AppState,
    u: &WebUser,
    id: &str,
    fragment_only: bool,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let p = vsys_app::site_import::job(&s.app, &u.actor, id, lang)
        .await
        .map_err(|e| PageError(e, lang))?;
    let finished = p.finished;
    let status = ImportStatus {
        l: L(lang),
        id: id.to_owned(),
        finished,
        phase: phase_label(p.phase, p.total > 0 || p.done > 0 || finished).text(lang),
        done: int(p.done as i64),
        total: int(p.total as i64),
        done_n: p.done,
        total_n: p.total,
        summary: p.summary.map(|x| {
            (
                int(x.rows as i64),
                int(x.created as i64),
                int(x.updated as i64),
                int(x.unchanged as i64),
            )
        }),
        error: p
            .error
            .map(|e| e.lines().map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    if fragment_only {
        return Ok(render(&status));
    }
    let status_html = fragment(&status).map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::ImportSites.text(lang), "/sites").await;
    Ok(render(&ImportPage {
        c,
        status_html,
        finished,
        id: id.to_owned(),
    }))
}
