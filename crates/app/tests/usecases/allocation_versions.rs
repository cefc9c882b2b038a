//! A status change returns the node as stored: its version is the one the next change must
//! name (the API hands it to clients as the ETag), so confirming and then auto-filling with
//! the version confirm returned succeeds.

use crate::common::*;
use vsys_testkit::db_test;

db_test!(
    status_changes_return_the_stored_version,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let cycle = w.cycle_with_supply(31).await;
        let id = cycle.id.as_str();
        let nation = w.actor("nation", "operator").await;
        let v = w.version(&nation, id, "JP").await;
        let filled = vsys_app::allocation::apply_autofill(app, &nation, id, "JP", v, None)
            .await
            .unwrap();
        assert_eq!(filled.version, w.version(&nation, id, "JP").await);
        let finished = vsys_app::allocation::finish(app, &nation, id, "JP")
            .await
            .unwrap();
        assert_eq!(finished.version, w.version(&nation, id, "JP").await);
        let tokyo = w.actor("tokyo", "operator").await;
        let confirmed = vsys_app::allocation::confirm(app, &tokyo, id, "13")
            .await
            .unwrap();
        assert_eq!(confirmed.version, w.version(&tokyo, id, "13").await);
        // The version confirm returned is the one the next change names.
        vsys_app::allocation::apply_autofill(app, &tokyo, id, "13", confirmed.version, None)
            .await
            .unwrap();
        let finished = vsys_app::allocation::finish(app, &tokyo, id, "13")
            .await
            .unwrap();
        assert_eq!(finished.version, w.version(&tokyo, id, "13").await);
        // Sending a child back returns it as stored too.
        let back = vsys_app::allocation::send_back(app, &nation, id, "13")
            .await
            .unwrap();
        assert_eq!(back.version, w.version(&tokyo, id, "13").await);
    }
);
