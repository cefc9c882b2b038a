//! What the site, stock and results operations send: the wire types and their conversions from
//! the store's rows (the only place this family touches them).

use super::super::admin::wire::OrgOut;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vsys_app::rows::LedgerRow;
use vsys_app::rows::{ChangeRow, DoctorRow, ProfileRow};
use vsys_app::rows::{PeriodRow, ResultRow};
use vsys_app::sites::{ChangeOutcome, SiteView};
use vsys_app::stock::StockView;
use vsys_domain::ledger::LotBalance;
use vsys_domain::{ContractStatus, EntryKind, Reservation, SiteType};

/// A site's profile: registry fields beyond the organisation, details, reservation status.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProfileOut {
    /// The site's code.
    pub org_code: String,
    /// 老健施設コード or 介護医療院コード, where the site has one.
    pub facility_code: Option<String>,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    /// 代表者.
    pub representative: Option<String>,
    /// 契約状況.
    pub contract_status: ContractStatus,
    /// `hub` (基本型) or `satellite` (連携型/サテライト型).
    pub site_type: SiteType,
    /// The hub of a satellite.
    pub hub_code: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// 診療時間・接種時間.
    pub hours: Option<String>,
    /// People who are not regular patients are vaccinated (かかりつけ以外の受入).
    pub accepts_non_regular: bool,
    pub access: Option<String>,
    pub parking: Option<String>,
    /// −75℃ freezers (超低温冷凍庫).
    pub freezers_ultra_cold: i64,
    /// −20℃ freezers.
    pub freezers_minus20: i64,
    /// Where the freezers stand.
    pub storage_location: Option<String>,
    /// When the site first registered its details.
    pub details_at: Option<DateTime<Utc>>,
    /// When the municipality confirmed it as a cooperating institution (協力医療機関).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Who confirmed it (user id).
    pub confirmed_by: Option<String>,
    pub reservation: Reservation,
    /// When the reservation status was last set.
    pub reservation_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The id of the user who changed it last.
    pub updated_by: Option<String>,
    /// The profile's version (`ETag` `"vN"`; `"v0"` before the first registration).
    pub version: i64,
    /// The site's own point (WGS 84), when registered.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// 予約方法: `phone`, `web`, `walk_in` or `municipal`.
    pub booking: Option<String>,
    /// The booking page, for web booking.
    pub booking_url: Option<String>,
}

impl From<ProfileRow> for ProfileOut {
    fn from(p: ProfileRow) -> Self {
        ProfileOut {
            org_code: p.org_code,
            facility_code: p.facility_code,
            postal_code: p.postal_code,
            address: p.address,
            representative: p.representative,
            contract_status: p.contract_status,
            site_type: p.site_type,
            hub_code: p.hub_code,
            phone: p.phone,
            website: p.website,
            hours: p.hours,
            accepts_non_regular: p.accepts_non_regular,
            access: p.access,
            parking: p.parking,
            freezers_ultra_cold: p.freezers_ultra_cold,
            freezers_minus20: p.freezers_minus20,
            storage_location: p.storage_location,
            details_at: p.details_at,
            confirmed_at: p.confirmed_at,
            confirmed_by: p.confirmed_by,
            reservation: p.reservation,
            reservation_at: p.reservation_at,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
            version: p.version,
            latitude: p.latitude,
            longitude: p.longitude,
            booking: p.booking,
            booking_url: p.booking_url,
        }
    }
}

/// A change of a site's controlled fields and its decision.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangeOut {
    /// The change's id (UUIDv7).
    pub id: String,
    /// The site.
    pub org_code: String,
    /// The registry entry before (JSON text).
    pub before: String,
    /// The registry entry asked for (JSON text).
    pub after: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub status: String,
    pub requested_at: DateTime<Utc>,
    /// Who asked (user id).
    pub requested_by: Option<String>,
    /// When it was decided; none while pending.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided (user id).
    pub decided_by: Option<String>,
}

impl From<ChangeRow> for ChangeOut {
    fn from(c: ChangeRow) -> Self {
        ChangeOut {
            id: c.id,
            org_code: c.org_code,
            before: c.before,
            after: c.after,
            status: c.status,
            requested_at: c.requested_at,
            requested_by: c.requested_by,
            decided_at: c.decided_at,
            decided_by: c.decided_by,
        }
    }
}

/// A site as its users and the organisations above it see it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteOut {
    pub org: OrgOut,
    pub profile: ProfileOut,
    /// Changes of controlled fields waiting for the municipality.
    pub pending: Vec<ChangeOut>,
    /// The vaccines the site handles (product ids).
    pub vaccines: Vec<String>,
}

impl From<SiteView> for SiteOut {
    fn from(v: SiteView) -> Self {
        SiteOut {
            org: v.org.into(),
            profile: v.profile.into(),
            pending: v.pending.into_iter().map(Into::into).collect(),
            vaccines: v.vaccines,
        }
    }
}

/// What a bulk update of reservation statuses did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReservationsOut {
    /// How many sites' statuses were set.
    pub updated: usize,
}

/// What happened to a change of the registry entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChangeOutcomeOut {
    /// Applied at once (by the municipality or an organisation above it).
    Applied {
        /// The site as changed.
        site: Box<SiteOut>,
    },
    /// Waiting for the municipality's approval.
    Pending {
        /// The pending change (decide it with `POST /api/v1/site-changes/{id}/decision`).
        change_id: String,
    },
}

impl TryFrom<ChangeOutcome> for ChangeOutcomeOut {
    type Error = serde_json::Error;
    fn try_from(c: ChangeOutcome) -> Result<Self, Self::Error> {
        Ok(match c {
            // The use-case hands the applied site over as the JSON of its view.
            ChangeOutcome::Applied { site } => ChangeOutcomeOut::Applied {
                site: Box::new(serde_json::from_value(*site)?),
            },
            ChangeOutcome::Pending { change_id } => ChangeOutcomeOut::Pending { change_id },
        })
    }
}

/// A doctor of a site (personal data).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DoctorOut {
    /// The entry's id (UUIDv7).
    pub id: String,
    /// The site.
    pub org_code: String,
    pub name: String,
    /// 医籍登録番号, if known.
    pub registration_number: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Who registered the doctor (user id).
    pub created_by: Option<String>,
}

impl From<DoctorRow> for DoctorOut {
    fn from(d: DoctorRow) -> Self {
        DoctorOut {
            id: d.id,
            org_code: d.org_code,
            name: d.name,
            registration_number: d.registration_number,
            created_at: d.created_at,
            created_by: d.created_by,
        }
    }
}

/// An entry of a site's stock ledger (append-only; corrections reverse entries).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerEntryOut {
    /// The entry's id (UUIDv7).
    pub id: String,
    /// The site.
    pub org_code: String,
    pub lot: String,
    /// The cycle the lot was allocated in.
    pub cycle_id: Option<String>,
    pub kind: EntryKind,
    /// Vials, signed as they change the stock.
    pub vials: i64,
    /// Doses, signed as they change the stock.
    pub doses: i64,
    pub doses_per_vial: i64,
    /// Why (waste, corrections).
    pub reason: Option<String>,
    pub note: Option<String>,
    /// What wrote it: a delivery, a transfer, or a day's results (`results:YYYY-MM-DD`).
    pub reference: Option<String>,
    /// The entry a correction reverses.
    pub reverses: Option<String>,
    pub at: DateTime<Utc>,
    /// Who wrote it (user id).
    pub by: Option<String>,
}

impl From<LedgerRow> for LedgerEntryOut {
    fn from(r: LedgerRow) -> Self {
        LedgerEntryOut {
            id: r.id,
            org_code: r.org_code,
            lot: r.lot,
            cycle_id: r.cycle_id,
            kind: r.kind,
            vials: r.vials,
            doses: r.doses,
            doses_per_vial: r.doses_per_vial,
            reason: r.reason,
            note: r.note,
            reference: r.reference,
            reverses: r.reverses,
            at: r.at,
            by: r.by,
        }
    }
}

/// A site's stock as its users and the organisations above see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockOut {
    /// The site.
    pub org_code: String,
    /// Per lot, in FIFO order.
    pub lots: Vec<LotBalance>,
    /// Doses on hand.
    pub doses: i64,
    /// Vials on hand.
    pub vials: i64,
    /// Doses given in the last 14 days.
    pub administered_in_window: i64,
    /// Days the stock lasts at that rate; none when nothing was given.
    pub days_of_supply: Option<i64>,
    /// When the ledger last changed (how fresh the figure is).
    pub last_entry_at: Option<DateTime<Utc>>,
    /// 偏在: stock that is not being used.
    pub idle: bool,
    /// The whole ledger, newest first.
    pub entries: Vec<LedgerEntryOut>,
}

impl From<StockView> for StockOut {
    fn from(v: StockView) -> Self {
        StockOut {
            org_code: v.org_code,
            lots: v.lots,
            doses: v.doses,
            vials: v.vials,
            administered_in_window: v.administered_in_window,
            days_of_supply: v.days_of_supply,
            last_entry_at: v.last_entry_at,
            idle: v.idle,
            entries: v.entries.into_iter().map(Into::into).collect(),
        }
    }
}

/// The two entries of a transfer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransferOut {
    /// The hub's `transfer_out` entry.
    pub out: LedgerEntryOut,
    /// The satellite's `transfer_in` entry.
    #[serde(rename = "in")]
    #[schema(rename = "in")]
    pub inn: LedgerEntryOut,
}

/// A reporting period in which sites enter daily results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodOut {
    /// The period's id (UUIDv7).
    pub id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub opened_at: DateTime<Utc>,
    /// Who opened it (user id).
    pub opened_by: Option<String>,
    /// When it was closed; none while open.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it (user id).
    pub closed_by: Option<String>,
}

impl From<PeriodRow> for PeriodOut {
    fn from(p: PeriodRow) -> Self {
        PeriodOut {
            id: p.id,
            first_day: p.first_day,
            last_day: p.last_day,
            opened_at: p.opened_at,
            opened_by: p.opened_by,
            closed_at: p.closed_at,
            closed_by: p.closed_by,
        }
    }
}

/// A site's results of one day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayResultOut {
    /// The site.
    pub org_code: String,
    pub day: NaiveDate,
    /// Doses given that day; `elderly + underlying + others == total`.
    pub total: i64,
    /// Of which people aged 65 and over.
    pub elderly: i64,
    /// Of which people with underlying conditions.
    pub underlying: i64,
    /// Of which others.
    pub others: i64,
    /// 廃棄本数: vials wasted that day (besides an opened vial's remainder).
    pub wasted_vials: i64,
    /// Why vials were wasted.
    pub waste_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Who entered it last (user id).
    pub updated_by: Option<String>,
    /// The version (`ETag` `"vN"`).
    pub version: i64,
}

impl From<ResultRow> for DayResultOut {
    fn from(r: ResultRow) -> Self {
        DayResultOut {
            org_code: r.org_code,
            day: r.day,
            total: r.total,
            elderly: r.elderly,
            underlying: r.underlying,
            others: r.others,
            wasted_vials: r.wasted_vials,
            waste_reason: r.waste_reason,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
            version: r.version,
        }
    }
}

super::super::page_type!(SitePage, vsys_app::sites::SiteSummary, "A page of sites.");
