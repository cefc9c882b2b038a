//! An organisation's API tokens (for its own systems), managed by its administrators; the
//! secret is shown once, on the page that answers the creation (only its hash is kept).

use super::Chrome;
use super::display::{org_name, when};
use super::form::{Errs, Flash, FlashQuery, FormMap, Shown, Vals, done, text};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use vsys_app::Actor;
use vsys_app::rows::OrgRow;
use vsys_domain::Capability;

/// A deliverer's own administrators manage its API tokens (for its own systems).
pub(super) fn may_manage_tokens(a: &Actor, org: &OrgRow) -> bool {
    a.principal().is_own(&org.path) && a.can(Capability::ManageApiTokens)
}

pub struct TokenLine {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub revoked: String,
    pub active: bool,
}

/// A token just created: its name and the secret, shown this once.
pub struct NewSecret {
    pub name: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "api_tokens.html")]
pub struct TokensPage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub tokens: Vec<TokenLine>,
    pub created: Option<NewSecret>,
    pub errs: Errs,
    pub vals: Vals,
}

/// The list; with the secret of a token just created (`created`), or after a refused form.
async fn tokens_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: Shown,
    created: Option<NewSecret>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let list = vsys_app::api_tokens::list(&s.app, a, code)
        .await
        .map_err(err)?;
    let org = vsys_app::orgs::get(&s.app, a, code).await.map_err(err)?;
    let tokens = list
        .into_iter()
        .map(|t| TokenLine {
            active: t.revoked_at.is_none(),
            revoked: when(t.revoked_at.as_ref()),
            last_used: t
                .last_used_at
                .as_ref()
                .map(jst)
                .unwrap_or_else(|| Ui::Never.text(lang).to_owned()),
            created: jst(&t.created_at),
            id: t.id,
            name: t.name,
        })
        .collect();
    let vals = shown.vals(Vals::default(), &[]);
    let mut c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::ApiTokens.text(lang),
        &format!("/orgs/{}/api-tokens", org.code),
    )
    .await
    .with_flash(shown.flash.as_deref());
    if created.is_some() {
        c.flash = Some(Ui::TokenCreated.text(lang).to_owned());
    }
    Ok(render_status(
        shown.errs.status(),
        &TokensPage {
            c,
            org_name: org_name(&org, lang),
            code: org.code,
            tokens,
            created,
            errs: shown.errs,
            vals,
        },
    ))
}

pub async fn tokens(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    tokens_page(&s, &u, &code, Shown::asked(q.flash), None).await
}

/// Issues a token: the answer is the page with the secret, shown this once (a reload of the
/// list never shows it again; only its hash is kept).
pub async fn token_create(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let name = text(&f, "name");
    match vsys_app::api_tokens::create(&s.app, &u.actor, &code, &name).await {
        Ok(t) => {
            let created = NewSecret {
                name: t.token.name,
                secret: t.secret,
            };
            tokens_page(&s, &u, &code, Shown::default(), Some(created)).await
        }
        Err(e) => {
            let shown = Shown::after("token", e, f, u.lang)?;
            tokens_page(&s, &u, &code, shown, None).await
        }
    }
}

pub async fn token_revoke(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    vsys_app::api_tokens::revoke(&s.app, &u.actor, &code, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done(
        &format!("/orgs/{}/api-tokens", urlencoding::encode(&code)),
        Flash::TokenRevoked,
        "",
    ))
}
