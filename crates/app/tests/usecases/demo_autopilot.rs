//! The demo's autopilot: once 東京都 has finished dividing (and not before), each of its other
//! municipalities confirms, auto-fills and finishes as its own seeded account — the audit log
//! names that account and that municipality — and 東京都 can then 確定 after 港区.

use crate::common::*;
use vsys_app::allocation;
use vsys_app::demo::autopilot;
use vsys_app::demo::autopilot_email;
use vsys_domain::{Msg, Status};
use vsys_testkit::db_test;

db_test!(
    the_autopilot_acts_as_each_municipality_once_the_prefecture_finished,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        assert!(autopilot::wanted(app).await.unwrap(), "a demo database");
        let cycle = w.cycle_with_supply(31).await;
        let id = cycle.id.as_str();
        let nation = w.actor("nation", "operator").await;
        let v = w.version(&nation, id, "JP").await;
        allocation::apply_autofill(app, &nation, id, "JP", v, None)
            .await
            .unwrap();
        allocation::finish(app, &nation, id, "JP").await.unwrap();
        let tokyo = w.actor("tokyo", "operator").await;
        allocation::confirm(app, &tokyo, id, "13").await.unwrap();
        let v = w.version(&tokyo, id, "13").await;
        allocation::apply_autofill(app, &tokyo, id, "13", v, None)
            .await
            .unwrap();

        // Before 東京都's 分配完了 the autopilot has nothing to do.
        let (acted, refused) = autopilot::step(app).await.unwrap();
        assert!(acted.is_empty(), "acted too early: {acted:?}");
        assert!(refused.is_empty(), "{refused:?}");

        allocation::finish(app, &tokyo, id, "13").await.unwrap();
        // 確定 is refused while the municipalities have not divided.
        match allocation::finalise(app, &tokyo, id, "13").await {
            Err(vsys_app::AppError::Invalid(inv)) => assert!(
                !inv.0.is_empty() && inv.0.iter().all(|f| f.msg == Msg::ChildrenNotDivided),
                "{inv:?}"
            ),
            other => panic!("expected ChildrenNotDivided, got {other:?}"),
        }

        let (acted, refused) = autopilot::step(app).await.unwrap();
        assert!(refused.is_empty(), "refused: {refused:?}");
        let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
        let with_amount: Vec<&str> = d
            .children
            .iter()
            .filter_map(|c| c.node.as_ref())
            .filter(|n| n.vials > 0 && n.org_code != "13103")
            .map(|n| n.org_code.as_str())
            .collect();
        assert!(with_amount.len() >= 5, "municipalities: {with_amount:?}");
        let mut did: Vec<&str> = acted.iter().map(|a| a.org_code.as_str()).collect();
        did.sort();
        let mut want = with_amount.clone();
        want.sort();
        assert_eq!(did, want, "every municipality with an amount but 港区");
        for c in d.children.iter().filter_map(|c| c.node.as_ref()) {
            let want = if c.org_code == "13103" {
                Status::Unconfirmed
            } else if c.vials > 0 {
                Status::Divided
            } else {
                Status::Unconfirmed
            };
            assert_eq!(c.status, want, "{}", c.org_code);
        }

        // Each wrote as its own account: confirm, the division, finish.
        let entries = w.audit("allocation.").await;
        for a in &acted {
            let account = w.user(&autopilot_email(&a.org_code)).await;
            assert_eq!(account.org_code, a.org_code);
            let node = d
                .children
                .iter()
                .filter_map(|c| c.node.as_ref())
                .find(|n| n.org_code == a.org_code)
                .unwrap();
            let mut mine: Vec<&str> = entries
                .iter()
                .filter(|e| e.object_id == node.id)
                .map(|e| {
                    assert_eq!(e.actor_user.as_deref(), Some(account.id.as_str()));
                    assert_eq!(e.actor_org.as_deref(), Some(a.org_code.as_str()));
                    e.action.as_str()
                })
                .collect();
            mine.sort();
            assert_eq!(
                mine,
                [
                    "allocation.confirmed",
                    "allocation.divided",
                    "allocation.division"
                ],
                "{}",
                a.org_code
            );
        }
        // Nothing left: a second look does nothing.
        let (again, _) = autopilot::step(app).await.unwrap();
        assert!(again.is_empty(), "{again:?}");

        // 港区 acts through its printed login (when it has an amount); then 東京都 may 確定.
        let minato_has = d
            .children
            .iter()
            .filter_map(|c| c.node.as_ref())
            .any(|n| n.org_code == "13103" && n.vials > 0);
        if minato_has {
            let minato = w.actor("minato", "operator").await;
            allocation::confirm(app, &minato, id, "13103")
                .await
                .unwrap();
            let v = w.version(&minato, id, "13103").await;
            allocation::apply_autofill(app, &minato, id, "13103", v, None)
                .await
                .unwrap();
            allocation::finish(app, &minato, id, "13103").await.unwrap();
        }
        let done = allocation::finalise(app, &tokyo, id, "13").await.unwrap();
        assert_eq!(done.status, Status::Final);
    }
);
