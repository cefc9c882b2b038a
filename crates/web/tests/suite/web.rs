//! Screens and plumbing: security headers, CSRF, language, health, metrics, documentation.

use crate::common::*;
use reqwest::{StatusCode, header};
use vsys_testkit::db_test;

db_test!(security_headers_on_every_response, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    for path in [
        "/login",
        "/healthz",
        "/api/v1/me",
        "/static/app.css",
        "/nope",
    ] {
        let res = client()
            .get(t.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let h = res.headers();
        let csp = h
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(
            h.get(header::X_CONTENT_TYPE_OPTIONS)
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{path}"
        );
        assert!(h.contains_key(header::REFERRER_POLICY), "{path}");
    }
    // No inline script anywhere in our pages.
    let page = client()
        .get(t.url("/login"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(!page.contains("<script>") && !page.contains("onclick="));
});

db_test!(csrf_is_required_on_every_form, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    // Login form without its token.
    let c = browser_client();
    let _ = c.get(t.url("/login")).send().await;
    let res = c
        .post(t.url("/login"))
        .form(&[
            ("email", "minato-operator@demo.vsys.jp"),
            ("password", PASSWORD),
        ])
        .send()
        .await;
    assert_eq!(res.map(|r| r.status()).ok(), Some(StatusCode::FORBIDDEN));
    // A logged-in form with a wrong token, then the right one.
    let c = t.web_login("minato-operator@demo.vsys.jp").await;
    let res = c
        .post(t.url("/logout"))
        .form(&[("_csrf", "forged")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap_or_default();
    assert!(
        body.contains("画面の有効期限が切れました"),
        "explained in Japanese"
    );
    assert_eq!(
        c.get(t.url("/")).send().await.map(|r| r.status()).ok(),
        Some(StatusCode::OK),
        "still logged in"
    );
    let page = t.page(&c, "/").await;
    let res = c
        .post(t.url("/logout"))
        .form(&[("_csrf", csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = c
        .get(t.url("/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    // htmx requests send the token in a header.
    let c = t.web_login("minato-operator@demo.vsys.jp").await;
    let res = c
        .post(t.url("/notices/x/read"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
});

db_test!(screens_in_japanese_and_english, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let c = t.web_login("minato-operator@demo.vsys.jp").await;
    let home = t.page(&c, "/").await;
    assert!(home.contains("あなたの作業") && home.contains("港区") && home.contains("lang=\"ja\""));
    let res = c
        .get(t.url("/lang?set=en&next=/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/")
    );
    let home = t.page(&c, "/").await;
    assert!(home.contains("Your tasks") && home.contains("lang=\"en\""));
    // Only local paths are followed.
    let res = c
        .get(t.url("/lang?set=ja&next=//evil.example/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/")
    );
    // Unknown pages and errors are friendly pages, not internals.
    let res = c
        .get(t.url("/users/00000000-0000-0000-0000-000000000000"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
});

db_test!(admin_manages_users_on_screen, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let admin = t
        .make_user("13103", "admin", "minato-admin7@example.jp")
        .await;
    let c = t.web_login(&admin).await;
    let page = t.page(&c, "/users/new").await;
    let csrf = csrf_of(&page);
    // Invalid input: every problem is named, nothing is created.
    let res = c
        .post(t.url("/users"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("org_code", "13103"),
            ("email", "x"),
            ("name", ""),
            ("role", "operator"),
            ("password", "short"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap_or_default();
    assert!(
        body.contains("メールアドレスの形式が正しくありません") && body.contains("12文字以上"),
        "{body}"
    );
    let res = c
        .post(t.url("/users"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("org_code", "13103"),
            ("email", "clerk@example.jp"),
            ("name", "窓口 一郎"),
            ("role", "operator"),
            ("password", "first password 2026"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list = t.page(&c, "/users?org=13103&flash=user_created").await;
    assert!(list.contains("clerk@example.jp") && list.contains("利用者を作成しました"));
    assert!(t.user("clerk@example.jp").await.must_change_password);
    // The new person must change the password before anything else.
    let c2 = browser_client();
    let page = t.page(&c2, "/login").await;
    let _ = c2
        .post(t.url("/login"))
        .form(&[
            ("_csrf", csrf_of(&page).as_str()),
            ("email", "clerk@example.jp"),
            ("password", "first password 2026"),
        ])
        .send()
        .await;
    let res = c2
        .get(t.url("/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/password")
    );
});

db_test!(health_metrics_and_api_document, |backend| async move {
    let Some(t) = spawn_with(backend, |c| c.metrics_token = Some("metrics-token".into())).await
    else {
        return;
    };
    assert_eq!(
        client()
            .get(t.url("/healthz"))
            .send()
            .await
            .map(|r| r.status())
            .ok(),
        Some(StatusCode::OK)
    );
    assert_eq!(
        client()
            .get(t.url("/readyz"))
            .send()
            .await
            .map(|r| r.status())
            .ok(),
        Some(StatusCode::OK)
    );
    let doc: serde_json::Value = client()
        .get(t.url("/api/openapi.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    assert!(doc["paths"]["/api/v1/session"]["post"].is_object());
    let docs = client()
        .get(t.url("/api/docs/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(docs.status(), StatusCode::OK);
    let _ = t.token("minato-operator@demo.vsys.jp").await;
    let metrics = client()
        .get(t.url("/metrics"))
        .bearer_auth("metrics-token")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(metrics.contains("vsys_http_requests_total"), "{metrics}");
});

db_test!(
    forwarded_for_only_from_trusted_proxies,
    |backend| async move {
        let Some(t) = spawn_with(backend, |c| {
            c.trusted_proxies = vec![
                "127.0.0.1"
                    .parse()
                    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
            ]
        })
        .await
        else {
            return;
        };
        let res = client()
            .post(t.url("/api/v1/session"))
            .header("x-forwarded-for", "203.0.113.7")
            .json(
                &serde_json::json!({"email": "minato-operator@demo.vsys.jp", "password": PASSWORD}),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::CREATED);
        let e = t
            .audit_actions("auth.login")
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("entry"));
        assert_eq!(e.ip.as_deref(), Some("203.0.113.7"));
        let Some(u) = spawn_app(backend).await else {
            return;
        };
        let _ = client()
            .post(u.url("/api/v1/session"))
            .header("x-forwarded-for", "203.0.113.7")
            .json(
                &serde_json::json!({"email": "minato-operator@demo.vsys.jp", "password": PASSWORD}),
            )
            .send()
            .await;
        let e = u
            .audit_actions("auth.login")
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("entry"));
        assert_eq!(
            e.ip.as_deref(),
            Some("127.0.0.1"),
            "untrusted peers cannot claim an address"
        );
    }
);

db_test!(login_returns_to_the_page_asked_for, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let c = browser_client();
    let res = c
        .get(t.url("/notices?page=1"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(location, "/login?next=%2Fnotices%3Fpage%3D1");
    let page = t.page(&c, &location).await;
    assert!(
        page.contains("name=\"next\" value=\"/notices?page=1\""),
        "{page}"
    );
    let res = c
        .post(t.url("/login"))
        .form(&[
            ("_csrf", csrf_of(&page).as_str()),
            ("email", "minato-operator@demo.vsys.jp"),
            ("password", PASSWORD),
            ("next", "/notices?page=1"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/notices?page=1")
    );
    // Never another site.
    let page = t.page(&c, "/login?next=//evil.example/").await;
    assert!(!page.contains("evil.example"));
});

db_test!(
    the_server_checkpoints_the_wal_in_the_background,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        if backend == vsys_testkit::Backend::Postgres {
            assert_eq!(t.db.db.checkpoint().await.ok(), Some(None));
            return;
        }
        // A write lands in the WAL; within seconds the background checkpointer copies it
        // into the database file, where a reader that ignores the WAL (immutable) finds it.
        t.make_user("13103", "viewer", "wal-check@example.jp").await;
        let path = t.db.url.trim_start_matches("sqlite:").to_owned();
        let in_main_file = || async {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .immutable(true)
                .read_only(true);
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let n: (i64,) =
                sqlx::query_as("SELECT count(*) FROM users WHERE email = 'wal-check@example.jp'")
                    .fetch_one(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            n.0
        };
        let mut seen = 0;
        for _ in 0..50 {
            seen = in_main_file().await;
            if seen == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(seen, 1, "checkpointed into the database file");
    }
);
