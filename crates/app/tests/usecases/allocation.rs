//! Cycles (created by the nation, supplied by manufacturers and warehouses), the allocation
//! chain (auto-fill, confirm, divide, finish, withdraw, send back, finalise; the wrong state
//! refused), and sites' requests.

use crate::common::*;
use vsys_app::AppError;
use vsys_app::allocation::{self, LineInput};
use vsys_app::cycles::{self, CycleInput, SupplyInput};
use vsys_app::requests::{self, RequestInput};
use vsys_domain::{Chain, Level, Msg, Status, Unit};
use vsys_store::Page;
use vsys_testkit::db_test;

fn line(org: &str, amount: i64) -> LineInput {
    LineInput {
        org_code: org.into(),
        amount,
        needles: None,
        syringes: None,
    }
}

db_test!(cycles_are_created_and_supplied, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let input = w.cycle_input(11).await;
    let c = cycles::create(app, &nation, &input).await.unwrap();
    assert_eq!(
        (
            c.name.as_str(),
            c.doses_per_vial,
            c.vials_per_box,
            c.chain,
            c.unit_site
        ),
        (
            "コミナティ筋注_クール011",
            6,
            195,
            Chain::Standard,
            Unit::Vial
        )
    );
    assert_eq!(cycles::get(app, &nation, &c.id).await.unwrap(), c);
    not_found(cycles::get(app, &nation, "no-such-cycle").await);
    // Every staff user reads cycles; the nation's node starts confirmed and empty.
    let (all, _) = cycles::list(app, &w.actor("clinic", "viewer").await, Page::all())
        .await
        .unwrap();
    assert!(all.iter().any(|x| x.id == c.id));
    let root = allocation::division(app, &nation, &c.id, "JP")
        .await
        .unwrap();
    assert_eq!(
        (
            root.node.vials,
            root.node.status,
            root.node.released,
            root.children.len()
        ),
        (0, Status::Confirmed, true, 47)
    );
    // The same number (of the same vaccine) twice, and bad input, each named.
    assert_eq!(
        invalid(cycles::create(app, &nation, &input).await, "number"),
        Msg::CycleNumberTaken
    );
    let bad = CycleInput {
        number: 0,
        period_end: input.period_start - chrono::Duration::days(1),
        vaccine_id: input.needle_id.clone().unwrap(),
        ..input.clone()
    };
    let r = cycles::create(app, &nation, &bad).await;
    let fields: Vec<String> = match &r {
        Err(AppError::Invalid(inv)) => inv.0.iter().map(|f| f.field.clone()).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fields, ["number", "period_end", "vaccine_id"]);

    // Supply: boxes of vaccine, packs of needles and syringes; the nation's node follows.
    let pfizer = w.actor("pfizer", "operator").await;
    let supply = |product: &str, quantity| SupplyInput {
        supplier_code: None,
        product_id: product.into(),
        quantity,
    };
    cycles::register_supply(app, &pfizer, &c.id, &supply(&c.vaccine_id, 100))
        .await
        .unwrap();
    let warehouse = w.actor("syringe", "operator").await;
    let needle = c.needle_id.clone().unwrap();
    cycles::register_supply(app, &warehouse, &c.id, &supply(&needle, 1000))
        .await
        .unwrap();
    let root = allocation::division(app, &nation, &c.id, "JP")
        .await
        .unwrap();
    assert_eq!(
        (root.node.vials, root.node.needles),
        (100 * 195, 1000 * 100)
    );
    // Corrected, not added.
    let after = cycles::register_supply(app, &pfizer, &c.id, &supply(&c.vaccine_id, 120))
        .await
        .unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(cycles::supply(app, &nation, &c.id).await.unwrap(), after);
    // Another manufacturer's supply, a product of another cycle, a negative amount: refused.
    forbidden(
        cycles::register_supply(
            app,
            &pfizer,
            &c.id,
            &SupplyInput {
                supplier_code: Some("M002".into()),
                ..supply(&c.vaccine_id, 1)
            },
        )
        .await,
    );
    let moderna = vsys_app::products::list(app, &nation, Some("vaccine"))
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.owner_code == "M002")
        .unwrap();
    assert_eq!(
        invalid(
            cycles::register_supply(app, &pfizer, &c.id, &supply(&moderna.id, 1)).await,
            "product_id"
        ),
        Msg::InvalidInput
    );
    assert_eq!(
        invalid(
            cycles::register_supply(app, &pfizer, &c.id, &supply(&c.vaccine_id, -1)).await,
            "quantity"
        ),
        Msg::InvalidInput
    );
    not_found(
        cycles::register_supply(app, &pfizer, "no-such-cycle", &supply(&c.vaccine_id, 1)).await,
    );
    // Once divided, the supply cannot fall below what the nation handed down.
    let v = w.version(&nation, &c.id, "JP").await;
    allocation::apply_autofill(app, &nation, &c.id, "JP", v, None)
        .await
        .unwrap();
    assert_eq!(
        invalid(
            cycles::register_supply(app, &pfizer, &c.id, &supply(&c.vaccine_id, 1)).await,
            "quantity"
        ),
        Msg::AllocationOverParent
    );
    assert_eq!(w.audit("cycle.supply").await.len(), 3 + 3);
});

db_test!(
    nation_to_prefecture_and_the_wrong_state,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let c = w.cycle_with_supply(11).await;
        let id = c.id.as_str();
        let nation = w.actor("nation", "operator").await;
        let tokyo = w.actor("tokyo", "operator").await;
        // A simulation saves nothing; it divides all 100 boxes, each line explained.
        let sim = allocation::simulate(app, &nation, id, "JP", None, None)
            .await
            .unwrap();
        assert_eq!(sim.total, 100);
        assert_eq!(sim.lines.iter().map(|l| l.amount).sum::<i64>(), 100);
        assert_eq!(
            allocation::division(app, &nation, id, "JP")
                .await
                .unwrap()
                .allocated_vials,
            0
        );
        // The auto-fill is saved against the version read; the same version again loses.
        let v = w.version(&nation, id, "JP").await;
        let node = allocation::apply_autofill(app, &nation, id, "JP", v, None)
            .await
            .unwrap();
        assert_eq!(node.version, v + 1);
        conflict(allocation::apply_autofill(app, &nation, id, "JP", v, None).await);
        let d = allocation::division(app, &nation, id, "JP").await.unwrap();
        assert_eq!(d.allocated_vials, 100 * 195);
        assert_eq!(d.remainder_vials(), 0);
        let tokyo_line = d.children.iter().find(|l| l.org.code == "13").unwrap();
        let tokyo_node = tokyo_line.node.clone().unwrap();
        assert!(
            tokyo_node.vials >= 195 && tokyo_node.vials % 195 == 0,
            "{tokyo_node:?}"
        );
        assert!(
            tokyo_node
                .explanation
                .as_deref()
                .unwrap_or_default()
                .contains("auto")
        );
        // The nation's own node is already confirmed.
        state(
            allocation::confirm(app, &nation, id, "JP").await,
            Msg::AllocationWrongStatus,
        );
        // Until the nation finishes, 東京都 does not see its node.
        not_found(allocation::division(app, &tokyo, id, "13").await);
        not_found(allocation::confirm(app, &tokyo, id, "13").await);
        assert_eq!(allocation::own_node(app, &tokyo, id).await.unwrap(), None);
        let finished = allocation::finish(app, &nation, id, "JP").await.unwrap();
        assert_eq!(finished.status, Status::Divided);
        state(
            allocation::finish(app, &nation, id, "JP").await,
            Msg::AllocationWrongStatus,
        );
        let (notices, _) = vsys_app::notices::list(app, &tokyo, Page::first(10))
            .await
            .unwrap();
        assert!(
            notices
                .iter()
                .any(|n| n.notice.title_ja.contains("分配量のお知らせ"))
        );
        // While nobody below has confirmed, the nation may take its division back, and finish again.
        let back = allocation::withdraw(app, &nation, id, "JP").await.unwrap();
        assert_eq!(back.status, Status::Confirmed);
        not_found(allocation::division(app, &tokyo, id, "13").await);
        allocation::finish(app, &nation, id, "JP").await.unwrap();

        // 東京都 confirms (its viewers may not), and cannot confirm twice.
        forbidden(allocation::confirm(app, &w.actor("tokyo", "viewer").await, id, "13").await);
        // 東京都 divides only once it has confirmed.
        let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
        state(
            allocation::save_division(
                app,
                &tokyo,
                id,
                "13",
                d.node.version,
                &[line("13103", 1)],
                None,
            )
            .await,
            Msg::AllocationWrongStatus,
        );
        let confirmed = allocation::confirm(app, &tokyo, id, "13").await.unwrap();
        assert_eq!(confirmed.status, Status::Confirmed);
        state(
            allocation::confirm(app, &tokyo, id, "13").await,
            Msg::AllocationWrongStatus,
        );
        // Now that someone below acted, the nation can no longer withdraw.
        assert_eq!(
            invalid(allocation::withdraw(app, &nation, id, "JP").await, "status"),
            Msg::WithdrawAfterChildActed
        );
        // 東京都 divides among its own municipalities, never over its amount.
        let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
        assert_eq!(d.child_unit, Unit::Box);
        assert!(
            d.children
                .iter()
                .all(|l| l.org.parent_code.as_deref() == Some("13"))
        );
        let boxes = d.node.vials / 195;
        let v = d.node.version;
        // (A refused save leaves the version as it was.)
        assert_eq!(
            invalid(
                allocation::save_division(
                    app,
                    &tokyo,
                    id,
                    "13",
                    v,
                    &[line("13103", boxes + 1)],
                    None
                )
                .await,
                "amount"
            ),
            Msg::AllocationOverParent
        );
        assert_eq!(
            invalid(
                allocation::save_division(app, &tokyo, id, "13", v, &[line("27100", 1)], None)
                    .await,
                "org_code"
            ),
            Msg::UnknownOrg
        );
        let v = w.version(&tokyo, id, "13").await;
        allocation::save_division(
            app,
            &tokyo,
            id,
            "13",
            v,
            &[line("13103", boxes - 1), line("13104", 1)],
            None,
        )
        .await
        .unwrap();
        conflict(
            allocation::save_division(app, &tokyo, id, "13", v, &[line("13103", boxes)], None)
                .await,
        );
        let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
        assert_eq!(d.allocated_vials, d.node.vials);
        // Finished, sent back by the nation, finished again.
        allocation::finish(app, &tokyo, id, "13").await.unwrap();
        let sent_back = allocation::send_back(app, &nation, id, "13").await.unwrap();
        assert_eq!(sent_back.status, Status::Confirmed);
        // Nothing to send back below (港区 has not even confirmed); 港区 cannot reach 東京都's node.
        state(
            allocation::send_back(app, &tokyo, id, "13103").await,
            Msg::AllocationWrongStatus,
        );
        not_found(allocation::send_back(app, &w.actor("minato", "operator").await, id, "13").await);
        allocation::finish(app, &tokyo, id, "13").await.unwrap();
        // 東京都 cannot finalise while its municipalities have not divided.
        let r = allocation::finalise(app, &tokyo, id, "13").await;
        let pending: Vec<(String, Msg)> = match r {
            Err(AppError::Invalid(inv)) => inv.0.into_iter().map(|f| (f.field, f.msg)).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            pending,
            [
                ("13103".to_owned(), Msg::ChildrenNotDivided),
                ("13104".to_owned(), Msg::ChildrenNotDivided)
            ]
        );
        // 港区 sees only its own node; the nation sees them all.
        let minato = w.actor("minato", "operator").await;
        let mine = allocation::nodes_in_scope(app, &minato, id).await.unwrap();
        assert_eq!(
            mine.iter()
                .map(|n| (n.org_code.as_str(), n.level))
                .collect::<Vec<_>>(),
            [("13103", Level::Municipality)]
        );
        assert_eq!(
            allocation::nodes_in_scope(app, &nation, id)
                .await
                .unwrap()
                .len(),
            1 + 47 + 2
        );
        not_found(allocation::division(app, &minato, id, "13104").await);
    }
);

db_test!(finalised_chains_change_no_more, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let c = w.finalised(11).await;
    let id = c.id.as_str();
    let minato = w.actor("minato", "operator").await;
    let tokyo = w.actor("tokyo", "operator").await;
    let d = allocation::division(app, &minato, id, "13103")
        .await
        .unwrap();
    assert_eq!(d.node.status, Status::Final);
    assert_eq!(d.child_unit, Unit::Vial);
    // Every site line is final, and none exceeds the amount.
    assert!(
        d.allocated_vials > 0 && d.allocated_vials <= d.node.vials,
        "{d:?}"
    );
    assert!(
        d.children
            .iter()
            .filter_map(|l| l.node.as_ref())
            .all(|n| n.status == Status::Final)
    );
    state(
        allocation::save_division(app, &minato, id, "13103", d.node.version, &[], None).await,
        Msg::AllocationFinalised,
    );
    state(
        allocation::finalise(app, &tokyo, id, "13").await,
        Msg::AllocationFinalised,
    );
    state(
        allocation::send_back(app, &tokyo, id, "13103").await,
        Msg::AllocationFinalised,
    );
    // Only the closing level finalises.
    forbidden(allocation::finalise(app, &minato, id, "13103").await);
    // Sites were told: the clinic has its notice.
    let clinic = w.actor("clinic", "viewer").await;
    let (notices, _) = vsys_app::notices::list(app, &clinic, Page::first(10))
        .await
        .unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.notice.title_ja.contains("分配量確定のお知らせ")),
        "{notices:?}"
    );
});

fn request(capacity: i64, requested: i64) -> RequestInput {
    RequestInput {
        capacity_doses: capacity,
        requested_doses: requested,
        storage: "freezer".into(),
        needles: requested,
        syringes: requested,
    }
}

db_test!(site_requests_until_the_deadline, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let c = w.minato_confirmed(12).await;
    let id = c.id.as_str();
    let clinic = w.clinic().await;
    let me = w.actor("clinic", "operator").await;
    assert_eq!(requests::get(app, &me, id, &clinic).await.unwrap(), None);
    let first = requests::put(app, &me, id, &clinic, None, &request(1200, 600))
        .await
        .unwrap();
    assert_eq!((first.version, first.requested_doses), (0, 600));
    // The first registration is made once; changes carry the version read.
    conflict(requests::put(app, &me, id, &clinic, None, &request(1200, 600)).await);
    let second = requests::put(app, &me, id, &clinic, Some(0), &request(1200, 300))
        .await
        .unwrap();
    assert_eq!(second.version, 1);
    conflict(requests::put(app, &me, id, &clinic, Some(0), &request(1200, 400)).await);
    assert_eq!(
        invalid(
            requests::put(app, &me, id, &clinic, Some(1), &request(100, 200)).await,
            "requested_doses"
        ),
        Msg::RequestOverCapacity
    );
    assert_eq!(
        invalid(
            requests::put(
                app,
                &me,
                id,
                &clinic,
                Some(1),
                &RequestInput {
                    storage: "fridge".into(),
                    needles: -1,
                    ..request(100, 50)
                }
            )
            .await,
            "needles"
        ),
        Msg::NegativeNumber
    );
    forbidden(
        requests::put(
            app,
            &w.actor("clinic", "viewer").await,
            id,
            &clinic,
            Some(1),
            &request(10, 5),
        )
        .await,
    );
    // Only sites register requests.
    let minato = w.actor("minato", "operator").await;
    assert_eq!(
        invalid(
            requests::put(app, &minato, id, "13103", None, &request(10, 5)).await,
            "org_code"
        ),
        Msg::InvalidOrgCode
    );
    // The municipality registers for its sites, and sees them in its division.
    let site = w.municipal_site().await;
    requests::put(app, &minato, id, &site, None, &request(600, 600))
        .await
        .unwrap();
    assert_eq!(
        requests::get(app, &w.actor("tokyo", "viewer").await, id, &clinic)
            .await
            .unwrap()
            .map(|r| r.version),
        Some(1)
    );
    let d = allocation::division(app, &minato, id, "13103")
        .await
        .unwrap();
    assert_eq!(d.requests_reported, 2);
    let clinic_line = d.children.iter().find(|l| l.org.code == clinic).unwrap();
    assert_eq!(
        clinic_line.request.as_ref().map(|r| r.requested_doses),
        Some(300)
    );
    // The auto-fill caps each site at what it can administer.
    let v = d.node.version;
    allocation::apply_autofill(app, &minato, id, "13103", v, None)
        .await
        .unwrap();
    let d = allocation::division(app, &minato, id, "13103")
        .await
        .unwrap();
    for l in &d.children {
        if let (Some(n), Some(r)) = (&l.node, &l.request) {
            assert!(n.vials * 6 <= r.capacity_doses, "{}: {n:?}", l.org.code);
        }
    }
    // After the site deadline (Japan time), requests are closed.
    w.clock.advance(chrono::Duration::days(10));
    assert_eq!(
        invalid(
            requests::put(app, &me, id, &clinic, Some(1), &request(1200, 300)).await,
            "deadline"
        ),
        Msg::DeadlinePassed
    );
    assert_eq!(w.audit("request.put").await.len(), 3);
});

db_test!(cycle_deadlines_run_down_the_chain, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let day = |d: i64| w.today() + chrono::Duration::days(d);
    let before = w.audit("cycle.create").await.len();
    // 都道府県 12-26 after 市町村 12-23 after 医療機関 12-20: refused, both steps named.
    let mut backwards = w.cycle_input(11).await;
    backwards.deadline_prefecture = day(9);
    backwards.deadline_municipality = day(6);
    backwards.deadline_site = day(3);
    let r = cycles::create(app, &nation, &backwards).await;
    assert_eq!(invalid(r, "deadline_municipality"), Msg::DeadlineOrder);
    let r = cycles::create(app, &nation, &backwards).await;
    assert_eq!(invalid(r, "deadline_site"), Msg::DeadlineOrder);
    // Only the site's deadline before the municipality's: that one is named.
    let mut site_early = w.cycle_input(11).await;
    site_early.deadline_site = day(5);
    let r = cycles::create(app, &nation, &site_early).await;
    assert_eq!(invalid(r, "deadline_site"), Msg::DeadlineOrder);
    assert_eq!(w.audit("cycle.create").await.len(), before);
    // Equal days are allowed.
    let mut same_day = w.cycle_input(11).await;
    same_day.deadline_prefecture = day(6);
    same_day.deadline_municipality = day(6);
    same_day.deadline_site = day(6);
    let c = cycles::create(app, &nation, &same_day).await.unwrap();
    assert_eq!(c.deadline_site, day(6));
    assert_eq!(w.audit("cycle.create").await.len(), before + 1);
});

db_test!(concurrent_saves_of_one_division, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let c = w.cycle_with_supply(11).await;
    let id = c.id.as_str();
    let nation = w.actor("nation", "operator").await;
    let v = w.version(&nation, id, "JP").await;
    // Two people save the nation's division from the same version at once: 60 boxes each to
    // different prefectures, 120 of 100 together. One wins; the other is told someone else
    // changed it, and the sum never exceeds the nation's amount.
    let (tokyo, osaka) = ([line("13", 60)], [line("27", 60)]);
    let (a, b) = tokio::join!(
        allocation::save_division(app, &nation, id, "JP", v, &tokyo, None),
        allocation::save_division(app, &nation, id, "JP", v, &osaka, None),
    );
    let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{a:?} {b:?}");
    let loser = if a.is_ok() { b } else { a };
    conflict(loser);
    let d = allocation::division(app, &nation, id, "JP").await.unwrap();
    assert_eq!((d.allocated_vials, d.node.version), (60 * 195, v + 1));
});

db_test!(
    suppliers_register_only_what_they_supply,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let c = w.cycle_with_supply(11).await;
        let nation = w.actor("nation", "operator").await;
        let before = allocation::division(app, &nation, &c.id, "JP")
            .await
            .unwrap()
            .node
            .clone();
        let pfizer = w.actor("pfizer", "operator").await;
        let r = cycles::register_supply(
            app,
            &pfizer,
            &c.id,
            &SupplyInput {
                supplier_code: None,
                product_id: c.needle_id.clone().unwrap(),
                quantity: 5000,
            },
        )
        .await;
        assert!(r.is_err(), "M001 registered N001's needles: {r:?}");
        let r = cycles::register_supply(
            app,
            &nation,
            &c.id,
            &SupplyInput {
                supplier_code: Some("M002".into()),
                product_id: c.vaccine_id.clone(),
                quantity: 50,
            },
        )
        .await;
        assert!(r.is_err(), "M002 registered M001's vaccine: {r:?}");
        let after = allocation::division(app, &nation, &c.id, "JP")
            .await
            .unwrap()
            .node
            .clone();
        assert_eq!((after.vials, after.needles), (before.vials, before.needles));
    }
);
