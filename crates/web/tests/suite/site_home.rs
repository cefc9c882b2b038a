//! What a site's home page tells it: whether citizens find it on the public site (and why
//! not), and no hint to press a button the site does not have — on both backends.

use crate::common::*;
use reqwest::{Method, StatusCode};
use vsys_testkit::db_test;

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
            .api(Method::GET, &format!("/api/v1/sites/{clinic}"), &minato, None)
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
