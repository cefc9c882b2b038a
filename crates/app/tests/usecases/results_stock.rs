//! Daily results within the periods the nation opens (written against a version, re-entered
//! by reversal), and the stock ledger they write: receipts, corrections, transfers to
//! satellites, the balance, idle stock.

use crate::common::*;
use chrono::Duration;
use vsys_app::results::{self, DayInput};
use vsys_app::stock::{self, ReceiptInput, TransferInput};
use vsys_domain::{EntryKind, Msg, SiteType};
use vsys_store::results::PeriodRow;
use vsys_testkit::db_test;

/// Closes the periods left open (the demo's) and opens one around today.
async fn open_reporting(w: &World) -> PeriodRow {
    let nation = w.actor("nation", "operator").await;
    for p in results::periods(&w.app, &nation).await.unwrap() {
        if p.closed_at.is_none() {
            results::close_period(&w.app, &nation, &p.id).await.unwrap();
        }
    }
    let today = w.today();
    results::open_period(
        &w.app,
        &nation,
        today - Duration::days(6),
        today + Duration::days(7),
    )
    .await
    .unwrap()
}

fn day(total: i64, wasted: i64, reason: Option<&str>) -> DayInput {
    DayInput {
        total,
        elderly: total / 2,
        underlying: total / 4,
        others: total - total / 2 - total / 4,
        wasted_vials: wasted,
        waste_reason: reason.map(Into::into),
    }
}

/// The clinic's stock as its ledger adds up, read straight from the database.
async fn ledger_sum(w: &World, code: &str) -> (i64, i64) {
    let mut tx = w.db.db.read().await.unwrap();
    let rows = vsys_store::ledger::for_org(&mut tx, code).await.unwrap();
    (
        rows.iter().map(|r| r.vials).sum(),
        rows.iter().map(|r| r.doses).sum(),
    )
}

db_test!(reporting_periods_and_daily_results, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let today = w.today();
    let period = open_reporting(&w).await;
    assert_eq!(
        (period.first_day, period.last_day),
        (today - Duration::days(6), today + Duration::days(7))
    );
    // Periods do not overlap, run forwards and last a year at most.
    assert_eq!(
        invalid(
            results::open_period(app, &nation, today, today).await,
            "first_day"
        ),
        Msg::PeriodOverlaps
    );
    assert_eq!(
        invalid(
            results::open_period(
                app,
                &nation,
                today + Duration::days(30),
                today + Duration::days(29)
            )
            .await,
            "last_day"
        ),
        Msg::PeriodOrder
    );
    assert_eq!(
        invalid(
            results::open_period(
                app,
                &nation,
                today + Duration::days(30),
                today + Duration::days(400)
            )
            .await,
            "last_day"
        ),
        Msg::PeriodTooLong
    );
    // Every site with an account was told.
    let me = w.actor("clinic", "operator").await;
    let (notices, _) = vsys_app::notices::list(app, &me, vsys_store::Page::first(10))
        .await
        .unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.notice.title_ja.contains("入力期間が開始"))
    );

    // The clinic's first day: 12 doses (two whole vials) and one vial broken.
    let code = w.clinic().await;
    assert_eq!(
        ledger_sum(&w, &code).await,
        (20, 120),
        "the demo's delivery"
    );
    let first = results::put_day(app, &me, &code, today, None, &day(12, 1, Some("breakage")))
        .await
        .unwrap();
    assert_eq!(
        (first.version, first.waste_reason.as_deref()),
        (0, Some("breakage"))
    );
    let view = stock::view(app, &me, &code).await.unwrap();
    assert_eq!(
        (view.vials, view.doses, view.administered_in_window),
        (17, 102, 12)
    );
    assert_eq!(view.days_of_supply, Some(102 * 14 / 12));
    assert!(view.idle);
    assert_eq!(ledger_sum(&w, &code).await, (view.vials, view.doses));
    // Entered again (against its version): what the day wrote is reversed, then rewritten.
    conflict(results::put_day(app, &me, &code, today, None, &day(6, 0, None)).await);
    let second = results::put_day(app, &me, &code, today, Some(0), &day(6, 0, None))
        .await
        .unwrap();
    assert_eq!((second.version, second.waste_reason), (1, None));
    conflict(results::put_day(app, &me, &code, today, Some(0), &day(6, 0, None)).await);
    let view = stock::view(app, &me, &code).await.unwrap();
    assert_eq!((view.vials, view.doses), (19, 114));
    assert_eq!(ledger_sum(&w, &code).await, (19, 114));
    let kinds: Vec<EntryKind> = view.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EntryKind::Correction)
            .count(),
        2,
        "{kinds:?}"
    );
    // The municipality enters for its site; viewers do not.
    let minato = w.actor("minato", "operator").await;
    results::put_day(
        app,
        &minato,
        &code,
        today - Duration::days(1),
        None,
        &day(0, 0, None),
    )
    .await
    .unwrap();
    forbidden(
        results::put_day(
            app,
            &w.actor("clinic", "viewer").await,
            &code,
            today - Duration::days(2),
            None,
            &day(0, 0, None),
        )
        .await,
    );
    // Each refusal named.
    let earlier = today - Duration::days(2);
    let parts = DayInput {
        others: 5,
        ..day(4, 0, None)
    };
    assert_eq!(
        invalid(
            results::put_day(app, &me, &code, earlier, None, &parts).await,
            "total"
        ),
        Msg::PartsDoNotAddUp
    );
    assert_eq!(
        invalid(
            results::put_day(app, &me, &code, earlier, None, &day(0, 2, None)).await,
            "waste_reason"
        ),
        Msg::WasteReasonRequired
    );
    assert_eq!(
        invalid(
            results::put_day(
                app,
                &me,
                &code,
                today + Duration::days(1),
                None,
                &day(1, 0, None)
            )
            .await,
            "day"
        ),
        Msg::FutureDay
    );
    assert_eq!(
        invalid(
            results::put_day(
                app,
                &me,
                &code,
                today - Duration::days(7),
                None,
                &day(1, 0, None)
            )
            .await,
            "day"
        ),
        Msg::ReportingClosed
    );
    assert_eq!(
        invalid(
            results::put_day(app, &me, &code, earlier, None, &day(1000, 0, None)).await,
            "total"
        ),
        Msg::LedgerMoreThanStock
    );
    // What was entered.
    assert_eq!(
        results::day(app, &me, &code, today)
            .await
            .unwrap()
            .map(|r| r.total),
        Some(6)
    );
    let recent = results::recent(app, &w.actor("tokyo", "viewer").await, &code, 7)
        .await
        .unwrap();
    assert_eq!(
        recent.iter().map(|r| (r.day, r.total)).collect::<Vec<_>>(),
        [(today, 6), (today - Duration::days(1), 0)]
    );
    // Closed once; then nothing more is entered.
    results::close_period(app, &nation, &period.id)
        .await
        .unwrap();
    conflict(results::close_period(app, &nation, &period.id).await);
    not_found(results::close_period(app, &nation, "no-such-period").await);
    assert_eq!(
        invalid(
            results::put_day(app, &me, &code, earlier, None, &day(1, 0, None)).await,
            "day"
        ),
        Msg::ReportingClosed
    );
    assert_eq!(w.audit("results.day").await.len(), 3);
});

db_test!(
    receipts_corrections_transfers_and_idle_stock,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let code = w.clinic().await;
        let me = w.actor("clinic", "operator").await;
        let minato = w.actor("minato", "operator").await;
        // A receipt outside vsys's deliveries: registered by the municipality, not by the site.
        let receipt = |lot: &str, vials| ReceiptInput {
            lot: lot.into(),
            vials,
            cycle_id: None,
        };
        forbidden(stock::receive(app, &me, &code, &receipt("FB0002", 10)).await);
        assert_eq!(
            invalid(
                stock::receive(app, &minato, &code, &receipt("FB 0002", 10)).await,
                "lot"
            ),
            Msg::InvalidLot
        );
        let got = stock::receive(app, &minato, &code, &receipt("FB0002", 10))
            .await
            .unwrap();
        assert_eq!(
            (got.kind, got.vials, got.doses),
            (EntryKind::Delivered, 10, 60)
        );
        assert_eq!(ledger_sum(&w, &code).await, (30, 180));
        // Corrected by its reversal, once, with a reason.
        assert_eq!(
            invalid(
                stock::correct(app, &minato, &code, &got.id, " ").await,
                "reason"
            ),
            Msg::CorrectionReasonRequired
        );
        let reversal = stock::correct(app, &minato, &code, &got.id, "数量誤り")
            .await
            .unwrap();
        assert_eq!(
            reversal
                .iter()
                .map(|r| (r.kind, r.vials, r.reverses.as_deref()))
                .collect::<Vec<_>>(),
            [(EntryKind::Correction, -10, Some(got.id.as_str()))]
        );
        assert_eq!(
            invalid(
                stock::correct(app, &minato, &code, &got.id, "もう一度").await,
                "reason"
            ),
            Msg::AlreadyReversed
        );
        assert_eq!(
            invalid(
                stock::correct(app, &minato, &code, &reversal[0].id, "取消の取消").await,
                "reason"
            ),
            Msg::AlreadyReversed
        );
        not_found(stock::correct(app, &minato, &code, "no-such-entry", "理由").await);
        assert_eq!(ledger_sum(&w, &code).await, (20, 120));
        // A day's results are corrected by entering the day again.
        open_reporting(&w).await;
        results::put_day(app, &me, &code, w.today(), None, &day(6, 0, None))
            .await
            .unwrap();
        let entry = stock::view(app, &me, &code).await.unwrap().entries[0].clone();
        assert_eq!(entry.kind, EntryKind::Administered);
        assert_eq!(
            invalid(
                stock::correct(app, &minato, &code, &entry.id, "誤入力").await,
                "reason"
            ),
            Msg::CorrectResultsByDay
        );

        // Transfers: whole vials from a hub to its satellites, both ledgers in one go.
        let satellite = w.municipal_site().await;
        let to = |code: &str, vials| TransferInput {
            to: code.into(),
            lot: "FA0001".into(),
            vials,
        };
        assert_eq!(
            invalid(
                stock::transfer(app, &me, &code, &to(&satellite, 5)).await,
                "to"
            ),
            Msg::NotSatellite
        );
        vsys_app::sites::set_hub(app, &minato, &satellite, SiteType::Satellite, Some(&code))
            .await
            .unwrap();
        let (out, inn) = stock::transfer(app, &me, &code, &to(&satellite, 5))
            .await
            .unwrap();
        assert_eq!(
            (
                out.vials,
                inn.vials,
                inn.org_code.as_str(),
                out.reference.clone()
            ),
            (-5, 5, satellite.as_str(), inn.reference.clone())
        );
        assert!(
            stock::transfer(app, &me, &code, &to(&satellite, 1000))
                .await
                .is_err()
        );
        assert_eq!(ledger_sum(&w, &code).await, (20 - 1 - 5, 120 - 6 - 30));
        assert_eq!(ledger_sum(&w, &satellite).await, (5, 30));
        assert_eq!(
            invalid(
                stock::correct(app, &minato, &code, &out.id, "誤り").await,
                "reason"
            ),
            Msg::CorrectTransferNotHere
        );
        // The satellite cannot send it back (it is nobody's hub).
        let sat_user = w.actor("site", "operator").await;
        assert_eq!(
            invalid(
                stock::transfer(app, &sat_user, &satellite, &to(&code, 1)).await,
                "to"
            ),
            Msg::NotSatellite
        );

        // Idle stock (偏在): the satellite's vials, unused, for those who oversee the area.
        let tokyo = w.actor("tokyo", "viewer").await;
        let idle = stock::idle_sites(app, &tokyo).await.unwrap();
        let sat_line = idle.iter().find(|s| s.code == satellite).unwrap();
        assert_eq!(
            (
                sat_line.doses,
                sat_line.administered_in_window,
                sat_line.days_of_supply
            ),
            (30, 0, None)
        );
        assert!(
            idle.iter().any(|s| s.code == code),
            "used a little, stocked a lot"
        );
        assert!(
            idle.windows(2).all(|p| p[0].doses >= p[1].doses),
            "most doses first"
        );
        let minato_idle = stock::idle_sites(app, &minato).await.unwrap();
        assert!(
            minato_idle
                .iter()
                .all(|s| s.municipality_code.as_deref() == Some("13103"))
        );
        let kanagawa = w
            .make_user("14", "viewer", "kanagawa-viewer@example.jp")
            .await;
        let theirs = stock::idle_sites(app, &kanagawa).await.unwrap();
        assert!(
            !theirs.iter().any(|s| s.code == code || s.code == satellite),
            "{theirs:?}"
        );
        assert_eq!(
            w.audit("stock.").await.len(),
            1 + 1 + 1 + 1,
            "demo, receipt, correction, transfer"
        );
    }
);
