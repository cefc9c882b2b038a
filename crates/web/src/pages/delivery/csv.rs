//! The lines of the list as CSV (Shift_JIS for Excel, or UTF-8), and dates entered from an
//! uploaded CSV file (all or nothing; every bad row named).

use super::ListQuery;
use super::list::{ListShown, deliveries_page};
use super::{back, may_enter};
use crate::AppState;
use crate::error::PageError;
use crate::extract::ScreenQuery as Query;
use crate::i18n::Ui;
use crate::pages::form::uploaded_file;
use crate::pages::form::{Errs, Flash};
use crate::session::WebUser;
use axum::extract::{Multipart, State};
use axum::response::Response;
use vsys_app::csv_files::Encoding;
use vsys_app::rows::{DeliveryRow, Page};
use vsys_app::{Actor, AppError, AppResult};
use vsys_domain::Msg;

/// All the lines of the filters, page by page of the use-case.
async fn all_rows(s: &AppState, a: &Actor, q: &ListQuery) -> AppResult<Vec<DeliveryRow>> {
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let (batch, total) =
            vsys_app::delivery::list(&s.app, a, &q.app(page, Page::MAX_PER_PAGE)).await?;
        let got = batch.len();
        rows.extend(batch);
        if got == 0 || rows.len() as i64 >= total {
            return Ok(rows);
        }
        page += 1;
    }
}

/// The filtered lines as CSV (Shift_JIS by default, for Excel; or UTF-8).
pub async fn export(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let rows = all_rows(&s, &u.actor, &q)
        .await
        .map_err(|e| PageError(e, lang))?;
    let encoding =
        Encoding::parse(q.encoding.as_deref().unwrap_or("shift_jis")).unwrap_or(Encoding::ShiftJis);
    match vsys_app::csv_files::delivery::export(&rows, encoding, lang) {
        Ok((bytes, filename)) => Ok(crate::download::csv(bytes, &filename, encoding)),
        Err(e) => {
            let mut errs = Errs::of("csv", &AppError::Csv(e), lang);
            if encoding == Encoding::ShiftJis {
                errs = errs.note(Ui::ExportSjisFailed.text(lang));
            }
            let q = ListQuery {
                encoding: None,
                ..q
            };
            deliveries_page(&s, &u, &q, ListShown::refused(errs)).await
        }
    }
}

/// Dates from an uploaded CSV file (all or nothing; every bad row named).
pub async fn import(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let lang = u.lang;
    if !may_enter(&u.actor) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let result = match uploaded_file(&mut mp).await {
        Some(bytes) => vsys_app::csv_files::delivery::import(&s.app, &u.actor, &bytes).await,
        None => Err(AppError::invalid("file", Msg::Required)),
    };
    match result {
        Ok(_) => Ok(back(&q, Flash::DeliveriesImported)),
        Err(e) => {
            let errs = Errs::refused("import", e, lang)?;
            deliveries_page(&s, &u, &q, ListShown::refused(errs)).await
        }
    }
}
