//! The dashboards' rollups equal a recomputation from the raw rows after any sequence of
//! writes — days' results written and written again, stock entries of every kind and their
//! reversing corrections, by sites of different municipalities and at day boundaries in Japan
//! time — and `rebuild` restores them when they were lost.

use crate::common::*;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use vsys_domain::ledger::EntryKind;
use vsys_store::ledger::LedgerRow;
use vsys_store::results::ResultRow;
use vsys_store::rollups;
use vsys_testkit::db_test;

#[derive(Debug, Clone)]
enum Op {
    /// A day's results of site `site` on day `day` (written again when there are some).
    Results {
        site: usize,
        day: u32,
        parts: (i64, i64, i64),
        wasted: i64,
    },
    /// Ledger entries at `minute` minutes into the period (crossing midnight in Japan).
    Entries {
        site: usize,
        minute: i64,
        kinds: Vec<(usize, i64)>,
        reverse_last: bool,
    },
    /// A delivery line gets (or loses) its 納入予定日 and 納入実績日.
    Delivery {
        line: usize,
        scheduled: Option<u32>,
        delivered: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4, 0u32..4, (0i64..40, 0i64..20, 0i64..10), 0i64..3).prop_map(
            |(site, day, parts, wasted)| Op::Results {
                site,
                day,
                parts,
                wasted
            }
        ),
        (
            0usize..4,
            0i64..(4 * 24 * 60),
            prop::collection::vec((0usize..4, 1i64..30), 1..4),
            any::<bool>()
        )
            .prop_map(|(site, minute, kinds, reverse_last)| Op::Entries {
                site,
                minute,
                kinds,
                reverse_last
            }),
        (0usize..8, prop::option::of(0u32..4), any::<bool>()).prop_map(
            |(line, scheduled, delivered)| Op::Delivery {
                line,
                scheduled,
                delivered
            }
        ),
    ]
}

db_test!(
    rollups_equal_a_recomputation_after_any_writes,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        // Sites of two municipalities (港区 and one elsewhere).
        let mut sites = vec![w.clinic().await, w.municipal_site().await];
        {
            let mut tx = w.db.db.read().await.unwrap();
            let (orgs, _) = vsys_store::orgs::list(
                &mut tx,
                &vsys_store::orgs::OrgFilter {
                    scope_path: "/".into(),
                    kind: Some("institution".into()),
                    ..Default::default()
                },
                vsys_store::Page::all(),
            )
            .await
            .unwrap();
            sites.extend(
                orgs.into_iter()
                    .filter(|o| o.parent_code.as_deref() != Some("13103"))
                    .take(2)
                    .map(|o| o.code),
            );
        }
        assert_eq!(sites.len(), 4, "{sites:?}");
        let cycle = w.demo_cycle().await.id;
        // A finalised cycle: 港区's sites have delivery lines.
        let finalised = w.finalised(90).await.id;
        let lines: Vec<String> = {
            let mut tx = w.db.db.read().await.unwrap();
            vsys_store::deliveries::list(
                &mut tx,
                &vsys_store::deliveries::DeliveryFilter {
                    cycle_id: Some(finalised),
                    ..Default::default()
                },
                vsys_store::Page::all(),
            )
            .await
            .unwrap()
            .0
            .into_iter()
            .map(|d| d.id)
            .collect()
        };
        assert!(!lines.is_empty());
        let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        // 2026-10-31 15:00 UTC is midnight of 11-01 in Japan.
        let start = Utc.with_ymd_and_hms(2026, 10, 31, 15, 0, 0).unwrap();
        let kinds = [
            EntryKind::Delivered,
            EntryKind::Administered,
            EntryKind::Wasted,
            EntryKind::TransferOut,
        ];
        let strategy = prop::collection::vec(op(), 1..12);
        let mut runner = TestRunner::new(PropConfig {
            cases: 24,
            ..PropConfig::default()
        });
        let mut serial = 0u64;
        for case in 0..24 {
            let ops = strategy.new_tree(&mut runner).unwrap().current();
            let mut tx = w.db.db.begin().await.unwrap();
            for o in &ops {
                match o {
                    Op::Results {
                        site,
                        day,
                        parts,
                        wasted,
                    } => {
                        let day = first + Duration::days(i64::from(*day));
                        let code = &sites[*site];
                        let before = vsys_store::results::get(&mut tx, code, day).await.unwrap();
                        let row = ResultRow {
                            org_code: code.clone(),
                            day,
                            total: parts.0 + parts.1 + parts.2,
                            elderly: parts.0,
                            underlying: parts.1,
                            others: parts.2,
                            wasted_vials: *wasted,
                            waste_reason: None,
                            updated_at: start,
                            updated_by: None,
                            version: 0,
                        };
                        vsys_store::results::put(&mut tx, &row, before.map(|b| b.version))
                            .await
                            .unwrap();
                    }
                    Op::Entries {
                        site,
                        minute,
                        kinds: ks,
                        reverse_last,
                    } => {
                        let at = start + Duration::minutes(*minute);
                        let mut rows: Vec<LedgerRow> = ks
                            .iter()
                            .map(|(k, vials)| {
                                serial += 1;
                                let kind = kinds[*k];
                                let sign =
                                    if matches!(kind, EntryKind::Delivered | EntryKind::TransferIn)
                                    {
                                        1
                                    } else {
                                        -1
                                    };
                                LedgerRow {
                                    id: format!("prop-{serial:08}"),
                                    org_code: sites[*site].clone(),
                                    lot: "LOT".into(),
                                    cycle_id: serial.is_multiple_of(2).then(|| cycle.clone()),
                                    kind,
                                    vials: sign * vials,
                                    doses: sign * vials * 6,
                                    doses_per_vial: 6,
                                    reason: None,
                                    note: None,
                                    reference: None,
                                    reverses: None,
                                    at,
                                    by: None,
                                }
                            })
                            .collect();
                        if *reverse_last && let Some(last) = rows.last().cloned() {
                            serial += 1;
                            rows.push(LedgerRow {
                                id: format!("prop-{serial:08}"),
                                kind: EntryKind::Correction,
                                vials: -last.vials,
                                doses: -last.doses,
                                reverses: Some(last.id.clone()),
                                at: at + Duration::minutes(30),
                                ..last
                            });
                        }
                        vsys_store::ledger::append(&mut tx, &rows).await.unwrap();
                    }
                    Op::Delivery {
                        line,
                        scheduled,
                        delivered,
                    } => {
                        let id = &lines[line % lines.len()];
                        let before = vsys_store::deliveries::get(&mut tx, id)
                            .await
                            .unwrap()
                            .unwrap();
                        let on = scheduled.map(|d| first + Duration::days(i64::from(d)));
                        let after = vsys_store::deliveries::DeliveryRow {
                            scheduled_on: on,
                            delivered_on: on.filter(|_| *delivered),
                            version: before.version + 1,
                            ..before.clone()
                        };
                        vsys_store::deliveries::update(&mut tx, &before, &after)
                            .await
                            .unwrap();
                    }
                }
            }
            tx.commit().await.unwrap();
            let mut tx = w.db.db.read().await.unwrap();
            let fresh = rollups::recompute(&mut tx).await.unwrap();
            let stored = rollups::stored(&mut tx).await.unwrap();
            assert_eq!(stored, fresh, "case {case}: {ops:?}");
            assert!(!fresh.deliveries.is_empty());
        }
        // The check agrees; the rollups, lost, are rebuilt from the raw rows.
        let report = vsys_app::rollups::check(&w.app).await.unwrap();
        assert_eq!(report.differences, 0);
        let before = {
            let mut tx = w.db.db.read().await.unwrap();
            rollups::stored(&mut tx).await.unwrap()
        };
        {
            let mut tx = w.db.db.begin().await.unwrap();
            tx.raw("DELETE FROM result_rollups").await.unwrap();
            tx.raw("UPDATE stock_rollups SET doses = doses + 1")
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let broken = vsys_app::rollups::check(&w.app).await.unwrap();
        assert!(broken.differences > 0, "{broken:?}");
        let rebuilt = vsys_app::rollups::rebuild(&w.app).await.unwrap();
        assert_eq!(rebuilt.result_rows, before.results.len());
        let mut tx = w.db.db.read().await.unwrap();
        assert_eq!(rollups::stored(&mut tx).await.unwrap(), before);
        drop(tx);
        assert_eq!(
            vsys_app::rollups::check(&w.app).await.unwrap().differences,
            0
        );
        assert!(!w.audit("rollups.rebuild").await.is_empty());
        // The area reads use the rollups: 港区's days add up to its sites' results, and the
        // nation's (per prefecture) to everyone's.
        let mut tx = w.db.db.read().await.unwrap();
        for (area, of) in [("13103", "13103"), ("13", "13"), ("", "")] {
            let days = rollups::results_below(&mut tx, area, Some(first))
                .await
                .unwrap();
            let sum: i64 = days.iter().map(|d| d.f.total).sum();
            let expected: i64 = before
                .results
                .iter()
                .filter(|((_, m), _)| m.starts_with(of))
                .map(|(_, f)| f.total)
                .sum();
            assert_eq!(sum, expected, "{area}");
        }
    }
);
