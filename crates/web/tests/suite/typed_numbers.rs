//! Numbers as Japanese staff type them: full-width digits, commas (，、,) and spaces are read
//! by every numeric field of the staff forms; what is not a number is refused, the field
//! named. Cycle deadlines out of order are refused on screen.

use crate::allocation::{cycle_with_supply, division};
use crate::browser::{finish, login, start};
use crate::common::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use vsys_testkit::db_test;

/// Posts `fields` (with the CSRF token of the page at `page`) to `action`.
async fn post(
    t: &TestApp,
    c: &Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = t.page(c, page).await;
    let csrf = csrf_of(&html);
    let mut form: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    c.post(t.url(action))
        .form(&form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// The value of the hidden `version` field of a page.
fn version_of(html: &str) -> String {
    let marker = "name=\"version\" value=\"";
    html.split(marker)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no version in {html}"))
        .to_owned()
}

db_test!(
    a_cycle_is_created_with_full_width_numbers_and_deadlines_in_order,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let c = t.web_login("nation-operator@demo.vsys.jp").await;
        let token = t.token("nation-operator@demo.vsys.jp").await;
        let (_, vaccines) = t
            .api(Method::GET, "/api/v1/products?kind=vaccine", &token, None)
            .await;
        let vaccine = vaccines[0]["id"].as_str().unwrap_or_default().to_owned();
        let form = |number: &'static str, deadlines: [&'static str; 3]| {
            vec![
                ("number", number),
                ("vaccine_id", vaccine.as_str()),
                ("needle_id", ""),
                ("syringe_id", ""),
                ("period_start", "2027-01-10"),
                ("period_end", "2027-01-24"),
                ("deadline_prefecture", deadlines[0]),
                ("deadline_municipality", deadlines[1]),
                ("deadline_site", deadlines[2]),
                ("chain", "standard"),
                ("unit_site", "vial"),
            ]
        };
        // 都道府県 12-26 after 市町村 12-23 after 医療機関 12-20: refused, the order named.
        let res = post(
            &t,
            &c,
            "/cycles",
            "/cycles",
            &form("１２", ["2026-12-26", "2026-12-23", "2026-12-20"]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap_or_default();
        assert!(
            body.contains("締切は 都道府県 ≤ 市町村 ≤ 医療機関 の順にしてください"),
            "{body}"
        );
        let (_, cycles) = t.api(Method::GET, "/api/v1/cycles", &token, None).await;
        let numbers = |cycles: &Value| {
            cycles["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c["number"].as_i64())
                .collect::<Vec<_>>()
        };
        assert!(!numbers(&cycles).contains(&12), "{cycles}");
        // A number that is not one is refused, named.
        let res = post(
            &t,
            &c,
            "/cycles",
            "/cycles",
            &form("十二", ["2026-12-20", "2026-12-23", "2026-12-26"]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap_or_default();
        assert!(body.contains("クール番号"), "{body}");
        // Full-width digits, deadlines in order (equal days allowed): created.
        let res = post(
            &t,
            &c,
            "/cycles",
            "/cycles",
            &form(" １２ ", ["2026-12-20", "2026-12-20", "2026-12-26"]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, cycles) = t.api(Method::GET, "/api/v1/cycles", &token, None).await;
        assert!(numbers(&cycles).contains(&12), "{cycles}");
        // The API refuses the same order, naming the field.
        let (s, r) = t
            .api(
                Method::POST,
                "/api/v1/cycles",
                &token,
                Some(
                    json!({"number": 13, "vaccine_id": vaccine, "period_start": "2027-01-10",
                    "period_end": "2027-01-24", "deadline_prefecture": "2026-12-26",
                    "deadline_municipality": "2026-12-23", "deadline_site": "2026-12-24"}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
        assert!(r.to_string().contains("deadline_municipality"), "{r}");
    }
);

db_test!(
    a_clinic_reports_its_request_in_full_width_digits,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let c = t.web_login("clinic-operator@demo.vsys.jp").await;
        let token = t.token("clinic-operator@demo.vsys.jp").await;
        let cycle = t.first_cycle(&token).await;
        let page = format!("/cycles/{cycle}");
        let action = format!("/cycles/{cycle}/request");
        let res = post(
            &t,
            &c,
            &page,
            &action,
            &[
                ("version", ""),
                ("capacity_doses", "１，２００"),
                ("requested_doses", "６００"),
                ("storage", "dry_ice"),
                ("needles", "６ ００"),
                ("syringes", "６、００"),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
        let (s, r) = t
            .api(
                Method::GET,
                &format!("/api/v1/cycles/{cycle}/requests/{clinic}"),
                &token,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            [
                &r["capacity_doses"],
                &r["requested_doses"],
                &r["needles"],
                &r["syringes"]
            ],
            [&json!(1200), &json!(600), &json!(600), &json!(600)]
        );
    }
);

db_test!(
    the_division_reads_full_width_amounts,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let c = t.web_login("nation-operator@demo.vsys.jp").await;
        let page = format!("/allocations/{id}/JP");
        let action = format!("/allocations/{id}/JP/save");
        // Not a number: refused, nothing saved.
        let html = t.page(&c, &page).await;
        let version = version_of(&html);
        let res = post(
            &t,
            &c,
            &page,
            &action,
            &[("version", version.as_str()), ("amount_13", "三十")],
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // 「９７０」 and 「３０」 as typed (the supply is 1,000 boxes).
        let res = post(
            &t,
            &c,
            &page,
            &action,
            &[
                ("version", version.as_str()),
                ("amount_13", "９７０"),
                ("amount_27", "３０"),
            ],
        )
        .await;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let d = division(&t, &nation, &id, "JP").await;
        let amount = |code: &str| {
            d["lines"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .find(|l| l["org_code"] == code)
                .map(|l| l["amount"].clone())
                .unwrap_or(Value::Null)
        };
        assert_eq!((amount("13"), amount("27")), (json!(970), json!(30)), "{d}");
    }
);

db_test!(
    users_and_products_read_full_width_digits,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // A user of organisation 「１３１０３」.
        let admin = t
            .make_user("13103", "admin", "minato-admin8@example.jp")
            .await;
        let c = t.web_login(&admin).await;
        let res = post(
            &t,
            &c,
            "/users/new",
            "/users",
            &[
                ("org_code", "１３１０３"),
                ("email", "clerk8@example.jp"),
                ("name", "窓口 八郎"),
                ("role", "operator"),
                ("password", "first password 2026"),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(t.user("clerk8@example.jp").await.org_code, "13103");
        // A needle product of 「１，０００」 per pack; a non-number is refused, named.
        let c = t.web_login("syringe-operator@demo.vsys.jp").await;
        let product = |per_pack: &'static str| {
            [
                ("kind", "needle"),
                ("name", "針（全角）"),
                ("spec", "針(25G×1000本)"),
                ("storage_class", ""),
                ("doses_per_vial", ""),
                ("vials_per_box", ""),
                ("units_per_pack", per_pack),
            ]
        };
        let res = post(&t, &c, "/products", "/products", &product("千")).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap_or_default();
        assert!(body.contains("入力内容に誤りがあります"), "{body}");
        let res = post(&t, &c, "/products", "/products", &product("１，０００")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let token = t.token("syringe-operator@demo.vsys.jp").await;
        let (_, list) = t
            .api(Method::GET, "/api/v1/products?kind=needle", &token, None)
            .await;
        let mine: Vec<Value> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p["name"] == "針（全角）")
            .collect();
        assert_eq!(
            mine.iter()
                .map(|p| p["units_per_pack"].clone())
                .collect::<Vec<_>>(),
            [json!(1000)],
            "{list}"
        );
    }
);

db_test!(full_width_amounts_typed_in_chromium, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let id = cycle_with_supply(&t).await;
    let Some(b) = start().await else {
        return;
    };
    let run = async {
        login(&b, &t, "nation-operator@demo.vsys.jp").await?;
        b.goto(&t.url(&format!("/allocations/{id}/JP"))).await?;
        b.execute(
            "document.querySelectorAll('input[name^=amount_]').forEach(i => i.value = '0');",
            json!([]),
        )
        .await?;
        b.fill("#amount-13", "１，０００").await?;
        b.click("#save-division").await?;
        b.wait_text("#allocated", |s| s.replace(',', "").starts_with("1000"))
            .await?;
        Ok::<(), anyhow::Error>(())
    };
    let result = run.await;
    finish(b, result, "e2e-forms").await;
    let nation = t.token("nation-operator@demo.vsys.jp").await;
    let d = division(&t, &nation, &id, "JP").await;
    let line = d["lines"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .find(|l| l["org_code"] == "13")
        .unwrap_or_default();
    assert_eq!(line["amount"], json!(1000), "{d}");
});
