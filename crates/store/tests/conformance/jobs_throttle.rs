//! `store::jobs` (a background job's progress and end, and retention) and the rest of
//! `store::throttle` (clearing one account's per-address counters, retention).

use super::{migrated, t0};
use chrono::Duration;
use vsys_store::jobs::{self, JobRow};
use vsys_store::throttle::{self, ThrottleRow};
use vsys_testkit::db_test;

fn job(id: &str, minutes: i64) -> JobRow {
    let at = t0() + Duration::minutes(minutes);
    JobRow {
        id: id.into(),
        kind: "site_import".into(),
        user_id: "u1".into(),
        org_code: "JP".into(),
        phase: "reading".into(),
        done: 0,
        total: 0,
        outcome: None,
        error_ja: None,
        error_en: None,
        started_at: at,
        updated_at: at,
        finished_at: None,
    }
}

db_test!(jobs_progress_finish_and_purge, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    let mut tx = t.db.begin().await.unwrap();
    for j in [job("j1", 0), job("j2", 0), job("old", -48 * 60)] {
        jobs::insert(&mut tx, &j).await.unwrap();
    }
    assert_eq!(jobs::get(&mut tx, "j1").await.unwrap(), Some(job("j1", 0)));
    assert_eq!(jobs::get(&mut tx, "nope").await.unwrap(), None);
    let at = t0() + Duration::seconds(1);
    jobs::progress(&mut tx, "j1", "checking", 500, 1000, at)
        .await
        .unwrap();
    assert_eq!(
        jobs::get(&mut tx, "j1").await.unwrap(),
        Some(JobRow {
            phase: "checking".into(),
            done: 500,
            total: 1000,
            updated_at: at,
            ..job("j1", 0)
        })
    );
    let end = t0() + Duration::seconds(2);
    jobs::finish(&mut tx, "j1", "done", Some(r#"{"rows":1000}"#), None, end)
        .await
        .unwrap();
    // A late progress report never overwrites the end.
    jobs::progress(
        &mut tx,
        "j1",
        "writing",
        900,
        1000,
        end + Duration::seconds(1),
    )
    .await
    .unwrap();
    let finished = JobRow {
        phase: "done".into(),
        done: 500,
        total: 1000,
        outcome: Some(r#"{"rows":1000}"#.into()),
        updated_at: end,
        finished_at: Some(end),
        ..job("j1", 0)
    };
    assert_eq!(
        jobs::get(&mut tx, "j1").await.unwrap(),
        Some(finished.clone())
    );
    // A failure keeps its reason in both languages.
    jobs::finish(&mut tx, "j2", "failed", None, Some(("3行目", "row 3")), end)
        .await
        .unwrap();
    let failed = jobs::get(&mut tx, "j2").await.unwrap().unwrap();
    assert_eq!(
        (
            failed.phase.as_str(),
            failed.outcome,
            failed.error_ja.as_deref(),
            failed.error_en.as_deref(),
            failed.finished_at
        ),
        ("failed", None, Some("3行目"), Some("row 3"), Some(end))
    );
    // Retention: jobs that have not moved since the cut-off go.
    assert_eq!(
        jobs::purge(&mut tx, t0() - Duration::hours(24))
            .await
            .unwrap(),
        1
    );
    assert_eq!(jobs::get(&mut tx, "old").await.unwrap(), None);
    assert_eq!(jobs::get(&mut tx, "j1").await.unwrap(), Some(finished));
    tx.commit().await.unwrap();
});

fn counter(key: &str, minutes: i64, blocked_for: Option<i64>) -> ThrottleRow {
    let start = t0() + Duration::minutes(minutes);
    ThrottleRow {
        key: key.into(),
        failures: 2,
        window_start: start,
        blocked_until: blocked_for.map(|m| start + Duration::minutes(m)),
    }
}

/// The keys among `rows` that are stored.
async fn present(tx: &mut vsys_store::Tx, rows: &[ThrottleRow]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        if throttle::get(tx, &r.key).await.unwrap().is_some() {
            out.push(r.key.clone());
        }
    }
    out
}

db_test!(throttle_prefixes_and_retention, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    let mut tx = t.db.begin().await.unwrap();
    let keys = [
        counter("acct:a_b@example.jp", 0, None),
        counter("pair:a_b@example.jp|192.0.2.1", 0, None),
        counter("pair:a_b@example.jp|192.0.2.2", 0, Some(30)),
        // `_` and `%` in a prefix are literal: these belong to other accounts.
        counter("pair:axb@example.jp|192.0.2.1", 0, None),
        counter("pair:a_b@example.jpx|192.0.2.1", 0, None),
        counter("ip:192.0.2.1", 0, None),
    ];
    for k in &keys {
        throttle::put(&mut tx, k).await.unwrap();
    }
    for k in &keys {
        assert_eq!(
            throttle::get(&mut tx, &k.key).await.unwrap().as_ref(),
            Some(k)
        );
    }
    assert_eq!(
        throttle::clear_prefix(&mut tx, "pair:a_b@example.jp|")
            .await
            .unwrap(),
        2
    );
    assert_eq!(throttle::clear_prefix(&mut tx, "pair:%").await.unwrap(), 0);
    assert_eq!(
        present(&mut tx, &keys).await,
        [
            "acct:a_b@example.jp",
            "pair:axb@example.jp|192.0.2.1",
            "pair:a_b@example.jpx|192.0.2.1",
            "ip:192.0.2.1"
        ]
    );
    throttle::clear(&mut tx, "acct:a_b@example.jp")
        .await
        .unwrap();
    // Clearing what is not there is no error.
    throttle::clear(&mut tx, "acct:a_b@example.jp")
        .await
        .unwrap();

    // Retention: counters quiet since the cut-off go, unless still blocked after it.
    for k in [
        counter("old", -60, None),
        counter("old-block-over", -60, Some(10)),
        counter("old-still-blocked", -60, Some(120)),
        counter("fresh", 0, None),
    ] {
        throttle::put(&mut tx, &k).await.unwrap();
    }
    let cutoff = t0() - Duration::minutes(15);
    assert_eq!(throttle::purge(&mut tx, cutoff).await.unwrap(), 2);
    for (key, kept) in [
        ("old", false),
        ("old-block-over", false),
        ("old-still-blocked", true),
        ("fresh", true),
    ] {
        assert_eq!(
            throttle::get(&mut tx, key).await.unwrap().is_some(),
            kept,
            "{key}"
        );
    }
    tx.commit().await.unwrap();
});
