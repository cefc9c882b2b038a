//! `store::results` (reporting periods opened and closed once; daily results written against
//! a version; sums over a window) and the parts of `store::ledger` that the day's results use.

use super::fixture::{self, CLINIC, CLINIC2, CYCLE, FAR};
use super::{migrated, t0};
use chrono::{Duration, NaiveDate};
use vsys_store::ledger::LedgerRow;
use vsys_store::results::{self, PeriodRow, ResultRow};
use vsys_store::*;
use vsys_testkit::db_test;

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 1).unwrap() + Duration::days(n)
}

fn period(id: &str, first: i64, last: i64) -> PeriodRow {
    PeriodRow {
        id: id.into(),
        first_day: day(first),
        last_day: day(last),
        opened_at: t0(),
        opened_by: Some("u1".into()),
        closed_at: None,
        closed_by: None,
    }
}

fn result(org: &str, on: i64, total: i64) -> ResultRow {
    ResultRow {
        org_code: org.into(),
        day: day(on),
        total,
        elderly: total,
        underlying: 0,
        others: 0,
        wasted_vials: 0,
        waste_reason: None,
        updated_at: t0(),
        updated_by: Some("u1".into()),
        version: 0,
    }
}

db_test!(
    reporting_periods_open_and_close_once,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        let mut tx = t.db.begin().await.unwrap();
        let (early, late) = (period("p1", 0, 13), period("p2", 14, 27));
        for p in [&early, &late] {
            results::insert_period(&mut tx, p).await.unwrap();
        }
        // Newest first.
        assert_eq!(
            results::periods(&mut tx).await.unwrap(),
            vec![late.clone(), early.clone()]
        );
        // The open period of a day, bounds included.
        for (on, want) in [
            (0, Some("p1")),
            (13, Some("p1")),
            (14, Some("p2")),
            (28, None),
        ] {
            assert_eq!(
                results::open_period_for(&mut tx, day(on))
                    .await
                    .unwrap()
                    .map(|p| p.id),
                want.map(str::to_owned),
                "day {on}"
            );
        }
        let at = t0() + Duration::days(1);
        let closed = results::close_period(&mut tx, "p1", at, "u2")
            .await
            .unwrap();
        assert_eq!(
            closed,
            PeriodRow {
                closed_at: Some(at),
                closed_by: Some("u2".into()),
                ..early.clone()
            }
        );
        assert_eq!(
            results::open_period_for(&mut tx, day(3)).await.unwrap(),
            None
        );
        // Closed once; an unknown period is not found.
        assert!(matches!(
            results::close_period(&mut tx, "p1", at, "u2").await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            results::close_period(&mut tx, "nope", at, "u2").await,
            Err(StoreError::NotFound)
        ));
        tx.commit().await.unwrap();
    }
);

db_test!(
    daily_results_are_versioned_and_summed,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        fixture::world(&t.db).await;
        let mut tx = t.db.begin().await.unwrap();
        assert_eq!(results::get(&mut tx, CLINIC, day(1)).await.unwrap(), None);
        // First entry: version 0; entering the first time again is a conflict.
        let first = results::put(&mut tx, &result(CLINIC, 1, 30), None)
            .await
            .unwrap();
        assert_eq!(first, result(CLINIC, 1, 30));
        assert!(matches!(
            results::put(&mut tx, &result(CLINIC, 1, 31), None).await,
            Err(StoreError::Conflict)
        ));
        // Changes carry the version read.
        let changed = ResultRow {
            total: 40,
            elderly: 20,
            underlying: 10,
            others: 10,
            wasted_vials: 2,
            waste_reason: Some("breakage".into()),
            updated_at: t0() + Duration::hours(1),
            ..first.clone()
        };
        let second = results::put(&mut tx, &changed, Some(0)).await.unwrap();
        assert_eq!(second.version, 1);
        assert_eq!(
            results::get(&mut tx, CLINIC, day(1)).await.unwrap(),
            Some(second.clone())
        );
        assert!(matches!(
            results::put(&mut tx, &changed, Some(0)).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            results::put(&mut tx, &result(CLINIC, 2, 5), Some(0)).await,
            Err(StoreError::Conflict)
        ));
        for r in [
            result(CLINIC, 3, 12),
            result(CLINIC, 20, 100),
            result(CLINIC2, 3, 7),
            result(FAR, 3, 9),
        ] {
            results::put(&mut tx, &r, None).await.unwrap();
        }
        // A site's days in a range, newest first.
        assert_eq!(
            results::for_org(&mut tx, CLINIC, day(0), day(13))
                .await
                .unwrap()
                .iter()
                .map(|r| (r.day, r.total))
                .collect::<Vec<_>>(),
            vec![(day(3), 12), (day(1), 40)]
        );
        // Doses given per site over a window (bounds included), for the sites asked about.
        let mut sums = results::administered_by_org(
            &mut tx,
            &[CLINIC.into(), CLINIC2.into(), "1399999999".into()],
            day(1),
            day(3),
        )
        .await
        .unwrap();
        sums.sort();
        assert_eq!(sums, vec![(CLINIC.into(), 52), (CLINIC2.into(), 7)]);
        tx.commit().await.unwrap();
    }
);

db_test!(ledger_references_and_last_entries, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    fixture::world(&t.db).await;
    let mut tx = t.db.begin().await.unwrap();
    let entry =
        |id: &str, org: &str, kind: &str, vials: i64, reference: &str, minutes: i64| LedgerRow {
            id: id.into(),
            org_code: org.into(),
            lot: "FA0001".into(),
            cycle_id: Some(CYCLE.into()),
            kind: kind.to_owned().try_into().unwrap(),
            vials,
            doses: vials * 6,
            doses_per_vial: 6,
            reason: None,
            note: None,
            reference: Some(reference.into()),
            reverses: None,
            at: t0() + Duration::minutes(minutes),
            by: Some("u1".into()),
        };
    let day1 = format!("results:{}", day(1));
    ledger::append(
        &mut tx,
        &[
            entry("a", CLINIC, "delivered", 20, "delivery:d1", 0),
            entry("b", CLINIC, "administered", -2, &day1, 10),
            entry("c", CLINIC, "wasted", -1, &day1, 10),
            entry("d", CLINIC2, "delivered", 5, "delivery:d3", 3),
        ],
    )
    .await
    .unwrap();
    let ids = |rows: Vec<LedgerRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    // Oldest first.
    assert_eq!(
        ids(ledger::for_org(&mut tx, CLINIC).await.unwrap()),
        ["a", "b", "c"]
    );
    assert_eq!(
        ids(ledger::unreversed_for_reference(&mut tx, CLINIC, &day1)
            .await
            .unwrap()),
        ["b", "c"]
    );
    // Entering the day again reverses what it wrote: those entries no longer count.
    ledger::append(
        &mut tx,
        &[LedgerRow {
            reverses: Some("b".into()),
            ..entry("e", CLINIC, "correction", 2, &day1, 20)
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        ids(ledger::unreversed_for_reference(&mut tx, CLINIC, &day1)
            .await
            .unwrap()),
        ["c"]
    );
    assert!(
        ledger::unreversed_for_reference(&mut tx, CLINIC2, &day1)
            .await
            .unwrap()
            .is_empty()
    );
    let mut last = ledger::last_entry_by_org(&mut tx, &[CLINIC.into(), CLINIC2.into(), FAR.into()])
        .await
        .unwrap();
    last.sort();
    assert_eq!(
        last,
        vec![
            (CLINIC.into(), t0() + Duration::minutes(20)),
            (CLINIC2.into(), t0() + Duration::minutes(3)),
        ]
    );
    let mut doses = ledger::doses_by_org(&mut tx, &[CLINIC.into(), CLINIC2.into()])
        .await
        .unwrap();
    doses.sort();
    assert_eq!(
        doses,
        vec![(CLINIC.into(), (20 - 1) * 6), (CLINIC2.into(), 30)]
    );
    tx.commit().await.unwrap();
});
