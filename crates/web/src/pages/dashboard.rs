//! The dashboard (進捗状況) of the nation, a prefecture or a municipality: for each recent cycle,
//! where the organisations below stand, who is late against their deadline, and a reminder
//! to those late in one click.

use super::Chrome;
use super::form::{Flash, FlashQuery, done};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use vsys_domain::chain::Status;
use vsys_domain::{Lang, catalog};

catalog! {
    /// The dashboard's words.
    pub enum D {
        Title => ("進捗状況", "Progress"),
        Intro => ("最近のクールについて、管下の組織の分配の状況と、締切を過ぎた組織を表示します。", "For the recent cycles: where the organisations below stand, and who is past the deadline."),
        Deadline => ("締切", "Deadline"),
        Updated => ("最新の更新", "Latest change"),
        YourStatus => ("自組織", "Your organisation"),
        Organisation => ("組織", "Organisation"),
        Status => ("状況", "Status"),
        NothingDivided => ("分配なし", "Nothing divided"),
        Late => ("遅延", "Late"),
        OnTime => ("—", "—"),
        LateCount => ("締切を過ぎた組織", "Past the deadline"),
        NoneLate => ("締切を過ぎた組織はありません。", "Nobody is past the deadline."),
        Remind => ("締切を過ぎた組織にお知らせを送る", "Remind those past the deadline"),
        RemindConfirm => ("締切を過ぎた組織に、お知らせ（とメール）を送ります。よろしいですか。", "Send a notice (and e-mail) to everyone past the deadline?"),
        NoCycles => ("表示するクールはありません。", "There are no cycles to show."),
        Open => ("分配の画面へ", "Open the division"),
    }
}

pub struct DL(pub Lang);

impl DL {
    pub fn t(&self, d: D) -> &'static str {
        d.text(self.0)
    }
}

pub struct Row {
    pub code: String,
    pub name: String,
    pub status: Option<(&'static str, &'static str)>,
    pub late: bool,
    pub link: String,
}

pub struct Panel {
    pub id: String,
    pub name: String,
    pub deadline: String,
    pub updated: String,
    /// The same moment for `<time datetime>`.
    pub updated_iso: String,
    pub own: (&'static str, &'static str),
    pub counts: Vec<(&'static str, usize)>,
    pub late: usize,
    pub rows: Vec<Row>,
    pub division: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub c: Chrome,
    pub d: DL,
    pub panels: Vec<Panel>,
    pub may_remind: bool,
}

pub async fn dashboard(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let progress = vsys_app::dashboard::progress(&s.app, a)
        .await
        .map_err(|e| PageError(e, lang))?;
    let panels = progress
        .iter()
        .map(|p| {
            let id = p.cycle.id.clone();
            let child_links = p.child_level != vsys_domain::chain::Level::Site;
            Panel {
                name: p.cycle.name.clone(),
                deadline: p.deadline.to_string(),
                updated: jst(&p.updated_at),
                updated_iso: p
                    .updated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                own: (p.own.label(lang), p.own.badge()),
                counts: [
                    Status::Unconfirmed,
                    Status::Confirmed,
                    Status::Divided,
                    Status::Final,
                ]
                .into_iter()
                .map(|st| (st.label(lang), p.count(st)))
                .collect(),
                late: p.late().count(),
                rows: p
                    .children
                    .iter()
                    .map(|c| Row {
                        link: if child_links && c.status.is_some() {
                            format!("/allocations/{id}/{}", c.code)
                        } else {
                            String::new()
                        },
                        code: c.code.clone(),
                        name: c.name.clone(),
                        status: c.status.map(|st| (st.label(lang), st.badge())),
                        late: c.late,
                    })
                    .collect(),
                division: format!("/allocations/{id}/{}", a.org_code()),
                id,
            }
        })
        .collect();
    let c = Chrome::for_actor(&s.app, a, lang, D::Title.text(lang), "/dashboard")
        .await
        .with_flash(q.flash.as_deref());
    let page = DashboardPage {
        c,
        d: DL(lang),
        panels,
        may_remind: vsys_app::dashboard::may_remind(a),
    };
    Ok(render_status(StatusCode::OK, &page))
}

/// Sends the reminders of one cycle; back to the dashboard with a message.
pub async fn remind(
    State(s): State<AppState>,
    u: WebUser,
    Path(cycle): Path<String>,
) -> Result<Response, PageError> {
    vsys_app::dashboard::remind(&s.app, &u.actor, &cycle)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done(
        "/dashboard",
        Flash::RemindersSent,
        &format!("#cycle-{cycle}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_both_languages() {
        assert_eq!(DL(Lang::Ja).t(D::Title), "進捗状況");
        assert_eq!(DL(Lang::En).t(D::Title), "Progress");
        let _ = Ui::Home;
    }
}
