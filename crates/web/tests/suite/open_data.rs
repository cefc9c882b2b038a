//! The open data API (`/api/v1/public/…`), black-box on both databases: the page and its
//! filters, each compared with the public snapshot itself; parameters refused with 400 naming
//! them; `ETag`/`304`, `Cache-Control` and CORS; the CSV file; the municipalities and vaccines;
//! `stale` as the clock moves; the per-client rate limit; and the public site's own listener
//! (`serve --public-listen`), which serves nothing else.

use crate::common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use vsys_app::public::{PublicSite, Snapshot};
use vsys_domain::Reservation;
use vsys_domain::place::{Point, search_fold, search_words};
use vsys_testkit::db_test;

async fn get(t: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    get_at(&t.base, path, &[]).await
}

async fn get_at(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = client().get(format!("{base}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = res.status();
    let h = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        h,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The snapshot the server answers from (a first request waits for the server to have built
/// it: it does before it accepts connections).
async fn snapshot(t: &TestApp) -> Arc<Snapshot> {
    let (s, _, _) = get(t, "/healthz").await;
    assert_eq!(s, StatusCode::OK);
    vsys_app::public::snapshot(&t.app)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every item of a search (all pages of 500).
async fn all_items(t: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    for page in 1.. {
        let path = format!("/api/v1/public/sites?{query}&per_page=500&page={page}");
        let (s, _, v) = get(t, &path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let got = v["items"].as_array().cloned().unwrap_or_default();
        let total = v["total"].as_u64().unwrap_or(0) as usize;
        items.extend(got.iter().cloned());
        if got.is_empty() || items.len() >= total {
            assert_eq!(items.len(), total, "{path}: total");
            break;
        }
    }
    items
}

fn codes(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| i["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn expected<'a>(sites: impl Iterator<Item = &'a PublicSite>) -> BTreeSet<String> {
    sites.map(|s| s.code.clone()).collect()
}

/// Distances of the items in their order; each must be given.
fn distances(items: &[Value]) -> Vec<f64> {
    items
        .iter()
        .map(|i| {
            i["distance_km"]
                .as_f64()
                .unwrap_or_else(|| panic!("distance_km: {i}"))
        })
        .collect()
}

fn full_width(ascii: &str) -> String {
    ascii
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c),
            '-' => '－',
            c => c,
        })
        .collect()
}

db_test!(
    the_page_and_each_filter_narrow_as_the_snapshot_says,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let snap = snapshot(&t).await;
        let all = snap.sites();
        assert!(all.len() > 40, "the demo has public sites: {}", all.len());

        // The page: its shape, the total, the default size, updated_at and the licence.
        let (s, h, v) = get(&t, "/api/v1/public/sites").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["total"], all.len(), "{v}");
        assert_eq!(v["page"], 1);
        assert_eq!(v["per_page"], 20);
        assert_eq!(v["items"].as_array().map(Vec::len), Some(20));
        assert!(
            v["licence"]
                .as_str()
                .unwrap_or_default()
                .starts_with("CC BY 4.0")
        );
        assert_eq!(
            v["attribution"],
            "出典：ワクチン接種円滑化システム（vsys）公開データ"
        );
        let updated = v["updated_at"].as_str().unwrap_or_default();
        let updated = chrono::DateTime::parse_from_rfc3339(updated)
            .unwrap_or_else(|e| panic!("updated_at {updated}: {e}"));
        assert_eq!(updated, snap.built_at);
        assert!(
            h.get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|l| l.contains("rel=\"license\""))
        );
        // An item: the public fields, nothing personal, no distance without a point.
        let first = &v["items"][0];
        let site = snap
            .site(first["code"].as_str().unwrap_or_default())
            .unwrap_or_else(|| panic!("{first}"));
        for field in [
            "code",
            "name",
            "kind",
            "prefecture_code",
            "municipality_code",
            "postal_code",
            "address",
            "phone",
            "website",
            "hours",
            "access",
            "parking",
            "accepts_non_regular",
            "booking",
            "booking_url",
            "vaccines",
            "lat",
            "lng",
            "point_is_approximate",
            "reservation",
            "reservation_at",
            "stale",
        ] {
            assert!(first.get(field).is_some(), "{field} in {first}");
        }
        assert!(first.get("distance_km").is_none(), "{first}");
        assert!(first.get("representative").is_none() && first.get("doctors").is_none());
        assert_eq!(first["name"], site.name.as_str());
        assert_eq!(first["lat"].as_f64(), site.point.map(|p| p.lat));
        // The second page follows the first, in registry order.
        let (_, _, p2) = get(&t, "/api/v1/public/sites?page=2&per_page=5").await;
        let want: Vec<&str> = all[5..10].iter().map(|s| s.code.as_str()).collect();
        let got: Vec<&str> = p2["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["code"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(got, want);

        // By municipality: the most populous one with sites.
        let muni = snap
            .municipalities()
            .iter()
            .max_by_key(|m| m.sites)
            .unwrap_or_else(|| panic!("no municipality"));
        assert!(muni.sites > 1);
        let items = all_items(&t, &format!("municipality={}", muni.code)).await;
        assert_eq!(
            codes(&items),
            expected(all.iter().filter(|s| s.municipality_code == muni.code))
        );
        // By prefecture.
        let pref = muni.prefecture_code.clone();
        let items = all_items(&t, &format!("prefecture={pref}")).await;
        assert_eq!(
            codes(&items),
            expected(all.iter().filter(|s| s.prefecture_code == pref))
        );
        assert!(items.len() >= muni.sites);
        // A municipality of another prefecture than the one asked: refused.
        let (s, _, p) = get(
            &t,
            &format!(
                "/api/v1/public/sites?prefecture={}&municipality={}",
                if pref == "13" { "27" } else { "13" },
                muni.code
            ),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
        assert_eq!(p["errors"][0]["field"], "municipality", "{p}");

        // By postal code, written in full-width digits with a hyphen: its municipality's
        // sites, nearest its office first, each with its distance.
        let (postal, pm) = vsys_app::master_data::postal_codes()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|(_, m)| *m == muni.code)
            .unwrap_or_else(|| panic!("a postal code of {}", muni.code));
        let typed = full_width(&format!("{}-{}", &postal[..3], &postal[3..]));
        let items = all_items(&t, &format!("postal_code={}", urlencoding::encode(&typed))).await;
        assert_eq!(
            codes(&items),
            expected(all.iter().filter(|s| s.municipality_code == pm))
        );
        let d = distances(&items);
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");

        // By words: a site's own name finds it, and the hits are the sites whose name or
        // address holds every word (as the finder folds text).
        let named = &all[all.len() / 2];
        let items = all_items(&t, &format!("q={}", urlencoding::encode(&named.name))).await;
        assert!(codes(&items).contains(&named.code), "{}", named.name);
        let words = search_words(&named.name);
        let has_words = |s: &&PublicSite| {
            let text = search_fold(&format!(
                "{}\u{1F}{}",
                s.name,
                s.address.as_deref().unwrap_or_default()
            ));
            words.iter().all(|w| text.contains(w.as_str()))
        };
        assert_eq!(codes(&items), expected(all.iter().filter(has_words)));

        // By point and radius: the sites within, nearest first, with their distance.
        let centre = named
            .point
            .unwrap_or_else(|| panic!("{} has no point", named.code));
        let items = all_items(
            &t,
            &format!("lat={}&lng={}&radius_km=5", centre.lat, centre.lng),
        )
        .await;
        let within = |p: Option<Point>| p.is_some_and(|p| centre.distance_km(p) <= 5.0);
        assert_eq!(
            codes(&items),
            expected(all.iter().filter(|s| within(s.point)))
        );
        assert!(codes(&items).contains(&named.code));
        let d = distances(&items);
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");
        assert!(d.iter().all(|d| *d <= 5.0), "{d:?}");
        assert!(d[0] < 0.01, "the site itself first: {d:?}");

        // By vaccine.
        let vaccine = snap
            .vaccines()
            .first()
            .unwrap_or_else(|| panic!("no vaccine"))
            .id
            .clone();
        let items = all_items(&t, &format!("vaccine={vaccine}")).await;
        let handles = |s: &&PublicSite| s.vaccines.iter().any(|v| v.id == vaccine);
        assert_eq!(codes(&items), expected(all.iter().filter(handles)));
        assert!(!items.is_empty() && items.len() < all.len());

        // By statuses (a comma list).
        let items = all_items(&t, "status=available,few").await;
        let open =
            |s: &&PublicSite| matches!(s.reservation, Reservation::Available | Reservation::Few);
        assert_eq!(codes(&items), expected(all.iter().filter(open)));
        assert!(
            items
                .iter()
                .all(|i| i["reservation"] == "available" || i["reservation"] == "few")
        );
        let (_, _, none) = get(&t, "/api/v1/public/sites?status=none").await;
        assert_eq!(
            none["total"],
            all.iter()
                .filter(|s| s.reservation == Reservation::None)
                .count()
        );

        // Only those that take people who are not their regular patients.
        let items = all_items(&t, "accepts_non_regular=true").await;
        assert_eq!(
            codes(&items),
            expected(all.iter().filter(|s| s.accepts_non_regular))
        );
        assert!(!items.is_empty() && items.len() < all.len());

        // Filters combine.
        let items = all_items(
            &t,
            &format!(
                "municipality={}&status=available&accepts_non_regular=1",
                muni.code
            ),
        )
        .await;
        assert_eq!(
            codes(&items),
            expected(all.iter().filter(|s| {
                s.municipality_code == muni.code
                    && s.reservation == Reservation::Available
                    && s.accepts_non_regular
            }))
        );
    }
);

db_test!(
    wrong_parameters_are_refused_naming_them,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        for (query, field) in [
            ("postal_code=abc", "postal_code"),
            ("postal_code=0000000", "postal_code"),
            ("lat=999&lng=135", "lat"),
            ("lat=35&lng=abc", "lng"),
            ("lat=35", "lng"),
            ("per_page=100000", "per_page"),
            ("per_page=0", "per_page"),
            ("page=0", "page"),
            ("page=x", "page"),
            ("lat=35&lng=135&radius_km=1000", "radius_km"),
            ("radius_km=5", "radius_km"),
            ("status=maybe", "status"),
            ("status=available,maybe", "status"),
            ("municipality=' OR 1=1", "municipality"),
            ("municipality=99999", "municipality"),
            ("prefecture=99", "prefecture"),
            ("vaccine=' OR 1=1 --", "vaccine"),
            ("accepts_non_regular=perhaps", "accepts_non_regular"),
            ("q=%00", "q"),
        ] {
            for path in ["/api/v1/public/sites", "/api/v1/public/sites.csv"] {
                let res = client()
                    .get(format!("{}{path}?{query}", t.base))
                    .header("accept-language", "en")
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
                assert_eq!(
                    res.headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok()),
                    Some("application/problem+json"),
                    "{path}?{query}"
                );
                assert_eq!(
                    res.headers()
                        .get(header::CACHE_CONTROL)
                        .map(|v| v.as_bytes()),
                    Some(&b"no-store"[..]),
                    "a refusal is not cached"
                );
                let p: Value = res.json().await.unwrap_or_default();
                let fields: Vec<&str> = p["errors"]
                    .as_array()
                    .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
                    .unwrap_or_default();
                assert!(fields.contains(&field), "{path}?{query}: {p}");
                assert!(
                    !p["errors"][0]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .is_empty()
                );
            }
        }
        // Several wrong at once: each named.
        let (s, _, p) = get(&t, "/api/v1/public/sites?postal_code=abc&status=maybe").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let text = p["errors"].to_string();
        assert!(
            text.contains("postal_code") && text.contains("status"),
            "{p}"
        );
        // In Japanese by default.
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_ascii()),
            "{p}"
        );
        // Words are only words: SQL in them finds nothing and breaks nothing.
        let (s, _, v) = get(&t, "/api/v1/public/sites?q=%27%20OR%201%3D1%20--").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["total"], 0, "{v}");
        assert_eq!(v["items"], serde_json::json!([]));
        // The municipalities' filter too.
        let (s, _, p) = get(&t, "/api/v1/public/municipalities?prefecture=48").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(p["errors"][0]["field"], "prefecture", "{p}");
    }
);

db_test!(
    answers_are_cacheable_cross_origin_and_in_csv,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let snap = snapshot(&t).await;
        let muni = snap
            .municipalities()
            .iter()
            .max_by_key(|m| m.sites)
            .unwrap_or_else(|| panic!("no municipality"))
            .clone();
        let path = format!("/api/v1/public/sites?municipality={}", muni.code);

        // ETag and Cache-Control; If-None-Match with it: 304 without a body.
        let (s, h, v) = get(&t, &path).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let etag = h
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no ETag"))
            .to_owned();
        assert!(etag.starts_with("W/\""), "{etag}");
        assert_eq!(
            h.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()),
            Some("public, max-age=60")
        );
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .and_then(|v| v.to_str().ok()),
            Some("*")
        );
        let res = client()
            .get(t.url(&path))
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            res.headers()
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok()),
            Some(etag.as_str())
        );
        assert_eq!(
            res.headers()
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("public, max-age=60")
        );
        assert!(res.bytes().await.unwrap_or_default().is_empty(), "no body");
        // The same answer again: the same ETag (kept serialised, the same bytes).
        let (_, h2, v2) = get(&t, &path).await;
        assert_eq!(
            h2.get(header::ETAG).and_then(|v| v.to_str().ok()),
            Some(etag.as_str())
        );
        assert_eq!(v2, v);
        // Another query, another ETag; an old ETag gets the full answer.
        let (_, h3, _) = get(&t, &format!("{path}&page=2")).await;
        assert_ne!(
            h3.get(header::ETAG).and_then(|v| v.to_str().ok()),
            Some(etag.as_str())
        );
        let (s, _, _) = get_at(&t.base, &path, &[("if-none-match", "W/\"p0-0-0\"")]).await;
        assert_eq!(s, StatusCode::OK);
        // HEAD: the headers alone.
        let res = client()
            .head(t.url(&path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().contains_key(header::ETAG));

        // CORS: any origin reads; the preflight allows GET, HEAD and the two headers.
        let (_, h, _) = get_at(&t.base, &path, &[("origin", "https://example.org")]).await;
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .and_then(|v| v.to_str().ok()),
            Some("*")
        );
        assert!(
            h.get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("ETag"))
        );
        let res = client()
            .request(Method::OPTIONS, t.url("/api/v1/public/sites"))
            .header("origin", "https://example.org")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "if-none-match")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(res.status().is_success(), "{}", res.status());
        let hv = |name: header::HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(hv(header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
        assert_eq!(
            hv(header::ACCESS_CONTROL_ALLOW_METHODS),
            "GET, HEAD, OPTIONS"
        );
        assert!(hv(header::ACCESS_CONTROL_ALLOW_HEADERS).contains("If-None-Match"));
        assert!(hv(header::ACCESS_CONTROL_ALLOW_HEADERS).contains("Accept-Language"));
        // A refusal is readable cross-origin too.
        let (s, h, _) = get(&t, "/api/v1/public/sites?lat=999&lng=1").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        // The staff API is not opened to other origins.
        let (_, h, _) = get(&t, "/api/v1/me").await;
        assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));

        // The CSV: a BOM, the header row, one CRLF line per site; its own ETag and 304.
        let res = client()
            .get(t.url("/api/v1/public/sites.csv"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        let hv = |name: header::HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            hv(header::CONTENT_DISPOSITION),
            "attachment; filename=\"vsys-public-sites.csv\""
        );
        assert!(hv(header::CONTENT_TYPE).starts_with("text/csv"));
        assert_eq!(
            hv(header::HeaderName::from_static("x-license")),
            "CC-BY-4.0"
        );
        assert_eq!(hv(header::CACHE_CONTROL), "public, max-age=60");
        let csv_etag = hv(header::ETAG);
        let bytes = res.bytes().await.unwrap_or_default();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
        let text = String::from_utf8_lossy(&bytes[3..]).into_owned();
        assert!(text.ends_with("\r\n"));
        let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(
            lines[0].starts_with(
                "コード,名称,種別,都道府県コード,都道府県名,市区町村コード,市区町村名,郵便番号,住所"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with(",予約状況,予約状況の更新日時,情報が古い可能性,距離km"));
        assert_eq!(lines.len(), snap.sites().len() + 1, "one line per site");
        let table = vsys_app::csv_files::parse(&text, &["コード", "名称", "緯度"])
            .unwrap_or_else(|e| panic!("{e:?}"));
        let listed: BTreeSet<String> = table
            .rows
            .iter()
            .map(|r| r.get("コード").to_owned())
            .collect();
        assert_eq!(listed, expected(snap.sites().iter()));
        let (s, _, _) = get_at(
            &t.base,
            "/api/v1/public/sites.csv",
            &[("if-none-match", csv_etag.as_str())],
        )
        .await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        // Filtered like the JSON.
        let res = client()
            .get(t.url(&format!(
                "/api/v1/public/sites.csv?municipality={}",
                muni.code
            )))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let text = res.text().await.unwrap_or_default();
        assert_eq!(
            text.trim_end_matches("\r\n").split("\r\n").count(),
            muni.sites + 1
        );
        assert!(text.contains(&muni.name), "the municipality's name");

        // The municipalities (for a picker) and the vaccines (for the filter).
        let (s, h, v) = get(&t, "/api/v1/public/municipalities").await;
        assert_eq!(s, StatusCode::OK);
        assert!(h.contains_key(header::ETAG));
        let items = v["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), snap.municipalities().len());
        let m = items
            .iter()
            .find(|m| m["code"] == muni.code.as_str())
            .unwrap_or_else(|| panic!("{} listed", muni.code));
        assert_eq!(m["name"], muni.name.as_str());
        assert_eq!(m["prefecture_code"], muni.prefecture_code.as_str());
        assert_eq!(m["prefecture"], muni.prefecture.as_str());
        assert_eq!(m["sites"], muni.sites);
        assert!(m["lat"].is_f64() && m["lng"].is_f64(), "{m}");
        let (_, _, tokyo) = get(&t, "/api/v1/public/municipalities?prefecture=13").await;
        let tokyo = tokyo["items"].as_array().cloned().unwrap_or_default();
        assert!(!tokyo.is_empty() && tokyo.iter().all(|m| m["prefecture_code"] == "13"));
        assert!(tokyo.iter().any(|m| m["code"] == "13103"));
        let (s, _, v) = get(&t, "/api/v1/public/vaccines").await;
        assert_eq!(s, StatusCode::OK);
        let ids: Vec<&str> = v["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["id"].as_str()).collect())
            .unwrap_or_default();
        let want: Vec<&str> = snap.vaccines().iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, want);
        assert!(!ids.is_empty());
    }
);

db_test!(
    a_status_turns_stale_as_the_clock_moves,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // A public site sets its status now.
        let snap = snapshot(&t).await;
        let site = snap
            .sites()
            .iter()
            .find(|s| s.municipality_code != "13103")
            .unwrap_or_else(|| panic!("a public site"))
            .clone();
        let mut tx = t.db.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        vsys_store::sites::set_reservation(&mut tx, &site.code, "available", t.app.clock.now())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        vsys_app::public::refresh(&t.app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let path = format!(
            "/api/v1/public/sites?municipality={}&per_page=500",
            site.municipality_code
        );
        let find = |v: &Value| {
            v["items"]
                .as_array()
                .and_then(|a| a.iter().find(|i| i["code"] == site.code.as_str()).cloned())
                .unwrap_or_else(|| panic!("{} in {v}", site.code))
        };
        let (_, h, v) = get(&t, &path).await;
        let before = find(&v);
        assert_eq!(before["reservation"], "available");
        assert_eq!(before["stale"], false, "{before}");
        let etag = h.get(header::ETAG).cloned();
        // Past the stale age (72 hours): the same snapshot, the site marked stale, and the
        // kept answer is not served any more (another ETag).
        t.clock.advance(chrono::Duration::hours(
            t.app.config.public.stale_after_hours + 1,
        ));
        let (_, h, v) = get(&t, &path).await;
        let after = find(&v);
        assert_eq!(after["stale"], true, "{after}");
        assert_eq!(after["reservation_at"], before["reservation_at"]);
        assert_ne!(
            h.get(header::ETAG),
            etag.as_ref(),
            "another answer, another ETag"
        );
        // The CSV says so too.
        let text = client()
            .get(t.url(&format!(
                "/api/v1/public/sites.csv?municipality={}",
                site.municipality_code
            )))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default();
        let table = vsys_app::csv_files::parse(
            text.trim_start_matches('\u{FEFF}'),
            &["コード", "予約状況", "情報が古い可能性"],
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let row = table
            .rows
            .iter()
            .find(|r| r.get("コード") == site.code)
            .unwrap_or_else(|| panic!("{} in the CSV", site.code));
        assert_eq!(row.get("予約状況"), "available");
        assert_eq!(row.get("情報が古い可能性"), "true");
    }
);

db_test!(
    one_client_is_limited_and_others_are_not,
    |backend| async move {
        let Some(t) = spawn_with(backend, |c| {
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))];
            c.public.rate_burst = 10;
            c.public.rate_per_second = 1;
        })
        .await
        else {
            return;
        };
        let from = |ip: &'static str, path: &'static str| {
            let url = t.url(path);
            async move {
                client()
                    .get(url)
                    .header("x-forwarded-for", ip)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
            }
        };
        // A burst of 400 from one client meets 429 with Retry-After, as a problem.
        let mut refused = None;
        let mut ok = 0;
        for _ in 0..400 {
            let res = from("203.0.113.7", "/api/v1/public/vaccines").await;
            match res.status() {
                StatusCode::OK => ok += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    refused = Some(res);
                    break;
                }
                s => panic!("{s}"),
            }
        }
        let res = refused.unwrap_or_else(|| panic!("never limited"));
        assert!(ok >= 10, "the burst is served: {ok}");
        let retry: u64 = res
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(retry >= 1, "Retry-After");
        assert_eq!(
            res.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        assert!(
            res.headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
        let p: Value = res.json().await.unwrap_or_default();
        assert_eq!(p["type"], "/problems/rate-limited", "{p}");
        assert_eq!(p["status"], 429);
        // The same client on the CSV and the finder's pages: the same bucket.
        let res = from("203.0.113.7", "/api/v1/public/sites.csv").await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        // Another client behind the trusted proxy is served.
        let res = from("203.0.113.8", "/api/v1/public/vaccines").await;
        assert_eq!(res.status(), StatusCode::OK);
        // Staff routes are not counted by the public limit.
        let res = from("203.0.113.7", "/healthz").await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = from("203.0.113.7", "/login").await;
        assert_eq!(res.status(), StatusCode::OK);
        // The bucket refills: after a second and a bit, one more.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let res = from("203.0.113.7", "/api/v1/public/vaccines").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
);

db_test!(
    the_public_listener_serves_the_public_site_alone,
    |backend| async move {
        let Some(t) = spawn_with_public(backend, |_| {}).await else {
            return;
        };
        let public = t
            .public_base
            .clone()
            .unwrap_or_else(|| panic!("no public listener"));
        // Open data, health and static files answer there.
        let (s, h, v) = get_at(&public, "/api/v1/public/sites?per_page=5", &[]).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["items"].as_array().map(Vec::len), Some(5));
        assert!(h.contains_key(header::ETAG));
        assert!(
            h.contains_key(header::CONTENT_SECURITY_POLICY),
            "the same outer layers"
        );
        assert!(h.contains_key("x-request-id"));
        let (s, _, _) = get_at(&public, "/api/v1/public/sites.csv", &[]).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = get_at(&public, "/api/v1/public/municipalities", &[]).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = get_at(&public, "/healthz", &[]).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = get_at(&public, "/static/app.css", &[]).await;
        assert_eq!(s, StatusCode::OK);
        // The root leads to the finder.
        let res = client()
            .get(format!("{public}/"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(res.status().is_redirection());
        assert_eq!(
            res.headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some("/search/")
        );
        // Nothing of the staff's: 404, a problem under /api/.
        for path in [
            "/login",
            "/sites",
            "/api/v1/me",
            "/api/v1/orgs",
            "/api/docs/",
            "/api/openapi.json",
            "/metrics",
            "/readyz",
        ] {
            let (s, h, _) = get_at(&public, path, &[]).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
            if path.starts_with("/api/") {
                assert_eq!(
                    h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
                    Some("application/problem+json"),
                    "{path}"
                );
            }
        }
        let res = client()
            .post(format!("{public}/api/v1/session"))
            .json(
                &serde_json::json!({"email": "minato-operator@demo.vsys.jp", "password": PASSWORD}),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "no login there");
        // The main listener still serves both.
        let (s, _, _) = get(&t, "/login").await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = get(&t, "/api/v1/public/vaccines").await;
        assert_eq!(s, StatusCode::OK);
    }
);
