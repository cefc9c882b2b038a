//! Sites through the API: first-login details, changes that wait for the municipality,
//! reservation status, daily results and wastage writing the stock ledger, corrections,
//! transfers, idle stock and doctors — on both backends.

use crate::allocation::with_version;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vsys_testkit::db_test;

async fn clinic_code(t: &TestApp) -> String {
    t.user("clinic-operator@demo.vsys.jp").await.org_code
}

fn today() -> chrono::NaiveDate {
    vsys_app::clock::japan_date(chrono::Utc::now())
}

async fn stock(t: &TestApp, token: &str, code: &str) -> Value {
    let (s, v) = t
        .api(
            Method::GET,
            &format!("/api/v1/sites/{code}/stock"),
            token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

db_test!(
    details_and_changes_wait_for_the_municipality,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = clinic_code(&t).await;
        let me = t.token("clinic-operator@demo.vsys.jp").await;
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        // First login: details not registered yet.
        let (s, v) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v["profile"]["details_at"].is_null());
        let version = v["profile"]["version"].as_i64().unwrap_or(-1);
        // A bad phone number is refused with a message in the user's language.
        let (s, v) = with_version(
            &t,
            Method::PUT,
            &format!("/api/v1/sites/{clinic}/details"),
            &me,
            version,
            json!({"phone": "abc", "freezers_ultra_cold": 1}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains("電話番号"), "{v}");
        let (s, v) = with_version(
            &t,
            Method::PUT,
            &format!("/api/v1/sites/{clinic}/details"),
            &me,
            version,
            json!({"phone": "03-1234-5678", "hours": "9:00-17:00", "accepts_non_regular": true,
                   "freezers_ultra_cold": 1, "freezers_minus20": 2, "storage_location": "1階処置室"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v["profile"]["details_at"].is_string());
        assert_eq!(v["profile"]["freezers_minus20"], 2);
        // The same version again is a conflict: nothing is lost silently.
        let (s, _) = with_version(
            &t,
            Method::PUT,
            &format!("/api/v1/sites/{clinic}/details"),
            &me,
            version,
            json!({"phone": "03-1234-5678"}),
        )
        .await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED);

        // The clinic renames itself: pending, the name stays until 港区 approves.
        let (_, before) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        let old_name = before["org"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let change = json!({"name": "新しい名前クリニック", "municipality_code": "13103",
                            "contract_status": "contracted", "address": "東京都港区芝公園1-5-25"});
        let (s, v) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/registry"),
                &me,
                Some(change.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["outcome"], "pending");
        let change_id = v["change_id"].as_str().unwrap_or_default().to_owned();
        let (_, v) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        assert_eq!(v["org"]["name"], old_name.as_str());
        assert_eq!(v["pending"][0]["id"], change_id.as_str());
        assert!(
            v["pending"][0]["before"]
                .as_str()
                .unwrap_or_default()
                .contains(&old_name)
        );
        // A second request waits for the first.
        let (s, _) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/registry"),
                &me,
                Some(change.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // The clinic cannot approve its own change.
        let decision = format!("/api/v1/site-changes/{change_id}/decision");
        let (s, _) = t
            .api(Method::POST, &decision, &me, Some(json!({"approve": true})))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // 港区 sees it among the pending ones and approves it.
        let (_, list) = t
            .api(Method::GET, "/api/v1/sites?filter=pending", &minato, None)
            .await;
        assert_eq!(list["total"], 1, "{list}");
        let (s, v) = t
            .api(
                Method::POST,
                &decision,
                &minato,
                Some(json!({"approve": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "approved");
        let (_, v) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        assert_eq!(v["org"]["name"], "新しい名前クリニック");
        assert_eq!(v["profile"]["address"], "東京都港区芝公園1-5-25");
        assert!(v["pending"].as_array().is_some_and(|p| p.is_empty()));
        // Deciding twice is a conflict.
        let (s, _) = t
            .api(
                Method::POST,
                &decision,
                &minato,
                Some(json!({"approve": false})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "decided already");
        // 港区 confirms the cooperating institution.
        let version = v["profile"]["version"].as_i64().unwrap_or(-1);
        let res = client()
            .post(t.url(&format!("/api/v1/sites/{clinic}/confirmation")))
            .bearer_auth(&minato)
            .header("if-match", format!("\"v{version}\""))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        let (_, list) = t
            .api(
                Method::GET,
                "/api/v1/sites?filter=unconfirmed&per_page=500",
                &minato,
                None,
            )
            .await;
        assert!(!list.to_string().contains(&clinic), "{list}");
        // Confirmed, the clinic is on the public list (no login), with no personal data, once
        // the public site's snapshot is rebuilt in the background (within a second).
        let mut public = Value::Null;
        let mut entry = None;
        for _ in 0..100 {
            let res = client()
                .get(t.url("/api/v1/public/sites?municipality=13103&per_page=500"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status(), StatusCode::OK);
            public = res.json().await.unwrap_or(Value::Null);
            entry = public["items"]
                .as_array()
                .and_then(|l| l.iter().find(|s| s["code"] == clinic.as_str()).cloned());
            if entry.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let entry = entry.unwrap_or_else(|| panic!("listed: {public}"));
        assert_eq!(entry["phone"], "03-1234-5678");
        assert!(entry.get("representative").is_none() && entry.get("doctors").is_none());
        for a in [
            "site.details",
            "site.change.request",
            "site.change.approve",
            "site.confirm",
        ] {
            assert!(!t.audit_actions(a).await.is_empty(), "{a} audited");
        }
        // The clinic was told.
        let (_, notices) = t.api(Method::GET, "/api/v1/notices", &me, None).await;
        assert!(notices.to_string().contains("承認されました"), "{notices}");
        // 港区 cannot hand the clinic to 新宿区; 東京都 can; no prefecture can take it away.
        let moved = json!({"name": "新しい名前クリニック", "municipality_code": "13104",
                           "contract_status": "contracted", "address": "東京都新宿区西新宿2-8-1"});
        let path = format!("/api/v1/sites/{clinic}/registry");
        let (s, v) = t
            .api(Method::PUT, &path, &minato, Some(moved.clone()))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains("管轄外"), "{v}");
        let mut osaka = moved.clone();
        osaka["municipality_code"] = json!("27102");
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        let (s, _) = t.api(Method::PUT, &path, &tokyo, Some(osaka)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the code names 東京都");
        let (s, v) = t.api(Method::PUT, &path, &tokyo, Some(moved)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, v) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        assert_eq!(v["org"]["parent_code"], "13104");
        assert!(
            v["org"]["path"]
                .as_str()
                .unwrap_or_default()
                .starts_with("/JP/13/13104/")
        );
    }
);

db_test!(
    results_write_the_ledger_and_bad_days_change_nothing,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = clinic_code(&t).await;
        let me = t.token("clinic-operator@demo.vsys.jp").await;
        // The demo clinic holds lot FA0001: 20 vials × 6 doses.
        let s0 = stock(&t, &me, &clinic).await;
        assert_eq!(s0["doses"], 120, "{s0}");
        assert_eq!(s0["vials"], 20);
        let entries0 = s0["entries"].as_array().cloned().unwrap_or_default();
        let day = today();
        let path = format!("/api/v1/sites/{clinic}/results/{day}");
        // Parts that do not add up, more doses than stock, waste without a reason, a day in
        // the future: each refused with its message, nothing written.
        for (body, needle) in [
            (
                json!({"total": 10, "elderly": 5, "underlying": 1, "others": 1}),
                "内訳",
            ),
            (
                json!({"total": 500, "elderly": 500, "underlying": 0, "others": 0}),
                "在庫",
            ),
            (
                json!({"total": 0, "elderly": 0, "underlying": 0, "others": 0, "wasted_vials": 1}),
                "廃棄理由",
            ),
        ] {
            let (s, v) = t.api(Method::PUT, &path, &me, Some(body)).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert!(v.to_string().contains(needle), "{needle}: {v}");
        }
        let tomorrow = day + chrono::Duration::days(1);
        let (s, _) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/results/{tomorrow}"),
                &me,
                Some(json!({"total": 0, "elderly": 0, "underlying": 0, "others": 0})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(stock(&t, &me, &clinic).await["doses"], 120);

        // 20 doses and one vial broken: 4 vials opened (4 doses of the last wasted), 1 broken.
        let (s, v) = t
            .api(
                Method::PUT,
                &path,
                &me,
                Some(
                    json!({"total": 20, "elderly": 12, "underlying": 5, "others": 3,
                            "wasted_vials": 1, "waste_reason": "breakage"}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let s1 = stock(&t, &me, &clinic).await;
        assert_eq!(s1["vials"], 15, "{s1}");
        assert_eq!(s1["doses"], 90);
        assert_eq!(s1["administered_in_window"], 20);
        assert_eq!(s1["days_of_supply"], 63);
        // Re-entering the day reverses what it wrote and writes the new numbers; no earlier
        // ledger row changes.
        let (s, v) = with_version(
            &t,
            Method::PUT,
            &path,
            &me,
            0,
            json!({"total": 6, "elderly": 6, "underlying": 0, "others": 0}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let s2 = stock(&t, &me, &clinic).await;
        assert_eq!(s2["vials"], 19, "{s2}");
        assert_eq!(s2["doses"], 114);
        let entries2 = s2["entries"].as_array().cloned().unwrap_or_default();
        let entries1 = s1["entries"].as_array().cloned().unwrap_or_default();
        for e in entries1.iter().chain(&entries0) {
            assert!(entries2.contains(e), "an earlier row changed: {e}");
        }
        assert!(
            entries2
                .iter()
                .any(|e| e["kind"] == "correction" && !e["reverses"].is_null()),
            "reversals appended"
        );
        // The stock identity holds over the whole ledger.
        let sum = |f: &str| {
            entries2
                .iter()
                .map(|e| e[f].as_i64().unwrap_or(0))
                .sum::<i64>()
        };
        assert_eq!(sum("doses"), 114);
        assert_eq!(sum("vials"), 19);
        // Closed reporting: refused.
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let (_, periods) = t
            .api(Method::GET, "/api/v1/reporting-periods", &nation, None)
            .await;
        let id = periods[0]["id"].as_str().unwrap_or_default().to_owned();
        let (s, _) = t
            .api(
                Method::POST,
                &format!("/api/v1/reporting-periods/{id}/close"),
                &nation,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = with_version(
            &t,
            Method::PUT,
            &path,
            &me,
            1,
            json!({"total": 1, "elderly": 1, "underlying": 0, "others": 0}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(v.to_string().contains("入力期間"), "{v}");
        // Opening a new one tells the sites.
        let (s, v) = t
            .api(
                Method::POST,
                "/api/v1/reporting-periods",
                &nation,
                Some(json!({"first_day": day, "last_day": day})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (_, notices) = t.api(Method::GET, "/api/v1/notices", &me, None).await;
        assert!(
            notices
                .to_string()
                .contains("接種実績の入力期間が開始しました")
        );
        // A site cannot open one.
        let (s, _) = t
            .api(
                Method::POST,
                "/api/v1/reporting-periods",
                &me,
                Some(json!({"first_day": day, "last_day": day})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
);

db_test!(
    reservation_transfers_corrections_idle_stock_and_doctors,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = clinic_code(&t).await;
        let me = t.token("clinic-operator@demo.vsys.jp").await;
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        // Reservation status in one call, with the time it was set.
        let (s, v) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/reservation"),
                &me,
                Some(json!({"status": "few"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["reservation"], "few");
        assert!(v["reservation_at"].is_string());
        let (s, _) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/reservation"),
                &me,
                Some(json!({"status": "maybe"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // The click does not disturb a details form opened before it.
        let (_, v) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        let version = v["profile"]["version"].as_i64().unwrap_or(-1);
        let (s, _) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/reservation"),
                &me,
                Some(json!({"status": "available"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = with_version(
            &t,
            Method::PUT,
            &format!("/api/v1/sites/{clinic}/details"),
            &me,
            version,
            json!({"phone": "03-1234-5678"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["profile"]["reservation"], "available");

        // The clinic's stock is idle (nothing given): 港区, 東京都 and the nation see it.
        for who in ["minato-operator", "tokyo-operator", "nation-operator"] {
            let token = t.token(&format!("{who}@demo.vsys.jp")).await;
            let (s, v) = t.api(Method::GET, "/api/v1/stock/idle", &token, None).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert!(v.to_string().contains(&clinic), "{who}: {v}");
        }
        let (s, _) = t.api(Method::GET, "/api/v1/stock/idle", &me, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // A municipal site as the clinic's satellite; 3 vials move over.
        let (s, v) = t
            .api(
                Method::POST,
                "/api/v1/municipalities/13103/sites",
                &minato,
                Some(json!({"name": "芝公園サテライト会場", "postal_code": "105-0011"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let sat = v["org"]["code"].as_str().unwrap_or_default().to_owned();
        assert!(sat.starts_with("913103"), "{sat}");
        let transfer = json!({"to": sat, "lot": "FA0001", "vials": 3});
        let (s, _) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{clinic}/stock/transfers"),
                &me,
                Some(transfer.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not a satellite yet");
        let (s, v) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{sat}/hub"),
                &minato,
                Some(json!({"site_type": "satellite", "hub_code": clinic})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{clinic}/stock/transfers"),
                &me,
                Some(transfer),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(stock(&t, &me, &clinic).await["vials"], 17);
        let sat_stock = stock(&t, &minato, &sat).await;
        assert_eq!(sat_stock["vials"], 3);
        assert_eq!(sat_stock["lots"][0]["lot"], "FA0001");

        // A receipt registered by 港区, then corrected by a reversing entry.
        let (s, v) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{clinic}/stock/receipts"),
                &me,
                Some(json!({"lot": "FB0002", "vials": 5})),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "a site does not register its own receipts: {v}"
        );
        let (s, v) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{clinic}/stock/receipts"),
                &minato,
                Some(json!({"lot": "FB0002", "vials": 5})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let entry = v["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(stock(&t, &me, &clinic).await["vials"], 22);
        let corr = format!("/api/v1/sites/{clinic}/stock/entries/{entry}/correction");
        let (s, v) = t
            .api(Method::POST, &corr, &me, Some(json!({"reason": " "})))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, v) = t
            .api(Method::POST, &corr, &me, Some(json!({"reason": "誤登録"})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let s2 = stock(&t, &me, &clinic).await;
        assert_eq!(s2["vials"], 17);
        assert!(
            s2["entries"].to_string().contains(&entry),
            "the receipt stays"
        );
        let (s, _) = t
            .api(Method::POST, &corr, &me, Some(json!({"reason": "二重"})))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "reversed once only");

        // Doctors: reading them is audited.
        let (s, v) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{clinic}/doctors"),
                &me,
                Some(json!({"name": "港 花子", "registration_number": "123456"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let before = t.audit_actions("doctor.read").await.len();
        let (s, v) = t
            .api(
                Method::GET,
                &format!("/api/v1/sites/{clinic}/doctors"),
                &minato,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v[0]["name"], "港 花子");
        assert_eq!(t.audit_actions("doctor.read").await.len(), before + 1);
    }
);

/// Posts the details form of the site's page (its CSRF token and version read from the page).
async fn post_details(
    t: &TestApp,
    c: &reqwest::Client,
    code: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let html = t.page(c, &format!("/sites/{code}")).await;
    let marker = format!("action=\"/sites/{code}/details\"");
    let form = &html[html
        .find(&marker)
        .unwrap_or_else(|| panic!("no details form"))..];
    let key = "name=\"version\" value=\"";
    let version = form[form.find(key).unwrap_or(0) + key.len()..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned();
    let csrf = csrf_of(&html);
    let mut body: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str()), ("version", version.as_str())];
    body.extend_from_slice(fields);
    let res = c
        .post(t.url(&format!("/sites/{code}/details")))
        .form(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

db_test!(
    details_form_saves_vaccines_point_and_booking,
    |backend| async move {
        use vsys_domain::{Lang, Msg};
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = clinic_code(&t).await;
        let me = t.token("clinic-operator@demo.vsys.jp").await;
        let (_, products) = t
            .api(Method::GET, "/api/v1/products?kind=vaccine", &me, None)
            .await;
        let vaccines: Vec<(String, String)> = products
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|p| {
                        (
                            p["id"].as_str().unwrap_or_default().to_owned(),
                            p["name"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(vaccines.len() >= 2, "{products}");
        let (v0, v1) = (&vaccines[0], &vaccines[1]);
        let c = t.web_login("clinic-operator@demo.vsys.jp").await;
        // The form offers a box per vaccine product, 予約方法 and the point; no free text.
        let html = t.page(&c, &format!("/sites/{clinic}")).await;
        for (id, name) in &vaccines {
            assert!(
                html.contains(&format!("name=\"vaccine.{id}\"")) && html.contains(name.as_str()),
                "{id}"
            );
        }
        for id in [
            "id=\"booking\"",
            "id=\"booking_url\"",
            "id=\"latitude\"",
            "id=\"longitude\"",
        ] {
            assert!(html.contains(id), "{id}");
        }
        assert!(html.contains("この場所について") && !html.contains("name=\"vaccines\""));

        // Each refusal names its field next to it and keeps what was typed; nothing is saved.
        let box0 = format!("vaccine.{}", v0.0);
        let phone = ("phone", "03-1234-5678");
        for (fields, field, msg) in [
            (
                vec![phone, ("latitude", "51.5074"), ("longitude", "-0.1278")],
                "latitude",
                Msg::InvalidLatitude,
            ),
            (
                vec![phone, ("latitude", "35.658581")],
                "longitude",
                Msg::CoordinatesTogether,
            ),
            (
                vec![phone, ("booking", "web")],
                "booking_url",
                Msg::BookingUrlRequired,
            ),
            (
                vec![
                    phone,
                    (box0.as_str(), "on"),
                    ("vaccine.no-such-vaccine", "on"),
                ],
                "vaccines",
                Msg::UnknownVaccine,
            ),
        ] {
            let (s, page) = post_details(&t, &c, &clinic, &fields).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
            let at = page
                .find(&format!("id=\"details-{field}-error\""))
                .unwrap_or_else(|| panic!("no error next to {field}"));
            assert!(
                page[at..].contains(msg.text(Lang::Ja)),
                "{field}: {}",
                &page[at..at + 300]
            );
            if field == "vaccines" {
                assert!(
                    page.contains(&format!("id=\"vaccine-{}\" checked", v0.0)),
                    "the ticked box stays ticked"
                );
            }
        }
        let (_, v) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        assert!(v["profile"]["details_at"].is_null(), "{v}");

        // Saved: two vaccines, the point pasted as the map service shows it, web booking.
        let box1 = format!("vaccine.{}", v1.0);
        let (s, _) = post_details(
            &t,
            &c,
            &clinic,
            &[
                phone,
                (box0.as_str(), "on"),
                (box1.as_str(), "on"),
                ("latitude", "３５．６５８５８１, １３９．７４５４３３"),
                ("booking", "web"),
                ("booking_url", "https://yoyaku.example.jp/clinic"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (_, v) = t
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &me, None)
            .await;
        let mut want = vec![v0.0.clone(), v1.0.clone()];
        want.sort();
        assert_eq!(v["vaccines"], json!(want), "{v}");
        assert_eq!(v["profile"]["latitude"], 35.658581, "{v}");
        assert_eq!(v["profile"]["longitude"], 139.745433, "{v}");
        assert_eq!(v["profile"]["booking"], "web");
        assert_eq!(
            v["profile"]["booking_url"],
            "https://yoyaku.example.jp/clinic"
        );
        // The form shows them again; 港区's viewer reads them.
        let html = t.page(&c, &format!("/sites/{clinic}")).await;
        assert!(html.contains(&format!("id=\"vaccine-{}\" checked", v1.0)));
        assert!(html.contains("value=\"web\" selected") && html.contains("value=\"35.658581\""));
        let viewer = t.web_login("minato-viewer@demo.vsys.jp").await;
        let html = t.page(&viewer, &format!("/sites/{clinic}")).await;
        assert!(!html.contains("id=\"details-form\""));
        let shown = |id: &str| {
            let at = html.find(id).unwrap_or_else(|| panic!("no {id}"));
            html[at..]
                .split("</dd>")
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        assert!(shown("id=\"vaccines-shown\"").contains(v0.1.as_str()));
        assert!(shown("id=\"booking-shown\"").contains("Webで予約"));
        assert!(shown("id=\"point-shown\"").contains("35.658581, 139.745433"));

        // The API takes the same body, and refuses the same things naming the same fields.
        let version = v["profile"]["version"].as_i64().unwrap_or(-1);
        let path = format!("/api/v1/sites/{clinic}/details");
        for (body, field) in [
            (
                json!({"phone": "03-1234-5678", "latitude": 51.5, "longitude": -0.12}),
                "latitude",
            ),
            (
                json!({"phone": "03-1234-5678", "latitude": 35.6}),
                "longitude",
            ),
            (
                json!({"phone": "03-1234-5678", "booking": "web"}),
                "booking_url",
            ),
            (
                json!({"phone": "03-1234-5678", "vaccines": ["no-such-vaccine"]}),
                "vaccines",
            ),
        ] {
            let (s, p) = with_version(&t, Method::PUT, &path, &me, version, body).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
            assert_eq!(p["errors"][0]["field"], field, "{p}");
        }
        let (s, v) = with_version(
            &t,
            Method::PUT,
            &path,
            &me,
            version,
            json!({"phone": "03-1234-5678", "vaccines": [v1.0], "latitude": 35.66,
                   "longitude": 139.75, "booking": "phone"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["vaccines"], json!([v1.0]));
        assert_eq!(
            (&v["profile"]["booking"], &v["profile"]["booking_url"]),
            (&json!("phone"), &Value::Null)
        );
    }
);
