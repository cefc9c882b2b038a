#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! The repository conformance suite: every repository, on SQLite and on PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use vsys_store::orgs::{OrgFilter, OrgRow};
use vsys_store::users::UserRow;
use vsys_store::*;
use vsys_testkit::{Backend, TestDb, db_test, fresh_db};

// Repositories beyond the first ones, a module each (`conformance/*.rs`).
#[path = "conformance/accounts.rs"]
mod accounts;
#[path = "conformance/deliveries.rs"]
mod deliveries;
#[path = "conformance/fixture.rs"]
mod fixture;
#[path = "conformance/jobs_throttle.rs"]
mod jobs_throttle;
#[path = "conformance/limits.rs"]
mod limits;
#[path = "conformance/reminders.rs"]
mod reminders;
#[path = "conformance/results.rs"]
mod results;
#[path = "conformance/sites.rs"]
mod sites;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-04-01T09:00:00.123456+09:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

async fn migrated(backend: Backend) -> Option<TestDb> {
    fresh_db(backend, "store", |db| async move {
        migrate::run(&db, t0()).await?;
        Ok(())
    })
    .await
}

fn org(code: &str, kind: &str, parent: Option<&str>, path: &str) -> OrgRow {
    OrgRow {
        code: code.into(),
        kind: kind.to_owned().try_into().unwrap(),
        name: format!("組織{code}"),
        name_en: None,
        parent_code: parent.map(Into::into),
        path: path.into(),
        prefecture_code: None,
        population: Some(1000),
        lat: Some(35.5),
        lng: Some(139.7),
        created_at: t0(),
        updated_at: t0(),
        version: 0,
    }
}

fn user(id: &str, org: &str, email: &str) -> UserRow {
    UserRow {
        id: id.into(),
        org_code: org.into(),
        email: email.into(),
        name: "山田 花子".into(),
        role: "admin".to_owned().try_into().unwrap(),
        password_hash: "x".into(),
        must_change_password: true,
        totp_secret: None,
        totp_last_step: None,
        disabled: false,
        locked: false,
        last_login_at: None,
        created_at: t0(),
        updated_at: t0(),
        version: 0,
    }
}

async fn seed(db: &Db) {
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    orgs::insert_many(
        &mut tx,
        &[
            org("JP", "nation", None, "/JP/"),
            org("13", "prefecture", Some("JP"), "/JP/13/"),
            org("13103", "municipality", Some("13"), "/JP/13/13103/"),
            org("14", "prefecture", Some("JP"), "/JP/14/"),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
}

db_test!(migrations_are_idempotent, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    let again = migrate::run(&t.db, t0())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.is_empty());
    t.db.ping().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(orgs_round_trip_and_scope, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.read().await.unwrap_or_else(|e| panic!("{e}"));
    let got = orgs::get(&mut tx, "13103")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got,
        Some(org("13103", "municipality", Some("13"), "/JP/13/13103/"))
    );
    let f = OrgFilter {
        scope_path: "/JP/13/".into(),
        kinds: Vec::new(),
        ..Default::default()
    };
    let (rows, total) = orgs::list(&mut tx, &f, Page::first(50))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(total, 2);
    assert_eq!(
        rows.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        ["13", "13103"]
    );
    let f = OrgFilter {
        scope_path: "/JP/".into(),
        kinds: Vec::new(),
        q: Some("1310".into()),
        ..Default::default()
    };
    assert_eq!(
        orgs::list(&mut tx, &f, Page::first(50))
            .await
            .map(|r| r.1)
            .ok(),
        Some(1)
    );
    let (rows, total) = orgs::list(
        &mut tx,
        &OrgFilter {
            scope_path: "/JP/".into(),
            kinds: Vec::new(),
            ..Default::default()
        },
        Page {
            page: 2,
            per_page: 3,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((rows.len(), total), (1, 4));
    // Past the end: no rows, and still the count; nothing matching: zero.
    let everything = OrgFilter {
        scope_path: "/JP/".into(),
        ..Default::default()
    };
    let past = Page {
        page: 3,
        per_page: 3,
    };
    let (rows, total) = orgs::list(&mut tx, &everything, past)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((rows.len(), total), (0, 4));
    let nothing = OrgFilter {
        q: Some("該当なし".into()),
        ..everything
    };
    let (rows, total) = orgs::list(&mut tx, &nothing, Page::first(50))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((rows.len(), total), (0, 0));
});

db_test!(
    a_read_of_single_statements_sees_each_write_and_writes_nothing,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        seed(&t.db).await;
        let scope = OrgFilter {
            scope_path: "/JP/".into(),
            ..Default::default()
        };
        let mut each = t.db.read_each().await.unwrap_or_else(|e| panic!("{e}"));
        let total = |r: StoreResult<(Vec<OrgRow>, i64)>| r.map(|r| r.1).ok();
        assert_eq!(
            total(orgs::list(&mut each, &scope, Page::first(50)).await),
            Some(4)
        );
        // Writes are refused on it, and leave nothing behind.
        assert!(matches!(
            orgs::insert_many(&mut each, &[org("27", "prefecture", Some("JP"), "/JP/27/")]).await,
            Err(StoreError::Unsupported(_))
        ));
        assert!(matches!(
            coordination::bump(&mut each, coordination::REGISTRY).await,
            Err(StoreError::Unsupported(_))
        ));
        // Each statement sees what was committed before it began (no snapshot held).
        let mut w = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        orgs::insert_many(&mut w, &[org("27", "prefecture", Some("JP"), "/JP/27/")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            total(orgs::list(&mut each, &scope, Page::first(50)).await),
            Some(5)
        );
        each.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let mut tx = t.db.read().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            total(orgs::list(&mut tx, &scope, Page::first(50)).await),
            Some(5)
        );
    }
);

db_test!(users_unique_email_and_version_check, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    users::insert(&mut tx, &user("u1", "13", "a@example.jp"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let dup = users::insert(&mut tx, &user("u2", "13", "a@example.jp")).await;
    assert!(matches!(dup, Err(StoreError::Unique(_))), "{dup:?}");
    drop(tx);
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let u = users::get(&mut tx, "u1")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("missing"));
    assert_eq!(u, user("u1", "13", "a@example.jp"));
    let changed = users::update(
        &mut tx,
        &UserRow {
            name: "新".into(),
            ..u.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(changed.version, 1);
    let stale = users::update(
        &mut tx,
        &UserRow {
            name: "古".into(),
            ..u
        },
    )
    .await;
    assert!(matches!(stale, Err(StoreError::Conflict)));
    let (list, total) = users::list(&mut tx, "/JP/13/", None, Page::first(50))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((list.len(), total), (1, 1));
    let (_, other) = users::list(&mut tx, "/JP/14/", None, Page::first(50))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other, 0);
    assert!(orgs::has_admin(&mut tx, "13").await.unwrap_or(false));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(sessions_and_throttle, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    users::insert(&mut tx, &user("u1", "13", "a@example.jp"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = sessions::SessionRow {
        id_hash: "h1".into(),
        user_id: "u1".into(),
        kind: "web".into(),
        stage: "active".into(),
        csrf_token: "c".into(),
        ip: Some("127.0.0.1".into()),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(12),
    };
    sessions::insert(&mut tx, &s)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sessions::get(&mut tx, "h1").await.ok().flatten(),
        Some(s.clone())
    );
    sessions::touch(&mut tx, "h1", t0() + Duration::minutes(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Idle cut-off before the touch: kept. After it: purged.
    assert_eq!(sessions::purge(&mut tx, t0(), t0()).await.ok(), Some(0));
    assert_eq!(
        sessions::purge(&mut tx, t0(), t0() + Duration::minutes(6))
            .await
            .ok(),
        Some(1)
    );
    let r = throttle::ThrottleRow {
        key: "ip:1".into(),
        failures: 3,
        window_start: t0(),
        blocked_until: None,
    };
    throttle::put(&mut tx, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r2 = throttle::ThrottleRow {
        failures: 4,
        blocked_until: Some(t0()),
        ..r
    };
    throttle::put(&mut tx, &r2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        throttle::get(&mut tx, "ip:1").await.ok().flatten(),
        Some(r2)
    );
    throttle::clear(&mut tx, "ip:1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(throttle::get(&mut tx, "ip:1").await.ok().flatten(), None);
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(audit_chain_per_partition, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    for (i, p) in ["13", "13", "14", "13"].into_iter().enumerate() {
        audit::append(
            &mut tx,
            audit::NewEntry {
                partition: p.into(),
                at: t0() + Duration::nanoseconds(1_234_567 * i as i64),
                action: "test.write".into(),
                object_type: "thing".into(),
                object_id: i.to_string(),
                after: Some(format!("{{\"i\":{i}}}")),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let mut tx = t.db.read().await.unwrap_or_else(|e| panic!("{e}"));
    let heads = audit::heads(&mut tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        heads
            .iter()
            .map(|h| (h.0.as_str(), h.1))
            .collect::<Vec<_>>(),
        [("13", 3), ("14", 1)]
    );
    let entries = audit::partition_entries(&mut tx, "13", 0, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let texts: Vec<String> = entries
        .iter()
        .map(|e| vsys_domain::audit::canonical_time(e.at))
        .collect();
    let breaks = vsys_domain::audit::verify_partition(
        "13",
        entries
            .iter()
            .zip(&texts)
            .map(|(e, t)| (e.content(t), e.hash.as_str())),
        Some((heads[0].1, &heads[0].2)),
    );
    assert!(breaks.is_empty(), "{breaks:?}");
    let (found, total) = audit::search(
        &mut tx,
        &audit::AuditFilter {
            partition: Some("13".into()),
            ..Default::default()
        },
        Page::first(50),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((found.len(), total), (3, 3));
});

/// A reader of a prefecture (2 digits) or a municipality (5 digits) of the seed.
fn reader<'a>(
    org: &'a str,
    user: &'a str,
    now: chrono::DateTime<chrono::Utc>,
) -> notices::Reader<'a> {
    let (kind, path) = if org.len() == 2 {
        (vsys_domain::OrgKind::Prefecture, format!("/JP/{org}/"))
    } else {
        (
            vsys_domain::OrgKind::Municipality,
            format!("/JP/{}/{org}/", &org[..2]),
        )
    };
    notices::Reader {
        org_code: org,
        user_id: user,
        kind,
        path: Box::leak(path.into_boxed_str()),
        now,
    }
}

db_test!(notices_read_state, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    users::insert(&mut tx, &user("u1", "13", "a@example.jp"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    users::insert(&mut tx, &user("u2", "13", "b@example.jp"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (id, to_user) in [("n1", None), ("n2", Some("u2"))] {
        notices::insert(
            &mut tx,
            &notices::NoticeRow {
                id: id.into(),
                org_code: "13".into(),
                user_id: to_user.map(Into::into),
                category: "info".into(),
                title_ja: "お知らせ".into(),
                title_en: "Notice".into(),
                body_ja: "本文".into(),
                body_en: "Body".into(),
                link: None,
                created_at: t0(),
                created_by: None,
                audience: vsys_domain::notice::Audience::Staff,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        notices::unread_count(&mut tx, &reader("13", "u1", t0()))
            .await
            .ok(),
        Some(1)
    );
    assert_eq!(
        notices::unread_count(&mut tx, &reader("13", "u2", t0()))
            .await
            .ok(),
        Some(2)
    );
    assert_eq!(
        notices::mark_read(&mut tx, "n1", "u2", t0()).await.ok(),
        Some(true)
    );
    assert_eq!(
        notices::mark_read(&mut tx, "n1", "u2", t0()).await.ok(),
        Some(false)
    );
    let (list, total) = notices::list_for_user(&mut tx, &reader("13", "u2", t0()), Page::first(50))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(total, 2);
    assert_eq!(list.iter().filter(|n| n.read_at.is_some()).count(), 1);
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(notice_groups_and_mark_all_read, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    for (id, org, email) in [
        ("u1", "13", "a@example.jp"),
        ("u2", "13", "b@example.jp"),
        ("u3", "13103", "c@example.jp"),
    ] {
        users::insert(&mut tx, &user(id, org, email))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let notice = |id: &str, org: &str, to_user: Option<&str>| notices::NoticeRow {
        id: id.into(),
        org_code: org.into(),
        user_id: to_user.map(Into::into),
        category: "allocation".into(),
        title_ja: "お知らせ".into(),
        title_en: "Notice".into(),
        body_ja: "本文".into(),
        body_en: "Body".into(),
        link: None,
        created_at: t0(),
        created_by: None,
        audience: vsys_domain::notice::Audience::Staff,
    };
    // A group starts, is found while unread, and is rewritten with its items.
    assert_eq!(
        notices::open_group(&mut tx, "13", "k").await.ok(),
        Some(None)
    );
    notices::insert_group(&mut tx, &notice("g1", "13", None), "k", &["港区".into()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let g = notices::open_group(&mut tx, "13", "k")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("open group"));
    assert_eq!((g.notice.id.as_str(), g.items.len()), ("g1", 1));
    assert_eq!(
        notices::open_group(&mut tx, "13103", "k").await.ok(),
        Some(None)
    );
    assert_eq!(
        notices::open_group(&mut tx, "13", "other").await.ok(),
        Some(None)
    );
    let later = t0() + chrono::Duration::minutes(5);
    let rewritten = notices::NoticeRow {
        title_ja: "2団体".into(),
        created_at: later,
        ..g.notice.clone()
    };
    let items = vec!["港区".to_owned(), "新宿区".to_owned()];
    notices::update_group(&mut tx, &rewritten, &items)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let g = notices::open_group(&mut tx, "13", "k")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("open group"));
    assert_eq!((g.notice, g.items), (rewritten, items));
    // Mark all read: the user's own (its organisation's and its own), in one statement.
    for n in [
        notice("n1", "13", None),
        notice("n2", "13", Some("u1")),
        notice("n3", "13", Some("u2")),
        notice("n4", "13103", None),
    ] {
        notices::insert(&mut tx, &n)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    notices::mark_read(&mut tx, "n1", "u1", t0())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        notices::mark_all_read(&mut tx, &reader("13", "u1", later))
            .await
            .ok(),
        Some(2),
        "g1 and n2 (n1 was read, n3 is u2's, n4 another organisation's)"
    );
    assert_eq!(
        notices::unread_count(&mut tx, &reader("13", "u1", t0()))
            .await
            .ok(),
        Some(0)
    );
    assert_eq!(
        notices::unread_count(&mut tx, &reader("13", "u2", t0()))
            .await
            .ok(),
        Some(3)
    );
    assert_eq!(
        notices::unread_count(&mut tx, &reader("13103", "u3", t0()))
            .await
            .ok(),
        Some(1)
    );
    assert_eq!(
        notices::mark_all_read(&mut tx, &reader("13", "u1", later))
            .await
            .ok(),
        Some(0)
    );
    // Read by someone, the group is closed: the next event starts a new one.
    assert_eq!(
        notices::open_group(&mut tx, "13", "k").await.ok(),
        Some(None)
    );
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(outbox_lease, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let id = outbox::enqueue(&mut tx, "a@example.jp", "件名", "本文", t0())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lease = t0() + Duration::minutes(5);
    let got = outbox::claim(&mut tx, "w1", t0(), lease)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.map(|m| m.id), Some(id.clone()));
    assert!(
        outbox::claim(&mut tx, "w2", t0(), lease)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    assert!(
        !outbox::mark_sent(&mut tx, &id, "w2", t0())
            .await
            .unwrap_or(true)
    );
    outbox::mark_failed(&mut tx, &id, "w1", "451", t0() + Duration::seconds(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        outbox::claim(&mut tx, "w2", t0(), lease)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let again = outbox::claim(&mut tx, "w2", t0() + Duration::seconds(31), lease)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.as_ref().map(|m| m.attempts), Some(1));
    assert!(
        outbox::mark_sent(&mut tx, &id, "w2", t0())
            .await
            .unwrap_or(false)
    );
    assert_eq!(outbox::counts(&mut tx).await.ok(), Some((0, 1)));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(postal_codes, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    master::insert_postal_codes(
        &mut tx,
        &[
            ("1050011".into(), "13103".into()),
            ("1050011".into(), "13104".into()),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        master::municipalities_of(&mut tx, "1050011").await.ok(),
        Some(vec!["13103".into(), "13104".into()])
    );
    assert_eq!(master::postal_count(&mut tx).await.ok(), Some(2));
});

db_test!(org_areas_codes_and_admins, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    orgs::insert_many(
        &mut tx,
        &[
            org("W13001", "wholesaler", Some("13"), "/JP/13/W13001/"),
            org(
                "9131030001",
                "site",
                Some("13103"),
                "/JP/13/13103/9131030001/",
            ),
            org(
                "9131030002",
                "site",
                Some("13103"),
                "/JP/13/13103/9131030002/",
            ),
            org(
                "91310300021",
                "site",
                Some("13103"),
                "/JP/13/13103/91310300021/",
            ),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    orgs::add_area(&mut tx, "W13001", "13103")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        orgs::areas(&mut tx, "W13001").await.ok(),
        Some(vec!["13103".to_owned()])
    );
    // The highest code of a prefix and length (a longer code with the same prefix is ignored).
    assert_eq!(
        orgs::max_code_with_prefix(&mut tx, "913103", 10)
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("9131030002")
    );
    assert_eq!(
        orgs::max_code_with_prefix(&mut tx, "914", 10)
            .await
            .ok()
            .flatten(),
        None
    );
    // LIKE patterns treat `_` and `%` in a search literally.
    let f = OrgFilter {
        scope_path: "/JP/".into(),
        kinds: Vec::new(),
        q: Some("組織_".into()),
        ..Default::default()
    };
    assert_eq!(
        orgs::list(&mut tx, &f, Page::first(50))
            .await
            .map(|r| r.1)
            .ok(),
        Some(0)
    );
    assert!(!orgs::has_admin(&mut tx, "13103").await.unwrap_or(true));
    users::insert(
        &mut tx,
        &UserRow {
            role: "viewer".to_owned().try_into().unwrap(),
            ..user("u9", "13103", "v@example.jp")
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!orgs::has_admin(&mut tx, "13103").await.unwrap_or(true));
    assert_eq!(users::count(&mut tx).await.ok(), Some(1));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(products_cycles_and_allocation_nodes, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    orgs::insert_many(
        &mut tx,
        &[org("M001", "manufacturer", Some("JP"), "/JP/M001/")],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let p = products::ProductRow {
        id: "p1".into(),
        kind: "vaccine".to_owned().try_into().unwrap(),
        owner_code: "M001".into(),
        name: "コミナティ".into(),
        spec: None,
        storage_class: Some("ultra_cold".into()),
        days_after_thaw: Some(30),
        needs_dry_ice: true,
        units_per_pack: None,
        created_at: t0(),
        updated_at: t0(),
        version: 0,
    };
    products::insert(&mut tx, &p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        products::get(&mut tx, "p1").await.ok().flatten(),
        Some(p.clone())
    );
    let changed = products::update(
        &mut tx,
        &products::ProductRow {
            name: "改名".into(),
            ..p.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(changed.version, 1);
    assert!(matches!(
        products::update(&mut tx, &p).await,
        Err(StoreError::Conflict)
    ));
    // A vial-size change from cycle 5 on leaves cycles 1–4 as they were.
    for (from, d) in [(1, 5), (5, 6)] {
        products::put_presentation(
            &mut tx,
            &products::PresentationRow {
                product_id: "p1".into(),
                from_cycle: from,
                doses_per_vial: d,
                vials_per_box: 195,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        products::presentation_for(&mut tx, "p1", 4)
            .await
            .ok()
            .flatten()
            .map(|p| p.doses_per_vial),
        Some(5)
    );
    assert_eq!(
        products::presentation_for(&mut tx, "p1", 9)
            .await
            .ok()
            .flatten()
            .map(|p| p.doses_per_vial),
        Some(6)
    );
    assert_eq!(
        products::presentations(&mut tx, "p1")
            .await
            .map(|v| v.len())
            .ok(),
        Some(2)
    );
    assert_eq!(
        products::list(&mut tx, Some("vaccine"))
            .await
            .map(|v| v.len())
            .ok(),
        Some(1)
    );
    // Supply rules: created once, then versioned.
    assert_eq!(products::rules(&mut tx).await.ok().flatten(), None);
    let r = products::SupplyRulesRow {
        id: "current".into(),
        needles_per_dose_milli: 1000,
        syringes_per_dose_milli: 1000,
        pack_rounding: "up".into(),
        dry_ice_grams_ultra_cold: 1,
        dry_ice_grams_frozen: 1,
        updated_at: t0(),
        version: 0,
    };
    products::put_rules(&mut tx, &r, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(products::put_rules(&mut tx, &r, Some(5)).await.is_err());
    assert_eq!(
        products::put_rules(&mut tx, &r, Some(0))
            .await
            .map(|r| r.version)
            .ok(),
        Some(1)
    );
    // A cycle, its supply, and nodes.
    let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    let c = cycles::CycleRow {
        id: "c1".into(),
        number: 10,
        name: "コミナティ_クール010".into(),
        vaccine_id: "p1".into(),
        needle_id: None,
        syringe_id: None,
        period_start: d,
        period_end: d + chrono::Duration::days(13),
        deadline_prefecture: d,
        deadline_municipality: d,
        deadline_site: d,
        chain: "standard".to_owned().try_into().unwrap(),
        doses_per_vial: 6,
        vials_per_box: 195,
        unit_site: "vial".to_owned().try_into().unwrap(),
        formulas: Default::default(),
        created_at: t0(),
        updated_at: t0(),
        version: 0,
    };
    cycles::insert(&mut tx, &c)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cycles::get(&mut tx, "c1").await.ok().flatten(),
        Some(c.clone())
    );
    assert_eq!(
        cycles::update_formulas(&mut tx, "c1", 0, "{\"x\":1}", t0())
            .await
            .ok(),
        Some(1)
    );
    assert!(matches!(
        cycles::update_formulas(&mut tx, "c1", 0, "{}", t0()).await,
        Err(StoreError::Conflict)
    ));
    let s = cycles::SupplyRow {
        cycle_id: "c1".into(),
        supplier_code: "M001".into(),
        product_id: "p1".into(),
        quantity: 10,
        updated_at: t0(),
    };
    cycles::put_supply(&mut tx, &s)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    cycles::put_supply(&mut tx, &cycles::SupplyRow { quantity: 12, ..s })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cycles::supply(&mut tx, "c1")
            .await
            .ok()
            .map(|v| v.iter().map(|s| s.quantity).collect::<Vec<_>>()),
        Some(vec![12])
    );
    let node =
        |id: &str, org: &str, parent: Option<&str>, level: &str, path: &str| allocations::NodeRow {
            id: id.into(),
            cycle_id: "c1".into(),
            org_code: org.into(),
            parent_id: parent.map(Into::into),
            level: level.to_owned().try_into().unwrap(),
            path: path.into(),
            vials: 1950,
            needles: 0,
            syringes: 0,
            status: "unconfirmed".to_owned().try_into().unwrap(),
            released: false,
            explanation: None,
            updated_at: t0(),
            updated_by: None,
            version: 0,
        };
    allocations::insert_many(
        &mut tx,
        &[
            node("n0", "JP", None, "nation", "/JP/"),
            node("n1", "13", Some("n0"), "prefecture", "/JP/13/"),
            node("n2", "13103", Some("n1"), "municipality", "/JP/13/13103/"),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    // One node per organisation and cycle. (A failed statement ends a PostgreSQL transaction,
    // so the duplicate is tried in a transaction of its own.)
    let mut dup = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        allocations::insert(
            &mut dup,
            &node("dup", "13", Some("n0"), "prefecture", "/JP/13/")
        )
        .await,
        Err(StoreError::Unique(_))
    ));
    drop(dup);
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        allocations::by_org(&mut tx, "c1", "13")
            .await
            .ok()
            .flatten()
            .map(|n| n.id),
        Some("n1".into())
    );
    assert_eq!(
        allocations::children(&mut tx, "n0")
            .await
            .map(|v| v.len())
            .ok(),
        Some(1)
    );
    assert_eq!(
        allocations::subtree(&mut tx, "c1", "/JP/13/")
            .await
            .map(|v| v.len())
            .ok(),
        Some(2)
    );
    assert_eq!(
        allocations::claim(&mut tx, "n1", 0, t0(), Some("u"))
            .await
            .ok(),
        Some(1)
    );
    assert!(matches!(
        allocations::claim(&mut tx, "n1", 0, t0(), None).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        allocations::set_status_under(&mut tx, "c1", "/JP/13/", "final", t0())
            .await
            .ok(),
        Some(2)
    );
    assert_eq!(
        allocations::get(&mut tx, "n2")
            .await
            .ok()
            .flatten()
            .map(|n| n.status),
        Some(vsys_domain::Status::Final)
    );
    assert_eq!(
        allocations::for_org(&mut tx, "13103")
            .await
            .map(|v| v.len())
            .ok(),
        Some(1)
    );
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
});

db_test!(
    audit_append_many_chains_each_partition,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        let e = |p: &str, i: i64| audit::NewEntry {
            partition: p.into(),
            at: t0(),
            action: "bulk".into(),
            object_type: "x".into(),
            object_id: i.to_string(),
            ..Default::default()
        };
        audit::append(&mut tx, e("13", 0))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = audit::append_many(
            &mut tx,
            (1..=500)
                .map(|i| e(if i % 2 == 0 { "13" } else { "14" }, i))
                .collect(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 500);
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let mut tx = t.db.read().await.unwrap_or_else(|e| panic!("{e}"));
        let heads = audit::heads(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            heads
                .iter()
                .map(|h| (h.0.as_str(), h.1))
                .collect::<Vec<_>>(),
            [("13", 251), ("14", 250)]
        );
        for (p, seq, hash) in &heads {
            let entries = audit::partition_entries(&mut tx, p, 0, 1000)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let texts: Vec<String> = entries
                .iter()
                .map(|e| vsys_domain::audit::canonical_time(e.at))
                .collect();
            let breaks = vsys_domain::audit::verify_partition(
                p,
                entries
                    .iter()
                    .zip(&texts)
                    .map(|(e, t)| (e.content(t), e.hash.as_str())),
                Some((*seq, hash)),
            );
            assert!(breaks.is_empty(), "{breaks:?}");
        }
    }
);

db_test!(site_requests_versioned, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    orgs::insert_many(
        &mut tx,
        &[
            org("M001", "manufacturer", Some("JP"), "/JP/M001/"),
            org(
                "1310000001",
                "institution",
                Some("13103"),
                "/JP/13/13103/1310000001/",
            ),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let now = t0();
    let p = products::ProductRow {
        id: "p1".into(),
        kind: "vaccine".to_owned().try_into().unwrap(),
        owner_code: "M001".into(),
        name: "v".into(),
        spec: None,
        storage_class: Some("frozen".into()),
        days_after_thaw: None,
        needs_dry_ice: false,
        units_per_pack: None,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    products::insert(&mut tx, &p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let d = now.date_naive();
    let c = cycles::CycleRow {
        id: "c1".into(),
        number: 1,
        name: "c1".into(),
        vaccine_id: "p1".into(),
        needle_id: None,
        syringe_id: None,
        period_start: d,
        period_end: d,
        deadline_prefecture: d,
        deadline_municipality: d,
        deadline_site: d,
        chain: "standard".to_owned().try_into().unwrap(),
        doses_per_vial: 10,
        vials_per_box: 10,
        unit_site: "vial".to_owned().try_into().unwrap(),
        formulas: Default::default(),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    cycles::insert(&mut tx, &c)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = requests::RequestRow {
        cycle_id: "c1".into(),
        org_code: "1310000001".into(),
        capacity_doses: 100,
        requested_doses: 60,
        storage: "freezer".into(),
        needles: 60,
        syringes: 60,
        updated_at: now,
        updated_by: None,
        version: 0,
    };
    assert_eq!(
        requests::put(&mut tx, &r, None)
            .await
            .map(|r| r.version)
            .ok(),
        Some(0)
    );
    assert!(matches!(
        requests::put(&mut tx, &r, None).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        requests::put(
            &mut tx,
            &requests::RequestRow {
                requested_doses: 80,
                ..r.clone()
            },
            Some(0)
        )
        .await
        .map(|r| r.version)
        .ok(),
        Some(1)
    );
    assert!(matches!(
        requests::put(&mut tx, &r, Some(0)).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        requests::get(&mut tx, "c1", "1310000001")
            .await
            .ok()
            .flatten()
            .map(|r| r.requested_doses),
        Some(80)
    );
    let got = requests::for_orgs(&mut tx, "c1", &["1310000001".into(), "x".into()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.len(), 1);
    assert!(
        requests::for_orgs(&mut tx, "c1", &[])
            .await
            .map(|v| v.is_empty())
            .unwrap_or(false)
    );
});

db_test!(stock_ledger_sums_and_corrections, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    let mut tx = t.db.begin().await.unwrap();
    orgs::insert_many(
        &mut tx,
        &[
            org("JP", "nation", None, "/JP/"),
            org("13", "prefecture", Some("JP"), "/JP/13/"),
            org("13103", "municipality", Some("13"), "/JP/13/13103/"),
            org(
                "1310000001",
                "institution",
                Some("13103"),
                "/JP/13/13103/1310000001/",
            ),
        ],
    )
    .await
    .unwrap();
    let entry = |id: &str, kind: &str, vials: i64, reverses: Option<&str>| ledger::LedgerRow {
        id: id.into(),
        org_code: "1310000001".into(),
        lot: "FA0001".into(),
        cycle_id: None,
        kind: kind.to_owned().try_into().unwrap(),
        vials,
        doses: vials * 6,
        doses_per_vial: 6,
        reason: None,
        note: None,
        reference: Some("r".into()),
        reverses: reverses.map(Into::into),
        at: t0(),
        by: None,
    };
    ledger::append(
        &mut tx,
        &[
            entry("a", "delivered", 10, None),
            entry("b", "delivered", 5, None),
            entry("c", "administered", -2, None),
            entry("d", "correction", -5, Some("b")),
        ],
    )
    .await
    .unwrap();
    let codes = vec!["1310000001".to_string()];
    assert_eq!(
        ledger::doses_by_org(&mut tx, &codes).await.unwrap(),
        vec![("1310000001".to_string(), 48)]
    );
    // Received: both deliveries, less the one corrected away; not what was given.
    assert_eq!(
        ledger::received_by_org(&mut tx, &codes).await.unwrap(),
        vec![("1310000001".to_string(), 60)]
    );
    // An entry is reversed once at most.
    let twice = ledger::append(&mut tx, &[entry("e", "correction", -5, Some("b"))]).await;
    assert!(twice.is_err());
});
