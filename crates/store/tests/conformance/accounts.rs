//! The rest of `store::orgs`, `store::users`, `store::sessions` and `store::notices`: versioned
//! organisation updates and the registry's upsert, areas replaced, logins and TOTP steps,
//! login stages, ending a user's sessions, one notice.

use super::{migrated, org, seed, t0, user};
use chrono::Duration;
use vsys_store::orgs::OrgRow;
use vsys_store::*;
use vsys_testkit::db_test;

db_test!(
    orgs_versioned_update_upsert_and_areas,
    |backend| async move {
        let Some(t) = migrated(backend).await else {
            return;
        };
        seed(&t.db).await;
        let mut tx = t.db.begin().await.unwrap();
        let before = orgs::count(&mut tx).await.unwrap();
        let mut site = org(
            "1310000001",
            "institution",
            Some("13103"),
            "/JP/13/13103/1310000001/",
        );
        orgs::insert_many(&mut tx, std::slice::from_ref(&site))
            .await
            .unwrap();
        // A versioned rename: the stale writer loses.
        let renamed = OrgRow {
            name: "改名クリニック".into(),
            updated_at: t0() + Duration::hours(1),
            version: 1,
            ..site.clone()
        };
        orgs::update(&mut tx, &renamed, 0).await.unwrap();
        assert!(matches!(
            orgs::update(
                &mut tx,
                &OrgRow {
                    version: 1,
                    ..site.clone()
                },
                0
            )
            .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            orgs::get(&mut tx, &site.code).await.unwrap(),
            Some(renamed.clone())
        );
        // The registry import's upsert: a known code is replaced (moved, renamed), a new one added.
        site = OrgRow {
            name: "移転クリニック".into(),
            parent_code: Some("13".into()),
            path: "/JP/13/1310000001/".into(),
            version: 2,
            ..renamed
        };
        let new = org(
            "1310000002",
            "institution",
            Some("13103"),
            "/JP/13/13103/1310000002/",
        );
        orgs::upsert_many(&mut tx, &[site.clone(), new.clone()])
            .await
            .unwrap();
        assert_eq!(orgs::count(&mut tx).await.unwrap(), before + 2);
        let mut got = orgs::get_many(
            &mut tx,
            &[
                "1310000002".into(),
                "1310000001".into(),
                "1399999999".into(),
            ],
        )
        .await
        .unwrap();
        got.sort_by(|a, b| a.code.cmp(&b.code));
        assert_eq!(got, vec![site, new]);
        assert!(orgs::get_many(&mut tx, &[]).await.unwrap().is_empty());

        // Areas are replaced as a whole.
        orgs::insert_many(
            &mut tx,
            &[
                org("W13001", "wholesaler", Some("13"), "/JP/13/W13001/"),
                org("13104", "municipality", Some("13"), "/JP/13/13104/"),
            ],
        )
        .await
        .unwrap();
        orgs::set_areas(&mut tx, "W13001", &["13103".into(), "13104".into()])
            .await
            .unwrap();
        assert_eq!(
            orgs::areas(&mut tx, "W13001").await.unwrap(),
            ["13103", "13104"]
        );
        orgs::set_areas(&mut tx, "W13001", &["13104".into()])
            .await
            .unwrap();
        assert_eq!(orgs::areas(&mut tx, "W13001").await.unwrap(), ["13104"]);
        orgs::set_areas(&mut tx, "W13001", &[]).await.unwrap();
        assert!(orgs::areas(&mut tx, "W13001").await.unwrap().is_empty());
        tx.commit().await.unwrap();
    }
);

db_test!(users_logins_totp_steps_and_sessions, |backend| async move {
    let Some(t) = migrated(backend).await else {
        return;
    };
    seed(&t.db).await;
    let mut tx = t.db.begin().await.unwrap();
    let mut a = user("u1", "13", "a@example.jp");
    a.must_change_password = false;
    users::insert(&mut tx, &a).await.unwrap();
    users::insert(
        &mut tx,
        &users::UserRow {
            disabled: true,
            ..user("u2", "13103", "b@example.jp")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        users::by_email(&mut tx, "a@example.jp").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        users::by_email(&mut tx, "x@example.jp").await.unwrap(),
        None
    );
    let mut names = users::names(&mut tx, &["u2", "u1", "nope"]).await.unwrap();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("u1".into(), "山田 花子".into()),
            ("u2".into(), "山田 花子".into())
        ]
    );
    assert!(users::names(&mut tx, &[]).await.unwrap().is_empty());
    // Organisations of some kinds with an enabled user (who can read a notice).
    assert_eq!(
        users::org_codes_of_kinds(&mut tx, &["prefecture", "municipality"])
            .await
            .unwrap(),
        ["13"]
    );
    let at = t0() + Duration::hours(1);
    users::record_login(&mut tx, "u1", at).await.unwrap();
    assert_eq!(
        users::get(&mut tx, "u1")
            .await
            .unwrap()
            .unwrap()
            .last_login_at,
        Some(at)
    );
    // TOTP: enrolled once; each time step used once, and never an older one.
    assert!(
        users::enrol_totp(&mut tx, "u1", "sealed-1", 100, at)
            .await
            .unwrap()
    );
    assert!(
        !users::enrol_totp(&mut tx, "u1", "sealed-2", 100, at)
            .await
            .unwrap()
    );
    assert_eq!(
        users::totp_secrets(&mut tx).await.unwrap(),
        vec![("u1".into(), "sealed-1".into())]
    );
    assert!(!users::claim_totp_step(&mut tx, "u1", 100).await.unwrap());
    assert!(users::claim_totp_step(&mut tx, "u1", 101).await.unwrap());
    assert!(!users::claim_totp_step(&mut tx, "u1", 99).await.unwrap());
    assert!(
        !users::reseal_totp(&mut tx, "u1", "other", "sealed-3")
            .await
            .unwrap()
    );
    assert!(
        users::reseal_totp(&mut tx, "u1", "sealed-1", "sealed-3")
            .await
            .unwrap()
    );
    let u = users::get(&mut tx, "u1").await.unwrap().unwrap();
    assert_eq!(
        (u.totp_secret.as_deref(), u.totp_last_step, u.version),
        (Some("sealed-3"), Some(101), 1)
    );

    // Sessions: a login stage is left once, and only from itself; a user's sessions end
    // together, but for the one kept.
    let session = |hash: &str, stage: &str| sessions::SessionRow {
        id_hash: hash.into(),
        user_id: "u1".into(),
        kind: "web".into(),
        stage: stage.into(),
        csrf_token: "c".into(),
        ip: None,
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(12),
    };
    for s in [
        session("s1", "totp"),
        session("s2", "active"),
        session("s3", "active"),
    ] {
        sessions::insert(&mut tx, &s).await.unwrap();
    }
    assert!(
        sessions::advance_stage(&mut tx, "s1", "totp", "active")
            .await
            .unwrap()
    );
    assert!(
        !sessions::advance_stage(&mut tx, "s1", "totp", "active")
            .await
            .unwrap()
    );
    assert_eq!(
        sessions::get(&mut tx, "s1").await.unwrap().map(|s| s.stage),
        Some("active".into())
    );
    assert_eq!(sessions::delete(&mut tx, "s3").await.unwrap(), 1);
    assert_eq!(sessions::delete(&mut tx, "s3").await.unwrap(), 0);
    assert_eq!(
        sessions::delete_for_user(&mut tx, "u1", Some("s2"))
            .await
            .unwrap(),
        1
    );
    assert!(sessions::get(&mut tx, "s2").await.unwrap().is_some());
    assert_eq!(
        sessions::delete_for_user(&mut tx, "u1", None)
            .await
            .unwrap(),
        1
    );

    // One notice by id.
    let n = notices::NoticeRow {
        id: "n1".into(),
        org_code: "13".into(),
        user_id: Some("u1".into()),
        category: "info".into(),
        title_ja: "お知らせ".into(),
        title_en: "Notice".into(),
        body_ja: "本文".into(),
        body_en: "Body".into(),
        link: Some("/allocations".into()),
        created_at: t0(),
        created_by: None,
        audience: vsys_domain::notice::Audience::Staff,
    };
    notices::insert(&mut tx, &n).await.unwrap();
    assert_eq!(notices::get(&mut tx, "n1").await.unwrap(), Some(n));
    assert_eq!(notices::get(&mut tx, "n2").await.unwrap(), None);
    tx.commit().await.unwrap();
});
