//! One site's page: its registry entry (changed at once by the municipality and above, filed
//! for approval when the site changes it), 承認・却下 of the changes filed, 協力医療機関の確認,
//! the details a site registers, 基本型・サテライト型, doctors, reservation status, stock and
//! its ledger. Every form of the page comes back here when refused (`site_refused`).

use super::reservation::reservation_block;
use super::{StockSummary, stock_summary};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{L, Ui, int, jst};
use crate::pages::Chrome;
use crate::pages::display::fragment;
use crate::pages::form::{
    Errs, Flash, FlashQuery, FormMap, Shown, Vals, ascii_digits, decimal, digits, done, number,
    opt, text, version,
};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use std::collections::HashSet;
use vsys_app::AppError;
use vsys_app::rows::Page;
use vsys_app::sites::{DetailsInput, NewDoctor, RegistryInput};
use vsys_app::stock::EntryReference;
use vsys_domain::ledger::{EntryKind, WasteReason};
use vsys_domain::{Action, ContractStatus, Invalid, Lang, Msg, SiteType};

pub struct PendingChange {
    pub id: String,
    pub requested_at: String,
    /// field label, before, after
    pub lines: Vec<(String, String, String)>,
}

pub struct DoctorLine {
    pub id: String,
    pub name: String,
    pub registration_number: String,
    pub created_at: String,
}

pub struct EntryLine {
    pub id: String,
    pub at: String,
    pub kind: &'static str,
    pub lot: String,
    pub vials: String,
    pub doses: String,
    pub reason: String,
    /// What the entry came from, for people (e.g. 第10クール コミナティ筋注 納入), never an id.
    pub reference: String,
    /// The page of that delivery (the site's deliveries of the cycle's vaccine).
    pub reference_link: Option<String>,
    pub correctable: bool,
    pub corrected: bool,
}

/// A vaccine product the details form offers.
pub struct VaccineOption {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

/// The most ledger entries a page shows (newest first).
const LEDGER_ROWS: usize = 200;

#[derive(Template)]
#[template(path = "site.html")]
pub struct SitePage {
    pub c: Chrome,
    pub code: String,
    pub name: String,
    pub kind_label: &'static str,
    pub is_institution: bool,
    pub own: bool,
    pub can_write: bool,
    pub may_decide: bool,
    pub version: i64,
    /// label, value
    pub registry: Vec<(&'static str, String)>,
    pub contract_options: Vec<(&'static str, &'static str)>,
    pub pending: Vec<PendingChange>,
    pub confirmed_at: Option<String>,
    pub can_confirm: bool,
    pub details_at: Option<String>,
    pub updated_at: String,
    pub site_type: &'static str,
    pub hub_code: String,
    pub is_hub: bool,
    pub type_options: Vec<(&'static str, &'static str)>,
    pub reservation_html: String,
    /// Every vaccine product, ticked where the site (or the refused form) has it.
    pub vaccine_options: Vec<VaccineOption>,
    /// 予約方法: code, label.
    pub booking_options: Vec<(&'static str, &'static str)>,
    /// What the read-only view shows: the vaccines' names, 予約方法 and the point.
    pub vaccines_shown: String,
    pub booking_shown: String,
    pub point_shown: String,
    pub doctors: Option<Vec<DoctorLine>>,
    pub stock: StockSummary,
    /// lot, vials, doses
    pub lots: Vec<(String, String, String)>,
    pub entries: Vec<EntryLine>,
    pub entries_truncated: bool,
    pub can_receive: bool,
    /// id, name
    pub cycles: Vec<(String, String)>,
    pub errs: Errs,
    pub vals: Vals,
}

fn change_value(field: &str, v: &serde_json::Value, lang: Lang) -> String {
    match v {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) if field == "contract_status" => ContractStatus::parse(s)
            .map(|c| c.label(lang).to_owned())
            .unwrap_or_else(|| s.clone()),
        serde_json::Value::String(s) if s.is_empty() => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The label of a field of the registry entry.
fn registry_label(field: &str, lang: Lang) -> String {
    match field {
        "name" => Ui::OrgName.text(lang).to_owned(),
        other => crate::pages::form::label(other, lang),
    }
}

fn pending_change(c: &vsys_app::rows::ChangeRow, lang: Lang) -> PendingChange {
    let parse = |s: &str| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).unwrap_or_default()
    };
    let (before, after) = (parse(&c.before), parse(&c.after));
    PendingChange {
        id: c.id.clone(),
        requested_at: jst(&c.requested_at),
        lines: after
            .iter()
            .map(|(k, new)| {
                (
                    registry_label(k, lang),
                    change_value(k, before.get(k).unwrap_or(&serde_json::Value::Null), lang),
                    change_value(k, new, lang),
                )
            })
            .collect(),
    }
}

/// Renders a site's page: as asked, or after a refused form (`shown`); with its doctors only on
/// request (reading them is audited).
async fn site_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: Shown,
    show_doctors: bool,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let l = L(lang);
    let site = vsys_app::sites::get(&s.app, a, code).await.map_err(err)?;
    let (org, p) = (&site.org, &site.profile);
    let code = org.code.clone();
    let own = a.principal().is_own(&org.path);
    let can_write = a.principal().may(Action::Write, &org.path);
    let may_decide = vsys_app::sites::may_decide(a, org);
    let is_institution = org.kind == vsys_domain::OrgKind::Institution;
    let (stock, references) = vsys_app::stock::view_with_references(&s.app, a, &code)
        .await
        .map_err(err)?;
    let doctors = if show_doctors {
        Some(
            vsys_app::sites::doctors(&s.app, a, &code)
                .await
                .map_err(err)?
                .into_iter()
                .map(|d| DoctorLine {
                    id: d.id,
                    name: d.name,
                    registration_number: d.registration_number.unwrap_or_default(),
                    created_at: jst(&d.created_at),
                })
                .collect(),
        )
    } else {
        None
    };
    let can_receive = can_write && !own;
    let cycles = if can_receive {
        vsys_app::cycles::list(&s.app, a, Page::first(100))
            .await
            .map_err(err)?
            .0
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        vec![]
    };
    let muni = org.parent_code.clone().unwrap_or_default();
    let muni_label = match vsys_app::orgs::get(&s.app, a, &muni).await {
        Ok(m) => format!("{}（{muni}）", m.name),
        Err(_) => muni.clone(),
    };
    let opt_s = |v: &Option<String>| v.clone().unwrap_or_default();
    let registry = vec![
        (l.t(Ui::OrgCode), code.clone()),
        (l.t(Ui::OrgName), org.name.clone()),
        (l.t(Ui::PostalCode), opt_s(&p.postal_code)),
        (l.t(Ui::Municipality), muni_label),
        (l.t(Ui::StreetAddress), opt_s(&p.address)),
        (l.t(Ui::Representative), opt_s(&p.representative)),
        (
            l.t(Ui::ContractStatus),
            p.contract_status.label(lang).to_owned(),
        ),
        (l.t(Ui::FacilityCode), opt_s(&p.facility_code)),
    ];
    let mut vals = Vals::default();
    vals.set("registry.name", org.name.clone());
    vals.set("registry.postal_code", opt_s(&p.postal_code));
    vals.set("registry.municipality_code", muni);
    vals.set("registry.address", opt_s(&p.address));
    vals.set("registry.representative", opt_s(&p.representative));
    vals.set("registry.contract_status", p.contract_status.as_str());
    vals.set("registry.facility_code", opt_s(&p.facility_code));
    vals.set("details.phone", opt_s(&p.phone));
    vals.set("details.website", opt_s(&p.website));
    vals.set("details.hours", opt_s(&p.hours));
    for v in &site.vaccines {
        vals.set(&format!("details.vaccine.{v}"), "on");
    }
    vals.set(
        "details.latitude",
        p.latitude.map(|v| v.to_string()).unwrap_or_default(),
    );
    vals.set(
        "details.longitude",
        p.longitude.map(|v| v.to_string()).unwrap_or_default(),
    );
    vals.set("details.booking", opt_s(&p.booking));
    vals.set("details.booking_url", opt_s(&p.booking_url));
    if p.accepts_non_regular {
        vals.set("details.accepts_non_regular", "on");
    }
    vals.set("details.access", opt_s(&p.access));
    vals.set("details.parking", opt_s(&p.parking));
    vals.set(
        "details.freezers_ultra_cold",
        p.freezers_ultra_cold.to_string(),
    );
    vals.set("details.freezers_minus20", p.freezers_minus20.to_string());
    vals.set("details.storage_location", opt_s(&p.storage_location));
    vals.set("hub.site_type", p.site_type.as_str());
    vals.set("hub.hub_code", opt_s(&p.hub_code));
    let vaccines = vsys_app::products::list(&s.app, a, Some("vaccine"))
        .await
        .map_err(err)?;
    // Boxes send nothing when unticked: a refused form's unticked boxes stay unticked.
    let boxes: Vec<String> = std::iter::once("accepts_non_regular".to_owned())
        .chain(vaccines.iter().map(|v| format!("vaccine.{}", v.id)))
        .collect();
    let boxes: Vec<&str> = boxes.iter().map(String::as_str).collect();
    let vals = shown.vals(vals, &boxes);
    let vaccine_options: Vec<VaccineOption> = vaccines
        .iter()
        .map(|v| VaccineOption {
            checked: vals.ticked(&format!("details.vaccine.{}", v.id)),
            id: v.id.clone(),
            name: v.name.clone(),
        })
        .collect();
    let vaccines_shown = vaccines
        .iter()
        .filter(|v| site.vaccines.contains(&v.id))
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join("、");
    let booking_shown = p
        .booking
        .as_deref()
        .and_then(vsys_domain::Booking::parse)
        .map(|b| b.label(lang).to_owned())
        .unwrap_or_default();
    let point_shown = match (p.latitude, p.longitude) {
        (Some(lat), Some(lng)) => format!("{lat}, {lng}"),
        _ => l.t(Ui::NoSitePoint).to_owned(),
    };
    let reversed: HashSet<&str> = stock
        .entries
        .iter()
        .filter_map(|e| e.reverses.as_deref())
        .collect();
    let entries = stock
        .entries
        .iter()
        .take(LEDGER_ROWS)
        .map(|e| {
            let kind = e.kind;
            let corrected = reversed.contains(e.id.as_str());
            let by_results_or_transfer = e
                .reference
                .as_deref()
                .is_some_and(|r| r.starts_with("results:") || r.starts_with("transfer:"));
            let reason = match (kind, &e.reason, &e.note) {
                (EntryKind::Correction, _, Some(n)) => n.clone(),
                (_, Some(r), _) => WasteReason::parse(r)
                    .map(|w| w.label(lang).to_owned())
                    .unwrap_or_else(|| r.clone()),
                _ => String::new(),
            };
            let (reference, reference_link) = entry_reference(references.get(&e.id), lang);
            EntryLine {
                id: e.id.clone(),
                at: jst(&e.at),
                kind: kind.label(lang),
                lot: e.lot.clone(),
                vials: int(e.vials),
                doses: int(e.doses),
                reason,
                reference,
                reference_link,
                correctable: can_write
                    && kind != EntryKind::Correction
                    && !corrected
                    && !by_results_or_transfer,
                corrected,
            }
        })
        .collect();
    let reservation_html = fragment(&reservation_block(
        a,
        lang,
        p,
        can_write,
        &format!("/sites/{code}"),
    ))
    .map_err(err)?;
    let c = Chrome::for_actor(&s.app, a, lang, &org.name, &format!("/sites/{code}"))
        .await
        .with_flash(shown.flash.as_deref());
    Ok(render_status(
        shown.errs.status(),
        &SitePage {
            c,
            name: org.name.clone(),
            kind_label: org.kind.label(lang),
            is_institution,
            own,
            can_write,
            may_decide,
            version: p.version,
            registry,
            contract_options: ContractStatus::ALL
                .iter()
                .map(|c| (c.as_str(), c.label(lang)))
                .collect(),
            pending: site
                .pending
                .iter()
                .map(|c| pending_change(c, lang))
                .collect(),
            confirmed_at: p.confirmed_at.as_ref().map(jst),
            can_confirm: may_decide
                && is_institution
                && p.confirmed_at.is_none()
                && p.contract_status == ContractStatus::Contracted,
            details_at: p.details_at.as_ref().map(jst),
            updated_at: jst(&p.updated_at),
            site_type: p.site_type.label(lang),
            hub_code: opt_s(&p.hub_code),
            is_hub: p.site_type == SiteType::Hub,
            type_options: SiteType::ALL
                .iter()
                .map(|t| (t.as_str(), t.label(lang)))
                .collect(),
            reservation_html,
            vaccine_options,
            booking_options: vsys_domain::Booking::ALL
                .iter()
                .map(|b| (b.as_str(), b.label(lang)))
                .collect(),
            vaccines_shown,
            booking_shown,
            point_shown,
            doctors,
            stock: stock_summary(&stock, lang),
            lots: stock
                .lots
                .iter()
                .map(|x| (x.lot.clone(), int(x.vials), int(x.doses)))
                .collect(),
            entries_truncated: stock.entries.len() > LEDGER_ROWS,
            entries,
            can_receive,
            cycles,
            errs: shown.errs,
            vals,
            code,
        },
    ))
}

/// A refused form of a site's page: the page again, with the reasons and what was typed (after
/// a conflict, the stored values instead).
pub(super) async fn site_refused(
    s: &AppState,
    u: &WebUser,
    code: &str,
    form: &str,
    typed: FormMap,
    e: AppError,
    show_doctors: bool,
) -> Result<Response, PageError> {
    let mut shown = Shown::after(form, e, typed, u.lang)?;
    shown.errs = match form {
        "doctor" => shown.errs.label("name", Ui::DoctorName),
        "registry" => shown.errs.label("name", Ui::OrgName),
        _ => shown.errs,
    };
    site_page(s, u, code, shown, show_doctors).await
}

pub async fn detail(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    show(&s, &u, &code, q, false).await
}

/// The page with its doctors shown (each display is audited, so only on request).
pub async fn doctors(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    show(&s, &u, &code, q, true).await
}

async fn show(
    s: &AppState,
    u: &WebUser,
    code: &str,
    q: FlashQuery,
    doctors: bool,
) -> Result<Response, PageError> {
    site_page(s, u, code, Shown::asked(q.flash), doctors).await
}

/// Changes the registry entry: applied at once for the municipality and above, filed for
/// approval when the site itself changes it.
pub async fn registry(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let Some(contract_status) = ContractStatus::parse(&text(&f, "contract_status")) else {
        let e = AppError::invalid("contract_status", Msg::InvalidContractStatus);
        return site_refused(&s, &u, &code, "registry", f, e, false).await;
    };
    let r = RegistryInput {
        name: text(&f, "name"),
        postal_code: digits(&f, "postal_code"),
        municipality_code: ascii_digits(&text(&f, "municipality_code")),
        address: opt(&f, "address"),
        representative: opt(&f, "representative"),
        contract_status,
        facility_code: digits(&f, "facility_code"),
    };
    match vsys_app::sites::change_registry(&s.app, &u.actor, &code, &r).await {
        Ok(vsys_app::sites::ChangeOutcome::Applied { .. }) => Ok(done(
            &format!("/sites/{code}"),
            Flash::ChangeApplied,
            "#registry",
        )),
        Ok(vsys_app::sites::ChangeOutcome::Pending { .. }) => Ok(done(
            &format!("/sites/{code}"),
            Flash::ChangeFiled,
            "#changes",
        )),
        Err(e) => site_refused(&s, &u, &code, "registry", f, e, false).await,
    }
}

/// 承認 or 却下 of a pending change (`decision` = `approve` or `reject`).
pub async fn decide(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let approve = match text(&f, "decision").as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            let e = AppError::invalid("decision", Msg::InvalidInput);
            return site_refused(&s, &u, &code, "changes", f, e, false).await;
        }
    };
    match vsys_app::sites::decide_change(&s.app, &u.actor, &id, approve).await {
        Ok(c) => Ok(done(
            &format!("/sites/{}", c.org_code),
            if approve {
                Flash::ChangeApproved
            } else {
                Flash::ChangeRejected
            },
            "#changes",
        )),
        Err(e) => site_refused(&s, &u, &code, "changes", f, e, false).await,
    }
}

/// 協力医療機関の確認 (the municipality or above).
pub async fn confirm(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    match vsys_app::sites::confirm(&s.app, &u.actor, &code, version(&f)).await {
        Ok(_) => Ok(done(
            &format!("/sites/{code}"),
            Flash::Confirmed,
            "#registry",
        )),
        Err(e) => site_refused(&s, &u, &code, "confirm", f, e, false).await,
    }
}

/// "35.658581, 139.745433" pasted into the latitude field (as the map service shows a point),
/// with the longitude field empty: the two numbers go to their fields.
fn with_pasted_point(mut f: FormMap) -> FormMap {
    let pasted = text(&f, "latitude");
    if text(&f, "longitude").is_empty()
        && let Some((lat, lng)) = pasted.split_once([',', '，', '、'])
    {
        f.insert("latitude".into(), lat.trim().to_owned());
        f.insert("longitude".into(), lng.trim().to_owned());
    }
    f
}

/// The details a site registers on first login and keeps up to date.
pub async fn details(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::default();
    let f = with_pasted_point(f);
    let d = DetailsInput {
        phone: digits(&f, "phone"),
        website: opt(&f, "website"),
        hours: opt(&f, "hours"),
        vaccines: f
            .keys()
            .filter_map(|k| k.strip_prefix("vaccine."))
            .map(str::to_owned)
            .collect(),
        latitude: decimal(&f, "latitude", &mut inv),
        longitude: decimal(&f, "longitude", &mut inv),
        booking: match opt(&f, "booking") {
            None => None,
            Some(b) => {
                let parsed = vsys_domain::Booking::parse(&b);
                if parsed.is_none() {
                    inv.push("booking", Msg::InvalidBooking);
                }
                parsed
            }
        },
        booking_url: opt(&f, "booking_url"),
        accepts_non_regular: f.contains_key("accepts_non_regular"),
        access: opt(&f, "access"),
        parking: opt(&f, "parking"),
        freezers_ultra_cold: number(&f, "freezers_ultra_cold", Some(0), &mut inv),
        freezers_minus20: number(&f, "freezers_minus20", Some(0), &mut inv),
        storage_location: opt(&f, "storage_location"),
    };
    if !inv.is_empty() {
        return site_refused(&s, &u, &code, "details", f, AppError::Invalid(inv), false).await;
    }
    match vsys_app::sites::put_details(&s.app, &u.actor, &code, version(&f), &d).await {
        Ok(_) => Ok(done(
            &format!("/sites/{code}"),
            Flash::DetailsSaved,
            "#details",
        )),
        Err(e) => site_refused(&s, &u, &code, "details", f, e, false).await,
    }
}

/// 基本型 or サテライト型 (with its hub).
pub async fn hub(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let Some(site_type) = SiteType::parse(&text(&f, "site_type")) else {
        let e = AppError::invalid("site_type", Msg::InvalidSiteType);
        return site_refused(&s, &u, &code, "hub", f, e, false).await;
    };
    let hub_code = digits(&f, "hub_code");
    match vsys_app::sites::set_hub(&s.app, &u.actor, &code, site_type, hub_code.as_deref()).await {
        Ok(_) => Ok(done(&format!("/sites/{code}"), Flash::HubSaved, "#hub")),
        Err(e) => site_refused(&s, &u, &code, "hub", f, e, false).await,
    }
}

pub async fn doctor_add(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let d = NewDoctor {
        name: text(&f, "name"),
        registration_number: digits(&f, "registration_number"),
    };
    match vsys_app::sites::add_doctor(&s.app, &u.actor, &code, &d).await {
        Ok(_) => Ok(done(
            &format!("/sites/{code}/doctors"),
            Flash::DoctorAdded,
            "#doctors",
        )),
        Err(e) => site_refused(&s, &u, &code, "doctor", f, e, true).await,
    }
}

pub async fn doctor_remove(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    vsys_app::sites::remove_doctor(&s.app, &u.actor, &code, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done(
        &format!("/sites/{code}/doctors"),
        Flash::DoctorRemoved,
        "#doctors",
    ))
}

/// A ledger entry's reference as words (and the delivery's page for a delivery).
fn entry_reference(r: Option<&EntryReference>, lang: Lang) -> (String, Option<String>) {
    let l = L(lang);
    match r {
        Some(EntryReference::Delivery(Some(c))) => (
            l.t(Ui::RefDeliveryOfCycle)
                .replace("{n}", &c.number.to_string())
                .replace("{vaccine}", &c.vaccine_name),
            Some(format!("/deliveries?cycle={}&item=vaccine", c.id)),
        ),
        Some(EntryReference::Delivery(None)) => (l.t(Ui::RefDelivery).to_owned(), None),
        Some(EntryReference::Receipt) => (l.t(Ui::RefReceipt).to_owned(), None),
        Some(EntryReference::Transfer) => (l.t(Ui::RefTransfer).to_owned(), None),
        Some(EntryReference::Results(day)) => (l.t(Ui::RefResults).replace("{day}", day), None),
        Some(EntryReference::None) | None => (String::new(), None),
    }
}
