//! `store::deliveries`: delivery lines (insert once per node and item, filtered lists, dates
//! written against a version, counts and totals), deliverers' inbound records, organisation
//! API tokens and deliverers' profiles.

use super::fixture::{self, CLINIC, CLINIC2, CYCLE, FAR, site_node};
use super::{migrated, t0};
use chrono::{Duration, NaiveDate};
use vsys_store::deliveries::{
    self, DelivererProfileRow, DelivererTotal, DeliveryFilter, DeliveryRow, InboundRow, TokenRow,
};
use vsys_store::*;
use vsys_testkit::db_test;

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 10).unwrap() + Duration::days(n)
}

fn line(id: &str, site: &str, item: &str, quantity: i64, deliverer: &str) -> DeliveryRow {
    let (muni, path) = match site {
        FAR => ("14100", format!("/JP/14/14100/{site}/")),
        _ => ("13103", format!("/JP/13/13103/{site}/")),
    };
    DeliveryRow {
        id: id.into(),
        cycle_id: CYCLE.into(),
        node_id: site_node(site),
        site_code: site.into(),
        site_path: path,
        municipality_code: muni.into(),
        item: item.to_owned().try_into().unwrap(),
        product_id: (item == "vaccine").then(|| "p1".to_owned()),
        quantity,
        deliverer_code: deliverer.into(),
        scheduled_on: None,
        delivered_on: None,
        delivery_number: None,
        lot: None,
        note: None,
        storage: (item == "vaccine").then(|| "dry_ice".to_owned()),
        updated_at: t0(),
        updated_by: None,
        version: 0,
    }
}

fn ids(rows: &[DeliveryRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

async fn listed(tx: &mut Tx, f: DeliveryFilter) -> (Vec<String>, i64) {
    let (rows, total) = deliveries::list(tx, &f, Page::first(50)).await.unwrap();
    (rows.into_iter().map(|r| r.id).collect(), total)
}

db_test!(
    deliveries_lines_filters_versions_and_totals,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        fixture::world(&t.db).await;
        let mut tx = t.db.begin().await.unwrap();
        let rows = vec![
            line("d1", CLINIC, "vaccine", 60, "W13001"),
            line("d2", CLINIC, "needle", 100, "N001"),
            line("d3", CLINIC2, "vaccine", 30, "W13001"),
            line("d4", FAR, "vaccine", 10, "W14001"),
        ];
        deliveries::insert_many(&mut tx, &rows).await.unwrap();
        // A line that already has its delivery (same node and item) is left alone.
        deliveries::insert_many(
            &mut tx,
            &[DeliveryRow {
                quantity: 999,
                ..line("d1-again", CLINIC, "vaccine", 60, "W13001")
            }],
        )
        .await
        .unwrap();
        assert_eq!(
            deliveries::get(&mut tx, "d1").await.unwrap(),
            Some(rows[0].clone())
        );
        assert_eq!(deliveries::get(&mut tx, "d1-again").await.unwrap(), None);
        assert_eq!(deliveries::get(&mut tx, "nope").await.unwrap(), None);

        // Filters: the whole cycle, an area, a deliverer, a municipality, an item.
        let all = DeliveryFilter {
            cycle_id: Some(CYCLE.into()),
            ..Default::default()
        };
        let (got, total) = listed(&mut tx, all.clone()).await;
        // Undated lines first, then by site and item (by its code: needle before vaccine).
        assert_eq!(
            (got, total),
            (vec!["d2".into(), "d1".into(), "d3".into(), "d4".into()], 4)
        );
        let area = DeliveryFilter {
            site_path: Some("/JP/13/".into()),
            ..all.clone()
        };
        assert_eq!(listed(&mut tx, area.clone()).await.1, 3);
        // An area is a whole path: `/JP/1/` is no prefix of `/JP/13/…`.
        assert_eq!(
            listed(
                &mut tx,
                DeliveryFilter {
                    site_path: Some("/JP/1/".into()),
                    ..all.clone()
                }
            )
            .await
            .1,
            0
        );
        let mine = DeliveryFilter {
            deliverer_code: Some("W13001".into()),
            ..all.clone()
        };
        assert_eq!(listed(&mut tx, mine.clone()).await.0, ["d1", "d3"]);
        assert_eq!(
            listed(
                &mut tx,
                DeliveryFilter {
                    municipality_code: Some("14100".into()),
                    ..all.clone()
                }
            )
            .await
            .0,
            ["d4"]
        );
        assert_eq!(
            listed(
                &mut tx,
                DeliveryFilter {
                    item: Some("needle".into()),
                    ..all.clone()
                }
            )
            .await
            .0,
            ["d2"]
        );
        assert_eq!(
            listed(
                &mut tx,
                DeliveryFilter {
                    cycle_id: Some("other".into()),
                    ..Default::default()
                }
            )
            .await
            .1,
            0
        );
        // Paging.
        let (page2, total) = deliveries::list(
            &mut tx,
            &all,
            Page {
                page: 2,
                per_page: 3,
            },
        )
        .await
        .unwrap();
        assert_eq!((ids(&page2), total), (vec!["d4"], 4));

        // Dates are written against the version read.
        let scheduled = DeliveryRow {
            scheduled_on: Some(day(2)),
            delivery_number: Some("D-0001".into()),
            updated_at: t0() + Duration::hours(1),
            updated_by: Some("u1".into()),
            version: 1,
            ..rows[0].clone()
        };
        deliveries::update(&mut tx, &rows[0], &scheduled)
            .await
            .unwrap();
        assert_eq!(
            deliveries::get(&mut tx, "d1").await.unwrap(),
            Some(scheduled.clone())
        );
        let stale = DeliveryRow {
            note: Some("stale".into()),
            ..scheduled.clone()
        };
        assert!(matches!(
            deliveries::update(&mut tx, &scheduled, &stale).await,
            Err(StoreError::Conflict)
        ));
        // The scheduled line now sorts after the undated ones.
        assert_eq!(listed(&mut tx, mine.clone()).await.0, ["d3", "d1"]);

        // States: unscheduled, scheduled on a day, late (before today, not delivered).
        let state = |s: &str, today: NaiveDate| DeliveryFilter {
            state: Some(s.into()),
            today: Some(today),
            ..all.clone()
        };
        assert_eq!(listed(&mut tx, state("unscheduled", day(0))).await.1, 3);
        assert_eq!(
            listed(&mut tx, state(&format!("scheduled:{}", day(2)), day(0)))
                .await
                .0,
            ["d1"]
        );
        assert_eq!(listed(&mut tx, state("late", day(2))).await.1, 0);
        assert_eq!(listed(&mut tx, state("late", day(3))).await.0, ["d1"]);
        assert_eq!(listed(&mut tx, state("delivered", day(3))).await.1, 0);
        // An unknown state filters nothing out.
        assert_eq!(listed(&mut tx, state("whatever", day(3))).await.1, 4);

        let delivered = DeliveryRow {
            delivered_on: Some(day(3)),
            lot: Some("FA0001".into()),
            version: 2,
            ..scheduled.clone()
        };
        deliveries::update(&mut tx, &scheduled, &delivered)
            .await
            .unwrap();
        // The delivery rollups followed every write: inserts (a repeated line not counted),
        // the scheduled day, the delivery.
        let fresh = vsys_store::rollups::recompute(&mut tx).await.unwrap();
        let stored = vsys_store::rollups::stored(&mut tx).await.unwrap();
        assert_eq!(stored.deliveries, fresh.deliveries);
        assert_eq!(
            stored
                .deliveries
                .values()
                .map(|f| (f.lines, f.delivered))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
            (4, 1)
        );
        assert_eq!(listed(&mut tx, state("late", day(5))).await.1, 0);
        assert_eq!(listed(&mut tx, state("delivered", day(5))).await.0, ["d1"]);
        assert_eq!(
            listed(&mut tx, state(&format!("delivered:{}", day(3)), day(5)))
                .await
                .0,
            ["d1"]
        );
        assert_eq!(deliveries::count(&mut tx, &area).await.unwrap(), 3);
        assert_eq!(
            deliveries::count(&mut tx, &state("unscheduled", day(5)))
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            deliveries::counts_by_day(&mut tx, &all, false)
                .await
                .unwrap(),
            vec![(day(2), 1)]
        );
        assert_eq!(
            deliveries::counts_by_day(&mut tx, &all, true)
                .await
                .unwrap(),
            vec![(day(3), 1)]
        );
        assert!(
            deliveries::counts_by_day(&mut tx, &mine_of("W14001"), true)
                .await
                .unwrap()
                .is_empty()
        );

        // Totals per deliverer and item: lines, quantity, delivered.
        let total = |code: &str, item: &str, lines, quantity, delivered| DelivererTotal {
            deliverer_code: code.into(),
            item: item.to_owned().try_into().unwrap(),
            lines,
            quantity,
            delivered,
        };
        assert_eq!(
            deliveries::totals_by_deliverer(&mut tx, CYCLE)
                .await
                .unwrap(),
            vec![
                total("N001", "needle", 1, 100, 0),
                total("W13001", "vaccine", 2, 90, 60),
                total("W14001", "vaccine", 1, 10, 0),
            ]
        );
        assert!(
            deliveries::totals_by_deliverer(&mut tx, "other")
                .await
                .unwrap()
                .is_empty()
        );
        tx.commit().await.unwrap();
    }
);

fn mine_of(code: &str) -> DeliveryFilter {
    DeliveryFilter {
        deliverer_code: Some(code.into()),
        ..Default::default()
    }
}

db_test!(
    deliverers_inbound_tokens_and_profiles,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        fixture::world(&t.db).await;
        let mut tx = t.db.begin().await.unwrap();
        // Inbound: a deliverer's records of a cycle, oldest received first.
        let inbound = |id: &str, org: &str, item: &str, quantity: i64, on: NaiveDate| InboundRow {
            id: id.into(),
            org_code: org.into(),
            cycle_id: CYCLE.into(),
            item: item.to_owned().try_into().unwrap(),
            quantity,
            received_on: on,
            at: t0(),
            by: Some("u1".into()),
        };
        let late = inbound("i1", "W13001", "vaccine", 60, day(2));
        let early = inbound("i2", "W13001", "vaccine", 30, day(1));
        let other = inbound("i3", "W14001", "vaccine", 10, day(1));
        for r in [&late, &early, &other] {
            deliveries::insert_inbound(&mut tx, r).await.unwrap();
        }
        assert_eq!(
            deliveries::inbound(&mut tx, "W13001", CYCLE).await.unwrap(),
            vec![early.clone(), late.clone()]
        );
        assert!(
            deliveries::inbound(&mut tx, "W13001", "other")
                .await
                .unwrap()
                .is_empty()
        );

        // Tokens: listed newest first, found by hash, revoked once, touched.
        let token = |id: &str, org: &str, hash: &str, minutes: i64| TokenRow {
            id: id.into(),
            org_code: org.into(),
            name: format!("system {id}"),
            token_hash: hash.into(),
            created_at: t0() + Duration::minutes(minutes),
            created_by: Some("u1".into()),
            revoked_at: None,
            last_used_at: None,
        };
        let first = token("t1", "W13001", "h1", 0);
        let second = token("t2", "W13001", "h2", 5);
        let theirs = token("t3", "W14001", "h3", 1);
        for r in [&first, &second, &theirs] {
            deliveries::insert_token(&mut tx, r).await.unwrap();
        }
        assert_eq!(
            deliveries::tokens(&mut tx, "W13001").await.unwrap(),
            vec![second.clone(), first.clone()]
        );
        assert_eq!(
            deliveries::token_by_hash(&mut tx, "h3").await.unwrap(),
            Some(theirs.clone())
        );
        assert_eq!(
            deliveries::token_by_hash(&mut tx, "nope").await.unwrap(),
            None
        );
        // Another organisation's token cannot be revoked through mine.
        assert!(matches!(
            deliveries::revoke_token(&mut tx, "W13001", "t3", t0()).await,
            Err(StoreError::NotFound)
        ));
        let at = t0() + Duration::hours(1);
        deliveries::revoke_token(&mut tx, "W13001", "t1", at)
            .await
            .unwrap();
        assert!(matches!(
            deliveries::revoke_token(&mut tx, "W13001", "t1", at).await,
            Err(StoreError::NotFound)
        ));
        deliveries::touch_token(&mut tx, "t2", at).await.unwrap();
        let got = deliveries::tokens(&mut tx, "W13001").await.unwrap();
        assert_eq!(
            got.iter()
                .map(|t| (t.id.as_str(), t.revoked_at, t.last_used_at))
                .collect::<Vec<_>>(),
            [("t2", None, Some(at)), ("t1", Some(at), None)]
        );

        // Deliverer profiles: created at version 1, then versioned.
        assert_eq!(deliveries::profile(&mut tx, "W13001").await.unwrap(), None);
        let p = DelivererProfileRow {
            org_code: "W13001".into(),
            postal_code: Some("1050011".into()),
            address: Some("東京都港区芝公園4-2-8".into()),
            phone: Some("03-1234-5678".into()),
            contact: Some("山田".into()),
            email: Some("w@example.jp".into()),
            updated_at: t0(),
            updated_by: Some("u1".into()),
            version: 0,
        };
        let v1 = deliveries::put_profile(&mut tx, &p, 0).await.unwrap();
        assert_eq!(v1.version, 1);
        assert_eq!(
            deliveries::profile(&mut tx, "W13001").await.unwrap(),
            Some(v1.clone())
        );
        // Creating it twice, or writing a stale version, is a conflict.
        assert!(matches!(
            deliveries::put_profile(&mut tx, &p, 0).await,
            Err(StoreError::Conflict)
        ));
        let v2 = deliveries::put_profile(
            &mut tx,
            &DelivererProfileRow {
                contact: Some("佐藤".into()),
                ..v1.clone()
            },
            1,
        )
        .await
        .unwrap();
        assert_eq!(v2.version, 2);
        assert!(matches!(
            deliveries::put_profile(&mut tx, &v1, 1).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            deliveries::profile(&mut tx, "W13001")
                .await
                .unwrap()
                .and_then(|p| p.contact),
            Some("佐藤".into())
        );
        tx.commit().await.unwrap();

        // A token hash is unique (in a transaction of its own: a failed statement ends a
        // PostgreSQL transaction).
        let mut dup = t.db.begin().await.unwrap();
        assert!(matches!(
            deliveries::insert_token(&mut dup, &token("t4", "W14001", "h1", 9)).await,
            Err(StoreError::Unique(_))
        ));
    }
);
