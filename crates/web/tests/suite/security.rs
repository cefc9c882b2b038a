//! The security issue's regression tests, black-box against the real server on both
//! databases: login stages, the throttle under concurrent attempts, simultaneous logins,
//! bounded input, control characters, problem documents for every refusal, import sizes,
//! outsiders and the account throttle, and the smaller holes (409 for wrong states, local
//! notice links, `/metrics`, `__Host-` cookies, sealed TOTP secrets, period lengths).

use crate::allocation::{cycle_with_supply, division};
use crate::common::*;
use reqwest::{Client, Method, StatusCode, header};
use serde_json::{Value, json};
use vsys_testkit::db_test;

async fn login_body(t: &TestApp, body: Value, forwarded: Option<&str>) -> reqwest::Response {
    let mut req = client().post(t.url("/api/v1/session")).json(&body);
    if let Some(ip) = forwarded {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap_or_else(|e| panic!("{e}"))
}

async fn login_from(t: &TestApp, email: &str, password: &str, ip: &str) -> reqwest::Response {
    login_body(t, json!({"email": email, "password": password}), Some(ip)).await
}

fn retry_after(res: &reqwest::Response) -> i64 {
    res.headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

fn is_problem(res: &reqwest::Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// Posts the web login form; returns the client and where it was sent.
async fn web_password(t: &TestApp, email: &str) -> (Client, String) {
    let (c, res) = t.web_password(email).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{email}");
    (c, location(&res))
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The session's stage as the database keeps it (the browser's cookie names it).
async fn stage_of(t: &TestApp, email: &str) -> Vec<String> {
    let id = t.user(email).await.id;
    let mut tx = t.db.db.read().await.unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<(String,)> = match &mut tx {
        vsys_store::Tx::Sqlite(c) => {
            sqlx::query_as("SELECT stage FROM sessions WHERE user_id = ?1")
                .bind(&id)
                .fetch_all(&mut **c)
                .await
                .unwrap_or_default()
        }
        vsys_store::Tx::Postgres(c) => {
            sqlx::query_as("SELECT stage FROM sessions WHERE user_id = $1")
                .bind(&id)
                .fetch_all(&mut **c)
                .await
                .unwrap_or_default()
        }
    };
    rows.into_iter().map(|r| r.0).collect()
}

/// The CSRF token of whichever login page the session's stage shows.
async fn csrf_any(t: &TestApp, c: &Client) -> String {
    for p in ["/login/totp", "/login/totp-setup", "/password"] {
        let token = csrf_of(&t.page(c, p).await);
        if !token.is_empty() {
            return token;
        }
    }
    String::new()
}

const ATTACKER_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn attacker_code(t: &TestApp) -> String {
    vsys_domain::totp::TotpSecret::from_base32(ATTACKER_SECRET)
        .unwrap_or_else(|| panic!("secret"))
        .code_at(t.app.clock.now().timestamp())
}

db_test!(
    totp_enrolment_cannot_replace_an_enrolled_secret,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let victim = "tokyo-admin@demo.vsys.jp";
        let before = t.user(victim).await.totp_secret;
        // With only the password: the TOTP stage.
        let (c, to) = web_password(&t, victim).await;
        assert_eq!(to, "/login/totp");
        let page = t.page(&c, "/login/totp").await;
        let csrf = csrf_of(&page);
        // The enrolment form of another stage, with the attacker's own secret and code.
        let res = c
            .post(t.url("/login/totp-setup"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("secret", ATTACKER_SECRET),
                ("code", attacker_code(&t).as_str()),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/login/totp", "sent back to its own step");
        // No session became active, the secret is the victim's, and their code still works.
        assert_eq!(stage_of(&t, victim).await, vec!["totp".to_owned()]);
        assert_eq!(t.user(victim).await.totp_secret, before);
        let res = c
            .get(t.url("/"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(location(&res).starts_with("/login"), "{}", location(&res));
        assert!(t.audit_actions("user.totp_enable").await.is_empty());
        let code = t.totp(victim).await;
        let res = c
            .post(t.url("/login/totp"))
            .form(&[("_csrf", csrf.as_str()), ("code", code.as_str())])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/");
        // The next code (a code is good once).
        t.clock.advance(chrono::Duration::seconds(30));
        // An active session cannot enrol either (the account has a secret): not over the API.
        let token = t.token(victim).await;
        let (s, p) = t
            .api(
                Method::POST,
                "/api/v1/me/totp",
                &token,
                Some(json!({"secret": ATTACKER_SECRET, "code": attacker_code(&t)})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{p}");
        assert_eq!(t.user(victim).await.totp_secret, before);
    }
);

/// What one login-stage handler did to a session in one stage.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Redirected to this place, stage unchanged (or unchanged by the handler).
    To(String),
    /// Answered with this status, without a redirect.
    Status(u16),
}

db_test!(every_login_step_checks_its_stage, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let enrolled = "tokyo-admin@demo.vsys.jp"; // has a TOTP secret: stage totp
    let fresh = t
        .make_user("13", "admin", "tokyo-admin-new@example.jp")
        .await; // must enrol
    let operator = "minato-operator@demo.vsys.jp"; // active at once
    let forced = "minato-forced@example.jp";
    vsys_app::accounts::create_system(
        &t.app,
        &vsys_app::audit::Who::system(),
        &vsys_app::accounts::NewUser {
            org_code: "13103".into(),
            email: forced.into(),
            name: "強制 変更".into(),
            role: "operator".into(),
            password: PASSWORD.into(),
        },
        true,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    // (who, expected stage after the password)
    let stages = [
        (enrolled, "totp"),
        (fresh.as_str(), "totp_setup"),
        (forced, "active"),
        (operator, "active"),
    ];
    for (email, stage) in stages {
        // Each handler, on a fresh session of that stage.
        let handlers: [(&str, &str); 7] = [
            ("GET", "/login/totp"),
            ("POST", "/login/totp"),
            ("GET", "/login/totp-setup"),
            ("POST", "/login/totp-setup"),
            ("GET", "/password"),
            ("POST", "/password"),
            ("GET", "/"),
        ];
        for (method, path) in handlers {
            let (c, _) = web_password(&t, email).await;
            assert_eq!(
                stage_of(&t, email).await.last().map(String::as_str),
                Some(stage)
            );
            let secret_before = t.user(email).await.totp_secret;
            let csrf = csrf_any(&t, &c).await;
            assert!(!csrf.is_empty(), "{email}: a page of its stage");
            let res = if method == "GET" {
                c.get(t.url(path)).send().await
            } else {
                // A wrong code and password: this walk is about who answers, not about
                // guessing (the enrolment bypass has its own test above).
                let code = "abcdef";
                c.post(t.url(path))
                    .form(&[
                        ("_csrf", csrf.as_str()),
                        ("code", code),
                        ("secret", ATTACKER_SECRET),
                        ("current_password", "not the password at all"),
                        ("new_password", "a brand new password 123"),
                        ("confirm_password", "a brand new password 123"),
                    ])
                    .send()
                    .await
            }
            .unwrap_or_else(|e| panic!("{e}"));
            let outcome = if res.status() == StatusCode::SEE_OTHER {
                Outcome::To(location(&res))
            } else {
                Outcome::Status(res.status().as_u16())
            };
            let own = match stage {
                "totp" => "/login/totp",
                "totp_setup" => "/login/totp-setup",
                _ => "/",
            };
            let serves = |p: &str| match p {
                "/login/totp" => stage == "totp",
                "/login/totp-setup" => stage == "totp_setup",
                "/password" => stage == "active",
                _ => stage == "active" && email != forced,
            };
            let ctx = format!("{email} in {stage}: {method} {path} → {outcome:?}");
            if !serves(path) {
                // Another stage's handler: back to this stage's own page, nothing done.
                let expected = if path == "/" && stage != "active" {
                    // The home page sends anyone not fully logged in to their step.
                    match stage {
                        "totp_setup" => "/login/totp-setup".to_owned(),
                        _ => "/login".to_owned(),
                    }
                } else if path == "/" {
                    "/password".to_owned()
                } else {
                    own.to_owned()
                };
                assert_eq!(outcome, Outcome::To(expected), "{ctx}");
            } else if method == "POST" {
                // Its own handler with a wrong code or password: refused, nothing changes.
                assert!(
                    matches!(outcome, Outcome::Status(s) if (400..500).contains(&s)),
                    "{ctx}"
                );
            } else {
                assert_eq!(outcome, Outcome::Status(200), "{ctx}");
            }
            assert_eq!(
                stage_of(&t, email).await.last().map(String::as_str),
                Some(stage),
                "{ctx}: the stage did not move"
            );
            assert_eq!(t.user(email).await.totp_secret, secret_before, "{ctx}");
            // Log out (any stage may), so the next round starts clean.
            let csrf = csrf_any(&t, &c).await;
            let res = c
                .post(t.url("/logout"))
                .form(&[("_csrf", csrf.as_str())])
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{ctx}: logout");
            // Keep the throttle out of the way of the next round.
            t.clock.advance(chrono::Duration::minutes(20));
        }
    }
    assert!(t.audit_actions("user.totp_enable").await.is_empty());
    assert!(t.audit_actions("user.password_change").await.is_empty());
});

/// Sends `n` logins of one account at once; `right` says which carry the right password.
async fn burst(
    t: &TestApp,
    email: &'static str,
    n: usize,
    right: impl Fn(usize) -> bool,
) -> Vec<(bool, StatusCode, bool)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let url = t.url("/api/v1/session");
        let is_right = right(i);
        let password = if is_right {
            PASSWORD.to_owned()
        } else {
            format!("wrong password {i}")
        };
        tasks.push(tokio::spawn(async move {
            let res = client()
                .post(url)
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            (is_right, res.status(), is_problem(&res))
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

db_test!(
    a_burst_of_wrong_passwords_is_counted_before_any_is_checked,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let victim = "minato-viewer@demo.vsys.jp";
        // 60 wrong passwords at once: the policy (a wait after five failures) holds.
        let results = burst(&t, victim, 60, |_| false).await;
        let checked = results
            .iter()
            .filter(|(_, s, _)| *s == StatusCode::UNAUTHORIZED)
            .count();
        for (_, status, problem) in &results {
            assert!(
                *status == StatusCode::UNAUTHORIZED || *status == StatusCode::TOO_MANY_REQUESTS,
                "{status}"
            );
            assert!(*problem);
        }
        assert!(
            (1..=5).contains(&checked),
            "{checked} wrong passwords were checked"
        );
        assert_eq!(t.audit_actions("auth.login_failed").await.len(), checked);
        // The right password inside such a burst is answered like the wrong ones around it
        // (never a 412 that gives it away): in or throttled.
        t.clock.advance(chrono::Duration::minutes(30));
        let results = burst(&t, victim, 40, |i| i == 20).await;
        for (right, status, _) in results {
            if right {
                assert!(
                    status == StatusCode::CREATED || status == StatusCode::TOO_MANY_REQUESTS,
                    "the right password: {status}"
                );
            } else {
                assert!(
                    status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                    "{status}"
                );
            }
        }
    }
);

db_test!(
    simultaneous_logins_of_one_user_all_succeed,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let url = t.url("/api/v1/session");
            tasks.push(tokio::spawn(async move {
                client()
                    .post(url)
                    .json(&json!({"email": "tokyo-operator@demo.vsys.jp", "password": PASSWORD}))
                    .send()
                    .await
                    .map(|r| r.status())
                    .unwrap_or_else(|e| panic!("{e}"))
            }));
        }
        for task in tasks {
            assert_eq!(
                task.await.unwrap_or_else(|e| panic!("{e}")),
                StatusCode::CREATED
            );
        }
        assert_eq!(t.audit_actions("auth.login").await.len(), 8);
        assert!(
            t.user("tokyo-operator@demo.vsys.jp")
                .await
                .last_login_at
                .is_some()
        );
    }
);

db_test!(
    outsiders_slow_an_account_briefly_and_learn_nothing,
    |backend| async move {
        let Some(t) = spawn_with(backend, |c| {
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))];
        })
        .await
        else {
            return;
        };
        let known = "minato-viewer@demo.vsys.jp";
        let unknown = "minato-nobody@demo.vsys.jp";
        // An outsider tries one known and one unknown address, each from its own machine, and
        // waits out every delay: both answer alike at every step.
        let mut last_retry = 0;
        for round in 0..9 {
            let a = login_from(&t, known, "guess guess guess", "203.0.113.7").await;
            let b = login_from(&t, unknown, "guess guess guess", "203.0.113.8").await;
            let (sa, sb) = (a.status(), b.status());
            let (ra, rb) = (retry_after(&a), retry_after(&b));
            let pa: Value = a.json().await.unwrap_or_default();
            let pb: Value = b.json().await.unwrap_or_default();
            assert_eq!((sa, &pa, ra), (sb, &pb, rb), "round {round}");
            if sa == StatusCode::TOO_MANY_REQUESTS {
                last_retry = ra;
                t.clock.advance(chrono::Duration::seconds(ra));
                // After the wait the next guess is taken (and fails).
                let a = login_from(&t, known, "guess guess guess", "203.0.113.7").await;
                let b = login_from(&t, unknown, "guess guess guess", "203.0.113.8").await;
                assert_eq!(
                    a.status(),
                    StatusCode::UNAUTHORIZED,
                    "round {round} after {ra}: {:?} {:?}",
                    retry_after(&a),
                    a.text().await
                );
                assert_eq!(b.status(), StatusCode::UNAUTHORIZED, "round {round}");
            }
        }
        assert!(last_retry > 0, "the outsider was slowed down");
        // The owner, from elsewhere, waits at most the account's ceiling (120 s) after the
        // outsider's last guess, then logs in: the account was never locked.
        t.clock.advance(chrono::Duration::seconds(121));
        let res = login_from(&t, known, PASSWORD, "198.51.100.9").await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(!t.user(known).await.locked);
        // The outsider's own address still waits far longer, even with the right password.
        let res = login_from(&t, known, PASSWORD, "203.0.113.7").await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after(&res) > 120, "{}", retry_after(&res));
    }
);

db_test!(
    numbers_out_of_range_are_refused_naming_the_parameter,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        for path in [
            "/api/v1/sites",
            "/api/v1/orgs",
            "/api/v1/deliveries",
            "/api/v1/notices",
            "/api/v1/users",
            "/api/v1/cycles",
            "/api/v1/audit",
        ] {
            for (query, field) in [
                ("page=18446744073709551615", "page"),
                ("page=0", "page"),
                ("page=1000001", "page"),
                ("per_page=0", "per_page"),
                ("per_page=501", "per_page"),
                ("page=-1", "page"),
                ("page=abc", "page"),
            ] {
                let res = client()
                    .get(t.url(&format!("{path}?{query}")))
                    .bearer_auth(&nation)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{path}?{query}: {e}"));
                let status = res.status();
                let problem = is_problem(&res);
                let p: Value = res.json().await.unwrap_or_default();
                // Audit search is the nation admin's: an operator may get 403 first.
                if status == StatusCode::FORBIDDEN {
                    continue;
                }
                assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?{query}: {p}");
                assert!(problem, "{path}?{query}");
                assert_eq!(p["errors"][0]["field"], field, "{path}?{query}: {p}");
            }
        }
        // The last page still works.
        let (s, _) = t
            .api(
                Method::GET,
                "/api/v1/orgs?page=1000000&per_page=500",
                &nation,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        // 分配シミュレーション: totals out of range are named, not wrapped or accepted.
        let id = cycle_with_supply(&t).await;
        for total in [
            json!(9_223_372_036_854_775_807i64),
            json!(-100),
            json!(1_000_000_001),
        ] {
            let (s, p) = t
                .api(
                    Method::POST,
                    &format!("/api/v1/cycles/{id}/allocations/JP/simulate"),
                    &nation,
                    Some(json!({"total_vials": total})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{total}: {p}");
            assert_eq!(p["errors"][0]["field"], "total_vials", "{p}");
        }
        let (s, p) = t
            .api(
                Method::POST,
                &format!("/api/v1/cycles/{id}/allocations/JP/simulate"),
                &nation,
                Some(json!({"total_vials": 1000})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        // A line's amount beyond any real quantity is named too.
        let d = division(&t, &nation, &id, "JP").await;
        let v = d["version"].as_i64().unwrap_or(0);
        let res = client()
            .put(t.url(&format!("/api/v1/cycles/{id}/allocations/JP/lines")))
            .bearer_auth(&nation)
            .header("if-match", format!("\"v{v}\""))
            .json(&json!({"lines": [{"org_code": "13", "amount": 9_223_372_036_854_775_807i64}]}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = res.status();
        let p: Value = res.json().await.unwrap_or_default();
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::CONFLICT,
            "{status} {p}"
        );
    }
);

db_test!(
    control_characters_are_refused_alike_on_both_databases,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // The login e-mail.
        let res = login_body(
            &t,
            json!({"email": "minato-operator@demo.vsys.jp\u{0}", "password": PASSWORD}),
            None,
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(is_problem(&res));
        let p: Value = res.json().await.unwrap_or_default();
        assert_eq!(p["errors"][0]["field"], "email", "{p}");
        // A search (`?q=`) and the public feed's municipality.
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        for path in [
            "/api/v1/orgs?q=%E6%B8%AF%00",
            "/api/v1/public/sites?municipality=13103%00",
        ] {
            let res = client()
                .get(t.url(path))
                .bearer_auth(&nation)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
            assert!(is_problem(&res), "{path}");
        }
        // A doctor's name (a form of a clinic) and a path parameter.
        let clinic = t.token("clinic-operator@demo.vsys.jp").await;
        let (_, me) = t.api(Method::GET, "/api/v1/me", &clinic, None).await;
        let code = me["org_code"].as_str().unwrap_or_default().to_owned();
        let (s, p) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{code}/doctors"),
                &clinic,
                Some(json!({"name": "医師\u{0}太郎", "registration_number": "123456"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["errors"][0]["field"], "name", "{p}");
        let (s, _) = t
            .api(Method::GET, "/api/v1/sites/1310%00", &clinic, None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        // A screen form: refused with a page, nothing stored.
        let c = t.web_login("minato-operator@demo.vsys.jp").await;
        let page = t.page(&c, "/users/new").await;
        let res = c
            .post(t.url("/users"))
            .form(&[
                ("_csrf", csrf_of(&page).as_str()),
                ("org_code", "13103"),
                ("email", "nul@example.jp"),
                ("name", "名前\u{0}"),
                ("role", "viewer"),
                ("password", "a long enough password"),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(res.status().is_client_error(), "{}", res.status());
        let mut tx = t.db.db.read().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            vsys_store::users::by_email(&mut tx, "nul@example.jp")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none()
        );
    }
);

db_test!(
    every_api_refusal_is_a_problem_document,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let clinic = t.token("clinic-operator@demo.vsys.jp").await;
        let (_, me) = t.api(Method::GET, "/api/v1/me", &clinic, None).await;
        let site = me["org_code"].as_str().unwrap_or_default().to_owned();
        let raw = |method: Method, path: &str, token: &str, ctype: Option<&str>, body: Vec<u8>| {
            let mut req = client().request(method, t.url(path)).bearer_auth(token);
            if let Some(c) = ctype {
                req = req.header(header::CONTENT_TYPE, c);
            }
            req.body(body).send()
        };
        let long = format!("/api/v1/orgs?q={}", "a".repeat(9000));
        let cases: Vec<(reqwest::Response, StatusCode, &str)> = vec![
            (
                raw(
                    Method::POST,
                    "/api/v1/orgs/13/notices",
                    &nation,
                    Some("application/json"),
                    b"{\"title_ja\":".to_vec(),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::BAD_REQUEST,
                "malformed JSON",
            ),
            (
                raw(
                    Method::POST,
                    "/api/v1/orgs/13/notices",
                    &nation,
                    Some("application/json"),
                    br#"{"category":1}"#.to_vec(),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong types",
            ),
            (
                raw(
                    Method::POST,
                    "/api/v1/orgs/13/notices",
                    &nation,
                    Some("text/plain"),
                    b"hello".to_vec(),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "wrong content type",
            ),
            (
                raw(Method::GET, "/api/v1/orgs?page=x", &nation, None, vec![])
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::BAD_REQUEST,
                "bad query",
            ),
            (
                raw(
                    Method::GET,
                    &format!("/api/v1/sites/{site}/results/2026-02-30"),
                    &clinic,
                    None,
                    vec![],
                )
                .await
                .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::BAD_REQUEST,
                "impossible date in the path",
            ),
            (
                raw(Method::GET, &long, &nation, None, vec![])
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::URI_TOO_LONG,
                "path over 8 KiB",
            ),
            (
                raw(Method::PATCH, "/api/v1/me", &nation, None, vec![])
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
            ),
            (
                raw(Method::GET, "/api/v1/nowhere", &nation, None, vec![])
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                StatusCode::NOT_FOUND,
                "unknown path",
            ),
        ];
        for (res, status, what) in cases {
            assert_eq!(res.status(), status, "{what}");
            assert!(is_problem(&res), "{what}: {:?}", res.headers());
            let p: Value = res.json().await.unwrap_or_default();
            assert_eq!(p["status"], status.as_u16(), "{what}: {p}");
            assert!(p["title"].as_str().is_some_and(|s| !s.is_empty()), "{what}");
        }
        // A JSON body over its limit (2 MiB) is refused from the announced length. (Sending
        // the 3 MiB as well would race: the server answers and closes while the client still
        // writes, and the client may see the reset rather than the answer.)
        let answer = announce_only(
            &t,
            "/api/v1/orgs/13/notices",
            &nation,
            "application/json",
            3 << 20,
        )
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "body over the limit: {answer}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "body over the limit: {answer}"
        );
        // In the caller's language.
        let res = client()
            .get(t.url("/api/v1/orgs?page=x"))
            .bearer_auth(&nation)
            .header(header::ACCEPT_LANGUAGE, "en")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let p: Value = res.json().await.unwrap_or_default();
        assert_eq!(p["title"], "A parameter has an invalid value.");
    }
);

/// Sends only the head of a POST that announces a body of `len` bytes, and reads the
/// answer: a body over the limit is refused from its announced length, before any of it is
/// read (a client that waits for `100 Continue` never has to send it).
async fn announce_only(t: &TestApp, path: &str, token: &str, ctype: &str, len: usize) -> String {
    use tokio::io::AsyncReadExt;
    let mut sock = t
        .send_raw(
            &format!("POST {path} HTTP/1.1"),
            &format!(
                "Authorization: Bearer {token}\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A registry file of `n` institutions in 港区 (UTF-8).
fn registry(n: usize) -> Vec<u8> {
    let mut s = String::from(
        "医療機関コード,老健施設等コード,名称,郵便番号,市町村コード,住所,代表者,契約状況,種別,基本型コード\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "13{:08},,港区テスト診療所第{i}号院,105-0011,13103,東京都港区芝公園4-2-{i},港 太郎,契約済,基本型,\n",
            60_000_000 + i
        ));
    }
    s.into_bytes()
}

db_test!(
    the_registry_import_takes_large_files_over_the_api,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        // 25,000 rows (~3 MB; 2 MB used to be the limit).
        let body = registry(25_000);
        assert!(body.len() > 2 * 1024 * 1024);
        let res = client()
            .post(t.url("/api/v1/site-imports"))
            .bearer_auth(&nation)
            .header(header::CONTENT_TYPE, "text/csv")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = res.status();
        let v: Value = res.json().await.unwrap_or_default();
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["created"], 25_000, "{v}");
        // Beyond the import limit (64 MiB): refused from the announced length alone, before
        // any of it is read, with a problem document.
        let answer = announce_only(&t, "/api/v1/site-imports", &nation, "text/csv", 65 << 20).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{answer}"
        );
    }
);

db_test!(the_smaller_holes_are_closed, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let nation = t.token("nation-operator@demo.vsys.jp").await;
    // A wrong state is a 409 with the reason, not "someone else changed this".
    let id = cycle_with_supply(&t).await;
    let confirm = format!("/api/v1/cycles/{id}/allocations/JP/confirm");
    // Confirmed (by this call or from the start), then once more: a wrong state.
    let _ = t.api(Method::POST, &confirm, &nation, None).await;
    let (s, p) = t.api(Method::POST, &confirm, &nation, None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["type"], "/problems/wrong-state");
    assert!(
        p["title"].as_str().unwrap_or_default().contains("状態"),
        "{p}"
    );
    // Notice links stay inside vsys.
    for link in [
        "javascript:alert(1)",
        "https://evil.example/",
        "//evil.example/x",
    ] {
        let (s, p) = t
            .api(
                Method::POST,
                "/api/v1/orgs/13/notices",
                &nation,
                Some(json!({"category": "info", "title_ja": "件名", "title_en": "Title", "body_ja": "本文", "body_en": "Body", "link": link})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{link}: {p}");
        assert_eq!(p["errors"][0]["field"], "link");
    }
    let (s, p) = t
        .api(
            Method::POST,
            "/api/v1/orgs/13/notices",
            &nation,
            Some(json!({"category": "info", "title_ja": "件名", "title_en": "Title", "body_ja": "本文", "body_en": "Body", "link": "/notices"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    // A reporting period is at most 366 days.
    let nation_admin = t.token("nation-admin@demo.vsys.jp").await;
    let (s, p) = t
        .api(
            Method::POST,
            "/api/v1/reporting-periods",
            &nation_admin,
            Some(json!({"first_day": "2026-01-01", "last_day": "2126-01-01"})),
        )
        .await;
    assert!(
        s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::FORBIDDEN,
        "{s} {p}"
    );
    let (s, p) = t
        .api(
            Method::POST,
            "/api/v1/reporting-periods",
            &nation,
            Some(json!({"first_day": "2026-01-01", "last_day": "2126-01-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["errors"][0]["field"], "last_day", "{p}");
    // TOTP secrets are sealed at rest: the stored value is not the secret.
    let admin = t.user("tokyo-admin@demo.vsys.jp").await;
    let stored = admin.totp_secret.clone().unwrap_or_default();
    assert!(stored.starts_with("v1:"), "{stored}");
    let secret = vsys_app::auth::totp_secret_of(&t.app, &admin)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("secret"));
    assert!(!stored.contains(&secret.to_base32()));
    // The API document declares query parameters in the query, and optional bodies optional.
    let doc: Value = client()
        .get(t.url("/api/openapi.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let mut in_path = 0;
    for (path, ops) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for (method, op) in ops.as_object().cloned().unwrap_or_default() {
            for p in op["parameters"].as_array().cloned().unwrap_or_default() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap_or_default();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: `{name}` declared in: path"
                    );
                    in_path += 1;
                }
            }
        }
    }
    assert!(in_path > 30);
    let simulate = &doc["components"]["schemas"]["SimulateBody"];
    let required = simulate["required"].as_array().cloned().unwrap_or_default();
    assert!(!required.contains(&json!("formula")), "{simulate}");
    // /metrics is not served without a configured token.
    let res = client()
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
});

db_test!(metrics_need_the_configured_token, |backend| async move {
    let Some(t) = spawn_with(backend, |c| {
        c.metrics_token = Some("scrape-me-please".into());
        c.cookie_secure = true;
    })
    .await
    else {
        return;
    };
    let get = |token: Option<&'static str>| {
        let mut req = client().get(t.url("/metrics"));
        if let Some(tok) = token {
            req = req.bearer_auth(tok);
        }
        req.send()
    };
    assert_eq!(
        get(None).await.map(|r| r.status()).ok(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        get(Some("wrong")).await.map(|r| r.status()).ok(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let res = get(Some("scrape-me-please"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::OK);
    // With secure cookies, the login form's CSRF cookie is `__Host-` like the session's.
    let res = client()
        .get(t.url("/login"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cookies: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-vsys_login_csrf=")
                && c.contains("Secure")
                && c.contains("Path=/")),
        "{cookies:?}"
    );
});

db_test!(
    plaintext_secrets_of_older_versions_are_sealed_at_start,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // As an older version stored it: the base32 secret itself.
        let admin = t.user("tokyo-admin@demo.vsys.jp").await;
        let secret = vsys_app::auth::totp_secret_of(&t.app, &admin)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("secret"));
        let mut tx = t.db.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        let stored = admin.totp_secret.clone().unwrap_or_default();
        vsys_store::users::reseal_totp(&mut tx, &admin.id, &stored, &secret.to_base32())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        t.app.prepare().await.unwrap_or_else(|e| panic!("{e}"));
        let after = t.user("tokyo-admin@demo.vsys.jp").await;
        assert!(
            after
                .totp_secret
                .as_deref()
                .is_some_and(|s| s.starts_with("v1:"))
        );
        // Logging in with the authenticator still works.
        let token = t.token("tokyo-admin@demo.vsys.jp").await;
        assert!(!token.is_empty());
        // Another key does not open them: the server refuses to start rather than lock
        // every administrator out.
        let other = vsys_app::App::new(
            t.db.db.clone(),
            vsys_app::Config {
                secret_key: Some(vsys_app::secrets::Sealer::generate_key()),
                ..test_config(&t.db.url)
            },
            std::sync::Arc::new(vsys_app::SystemClock),
        );
        assert!(other.prepare().await.is_err());
    }
);
