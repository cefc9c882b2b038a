//! Open data (オープンデータ): the public sites as JSON and CSV for reusers, under
//! `/api/v1/public/`, with the municipalities and vaccines to build a search from. Every answer
//! comes from the public snapshot (`vsys_app::public`), never from the database on a request,
//! carries an `ETag` made of the snapshot's version and the normalised query, and states the
//! licence (CC BY 4.0). The hot answers — a search without words and without the visitor's own
//! point, such as 大阪市's first page — are kept serialised for the current snapshot
//! ([`Answers`], bounded by bytes) and served as bytes. `stale` depends on the clock: a kept answer holds only until the first of
//! its sites' statuses turns stale, and the `ETag` counts the stale ones, so it changes when
//! the answer does. Caching headers, CORS and the rate limit are the public routes' layers
//! (`public::routes`). docs/OPEN_DATA.md is the reusers' guide.

use crate::AppState;
use crate::error::ApiError;
use crate::error::api_err as err;
use crate::extract::Query;
use crate::public::wire::{
    ATTRIBUTION, LICENCE, PublicMunicipalityList, PublicMunicipalityOut, PublicSiteOut,
    PublicSitesPage, PublicVaccineList,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vsys_app::AppError;
use vsys_app::csv_files::{self, Encoding};
use vsys_app::public::{Area, PublicSite, Search, SearchParams, Snapshot};
use vsys_domain::validation::{Page, ascii_digits};
use vsys_domain::{Invalid, Lang, Msg};

/// The open data operations. They are routed by `public::routes` (behind the public site's
/// layers) and documented with the rest of the API (`api::openapi`).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_sites))
        .routes(routes!(public_sites_csv))
        .routes(routes!(public_municipalities))
        .routes(routes!(public_vaccines))
}

/// The `Link` header of every answer: the licence.
const LINK: &str = "<https://creativecommons.org/licenses/by/4.0/>; rel=\"license\"";
/// The `X-License` header of every answer (SPDX).
const SPDX: &str = "CC-BY-4.0";
/// The CSV file's name.
pub const CSV_FILENAME: &str = "vsys-public-sites.csv";

/// One answer as served: its body, its `ETag`, and until when it holds (`None`: for as long as
/// its snapshot).
pub struct Answer {
    body: Bytes,
    etag: String,
    until: Option<DateTime<Utc>>,
}

impl Answer {
    /// A page of the finder as rendered (no `ETag`), holding until `until`.
    pub(crate) fn page(body: Bytes, until: DateTime<Utc>) -> Answer {
        Answer {
            body,
            etag: String::new(),
            until: Some(until),
        }
    }

    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether the answer still holds at `now`.
    pub(crate) fn holds(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// What an answer's maker hands back: the body, how many of its sites it marks stale, and the
/// first moment another of them turns stale.
struct Fresh {
    body: Bytes,
    stale: usize,
    until: Option<DateTime<Utc>>,
}

impl Fresh {
    /// A body that does not depend on the clock.
    fn constant(body: Bytes) -> Fresh {
        Fresh {
            body,
            stale: 0,
            until: None,
        }
    }
}

/// Answers kept for one snapshot, bounded by their bytes: the answers of the newest snapshot
/// seen, each under its normalised query; an answer of an older snapshot is not kept, the
/// first of a newer one replaces them all, and one that would pass the budget starts afresh.
/// An answer larger than a quarter of the budget is never kept.
pub struct Kept<S = Snapshot> {
    budget: usize,
    inner: Mutex<KeptInner<S>>,
}

struct KeptInner<S> {
    snapshot: Option<Arc<S>>,
    bytes: usize,
    answers: HashMap<String, Arc<Answer>>,
}

impl<S> KeptInner<S> {
    fn of(snapshot: Option<Arc<S>>) -> Self {
        KeptInner {
            snapshot,
            bytes: 0,
            answers: HashMap::new(),
        }
    }
}

/// Which of two snapshots is newer: the registry's version it holds, then when it was built.
pub trait Newer {
    fn order(&self) -> (i64, DateTime<Utc>);
}

impl Newer for Snapshot {
    fn order(&self) -> (i64, DateTime<Utc>) {
        (self.version, self.built_at)
    }
}

impl<S: Newer> Kept<S> {
    pub fn new(budget_bytes: usize) -> Kept<S> {
        Kept {
            budget: budget_bytes,
            inner: Mutex::new(KeptInner::of(None)),
        }
    }

    pub(crate) fn get(&self, snap: &Arc<S>, key: &str) -> Option<Arc<Answer>> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match &inner.snapshot {
            Some(held) if Arc::ptr_eq(held, snap) => inner.answers.get(key).cloned(),
            _ => None,
        }
    }

    pub(crate) fn put(&self, snap: &Arc<S>, key: String, a: Arc<Answer>) {
        let size = a.body.len() + key.len();
        if size > self.budget / 4 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let same = inner
            .snapshot
            .as_ref()
            .is_some_and(|h| Arc::ptr_eq(h, snap));
        if !same {
            let newer = inner
                .snapshot
                .as_ref()
                .is_none_or(|h| snap.order() >= h.order());
            if !newer {
                return;
            }
            *inner = KeptInner::of(Some(snap.clone()));
        }
        if inner.bytes + size > self.budget {
            inner.answers.clear();
            inner.bytes = 0;
        }
        let key_len = key.len();
        if let Some(old) = inner.answers.insert(key, a) {
            inner.bytes = inner.bytes.saturating_sub(old.body.len() + key_len);
        }
        inner.bytes += size;
    }

    /// Answers and bytes held now.
    pub fn held(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (inner.answers.len(), inner.bytes)
    }
}

/// The kept answers of the open data API: JSON (pages, municipalities, vaccines) and CSV.
pub struct Answers {
    json: Kept,
    csv: Kept,
}

/// Bytes of JSON answers kept at most: every municipality's first page (1,741 of ~20 KB) with
/// room for filters and further pages.
const KEPT_JSON_BYTES: usize = 64 << 20;
/// Bytes of CSV files kept at most: the whole country's (~15 MB for 50,000 sites) and more.
const KEPT_CSV_BYTES: usize = 96 << 20;

impl Default for Answers {
    fn default() -> Self {
        Answers {
            json: Kept::new(KEPT_JSON_BYTES),
            csv: Kept::new(KEPT_CSV_BYTES),
        }
    }
}

/// The answer of `key` for `snap` at `now`: the kept one while it holds, else `make`'s (kept
/// when `keep`).
fn answer(
    kept: &Kept,
    snap: &Arc<Snapshot>,
    key: String,
    keep: bool,
    now: DateTime<Utc>,
    make: impl FnOnce() -> Result<Fresh, ApiError>,
) -> Result<Arc<Answer>, ApiError> {
    if keep
        && let Some(a) = kept.get(snap, &key)
        && a.holds(now)
    {
        return Ok(a);
    }
    let f = make()?;
    let a = Arc::new(Answer {
        etag: etag(snap.version, &key, f.stale),
        body: f.body,
        until: f.until,
    });
    if keep {
        kept.put(snap, key, a.clone());
    }
    Ok(a)
}

/// A weak `ETag` of the snapshot's version, the normalised query and how many of the answer's
/// sites are stale (which, for one snapshot and query, only grows with time: so it names the
/// answer's content).
fn etag(version: i64, key: &str, stale: usize) -> String {
    format!("W/\"p{version}-{:016x}-{stale}\"", fnv1a(key.as_bytes()))
}

/// FNV-1a, 64 bits: a stable hash (the same in every process and build) of the query.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A search written out in one way for each meaning (the key of its answer): the area, the
/// filters, statuses in a fixed order, and the page when `with_page`. A postal code is its
/// area and point (every postal code of a municipality has the same answer).
fn normalised(s: &Search, with_page: bool) -> String {
    let mut k = String::new();
    match &s.area {
        Area::Everywhere => k.push_str("all"),
        Area::Prefecture(p) => {
            let _ = write!(k, "p{p}");
        }
        Area::Municipality(m) => {
            let _ = write!(k, "m{m}");
        }
    }
    if !s.words.is_empty() {
        let _ = write!(k, "&q{}", s.words.join("\u{1F}"));
    }
    if let Some(p) = s.near {
        let _ = write!(k, "&n{},{}", p.lat, p.lng);
    }
    if let Some(r) = s.radius_km {
        let _ = write!(k, "&r{r}");
    }
    if let Some(v) = &s.vaccine {
        let _ = write!(k, "&v{v}");
    }
    if !s.statuses.is_empty() {
        let mut st: Vec<&str> = s.statuses.iter().map(|r| r.as_str()).collect();
        st.sort_unstable();
        let _ = write!(k, "&s{}", st.join(","));
    }
    if s.accepts_non_regular {
        k.push_str("&a");
    }
    if with_page {
        let _ = write!(k, "&page{}&per{}", s.page.page, s.page.per_page);
    }
    k
}

/// Whether the answer of a search is kept: one without words and without the visitor's own
/// point (a postal code's point is its municipality's: one of a bounded set); other searches
/// are answered afresh.
fn worth_keeping(params: &SearchParams, s: &Search) -> bool {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    s.words.is_empty() && !given(&params.lat) && !given(&params.lng)
}

/// The parameters read against the snapshot; a wrong one is a 400 naming it.
fn read(params: &SearchParams, snap: &Snapshot, lang: Lang) -> Result<Search, ApiError> {
    params
        .parse(snap)
        .map_err(|inv| ApiError::new(AppError::BadParameter(inv), lang))
}

/// The sites of a search as open data at `now`, with how many are stale and when the next
/// turns stale.
fn sites_out<'a>(
    found: impl Iterator<Item = (&'a PublicSite, Option<f64>)>,
    now: DateTime<Utc>,
    hours: i64,
) -> (Vec<PublicSiteOut>, usize, Option<DateTime<Utc>>) {
    let mut stale = 0;
    let mut until: Option<DateTime<Utc>> = None;
    let items = found
        .map(|(site, d)| {
            let out = PublicSiteOut::of(site, d, now, hours);
            if out.stale {
                stale += 1;
            } else if let Some(t) = site.stale_from(hours) {
                until = Some(until.map_or(t, |u| u.min(t)));
            }
            out
        })
        .collect();
    (items, stale, until)
}

fn json_of<T: serde::Serialize>(v: &T, lang: Lang) -> Result<Bytes, ApiError> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| ApiError::new(AppError::Internal(e.into()), lang))
}

/// A 200 answer with its `ETag` and the licence's headers (`Cache-Control`, CORS and `304` are
/// the public layers').
fn respond(a: &Answer, content_type: &'static str) -> Response {
    let mut res = (StatusCode::OK, a.body.clone()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&a.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::LINK, HeaderValue::from_static(LINK));
    h.insert("x-license", HeaderValue::from_static(SPDX));
    res
}

/// `If-None-Match` of a conditional read (documentation only: the public layers answer it).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IfNoneMatch {
    /// An `ETag` of an earlier answer: `304 Not Modified` while it is still current.
    #[param(rename = "If-None-Match")]
    if_none_match: Option<String>,
}

/// Public (no login), open data: the vaccination sites matching a search, a page at a time
/// (nearest first when a point is given). Licence CC BY 4.0.
///
/// Filters combine: an area (`prefecture`, `municipality`, or `postal_code`'s municipality),
/// words (`q`), a point and radius (`lat`, `lng`, `radius_km`), a `vaccine`, reservation
/// statuses (`status`) and `accepts_non_regular`. Only contracted sites, and institutions once
/// their municipality confirmed them; no personal data. See docs/OPEN_DATA.md.
#[utoipa::path(get, path = "/api/v1/public/sites", tag = "public", params(SearchParams, IfNoneMatch), security(()),
    responses(
        (status = 200, description = "A page of the matching sites, with the total, the data's time and the licence.", body = PublicSitesPage,
            headers(
                ("ETag" = String, description = "The answer's version (weak): send it as `If-None-Match` to be answered 304 while it is current."),
                ("Cache-Control" = String, description = "`public, max-age=N` (N: the server's `[public] max_age_secs`, 60 by default)."),
                ("Link" = String, description = "The licence: `<https://creativecommons.org/licenses/by/4.0/>; rel=\"license\"`."))),
        (status = 304, description = "Not modified: the `ETag` given in `If-None-Match` is still current (no body)."),
        (status = 400, description = "A parameter is wrong (`/problems/bad-parameter`; `errors` names each: `postal_code`, `lat`, `per_page` …).")))]
pub async fn public_sites(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let lang = crate::i18n::lang_of(&headers);
    let snap = vsys_app::public::snapshot(&s.app)
        .await
        .map_err(err(lang))?;
    let search = read(&params, &snap, lang)?;
    let now = s.app.clock.now();
    let hours = s.app.config.public.stale_after_hours;
    let key = format!("sites?{}", normalised(&search, true));
    let keep = worth_keeping(&params, &search);
    let a = answer(&s.public.answers.json, &snap, key, keep, now, || {
        let found = vsys_app::public::search(&snap, &search);
        let (items, stale, until) = sites_out(found.items.into_iter(), now, hours);
        let page = PublicSitesPage {
            items,
            total: found.total as u64,
            page: search.page.page,
            per_page: search.page.per_page,
            updated_at: snap.built_at,
            licence: LICENCE,
            attribution: ATTRIBUTION,
        };
        Ok(Fresh {
            body: json_of(&page, lang)?,
            stale,
            until,
        })
    })?;
    Ok(respond(&a, "application/json"))
}

/// The CSV's columns: the header (Japanese) and the field (docs/OPEN_DATA.md, JSON's names).
pub const CSV_COLUMNS: [(&str, &str); 26] = [
    ("コード", "code"),
    ("名称", "name"),
    ("種別", "kind"),
    ("都道府県コード", "prefecture_code"),
    ("都道府県名", "prefecture"),
    ("市区町村コード", "municipality_code"),
    ("市区町村名", "municipality"),
    ("郵便番号", "postal_code"),
    ("住所", "address"),
    ("電話番号", "phone"),
    ("ウェブサイト", "website"),
    ("受付時間", "hours"),
    ("アクセス", "access"),
    ("駐車場", "parking"),
    ("かかりつけ以外も可", "accepts_non_regular"),
    ("予約方法", "booking"),
    ("予約URL", "booking_url"),
    ("ワクチンID", "vaccine_ids"),
    ("ワクチン名", "vaccine_names"),
    ("緯度", "lat"),
    ("経度", "lng"),
    ("位置は概略", "point_is_approximate"),
    ("予約状況", "reservation"),
    ("予約状況の更新日時", "reservation_at"),
    ("情報が古い可能性", "stale"),
    ("距離km", "distance_km"),
];

/// One CSV line of a site (the cells of [`CSV_COLUMNS`]).
fn csv_row(snap: &Snapshot, o: &PublicSiteOut) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
    let number = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let muni = snap.municipality_info(&o.municipality_code);
    vec![
        o.code.clone(),
        o.name.clone(),
        o.kind.as_str().to_owned(),
        o.prefecture_code.clone(),
        muni.map(|m| m.prefecture.clone()).unwrap_or_default(),
        o.municipality_code.clone(),
        muni.map(|m| m.name.clone()).unwrap_or_default(),
        text(&o.postal_code),
        text(&o.address),
        text(&o.phone),
        text(&o.website),
        text(&o.hours),
        text(&o.access),
        text(&o.parking),
        flag(o.accepts_non_regular),
        o.booking.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        text(&o.booking_url),
        o.vaccines
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        o.vaccines
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        number(o.lat),
        number(o.lng),
        flag(o.point_is_approximate),
        o.reservation.as_str().to_owned(),
        o.reservation_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default(),
        flag(o.stale),
        number(o.distance_km),
    ]
}

/// Public (no login), open data: every public site matching the parameters (all of them when
/// none is given) as one CSV file — UTF-8 with a BOM, CRLF line ends, a header row of Japanese
/// column names, one line per site; `page` and `per_page` are checked but not used. Cells that
/// a spreadsheet would run as a formula start with `'`. Licence CC BY 4.0 (`Link` and
/// `X-License` headers). See docs/OPEN_DATA.md for the columns.
#[utoipa::path(get, path = "/api/v1/public/sites.csv", tag = "public", params(SearchParams, IfNoneMatch), security(()),
    responses(
        (status = 200, description = "The matching sites as a CSV file (UTF-8 with BOM).", content_type = "text/csv", body = String,
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"vsys-public-sites.csv\"`"),
                ("ETag" = String, description = "The answer's version (weak): send it as `If-None-Match` to be answered 304 while it is current."),
                ("Cache-Control" = String, description = "`public, max-age=N`."),
                ("Link" = String, description = "The licence: `<https://creativecommons.org/licenses/by/4.0/>; rel=\"license\"`."),
                ("X-License" = String, description = "`CC-BY-4.0`."))),
        (status = 304, description = "Not modified: the `ETag` given in `If-None-Match` is still current (no body)."),
        (status = 400, description = "A parameter is wrong (`/problems/bad-parameter`; `errors` names each).")))]
pub async fn public_sites_csv(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let lang = crate::i18n::lang_of(&headers);
    let snap = vsys_app::public::snapshot(&s.app)
        .await
        .map_err(err(lang))?;
    let mut search = read(&params, &snap, lang)?;
    search.page = Page::all();
    let now = s.app.clock.now();
    let hours = s.app.config.public.stale_after_hours;
    let key = format!("csv?{}", normalised(&search, false));
    let keep = worth_keeping(&params, &search);
    let a = answer(&s.public.answers.csv, &snap, key, keep, now, || {
        let found = vsys_app::public::search(&snap, &search);
        let (items, stale, until) = sites_out(found.items.into_iter(), now, hours);
        let header: Vec<&str> = CSV_COLUMNS.iter().map(|(ja, _)| *ja).collect();
        let rows: Vec<Vec<String>> = items.iter().map(|o| csv_row(&snap, o)).collect();
        let bytes = csv_files::write(&header, &rows, Encoding::Utf8)
            .map_err(|e| ApiError::new(AppError::Internal(anyhow::anyhow!("{e:?}")), lang))?;
        Ok(Fresh {
            body: Bytes::from(bytes),
            stale,
            until,
        })
    })?;
    let mut res = crate::download::csv(a.body.clone(), CSV_FILENAME, Encoding::Utf8);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::LINK, HeaderValue::from_static(LINK));
    h.insert("x-license", HeaderValue::from_static(SPDX));
    Ok(res)
}

/// `prefecture` of the municipalities' list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MunicipalityQuery {
    /// Prefecture code (2 digits, `13` = 東京都): only its municipalities.
    pub prefecture: Option<String>,
}

/// Public (no login), open data: every municipality (of a prefecture, when asked) with its
/// prefecture, its office's point and its number of public sites — for a picker.
#[utoipa::path(get, path = "/api/v1/public/municipalities", tag = "public", params(MunicipalityQuery, IfNoneMatch), security(()),
    responses(
        (status = 200, description = "The municipalities, by code.", body = PublicMunicipalityList,
            headers(
                ("ETag" = String, description = "The answer's version (weak): send it as `If-None-Match` to be answered 304 while it is current."),
                ("Cache-Control" = String, description = "`public, max-age=N`."))),
        (status = 304, description = "Not modified: the `ETag` given in `If-None-Match` is still current (no body)."),
        (status = 400, description = "No prefecture has this code (`/problems/bad-parameter`, `errors[0].field` = `prefecture`).")))]
pub async fn public_municipalities(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<MunicipalityQuery>,
) -> Result<Response, ApiError> {
    let lang = crate::i18n::lang_of(&headers);
    let snap = vsys_app::public::snapshot(&s.app)
        .await
        .map_err(err(lang))?;
    let prefecture = q
        .prefecture
        .as_deref()
        .map(|p| ascii_digits(p.trim()))
        .filter(|p| !p.is_empty());
    if let Some(p) = &prefecture
        && !snap.prefectures().iter().any(|x| &x.code == p)
    {
        let inv = Invalid::one("prefecture", Msg::UnknownPrefecture);
        return Err(ApiError::new(AppError::BadParameter(inv), lang));
    }
    let key = format!("municipalities?{}", prefecture.as_deref().unwrap_or("all"));
    let now = s.app.clock.now();
    let a = answer(&s.public.answers.json, &snap, key, true, now, || {
        let all = match &prefecture {
            Some(p) => snap.municipalities_of(p),
            None => snap.municipalities(),
        };
        let list = PublicMunicipalityList {
            items: all.iter().map(PublicMunicipalityOut::from).collect(),
            updated_at: snap.built_at,
            licence: LICENCE,
            attribution: ATTRIBUTION,
        };
        Ok(Fresh::constant(json_of(&list, lang)?))
    })?;
    Ok(respond(&a, "application/json"))
}

/// Public (no login), open data: the vaccines public sites handle (the `vaccine` filter's
/// ids), by name.
#[utoipa::path(get, path = "/api/v1/public/vaccines", tag = "public", params(IfNoneMatch), security(()),
    responses(
        (status = 200, description = "The vaccines.", body = PublicVaccineList,
            headers(
                ("ETag" = String, description = "The answer's version (weak): send it as `If-None-Match` to be answered 304 while it is current."),
                ("Cache-Control" = String, description = "`public, max-age=N`."))),
        (status = 304, description = "Not modified: the `ETag` given in `If-None-Match` is still current (no body).")))]
pub async fn public_vaccines(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = crate::i18n::lang_of(&headers);
    let snap = vsys_app::public::snapshot(&s.app)
        .await
        .map_err(err(lang))?;
    let now = s.app.clock.now();
    let a = answer(
        &s.public.answers.json,
        &snap,
        "vaccines".into(),
        true,
        now,
        || {
            let list = PublicVaccineList {
                items: snap.vaccines().to_vec(),
                updated_at: snap.built_at,
                licence: LICENCE,
                attribution: ATTRIBUTION,
            };
            Ok(Fresh::constant(json_of(&list, lang)?))
        },
    )?;
    Ok(respond(&a, "application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vsys_domain::Reservation;
    use vsys_domain::place::Point;

    fn search() -> Search {
        Search {
            area: Area::Municipality("27100".into()),
            postal_code: None,
            words: vec![],
            near: None,
            radius_km: None,
            vaccine: None,
            statuses: vec![],
            accepts_non_regular: false,
            page: Page::first(20),
        }
    }

    #[test]
    fn one_key_for_one_meaning() {
        let mut a = search();
        a.statuses = vec![Reservation::Few, Reservation::Available];
        let mut b = search();
        b.statuses = vec![Reservation::Available, Reservation::Few];
        assert_eq!(normalised(&a, true), normalised(&b, true));
        let mut c = b.clone();
        c.page = Page {
            page: 2,
            per_page: 20,
        };
        assert_ne!(normalised(&b, true), normalised(&c, true));
        assert_eq!(normalised(&b, false), normalised(&c, false), "CSV: no page");
        let mut d = search();
        d.near = Some(Point {
            lat: 34.69,
            lng: 135.5,
        });
        d.radius_km = Some(5.0);
        assert_ne!(normalised(&d, true), normalised(&search(), true));
        let mut e = search();
        e.accepts_non_regular = true;
        assert_ne!(normalised(&e, true), normalised(&search(), true));
    }

    struct Snap(i64);

    impl Newer for Snap {
        fn order(&self) -> (i64, DateTime<Utc>) {
            (self.0, DateTime::<Utc>::MIN_UTC)
        }
    }

    fn body(n: usize) -> Arc<Answer> {
        Arc::new(Answer {
            body: Bytes::from(vec![b'x'; n]),
            etag: String::new(),
            until: None,
        })
    }

    #[test]
    fn kept_answers_serve_their_snapshot_within_the_budget() {
        let kept: Kept<Snap> = Kept::new(1000);
        let s1 = Arc::new(Snap(1));
        kept.put(&s1, "a".into(), body(100));
        assert!(kept.get(&s1, "a").is_some());
        assert!(
            kept.get(&Arc::new(Snap(1)), "a").is_none(),
            "another snapshot"
        );
        // Too large for one entry: not kept.
        kept.put(&s1, "big".into(), body(300));
        assert!(kept.get(&s1, "big").is_none());
        // Replacing an entry counts its bytes once.
        kept.put(&s1, "a".into(), body(100));
        assert_eq!(kept.held(), (1, 101));
        // Past the budget: afresh, never over it.
        for i in 0..40 {
            kept.put(&s1, format!("k{i}"), body(200));
            assert!(kept.held().1 <= 1000, "{:?}", kept.held());
        }
        // A newer snapshot replaces them all; an older one is not kept.
        let s2 = Arc::new(Snap(2));
        kept.put(&s2, "b".into(), body(10));
        assert_eq!(kept.held(), (1, 11));
        assert!(kept.get(&s1, "k39").is_none());
        kept.put(&s1, "c".into(), body(10));
        assert!(kept.get(&s2, "b").is_some() && kept.get(&s1, "c").is_none());
    }

    /// The open data's schemas are their own in the document (utoipa names a component after
    /// its type: a type of the same name elsewhere would silently replace it).
    #[test]
    fn the_document_holds_the_open_data_schemas() {
        let doc = serde_json::to_value(crate::api::openapi()).unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        for (name, field) in [
            ("PublicSiteOut", "stale"),
            ("PublicSitesPage", "licence"),
            ("PublicMunicipalityOut", "sites"),
            ("PublicMunicipalityList", "items"),
            ("PublicVaccineList", "items"),
        ] {
            assert!(
                schemas[name]["properties"][field].is_object(),
                "{name}.{field}: {}",
                schemas[name]
            );
        }
        let ops = &doc["paths"]["/api/v1/public/sites"]["get"];
        assert_eq!(ops["tags"], serde_json::json!(["public"]));
        assert!(ops["responses"]["304"].is_object());
    }

    #[test]
    fn etags_are_stable_and_tell_answers_apart() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let e = etag(7, "sites?m27100", 0);
        assert!(e.starts_with("W/\"p7-") && e.ends_with("-0\""), "{e}");
        assert_ne!(e, etag(8, "sites?m27100", 0), "another snapshot");
        assert_ne!(e, etag(7, "sites?m27101", 0), "another query");
        assert_ne!(e, etag(7, "sites?m27100", 1), "a status turned stale");
    }
}
