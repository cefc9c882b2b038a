//! The dashboard in headless Chromium: 東京都 opens 進捗状況, sees 港区 late against the
//! municipalities' deadline (it confirmed but has not divided), sends the reminder in one
//! click, and 港区 finds the notice.

use crate::browser::{finish, login, start};
use crate::common::*;
use vsys_testkit::db_test;

db_test!(
    a_prefecture_sees_who_is_late_and_reminds_them_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = crate::allocation::minato_has_its_allocation(&t).await;
        // Past every deadline of the cycle (the test cycle's are in February 2027).
        t.clock.advance(chrono::Duration::days(100));
        let Some(b) = start().await else {
            return;
        };
        let run = async {
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.click("#nav-dashboard").await?;
            b.find(&format!("#cycle-{id}")).await?;
            let row = b.text(&format!("#progress-{id}-13103")).await?;
            anyhow::ensure!(row.contains("港区") && row.contains("遅延"), "港区: {row}");
            let late = b.text(&format!("#cycle-{id} .late-count")).await?;
            anyhow::ensure!(late == "1", "late count: {late}");
            b.click(&format!("#remind-{id}")).await?;
            b.accept_dialog().await?;
            b.wait_text(".alert-success", |s| s.contains("お知らせを送りました"))
                .await?;
            login(&b, &t, "minato-operator@demo.vsys.jp").await?;
            b.goto(&t.url("/notices")).await?;
            let text = b.page_text().await?;
            anyhow::ensure!(
                text.contains("締切") && text.contains("過ぎています"),
                "港区's notices: {text}"
            );
            // A clinic has no dashboard.
            login(&b, &t, "clinic-operator@demo.vsys.jp").await?;
            anyhow::ensure!(
                crate::browser::absent(&b, "#nav-dashboard").await?,
                "no dashboard link for a clinic"
            );
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "dashboard").await;
        // The reminder by hand, once (the server's scheduled work may also have sent its
        // automatic one, `allocation.remind_auto`, which the same prefix finds).
        let by_hand = t.audit_actions("allocation.remind").await;
        assert_eq!(
            by_hand
                .iter()
                .filter(|e| e.action == "allocation.remind")
                .count(),
            1
        );
    }
);
