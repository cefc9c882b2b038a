//! Amounts that add up, in headless Chromium (issue 14 item 5): after 東京都 auto-fills its
//! division on screen, every line's needles and syringes cover its doses, or the line's 内訳
//! says by how many they fall short; a division exported as CSV, edited in 分配量 only and
//! uploaded through the import form gets needles and syringes that follow the new amounts.

use crate::allocation::{cycle_with_supply, nation_autofills};
use crate::browser::{finish, login, start};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vsys_app::csv_files::{self, Encoding, allocation as division_csv};
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

/// One line of the division table as the page shows it.
#[derive(Debug, Clone)]
struct Row {
    code: String,
    amount: i64,
    doses: i64,
    needles: i64,
    syringes: i64,
    breakdown: String,
}

/// The lines of the division table, read by the column headers' labels.
async fn rows(b: &Browser) -> anyhow::Result<Vec<Row>> {
    let v = b
        .execute(
            r#"
            const table = document.querySelector('#division-form table');
            const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
            const col = (label) => heads.findIndex(h => h.startsWith(label));
            const at = { amount: col('分配量'), doses: col('回接種分'), needles: heads.indexOf('針'),
                         syringes: heads.indexOf('シリンジ'), breakdown: col('内訳') };
            return [...table.querySelectorAll('tbody tr')].map(tr => {
              const cells = [...tr.querySelectorAll('td')];
              const text = (i) => { const c = cells[i]; const inp = c.querySelector('input');
                                    return inp ? inp.value : c.textContent.trim(); };
              return [text(0), text(at.amount), text(at.doses), text(at.needles),
                      text(at.syringes), text(at.breakdown)];
            });
            "#,
            json!([]),
        )
        .await?;
    let num = |v: &Value| -> i64 {
        v.as_str()
            .unwrap_or_default()
            .replace(',', "")
            .trim()
            .parse()
            .unwrap_or(-1)
    };
    Ok(v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| Row {
            code: r[0].as_str().unwrap_or_default().to_owned(),
            amount: num(&r[1]),
            doses: num(&r[2]),
            needles: num(&r[3]),
            syringes: num(&r[4]),
            breakdown: r[5].as_str().unwrap_or_default().to_owned(),
        })
        .collect())
}

/// Every line's needles and syringes cover its doses, or the line's 内訳 names the exact
/// shortfall; the lines that follow the doses say so. Answers how many lines were short.
fn covered_or_flagged(rows: &[Row]) -> anyhow::Result<usize> {
    let mut short = 0;
    for r in rows.iter().filter(|r| r.doses > 0) {
        anyhow::ensure!(
            r.breakdown.contains("100 本単位で切り上げ"),
            "{}: the 内訳 does not say how needles were counted: {}",
            r.code,
            r.breakdown
        );
        for (what, pieces) in [("針", r.needles), ("シリンジ", r.syringes)] {
            anyhow::ensure!(pieces >= 0, "{}: {what} not read", r.code);
            if pieces < r.doses {
                let flag = format!("{what}が {} 本不足", r.doses - pieces);
                anyhow::ensure!(
                    r.breakdown.contains(&flag),
                    "{}: {pieces} {what} for {} doses, not flagged ({flag}): {}",
                    r.code,
                    r.doses,
                    r.breakdown
                );
                short += 1;
            } else {
                anyhow::ensure!(
                    !r.breakdown.contains(&format!("{what}が ")),
                    "{}: flagged although covered: {}",
                    r.code,
                    r.breakdown
                );
            }
        }
    }
    Ok(short)
}

db_test!(
    autofilled_needles_cover_the_doses_and_follow_an_imported_amount,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // 1,000 boxes and 12,000 packs of needles and of syringes; the nation auto-fills and
        // finishes, 東京都 works on screen.
        let id = cycle_with_supply(&t).await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        nation_autofills(&t, &nation, &id).await;
        let (s, v) = t
            .api(
                Method::POST,
                &format!("/api/v1/cycles/{id}/allocations/JP/finish"),
                &nation,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let Some(b) = start().await else {
            return;
        };
        let run = async {
            // The nation's division: every prefecture covered (the nation has enough).
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{id}/JP"))).await?;
            b.find("#division-form").await?;
            let prefectures = rows(&b).await?;
            anyhow::ensure!(prefectures.len() == 47, "{prefectures:?}");
            anyhow::ensure!(
                covered_or_flagged(&prefectures)? == 0,
                "a prefecture short although the nation has enough: {prefectures:?}"
            );
            // 東京都 confirms and auto-fills its municipalities.
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url(&format!("/allocations/{id}/13"))).await?;
            b.click("#confirm").await?;
            b.wait_text("#node-status", |s| s == "確認済").await?;
            b.click("#autofill").await?;
            b.accept_dialog().await?;
            b.wait_text("#remainder", |s| s.starts_with('0')).await?;
            let before = rows(&b).await?;
            anyhow::ensure!(
                before.iter().filter(|r| r.doses > 0).count() >= 2,
                "{before:?}"
            );
            covered_or_flagged(&before)?;
            // The needles 東京都 received: the third figure of its 受領 row.
            let received = b
                .execute(
                    "return document.querySelector('#received').parentElement.children[3].textContent;",
                    json!([]),
                )
                .await?;
            let received: i64 = received
                .as_str()
                .unwrap_or_default()
                .replace(',', "")
                .trim()
                .parse()?;
            let handed: i64 = before.iter().map(|r| r.needles).sum();
            anyhow::ensure!(
                handed <= received,
                "{handed} needles handed down, {received} received"
            );

            // The CSV round trip: export (UTF-8), move one box between two lines in 分配量
            // only, upload through the import form.
            let csv = b
                .execute(
                    "return fetch(arguments[0]).then(r => r.text());",
                    json!([format!("/allocations/{id}/13/export.csv?encoding=utf-8")]),
                )
                .await?;
            let (text, _) = csv_files::decode(csv.as_str().unwrap_or_default().as_bytes())
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let table =
                csv_files::parse(&text, &[division_csv::COL_CODE, division_csv::COL_AMOUNT])
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let from = before
                .iter()
                .max_by_key(|r| r.amount)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no lines"))?;
            let to = before
                .iter()
                .find(|r| r.code != from.code && r.doses > 0)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no second line"))?;
            anyhow::ensure!(from.amount >= 2, "{from:?}");
            let headers: Vec<&str> = table.headers.iter().map(String::as_str).collect();
            let edited: Vec<Vec<String>> = table
                .rows
                .iter()
                .map(|r| {
                    headers
                        .iter()
                        .map(|h| {
                            let code = r.get(division_csv::COL_CODE);
                            match (*h == division_csv::COL_AMOUNT, code) {
                                (true, c) if c == from.code => (from.amount - 1).to_string(),
                                (true, c) if c == to.code => (to.amount + 1).to_string(),
                                _ => r.get(h).to_owned(),
                            }
                        })
                        .collect()
                })
                .collect();
            let file = csv_files::write(&headers, &edited, Encoding::Utf8)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            b.execute(
                "const dt = new DataTransfer();
                 dt.items.add(new File([arguments[0]], 'division.csv', {type: 'text/csv'}));
                 document.querySelector('#file').files = dt.files;",
                json!([String::from_utf8_lossy(&file)]),
            )
            .await?;
            b.click("#import-submit").await?;
            let mut after = Vec::new();
            for _ in 0..100 {
                after = rows(&b).await.unwrap_or_default();
                if after
                    .iter()
                    .any(|r| r.code == from.code && r.amount == from.amount - 1)
                {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let line = |code: &str| after.iter().find(|r| r.code == code).cloned();
            let (f, g) = (
                line(&from.code).ok_or_else(|| anyhow::anyhow!("{after:?}"))?,
                line(&to.code).ok_or_else(|| anyhow::anyhow!("{after:?}"))?,
            );
            anyhow::ensure!(
                f.amount == from.amount - 1 && g.amount == to.amount + 1,
                "the file was not imported: {f:?} {g:?}"
            );
            // The needles and syringes followed the amounts, and still cover (or say so).
            anyhow::ensure!(
                f.needles < from.needles && f.syringes < from.syringes,
                "needles kept after 分配量 went down: {from:?} → {f:?}"
            );
            anyhow::ensure!(
                g.needles > to.needles && g.syringes > to.syringes,
                "needles kept after 分配量 went up: {to:?} → {g:?}"
            );
            covered_or_flagged(&after)?;
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "e2e-amounts").await;
    }
);
