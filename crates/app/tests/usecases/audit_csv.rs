//! The audit log (verified by the nation's administrators or on the host; an edited entry
//! found; searched and exported by them only) and the CSV codecs (a division exported and
//! imported back, in UTF-8 and Shift_JIS; cells a spreadsheet would run kept as text).

use crate::common::*;
use vsys_app::AppError;
use vsys_app::allocation;
use vsys_app::csv_files::{self, Encoding, TableError, allocation as division_csv};
use vsys_domain::{Lang, Msg};
use vsys_store::Page;
use vsys_store::audit::AuditFilter;
use vsys_testkit::db_test;

db_test!(
    audit_chains_verified_searched_exported,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        // Some work in several organisations' partitions.
        w.make_user("13103", "viewer", "chain@example.jp").await;
        vsys_app::notices::post(
            app,
            &w.actor("minato", "operator").await,
            &w.clinic().await,
            &vsys_app::notices::NoticeDraft {
                category: "info".into(),
                title_ja: "お知らせ".into(),
                title_en: "Notice".into(),
                body_ja: "本文".into(),
                body_en: "Body".into(),
                link: None,
            },
        )
        .await
        .unwrap();
        let admin = w.actor("nation", "admin").await;
        let report = vsys_app::audit::verify(app, &admin).await.unwrap();
        assert!(report.breaks.is_empty(), "{:?}", report.breaks);
        assert!(report.partitions >= 2 && report.entries >= 3, "{report:?}");
        // The host's check sees the same.
        assert_eq!(vsys_app::audit::verify_on_host(app).await.unwrap(), report);
        for (slug, role) in [
            ("nation", "operator"),
            ("tokyo", "admin"),
            ("minato", "admin"),
        ] {
            forbidden(vsys_app::audit::verify(app, &w.actor(slug, role).await).await);
            forbidden(
                vsys_app::audit::search(
                    app,
                    &w.actor(slug, role).await,
                    &AuditFilter::default(),
                    Page::first(10),
                )
                .await,
            );
        }
        // Searched by partition and action.
        let (rows, total) = vsys_app::audit::search(
            app,
            &admin,
            &AuditFilter {
                partition: Some("13103".into()),
                action_prefix: Some("notice.".into()),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
        assert_eq!(total, 1);
        assert_eq!(rows[0].actor_org.as_deref(), Some("13103"));
        let names = vsys_app::audit::actor_names(app, &admin, &rows)
            .await
            .unwrap();
        assert_eq!(names.len(), 1);
        // The export is itself recorded.
        let exported = vsys_app::audit::export(app, &admin, &AuditFilter::default(), 1000)
            .await
            .unwrap();
        assert_eq!(exported.len() as u64, report.entries);
        assert_eq!(w.audit("audit.export").await.len(), 1);
        forbidden(
            vsys_app::audit::export(
                app,
                &w.actor("tokyo", "admin").await,
                &AuditFilter::default(),
                10,
            )
            .await,
        );
        // An entry edited behind the application's back breaks its chain.
        let victim = rows[0].clone();
        let mut tx = w.db.db.begin().await.unwrap();
        tx.raw(&format!(
            "UPDATE audit_log SET action = 'notice.deleted' WHERE id = '{}'",
            victim.id
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let broken = vsys_app::audit::verify(app, &admin).await.unwrap();
        assert!(
            broken
                .breaks
                .iter()
                .any(|b| b.partition == victim.partition && b.seq == victim.seq),
            "{broken:?}"
        );
    }
);

/// The nation's division of a new cycle, auto-filled (not finished).
async fn nation_division(w: &World, number: i64) -> std::sync::Arc<allocation::Division> {
    let c = w.cycle_with_supply(number).await;
    let nation = w.actor("nation", "operator").await;
    let v = w.version(&nation, &c.id, "JP").await;
    allocation::apply_autofill(&w.app, &nation, &c.id, "JP", v, None)
        .await
        .unwrap();
    allocation::division(&w.app, &nation, &c.id, "JP")
        .await
        .unwrap()
}

fn amounts(d: &allocation::Division) -> Vec<(String, i64)> {
    d.children
        .iter()
        .map(|l| {
            (
                l.org.code.clone(),
                l.node.as_ref().map(|n| n.vials).unwrap_or(0),
            )
        })
        .collect()
}

/// A division file with the 分配量 of some organisations changed by `delta` boxes.
fn edited(bytes: &[u8], changes: &[(&str, i64)]) -> Vec<u8> {
    let (text, _) = csv_files::decode(bytes).unwrap();
    let table =
        csv_files::parse(&text, &[division_csv::COL_CODE, division_csv::COL_AMOUNT]).unwrap();
    let headers: Vec<&str> = table.headers.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            headers
                .iter()
                .map(|h| {
                    let cell = r.get(h).to_owned();
                    match changes
                        .iter()
                        .find(|(code, _)| *code == r.get(division_csv::COL_CODE))
                    {
                        Some((_, delta)) if *h == division_csv::COL_AMOUNT => {
                            (cell.parse::<i64>().unwrap() + delta).to_string()
                        }
                        _ => cell,
                    }
                })
                .collect()
        })
        .collect();
    csv_files::write(&headers, &rows, Encoding::Utf8).unwrap()
}

db_test!(division_csv_round_trip, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let d = nation_division(&w, 13).await;
    let id = d.cycle.id.clone();
    let before = amounts(&d);
    // Exported in UTF-8 (with a BOM) and in Shift_JIS, and read back as they were.
    for (encoding, suffix) in [(Encoding::Utf8, "utf8"), (Encoding::ShiftJis, "sjis")] {
        let (bytes, name) = division_csv::export(&d, encoding, Lang::Ja).unwrap();
        assert_eq!(name, format!("division_13_JP_{suffix}.csv"));
        let (text, detected) = csv_files::decode(&bytes).unwrap();
        assert_eq!(detected, encoding);
        assert!(text.contains("東京都"));
        let v = w.version(&nation, &id, "JP").await;
        let node = division_csv::import(app, &nation, &id, "JP", v, &bytes)
            .await
            .unwrap();
        assert_eq!(node.version, v + 1);
        let after = allocation::division(app, &nation, &id, "JP").await.unwrap();
        assert_eq!(amounts(&after), before, "{encoding:?}");
    }
    // One box moved from 東京都 to 神奈川県 in the file: so in the division, explained as a
    // manual adjustment of the auto-filled amount.
    let (bytes, _) = division_csv::export(&d, Encoding::Utf8, Lang::Ja).unwrap();
    let v = w.version(&nation, &id, "JP").await;
    division_csv::import(
        app,
        &nation,
        &id,
        "JP",
        v,
        &edited(&bytes, &[("13", -1), ("14", 1)]),
    )
    .await
    .unwrap();
    let after = allocation::division(app, &nation, &id, "JP").await.unwrap();
    let vials = |d: &allocation::Division, code: &str| {
        amounts(d).into_iter().find(|(c, _)| c == code).unwrap().1
    };
    assert_eq!(vials(&after, "13"), vials(&d, "13") - 195);
    assert_eq!(vials(&after, "14"), vials(&d, "14") + 195);
    let tokyo = after.children.iter().find(|l| l.org.code == "13").unwrap();
    let explanation: allocation::StoredExplanation =
        serde_json::from_str(tokyo.node.as_ref().unwrap().explanation.as_deref().unwrap()).unwrap();
    assert_eq!(explanation.manual_adjustment, -1);
    assert!(explanation.auto.is_some());
    // The same file against the version it was read at: someone else changed it since.
    conflict(division_csv::import(app, &nation, &id, "JP", v, &bytes).await);
    // Over the nation's amount: refused as a whole.
    let v = w.version(&nation, &id, "JP").await;
    assert_eq!(
        invalid(
            division_csv::import(app, &nation, &id, "JP", v, &edited(&bytes, &[("01", 5)])).await,
            "amount"
        ),
        Msg::AllocationOverParent
    );
    // Bad rows are named by their row in the file.
    let bad = format!(
        "{},{}\r\n13,1\r\n99,1\r\n14,x\r\n",
        division_csv::COL_CODE,
        division_csv::COL_AMOUNT
    );
    match division_csv::import(app, &nation, &id, "JP", v, bad.as_bytes()).await {
        Err(AppError::Invalid(inv)) => assert_eq!(
            inv.0
                .iter()
                .map(|f| (f.row, f.field.as_str(), f.msg))
                .collect::<Vec<_>>(),
            [
                (Some(2), "org_code", Msg::UnknownOrg),
                (Some(3), "amount", Msg::InvalidInput)
            ]
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        division_csv::import(app, &nation, &id, "JP", v, "名称\r\n東京都\r\n".as_bytes()).await,
        Err(AppError::Csv(TableError::MissingColumns(_)))
    ));
    // Someone else's division cannot be imported into.
    not_found(
        division_csv::import(
            app,
            &w.actor("tokyo", "operator").await,
            &id,
            "JP",
            v,
            &bytes,
        )
        .await,
    );
});

#[test]
fn cells_a_spreadsheet_would_run_stay_text() {
    let rows = vec![
        vec![
            "=HYPERLINK(\"http://evil.example\")".to_owned(),
            "-5".to_owned(),
        ],
        vec!["@SUM(A1)".to_owned(), "港区, 東京都".to_owned()],
    ];
    let bytes = csv_files::write(&["名称", "数量"], &rows, Encoding::Utf8).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with('\u{feff}'), "UTF-8 with a BOM");
    assert!(
        text.contains("'=HYPERLINK") && text.contains("'@SUM"),
        "{text}"
    );
    assert!(text.contains(",-5\r\n"), "numbers stay numbers: {text}");
    let (decoded, enc) = csv_files::decode(&bytes).unwrap();
    assert_eq!(enc, Encoding::Utf8);
    let table = csv_files::parse(&decoded, &["名称", "数量"]).unwrap();
    let back: Vec<Vec<&str>> = table
        .rows
        .iter()
        .map(|r| vec![r.get("名称"), r.get("数量")])
        .collect();
    assert_eq!(
        back,
        [
            ["=HYPERLINK(\"http://evil.example\")", "-5"],
            ["@SUM(A1)", "港区, 東京都"]
        ]
    );
    // Shift_JIS never replaces a character silently.
    let emoji = vec![vec!["😀".to_owned(), "1".to_owned()]];
    assert!(matches!(
        csv_files::write(&["名称", "数量"], &emoji, Encoding::ShiftJis),
        Err(TableError::Unencodable { row: 1, .. })
    ));
    let sjis = csv_files::write(&["名称", "数量"], &rows, Encoding::ShiftJis).unwrap();
    assert_eq!(csv_files::decode(&sjis).unwrap().1, Encoding::ShiftJis);
}
