//! 基本情報: a deliverer's own contact details, kept by its operators and read by the
//! organisations above it.

use super::Chrome;
use super::display::org_name;
use super::form::{Errs, Flash, FlashQuery, FormMap, Shown, Vals, digits, done, opt, version};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, field_label, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use vsys_domain::Action;

/// The fields of a deliverer's basic information, in the order shown.
const INFO_FIELDS: [&str; 5] = ["postal_code", "address", "phone", "contact", "email"];

#[derive(Template)]
#[template(path = "deliverer_info.html")]
pub struct DelivererInfoPage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub kind_label: &'static str,
    /// The deliverer's own operators edit; the organisations above it only look.
    pub can_edit: bool,
    /// field, label, value stored (read-only view)
    pub stored: Vec<(&'static str, &'static str, String)>,
    /// What the form shows: what was typed into a refused one, or the stored values.
    pub vals: Vals,
    /// The version read (0: never registered).
    pub version: i64,
    /// When last changed ("" when never registered).
    pub updated_at: String,
    pub errs: Errs,
}

fn profile_value(p: &vsys_app::rows::DelivererProfileRow, field: &str) -> String {
    match field {
        "postal_code" => p.postal_code.clone(),
        "address" => p.address.clone(),
        "phone" => p.phone.clone(),
        "contact" => p.contact.clone(),
        "email" => p.email.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

/// The page; after a refused form, with the reasons and what was typed (and the version the
/// form was read at).
async fn deliverer_info_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: Shown,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let org = vsys_app::orgs::get(&s.app, a, code).await.map_err(err)?;
    let p = vsys_app::delivery::deliverer_info(&s.app, a, &org.code)
        .await
        .map_err(err)?;
    let can_edit = a.principal().is_own(&org.path) && a.principal().may(Action::Write, &org.path);
    let stored: Vec<(&'static str, &'static str, String)> = INFO_FIELDS
        .iter()
        .map(|f| (*f, field_label(f, lang), profile_value(&p, f)))
        .collect();
    let mut vals = Vals::default();
    for (f, _, v) in &stored {
        vals.set(&format!("info.{f}"), v.clone());
    }
    let version = shown.typed.as_ref().map_or(p.version, version);
    let vals = shown.vals(vals, &[]);
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::DelivererInfo.text(lang),
        &format!("/orgs/{}/deliverer-info", org.code),
    )
    .await
    .with_flash(shown.flash.as_deref());
    Ok(render_status(
        shown.errs.status(),
        &DelivererInfoPage {
            c,
            org_name: org_name(&org, lang),
            kind_label: org.kind.label(lang),
            code: org.code.clone(),
            can_edit,
            stored,
            vals,
            version,
            updated_at: if p.version > 0 {
                jst(&p.updated_at)
            } else {
                String::new()
            },
            errs: shown.errs,
        },
    ))
}

pub async fn deliverer_info(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    deliverer_info_page(&s, &u, &code, Shown::asked(q.flash)).await
}

/// Saves the deliverer's basic information (`version`: the one the form was read at).
pub async fn deliverer_info_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let input = vsys_app::delivery::DelivererInfo {
        postal_code: opt(&f, "postal_code"),
        address: opt(&f, "address"),
        phone: digits(&f, "phone"),
        contact: opt(&f, "contact"),
        email: opt(&f, "email"),
    };
    let r = vsys_app::delivery::set_deliverer_info(&s.app, &u.actor, &code, version(&f), &input);
    match r.await {
        Ok(_) => Ok(done(
            &format!("/orgs/{}/deliverer-info", urlencoding::encode(&code)),
            Flash::DelivererInfoSaved,
            "",
        )),
        // A conflict shows what is stored now (and its version); a refusal what was typed.
        Err(e) => {
            let shown = Shown::after("info", e, f, u.lang)?;
            deliverer_info_page(&s, &u, &code, shown).await
        }
    }
}
