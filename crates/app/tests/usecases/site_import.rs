//! 医療機関の一括登録: a small file imported at once (idempotent, scoped to the importer's
//! area), and the same work as a background job whose progress and outcome are read from the
//! database by the person who started it only.

use crate::common::*;
use std::time::Duration;
use vsys_app::AppError;
use vsys_app::csv_files::TableError;
use vsys_app::site_import::{self, ImportJob, ImportSummary, Phase};
use vsys_domain::{Lang, Msg, OrgKind};
use vsys_testkit::db_test;

const HEADER: &str = "医療機関コード,老健施設等コード,名称,郵便番号,市町村コード,住所,代表者,契約状況,種別,基本型コード";

/// Two institutions in 港区 (a hub and its satellite) and one in 札幌市.
const THREE: [&str; 3] = [
    "1350000001,,髙橋クリニック,105-0011,13103,東京都港区芝公園4-2-8,髙橋 一郎,契約済,基本型,",
    "1350000002,1312345678,﨑山医院,1060032,13103,東京都港区六本木1-1-1,﨑山 花子,手続中,サテライト型,1350000001",
    "0150000001,,札幌すずらん内科,060-0001,01100,北海道札幌市中央区北1条西2丁目,鈴木 次郎,未契約,,",
];

fn utf8(rows: &[&str]) -> Vec<u8> {
    format!("{HEADER}\n{}\n", rows.join("\n")).into_bytes()
}

fn sjis(rows: &[&str]) -> Vec<u8> {
    let text = format!("{HEADER}\r\n{}\r\n", rows.join("\r\n"));
    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!had_errors, "test data must fit Shift_JIS");
    bytes.into_owned()
}

fn summary(rows: usize, created: usize, updated: usize, unchanged: usize) -> ImportSummary {
    ImportSummary {
        rows,
        created,
        updated,
        unchanged,
    }
}

/// The (row, column, message) of every error of a refused file.
fn row_errors<T: std::fmt::Debug>(r: Result<T, AppError>) -> Vec<(usize, String, Msg)> {
    match r {
        Err(AppError::Csv(TableError::Rows(errors))) => errors
            .into_iter()
            .map(|e| (e.row.unwrap_or(0), e.field, e.msg))
            .collect(),
        other => panic!("expected row errors, got {other:?}"),
    }
}

/// Polls a job until it has finished (ten seconds at most).
async fn finished(w: &World, actor: &vsys_app::Actor, id: &str) -> ImportJob {
    for _ in 0..400 {
        let j = site_import::job(&w.app, actor, id, Lang::Ja).await.unwrap();
        if j.finished {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not finish");
}

db_test!(import_at_once_idempotent_and_scoped, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let phases = std::sync::Mutex::new(Vec::new());
    let s = site_import::import(app, &nation, &sjis(&THREE), &|p, done, total| {
        phases.lock().unwrap().push((p, done, total));
    })
    .await
    .unwrap();
    assert_eq!(s, summary(3, 3, 0, 0));
    assert_eq!(
        phases.into_inner().unwrap().last(),
        Some(&(Phase::Done, 3, 3))
    );
    let hub = vsys_app::orgs::get(app, &nation, "1350000001")
        .await
        .unwrap();
    assert_eq!(
        (hub.kind, hub.parent_code.as_deref(), hub.path.as_str()),
        (
            OrgKind::Institution,
            Some("13103"),
            "/JP/13/13103/1350000001/"
        )
    );
    let sat = vsys_app::sites::get(app, &nation, "1350000002")
        .await
        .unwrap();
    assert_eq!(sat.profile.hub_code.as_deref(), Some("1350000001"));
    // The same file (now in UTF-8) changes nothing.
    let again = site_import::import(app, &nation, &utf8(&THREE), &|_, _, _| {})
        .await
        .unwrap();
    assert_eq!(again, summary(3, 0, 0, 3));
    // 東京都 imports its own area only, all or nothing: 札幌市's institution (row 2) is out of
    // its reach, as an institution and as a municipality.
    let tokyo = w.actor("tokyo", "operator").await;
    let renamed = THREE[0].replace("髙橋クリニック", "髙橋内科クリニック");
    assert_eq!(
        row_errors(
            site_import::import(app, &tokyo, &utf8(&[&renamed, THREE[2]]), &|_, _, _| {}).await
        ),
        [
            (2, "医療機関コード".to_owned(), Msg::OutOfScope),
            (2, "市町村コード".to_owned(), Msg::OutOfScope)
        ]
    );
    assert_eq!(
        vsys_app::orgs::get(app, &tokyo, "1350000001")
            .await
            .unwrap()
            .name,
        "髙橋クリニック"
    );
    let s = site_import::import(app, &tokyo, &utf8(&[&renamed]), &|_, _, _| {})
        .await
        .unwrap();
    assert_eq!(s, summary(1, 0, 1, 0));
    // A file without the required columns.
    assert!(matches!(
        site_import::import(
            app,
            &tokyo,
            "医療機関コード,名称\n1350000001,x\n".as_bytes(),
            &|_, _, _| {}
        )
        .await,
        Err(AppError::Csv(TableError::MissingColumns(_)))
    ));
    // Every accepted file is recorded (also the one that changed nothing); refused ones not.
    assert_eq!(w.audit("site.import").await.len(), 3);
});

db_test!(import_in_the_background, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let id = site_import::start(app, &nation, sjis(&THREE))
        .await
        .unwrap();
    let job = finished(&w, &nation, &id).await;
    assert_eq!(
        (job.phase, job.summary, job.error),
        (Some(Phase::Done), Some(summary(3, 3, 0, 0)), None)
    );
    assert_eq!(job.id, id);
    // Written down in the database, with who started it.
    {
        let mut tx = w.db.db.read().await.unwrap();
        let row = vsys_store::jobs::get(&mut tx, &id).await.unwrap().unwrap();
        assert_eq!(
            (
                row.kind.as_str(),
                row.user_id.as_str(),
                row.org_code.as_str()
            ),
            ("site_import", nation.user_id(), "JP")
        );
        assert!(row.finished_at.is_some());
    }
    assert!(
        vsys_app::orgs::get(app, &nation, "0150000001")
            .await
            .is_ok()
    );
    // Nobody else sees the job: not a colleague, not another organisation.
    not_found(site_import::job(app, &w.actor("nation", "admin").await, &id, Lang::Ja).await);
    not_found(site_import::job(app, &w.actor("tokyo", "operator").await, &id, Lang::Ja).await);
    not_found(site_import::job(app, &nation, "no-such-job", Lang::Ja).await);

    // A refused file: the job ends without a phase, with every bad row in the reader's words.
    let tokyo = w.actor("tokyo", "operator").await;
    let bad = site_import::start(
        app,
        &tokyo,
        sjis(&["1350000009,,,,13103,,,契約済,,", THREE[2]]),
    )
    .await
    .unwrap();
    let job = finished(&w, &tokyo, &bad).await;
    assert_eq!((job.phase, job.summary), (None, None));
    let error = job.error.unwrap_or_default();
    assert!(
        error.contains("1行目") && error.contains("2行目"),
        "{error}"
    );
    let en = site_import::job(app, &tokyo, &bad, Lang::En).await.unwrap();
    assert!(
        en.error.unwrap_or_default().contains("Row 2"),
        "in English too"
    );
    not_found(vsys_app::orgs::get(app, &tokyo, "1350000009").await);
    assert_eq!(w.audit("site.import").await.len(), 1);
});

db_test!(a_finished_job_reports_rows_of_rows, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let nation = w.actor("nation", "operator").await;
    let id = site_import::start(&w.app, &nation, sjis(&THREE))
        .await
        .unwrap();
    let job = finished(&w, &nation, &id).await;
    assert_eq!(job.phase, Some(Phase::Done));
    // Phase::Done is documented as "Committed (rows / rows)".
    assert_eq!((job.done, job.total), (3, 3));
});

db_test!(
    coordinates_both_or_neither_inside_japan,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        let header = format!("{HEADER},緯度,経度");
        let file = |rows: &[&str]| format!("{header}\n{}\n", rows.join("\n")).into_bytes();
        // One row with its point (full-width digits, as typed in Japanese), one without.
        let with_point = "1350000011,,芝公園クリニック,105-0011,13103,東京都港区芝公園4-2-8,芝 一郎,契約済,基本型,,３５．６５８５８１,１３９．７４５４３３";
        let without =
            "1350000012,,六本木医院,1060032,13103,東京都港区六本木1-1-1,六本木 花子,契約済,,,,";
        let s = site_import::import(app, &nation, &file(&[with_point, without]), &|_, _, _| {})
            .await
            .unwrap();
        assert_eq!(s, summary(2, 2, 0, 0));
        let p = vsys_app::sites::get(app, &nation, "1350000011")
            .await
            .unwrap()
            .profile;
        assert_eq!(
            (p.latitude, p.longitude),
            (Some(35.658581), Some(139.745433))
        );
        let p = vsys_app::sites::get(app, &nation, "1350000012")
            .await
            .unwrap()
            .profile;
        assert_eq!((p.latitude, p.longitude), (None, None));
        // Without the columns (the old template) the stored point stays: nothing changes.
        let old = with_point.rsplitn(3, ',').nth(2).unwrap_or_default();
        assert_eq!(
            site_import::import(app, &nation, &utf8(&[old]), &|_, _, _| {})
                .await
                .unwrap(),
            summary(1, 0, 0, 1)
        );
        // Latitude without longitude, a point in London, a word: each row named, nothing
        // imported (the good row's new code is not created).
        let lonely =
            "1350000013,,緯度だけ医院,105-0011,13103,東京都港区芝公園1-1-1,港 次郎,契約済,,,35.66,";
        let london = "1350000014,,ロンドン医院,105-0011,13103,東京都港区芝公園1-1-2,港 三郎,契約済,,,51.5074,-0.1278";
        let words = "1350000015,,北緯医院,105-0011,13103,東京都港区芝公園1-1-3,港 四郎,契約済,,,北緯35度,139.7";
        let good = "1350000016,,よい医院,105-0011,13103,東京都港区芝公園1-1-4,港 五郎,契約済,,,35.65,139.74";
        assert_eq!(
            row_errors(
                site_import::import(
                    app,
                    &nation,
                    &file(&[lonely, london, words, good]),
                    &|_, _, _| {}
                )
                .await
            ),
            [
                (1, "経度".to_owned(), Msg::CoordinatesTogether),
                (2, "緯度".to_owned(), Msg::InvalidLatitude),
                (3, "緯度".to_owned(), Msg::InvalidLatitude),
            ]
        );
        not_found(vsys_app::orgs::get(app, &nation, "1350000016").await);
    }
);
