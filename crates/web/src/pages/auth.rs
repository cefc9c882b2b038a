//! Login, TOTP, logout, password change and the language switch.

use super::form::{Errs, Flash, done};
use super::{Chrome, local_path};
use crate::AppState;
use crate::error::{PageError, render, render_status};
use crate::extract::{Form, ScreenQuery as Query};
use crate::i18n::{LANG_COOKIE, Ui};
use crate::security::request_ip;
use crate::session::{
    ActiveStep, InStage, LoginStep, ReqLang, SignedIn, TotpSetupStep, TotpStep,
    login_csrf_cookie_name, session_cookie_name, set_cookie, stage_home,
};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vsys_app::AppError;
use vsys_app::auth::{self, LoginRequest, SessionKind, random_token};
use vsys_domain::Msg;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub c: Chrome,
    pub login_csrf: String,
    pub email: String,
    pub error: Option<String>,
    pub message: Option<String>,
    /// The page to return to after logging in (a local path, or empty).
    pub next: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    expired: Option<String>,
    flash: Option<String>,
    next: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn login_page_response(
    state: &AppState,
    lang: vsys_domain::Lang,
    email: String,
    error: Option<String>,
    message: Option<String>,
    next: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = random_token();
    let page = LoginPage {
        c: Chrome::anonymous(lang, Ui::Login, "/login"),
        login_csrf: token.clone(),
        email,
        error,
        message,
        next: next.and_then(local_path).unwrap_or_default().to_owned(),
    };
    let mut res = render_status(status, &page);
    if let Ok(v) = set_cookie(state, login_csrf_cookie_name(state), &token, Some(3600)).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn login_page(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Query(q): Query<LoginQuery>,
) -> Response {
    let message = if q.expired.is_some() {
        Some(Msg::SessionExpired.text(lang).to_owned())
    } else if q.flash.as_deref().and_then(Flash::parse) == Some(Flash::LoggedOut) {
        Some(Ui::LoggedOut.text(lang).to_owned())
    } else {
        None
    };
    login_page_response(
        &state,
        lang,
        String::new(),
        None,
        message,
        q.next.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    parts: Parts,
    Form(f): Form<LoginForm>,
) -> Response {
    let ip = request_ip(&state, &parts);
    let req = LoginRequest {
        email: &f.email,
        password: &f.password,
        totp: None,
        ip,
        kind: SessionKind::Web,
    };
    match auth::login(&state.app, req).await {
        Ok(s) => {
            let next = match s.stage {
                auth::Stage::Active => local_path(&f.next).unwrap_or("/"),
                other => stage_home(other),
            };
            let mut res = Redirect::to(next).into_response();
            if let Ok(v) = set_cookie(&state, session_cookie_name(&state), &s.token, None).parse() {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(e @ (AppError::LoginFailed | AppError::Throttled { .. } | AppError::Invalid(_))) => {
            let status = crate::error::classify(&e).0;
            let text = match &e {
                AppError::Invalid(inv) => inv
                    .0
                    .first()
                    .map(|f| f.msg.text(lang))
                    .unwrap_or(e.text(lang)),
                _ => e.text(lang),
            };
            login_page_response(
                &state,
                lang,
                f.email,
                Some(text.to_owned()),
                None,
                Some(&f.next),
                status,
            )
        }
        Err(e) => PageError(e, lang).into_response(),
    }
}

#[derive(Template)]
#[template(path = "totp.html")]
pub struct TotpPage {
    pub c: Chrome,
    pub action: &'static str,
    pub secret: Option<String>,
    pub error: Option<String>,
}

fn totp_chrome<S: LoginStep>(
    lang: vsys_domain::Lang,
    s: &InStage<S>,
    path: &str,
    title: Ui,
) -> Chrome {
    Chrome {
        csrf: s.auth.actor.csrf_token().to_owned(),
        ..Chrome::anonymous(lang, title, path)
    }
}

pub async fn totp_page(s: InStage<TotpStep>) -> Response {
    render(&TotpPage {
        c: totp_chrome(s.lang, &s, "/login/totp", Ui::TotpTitle),
        action: "/login/totp",
        secret: None,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct TotpForm {
    code: String,
    secret: Option<String>,
}

pub async fn totp_submit(
    State(state): State<AppState>,
    s: InStage<TotpStep>,
    Form(f): Form<TotpForm>,
) -> Response {
    match auth::complete_totp(&state.app, &s.auth.actor, &f.code).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(AppError::TotpInvalid) => {
            let page = TotpPage {
                c: totp_chrome(s.lang, &s, "/login/totp", Ui::TotpTitle),
                action: "/login/totp",
                secret: None,
                error: Some(Msg::TotpInvalid.text(s.lang).to_owned()),
            };
            render_status(StatusCode::UNAUTHORIZED, &page)
        }
        Err(e @ AppError::Throttled { .. }) => {
            let page = TotpPage {
                c: totp_chrome(s.lang, &s, "/login/totp", Ui::TotpTitle),
                action: "/login/totp",
                secret: None,
                error: Some(e.text(s.lang).to_owned()),
            };
            render_status(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(e) => PageError(e, s.lang).into_response(),
    }
}

pub async fn totp_setup_page(s: InStage<TotpSetupStep>) -> Response {
    let secret = auth::new_totp_secret().to_base32();
    render(&TotpPage {
        c: totp_chrome(s.lang, &s, "/login/totp-setup", Ui::TotpSetupTitle),
        action: "/login/totp-setup",
        secret: Some(secret),
        error: None,
    })
}

pub async fn totp_setup_submit(
    State(state): State<AppState>,
    s: InStage<TotpSetupStep>,
    Form(f): Form<TotpForm>,
) -> Response {
    let secret = f.secret.unwrap_or_default();
    match auth::enable_totp(&state.app, &s.auth.actor, &secret, &f.code).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(AppError::Invalid(_)) => {
            let page = TotpPage {
                c: totp_chrome(s.lang, &s, "/login/totp-setup", Ui::TotpSetupTitle),
                action: "/login/totp-setup",
                secret: Some(secret),
                error: Some(Msg::TotpInvalid.text(s.lang).to_owned()),
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => PageError(e, s.lang).into_response(),
    }
}

pub async fn logout(State(state): State<AppState>, s: SignedIn) -> Response {
    if let Err(e) = auth::logout(&state.app, &s.auth.actor).await {
        return PageError(e, s.lang).into_response();
    }
    let mut res = done("/login", Flash::LoggedOut, "");
    if let Ok(v) = set_cookie(&state, session_cookie_name(&state), "", Some(0)).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub c: Chrome,
    pub forced: bool,
    pub errs: Errs,
}

/// The password page is reachable while a change is forced (the only page that is).
pub async fn password_page(
    State(state): State<AppState>,
    s: InStage<ActiveStep>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let a = &s.auth.actor;
    let c = Chrome::for_actor(
        &state.app,
        a,
        s.lang,
        Ui::ChangePassword.text(s.lang),
        "/password",
    )
    .await
    .with_flash(q.flash.as_deref());
    render(&PasswordPage {
        c,
        forced: a.must_change_password(),
        errs: Errs::none(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    s: InStage<ActiveStep>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let a = &s.auth.actor;
    let lang = s.lang;
    let result = if f.new_password != f.confirm_password {
        Err(AppError::invalid("confirm_password", Msg::PasswordMismatch))
    } else {
        auth::change_password(&state.app, a, &f.current_password, &f.new_password).await
    };
    match result {
        Ok(()) => done("/", Flash::Password, ""),
        Err(e @ AppError::Invalid(_)) => {
            let c = Chrome::for_actor(
                &state.app,
                a,
                lang,
                Ui::ChangePassword.text(lang),
                "/password",
            )
            .await;
            let page = PasswordPage {
                c,
                forced: a.must_change_password(),
                errs: Errs::of("password", &e, lang),
            };
            render_status(page.errs.status(), &page)
        }
        Err(e) => PageError(e, lang).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LangQuery {
    set: String,
    next: Option<String>,
}

/// Switches the language (a preference cookie only) and returns to the page.
pub async fn set_lang(State(state): State<AppState>, Query(q): Query<LangQuery>) -> Response {
    let lang = vsys_domain::Lang::parse(&q.set).unwrap_or_default();
    let next = q.next.as_deref().and_then(local_path).unwrap_or("/");
    let mut res = Redirect::to(next).into_response();
    let cookie = set_cookie(&state, LANG_COOKIE, lang.code(), Some(365 * 24 * 3600))
        .replace("; HttpOnly", "");
    if let Ok(v) = cookie.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
