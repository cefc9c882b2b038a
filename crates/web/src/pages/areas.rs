//! 担当地域: the areas a deliverer serves (the municipalities a wholesaler delivers to, the
//! areas of a dry-ice maker), set by the organisation above it.

use super::Chrome;
use super::display::org_name;
use super::form::{Errs, Flash, FlashQuery, Shown, ascii_digits, done};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::Ui;
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use std::collections::HashSet;
use vsys_app::rows::{OrgRow, Page};
use vsys_app::{Actor, AppError};
use vsys_domain::{Action, OrgKind};

/// The organisation above a deliverer (the prefecture of a wholesaler, the nation of a dry-ice
/// maker) sets its areas: its operators, never the deliverer itself.
pub(super) fn may_set_areas(a: &Actor, org: &OrgRow) -> bool {
    let parent_path = org
        .path
        .trim_end_matches('/')
        .rsplit_once('/')
        .map(|(p, _)| format!("{p}/"))
        .unwrap_or_default();
    org.kind.serves_areas()
        && !parent_path.is_empty()
        && a.principal().may(Action::Write, &parent_path)
        && !a.principal().is_own(&org.path)
}

pub struct AreaOption {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "areas.html")]
pub struct AreasPage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub kind_label: &'static str,
    /// A wholesaler (municipalities of its prefecture, ticked) rather than a dry-ice maker
    /// (codes typed).
    pub is_wholesaler: bool,
    /// code, name
    pub areas: Vec<(String, String)>,
    pub can_set: bool,
    pub options: Vec<AreaOption>,
    /// The codes in the text box (dry-ice makers).
    pub typed: String,
    pub errs: Errs,
}

/// What a refused form sent: the codes (ticked and typed), and the text typed.
struct Sent {
    codes: Vec<String>,
    text: String,
}

/// The areas; after a refused form, with the reasons and what it sent.
async fn areas_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: Shown,
    sent: Option<Sent>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let org = vsys_app::orgs::get(&s.app, a, code).await.map_err(err)?;
    if !org.kind.serves_areas() {
        return Err(err(AppError::NotFound));
    }
    let current = vsys_app::orgs::areas(&s.app, a, &org.code)
        .await
        .map_err(err)?;
    let is_wholesaler = org.kind == OrgKind::Wholesaler;
    let can_set = may_set_areas(a, &org);
    let mut choices: Vec<(String, String)> = Vec::new();
    if can_set
        && is_wholesaler
        && let Some(pref) = org.prefecture_code.clone().or(org.parent_code.clone())
    {
        let (ms, _) = vsys_app::orgs::list(
            &s.app,
            a,
            &vsys_app::orgs::OrgQuery {
                kind: Some("municipality".into()),
                parent: Some(pref),
                per_page: Some(Page::MAX_PER_PAGE),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
        choices = ms
            .iter()
            .map(|m| (m.code.clone(), org_name(m, lang)))
            .collect();
    }
    let names = vsys_app::orgs::names(&s.app, a, &current, lang)
        .await
        .map_err(err)?;
    let ticked: HashSet<&String> = match &sent {
        Some(x) => x.codes.iter().collect(),
        None => current.iter().collect(),
    };
    let options = choices
        .into_iter()
        .map(|(code, name)| AreaOption {
            checked: ticked.contains(&code),
            code,
            name,
        })
        .collect();
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::Areas.text(lang),
        &format!("/orgs/{}/areas", org.code),
    )
    .await
    .with_flash(shown.flash.as_deref());
    Ok(render_status(
        shown.errs.status(),
        &AreasPage {
            c,
            org_name: org_name(&org, lang),
            kind_label: org.kind.label(lang),
            code: org.code.clone(),
            is_wholesaler,
            typed: sent.map(|x| x.text).unwrap_or_else(|| current.join("\n")),
            areas: current
                .iter()
                .map(|c| (c.clone(), names.get(c).cloned().unwrap_or_default()))
                .collect(),
            can_set,
            options,
            errs: shown.errs,
        },
    ))
}

pub async fn areas(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    areas_page(&s, &u, &code, Shown::asked(q.flash), None).await
}

/// Sets the areas: the ticked municipalities (`areas`, a wholesaler's) and the codes typed
/// (`areas_text`, a dry-ice maker's: one per line, or separated by commas or spaces).
pub async fn areas_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let typed: String = f
        .iter()
        .filter(|(k, _)| k == "areas_text")
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut sent: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "areas")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    sent.extend(
        ascii_digits(&typed)
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    );
    match vsys_app::orgs::set_areas(&s.app, &u.actor, &code, &sent).await {
        Ok(_) => Ok(done(
            &format!("/orgs/{}/areas", urlencoding::encode(&code)),
            Flash::AreasSaved,
            "",
        )),
        Err(e) => {
            // The use-case numbers the codes as it checks them: sorted, without duplicates.
            let mut checked = sent.clone();
            checked.sort();
            checked.dedup();
            let errs = Errs::refused("areas", e, u.lang)?
                .rows_named("areas", |row| checked.get(row.wrapping_sub(1)).cloned());
            let shown = Shown {
                errs,
                ..Shown::default()
            };
            let sent = Sent {
                codes: sent,
                text: typed,
            };
            areas_page(&s, &u, &code, shown, Some(sent)).await
        }
    }
}
