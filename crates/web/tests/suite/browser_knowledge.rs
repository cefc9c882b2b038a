//! The knowledge base in headless Chromium: the nation writes an FAQ for wholesalers, a wrong
//! file and then a PDF are attached; the wholesaler finds it by a Japanese word and downloads
//! the PDF; a clinic does not find it, finds its own chapters, and its こんなときには.

use crate::browser::{finish, login, set, start};
use crate::common::*;
use serde_json::json;
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

async fn search(b: &Browser, t: &TestApp, words: &str) -> anyhow::Result<()> {
    b.goto(&t.url("/")).await?;
    b.click("#nav-knowledge").await?;
    b.fill("#q", words).await?;
    b.click("#knowledge-search-submit").await?;
    b.wait_text("#knowledge-list-h", |s| s.contains(words))
        .await?;
    Ok(())
}

db_test!(
    staff_find_knowledge_by_japanese_words_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let exe = dir.path().join("手順書.pdf");
        std::fs::write(&exe, b"MZ\x90\x00\x03\x00\x00\x00 not a pdf")
            .unwrap_or_else(|e| panic!("{e}"));
        let pdf = dir.path().join("受け取り手順.pdf");
        std::fs::write(
            &pdf,
            b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let run = async {
            // 国: an FAQ for wholesalers (and dry-ice makers).
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.click("#nav-knowledge").await?;
            b.click("#knowledge-new").await?;
            set(&b, "#category", "faq").await?;
            b.click("#reader_wholesaler").await?;
            b.fill("#title", "ドライアイスを受け取ったら").await?;
            b.fill("#body", "## 手順\n\n- 受け取ったら**保冷箱**に入れます。\n- <script>alert(1)</script> は文字のまま").await?;
            b.click("#article-save").await?;
            b.wait_text(".alert-success", |s| s.contains("記事を保存しました"))
                .await?;
            let readers = b.text("#article-readers").await?;
            anyhow::ensure!(readers == "卸業者", "readers: {readers}");
            let body = b.text("#article-body").await?;
            anyhow::ensure!(
                body.contains("保冷箱") && body.contains("<script>"),
                "body: {body}"
            );
            let scripts = b
                .execute(
                    "return document.querySelectorAll('#article-body script').length;",
                    json!([]),
                )
                .await?;
            anyhow::ensure!(scripts == json!(0), "no script element");
            let article = b
                .url()
                .await?
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            // A file that is no PDF (whatever its name) is refused, next to the field.
            b.fill("#file", &exe.to_string_lossy()).await?;
            b.click("#attach-submit").await?;
            let err = b.wait_text("#attach-file-error", |s| !s.is_empty()).await?;
            anyhow::ensure!(err.contains("PDF・PNG・JPEG"), "refused: {err}");
            anyhow::ensure!(b.find("#no-attachments").await.is_ok(), "nothing attached");
            // A PDF is attached.
            b.fill("#file", &pdf.to_string_lossy()).await?;
            b.click("#attach-submit").await?;
            b.wait_text(".alert-success", |s| s.contains("ファイルを添付しました"))
                .await?;
            let files = b.text("#attachment-list").await?;
            anyhow::ensure!(files.contains("受け取り手順.pdf"), "files: {files}");

            // The wholesaler finds it by a Japanese word, and downloads the PDF.
            login(&b, &t, "wholesaler-operator@demo.vsys.jp").await?;
            search(&b, &t, "保冷箱").await?;
            let items = b.text("#knowledge-items").await?;
            anyhow::ensure!(
                items.contains("ドライアイスを受け取ったら"),
                "found: {items}"
            );
            b.click("#knowledge-items a").await?;
            b.wait_text("#article-title", |s| s.contains("ドライアイス"))
                .await?;
            anyhow::ensure!(
                b.url().await?.split('?').next() == Some(article.as_str()),
                "the same article"
            );
            let href = b
                .execute(
                    "return document.querySelector('#attachment-list a').href;",
                    json!([]),
                )
                .await?;
            let got = b
                .execute(
                    "return fetch(arguments[0]).then(r => r.text().then(t => [r.status, r.headers.get('content-type'), t.slice(0, 5)]));",
                    json!([href]),
                )
                .await?;
            anyhow::ensure!(
                got == json!([200, "application/pdf", "%PDF-"]),
                "download: {got}"
            );
            // Its own chapters too: the word in the delivery chapter.
            search(&b, &t, "納入予定日").await?;
            let items = b.text("#knowledge-items").await?;
            anyhow::ensure!(items.contains("配送"), "chapters: {items}");

            // A clinic does not find the wholesalers' article; it finds its own chapters and
            // its こんなときには.
            login(&b, &t, "clinic-operator@demo.vsys.jp").await?;
            search(&b, &t, "保冷箱").await?;
            b.find("#knowledge-none").await?;
            search(&b, &t, "予約受付状況").await?;
            let items = b.text("#knowledge-items").await?;
            anyhow::ensure!(items.contains("ホーム画面"), "clinic chapters: {items}");
            b.click("#category-when").await?;
            let items = b
                .wait_text("#knowledge-items", |s| s.contains("こんなときには"))
                .await?;
            anyhow::ensure!(items.contains("医療機関"), "its own: {items}");
            anyhow::ensure!(!items.contains("卸業者"), "not the wholesalers': {items}");
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "knowledge").await;
    }
);
