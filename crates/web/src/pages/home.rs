//! The home page of each kind of organisation (a site's own is in `sites::home`).

use super::Chrome;
use super::form::FlashQuery;
use super::notices::{NoticeView, notice_view};
use crate::AppState;
use crate::error::{PageError, render};
use crate::extract::ScreenQuery as Query;
use crate::i18n::{L, Ui};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use vsys_app::orgs::OrgQuery;
use vsys_app::rows::Page;
use vsys_app::{Actor, App, AppResult};
use vsys_domain::OrgKind;

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub c: Chrome,
    pub org_name: String,
    pub kind_label: &'static str,
    pub tasks: Vec<(String, String)>,
    pub stats: Vec<(String, String)>,
    pub notices: Vec<NoticeView>,
}

async fn count(app: &App, actor: &Actor, kind: OrgKind) -> AppResult<String> {
    let q = OrgQuery {
        kind: Some(kind.as_str().into()),
        per_page: Some(1),
        ..Default::default()
    };
    Ok(vsys_app::orgs::list(app, actor, &q).await?.1.to_string())
}

/// The home page: the organisation's tasks, a summary of what it oversees, and its notices.
pub async fn home(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    a.require_password_changed().map_err(err)?;
    let l = L(lang);
    let kind = a.principal().org_kind;
    // A medical institution or municipal site sees its own home: reservation status, amounts,
    // stock and the first-login details banner.
    if kind.is_site() {
        return super::sites::home::site_home(&s, &u, q.flash.as_deref()).await;
    }
    let mut tasks = Vec::new();
    let unread = vsys_app::notices::unread(&s.app, a).await.map_err(err)?;
    tasks.push((
        format!("{}（{unread}）", l.t(Ui::UnreadNotices)),
        "/notices".to_owned(),
    ));
    if !kind.is_site() {
        tasks.push((l.t(Ui::BrowseOrgsTask).to_owned(), "/orgs".to_owned()));
    }
    if a.principal()
        .may(vsys_domain::Action::ManageUsers, &a.principal().org_path)
    {
        tasks.push((l.t(Ui::ManageUsersTask).to_owned(), "/users".to_owned()));
    }
    if vsys_app::notices::may_announce(a) {
        tasks.push((
            super::announcements::A::New.text(lang).to_owned(),
            "/announcements/new".to_owned(),
        ));
    }
    if vsys_app::notices::may_write_for_citizens(a) {
        tasks.push((
            crate::public::words::W::StaffTask.text(lang).to_owned(),
            "/public-notices".to_owned(),
        ));
    }
    if a.principal()
        .may(vsys_domain::Action::ReadAudit, &a.principal().org_path)
    {
        tasks.push((l.t(Ui::ReviewAuditTask).to_owned(), "/audit".to_owned()));
    }
    let mut stats = vec![(l.t(Ui::OrgCode).to_owned(), a.org_code().to_owned())];
    let counts: &[(Ui, &[OrgKind])] = match kind {
        OrgKind::Nation => &[
            (Ui::Prefectures, &[OrgKind::Prefecture]),
            (Ui::Municipalities, &[OrgKind::Municipality]),
            (Ui::Sites, &[OrgKind::Institution, OrgKind::Site]),
            (
                Ui::Suppliers,
                &[
                    OrgKind::Manufacturer,
                    OrgKind::Wholesaler,
                    OrgKind::DryIceMaker,
                    OrgKind::SyringeWarehouse,
                ],
            ),
        ],
        OrgKind::Prefecture => &[(Ui::Sites, &[OrgKind::Institution, OrgKind::Site])],
        OrgKind::Municipality => &[(Ui::Sites, &[OrgKind::Institution, OrgKind::Site])],
        _ => &[],
    };
    for (label, kinds) in counts {
        let mut total = 0i64;
        for k in *kinds {
            total += count(&s.app, a, *k)
                .await
                .map_err(err)?
                .parse::<i64>()
                .unwrap_or(0);
        }
        stats.push((l.t(*label).to_owned(), crate::i18n::int(total)));
    }
    if kind == OrgKind::Prefecture {
        let q = OrgQuery {
            kind: Some("municipality".into()),
            parent: Some(a.org_code().into()),
            per_page: Some(1),
            ..Default::default()
        };
        let n = vsys_app::orgs::list(&s.app, a, &q).await.map_err(err)?.1;
        stats.push((l.t(Ui::Municipalities).to_owned(), crate::i18n::int(n)));
    }
    let org = vsys_app::orgs::get(&s.app, a, a.org_code())
        .await
        .map_err(err)?;
    if let Some(p) = org.population {
        stats.push((l.t(Ui::Population).to_owned(), crate::i18n::int(p)));
    }
    let (list, _) = vsys_app::notices::list(&s.app, a, Page::first(5))
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(&s.app, a, lang, a.org_name(), "/")
        .await
        .with_flash(q.flash.as_deref());
    Ok(render(&HomePage {
        c,
        org_name: a.org_name().to_owned(),
        kind_label: kind.label(lang),
        tasks,
        stats,
        notices: list.iter().map(|n| notice_view(n, lang)).collect(),
    }))
}
