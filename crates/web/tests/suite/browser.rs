//! End-to-end in headless Chromium: log in, see the home page, log out; idle timeout logs out.

use crate::common::*;
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

db_test!(
    login_home_logout_and_idle_timeout_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let run = async {
            b.goto(&t.url("/login")).await?;
            b.fill("#email", "minato-operator@demo.vsys.jp").await?;
            b.fill("#password", PASSWORD).await?;
            b.click("#login-submit").await?;
            let title = b.text("#home-title").await?;
            anyhow::ensure!(title.contains("港区"), "home title: {title}");
            let text = b.page_text().await?;
            anyhow::ensure!(
                text.contains("あなたの作業") && text.contains("お知らせ"),
                "home page: {text}"
            );
            b.click("#logout").await?;
            let text = b.text(".alert").await?;
            anyhow::ensure!(text.contains("ログアウトしました"), "after logout: {text}");
            anyhow::ensure!(b.url().await?.contains("/login"), "back at login");
            // Log in again, leave the screen alone past the idle timeout, come back.
            b.fill("#email", "minato-operator@demo.vsys.jp").await?;
            b.fill("#password", PASSWORD).await?;
            b.click("#login-submit").await?;
            b.find("#home-title").await?;
            t.clock.advance(chrono::Duration::minutes(31));
            b.goto(&t.url("/notices")).await?;
            let text = b.text(".alert").await?;
            anyhow::ensure!(
                text.contains("一定時間操作がなかったため"),
                "idle logout message: {text}"
            );
            anyhow::ensure!(
                b.url().await?.contains("/login"),
                "idle timeout leads to login"
            );
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "e2e").await;
    }
);

/// Logs in as `email` (logging out first when someone is logged in).
pub async fn login(b: &Browser, t: &TestApp, email: &str) -> anyhow::Result<()> {
    b.goto(&t.url("/login")).await?;
    if !absent(b, "#logout").await? {
        b.click("#logout").await?;
        b.wait_text(".alert", |s| s.contains("ログアウトしました"))
            .await?;
    }
    b.fill("#email", email).await?;
    b.fill("#password", PASSWORD).await?;
    b.click("#login-submit").await?;
    b.find("#home-title").await?;
    Ok(())
}

/// Sets a form control's value the way a person's typing or choice would end (dates, selects).
pub async fn set(b: &Browser, css: &str, value: &str) -> anyhow::Result<()> {
    b.execute(
        "document.querySelector(arguments[0]).value = arguments[1];",
        serde_json::json!([css, value]),
    )
    .await?;
    Ok(())
}

/// Whether no element matches now (no waiting, unlike `find`).
pub async fn absent(b: &Browser, css: &str) -> anyhow::Result<bool> {
    let v = b
        .execute(
            "return document.querySelector(arguments[0]) === null;",
            serde_json::json!([css]),
        )
        .await?;
    Ok(v == serde_json::json!(true))
}

db_test!(
    allocation_chain_on_screen_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let run = async {
            // 国: create a cycle on screen, register the supply, auto-fill, finish.
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.goto(&t.url("/cycles")).await?;
            b.fill("#number", "12").await?;
            for (id, v) in [
                ("#period_start", "2026-06-01"),
                ("#period_end", "2026-06-14"),
                ("#deadline_prefecture", "2026-05-20"),
                ("#deadline_municipality", "2026-05-23"),
                ("#deadline_site", "2026-05-26"),
            ] {
                set(&b, id, v).await?;
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
            b.fill("#quantity", "200").await?;
            b.click("#supply-submit").await?;
            // Wait for the page after the save (leaving earlier would cancel the request).
            b.wait_text("main", |t| t.contains("M001")).await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/JP"))).await?;
            b.wait_text("#received", |t| t.starts_with("200 ")).await?;
            b.click("#autofill").await?;
            b.accept_dialog().await?;
            b.wait_text("#remainder", |t| t.starts_with('0')).await?;
            b.click("#finish").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "分配完了").await?;
            // 東京都: confirm, give everything to 港区, save, finish.
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/13"))).await?;
            b.click("#confirm").await?;
            b.wait_text("#node-status", |t| t == "確認済").await?;
            let total = b
                .text("#received")
                .await?
                .split_whitespace()
                .next()
                .unwrap_or("0")
                .replace(',', "");
            b.execute(
                "document.querySelectorAll('input[name^=amount_]').forEach(i => i.value = '0');",
                serde_json::json!([]),
            )
            .await?;
            b.fill("#amount-13103", &total).await?;
            b.click("#save-division").await?;
            b.wait_text("#allocated", |t| t.starts_with(&format!("{total} ")))
                .await?;
            b.wait_text("#remainder", |t| t.starts_with('0')).await?;
            b.click("#finish").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "分配完了").await?;
            // 港区: confirm, auto-fill to its sites, finish.
            login(&b, &t, "minato-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/13103")))
                .await?;
            b.click("#confirm").await?;
            b.wait_text("#node-status", |t| t == "確認済").await?;
            b.click("#autofill").await?;
            b.accept_dialog().await?;
            b.wait_text("#remainder", |t| t.starts_with('0')).await?;
            let text = b.page_text().await?;
            anyhow::ensure!(
                text.contains("バイアル") && text.contains("内訳"),
                "sites in vials, explained: {text}"
            );
            b.click("#finish").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "分配完了").await?;
            // 東京都 finalises.
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{cycle}/13"))).await?;
            b.click("#finalise").await?;
            b.accept_dialog().await?;
            b.wait_text("#node-status", |t| t == "確定").await?;
            // The clinic sees the notice on its home page.
            login(&b, &t, "clinic-operator@demo.vsys.jp").await?;
            let home = b.page_text().await?;
            anyhow::ensure!(
                home.contains("分配量確定のお知らせ"),
                "clinic notice: {home}"
            );
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "e2e-allocation").await;
    }
);

/// Where test artefacts go: `target/artefacts/`.
pub fn artefacts() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
        });
    target.join("artefacts")
}

/// Keeps a screenshot of the page as a test artefact (`target/artefacts/NAME`), checked to be
/// a PNG of some size.
pub async fn keep_screenshot(b: &Browser, name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = artefacts();
    std::fs::create_dir_all(&dir)?;
    let png = dir.join(name);
    b.screenshot(&png).await?;
    let bytes = std::fs::read(&png)?;
    anyhow::ensure!(
        bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "a PNG: {} bytes",
        bytes.len()
    );
    Ok(png)
}

/// Headless Chromium, or `None` when it is not installed (said loudly by `Browser::start`;
/// under CI that fails).
pub async fn start() -> Option<Browser> {
    Browser::start()
        .await
        .unwrap_or_else(|e| panic!("browser: {e}"))
}

/// Ends a browser test: on failure a screenshot (`/tmp/vsys-NAME-failure.png`), then the
/// browser quits and the failure is reported.
pub async fn finish(b: Browser, result: anyhow::Result<()>, name: &str) {
    if result.is_err() {
        let _ = b
            .screenshot(std::path::Path::new(&format!(
                "/tmp/vsys-{name}-failure.png"
            )))
            .await;
    }
    let _ = b.quit().await;
    result.unwrap_or_else(|e| panic!("{e:#}"));
}

/// Runs `$run` (a block ending in `anyhow::Result<()>`) with a new browser named `$b`; see
/// [`finish`]. Returns from the test when Chromium is not installed.
macro_rules! in_browser {
    ($b:ident, $name:literal, $run:block) => {{
        let Some($b) = crate::browser::start().await else {
            return;
        };
        let result: anyhow::Result<()> = async { $run }.await;
        crate::browser::finish($b, result, $name).await;
    }};
}
