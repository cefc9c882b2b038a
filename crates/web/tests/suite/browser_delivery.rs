//! End-to-end in headless Chromium, delivery after 東京都 finalised a cycle: the wholesaler
//! enters 納入予定日 for two lines in the bulk form (a bad lot first: nothing saved, the row
//! named, what was typed kept), the site is told and sees the date on its home page, 東京都's
//! 配送状況 counts one line fewer without a date and its links lead to the lines, and once the
//! days pass the two lines are counted 遅延.

use crate::browser::{absent, finish, login, set, start};
use crate::common::*;
use crate::delivery::finalised_cycle;
use reqwest::Method;
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

const WHOLESALER: &str = "wholesaler-operator@demo.vsys.jp";
const TOKYO: &str = "tokyo-operator@demo.vsys.jp";

async fn value(b: &Browser, css: &str) -> anyhow::Result<String> {
    Ok(b.execute(
        "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
        serde_json::json!([css]),
    )
    .await?
    .as_str()
    .unwrap_or_default()
    .to_owned())
}

/// 東京都's count of lines without a 納入予定日, through the API.
async fn unscheduled(t: &TestApp, cycle: &str) -> i64 {
    let tokyo = t.token(TOKYO).await;
    let (s, st) = t
        .api(
            Method::GET,
            &format!("/api/v1/deliveries/status?cycle={cycle}"),
            &tokyo,
            None,
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{st}");
    st["unscheduled"].as_i64().unwrap_or(-1)
}

db_test!(
    a_wholesaler_schedules_and_the_prefecture_follows_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let cycle = finalised_cycle(&t).await;
        let before = unscheduled(&t, &cycle).await;
        assert!(before >= 2, "lines to schedule: {before}");
        let today = vsys_app::clock::japan_date(t.app.clock.now());
        let day = (today + chrono::Duration::days(3)).to_string();
        let mut ids: Vec<String> = Vec::new();
        let run = async {
            // 1. The wholesaler's list of the cycle is a form.
            login(&b, &t, WHOLESALER).await?;
            b.click("#nav-deliveries").await?;
            b.find("#deliveries-title").await?;
            b.goto(&t.url(&format!("/deliveries?cycle={cycle}")))
                .await?;
            b.find("#deliveries-save").await?;
            let rows = b
                .execute(
                    "return [...document.querySelectorAll('#deliveries-table tbody tr[data-row]')]\
                     .slice(0, 2).map(r => r.id.replace('delivery-', ''));",
                    serde_json::json!([]),
                )
                .await?;
            ids = serde_json::from_value(rows)?;
            anyhow::ensure!(ids.len() == 2, "two lines: {ids:?}");
            let first = b.text(&format!("#delivery-{}", ids[0])).await?;
            anyhow::ensure!(
                first.contains("ワクチン") && first.contains("バイアル"),
                "a vaccine line: {first}"
            );

            // 2. Two dates and a lot with a space: refused as a whole, row 1 named at the top
            //    and next to the line, what was typed kept.
            set(&b, "#scheduled_on-1", &day).await?;
            set(&b, "#scheduled_on-2", &day).await?;
            b.fill("#lot-1", "AB 12").await?;
            b.click("#deliveries-save").await?;
            let errors = b.wait_text("#bulk-errors", |s| s.contains("1行目")).await?;
            anyhow::ensure!(errors.contains("ロット"), "bulk errors: {errors}");
            let next_to = b.text("#row-1-errors").await?;
            anyhow::ensure!(next_to.contains("ロット"), "next to the row: {next_to}");
            let invalid = b
                .execute(
                    "return document.querySelector('#lot-1').getAttribute('aria-invalid');",
                    serde_json::json!([]),
                )
                .await?;
            anyhow::ensure!(invalid == "true", "lot marked invalid: {invalid}");
            anyhow::ensure!(
                value(&b, "#scheduled_on-2").await? == day,
                "row 2 keeps the typed date"
            );
            anyhow::ensure!(value(&b, "#lot-1").await? == "AB 12", "lot kept");
            anyhow::ensure!(
                unscheduled(&t, &cycle).await == before,
                "nothing saved while a row is wrong"
            );

            // 3. Corrected and saved: both lines carry the date.
            b.fill("#lot-1", "FK1234").await?;
            b.click("#deliveries-save").await?;
            b.wait_text(".alert-success", |s| s.contains("保存しました"))
                .await?;
            b.goto(&t.url(&format!("/deliveries?cycle={cycle}&state=scheduled:{day}")))
                .await?;
            b.find("#deliveries-save").await?;
            for id in &ids {
                let row = b.text(&format!("#delivery-{id}")).await?;
                anyhow::ensure!(!row.is_empty(), "line {id} scheduled");
            }
            let shown = b
                .execute(
                    "return [...document.querySelectorAll('#deliveries-table input[name^=scheduled_on_]')].map(e => e.value);",
                    serde_json::json!([]),
                )
                .await?;
            anyhow::ensure!(
                shown == serde_json::json!([day, day]),
                "the two dates: {shown}"
            );
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        if result.is_err() {
            let _ = b
                .screenshot(std::path::Path::new("/tmp/vsys-e2e-delivery-failure.png"))
                .await;
        }
        result.unwrap_or_else(|e| panic!("{e:#}"));

        // The site was told, through its notices.
        let site = {
            let mut tx = t.db.db.read().await.unwrap();
            vsys_store::deliveries::get(&mut tx, &ids[0])
                .await
                .unwrap()
                .unwrap()
                .site_code
        };
        let site_user = t
            .make_user(&site, "viewer", "delivery-site@example.jp")
            .await;
        let token = t.token(&site_user).await;
        let (_, notices) = t.api(Method::GET, "/api/v1/notices", &token, None).await;
        assert!(
            notices.to_string().contains("配送予定日のお知らせ"),
            "{notices}"
        );
        assert_eq!(unscheduled(&t, &cycle).await, before - 2);

        let run = async {
            // 4. The site's home page shows the date and from when it can take bookings.
            login(&b, &t, &site_user).await?;
            b.wait_text(&format!("#scheduled-{cycle}-vaccine"), |s| s.contains(&day))
                .await?;
            let reservable = b.text("#reservable").await?;
            anyhow::ensure!(
                reservable.contains(&format!("{day}以降")) && reservable.contains("回接種分"),
                "reservable: {reservable}"
            );

            // 5. 東京都's 配送状況: two lines fewer without a date; the count leads to them.
            login(&b, &t, TOKYO).await?;
            b.click("#nav-delivery-status").await?;
            b.find("#delivery-status-title").await?;
            b.goto(&t.url(&format!("/deliveries/status?cycle={cycle}")))
                .await?;
            let want = vsys_web::i18n::int(before - 2);
            b.wait_text("#status-unscheduled", |s| s == want).await?;
            b.wait_text(&format!("#scheduled-{day}-link"), |s| s == "2")
                .await?;
            anyhow::ensure!(b.text("#status-late").await? == "0", "none late yet");
            b.click("#status-unscheduled").await?;
            b.find("#deliveries-title").await?;
            let url = b.url().await?;
            anyhow::ensure!(
                url.contains("state=unscheduled") && url.contains(&cycle),
                "the list of the count: {url}"
            );
            let text = b.page_text().await?;
            anyhow::ensure!(
                text.contains(&format!("合計 {want}")),
                "as many lines as counted ({want}): {text}"
            );
            for id in &ids {
                anyhow::ensure!(
                    absent(&b, &format!("#delivery-{id}")).await?,
                    "scheduled line {id} not among the unscheduled"
                );
            }
            anyhow::ensure!(
                absent(&b, "#deliveries-save").await?,
                "the prefecture looks, it does not enter dates"
            );

            // 6. Four days on, the two lines are late: the 遅延 count leads to them.
            t.clock.advance(chrono::Duration::days(4));
            login(&b, &t, TOKYO).await?;
            b.goto(&t.url(&format!("/deliveries/status?cycle={cycle}")))
                .await?;
            b.wait_text("#status-late", |s| s == "2").await?;
            b.click("#status-late").await?;
            b.find("#deliveries-title").await?;
            anyhow::ensure!(
                b.url().await?.contains("state=late"),
                "the list of late lines"
            );
            for id in &ids {
                let row = b.text(&format!("#delivery-{id}")).await?;
                anyhow::ensure!(row.contains("遅延"), "line {id} marked late: {row}");
            }
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "e2e-delivery").await;

        // What the screen wrote: the dates, the lot of the first line, nothing else.
        let mut tx = t.db.db.read().await.unwrap();
        for (i, id) in ids.iter().enumerate() {
            let d = vsys_store::deliveries::get(&mut tx, id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(d.scheduled_on.map(|d| d.to_string()), Some(day.clone()));
            assert_eq!(d.delivered_on, None);
            assert_eq!(d.version, 1);
            assert_eq!(d.lot.as_deref(), (i == 0).then_some("FK1234"));
        }
    }
);

/// A `multipart/form-data` body with the CSRF field and one file.
fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "vsys-test-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"deliveries.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn get_page(c: &reqwest::Client, t: &TestApp, path: &str) -> (reqwest::StatusCode, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

db_test!(
    delivery_screens_download_upload_and_reassign_without_javascript,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let cycle = finalised_cycle(&t).await;
        let api = t.token(WHOLESALER).await;
        let (_, mine) = t
            .api(
                Method::GET,
                &format!("/api/v1/deliveries?cycle={cycle}&per_page=500"),
                &api,
                None,
            )
            .await;
        let lines = mine["items"].as_array().cloned().unwrap_or_default();
        assert!(lines.len() >= 2, "{mine}");
        let (first, second) = (&lines[0], &lines[1]);
        let id = |d: &serde_json::Value| d["id"].as_str().unwrap_or_default().to_owned();

        // The wholesaler downloads its lines, in both encodings.
        let w = t.web_login(WHOLESALER).await;
        let (s, page) = get_page(&w, &t, &format!("/deliveries?cycle={cycle}")).await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert!(page.contains("id=\"deliveries-save\""));
        assert!(page.contains("id=\"import-form\""));
        let csrf = csrf_of(&page);
        for (enc, charset) in [("utf-8", "utf-8"), ("shift_jis", "Shift_JIS")] {
            let res = w
                .get(t.url(&format!("/deliveries.csv?cycle={cycle}&encoding={enc}")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), reqwest::StatusCode::OK, "{enc}");
            let ct = res.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(ct, format!("text/csv; charset={charset}"));
            let bytes = res.bytes().await.unwrap();
            if enc == "utf-8" {
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    text.contains("配送ID") && text.contains(&id(first)),
                    "{text}"
                );
            }
        }

        // An upload with a bad date: refused, the row named, nothing saved.
        let bad = format!(
            "配送ID,版,納入予定日\n{},{},2026-13-45\n",
            id(second),
            second["version"]
        );
        let (ct, body) = multipart(&csrf, bad.as_bytes());
        let res = w
            .post(t.url(&format!("/deliveries/import?cycle={cycle}")))
            .header(reqwest::header::CONTENT_TYPE, ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let page = res.text().await.unwrap();
        assert!(
            page.contains("id=\"import-errors\"") && page.contains("納入予定日"),
            "{page}"
        );
        // A good one: saved, back to the list with a message.
        let day = (vsys_app::clock::japan_date(t.app.clock.now()) + chrono::Duration::days(5))
            .to_string();
        let good = format!(
            "配送ID,版,納入予定日,配送番号\n{},{},{day},D-77\n",
            id(first),
            first["version"]
        );
        let (ct, body) = multipart(&csrf, good.as_bytes());
        let res = w
            .post(t.url(&format!("/deliveries/import?cycle={cycle}")))
            .header(reqwest::header::CONTENT_TYPE, ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
        let to = res.headers()[reqwest::header::LOCATION].to_str().unwrap();
        assert!(to.contains("flash=deliveries_imported"), "{to}");
        let (_, d) = t
            .api(
                Method::GET,
                &format!("/api/v1/deliveries/{}", id(first)),
                &api,
                None,
            )
            .await;
        assert_eq!(d["scheduled_on"], day.as_str(), "{d}");
        assert_eq!(d["delivery_number"], "D-77");
        // Its 配送状況 is its own; a site has none.
        let (s, page) = get_page(&w, &t, &format!("/deliveries/status?cycle={cycle}")).await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert!(page.contains("id=\"status-unscheduled\""));

        // 東京都 looks but does not enter dates.
        let tokyo = t.web_login(TOKYO).await;
        let (s, page) = get_page(&tokyo, &t, &format!("/deliveries?cycle={cycle}")).await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert!(!page.contains("id=\"deliveries-save\""));
        assert!(
            !page.contains("reassign-to-"),
            "one wholesaler: nothing to change"
        );
        let res = tokyo
            .post(t.url("/deliveries/save"))
            .form(&[("_csrf", csrf_of(&page).as_str()), ("id_1", &id(second))])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);

        // With a second wholesaler serving 港区, an undated line can go to it.
        {
            let mut tx = t.db.db.begin().await.unwrap();
            let w1 = vsys_store::orgs::get(&mut tx, "W13001")
                .await
                .unwrap()
                .unwrap();
            let w2 = vsys_store::orgs::OrgRow {
                code: "W13002".into(),
                name: "第二卸".into(),
                path: w1.path.replace("W13001", "W13002"),
                ..w1
            };
            vsys_store::orgs::insert_many(&mut tx, &[w2]).await.unwrap();
            vsys_store::orgs::add_area(&mut tx, "W13002", "13103")
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let (_, page) = get_page(&tokyo, &t, &format!("/deliveries?cycle={cycle}")).await;
        let target = id(second);
        assert!(
            page.contains(&format!("id=\"reassign-to-{target}\"")),
            "undated line offered"
        );
        assert!(
            !page.contains(&format!("id=\"reassign-to-{}\"", id(first))),
            "a dated line stays"
        );
        let csrf = csrf_of(&page);
        let reassign = |code: &'static str| {
            let (tokyo, csrf, target) = (&tokyo, csrf.clone(), target.clone());
            let url = t.url(&format!("/deliveries/{target}/reassign?cycle={cycle}"));
            async move {
                tokyo
                    .post(url)
                    .form(&[("_csrf", csrf.as_str()), ("deliverer_code", code)])
                    .send()
                    .await
                    .unwrap()
            }
        };
        let res = reassign("W27001").await;
        assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let page = res.text().await.unwrap();
        assert!(
            page.contains("id=\"reassign-errors\"") && page.contains("担当していません"),
            "{page}"
        );
        let res = reassign("W13002").await;
        assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
        let to = res.headers()[reqwest::header::LOCATION].to_str().unwrap();
        assert!(to.contains("flash=reassigned"), "{to}");
        let (_, d) = t
            .api(
                Method::GET,
                &format!("/api/v1/deliveries/{target}"),
                &t.token(TOKYO).await,
                None,
            )
            .await;
        assert_eq!(d["deliverer_code"], "W13002", "{d}");

        // A site sees its lines on its home page and in the list, not the area's status.
        let site = first["site_code"].as_str().unwrap_or_default().to_owned();
        let site_user = t.make_user(&site, "viewer", "site-nojs@example.jp").await;
        let c = t.web_login(&site_user).await;
        let (s, page) = get_page(&c, &t, "/").await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert!(
            page.contains(&format!("id=\"scheduled-{cycle}-vaccine\"")) && page.contains(&day),
            "{page}"
        );
        let (s, page) = get_page(&c, &t, "/deliveries").await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert!(page.contains(&id(first)) && !page.contains("id=\"deliveries-save\""));
        let (s, _) = get_page(&c, &t, "/deliveries/status").await;
        assert_eq!(s, reqwest::StatusCode::FORBIDDEN);
    }
);
