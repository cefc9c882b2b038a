//! 医療機関の一括登録: the nation or a prefecture imports the registry of medical institutions
//! from a CSV file (UTF-8 or Shift_JIS, as Excel saves it), all or nothing.
//!
//! * Every row is checked and every error is reported with its row and column; a file with any
//!   error changes nothing ([`TableError::Rows`]).
//! * The import is idempotent, keyed by the 医療機関コード: a new code creates the institution
//!   (organisation row under its municipality, and its profile), a known code whose registry
//!   values differ is updated (the site's own details, reservation status and the
//!   municipality's confirmation are kept), and a row identical to what is stored is counted as
//!   unchanged and not written.
//! * 緯度 and 経度 (optional columns) give the site's own point (the public finder measures
//!   distance from it): both or neither, inside Japan, full-width digits accepted; a row that
//!   leaves them empty keeps the point stored.
//! * What is stored is read in bulk (chunks of 1,000 codes) and looked up in hash maps; the
//!   writes are batched; everything happens in one transaction with one audit entry
//!   (`site.import`) that records the file's SHA-256 and the codes created and updated.

use crate::App;
use crate::audit::record;
use crate::context::Actor;
use crate::csv_files::{self, Encoding, TableError};
use crate::error::{AppError, AppResult};
use crate::sites::{RegistryInput, blank_profile, site_point, validate_registry};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use vsys_domain::Capability;
use vsys_domain::org::child_path;
use vsys_domain::place::Point;
use vsys_domain::validation::decimal;
use vsys_domain::{Action, ContractStatus, FieldError, Invalid, Msg, OrgCode, OrgKind, SiteType};
use vsys_store::orgs::{self, OrgFilter, OrgRow};
use vsys_store::sites::{self, ProfileRow};
use vsys_store::{Backend, Page};

pub const COL_CODE: &str = "医療機関コード";
pub const COL_FACILITY: &str = "老健施設等コード";
pub const COL_NAME: &str = "名称";
pub const COL_POSTAL: &str = "郵便番号";
pub const COL_MUNICIPALITY: &str = "市町村コード";
pub const COL_ADDRESS: &str = "住所";
pub const COL_REPRESENTATIVE: &str = "代表者";
pub const COL_CONTRACT: &str = "契約状況";
pub const COL_TYPE: &str = "種別";
pub const COL_HUB: &str = "基本型コード";
pub const COL_LAT: &str = "緯度";
pub const COL_LNG: &str = "経度";

/// The columns of the file, in the order of the template. The first eight are required;
/// 種別 (blank = 基本型), 基本型コード (for サテライト型 only), and 緯度・経度 (the site's own
/// point, both or neither) may be left out.
pub const HEADERS: [&str; 12] = [
    COL_CODE,
    COL_FACILITY,
    COL_NAME,
    COL_POSTAL,
    COL_MUNICIPALITY,
    COL_ADDRESS,
    COL_REPRESENTATIVE,
    COL_CONTRACT,
    COL_TYPE,
    COL_HUB,
    COL_LAT,
    COL_LNG,
];

/// Rows written per batch (and per progress report while writing).
const BATCH: usize = 1000;
/// Rows read or checked between progress reports.
const REPORT_EVERY: usize = 1000;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Data rows in the file.
    pub rows: usize,
    /// Institutions registered for the first time.
    pub created: usize,
    /// Institutions whose registry entry changed.
    pub updated: usize,
    /// Rows identical to what was stored (nothing written).
    pub unchanged: usize,
}

/// The stage an import is in, as reported to the `progress` callback of [`import`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading the file's rows (done / rows).
    Reading,
    /// Checking the rows against the rules and what is stored (done / rows).
    Checking,
    /// Writing organisations and profiles (rows written / rows to write).
    Writing,
    /// Committed (rows / rows).
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Reading => "reading",
            Phase::Checking => "checking",
            Phase::Writing => "writing",
            Phase::Done => "done",
        }
    }

    /// A job's phase as written down; a failed job is `None` (it ended without a phase).
    pub fn parse(s: &str) -> Option<Phase> {
        [Phase::Reading, Phase::Checking, Phase::Writing, Phase::Done]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

const JOB_KIND: &str = "site_import";

/// Starts an import in the background and returns its job id; [`job`] tells how it goes, from
/// any process. The file is checked and written exactly as [`import`] does it.
pub async fn start(app: &App, actor: &Actor, bytes: Vec<u8>) -> AppResult<String> {
    actor.require_can(Capability::ImportRegistry)?;
    let id = crate::jobs::create(app, actor, JOB_KIND, Phase::Reading.as_str()).await?;
    let (task_app, actor) = (app.clone(), actor.clone());
    crate::jobs::spawn(app.clone(), id.clone(), move |reporter| async move {
        let progress = |phase: Phase, done: usize, total: usize| {
            reporter.report(phase.as_str(), done, total);
        };
        let summary = import(&task_app, &actor, &bytes, &progress).await?;
        serde_json::to_value(summary).map_err(|e| AppError::Internal(e.into()))
    });
    Ok(id)
}

/// An import as the person who started it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    pub id: String,
    /// Where it is; `None` once it failed.
    pub phase: Option<Phase>,
    pub done: usize,
    pub total: usize,
    pub finished: bool,
    pub summary: Option<ImportSummary>,
    /// Why the file was refused (every bad row), in the reader's language.
    pub error: Option<String>,
}

/// The state of an import job (only to the person who started it; anyone else: not found).
pub async fn job(
    app: &App,
    actor: &Actor,
    id: &str,
    lang: vsys_domain::Lang,
) -> AppResult<ImportJob> {
    let j = crate::jobs::view(app, actor, JOB_KIND, id).await?;
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    Ok(ImportJob {
        phase: Phase::parse(&j.phase),
        done: count(j.done),
        total: count(j.total),
        finished: j.finished_at.is_some(),
        summary: j
            .outcome
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok()),
        error: match lang {
            vsys_domain::Lang::Ja => j.error_ja,
            vsys_domain::Lang::En => j.error_en,
        },
        id: j.id,
    })
}

/// The template to download: the header row and one example row (UTF-8 with a BOM).
pub fn template() -> Vec<u8> {
    let example = vec![
        "1312345678",
        "",
        "港区みなと内科クリニック",
        "105-0011",
        "13103",
        "東京都港区芝公園4-2-8",
        "港 太郎",
        "契約済",
        "基本型",
        "",
        "35.658581",
        "139.745433",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    // UTF-8 holds every character, so writing cannot fail; an empty file would only mean a
    // broken build of the table writer.
    csv_files::write(&HEADERS, &[example], Encoding::Utf8).unwrap_or_default()
}

/// The column of the file a field of [`validate_registry`] comes from.
fn column_of(field: &str) -> &'static str {
    match field {
        "name" => COL_NAME,
        "postal_code" => COL_POSTAL,
        "municipality_code" => COL_MUNICIPALITY,
        "address" => COL_ADDRESS,
        "representative" => COL_REPRESENTATIVE,
        "contract_status" => COL_CONTRACT,
        "facility_code" => COL_FACILITY,
        "latitude" => COL_LAT,
        "longitude" => COL_LNG,
        _ => "",
    }
}

/// 契約状況 as written in the file (Japanese, or the stored English value).
fn contract_status(s: &str) -> Option<ContractStatus> {
    match s {
        "契約済" | "契約済み" => Some(ContractStatus::Contracted),
        "手続中" | "手続き中" => Some(ContractStatus::Pending),
        "未契約" => Some(ContractStatus::NotContracted),
        other => match other.to_ascii_lowercase().as_str() {
            "contracted" => Some(ContractStatus::Contracted),
            "pending" | "in progress" => Some(ContractStatus::Pending),
            "not_contracted" | "not contracted" => Some(ContractStatus::NotContracted),
            _ => None,
        },
    }
}

/// 種別: blank or 基本型 → hub; サテライト型 (連携型) → satellite.
fn site_type(s: &str) -> Option<SiteType> {
    match s {
        "" | "基本型" => Some(SiteType::Hub),
        "サテライト型" | "連携型" => Some(SiteType::Satellite),
        other => match other.to_ascii_lowercase().as_str() {
            "hub" => Some(SiteType::Hub),
            "satellite" => Some(SiteType::Satellite),
            _ => None,
        },
    }
}

/// One data row, its cells trimmed.
struct Raw {
    row: usize,
    code: String,
    facility: String,
    name: String,
    postal: String,
    municipality: String,
    address: String,
    representative: String,
    contract: String,
    site_type: String,
    hub: String,
    lat: String,
    lng: String,
}

impl Raw {
    fn take(mut r: csv_files::Record) -> Raw {
        let mut cell = |col: &str| {
            r.fields
                .remove(col)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        Raw {
            code: cell(COL_CODE),
            facility: cell(COL_FACILITY),
            name: cell(COL_NAME),
            postal: cell(COL_POSTAL),
            municipality: cell(COL_MUNICIPALITY),
            address: cell(COL_ADDRESS),
            representative: cell(COL_REPRESENTATIVE),
            contract: cell(COL_CONTRACT),
            site_type: cell(COL_TYPE),
            hub: cell(COL_HUB),
            lat: cell(COL_LAT),
            lng: cell(COL_LNG),
            row: r.row,
        }
    }
}

/// A row after the checks of its own cells.
struct Checked<'a> {
    row: usize,
    code: String,
    /// Whether the code has the shape of an institution code.
    code_ok: bool,
    /// The cleaned registry entry, when valid.
    registry: Option<RegistryInput>,
    /// The municipality, when it exists (in scope or not).
    municipality: Option<&'a OrgRow>,
    site_type: Option<SiteType>,
    hub_code: Option<String>,
    /// The site's own point, when the row gives one.
    point: Option<Point>,
}

/// Collects row errors, at most one per row and column.
#[derive(Default)]
struct Errors {
    list: Vec<FieldError>,
    seen: HashSet<(usize, &'static str)>,
}

impl Errors {
    fn push(&mut self, row: usize, column: &'static str, msg: Msg) {
        if self.seen.insert((row, column)) {
            let mut e = FieldError::new(column, msg);
            e.row = Some(row);
            self.list.push(e);
        }
    }

    fn has(&self, row: usize, column: &'static str) -> bool {
        self.seen.contains(&(row, column))
    }

    /// The errors by row, then in the order of the columns of the template.
    fn into_sorted(mut self) -> Vec<FieldError> {
        let col = |f: &str| {
            HEADERS
                .iter()
                .position(|h| *h == f)
                .unwrap_or(HEADERS.len())
        };
        self.list
            .sort_by_key(|e| (e.row.unwrap_or(0), col(e.field.as_str())));
        self.list
    }
}

/// Whether an organisation may be a hub or satellite (医療機関 or 集団接種会場).
fn is_site(org: &OrgRow) -> bool {
    org.kind.is_site()
}

/// The prefecture of a municipality.
fn prefecture_of(m: &OrgRow) -> &str {
    m.prefecture_code
        .as_deref()
        .unwrap_or_else(|| m.code.get(..2).unwrap_or_default())
}

/// The point of a row: 緯度 and 経度 both or neither, numbers as typed (full-width digits
/// too), inside Japan — checked by the one rule of a site's point ([`site_point`]).
fn row_point(row: usize, lat: &str, lng: &str, errors: &mut Errors) -> Option<Point> {
    let mut number = |cell: &str, column: &'static str, msg: Msg| match decimal(cell) {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(row, column, msg);
            None
        }
    };
    let (Some(lat), Some(lng)) = (
        number(lat, COL_LAT, Msg::InvalidLatitude),
        number(lng, COL_LNG, Msg::InvalidLongitude),
    ) else {
        return None;
    };
    let mut inv = Invalid::default();
    let point = site_point(lat, lng, &mut inv);
    for e in inv.0 {
        errors.push(row, column_of(&e.field), e.msg);
    }
    point
}

/// Imports the institution registry (see the module documentation). Nation and prefecture
/// operators and administrators only; a prefecture only for municipalities in its area.
/// `progress(phase, done, total)` is called as the import goes on.
pub async fn import(
    app: &App,
    actor: &Actor,
    bytes: &[u8],
    progress: &(dyn Fn(Phase, usize, usize) + Send + Sync),
) -> AppResult<ImportSummary> {
    actor.require_can(Capability::ImportRegistry)?;
    let now = app.clock.now();
    let sha256 = data_encoding::HEXLOWER.encode(&Sha256::digest(bytes));

    // Reading.
    progress(Phase::Reading, 0, 0);
    let (text, _) = csv_files::decode(bytes).map_err(AppError::Csv)?;
    let required: [&str; 8] = [
        HEADERS[0], HEADERS[1], HEADERS[2], HEADERS[3], HEADERS[4], HEADERS[5], HEADERS[6],
        HEADERS[7],
    ];
    let table = csv_files::parse(&text, &required).map_err(AppError::Csv)?;
    drop(text);
    let total = table.rows.len();
    let mut raws = Vec::with_capacity(total);
    for (i, r) in table.rows.into_iter().enumerate() {
        raws.push(Raw::take(r));
        if (i + 1) % REPORT_EVERY == 0 {
            progress(Phase::Reading, i + 1, total);
        }
    }
    progress(Phase::Reading, total, total);

    let mut tx = app.db.begin_long().await?;
    if tx.backend() == Backend::Postgres {
        // What is checked is what is overwritten: a concurrent change of one of the rows
        // makes the import fail instead of being lost (SQLite's writer lock does the same).
        tx.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await?;
    }

    // What is stored: every municipality, and the organisations (with their profiles) of every
    // code the file names, as an institution or as a hub.
    let (muni_rows, _) = orgs::list(
        &mut tx,
        &OrgFilter {
            kind: Some("municipality".into()),
            ..OrgFilter::default()
        },
        Page::all(),
    )
    .await?;
    let munis: HashMap<&str, &OrgRow> = muni_rows.iter().map(|m| (m.code.as_str(), m)).collect();
    let mut wanted: HashSet<&str> = HashSet::with_capacity(total);
    for r in &raws {
        for c in [&r.code, &r.hub] {
            if c.len() == 10 && c.bytes().all(|b| b.is_ascii_digit()) {
                wanted.insert(c.as_str());
            }
        }
    }
    let wanted: Vec<String> = wanted.into_iter().map(str::to_owned).collect();
    let stored_orgs = orgs::get_many(&mut tx, &wanted).await?;
    let site_codes: Vec<String> = stored_orgs
        .iter()
        .filter(|o| is_site(o))
        .map(|o| o.code.clone())
        .collect();
    let stored_profiles = sites::for_orgs(&mut tx, &site_codes).await?;
    let existing: HashMap<&str, &OrgRow> =
        stored_orgs.iter().map(|o| (o.code.as_str(), o)).collect();
    let profiles: HashMap<&str, &ProfileRow> = stored_profiles
        .iter()
        .map(|p| (p.org_code.as_str(), p))
        .collect();

    // Checking, first each row on its own.
    let mut errors = Errors::default();
    let mut first_row: HashMap<&str, usize> = HashMap::with_capacity(total);
    let mut checked: Vec<Checked> = Vec::with_capacity(total);
    for (i, r) in raws.iter().enumerate() {
        let row = r.row;
        let code_ok = match OrgCode::parse(&r.code) {
            Ok(c) if r.code.len() == 10 && c.kind() == OrgKind::Institution => true,
            Ok(_) => {
                errors.push(row, COL_CODE, Msg::InvalidOrgCode);
                false
            }
            Err(m) => {
                errors.push(row, COL_CODE, m);
                false
            }
        };
        if code_ok {
            match first_row.get(r.code.as_str()) {
                Some(_) => errors.push(row, COL_CODE, Msg::DuplicateCode),
                None => {
                    first_row.insert(r.code.as_str(), i);
                }
            }
        }
        let contract = contract_status(&r.contract);
        if contract.is_none() {
            errors.push(row, COL_CONTRACT, Msg::InvalidContractStatus);
        }
        let input = RegistryInput {
            name: r.name.clone(),
            postal_code: Some(r.postal.clone()),
            municipality_code: r.municipality.clone(),
            address: Some(r.address.clone()),
            representative: Some(r.representative.clone()),
            // A file with an unknown 契約状況 is refused above; this value is never stored.
            contract_status: contract.unwrap_or(ContractStatus::NotContracted),
            facility_code: Some(r.facility.clone()),
        };
        let registry = match validate_registry(&input) {
            Ok(reg) => Some(reg),
            Err(inv) => {
                for e in inv.0 {
                    errors.push(row, column_of(&e.field), e.msg);
                }
                None
            }
        };
        let municipality = munis.get(r.municipality.as_str()).copied();
        match municipality {
            None => errors.push(row, COL_MUNICIPALITY, Msg::UnknownOrg),
            Some(m) => {
                if !actor.principal.may(Action::Write, &m.path) {
                    errors.push(row, COL_MUNICIPALITY, Msg::OutOfScope);
                }
                if code_ok && r.code.get(..2) != Some(prefecture_of(m)) {
                    errors.push(row, COL_CODE, Msg::CodePrefectureMismatch);
                }
            }
        }
        if code_ok && let Some(o) = existing.get(r.code.as_str()) {
            if o.kind != OrgKind::Institution {
                errors.push(row, COL_CODE, Msg::NotASite);
            } else if !actor.principal.may(Action::Write, &o.path) {
                // Stored under a municipality outside the actor's area.
                errors.push(row, COL_CODE, Msg::OutOfScope);
            }
        }
        let site_type = site_type(&r.site_type);
        if site_type.is_none() {
            errors.push(row, COL_TYPE, Msg::InvalidSiteType);
        }
        let hub_code = (site_type == Some(SiteType::Satellite))
            .then(|| r.hub.clone())
            .filter(|h| !h.is_empty());
        let point = row_point(row, &r.lat, &r.lng, &mut errors);
        checked.push(Checked {
            row,
            code: r.code.clone(),
            code_ok,
            registry,
            municipality,
            site_type,
            hub_code,
            point,
        });
        if (i + 1) % REPORT_EVERY == 0 {
            progress(Phase::Checking, i + 1, total);
        }
    }

    // Then across rows: a satellite's hub, and hubs that would become satellites.
    for c in &checked {
        if c.site_type != Some(SiteType::Satellite) {
            continue;
        }
        let prefecture = c.municipality.map(prefecture_of);
        let Some(hub) = c.hub_code.as_deref() else {
            errors.push(c.row, COL_HUB, Msg::HubInvalid);
            continue;
        };
        let valid = if hub == c.code {
            false
        } else if let Some(&j) = first_row.get(hub) {
            // The hub is in the file: its row decides (its own errors are reported there).
            let h = &checked[j];
            let same_prefecture = match (prefecture, h.municipality.map(prefecture_of)) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            h.site_type.is_none_or(|t| t == SiteType::Hub) && same_prefecture
        } else {
            match existing.get(hub) {
                Some(o) if is_site(o) => {
                    let hub_type = profiles.get(hub).map_or(SiteType::Hub, |p| p.site_type);
                    hub_type == SiteType::Hub
                        && prefecture.is_none_or(|p| o.prefecture_code.as_deref() == Some(p))
                }
                _ => false,
            }
        };
        if !valid {
            errors.push(c.row, COL_HUB, Msg::HubInvalid);
        }
    }
    for c in &checked {
        if c.site_type != Some(SiteType::Satellite) || !c.code_ok || errors.has(c.row, COL_TYPE) {
            continue;
        }
        // A stored hub that becomes a satellite must have no satellites left outside the file.
        // Only such changes of type are looked up, one by one.
        if profiles
            .get(c.code.as_str())
            .is_some_and(|p| p.site_type == SiteType::Hub)
        {
            let satellites = sites::satellites(&mut tx, &c.code).await?;
            if satellites
                .iter()
                .any(|s| !first_row.contains_key(s.org_code.as_str()))
            {
                errors.push(c.row, COL_TYPE, Msg::HubHasSatellites);
            }
        }
    }
    progress(Phase::Checking, total, total);
    if !errors.list.is_empty() {
        return Err(AppError::Csv(TableError::Rows(errors.into_sorted())));
    }

    // What to write.
    let mut org_writes: Vec<OrgRow> = Vec::new();
    let mut profile_writes: Vec<ProfileRow> = Vec::new();
    let mut created_codes: Vec<&str> = Vec::new();
    let mut updated_codes: Vec<&str> = Vec::new();
    let mut unchanged = 0usize;
    for c in &checked {
        let (Some(reg), Some(muni), Some(site_type)) = (&c.registry, c.municipality, c.site_type)
        else {
            // Unreachable: any such row has an error.
            return Err(anyhow::anyhow!("row {} passed the checks incomplete", c.row).into());
        };
        let code = OrgCode::parse(&c.code).map_err(|m| AppError::invalid(COL_CODE, m))?;
        let path = child_path(&muni.path, &code);
        match existing.get(c.code.as_str()) {
            None => {
                org_writes.push(OrgRow {
                    code: c.code.clone(),
                    kind: OrgKind::Institution,
                    name: reg.name.clone(),
                    name_en: None,
                    parent_code: Some(muni.code.clone()),
                    path,
                    prefecture_code: Some(prefecture_of(muni).to_owned()),
                    population: None,
                    lat: muni.lat,
                    lng: muni.lng,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                });
                profile_writes.push(ProfileRow {
                    facility_code: reg.facility_code.clone(),
                    postal_code: reg.postal_code.clone(),
                    address: reg.address.clone(),
                    representative: reg.representative.clone(),
                    contract_status: reg.contract_status,
                    site_type,
                    hub_code: c.hub_code.clone(),
                    latitude: c.point.map(|p| p.lat),
                    longitude: c.point.map(|p| p.lng),
                    updated_by: Some(actor.user_id.clone()),
                    version: 1,
                    ..blank_profile(&c.code, now)
                });
                created_codes.push(&c.code);
            }
            Some(org) => {
                let org_changed = org.name != reg.name
                    || org.parent_code.as_deref() != Some(muni.code.as_str())
                    || org.path != path;
                let stored = profiles.get(c.code.as_str()).copied();
                let before = stored
                    .cloned()
                    .unwrap_or_else(|| blank_profile(&c.code, now));
                let after = ProfileRow {
                    facility_code: reg.facility_code.clone(),
                    postal_code: reg.postal_code.clone(),
                    address: reg.address.clone(),
                    representative: reg.representative.clone(),
                    contract_status: reg.contract_status,
                    site_type,
                    hub_code: c.hub_code.clone(),
                    // A row without a point keeps the one stored (the site may have
                    // registered its own).
                    latitude: c.point.map_or(before.latitude, |p| Some(p.lat)),
                    longitude: c.point.map_or(before.longitude, |p| Some(p.lng)),
                    ..before.clone()
                };
                let profile_changed = after != before;
                if !org_changed && !profile_changed {
                    unchanged += 1;
                    continue;
                }
                if org_changed {
                    org_writes.push(OrgRow {
                        name: reg.name.clone(),
                        parent_code: Some(muni.code.clone()),
                        path,
                        prefecture_code: Some(prefecture_of(muni).to_owned()),
                        updated_at: now,
                        version: org.version + 1,
                        ..(*org).clone()
                    });
                }
                if profile_changed {
                    profile_writes.push(ProfileRow {
                        updated_at: now,
                        updated_by: Some(actor.user_id.clone()),
                        version: stored.map_or(1, |p| p.version + 1),
                        ..after
                    });
                }
                updated_codes.push(&c.code);
            }
        }
    }

    // Writing: organisations first (the profiles refer to them).
    let to_write = org_writes.len() + profile_writes.len();
    let mut written = 0;
    progress(Phase::Writing, 0, to_write);
    for chunk in org_writes.chunks(BATCH) {
        orgs::upsert_many(&mut tx, chunk).await?;
        written += chunk.len();
        progress(Phase::Writing, written, to_write);
    }
    for chunk in profile_writes.chunks(BATCH) {
        sites::upsert_many(&mut tx, chunk).await?;
        written += chunk.len();
        progress(Phase::Writing, written, to_write);
    }
    let summary = ImportSummary {
        rows: total,
        created: created_codes.len(),
        updated: updated_codes.len(),
        unchanged,
    };
    record(
        &mut tx,
        &actor.into(),
        now,
        "site.import",
        "site_import",
        &uuid::Uuid::now_v7().to_string(),
        None::<&()>,
        Some(&serde_json::json!({
            "rows": summary.rows,
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "sha256": sha256,
            "created_codes": created_codes,
            "updated_codes": updated_codes,
        })),
    )
    .await?;
    tx.commit().await?;
    app.changed().await;
    progress(Phase::Done, total, total);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_has_every_column_and_reads_back() {
        let bytes = template();
        let (text, enc) = csv_files::decode(&bytes).expect("utf-8");
        assert_eq!(enc, Encoding::Utf8);
        let table = csv_files::parse(&text, &HEADERS).expect("parses");
        assert_eq!(table.headers, HEADERS);
        assert_eq!(table.rows.len(), 1);
        let r = &table.rows[0];
        assert_eq!(
            contract_status(r.get(COL_CONTRACT)),
            Some(ContractStatus::Contracted)
        );
        assert_eq!(site_type(r.get(COL_TYPE)), Some(SiteType::Hub));
        let mut errors = Errors::default();
        assert!(row_point(1, r.get(COL_LAT), r.get(COL_LNG), &mut errors).is_some());
        assert!(errors.list.is_empty());
    }

    #[test]
    fn points_both_or_neither_inside_japan() {
        let mut errors = Errors::default();
        let p = row_point(1, "３５．６５８５８１", "１３９．７４５４３３", &mut errors);
        assert_eq!(p.map(|p| (p.lat, p.lng)), Some((35.658581, 139.745433)));
        assert_eq!(row_point(2, "", "", &mut errors), None);
        assert!(errors.list.is_empty());
        assert_eq!(row_point(3, "35.65", "", &mut errors), None);
        assert_eq!(row_point(4, "51.5", "-0.12", &mut errors), None);
        assert_eq!(row_point(5, "北緯35度", "139.7", &mut errors), None);
        let got: Vec<(usize, &str, Msg)> = errors
            .into_sorted()
            .iter()
            .map(|e| (e.row.unwrap_or(0), column_name(&e.field), e.msg))
            .collect();
        assert_eq!(
            got,
            [
                (3, COL_LNG, Msg::CoordinatesTogether),
                (4, COL_LAT, Msg::InvalidLatitude),
                (5, COL_LAT, Msg::InvalidLatitude),
            ]
        );
    }

    fn column_name(f: &str) -> &'static str {
        HEADERS.into_iter().find(|h| *h == f).unwrap_or("")
    }

    #[test]
    fn values_in_japanese_and_english() {
        assert_eq!(contract_status("手続中"), Some(ContractStatus::Pending));
        assert_eq!(
            contract_status("未契約"),
            Some(ContractStatus::NotContracted)
        );
        assert_eq!(
            contract_status("Not_Contracted"),
            Some(ContractStatus::NotContracted)
        );
        assert_eq!(contract_status("済"), None);
        assert_eq!(site_type("サテライト型"), Some(SiteType::Satellite));
        assert_eq!(site_type("Satellite"), Some(SiteType::Satellite));
        assert_eq!(site_type("本院"), None);
        assert_eq!(column_of("postal_code"), COL_POSTAL);
    }
}
