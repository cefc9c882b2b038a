//! Announcements in headless Chromium: a nation user writes a notice for wholesalers only
//! (a wrong area refused next to its field first); a wholesaler sees it on its home page with
//! its category badge and reads it; a clinic (an institution) and a prefecture do not see it;
//! the nation sees how many of its recipients have read it.

use crate::browser::{login, set};
use crate::common::*;
use vsys_testkit::db_test;

const TITLE: &str = "第10クールの納入予定日の入力について";

db_test!(
    a_nation_notice_to_wholesalers_reaches_only_wholesalers_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        in_browser!(b, "notices-audience", {
            // 国: 「お知らせを作成」 from the notices page.
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.goto(&t.url("/notices")).await?;
            b.click("#announcement-new").await?;
            b.find("#announcement-form").await?;
            set(&b, "#category", "delivery").await?;
            b.fill("#title_ja", TITLE).await?;
            b.fill(
                "#body_ja",
                "## お願い\n\n- **納入予定日**を入力してください。\n- <script>alert(1)</script>",
            )
            .await?;
            b.click("#kind_wholesaler").await?;
            // A code that is no area: refused next to the field, what was typed kept.
            b.fill("#areas", "W13001").await?;
            b.click("#announcement-publish").await?;
            let err = b
                .wait_text("#announcement-areas-error", |s| !s.is_empty())
                .await?;
            anyhow::ensure!(err.contains("都道府県コード"), "areas: {err}");
            let kept = b
                .execute(
                    "return document.querySelector('#title_ja').value;",
                    serde_json::json!([]),
                )
                .await?;
            anyhow::ensure!(kept == serde_json::json!(TITLE), "kept: {kept}");
            b.fill("#areas", "").await?;
            b.click("#announcement-publish").await?;
            b.wait_text(".alert-success", |s| s.contains("お知らせを掲載しました"))
                .await?;
            let list = b.text("#announcements").await?;
            anyhow::ensure!(list.contains(TITLE), "sent: {list}");
            anyhow::ensure!(list.contains("卸業者"), "audience: {list}");
            let reads = b.text(".announcement-reads").await?;
            anyhow::ensure!(reads.contains("0 / 対象 3"), "reads: {reads}");

            // The wholesaler sees it on its home page, with its badge, safely rendered.
            login(&b, &t, "wholesaler-operator@demo.vsys.jp").await?;
            let notices = b.text(".notice-list").await?;
            anyhow::ensure!(notices.contains(TITLE), "wholesaler's home: {notices}");
            anyhow::ensure!(notices.contains("配送"), "badge: {notices}");
            anyhow::ensure!(notices.contains("納入予定日"), "body: {notices}");
            let scripts = b
                .execute(
                    "return document.querySelectorAll('.notice-list script').length;",
                    serde_json::json!([]),
                )
                .await?;
            anyhow::ensure!(scripts == serde_json::json!(0), "no script element");
            // It reads it (「既読にする」 on its item).
            b.goto(&t.url("/notices")).await?;
            let item = "[...document.querySelectorAll('.notice-list li')].find(li => li.textContent.includes(arguments[0]))";
            b.execute(
                &format!("{item}.querySelector('button').click();"),
                serde_json::json!([TITLE]),
            )
            .await?;
            let mut read = false;
            for _ in 0..50 {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                let unread = b
                    .execute(
                        &format!("const li = {item}; return !li || li.classList.contains('unread') || li.querySelector('button') !== null;"),
                        serde_json::json!([TITLE]),
                    )
                    .await
                    .unwrap_or(serde_json::json!(true));
                if unread == serde_json::json!(false) {
                    read = true;
                    break;
                }
            }
            anyhow::ensure!(read, "marked read");

            // A clinic and a prefecture do not see it.
            for who in [
                "clinic-operator@demo.vsys.jp",
                "tokyo-operator@demo.vsys.jp",
            ] {
                login(&b, &t, who).await?;
                let home = b.text("main").await?;
                anyhow::ensure!(!home.contains(TITLE), "{who} home: {home}");
                b.goto(&t.url("/notices")).await?;
                let all = b.text("main").await?;
                anyhow::ensure!(!all.contains(TITLE), "{who} notices: {all}");
            }

            // The nation sees one of three recipients has read it.
            login(&b, &t, "nation-viewer@demo.vsys.jp").await?;
            b.goto(&t.url("/announcements")).await?;
            let reads = b.text(".announcement-reads").await?;
            anyhow::ensure!(reads.contains("1 / 対象 3"), "reads: {reads}");
            anyhow::ensure!(
                crate::browser::absent(&b, "#announcement-new").await?,
                "a viewer does not write"
            );
            Ok(())
        });
    }
);
