//! The public site's data (コロナワクチンナビ): an in-memory snapshot of every public site's
//! public fields and the citizens' notices, indexed by prefecture, municipality, postal code
//! and a spatial grid, built from one read of the registry. It is rebuilt in the background
//! when the `registry` change counter moves (debounced, [`run_follower`]), never on a citizen's
//! request; while the database cannot be read, the last snapshot keeps answering and
//! [`Freshness`] says how old it is. [`search`] is the one search of the finder and the open
//! data API; [`SearchParams::parse`] the one reading of their parameters.

use crate::error::{AppError, AppResult};
use crate::{App, signal};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use vsys_domain::notice::CitizenTopic;
use vsys_domain::place::{Point, postal_code, search_fold, search_words};
use vsys_domain::validation::Page;
use vsys_domain::{Booking, Invalid, Msg, OrgKind, ProductKind, Reservation};
use vsys_store::coordination::{self, REGISTRY};
use vsys_store::orgs::{self, OrgFilter};
use vsys_store::{notices, products, sites};

/// A vaccine a site handles: the product's id and name.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VaccineRef {
    pub id: String,
    pub name: String,
}

/// What the public site shows of a site: where it is, how to reach it and book, and whether it
/// takes bookings. Only contracted sites, and institutions once the municipality confirmed
/// them. Never personal data: no representative, doctors, accounts, stock or results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicSite {
    pub code: String,
    pub name: String,
    /// `institution` or `site` (集団接種会場).
    pub kind: OrgKind,
    pub prefecture_code: String,
    pub municipality_code: String,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub hours: Option<String>,
    pub access: Option<String>,
    pub parking: Option<String>,
    /// かかりつけ以外も可: people who are not regular patients are vaccinated.
    pub accepts_non_regular: bool,
    /// 予約方法.
    pub booking: Option<Booking>,
    pub booking_url: Option<String>,
    pub vaccines: Vec<VaccineRef>,
    /// Where the site is (WGS 84): its own point, or its municipality's when it registered
    /// none (`point_is_approximate`).
    pub point: Option<Point>,
    pub point_is_approximate: bool,
    /// `available` ○, `few` △, `none` ×, `not_needed` ●, `unregistered`.
    pub reservation: Reservation,
    /// When the reservation status was last set.
    pub reservation_at: Option<DateTime<Utc>>,
}

impl PublicSite {
    /// Whether the reservation status is older than `stale_after_hours` at `now` (a status
    /// never set is not stale: it is 未登録).
    pub fn is_stale(&self, now: DateTime<Utc>, stale_after_hours: i64) -> bool {
        self.stale_from(stale_after_hours).is_some_and(|t| now > t)
    }

    /// The moment after which the reservation status is stale ([`PublicSite::is_stale`]);
    /// `None` for a status never set. An answer that shows `is_stale` holds until then.
    pub fn stale_from(&self, stale_after_hours: i64) -> Option<DateTime<Utc>> {
        if self.reservation == Reservation::Unregistered {
            return None;
        }
        self.reservation_at
            .map(|at| at + chrono::Duration::hours(stale_after_hours))
    }
}

/// A municipality as the finder's picker shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicMunicipality {
    pub code: String,
    pub name: String,
    pub prefecture_code: String,
    pub prefecture: String,
    /// The municipality's point (its office), when known.
    pub point: Option<Point>,
    /// Public sites in it.
    pub sites: usize,
}

/// A prefecture and its municipalities' range in [`Snapshot::municipalities`].
#[derive(Debug, Clone, Serialize)]
pub struct PublicPrefecture {
    pub code: String,
    pub name: String,
    #[serde(skip)]
    municipalities: std::ops::Range<usize>,
}

/// A notice, FAQ entry or guide page for citizens (written by the nation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CitizenNotice {
    pub id: String,
    pub topic: CitizenTopic,
    pub title_ja: String,
    pub title_en: String,
    /// Markdown.
    pub body_ja: String,
    pub body_en: String,
    pub created_at: DateTime<Utc>,
}

/// Grid cells of 0.1° (about 11 km north–south) for distance searches.
const CELL: f64 = 0.1;

fn cell(p: Point) -> (i32, i32) {
    ((p.lat / CELL).floor() as i32, (p.lng / CELL).floor() as i32)
}

/// The public registry as of one moment.
pub struct Snapshot {
    /// The `registry` counter read before the snapshot was: it holds every change up to there.
    pub version: i64,
    /// When it was read.
    pub built_at: DateTime<Utc>,
    /// Every public site, in registry (path) order: a prefecture's and a municipality's sites
    /// are each one range.
    sites: Vec<PublicSite>,
    /// Each site's name and address as the search compares them ([`search_fold`]).
    folded: Vec<String>,
    by_code: HashMap<String, usize>,
    /// Municipality code → the range of its sites (every municipality, even one without a
    /// public site).
    by_municipality: HashMap<String, std::ops::Range<usize>>,
    by_prefecture: HashMap<String, std::ops::Range<usize>>,
    /// Grid cell → the sites in it.
    grid: HashMap<(i32, i32), Vec<u32>>,
    municipalities: Vec<PublicMunicipality>,
    municipality_index: HashMap<String, usize>,
    prefectures: Vec<PublicPrefecture>,
    /// Vaccines any public site handles, by name.
    vaccines: Vec<VaccineRef>,
    notices: Vec<CitizenNotice>,
}

impl Snapshot {
    /// The public sites of a municipality; `None` for a code that is no municipality.
    pub fn municipality(&self, code: &str) -> Option<&[PublicSite]> {
        self.by_municipality
            .get(code)
            .map(|r| &self.sites[r.clone()])
    }

    /// A public site by its code.
    pub fn site(&self, code: &str) -> Option<&PublicSite> {
        self.by_code.get(code).map(|&i| &self.sites[i])
    }

    /// Every public site (registry order).
    pub fn sites(&self) -> &[PublicSite] {
        &self.sites
    }

    /// Every municipality (registry order), with its number of public sites.
    pub fn municipalities(&self) -> &[PublicMunicipality] {
        &self.municipalities
    }

    pub fn municipality_info(&self, code: &str) -> Option<&PublicMunicipality> {
        self.municipality_index
            .get(code)
            .map(|&i| &self.municipalities[i])
    }

    pub fn prefectures(&self) -> &[PublicPrefecture] {
        &self.prefectures
    }

    /// The municipalities of a prefecture.
    pub fn municipalities_of(&self, prefecture_code: &str) -> &[PublicMunicipality] {
        self.prefectures
            .iter()
            .find(|p| p.code == prefecture_code)
            .map(|p| &self.municipalities[p.municipalities.clone()])
            .unwrap_or_default()
    }

    pub fn vaccines(&self) -> &[VaccineRef] {
        &self.vaccines
    }

    /// The citizens' notices of a topic, newest first.
    pub fn notices(&self, topic: CitizenTopic) -> impl Iterator<Item = &CitizenNotice> {
        self.notices.iter().filter(move |n| n.topic == topic)
    }
}

/// The shipped postal code table (`data/postal_codes.csv`): 7 digits → municipality code.
fn postal_table() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::master_data::postal_codes()
            .map(|v| v.into_iter().collect())
            .unwrap_or_default()
    })
}

/// The shipped municipalities' points (`data/municipalities.csv`).
fn municipality_points() -> &'static HashMap<String, Point> {
    static TABLE: OnceLock<HashMap<String, Point>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::master_data::municipalities()
            .map(|v| {
                v.into_iter()
                    .map(|m| {
                        (
                            m.code,
                            Point {
                                lat: m.lat,
                                lng: m.lng,
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The municipality of a postal code (7 ASCII digits), from the shipped table.
pub fn municipality_of_postal_code(code: &str) -> Option<&'static str> {
    postal_table().get(code).map(String::as_str)
}

/// How many citizens' notices a snapshot holds at most.
pub(crate) const NOTICES_HELD: u64 = 200;

/// Reads the registry into a new snapshot (one read transaction after the counter).
async fn build(app: &App) -> AppResult<Snapshot> {
    let version = coordination::version(&app.db, REGISTRY).await?;
    let built_at = app.clock.now();
    let mut tx = app.db.read_long().await?;
    let areas = |kind: OrgKind| OrgFilter {
        scope_path: "/".into(),
        kind: Some(kind.as_str().into()),
        ..OrgFilter::default()
    };
    let prefecture_rows = orgs::list(&mut tx, &areas(OrgKind::Prefecture), Page::all())
        .await?
        .0;
    let municipality_rows = orgs::list(&mut tx, &areas(OrgKind::Municipality), Page::all())
        .await?
        .0;
    let rows = sites::public_rows(&mut tx).await?;
    let site_vaccines = sites::all_vaccines(&mut tx).await?;
    let vaccine_names: HashMap<String, String> =
        products::list(&mut tx, Some(ProductKind::Vaccine.as_str()))
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
    let notice_rows = notices::for_citizens(&mut tx, NOTICES_HELD).await?;
    drop(tx);

    let mut vaccines_of: HashMap<String, Vec<VaccineRef>> = HashMap::new();
    for (site, product) in site_vaccines {
        if let Some(name) = vaccine_names.get(&product) {
            vaccines_of.entry(site).or_default().push(VaccineRef {
                id: product,
                name: name.clone(),
            });
        }
    }
    let points = municipality_points();
    let prefecture_of = |m: &vsys_store::orgs::OrgRow| m.parent_code.clone().unwrap_or_default();
    let mut grouped: HashMap<String, Vec<PublicSite>> = HashMap::new();
    for r in rows {
        let Some(m) = r.municipality_code.clone() else {
            continue;
        };
        let own = match (r.latitude, r.longitude) {
            (Some(lat), Some(lng)) => Point::parse(lat, lng).ok(),
            _ => None,
        };
        let mut vaccines = vaccines_of.remove(&r.code).unwrap_or_default();
        vaccines.sort_by(|a, b| a.name.cmp(&b.name));
        grouped.entry(m.clone()).or_default().push(PublicSite {
            prefecture_code: m.get(..2).unwrap_or_default().to_owned(),
            municipality_code: m.clone(),
            code: r.code,
            name: r.name,
            kind: r.kind,
            postal_code: r.postal_code,
            address: r.address,
            phone: r.phone,
            website: r.website,
            hours: r.hours,
            access: r.access,
            parking: r.parking,
            accepts_non_regular: r.accepts_non_regular,
            booking: r.booking.as_deref().and_then(Booking::parse),
            booking_url: r.booking_url,
            vaccines,
            point: own.or_else(|| points.get(&m).copied()),
            point_is_approximate: own.is_none(),
            reservation: r.reservation,
            reservation_at: r.reservation_at,
        });
    }
    let mut by_prefecture_munis: HashMap<String, Vec<vsys_store::orgs::OrgRow>> = HashMap::new();
    for m in municipality_rows {
        by_prefecture_munis
            .entry(prefecture_of(&m))
            .or_default()
            .push(m);
    }
    let mut s = Snapshot {
        version,
        built_at,
        sites: Vec::new(),
        folded: Vec::new(),
        by_code: HashMap::new(),
        by_municipality: HashMap::new(),
        by_prefecture: HashMap::new(),
        grid: HashMap::new(),
        municipalities: Vec::new(),
        municipality_index: HashMap::new(),
        prefectures: Vec::new(),
        vaccines: Vec::new(),
        notices: Vec::new(),
    };
    for p in prefecture_rows {
        let pref_start = s.sites.len();
        let muni_start = s.municipalities.len();
        for m in by_prefecture_munis.remove(&p.code).unwrap_or_default() {
            let start = s.sites.len();
            s.sites.extend(grouped.remove(&m.code).unwrap_or_default());
            s.by_municipality
                .insert(m.code.clone(), start..s.sites.len());
            s.municipality_index
                .insert(m.code.clone(), s.municipalities.len());
            s.municipalities.push(PublicMunicipality {
                point: points.get(&m.code).copied(),
                code: m.code,
                name: m.name,
                prefecture_code: p.code.clone(),
                prefecture: p.name.clone(),
                sites: s.sites.len() - start,
            });
        }
        s.by_prefecture
            .insert(p.code.clone(), pref_start..s.sites.len());
        s.prefectures.push(PublicPrefecture {
            code: p.code,
            name: p.name,
            municipalities: muni_start..s.municipalities.len(),
        });
    }
    let mut offered: HashMap<String, String> = HashMap::new();
    for (i, site) in s.sites.iter().enumerate() {
        s.by_code.insert(site.code.clone(), i);
        s.folded.push(search_fold(&format!(
            "{}\u{1F}{}",
            site.name,
            site.address.as_deref().unwrap_or_default()
        )));
        if let Some(p) = site.point {
            s.grid.entry(cell(p)).or_default().push(i as u32);
        }
        for v in &site.vaccines {
            offered.insert(v.id.clone(), v.name.clone());
        }
    }
    s.vaccines = offered
        .into_iter()
        .map(|(id, name)| VaccineRef { id, name })
        .collect();
    s.vaccines
        .sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    s.notices = notice_rows
        .into_iter()
        .filter_map(|n| {
            Some(CitizenNotice {
                topic: CitizenTopic::parse(&n.category)?,
                id: n.id,
                title_ja: n.title_ja,
                title_en: n.title_en,
                body_ja: n.body_ja,
                body_en: n.body_en,
                created_at: n.created_at,
            })
        })
        .collect();
    Ok(s)
}

/// The snapshot a process holds, when it was last known to be current, and the lock that lets
/// one build run at a time.
#[derive(Default)]
pub struct Holder {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// The last moment the registry counter was read and matched the snapshot (or the
    /// snapshot was built).
    checked_at: RwLock<Option<DateTime<Utc>>>,
    building: Mutex<()>,
}

impl Holder {
    fn get(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, s: Arc<Snapshot>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(s);
    }

    fn checked(&self, at: DateTime<Utc>) {
        let mut c = self
            .checked_at
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.is_none_or(|old| old < at) {
            *c = Some(at);
        }
    }

    fn checked_at(&self) -> Option<DateTime<Utc>> {
        *self
            .checked_at
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Builds a new snapshot now and puts it in place (what the follower does on a change; also
/// for tests and tools that want the public site to show a change at once). One build at a
/// time per process; a build that finds a newer snapshot in place keeps that one.
pub async fn refresh(app: &App) -> AppResult<Arc<Snapshot>> {
    let _one = app.public.building.lock().await;
    let s = Arc::new(build(app).await?);
    app.public.checked(s.built_at);
    match app.public.get() {
        Some(held) if held.version > s.version => Ok(held),
        _ => {
            app.public.set(s.clone());
            Ok(s)
        }
    }
}

/// The snapshot this process holds; the first call of a process that has none builds it (the
/// server builds it with [`refresh`] before it listens).
pub async fn snapshot(app: &App) -> AppResult<Arc<Snapshot>> {
    match app.public.get() {
        Some(s) => Ok(s),
        None => refresh(app).await,
    }
}

/// How current the public data is, for the finder and the API to say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Freshness {
    /// When the snapshot was read from the registry.
    pub built_at: DateTime<Utc>,
    /// The last moment the registry was seen unchanged since (or the build).
    pub checked_at: DateTime<Utc>,
    /// Whether the registry has not been reachable for longer than [`UNCONFIRMED_AFTER`]: the
    /// data may be out of date, and the public site says since when.
    pub unconfirmed: bool,
}

/// A snapshot not confirmed current for this long is shown as possibly out of date.
pub const UNCONFIRMED_AFTER: Duration = Duration::from_secs(120);

pub fn freshness(app: &App, s: &Snapshot) -> Freshness {
    let checked_at = app
        .public
        .checked_at()
        .unwrap_or(s.built_at)
        .max(s.built_at);
    let limit = chrono::Duration::from_std(UNCONFIRMED_AFTER).unwrap_or_default();
    Freshness {
        built_at: s.built_at,
        checked_at,
        unconfirmed: app.clock.now() - checked_at > limit,
    }
}

/// The snapshot, for a municipality's public list (no login: citizens look here): `NotFound`
/// when `code` is no municipality. Its sites are `snapshot.municipality(code)`.
pub async fn for_municipality(app: &App, code: &str) -> AppResult<Arc<Snapshot>> {
    let s = snapshot(app).await?;
    if s.municipality(code).is_none() {
        return Err(AppError::NotFound);
    }
    Ok(s)
}

/// The public list of one municipality's sites, from the snapshot (see [`for_municipality`]).
pub async fn municipality_sites(app: &App, code: &str) -> AppResult<Vec<PublicSite>> {
    let code = code.trim();
    let s = for_municipality(app, code).await?;
    Ok(s.municipality(code).unwrap_or_default().to_vec())
}

/// The finder's and the open data API's parameters as they arrive (query strings, form
/// fields): every one optional text. [`SearchParams::parse`] reads them into a [`Search`] or
/// says which is wrong.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Prefecture code (2 digits, `13` = 東京都).
    pub prefecture: Option<String>,
    /// Municipality code (5 digits, `27100` = 大阪市).
    pub municipality: Option<String>,
    /// Postal code (7 digits, with or without hyphen; full-width digits accepted): its
    /// municipality, and its point for distances.
    pub postal_code: Option<String>,
    /// Words in the site's name or address (all must match; at most 100 characters).
    pub q: Option<String>,
    /// The visitor's latitude (WGS 84); with `lng`, results come nearest first with their
    /// distance.
    pub lat: Option<String>,
    pub lng: Option<String>,
    /// Only sites within this many kilometres of the point (0.1–100; 10 when a point is given
    /// without an area).
    pub radius_km: Option<String>,
    /// A vaccine product id (`GET /api/v1/public/vaccines`, or the finder's list).
    pub vaccine: Option<String>,
    /// Reservation statuses, comma-separated: `available`, `few`, `none`, `not_needed`,
    /// `unregistered`.
    pub status: Option<String>,
    /// `true`: only sites that vaccinate people who are not their regular patients.
    pub accepts_non_regular: Option<String>,
    /// Page number, from 1.
    pub page: Option<String>,
    /// Sites a page (1–500; 20 by default).
    pub per_page: Option<String>,
}

/// Where to look.
#[derive(Debug, Clone, PartialEq)]
pub enum Area {
    Everywhere,
    Prefecture(String),
    Municipality(String),
}

/// A search, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub area: Area,
    /// The postal code asked for (7 digits), when one was.
    pub postal_code: Option<String>,
    pub words: Vec<String>,
    /// The point distances are measured from (the visitor's, or the postal code's).
    pub near: Option<Point>,
    pub radius_km: Option<f64>,
    pub vaccine: Option<String>,
    /// Empty: any status.
    pub statuses: Vec<Reservation>,
    pub accepts_non_regular: bool,
    pub page: Page,
}

/// Sites a page unless asked otherwise.
pub const DEFAULT_PER_PAGE: u64 = 20;
/// The radius of a search by point alone.
pub const DEFAULT_RADIUS_KM: f64 = 10.0;

impl SearchParams {
    /// Reads the parameters against a snapshot (codes must exist in it). Every wrong parameter
    /// is named in the `Invalid` (its field is the parameter's name).
    pub fn parse(&self, snapshot: &Snapshot) -> Result<Search, Invalid> {
        let mut inv = Invalid::default();
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        for (name, v) in [
            ("prefecture", &self.prefecture),
            ("municipality", &self.municipality),
            ("postal_code", &self.postal_code),
            ("q", &self.q),
            ("lat", &self.lat),
            ("lng", &self.lng),
            ("radius_km", &self.radius_km),
            ("vaccine", &self.vaccine),
            ("status", &self.status),
            ("accepts_non_regular", &self.accepts_non_regular),
            ("page", &self.page),
            ("per_page", &self.per_page),
        ] {
            if let Some(Err(m)) = v.as_deref().map(vsys_domain::validation::check_text) {
                inv.push(name, m);
            }
        }
        if !inv.is_empty() {
            return Err(inv);
        }
        let digits = |v: Option<String>| v.map(|s| vsys_domain::validation::ascii_digits(&s));
        let mut area = Area::Everywhere;
        if let Some(p) = digits(given(&self.prefecture)) {
            if snapshot.by_prefecture.contains_key(&p) {
                area = Area::Prefecture(p);
            } else {
                inv.push("prefecture", Msg::UnknownPrefecture);
            }
        }
        if let Some(m) = digits(given(&self.municipality)) {
            match snapshot.municipality_info(&m) {
                Some(info) if matches!(&area, Area::Prefecture(p) if *p != info.prefecture_code) => {
                    inv.push("municipality", Msg::UnknownMunicipality)
                }
                Some(_) => area = Area::Municipality(m),
                None => inv.push("municipality", Msg::UnknownMunicipality),
            }
        }
        let mut near = None;
        let mut postal = None;
        if let Some(raw) = given(&self.postal_code) {
            match postal_code(&raw) {
                Err(m) => inv.push("postal_code", m),
                Ok(code) => match municipality_of_postal_code(&code)
                    .and_then(|m| snapshot.municipality_info(m))
                {
                    None => inv.push("postal_code", Msg::UnknownPostalCode),
                    Some(m) => {
                        near = m.point;
                        if area == Area::Everywhere {
                            area = Area::Municipality(m.code.clone());
                        }
                        postal = Some(code);
                    }
                },
            }
        }
        let q = given(&self.q).unwrap_or_default();
        if q.chars().count() > 100 {
            inv.push("q", Msg::SearchTooLong);
        }
        let number = |v: Option<String>| v.map(|s| s.parse::<f64>().ok().filter(|f| f.is_finite()));
        match (number(given(&self.lat)), number(given(&self.lng))) {
            (None, None) => {}
            (Some(Some(lat)), Some(Some(lng))) => match Point::parse(lat, lng) {
                Ok(p) => near = Some(p),
                Err((field, m)) => inv.push(field, m),
            },
            (Some(None), _) => inv.push("lat", Msg::InvalidLatitude),
            (_, Some(None)) => inv.push("lng", Msg::InvalidLongitude),
            (None, Some(_)) => inv.push("lat", Msg::CoordinatesTogether),
            (Some(_), None) => inv.push("lng", Msg::CoordinatesTogether),
        }
        let radius_km = match number(given(&self.radius_km)) {
            None => None,
            Some(Some(r)) if (0.1..=100.0).contains(&r) => Some(r),
            Some(_) => {
                inv.push("radius_km", Msg::InvalidRadius);
                None
            }
        };
        if radius_km.is_some() && near.is_none() && !inv.has("lat") && !inv.has("lng") {
            inv.push("radius_km", Msg::RadiusNeedsPoint);
        }
        let vaccine = given(&self.vaccine);
        if vaccine
            .as_deref()
            .is_some_and(|v| !snapshot.vaccines.iter().any(|x| x.id == v))
        {
            inv.push("vaccine", Msg::UnknownVaccine);
        }
        let mut statuses = Vec::new();
        for s in given(&self.status)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match Reservation::parse(s) {
                Some(r) if !statuses.contains(&r) => statuses.push(r),
                Some(_) => {}
                None => {
                    inv.push("status", Msg::InvalidReservation);
                    break;
                }
            }
        }
        let accepts_non_regular = match given(&self.accepts_non_regular).as_deref() {
            None | Some("false" | "0") => false,
            Some("true" | "1" | "on") => true,
            Some(_) => {
                inv.push("accepts_non_regular", Msg::InvalidFlag);
                false
            }
        };
        let whole = |name: &str, v: Option<String>, inv: &mut Invalid| -> Option<u64> {
            let v = v?;
            match vsys_domain::validation::ascii_digits(&v).parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    inv.push(
                        name,
                        if name == "page" {
                            Msg::PageOutOfRange
                        } else {
                            Msg::PerPageOutOfRange
                        },
                    );
                    None
                }
            }
        };
        let page_n = whole("page", given(&self.page), &mut inv);
        let per_page = whole("per_page", given(&self.per_page), &mut inv);
        let page = if inv.has("page") || inv.has("per_page") {
            Page::first(1)
        } else {
            match Page::parse_with(page_n, per_page, DEFAULT_PER_PAGE) {
                Ok(p) => p,
                Err(e) => {
                    inv.0.extend(e.0);
                    Page::first(1)
                }
            }
        };
        inv.into_result()?;
        let radius_km = match (near, &area, radius_km) {
            (Some(_), Area::Everywhere, None) => Some(DEFAULT_RADIUS_KM),
            (_, _, r) => r,
        };
        Ok(Search {
            area,
            postal_code: postal,
            words: search_words(&q),
            near,
            radius_km,
            vaccine,
            statuses,
            accepts_non_regular,
            page,
        })
    }
}

/// A page of search results.
#[derive(Debug)]
pub struct Found<'a> {
    /// The sites of the page, with their distance (km) when the search had a point.
    pub items: Vec<(&'a PublicSite, Option<f64>)>,
    /// Sites matching, over all pages.
    pub total: usize,
}

/// The one search of the public site and open data: the area (or the cells of the grid the
/// radius touches), then the filters; nearest first when there is a point, else registry
/// order; then the page.
pub fn search<'a>(s: &'a Snapshot, q: &Search) -> Found<'a> {
    let area: Box<dyn Iterator<Item = usize>> = match (&q.area, q.near, q.radius_km) {
        (Area::Municipality(m), _, _) => {
            Box::new(s.by_municipality.get(m).cloned().unwrap_or_default())
        }
        (Area::Prefecture(p), _, _) => {
            Box::new(s.by_prefecture.get(p).cloned().unwrap_or_default())
        }
        (Area::Everywhere, Some(p), Some(r)) => {
            let dlat = (r / 111.0 / CELL).ceil() as i32 + 1;
            let dlng = (r / (111.0 * p.lat.to_radians().cos().max(0.05)) / CELL).ceil() as i32 + 1;
            let (cy, cx) = cell(p);
            let mut idx: Vec<usize> = Vec::new();
            for y in cy - dlat..=cy + dlat {
                for x in cx - dlng..=cx + dlng {
                    if let Some(v) = s.grid.get(&(y, x)) {
                        idx.extend(v.iter().map(|&i| i as usize));
                    }
                }
            }
            idx.sort_unstable();
            Box::new(idx.into_iter())
        }
        (Area::Everywhere, _, _) => Box::new(0..s.sites.len()),
    };
    let mut hits: Vec<(usize, Option<f64>)> = area
        .filter(|&i| {
            let site = &s.sites[i];
            (q.statuses.is_empty() || q.statuses.contains(&site.reservation))
                && (!q.accepts_non_regular || site.accepts_non_regular)
                && q.vaccine
                    .as_deref()
                    .is_none_or(|v| site.vaccines.iter().any(|x| x.id == v))
                && q.words.iter().all(|w| s.folded[i].contains(w.as_str()))
        })
        .filter_map(|i| {
            let d = q.near.map(|p| {
                s.sites[i]
                    .point
                    .map_or(f64::INFINITY, |sp| p.distance_km(sp))
            });
            match (d, q.radius_km) {
                (Some(d), Some(r)) if d > r => None,
                _ => Some((i, d)),
            }
        })
        .collect();
    if q.near.is_some() {
        hits.sort_by(|a, b| {
            a.1.unwrap_or(f64::INFINITY)
                .total_cmp(&b.1.unwrap_or(f64::INFINITY))
                .then(a.0.cmp(&b.0))
        });
    }
    let total = hits.len();
    let items = hits
        .into_iter()
        .skip(usize::try_from(q.page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(q.page.limit()).unwrap_or(usize::MAX))
        .map(|(i, d)| (&s.sites[i], d.filter(|d| d.is_finite())))
        .collect();
    Found { items, total }
}

/// How long the follower waits after a change before it rebuilds (changes that come together,
/// such as a registry import or a burst of reservation clicks, make one rebuild).
pub const DEBOUNCE: Duration = Duration::from_millis(500);
/// How often the follower reads the registry counter itself (a lost notification, a database
/// that was unreachable at the last change) and so confirms the snapshot is current.
const RECHECK: Duration = Duration::from_secs(10);

/// Keeps this process's snapshot up to date until `stop`: after the `registry` counter moves
/// (as the change signal reports it, or as read every [`RECHECK`]), waits [`DEBOUNCE`] and
/// rebuilds. A failed read or build (the database unreachable) keeps the snapshot in place,
/// and [`freshness`] then says since when it is unconfirmed.
pub async fn run_follower(app: App, mut stop: watch::Receiver<bool>) {
    let mut changes = app.signals.subscribe();
    loop {
        let held = app.public.get().map_or(-1, |s| s.version);
        let read = coordination::version(&app.db, REGISTRY).await;
        if let Ok(v) = read
            && v == held
        {
            app.public.checked(app.clock.now());
        }
        let moved = app.signals.version(signal::REGISTRY) > held || read.is_ok_and(|v| v > held);
        if moved {
            tokio::select! {
                () = tokio::time::sleep(DEBOUNCE) => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = refresh(&app).await {
                tracing::warn!(error = %e, "public site: the snapshot could not be rebuilt; the last one keeps answering");
            }
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            () = tokio::time::sleep(RECHECK) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
