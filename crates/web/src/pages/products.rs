//! Product masters (vaccines, needles, syringes and their presentation) and the supply rules
//! (needles and syringes per dose, pack rounding, dry ice per box).

use super::Chrome;
use super::form::{Errs, FormMap, number, opt, optional_number, text, version};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::Form;
use crate::i18n::Ui;
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use vsys_app::AppError;
use vsys_domain::{Capability, Invalid, Lang, Msg};

#[derive(Template)]
#[template(path = "products.html")]
pub struct ProductsPage {
    pub c: Chrome,
    /// kind, name + spec, owner, storage, presentation
    pub products: Vec<(&'static str, String, String, &'static str, String)>,
    pub can_create: bool,
    pub owner_default: String,
    pub storage: Vec<(&'static str, &'static str)>,
    /// A refused product (`product`) or supply rules (`rules`).
    pub errs: Errs,
    pub rules: vsys_app::rows::SupplyRulesRow,
    pub can_rules: bool,
    pub roundings: Vec<(&'static str, &'static str)>,
}

fn storage_label(s: &str, lang: Lang) -> &'static str {
    match (s, lang) {
        ("ultra_cold", Lang::Ja) => "超低温（−90~−60℃）",
        ("frozen", Lang::Ja) => "冷凍（−25~−15℃）",
        ("fridge", Lang::Ja) => "冷蔵（2~8℃）",
        ("ultra_cold", Lang::En) => "Ultra-cold (−90~−60 °C)",
        ("frozen", Lang::En) => "Frozen (−25~−15 °C)",
        ("fridge", Lang::En) => "Refrigerated (2~8 °C)",
        _ => "—",
    }
}

async fn products_page(s: &AppState, u: &WebUser, errs: Errs) -> Result<Response, PageError> {
    let lang = u.lang;
    let err = |e| PageError(e, lang);
    let list = vsys_app::products::list_current(&s.app, &u.actor)
        .await
        .map_err(err)?;
    let mut products = Vec::new();
    for (p, current) in &list {
        let presentation = match (p.kind.as_str(), current) {
            ("vaccine", Some(x)) => format!(
                "{} {} × {} {}",
                x.doses_per_vial,
                Ui::DosesPerVial.text(lang),
                x.vials_per_box,
                Ui::VialsPerBox.text(lang)
            ),
            _ => p
                .units_per_pack
                .map(|n| match lang {
                    Lang::Ja => format!("{n} 本/パック"),
                    Lang::En => format!("{n} per pack"),
                })
                .unwrap_or_default(),
        };
        let kind = match p.kind.as_str() {
            "vaccine" => Ui::Vaccine.text(lang),
            "needle" => Ui::Needle.text(lang),
            _ => Ui::Syringe.text(lang),
        };
        let name = match &p.spec {
            Some(spec) => format!("{} {spec}", p.name),
            None => p.name.clone(),
        };
        products.push((
            kind,
            name,
            p.owner_code.clone(),
            storage_label(p.storage_class.as_deref().unwrap_or_default(), lang),
            presentation,
        ));
    }
    use vsys_domain::OrgKind::*;
    let kind = u.actor.principal().org_kind;
    let rules = vsys_app::products::rules(&s.app, &u.actor)
        .await
        .map_err(err)?;
    let c = Chrome::for_actor(&s.app, &u.actor, lang, Ui::Products.text(lang), "/products").await;
    Ok(render_status(
        errs.status(),
        &ProductsPage {
            c,
            products,
            can_create: u.actor.can(Capability::SupplyProducts),
            owner_default: if kind == Nation {
                String::new()
            } else {
                u.actor.org_code().into()
            },
            storage: ["ultra_cold", "frozen", "fridge"]
                .into_iter()
                .map(|x| (x, storage_label(x, lang)))
                .collect(),
            errs,
            rules,
            can_rules: u.actor.can(Capability::ManageProgramme),
            roundings: match lang {
                Lang::Ja => vec![
                    ("up", "切り上げ"),
                    ("nearest", "四捨五入"),
                    ("down", "切り捨て"),
                ],
                Lang::En => vec![
                    ("up", "round up"),
                    ("nearest", "nearest"),
                    ("down", "round down"),
                ],
            },
        },
    ))
}

pub async fn products(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    products_page(&s, &u, Errs::none()).await
}

/// A new product (its presentation: doses per vial and vials per box, or units per pack).
pub async fn product_create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let units_per_pack = optional_number(&f, "units_per_pack", &mut inv);
    let doses_per_vial = optional_number(&f, "doses_per_vial", &mut inv);
    let vials_per_box = optional_number(&f, "vials_per_box", &mut inv);
    let result = match vsys_domain::ProductKind::parse(&text(&f, "kind")) {
        _ if !inv.is_empty() => Err(AppError::Invalid(inv)),
        Some(kind) => {
            let input = vsys_app::products::ProductInput {
                kind,
                owner_code: opt(&f, "owner_code"),
                name: f.get("name").cloned().unwrap_or_default(),
                spec: f.get("spec").cloned(),
                storage_class: opt(&f, "storage_class"),
                days_after_thaw: None,
                needs_dry_ice: f.contains_key("needs_dry_ice"),
                units_per_pack,
                doses_per_vial,
                vials_per_box,
                from_cycle: None,
            };
            vsys_app::products::create(&s.app, &u.actor, &input)
                .await
                .map(|_| ())
        }
        None => Err(AppError::invalid("kind", Msg::InvalidInput)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/products").into_response()),
        Err(e) => products_page(&s, &u, Errs::refused("product", e, u.lang)?).await,
    }
}

/// The supply rules (the nation): needles and syringes per dose, pack rounding, dry ice.
pub async fn rules_submit(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    // An empty field is left to the use-case (refused as out of range); what is not a number
    // is refused here, the field named.
    let mut inv = Invalid::default();
    let mut n = |k: &str| number(&f, k, Some(-1), &mut inv);
    let input = vsys_app::products::RulesInput {
        needles_per_dose_milli: n("needles_per_dose_milli"),
        syringes_per_dose_milli: n("syringes_per_dose_milli"),
        pack_rounding: text(&f, "pack_rounding"),
        dry_ice_grams_ultra_cold: n("dry_ice_grams_ultra_cold"),
        dry_ice_grams_frozen: n("dry_ice_grams_frozen"),
    };
    let result = if inv.is_empty() {
        vsys_app::products::set_rules(&s.app, &u.actor, version(&f), &input)
            .await
            .map(|_| ())
    } else {
        Err(AppError::Invalid(inv))
    };
    match result {
        Ok(()) => Ok(Redirect::to("/products").into_response()),
        Err(e) => products_page(&s, &u, Errs::refused("rules", e, u.lang)?).await,
    }
}
