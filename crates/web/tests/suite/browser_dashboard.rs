//! The dashboard in headless Chromium: 東京都 opens its dashboard — the daily chart and its
//! municipalities ranked by coverage, with 港区's doses — drills down to 港区 and back,
//! downloads a table as CSV (UTF-8 and Shift_JIS); the nation sees the map of Japan
//! (screenshots kept in `target/artefacts/`); past the deadline 東京都 sees 港区 late against
//! the municipalities' deadline, sends the reminder in one click, and 港区 finds the notice.

use crate::browser::{finish, keep_screenshot, login, start};
use crate::common::*;
use reqwest::Method;
use serde_json::json;
use vsys_testkit::db_test;

/// The demo clinic (港区) reports five days of doses from its stock; their sum.
async fn clinic_reports_five_days(t: &TestApp) -> i64 {
    let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
    let me = t.token("clinic-operator@demo.vsys.jp").await;
    let today = vsys_app::clock::japan_date(t.app.clock.now());
    let mut sum = 0;
    for (i, n) in [12i64, 18, 6, 24, 12].into_iter().enumerate() {
        let day = today - chrono::Duration::days(4 - i as i64);
        let (s, v) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/results/{day}"),
                &me,
                Some(json!({"total": n, "elderly": n / 2, "underlying": 0, "others": n - n / 2})),
            )
            .await;
        assert!(s.is_success(), "{day}: {s} {v}");
        sum += n;
    }
    sum
}

db_test!(
    a_prefecture_sees_its_figures_and_who_is_late_and_reminds_them_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = crate::allocation::minato_has_its_allocation(&t).await;
        let doses = clinic_reports_five_days(&t).await;
        let Some(b) = start().await else {
            return;
        };
        let run = async {
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.click("#nav-dashboard").await?;
            b.find("#vaccinations").await?;
            let shown = b.text("#fig-doses").await?;
            anyhow::ensure!(shown == doses.to_string(), "東京都's doses: {shown}");
            // The daily chart has a bar per day (28), the five reported days drawn.
            let bars = b
                .execute(
                    "return Array.from(document.querySelectorAll('#chart-daily rect')).filter(r => parseFloat(r.getAttribute('height')) > 0).length;",
                    json!([]),
                )
                .await?;
            anyhow::ensure!(bars.as_i64() == Some(5), "bars drawn: {bars}");
            let ranked = b.text("#chart-ranked").await?;
            anyhow::ensure!(ranked.contains("港区"), "ranked: {ranked}");
            let row = b.text("#table-coverage").await?;
            anyhow::ensure!(row.contains("港区"), "coverage table: {row}");
            keep_screenshot(&b, "dashboard-prefecture.png").await?;
            // The table downloads as CSV: UTF-8 with 港区's doses, and Shift_JIS.
            let csv = b
                .execute(
                    "return fetch('/dashboard/csv/coverage?encoding=utf-8').then(r => r.text());",
                    json!([]),
                )
                .await?;
            let csv = csv.as_str().unwrap_or_default().to_owned();
            let minato = csv
                .lines()
                .find(|l| l.starts_with("港区,"))
                .unwrap_or_default()
                .to_owned();
            anyhow::ensure!(
                minato.starts_with(&format!("港区,{doses},")),
                "港区 in the CSV: {csv}"
            );
            let sjis = b
                .execute(
                    "return fetch('/dashboard/csv/supply').then(r => r.headers.get('content-type'));",
                    json!([]),
                )
                .await?;
            anyhow::ensure!(
                sjis.as_str().unwrap_or_default().contains("Shift_JIS"),
                "{sjis}"
            );
            // Down to 港区 (its sites) and back up.
            b.click("#table-coverage a[href='/dashboard?area=13103']")
                .await?;
            b.wait_text("#dashboard-title", |s| s.contains("港区"))
                .await?;
            let supply = b.text("#table-supply").await?;
            anyhow::ensure!(supply.contains("合計"), "港区's supply: {supply}");
            b.click("#dash-up").await?;
            b.wait_text("#dashboard-title", |s| s.contains("東京都"))
                .await?;

            // The nation sees the map of Japan, 東京都 coloured.
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.click("#nav-dashboard").await?;
            let tiles = b
                .execute(
                    "return document.querySelectorAll('#chart-map g.tile').length;",
                    json!([]),
                )
                .await?;
            anyhow::ensure!(tiles.as_i64() == Some(47), "tiles: {tiles}");
            let tokyo = b
                .execute(
                    "return document.querySelector('#chart-map g.tile[data-code=\"13\"] rect').getAttribute('fill');",
                    json!([]),
                )
                .await?;
            anyhow::ensure!(
                tokyo.as_str() == Some(vsys_web::charts::SHADES[4].0),
                "東京都 has the most doses: {tokyo}"
            );
            keep_screenshot(&b, "dashboard-nation.png").await?;

            // Past every deadline of the cycle (the test cycle's are in February 2027).
            t.clock.advance(chrono::Duration::days(100));
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.click("#nav-dashboard").await?;
            b.find(&format!("#cycle-{id}")).await?;
            let row = b.text(&format!("#progress-{id}-13103")).await?;
            anyhow::ensure!(row.contains("港区") && row.contains("遅延"), "港区: {row}");
            let late = b.text(&format!("#cycle-{id} .late-count")).await?;
            anyhow::ensure!(late == "1", "late count: {late}");
            let progress = b
                .execute(
                    &format!("return fetch('/dashboard/csv/progress?cycle={id}&encoding=utf-8').then(r => r.text());"),
                    json!([]),
                )
                .await?;
            anyhow::ensure!(
                progress
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .any(|l| l.starts_with("港区,13103,") && l.ends_with("遅延")),
                "progress CSV: {progress}"
            );
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
            // 港区 sees its own dashboard, not 東京都's.
            b.goto(&t.url("/dashboard?area=13")).await?;
            let text = b.page_text().await?;
            anyhow::ensure!(!text.contains("中央区"), "港区 must not see 東京都: {text}");
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
