//! Who is calling: the browser session (cookie + CSRF) for screens, the bearer token for the
//! API. Both end in `vsys_app::auth::authenticate`.

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::i18n::{cookie, lang_of};
use crate::security::request_ip;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vsys_app::auth::{self, Authenticated, SessionKind, Stage};
use vsys_app::{Actor, AppError};
use vsys_domain::Lang;

/// The CSRF cookie of the login form (double-submit; there is no session yet). `__Host-` like
/// the session cookie whenever that one is (only this host, path `/`, `Secure`).
pub fn login_csrf_cookie_name(state: &AppState) -> &'static str {
    if state.app.config.cookie_secure {
        "__Host-vsys_login_csrf"
    } else {
        "vsys_login_csrf"
    }
}
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.app.config.cookie_secure {
        "__Host-vsys_session"
    } else {
        "vsys_session"
    }
}

/// A `Set-Cookie` value with our attributes (`Secure` unless configured for plain http).
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> String {
    let secure = if state.app.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}")
}

/// What the web guard learnt about the browser's session.
#[derive(Clone, Debug)]
pub enum WebAuth {
    None,
    Expired,
    Some(Box<Authenticated>),
}

/// Runs before every screen: authenticates the session cookie and refuses any state-changing
/// request without the right CSRF token, so no handler can forget either.
pub async fn web_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let lang = lang_of(&parts.headers);
    let ip = request_ip(&state, &parts);
    let auth = match cookie(&parts.headers, session_cookie_name(&state)) {
        Some(token) => match auth::authenticate(&state.app, &token, SessionKind::Web, ip).await {
            Ok(a) => WebAuth::Some(Box::new(a)),
            Err(AppError::SessionExpired) => WebAuth::Expired,
            Err(AppError::NotLoggedIn) => WebAuth::None,
            Err(e) => return PageError(e, lang).into_response(),
        },
        None => WebAuth::None,
    };
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let mut body = body;
    if unsafe_method {
        // Whose token to expect is known before the body is read: a request that cannot pass
        // is refused without reading (or buffering) what it sends.
        let login_form = parts.uri.path() == "/login";
        let expected = match &auth {
            _ if login_form => cookie(&parts.headers, login_csrf_cookie_name(&state)),
            WebAuth::Some(a) => Some(a.actor.csrf_token().to_owned()),
            WebAuth::Expired => return PageError(AppError::SessionExpired, lang).into_response(),
            WebAuth::None => return PageError(AppError::NotLoggedIn, lang).into_response(),
        };
        let limit = if login_form {
            64 * 1024
        } else {
            crate::extract::IMPORT_BODY_LIMIT
        };
        let bytes = match to_bytes(body, limit).await {
            Ok(b) => b,
            Err(_) => {
                return PageError(
                    AppError::invalid("body", vsys_domain::Msg::BodyTooLarge),
                    lang,
                )
                .into_response();
            }
        };
        let header_token = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let form_token = if content_type.starts_with("application/x-www-form-urlencoded") {
            url_form_field(&bytes, CSRF_FIELD)
        } else if content_type.starts_with("multipart/form-data") {
            multipart_field(&bytes, &content_type, CSRF_FIELD)
        } else {
            None
        };
        let given = header_token.or(form_token).unwrap_or_default();
        if !expected.is_some_and(|e| !e.is_empty() && constant_eq(e.as_bytes(), given.as_bytes())) {
            tracing::warn!(path = %parts.uri.path(), "CSRF token rejected");
            return PageError(AppError::Csrf, lang).into_response();
        }
        body = Body::from(bytes);
    }
    let expired = matches!(auth, WebAuth::Expired);
    parts.extensions.insert(auth);
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if expired && let Ok(v) = set_cookie(&state, session_cookie_name(&state), "", Some(0)).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn url_form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body).ok()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| {
            urlencoding::decode(&v.replace('+', " "))
                .map(|s| s.into_owned())
                .unwrap_or_default()
        })
    })
}

/// A small text field of a `multipart/form-data` body (file uploads carry `_csrf` this way).
fn multipart_field(body: &[u8], content_type: &str, name: &str) -> Option<String> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    let wanted = format!("name=\"{name}\"");
    text.split(delimiter.as_str()).find_map(|part| {
        let (head, value) = part.split_once("\r\n\r\n")?;
        head.contains(&wanted).then(|| {
            value
                .trim_end_matches("\r\n")
                .trim_end_matches("--")
                .trim()
                .to_owned()
        })
    })
}

pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request's language.
pub struct ReqLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ReqLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqLang(lang_of(&parts.headers)))
    }
}

/// A logged-in staff user on a screen (past every login step).
pub struct WebUser {
    pub actor: Actor,
    pub lang: Lang,
}

impl<S: Send + Sync> FromRequestParts<S> for WebUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        // Where to come back to after logging in (GET pages only: a form cannot be replayed).
        let next = || {
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            if parts.method == Method::GET && path != "/" {
                format!("next={}", urlencoding::encode(path))
            } else {
                String::new()
            }
        };
        let login = |expired: bool| {
            let mut q: Vec<String> = Vec::new();
            if expired {
                q.push("expired=1".into());
            }
            let n = next();
            if !n.is_empty() {
                q.push(n);
            }
            let url = if q.is_empty() {
                "/login".to_owned()
            } else {
                format!("/login?{}", q.join("&"))
            };
            axum::response::Redirect::to(&url).into_response()
        };
        match parts.extensions.get::<WebAuth>() {
            Some(WebAuth::Some(a)) => match a.stage {
                Stage::Active if a.actor.must_change_password() => {
                    Err(PageError(AppError::PasswordChangeRequired, lang).into_response())
                }
                Stage::Active => Ok(WebUser {
                    actor: a.actor.clone(),
                    lang,
                }),
                Stage::TotpSetup => {
                    Err(PageError(AppError::TotpSetupRequired, lang).into_response())
                }
                Stage::Totp => Err(login(false)),
            },
            Some(WebAuth::Expired) => Err(login(true)),
            _ => Err(login(false)),
        }
    }
}

/// Where a session in `stage` belongs: the page of its next step.
pub fn stage_home(stage: Stage) -> &'static str {
    match stage {
        Stage::Active => "/",
        Stage::Totp => "/login/totp",
        Stage::TotpSetup => "/login/totp-setup",
    }
}

/// A login stage a handler serves.
pub trait LoginStep {
    const STAGE: Stage;
}
/// Logged in (the password page, which a forced change still reaches).
pub struct ActiveStep;
impl LoginStep for ActiveStep {
    const STAGE: Stage = Stage::Active;
}
/// Waiting for the TOTP code.
pub struct TotpStep;
impl LoginStep for TotpStep {
    const STAGE: Stage = Stage::Totp;
}
/// Waiting for the first enrolment of an authenticator.
pub struct TotpSetupStep;
impl LoginStep for TotpSetupStep {
    const STAGE: Stage = Stage::TotpSetup;
}

/// A browser session in exactly the login stage `S`. Every login-stage handler takes one, so
/// none can act in another stage: a session elsewhere is sent to the page of its own stage
/// (and the use-case checks the stage again in the database).
pub struct InStage<S: LoginStep> {
    pub auth: Authenticated,
    pub lang: Lang,
    _stage: std::marker::PhantomData<S>,
}

impl<S: LoginStep, St: Send + Sync> FromRequestParts<St> for InStage<S> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        match parts.extensions.get::<WebAuth>() {
            Some(WebAuth::Some(a)) if a.stage == S::STAGE => Ok(InStage {
                auth: (**a).clone(),
                lang,
                _stage: std::marker::PhantomData,
            }),
            Some(WebAuth::Some(a)) => {
                Err(axum::response::Redirect::to(stage_home(a.stage)).into_response())
            }
            Some(WebAuth::Expired) => {
                Err(PageError(AppError::SessionExpired, lang).into_response())
            }
            _ => Err(PageError(AppError::NotLoggedIn, lang).into_response()),
        }
    }
}

/// A browser session at any login stage (only logging out takes this).
pub struct SignedIn {
    pub auth: Authenticated,
    pub lang: Lang,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        match parts.extensions.get::<WebAuth>() {
            Some(WebAuth::Some(a)) => Ok(SignedIn {
                auth: (**a).clone(),
                lang,
            }),
            Some(WebAuth::Expired) => Err(PageError(AppError::SessionExpired, lang)),
            _ => Err(PageError(AppError::NotLoggedIn, lang)),
        }
    }
}

/// What an organisation API token reaches: the delivery API (deliverers' systems) and the bulk
/// update of reservation statuses (municipalities' booking systems). What a token may do
/// there is the use-cases' question, as for anyone.
const TOKEN_PATHS: [&str; 2] = ["/api/v1/deliveries", "/api/v1/reservations"];

/// An API caller with a bearer token.
pub struct ApiUser {
    pub actor: Actor,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::App(AppError::NotLoggedIn, lang))?;
        let ip = request_ip(state, parts);
        if token.starts_with(vsys_app::api_tokens::PREFIX) {
            // An organisation token (a deliverer's delivery system, a municipality's booking
            // system) reaches the operations of those systems only.
            let path = parts.uri.path();
            if !TOKEN_PATHS.iter().any(|p| path.starts_with(p)) {
                return Err(ApiError::App(AppError::Forbidden, lang));
            }
            let actor = vsys_app::api_tokens::authenticate(&state.app, token, ip)
                .await
                .map_err(|e| ApiError::App(e, lang))?;
            return Ok(ApiUser { actor, lang });
        }
        let a = auth::authenticate(&state.app, token, SessionKind::Api, ip)
            .await
            .map_err(|e| ApiError::App(e, lang))?;
        Ok(ApiUser {
            actor: a.actor,
            lang,
        })
    }
}
