//! The API's extractors. They stand where axum's `Json`, `Query` and `Path` would and turn
//! every malformed request into an RFC 9457 problem in the caller's language that names the
//! parameter or field: malformed JSON and query strings (400), a body that is not JSON (415),
//! values of the wrong type or out of range (400 for parameters, 422 for body fields), a body
//! over the limit (413). Every text they let through has passed the one text check of
//! `vsys_domain::validation::check_text` (no control characters), the same on both databases.

use crate::AppState;
use crate::error::{ApiError, problem_response};
use crate::i18n::lang_of;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use vsys_app::AppError;
use vsys_domain::validation::{FieldError, LocalizedFieldError, check_text};
use vsys_domain::{Invalid, Lang, Msg};

/// The largest CSV file an import route takes: 100,000 registry rows with room to spare.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The largest JSON body an API operation takes: axum's default body limit, which reading
/// the body enforces again for bodies sent without a length.
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// True when the request declares a body longer than `limit`: such a request is refused
/// from its head, before a byte of the body is read, so a client that waits for
/// `100 Continue` (or reads while it writes) gets its 413 rather than a reset connection.
fn declares_more_than(headers: &axum::http::HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// A refusal of the request's shape, as a problem document.
fn refusal(
    status: StatusCode,
    slug: &str,
    msg: Msg,
    lang: Lang,
    detail: Option<String>,
    fields: Vec<LocalizedFieldError>,
) -> Response {
    problem_response(status, slug, msg.text(lang), detail, fields)
}

fn field(name: &str, msg: Msg, lang: Lang) -> LocalizedFieldError {
    FieldError::new(name, msg).localized(lang)
}

/// Checks every string (keys included) of a JSON document; names the first offending field by
/// its JSON path (`lines[3].name`).
fn check_json(v: &serde_json::Value, path: &mut String) -> Result<(), String> {
    match v {
        serde_json::Value::String(s) => check_text(s).map_err(|_| path.clone()),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_json(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                check_text(k).map_err(|_| path.clone())?;
                check_json(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A JSON request body (`application/json` or `application/*+json`). Also a JSON response,
/// so handlers keep writing `Json(value)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn is_json(parts_headers: &axum::http::HeaderMap) -> bool {
    parts_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(req.headers());
        if !is_json(req.headers()) {
            return Err(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                Msg::UnsupportedMediaType,
                lang,
                Some("Content-Type must be application/json".into()),
                vec![],
            ));
        }
        if declares_more_than(req.headers(), JSON_BODY_LIMIT) {
            return Err(body_rejection(StatusCode::PAYLOAD_TOO_LARGE, lang));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| body_rejection(r.status(), lang))?;
        parse_json(&bytes).map(Json).map_err(|r| r.problem(lang))
    }
}

/// Why a JSON body was refused.
#[derive(Debug)]
pub enum JsonRefused {
    /// Not JSON at all (400).
    Malformed(String),
    /// A field that is missing, of the wrong type or with control characters (422).
    Field(Refused),
}

impl JsonRefused {
    fn problem(self, lang: Lang) -> Response {
        match self {
            JsonRefused::Malformed(detail) => refusal(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                Msg::BadBody,
                lang,
                Some(detail),
                vec![],
            ),
            JsonRefused::Field(r) => refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                Msg::InvalidInput,
                lang,
                r.detail,
                vec![field(&r.field, r.msg, lang)],
            ),
        }
    }
}

/// Parses and checks a JSON body (see [`JsonRefused`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonRefused> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| JsonRefused::Malformed(format!("not valid JSON: {e}")))?;
    let mut path = String::new();
    if let Err(at) = check_json(&value, &mut path) {
        return Err(JsonRefused::Field(Refused::new(
            &at,
            Msg::ControlCharacter,
            None,
        )));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." { "body".to_owned() } else { at };
        let text = e.inner().to_string();
        JsonRefused::Field(Refused::new(
            &at,
            msg_of_serde(&text),
            Some(format!("{at}: {text}")),
        ))
    })
}

/// The catalogue message closest to a deserialiser's complaint.
fn msg_of_serde(text: &str) -> Msg {
    if text.starts_with("missing field") {
        Msg::Required
    } else if text.contains("out of range") || text.contains("too large") {
        Msg::NumberOutOfRange
    } else {
        Msg::InvalidInput
    }
}

/// A body the framework refused to read (over the limit, cut off).
fn body_rejection(status: StatusCode, lang: Lang) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            Msg::BodyTooLarge,
            lang,
            None,
            vec![],
        )
    } else {
        refusal(
            StatusCode::BAD_REQUEST,
            "bad-body",
            Msg::BadBody,
            lang,
            None,
            vec![],
        )
    }
}

/// A request parameter (query or path) that was refused: which, why, and the parser's words.
#[derive(Debug)]
pub struct Refused {
    pub field: String,
    pub msg: Msg,
    pub detail: Option<String>,
}

impl Refused {
    fn new(field: &str, msg: Msg, detail: Option<String>) -> Refused {
        Refused {
            field: field.to_owned(),
            msg,
            detail,
        }
    }

    /// As an API problem: 400 naming the parameter.
    fn problem(self, lang: Lang) -> Response {
        refusal(
            StatusCode::BAD_REQUEST,
            "bad-parameter",
            Msg::BadParameter,
            lang,
            self.detail,
            vec![field(&self.field, self.msg, lang)],
        )
    }

    /// As a screen's error page (400).
    fn page(self, lang: Lang) -> crate::error::PageError {
        crate::error::PageError(
            AppError::BadParameter(Invalid::one(&self.field, self.msg)),
            lang,
        )
    }
}

/// Query parameters. Malformed, of the wrong type or with control characters: 400 naming the
/// parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        parse_query(parts.uri.query().unwrap_or_default())
            .map(Query)
            .map_err(|r| r.problem(lang))
    }
}

/// Query parameters of a screen (refusals are error pages).
#[derive(Debug, Clone, Copy, Default)]
pub struct ScreenQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ScreenQuery<T> {
    type Rejection = crate::error::PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        parse_query(parts.uri.query().unwrap_or_default())
            .map(ScreenQuery)
            .map_err(|r| r.page(lang))
    }
}

/// Parses a query string into `T` (see [`Query`]).
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, Refused> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| Refused::new("query", Msg::BadParameter, Some(e.to_string())))?;
    for (k, v) in &pairs {
        if check_text(k).is_err() || check_text(v).is_err() {
            return Err(Refused::new(k, Msg::ControlCharacter, None));
        }
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let text = e.inner().to_string();
        let at = e.path().to_string();
        // serde_urlencoded names no field for a value that does not parse: find it by trying
        // each parameter alone.
        let at = if at == "." || at.is_empty() {
            culprit::<T>(&pairs).unwrap_or_else(|| "query".into())
        } else {
            at
        };
        let detail = Some(format!("{at}: {text}"));
        Refused::new(&at, msg_of_serde(&text), detail)
    })
}

/// The first parameter whose removal lets the rest parse (best effort, for naming it).
fn culprit<T: DeserializeOwned>(pairs: &[(String, String)]) -> Option<String> {
    (0..pairs.len()).find_map(|skip| {
        let rest: Vec<&(String, String)> = pairs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, p)| p)
            .collect();
        let encoded = serde_urlencoded::to_string(&rest).ok()?;
        serde_urlencoded::from_str::<T>(&encoded)
            .ok()
            .map(|_| pairs[skip].0.clone())
    })
}

async fn parse_path<T: DeserializeOwned + Send, S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<T, Refused> {
    if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await {
        for (k, v) in &raw {
            if check_text(v).is_err() {
                return Err(Refused::new(k, Msg::ControlCharacter, None));
            }
        }
    }
    match axum::extract::Path::<T>::from_request_parts(parts, state).await {
        Ok(axum::extract::Path(v)) => Ok(v),
        Err(e) => {
            use axum::extract::path::ErrorKind;
            let name = match e {
                axum::extract::rejection::PathRejection::FailedToDeserializePathParams(
                    ref inner,
                ) => match inner.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    ErrorKind::ParseErrorAtIndex { index, .. } => format!("{index}"),
                    _ => "path".into(),
                },
                _ => "path".into(),
            };
            Err(Refused::new(&name, Msg::BadParameter, Some(e.body_text())))
        }
    }
}

/// Path parameters. A value of the wrong shape (an impossible date, a number too large) or with
/// control characters: 400 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        parse_path(parts, state)
            .await
            .map(Path)
            .map_err(|r| r.problem(lang))
    }
}

/// Path parameters of a screen (refusals are error pages).
#[derive(Debug, Clone, Copy, Default)]
pub struct ScreenPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ScreenPath<T> {
    type Rejection = crate::error::PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        parse_path(parts, state)
            .await
            .map(ScreenPath)
            .map_err(|r| r.page(lang))
    }
}

/// The raw body of an import route (CSV in UTF-8 or Shift_JIS), up to
/// [`IMPORT_BODY_LIMIT`]; more is a 413 problem.
pub struct ImportBody(pub Bytes);

impl FromRequest<AppState> for ImportBody {
    type Rejection = Response;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(req.headers());
        axum::body::to_bytes(req.into_body(), IMPORT_BODY_LIMIT)
            .await
            .map(ImportBody)
            .map_err(|_| body_rejection(StatusCode::PAYLOAD_TOO_LARGE, lang))
    }
}

/// A screen form (`application/x-www-form-urlencoded`), every value through the one text
/// check. Refusals are pages, like every other error of a screen.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = crate::error::PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(req.headers());
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| crate::error::PageError(AppError::invalid("body", Msg::BadBody), lang))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| crate::error::PageError(AppError::invalid("body", Msg::BadBody), lang))?;
        let mut inv = Invalid::default();
        for (k, v) in &pairs {
            if check_text(k).is_err() || check_text(v).is_err() {
                inv.push(k, Msg::ControlCharacter);
            }
        }
        if !inv.is_empty() {
            return Err(crate::error::PageError(AppError::Invalid(inv), lang));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|_| crate::error::PageError(AppError::invalid("body", Msg::BadBody), lang))
    }
}

/// `ApiError` for extractor-level refusals raised inside handlers.
pub fn bad_parameter(name: &str, msg: Msg, lang: Lang) -> ApiError {
    ApiError::App(AppError::BadParameter(Invalid::one(name, msg)), lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Q {
        page: Option<u64>,
        q: Option<String>,
    }

    #[test]
    fn query_refusals_name_the_parameter() {
        let field = |r: Result<Q, Refused>| r.err().map(|r| (r.field, r.msg));
        assert_eq!(
            field(parse_query("page=abc&q=x")),
            Some(("page".into(), Msg::InvalidInput))
        );
        assert_eq!(
            field(parse_query("q=x&page=99999999999999999999999")).map(|f| f.0),
            Some("page".into())
        );
        assert_eq!(
            field(parse_query("q=a%00b")),
            Some(("q".into(), Msg::ControlCharacter))
        );
        assert!(parse_query::<Q>("page=2&q=%E6%B8%AF").is_ok());
        assert_eq!(
            culprit::<Q>(&[("q".into(), "x".into()), ("page".into(), "-1".into())]),
            Some("page".into())
        );
    }

    #[test]
    fn json_refusals() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct B {
            name: String,
            n: u32,
        }
        let s = |r: Result<B, JsonRefused>| r.err().map(|r| r.problem(Lang::Ja).status());
        assert_eq!(s(parse_json(b"{")), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            s(parse_json(br#"{"name":"a\u0000","n":1}"#)),
            Some(StatusCode::UNPROCESSABLE_ENTITY)
        );
        assert_eq!(
            s(parse_json(br#"{"name":"a","n":-1}"#)),
            Some(StatusCode::UNPROCESSABLE_ENTITY)
        );
        assert!(parse_json::<B>(br#"{"name":"a\nb","n":1}"#).is_ok());
    }
}
