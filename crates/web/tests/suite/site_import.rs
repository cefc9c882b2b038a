//! 医療機関の一括登録 (`vsys_app::site_import`): a Shift_JIS file creates institutions, a
//! second import of the same file changes nothing, a changed row updates one; a file with any
//! bad row changes nothing and names every bad row; prefectures import only their own area.

use crate::common::*;
use vsys_app::csv_files::TableError;
use vsys_app::site_import::{self, ImportSummary, Phase};
use vsys_app::{Actor, AppError};
use vsys_domain::{Lang, Msg};
use vsys_store::orgs::OrgRow;
use vsys_store::sites::ProfileRow;
use vsys_testkit::db_test;

const HEADER: &str = "医療機関コード,老健施設等コード,名称,郵便番号,市町村コード,住所,代表者,契約状況,種別,基本型コード";

/// Three institutions: two in 港区 (a hub and its satellite), one in 札幌市.
const THREE: [&str; 3] = [
    "1350000001,,髙橋クリニック,105-0011,13103,東京都港区芝公園4-2-8,髙橋 一郎,契約済,基本型,",
    "1350000002,1312345678,﨑山医院,1060032,13103,東京都港区六本木1-1-1,﨑山 花子,手続中,サテライト型,1350000001",
    "0150000001,,札幌すずらん内科,060-0001,01100,北海道札幌市中央区北1条西2丁目,鈴木 次郎,未契約,,",
];

fn sjis(rows: &[&str]) -> Vec<u8> {
    let text = format!("{HEADER}\r\n{}\r\n", rows.join("\r\n"));
    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!had_errors, "test data must fit Shift_JIS");
    bytes.into_owned()
}

async fn actor(t: &TestApp, email: &str) -> Actor {
    vsys_app::accounts::actor_on_host(&t.app, email)
        .await
        .unwrap()
}

async fn import(t: &TestApp, email: &str, bytes: &[u8]) -> Result<ImportSummary, AppError> {
    let a = actor(t, email).await;
    site_import::import(&t.app, &a, bytes, &|_, _, _| {}).await
}

async fn org(t: &TestApp, code: &str) -> Option<OrgRow> {
    let mut tx = t.db.db.read().await.unwrap();
    vsys_store::orgs::get(&mut tx, code).await.unwrap()
}

async fn profile(t: &TestApp, code: &str) -> Option<ProfileRow> {
    let mut tx = t.db.db.read().await.unwrap();
    vsys_store::sites::get(&mut tx, code).await.unwrap()
}

/// The (row, column, message) of every error of a refused file.
fn row_errors(r: Result<ImportSummary, AppError>) -> Vec<(usize, String, Msg)> {
    match r {
        Err(AppError::Csv(TableError::Rows(errors))) => errors
            .into_iter()
            .map(|e| (e.row.unwrap_or(0), e.field, e.msg))
            .collect(),
        other => panic!("expected row errors, got {other:?}"),
    }
}

fn summary(rows: usize, created: usize, updated: usize, unchanged: usize) -> ImportSummary {
    ImportSummary {
        rows,
        created,
        updated,
        unchanged,
    }
}

db_test!(
    creates_then_is_idempotent_then_updates,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let nation = "nation-operator@demo.vsys.jp";
        let file = sjis(&THREE);
        let phases = std::sync::Mutex::new(Vec::new());
        let a = actor(&t, nation).await;
        let s = site_import::import(&t.app, &a, &file, &|p, done, total| {
            phases.lock().unwrap().push((p, done, total));
        })
        .await
        .unwrap();
        assert_eq!(s, summary(3, 3, 0, 0));
        let phases = phases.into_inner().unwrap();
        assert!(phases.contains(&(Phase::Checking, 3, 3)), "{phases:?}");
        assert!(phases.contains(&(Phase::Writing, 6, 6)), "{phases:?}");
        assert_eq!(phases.last(), Some(&(Phase::Done, 3, 3)));

        let hub = org(&t, "1350000001").await.unwrap();
        assert_eq!(
            (
                hub.kind.as_str(),
                hub.name.as_str(),
                hub.parent_code.as_deref(),
                hub.path.as_str(),
                hub.prefecture_code.as_deref()
            ),
            (
                "institution",
                "髙橋クリニック",
                Some("13103"),
                "/JP/13/13103/1350000001/",
                Some("13")
            )
        );
        let p = profile(&t, "1350000001").await.unwrap();
        assert_eq!(p.postal_code.as_deref(), Some("1050011"));
        assert_eq!(p.representative.as_deref(), Some("髙橋 一郎"));
        assert_eq!(
            (p.contract_status.as_str(), p.site_type.as_str(), p.version),
            ("contracted", "hub", 1)
        );
        let sat = profile(&t, "1350000002").await.unwrap();
        assert_eq!(
            (
                sat.contract_status.as_str(),
                sat.site_type.as_str(),
                sat.hub_code.as_deref(),
                sat.facility_code.as_deref()
            ),
            (
                "pending",
                "satellite",
                Some("1350000001"),
                Some("1312345678")
            )
        );
        assert_eq!(org(&t, "1350000002").await.unwrap().name, "﨑山医院");
        let sapporo = org(&t, "0150000001").await.unwrap();
        assert_eq!(sapporo.path, "/JP/01/01100/0150000001/");
        assert_eq!(
            profile(&t, "0150000001").await.unwrap().contract_status,
            vsys_domain::ContractStatus::NotContracted
        );

        // The same file again: nothing to do.
        assert_eq!(
            import(&t, nation, &file).await.unwrap(),
            summary(3, 0, 0, 3)
        );
        assert_eq!(profile(&t, "1350000001").await.unwrap().version, 1);

        // One name changed: one update, the version bumped.
        let renamed = THREE[0].replace("髙橋クリニック", "髙橋内科クリニック");
        let file2 = sjis(&[&renamed, THREE[1], THREE[2]]);
        assert_eq!(
            import(&t, nation, &file2).await.unwrap(),
            summary(3, 0, 1, 2)
        );
        let hub = org(&t, "1350000001").await.unwrap();
        assert_eq!((hub.name.as_str(), hub.version), ("髙橋内科クリニック", 1));
        assert_eq!(profile(&t, "1350000001").await.unwrap().version, 1);

        // One audit entry per import, with the counts, the file's hash and the codes.
        let entries = t.audit_actions("site.import").await;
        assert_eq!(entries.len(), 3);
        let mut created = 0;
        for e in &entries {
            assert_eq!(e.object_type, "site_import");
            assert_eq!(e.actor_org.as_deref(), Some("JP"));
            let after: serde_json::Value =
                serde_json::from_str(e.after.as_deref().unwrap()).unwrap();
            assert_eq!(after["rows"], 3);
            let sha = after["sha256"].as_str().unwrap();
            assert_eq!(sha.len(), 64);
            assert!(sha.bytes().all(|b| b.is_ascii_hexdigit()));
            if after["created"] == 3 {
                created += 1;
                let mut codes: Vec<&str> = after["created_codes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|c| c.as_str())
                    .collect();
                codes.sort_unstable();
                assert_eq!(codes, ["0150000001", "1350000001", "1350000002"]);
            }
            if after["updated"] == 1 {
                assert_eq!(after["updated_codes"], serde_json::json!(["1350000001"]));
            }
        }
        assert_eq!(created, 1);
    }
);

db_test!(updating_keeps_the_sites_own_details, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    // The demo clinic of 港区 sets its reservation status; the import renames it.
    let clinic = actor(&t, "clinic-operator@demo.vsys.jp").await;
    let code = clinic.org_code().to_owned();
    vsys_app::sites::set_reservation(&t.app, &clinic, &code, vsys_domain::Reservation::Few)
        .await
        .unwrap();
    let before = profile(&t, &code).await.unwrap();
    let row = format!("{code},,港区リネーム医院,105-0011,13103,東京都港区芝1-1-1,港 三郎,契約済,,");
    let s = import(&t, "tokyo-operator@demo.vsys.jp", &sjis(&[&row]))
        .await
        .unwrap();
    assert_eq!(s, summary(1, 0, 1, 0));
    let after = profile(&t, &code).await.unwrap();
    assert_eq!(after.reservation, vsys_domain::Reservation::Few);
    assert_eq!(after.reservation_at, before.reservation_at);
    assert_eq!(after.address.as_deref(), Some("東京都港区芝1-1-1"));
    assert_eq!(after.version, before.version + 1);
    let o = org(&t, &code).await.unwrap();
    assert_eq!(
        (o.name.as_str(), o.kind.as_str()),
        ("港区リネーム医院", "institution")
    );
    // A satellite may name a hub that is stored (the renamed clinic, a hub by default).
    let sat = format!("1350000009,,芝サテライト診療所,,13103,,,契約済,サテライト型,{code}");
    let s = import(&t, "tokyo-operator@demo.vsys.jp", &sjis(&[&sat]))
        .await
        .unwrap();
    assert_eq!(s, summary(1, 1, 0, 0));
    assert_eq!(
        profile(&t, "1350000009").await.unwrap().hub_code.as_deref(),
        Some(code.as_str())
    );
    // …and then that hub cannot become a satellite while it has one outside the file.
    let demote = format!(
        "{code},,港区リネーム医院,105-0011,13103,東京都港区芝1-1-1,港 三郎,契約済,サテライト型,1350000001"
    );
    let errors = row_errors(
        import(
            &t,
            "nation-operator@demo.vsys.jp",
            &sjis(&[&demote, THREE[0]]),
        )
        .await,
    );
    assert_eq!(errors, [(1, "種別".to_owned(), Msg::HubHasSatellites)]);
});

db_test!(
    one_bad_row_changes_nothing_and_every_bad_row_is_named,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let nation = "nation-operator@demo.vsys.jp";
        let audit_before = t.audit_actions("").await.len();
        let file = sjis(&[
            THREE[0],
            // 2: no such municipality.
            "1350000003,,存在しない町医院,,13999,,,契約済,,",
            // 3: a Hokkaido code in 港区.
            "0150000003,,北の医院,,13103,,,契約済,,",
            THREE[2],
            // 5: the code of row 1 again.
            "1350000001,,二重登録医院,,13103,,,契約済,,",
            // 6: a municipal site's code, a bad postal code, contract status and type.
            "9131030001,,会場,12-345,13103,,,済,本院,",
            // 7: a satellite whose hub is another prefecture's institution in the file.
            "1350000004,,サテライト医院,,13103,,,契約済,サテライト型,0150000001",
            // 8: no name, a satellite without a hub.
            "1350000005,,,,13103,,,契約済,サテライト型,",
        ]);
        let errors = row_errors(import(&t, nation, &file).await);
        let expected: Vec<(usize, String, Msg)> = [
            (2, "市町村コード", Msg::UnknownOrg),
            (3, "医療機関コード", Msg::CodePrefectureMismatch),
            (5, "医療機関コード", Msg::DuplicateCode),
            (6, "医療機関コード", Msg::InvalidOrgCode),
            (6, "郵便番号", Msg::InvalidPostalCode),
            (6, "契約状況", Msg::InvalidContractStatus),
            (6, "種別", Msg::InvalidSiteType),
            (7, "基本型コード", Msg::HubInvalid),
            (8, "名称", Msg::Required),
            (8, "基本型コード", Msg::HubInvalid),
        ]
        .into_iter()
        .map(|(r, f, m)| (r, f.to_owned(), m))
        .collect();
        assert_eq!(errors, expected);
        // Nothing was written, not even the good rows, and nothing was recorded.
        for code in ["1350000001", "0150000001", "1350000003", "1350000004"] {
            assert!(org(&t, code).await.is_none(), "{code}");
        }
        assert_eq!(t.audit_actions("").await.len(), audit_before);
        // The message names the rows as the spreadsheet shows them.
        let a = actor(&t, nation).await;
        let Err(AppError::Csv(e)) = site_import::import(&t.app, &a, &file, &|_, _, _| {}).await
        else {
            panic!("refused");
        };
        let text = e.message(Lang::Ja);
        assert!(text.starts_with("ファイルに10件の誤りがあるため"), "{text}");
        assert!(
            text.contains("2行目（表計算ソフトでは3行目）の「市町村コード」"),
            "{text}"
        );
        // A file without the required columns is refused as such.
        let r = import(&t, nation, "医療機関コード,名称\n1350000001,x\n".as_bytes()).await;
        assert!(
            matches!(r, Err(AppError::Csv(TableError::MissingColumns(ref c))) if c.len() == 6),
            "{r:?}"
        );
    }
);

db_test!(
    prefectures_import_their_own_area_only,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let tokyo = "tokyo-operator@demo.vsys.jp";
        // 東京都 may not import 札幌市's institution (row 3).
        let errors = row_errors(import(&t, tokyo, &sjis(&THREE)).await);
        assert_eq!(errors, [(3, "市町村コード".to_owned(), Msg::OutOfScope)]);
        assert!(org(&t, "1350000001").await.is_none());
        // Its own rows are fine.
        let s = import(&t, tokyo, &sjis(&THREE[..2])).await.unwrap();
        assert_eq!(s, summary(2, 2, 0, 0));
        let e = t.audit_actions("site.import").await;
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].actor_org.as_deref(), Some("13"));
        // Viewers, municipalities and sites may not import at all.
        for who in [
            "tokyo-viewer@demo.vsys.jp",
            "minato-operator@demo.vsys.jp",
            "clinic-admin@demo.vsys.jp",
            "clinic-operator@demo.vsys.jp",
        ] {
            let r = import(&t, who, &sjis(&THREE[..1])).await;
            assert!(matches!(r, Err(AppError::Forbidden)), "{who}: {r:?}");
        }
    }
);

db_test!(
    coordinates_through_the_api_both_or_neither,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let post = |csv: String| {
            let token = nation.clone();
            let url = t.url("/api/v1/site-imports");
            async move {
                let res = client()
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "text/csv")
                    .body(csv)
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let v: serde_json::Value = res.json().await.unwrap_or_default();
                (status, v)
            }
        };
        let header = format!("{HEADER},緯度,経度");
        // A row with its point (as the map service shows it) and one refused: outside Japan.
        let refused = format!(
            "{header}\n1350000021,,芝公園クリニック,105-0011,13103,東京都港区芝公園4-2-8,芝 一郎,契約済,基本型,,35.658581,139.745433\n\
             1350000022,,海外医院,105-0011,13103,東京都港区芝公園1-1-1,港 次郎,契約済,,,35.66,-120.5\n"
        );
        let (s, v) = post(refused).await;
        assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("2行目") && detail.contains("「経度」"),
            "{v}"
        );
        assert!(org(&t, "1350000021").await.is_none(), "nothing imported");
        let good = format!(
            "{header}\n1350000021,,芝公園クリニック,105-0011,13103,東京都港区芝公園4-2-8,芝 一郎,契約済,基本型,,35.658581,139.745433\n"
        );
        let (s, v) = post(good).await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
        assert_eq!(v["created"], 1);
        let p = profile(&t, "1350000021").await.unwrap();
        assert_eq!(
            (p.latitude, p.longitude),
            (Some(35.658581), Some(139.745433))
        );
        let (_, site) = t
            .api(
                reqwest::Method::GET,
                "/api/v1/sites/1350000021",
                &nation,
                None,
            )
            .await;
        assert_eq!(site["profile"]["latitude"], 35.658581, "{site}");
        assert_eq!(site["profile"]["longitude"], 139.745433, "{site}");
    }
);
