//! Walks every operation of the OpenAPI document and proves that a user of another
//! municipality can neither read nor change 港区's data through it. An operation added without
//! a case here fails this test the day it is added.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vsys_testkit::db_test;

/// How one operation is checked.
enum Case {
    /// No organisation is involved (logging in).
    Public,
    /// Acts on the caller's own session or account only; there is no target to cross into.
    SelfOnly,
    /// A request about 港区's data: refused (403/404/422) for the outsider, succeeds for 港区.
    Target {
        path: String,
        body: Option<Value>,
        if_match: bool,
    },
    /// A list: 港区's item appears for 港区 and never for the outsider.
    List { path: String, needle: String },
}

struct Fixture {
    clinic: String,
    user_id: String,
    notice_id: String,
}

fn case(method: &str, path: &str, f: &Fixture) -> Option<Case> {
    let uid = &f.user_id;
    Some(match (method, path) {
        ("post", "/api/v1/session") => Case::Public,
        ("delete", "/api/v1/session")
        | ("get", "/api/v1/me")
        | ("post", "/api/v1/me/password")
        | ("post", "/api/v1/me/totp") => Case::SelfOnly,
        ("get", "/api/v1/orgs") => Case::List {
            path: "/api/v1/orgs?kind=institution&per_page=500".into(),
            needle: f.clinic.clone(),
        },
        ("get", "/api/v1/orgs/{code}") => Case::Target {
            path: format!("/api/v1/orgs/{}", f.clinic),
            body: None,
            if_match: false,
        },
        ("post", "/api/v1/orgs") => Case::Target {
            path: "/api/v1/orgs".into(),
            body: Some(json!({"kind": "site", "parent_code": "13103", "name": "越境テスト会場"})),
            if_match: false,
        },
        ("get", "/api/v1/users") => Case::Target {
            path: "/api/v1/users?org=13103".into(),
            body: None,
            if_match: false,
        },
        ("post", "/api/v1/users") => Case::Target {
            path: "/api/v1/users".into(),
            body: Some(
                json!({"org_code": "13103", "email": "cross@example.jp", "name": "越境", "role": "viewer", "password": "cross org password 1"}),
            ),
            if_match: false,
        },
        ("get", "/api/v1/users/{id}") => Case::Target {
            path: format!("/api/v1/users/{uid}"),
            body: None,
            if_match: false,
        },
        ("patch", "/api/v1/users/{id}") => Case::Target {
            path: format!("/api/v1/users/{uid}"),
            body: Some(json!({"name": "越境 改名"})),
            if_match: true,
        },
        ("post", "/api/v1/users/{id}/unlock") => Case::Target {
            path: format!("/api/v1/users/{uid}/unlock"),
            body: None,
            if_match: false,
        },
        ("post", "/api/v1/users/{id}/password-reset") => Case::Target {
            path: format!("/api/v1/users/{uid}/password-reset"),
            body: Some(json!({"password": "temporary password 9"})),
            if_match: false,
        },
        ("get", "/api/v1/notices") => Case::List {
            path: "/api/v1/notices?per_page=500".into(),
            needle: f.notice_id.clone(),
        },
        ("post", "/api/v1/notices/{id}/read") => Case::Target {
            path: format!("/api/v1/notices/{}/read", f.notice_id),
            body: None,
            if_match: false,
        },
        ("post", "/api/v1/orgs/{code}/notices") => Case::Target {
            path: "/api/v1/orgs/13103/notices".into(),
            body: Some(
                json!({"category": "info", "title_ja": "越境", "title_en": "Cross", "body_ja": "本文", "body_en": "Body"}),
            ),
            if_match: false,
        },
        ("get", "/api/v1/audit") | ("post", "/api/v1/audit/verify") => {
            // Nation administrators only: a municipality's admin is refused, whichever it is.
            Case::Target {
                path: path.to_owned(),
                body: None,
                if_match: false,
            }
        }
        _ => return None,
    })
}

async fn send(
    t: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: &Option<Value>,
    if_match: bool,
) -> (StatusCode, String) {
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
    let mut req = client().request(m, t.url(path)).bearer_auth(token);
    if if_match {
        req = req.header("if-match", "\"v0\"");
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    (res.status(), res.text().await.unwrap_or_default())
}

db_test!(
    every_api_operation_refuses_another_municipality,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // 港区's data: a clinic, a user, a notice.
        let mut tx = t.app.db.read().await.unwrap_or_else(|e| panic!("{e}"));
        let clinic = vsys_store::orgs::list(
            &mut tx,
            &vsys_store::orgs::OrgFilter {
                scope_path: "/JP/13/13103/".into(),
                kind: Some("institution".into()),
                ..Default::default()
            },
            vsys_store::Page::new(None, None),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .0[0]
            .code
            .clone();
        drop(tx);
        let user_id = t.user("minato-viewer@demo.vsys.jp").await.id;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let (_, n) = t
        .api(Method::POST, "/api/v1/orgs/13103/notices", &nation, Some(json!({"category": "info", "title_ja": "港区へ", "title_en": "To Minato", "body_ja": "本文", "body_en": "Body"})))
        .await;
        let notice_id = n["id"]
            .as_str()
            .unwrap_or_else(|| panic!("notice: {n}"))
            .to_owned();
        let f = Fixture {
            clinic,
            user_id,
            notice_id,
        };
        // The outsider is the strongest role of another municipality (新宿区).
        let outsider = t
            .make_user("13104", "admin", "shinjuku-admin@example.jp")
            .await;
        let outsider = t.token(&outsider).await;
        let insider = t
            .make_user("13103", "admin", "minato-admin5@example.jp")
            .await;
        let insider = t.token(&insider).await;

        let doc = serde_json::to_value(vsys_web::api::openapi()).unwrap_or_default();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        assert!(paths.len() >= 10, "the document lists the API");
        let mut missing = Vec::new();
        let mut checked = 0;
        for (path, item) in &paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                let Some(c) = case(method, path, &f) else {
                    missing.push(format!("{} {path}", method.to_uppercase()));
                    continue;
                };
                match c {
                    Case::Public | Case::SelfOnly => {}
                    Case::Target {
                        path: p,
                        body,
                        if_match,
                    } => {
                        let audit_before = t.audit_actions("").await.len();
                        let (s, text) = send(&t, method, &p, &outsider, &body, if_match).await;
                        assert!(
                            matches!(
                                s,
                                StatusCode::FORBIDDEN
                                    | StatusCode::NOT_FOUND
                                    | StatusCode::UNPROCESSABLE_ENTITY
                            ),
                            "{method} {p}: outsider got {s}: {text}"
                        );
                        assert!(
                            !text.contains("minato-viewer") && !text.contains(&f.clinic),
                            "{method} {p} leaked: {text}"
                        );
                        if method != "get" {
                            // Nothing was written (a refused write leaves no audit entry either).
                            assert_eq!(
                                t.audit_actions("").await.len(),
                                audit_before,
                                "{method} {p} wrote something"
                            );
                        }
                        if !p.starts_with("/api/v1/audit") {
                            let (s, text) = send(&t, method, &p, &insider, &body, if_match).await;
                            assert!(
                                s.is_success(),
                                "{method} {p}: 港区's own admin got {s}: {text}"
                            );
                        }
                        checked += 1;
                    }
                    Case::List { path: p, needle } => {
                        let (s, text) = send(&t, method, &p, &outsider, &None, false).await;
                        assert!(
                            s.is_success() && !text.contains(&needle),
                            "{method} {p}: outsider saw {needle}"
                        );
                        let (_, text) = send(&t, method, &p, &insider, &None, false).await;
                        assert!(
                            text.contains(&needle),
                            "{method} {p}: 港区 should see {needle}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "operations without a cross-organisation case: {missing:?}"
        );
        assert!(checked >= 12, "checked {checked}");
    }
);

db_test!(screens_refuse_another_municipality, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let user_id = t.user("minato-viewer@demo.vsys.jp").await.id;
    let outsider = t
        .make_user("13104", "admin", "shinjuku-admin2@example.jp")
        .await;
    let c = t.web_login(&outsider).await;
    for path in [
        format!("/users/{user_id}"),
        "/users?org=13103".into(),
        "/orgs/9131030001".into(),
        "/audit".into(),
    ] {
        let s = c
            .get(t.url(&path))
            .send()
            .await
            .map(|r| r.status())
            .unwrap_or(StatusCode::OK);
        assert!(
            matches!(s, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{path}: {s}"
        );
    }
    let page = c
        .get(t.url("/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let csrf = csrf_of(&page);
    let res = c
        .post(t.url(&format!("/users/{user_id}/reset")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("password", "temporary password 8"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        !t.user("minato-viewer@demo.vsys.jp")
            .await
            .must_change_password
    );
});
