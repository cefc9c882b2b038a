//! Sites (医療機関 and 集団接種会場): the registry entry the nation or prefecture imports, the
//! details a site registers on first login, changes of controlled fields that wait for the
//! municipality, the municipality's confirmation of cooperating institutions, hubs and
//! satellites, reservation status, and doctors.

use crate::App;
use crate::audit::{Who, entry, record, record_many};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::notices::{NoticeDraft, notify};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use vsys_domain::org::child_path;
use vsys_domain::{
    Action, Booking, ContractStatus, FieldError, Invalid, Msg, OrgCode, OrgKind, Reservation, Role,
    SiteType,
};
use vsys_store::orgs::{self, OrgFilter, OrgRow};
use vsys_store::sites::{self, ChangeRow, DoctorRow, ProfileRow};
use vsys_store::{Page, Tx};

/// A site as its users and the organisations above it see it.
#[derive(Debug, Clone, Serialize)]
pub struct SiteView {
    pub org: OrgRow,
    pub profile: ProfileRow,
    /// Changes of controlled fields waiting for the municipality.
    pub pending: Vec<ChangeRow>,
    /// The vaccines the site handles (product ids).
    pub vaccines: Vec<String>,
}

impl SiteView {
    /// Whether citizens find the site on the public site now, and if not why (the rule the
    /// public snapshot is built with; `None` for an organisation that is not a site). A change
    /// reaches the public finder within [`crate::public::DEBOUNCE`] plus one rebuild.
    pub fn publicity(&self) -> Option<vsys_domain::site::Publicity> {
        vsys_domain::site::Publicity::of(
            self.org.kind,
            self.profile.contract_status,
            self.profile.confirmed_at.is_some(),
        )
    }
}

/// The profile a site has before anything was registered for it.
pub fn blank_profile(org_code: &str, now: DateTime<Utc>) -> ProfileRow {
    ProfileRow {
        org_code: org_code.to_owned(),
        facility_code: None,
        postal_code: None,
        address: None,
        representative: None,
        contract_status: ContractStatus::Contracted,
        site_type: SiteType::Hub,
        hub_code: None,
        phone: None,
        website: None,
        hours: None,
        accepts_non_regular: false,
        access: None,
        parking: None,
        freezers_ultra_cold: 0,
        freezers_minus20: 0,
        storage_location: None,
        details_at: None,
        confirmed_at: None,
        confirmed_by: None,
        reservation: Reservation::Unregistered,
        reservation_at: None,
        updated_at: now,
        updated_by: None,
        version: 0,
        latitude: None,
        longitude: None,
        booking: None,
        booking_url: None,
    }
}

fn is_site(org: &OrgRow) -> bool {
    org.kind.is_site()
}

/// The one rule of which sites an actor may read: a site (institution or municipal site) in
/// the actor's scope. Anything else is `NotFound`: its existence is not revealed.
fn readable(actor: &Actor, org: Option<OrgRow>) -> AppResult<OrgRow> {
    match org {
        Some(org) if actor.principal.may(Action::Read, &org.path) && is_site(&org) => Ok(org),
        _ => Err(AppError::NotFound),
    }
}

/// The one rule of which sites an actor may change: readable, and writable by the actor's role
/// (operators of the site or of an organisation above it).
fn writable(actor: &Actor, org: Option<OrgRow>) -> AppResult<OrgRow> {
    let org = readable(actor, org)?;
    actor.require(Action::Write, &org.path)?;
    Ok(org)
}

/// Loads a site the actor may read (`NotFound` otherwise: its existence is not revealed).
pub(crate) async fn site_in_scope(tx: &mut Tx, actor: &Actor, code: &str) -> AppResult<OrgRow> {
    actor.require_password_changed()?;
    readable(actor, orgs::get(tx, code.trim()).await?)
}

/// Loads a site the actor may change (operators of the site or of an organisation above it).
pub(crate) async fn writable_site(tx: &mut Tx, actor: &Actor, code: &str) -> AppResult<OrgRow> {
    actor.require_password_changed()?;
    writable(actor, orgs::get(tx, code.trim()).await?)
}

async fn profile(tx: &mut Tx, org: &OrgRow, now: DateTime<Utc>) -> AppResult<ProfileRow> {
    Ok(sites::get(tx, &org.code)
        .await?
        .unwrap_or_else(|| blank_profile(&org.code, now)))
}

async fn view(tx: &mut Tx, org: OrgRow, now: DateTime<Utc>) -> AppResult<SiteView> {
    let profile = profile(tx, &org, now).await?;
    let pending = sites::changes_for(tx, std::slice::from_ref(&org.code), "pending").await?;
    let vaccines = sites::vaccines(tx, &org.code).await?;
    Ok(SiteView {
        org,
        profile,
        pending,
        vaccines,
    })
}

/// Writes `p` (version-checked against `expected`; a site with no stored profile has
/// version 0 and none stored).
async fn save(tx: &mut Tx, p: &ProfileRow, expected: i64) -> AppResult<ProfileRow> {
    let stored = sites::get(tx, &p.org_code).await?;
    match stored {
        None if expected == 0 => {
            let row = ProfileRow {
                version: 1,
                ..p.clone()
            };
            sites::upsert_many(tx, std::slice::from_ref(&row)).await?;
            Ok(row)
        }
        Some(s) if s.version == expected => {
            let row = ProfileRow {
                version: expected + 1,
                ..p.clone()
            };
            sites::update(tx, &row).await?;
            Ok(row)
        }
        _ => Err(AppError::Conflict),
    }
}

pub async fn get(app: &App, actor: &Actor, code: &str) -> AppResult<SiteView> {
    let mut tx = app.db.read().await?;
    let org = site_in_scope(&mut tx, actor, code).await?;
    view(&mut tx, org, app.clock.now()).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteQuery {
    /// Only sites of this municipality.
    pub municipality: Option<String>,
    /// Code prefix or part of the name.
    pub q: Option<String>,
    /// `pending`: sites with a change waiting for approval; `unconfirmed`: cooperating
    /// institutions the municipality has not confirmed yet.
    pub filter: Option<String>,
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

/// One row of a site list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SiteSummary {
    pub code: String,
    pub kind: OrgKind,
    pub name: String,
    pub municipality_code: Option<String>,
    pub contract_status: ContractStatus,
    pub site_type: SiteType,
    pub hub_code: Option<String>,
    pub reservation: Reservation,
    pub details_registered: bool,
    pub confirmed: bool,
    pub pending_changes: usize,
}

/// Sites in the actor's scope. The `pending` and `unconfirmed` filters look at every site in
/// scope (a municipality has at most a few thousand). Served from the process's read cache
/// while the registry has not changed (see [`crate::read_cache`]).
pub async fn list(app: &App, actor: &Actor, q: &SiteQuery) -> AppResult<ListPage> {
    Ok(list_shared(app, actor, q).await?.as_ref().clone())
}

/// [`list`] as the cache holds it: the same `Arc` while the registry has not changed.
pub async fn list_shared(app: &App, actor: &Actor, q: &SiteQuery) -> AppResult<Arc<ListPage>> {
    actor.require_password_changed()?;
    let page = crate::page(q.page, q.per_page)?;
    let filter = q.filter.clone().filter(|f| !f.is_empty());
    let f = OrgFilter {
        scope_path: actor.principal.org_path.clone(),
        kinds: vec!["institution".into(), "site".into()],
        // A municipality's sites are its direct children: the parent index finds them.
        parent_code: q
            .municipality
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                (actor.principal.org_kind == OrgKind::Municipality)
                    .then(|| actor.principal.org_code.as_str().to_owned())
            }),
        q: q.q.clone(),
        ..OrgFilter::default()
    };
    let key = (f.clone(), filter.clone(), page);
    app.site_lists
        .through(app, vsys_store::coordination::REGISTRY, key, || {
            list_in(app, f, filter, page)
        })
        .await
}

/// What a page of a site list is cached under: the filter (with the caller's scope), the
/// `pending`/`unconfirmed` filter and the page.
pub(crate) type ListKey = (OrgFilter, Option<String>, Page);
/// A page of sites and the number of all that match.
pub type ListPage = (Vec<SiteSummary>, i64);

async fn list_in(
    app: &App,
    f: OrgFilter,
    filter: Option<String>,
    page: Page,
) -> AppResult<ListPage> {
    // Organisations, profiles and pending changes, each statement on its own snapshot: a
    // write between them also moves the counter, so this value is not served again after it.
    let mut tx = app.db.read_each().await?;
    let filtering = filter.is_some();
    let (out, mut total) =
        orgs::list(&mut tx, &f, if filtering { Page::all() } else { page }).await?;
    let codes: Vec<String> = out.iter().map(|o| o.code.clone()).collect();
    let profiles: BTreeMap<String, ProfileRow> = sites::for_orgs(&mut tx, &codes)
        .await?
        .into_iter()
        .map(|p| (p.org_code.clone(), p))
        .collect();
    let mut pending: BTreeMap<String, usize> = BTreeMap::new();
    for c in sites::changes_for(&mut tx, &codes, "pending").await? {
        *pending.entry(c.org_code).or_default() += 1;
    }
    let now = app.clock.now();
    let mut rows: Vec<SiteSummary> = out
        .into_iter()
        .map(|o| {
            let p = profiles
                .get(&o.code)
                .cloned()
                .unwrap_or_else(|| blank_profile(&o.code, now));
            SiteSummary {
                pending_changes: pending.get(&o.code).copied().unwrap_or(0),
                code: o.code,
                kind: o.kind,
                name: o.name,
                municipality_code: o.parent_code,
                contract_status: p.contract_status,
                site_type: p.site_type,
                hub_code: p.hub_code,
                reservation: p.reservation,
                details_registered: p.details_at.is_some(),
                confirmed: p.confirmed_at.is_some(),
            }
        })
        .collect();
    match filter.as_deref() {
        Some("pending") => rows.retain(|r| r.pending_changes > 0),
        Some("unconfirmed") => rows.retain(|r| {
            r.kind == OrgKind::Institution
                && !r.confirmed
                && r.contract_status == ContractStatus::Contracted
        }),
        _ => {}
    }
    if filtering {
        total = rows.len() as i64;
        rows = rows
            .into_iter()
            .skip(page.offset() as usize)
            .take(page.limit() as usize)
            .collect();
    }
    Ok((rows, total))
}

/// The details a site registers itself (first login) and may change at any time.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DetailsInput {
    pub phone: Option<String>,
    pub website: Option<String>,
    /// 診療時間・接種時間.
    pub hours: Option<String>,
    /// Vaccines handled: ids of vaccine products (`GET /api/v1/products`).
    #[serde(default)]
    pub vaccines: Vec<String>,
    /// The site's own point (WGS 84), both or neither; the finder measures distance from it
    /// (without it, the municipality's point stands in).
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// 予約方法.
    pub booking: Option<Booking>,
    /// The booking page (needed for web booking).
    pub booking_url: Option<String>,
    /// Whether people who are not regular patients are vaccinated (かかりつけ以外の受入).
    #[serde(default)]
    pub accepts_non_regular: bool,
    pub access: Option<String>,
    pub parking: Option<String>,
    /// −75℃ freezers (超低温冷凍庫).
    #[serde(default)]
    pub freezers_ultra_cold: i64,
    /// −20℃ freezers.
    #[serde(default)]
    pub freezers_minus20: i64,
    /// Where the freezers stand.
    pub storage_location: Option<String>,
}

fn clean(v: &Option<String>, field: &str, max: usize, inv: &mut Invalid) -> Option<String> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    if s.chars().count() > max {
        inv.push(field, Msg::TooLong);
    }
    Some(s.to_owned())
}

fn url_ok(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// A site's point as entered: both coordinates inside Japan, or neither.
pub fn site_point(
    latitude: Option<f64>,
    longitude: Option<f64>,
    inv: &mut Invalid,
) -> Option<vsys_domain::place::Point> {
    match (latitude, longitude) {
        (None, None) => None,
        (Some(lat), Some(lng)) => match vsys_domain::place::Point::in_japan(lat, lng) {
            Ok(p) => Some(p),
            Err((field, msg)) => {
                inv.push(field, msg);
                None
            }
        },
        (None, Some(_)) => {
            inv.push("latitude", Msg::CoordinatesTogether);
            None
        }
        (Some(_), None) => {
            inv.push("longitude", Msg::CoordinatesTogether);
            None
        }
    }
}

/// The vaccine products among `ids` (deduplicated, in order); an id that is no vaccine is
/// reported on `vaccines`.
async fn vaccine_ids(tx: &mut Tx, ids: &[String], inv: &mut Invalid) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for id in ids.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if out.iter().any(|o| o == id) {
            continue;
        }
        match vsys_store::products::get(tx, id).await? {
            Some(p) if p.kind == vsys_domain::ProductKind::Vaccine => out.push(id.to_owned()),
            _ => inv.push("vaccines", Msg::UnknownVaccine),
        }
    }
    Ok(out)
}

fn phone_ok(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (10..=11).contains(&digits) && s.chars().all(|c| c.is_ascii_digit() || c == '-')
}

/// Registers or changes the site's details; the first time also records when.
pub async fn put_details(
    app: &App,
    actor: &Actor,
    code: &str,
    version: i64,
    d: &DetailsInput,
) -> AppResult<SiteView> {
    let now = app.clock.now();
    let mut inv = Invalid::default();
    let phone = clean(&d.phone, "phone", 20, &mut inv);
    if phone.as_deref().is_some_and(|p| !phone_ok(p)) {
        inv.push("phone", Msg::InvalidPhone);
    }
    let website = clean(&d.website, "website", 300, &mut inv);
    if website.as_deref().is_some_and(|w| !url_ok(w)) {
        inv.push("website", Msg::InvalidUrl);
    }
    let booking_url = clean(&d.booking_url, "booking_url", 300, &mut inv);
    if booking_url.as_deref().is_some_and(|w| !url_ok(w)) {
        inv.push("booking_url", Msg::InvalidUrl);
    }
    if d.booking == Some(Booking::Web) && booking_url.is_none() {
        inv.push("booking_url", Msg::BookingUrlRequired);
    }
    let point = site_point(d.latitude, d.longitude, &mut inv);
    let hours = clean(&d.hours, "hours", 500, &mut inv);
    let access = clean(&d.access, "access", 500, &mut inv);
    let parking = clean(&d.parking, "parking", 200, &mut inv);
    let storage_location = clean(&d.storage_location, "storage_location", 200, &mut inv);
    for (f, v) in [
        ("freezers_ultra_cold", d.freezers_ultra_cold),
        ("freezers_minus20", d.freezers_minus20),
    ] {
        if !(0..=100).contains(&v) {
            inv.push(f, Msg::InvalidInput);
        }
    }
    if phone.is_none() {
        inv.push("phone", Msg::Required);
    }
    let mut tx = app.db.begin().await?;
    let vaccines = vaccine_ids(&mut tx, &d.vaccines, &mut inv).await?;
    inv.into_result()?;
    let org = writable_site(&mut tx, actor, code).await?;
    let before = profile(&mut tx, &org, now).await?;
    let vaccines_before = sites::vaccines(&mut tx, &org.code).await?;
    let after = ProfileRow {
        phone,
        website,
        hours,
        latitude: point.map(|p| p.lat),
        longitude: point.map(|p| p.lng),
        booking: d.booking.map(|b| b.as_str().to_owned()),
        booking_url,
        accepts_non_regular: d.accepts_non_regular,
        access,
        parking,
        freezers_ultra_cold: d.freezers_ultra_cold,
        freezers_minus20: d.freezers_minus20,
        storage_location,
        details_at: before.details_at.or(Some(now)),
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        ..before.clone()
    };
    let after = save(&mut tx, &after, version).await?;
    let mut vaccines_sorted = vaccines.clone();
    vaccines_sorted.sort();
    if vaccines_sorted != vaccines_before {
        sites::set_vaccines(&mut tx, &org.code, &vaccines).await?;
    }
    record(
        &mut tx,
        &actor.into(),
        now,
        "site.details",
        "site",
        &org.code,
        Some(&serde_json::json!({"profile": before, "vaccines": vaccines_before})),
        Some(&serde_json::json!({"profile": after, "vaccines": vaccines_sorted})),
    )
    .await?;
    let v = view(&mut tx, org, now).await?;
    tx.commit().await?;
    app.changed().await;
    Ok(v)
}

/// Controlled fields of the registry: a site's own change of these waits for its municipality.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RegistryInput {
    pub name: String,
    pub postal_code: Option<String>,
    /// The municipality the site belongs to (5 digits).
    pub municipality_code: String,
    pub address: Option<String>,
    pub representative: Option<String>,
    /// `contracted`, `pending` or `not_contracted`.
    pub contract_status: ContractStatus,
    /// 老健施設コード or 介護医療院コード.
    pub facility_code: Option<String>,
}

/// Checks a registry entry; returns it cleaned (trimmed, postal code as 7 digits).
pub fn validate_registry(r: &RegistryInput) -> Result<RegistryInput, Invalid> {
    let mut inv = Invalid::default();
    let name = r.name.trim();
    if name.is_empty() {
        inv.push("name", Msg::Required);
    } else if name.chars().count() > 200 {
        inv.push("name", Msg::TooLong);
    }
    let postal_code = match r.postal_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => vsys_domain::place::postal_code(p)
            .map_err(|m| inv.push("postal_code", m))
            .ok(),
    };
    let municipality_code = r.municipality_code.trim().to_owned();
    if OrgCode::parse(&municipality_code).map(|c| c.kind()) != Ok(OrgKind::Municipality) {
        inv.push("municipality_code", Msg::UnknownOrg);
    }
    let address = clean(&r.address, "address", 300, &mut inv);
    let representative = clean(&r.representative, "representative", 100, &mut inv);
    let contract_status = r.contract_status;
    let facility_code = r
        .facility_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if facility_code
        .as_deref()
        .is_some_and(|c| c.len() != 10 || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        inv.push("facility_code", Msg::InvalidOrgCode);
    }
    inv.into_result()?;
    Ok(RegistryInput {
        name: name.to_owned(),
        postal_code,
        municipality_code,
        address,
        representative,
        contract_status,
        facility_code,
    })
}

/// The registry entry of a site as it stands.
pub fn registry_of(org: &OrgRow, p: &ProfileRow) -> RegistryInput {
    RegistryInput {
        name: org.name.clone(),
        postal_code: p.postal_code.clone(),
        municipality_code: org.parent_code.clone().unwrap_or_default(),
        address: p.address.clone(),
        representative: p.representative.clone(),
        contract_status: p.contract_status,
        facility_code: p.facility_code.clone(),
    }
}

/// What happened to a change of the registry entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChangeOutcome {
    /// Applied at once (by the municipality or an organisation above it).
    Applied { site: Box<serde_json::Value> },
    /// Waiting for the municipality's approval.
    Pending { change_id: String },
}

/// The municipality a site moves to: it must exist; an institution's code names its
/// prefecture, so the move stays in it; a municipal site's code names its municipality, so it
/// cannot move at all; and whoever applies the move must cover the new municipality (a
/// municipality cannot hand a site to its neighbour — the prefecture does).
async fn new_municipality(
    tx: &mut Tx,
    org: &OrgRow,
    code: &str,
    applier: Option<&vsys_domain::Principal>,
) -> AppResult<OrgRow> {
    let field = "municipality_code";
    let muni = orgs::get(tx, code)
        .await?
        .filter(|m| m.kind == OrgKind::Municipality)
        .ok_or_else(|| AppError::invalid(field, Msg::UnknownOrg))?;
    if org.kind == OrgKind::Site {
        return Err(AppError::invalid(field, Msg::SiteCannotMove));
    }
    if muni.prefecture_code.as_deref() != org.code.get(..2) {
        return Err(AppError::invalid(field, Msg::CodePrefectureMismatch));
    }
    if applier.is_some_and(|p| !p.may(Action::Write, &muni.path)) {
        return Err(AppError::invalid(field, Msg::OutOfScope));
    }
    Ok(muni)
}

/// Applies a registry entry to the organisation row and profile (moving the site when its
/// municipality changes). The caller has checked the actor may.
async fn apply_registry(
    tx: &mut Tx,
    org: &OrgRow,
    p: &ProfileRow,
    r: &RegistryInput,
    now: DateTime<Utc>,
    by: &str,
    principal: &vsys_domain::Principal,
) -> AppResult<(OrgRow, ProfileRow)> {
    let mut new_org = OrgRow {
        name: r.name.clone(),
        updated_at: now,
        version: org.version + 1,
        ..org.clone()
    };
    if org.parent_code.as_deref() != Some(r.municipality_code.as_str()) {
        let muni = new_municipality(tx, org, &r.municipality_code, Some(principal)).await?;
        let code =
            OrgCode::parse(&org.code).map_err(|_| anyhow::anyhow!("bad code {}", org.code))?;
        new_org.parent_code = Some(muni.code.clone());
        new_org.path = child_path(&muni.path, &code);
        new_org.prefecture_code = muni.prefecture_code.clone();
    }
    orgs::update(tx, &new_org, org.version).await?;
    let new_p = ProfileRow {
        postal_code: r.postal_code.clone(),
        address: r.address.clone(),
        representative: r.representative.clone(),
        contract_status: r.contract_status,
        facility_code: r.facility_code.clone(),
        updated_at: now,
        updated_by: Some(by.to_owned()),
        ..p.clone()
    };
    let new_p = save(tx, &new_p, p.version).await?;
    Ok((new_org, new_p))
}

fn changed_fields(
    before: &RegistryInput,
    after: &RegistryInput,
) -> (
    serde_json::Map<String, serde_json::Value>,
    serde_json::Map<String, serde_json::Value>,
) {
    let (b, a) = (
        serde_json::to_value(before).unwrap_or_default(),
        serde_json::to_value(after).unwrap_or_default(),
    );
    let mut old = serde_json::Map::new();
    let mut new = serde_json::Map::new();
    if let (Some(b), Some(a)) = (b.as_object(), a.as_object()) {
        for (k, v) in a {
            if b.get(k) != Some(v) {
                old.insert(k.clone(), b.get(k).cloned().unwrap_or_default());
                new.insert(k.clone(), v.clone());
            }
        }
    }
    (old, new)
}

/// Changes the registry entry. The site's own users file a change that waits for the
/// municipality (one at a time); the municipality and the organisations above apply it at
/// once.
pub async fn change_registry(
    app: &App,
    actor: &Actor,
    code: &str,
    r: &RegistryInput,
) -> AppResult<ChangeOutcome> {
    let r = validate_registry(r)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    let p = profile(&mut tx, &org, now).await?;
    let current = registry_of(&org, &p);
    let (old, new) = changed_fields(&current, &r);
    if new.is_empty() {
        return Err(AppError::invalid("name", Msg::NothingChanged));
    }
    let who: Who = actor.into();
    if actor.principal.is_own(&org.path) {
        if !sites::changes_for(&mut tx, std::slice::from_ref(&org.code), "pending")
            .await?
            .is_empty()
        {
            return Err(AppError::invalid("name", Msg::ChangePending));
        }
        // A move to another municipality must name one it can move to.
        if new.contains_key("municipality_code") {
            new_municipality(&mut tx, &org, &r.municipality_code, None).await?;
        }
        let change = ChangeRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_code: org.code.clone(),
            before: serde_json::Value::Object(old).to_string(),
            after: serde_json::Value::Object(new).to_string(),
            status: "pending".into(),
            requested_at: now,
            requested_by: Some(actor.user_id.clone()),
            decided_at: None,
            decided_by: None,
        };
        sites::insert_change(&mut tx, &change).await?;
        record(
            &mut tx,
            &who,
            now,
            "site.change.request",
            "site_change",
            &change.id,
            None::<&()>,
            Some(&change),
        )
        .await?;
        if let Some(muni) = &org.parent_code {
            notify(
                &mut tx,
                app,
                &who,
                now,
                muni,
                None,
                &NoticeDraft {
                    category: "site".into(),
                    title_ja: format!("医療機関情報の変更申請（{}）", org.name),
                    title_en: format!("Change requested for {}", org.name),
                    body_ja: "医療機関情報の変更が申請されました。内容を確認し、承認または却下してください。".into(),
                    body_en: "A site has asked to change its registered details. Review and approve or reject the change.".into(),
                    link: Some(format!("/sites/{}", org.code)),
                },
            )
            .await?;
        }
        tx.commit().await?;
        app.changed().await;
        return Ok(ChangeOutcome::Pending {
            change_id: change.id,
        });
    }
    let (new_org, new_p) =
        apply_registry(&mut tx, &org, &p, &r, now, &actor.user_id, &actor.principal).await?;
    record(
        &mut tx,
        &who,
        now,
        "site.registry",
        "site",
        &org.code,
        Some(&old),
        Some(&new),
    )
    .await?;
    let v = view(&mut tx, new_org, now).await?;
    tx.commit().await?;
    app.changed().await;
    let _ = new_p;
    Ok(ChangeOutcome::Applied {
        site: Box::new(serde_json::to_value(&v).map_err(anyhow::Error::from)?),
    })
}

/// Approves or rejects a pending change (operators of the municipality or above; never the
/// site itself). Approval applies the new values, provided the fields still hold the values
/// the change was filed against.
pub async fn decide_change(
    app: &App,
    actor: &Actor,
    change_id: &str,
    approve: bool,
) -> AppResult<ChangeRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let change = sites::get_change(&mut tx, change_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let org = writable_site(&mut tx, actor, &change.org_code).await?;
    if actor.principal.is_own(&org.path) {
        return Err(AppError::Forbidden);
    }
    if change.status != "pending" {
        return Err(AppError::State(Msg::ChangeDecided));
    }
    let p = profile(&mut tx, &org, now).await?;
    let who: Who = actor.into();
    if approve {
        let current = serde_json::to_value(registry_of(&org, &p)).map_err(anyhow::Error::from)?;
        let before: serde_json::Value =
            serde_json::from_str(&change.before).map_err(anyhow::Error::from)?;
        let after: serde_json::Value =
            serde_json::from_str(&change.after).map_err(anyhow::Error::from)?;
        let mut merged = current.clone();
        if let (Some(b), Some(a), Some(m)) = (
            before.as_object(),
            after.as_object(),
            merged.as_object_mut(),
        ) {
            if b.iter().any(|(k, v)| current.get(k) != Some(v)) {
                return Err(AppError::Conflict);
            }
            for (k, v) in a {
                m.insert(k.clone(), v.clone());
            }
        }
        let r: RegistryInput = serde_json::from_value(merged).map_err(anyhow::Error::from)?;
        let r = validate_registry(&r)?;
        apply_registry(&mut tx, &org, &p, &r, now, &actor.user_id, &actor.principal).await?;
    }
    let status = if approve { "approved" } else { "rejected" };
    sites::decide_change(&mut tx, &change.id, status, now, &actor.user_id).await?;
    let decided = ChangeRow {
        status: status.into(),
        decided_at: Some(now),
        decided_by: Some(actor.user_id.clone()),
        ..change.clone()
    };
    record(
        &mut tx,
        &who,
        now,
        if approve {
            "site.change.approve"
        } else {
            "site.change.reject"
        },
        "site_change",
        &change.id,
        Some(&change),
        Some(&decided),
    )
    .await?;
    notify(
        &mut tx,
        app,
        &who,
        now,
        &org.code,
        None,
        &NoticeDraft {
            category: "site".into(),
            title_ja: if approve {
                "医療機関情報の変更が承認されました".into()
            } else {
                "医療機関情報の変更が却下されました".into()
            },
            title_en: if approve {
                "Your change was approved".into()
            } else {
                "Your change was rejected".into()
            },
            body_ja: "市町村が医療機関情報の変更申請を処理しました。".into(),
            body_en: "The municipality has decided on the change of your registered details."
                .into(),
            link: Some(format!("/sites/{}", org.code)),
        },
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(decided)
}

/// 協力医療機関の確認・確定: the municipality confirms a contracted institution.
pub async fn confirm(app: &App, actor: &Actor, code: &str, version: i64) -> AppResult<SiteView> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    if actor.principal.is_own(&org.path) {
        return Err(AppError::Forbidden);
    }
    let before = profile(&mut tx, &org, now).await?;
    if before.contract_status != ContractStatus::Contracted {
        return Err(AppError::invalid("contract_status", Msg::NotContracted));
    }
    let after = ProfileRow {
        confirmed_at: Some(now),
        confirmed_by: Some(actor.user_id.clone()),
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        ..before.clone()
    };
    let after = save(&mut tx, &after, version).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "site.confirm",
        "site",
        &org.code,
        Some(&before),
        Some(&after),
    )
    .await?;
    let v = view(&mut tx, org, now).await?;
    tx.commit().await?;
    app.changed().await;
    Ok(v)
}

/// Sets the reservation status (one click on the site's home page).
pub async fn set_reservation(
    app: &App,
    actor: &Actor,
    code: &str,
    status: Reservation,
) -> AppResult<ProfileRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    let after = write_reservations(&mut tx, actor, now, &[(org, status)]).await?;
    tx.commit().await?;
    app.changed().await;
    after.into_iter().next().ok_or(AppError::NotFound)
}

/// The most sites one bulk update of reservation statuses takes.
pub const MAX_RESERVATION_ITEMS: usize = 5_000;

/// One site's status in a bulk update, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReservationItem {
    /// The site's code (医療機関等コード: an institution's or a municipal site's).
    pub code: String,
    /// `available` (○ 予約可能), `few` (△ 残り少数), `none` (× 予約受付不可), `not_needed`
    /// (● 予約不要) or `unregistered` (未登録); the Japanese words and the marks are read too.
    pub reservation: String,
}

/// Sets the reservation statuses of many sites at once (a municipality or its booking system),
/// all or nothing: every site must be one the actor may change, as [`set_reservation`] asks of
/// one. A refused item is reported with its row (from 1), its code and what is wrong; nothing
/// is written unless every item is accepted. One transaction, one audit entry per site
/// (`site.reservation`). Returns how many sites were set.
pub async fn set_reservations(
    app: &App,
    actor: &Actor,
    items: &[ReservationItem],
) -> AppResult<usize> {
    actor.require_password_changed()?;
    // Every site in reach is the actor's own organisation or below it: a role that may not
    // write there may write nowhere.
    actor.require(Action::Write, &actor.principal.org_path)?;
    if items.is_empty() {
        return Err(AppError::invalid("items", Msg::NoItems));
    }
    if items.len() > MAX_RESERVATION_ITEMS {
        return Err(AppError::invalid("items", Msg::TooManyItems));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let codes: Vec<String> = items.iter().map(|i| i.code.trim().to_owned()).collect();
    let mut stored: HashMap<String, OrgRow> = orgs::get_many(&mut tx, &codes)
        .await?
        .into_iter()
        .map(|o| (o.code.clone(), o))
        .collect();
    let mut inv = Invalid::default();
    let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
    let mut sites: Vec<(OrgRow, Reservation)> = Vec::with_capacity(items.len());
    for (i, (item, code)) in items.iter().zip(&codes).enumerate() {
        let row = i + 1;
        let mut refuse = |field: &str, msg: Msg| {
            let e = FieldError::at_row(row, field, msg);
            inv.0.push(if code.is_empty() { e } else { e.about(code) });
        };
        let status = Reservation::read(&item.reservation);
        if status.is_none() {
            refuse("reservation", Msg::InvalidReservationWord);
        }
        if code.is_empty() {
            refuse("code", Msg::Required);
            continue;
        }
        if !seen.insert(code.as_str()) {
            refuse("code", Msg::DuplicateSite);
            continue;
        }
        match (writable(actor, stored.remove(code)), status) {
            (Ok(org), Some(status)) => sites.push((org, status)),
            (Ok(_), None) => {}
            (Err(AppError::Forbidden), _) => refuse("code", Msg::Forbidden),
            (Err(_), _) => refuse("code", Msg::UnknownSite),
        }
    }
    inv.into_result()?;
    let n = write_reservations(&mut tx, actor, now, &sites).await?.len();
    tx.commit().await?;
    app.changed().await;
    Ok(n)
}

/// Sets the reservation status of sites the actor may change (the caller checked that), in
/// `tx`, with one audit entry each (`site.reservation`). The status is set alone (the latest
/// wins; the profile's version is left alone, so a details form open at the same time still
/// saves); a site with no profile yet gets its blank profile first. Returns the profiles after.
async fn write_reservations(
    tx: &mut Tx,
    actor: &Actor,
    now: DateTime<Utc>,
    sites: &[(OrgRow, Reservation)],
) -> AppResult<Vec<ProfileRow>> {
    let codes: Vec<String> = sites.iter().map(|(o, _)| o.code.clone()).collect();
    let mut stored: HashMap<String, ProfileRow> = sites::for_orgs(tx, &codes)
        .await?
        .into_iter()
        .map(|p| (p.org_code.clone(), p))
        .collect();
    let missing: Vec<ProfileRow> = codes
        .iter()
        .filter(|c| !stored.contains_key(*c))
        .map(|c| ProfileRow {
            version: 1,
            ..blank_profile(c, now)
        })
        .collect();
    if !missing.is_empty() {
        sites::upsert_many(tx, &missing).await?;
        stored.extend(missing.into_iter().map(|p| (p.org_code.clone(), p)));
    }
    let statuses: Vec<(&str, &str)> = sites
        .iter()
        .map(|(o, r)| (o.code.as_str(), r.as_str()))
        .collect();
    sites::set_reservations(tx, &statuses, now).await?;
    let who: Who = actor.into();
    let mut entries = Vec::with_capacity(sites.len());
    let mut after = Vec::with_capacity(sites.len());
    for (org, status) in sites {
        let before = stored
            .remove(&org.code)
            .ok_or_else(|| anyhow::anyhow!("no profile of {} after writing it", org.code))?;
        entries.push(entry(
            &who,
            now,
            "site.reservation",
            "site",
            &org.code,
            Some(&serde_json::json!({"reservation": before.reservation})),
            Some(&serde_json::json!({"reservation": status})),
        )?);
        after.push(ProfileRow {
            reservation: *status,
            reservation_at: Some(now),
            ..before
        });
    }
    record_many(tx, entries).await?;
    Ok(after)
}

/// Makes a site a hub (基本型) or a satellite of a hub in the same prefecture (the
/// municipality or above).
pub async fn set_hub(
    app: &App,
    actor: &Actor,
    code: &str,
    site_type: SiteType,
    hub_code: Option<&str>,
) -> AppResult<ProfileRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    if actor.principal.is_own(&org.path) {
        return Err(AppError::Forbidden);
    }
    let hub_code = hub_code.map(str::trim).filter(|s| !s.is_empty());
    let hub_code = match (site_type, hub_code) {
        (SiteType::Hub, _) => {
            if !sites::satellites(&mut tx, &org.code).await?.is_empty() {
                // Already a hub with satellites: fine. Nothing to check.
            }
            None
        }
        (_, None) => return Err(AppError::invalid("hub_code", Msg::HubInvalid)),
        (_, Some(h)) => {
            let hub = orgs::get(&mut tx, h).await?;
            let hub_profile = match &hub {
                Some(o)
                    if is_site(o)
                        && o.code != org.code
                        && o.prefecture_code == org.prefecture_code =>
                {
                    profile(&mut tx, o, now).await?
                }
                _ => return Err(AppError::invalid("hub_code", Msg::HubInvalid)),
            };
            if hub_profile.site_type != SiteType::Hub {
                return Err(AppError::invalid("hub_code", Msg::HubInvalid));
            }
            if !sites::satellites(&mut tx, &org.code).await?.is_empty() {
                return Err(AppError::invalid("site_type", Msg::HubHasSatellites));
            }
            Some(h.to_owned())
        }
    };
    let before = profile(&mut tx, &org, now).await?;
    let after = ProfileRow {
        site_type,
        hub_code,
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        ..before.clone()
    };
    let after = save(&mut tx, &after, before.version).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "site.hub",
        "site",
        &org.code,
        Some(&serde_json::json!({"site_type": before.site_type, "hub_code": before.hub_code})),
        Some(&serde_json::json!({"site_type": after.site_type, "hub_code": after.hub_code})),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(after)
}

/// A municipal vaccination site (集団接種会場) to register.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewMunicipalSite {
    pub name: String,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub representative: Option<String>,
}

/// Registers a municipal site (operators of the municipality or above); its code is `9` +
/// municipality + the next serial.
pub async fn create_municipal_site(
    app: &App,
    actor: &Actor,
    municipality_code: &str,
    n: &NewMunicipalSite,
) -> AppResult<SiteView> {
    let r = validate_registry(&RegistryInput {
        name: n.name.clone(),
        postal_code: n.postal_code.clone(),
        municipality_code: municipality_code.to_owned(),
        address: n.address.clone(),
        representative: n.representative.clone(),
        contract_status: ContractStatus::Contracted,
        facility_code: None,
    })?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let muni = orgs::get(&mut tx, &r.municipality_code)
        .await?
        .filter(|m| m.kind == OrgKind::Municipality && actor.principal.may(Action::Read, &m.path))
        .ok_or_else(|| AppError::invalid("municipality_code", Msg::UnknownOrg))?;
    actor.require_can(vsys_domain::Capability::CreateMunicipalSites)?;
    actor.require(Action::Write, &muni.path)?;
    let muni_code =
        OrgCode::parse(&muni.code).map_err(|m| AppError::invalid("municipality_code", m))?;
    let prefix = format!("9{}", muni.code);
    let next = orgs::max_code_with_prefix(&mut tx, &prefix, 10)
        .await?
        .and_then(|c| c.get(6..).and_then(|s| s.parse::<u16>().ok()))
        .unwrap_or(0)
        + 1;
    let code = OrgCode::site(&muni_code, next)
        .ok_or_else(|| AppError::invalid("name", Msg::InvalidInput))?;
    let org = OrgRow {
        code: code.to_string(),
        kind: OrgKind::Site,
        name: r.name.clone(),
        name_en: None,
        parent_code: Some(muni.code.clone()),
        path: child_path(&muni.path, &code),
        prefecture_code: muni.prefecture_code.clone(),
        population: None,
        lat: muni.lat,
        lng: muni.lng,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    orgs::insert_many(&mut tx, std::slice::from_ref(&org)).await?;
    let p = ProfileRow {
        postal_code: r.postal_code,
        address: r.address,
        representative: r.representative,
        updated_by: Some(actor.user_id.clone()),
        ..blank_profile(&org.code, now)
    };
    let p = save(&mut tx, &p, 0).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "site.create",
        "site",
        &org.code,
        None::<&()>,
        Some(&serde_json::json!({"org": org, "profile": p})),
    )
    .await?;
    let v = view(&mut tx, org, now).await?;
    tx.commit().await?;
    app.changed().await;
    Ok(v)
}

/// The doctors of a site. Personal data: every read is audited.
pub async fn doctors(app: &App, actor: &Actor, code: &str) -> AppResult<Vec<DoctorRow>> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = site_in_scope(&mut tx, actor, code).await?;
    let rows = sites::doctors(&mut tx, &org.code).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "doctor.read",
        "site",
        &org.code,
        None::<&()>,
        Some(&serde_json::json!({"doctors": rows.len()})),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(rows)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewDoctor {
    pub name: String,
    /// 医籍登録番号 (digits), if known.
    pub registration_number: Option<String>,
}

pub async fn add_doctor(
    app: &App,
    actor: &Actor,
    code: &str,
    d: &NewDoctor,
) -> AppResult<DoctorRow> {
    let mut inv = Invalid::default();
    let name = d.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        inv.push("name", Msg::InvalidName);
    }
    let reg = d
        .registration_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if reg.is_some_and(|r| r.len() > 10 || !r.bytes().all(|b| b.is_ascii_digit())) {
        inv.push("registration_number", Msg::InvalidRegistrationNumber);
    }
    inv.into_result()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    let row = DoctorRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_code: org.code.clone(),
        name: name.to_owned(),
        registration_number: reg.map(str::to_owned),
        created_at: now,
        created_by: Some(actor.user_id.clone()),
    };
    sites::insert_doctor(&mut tx, &row).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "doctor.add",
        "doctor",
        &row.id,
        None::<&()>,
        Some(&row),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(row)
}

pub async fn remove_doctor(app: &App, actor: &Actor, code: &str, id: &str) -> AppResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let org = writable_site(&mut tx, actor, code).await?;
    let row = sites::delete_doctor(&mut tx, &org.code, id).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "doctor.remove",
        "doctor",
        &row.id,
        Some(&row),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    Ok(())
}

/// Whether the actor may approve changes and confirm institutions of this site: the
/// municipality's (or a higher organisation's) operators.
pub fn may_decide(actor: &Actor, org: &OrgRow) -> bool {
    actor.principal.may(Action::Write, &org.path)
        && !actor.principal.is_own(&org.path)
        && actor.role() >= Role::Operator
}
