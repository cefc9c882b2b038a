//! What a site's screens tell it: whether citizens find it on the public site (and why
//! not), no hint to press a button the site does not have, and a stock ledger whose
//! references read as words (linked to the delivery), never raw ids — on both backends.

use crate::allocation::with_version;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use vsys_testkit::db_test;

/// A cycle finalised down to the demo clinic whose vaccine the wholesaler has delivered today
/// (lot FK0001): the clinic's ledger holds the delivery.
pub async fn clinic_vaccine_delivered(t: &TestApp, clinic: &str) -> String {
    let cycle = crate::delivery::finalised_cycle(t).await;
    // The clinic's vaccine arrives: the wholesaler enters its 納入実績日 and lot.
    let wholesaler = t.token("wholesaler-operator@demo.vsys.jp").await;
    let (s, list) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries?cycle={cycle}&item=vaccine&per_page=500"),
            &wholesaler,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let d = list["items"]
        .as_array()
        .and_then(|l| l.iter().find(|d| d["site_code"] == clinic).cloned())
        .unwrap_or_else(|| panic!("no delivery to the clinic: {list}"));
    let id = d["id"].as_str().unwrap_or_default().to_owned();
    let today = vsys_app::clock::japan_date(t.app.clock.now());
    let (s, v) = with_version(
        t,
        Method::PATCH,
        &format!("/api/v1/deliveries/{id}"),
        &wholesaler,
        d["version"].as_i64().unwrap_or(-1),
        json!({"delivered_on": today, "lot": "FK0001"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    cycle
}

db_test!(
    site_home_says_whether_citizens_find_the_site,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
        let c = t.web_login("clinic-operator@demo.vsys.jp").await;
        // The demo clinic is contracted but its municipality (港区) has not confirmed it yet.
        let html = t.page(&c, "/").await;
        assert!(
            html.contains("data-publicity=\"awaiting-confirmation\""),
            "{html}"
        );
        assert!(html.contains("市町村が協力医療機関として確認すると掲載されます"));
        assert!(!html.contains("id=\"publicity-link\""));
        assert!(html.contains("数秒以内"));
        assert!(!html.contains("すぐに切り替わります"));

        // 港区 confirms it: the home page now says it is public and links its finder page.
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        let (s, v) = t
            .api(
                Method::GET,
                &format!("/api/v1/sites/{clinic}"),
                &minato,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let version = v["profile"]["version"].as_i64().unwrap_or(-1);
        let res = client()
            .post(t.url(&format!("/api/v1/sites/{clinic}/confirmation")))
            .bearer_auth(&minato)
            .header("if-match", format!("\"v{version}\""))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        let html = t.page(&c, "/").await;
        assert!(html.contains("data-publicity=\"public\""), "{html}");
        assert!(html.contains("国民向けサイト（コロナワクチンナビ）に掲載されています"));
        let link = format!("href=\"/search/sites/{clinic}\" id=\"publicity-link\"");
        assert!(html.contains(&link), "{html}");

        // 港区's own municipal site is public without any confirmation.
        let c = t.web_login("site-operator@demo.vsys.jp").await;
        let html = t.page(&c, "/").await;
        assert!(html.contains("data-publicity=\"public\""), "{html}");
    }
);

db_test!(
    site_screens_name_real_buttons_and_readable_references,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
        let cycle = clinic_vaccine_delivered(&t, &clinic).await;

        let c = t.web_login("clinic-operator@demo.vsys.jp").await;
        // The ledger names the delivery by its cycle and vaccine and links its deliveries.
        let (_, cy) = t
            .api(
                Method::GET,
                &format!("/api/v1/cycles/{cycle}"),
                &t.token("clinic-operator@demo.vsys.jp").await,
                None,
            )
            .await;
        let number = cy["number"].as_i64().unwrap_or_else(|| panic!("{cy}"));
        let html = t.page(&c, &format!("/sites/{clinic}")).await;
        let label = format!("第{number}クール ");
        assert!(html.contains(&label), "{html}");
        assert!(html.contains(" 納入</a>"), "{html}");
        assert!(
            html.contains(&format!(
                "href=\"/deliveries?cycle={cycle}&#38;item=vaccine\""
            )),
            "{html}"
        );
        assert!(!html.contains("delivery:"), "a raw reference is shown");
        let deliveries = t
            .page(&c, &format!("/deliveries?cycle={cycle}&item=vaccine"))
            .await;
        assert!(deliveries.contains("FK0001"), "{deliveries}");

        // The allocation notice names the button the clinic has (「確認済にする」), and no
        // screen of the site asks it to press a bare 「確認済」.
        let notices = t.page(&c, "/notices").await;
        assert!(notices.contains("分配量のお知らせ"), "{notices}");
        assert!(
            notices.contains("「確認済にする」を押してください"),
            "{notices}"
        );
        for path in ["/", "/notices", &format!("/sites/{clinic}")] {
            let html = t.page(&c, path).await;
            assert!(!html.contains("「確認済」にしてください"), "{path}");
            assert!(!html.contains("すぐに切り替わります"), "{path}");
        }
    }
);
