//! The nation's screen for the public site (コロナワクチンナビ): writing a notice, an FAQ entry
//! or the guide page for citizens, and withdrawing one. Its words are the public site's
//! catalogue (`public::words`).

use super::Chrome;
use super::form::{Errs, FormMap, Shown, Vals, text};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, jst};
use crate::public::words::{PL, W};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vsys_app::AppError;
use vsys_app::notices::CitizenDraft;
use vsys_domain::notice::CitizenTopic;
use vsys_domain::{Lang, Msg};

/// A published entry as the list shows it.
pub struct Entry {
    pub id: String,
    pub topic: &'static str,
    pub title_ja: String,
    pub title_en: String,
    pub date: String,
}

#[derive(Template)]
#[template(path = "public_notices.html")]
pub struct PublicNoticesPage {
    pub c: Chrome,
    pub w: PL,
    pub entries: Vec<Entry>,
    pub topics: Vec<(&'static str, &'static str)>,
    pub errs: Errs,
    pub vals: Vals,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

const FIELDS: [(&str, W); 5] = [
    ("topic", W::Topic),
    ("title_ja", W::TitleJa),
    ("title_en", W::TitleEn),
    ("body_ja", W::BodyJa),
    ("body_en", W::BodyEn),
];

async fn page(
    s: &AppState,
    u: &WebUser,
    shown: Shown,
    done: Option<&'static str>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let rows = vsys_app::notices::list_for_citizens(&s.app, a)
        .await
        .map_err(|e| PageError(e, lang))?;
    let entries = rows
        .into_iter()
        .map(|n| Entry {
            topic: CitizenTopic::parse(&n.category).map_or("", |t| t.label(lang)),
            date: jst(&n.created_at),
            id: n.id,
            title_ja: n.title_ja,
            title_en: n.title_en,
        })
        .collect();
    let mut c =
        Chrome::for_actor(&s.app, a, lang, W::StaffTitle.text(lang), "/public-notices").await;
    c.flash = done.map(str::to_owned);
    let vals = shown.vals(Vals::default(), &[]);
    Ok(render_status(
        shown.errs.status(),
        &PublicNoticesPage {
            c,
            w: PL(lang),
            entries,
            topics: CitizenTopic::ALL
                .iter()
                .map(|t| (t.as_str(), t.label(lang)))
                .collect(),
            errs: shown.errs,
            vals,
        },
    ))
}

fn done_word(key: Option<&str>, lang: Lang) -> Option<&'static str> {
    match key {
        Some("published") => Some(W::Published.text(lang)),
        Some("withdrawn") => Some(W::Withdrawn.text(lang)),
        _ => None,
    }
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let done = done_word(q.done.as_deref(), u.lang);
    page(&s, &u, Shown::default(), done).await
}

/// Publishes an entry; refused, the page again with the reasons next to the fields and what
/// was typed.
pub async fn publish(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let result = match CitizenTopic::parse(&text(&f, "topic")) {
        None => Err(AppError::invalid("topic", Msg::Required)),
        Some(topic) => {
            let d = CitizenDraft {
                title_ja: text(&f, "title_ja"),
                title_en: text(&f, "title_en"),
                body_ja: f.get("body_ja").cloned().unwrap_or_default(),
                body_en: f.get("body_en").cloned().unwrap_or_default(),
            };
            vsys_app::notices::post_for_citizens(&s.app, &u.actor, topic, &d).await
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to("/public-notices?done=published").into_response()),
        Err(e) => {
            let mut shown = Shown::after("citizens", e, f, lang)?;
            for (field, w) in FIELDS {
                shown.errs = shown.errs.named(field, w.text(lang));
            }
            page(&s, &u, shown, None).await
        }
    }
}

pub async fn withdraw(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    vsys_app::notices::withdraw_for_citizens(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(Redirect::to("/public-notices?done=withdrawn").into_response())
}
