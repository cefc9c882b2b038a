//! 予約受付状況: a site's reservation status, set with one click (on its home page and its
//! page), and the statuses of many sites set at once from a CSV file (予約状況の一括更新, on the
//! list of sites).

use super::list::{ListQuery, may_update_reservations, sites_page};
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::{Form, ScreenPath as Path};
use crate::i18n::{L, Ui, jst};
use crate::pages::display::is_htmx;
use crate::pages::form::uploaded_file;
use crate::pages::form::{Flash, FormMap, Shown, done};
use crate::pages::local_path;
use crate::session::WebUser;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use vsys_app::rows::ProfileRow;
use vsys_app::{Actor, AppError};
use vsys_domain::{Lang, Msg, Reservation};

pub struct ResvOption {
    pub value: &'static str,
    pub id: String,
    pub mark: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The reservation block: the current status, when it was set, and one button per status.
#[derive(Template)]
#[template(path = "site_reservation.html")]
pub struct ReservationBlock {
    pub l: L,
    pub csrf: String,
    pub code: String,
    pub mark: &'static str,
    pub label: &'static str,
    pub at: String,
    pub options: Vec<ResvOption>,
    pub can_write: bool,
    pub back: String,
}

pub(super) fn reservation_block(
    actor: &Actor,
    lang: Lang,
    p: &ProfileRow,
    can_write: bool,
    back: &str,
) -> ReservationBlock {
    let (mark, label) = p.reservation.label(lang);
    ReservationBlock {
        l: L(lang),
        csrf: actor.csrf_token().to_owned(),
        code: p.org_code.clone(),
        mark,
        label,
        at: p
            .reservation_at
            .as_ref()
            .map(jst)
            .unwrap_or_else(|| Ui::NotYet.text(lang).to_owned()),
        options: Reservation::ALL
            .iter()
            .map(|v| {
                let (mark, label) = v.label(lang);
                ResvOption {
                    value: v.as_str(),
                    id: format!("reservation-{}", v.as_str().replace('_', "-")),
                    mark,
                    label,
                    current: *v == p.reservation,
                }
            })
            .collect(),
        can_write,
        back: back.to_owned(),
    }
}

#[derive(Deserialize)]
pub struct ReservationForm {
    status: String,
    back: Option<String>,
}

/// One click sets the reservation status: htmx gets the block back, a plain form a redirect.
pub async fn reservation(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(f): Form<ReservationForm>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let status = Reservation::parse(f.status.trim())
        .ok_or_else(|| PageError(AppError::invalid("reservation", Msg::InvalidInput), lang))?;
    let p = vsys_app::sites::set_reservation(&s.app, &u.actor, &code, status)
        .await
        .map_err(|e| PageError(e, lang))?;
    let back = f.back.as_deref().and_then(local_path).unwrap_or("/");
    if is_htmx(&headers) {
        return Ok(render(&reservation_block(&u.actor, lang, &p, true, back)));
    }
    Ok(done(back, Flash::Reservation, "#reservation"))
}

/// The CSV template of 予約状況の一括更新: the sites of the caller's area with their current
/// status (UTF-8 with a BOM, which Excel opens).
pub async fn bulk_template(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    let bytes = vsys_app::csv_files::reservations::template(&s.app, &u.actor)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(crate::download::csv(
        bytes,
        "reservations.csv",
        vsys_app::csv_files::Encoding::Utf8,
    ))
}

/// 予約状況の一括更新 from an uploaded CSV file: all or nothing, every bad row named on the
/// list of sites; done, the list says how many statuses were set.
pub async fn bulk_upload(
    State(s): State<AppState>,
    u: WebUser,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let lang = u.lang;
    if !may_update_reservations(&u.actor) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let result = match uploaded_file(&mut mp).await {
        Some(bytes) => vsys_app::csv_files::reservations::import(&s.app, &u.actor, &bytes).await,
        None => Err(AppError::invalid("file", Msg::Required)),
    };
    match result {
        Ok(n) => Ok(done(
            &format!("/sites?updated={n}"),
            Flash::ReservationsUpdated,
            "",
        )),
        Err(e) => {
            let shown = Shown::after("reservations", e, FormMap::new(), lang)?;
            sites_page(&s, &u, &ListQuery::default(), shown).await
        }
    }
}
