//! `store::sites`: site profiles (bulk upsert, versioned update, satellites, reservation
//! status), registry changes waiting for the municipality, and doctors.

use super::fixture::{self, CLINIC, CLINIC2, FAR};
use super::{migrated, t0};
use chrono::Duration;
use vsys_store::sites::{self, ChangeRow, DoctorRow, ProfileRow};
use vsys_store::*;
use vsys_testkit::db_test;

fn profile(code: &str) -> ProfileRow {
    ProfileRow {
        org_code: code.into(),
        facility_code: None,
        postal_code: Some("1050011".into()),
        address: Some("東京都港区芝公園4-2-8".into()),
        representative: Some("髙橋 一郎".into()),
        contract_status: "contracted".to_owned().try_into().unwrap(),
        site_type: "hub".to_owned().try_into().unwrap(),
        hub_code: None,
        phone: None,
        website: None,
        hours: None,
        accepts_non_regular: false,
        access: None,
        parking: None,
        freezers_ultra_cold: 0,
        freezers_minus20: 0,
        storage_location: None,
        details_at: None,
        confirmed_at: None,
        confirmed_by: None,
        reservation: "unregistered".to_owned().try_into().unwrap(),
        reservation_at: None,
        updated_at: t0(),
        updated_by: None,
        version: 0,
        latitude: None,
        longitude: None,
        booking: None,
        booking_url: None,
    }
}

db_test!(
    site_profiles_upsert_version_satellites_reservation,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        fixture::world(&t.db).await;
        let mut tx = t.db.begin().await.unwrap();
        assert_eq!(sites::get(&mut tx, CLINIC).await.unwrap(), None);
        sites::upsert_many(&mut tx, &[profile(CLINIC), profile(CLINIC2)])
            .await
            .unwrap();
        assert_eq!(
            sites::get(&mut tx, CLINIC).await.unwrap(),
            Some(profile(CLINIC))
        );
        // The registry import upserts: a known code's row is replaced, not duplicated.
        let imported = ProfileRow {
            address: Some("東京都港区六本木1-1-1".into()),
            contract_status: "pending".to_owned().try_into().unwrap(),
            ..profile(CLINIC)
        };
        sites::upsert_many(&mut tx, std::slice::from_ref(&imported))
            .await
            .unwrap();
        assert_eq!(
            sites::get(&mut tx, CLINIC).await.unwrap(),
            Some(imported.clone())
        );
        let mut got = sites::for_orgs(&mut tx, &[CLINIC.into(), CLINIC2.into(), FAR.into()])
            .await
            .unwrap();
        got.sort_by(|a, b| a.org_code.cmp(&b.org_code));
        assert_eq!(got, vec![imported.clone(), profile(CLINIC2)]);
        assert!(sites::for_orgs(&mut tx, &[]).await.unwrap().is_empty());

        // Every field round-trips, and an update needs the version it read (row.version − 1).
        let details = ProfileRow {
            phone: Some("03-1234-5678".into()),
            website: Some("https://example.jp/".into()),
            hours: Some("9:00-17:00".into()),
            latitude: Some(35.6586),
            longitude: Some(139.7454),
            booking: Some("web".into()),
            booking_url: Some("https://example.jp/book".into()),
            accepts_non_regular: true,
            access: Some("駅から徒歩5分".into()),
            parking: Some("10台".into()),
            freezers_ultra_cold: 1,
            freezers_minus20: 2,
            storage_location: Some("1階".into()),
            facility_code: Some("1312345678".into()),
            details_at: Some(t0() + Duration::minutes(1)),
            confirmed_at: Some(t0() + Duration::minutes(2)),
            confirmed_by: Some("u1".into()),
            updated_at: t0() + Duration::minutes(3),
            updated_by: Some("u1".into()),
            version: 1,
            ..imported.clone()
        };
        sites::update(&mut tx, &details).await.unwrap();
        assert_eq!(
            sites::get(&mut tx, CLINIC).await.unwrap(),
            Some(details.clone())
        );
        assert!(matches!(
            sites::update(&mut tx, &details).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            sites::update(
                &mut tx,
                &ProfileRow {
                    version: 1,
                    ..profile(FAR)
                }
            )
            .await,
            Err(StoreError::Conflict)
        ));

        // Satellites of a hub.
        assert!(sites::satellites(&mut tx, CLINIC).await.unwrap().is_empty());
        let satellite = ProfileRow {
            site_type: "satellite".to_owned().try_into().unwrap(),
            hub_code: Some(CLINIC.into()),
            version: 1,
            ..profile(CLINIC2)
        };
        sites::update(&mut tx, &satellite).await.unwrap();
        assert_eq!(
            sites::satellites(&mut tx, CLINIC).await.unwrap(),
            vec![satellite.clone()]
        );
        assert!(
            sites::satellites(&mut tx, CLINIC2)
                .await
                .unwrap()
                .is_empty()
        );

        // Reservation status: one write, unversioned; a site without a profile is not found.
        let at = t0() + Duration::hours(1);
        sites::set_reservation(&mut tx, CLINIC, "available", at)
            .await
            .unwrap();
        let p = sites::get(&mut tx, CLINIC).await.unwrap().unwrap();
        assert_eq!(
            (p.reservation.as_str(), p.reservation_at, p.version),
            ("available", Some(at), 1)
        );
        assert!(matches!(
            sites::set_reservation(&mut tx, FAR, "few", at).await,
            Err(StoreError::NotFound)
        ));
        tx.commit().await.unwrap();
    }
);

db_test!(site_changes_and_doctors, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    fixture::world(&t.db).await;
    let mut tx = t.db.begin().await.unwrap();
    let change = |id: &str, org: &str, minutes: i64| ChangeRow {
        id: id.into(),
        org_code: org.into(),
        before: r#"{"name":"旧"}"#.into(),
        after: r#"{"name":"新"}"#.into(),
        status: "pending".into(),
        requested_at: t0() + Duration::minutes(minutes),
        requested_by: Some("u1".into()),
        decided_at: None,
        decided_by: None,
    };
    let (a, b, c) = (
        change("ch1", CLINIC, 5),
        change("ch2", CLINIC2, 1),
        change("ch3", FAR, 0),
    );
    for r in [&a, &b, &c] {
        sites::insert_change(&mut tx, r).await.unwrap();
    }
    assert_eq!(
        sites::get_change(&mut tx, "ch1").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(sites::get_change(&mut tx, "nope").await.unwrap(), None);
    // Pending changes of the sites asked for, oldest first.
    assert_eq!(
        sites::changes_for(&mut tx, &[CLINIC.into(), CLINIC2.into()], "pending")
            .await
            .unwrap(),
        vec![b.clone(), a.clone()]
    );
    // Decided once: a second decision (or one on a decided change) is a conflict.
    let at = t0() + Duration::hours(1);
    sites::decide_change(&mut tx, "ch1", "approved", at, "u2")
        .await
        .unwrap();
    assert!(matches!(
        sites::decide_change(&mut tx, "ch1", "rejected", at, "u2").await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        sites::decide_change(&mut tx, "nope", "rejected", at, "u2").await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        sites::get_change(&mut tx, "ch1").await.unwrap(),
        Some(ChangeRow {
            status: "approved".into(),
            decided_at: Some(at),
            decided_by: Some("u2".into()),
            ..a.clone()
        })
    );
    assert_eq!(
        sites::changes_for(&mut tx, &[CLINIC.into()], "pending")
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        sites::changes_for(&mut tx, &[CLINIC.into()], "approved")
            .await
            .unwrap()
            .len(),
        1
    );

    // Doctors: listed in the order they were added; removed only through their own site.
    let doctor = |id: &str, org: &str, minutes: i64| DoctorRow {
        id: id.into(),
        org_code: org.into(),
        name: format!("医師{id}"),
        registration_number: Some("123456".into()),
        created_at: t0() + Duration::minutes(minutes),
        created_by: Some("u1".into()),
    };
    let (d1, d2, d3) = (
        doctor("doc1", CLINIC, 2),
        doctor("doc2", CLINIC, 1),
        doctor("doc3", CLINIC2, 0),
    );
    for d in [&d1, &d2, &d3] {
        sites::insert_doctor(&mut tx, d).await.unwrap();
    }
    assert_eq!(
        sites::doctors(&mut tx, CLINIC).await.unwrap(),
        vec![d2.clone(), d1.clone()]
    );
    assert!(matches!(
        sites::delete_doctor(&mut tx, CLINIC2, "doc1").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        sites::delete_doctor(&mut tx, CLINIC, "doc1").await.unwrap(),
        d1
    );
    assert!(matches!(
        sites::delete_doctor(&mut tx, CLINIC, "doc1").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(sites::doctors(&mut tx, CLINIC).await.unwrap(), vec![d2]);
    assert_eq!(sites::doctors(&mut tx, CLINIC2).await.unwrap(), vec![d3]);
    tx.commit().await.unwrap();
});
