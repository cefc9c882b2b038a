//! End-to-end in headless Chromium, the site's day: first-login details, the cycle's request,
//! the reservation status in one click, today's results writing the stock (a bad day first,
//! refused), a registry change that waits for the municipality, and 港区 approving it.

use crate::browser::{absent, finish, login, set, start};
use crate::common::*;
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

const CLINIC: &str = "clinic-operator@demo.vsys.jp";
const MINATO: &str = "minato-operator@demo.vsys.jp";
const NEW_NAME: &str = "芝公園ブラウザ試験クリニック";

/// Waits (up to 10 s) until the script returns a non-empty string, across page loads.
async fn wait_value(b: &Browser, script: &str) -> anyhow::Result<String> {
    for _ in 0..100 {
        if let Ok(v) = b.execute(script, serde_json::json!([])).await
            && let Some(s) = v.as_str().filter(|s| !s.is_empty())
        {
            return Ok(s.to_owned());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("never got a value from: {script}")
}

/// The open cycle (the demo has one, its site deadline days ahead).
async fn open_cycle(t: &TestApp) -> anyhow::Result<String> {
    let today = vsys_app::clock::japan_date(t.app.clock.now());
    let mut tx = t.db.db.read().await?;
    let (cycles, _) = vsys_store::cycles::list(&mut tx, vsys_store::Page::all()).await?;
    cycles
        .into_iter()
        .find(|c| c.deadline_site >= today)
        .map(|c| c.id)
        .ok_or_else(|| anyhow::anyhow!("no open cycle in the demo"))
}

db_test!(
    a_clinic_registers_requests_reports_and_the_municipality_approves,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let clinic = t.user(CLINIC).await.org_code;
        let today = vsys_app::clock::japan_date(t.app.clock.now());
        let cycle = open_cycle(&t).await.unwrap_or_else(|e| panic!("{e}"));
        let run = async {
            // 1. First login: the banner leads to the details form; saved, the banner is gone.
            login(&b, &t, CLINIC).await?;
            let banner = b.text("#details-banner").await?;
            anyhow::ensure!(!banner.is_empty(), "first-login banner");
            b.wait_text("#stock-doses", |s| s == "120").await?;
            b.click("#details-banner-link").await?;
            b.find("#details-form").await?;
            anyhow::ensure!(
                b.url().await?.contains(&format!("/sites/{clinic}")),
                "the banner leads to the site page"
            );
            b.fill("#phone", "03-1234-5678").await?;
            b.fill("#hours", "月〜金 9:00-17:00").await?;
            b.fill("#freezers_ultra_cold", "1").await?;
            b.fill("#freezers_minus20", "2").await?;
            b.fill("#storage_location", "1階処置室").await?;
            // A vaccine, 予約方法 and the point pasted as the map service shows it.
            b.click("#vaccines input[type=checkbox]").await?;
            b.execute(
                "document.querySelector('#booking').value = 'phone';",
                serde_json::json!([]),
            )
            .await?;
            b.fill("#latitude", "35.658581, 139.745433").await?;
            b.click("#details-save").await?;
            b.wait_text(".alert-success", |s| {
                s.contains("医療機関情報を保存しました")
            })
            .await?;
            let at = b.text("#details-at").await?;
            anyhow::ensure!(!at.contains("未登録"), "details registered at: {at}");
            b.goto(&t.url("/")).await?;
            b.find("#home-title").await?;
            anyhow::ensure!(
                absent(&b, "#details-banner").await?,
                "banner gone from home"
            );

            // 2. The cycle's request, on the cycle page the home page links to.
            b.click(&format!("#request-{cycle}")).await?;
            b.find("#request-submit").await?;
            b.fill("#capacity_doses", "240").await?;
            b.fill("#requested_doses", "120").await?;
            set(&b, "#storage", "freezer").await?;
            b.fill("#needles", "120").await?;
            b.fill("#syringes", "120").await?;
            b.click("#request-submit").await?;
            // Saved: the page comes back with the stored request and its version.
            wait_value(
                &b,
                "const v = document.querySelector('form[action$=\"/request\"] input[name=version]'); \
                 return v ? v.value : '';",
            )
            .await?;
            anyhow::ensure!(
                absent(&b, "#request-errors").await?,
                "request refused: {}",
                b.page_text().await?
            );
            let requested = b
                .execute(
                    "return document.querySelector('#requested_doses').value;",
                    serde_json::json!([]),
                )
                .await?;
            anyhow::ensure!(requested == "120", "requested shown: {requested}");

            // 3. The reservation status in one click on the home page; it stays after a reload.
            b.goto(&t.url("/")).await?;
            b.click("#reservation-few").await?;
            b.wait_text("#reservation-current", |s| s.contains("残り少数"))
                .await?;
            b.goto(&t.url("/")).await?;
            b.wait_text("#reservation-current", |s| s.contains("残り少数"))
                .await?;

            // 4. Today's results: parts not adding up are refused next to the field, nothing
            //    changes; then 20 = 12 + 5 + 3 with one broken vial writes the stock.
            b.goto(&t.url("/results")).await?;
            b.wait_text("#stock-doses", |s| s == "120").await?;
            for (id, v) in [
                ("#total", "10"),
                ("#elderly", "5"),
                ("#underlying", "1"),
                ("#others", "1"),
                ("#wasted_vials", "0"),
            ] {
                b.fill(id, v).await?;
            }
            b.click("#results-save").await?;
            let err = b
                .wait_text("#results-total-error", |s| s.contains("内訳"))
                .await?;
            anyhow::ensure!(err.contains("一致しません"), "error next to total: {err}");
            let invalid = b
                .execute(
                    "return document.querySelector('#total').getAttribute('aria-invalid');",
                    serde_json::json!([]),
                )
                .await?;
            anyhow::ensure!(invalid == "true", "total marked invalid: {invalid}");
            anyhow::ensure!(b.text("#stock-doses").await? == "120", "stock unchanged");
            anyhow::ensure!(b.find("#no-results").await.is_ok(), "no day written");
            for (id, v) in [
                ("#total", "20"),
                ("#elderly", "12"),
                ("#underlying", "5"),
                ("#others", "3"),
                ("#wasted_vials", "1"),
            ] {
                b.fill(id, v).await?;
            }
            set(&b, "#waste_reason", "breakage").await?;
            b.click("#results-save").await?;
            b.wait_text(".alert-success", |s| s.contains("接種実績を保存しました"))
                .await?;
            b.wait_text("#stock-doses", |s| s == "90").await?;
            b.wait_text("#stock-vials", |s| s == "15").await?;
            let row = b.text(&format!("#result-{today}")).await?;
            anyhow::ensure!(
                row.contains("20") && row.contains("12"),
                "today's row: {row}"
            );
            b.goto(&t.url("/")).await?;
            b.wait_text("#stock-doses", |s| s == "90").await?;
            b.wait_text("#stock-vials", |s| s == "15").await?;

            // 5. A registry change (a new name) waits for 港区.
            b.goto(&t.url(&format!("/sites/{clinic}"))).await?;
            b.fill("#registry-name", NEW_NAME).await?;
            b.click("#change-save").await?;
            let changes = b
                .wait_text("#changes", |s| s.contains("市町村の承認待ち"))
                .await?;
            anyhow::ensure!(changes.contains(NEW_NAME), "the change listed: {changes}");
            let title = b.text("#site-title").await?;
            anyhow::ensure!(!title.contains(NEW_NAME), "name unchanged yet: {title}");
            anyhow::ensure!(
                absent(&b, "[id^=approve-]").await?,
                "the clinic cannot approve its own change"
            );
            b.click("#logout").await?;
            b.wait_text(".alert", |s| s.contains("ログアウトしました"))
                .await?;

            // 港区 finds it among the pending ones and approves it.
            login(&b, &t, MINATO).await?;
            b.goto(&t.url("/sites?filter=pending")).await?;
            b.click(&format!("#site-{clinic} a")).await?;
            b.find("#changes").await?;
            let approve = wait_value(
                &b,
                "const e = document.querySelector('[id^=approve-]'); return e ? e.id : '';",
            )
            .await?;
            b.click(&format!("#{approve}")).await?;
            b.wait_text(".alert-success", |s| s.contains("変更申請を承認しました"))
                .await?;
            b.wait_text("#site-title", |s| s.contains(NEW_NAME)).await?;
            anyhow::ensure!(absent(&b, "#changes").await?, "nothing pending any more");
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "e2e-sites").await;

        // What the screens wrote.
        let mut tx = t.db.db.read().await.unwrap();
        let p = vsys_store::sites::get(&mut tx, &clinic)
            .await
            .unwrap()
            .unwrap();
        assert!(p.details_at.is_some());
        assert_eq!(p.phone.as_deref(), Some("03-1234-5678"));
        assert_eq!(p.freezers_ultra_cold, 1);
        assert_eq!(
            (p.latitude, p.longitude, p.booking.as_deref()),
            (Some(35.658581), Some(139.745433), Some("phone"))
        );
        assert_eq!(
            vsys_store::sites::vaccines(&mut tx, &clinic)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(p.reservation, vsys_domain::Reservation::Few);
        assert!(p.reservation_at.is_some());
        let r = vsys_store::results::get(&mut tx, &clinic, today)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.total, r.elderly, r.underlying, r.others, r.wasted_vials),
            (20, 12, 5, 3, 1)
        );
        assert_eq!(r.waste_reason.as_deref(), Some("breakage"));
        let req = vsys_store::requests::get(&mut tx, &cycle, &clinic)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((req.capacity_doses, req.requested_doses), (240, 120));
        let org = vsys_store::orgs::get(&mut tx, &clinic)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(org.name, NEW_NAME);
        let pending =
            vsys_store::sites::changes_for(&mut tx, std::slice::from_ref(&clinic), "pending")
                .await
                .unwrap();
        assert!(pending.is_empty(), "{pending:?}");
    }
);
