//! Notices and mail: the outbox delivered over real SMTP, by two workers in two "processes"
//! (two apps with their own pools), each mail exactly once.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use vsys_app::config::SmtpConfig;
use vsys_testkit::db_test;
use vsys_testkit::smtp::SmtpReceiver;

db_test!(
    notice_mail_delivered_once_by_two_workers,
    |backend| async move {
        let smtp = SmtpReceiver::start().await;
        let port = smtp.port;
        let tune = move |c: &mut vsys_app::Config| {
            c.smtp = Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port,
                username: None,
                password: None,
                tls: "none".into(),
                timeout_secs: 10,
            });
        };
        let Some(t) = spawn_with(backend, tune).await else {
            return;
        };
        // 港区 has three demo users; one notice → three mails.
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let draft = json!({"category": "allocation", "title_ja": "分配量確定のお知らせ", "title_en": "Allocation finalised", "body_ja": "ご確認ください。", "body_en": "Please check.", "link": "/notices"});
        let (s, _) = t
            .api(
                Method::POST,
                "/api/v1/orgs/13103/notices",
                &nation,
                Some(draft),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        // The first delivery attempt is refused by the server; the mail is retried after back-off.
        smtp.fail_next(1);
        let second = vsys_store::Db::connect_with(&t.db.url, 4)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let app2 = vsys_app::App::new(second, (*t.app.config).clone(), t.clock.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut workers = Vec::new();
        for app in [t.app.clone(), app2] {
            let transport = Arc::new(
                vsys_app::mail::Transport::from_config(&app).unwrap_or_else(|e| panic!("{e}")),
            );
            workers.push(tokio::spawn(vsys_app::mail::run_worker(
                app,
                transport,
                stop_rx.clone(),
                Duration::from_millis(20),
            )));
        }
        let mut pending = 3;
        for i in 0..300 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if i == 40 {
                // Past the back-off of the refused attempt.
                t.clock.advance(chrono::Duration::seconds(61));
            }
            let mut tx = t.db.db.read().await.unwrap_or_else(|e| panic!("{e}"));
            pending = vsys_store::outbox::counts(&mut tx)
                .await
                .map(|c| c.0)
                .unwrap_or(1);
            if pending == 0 && i > 45 {
                break;
            }
        }
        let _ = stop_tx.send(true);
        for w in workers {
            let _ = w.await;
        }
        assert_eq!(pending, 0);
        let mails = smtp.mails();
        let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
        to.sort();
        assert_eq!(
            to,
            [
                "<minato-admin@demo.vsys.jp>",
                "<minato-operator@demo.vsys.jp>",
                "<minato-viewer@demo.vsys.jp>"
            ],
            "each exactly once"
        );
        assert!(mails[0].data.contains("Subject:"));
        // The in-app notice is there, unread, then read.
        let token = t.token("minato-viewer@demo.vsys.jp").await;
        let (_, list) = t.api(Method::GET, "/api/v1/notices", &token, None).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["title"], "分配量確定のお知らせ");
        let id = list["items"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            t.api(
                Method::POST,
                &format!("/api/v1/notices/{id}/read"),
                &token,
                None
            )
            .await
            .0,
            StatusCode::NO_CONTENT
        );
        let res = reqwest::Client::new()
            .get(t.url("/api/v1/notices"))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .send()
            .await;
        let list: serde_json::Value = res
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        assert_eq!(list["items"][0]["title"], "Allocation finalised");
        assert!(list["items"][0]["read_at"].is_string());
    }
);

db_test!(without_smtp_mail_goes_to_a_folder, |backend| async move {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().to_string_lossy().to_string();
    let Some(t) = spawn_with(backend, move |c| c.mail_dir = path).await else {
        return;
    };
    let nation = t.token("nation-operator@demo.vsys.jp").await;
    let draft = json!({"category": "info", "title_ja": "テスト", "title_en": "Test", "body_ja": "本文", "body_en": "Body"});
    assert_eq!(
        t.api(
            Method::POST,
            "/api/v1/orgs/M001/notices",
            &nation,
            Some(draft)
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let transport =
        vsys_app::mail::Transport::from_config(&t.app).unwrap_or_else(|e| panic!("{e}"));
    let mut n = 0;
    while vsys_app::mail::deliver_one(&t.app, &transport, "w")
        .await
        .unwrap_or(false)
    {
        n += 1;
    }
    assert_eq!(n, 3);
    assert_eq!(
        std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(0),
        3
    );
});
