//! The public site outlives its database: with the database cut away from the running server
//! (PostgreSQL through a TCP proxy inside the test that then drops every connection and
//! refuses new ones; SQLite by closing the server's pool), the finder and open data keep
//! answering from the last snapshot and say since when the data has not been confirmed, while
//! the server's readiness says the database is gone.

use crate::common::*;
use reqwest::StatusCode;
use vsys_testkit::db_test;

db_test!(
    the_finder_keeps_answering_when_the_database_is_cut,
    |backend| async move {
        let Some(t) = spawn_cuttable(backend).await else {
            return;
        };
        let snapshot = vsys_app::public::snapshot(&t.app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let muni = snapshot
            .municipalities()
            .iter()
            .find(|m| m.sites > 0)
            .map(|m| m.code.clone())
            .unwrap_or_else(|| panic!("a municipality with public sites"));
        let first = snapshot.municipality(&muni).unwrap_or_default()[0].clone();
        let finder = format!("/search/?municipality={muni}");
        let api = format!("/api/v1/public/sites?municipality={muni}");
        let get = |path: String| {
            let url = t.url(&path);
            async move {
                let res = client()
                    .get(&url)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{url}: {e}"));
                let status = res.status();
                (status, res.text().await.unwrap_or_default())
            }
        };
        let (status, page) = get(finder.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&first.name));
        assert!(!page.contains("最新の情報を取得できていません"));

        t.cut_database().await;
        let (status, _) = get("/readyz".into()).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is gone"
        );

        // Ten minutes later the finder, a site page and open data still answer from the snapshot,
        // and the finder says how old its data is.
        t.clock.advance(chrono::Duration::minutes(10));
        let (status, page) = get(finder).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&first.name), "the last snapshot's sites");
        assert!(page.contains("最新の情報を取得できていません"), "{page}");
        assert!(page.contains("10分前"), "how old: {page}");
        let (status, page) = get(format!("/search/sites/{}", first.code)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&first.name));
        let (status, body) = get(api).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert!(
            v["items"]
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s["code"] == first.code.as_str())),
            "{v}"
        );
        // It says when its data was read: the snapshot held when the database went, ten minutes
        // ago or more.
        let held = vsys_app::public::snapshot(&t.app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["updated_at"], serde_json::json!(held.built_at));
        assert!(t.app.clock.now() - held.built_at >= chrono::Duration::minutes(10));
    }
);
