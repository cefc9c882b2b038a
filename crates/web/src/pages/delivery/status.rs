//! 配送状況: counts of the lines in the caller's area (or of the deliverer's own) without a
//! scheduled date, late and delivered, and by day; each a link to the lines behind it.

use super::Filters;
use super::{ListQuery, PER_PAGE, filters, may_see_status};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::ScreenQuery as Query;
use crate::i18n::{L, Ui, int};
use crate::pages::Chrome;
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use vsys_app::AppError;

pub struct CountLink {
    pub id: &'static str,
    pub label: &'static str,
    pub count: String,
    pub link: String,
    pub warn: bool,
}

/// day, count, link
pub type DayCount = (String, String, String);

#[derive(Template)]
#[template(path = "delivery_status.html")]
pub struct StatusPage {
    pub c: Chrome,
    pub f: Filters,
    pub as_of: String,
    pub counts: Vec<CountLink>,
    pub by_scheduled: Vec<DayCount>,
    pub by_delivered: Vec<DayCount>,
    pub qs: String,
}

/// Counts of the lines in the caller's area (or of the deliverer's own), each a link to them.
pub async fn status(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    if !may_see_status(a) {
        return Err(err(AppError::Forbidden));
    }
    let q = ListQuery {
        state: None,
        page: None,
        ..q
    };
    let st = vsys_app::delivery::status(&s.app, a, &q.app(1, PER_PAGE))
        .await
        .map_err(err)?;
    let link = |state: &str| format!("/deliveries?{}", q.qs_with(state));
    let counts = vec![
        CountLink {
            id: "status-total",
            label: l.t(Ui::Total),
            count: int(st.total),
            link: link(""),
            warn: false,
        },
        CountLink {
            id: "status-unscheduled",
            label: l.t(Ui::StateUnscheduled),
            count: int(st.unscheduled),
            link: link("unscheduled"),
            warn: st.unscheduled > 0,
        },
        CountLink {
            id: "status-late",
            label: l.t(Ui::StateLate),
            count: int(st.late),
            link: link("late"),
            warn: st.late > 0,
        },
        CountLink {
            id: "status-delivered",
            label: l.t(Ui::StateDelivered),
            count: int(st.delivered),
            link: link("delivered"),
            warn: false,
        },
    ];
    let days = |v: &[(NaiveDate, i64)], prefix: &str| -> Vec<DayCount> {
        v.iter()
            .map(|(d, n)| (d.to_string(), int(*n), link(&format!("{prefix}:{d}"))))
            .collect()
    };
    let f = filters(&s, a, lang, &q, "/deliveries/status")
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        l.t(Ui::DeliveryStatusTitle),
        "/deliveries/status",
    )
    .await;
    Ok(render_status(
        StatusCode::OK,
        &StatusPage {
            c,
            f,
            as_of: l.t(Ui::AsOf).replace("{date}", &st.today.to_string()),
            counts,
            by_scheduled: days(&st.by_scheduled_day, "scheduled"),
            by_delivered: days(&st.by_delivered_day, "delivered"),
            qs: q.qs(),
        },
    ))
}
