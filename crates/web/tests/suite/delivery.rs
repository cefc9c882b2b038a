//! Delivery through the API: a finalised cycle becomes deliveries per site line and item,
//! assigned to their deliverers; dates entered one by one, in bulk and with an organisation
//! API token; the site is told and its stock grows; the prefecture's counts of missing and
//! late lines follow a test calendar; no deliverer reaches another's lines.

use crate::allocation::{division, minato_has_its_allocation, with_version};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vsys_testkit::db_test;

/// A cycle finalised by 東京都 after 港区 divided its amount among its sites.
pub async fn finalised_cycle(t: &TestApp) -> String {
    let id = minato_has_its_allocation(t).await;
    let minato = t.token("minato-operator@demo.vsys.jp").await;
    // The demo clinic keeps its vaccine on dry ice.
    let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
    let (s, v) = t
        .api(
            Method::PUT,
            &format!("/api/v1/cycles/{id}/requests/{clinic}"),
            &minato,
            Some(json!({"capacity_doses": 1200, "requested_doses": 600, "storage": "dry_ice", "needles": 600, "syringes": 600})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = division(t, &minato, &id, "13103").await;
    let (s, v) = with_version(
        t,
        Method::POST,
        &format!("/api/v1/cycles/{id}/allocations/13103/autofill"),
        &minato,
        d["version"].as_i64().unwrap_or(0),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for (path, token) in [
        (
            format!("/api/v1/cycles/{id}/allocations/13103/finish"),
            &minato,
        ),
        (
            format!("/api/v1/cycles/{id}/allocations/13/finalise"),
            &t.token("tokyo-operator@demo.vsys.jp").await,
        ),
    ] {
        let (s, v) = t.api(Method::POST, &path, token, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    id
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

async fn patch(t: &TestApp, token: &str, d: &Value, body: Value) -> (StatusCode, Value) {
    with_version(
        t,
        Method::PATCH,
        &format!(
            "/api/v1/deliveries/{}",
            d["id"].as_str().unwrap_or_default()
        ),
        token,
        d["version"].as_i64().unwrap_or(-1),
        body,
    )
    .await
}

db_test!(
    finalised_lines_become_deliveries_with_dates_stock_and_counts,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let cycle = finalised_cycle(&t).await;
        let wholesaler = t.token("wholesaler-operator@demo.vsys.jp").await;
        let syringe = t.token("syringe-operator@demo.vsys.jp").await;
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        let q = format!("/api/v1/deliveries?cycle={cycle}&per_page=500");
        // The vaccine goes through 東京都's wholesaler, needles and syringes from the warehouse.
        let (s, mine) = t.api(Method::GET, &q, &wholesaler, None).await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        let vaccine = items(&mine);
        assert!(!vaccine.is_empty());
        assert!(
            vaccine
                .iter()
                .all(|d| d["item"] == "vaccine" && d["deliverer_code"] == "W13001")
        );
        let (_, theirs) = t.api(Method::GET, &q, &syringe, None).await;
        let kits = items(&theirs);
        assert!(
            kits.iter()
                .all(|d| d["item"] != "vaccine" && d["deliverer_code"] == "N001")
        );
        assert!(kits.iter().any(|d| d["item"] == "needle"));
        // 東京都 sees them all: none scheduled yet.
        let (_, all) = t.api(Method::GET, &q, &tokyo, None).await;
        assert_eq!(
            all["total"].as_i64(),
            Some((vaccine.len() + kits.len()) as i64)
        );
        let status = format!("/api/v1/deliveries/status?cycle={cycle}");
        let (_, st) = t.api(Method::GET, &status, &tokyo, None).await;
        assert_eq!(st["unscheduled"], all["total"], "{st}");
        assert_eq!(st["late"], 0);

        // Another prefecture's wholesaler sees nothing and reaches nothing.
        let osaka = t
            .make_user("W27001", "admin", "osaka-wholesaler@example.jp")
            .await;
        let osaka = t.token(&osaka).await;
        let (_, none) = t.api(Method::GET, &q, &osaka, None).await;
        assert_eq!(none["total"], 0);
        let first = vaccine[0].clone();
        let one = format!(
            "/api/v1/deliveries/{}",
            first["id"].as_str().unwrap_or_default()
        );
        assert_eq!(
            t.api(Method::GET, &one, &osaka, None).await.0,
            StatusCode::NOT_FOUND
        );
        let (s, _) = patch(&t, &osaka, &first, json!({"scheduled_on": "2030-01-01"})).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // Nor through the bulk entry, the CSV upload, the tokens or the reassignment.
        let (s, _) = t
            .api(
                Method::POST,
                "/api/v1/deliveries/bulk",
                &osaka,
                Some(json!({"lines": [{"id": first["id"], "version": 0, "scheduled_on": "2030-01-01"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let res = client()
            .put(t.url("/api/v1/deliveries/csv"))
            .bearer_auth(&osaka)
            .header("content-type", "text/csv")
            .body(format!(
                "配送ID,版,納入予定日\r\n{},0,2030-01-01\r\n",
                first["id"].as_str().unwrap_or_default()
            ))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        for (m, p) in [
            (Method::GET, "/api/v1/orgs/W13001/api-tokens".to_owned()),
            (Method::GET, "/api/v1/orgs/W13001/deliverer-info".to_owned()),
        ] {
            let (s, _) = t.api(m, &p, &osaka, None).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
        }
        let (s, _) = t
            .api(
                Method::POST,
                &format!("{one}/reassign"),
                &osaka,
                Some(json!({"deliverer_code": "W27001"})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, csv) = t
            .api(
                Method::GET,
                "/api/v1/deliveries/csv?encoding=utf-8",
                &osaka,
                None,
            )
            .await;
        assert!(
            !csv.to_string()
                .contains(first["id"].as_str().unwrap_or("-"))
        );
        let (_, st) = t.api(Method::GET, &status, &osaka, None).await;
        assert_eq!(st["total"], 0, "{st}");
        // 東京都 may look but not enter dates.
        let (s, _) = patch(&t, &tokyo, &first, json!({"scheduled_on": "2030-01-01"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The wholesaler schedules the first line in two days: the site is told.
        let today = vsys_app::clock::japan_date(t.app.clock.now());
        let in_two = today + chrono::Duration::days(2);
        let (s, d1) = patch(
            &t,
            &wholesaler,
            &first,
            json!({"scheduled_on": in_two, "delivery_number": "D-0001"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{d1}");
        let site = first["site_code"].as_str().unwrap_or_default().to_owned();
        let site_user = t.make_user(&site, "viewer", "site-viewer@example.jp").await;
        let site_token = t.token(&site_user).await;
        let (_, notices) = t
            .api(Method::GET, "/api/v1/notices", &site_token, None)
            .await;
        assert!(
            notices.to_string().contains("配送予定日のお知らせ"),
            "{notices}"
        );
        let (_, seen) = t
            .api(Method::GET, "/api/v1/deliveries", &site_token, None)
            .await;
        assert!(items(&seen).iter().all(|d| d["site_code"] == site.as_str()));
        assert!(
            items(&seen)
                .iter()
                .any(|d| d["scheduled_on"] == in_two.to_string())
        );
        let (_, st) = t.api(Method::GET, &status, &tokyo, None).await;
        assert_eq!(
            st["unscheduled"].as_i64(),
            all["total"].as_i64().map(|n| n - 1)
        );
        assert_eq!(st["by_scheduled_day"][0][1], 1, "{st}");

        // A future actual date is refused; three days later the line is late.
        let (s, _) = patch(&t, &wholesaler, &d1, json!({"delivered_on": in_two})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        t.clock.advance(chrono::Duration::days(3));
        // Sessions idle for three days have expired: log in again.
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        let wholesaler = t.token("wholesaler-operator@demo.vsys.jp").await;
        let (_, st) = t.api(Method::GET, &status, &tokyo, None).await;
        assert_eq!(st["late"], 1, "{st}");
        let (_, late) = t
            .api(Method::GET, &format!("{q}&state=late"), &tokyo, None)
            .await;
        assert_eq!(items(&late)[0]["id"], first["id"]);

        // Delivered (with its lot): the site's stock grows by the vials.
        let before = stock_vials(&t, &tokyo, &site).await;
        let arrived = today + chrono::Duration::days(2);
        let (s, d2) = patch(
            &t,
            &wholesaler,
            &d1,
            json!({"delivered_on": arrived, "lot": "FK1234"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{d2}");
        assert_eq!(
            stock_vials(&t, &tokyo, &site).await,
            before + first["quantity"].as_i64().unwrap_or(0)
        );
        let (_, st) = t.api(Method::GET, &status, &tokyo, None).await;
        assert_eq!(st["late"], 0);
        assert_eq!(st["delivered"], 1);
        // The wholesaler was told of its lines when the cycle was finalised.
        let (_, notices) = t
            .api(Method::GET, "/api/v1/notices", &wholesaler, None)
            .await;
        assert!(
            notices.to_string().contains("配送先の確定のお知らせ"),
            "{notices}"
        );
        // Delivered: the scheduled date and the lot stay as recorded.
        let (s, _) = patch(&t, &wholesaler, &d2, json!({"scheduled_on": today})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = patch(&t, &wholesaler, &d2, json!({"lot": "ZZ9999"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // The actual date stays.
        let (s, _) = patch(&t, &wholesaler, &d2, json!({"delivered_on": today})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

        // Bulk: one stale line refuses the whole batch and names its row.
        let lines: Vec<Value> = vaccine[1..]
            .iter()
            .take(2)
            .enumerate()
            .map(|(i, d)| {
                json!({"id": d["id"], "version": if i == 1 { 99 } else { d["version"].as_i64().unwrap_or(0) },
                       "scheduled_on": in_two})
            })
            .collect();
        if lines.len() == 2 {
            let (s, v) = t
                .api(
                    Method::POST,
                    "/api/v1/deliveries/bulk",
                    &wholesaler,
                    Some(json!({"lines": lines})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert!(v.to_string().contains('2'), "{v}");
            let (_, st) = t.api(Method::GET, &status, &tokyo, None).await;
            assert_eq!(
                st["by_scheduled_day"].as_array().map(Vec::len),
                Some(1),
                "nothing changed: {st}"
            );
        }
    }
);

async fn stock_vials(t: &TestApp, token: &str, site: &str) -> i64 {
    let (s, v) = t
        .api(
            Method::GET,
            &format!("/api/v1/sites/{site}/stock"),
            token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["vials"].as_i64().unwrap_or(0)
}

db_test!(
    organisation_tokens_enter_dates_and_prefectures_reassign,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let cycle = finalised_cycle(&t).await;
        let admin = t.token("wholesaler-admin@demo.vsys.jp").await;
        let operator = t.token("wholesaler-operator@demo.vsys.jp").await;
        // Tokens are for deliverers' and municipalities' systems: a clinic's administrator
        // gets none.
        let clinic = t.user("clinic-admin@demo.vsys.jp").await.org_code;
        let clinic_admin = t.token("clinic-admin@demo.vsys.jp").await;
        let (s, _) = t
            .api(
                Method::POST,
                &format!("/api/v1/orgs/{clinic}/api-tokens"),
                &clinic_admin,
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Only the wholesaler's administrators manage its tokens.
        let (s, _) = t
            .api(
                Method::POST,
                "/api/v1/orgs/W13001/api-tokens",
                &operator,
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = t
            .api(
                Method::POST,
                "/api/v1/orgs/W13001/api-tokens",
                &admin,
                Some(json!({"name": "配送管理システム"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let secret = v["secret"].as_str().unwrap_or_default().to_owned();
        let token_id = v["token"]["id"].as_str().unwrap_or_default().to_owned();
        assert!(secret.starts_with("vsys_"));
        let (_, list) = t
            .api(Method::GET, "/api/v1/orgs/W13001/api-tokens", &admin, None)
            .await;
        assert!(
            !list.to_string().contains(&secret),
            "the secret is shown once only"
        );
        // The machine client posts a date; the audit names the token.
        let q = format!("/api/v1/deliveries?cycle={cycle}&per_page=5");
        let (s, mine) = t.api(Method::GET, &q, &secret, None).await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        let d = items(&mine)[0].clone();
        let (s, v) = patch(&t, &secret, &d, json!({"scheduled_on": "2030-04-01"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(
            t.audit_actions("delivery.dates")
                .await
                .iter()
                .any(|e| e.actor_user.as_deref() == Some(&format!("token:{token_id}")))
        );
        // The token reaches the delivery API only.
        assert_eq!(
            t.api(Method::GET, "/api/v1/me", &secret, None).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            t.api(Method::GET, "/api/v1/sites", &secret, None).await.0,
            StatusCode::FORBIDDEN
        );
        // Revoked, it opens nothing.
        let (s, _) = t
            .api(
                Method::DELETE,
                &format!("/api/v1/orgs/W13001/api-tokens/{token_id}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(
            t.api(Method::GET, &q, &secret, None).await.0,
            StatusCode::UNAUTHORIZED
        );

        // A second wholesaler serves 港区: 東京都 hands it an undated line.
        {
            let mut tx = t.db.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
            let w1 = vsys_store::orgs::get(&mut tx, "W13001")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("W13001"));
            let w2 = vsys_store::orgs::OrgRow {
                code: "W13002".into(),
                name: "第二卸".into(),
                path: w1.path.replace("W13001", "W13002"),
                ..w1
            };
            vsys_store::orgs::insert_many(&mut tx, &[w2])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            vsys_store::orgs::add_area(&mut tx, "W13002", "13103")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        }
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        let undated = items(
            &t.api(
                Method::GET,
                &format!("{q}&state=unscheduled&item=vaccine"),
                &tokyo,
                None,
            )
            .await
            .1,
        )[0]
        .clone();
        let path = format!(
            "/api/v1/deliveries/{}/reassign",
            undated["id"].as_str().unwrap_or_default()
        );
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        let (s, _) = t
            .api(
                Method::POST,
                &path,
                &minato,
                Some(json!({"deliverer_code": "W13002"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the prefecture decides");
        let (s, _) = t
            .api(
                Method::POST,
                &path,
                &tokyo,
                Some(json!({"deliverer_code": "W27001"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not serving 港区");
        let (s, v) = t
            .api(
                Method::POST,
                &path,
                &tokyo,
                Some(json!({"deliverer_code": "W13002"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["deliverer_code"], "W13002");
        // The first wholesaler no longer sees it; a dated line cannot move.
        let (s, _) = t
            .api(
                Method::GET,
                &format!(
                    "/api/v1/deliveries/{}",
                    undated["id"].as_str().unwrap_or_default()
                ),
                &operator,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let dated = format!(
            "/api/v1/deliveries/{}/reassign",
            d["id"].as_str().unwrap_or_default()
        );
        let (s, _) = t
            .api(
                Method::POST,
                &dated,
                &tokyo,
                Some(json!({"deliverer_code": "W13002"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
);

db_test!(
    deliverers_round_trip_dates_through_csv,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let cycle = finalised_cycle(&t).await;
        let wholesaler = t.token("wholesaler-operator@demo.vsys.jp").await;
        let res = client()
            .get(t.url(&format!(
                "/api/v1/deliveries/csv?cycle={cycle}&encoding=shift_jis"
            )))
            .bearer_auth(&wholesaler)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = res.bytes().await.unwrap_or_default();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert!(
            lines[0].starts_with("配送ID,版,接種会場コード"),
            "{}",
            lines[0]
        );
        assert!(lines.len() >= 3, "two deliveries at least");
        // The spreadsheet user fills in 納入予定日 (Excel's slashes) — one date is impossible.
        let fill = |line: &str, day: &str| {
            let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            cells[5] = day.to_owned();
            cells.join(",")
        };
        let good1 = fill(&lines[1], "2030/4/1");
        let good2 = fill(&lines[2], "2030-04-02");
        lines[1] = good1.clone();
        lines[2] = fill(&lines[2], "2030/02/30");
        let body = |lines: &[String]| {
            let text = lines.join("\r\n") + "\r\n";
            let (b, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
            b.into_owned()
        };
        let put = |b: Vec<u8>| {
            client()
                .put(t.url("/api/v1/deliveries/csv"))
                .bearer_auth(&wholesaler)
                .header("content-type", "text/csv")
                .body(b)
                .send()
        };
        let res = put(body(&lines)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(v.to_string().contains("納入予定日"), "{v}");
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        let (_, st) = t
            .api(
                Method::GET,
                &format!("/api/v1/deliveries/status?cycle={cycle}"),
                &tokyo,
                None,
            )
            .await;
        assert_eq!(st["unscheduled"], st["total"], "nothing changed: {st}");
        lines[2] = good2;
        let res = put(body(&lines)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(v["updated"].as_u64(), Some((lines.len() - 1) as u64));
        let (_, st) = t
            .api(
                Method::GET,
                &format!("/api/v1/deliveries/status?cycle={cycle}"),
                &tokyo,
                None,
            )
            .await;
        assert_eq!(st["by_scheduled_day"][0][0], "2030-04-01", "{st}");
        // The same file again is stale: every row's version moved on.
        let res = put(body(&lines)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let _ = good1;
    }
);

db_test!(upstream_inbound_stock_and_dry_ice, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let cycle = finalised_cycle(&t).await;
    let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
    let q = format!("?cycle={cycle}");
    // The manufacturer sees what its vaccine hands each regional wholesaler.
    let pfizer = t.token("pfizer-operator@demo.vsys.jp").await;
    let (s, up) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries/upstream{q}"),
            &pfizer,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{up}");
    let lines = up.as_array().cloned().unwrap_or_default();
    assert!(lines.iter().all(|l| l["item"] == "vaccine"), "{up}");
    let w = lines
        .iter()
        .find(|l| l["deliverer_code"] == "W13001")
        .cloned()
        .unwrap_or_default();
    assert!(w["quantity"].as_i64().unwrap_or(0) > 0, "{up}");
    // The warehouse sees needles and syringes; a municipality nothing.
    let syringe = t.token("syringe-operator@demo.vsys.jp").await;
    let (_, up2) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries/upstream{q}"),
            &syringe,
            None,
        )
        .await;
    assert!(
        up2.as_array()
            .is_some_and(|l| !l.is_empty() && l.iter().all(|x| x["item"] != "vaccine")),
        "{up2}"
    );
    let minato = t.token("minato-operator@demo.vsys.jp").await;
    assert_eq!(
        t.api(
            Method::GET,
            &format!("/api/v1/deliveries/upstream{q}"),
            &minato,
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // The wholesaler records its inbound; its stock is received − delivered.
    let wholesaler = t.token("wholesaler-operator@demo.vsys.jp").await;
    let today = vsys_app::clock::japan_date(t.app.clock.now());
    let assigned = w["quantity"].as_i64().unwrap_or(0);
    let (s, v) = t
            .api(
                Method::POST,
                "/api/v1/deliveries/inbound",
                &wholesaler,
                Some(json!({"cycle_id": cycle, "item": "vaccine", "quantity": assigned, "received_on": today})),
            )
            .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = t
        .api(
            Method::POST,
            "/api/v1/deliveries/inbound",
            &wholesaler,
            Some(
                json!({"cycle_id": cycle, "item": "vaccine", "quantity": 0, "received_on": today}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, mine) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries?cycle={cycle}&item=vaccine"),
            &wholesaler,
            None,
        )
        .await;
    let first = items(&mine)[0].clone();
    let (s, _) = patch(
        &t,
        &wholesaler,
        &first,
        json!({"delivered_on": today, "lot": "FK0001"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, stock) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries/stock{q}"),
            &wholesaler,
            None,
        )
        .await;
    let v = stock
        .as_array()
        .and_then(|l| l.iter().find(|x| x["item"] == "vaccine").cloned())
        .unwrap_or_default();
    assert_eq!(v["received"].as_i64(), Some(assigned), "{stock}");
    assert_eq!(
        v["on_hand"].as_i64(),
        Some(assigned - first["quantity"].as_i64().unwrap_or(0))
    );
    // The dry-ice maker sees the clinic that stores on dry ice, how much, and when.
    let dryice = t.token("dryice-operator@demo.vsys.jp").await;
    let (s, lines) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries/dry-ice{q}"),
            &dryice,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{lines}");
    let line = lines
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|x| x["site_code"] == clinic.as_str())
                .cloned()
        })
        .unwrap_or_else(|| panic!("clinic needs dry ice: {lines}"));
    assert!(line["grams"].as_i64().unwrap_or(0) > 0);
    assert!(
        lines
            .as_array()
            .is_some_and(|l| l.iter().all(|x| x["site_code"] == clinic.as_str())),
        "only dry-ice sites: {lines}"
    );
    // A wholesaler is not a dry-ice maker.
    assert_eq!(
        t.api(
            Method::GET,
            &format!("/api/v1/deliveries/dry-ice{q}"),
            &wholesaler,
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
});

db_test!(
    prefectures_contract_wholesalers_for_their_municipalities,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        let path = "/api/v1/orgs/W13001/areas";
        let (s, v) = t.api(Method::GET, path, &tokyo, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v.as_array().is_some_and(|a| a.iter().any(|x| x == "13103")));
        // Another prefecture's municipality is refused, by row.
        let (s, v) = t
            .api(
                Method::PUT,
                path,
                &tokyo,
                Some(json!({"areas": ["13103", "27102"]})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, v) = t
            .api(
                Method::PUT,
                path,
                &tokyo,
                Some(json!({"areas": ["13104", "13103", "13103"]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v, json!(["13103", "13104"]));
        // The wholesaler cannot contract itself; a municipality cannot either.
        let w = t.token("wholesaler-operator@demo.vsys.jp").await;
        assert_eq!(
            t.api(Method::PUT, path, &w, Some(json!({"areas": []})))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        let (s, _) = t
            .api(Method::PUT, path, &minato, Some(json!({"areas": []})))
            .await;
        assert!(matches!(s, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND));
        assert!(!t.audit_actions("org.areas").await.is_empty());
        // The wholesaler registers its basic information; 東京都 reads it, cannot write it.
        let info = "/api/v1/orgs/W13001/deliverer-info";
        let (s, v) = with_version(&t, Method::PUT, info, &w, 0, json!({"phone": "abc"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let body = json!({"postal_code": "135-0061", "address": "東京都江東区豊洲3-1-1", "phone": "03-1111-2222", "contact": "配送 太郎", "email": "haisou@example.jp"});
        let (s, v) = with_version(&t, Method::PUT, info, &w, 0, body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["postal_code"], "1350061");
        let (s, v) = t.api(Method::GET, info, &tokyo, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["contact"], "配送 太郎");
        let (s, _) = with_version(&t, Method::PUT, info, &tokyo, 1, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
);

db_test!(
    downloaded_tables_defuse_formulas_and_read_back_unchanged,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let cycle = finalised_cycle(&t).await;
        let wholesaler = t.token("wholesaler-operator@demo.vsys.jp").await;
        let download = || async {
            let res = client()
                .get(t.url(&format!(
                    "/api/v1/deliveries/csv?cycle={cycle}&encoding=utf-8"
                )))
                .bearer_auth(&wholesaler)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status(), StatusCode::OK);
            let text = res.text().await.unwrap_or_default();
            text.trim_start_matches('\u{FEFF}')
                .lines()
                .map(str::to_owned)
                .collect::<Vec<String>>()
        };
        let upload = |lines: Vec<String>| {
            let body = lines.join("\r\n") + "\r\n";
            let request = client()
                .put(t.url("/api/v1/deliveries/csv"))
                .bearer_auth(&wholesaler)
                .header("content-type", "text/csv")
                .body(body);
            async move {
                request
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .status()
            }
        };
        let note_of = |line: &str| line.rsplit(',').next().unwrap_or_default().to_owned();
        // A note typed to run as a formula on whoever opens the file next.
        let mut lines = download().await;
        let id = lines[1].split(',').next().unwrap_or_default().to_owned();
        let mut cells: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
        cells[9] = "=1+cmd|'/c calc'!A0".to_owned();
        lines[1] = cells.join(",");
        assert_eq!(upload(lines).await, StatusCode::OK);
        let (_, d) = t
            .api(
                Method::GET,
                &format!("/api/v1/deliveries/{id}"),
                &wholesaler,
                None,
            )
            .await;
        assert_eq!(d["note"], "=1+cmd|'/c calc'!A0", "{d}");
        // Downloaded, it is text for the spreadsheet ...
        let lines = download().await;
        let line = lines
            .iter()
            .find(|l| l.starts_with(&id))
            .unwrap_or_else(|| panic!("{lines:?}"));
        assert_eq!(note_of(line), "'=1+cmd|'/c calc'!A0");
        // ... and the same file uploaded again leaves the note as it was.
        assert_eq!(upload(lines).await, StatusCode::OK);
        let (_, d) = t
            .api(
                Method::GET,
                &format!("/api/v1/deliveries/{id}"),
                &wholesaler,
                None,
            )
            .await;
        assert_eq!(d["note"], "=1+cmd|'/c calc'!A0", "{d}");
    }
);
