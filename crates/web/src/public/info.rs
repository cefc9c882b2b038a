//! The citizens' information pages the nation writes: よくある質問 (`/search/faq`, each entry a
//! question and its answer) and 接種の流れ (`/search/guide`, the newest guide page, or the
//! built-in text while the nation has written none). From the snapshot, like the finder.

use super::finder::{NoticeView, notice_view};
use super::page::{self, Frame, respond};
use super::words::{PL, W};
use crate::AppState;
use crate::markdown::{SafeHtml, render};
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use vsys_domain::notice::CitizenTopic;

/// The FAQ's and the guide's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/search/faq", get(faq))
        .route("/search/guide", get(guide))
}

#[derive(Template)]
#[template(path = "public/faq.html")]
pub struct FaqPage {
    pub f: Frame,
    pub entries: Vec<NoticeView>,
}

/// よくある質問: every FAQ entry, newest first.
pub async fn faq(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let (asked, lang, s) = match page::open(&st, &headers, raw.as_deref(), "/search/faq").await {
        Ok(opened) => opened,
        Err(res) => return *res,
    };
    let page = FaqPage {
        f: Frame::new(lang, PL(lang).t(W::Faq), "faq", "/search/faq", &asked),
        entries: s
            .notices(CitizenTopic::Faq)
            .map(|n| notice_view(n, lang, 3))
            .collect(),
    };
    respond(&st, StatusCode::OK, &page, &asked)
}

#[derive(Template)]
#[template(path = "public/guide.html")]
pub struct GuidePage {
    pub f: Frame,
    /// The nation's newest guide page; `None`: the built-in text.
    pub written: Option<NoticeView>,
    pub default_body: SafeHtml,
}

/// 接種の流れ: 接種券 → 予約 → 接種.
pub async fn guide(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let (asked, lang, s) = match page::open(&st, &headers, raw.as_deref(), "/search/guide").await {
        Ok(opened) => opened,
        Err(res) => return *res,
    };
    let l = PL(lang);
    let written = s
        .notices(CitizenTopic::Guide)
        .next()
        .map(|n| notice_view(n, lang, 3));
    let page = GuidePage {
        f: Frame::new(lang, l.t(W::Guide), "guide", "/search/guide", &asked),
        default_body: render(l.t(W::GuideDefault), 2),
        written,
    };
    respond(&st, StatusCode::OK, &page, &asked)
}
