//! The dashboard's figures (`app::overview`): one clinic's reported doses add up the same
//! for 港区, 東京都 and the nation; coverage divides by the shipped register; supply lines
//! are the allocation nodes below; deliveries count open lines; a correction moves the
//! figures back; and nobody sees an area outside their scope.

use crate::common::*;
use vsys_app::AppError;
use vsys_app::overview::{self, rollup_area};
use vsys_app::results::DayInput;
use vsys_testkit::db_test;

fn day(total: i64) -> DayInput {
    DayInput {
        total,
        elderly: total / 2,
        underlying: 0,
        others: total - total / 2,
        wasted_vials: 0,
        waste_reason: None,
    }
}

db_test!(
    figures_add_up_from_the_site_to_the_nation,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let cycle = w.finalised(91).await;
        let clinic = w.clinic().await;
        let me = w.actor("clinic", "operator").await;
        let today = w.today();
        let yesterday = today - chrono::Duration::days(1);
        // 18 doses yesterday, 12 today (the demo clinic holds 120 doses of FA0001).
        vsys_app::results::put_day(app, &me, &clinic, yesterday, None, &day(18))
            .await
            .unwrap();
        let today_row = vsys_app::results::put_day(app, &me, &clinic, today, None, &day(12))
            .await
            .unwrap();

        let nation = w.actor("nation", "operator").await;
        let tokyo = w.actor("tokyo", "operator").await;
        let minato = w.actor("minato", "operator").await;
        let mut seen = Vec::new();
        for (actor, code) in [(&nation, None), (&tokyo, None), (&minato, None)] {
            let area = overview::area(app, actor, code).await.unwrap();
            let ov = overview::overview(app, actor, &area).await.unwrap();
            let v = &ov.vaccinations;
            assert_eq!(v.total.doses, 30, "{}", area.name);
            assert_eq!(v.total.elderly_doses, 6 + 9);
            assert_eq!(v.total.newest_day, Some(today));
            assert_eq!(v.days.len() as i64, overview::DAYS_SHOWN);
            assert_eq!(
                v.days.last().map(|d| (d.day, d.doses, d.cumulative)),
                Some((today, 12, 30))
            );
            assert_eq!(v.below.iter().map(|c| c.doses).sum::<i64>(), 30);
            assert_eq!(
                v.total.residents,
                vsys_app::master_data::residents_of(&rollup_area(&area))
            );
            seen.push((area.code.clone(), v.below.len(), ov));
        }
        // The nation's rows are the 47 prefectures; 東京都's its 62 municipalities; 港区's
        // own; the nation's residents are the register's.
        assert_eq!(seen[0].1, 47);
        assert_eq!(seen[0].2.vaccinations.total.residents.total, 126_654_244);
        assert_eq!(seen[1].1, 62);
        assert_eq!(seen[2].1, 1);
        let tokyo_row = seen[0]
            .2
            .vaccinations
            .below
            .iter()
            .find(|c| c.code == "13")
            .cloned()
            .unwrap();
        assert_eq!(tokyo_row.doses, 30);
        assert!(tokyo_row.per_100().unwrap() > 0.0);

        // Supply: 港区's lines are its sites, allocated as divided; the clinic's stock is what
        // its ledger holds (120 − 30), and days of supply follow the last 14 days' pace.
        let ov = &seen[2].2;
        assert_eq!(
            ov.supply.cycle.as_ref().map(|c| c.id.clone()),
            Some(cycle.id.clone())
        );
        let row = ov.supply.rows.iter().find(|r| r.code == clinic).unwrap();
        assert!(row.allocated_vials > 0, "{row:?}");
        assert_eq!(
            row.allocated_doses,
            row.allocated_vials * cycle.doses_per_vial
        );
        assert_eq!(row.requested_doses, 600);
        assert_eq!(row.administered_doses, 30);
        assert_eq!(row.stock_doses, 90);
        assert_eq!(row.delivered_doses, 120);
        assert_eq!(row.days_of_supply, Some(90 * 14 / 30));
        let allocated: i64 = ov.supply.rows.iter().map(|r| r.allocated_vials).sum();
        assert_eq!(ov.supply.total.allocated_vials, allocated);
        // 東京都's line for 港区 holds the same stock figures, from the rollups.
        let tokyo_ov = &seen[1].2;
        let m = tokyo_ov
            .supply
            .rows
            .iter()
            .find(|r| r.code == "13103")
            .unwrap();
        assert_eq!((m.administered_doses, m.delivered_doses), (30, 120));
        assert_eq!(m.stock_doses, 90);

        // Deliveries: the finalised cycle's lines to 港区, none scheduled yet.
        let d = ov
            .deliveries
            .iter()
            .find(|p| p.cycle.id == cycle.id)
            .expect("the finalised cycle's deliveries");
        assert!(d.total.lines > 0);
        assert_eq!(d.total.unscheduled, d.total.lines - d.total.delivered);
        assert_eq!(d.total.late, 0);
        assert_eq!(
            d.by_deliverer.iter().map(|c| c.lines).sum::<i64>(),
            d.total.lines
        );

        // A correction moves the figures back: today's 12 doses written again as 2 (one vial
        // opened: its 4 other doses are wasted).
        vsys_app::results::put_day(app, &me, &clinic, today, Some(today_row.version), &day(2))
            .await
            .unwrap();
        let area = overview::area(app, &nation, None).await.unwrap();
        let ov = overview::overview(app, &nation, &area).await.unwrap();
        assert_eq!(ov.vaccinations.total.doses, 20);
        let area = overview::area(app, &minato, None).await.unwrap();
        let ov = overview::overview(app, &minato, &area).await.unwrap();
        let row = ov.supply.rows.iter().find(|r| r.code == clinic).unwrap();
        assert_eq!(
            (row.administered_doses, row.wasted_doses, row.stock_doses),
            (20, 4, 96)
        );
        let tokyo_area = overview::area(app, &tokyo, None).await.unwrap();
        let ov = overview::overview(app, &tokyo, &tokyo_area).await.unwrap();
        let m = ov.supply.rows.iter().find(|r| r.code == "13103").unwrap();
        assert_eq!(
            (m.administered_doses, m.wasted_doses, m.stock_doses),
            (20, 4, 96)
        );
        // Wastage: wasted ÷ (given + wasted) = 4 ÷ 24.
        assert_eq!(ov.vaccinations.wastage_rate, Some(4.0 / 24.0));

        // Drill-down inside the scope; nothing outside it.
        let down = overview::area(app, &tokyo, Some("13103")).await.unwrap();
        assert_eq!(down.code, "13103");
        let down = overview::area(app, &nation, Some("27")).await.unwrap();
        assert_eq!(down.code, "27");
        for (actor, code) in [
            (&minato, "13"),
            (&tokyo, "27"),
            (&tokyo, "27100"),
            (&minato, "13104"),
        ] {
            assert!(
                matches!(
                    overview::area(app, actor, Some(code)).await,
                    Err(AppError::NotFound)
                ),
                "{code}"
            );
        }
        // A site is not an area; a clinic has no dashboard.
        assert!(matches!(
            overview::area(app, &nation, Some(&clinic)).await,
            Err(AppError::NotFound)
        ));
        let me_area = overview::area(app, &me, None).await;
        assert!(matches!(me_area, Err(AppError::Forbidden)), "{me_area:?}");
    }
);
