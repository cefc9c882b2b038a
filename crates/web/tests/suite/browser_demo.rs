//! End-to-end in headless Chromium, the demo as a newcomer meets it: a whole cycle from the
//! nation to a clinic's delivery with the printed demo logins alone (東京都's other
//! municipalities act by themselves through the demo autopilot, as `vsys serve` starts it over a
//! demo database), and the wholesaler's grid at 1,366 px: the date fields first and inside the
//! window, and the lines just saved kept in their place, marked 「保存済」.

use crate::browser::{finish, login, set, start};
use crate::common::*;
use vsys_domain::Status;
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

/// 東京都's municipalities with an amount that have not finished dividing (港区 apart), and
/// 港区's amount in vials.
async fn tokyo_pending(t: &TestApp, cycle: &str) -> (Vec<String>, i64) {
    let mut tx = t.db.db.read().await.unwrap();
    let tokyo = vsys_store::allocations::by_org(&mut tx, cycle, "13")
        .await
        .unwrap()
        .unwrap();
    let children = vsys_store::allocations::children(&mut tx, &tokyo.id)
        .await
        .unwrap();
    let pending = children
        .iter()
        .filter(|n| n.org_code != "13103" && n.vials > 0 && n.status != Status::Divided)
        .map(|n| n.org_code.clone())
        .collect();
    let minato = children
        .iter()
        .find(|n| n.org_code == "13103")
        .map(|n| n.vials)
        .unwrap_or(0);
    (pending, minato)
}

db_test!(
    the_demo_cycle_finishes_with_the_printed_logins_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        // As `vsys serve` does over a database seeded as a demo.
        assert!(
            vsys_app::demo::autopilot::wanted(&t.app).await.unwrap(),
            "the demo database has autopilot accounts"
        );
        let pilot = vsys_app::demo::autopilot::spawn(t.app.clone());
        let today = vsys_app::clock::japan_date(t.app.clock.now());
        let day = |d: i64| (today + chrono::Duration::days(d)).to_string();
        let run = async {
            // 国: creates a cycle, registers the supply, auto-fills, finishes.
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.goto(&t.url("/cycles")).await?;
            b.fill("#number", "12").await?;
            for (id, v) in [
                ("#period_start", day(14)),
                ("#period_end", day(27)),
                ("#deadline_prefecture", day(3)),
                ("#deadline_municipality", day(6)),
                ("#deadline_site", day(9)),
            ] {
                set(&b, id, &v).await?;
            }
            b.execute("const s=document.querySelector('#vaccine_id'); s.value=[...s.options].find(o=>o.text.includes('コミナティ')).value; for (const id of ['#needle_id','#syringe_id']) { const x=document.querySelector(id); x.selectedIndex=1; }", serde_json::json!([])).await?;
            set(&b, "#unit_site", "vial").await?;
            b.click("#cycle-create").await?;
            let title = b.text("#cycle-title").await?;
            anyhow::ensure!(title.contains("クール012"), "cycle page: {title}");
            // The cycle page's address, without the message after the redirect (`?flash=`).
            let url = b.url().await?;
            let cycle = url
                .split('?')
                .next()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            b.fill("#supplier_code", "M001").await?;
            b.execute("const s=document.querySelector('#product_id'); s.value=[...s.options].find(o=>o.text.includes('コミナティ')).value;", serde_json::json!([])).await?;
            b.fill("#quantity", "1000").await?;
            b.click("#supply-submit").await?;
            b.wait_text("main", |t| t.contains("M001")).await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/JP"))).await?;
            b.wait_text("#received", |t| t.starts_with("1,000 "))
                .await?;
            b.click("#autofill").await?;
            b.accept_dialog().await?;
            b.wait_text("#remainder", |t| t.starts_with('0')).await?;
            b.click("#finish").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "分配完了").await?;

            // 東京都: confirms, auto-fills among all its municipalities, finishes.
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/13"))).await?;
            b.click("#confirm").await?;
            b.wait_text("#node-status", |t| t == "確認済").await?;
            b.click("#autofill").await?;
            b.accept_dialog().await?;
            b.wait_text("#remainder", |t| t.starts_with('0')).await?;
            b.click("#finish").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "分配完了").await?;
            let (pending, minato) = tokyo_pending(&t, &cycle).await;
            anyhow::ensure!(
                pending.len() >= 5,
                "other municipalities got amounts: {pending:?}"
            );
            anyhow::ensure!(minato > 0, "港区 got an amount");

            // The other municipalities confirm and divide by themselves, soon.
            let mut left = pending;
            for _ in 0..60 {
                left = tokyo_pending(&t, &cycle).await.0;
                if left.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            anyhow::ensure!(left.is_empty(), "still to divide: {left:?}");

            // 港区: confirms, auto-fills among its sites, finishes.
            login(&b, &t, "minato-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/13103")))
                .await?;
            b.click("#confirm").await?;
            b.wait_text("#node-status", |t| t == "確認済").await?;
            b.click("#autofill").await?;
            b.accept_dialog().await?;
            b.wait_text("#remainder", |t| t.starts_with('0')).await?;
            b.click("#finish").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "分配完了").await?;

            // 東京都: 確定 (refused on a demo where no one else divides).
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/13"))).await?;
            b.click("#finalise").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "確定").await?;

            // The wholesaler enters the clinic's 納入予定日 and 納入実績日.
            let clinic = t.user("clinic-operator@demo.vsys.jp").await.org_code;
            login(&b, &t, "wholesaler-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/deliveries?cycle={cycle}&item=vaccine")))
                .await?;
            b.find("#deliveries-save").await?;
            let n = b
                .execute(
                    "const r = [...document.querySelectorAll('#deliveries-table tbody tr[data-row]')].find(r => r.textContent.includes(arguments[0])); return r ? r.dataset.row : null;",
                    serde_json::json!([clinic]),
                )
                .await?;
            let n = n
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("no delivery line for the clinic {clinic}"))?
                .to_owned();
            set(&b, &format!("#scheduled_on-{n}"), &today.to_string()).await?;
            set(&b, &format!("#delivered_on-{n}"), &today.to_string()).await?;
            b.click("#deliveries-save").await?;
            b.wait_text(".alert-success", |s| s.contains("保存しました"))
                .await?;

            // The clinic sees its delivery on its home page.
            login(&b, &t, "clinic-operator@demo.vsys.jp").await?;
            let when = b
                .wait_text(&format!("#scheduled-{cycle}-vaccine"), |s| {
                    s.contains(&today.to_string())
                })
                .await?;
            anyhow::ensure!(when.contains("ワクチン"), "clinic's delivery: {when}");
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        pilot.abort();
        finish(b, result, "e2e-demo-cycle").await;
    }
);

/// The demo's own cycle (クール010) taken to 確定 through the use-cases, every 東京都
/// municipality with an amount dividing (the others by the autopilot): the wholesaler has a
/// line for every 東京都 site with an amount.
async fn demo_cycle_finalised(t: &TestApp) -> String {
    use vsys_app::allocation;
    let app = &t.app;
    let actor = |slug: &str| {
        let email = format!("{slug}-operator@demo.vsys.jp");
        async move {
            vsys_app::accounts::actor_on_host(app, &email)
                .await
                .unwrap_or_else(|e| panic!("{email}: {e}"))
        }
    };
    let cycle = {
        let mut tx = t.db.db.read().await.unwrap();
        vsys_store::cycles::list(&mut tx, vsys_store::Page::first(10))
            .await
            .unwrap()
            .0
            .into_iter()
            .find(|c| c.number == 10)
            .unwrap()
            .id
    };
    let id = cycle.as_str();
    let version = |a: vsys_app::Actor, org: &'static str| async move {
        allocation::division(app, &a, id, org)
            .await
            .unwrap()
            .node
            .version
    };
    let nation = actor("nation").await;
    let v = version(nation.clone(), "JP").await;
    allocation::apply_autofill(app, &nation, id, "JP", v, None)
        .await
        .unwrap();
    allocation::finish(app, &nation, id, "JP").await.unwrap();
    let tokyo = actor("tokyo").await;
    allocation::confirm(app, &tokyo, id, "13").await.unwrap();
    let v = version(tokyo.clone(), "13").await;
    allocation::apply_autofill(app, &tokyo, id, "13", v, None)
        .await
        .unwrap();
    allocation::finish(app, &tokyo, id, "13").await.unwrap();
    let (_, refused) = vsys_app::demo::autopilot::step(app).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let minato = actor("minato").await;
    allocation::confirm(app, &minato, id, "13103")
        .await
        .unwrap();
    let v = version(minato.clone(), "13103").await;
    allocation::apply_autofill(app, &minato, id, "13103", v, None)
        .await
        .unwrap();
    allocation::finish(app, &minato, id, "13103").await.unwrap();
    allocation::finalise(app, &tokyo, id, "13").await.unwrap();
    cycle
}

/// The ids of the grid's lines in their order.
async fn line_ids(b: &Browser) -> anyhow::Result<Vec<String>> {
    let v = b
        .execute(
            "return [...document.querySelectorAll('#deliveries-table tbody tr[data-row]')].map(r => r.id.replace('delivery-', ''));",
            serde_json::json!([]),
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

db_test!(
    the_wholesaler_types_dates_first_and_saved_lines_stay_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let cycle = demo_cycle_finalised(&t).await;
        let today = vsys_app::clock::japan_date(t.app.clock.now());
        let day = (today + chrono::Duration::days(2)).to_string();
        let run = async {
            b.resize(1366, 768).await?;
            login(&b, &t, "wholesaler-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/deliveries?cycle={cycle}")))
                .await?;
            b.find("#deliveries-save").await?;
            let before = line_ids(&b).await?;
            anyhow::ensure!(before.len() >= 3, "lines: {before:?}");
            // The date fields of the first lines lie inside the window, no sideways scrolling.
            let boxes = b
                .execute(
                    "const w = window.innerWidth; return [1, 2, 3].flatMap(n => ['scheduled_on', 'delivered_on'].map(f => { const e = document.getElementById(f + '-' + n); if (!e) return [f + n, 'missing', w]; const r = e.getBoundingClientRect(); return [f + n, r.left, r.right, w]; }));",
                    serde_json::json!([]),
                )
                .await?;
            for x in boxes.as_array().cloned().unwrap_or_default() {
                let left = x[1].as_f64();
                let right = x[2].as_f64().unwrap_or(f64::MAX);
                let width = x[3].as_f64().unwrap_or(0.0);
                anyhow::ensure!(
                    left.is_some_and(|l| l >= 0.0) && right <= width,
                    "date field outside the window: {x}"
                );
            }
            // The first column after the number is 納入予定日.
            let head = b.text("#deliveries-table thead th:nth-child(2)").await?;
            anyhow::ensure!(head == "納入予定日", "second column: {head}");

            // A date on line 2, saved: line 2 is still line 2, marked 保存済.
            set(&b, "#scheduled_on-2", &day).await?;
            b.click("#deliveries-save").await?;
            b.wait_text(".alert-success", |s| s.contains("保存しました"))
                .await?;
            let after = line_ids(&b).await?;
            anyhow::ensure!(after == before, "order kept: {before:?} → {after:?}");
            let row = b.text(&format!("#delivery-{}", before[1])).await?;
            anyhow::ensure!(row.contains("保存済"), "line 2 marked: {row}");
            let mark = b.text("#saved-2").await?;
            anyhow::ensure!(mark == "保存済", "mark: {mark}");
            let row1 = b.text(&format!("#delivery-{}", before[0])).await?;
            anyhow::ensure!(!row1.contains("保存済"), "line 1 not saved: {row1}");
            let v = b
                .execute(
                    "return document.querySelector('#scheduled_on-2').value;",
                    serde_json::json!([]),
                )
                .await?;
            anyhow::ensure!(v == day.as_str(), "line 2 shows its date: {v}");
            // Saved for real.
            let stored = {
                let mut tx = t.db.db.read().await?;
                vsys_store::deliveries::get(&mut tx, &before[1]).await?
            };
            anyhow::ensure!(
                stored.and_then(|d| d.scheduled_on).map(|d| d.to_string()) == Some(day.clone()),
                "line 2 stored with its date"
            );
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "e2e-grid").await;
    }
);
