//! `store::reminders`: the late nodes of one level of a cycle not yet reminded (released ones
//! with an amount, at the statuses asked), and the row that lets one reminder out of two
//! concurrent writers.

use super::fixture::{self, CLINIC, CLINIC2, CYCLE, FAR, site_node};
use super::{migrated, t0};
use chrono::{Duration, NaiveDate};
use vsys_domain::chain::{Level, Status};
use vsys_store::{Db, allocations, reminders};
use vsys_testkit::db_test;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
}

/// Sets a node's status, release and amount.
async fn set(db: &Db, id: &str, status: Status, released: bool, vials: i64) {
    let mut tx = db.begin().await.unwrap();
    let n = allocations::get(&mut tx, id).await.unwrap().unwrap();
    allocations::write(
        &mut tx,
        &allocations::NodeRow {
            status,
            released,
            vials,
            ..n
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn due(db: &Db, level: Level, statuses: &[Status], deadline: NaiveDate) -> Vec<String> {
    let mut tx = db.read().await.unwrap();
    reminders::due(&mut tx, CYCLE, level, statuses, deadline)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.org_code)
        .collect()
}

/// One writer: marks the key in its own transaction and holds it open a while before
/// committing, so the other writer runs meanwhile.
async fn writer(db: Db, deadline: NaiveDate) -> bool {
    let mut tx = db.begin().await.unwrap();
    let wrote = reminders::mark_sent(&mut tx, CYCLE, CLINIC, deadline, t0(), "auto")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tx.commit().await.unwrap();
    wrote
}

db_test!(reminders_due_and_sent_once, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    fixture::world(&t.db).await;
    let db = &t.db;
    // The clinic has not confirmed; CLINIC2 has nothing; FAR's part is not released yet;
    // 港区 confirmed but has not divided.
    set(db, &site_node(CLINIC), Status::Unconfirmed, true, 100).await;
    set(db, &site_node(CLINIC2), Status::Unconfirmed, true, 0).await;
    set(db, &site_node(FAR), Status::Unconfirmed, false, 100).await;
    set(db, "n-13103", Status::Confirmed, true, 100).await;
    let unconfirmed = [Status::Unconfirmed];
    let undivided = [Status::Unconfirmed, Status::Confirmed];
    assert_eq!(due(db, Level::Site, &unconfirmed, day()).await, [CLINIC]);
    assert_eq!(
        due(db, Level::Municipality, &undivided, day()).await,
        ["13103"]
    );
    assert_eq!(
        due(db, Level::Municipality, &unconfirmed, day()).await,
        Vec::<String>::new()
    );
    assert!(due(db, Level::Site, &[], day()).await.is_empty());

    // Two writers at once on one key: exactly one writes the row.
    let (a, b) = tokio::join!(writer(db.clone(), day()), writer(db.clone(), day()));
    assert!(a != b, "one of two writers wins: {a} {b}");
    assert!(due(db, Level::Site, &unconfirmed, day()).await.is_empty());
    assert_eq!(
        due(db, Level::Municipality, &undivided, day()).await,
        ["13103"],
        "another organisation is still due"
    );
    // Another deadline is another key; the same key again writes nothing.
    let later = day() + Duration::days(3);
    assert_eq!(due(db, Level::Site, &unconfirmed, later).await, [CLINIC]);
    let mut tx = db.begin().await.unwrap();
    assert!(
        reminders::mark_sent(&mut tx, CYCLE, CLINIC, later, t0(), "manual")
            .await
            .unwrap()
    );
    assert!(
        !reminders::mark_sent(&mut tx, CYCLE, CLINIC, day(), t0(), "manual")
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = db.read().await.unwrap();
    assert_eq!(
        reminders::sent(&mut tx, CYCLE).await.unwrap(),
        vec![
            (CLINIC.to_owned(), day(), "auto".to_owned()),
            (CLINIC.to_owned(), later, "manual".to_owned()),
        ]
    );
});
