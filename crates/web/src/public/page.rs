//! What every public page shares: its language (`?lang=`, else the `vsys_lang` cookie, else
//! `Accept-Language`; an explicit choice is kept in that cookie, never in a session), its
//! frame (title, the switch to the same page in the other language, the freshness of the
//! data), the query it was asked with, and the public "not found" and error pages.

use super::words::{PL, W, unconfirmed};
use crate::AppState;
use crate::error::render_status;
use crate::i18n::{LANG_COOKIE, jst, lang_of};
use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use vsys_app::AppError;
use vsys_app::public::Snapshot;
use vsys_domain::Lang;

/// The query of a public page as it came: every pair in order, repeated names kept.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub pairs: Vec<(String, String)>,
}

impl Asked {
    pub fn parse(raw: Option<&str>) -> Asked {
        Asked {
            pairs: form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `path` with this query, less the pairs named in `without`, plus `extra` (URL-encoded).
    pub fn href(&self, path: &str, without: &[&str], extra: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if !without.contains(&k.as_str()) && !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        let q = q.finish();
        if q.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{q}")
        }
    }

    /// The language the visitor chose on this page (`?lang=ja|en`), if any.
    fn lang(&self) -> Option<Lang> {
        self.get("lang").and_then(Lang::parse)
    }
}

/// The language of a public page: `?lang=` first, then what [`lang_of`] reads (the cookie,
/// `Accept-Language`), Japanese by default.
pub fn lang(headers: &HeaderMap, asked: &Asked) -> Lang {
    asked.lang().unwrap_or_else(|| lang_of(headers))
}

/// What every public page starts from: the query as asked, the visitor's language and the
/// snapshot — or, when there is no snapshot at all, the error page for `path`.
pub async fn open(
    st: &AppState,
    headers: &HeaderMap,
    raw: Option<&str>,
    path: &str,
) -> Result<(Asked, Lang, std::sync::Arc<Snapshot>), Box<Response>> {
    let asked = Asked::parse(raw);
    let lang = lang(headers, &asked);
    match vsys_app::public::snapshot(&st.app).await {
        Ok(s) => Ok((asked, lang, s)),
        Err(e) => Err(Box::new(error(st, e, lang, path, &asked))),
    }
}

/// The frame of a public page.
pub struct Frame {
    pub l: PL,
    pub title: String,
    /// The menu entry of this page: `search`, `faq`, `guide` or empty.
    pub nav: &'static str,
    /// This page, with its query, in the other language.
    pub other_lang: String,
    /// When the shown data was read from the registry ("データ更新").
    pub updated: Option<String>,
    /// The banner while the registry could not be read for a while.
    pub unconfirmed: Option<String>,
}

impl Frame {
    pub fn new(lang: Lang, title: &str, nav: &'static str, path: &str, asked: &Asked) -> Frame {
        let other = match lang {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        };
        Frame {
            l: PL(lang),
            title: title.to_owned(),
            nav,
            other_lang: asked.href(path, &["lang"], &[("lang", other.code())]),
            updated: None,
            unconfirmed: None,
        }
    }

    /// Says how current the snapshot's data is, and warns when it is not confirmed current.
    pub fn data_of(mut self, s: &AppState, snapshot: &Snapshot) -> Frame {
        let f = vsys_app::public::freshness(&s.app, snapshot);
        let now = s.app.clock.now();
        let (built, today) = (jst(&f.built_at), jst(&now));
        // Today's time alone; another day's with its date.
        self.updated = Some(match (built.split_once(' '), today.split_once(' ')) {
            (Some((d, t)), Some((today, _))) if d == today => t.to_owned(),
            _ => built,
        });
        if f.unconfirmed {
            let minutes = (now - f.checked_at).num_minutes().max(1);
            self.unconfirmed = Some(unconfirmed(minutes, self.l.0));
        }
        self
    }
}

/// Answers a rendered public page, keeping a language chosen with `?lang=` in the
/// `vsys_lang` cookie (the same one the staff screens read; no session).
pub fn respond<T: Template>(s: &AppState, status: StatusCode, page: &T, asked: &Asked) -> Response {
    with_lang_cookie(s, render_status(status, page), asked)
}

/// A page already rendered (a kept one), answered as [`respond`] answers.
pub fn respond_html(s: &AppState, html: axum::body::Bytes, asked: &Asked) -> Response {
    use axum::response::IntoResponse;
    let res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response();
    with_lang_cookie(s, res, asked)
}

/// Sets the language cookie when the visitor chose a language with `?lang=`.
fn with_lang_cookie(s: &AppState, mut res: Response, asked: &Asked) -> Response {
    if let Some(l) = asked.lang() {
        let secure = if s.app.config.cookie_secure {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age={}; SameSite=Lax{secure}",
            l.code(),
            365 * 24 * 3600
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

#[derive(Template)]
#[template(path = "public/message.html")]
pub struct MessagePage {
    pub f: Frame,
    pub heading: String,
    pub message: String,
}

/// The public "not found" page (an unknown site, an unknown page under `/search/`).
pub fn not_found(s: &AppState, lang: Lang, path: &str, asked: &Asked) -> Response {
    let l = PL(lang);
    let page = MessagePage {
        f: Frame::new(lang, l.t(W::NotFoundTitle), "", path, asked),
        heading: l.t(W::NotFoundTitle).to_owned(),
        message: l.t(W::NotFoundBody).to_owned(),
    };
    respond(s, StatusCode::NOT_FOUND, &page, asked)
}

/// The public error page (the snapshot could not be had: the server just started on a
/// database it cannot read).
pub fn error(s: &AppState, e: AppError, lang: Lang, path: &str, asked: &Asked) -> Response {
    let (status, _) = crate::error::classify(&e);
    if let AppError::Internal(inner) = &e {
        tracing::error!(error = %inner, "public site");
    }
    let l = PL(lang);
    let page = MessagePage {
        f: Frame::new(lang, l.t(W::ErrorTitle), "", path, asked),
        heading: l.t(W::ErrorTitle).to_owned(),
        message: e.text(lang).to_owned(),
    };
    respond(s, status, &page, asked)
}

/// Unknown pages under `/search/`.
pub async fn unknown(
    axum::extract::State(s): axum::extract::State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let asked = Asked::parse(uri.query());
    not_found(&s, lang(&headers, &asked), "/search/", &asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_keep_repeats_and_encode() {
        let a = Asked::parse(Some(
            "status=available&status=few&q=%E6%B8%AF+%E5%8C%BA&lang=en&page=2&empty=",
        ));
        assert_eq!(a.all("status").collect::<Vec<_>>(), ["available", "few"]);
        assert_eq!(a.get("q"), Some("港 区"));
        assert_eq!(a.lang(), Some(Lang::En));
        assert_eq!(
            a.href("/search/", &["lang", "page"], &[("page", "3")]),
            "/search/?status=available&status=few&q=%E6%B8%AF+%E5%8C%BA&page=3"
        );
        assert_eq!(
            Asked::parse(None).href("/search/faq", &[], &[]),
            "/search/faq"
        );
    }

    #[test]
    fn the_page_choice_wins() {
        let mut h = HeaderMap::new();
        h.insert("accept-language", HeaderValue::from_static("en"));
        assert_eq!(lang(&h, &Asked::parse(Some("lang=ja"))), Lang::Ja);
        assert_eq!(lang(&h, &Asked::parse(Some("lang=xx"))), Lang::En);
        assert_eq!(lang(&HeaderMap::new(), &Asked::default()), Lang::Ja);
    }
}
