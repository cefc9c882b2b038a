//! The delivery screens upstream of the sites, driven as a browser without JavaScript: the
//! manufacturer's 地域卸業者への分配量 after 東京都 finalised a cycle, the wholesaler's 入荷・在庫
//! with its inbound form (refused, then saved), the dry-ice maker's list, an organisation's
//! API tokens (the secret shown once, then revoked) and the areas a prefecture contracts its
//! wholesaler for (a bad code refused with the message), and a nation-set dry-ice maker's.

use crate::common::*;
use crate::delivery::finalised_cycle;
use reqwest::{Method, StatusCode};
use serde_json::json;
use vsys_testkit::db_test;

const WHOLESALER: &str = "wholesaler-operator@demo.vsys.jp";
const WHOLESALER_ADMIN: &str = "wholesaler-admin@demo.vsys.jp";

async fn get_page(c: &reqwest::Client, t: &TestApp, path: &str) -> (StatusCode, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

async fn post_form(
    c: &reqwest::Client,
    t: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let res = c.post(t.url(path)).form(form).send().await.unwrap();
    let status = res.status();
    let to = res
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, to, res.text().await.unwrap_or_default())
}

/// The part of a page from `marker` to the end of its line (a table row, say).
fn line_of<'a>(page: &'a str, marker: &str) -> &'a str {
    page.find(marker)
        .map(|i| &page[i..])
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_default()
}

db_test!(upstream_stock_and_dry_ice_screens, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let cycle = finalised_cycle(&t).await;
    let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
    let q = format!("?cycle={cycle}");

    // The manufacturer sees what its vaccine hands 東京都's wholesaler, in vials.
    let pfizer = t.web_login("pfizer-operator@demo.vsys.jp").await;
    let (s, page) = get_page(&pfizer, &t, &format!("/deliveries/upstream{q}")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"nav-upstream\""), "in the menu");
    let row = line_of(&page, "id=\"up-W13001-vaccine\"");
    assert!(!row.is_empty(), "{page}");
    assert!(row.contains("W13001") && row.contains("バイアル"), "{row}");
    assert!(!page.contains("-needle\""), "only its own item: {page}");
    // The newest cycle is shown when none is asked for.
    let (s, page) = get_page(&pfizer, &t, "/deliveries/upstream").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"cycle-select\""));
    // The warehouse sees needles and syringes.
    let syringe = t.web_login("syringe-operator@demo.vsys.jp").await;
    let (_, page) = get_page(&syringe, &t, &format!("/deliveries/upstream{q}")).await;
    assert!(
        page.contains("id=\"up-N001-needle\"") && !page.contains("-vaccine\""),
        "{page}"
    );
    // A municipality is refused.
    let minato = t.web_login("minato-operator@demo.vsys.jp").await;
    let (s, _) = get_page(&minato, &t, &format!("/deliveries/upstream{q}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The wholesaler registers what arrived: a bad quantity and a future day are refused
    // next to their fields, what was typed kept; then saved, its stock is shown.
    let api = t.token(WHOLESALER).await;
    let (_, stock) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries/stock{q}"),
            &api,
            None,
        )
        .await;
    let assigned = stock
        .as_array()
        .and_then(|l| l.iter().find(|x| x["item"] == "vaccine"))
        .and_then(|x| x["assigned"].as_i64())
        .unwrap_or(0);
    assert!(assigned > 0, "{stock}");
    let w = t.web_login(WHOLESALER).await;
    let (s, page) = get_page(&w, &t, &format!("/deliveries/stock{q}")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"nav-deliverer-stock\""));
    assert!(page.contains("id=\"inbound-form\"") && page.contains("在庫"));
    let csrf = csrf_of(&page);
    let today = vsys_app::clock::japan_date(t.app.clock.now());
    let tomorrow = (today + chrono::Duration::days(1)).to_string();
    let (s, _, page) = post_form(
        &w,
        &t,
        "/deliveries/inbound",
        &[
            ("_csrf", &csrf),
            ("cycle_id", &cycle),
            ("item", "vaccine"),
            ("quantity", "0"),
            ("received_on", &tomorrow),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"inbound-errors\"")
            && page.contains("id=\"inbound-quantity-error\"")
            && page.contains("id=\"inbound-received_on-error\"")
            && page.contains("今日より後の日付は入力できません"),
        "{page}"
    );
    assert!(
        page.contains(&format!("value=\"{tomorrow}\"")),
        "typed kept"
    );
    let typed = assigned.to_string();
    let (s, to, _) = post_form(
        &w,
        &t,
        "/deliveries/inbound",
        &[
            ("_csrf", &csrf),
            ("cycle_id", &cycle),
            ("item", "vaccine"),
            ("quantity", &typed),
            ("received_on", &today.to_string()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        to.starts_with("/deliveries/stock?cycle=") && to.contains("flash=received"),
        "{to}"
    );
    let (_, page) = get_page(&w, &t, &to).await;
    assert!(page.contains("入荷を登録しました"), "{page}");
    let want = format!("{}バイアル", vsys_web::i18n::int(assigned));
    let received = line_of(&page, "id=\"stock-vaccine-received\"");
    let on_hand = line_of(&page, "id=\"stock-vaccine-on-hand\"");
    assert!(received.contains(&want), "{received}");
    assert!(on_hand.contains(&want), "nothing delivered yet: {on_hand}");
    // It sees its own line upstream too; the dry-ice list is not for it.
    let (s, page) = get_page(&w, &t, &format!("/deliveries/upstream{q}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"up-W13001-vaccine\""));
    let (s, _) = get_page(&w, &t, &format!("/deliveries/dry-ice{q}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The dry-ice maker sees the clinic that keeps its vaccine on dry ice.
    let d = t.web_login("dryice-operator@demo.vsys.jp").await;
    let (s, page) = get_page(&d, &t, &format!("/deliveries/dry-ice{q}")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"nav-dry-ice\""));
    let row = line_of(&page, &format!("data-site=\"{clinic}\""));
    assert!(!row.is_empty(), "{page}");
    assert!(row.contains("13103") && row.contains("未定"), "{row}");
    assert!(page.contains("id=\"dry-ice-total\""));
    let (s, _) = get_page(&d, &t, &format!("/deliveries/stock{q}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
});

db_test!(api_token_and_area_screens, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    // The wholesaler's administrator issues a token: the secret is shown once.
    let admin = t.web_login(WHOLESALER_ADMIN).await;
    let (s, page) = get_page(&admin, &t, "/orgs/W13001").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"org-api-tokens\""), "{page}");
    assert!(!page.contains("id=\"org-areas\""), "not its own areas");
    let (s, page) = get_page(&admin, &t, "/orgs/W13001/api-tokens").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"no-tokens\""));
    let csrf = csrf_of(&page);
    let (s, _, page) = post_form(
        &admin,
        &t,
        "/orgs/W13001/api-tokens",
        &[("_csrf", &csrf), ("name", "  ")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"token-name-error\""), "{page}");
    let (s, _, page) = post_form(
        &admin,
        &t,
        "/orgs/W13001/api-tokens",
        &[("_csrf", &csrf), ("name", "配送管理システム")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"token-created\"") && page.contains("今回しか表示されません"));
    let marker = "id=\"token-secret\" class=\"mono\" value=\"";
    let secret = page
        .find(marker)
        .map(|i| &page[i + marker.len()..])
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_owned();
    assert!(secret.starts_with("vsys_"), "{page}");
    let deliveries = "/api/v1/deliveries";
    assert_eq!(
        t.api(Method::GET, deliveries, &secret, None).await.0,
        StatusCode::OK
    );
    let (_, page) = get_page(&admin, &t, "/orgs/W13001/api-tokens").await;
    assert!(!page.contains(&secret), "never shown again");
    assert!(page.contains("配送管理システム"));
    let id = page
        .split("id=\"revoke-")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_owned();
    assert!(!id.is_empty(), "{page}");
    let (s, to, _) = post_form(
        &admin,
        &t,
        &format!("/orgs/W13001/api-tokens/{id}/revoke"),
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("flash=token_revoked"), "{to}");
    let (_, page) = get_page(&admin, &t, &to).await;
    assert!(
        page.contains(&format!("id=\"token-{id}-revoked\"")) && !page.contains("id=\"revoke-"),
        "{page}"
    );
    assert_eq!(
        t.api(Method::GET, deliveries, &secret, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An operator does not manage tokens.
    let op = t.web_login(WHOLESALER).await;
    let (s, _) = get_page(&op, &t, "/orgs/W13001/api-tokens").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // 東京都 contracts its wholesaler: a municipality of another prefecture is refused by name.
    let tokyo = t.web_login("tokyo-operator@demo.vsys.jp").await;
    let (s, page) = get_page(&tokyo, &t, "/orgs/W13001").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"org-areas\""), "{page}");
    let (s, page) = get_page(&tokyo, &t, "/orgs/W13001/areas").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"area-13103\""));
    assert!(
        line_of(&page, "id=\"area-option-13103\"")
            .split('>')
            .next()
            .is_some_and(|tag| tag.contains("checked")),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let (s, _, page) = post_form(
        &tokyo,
        &t,
        "/orgs/W13001/areas",
        &[("_csrf", &csrf), ("areas", "13103"), ("areas", "27100")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"areas-errors\"")
            && page.contains("id=\"areas-areas-error\"")
            && page.contains("27100: 組織コードが見つかりません"),
        "{page}"
    );
    let tokyo_api = t.token("tokyo-operator@demo.vsys.jp").await;
    let (_, v) = t
        .api(Method::GET, "/api/v1/orgs/W13001/areas", &tokyo_api, None)
        .await;
    assert!(!v.to_string().contains("27100"), "nothing changed: {v}");
    let (s, to, _) = post_form(
        &tokyo,
        &t,
        "/orgs/W13001/areas",
        &[("_csrf", &csrf), ("areas", "13104"), ("areas", "13103")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("flash=areas_saved"), "{to}");
    let (_, page) = get_page(&tokyo, &t, &to).await;
    assert!(page.contains("id=\"area-13104\"") && page.contains("担当地域を保存しました"));
    let (_, v) = t
        .api(Method::GET, "/api/v1/orgs/W13001/areas", &tokyo_api, None)
        .await;
    assert_eq!(v, json!(["13103", "13104"]));
    // The wholesaler itself only looks.
    let (s, page) = get_page(&op, &t, "/orgs/W13001/areas").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains("id=\"areas-form\""));
    let (s, _, _) = post_form(
        &op,
        &t,
        "/orgs/W13001/areas",
        &[("_csrf", &csrf_of(&page)), ("areas", "13103")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The nation types a dry-ice maker's codes; an unknown one is named.
    let nation = t.web_login("nation-operator@demo.vsys.jp").await;
    let (s, page) = get_page(&nation, &t, "/orgs/D001/areas").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"areas_text\""));
    let csrf = csrf_of(&page);
    let (s, _, page) = post_form(
        &nation,
        &t,
        "/orgs/D001/areas",
        &[("_csrf", &csrf), ("areas_text", "13\n99999")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("99999: 組織コードが見つかりません"), "{page}");
    assert!(page.contains("13\n99999"), "typed kept");
    let (s, _, _) = post_form(
        &nation,
        &t,
        "/orgs/D001/areas",
        &[("_csrf", &csrf), ("areas_text", "13、27\n13103")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let nation_api = t.token("nation-operator@demo.vsys.jp").await;
    let (_, v) = t
        .api(Method::GET, "/api/v1/orgs/D001/areas", &nation_api, None)
        .await;
    assert_eq!(v, json!(["13", "13103", "27"]));
});

db_test!(deliverer_info_screen, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let api = t.token(WHOLESALER).await;
    let info = "/api/v1/orgs/W13001/deliverer-info";

    // The wholesaler's own operator reaches the form from its organisation's page.
    let op = t.web_login(WHOLESALER).await;
    let (s, page) = get_page(&op, &t, "/orgs/W13001").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"org-deliverer-info\""), "{page}");
    let (s, page) = get_page(&op, &t, "/orgs/W13001/deliverer-info").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("id=\"info-form\"") && page.contains("name=\"version\" value=\"0\""),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let form = |phone: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("version", "0".to_owned()),
            ("postal_code", "100-0001".to_owned()),
            ("address", "東京都千代田区千代田1-1".to_owned()),
            ("phone", phone.to_owned()),
            ("contact", "配送 太郎".to_owned()),
            ("email", "delivery@example.jp".to_owned()),
        ]
    };

    // A bad phone is refused with the message next to the field; what was typed is kept.
    let bad = form("abc");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, page) = post_form(&op, &t, "/orgs/W13001/deliverer-info", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("id=\"info-errors\"") && page.contains("id=\"info-phone-error\""),
        "{page}"
    );
    assert!(
        page.contains("value=\"abc\"") && page.contains("配送 太郎"),
        "{page}"
    );
    let (_, v) = t.api(Method::GET, info, &api, None).await;
    assert_eq!(v["version"], json!(0), "nothing saved: {v}");
    assert!(v["phone"].is_null(), "{v}");

    // A good one is saved.
    let good = form("03-1234-5678");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, to, _) = post_form(&op, &t, "/orgs/W13001/deliverer-info", &good).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("flash=deliverer_info_saved"), "{to}");
    let (_, page) = get_page(&op, &t, &to).await;
    assert!(
        page.contains("基本情報を保存しました") && page.contains("value=\"03-1234-5678\""),
        "{page}"
    );
    assert!(page.contains("name=\"version\" value=\"1\""), "{page}");
    let (_, v) = t.api(Method::GET, info, &api, None).await;
    assert_eq!(v["phone"], json!("03-1234-5678"), "{v}");
    assert_eq!(v["postal_code"], json!("1000001"), "{v}");

    // The same form again (version 0) conflicts: the stored values with the message.
    let (s, _, page) = post_form(&op, &t, "/orgs/W13001/deliverer-info", &good).await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains("id=\"info-errors\"") && page.contains("name=\"version\" value=\"1\""),
        "{page}"
    );

    // 東京都 sees the values, without a form.
    let tokyo = t.web_login("tokyo-operator@demo.vsys.jp").await;
    let (s, page) = get_page(&tokyo, &t, "/orgs/W13001").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"org-deliverer-info\""), "{page}");
    let (s, page) = get_page(&tokyo, &t, "/orgs/W13001/deliverer-info").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(!page.contains("id=\"info-form\""), "{page}");
    assert!(
        line_of(&page, "id=\"info-phone\"").contains("03-1234-5678")
            && page.contains("配送 太郎")
            && page.contains("delivery@example.jp"),
        "{page}"
    );
    let (s, _, _) = post_form(
        &tokyo,
        &t,
        "/orgs/W13001/deliverer-info",
        &[
            ("_csrf", &csrf_of(&page)),
            ("version", "1"),
            ("phone", "0312345678"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A municipality does not see the wholesaler.
    let minato = t.web_login("minato-operator@demo.vsys.jp").await;
    let (s, _) = get_page(&minato, &t, "/orgs/W13001/deliverer-info").await;
    assert!(
        s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
        "{s}"
    );
});
