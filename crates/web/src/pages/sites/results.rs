//! 接種実績: a site enters each day's numbers (doses by group, wasted vials) within the
//! reporting periods the nation opens; the nation opens and closes the periods.

use super::{StockSummary, stock_summary};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, int, jst};
use crate::pages::Chrome;
use crate::pages::display::when;
use crate::pages::form::{Errs, Flash, FormMap, Shown, Vals, date, day, done, number, opt, text};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use vsys_app::{Actor, AppError};
use vsys_domain::ledger::WasteReason;
use vsys_domain::{Action, Capability, Invalid, Msg};

pub struct ResultLine {
    pub day: String,
    pub total: String,
    pub elderly: String,
    pub underlying: String,
    pub others: String,
    pub wasted: String,
    pub reason: String,
    pub updated: String,
}

pub struct PeriodLine {
    pub id: String,
    pub first_day: String,
    pub last_day: String,
    pub open: bool,
    pub opened_at: String,
    pub closed_at: String,
}

#[derive(Template)]
#[template(path = "results.html")]
pub struct ResultsPage {
    pub c: Chrome,
    pub is_site: bool,
    pub can_enter: bool,
    pub day: String,
    pub today: String,
    pub version: String,
    pub day_open: bool,
    pub updated: Option<String>,
    /// value, label
    pub reasons: Vec<(&'static str, &'static str)>,
    pub recent: Vec<ResultLine>,
    pub stock: Option<StockSummary>,
    pub periods: Vec<PeriodLine>,
    pub can_manage_periods: bool,
    pub errs: Errs,
    pub vals: Vals,
}

#[derive(Deserialize, Default)]
pub struct ResultsQuery {
    day: Option<String>,
    flash: Option<String>,
}

fn is_site_user(a: &Actor) -> bool {
    a.can(Capability::RunSite)
}

/// The page of `day` (today when none); after a refused form, with the reasons and what was
/// typed into it.
async fn results_page(
    s: &AppState,
    u: &WebUser,
    day: Option<NaiveDate>,
    shown: Shown,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let today = vsys_app::clock::japan_date(s.app.clock.now());
    let day = day.unwrap_or(today);
    let is_site = is_site_user(a);
    let periods = vsys_app::results::periods(&s.app, a).await.map_err(err)?;
    let day_open = periods
        .iter()
        .any(|p| p.closed_at.is_none() && p.first_day <= day && day <= p.last_day);
    let mut vals = Vals::default();
    let mut version = String::new();
    let mut updated = None;
    let mut recent = Vec::new();
    let mut stock = None;
    if is_site {
        let code = a.org_code();
        let stored = vsys_app::results::day(&s.app, a, code, day)
            .await
            .map_err(err)?;
        if let Some(r) = &stored {
            vals.set("results.total", r.total.to_string());
            vals.set("results.elderly", r.elderly.to_string());
            vals.set("results.underlying", r.underlying.to_string());
            vals.set("results.others", r.others.to_string());
            vals.set("results.wasted_vials", r.wasted_vials.to_string());
            vals.set(
                "results.waste_reason",
                r.waste_reason.clone().unwrap_or_default(),
            );
            version = r.version.to_string();
            updated = Some(jst(&r.updated_at));
        } else {
            vals.set("results.wasted_vials", "0");
        }
        recent = vsys_app::results::recent(&s.app, a, code, 14)
            .await
            .map_err(err)?
            .into_iter()
            .map(|r| ResultLine {
                day: r.day.to_string(),
                total: int(r.total),
                elderly: int(r.elderly),
                underlying: int(r.underlying),
                others: int(r.others),
                wasted: int(r.wasted_vials),
                reason: r
                    .waste_reason
                    .as_deref()
                    .and_then(WasteReason::parse)
                    .map(|w| w.label(lang).to_owned())
                    .unwrap_or_default(),
                updated: jst(&r.updated_at),
            })
            .collect();
        let v = vsys_app::stock::view(&s.app, a, code).await.map_err(err)?;
        stock = Some(stock_summary(&v, lang));
    }
    let vals = shown.vals(vals, &[]);
    let c = Chrome::for_actor(&s.app, a, lang, Ui::ResultsTitle.text(lang), "/results")
        .await
        .with_flash(shown.flash.as_deref());
    Ok(render_status(
        shown.errs.status(),
        &ResultsPage {
            c,
            is_site,
            can_enter: is_site && a.principal().may(Action::Write, &a.principal().org_path),
            day: day.to_string(),
            today: today.to_string(),
            version,
            day_open,
            updated,
            reasons: WasteReason::REPORTABLE
                .iter()
                .map(|r| (r.as_str(), r.label(lang)))
                .collect(),
            recent,
            stock,
            periods: periods
                .iter()
                .map(|p| PeriodLine {
                    id: p.id.clone(),
                    first_day: p.first_day.to_string(),
                    last_day: p.last_day.to_string(),
                    open: p.closed_at.is_none(),
                    opened_at: jst(&p.opened_at),
                    closed_at: when(p.closed_at.as_ref()),
                })
                .collect(),
            can_manage_periods: a.can(Capability::ManageProgramme),
            errs: shown.errs,
            vals,
        },
    ))
}

pub async fn results(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, PageError> {
    let asked = q.day.as_deref().map(str::trim).filter(|d| !d.is_empty());
    match asked.map(day) {
        Some(None) => {
            let e = AppError::invalid("day", Msg::InvalidDate);
            let shown = Shown {
                errs: Errs::of("results", &e, u.lang),
                ..Shown::default()
            };
            results_page(&s, &u, None, shown).await
        }
        asked => results_page(&s, &u, asked.flatten(), Shown::asked(q.flash)).await,
    }
}

/// A site enters (or re-enters) one day's numbers.
pub async fn results_submit(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let mut inv = Invalid::default();
    let day = date(&f, "day", &mut inv);
    let input = vsys_app::results::DayInput {
        total: number(&f, "total", None, &mut inv),
        elderly: number(&f, "elderly", Some(0), &mut inv),
        underlying: number(&f, "underlying", Some(0), &mut inv),
        others: number(&f, "others", Some(0), &mut inv),
        wasted_vials: number(&f, "wasted_vials", Some(0), &mut inv),
        waste_reason: opt(&f, "waste_reason"),
    };
    let Some(day) = day.filter(|_| inv.is_empty()) else {
        let errs = Errs::of("results", &AppError::Invalid(inv), lang);
        return results_page(&s, &u, day, Shown::refused(errs, f)).await;
    };
    // The version read belongs to the day that was shown; another day typed into the form is
    // saved as new, so a day entered before is never overwritten unseen.
    let shown_day = text(&f, "loaded_day") == day.to_string();
    let version = if shown_day {
        text(&f, "version").parse::<i64>().ok()
    } else {
        None
    };
    let code = u.actor.org_code().to_owned();
    match vsys_app::results::put_day(&s.app, &u.actor, &code, day, version, &input).await {
        Ok(_) => Ok(done(
            &format!("/results?day={day}"),
            Flash::ResultsSaved,
            "#results-form",
        )),
        // Another day was typed and it has results already: show them first.
        Err(AppError::Conflict) if !shown_day => {
            let mut errs = Errs::new("results", Msg::Conflict, StatusCode::CONFLICT, lang);
            errs.push("day", None, Ui::DayAlreadyEntered.text(lang));
            let shown = Shown {
                errs,
                ..Shown::default()
            };
            results_page(&s, &u, Some(day), shown).await
        }
        // After a conflict the stored numbers are shown, else what was typed.
        Err(e) => {
            let shown = Shown::after("results", e, f, lang)?;
            results_page(&s, &u, Some(day), shown).await
        }
    }
}

/// The nation opens a reporting period.
pub async fn period_open(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let first = date(&f, "first_day", &mut inv);
    let last = date(&f, "last_day", &mut inv);
    let r = match (first, last) {
        (Some(a), Some(b)) => vsys_app::results::open_period(&s.app, &u.actor, a, b).await,
        _ => Err(AppError::Invalid(inv)),
    };
    match r {
        Ok(_) => Ok(done("/results", Flash::PeriodOpened, "#periods")),
        Err(e) => {
            let shown = Shown::after("period", e, f, u.lang)?;
            results_page(&s, &u, None, shown).await
        }
    }
}

pub async fn period_close(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    vsys_app::results::close_period(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done("/results", Flash::PeriodClosed, "#periods"))
}
