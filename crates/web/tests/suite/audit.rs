//! The audit log: one entry per write, in the same transaction; chains catch tampering.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use vsys_testkit::db_test;

db_test!(
    every_write_is_audited_with_before_and_after,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let admin = t
            .make_user("13103", "admin", "minato-admin6@example.jp")
            .await;
        let admin = t.token(&admin).await;
        let body = json!({"org_code": "13103", "email": "audited@example.jp", "name": "監査 花子", "role": "viewer", "password": "audited password 1"});
        let (s, created) = t
            .api(Method::POST, "/api/v1/users", &admin, Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let e = t
            .audit_actions("user.create")
            .await
            .into_iter()
            .find(|e| e.object_id == id)
            .unwrap_or_else(|| panic!("no entry"));
        assert_eq!(e.actor_org.as_deref(), Some("13103"));
        assert_eq!(e.partition, "13103");
        assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
        let after = e.after.unwrap_or_default();
        assert!(after.contains("audited@example.jp"));
        assert!(!after.contains("argon2"), "no password hash in the log");
        // An update records before and after.
        let res = reqwest::Client::new()
            .patch(t.url(&format!("/api/v1/users/{id}")))
            .bearer_auth(&admin)
            .header("if-match", "\"v0\"")
            .json(&json!({"role": "operator"}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        let e = t
            .audit_actions("user.update")
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no update entry"));
        assert!(e.before.unwrap_or_default().contains("\"viewer\""));
        assert!(e.after.unwrap_or_default().contains("\"operator\""));
        // A refused write changes nothing and records nothing.
        let n = t.audit_actions("").await.len();
        let (s, _) = t.api(Method::POST, "/api/v1/users", &admin, Some(json!({"org_code": "13103", "email": "bad", "name": "", "role": "king", "password": "x"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(t.audit_actions("").await.len(), n);
        // Reading another person's account is recorded too.
        let (s, _) = t
            .api(Method::GET, &format!("/api/v1/users/{id}"), &admin, None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            t.audit_actions("user.read")
                .await
                .iter()
                .any(|e| e.object_id == id)
        );
        let report = vsys_app::audit::verify_on_host(&t.app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    }
);

db_test!(
    verify_catches_edited_and_deleted_entries,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        for i in 0..3 {
            t.make_user("13103", "viewer", &format!("chain{i}@example.jp"))
                .await;
        }
        let ok = vsys_app::audit::verify_on_host(&t.app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ok.breaks.is_empty() && ok.entries >= 3);
        let victim = t
            .audit_actions("user.create")
            .await
            .into_iter()
            .find(|e| e.object_id.len() > 10)
            .unwrap_or_else(|| panic!("entry"));
        let mut tx = t.db.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.raw(&format!(
            "UPDATE audit_log SET after = '{{\"edited\":true}}' WHERE id = '{}'",
            victim.id
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let r = vsys_app::audit::verify_on_host(&t.app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            r.breaks
                .iter()
                .any(|b| b.partition == victim.partition && b.seq == victim.seq),
            "{:?}",
            r.breaks
        );
        // Put it back, then delete a middle entry instead.
        let mut tx = t.db.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        let after = victim.after.clone().unwrap_or_default().replace('\'', "''");
        tx.raw(&format!(
            "UPDATE audit_log SET after = '{after}' WHERE id = '{}'",
            victim.id
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            vsys_app::audit::verify_on_host(&t.app)
                .await
                .map(|r| r.breaks.is_empty())
                .unwrap_or(false)
        );
        let mut tx = t.db.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.raw(&format!(
            "DELETE FROM audit_log WHERE partition = '{}' AND seq = 1",
            victim.partition
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let r = vsys_app::audit::verify_on_host(&t.app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!r.breaks.is_empty());
        // Nation admins see the log on screen and through the API; nobody else does.
        let nation = t.token("nation-admin@demo.vsys.jp").await;
        let (s, page) = t
            .api(
                Method::GET,
                "/api/v1/audit?action=user.create",
                &nation,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(page["total"].as_i64().unwrap_or(0) >= 2);
        let (s, v) = t
            .api(Method::POST, "/api/v1/audit/verify", &nation, None)
            .await;
        assert_eq!((s, v["ok"].clone()), (StatusCode::OK, json!(false)));
        let op = t.token("nation-operator@demo.vsys.jp").await;
        assert_eq!(
            t.api(Method::GET, "/api/v1/audit", &op, None).await.0,
            StatusCode::FORBIDDEN
        );
    }
);

db_test!(
    admins_reset_totp_on_screen_and_export_the_log_as_csv,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = t.user("tokyo-admin@demo.vsys.jp").await.id;
        let c = t.web_login("nation-admin@demo.vsys.jp").await;
        let page = t.page(&c, &format!("/users/{id}")).await;
        assert!(page.contains("id=\"totp-reset\""), "{page}");
        let res = c
            .post(t.url(&format!("/users/{id}/totp-reset")))
            .form(&[("_csrf", csrf_of(&page).as_str())])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            t.user("tokyo-admin@demo.vsys.jp")
                .await
                .totp_secret
                .is_none()
        );
        let page = t.page(&c, &format!("/users/{id}")).await;
        assert!(!page.contains("id=\"totp-reset\""), "nothing left to reset");
        // One's own account offers no reset.
        let me = t.user("nation-admin@demo.vsys.jp").await.id;
        let page = t.page(&c, &format!("/users/{me}")).await;
        assert!(!page.contains("id=\"totp-reset\""));
        // The log shows who did it by name.
        let admin = t.user("nation-admin@demo.vsys.jp").await;
        let page = t.page(&c, "/audit?action=user.totp_reset").await;
        assert!(
            page.contains(&format!("<td title=\"{}\">{}</td>", admin.id, admin.name)),
            "{page}"
        );
        // The log as CSV: UTF-8 with BOM, the reset in it.
        let res = c
            .get(t.url("/audit.csv?action=user.totp_reset"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/csv; charset=utf-8")
        );
        let bytes = res.bytes().await.unwrap_or_default();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8_lossy(&bytes[3..]).into_owned();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "id,partition,seq,at,actor_user,actor_org,ip,action,object_type,object_id,before,after,hash"
            )
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 1, "{text}");
        assert!(rows[0].contains(&id) && rows[0].contains("user.totp_reset"));
    }
);
