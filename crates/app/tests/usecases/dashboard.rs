//! The dashboard's progress (進捗状況): where the organisations below stand in each recent
//! cycle, who is late against their level's deadline, and reminders to those late — sent as
//! notices, audited once per organisation, by those who may write, to those late only.

use crate::common::*;
use chrono::Duration;
use vsys_app::dashboard;
use vsys_domain::chain::{Level, Status};
use vsys_testkit::db_test;

db_test!(
    progress_shows_who_is_late_and_reminds_them,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        // 東京都 gave everything to 港区 and finished; 港区 confirmed but has not divided.
        let cycle = w.minato_confirmed(41).await;
        let tokyo = w.actor("tokyo", "operator").await;
        let find = |ps: &[dashboard::CycleProgress]| {
            ps.iter()
                .find(|p| p.cycle.id == cycle.id)
                .cloned()
                .unwrap_or_else(|| panic!("cycle 41 shown"))
        };
        let p = find(&dashboard::progress(app, &tokyo).await.unwrap());
        assert_eq!(p.own, Status::Divided);
        assert_eq!(p.child_level, Level::Municipality);
        assert_eq!(p.deadline, cycle.deadline_municipality);
        let minato = p.children.iter().find(|c| c.code == "13103").unwrap();
        assert_eq!(minato.status, Some(Status::Confirmed));
        assert!(!minato.late, "before the deadline nobody is late");
        assert_eq!(p.count(Status::Confirmed), 1);
        assert!(
            p.children
                .iter()
                .filter(|c| c.code != "13103")
                .all(|c| c.status.is_none()),
            "the others received nothing"
        );
        assert!(
            dashboard::remind(app, &tokyo, &cycle.id)
                .await
                .unwrap()
                .is_empty()
        );
        // The day after the municipalities' deadline, 港区 is late (it has not divided).
        let days = (cycle.deadline_municipality - w.today()).num_days() + 1;
        w.clock.advance(Duration::days(days));
        let p = find(&dashboard::progress(app, &tokyo).await.unwrap());
        let late: Vec<&str> = p.late().map(|c| c.code.as_str()).collect();
        assert_eq!(late, ["13103"]);
        // A viewer sees it but may not remind; a clinic sees no dashboard at all.
        let viewer = w.actor("tokyo", "viewer").await;
        assert_eq!(
            find(&dashboard::progress(app, &viewer).await.unwrap())
                .late()
                .count(),
            1
        );
        forbidden(dashboard::remind(app, &viewer, &cycle.id).await);
        forbidden(dashboard::progress(app, &w.actor("clinic", "operator").await).await);
        // The operator reminds: 港区 gets a notice linking its division; audited once.
        let sent = dashboard::remind(app, &tokyo, &cycle.id).await.unwrap();
        assert_eq!(
            sent.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
            ["13103"]
        );
        let minato = w.actor("minato", "operator").await;
        let (notices, _) = vsys_app::notices::list(app, &minato, vsys_store::Page::all())
            .await
            .unwrap();
        let n = notices
            .iter()
            .find(|n| {
                n.notice.title_ja.contains("締切") && n.notice.title_ja.contains("過ぎています")
            })
            .unwrap_or_else(|| {
                panic!(
                    "reminder in {:?}",
                    notices
                        .iter()
                        .map(|n| &n.notice.title_ja)
                        .collect::<Vec<_>>()
                )
            });
        assert_eq!(
            n.notice.link.as_deref(),
            Some(format!("/allocations/{}", cycle.id).as_str())
        );
        let audit = w.audit("allocation.remind").await;
        assert_eq!(audit.len(), 1);
        // Once 港区 has divided, nobody is late.
        let v = w.version(&minato, &cycle.id, "13103").await;
        vsys_app::allocation::apply_autofill(app, &minato, &cycle.id, "13103", v, None)
            .await
            .unwrap();
        vsys_app::allocation::finish(app, &minato, &cycle.id, "13103")
            .await
            .unwrap();
        let p = find(&dashboard::progress(app, &tokyo).await.unwrap());
        assert_eq!(p.late().count(), 0);
        assert_eq!(p.count(Status::Divided), 1);
    }
);
