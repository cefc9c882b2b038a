//! The home page of a medical institution or municipal site: reservation status, the cycles
//! open for requests, its amounts with their deliveries, when doses can be booked, stock and
//! the first-login details banner.

use super::reservation::reservation_block;
use super::{StockSummary, stock_summary};
use crate::AppState;
use crate::error::{PageError, render};
use crate::i18n::{L, Ui, int};
use crate::pages::Chrome;
use crate::pages::display::fragment;
use crate::pages::notices::{NoticeView, notice_view};
use crate::session::WebUser;
use askama::Template;
use axum::response::Response;
use chrono::NaiveDate;
use vsys_app::rows::Page;
use vsys_domain::Action;
use vsys_domain::chain::{Level, Status};
use vsys_domain::site::Publicity;

pub struct AllocLine {
    pub cycle_id: String,
    pub cycle_name: String,
    pub period: String,
    pub status: (&'static str, &'static str),
    pub amount: String,
    pub doses: String,
    /// The cycle's deliveries to the site (none until the cycle is finalised).
    pub deliveries: Vec<SiteDelivery>,
}

/// One delivery on the site's home page: the item with its 納入予定日 and 納入実績日 ("未定"
/// until the deliverer enters them).
pub struct SiteDelivery {
    /// `vaccine`, `needle`, `syringe` (element ids).
    pub key: vsys_domain::ProductKind,
    pub item: &'static str,
    pub scheduled: String,
    pub delivered: String,
}

#[derive(Template)]
#[template(path = "site_home.html")]
pub struct SiteHomePage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub kind_label: &'static str,
    pub details_missing: bool,
    pub reservation_html: String,
    /// Whether citizens find the site (`public`, `not-contracted`, `awaiting-confirmation`),
    /// the sentence that says so and, when public, its page on the public finder.
    pub publicity: Option<(&'static str, &'static str, Option<String>)>,
    /// label, link, element id
    pub tasks: Vec<(String, String, String)>,
    /// id, name, deadline
    pub open_cycles: Vec<(String, String, String)>,
    pub allocations: Vec<AllocLine>,
    /// When the doses can be booked from (or why that is not known yet).
    pub reservable: Vec<String>,
    pub stock: StockSummary,
    pub notices: Vec<NoticeView>,
}

/// The home page of a medical institution or municipal site.
pub async fn site_home(
    s: &AppState,
    u: &WebUser,
    flash: Option<&str>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let code = a.org_code().to_owned();
    let site = vsys_app::sites::get(&s.app, a, &code).await.map_err(err)?;
    let can_write = a.principal().may(Action::Write, &site.org.path);
    let stock = vsys_app::stock::view(&s.app, a, &code).await.map_err(err)?;
    let today = vsys_app::clock::japan_date(s.app.clock.now());
    let (cycles, _) = vsys_app::cycles::list(&s.app, a, Page::first(100))
        .await
        .map_err(err)?;
    let mut open: Vec<&vsys_app::rows::CycleRow> =
        cycles.iter().filter(|c| c.deadline_site >= today).collect();
    open.sort_by_key(|c| c.deadline_site);
    let mut allocations = Vec::new();
    // (the vaccine's 納入実績日 or else 納入予定日, doses) of each allocation still to be used.
    let mut dated: Vec<(NaiveDate, i64)> = Vec::new();
    for cy in &cycles {
        let Some(node) = vsys_app::allocation::own_node(&s.app, a, &cy.id)
            .await
            .map_err(err)?
        else {
            continue;
        };
        let pres = vsys_app::allocation::presentation(cy);
        let unit = vsys_app::allocation::unit_of(cy, Level::Site);
        let r = pres.from_vials_floor(node.vials, unit);
        let amount = if r.remainder_vials > 0 {
            format!(
                "{} {} + {} {}",
                int(r.amount),
                unit.label(lang),
                int(r.remainder_vials),
                vsys_domain::units::Unit::Vial.label(lang)
            )
        } else {
            format!("{} {}", int(r.amount), unit.label(lang))
        };
        let st = node.status;
        // Deliveries exist once the cycle is finalised.
        let deliveries = if st == Status::Final {
            vsys_app::delivery::list(
                &s.app,
                a,
                &vsys_app::delivery::DeliveryQuery {
                    cycle: Some(cy.id.clone()),
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?
            .0
        } else {
            vec![]
        };
        if let Some(d) = deliveries
            .iter()
            .find(|d| d.item == vsys_domain::ProductKind::Vaccine)
            .and_then(|d| d.delivered_on.or(d.scheduled_on))
            .filter(|_| cy.period_end >= today)
        {
            dated.push((d, pres.doses(node.vials)));
        }
        let undecided = || l.t(Ui::Undecided).to_owned();
        let mut deliveries: Vec<SiteDelivery> = deliveries
            .iter()
            .map(|d| SiteDelivery {
                key: d.item,
                item: d.item.label(lang),
                scheduled: d
                    .scheduled_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(undecided),
                delivered: d
                    .delivered_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(undecided),
            })
            .collect();
        deliveries.sort_by_key(|d| {
            vsys_app::delivery::ITEMS
                .iter()
                .position(|i| *i == d.key)
                .unwrap_or(usize::MAX)
        });
        allocations.push(AllocLine {
            cycle_id: cy.id.clone(),
            cycle_name: cy.name.clone(),
            period: format!("{} 〜 {}", cy.period_start, cy.period_end),
            status: (st.label(lang), st.badge()),
            amount,
            doses: int(pres.doses(node.vials)),
            deliveries,
        });
    }
    // One sentence per allocation whose vaccine has a delivery date.
    dated.sort();
    let reservable = if dated.is_empty() {
        vec![
            l.t(Ui::ReservableUnknown).to_owned(),
            l.t(Ui::StockAllows).replace("{n}", &int(stock.doses)),
        ]
    } else {
        dated
            .iter()
            .map(|(d, n)| {
                l.t(Ui::ReservableFrom)
                    .replace("{date}", &d.to_string())
                    .replace("{n}", &int(*n))
            })
            .collect()
    };
    let unread = vsys_app::notices::unread(&s.app, a).await.map_err(err)?;
    let mut tasks = vec![
        (
            format!("{}（{unread}）", l.t(Ui::UnreadNotices)),
            "/notices".to_owned(),
            "task-notices".to_owned(),
        ),
        (
            l.t(Ui::SiteInfo).to_owned(),
            format!("/sites/{code}"),
            "task-site".to_owned(),
        ),
        (
            l.t(Ui::ResultsEntry).to_owned(),
            "/results".to_owned(),
            "task-results".to_owned(),
        ),
    ];
    if a.principal()
        .may(Action::ManageUsers, &a.principal().org_path)
    {
        tasks.push((
            l.t(Ui::ManageUsersTask).to_owned(),
            "/users".to_owned(),
            "task-users".to_owned(),
        ));
    }
    let (list, _) = vsys_app::notices::list(&s.app, a, Page::first(5))
        .await
        .map_err(err)?;
    let reservation_html =
        fragment(&reservation_block(a, lang, &site.profile, can_write, "/")).map_err(err)?;
    let publicity = site.publicity().map(|p| match p {
        Publicity::Public => (
            "public",
            l.t(Ui::PublicNow),
            Some(format!("/search/sites/{code}")),
        ),
        Publicity::NotContracted => ("not-contracted", l.t(Ui::NotPublicContract), None),
        Publicity::AwaitingConfirmation => {
            ("awaiting-confirmation", l.t(Ui::NotPublicAwaiting), None)
        }
    });
    let c = Chrome::for_actor(&s.app, a, lang, a.org_name(), "/")
        .await
        .with_flash(flash);
    Ok(render(&SiteHomePage {
        c,
        org_name: site.org.name.clone(),
        kind_label: site.org.kind.label(lang),
        details_missing: site.profile.details_at.is_none(),
        reservation_html,
        publicity,
        tasks,
        open_cycles: open
            .iter()
            .map(|c| (c.id.clone(), c.name.clone(), c.deadline_site.to_string()))
            .collect(),
        allocations,
        reservable,
        stock: stock_summary(&stock, lang),
        notices: list.iter().map(|n| notice_view(n, lang)).collect(),
        code,
    }))
}
