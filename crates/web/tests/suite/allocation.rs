//! The allocation chain through the API: a nation user creates a cycle, registers supply and
//! allocates to prefectures; 東京都 confirms, divides and finishes; 港区 does the same to its
//! sites; 東京都 finalises. Plus races, limits and CSV.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vsys_testkit::db_test;

/// `PUT/POST` with `If-Match` (the division's ETag).
pub async fn with_version(
    t: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    version: i64,
    body: Value,
) -> (StatusCode, Value) {
    let res = client()
        .request(method, t.url(path))
        .bearer_auth(token)
        .header("if-match", format!("\"v{version}\""))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = res.status();
    (s, res.json().await.unwrap_or(Value::Null))
}

pub async fn division(t: &TestApp, token: &str, cycle: &str, org: &str) -> Value {
    let (s, d) = t
        .api(
            Method::GET,
            &format!("/api/v1/cycles/{cycle}/allocations/{org}"),
            token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{org}: {d}");
    d
}

/// Products, a cycle with supply, the nation's division finished. Returns the cycle id.
pub async fn cycle_with_supply(t: &TestApp) -> String {
    cycle_with_supply_on(t, 11, "standard").await
}

/// Products, a cycle numbered `number` on `chain`, with supply. Returns the cycle id.
pub async fn cycle_with_supply_on(t: &TestApp, number: i64, chain: &str) -> String {
    let pfizer = t.token("pfizer-operator@demo.vsys.jp").await;
    let (s, vaccine) = t
        .api(Method::POST, "/api/v1/products", &pfizer, Some(json!({"kind": "vaccine", "name": "コミナティ筋注", "storage_class": "ultra_cold", "days_after_thaw": 30, "needs_dry_ice": true, "doses_per_vial": 6, "vials_per_box": 195})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{vaccine}");
    let warehouse = t.token("syringe-operator@demo.vsys.jp").await;
    let (_, needle) = t.api(Method::POST, "/api/v1/products", &warehouse, Some(json!({"kind": "needle", "name": "針", "spec": "針(25G×100本)", "units_per_pack": 100}))).await;
    let (_, syringe) = t.api(Method::POST, "/api/v1/products", &warehouse, Some(json!({"kind": "syringe", "name": "シリンジ", "spec": "シリンジ(0.1mL×100本)", "units_per_pack": 100}))).await;
    let nation = t.token("nation-operator@demo.vsys.jp").await;
    let (s, cycle) = t
        .api(
            Method::POST,
            "/api/v1/cycles",
            &nation,
            Some(json!({"number": number, "chain": chain, "vaccine_id": vaccine["id"], "needle_id": needle["id"], "syringe_id": syringe["id"],
                "period_start": "2027-03-01", "period_end": "2027-03-14", "deadline_prefecture": "2027-02-20",
                "deadline_municipality": "2027-02-24", "deadline_site": "2027-02-26", "unit_site": "vial"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cycle}");
    assert_eq!(cycle["name"], format!("コミナティ筋注_クール{number:03}"));
    let id = cycle["id"].as_str().unwrap_or_default().to_owned();
    let (s, _) = t
        .api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/supply"),
            &pfizer,
            Some(json!({"product_id": vaccine["id"], "quantity": 1000})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for p in [&needle, &syringe] {
        let (s, _) = t
            .api(
                Method::POST,
                &format!("/api/v1/cycles/{id}/supply"),
                &warehouse,
                Some(json!({"product_id": p["id"], "quantity": 12000})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    id
}

db_test!(the_whole_chain_through_the_api, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let id = cycle_with_supply(&t).await;
    let nation = t.token("nation-operator@demo.vsys.jp").await;
    let root = division(&t, &nation, &id, "JP").await;
    assert_eq!(
        (
            root["amount"].clone(),
            root["unit"].clone(),
            root["doses"].clone()
        ),
        (json!(1000), json!("box"), json!(1000 * 195 * 6))
    );
    assert_eq!(root["lines"].as_array().map(Vec::len), Some(47));
    // Auto-fill by population: whole boxes, the sum exact, each line explained.
    let v = root["version"].as_i64().unwrap_or(0);
    let (s, d) = with_version(
        &t,
        Method::POST,
        &format!("/api/v1/cycles/{id}/allocations/JP/autofill"),
        &nation,
        v,
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let lines = d["lines"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["amount"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        1000
    );
    let tokyo_line = lines
        .iter()
        .find(|l| l["org_code"] == "13")
        .cloned()
        .unwrap_or_default();
    assert!(
        tokyo_line["amount"].as_i64().unwrap_or(0) > 90,
        "東京都 gets about 11%: {tokyo_line}"
    );
    assert!(
        tokyo_line["explanation"]["auto"]["quotas"].is_array(),
        "explained: {tokyo_line}"
    );
    // A prefecture cannot see its allocation before the nation finishes.
    let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
    assert_eq!(
        t.api(
            Method::GET,
            &format!("/api/v1/cycles/{id}/allocations/13"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (s, _) = t
        .api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/JP/finish"),
            &nation,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // 東京都: notice, 未確認 → 確認済, gives everything to 港区 by hand, 分配完了.
    let (_, notices) = t.api(Method::GET, "/api/v1/notices", &tokyo, None).await;
    assert!(
        notices["items"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("分配量のお知らせ"),
        "{notices}"
    );
    let d = division(&t, &tokyo, &id, "13").await;
    assert_eq!(d["status"], "unconfirmed");
    let total = d["amount"].as_i64().unwrap_or(0);
    let v = d["version"].as_i64().unwrap_or(0);
    let (s, _) = with_version(
        &t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/13/lines"),
        &tokyo,
        v,
        json!({"lines": [{"org_code": "13103", "amount": 1}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "not before confirming");
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/confirm"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let v = division(&t, &tokyo, &id, "13").await["version"]
        .as_i64()
        .unwrap_or(0);
    let (s, p) = with_version(
        &t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/13/lines"),
        &tokyo,
        v,
        json!({"lines": [{"org_code": "13103", "amount": total + 1}]}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "never above the parent: {p}"
    );
    let (s, d) = with_version(
        &t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/13/lines"),
        &tokyo,
        v,
        json!({"lines": [{"org_code": "13103", "amount": total}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["remainder"], 0);
    let (s, p) = with_version(
        &t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/13/lines"),
        &tokyo,
        v,
        json!({"lines": [{"org_code": "13103", "amount": 1}]}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::PRECONDITION_FAILED,
        "a stale version is refused: {p}"
    );
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/finish"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    // 港区: confirm, auto-fill to its sites in vials (no reports yet: equal shares), finish.
    let minato = t.token("minato-operator@demo.vsys.jp").await;
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13103/confirm"),
            &minato,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let d = division(&t, &minato, &id, "13103").await;
    assert_eq!(d["child_unit"], "vial");
    // The prefecture hears of it.
    let (_, notices) = t.api(Method::GET, "/api/v1/notices", &tokyo, None).await;
    assert!(
        notices["items"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("港区が確認済にしました"),
        "{notices}"
    );
    let (s, d) = with_version(
        &t,
        Method::POST,
        &format!("/api/v1/cycles/{id}/allocations/13103/autofill"),
        &minato,
        d["version"].as_i64().unwrap_or(0),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let site_vials: i64 = d["lines"]
        .as_array()
        .map(|l| l.iter().map(|x| x["vials"].as_i64().unwrap_or(0)).sum())
        .unwrap_or(0);
    assert_eq!(site_vials, total * 195, "every vial reaches a site");
    assert!(
        d["lines"][0]["needles"].as_i64().unwrap_or(0) > 0,
        "needles by the supply rules"
    );
    // Before every municipality finished, 東京都 cannot finalise... 港区 is the only one with vaccine.
    let (s, p) = t
        .api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/finalise"),
            &tokyo,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13103/finish"),
            &minato,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    // The prefecture sends it back once, 港区 finishes again, the prefecture finalises.
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13103/send-back"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        division(&t, &minato, &id, "13103").await["status"],
        "confirmed"
    );
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13103/finish"),
            &minato,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let (s, p) = t
        .api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/finalise"),
            &tokyo,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(division(&t, &minato, &id, "13103").await["status"], "final");
    let clinic = t.token("clinic-operator@demo.vsys.jp").await;
    let (_, notices) = t.api(Method::GET, "/api/v1/notices", &clinic, None).await;
    assert!(
        notices["items"].as_array().is_some_and(|n| n
            .iter()
            .any(|x| x["title"].as_str().unwrap_or_default().contains("確定"))),
        "{notices}"
    );
    // After 確定 nothing below changes.
    let d = division(&t, &minato, &id, "13103").await;
    let (s, _) = with_version(
        &t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/13103/lines"),
        &minato,
        d["version"].as_i64().unwrap_or(0),
        json!({"lines": []}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "finalised");
    assert!(!t.audit_actions("allocation.final").await.is_empty());
    // One entry per division save, naming every line it changed.
    let saves = t.audit_actions("allocation.division").await;
    assert!(!saves.is_empty());
    assert!(saves.iter().any(|e| {
        e.after
            .as_deref()
            .unwrap_or_default()
            .contains("\"org_code\":\"13103\"")
    }));
});

db_test!(
    parallel_edits_never_exceed_the_parent_nor_lose_an_update,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let total = division(&t, &nation, &id, "JP").await["amount"]
            .as_i64()
            .unwrap_or(0);
        let want = total / 5;
        // Eight writers at once, each setting its own prefecture's line to a fifth of the total:
        // at most five can fit. Each retries on a stale version and stops when the total is full.
        let codes = ["01", "04", "13", "14", "23", "27", "40", "47"];
        let mut tasks = Vec::new();
        for code in codes {
            let (base, token, id) = (t.base.clone(), nation.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let c = client();
                let url = format!("{base}/api/v1/cycles/{id}/allocations/JP");
                for _ in 0..200 {
                    let d: Value = match c.get(&url).bearer_auth(&token).send().await {
                        Ok(r) => r.json().await.unwrap_or_default(),
                        Err(_) => continue,
                    };
                    let v = d["version"].as_i64().unwrap_or(0);
                    let res = c
                        .put(format!("{url}/lines"))
                        .bearer_auth(&token)
                        .header("if-match", format!("\"v{v}\""))
                        .json(&json!({"lines": [{"org_code": code, "amount": want}]}))
                        .send()
                        .await;
                    match res.map(|r| r.status()) {
                        Ok(StatusCode::OK) => return (code, true),
                        Ok(StatusCode::UNPROCESSABLE_ENTITY) => return (code, false),
                        _ => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                    }
                }
                panic!("{code}: no answer after 200 tries");
            }));
        }
        let mut won = Vec::new();
        for task in tasks {
            let (code, ok) = task.await.unwrap_or_else(|e| panic!("{e}"));
            if ok {
                won.push(code);
            }
        }
        let d = division(&t, &nation, &id, "JP").await;
        let lines = d["lines"].as_array().cloned().unwrap_or_default();
        let sum: i64 = lines
            .iter()
            .map(|l| l["amount"].as_i64().unwrap_or(0))
            .sum();
        assert!(sum <= total, "never above the parent: {sum} > {total}");
        assert_eq!(won.len(), 5, "exactly as many as fit: {won:?}");
        for code in codes {
            let amount = lines
                .iter()
                .find(|l| l["org_code"] == code)
                .and_then(|l| l["amount"].as_i64())
                .unwrap_or(0);
            assert_eq!(
                amount,
                if won.contains(&code) { want } else { 0 },
                "{code}: every accepted save is kept"
            );
        }
        assert_eq!(t.audit_actions("allocation.division").await.len(), 5);
    }
);

db_test!(
    division_csv_round_trips_and_bad_files_change_nothing,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        nation_autofills(&t, &nation, &id).await;
        let res = client()
            .get(t.url(&format!(
                "/api/v1/cycles/{id}/allocations/JP/csv?encoding=shift_jis"
            )))
            .bearer_auth(&nation)
            .send()
            .await;
        let sjis = res
            .unwrap_or_else(|e| panic!("{e}"))
            .bytes()
            .await
            .unwrap_or_default()
            .to_vec();
        let (text, enc) = vsys_app::csv_files::decode(&sjis).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(enc, vsys_app::csv_files::Encoding::ShiftJis);
        assert!(
            text.contains("東京都") && text.starts_with("組織コード,名称,分配量"),
            "{text}"
        );
        // Move 5 boxes from 東京都 to 北海道 in the file and import it.
        let before = division(&t, &nation, &id, "JP").await;
        let amount = |d: &Value, code: &str| {
            d["lines"]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["org_code"] == code))
                .and_then(|x| x["amount"].as_i64())
                .unwrap_or(0)
        };
        let (tokyo, hokkaido) = (amount(&before, "13"), amount(&before, "01"));
        let edited: String = text
            .lines()
            .map(|l| {
                let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
                match cells[0].as_str() {
                    "13" => cells[2] = (tokyo - 5).to_string(),
                    "01" => cells[2] = (hokkaido + 5).to_string(),
                    _ => {}
                }
                cells.join(",")
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        let put = |body: Vec<u8>, v: i64| {
            client()
                .put(t.url(&format!("/api/v1/cycles/{id}/allocations/JP/csv")))
                .bearer_auth(&nation)
                .header("if-match", format!("\"v{v}\""))
                .header("content-type", "text/csv")
                .body(body)
                .send()
        };
        let v = before["version"].as_i64().unwrap_or(0);
        let res = put(encoding_sjis(&edited), v).await;
        let res = res.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
        let after = division(&t, &nation, &id, "JP").await;
        assert_eq!(
            (amount(&after, "13"), amount(&after, "01")),
            (tokyo - 5, hokkaido + 5)
        );
        // One bad row (an unknown code on data row 3, a negative amount on row 5): nothing changes.
        let mut bad: Vec<String> = edited.lines().map(str::to_owned).collect();
        bad[3] = bad[3].replacen(
            &bad[3].split(',').next().unwrap_or_default().to_string(),
            "99",
            1,
        );
        let mut cells: Vec<String> = bad[5].split(',').map(str::to_owned).collect();
        cells[2] = "-1".into();
        bad[5] = cells.join(",");
        let v = after["version"].as_i64().unwrap_or(0);
        let res = put(encoding_sjis(&bad.join("\r\n")), v)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let p: Value = res.json().await.unwrap_or_default();
        let rows: Vec<i64> = p["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["row"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(rows, [3, 5], "{p}");
        assert_eq!(
            division(&t, &nation, &id, "JP").await["lines"],
            after["lines"],
            "nothing changed"
        );
    }
);

fn encoding_sjis(text: &str) -> Vec<u8> {
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!bad);
    bytes.into_owned()
}

/// A cycle in which 東京都 gave everything to 港区, which has confirmed it (not yet divided).
/// The nation auto-fills its division of the cycle (among the prefectures).
pub async fn nation_autofills(t: &TestApp, nation: &str, id: &str) {
    let v = division(t, nation, id, "JP").await["version"]
        .as_i64()
        .unwrap_or(0);
    let (s, _) = with_version(
        t,
        Method::POST,
        &format!("/api/v1/cycles/{id}/allocations/JP/autofill"),
        nation,
        v,
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

pub async fn minato_has_its_allocation(t: &TestApp) -> String {
    let id = cycle_with_supply(t).await;
    let nation = t.token("nation-operator@demo.vsys.jp").await;
    nation_autofills(t, &nation, &id).await;
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/JP/finish"),
            &nation,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/confirm"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let d = division(t, &tokyo, &id, "13").await;
    let (s, _) = with_version(
        t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/13/lines"),
        &tokyo,
        d["version"].as_i64().unwrap_or(0),
        json!({"lines": [{"org_code": "13103", "amount": d["amount"]}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/finish"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let minato = t.token("minato-operator@demo.vsys.jp").await;
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13103/confirm"),
            &minato,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    id
}

db_test!(masters_and_supply_rules_on_screen, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let c = t.web_login("pfizer-operator@demo.vsys.jp").await;
    let page = t.page(&c, "/products").await;
    assert!(
        page.contains("コミナティ筋注") && page.contains("6 回接種分/バイアル × 195 バイアル/箱"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    // Missing presentation: refused, every problem named in Japanese.
    let res = c
        .post(t.url("/products"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", "vaccine"),
            ("name", "新ワクチン"),
            ("storage_class", "fridge"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap_or_default();
    assert!(
        body.contains("回接種分/バイアル") && body.contains("バイアル/箱"),
        "{body}"
    );
    let form = [
        ("_csrf", csrf.as_str()),
        ("kind", "vaccine"),
        ("name", "新ワクチン"),
        ("storage_class", "fridge"),
        ("doses_per_vial", "10"),
        ("vials_per_box", "20"),
    ];
    assert_eq!(
        c.post(t.url("/products"))
            .form(&form)
            .send()
            .await
            .map(|r| r.status())
            .ok(),
        Some(StatusCode::SEE_OTHER)
    );
    // A bad supply quantity is explained on the cycle's page.
    let token = t.token("pfizer-operator@demo.vsys.jp").await;
    let cycle = t.first_cycle(&token).await;
    let (_, vaccines) = t
        .api(Method::GET, "/api/v1/products?kind=vaccine", &token, None)
        .await;
    let vaccine = vaccines[0]["id"].as_str().unwrap_or_default().to_owned();
    let res = c
        .post(t.url(&format!("/cycles/{cycle}/supply")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("supplier_code", "M001"),
            ("product_id", vaccine.as_str()),
            ("quantity", "-5"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap_or_default().contains("数量"));
    // A manufacturer cannot set the nation's supply rules; the nation can.
    let res = c
        .post(t.url("/supply-rules"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("version", "-1"),
            ("needles_per_dose_milli", "1100"),
            ("syringes_per_dose_milli", "1000"),
            ("pack_rounding", "up"),
            ("dry_ice_grams_ultra_cold", "1"),
            ("dry_ice_grams_frozen", "1"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let n = t.web_login("nation-operator@demo.vsys.jp").await;
    let page = t.page(&n, "/products").await;
    let res = n
        .post(t.url("/supply-rules"))
        .form(&[
            ("_csrf", csrf_of(&page).as_str()),
            ("version", "-1"),
            ("needles_per_dose_milli", "1100"),
            ("syringes_per_dose_milli", "1000"),
            ("pack_rounding", "up"),
            ("dry_ice_grams_ultra_cold", "10000"),
            ("dry_ice_grams_frozen", "5000"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let token = t.token("minato-viewer@demo.vsys.jp").await;
    let (_, rules) = t
        .api(Method::GET, "/api/v1/supply-rules", &token, None)
        .await;
    assert_eq!(rules["needles_per_dose_milli"], 1100);
    assert_eq!(rules["version"], 0);
});

db_test!(priority_programme_chain, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let id = cycle_with_supply_on(&t, 13, "priority").await;
    // Municipal sites take no part: no request form, and the API refuses with the reason.
    let site = t.user("site-operator@demo.vsys.jp").await.org_code;
    let site_token = t.token("site-operator@demo.vsys.jp").await;
    let (s, p) = t
        .api(
            Method::PUT,
            &format!("/api/v1/cycles/{id}/requests/{site}"),
            &site_token,
            Some(json!({"capacity_doses": 60, "requested_doses": 60, "storage": "freezer", "needles": 0, "syringes": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p.to_string().contains("集団接種会場は希望量を登録しません"),
        "{p}"
    );
    let page = t
        .page(
            &t.web_login("site-operator@demo.vsys.jp").await,
            &format!("/cycles/{id}"),
        )
        .await;
    assert!(page.contains("id=\"no-requests\""), "{page}");
    assert!(!page.contains("id=\"request-submit\""));
    let nation = t.token("nation-operator@demo.vsys.jp").await;
    // The whole (small) programme goes to 東京都.
    let root = division(&t, &nation, &id, "JP").await;
    let lines = json!({"lines": [{"org_code": "13", "amount": 30}]});
    let (s, _) = with_version(
        &t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/JP/lines"),
        &nation,
        root["version"].as_i64().unwrap_or(0),
        lines,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/JP/finish"),
            &nation,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    // 東京都 divides among its municipalities (everything to 港区) and finishes.
    let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/confirm"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let d = division(&t, &tokyo, &id, "13").await;
    let lines = json!({"lines": [{"org_code": "13103", "amount": d["amount"]}]});
    let (s, _) = with_version(
        &t,
        Method::PUT,
        &format!("/api/v1/cycles/{id}/allocations/13/lines"),
        &tokyo,
        d["version"].as_i64().unwrap_or(0),
        lines,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/finish"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    // Before the nation fixes the municipality level, nobody divides a municipality's amount.
    let m = division(&t, &tokyo, &id, "13103").await;
    let v = m["version"].as_i64().unwrap_or(0);
    let (s, _) = with_version(
        &t,
        Method::POST,
        &format!("/api/v1/cycles/{id}/allocations/13103/autofill"),
        &tokyo,
        v,
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The prefecture cannot finalise yet either.
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/finalise"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    // 国: 市町村単位へのワクチン分配量を確定する.
    let (s, root) = t
        .api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/JP/finalise"),
            &nation,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{root}");
    assert_eq!(root["status"], "final");
    let m = division(&t, &tokyo, &id, "13103").await;
    assert_eq!(m["status"], "confirmed");
    // The municipality does not divide; its prefecture does, among institutions only.
    let minato = t.token("minato-operator@demo.vsys.jp").await;
    let v = m["version"].as_i64().unwrap_or(0);
    let (s, _) = with_version(
        &t,
        Method::POST,
        &format!("/api/v1/cycles/{id}/allocations/13103/autofill"),
        &minato,
        v,
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, d) = with_version(
        &t,
        Method::POST,
        &format!("/api/v1/cycles/{id}/allocations/13103/autofill"),
        &tokyo,
        v,
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let codes: Vec<String> = d["lines"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| x["org_code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !codes.is_empty() && codes.iter().all(|c| !c.starts_with('9')),
        "institutions only: {codes:?}"
    );
    assert_eq!(
        t.api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13103/finish"),
            &tokyo,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    // 都道府県: 医療機関単位へのワクチン分配量を登録・確定する.
    let (s, p) = t
        .api(
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/finalise"),
            &tokyo,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(division(&t, &minato, &id, "13103").await["status"], "final");
});

db_test!(
    sites_report_requests_that_the_auto_fill_caps_by,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = minato_has_its_allocation(&t).await;
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
        let clinic_token = t.token("clinic-operator@demo.vsys.jp").await;
        let path = format!("/api/v1/cycles/{id}/requests/{clinic}");
        // Implausible input is refused with the reason.
        let (s, p) = t.api(Method::PUT, &path, &clinic_token, Some(json!({"capacity_doses": 60, "requested_doses": 120, "storage": "freezer", "needles": 0, "syringes": 0}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["field"], "requested_doses");
        // 60 doses = 10 vials at most for this clinic.
        let (s, r) = t.api(Method::PUT, &path, &clinic_token, Some(json!({"capacity_doses": 60, "requested_doses": 60, "storage": "dry_ice", "needles": 60, "syringes": 60}))).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        // A second report without If-Match would overwrite blindly: refused.
        let (s, _) = t.api(Method::PUT, &path, &clinic_token, Some(json!({"capacity_doses": 70, "requested_doses": 70, "storage": "dry_ice", "needles": 0, "syringes": 0}))).await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED);
        // The municipality sees which sites reported what, and which have not.
        let d = division(&t, &minato, &id, "13103").await;
        let lines = d["lines"].as_array().cloned().unwrap_or_default();
        let mine = lines
            .iter()
            .find(|x| x["org_code"] == clinic.as_str())
            .cloned()
            .unwrap_or_default();
        assert_eq!(mine["capacity_doses"], 60, "{mine}");
        assert_eq!(mine["requested_doses"], 60, "{mine}");
        let silent = lines
            .iter()
            .find(|x| x["capacity_doses"].is_null())
            .cloned()
            .unwrap_or_default();
        let silent_code = silent["org_code"].as_str().unwrap_or_default().to_owned();
        assert!(!silent_code.is_empty(), "some site has not reported: {d}");
        let page = t
            .page(
                &t.web_login("minato-operator@demo.vsys.jp").await,
                &format!("/allocations/{id}/13103"),
            )
            .await;
        assert!(
            page.contains(&format!("id=\"request-{clinic}\">60 / 60</td>")),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "id=\"request-{silent_code}\"><span class=\"badge badge-warning\">未報告</span>"
            )),
            "{page}"
        );
        let (s, d2) = with_version(
            &t,
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13103/autofill"),
            &minato,
            d["version"].as_i64().unwrap_or(0),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{d2}");
        let line = d2["lines"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["org_code"] == clinic.as_str()).cloned())
            .unwrap_or_default();
        assert_eq!(line["amount"], 10, "capped by the request: {line}");
        assert!(
            line["explanation"]["auto"]["cap"].is_array(),
            "the cap is explained: {line}"
        );
        let total: i64 = d2["lines"]
            .as_array()
            .map(|l| l.iter().map(|x| x["vials"].as_i64().unwrap_or(0)).sum())
            .unwrap_or(0);
        assert_eq!(
            total,
            d["vials"].as_i64().unwrap_or(-1),
            "the rest goes to the others"
        );
        // After the cycle's site deadline nothing more is accepted.
        t.clock.advance(chrono::Duration::days(400));
        let clinic_token = t.token("clinic-operator@demo.vsys.jp").await;
        let res = client().put(t.url(&path)).bearer_auth(&clinic_token).header("if-match", "\"v0\"").json(&json!({"capacity_doses": 70, "requested_doses": 70, "storage": "dry_ice", "needles": 0, "syringes": 0})).send().await;
        let res = res.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let p: Value = res.json().await.unwrap_or_default();
        assert_eq!(
            p["errors"][0]["message"],
            "このクールの登録期限を過ぎています。"
        );
        assert_eq!(t.audit_actions("request.put").await.len(), 1);
    }
);

db_test!(
    a_clinic_reports_its_request_on_screen,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let c = t.web_login("clinic-operator@demo.vsys.jp").await;
        let token = t.token("clinic-operator@demo.vsys.jp").await;
        let cycle = t.first_cycle(&token).await;
        let page = t.page(&c, &format!("/cycles/{cycle}")).await;
        assert!(page.contains("接種可能量・希望量の報告"), "{page}");
        let csrf = csrf_of(&page);
        let post = |fields: Vec<(&'static str, String)>| {
            let mut form: Vec<(&str, String)> = vec![("_csrf", csrf.clone())];
            form.extend(fields);
            c.post(t.url(&format!("/cycles/{cycle}/request")))
                .form(&form)
                .send()
        };
        let bad = post(vec![
            ("version", String::new()),
            ("capacity_doses", "60".into()),
            ("requested_doses", "90".into()),
            ("storage", "freezer".into()),
            ("needles", "x".into()),
            ("syringes", "0".into()),
        ])
        .await;
        let bad = bad.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = bad.text().await.unwrap_or_default();
        assert!(
            body.contains("針の必要量") && body.contains("value=\"90\""),
            "named, and what was typed is kept: {body}"
        );
        let ok = post(vec![
            ("version", String::new()),
            ("capacity_doses", "120".into()),
            ("requested_doses", "60".into()),
            ("storage", "dry_ice".into()),
            ("needles", "60".into()),
            ("syringes", "60".into()),
        ])
        .await;
        assert_eq!(ok.map(|r| r.status()).ok(), Some(StatusCode::SEE_OTHER));
        let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
        let (s, r) = t
            .api(
                Method::GET,
                &format!("/api/v1/cycles/{cycle}/requests/{clinic}"),
                &token,
                None,
            )
            .await;
        assert_eq!(
            (s, r["requested_doses"].clone(), r["storage"].clone()),
            (StatusCode::OK, json!(60), json!("dry_ice"))
        );
    }
);

db_test!(
    the_divider_withdraws_a_finished_division_until_a_child_confirms,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        nation_autofills(&t, &nation, &id).await;
        let post = |path: &'static str, token: &str| {
            let path = format!("/api/v1/cycles/{id}/allocations/{path}");
            let token = token.to_owned();
            let t = &t;
            async move { t.api(Method::POST, &path, &token, None).await }
        };
        assert_eq!(post("JP/finish", &nation).await.0, StatusCode::OK);
        // The entry of 分配完了 names the organisations it handed the amounts to.
        let divided = t.audit_actions("allocation.divided").await;
        assert!(
            divided.iter().any(|e| e
                .after
                .as_deref()
                .is_some_and(|a| a.contains("\"released\":[") && a.contains("\"13\""))),
            "{divided:?}"
        );
        // Only the divider may take it back.
        let (s, _) = post("JP/withdraw", &tokyo).await;
        assert!(
            matches!(s, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{s}"
        );
        let web = t.web_login("nation-operator@demo.vsys.jp").await;
        let screen = format!("/allocations/{id}/JP");
        assert!(t.page(&web, &screen).await.contains("id=\"withdraw\""));
        let (s, n) = post("JP/withdraw", &nation).await;
        assert_eq!(s, StatusCode::OK, "{n}");
        assert_eq!(n["status"], "confirmed");
        // 東京都 no longer has an amount to confirm, and was told why.
        let (s, _) = post("13/confirm", &tokyo).await;
        assert!(!s.is_success(), "held back: {s}");
        let (_, notices) = t
            .api(Method::GET, "/api/v1/notices?per_page=50", &tokyo, None)
            .await;
        assert!(notices.to_string().contains("分配量の見直し"), "{notices}");
        let entries = t.audit_actions("allocation.withdraw").await;
        assert_eq!(entries.len(), 1);
        assert!(
            entries[0]
                .after
                .as_deref()
                .is_some_and(|a| a.contains("\"held_back\"") && a.contains("\"13\"")),
            "{:?}",
            entries[0].after
        );
        // Finished again; once a prefecture has confirmed, there is no taking it back.
        assert_eq!(post("JP/finish", &nation).await.0, StatusCode::OK);
        assert_eq!(post("13/confirm", &tokyo).await.0, StatusCode::OK);
        assert!(!t.page(&web, &screen).await.contains("id=\"withdraw\""));
        let (s, p) = post("JP/withdraw", &nation).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert!(p.to_string().contains("分配完了を取り消せません"), "{p}");
        assert_eq!(t.audit_actions("allocation.withdraw").await.len(), 1);
    }
);
