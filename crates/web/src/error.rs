//! Errors as the two audiences see them: RFC 9457 problem details on the API, friendly pages on
//! screens. Internals go to the log only.

use crate::i18n::{L, Ui};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use vsys_app::AppError;
use vsys_domain::validation::LocalizedFieldError;
use vsys_domain::{Lang, Msg};

/// The status and problem type of an application error.
pub fn classify(e: &AppError) -> (StatusCode, &'static str) {
    match e {
        AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        AppError::BadParameter(_) => (StatusCode::BAD_REQUEST, "bad-parameter"),
        AppError::State(_) => (StatusCode::CONFLICT, "wrong-state"),
        AppError::Csv(_) => (StatusCode::UNPROCESSABLE_ENTITY, "csv"),
        AppError::NotLoggedIn => (StatusCode::UNAUTHORIZED, "not-logged-in"),
        AppError::SessionExpired => (StatusCode::UNAUTHORIZED, "session-expired"),
        AppError::LoginFailed => (StatusCode::UNAUTHORIZED, "login-failed"),
        AppError::TotpRequired => (StatusCode::UNAUTHORIZED, "totp-required"),
        AppError::TotpInvalid => (StatusCode::UNAUTHORIZED, "totp-invalid"),
        AppError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "login-throttled"),
        AppError::TotpSetupRequired => (StatusCode::FORBIDDEN, "totp-setup-required"),
        AppError::PasswordChangeRequired => (StatusCode::FORBIDDEN, "password-change-required"),
        AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        AppError::Csrf => (StatusCode::FORBIDDEN, "csrf"),
        AppError::NotFound => (StatusCode::NOT_FOUND, "not-found"),
        AppError::Conflict => (StatusCode::PRECONDITION_FAILED, "conflict"),
        AppError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        AppError::TooManyAtOnce { .. } => (StatusCode::TOO_MANY_REQUESTS, "too-many-requests"),
        AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// Seconds to announce in `Retry-After` for throttled and locked logins.
fn retry_after(e: &AppError) -> Option<i64> {
    match e {
        AppError::Throttled { retry_after_secs }
        | AppError::Busy { retry_after_secs }
        | AppError::TooManyAtOnce { retry_after_secs } => Some(*retry_after_secs),
        _ => None,
    }
}

/// An RFC 9457 problem document (`application/problem+json`), in the caller's language.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The kind of problem, a relative URI: `/problems/validation`, `/problems/not-found` …
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    /// What went wrong, for a person.
    pub title: String,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// More about this occurrence (e.g. the CSV row and cell), where there is more to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
    /// Each refused field or parameter (422 and 400 `/problems/bad-parameter`); absent when
    /// there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<LocalizedFieldError>,
}

/// An error of an API operation, rendered as problem details in the caller's language.
#[derive(Debug)]
pub enum ApiError {
    App(AppError, Lang),
    /// An update without `If-Match`.
    PreconditionRequired(Lang),
    BadRequest(String, Lang),
}

impl ApiError {
    pub fn new(e: AppError, lang: Lang) -> Self {
        ApiError::App(e, lang)
    }
}

pub fn problem_response(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: Option<String>,
    errors: Vec<LocalizedFieldError>,
) -> Response {
    let p = Problem {
        kind: format!("/problems/{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        errors,
    };
    let mut res = (status, axum::Json(p)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

/// A problem document for a bare HTTP status (framework and layer refusals).
pub fn status_problem(status: StatusCode, lang: Lang, detail: Option<String>) -> Response {
    let (slug, msg) = match status {
        StatusCode::BAD_REQUEST => ("bad-request", Msg::BadParameter),
        StatusCode::UNAUTHORIZED => ("not-logged-in", Msg::NotLoggedIn),
        StatusCode::FORBIDDEN => ("forbidden", Msg::Forbidden),
        StatusCode::NOT_FOUND => ("not-found", Msg::NotFound),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", Msg::MethodNotAllowed),
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", Msg::BodyTooLarge),
        StatusCode::URI_TOO_LONG => ("uri-too-long", Msg::UriTooLong),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", Msg::UnsupportedMediaType),
        StatusCode::UNPROCESSABLE_ENTITY => ("validation", Msg::InvalidInput),
        StatusCode::TOO_MANY_REQUESTS => ("too-many-requests", Msg::LoginThrottled),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", Msg::Unavailable),
        s if s.is_server_error() => ("internal", Msg::Internal),
        _ => ("bad-request", Msg::InvalidInput),
    };
    problem_response(status, slug, msg.text(lang), detail, vec![])
}

/// What a panicking handler answers (the panic is logged; the connection stays up).
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = what, "handler panicked");
    metrics::counter!("vsys_panics_total").increment(1);
    status_problem(StatusCode::INTERNAL_SERVER_ERROR, Lang::default(), None)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::App(e, lang) => {
                let (status, slug) = classify(&e);
                if let AppError::Internal(inner) = &e {
                    tracing::error!(error = %inner, "internal error");
                }
                let errors = match &e {
                    AppError::Invalid(inv) | AppError::BadParameter(inv) => {
                        inv.0.iter().map(|f| f.localized(lang)).collect()
                    }
                    _ => Vec::new(),
                };
                let mut res = problem_response(status, slug, e.text(lang), e.detail(lang), errors);
                if let Some(secs) = retry_after(&e)
                    && let Ok(v) = HeaderValue::from_str(&secs.to_string())
                {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            ApiError::PreconditionRequired(lang) => problem_response(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                Msg::PreconditionRequired.text(lang),
                None,
                vec![],
            ),
            ApiError::BadRequest(detail, lang) => problem_response(
                StatusCode::BAD_REQUEST,
                "bad-request",
                Msg::InvalidInput.text(lang),
                Some(detail),
                vec![],
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub l: L,
    pub message: String,
    pub status: u16,
}

/// An error of a screen: a redirect where the person has somewhere to go, else a page.
#[derive(Debug)]
pub struct PageError(pub AppError, pub Lang);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let PageError(e, lang) = self;
        match e {
            AppError::NotLoggedIn => Redirect::to("/login").into_response(),
            AppError::SessionExpired => Redirect::to("/login?expired=1").into_response(),
            AppError::PasswordChangeRequired => Redirect::to("/password").into_response(),
            AppError::TotpSetupRequired => Redirect::to("/login/totp-setup").into_response(),
            e => {
                let (status, _) = classify(&e);
                if let AppError::Internal(inner) = &e {
                    tracing::error!(error = %inner, "internal error");
                }
                let mut res = render_status(
                    status,
                    &ErrorPage {
                        l: L(lang),
                        message: e.detail(lang).unwrap_or_else(|| e.text(lang).to_owned()),
                        status: status.as_u16(),
                    },
                );
                if let Some(secs) = retry_after(&e)
                    && let Ok(v) = HeaderValue::from_str(&secs.to_string())
                {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
        }
    }
}

/// Renders a template as an HTML response.
pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

pub fn render<T: Template>(t: &T) -> Response {
    render_status(StatusCode::OK, t)
}

pub fn ui_title(l: L, u: Ui) -> String {
    l.t(u).to_owned()
}

/// The API error of an application error, in the caller's language (`map_err(api_err(lang))`).
pub fn api_err(lang: Lang) -> impl Fn(vsys_app::AppError) -> ApiError {
    move |e| ApiError::new(e, lang)
}
