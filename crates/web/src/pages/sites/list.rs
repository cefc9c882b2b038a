//! The list of sites (with filters), 集団接種会場の登録 by the municipality, the form that
//! starts a bulk registration (`import`), and the upload of reservation statuses
//! (予約状況の一括更新, `reservation`).

use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenQuery as Query};
use crate::i18n::{L, Ui, int};
use crate::pages::form::{Errs, Flash, FormMap, Shown, Vals, digits, done, opt, text};
use crate::pages::{Chrome, Pager};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use vsys_app::rows::Page;
use vsys_app::sites::{NewMunicipalSite, SiteQuery};
use vsys_app::{Actor, AppError};
use vsys_domain::{Action, Capability, OrgKind};

pub struct SiteLine {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub municipality: String,
    pub contract: &'static str,
    pub site_type: &'static str,
    pub reservation: (&'static str, &'static str),
    pub details: bool,
    /// `None` for municipal sites (only institutions are confirmed).
    pub confirmed: Option<bool>,
    pub pending: usize,
}

#[derive(Template)]
#[template(path = "sites.html")]
pub struct SitesPage {
    pub c: Chrome,
    pub q: String,
    pub municipality: String,
    pub filter: String,
    /// code, name (a prefecture's municipalities; empty: a code is typed)
    pub municipalities: Vec<(String, String)>,
    pub can_filter_municipality: bool,
    /// key, label, link, current
    pub filters: Vec<(&'static str, &'static str, String, bool)>,
    pub rows: Vec<SiteLine>,
    pub pager: Pager,
    pub can_create: bool,
    pub can_import: bool,
    /// 予約状況の一括更新: operators of the area.
    pub can_update_reservations: bool,
    pub errs: Errs,
    pub vals: Vals,
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    q: Option<String>,
    municipality: Option<String>,
    filter: Option<String>,
    page: Option<u64>,
    flash: Option<String>,
    /// How many statuses a bulk update set (said with its message).
    updated: Option<u64>,
}

pub(super) fn may_import(a: &Actor) -> bool {
    a.can(Capability::ImportRegistry)
}

fn may_create(a: &Actor) -> bool {
    a.can(Capability::CreateMunicipalSites)
}

/// Whether the actor may set the statuses of the sites of its area (its role writes there).
pub(super) fn may_update_reservations(a: &Actor) -> bool {
    let p = a.principal();
    p.may(Action::Write, &p.org_path)
}

/// The list; after a refused form, with the reasons and what was typed into it.
pub(super) async fn sites_page(
    s: &AppState,
    u: &WebUser,
    q: &ListQuery,
    shown: Shown,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let kind = a.principal().org_kind;
    if !a.can(Capability::OverseeArea) {
        return Err(err(AppError::Forbidden));
    }
    let per_page = 50;
    let page = vsys_app::page_of(q.page, None, per_page).map_err(|e| PageError(e, u.lang))?;
    let filter = q.filter.clone().unwrap_or_default();
    let (list, total) = vsys_app::sites::list(
        &s.app,
        a,
        &SiteQuery {
            municipality: q.municipality.clone(),
            q: q.q.clone(),
            filter: Some(filter.clone()).filter(|f| !f.is_empty()),
            page: Some(page.page),
            per_page: Some(per_page),
        },
    )
    .await
    .map_err(err)?;
    let mut municipalities = Vec::new();
    if kind == OrgKind::Prefecture {
        let (ms, _) = vsys_app::orgs::list(
            &s.app,
            a,
            &vsys_app::orgs::OrgQuery {
                kind: Some("municipality".into()),
                parent: Some(a.org_code().into()),
                per_page: Some(Page::MAX_PER_PAGE),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
        municipalities = ms.into_iter().map(|m| (m.code, m.name)).collect();
    }
    let name_of = |code: &str| -> String {
        if kind == OrgKind::Municipality && code == a.org_code() {
            return a.org_name().to_owned();
        }
        municipalities
            .iter()
            .find(|(c, _)| c == code)
            .map(|(c, n)| format!("{n}（{c}）"))
            .unwrap_or_else(|| code.to_owned())
    };
    let rows = list
        .iter()
        .map(|r| SiteLine {
            code: r.code.clone(),
            name: r.name.clone(),
            kind: r.kind.label(lang),
            municipality: r
                .municipality_code
                .as_deref()
                .map(name_of)
                .unwrap_or_default(),
            contract: r.contract_status.label(lang),
            site_type: r.site_type.label(lang),
            reservation: r.reservation.label(lang),
            details: r.details_registered,
            confirmed: (r.kind == vsys_domain::OrgKind::Institution).then_some(r.confirmed),
            pending: r.pending_changes,
        })
        .collect();
    let qs = |filter: &str| {
        format!(
            "/sites?q={}&municipality={}&filter={}",
            urlencoding::encode(q.q.as_deref().unwrap_or_default()),
            urlencoding::encode(q.municipality.as_deref().unwrap_or_default()),
            urlencoding::encode(filter)
        )
    };
    let filters = vec![
        ("all", l.t(Ui::FilterAll), qs(""), filter.is_empty()),
        (
            "pending",
            l.t(Ui::FilterPending),
            qs("pending"),
            filter == "pending",
        ),
        (
            "unconfirmed",
            l.t(Ui::FilterUnconfirmed),
            qs("unconfirmed"),
            filter == "unconfirmed",
        ),
    ];
    let vals = shown.vals(Vals::default(), &[]);
    let mut c = Chrome::for_actor(&s.app, a, lang, l.t(Ui::Sites), "/sites")
        .await
        .with_flash(q.flash.as_deref());
    if let (Some(Flash::ReservationsUpdated), Some(n)) =
        (q.flash.as_deref().and_then(Flash::parse), q.updated)
    {
        c.flash = Some(
            l.t(Ui::ReservationsUpdatedCount)
                .replace("{n}", &int(n.try_into().unwrap_or(i64::MAX))),
        );
    }
    Ok(render_status(
        shown.errs.status(),
        &SitesPage {
            c,
            q: q.q.clone().unwrap_or_default(),
            municipality: q.municipality.clone().unwrap_or_default(),
            can_filter_municipality: kind != OrgKind::Municipality,
            municipalities,
            pager: Pager::new(page.page, page.per_page, total, format!("{}&", qs(&filter))),
            filter,
            filters,
            rows,
            can_create: may_create(a),
            can_import: may_import(a),
            can_update_reservations: may_update_reservations(a),
            errs: shown.errs,
            vals,
        },
    ))
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    sites_page(&s, &u, &q, Shown::default()).await
}

/// 集団接種会場の登録 (municipality operators).
pub async fn create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let n = NewMunicipalSite {
        name: text(&f, "name"),
        postal_code: digits(&f, "postal_code"),
        address: opt(&f, "address"),
        representative: opt(&f, "representative"),
    };
    let muni = digits(&f, "municipality_code").unwrap_or_else(|| u.actor.org_code().to_owned());
    match vsys_app::sites::create_municipal_site(&s.app, &u.actor, &muni, &n).await {
        Ok(v) => Ok(done(
            &format!("/sites/{}", v.org.code),
            Flash::SiteCreated,
            "",
        )),
        Err(e) => {
            let mut shown = Shown::after("create", e, f, u.lang)?;
            shown.errs = shown.errs.label("name", Ui::OrgName);
            sites_page(&s, &u, &ListQuery::default(), shown).await
        }
    }
}
