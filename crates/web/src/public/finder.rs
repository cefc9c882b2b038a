//! The citizens' finder at `/search/`: prefecture → municipality, postal code, free text,
//! distance, filters, with the results as one page of cards; a site's page at
//! `/search/sites/{code}`. Everything is read from the public snapshot (never the database on
//! a citizen's request), works without JavaScript (`static/finder.js` only fills the
//! municipality list and asks the device for its location), and keeps the query in every
//! link.

use super::page::{self, Asked, Frame, respond};
use super::words::{PL, W, ago, count, km, prefecture};
use crate::AppState;
use crate::extract::ScreenPath as Path;
use crate::markdown::{SafeHtml, render};
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use vsys_app::public::{PublicSite, SearchParams, Snapshot};
use vsys_domain::notice::CitizenTopic;
use vsys_domain::{Invalid, Lang, OrgKind, Reservation};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/search", get(|| async { Redirect::permanent("/search/") }))
        .route("/search/", get(finder))
        .route("/search/municipalities", get(municipalities))
        .route("/search/sites/{code}", get(site))
        .route("/search/{*rest}", get(page::unknown))
}

/// The search parameters of the finder's query (names as [`SearchParams`] has them; the
/// status boxes arrive as repeated `status` and are joined).
fn search_params(asked: &Asked) -> SearchParams {
    let one = |name: &str| asked.get(name).map(str::to_owned);
    let statuses: Vec<&str> = asked.all("status").filter(|s| !s.is_empty()).collect();
    SearchParams {
        prefecture: one("prefecture"),
        municipality: one("municipality"),
        postal_code: one("postal_code"),
        q: one("q"),
        lat: one("lat"),
        lng: one("lng"),
        radius_km: one("radius_km"),
        vaccine: one("vaccine"),
        status: (!statuses.is_empty()).then(|| statuses.join(",")),
        accepts_non_regular: one("accepts_non_regular"),
        page: one("page"),
        per_page: one("per_page"),
    }
}

/// Whether the visitor searched (any parameter of the search given), rather than opened the
/// finder's top.
fn searched(p: &SearchParams) -> bool {
    [
        &p.prefecture,
        &p.municipality,
        &p.postal_code,
        &p.q,
        &p.lat,
        &p.lng,
        &p.radius_km,
        &p.vaccine,
        &p.status,
        &p.accepts_non_regular,
        &p.page,
    ]
    .iter()
    .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()))
}

/// Without JavaScript the municipality list belongs to the prefecture shown when the form was
/// sent: a municipality of another prefecture means the visitor changed the prefecture, so the
/// new prefecture is searched (a municipality that exists nowhere is still an error).
fn follow_prefecture(p: &mut SearchParams, s: &Snapshot) {
    let code = |v: &Option<String>| {
        v.as_deref()
            .map(|x| vsys_domain::validation::ascii_digits(x.trim()))
            .filter(|x| !x.is_empty())
    };
    if let (Some(pref), Some(muni)) = (code(&p.prefecture), code(&p.municipality))
        && s.municipality_info(&muni)
            .is_some_and(|m| m.prefecture_code != pref)
    {
        p.municipality = None;
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The search form as shown: what was asked (or typed, when refused) and the choices.
pub struct SearchForm {
    pub prefectures: Vec<Choice>,
    pub municipalities: Vec<Choice>,
    pub prefecture_chosen: bool,
    pub postal_code: String,
    pub q: String,
    pub vaccines: Vec<Choice>,
    pub statuses: Vec<StatusBox>,
    pub accepts_non_regular: bool,
    pub lat: String,
    pub lng: String,
    pub radius_km: String,
    pub per_page: String,
    /// The search is measured from a point the visitor gave (not a postal code's).
    pub near_point: bool,
    /// "Forget the location": this search without lat/lng.
    pub clear_point: String,
}

pub struct StatusBox {
    pub value: &'static str,
    pub mark: &'static str,
    pub words: &'static str,
    pub checked: bool,
}

/// The refusal of one parameter, next to its field and in the summary.
pub struct FieldErr {
    pub field: String,
    pub message: &'static str,
}

pub struct Errors(pub Vec<FieldErr>);

impl Errors {
    pub fn at(&self, field: &str) -> Option<&'static str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A reservation status as shown: its mark (hidden from screen readers) and its words.
pub struct StatusView {
    pub class: &'static str,
    pub mark: &'static str,
    pub words: &'static str,
}

pub fn status_view(r: Reservation, lang: Lang) -> StatusView {
    let (mark, words) = r.label(lang);
    StatusView {
        class: match r {
            Reservation::Available => "available",
            Reservation::Few => "few",
            Reservation::None => "none",
            Reservation::NotNeeded => "not-needed",
            Reservation::Unregistered => "unregistered",
        },
        mark,
        words,
    }
}

/// A moment as shown: "3時間前" with the exact time in `<time datetime>`.
pub struct When {
    pub iso: String,
    pub ago: String,
    pub exact: String,
}

pub fn when(at: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> When {
    When {
        iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ago: ago(at, now, lang),
        exact: crate::i18n::jst(&at),
    }
}

/// A phone number as a `tel:` target (digits, `+` and hyphens only).
pub fn tel(phone: &str) -> String {
    vsys_domain::validation::ascii_digits(phone)
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+' || *c == '-')
        .collect()
}

/// A web address to link to: `http` and `https` only.
pub fn web(url: Option<&str>) -> Option<String> {
    url.map(str::trim)
        .filter(|u| {
            let l = u.to_ascii_lowercase();
            (l.starts_with("https://") || l.starts_with("http://"))
                && crate::markdown::allowed_url(u)
        })
        .map(str::to_owned)
}

/// One site in the results.
pub struct Card {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub place: String,
    pub address: Option<String>,
    pub phone: Option<(String, String)>,
    pub status: StatusView,
    pub status_at: Option<When>,
    pub stale: bool,
    pub distance: Option<String>,
    pub vaccines: String,
    pub accepts_non_regular: bool,
    pub booking: Option<&'static str>,
    pub booking_url: Option<String>,
}

pub fn kind_label(k: OrgKind, l: PL) -> &'static str {
    if k == OrgKind::Site {
        l.t(W::KindSite)
    } else {
        l.t(W::KindInstitution)
    }
}

/// Where a site is: "大阪府 大阪市".
pub fn place(s: &Snapshot, site: &PublicSite, lang: Lang) -> String {
    s.municipality_info(&site.municipality_code)
        .map(|m| {
            format!(
                "{} {}",
                prefecture(&m.prefecture_code, &m.prefecture, lang),
                m.name
            )
        })
        .unwrap_or_default()
}

pub fn vaccine_names(site: &PublicSite, lang: Lang) -> String {
    site.vaccines
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(if lang == Lang::Ja { "、" } else { ", " })
}

fn card(
    st: &AppState,
    s: &Snapshot,
    site: &PublicSite,
    distance: Option<f64>,
    now: DateTime<Utc>,
    l: PL,
) -> Card {
    Card {
        code: site.code.clone(),
        name: site.name.clone(),
        kind: kind_label(site.kind, l),
        place: place(s, site, l.0),
        address: site.address.clone(),
        phone: site.phone.as_deref().map(|p| (p.to_owned(), tel(p))),
        status: status_view(site.reservation, l.0),
        status_at: site.reservation_at.map(|at| when(at, now, l.0)),
        stale: site.is_stale(now, st.app.config.public.stale_after_hours),
        distance: distance.map(km),
        vaccines: vaccine_names(site, l.0),
        accepts_non_regular: site.accepts_non_regular,
        booking: site.booking.map(|b| b.label(l.0)),
        booking_url: web(site.booking_url.as_deref()),
    }
}

pub struct PageLink {
    /// None: a gap ("…").
    pub n: Option<u64>,
    pub href: String,
    pub current: bool,
}

pub struct Pagination {
    pub previous: Option<String>,
    pub next: Option<String>,
    pub links: Vec<PageLink>,
}

/// Page links around the current one (the first and last always), each keeping the query.
fn pagination(asked: &Asked, page: u64, per_page: u64, total: usize) -> Option<Pagination> {
    let last = (total as u64).div_ceil(per_page.max(1)).max(1);
    if last <= 1 {
        return None;
    }
    let href = |n: u64| asked.href("/search/", &["page", "lang"], &[("page", &n.to_string())]);
    let mut links = Vec::new();
    let mut gap = false;
    for n in 1..=last {
        if n == 1 || n == last || n.abs_diff(page) <= 2 {
            links.push(PageLink {
                n: Some(n),
                href: href(n),
                current: n == page,
            });
            gap = false;
        } else if !gap {
            links.push(PageLink {
                n: None,
                href: String::new(),
                current: false,
            });
            gap = true;
        }
    }
    Some(Pagination {
        previous: (page > 1).then(|| href(page - 1)),
        next: (page < last).then(|| href(page + 1)),
        links,
    })
}

/// The newest citizens' notices, as the finder's top and the FAQ show them.
pub struct NoticeView {
    pub id: String,
    pub date: String,
    pub iso: String,
    pub title: String,
    pub body: SafeHtml,
    /// The body is the Japanese one (no English was written).
    pub body_in_japanese: bool,
}

pub fn notice_view(n: &vsys_app::public::CitizenNotice, lang: Lang, top: u8) -> NoticeView {
    let (title, body, ja) = match lang {
        Lang::En if !n.body_en.trim().is_empty() || n.body_ja.trim().is_empty() => {
            (&n.title_en, &n.body_en, false)
        }
        Lang::En => (&n.title_en, &n.body_ja, true),
        Lang::Ja => (&n.title_ja, &n.body_ja, false),
    };
    NoticeView {
        id: n.id.clone(),
        date: crate::i18n::jst(&n.created_at)
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_owned(),
        iso: n
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        title: title.clone(),
        body: render(body, top),
        body_in_japanese: ja,
    }
}

/// How many notices the finder's top shows.
const NOTICES_ON_TOP: usize = 5;

#[derive(Template)]
#[template(path = "public/finder.html")]
pub struct FinderPage {
    pub f: Frame,
    pub form: SearchForm,
    pub errors: Errors,
    /// Whether results are shown (a search was made and read).
    pub searched: bool,
    pub total: String,
    pub cards: Vec<Card>,
    pub pages: Option<Pagination>,
    pub notices: Vec<NoticeView>,
    /// `municipality`'s name when one was searched, else the prefecture's.
    pub area: String,
}

fn form_of(
    s: &Snapshot,
    p: &SearchParams,
    statuses: &[&str],
    errors: &Errors,
    asked: &Asked,
    l: PL,
) -> SearchForm {
    let val = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_owned();
    let digits = |v: &Option<String>| vsys_domain::validation::ascii_digits(&val(v));
    let pref = digits(&p.prefecture);
    let muni = digits(&p.municipality);
    // The municipality list is the chosen prefecture's, or that of the chosen municipality.
    let pref_shown = if s.municipalities_of(&pref).is_empty() {
        s.municipality_info(&muni)
            .map(|m| m.prefecture_code.clone())
            .unwrap_or_default()
    } else {
        pref.clone()
    };
    let prefectures = s
        .prefectures()
        .iter()
        .map(|x| Choice {
            selected: x.code == pref_shown,
            label: prefecture(&x.code, &x.name, l.0),
            value: x.code.clone(),
        })
        .collect();
    let municipalities = s
        .municipalities_of(&pref_shown)
        .iter()
        .map(|m| Choice {
            selected: m.code == muni,
            label: match l.0 {
                Lang::Ja => format!("{}（{}）", m.name, m.sites),
                Lang::En => format!("{} ({})", m.name, m.sites),
            },
            value: m.code.clone(),
        })
        .collect();
    let vaccine = val(&p.vaccine);
    let near_point =
        !val(&p.lat).is_empty() && errors.at("lat").is_none() && errors.at("lng").is_none();
    SearchForm {
        prefecture_chosen: !pref_shown.is_empty(),
        prefectures,
        municipalities,
        postal_code: val(&p.postal_code),
        q: val(&p.q),
        vaccines: s
            .vaccines()
            .iter()
            .map(|v| Choice {
                selected: v.id == vaccine,
                value: v.id.clone(),
                label: v.name.clone(),
            })
            .collect(),
        statuses: Reservation::ALL
            .iter()
            .map(|r| {
                let v = status_view(*r, l.0);
                StatusBox {
                    value: r.as_str(),
                    mark: v.mark,
                    words: v.words,
                    checked: statuses.contains(&r.as_str()),
                }
            })
            .collect(),
        accepts_non_regular: matches!(val(&p.accepts_non_regular).as_str(), "true" | "1" | "on"),
        lat: val(&p.lat),
        lng: val(&p.lng),
        radius_km: val(&p.radius_km),
        per_page: val(&p.per_page),
        near_point,
        clear_point: asked.href(
            "/search/",
            &["lat", "lng", "radius_km", "page", "lang"],
            &[],
        ),
    }
}

/// The finder: its top (the form and the newest notices), or a search's results; a search
/// that cannot be read is answered 400 with each reason next to its field.
pub async fn finder(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let (asked, lang, s) = match page::open(&st, &headers, raw.as_deref(), "/search/").await {
        Ok(opened) => opened,
        Err(res) => return *res,
    };
    let l = PL(lang);
    // A page is the same for everyone asking the same in the same minute (its times are
    // minutes, the freshness banner counts minutes): kept per snapshot until the minute ends.
    let now = st.app.clock.now();
    let fresh = vsys_app::public::freshness(&st.app, &s);
    let key = format!(
        "{}|{}|{}",
        lang.code(),
        if fresh.unconfirmed {
            (now - fresh.checked_at).num_minutes()
        } else {
            -1
        },
        raw.as_deref().unwrap_or_default()
    );
    if let Some(kept) = st.public.pages.get(&s, &key)
        && kept.holds(now)
    {
        return page::respond_html(&st, kept.body().clone(), &asked);
    }
    let mut params = search_params(&asked);
    follow_prefecture(&mut params, &s);
    let statuses: Vec<&str> = asked
        .all("status")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let did_search = searched(&params);
    let (errors, found) = match params.parse(&s) {
        Ok(search) => (Errors(Vec::new()), Some(search)),
        Err(Invalid(list)) => (
            Errors(
                list.iter()
                    .map(|e| FieldErr {
                        field: e.field.clone(),
                        message: e.msg.text(lang),
                    })
                    .collect(),
            ),
            None,
        ),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut page = FinderPage {
        f: Frame::new(lang, l.t(W::SearchTitle), "search", "/search/", &asked).data_of(&st, &s),
        form: form_of(&s, &params, &statuses, &errors, &asked, l),
        errors,
        searched: false,
        total: String::new(),
        cards: Vec::new(),
        pages: None,
        notices: Vec::new(),
        area: String::new(),
    };
    match found {
        Some(search) if did_search => {
            let hits = vsys_app::public::search(&s, &search);
            page.searched = true;
            page.total = count(hits.total, lang);
            page.area = match &search.area {
                vsys_app::public::Area::Municipality(m) => s
                    .municipality_info(m)
                    .map(|m| {
                        format!(
                            "{} {}",
                            prefecture(&m.prefecture_code, &m.prefecture, lang),
                            m.name
                        )
                    })
                    .unwrap_or_default(),
                vsys_app::public::Area::Prefecture(p) => s
                    .prefectures()
                    .iter()
                    .find(|x| &x.code == p)
                    .map(|x| prefecture(&x.code, &x.name, lang))
                    .unwrap_or_default(),
                vsys_app::public::Area::Everywhere => String::new(),
            };
            page.cards = hits
                .items
                .iter()
                .map(|(site, d)| card(&st, &s, site, *d, now, l))
                .collect();
            page.pages = pagination(&asked, search.page.page, search.page.per_page, hits.total);
        }
        Some(_) => {
            page.notices = s
                .notices(CitizenTopic::Notice)
                .take(NOTICES_ON_TOP)
                .map(|n| notice_view(n, lang, 4))
                .collect();
        }
        None => {}
    }
    if status != StatusCode::OK {
        return respond(&st, status, &page, &asked);
    }
    match page.render() {
        Ok(html) => {
            let html = axum::body::Bytes::from(html);
            let minute_ends = now + chrono::Duration::seconds(60 - now.timestamp().rem_euclid(60));
            st.public.pages.put(
                &s,
                key,
                std::sync::Arc::new(super::open_data::Answer::page(html.clone(), minute_ends)),
            );
            page::respond_html(&st, html, &asked)
        }
        Err(e) => {
            tracing::error!(error = %e, "template");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(serde::Serialize)]
struct MunicipalityOut<'a> {
    code: &'a str,
    name: &'a str,
    sites: usize,
}

/// The municipalities of a prefecture as JSON (`?prefecture=13`), for the form's list when
/// the prefecture changes; 404 with an empty list for an unknown prefecture.
pub async fn municipalities(State(st): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let asked = Asked::parse(raw.as_deref());
    let code =
        vsys_domain::validation::ascii_digits(asked.get("prefecture").unwrap_or_default().trim());
    let Ok(s) = vsys_app::public::snapshot(&st.app).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let list: Vec<MunicipalityOut> = s
        .municipalities_of(&code)
        .iter()
        .map(|m| MunicipalityOut {
            code: &m.code,
            name: &m.name,
            sites: m.sites,
        })
        .collect();
    let status = if list.is_empty() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let mut res = (status, axum::Json(list)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "public, max-age={}",
        st.app.config.public.max_age_secs
    )) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}

#[derive(Template)]
#[template(path = "public/site.html")]
pub struct SitePage {
    pub f: Frame,
    pub c: Card,
    pub website: Option<String>,
    pub hours: Option<String>,
    pub access: Option<String>,
    pub parking: Option<String>,
    pub postal_code: Option<String>,
    /// The map service's page of the site's point, and whether the point is approximate.
    pub map: Option<(String, bool)>,
    pub back: String,
}

/// A site's page; the public 404 page for a code that is no public site.
pub async fn site(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let path = format!("/search/sites/{}", urlencoding::encode(&code));
    let (asked, lang, s) = match page::open(&st, &headers, raw.as_deref(), &path).await {
        Ok(opened) => opened,
        Err(res) => return *res,
    };
    let l = PL(lang);
    let Some(site) = s.site(code.trim()) else {
        return page::not_found(&st, lang, &path, &asked);
    };
    let now = st.app.clock.now();
    let map = site.point.map(|p| {
        (
            format!(
                "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lng:.6}#map=17/{lat:.6}/{lng:.6}",
                lat = p.lat,
                lng = p.lng
            ),
            site.point_is_approximate,
        )
    });
    let back = format!(
        "/search/?municipality={}",
        urlencoding::encode(&site.municipality_code)
    );
    let page = SitePage {
        f: Frame::new(lang, &site.name, "search", &path, &asked).data_of(&st, &s),
        c: card(&st, &s, site, None, now, l),
        website: web(site.website.as_deref()),
        hours: site.hours.clone(),
        access: site.access.clone(),
        parking: site.parking.clone(),
        postal_code: site
            .postal_code
            .as_deref()
            .map(|p| match (p.get(..3), p.get(3..)) {
                (Some(a), Some(b)) if p.len() == 7 => format!("〒{a}-{b}"),
                _ => format!("〒{p}"),
            }),
        map,
        back,
    };
    respond(&st, StatusCode::OK, &page, &asked)
}
