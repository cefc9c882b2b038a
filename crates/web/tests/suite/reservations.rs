//! 予約状況の一括更新: a municipality's booking system sets many sites' statuses at once with
//! the municipality's organisation API token (`PUT /api/v1/reservations`), and its staff upload
//! a CSV file on the list of sites; all or nothing, every refused item named; the public site
//! shows the new statuses once its snapshot is rebuilt.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vsys_domain::Reservation;
use vsys_testkit::db_test;

/// 港区's municipal site (集団接種会場): a public site of the demo.
const MUNI_SITE: &str = "9131030001";

/// A site of another municipality (横浜市), from the public snapshot.
async fn site_elsewhere(t: &TestApp) -> String {
    let snap = vsys_app::public::refresh(&t.app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    snap.municipality("14100")
        .and_then(|s| s.first())
        .map(|s| s.code.clone())
        .unwrap_or_else(|| panic!("横浜市 has public sites in the demo"))
}

/// The reservation status the public site shows for `code`, after a rebuild: in the snapshot,
/// and in words on the finder's page of the site (404 when the site is not public).
async fn public_status(t: &TestApp, code: &str) -> Option<Reservation> {
    let snap = vsys_app::public::refresh(&t.app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = snap.site(code).map(|s| s.reservation);
    let res = client()
        .get(t.url(&format!("/search/sites/{code}")))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    match status {
        Some(r) => {
            assert_eq!(res.status(), StatusCode::OK);
            let page = res.text().await.unwrap_or_default();
            let (mark, words) = r.label(vsys_domain::Lang::Ja);
            assert!(
                page.contains(words) && page.contains(mark),
                "{code}: {words}"
            );
        }
        None => assert_eq!(res.status(), StatusCode::NOT_FOUND),
    }
    status
}

async fn staff_status(t: &TestApp, token: &str, code: &str) -> Value {
    let (s, v) = t
        .api(Method::GET, &format!("/api/v1/sites/{code}"), token, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["profile"]["reservation"].clone()
}

db_test!(
    a_booking_system_sets_statuses_with_the_municipalitys_token,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
        let elsewhere = site_elsewhere(&t).await;
        assert_eq!(
            public_status(&t, MUNI_SITE).await,
            Some(Reservation::Unregistered)
        );
        // 港区's administrator issues a token for its booking system.
        let admin = t
            .make_user("13103", "admin", "minato-admin-booking@example.jp")
            .await;
        let admin = t.token(&admin).await;
        let (s, v) = t
            .api(
                Method::POST,
                "/api/v1/orgs/13103/api-tokens",
                &admin,
                Some(json!({"name": "予約システム"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let secret = v["secret"].as_str().unwrap_or_default().to_owned();
        let token_id = v["token"]["id"].as_str().unwrap_or_default().to_owned();
        assert!(secret.starts_with(vsys_app::api_tokens::PREFIX));

        // A refused body: every bad item named by row, code and field; nothing is set.
        let (s, p) = t
            .api(
                Method::PUT,
                "/api/v1/reservations",
                &secret,
                Some(json!({"items": [
                    {"code": MUNI_SITE, "reservation": "available"},
                    {"code": elsewhere, "reservation": "few"},
                    {"code": MUNI_SITE, "reservation": "none"},
                    {"code": clinic, "reservation": "maybe"},
                ]})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let errors: Vec<(i64, String, String)> = p["errors"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|e| {
                        (
                            e["row"].as_i64().unwrap_or(0),
                            e["item"].as_str().unwrap_or_default().to_owned(),
                            e["field"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            errors,
            [
                (2, elsewhere.clone(), "code".to_owned()),
                (3, MUNI_SITE.to_owned(), "code".to_owned()),
                (4, clinic.clone(), "reservation".to_owned()),
            ],
            "{p}"
        );
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("管轄外")
        );
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        assert_eq!(staff_status(&t, &minato, MUNI_SITE).await, "unregistered");
        // Empty, or more than 5,000 items: refused as a whole.
        for n in [0, 5_001] {
            let items: Vec<Value> = (0..n)
                .map(|_| json!({"code": MUNI_SITE, "reservation": "few"}))
                .collect();
            let (s, p) = t
                .api(
                    Method::PUT,
                    "/api/v1/reservations",
                    &secret,
                    Some(json!({ "items": items })),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {p}");
            assert_eq!(p["errors"][0]["field"], "items", "{p}");
        }

        // Accepted: the statuses as written (codes, words, marks), the count answered.
        let (s, v) = t
            .api(
                Method::PUT,
                "/api/v1/reservations",
                &secret,
                Some(json!({"items": [
                    {"code": MUNI_SITE, "reservation": "few"},
                    {"code": clinic, "reservation": "予約可能"},
                ]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v, json!({"updated": 2}));
        assert_eq!(staff_status(&t, &minato, MUNI_SITE).await, "few");
        assert_eq!(staff_status(&t, &minato, &clinic).await, "available");
        // One audit entry per site, naming the token.
        let entries = t.audit_actions("site.reservation").await;
        assert_eq!(entries.len(), 2);
        assert!(
            entries
                .iter()
                .all(|e| e.actor_user.as_deref() == Some(&format!("token:{token_id}")))
        );
        // The public site shows it (the municipal site is public; the unconfirmed clinic not).
        assert_eq!(public_status(&t, MUNI_SITE).await, Some(Reservation::Few));
        assert_eq!(public_status(&t, &clinic).await, None);

        // A staff token works too; a viewer's does not; the booking system's token reaches
        // nothing else.
        let (s, v) = t
            .api(
                Method::PUT,
                "/api/v1/reservations",
                &minato,
                Some(json!({"items": [{"code": MUNI_SITE, "reservation": "●"}]})),
            )
            .await;
        assert_eq!((s, v), (StatusCode::OK, json!({"updated": 1})));
        assert_eq!(
            public_status(&t, MUNI_SITE).await,
            Some(Reservation::NotNeeded)
        );
        let viewer = t.token("minato-viewer@demo.vsys.jp").await;
        let (s, _) = t
            .api(
                Method::PUT,
                "/api/v1/reservations",
                &viewer,
                Some(json!({"items": [{"code": MUNI_SITE, "reservation": "few"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        for path in ["/api/v1/me", &format!("/api/v1/sites/{MUNI_SITE}")] {
            assert_eq!(
                t.api(Method::GET, path, &secret, None).await.0,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        // 港区's operators may not make tokens; its administrators only.
        let (s, _) = t
            .api(
                Method::POST,
                "/api/v1/orgs/13103/api-tokens",
                &minato,
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
);

/// A `multipart/form-data` body with the CSRF field and one file.
fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "vsys-test-boundary-resv";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"reservations.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

db_test!(
    a_municipality_uploads_statuses_as_csv,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
        let elsewhere = site_elsewhere(&t).await;
        let c = t.web_login("minato-operator@demo.vsys.jp").await;
        let page = t.page(&c, "/sites").await;
        assert!(
            page.contains("id=\"reservations-form\""),
            "the form is offered"
        );
        let csrf = csrf_of(&page);
        // The template: 港区's sites with their current status.
        let res = c
            .get(t.url("/sites/reservations.csv"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap_or_default();
        assert!(
            text.contains("医療機関等コード,名称,予約状況")
                && text.contains(MUNI_SITE)
                && text.contains(&clinic)
                && !text.contains(&elsewhere),
            "{text}"
        );
        let upload = |bytes: Vec<u8>| {
            let (ct, body) = multipart(&csrf, &bytes);
            let req = c
                .post(t.url("/sites/reservations"))
                .header(reqwest::header::CONTENT_TYPE, ct)
                .body(body);
            async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
        };
        // Shift_JIS with bad rows: each named on the page, nothing set.
        let bad = format!(
            "医療機関等コード,予約状況\r\n{MUNI_SITE},○\r\n{elsewhere},△\r\n{clinic},たぶん\r\n"
        );
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&bad);
        let res = upload(sjis.into_owned()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = res.text().await.unwrap_or_default();
        let at = page
            .find("id=\"reservations-errors\"")
            .unwrap_or_else(|| panic!("no errors shown: {page}"));
        let errors = &page[at..at + page[at..].find("</div>").unwrap_or(0)];
        assert!(
            errors.contains("2行目（表計算ソフトでは3行目）の「医療機関等コード」")
                && errors.contains("3行目（表計算ソフトでは4行目）の「予約状況」"),
            "{errors}"
        );
        assert_eq!(
            public_status(&t, MUNI_SITE).await,
            Some(Reservation::Unregistered)
        );
        // The template's shape in UTF-8 with a BOM: set, and the list says how many.
        let good = format!(
            "\u{feff}医療機関等コード,名称,予約状況\n{MUNI_SITE},会場,×\n{clinic},,予約不要\n"
        );
        let res = upload(good.into_bytes()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = res.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            to.contains("updated=2") && to.contains("flash=reservations_updated"),
            "{to}"
        );
        let page = t.page(&c, &to).await;
        assert!(
            page.contains("予約状況を2件まとめて更新しました。"),
            "{page}"
        );
        assert_eq!(public_status(&t, MUNI_SITE).await, Some(Reservation::None));
        assert_eq!(t.audit_actions("site.reservation").await.len(), 2);
        // No file: said next to the field.
        let res = upload(Vec::new()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.text()
                .await
                .unwrap_or_default()
                .contains("id=\"reservations-file-error\"")
        );
        // A viewer is not offered the form, and may not post it.
        let v = t.web_login("minato-viewer@demo.vsys.jp").await;
        let page = t.page(&v, "/sites").await;
        assert!(!page.contains("id=\"reservations-form\""));
        let (ct, body) = multipart(&csrf_of(&page), b"x");
        let res = v
            .post(t.url("/sites/reservations"))
            .header(reqwest::header::CONTENT_TYPE, ct)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
);
