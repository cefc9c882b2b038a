//! The open data API's wire types: what `/api/v1/public/…` answers, made from the public
//! snapshot's records (`vsys_app::public`) and never those records as they are, so the answer's
//! shape is this module's to keep (docs/OPEN_DATA.md describes every field).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use vsys_app::public::{PublicMunicipality, PublicSite, VaccineRef};
use vsys_domain::{Booking, OrgKind, Reservation};

/// The licence of the open data, as every answer states it.
pub const LICENCE: &str = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/deed.ja)";
/// The attribution reusers show with the data.
pub const ATTRIBUTION: &str = "出典：ワクチン接種円滑化システム（vsys）公開データ";

/// A vaccination site as open data: where it is, how to reach it and book, which vaccines, and
/// whether it takes bookings. No personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSiteOut {
    /// The site's code in the registry (医療機関コード or the municipality's code for its site).
    pub code: String,
    pub name: String,
    /// `institution` (医療機関) or `site` (集団接種会場).
    pub kind: OrgKind,
    /// 2 digits (`13` = 東京都).
    pub prefecture_code: String,
    /// 5 digits (`13103` = 港区).
    pub municipality_code: String,
    /// 7 digits, no hyphen.
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// Opening hours as the site wrote them.
    pub hours: Option<String>,
    pub access: Option<String>,
    pub parking: Option<String>,
    /// かかりつけ以外も可: people who are not regular patients are vaccinated.
    pub accepts_non_regular: bool,
    /// 予約方法: `phone`, `web`, `walk_in`, `municipal`.
    pub booking: Option<Booking>,
    pub booking_url: Option<String>,
    /// The vaccines the site handles (ids as `GET /api/v1/public/vaccines` lists them).
    pub vaccines: Vec<VaccineRef>,
    /// Latitude (WGS 84); `null` when neither the site nor its municipality has a point.
    pub lat: Option<f64>,
    /// Longitude (WGS 84).
    pub lng: Option<f64>,
    /// `true`: `lat`/`lng` are the municipality's office, not the site's own.
    pub point_is_approximate: bool,
    /// `available` ○ 予約可能, `few` △ 残り少数, `none` × 予約受付不可, `not_needed` ● 予約不要,
    /// `unregistered` 未登録.
    pub reservation: Reservation,
    /// When the site last set `reservation` (UTC).
    pub reservation_at: Option<DateTime<Utc>>,
    /// `reservation` was set longer ago than the server's stale age (72 hours by default) at
    /// the moment of the answer: it may be out of date.
    pub stale: bool,
    /// Kilometres from the point searched from (`lat`/`lng` or `postal_code`); only when the
    /// search had a point.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false, minimum = 0)]
    pub distance_km: Option<f64>,
}

impl PublicSiteOut {
    /// The site as open data at `now` (`stale` against `stale_after_hours`), with its distance
    /// (rounded to metres) when the search had a point.
    pub fn of(
        s: &PublicSite,
        distance_km: Option<f64>,
        now: DateTime<Utc>,
        stale_after_hours: i64,
    ) -> PublicSiteOut {
        PublicSiteOut {
            code: s.code.clone(),
            name: s.name.clone(),
            kind: s.kind,
            prefecture_code: s.prefecture_code.clone(),
            municipality_code: s.municipality_code.clone(),
            postal_code: s.postal_code.clone(),
            address: s.address.clone(),
            phone: s.phone.clone(),
            website: s.website.clone(),
            hours: s.hours.clone(),
            access: s.access.clone(),
            parking: s.parking.clone(),
            accepts_non_regular: s.accepts_non_regular,
            booking: s.booking,
            booking_url: s.booking_url.clone(),
            vaccines: s.vaccines.clone(),
            lat: s.point.map(|p| p.lat),
            lng: s.point.map(|p| p.lng),
            point_is_approximate: s.point_is_approximate,
            reservation: s.reservation,
            reservation_at: s.reservation_at,
            stale: s.is_stale(now, stale_after_hours),
            distance_km: distance_km.map(|d| (d * 1000.0).round() / 1000.0),
        }
    }
}

/// A page of public sites.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSitesPage {
    /// This page's sites: nearest first when the search had a point, else by prefecture,
    /// municipality and code.
    pub items: Vec<PublicSiteOut>,
    /// Sites matching, over all pages.
    #[schema(minimum = 0)]
    pub total: u64,
    /// This page's number (from 1).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: u64,
    /// The page size.
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: u64,
    /// When the data was read from the registry (UTC): the answer is as of then, except
    /// `stale`, which is as of the answer.
    pub updated_at: DateTime<Utc>,
    /// The licence of the data.
    #[schema(example = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/deed.ja)")]
    pub licence: &'static str,
    /// The attribution to show with the data.
    #[schema(example = "出典：ワクチン接種円滑化システム（vsys）公開データ")]
    pub attribution: &'static str,
}

/// A municipality, for a picker.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicMunicipalityOut {
    /// 5 digits.
    pub code: String,
    pub name: String,
    /// 2 digits.
    pub prefecture_code: String,
    /// The prefecture's name.
    pub prefecture: String,
    /// The municipality's office (WGS 84), when known.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// Its public sites.
    #[schema(minimum = 0)]
    pub sites: u64,
}

impl From<&PublicMunicipality> for PublicMunicipalityOut {
    fn from(m: &PublicMunicipality) -> Self {
        PublicMunicipalityOut {
            code: m.code.clone(),
            name: m.name.clone(),
            prefecture_code: m.prefecture_code.clone(),
            prefecture: m.prefecture.clone(),
            lat: m.point.map(|p| p.lat),
            lng: m.point.map(|p| p.lng),
            sites: m.sites as u64,
        }
    }
}

/// Every municipality (of a prefecture, when asked), by code.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicMunicipalityList {
    pub items: Vec<PublicMunicipalityOut>,
    /// When the data was read from the registry (UTC).
    pub updated_at: DateTime<Utc>,
    pub licence: &'static str,
    pub attribution: &'static str,
}

/// The vaccines public sites handle, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicVaccineList {
    pub items: Vec<VaccineRef>,
    /// When the data was read from the registry (UTC).
    pub updated_at: DateTime<Utc>,
    pub licence: &'static str,
    pub attribution: &'static str,
}
