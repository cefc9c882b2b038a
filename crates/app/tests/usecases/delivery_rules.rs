//! Who a delivery goes to (docs/DELIVERY.md): the vaccine to the wholesaler serving the site's
//! municipality, or straight from the manufacturer where none does; needles and syringes from
//! the warehouse that supplies them; reassignment to another wholesaler serving the area.

use crate::common::*;
use vsys_app::delivery::{self, DeliveryQuery};
use vsys_domain::{Msg, ProductKind};
use vsys_testkit::db_test;

fn of_cycle(cycle: &str) -> DeliveryQuery {
    DeliveryQuery {
        cycle: Some(cycle.into()),
        per_page: Some(500),
        ..Default::default()
    }
}

db_test!(
    vaccine_ships_direct_where_no_wholesaler_serves,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        // 東京都 takes 港区 out of its wholesaler's area before the cycle is finalised.
        let tokyo = w.actor("tokyo", "operator").await;
        vsys_app::orgs::set_areas(app, &tokyo, "W13001", &["13104".into()])
            .await
            .unwrap();
        let cycle = w.finalised(11).await;
        let q = of_cycle(&cycle.id);
        let (all, _) = delivery::list(app, &tokyo, &q).await.unwrap();
        for d in &all {
            let want = match d.item {
                ProductKind::Vaccine => "M001",
                _ => "N001",
            };
            assert_eq!(d.deliverer_code, want, "{d:?}");
        }
        // The manufacturer sees and dates its own lines; the wholesaler has none.
        let pfizer = w.actor("pfizer", "operator").await;
        let (direct, n) = delivery::list(app, &pfizer, &q).await.unwrap();
        assert!(n >= 1 && direct.iter().all(|d| d.item == ProductKind::Vaccine));
        let first = &direct[0];
        let dated = delivery::enter(
            app,
            &pfizer,
            &first.id,
            first.version,
            &delivery::DatesInput {
                scheduled_on: Some(w.today()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(dated.scheduled_on, Some(w.today()));
        let wholesaler = w.actor("wholesaler", "operator").await;
        assert_eq!(delivery::list(app, &wholesaler, &q).await.unwrap().1, 0);
        // Nobody serves 港区, so there is no wholesaler to hand a line to.
        let undated = direct.iter().find(|d| d.id != first.id);
        if let Some(d) = undated {
            assert_eq!(
                invalid(
                    delivery::reassign(app, &tokyo, &d.id, "W13001").await,
                    "deliverer_code"
                ),
                Msg::NotServing
            );
        }
    }
);

db_test!(
    needle_lines_stay_with_their_warehouse,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let cycle = w.finalised(11).await;
        let tokyo = w.actor("tokyo", "operator").await;
        let (all, _) = delivery::list(app, &tokyo, &of_cycle(&cycle.id))
            .await
            .unwrap();
        let needle = all.iter().find(|d| d.item == ProductKind::Needle).unwrap();
        assert_eq!(needle.deliverer_code, "N001");
        let r = delivery::reassign(app, &tokyo, &needle.id, "W13001").await;
        assert!(
            r.is_err(),
            "the warehouse's needles went to a wholesaler: {r:?}"
        );
        assert_eq!(
            delivery::get(app, &tokyo, &needle.id)
                .await
                .unwrap()
                .deliverer_code,
            "N001"
        );
    }
);
