//! The cycles (クール): the list and a new cycle (the nation), one cycle with its supply
//! (registered by the suppliers) and the request of a site or an organisation for it
//! (接種可能量・希望量等の報告).

use super::status_badge;
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::ScreenQuery as Query;
use crate::extract::{Form, ScreenPath as Path};
use crate::i18n::{Ui, int};
use crate::pages::Chrome;
use crate::pages::form::{
    Errs, Flash, FlashQuery, FormMap, Shown, Vals, date, done, number, opt, text,
};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use vsys_app::AppError;
use vsys_app::rows::Page;
use vsys_domain::{Capability, Invalid, Lang, Msg};

pub struct CycleLine {
    pub id: String,
    pub name: String,
    pub period: String,
    pub vaccine: String,
    pub my_status: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "cycles.html")]
pub struct CyclesPage {
    pub c: Chrome,
    pub cycles: Vec<CycleLine>,
    pub my_org: String,
    pub can_create: bool,
    pub vaccines: Vec<(String, String)>,
    pub needles: Vec<(String, String)>,
    pub syringes: Vec<(String, String)>,
    /// The new-cycle form (`cycle.number`, …): empty, or what was typed into a refused one.
    pub vals: Vals,
    pub errs: Errs,
}

async fn cycles_page(s: &AppState, u: &WebUser, shown: Shown) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let (list, _) = vsys_app::cycles::list(&s.app, &u.actor, Page::first(100))
        .await
        .map_err(err)?;
    let products = vsys_app::products::list(&s.app, &u.actor, None)
        .await
        .map_err(err)?;
    let name_of = |id: &str| {
        products
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let mut cycles = Vec::new();
    for x in &list {
        let mine = vsys_app::allocation::own_node(&s.app, &u.actor, &x.id)
            .await
            .ok()
            .flatten();
        cycles.push(CycleLine {
            id: x.id.clone(),
            name: x.name.clone(),
            period: format!("{} 〜 {}", x.period_start, x.period_end),
            vaccine: name_of(&x.vaccine_id),
            my_status: mine.map(|n| status_badge(n.status, lang)),
        });
    }
    let pick = |kind: vsys_domain::ProductKind| {
        products
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| {
                (
                    p.id.clone(),
                    format!("{} {}", p.name, p.spec.clone().unwrap_or_default()),
                )
            })
            .collect()
    };
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Cycles.text(lang), "/cycles")
        .await
        .with_flash(shown.flash.as_deref());
    let can_create = u.actor.can(Capability::ManageProgramme);
    let mut vals = Vals::default();
    vals.set("cycle.chain", "standard");
    vals.set("cycle.unit_site", "box");
    let vals = shown.vals(vals, &[]);
    let errs = shown.errs;
    Ok(render_status(
        errs.status(),
        &CyclesPage {
            c,
            cycles,
            my_org: u.actor.org_code().into(),
            can_create,
            vaccines: pick(vsys_domain::ProductKind::Vaccine),
            needles: pick(vsys_domain::ProductKind::Needle),
            syringes: pick(vsys_domain::ProductKind::Syringe),
            vals,
            errs,
        },
    ))
}

pub async fn cycles(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    cycles_page(&s, &u, Shown::asked(q.flash)).await
}

/// "第12クールはすでにあります。…": the duplicate number named as typed.
fn number_taken(number: i64, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("第{number}クールはすでにあります。別の番号を入力してください。"),
        Lang::En => format!("Cycle {number} already exists. Enter another number."),
    }
}

/// A new cycle (the nation). Refused, the form comes back as typed with the reason next to
/// each field; created, the cycle's page says so.
pub async fn cycle_create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let number = number(&f, "number", None, &mut inv);
    let dates = [
        date(&f, "period_start", &mut inv),
        date(&f, "period_end", &mut inv),
        date(&f, "deadline_prefecture", &mut inv),
        date(&f, "deadline_municipality", &mut inv),
        date(&f, "deadline_site", &mut inv),
    ];
    // With the dates read, the use-case checks the rest even when the number is not one (as
    // 0, which it refuses), so every reason is said at once; the number's own reason is ours.
    let result = match dates {
        [Some(ps), Some(pe), Some(dp), Some(dm), Some(ds)] => {
            let input = vsys_app::cycles::CycleInput {
                number: if inv.is_empty() { number } else { 0 },
                name: None,
                vaccine_id: text(&f, "vaccine_id"),
                needle_id: opt(&f, "needle_id"),
                syringe_id: opt(&f, "syringe_id"),
                period_start: ps,
                period_end: pe,
                deadline_prefecture: dp,
                deadline_municipality: dm,
                deadline_site: ds,
                chain: opt(&f, "chain").and_then(|c| vsys_domain::Chain::parse(&c)),
                unit_site: vsys_domain::Unit::parse(&text(&f, "unit_site")),
                formulas: None,
            };
            match vsys_app::cycles::create(&s.app, &u.actor, &input).await {
                Err(AppError::Invalid(found)) if !inv.is_empty() => {
                    inv.0
                        .extend(found.0.into_iter().filter(|e| e.field != "number"));
                    Err(AppError::Invalid(inv))
                }
                other => other,
            }
        }
        _ => Err(AppError::Invalid(inv)),
    };
    match result {
        Ok(c) => Ok(done(&format!("/cycles/{}", c.id), Flash::CycleCreated, "")),
        Err(e) => {
            let mut shown = Shown::after("cycle", e, f, u.lang)?;
            shown.errs = shown
                .errs
                .reword_with("number", Msg::CycleNumberTaken, |l| number_taken(number, l));
            cycles_page(&s, &u, shown).await
        }
    }
}

#[derive(Template)]
#[template(path = "cycle.html")]
pub struct CyclePage {
    pub c: Chrome,
    pub cycle: vsys_app::rows::CycleRow,
    pub supply: Vec<(String, String, String)>,
    pub supply_products: Vec<(String, String)>,
    pub my_link: Option<String>,
    pub can_request: bool,
    /// A municipal site in a priority-programme cycle: no request form, and why.
    pub no_requests: bool,
    /// The request form (`request.capacity_doses`, …, `request.version`: "" when none yet)
    /// and the supply form (`supply.supplier_code`, …).
    pub vals: Vals,
    /// A refused supply (`supply`) or request (`request`).
    pub errs: Errs,
}

pub async fn cycle(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    cycle_page(&s, &u, &id, Shown::asked(q.flash)).await
}

/// A cycle; after a refused form, with the reasons (and what was typed into the request).
async fn cycle_page(
    s: &AppState,
    u: &WebUser,
    id: &str,
    shown: Shown,
) -> Result<Response, PageError> {
    let id = id.to_owned();
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let cycle = vsys_app::cycles::get(&s.app, &u.actor, &id)
        .await
        .map_err(err)?;
    let supply = vsys_app::cycles::supply(&s.app, &u.actor, &id)
        .await
        .map_err(err)?;
    let products = vsys_app::products::list(&s.app, &u.actor, None)
        .await
        .map_err(err)?;
    let name_of = |pid: &str| {
        products
            .iter()
            .find(|p| p.id == pid)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let kind = u.actor.principal().org_kind;
    use vsys_domain::OrgKind::*;
    let may_supply = u.actor.can(Capability::SupplyProducts);
    let in_cycle: Vec<&String> = [
        Some(&cycle.vaccine_id),
        cycle.needle_id.as_ref(),
        cycle.syringe_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let supply_products = if may_supply {
        products
            .iter()
            .filter(|p| {
                in_cycle.contains(&&p.id) && (kind == Nation || p.owner_code == u.actor.org_code())
            })
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    } else {
        vec![]
    };
    let my_link = vsys_app::allocation::own_node(&s.app, &u.actor, &id)
        .await
        .ok()
        .flatten()
        .map(|_| format!("/allocations/{id}/{}", u.actor.org_code()));
    let c = Chrome::for_actor(&s.app, &u.actor, lang, &cycle.name, "/cycles")
        .await
        .with_flash(shown.flash.as_deref());
    let chain = cycle.chain;
    let can_request = chain.takes_requests_from(kind) && u.actor.can(Capability::RequestSupply);
    let no_requests = kind == Site && !chain.takes_requests_from(kind);
    let mut vals = Vals::default();
    match vsys_app::requests::get(&s.app, &u.actor, &id, u.actor.org_code())
        .await
        .ok()
        .flatten()
    {
        Some(r) => {
            vals.set("request.capacity_doses", r.capacity_doses.to_string());
            vals.set("request.requested_doses", r.requested_doses.to_string());
            vals.set("request.storage", r.storage);
            vals.set("request.needles", r.needles.to_string());
            vals.set("request.syringes", r.syringes.to_string());
            vals.set("request.version", r.version.to_string());
        }
        None => vals.set("request.storage", "freezer"),
    }
    if kind != Nation {
        vals.set("supply.supplier_code", u.actor.org_code());
    }
    let vals = shown.vals(vals, &[]);
    Ok(render_status(
        shown.errs.status(),
        &CyclePage {
            c,
            can_request,
            no_requests,
            vals,
            errs: shown.errs,
            supply: supply
                .iter()
                .map(|x| {
                    (
                        x.supplier_code.clone(),
                        name_of(&x.product_id),
                        int(x.quantity),
                    )
                })
                .collect(),
            supply_products,
            my_link,
            cycle,
        },
    ))
}

/// A supplier registers what it supplies to the cycle; the page then says it was saved.
pub async fn supply_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let quantity = number(&f, "quantity", None, &mut inv);
    let result = if inv.is_empty() {
        let input = vsys_app::cycles::SupplyInput {
            supplier_code: opt(&f, "supplier_code"),
            product_id: text(&f, "product_id"),
            quantity,
        };
        vsys_app::cycles::register_supply(&s.app, &u.actor, &id, &input)
            .await
            .map(|_| ())
    } else {
        Err(AppError::Invalid(inv))
    };
    match result {
        Ok(()) => Ok(done(
            &format!("/cycles/{id}"),
            Flash::SupplySaved,
            "#supply-h",
        )),
        Err(e) => {
            let mut shown = Shown::after("supply", e, f, u.lang)?;
            shown.errs = shown.errs.label("quantity", Ui::QuantityHint);
            cycle_page(&s, &u, &id, shown).await
        }
    }
}

/// A site reports its capacity and request for the cycle (接種可能量・希望量等の報告); the page
/// then says it was saved.
pub async fn request_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let input = vsys_app::requests::RequestInput {
        capacity_doses: number(&f, "capacity_doses", None, &mut inv),
        requested_doses: number(&f, "requested_doses", None, &mut inv),
        storage: text(&f, "storage"),
        needles: number(&f, "needles", None, &mut inv),
        syringes: number(&f, "syringes", None, &mut inv),
    };
    let version = text(&f, "version").parse::<i64>().ok();
    let result = if inv.is_empty() {
        let code = u.actor.org_code();
        vsys_app::requests::put(&s.app, &u.actor, &id, code, version, &input)
            .await
            .map(|_| ())
    } else {
        Err(AppError::Invalid(inv))
    };
    match result {
        Ok(()) => Ok(done(
            &format!("/cycles/{id}"),
            Flash::RequestSaved,
            "#req-h",
        )),
        // Someone else saved first: show what is stored now (with its version) and say so.
        Err(e) => {
            let mut shown = Shown::after("request", e, f, u.lang)?;
            shown.errs = shown
                .errs
                .label("needles", Ui::NeedlesNeeded)
                .label("syringes", Ui::SyringesNeeded);
            cycle_page(&s, &u, &id, shown).await
        }
    }
}
