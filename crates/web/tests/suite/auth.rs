//! Authentication: login, throttling and lockout, expiry, TOTP, forced password change.

use crate::common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use vsys_testkit::db_test;

async fn try_login(t: &TestApp, email: &str, password: &str) -> reqwest::Response {
    client()
        .post(t.url("/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

db_test!(api_login_me_logout, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let token = t.token("minato-operator@demo.vsys.jp").await;
    let (s, me) = t.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["org_code"], "13103");
    assert_eq!(me["role"], "operator");
    let (s, _) = t.api(Method::DELETE, "/api/v1/session", &token, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, p) = t.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(p["type"], "/problems/not-logged-in");
    assert_eq!(t.audit_actions("auth.login").await.len(), 1);
    assert_eq!(t.audit_actions("auth.logout").await.len(), 1);
});

db_test!(
    wrong_passwords_slow_the_account_and_admins_lock_by_hand,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let victim = "minato-viewer@demo.vsys.jp";
        // Five failures are answered as failures; the account then waits.
        for _ in 0..5 {
            assert_eq!(
                try_login(&t, victim, "wrong password 1").await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let res = try_login(&t, victim, PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "even the right password waits"
        );
        let retry: i64 = res
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(retry > 0 && retry <= 30, "Retry-After {retry}");
        // Failing on and on never locks the account: after the wait the owner gets in.
        for _ in 5..12 {
            t.clock.advance(chrono::Duration::minutes(16));
            let s = try_login(&t, victim, "wrong password 2").await.status();
            assert!(
                s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
                "{s}"
            );
        }
        assert!(!t.user(victim).await.locked);
        assert!(t.audit_actions("user.lock").await.is_empty());
        t.clock.advance(chrono::Duration::minutes(16));
        assert_eq!(
            try_login(&t, victim, PASSWORD).await.status(),
            StatusCode::CREATED
        );
        // An administrator locks the account by hand (operators cannot).
        let operator = t.token("minato-operator@demo.vsys.jp").await;
        let id = t.user(victim).await.id;
        let lock = format!("/api/v1/users/{id}/lock");
        let (s, _) = t.api(Method::POST, &lock, &operator, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "operators cannot lock");
        let admin = t
            .make_user("13103", "admin", "minato-admin2@example.jp")
            .await;
        let admin = t.token(&admin).await;
        let (s, body) = t.api(Method::POST, &lock, &admin, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["locked"], true);
        let (s, p) = t.api(Method::POST, &lock, &admin, None).await;
        assert_eq!(s, StatusCode::CONFLICT, "{p}");
        assert_eq!(t.audit_actions("user.lock").await.len(), 1);
        // A locked account answers exactly like a wrong password, whatever the password.
        let right = try_login(&t, victim, PASSWORD).await;
        assert_eq!(right.status(), StatusCode::UNAUTHORIZED);
        let right: serde_json::Value = right.json().await.unwrap_or_default();
        let wrong: serde_json::Value = try_login(&t, victim, "wrong password 3")
            .await
            .json()
            .await
            .unwrap_or_default();
        assert_eq!(right, wrong);
        assert_eq!(right["type"], "/problems/login-failed");
        // The organisation's admin lifts the lock.
        let (s, _) = t
            .api(
                Method::POST,
                &format!("/api/v1/users/{id}/unlock"),
                &operator,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "operators cannot unlock");
        let (s, body) = t
            .api(
                Method::POST,
                &format!("/api/v1/users/{id}/unlock"),
                &admin,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(
            try_login(&t, victim, PASSWORD).await.status(),
            StatusCode::CREATED
        );
    }
);

db_test!(
    one_address_is_blocked_across_accounts,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // 15 failures (the test policy) from one address, spread over many accounts.
        for i in 0..15 {
            let s = try_login(&t, &format!("nobody{i}@example.jp"), "wrong password 3")
                .await
                .status();
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
        let res = try_login(&t, "minato-operator@demo.vsys.jp", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        t.clock.advance(chrono::Duration::minutes(16));
        assert_eq!(
            try_login(&t, "minato-operator@demo.vsys.jp", PASSWORD)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
);

db_test!(idle_and_absolute_expiry, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let token = t.token("tokyo-operator@demo.vsys.jp").await;
    t.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(
        t.api(Method::GET, "/api/v1/me", &token, None).await.0,
        StatusCode::OK
    );
    t.clock.advance(chrono::Duration::minutes(31));
    let (s, p) = t.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(p["type"], "/problems/session-expired");
    // Active all day: still ends after 12 hours.
    let token = t.token("tokyo-operator@demo.vsys.jp").await;
    for _ in 0..(12 * 60 / 20 - 1) {
        t.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(
            t.api(Method::GET, "/api/v1/me", &token, None).await.0,
            StatusCode::OK
        );
    }
    t.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(
        t.api(Method::GET, "/api/v1/me", &token, None).await.0,
        StatusCode::UNAUTHORIZED
    );
});

db_test!(totp_required_for_nation_admin, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let email = "nation-admin@demo.vsys.jp";
    let res = try_login(&t, email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let p: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(p["type"], "/problems/totp-required");
    let bad = client()
        .post(t.url("/api/v1/session"))
        .json(&json!({"email": email, "password": PASSWORD, "totp": "000000"}))
        .send()
        .await;
    let bad = bad.unwrap_or_else(|e| panic!("{e}"));
    let code = t.totp(email).await;
    if code != "000000" {
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    }
    let ok = client()
        .post(t.url("/api/v1/session"))
        .json(&json!({"email": email, "password": PASSWORD, "totp": code}))
        .send()
        .await;
    assert_eq!(ok.map(|r| r.status()).ok(), Some(StatusCode::CREATED));
    // The same code cannot be replayed.
    let replay = client()
        .post(t.url("/api/v1/session"))
        .json(&json!({"email": email, "password": PASSWORD, "totp": code}))
        .send()
        .await;
    assert_eq!(
        replay.map(|r| r.status()).ok(),
        Some(StatusCode::UNAUTHORIZED)
    );
    // On the web, the password leads to the code step.
    let (c, res) = t.web_password(email).await;
    assert_eq!(
        res.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/login/totp")
    );
    // Until the code is given, no page is served.
    let home = c
        .get(t.url("/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        home.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    t.clock.advance(chrono::Duration::seconds(31));
    let page = t.page(&c, "/login/totp").await;
    let code = t.totp(email).await;
    let res = c
        .post(t.url("/login/totp"))
        .form(&[("_csrf", csrf_of(&page).as_str()), ("code", code.as_str())])
        .send()
        .await;
    assert_eq!(res.map(|r| r.status()).ok(), Some(StatusCode::SEE_OTHER));
    let home = c
        .get(t.url("/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(home.status(), StatusCode::OK);
});

db_test!(
    prefecture_admin_without_totp_must_set_it_up,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let email = t
            .make_user("14", "admin", "kanagawa-admin@example.jp")
            .await;
        let res = try_login(&t, &email, PASSWORD).await;
        let p: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(p["type"], "/problems/totp-setup-required");
        let c = browser_client();
        let page = t.page(&c, "/login").await;
        let res = c
            .post(t.url("/login"))
            .form(&[
                ("_csrf", csrf_of(&page).as_str()),
                ("email", email.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await;
        let res = res.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            res.headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some("/login/totp-setup")
        );
        let page = t.page(&c, "/login/totp-setup").await;
        let secret = page
            .split("id=\"totp-secret\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_default()
            .to_owned();
        let s = vsys_domain::totp::TotpSecret::from_base32(&secret)
            .unwrap_or_else(|| panic!("secret shown: {page}"));
        let code = s.code_at(t.app.clock.now().timestamp());
        let res = c
            .post(t.url("/login/totp-setup"))
            .form(&[
                ("_csrf", csrf_of(&page).as_str()),
                ("secret", secret.as_str()),
                ("code", code.as_str()),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            c.get(t.url("/")).send().await.map(|r| r.status()).ok(),
            Some(StatusCode::OK)
        );
        assert!(t.user(&email).await.totp_secret.is_some());
        assert_eq!(t.audit_actions("user.totp_enable").await.len(), 1);
    }
);

db_test!(
    lost_authenticator_is_reset_by_another_admin,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let email = "tokyo-admin@demo.vsys.jp";
        let id = t.user(email).await.id;
        let tokyo = t.token(email).await;
        let path = format!("/api/v1/users/{id}/totp-reset");
        // Not by the user themself: a stolen session must not drop the second factor.
        let (s, p) = t.api(Method::POST, &path, &tokyo, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert!(
            p.to_string()
                .contains("自分の二要素認証はリセットできません"),
            "{p}"
        );
        // Not by an administrator below.
        let minato = t.token("minato-admin@demo.vsys.jp").await;
        let (s, _) = t.api(Method::POST, &path, &minato, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(t.user(email).await.totp_secret.is_some());
        // The nation's administrator resets it: the user's sessions end, the reset is audited
        // (without the secret), and the next login asks for a new setup.
        let nation = t.token("nation-admin@demo.vsys.jp").await;
        let (s, v) = t.api(Method::POST, &path, &nation, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(t.user(email).await.totp_secret.is_none());
        let (s, _) = t.api(Method::GET, "/api/v1/me", &tokyo, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "the old session ended");
        let entries = t.audit_actions("user.totp_reset").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].object_id, id);
        let logged = format!("{:?}", entries[0]);
        assert!(!logged.to_lowercase().contains("totp_secret"), "{logged}");
        let res = try_login(&t, email, PASSWORD).await;
        let p: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(p["type"], "/problems/totp-setup-required");
        // Nothing left to reset.
        let (s, p) = t.api(Method::POST, &path, &nation, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(t.audit_actions("user.totp_reset").await.len(), 1);
    }
);

db_test!(first_login_forces_password_change, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let admin = t.token("minato-operator@demo.vsys.jp").await;
    let _ = admin;
    let admin = t
        .make_user("13103", "admin", "minato-admin3@example.jp")
        .await;
    let admin = t.token(&admin).await;
    let body = json!({"org_code": "13103", "email": "new.person@example.jp", "name": "新規 太郎", "role": "operator", "password": "initial password 2026"});
    let (s, created) = t
        .api(Method::POST, "/api/v1/users", &admin, Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["must_change_password"], true);
    let res = try_login(&t, "new.person@example.jp", "initial password 2026").await;
    let token = res.json::<serde_json::Value>().await.unwrap_or_default()["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (s, p) = t.api(Method::GET, "/api/v1/orgs/13103", &token, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(p["type"], "/problems/password-change-required");
    assert_eq!(
        t.api(Method::GET, "/api/v1/notices", &token, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.api(Method::GET, "/api/v1/me", &token, None).await.0,
        StatusCode::OK
    );
    // Policy violations are explained field by field, in the caller's language.
    let res = client()
        .post(t.url("/api/v1/me/password"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({"current_password": "initial password 2026", "new_password": "new.person@example.jp"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(p["errors"][0]["field"], "new_password");
    assert_eq!(
        p["errors"][0]["message"],
        "The password must not be your e-mail address."
    );
    let (s, p) = t
        .api(
            Method::POST,
            "/api/v1/me/password",
            &token,
            Some(json!({"current_password": "initial password 2026", "new_password": "short"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        p["errors"][0]["message"],
        "パスワードは12文字以上にしてください。"
    );
    let (s, _) = t
        .api(Method::POST, "/api/v1/me/password", &token, Some(json!({"current_password": "initial password 2026", "new_password": "みなとくのワクチン担当です"})))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        t.api(Method::GET, "/api/v1/orgs/13103", &token, None)
            .await
            .0,
        StatusCode::OK
    );
});

db_test!(if_match_guards_updates, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let admin = t
        .make_user("13103", "admin", "minato-admin4@example.jp")
        .await;
    let admin = t.token(&admin).await;
    let id = t.user("minato-viewer@demo.vsys.jp").await.id;
    let res = client()
        .get(t.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let etag = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(etag, "\"v0\"");
    let patch = |tag: Option<&str>| {
        let mut r = client()
            .patch(t.url(&format!("/api/v1/users/{id}")))
            .bearer_auth(&admin)
            .json(&json!({"name": "改名 次郎"}));
        if let Some(tag) = tag {
            r = r.header(header::IF_MATCH, tag);
        }
        r.send()
    };
    assert_eq!(
        patch(None).await.map(|r| r.status()).ok(),
        Some(StatusCode::PRECONDITION_REQUIRED)
    );
    assert_eq!(
        patch(Some(&etag)).await.map(|r| r.status()).ok(),
        Some(StatusCode::OK)
    );
    let stale = patch(Some(&etag)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let p: serde_json::Value = stale.json().await.unwrap_or_default();
    assert_eq!(
        p["title"],
        "他の利用者がこのデータを変更しました。画面を更新してからやり直してください。"
    );
});
