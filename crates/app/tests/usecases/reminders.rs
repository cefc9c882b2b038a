//! The automatic deadline reminders (`vsys_app::reminders`): once a deadline's day has passed,
//! each organisation late for its level gets one notice from the system per deadline, however
//! often the step runs; those not late get none; the next level's deadline brings its own; a
//! reminder sent by hand from the dashboard counts as the deadline's reminder.

use crate::common::*;
use chrono::Duration;
use std::collections::BTreeMap;
use vsys_app::allocation::{self, LineInput};
use vsys_app::{dashboard, reminders};
use vsys_domain::chain::Status;
use vsys_store::schema::Notices;
use vsys_testkit::db_test;

/// The reminders each organisation received: its code → the bodies of its reminder notices.
async fn reminded(w: &World) -> BTreeMap<String, Vec<String>> {
    let mut tx = w.db.db.read().await.unwrap();
    let rows: Vec<(String, String, String)> = tx
        .all(
            &sea_query::Query::select()
                .columns([Notices::OrgCode, Notices::TitleJa, Notices::BodyJa])
                .from(Notices::Table)
                .to_owned(),
        )
        .await
        .unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (org, title, body) in rows {
        if title.contains("分配の締切") {
            out.entry(org).or_default().push(body);
        }
    }
    out
}

/// How many automatic reminders the audit log holds per object (`cycle:org`).
async fn audited(w: &World) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in w.audit(reminders::ACTION).await {
        assert_eq!(e.actor_user, None, "sent by the system");
        assert_eq!(e.partition, "system");
        *out.entry(e.object_id).or_default() += 1;
    }
    out
}

const AUTO: &str = "V-SYSからの自動のお知らせ";

db_test!(
    late_organisations_are_reminded_once_per_deadline,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let cycle = w.cycle_with_supply(51).await;
        let id = cycle.id.as_str();
        // The nation divides among the prefectures; 東京都 gives 千代田区, 中央区 and 港区 their
        // parts; 港区 confirms, divides among its sites and finishes.
        let nation = w.actor("nation", "operator").await;
        let v = w.version(&nation, id, "JP").await;
        allocation::apply_autofill(app, &nation, id, "JP", v, None)
            .await
            .unwrap();
        allocation::finish(app, &nation, id, "JP").await.unwrap();
        let tokyo = w.actor("tokyo", "operator").await;
        allocation::confirm(app, &tokyo, id, "13").await.unwrap();
        let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
        let boxes = d.node.vials / cycle.vials_per_box;
        assert!(boxes >= 3, "東京都 has {boxes} boxes");
        let line = |org: &str, amount: i64| LineInput {
            org_code: org.into(),
            amount,
            needles: None,
            syringes: None,
        };
        allocation::save_division(
            app,
            &tokyo,
            id,
            "13",
            d.node.version,
            &[line("13101", 1), line("13102", 1), line("13103", boxes - 2)],
            None,
        )
        .await
        .unwrap();
        allocation::finish(app, &tokyo, id, "13").await.unwrap();
        let minato = w.actor("minato", "operator").await;
        allocation::confirm(app, &minato, id, "13103")
            .await
            .unwrap();
        let clinic = w.clinic().await;
        vsys_app::requests::put(
            app,
            &minato,
            id,
            &clinic,
            None,
            &vsys_app::requests::RequestInput {
                capacity_doses: 1200,
                requested_doses: 600,
                storage: "freezer".into(),
                needles: 600,
                syringes: 600,
            },
        )
        .await
        .unwrap();
        let v = w.version(&minato, id, "13103").await;
        allocation::apply_autofill(app, &minato, id, "13103", v, None)
            .await
            .unwrap();
        allocation::finish(app, &minato, id, "13103").await.unwrap();

        // Nothing is due before the deadlines' days have passed.
        assert_eq!(reminders::run(app).await.unwrap(), 0);
        let prefectures: Vec<String> = allocation::division(app, &nation, id, "JP")
            .await
            .unwrap()
            .children
            .iter()
            .filter(|c| c.org.code != "13")
            .filter(|c| c.node.as_ref().is_some_and(|n| n.vials > 0))
            .map(|c| c.org.code.clone())
            .collect();
        assert!(!prefectures.is_empty());

        // The day after the municipalities' deadline (the prefectures' is past too). The nation
        // has reminded the late prefectures by hand already: they get no automatic one.
        let days = (cycle.deadline_municipality - w.today()).num_days() + 1;
        w.clock.advance(Duration::days(days));
        let by_hand = dashboard::remind(app, &nation, id).await.unwrap();
        let mut by_hand: Vec<String> = by_hand.into_iter().map(|c| c.code).collect();
        by_hand.sort();
        assert_eq!(by_hand, prefectures, "every other prefecture is late");
        // The step runs twice (as it does every minute): 千代田区 and 中央区, still 未確認, get
        // one reminder each; 港区 (分配完了) and the sites (their deadline not passed) none.
        assert_eq!(reminders::run(app).await.unwrap(), 2);
        assert_eq!(reminders::run(app).await.unwrap(), 0);
        let got = reminded(&w).await;
        for m in ["13101", "13102"] {
            let bodies = &got[m];
            assert_eq!(bodies.len(), 1, "{m}: {bodies:?}");
            assert!(bodies[0].contains(AUTO), "{}", bodies[0]);
            assert!(
                bodies[0].contains("分配と「分配完了にする」"),
                "{}",
                bodies[0]
            );
        }
        assert!(!got.contains_key("13103"), "港区 has divided");
        assert!(
            !got.contains_key(&clinic),
            "the sites' deadline has not passed"
        );
        for p in &prefectures {
            assert_eq!(got[p].len(), 1, "{p}: the nation's reminder only");
            assert!(got[p][0].contains("より"), "{}", got[p][0]);
        }
        let audit = audited(&w).await;
        assert_eq!(
            audit.keys().cloned().collect::<Vec<_>>(),
            [format!("{id}:13101"), format!("{id}:13102")]
        );

        // The day after the sites' deadline: each site still 未確認 gets its own reminder, once;
        // the municipalities are not reminded again of their deadline.
        let sites: Vec<String> = allocation::division(app, &minato, id, "13103")
            .await
            .unwrap()
            .children
            .iter()
            .filter(|c| {
                c.node
                    .as_ref()
                    .is_some_and(|n| n.vials > 0 && n.status == Status::Unconfirmed)
            })
            .map(|c| c.org.code.clone())
            .collect();
        assert!(sites.contains(&clinic), "{sites:?}");
        let days = (cycle.deadline_site - w.today()).num_days() + 1;
        w.clock.advance(Duration::days(days));
        assert_eq!(reminders::run(app).await.unwrap(), sites.len());
        assert_eq!(reminders::run(app).await.unwrap(), 0);
        let got = reminded(&w).await;
        for s in &sites {
            assert_eq!(got[s].len(), 1, "{s}: {:?}", got[s]);
            assert!(got[s][0].contains("「確認済にする」"), "{}", got[s][0]);
        }
        for m in ["13101", "13102"] {
            assert_eq!(got[m].len(), 1, "{m} once for its deadline");
        }
        let audit = audited(&w).await;
        assert_eq!(audit.len(), 2 + sites.len());
        assert!(audit.values().all(|n| *n == 1), "{audit:?}");
        // Each reminder's row says who sent it.
        let mut tx = w.db.db.read().await.unwrap();
        let rows = vsys_store::reminders::sent(&mut tx, id).await.unwrap();
        assert_eq!(rows.len(), prefectures.len() + 2 + sites.len());
        assert!(
            rows.iter()
                .any(|(o, d, s)| o == "13101" && *d == cycle.deadline_municipality && s == "auto")
        );
        assert!(rows.iter().any(|(o, d, s)| o == &prefectures[0]
            && *d == cycle.deadline_prefecture
            && s == "manual"));
    }
);
