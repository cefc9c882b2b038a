//! Staff screens. Each handler parses the form, calls one use-case and renders a template.

mod admin;
mod allocation;
mod auth;
mod delivery;
mod form;
mod home;
mod sites;
mod upstream;

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
        .route("/notices", get(home::notices))
        .route("/notices/{id}/read", post(home::mark_read))
        .route("/users", get(admin::users).post(admin::user_create))
        .route("/users/new", get(admin::user_new))
        .route(
            "/users/{id}",
            get(admin::user_edit).post(admin::user_update),
        )
        .route("/users/{id}/unlock", post(admin::user_unlock))
        .route("/users/{id}/lock", post(admin::user_lock))
        .route("/users/{id}/totp-reset", post(admin::user_totp_reset))
        .route("/users/{id}/reset", post(admin::user_reset))
        .route("/orgs", get(admin::orgs))
        .route("/orgs/{code}", get(admin::org))
        .route("/audit", get(admin::audit))
        .route("/audit.csv", get(admin::audit_csv))
        .route(
            "/products",
            get(allocation::products).post(allocation::product_create),
        )
        .route("/supply-rules", post(allocation::rules_submit))
        .route(
            "/cycles",
            get(allocation::cycles).post(allocation::cycle_create),
        )
        .route("/cycles/{id}", get(allocation::cycle))
        .route("/cycles/{id}/supply", post(allocation::supply_submit))
        .route("/cycles/{id}/request", post(allocation::request_submit))
        .route("/allocations/{cycle}", get(allocation::mine))
        .route("/allocations/{cycle}/{org}", get(allocation::division))
        .route(
            "/allocations/{cycle}/{org}/confirm",
            post(allocation::confirm),
        )
        .route(
            "/allocations/{cycle}/{org}/finish",
            post(allocation::finish),
        )
        .route(
            "/allocations/{cycle}/{org}/withdraw",
            post(allocation::withdraw),
        )
        .route(
            "/allocations/{cycle}/{org}/finalise",
            post(allocation::finalise),
        )
        .route(
            "/allocations/{cycle}/{org}/send-back",
            post(allocation::send_back),
        )
        .route(
            "/allocations/{cycle}/{org}/autofill",
            post(allocation::autofill),
        )
        .route("/allocations/{cycle}/{org}/save", post(allocation::save))
        .route(
            "/allocations/{cycle}/{org}/simulate",
            get(allocation::simulate),
        )
        .route(
            "/allocations/{cycle}/{org}/export.csv",
            get(allocation::export),
        )
        .route(
            "/allocations/{cycle}/{org}/import",
            post(allocation::import),
        )
        .route("/sites", get(sites::list).post(sites::create))
        .route(
            "/sites/import",
            post(sites::import_start)
                .layer(DefaultBodyLimit::max(crate::extract::IMPORT_BODY_LIMIT)),
        )
        .route("/sites/import-template.csv", get(sites::import_template))
        .route("/sites/import/{job}", get(sites::import_status))
        .route("/sites/{code}", get(sites::detail))
        .route("/sites/{code}/reservation", post(sites::reservation))
        .route("/sites/{code}/registry", post(sites::registry))
        .route("/sites/{code}/changes/{id}", post(sites::decide))
        .route("/sites/{code}/confirm", post(sites::confirm))
        .route("/sites/{code}/details", post(sites::details))
        .route("/sites/{code}/hub", post(sites::hub))
        .route(
            "/sites/{code}/doctors",
            get(sites::doctors).post(sites::doctor_add),
        )
        .route(
            "/sites/{code}/doctors/{id}/remove",
            post(sites::doctor_remove),
        )
        .route("/sites/{code}/stock/receive", post(sites::receive))
        .route("/sites/{code}/stock/transfer", post(sites::transfer))
        .route(
            "/sites/{code}/stock/entries/{id}/correct",
            post(sites::correct),
        )
        .route("/results", get(sites::results).post(sites::results_submit))
        .route("/results/periods", post(sites::period_open))
        .route("/results/periods/{id}/close", post(sites::period_close))
        .route("/stock/idle", get(sites::idle))
        .route("/deliveries", get(delivery::list))
        .route("/deliveries/save", post(delivery::save))
        .route("/deliveries.csv", get(delivery::export))
        .route(
            "/deliveries/import",
            post(delivery::import).layer(DefaultBodyLimit::max(crate::extract::IMPORT_BODY_LIMIT)),
        )
        .route("/deliveries/status", get(delivery::status))
        .route("/deliveries/{id}/reassign", post(delivery::reassign))
        .route("/deliveries/upstream", get(upstream::upstream))
        .route("/deliveries/stock", get(upstream::stock))
        .route("/deliveries/inbound", post(upstream::inbound))
        .route("/deliveries/dry-ice", get(upstream::dry_ice))
        .route(
            "/orgs/{code}/api-tokens",
            get(upstream::tokens).post(upstream::token_create),
        )
        .route(
            "/orgs/{code}/api-tokens/{id}/revoke",
            post(upstream::token_revoke),
        )
        .route(
            "/orgs/{code}/areas",
            get(upstream::areas).post(upstream::areas_submit),
        )
        .route(
            "/orgs/{code}/deliverer-info",
            get(upstream::deliverer_info).post(upstream::deliverer_info_submit),
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
    pub flash: Option<&'static str>,
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
        self.flash = flash.and_then(flash_text).map(|u| u.text(self.l.0));
        self
    }
}

/// Messages shown after a redirect (`?flash=…`).
fn flash_text(key: &str) -> Option<Ui> {
    Some(match key {
        "password" => Ui::PasswordChanged,
        "user_created" => Ui::UserCreated,
        "user_saved" => Ui::UserSaved,
        "unlocked" => Ui::Unlocked,
        "locked" => Ui::LockedFlash,
        "totp_reset" => Ui::TotpWasReset,
        "reset" => Ui::PasswordResetDone,
        "logged_out" => Ui::LoggedOut,
        "reservation" => Ui::ReservationSaved,
        "site_created" => Ui::SiteCreated,
        "change_applied" => Ui::ChangeApplied,
        "change_filed" => Ui::ChangeFiled,
        "change_approved" => Ui::ChangeApproved,
        "change_rejected" => Ui::ChangeRejected,
        "confirmed" => Ui::InstitutionConfirmed,
        "details_saved" => Ui::DetailsSaved,
        "hub_saved" => Ui::HubSaved,
        "doctor_added" => Ui::DoctorAdded,
        "doctor_removed" => Ui::DoctorRemoved,
        "received" => Ui::ReceiptSaved,
        "transferred" => Ui::TransferSaved,
        "corrected" => Ui::CorrectionSaved,
        "results_saved" => Ui::ResultsSaved,
        "period_opened" => Ui::PeriodOpened,
        "period_closed" => Ui::PeriodClosedFlash,
        "deliveries_saved" => Ui::DeliveriesSaved,
        "deliveries_unchanged" => Ui::DeliveriesUnchanged,
        "deliveries_imported" => Ui::DeliveriesImported,
        "reassigned" => Ui::Reassigned,
        "token_revoked" => Ui::TokenRevoked,
        "areas_saved" => Ui::AreasSaved,
        "deliverer_info_saved" => Ui::DelivererInfoSaved,
        _ => return None,
    })
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
