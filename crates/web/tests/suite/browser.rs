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
        let Some(b) = Browser::start()
            .await
            .unwrap_or_else(|e| panic!("browser: {e}"))
        else {
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
        if result.is_err() {
            let _ = b
                .screenshot(std::path::Path::new("/tmp/vsys-e2e-failure.png"))
                .await;
        }
        let _ = b.quit().await;
        result.unwrap_or_else(|e| panic!("{e:#}"));
    }
);
