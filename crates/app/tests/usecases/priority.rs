//! The healthcare-worker priority programme's chain: the nation fixes the municipality level,
//! then the prefecture divides each municipality's amount among medical institutions (never
//! municipal sites) and finalises.

use crate::common::*;
use vsys_app::allocation::{self, LineInput};
use vsys_app::cycles::{self, CycleInput, SupplyInput};
use vsys_app::requests::{self, RequestInput};
use vsys_domain::{Chain, Msg, OrgKind, Status};
use vsys_testkit::db_test;

fn line(org: &str, amount: i64) -> LineInput {
    LineInput {
        org_code: org.into(),
        amount,
        needles: None,
        syringes: None,
    }
}

db_test!(priority_programme_chain, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let c = cycles::create(
        app,
        &nation,
        &CycleInput {
            chain: Some(Chain::Priority),
            ..w.cycle_input(14).await
        },
    )
    .await
    .unwrap();
    assert_eq!(c.chain, Chain::Priority);
    let id = c.id.as_str();
    cycles::register_supply(
        app,
        &w.actor("pfizer", "operator").await,
        id,
        &SupplyInput {
            supplier_code: None,
            product_id: c.vaccine_id.clone(),
            quantity: 100,
        },
    )
    .await
    .unwrap();
    // The nation gives everything to 東京都, which gives it all to 港区.
    let v = w.version(&nation, id, "JP").await;
    allocation::save_division(app, &nation, id, "JP", v, &[line("13", 100)], None)
        .await
        .unwrap();
    allocation::finish(app, &nation, id, "JP").await.unwrap();
    let tokyo = w.actor("tokyo", "operator").await;
    allocation::confirm(app, &tokyo, id, "13").await.unwrap();
    let v = w.version(&tokyo, id, "13").await;
    allocation::save_division(app, &tokyo, id, "13", v, &[line("13103", 100)], None)
        .await
        .unwrap();
    allocation::finish(app, &tokyo, id, "13").await.unwrap();
    // Institutions wait until the nation has fixed the municipality level.
    let v = w.version(&tokyo, id, "13103").await;
    state(
        allocation::save_division(app, &tokyo, id, "13103", v, &[], None).await,
        Msg::AwaitingNation,
    );
    state(
        allocation::finalise(app, &tokyo, id, "13").await,
        Msg::AwaitingNation,
    );
    let fixed = allocation::finalise(app, &nation, id, "JP").await.unwrap();
    assert_eq!(fixed.status, Status::Final);
    assert_eq!(
        w.audit("allocation.municipality_level_final").await.len(),
        1
    );
    // 港区's amount is now confirmed and handed down, but 東京都 divides it, not 港区.
    let minato = w.actor("minato", "operator").await;
    let d = allocation::division(app, &minato, id, "13103")
        .await
        .unwrap();
    assert_eq!(
        (d.node.status, d.node.released, d.node.vials),
        (Status::Confirmed, true, 100 * 195)
    );
    forbidden(
        allocation::save_division(app, &minato, id, "13103", d.node.version, &[], None).await,
    );
    forbidden(allocation::finish(app, &minato, id, "13103").await);
    // Medical institutions only: municipal sites are not divided to and register no requests.
    assert!(
        d.children
            .iter()
            .all(|l| l.org.kind == OrgKind::Institution)
    );
    let clinic = w.clinic().await;
    assert!(d.children.iter().any(|l| l.org.code == clinic));
    let request = RequestInput {
        capacity_doses: 600,
        requested_doses: 600,
        storage: "freezer".into(),
        needles: 0,
        syringes: 0,
    };
    assert_eq!(
        invalid(
            requests::put(app, &minato, id, &w.municipal_site().await, None, &request).await,
            "org_code"
        ),
        Msg::NoRequestsInPriority
    );
    requests::put(app, &minato, id, &clinic, None, &request)
        .await
        .unwrap();
    // 東京都 divides 港区's amount, finishes it and finalises.
    let v = w.version(&tokyo, id, "13103").await;
    allocation::apply_autofill(app, &tokyo, id, "13103", v, None)
        .await
        .unwrap();
    allocation::finish(app, &tokyo, id, "13103").await.unwrap();
    let last = allocation::finalise(app, &tokyo, id, "13").await.unwrap();
    assert_eq!(last.status, Status::Final);
    let d = allocation::division(app, &minato, id, "13103")
        .await
        .unwrap();
    assert_eq!(d.node.status, Status::Final);
    let clinic_line = d.children.iter().find(|l| l.org.code == clinic).unwrap();
    assert!(
        clinic_line
            .node
            .as_ref()
            .is_some_and(|n| n.vials > 0 && n.status == Status::Final)
    );
    // Its deliveries exist.
    let (lines, _) = vsys_app::delivery::list(
        app,
        &tokyo,
        &vsys_app::delivery::DeliveryQuery {
            cycle: Some(id.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(lines.iter().any(|l| l.site_code == clinic));
});
