//! Notices of one event gathered into one notice for the level above (the municipalities that
//! confirmed a cycle, listed), and marking all of one's notices read.

use crate::common::*;
use vsys_app::allocation::{self, LineInput};
use vsys_app::notices;
use vsys_store::Page;
use vsys_testkit::db_test;

db_test!(
    confirmations_gather_into_one_notice_and_all_are_marked_read,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let cycle = w.cycle_with_supply(41).await;
        let id = cycle.id.as_str();
        let nation = w.actor("nation", "operator").await;
        let v = w.version(&nation, id, "JP").await;
        allocation::apply_autofill(app, &nation, id, "JP", v, None)
            .await
            .unwrap();
        allocation::finish(app, &nation, id, "JP").await.unwrap();
        let tokyo = w.actor("tokyo", "operator").await;
        allocation::confirm(app, &tokyo, id, "13").await.unwrap();
        let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
        let line = |code: &str| LineInput {
            org_code: code.into(),
            amount: 1,
            needles: None,
            syringes: None,
        };
        let lines: Vec<LineInput> = ["13101", "13102", "13103", "13104"]
            .into_iter()
            .map(line)
            .collect();
        allocation::save_division(app, &tokyo, id, "13", d.node.version, &lines, None)
            .await
            .unwrap();
        allocation::finish(app, &tokyo, id, "13").await.unwrap();
        // Three municipalities confirm: 東京都 gets one notice, listing them in order.
        let chiyoda = w.make_user("13101", "operator", "chiyoda@example.jp").await;
        let chuo = w.make_user("13102", "operator", "chuo@example.jp").await;
        let minato = w.actor("minato", "operator").await;
        for (who, code) in [(&chiyoda, "13101"), (&chuo, "13102"), (&minato, "13103")] {
            allocation::confirm(app, who, id, code).await.unwrap();
        }
        let confirmed = |list: &[vsys_store::notices::UserNotice]| {
            list.iter()
                .filter(|n| n.notice.title_ja.contains("確認済にしました"))
                .cloned()
                .collect::<Vec<_>>()
        };
        let (list, _) = notices::list(app, &tokyo, Page::first(50)).await.unwrap();
        let grouped = confirmed(&list);
        assert_eq!(grouped.len(), 1, "{grouped:?}");
        let n = &grouped[0].notice;
        assert!(n.title_ja.contains("3団体が確認済にしました"), "{n:?}");
        assert!(
            n.body_ja
                .contains("千代田区（13101）、中央区（13102）、港区（13103）"),
            "{n:?}"
        );
        assert!(n.title_en.contains("3 organisations"), "{n:?}");
        // The newest: the grouped notice moved to the top of the list.
        assert_eq!(list[0].notice.id, n.id);
        // 「すべて既読にする」: every unread notice of this user, once audited; others' stay.
        let unread = notices::unread(app, &tokyo).await.unwrap();
        assert!(unread >= 2, "{unread}");
        assert_eq!(
            notices::mark_all_read(app, &tokyo).await.unwrap(),
            unread as u64
        );
        assert_eq!(notices::unread(app, &tokyo).await.unwrap(), 0);
        assert_eq!(notices::mark_all_read(app, &tokyo).await.unwrap(), 0);
        let entries = w.audit("notice.read_all").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        let viewer = w.actor("tokyo", "viewer").await;
        assert_eq!(notices::unread(app, &viewer).await.unwrap(), unread);
        assert!(notices::unread(app, &minato).await.unwrap() > 0);
        // Once read, the next confirmation starts a new notice; the read one stays as it was.
        let shinjuku = w
            .make_user("13104", "operator", "shinjuku@example.jp")
            .await;
        allocation::confirm(app, &shinjuku, id, "13104")
            .await
            .unwrap();
        let (list, _) = notices::list(app, &tokyo, Page::first(50)).await.unwrap();
        let grouped = confirmed(&list);
        assert_eq!(grouped.len(), 2, "{grouped:?}");
        assert!(
            grouped[0]
                .notice
                .title_ja
                .contains("新宿区が確認済にしました")
                && grouped[0].read_at.is_none(),
            "{grouped:?}"
        );
        assert_eq!(grouped[1].notice, *n);
    }
);
