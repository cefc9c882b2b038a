//! The division screen and the simulator in headless Chromium, as the nation, 東京都 and 港区 use
//! them: a refused table keeps what was typed, with the error next to the cell and the
//! organisation named; the 確定 refusal said once, with the organisations linked; a message
//! after every success; the simulator's refusals and why saving is not offered; the division
//! opened with the formula's proposal.

use crate::allocation::{cycle_with_supply, division, nation_autofills, with_version};
use crate::browser::{absent, login};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

/// The value of a form control now.
async fn value(b: &Browser, css: &str) -> anyhow::Result<String> {
    b.find(css).await?;
    let v = b
        .execute(
            "return document.querySelector(arguments[0]).value;",
            json!([css]),
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// How many elements match now.
async fn count(b: &Browser, css: &str) -> anyhow::Result<i64> {
    let v = b
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([css]),
        )
        .await?;
    Ok(v.as_i64().unwrap_or(-1))
}

/// The stored amount of each line of a division (org code → amount in the child unit).
fn amounts(d: &Value) -> Vec<(String, i64)> {
    d["lines"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| {
            (
                l["org_code"].as_str().unwrap_or_default().to_owned(),
                l["amount"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

async fn ok(t: &TestApp, path: &str, token: &str) {
    let (s, body) = t.api(Method::POST, path, token, None).await;
    assert_eq!(s, StatusCode::OK, "{path}: {body}");
}

db_test!(
    division_refused_save_keeps_typed_values_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        in_browser!(b, "e2e-division-refused", {
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{id}/JP"))).await?;
            // Not a number: the table comes back as typed, the error next to the cell.
            b.fill("#amount-13", "５０").await?;
            b.fill("#amount-27", "abc").await?;
            b.click("#save-division").await?;
            let summary = b.text("#division-errors").await?;
            anyhow::ensure!(
                summary.contains("大阪府（27）") && !summary.contains("行目"),
                "organisation by name: {summary}"
            );
            let cell = b.text("#amount-27-error").await?;
            anyhow::ensure!(cell.contains("数字で入力"), "what to do: {cell}");
            anyhow::ensure!(
                value(&b, "#amount-13").await? == "５０" && value(&b, "#amount-27").await? == "abc",
                "typed values kept"
            );
            // Out of range: the use-case's refusal, also named and next to the cell.
            b.fill("#amount-27", "１０").await?;
            b.fill("#amount-13", "2,000,000,000").await?;
            b.click("#save-division").await?;
            let summary = b
                .wait_text("#division-errors", |s| s.contains("東京都（13）"))
                .await?;
            anyhow::ensure!(!summary.contains("行目"), "no row numbers: {summary}");
            b.find("#amount-13-error").await?;
            anyhow::ensure!(
                absent(&b, "#amount-27-error").await?,
                "only the bad cell is marked"
            );
            anyhow::ensure!(
                value(&b, "#amount-27").await? == "１０"
                    && value(&b, "#amount-13").await? == "2,000,000,000",
                "typed values kept after the use-case refused"
            );
            // More than received: said with what to do.
            b.fill("#amount-13", "1,000").await?;
            b.click("#save-division").await?;
            let summary = b
                .wait_text("#division-errors", |s| s.contains("残り"))
                .await?;
            anyhow::ensure!(summary.contains("減らして"), "what to do: {summary}");
            // Saved: said so.
            b.execute(
                "document.querySelectorAll('input[name^=amount_]').forEach(i => i.value = '0');",
                json!([]),
            )
            .await?;
            b.fill("#amount-13", "１，０００").await?;
            b.click("#save-division").await?;
            b.wait_text(".alert-success", |s| s.contains("分配量を保存しました"))
                .await?;
            anyhow::ensure!(b.url().await?.contains("flash="), "redirected after save");
            // A CSV imported: said so.
            let dir = tempfile::tempdir()?;
            let csv = dir.path().join("division.csv");
            std::fs::write(&csv, "組織コード,分配量\n27,0\n")?;
            b.fill("#file", &csv.to_string_lossy()).await?;
            b.click("#import-submit").await?;
            b.wait_text(".alert-success", |s| s.contains("CSVを取り込み"))
                .await?;
            Ok(())
        });
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let d = division(&t, &nation, &id, "JP").await;
        let saved = amounts(&d);
        assert!(saved.contains(&("13".to_owned(), 1000)), "{d}");
        assert_eq!(saved.iter().map(|l| l.1).sum::<i64>(), 1000, "{d}");
    }
);

db_test!(
    finalise_refusal_names_the_pending_organisations_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        nation_autofills(&t, &nation, &id).await;
        ok(
            &t,
            &format!("/api/v1/cycles/{id}/allocations/JP/finish"),
            &nation,
        )
        .await;
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        ok(
            &t,
            &format!("/api/v1/cycles/{id}/allocations/13/confirm"),
            &tokyo,
        )
        .await;
        let v = division(&t, &tokyo, &id, "13").await["version"]
            .as_i64()
            .unwrap_or(0);
        let (s, _) = with_version(
            &t,
            Method::POST,
            &format!("/api/v1/cycles/{id}/allocations/13/autofill"),
            &tokyo,
            v,
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        ok(
            &t,
            &format!("/api/v1/cycles/{id}/allocations/13/finish"),
            &tokyo,
        )
        .await;
        let d = division(&t, &tokyo, &id, "13").await;
        let pending = amounts(&d).iter().filter(|l| l.1 > 0).count();
        assert!(pending > 1, "{d}");
        in_browser!(b, "e2e-finalise-refused", {
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{id}/13"))).await?;
            b.click("#finalise").await?;
            b.accept_dialog().await?;
            let alert = b.text("#division-errors").await?;
            anyhow::ensure!(
                alert.contains(&format!("{pending} 件")),
                "the count ({pending}): {alert}"
            );
            anyhow::ensure!(
                alert.matches("分配が完了していない組織があります").count() == 1,
                "said once: {alert}"
            );
            anyhow::ensure!(
                alert.contains("港区（13103）") && !alert.contains("13103:"),
                "by name: {alert}"
            );
            anyhow::ensure!(
                count(&b, "#pending-orgs a").await? == i64::try_from(pending)?,
                "one link per organisation"
            );
            anyhow::ensure!(
                count(&b, "#division-errors > ul:first-of-type > li").await? == 1,
                "one message line"
            );
            b.click("#pending-orgs a[href$='/13103']").await?;
            b.wait_text("#division-title", |s| s.contains("港区"))
                .await?;
            // The nation sends 東京都's division back: said so.
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{id}/JP"))).await?;
            b.click("button[form=sendback-13]").await?;
            b.accept_dialog().await?;
            b.wait_text(".alert-success", |s| s.contains("分配を差し戻しました"))
                .await?;
            // 港区 (as 港区): confirm and finish, each said.
            login(&b, &t, "minato-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{id}/13103"))).await?;
            b.click("#confirm").await?;
            b.wait_text(".alert-success", |s| s.contains("確認済にしました"))
                .await?;
            b.click("#autofill").await?;
            b.accept_dialog().await?;
            b.wait_text(".alert-success", |s| s.contains("自動入力して保存しました"))
                .await?;
            b.click("#finish").await?;
            b.accept_dialog().await?;
            b.wait_text(".alert-success", |s| s.contains("分配完了にしました"))
                .await?;
            b.click("#withdraw").await?;
            b.accept_dialog().await?;
            b.wait_text(".alert-success", |s| s.contains("分配完了を取り消しました"))
                .await?;
            Ok(())
        });
    }
);

db_test!(
    simulator_refuses_bad_weights_and_says_why_it_cannot_save_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        in_browser!(b, "e2e-simulator", {
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            let page = t.url(&format!("/allocations/{id}/JP/simulate"));
            b.goto(&page).await?;
            // Garbage, huge, negative: refused, each field named.
            b.fill("#w-population", "たくさん").await?;
            b.fill("#w-requested", "5,000,000,000").await?;
            b.fill("#w-equal", "-3").await?;
            b.click("#run-simulation").await?;
            let summary = b.text("#simulate-errors").await?;
            anyhow::ensure!(
                summary.contains("人口割") && summary.contains("希望量割"),
                "fields named: {summary}"
            );
            anyhow::ensure!(
                b.text("#simulate-population-error")
                    .await?
                    .contains("数字で入力"),
                "not a number"
            );
            anyhow::ensure!(
                b.text("#simulate-requested-error")
                    .await?
                    .contains("1,000,000,000"),
                "the bound"
            );
            b.find("#simulate-equal-error").await?;
            anyhow::ensure!(
                value(&b, "#w-population").await? == "たくさん",
                "typed value kept"
            );
            let why = b.text("#apply-unavailable").await?;
            anyhow::ensure!(why.contains("誤り"), "why not saved: {why}");
            // All zero: refused.
            for w in ["population", "requested", "capacity", "usage", "equal"] {
                b.fill(&format!("#w-{w}"), "０").await?;
            }
            b.click("#run-simulation").await?;
            let summary = b
                .wait_text("#simulate-errors", |s| s.contains("すべて0"))
                .await?;
            anyhow::ensure!(summary.contains("重み"), "{summary}");
            // A total typed: a what-if, and the page says why it cannot be saved.
            b.fill("#w-equal", "１").await?;
            b.fill("#total", "４７０").await?;
            b.click("#run-simulation").await?;
            let why = b
                .wait_text("#apply-unavailable", |s| s.contains("分配する総量"))
                .await?;
            anyhow::ensure!(why.contains("空にして"), "what to do: {why}");
            anyhow::ensure!(absent(&b, "#simulate-errors").await?, "accepted");
            // Full-width weights, caps off: offered, and saved with them.
            b.fill("#total", "").await?;
            b.execute(
                "document.querySelector('#o-cap_by_request').checked = false; document.querySelector('#o-cap_by_capacity').checked = false;",
                json!([]),
            )
            .await?;
            b.click("#run-simulation").await?;
            b.find("#apply-simulation").await?;
            anyhow::ensure!(
                b.execute(
                    "return document.querySelector('#o-cap_by_request').checked;",
                    json!([])
                )
                .await?
                    == json!(false),
                "the switch is kept"
            );
            b.click("#apply-simulation").await?;
            b.wait_text(".alert-success", |s| s.contains("自動入力して保存しました"))
                .await?;
            Ok(())
        });
        // Equal shares: 1,000 boxes among 47 prefectures, 21 or 22 each.
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let d = division(&t, &nation, &id, "JP").await;
        let saved = amounts(&d);
        assert_eq!(saved.len(), 47, "{d}");
        assert!(saved.iter().all(|l| (21..=22).contains(&l.1)), "{d}");
    }
);

db_test!(
    division_opens_with_the_formula_proposal_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply(&t).await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        nation_autofills(&t, &nation, &id).await;
        ok(
            &t,
            &format!("/api/v1/cycles/{id}/allocations/JP/finish"),
            &nation,
        )
        .await;
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        let before = division(&t, &tokyo, &id, "13").await;
        let received = before["amount"].as_i64().unwrap_or(0);
        assert!(received > 0, "{before}");
        let mut shown = 0;
        in_browser!(b, "e2e-proposal", {
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{id}/13"))).await?;
            b.click("#confirm").await?;
            b.wait_text(".alert-success", |s| s.contains("確認済にしました"))
                .await?;
            let mark = b.text("#proposal-mark").await?;
            anyhow::ensure!(
                mark.contains("自動入力の案（まだ保存されていません）"),
                "{mark}"
            );
            let total = b
                .execute(
                    "return [...document.querySelectorAll('input[name^=amount_]')].reduce((s, i) => s + Number(i.value), 0);",
                    json!([]),
                )
                .await?;
            shown = total.as_i64().unwrap_or(0);
            anyhow::ensure!(shown > 0, "pre-filled: {total}");
            // Nothing saved by opening it.
            let d = division(&t, &tokyo, &id, "13").await;
            anyhow::ensure!(
                amounts(&d).iter().all(|l| l.1 == 0),
                "not saved on opening: {d}"
            );
            b.click("#save-division").await?;
            b.wait_text(".alert-success", |s| s.contains("分配量を保存しました"))
                .await?;
            anyhow::ensure!(absent(&b, "#proposal-mark").await?, "saved: no mark");
            let text = b.text("#division-form").await?;
            anyhow::ensure!(
                text.contains("人口割") && !text.contains("手入力"),
                "saved with the formula's explanation: {text}"
            );
            Ok(())
        });
        let d = division(&t, &tokyo, &id, "13").await;
        assert_eq!(
            amounts(&d).iter().map(|l| l.1).sum::<i64>(),
            shown,
            "the proposal was saved: {d}"
        );
    }
);
