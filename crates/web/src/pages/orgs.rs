//! Organisations: the list (by name, kind and parent) and one organisation with those below
//! it, the areas it serves and links to what may be done with it.

use super::{Chrome, Pager};
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::{ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::Ui;
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use vsys_app::orgs::OrgQuery;
use vsys_app::rows::OrgRow;
use vsys_domain::OrgKind;

pub struct OrgLine {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub population: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
pub struct OrgsPage {
    pub c: Chrome,
    pub q: String,
    pub kind: String,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub orgs: Vec<OrgLine>,
    pub pager: Pager,
}

pub async fn orgs(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<OrgQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let page = vsys_app::page_of(q.page, None, 50).map_err(|e| PageError(e, u.lang))?;
    let (list, total) = vsys_app::orgs::list(
        &s.app,
        &u.actor,
        &OrgQuery {
            per_page: Some(50),
            ..q.clone()
        },
    )
    .await
    .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Orgs.text(lang), "/orgs").await;
    let base = format!(
        "/orgs?q={}&kind={}&parent={}&",
        urlencoding::encode(q.q.as_deref().unwrap_or_default()),
        urlencoding::encode(q.kind.as_deref().unwrap_or_default()),
        urlencoding::encode(q.parent.as_deref().unwrap_or_default())
    );
    Ok(render(&OrgsPage {
        c,
        q: q.q.clone().unwrap_or_default(),
        kind: q.kind.clone().unwrap_or_default(),
        kinds: OrgKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(lang)))
            .collect(),
        orgs: list
            .iter()
            .map(|o| OrgLine {
                code: o.code.clone(),
                name: o.name.clone(),
                kind: o.kind.label(lang),
                population: o.population.map(crate::i18n::int).unwrap_or_default(),
            })
            .collect(),
        pager: Pager::new(page.page, page.per_page, total, base),
    }))
}

#[derive(Template)]
#[template(path = "org.html")]
pub struct OrgPage {
    pub c: Chrome,
    pub org: OrgRow,
    pub kind_label: &'static str,
    pub children: Vec<OrgRow>,
    pub children_total: i64,
    pub areas: Vec<String>,
    pub can_manage_users: bool,
    /// Links to the organisation's API tokens and to setting the areas it serves.
    pub can_manage_tokens: bool,
    pub can_set_areas: bool,
    /// A deliverer: a link to its basic information (基本情報).
    pub is_deliverer: bool,
}

pub async fn org(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let org = vsys_app::orgs::get(&s.app, &u.actor, &code)
        .await
        .map_err(err)?;
    let q = OrgQuery {
        parent: Some(org.code.clone()),
        per_page: Some(100),
        ..Default::default()
    };
    let (children, children_total) = if u.actor.principal().covers(&org.path) {
        vsys_app::orgs::list(&s.app, &u.actor, &q)
            .await
            .map_err(err)?
    } else {
        (vec![], 0)
    };
    let areas = vsys_app::orgs::areas(&s.app, &u.actor, &org.code)
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, &org.name, "/orgs").await;
    let can_manage_users = u
        .actor
        .principal()
        .may(vsys_domain::Action::ManageUsers, &org.path);
    let can_manage_tokens = super::api_tokens::may_manage_tokens(&u.actor, &org);
    let can_set_areas = super::areas::may_set_areas(&u.actor, &org);
    let is_deliverer = org.kind.is_deliverer();
    Ok(render(&OrgPage {
        c,
        kind_label: org.kind.label(lang),
        org,
        children,
        children_total,
        areas,
        can_manage_users,
        can_manage_tokens,
        can_set_areas,
        is_deliverer,
    }))
}
