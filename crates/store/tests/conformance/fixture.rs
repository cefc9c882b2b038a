//! A small world for the repositories that hang off sites and cycles: 東京都 with 港区 and two
//! institutions, 神奈川県 with one municipality and one institution, a wholesaler in each, a
//! needle/syringe warehouse, a manufacturer, a vaccine, a cycle and its allocation nodes down
//! to the sites.

use super::{org, t0};
use vsys_store::allocations::NodeRow;
use vsys_store::*;

pub const CYCLE: &str = "c1";
pub const CLINIC: &str = "1310000001";
pub const CLINIC2: &str = "1310000002";
/// An institution in 神奈川県 (another prefecture).
pub const FAR: &str = "1410000001";

/// The allocation node of a site (`s-<code>`).
pub fn site_node(code: &str) -> String {
    format!("s-{code}")
}

fn node(id: &str, org: &str, parent: Option<&str>, level: &str, path: &str) -> NodeRow {
    NodeRow {
        id: id.into(),
        cycle_id: CYCLE.into(),
        org_code: org.into(),
        parent_id: parent.map(Into::into),
        level: level.to_owned().try_into().unwrap(),
        path: path.into(),
        vials: 100,
        needles: 0,
        syringes: 0,
        status: "final".to_owned().try_into().unwrap(),
        released: true,
        explanation: None,
        updated_at: t0(),
        updated_by: None,
        version: 0,
    }
}

pub async fn world(db: &Db) {
    let mut tx = db.begin().await.unwrap();
    orgs::insert_many(
        &mut tx,
        &[
            org("JP", "nation", None, "/JP/"),
            org("13", "prefecture", Some("JP"), "/JP/13/"),
            org("13103", "municipality", Some("13"), "/JP/13/13103/"),
            org("14", "prefecture", Some("JP"), "/JP/14/"),
            org("14100", "municipality", Some("14"), "/JP/14/14100/"),
            org(
                CLINIC,
                "institution",
                Some("13103"),
                "/JP/13/13103/1310000001/",
            ),
            org(
                CLINIC2,
                "institution",
                Some("13103"),
                "/JP/13/13103/1310000002/",
            ),
            org(
                FAR,
                "institution",
                Some("14100"),
                "/JP/14/14100/1410000001/",
            ),
            org("W13001", "wholesaler", Some("13"), "/JP/13/W13001/"),
            org("W14001", "wholesaler", Some("14"), "/JP/14/W14001/"),
            org("M001", "manufacturer", Some("JP"), "/JP/M001/"),
            org("N001", "syringe_warehouse", Some("JP"), "/JP/N001/"),
        ],
    )
    .await
    .unwrap();
    products::insert(
        &mut tx,
        &products::ProductRow {
            id: "p1".into(),
            kind: "vaccine".to_owned().try_into().unwrap(),
            owner_code: "M001".into(),
            name: "コミナティ".into(),
            spec: None,
            storage_class: Some("ultra_cold".into()),
            days_after_thaw: Some(30),
            needs_dry_ice: true,
            units_per_pack: None,
            created_at: t0(),
            updated_at: t0(),
            version: 0,
        },
    )
    .await
    .unwrap();
    let d = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    cycles::insert(
        &mut tx,
        &cycles::CycleRow {
            id: CYCLE.into(),
            number: 10,
            name: "コミナティ_クール010".into(),
            vaccine_id: "p1".into(),
            needle_id: None,
            syringe_id: None,
            period_start: d,
            period_end: d + chrono::Duration::days(13),
            deadline_prefecture: d,
            deadline_municipality: d,
            deadline_site: d,
            chain: "standard".to_owned().try_into().unwrap(),
            doses_per_vial: 6,
            vials_per_box: 195,
            unit_site: "vial".to_owned().try_into().unwrap(),
            formulas: Default::default(),
            created_at: t0(),
            updated_at: t0(),
            version: 0,
        },
    )
    .await
    .unwrap();
    allocations::insert_many(
        &mut tx,
        &[
            node("n-JP", "JP", None, "nation", "/JP/"),
            node("n-13", "13", Some("n-JP"), "prefecture", "/JP/13/"),
            node(
                "n-13103",
                "13103",
                Some("n-13"),
                "municipality",
                "/JP/13/13103/",
            ),
            node("n-14", "14", Some("n-JP"), "prefecture", "/JP/14/"),
            node(
                "n-14100",
                "14100",
                Some("n-14"),
                "municipality",
                "/JP/14/14100/",
            ),
            node(
                &site_node(CLINIC),
                CLINIC,
                Some("n-13103"),
                "site",
                "/JP/13/13103/1310000001/",
            ),
            node(
                &site_node(CLINIC2),
                CLINIC2,
                Some("n-13103"),
                "site",
                "/JP/13/13103/1310000002/",
            ),
            node(
                &site_node(FAR),
                FAR,
                Some("n-14100"),
                "site",
                "/JP/14/14100/1410000001/",
            ),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}
