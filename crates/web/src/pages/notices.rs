//! Notices (お知らせ): the list, marking one read, and marking all read.

use super::announcements::{A, AL};
use super::display::is_htmx;
use super::form::{Flash, done};
use super::{Chrome, Pager};
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{L, Ui, jst};
use crate::markdown::{self, SafeHtml};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vsys_app::rows::UserNotice;
use vsys_domain::Lang;
use vsys_domain::notice::{Audience, Category};

/// A notice as lists show it (the home pages show the newest).
pub struct NoticeView {
    pub id: String,
    pub date: String,
    /// An announcement's category (its badge).
    pub category: Option<&'static str>,
    pub title: String,
    /// A notice's text as written (plain text).
    pub body: String,
    /// An announcement's text, from its Markdown through the one sanitiser.
    pub body_html: Option<SafeHtml>,
    pub link: Option<String>,
    pub unread: bool,
}

pub fn notice_view(n: &UserNotice, lang: Lang) -> NoticeView {
    let (title, body) = match lang {
        Lang::Ja => (&n.notice.title_ja, &n.notice.body_ja),
        Lang::En => (&n.notice.title_en, &n.notice.body_en),
    };
    let announcement = n.notice.audience == Audience::Announcement;
    NoticeView {
        id: n.notice.id.clone(),
        date: jst(&n.notice.created_at),
        category: announcement
            .then(|| Category::parse(&n.notice.category).map(|c| c.label(lang)))
            .flatten(),
        title: title.clone(),
        body: body.clone(),
        body_html: announcement.then(|| markdown::render(body, 3)),
        link: n
            .notice
            .link
            .clone()
            .filter(|l| super::local_path(l).is_some()),
        unread: n.read_at.is_none(),
    }
}

#[derive(Deserialize, Default)]
pub struct NoticesQuery {
    page: Option<u64>,
    flash: Option<String>,
}

#[derive(Template)]
#[template(path = "notices.html")]
pub struct NoticesPage {
    pub c: Chrome,
    pub notices: Vec<NoticeView>,
    pub pager: Pager,
    /// The way to write announcements (and to those sent), for those who may.
    pub may_announce: bool,
    pub may_see_sent: bool,
    pub a: AL,
}

pub async fn notices(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<NoticesQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let page = vsys_app::page_of(q.page, None, 20).map_err(|e| PageError(e, u.lang))?;
    let (list, total) = vsys_app::notices::list(&s.app, &u.actor, page)
        .await
        .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Notices.text(lang), "/notices")
        .await
        .with_flash(q.flash.as_deref());
    Ok(render(&NoticesPage {
        c,
        notices: list.iter().map(|n| notice_view(n, lang)).collect(),
        pager: Pager::new(page.page, page.per_page, total, "/notices?".into()),
        may_announce: vsys_app::notices::may_announce(&u.actor),
        may_see_sent: vsys_app::notices::may_see_sent(&u.actor),
        a: AL(lang),
    }))
}

#[derive(Template)]
#[template(path = "notice_item.html")]
pub struct NoticeItem {
    pub l: L,
    pub n: NoticeView,
}

/// Marks a notice read; htmx gets the updated item, a plain form a redirect.
pub async fn mark_read(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let n = vsys_app::notices::mark_read(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, lang))?;
    if is_htmx(&headers) {
        let view = notice_view(
            &UserNotice {
                notice: n,
                read_at: Some(s.app.clock.now()),
            },
            lang,
        );
        return Ok(render(&NoticeItem {
            l: L(lang),
            n: view,
        }));
    }
    Ok(Redirect::to("/notices").into_response())
}

#[derive(Deserialize)]
pub struct ReadAllForm {
    /// The page the button was on (`/notices` or home).
    #[serde(default)]
    back: String,
}

/// Marks every unread notice of the user read (「すべて既読にする」), then back to the page the
/// button was on, which says so.
pub async fn mark_all_read(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<ReadAllForm>,
) -> Result<Response, PageError> {
    vsys_app::notices::mark_all_read(&s.app, &u.actor)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    let back = if f.back == "/notices" {
        "/notices"
    } else {
        "/"
    };
    Ok(done(back, Flash::NoticesRead, ""))
}
