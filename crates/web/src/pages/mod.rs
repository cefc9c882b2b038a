//! Staff screens, one module per screen family (sites, allocation and delivery have one file
//! per screen). Each handler reads the form with the form kit (`form`), calls one use-case and
//! renders a template: a success redirects with a message, a refusal shows the page again with
//! the reasons next to the fields and what was typed.

mod allocation;
mod announcements;
mod api_tokens;
mod areas;
mod audit;
mod auth;
mod dashboard;
mod deliverer_info;
mod deliverer_stock;
mod delivery;
mod display;
mod dry_ice;
mod form;
mod home;
mod knowledge;
mod notices;
mod orgs;
mod products;
mod public_notices;
mod sites;
mod upstream;
mod users;

use crate::AppState;
use crate::i18n::{L, Ui};
use crate::session::web_guard;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use vsys_app::{Actor, App};
use vsys_domain::Capability;
use vsys_domain::{Action, Lang};

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(auth::login_page).post(auth::login_submit))
        .route("/login/totp", get(auth::totp_page).post(auth::totp_submit))
        .route(
            "/login/totp-setup",
            get(auth::totp_setup_page).post(auth::totp_setup_submit),
        )
        .route("/logout", post(auth::logout))
        .route(
            "/password",
            get(auth::password_page).post(auth::password_submit),
        )
        .route("/lang", get(auth::set_lang))
        .route("/notices", get(notices::notices))
        .route("/notices/{id}/read", post(notices::mark_read))
        .route("/notices/read-all", post(notices::mark_all_read))
        .route(
            "/announcements",
            get(announcements::sent).post(announcements::publish),
        )
        .route("/announcements/new", get(announcements::new))
        .route(
            "/announcements/{id}/withdraw",
            post(announcements::withdraw),
        )
        .route(
            "/public-notices",
            get(public_notices::list).post(public_notices::publish),
        )
        .route(
            "/public-notices/{id}/withdraw",
            post(public_notices::withdraw),
        )
        .route("/users", get(users::users).post(users::user_create))
        .route("/users/new", get(users::user_new))
        .route(
            "/users/{id}",
            get(users::user_edit).post(users::user_update),
        )
        .route("/users/{id}/unlock", post(users::user_unlock))
        .route("/users/{id}/lock", post(users::user_lock))
        .route("/users/{id}/totp-reset", post(users::user_totp_reset))
        .route("/users/{id}/reset", post(users::user_reset))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/dashboard/remind/{cycle}", post(dashboard::remind))
        .route("/dashboard/csv/{table}", get(dashboard::csv))
        .route("/knowledge", get(knowledge::list).post(knowledge::create))
        .route("/knowledge/new", get(knowledge::new))
        .route(
            "/knowledge/{id}",
            get(knowledge::article).post(knowledge::update),
        )
        .route("/knowledge/{id}/edit", get(knowledge::edit))
        .route("/knowledge/{id}/delete", post(knowledge::delete))
        .route(
            "/knowledge/{id}/attachments",
            post(knowledge::attach).layer(DefaultBodyLimit::max(crate::extract::IMPORT_BODY_LIMIT)),
        )
        .route(
            "/knowledge/{id}/attachments/{file}",
            get(knowledge::download),
        )
        .route(
            "/knowledge/{id}/attachments/{file}/delete",
            post(knowledge::detach),
        )
        .route("/orgs", get(orgs::orgs))
        .route("/orgs/{code}", get(orgs::org))
        .route("/audit", get(audit::audit))
        .route("/audit.csv", get(audit::audit_csv))
        .route(
            "/products",
            get(products::products).post(products::product_create),
        )
        .route("/supply-rules", post(products::rules_submit))
        .route(
            "/cycles",
            get(allocation::cycles::cycles).post(allocation::cycles::cycle_create),
        )
        .route("/cycles/{id}", get(allocation::cycles::cycle))
        .route(
            "/cycles/{id}/supply",
            post(allocation::cycles::supply_submit),
        )
        .route(
            "/cycles/{id}/request",
            post(allocation::cycles::request_submit),
        )
        .route("/allocations/{cycle}", get(allocation::division::mine))
        .route(
            "/allocations/{cycle}/{org}",
            get(allocation::division::division),
        )
        .route(
            "/allocations/{cycle}/{org}/confirm",
            post(allocation::division::confirm),
        )
        .route(
            "/allocations/{cycle}/{org}/finish",
            post(allocation::division::finish),
        )
        .route(
            "/allocations/{cycle}/{org}/withdraw",
            post(allocation::division::withdraw),
        )
        .route(
            "/allocations/{cycle}/{org}/finalise",
            post(allocation::division::finalise),
        )
        .route(
            "/allocations/{cycle}/{org}/send-back",
            post(allocation::division::send_back),
        )
        .route(
            "/allocations/{cycle}/{org}/autofill",
            post(allocation::division::autofill),
        )
        .route(
            "/allocations/{cycle}/{org}/save",
            post(allocation::division::save),
        )
        .route(
            "/allocations/{cycle}/{org}/simulate",
            get(allocation::simulate::simulate),
        )
        .route(
            "/allocations/{cycle}/{org}/export.csv",
            get(allocation::division::export),
        )
        .route(
            "/allocations/{cycle}/{org}/import",
            post(allocation::division::import),
        )
        .route("/sites", get(sites::list::list).post(sites::list::create))
        .route(
            "/sites/import",
            post(sites::import::import_start)
                .layer(DefaultBodyLimit::max(crate::extract::IMPORT_BODY_LIMIT)),
        )
        .route(
            "/sites/import-template.csv",
            get(sites::import::import_template),
        )
        .route("/sites/import/{job}", get(sites::import::import_status))
        .route(
            "/sites/reservations",
            post(sites::reservation::bulk_upload)
                .layer(DefaultBodyLimit::max(crate::extract::IMPORT_BODY_LIMIT)),
        )
        .route(
            "/sites/reservations.csv",
            get(sites::reservation::bulk_template),
        )
        .route("/sites/{code}", get(sites::site::detail))
        .route(
            "/sites/{code}/reservation",
            post(sites::reservation::reservation),
        )
        .route("/sites/{code}/registry", post(sites::site::registry))
        .route("/sites/{code}/changes/{id}", post(sites::site::decide))
        .route("/sites/{code}/confirm", post(sites::site::confirm))
        .route("/sites/{code}/details", post(sites::site::details))
        .route("/sites/{code}/hub", post(sites::site::hub))
        .route(
            "/sites/{code}/doctors",
            get(sites::site::doctors).post(sites::site::doctor_add),
        )
        .route(
            "/sites/{code}/doctors/{id}/remove",
            post(sites::site::doctor_remove),
        )
        .route("/sites/{code}/stock/receive", post(sites::stock::receive))
        .route("/sites/{code}/stock/transfer", post(sites::stock::transfer))
        .route(
            "/sites/{code}/stock/entries/{id}/correct",
            post(sites::stock::correct),
        )
        .route(
            "/results",
            get(sites::results::results).post(sites::results::results_submit),
        )
        .route("/results/periods", post(sites::results::period_open))
        .route(
            "/results/periods/{id}/close",
            post(sites::results::period_close),
        )
        .route("/stock/idle", get(sites::idle::idle))
        .route("/deliveries", get(delivery::list::list))
        .route("/deliveries/save", post(delivery::list::save))
        .route("/deliveries.csv", get(delivery::csv::export))
        .route(
            "/deliveries/import",
            post(delivery::csv::import)
                .layer(DefaultBodyLimit::max(crate::extract::IMPORT_BODY_LIMIT)),
        )
        .route("/deliveries/status", get(delivery::status::status))
        .route("/deliveries/{id}/reassign", post(delivery::list::reassign))
        .route("/deliveries/upstream", get(upstream::upstream))
        .route("/deliveries/stock", get(deliverer_stock::stock))
        .route("/deliveries/inbound", post(deliverer_stock::inbound))
        .route("/deliveries/dry-ice", get(dry_ice::dry_ice))
        .route(
            "/orgs/{code}/api-tokens",
            get(api_tokens::tokens).post(api_tokens::token_create),
        )
        .route(
            "/orgs/{code}/api-tokens/{id}/revoke",
            post(api_tokens::token_revoke),
        )
        .route(
            "/orgs/{code}/areas",
            get(areas::areas).post(areas::areas_submit),
        )
        .route(
            "/orgs/{code}/deliverer-info",
            get(deliverer_info::deliverer_info).post(deliverer_info::deliverer_info_submit),
        )
        .layer(axum::middleware::from_fn_with_state(state, web_guard))
}

/// The signed-in user as the page frame shows them.
pub struct UserChrome {
    pub name: String,
    pub org_name: String,
    pub role_label: &'static str,
    pub is_admin: bool,
    pub is_nation_admin: bool,
    pub unread: i64,
    /// The user's organisation code (a site's own pages are under it).
    pub org_code: String,
    /// A medical institution or municipal site (医療機関・接種会場).
    pub is_site: bool,
    /// The nation, a prefecture or a municipality: oversees sites.
    pub oversees_sites: bool,
    /// The nation, a manufacturer or a warehouse: 地域卸業者への分配量.
    pub sees_upstream: bool,
    /// A wholesaler: its 入荷・在庫.
    pub has_deliverer_stock: bool,
    /// A dry-ice maker, or the nation, a prefecture or a municipality: where dry ice is needed.
    pub sees_dry_ice: bool,
}

/// What every page's frame needs: language, title, the user, the CSRF token, the path.
pub struct Chrome {
    pub l: L,
    pub title: String,
    pub user: Option<UserChrome>,
    pub csrf: String,
    pub path: String,
    pub flash: Option<String>,
}

impl Chrome {
    pub fn anonymous(lang: Lang, title: Ui, path: &str) -> Chrome {
        Chrome {
            l: L(lang),
            title: title.text(lang).to_owned(),
            user: None,
            csrf: String::new(),
            path: path.to_owned(),
            flash: None,
        }
    }

    pub async fn for_actor(
        app: &App,
        actor: &Actor,
        lang: Lang,
        title: &str,
        path: &str,
    ) -> Chrome {
        let unread = vsys_app::notices::unread(app, actor).await.unwrap_or(0);
        let p = &actor.principal();
        Chrome {
            l: L(lang),
            title: title.to_owned(),
            user: Some(UserChrome {
                name: actor.name().to_owned(),
                org_name: actor.org_name().to_owned(),
                role_label: p.role.label(lang),
                is_admin: p.may(Action::ManageUsers, &p.org_path),
                is_nation_admin: p.may(Action::ReadAudit, &p.org_path),
                unread,
                org_code: actor.org_code().to_owned(),
                is_site: p.can(Capability::RunSite),
                oversees_sites: p.can(Capability::OverseeArea),
                sees_upstream: p.can(Capability::SeeUpstream),
                has_deliverer_stock: p.can(Capability::KeepDelivererStock),
                sees_dry_ice: p.can(Capability::SeeDryIce),
            }),
            csrf: actor.csrf_token().to_owned(),
            path: path.to_owned(),
            flash: None,
        }
    }

    pub fn with_flash(mut self, flash: Option<&str>) -> Chrome {
        self.flash = flash
            .and_then(form::Flash::parse)
            .map(|f| f.ui().text(self.l.0).to_owned());
        self
    }
}

/// Page links of a list.
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub total: i64,
    /// The list's URL up to `page=` (ends with `?` or `&`).
    pub base: String,
}

impl Pager {
    pub fn new(page: u64, per_page: u64, total: i64, base: String) -> Pager {
        let pages = (total.max(0) as u64).div_ceil(per_page.max(1)).max(1);
        Pager {
            page,
            pages,
            total,
            base,
        }
    }
}

/// Whether `next` is a path on this site (never another host).
pub fn local_path(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}
