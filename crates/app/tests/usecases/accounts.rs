//! Accounts: created by the organisation's administrators (and the first administrator of a
//! subordinate from above), changed against a version, locked and unlocked by hand, passwords
//! and second factors reset by another administrator.

use crate::common::*;
use vsys_app::accounts::{self, NewUser, UserChange};
use vsys_domain::{Msg, Role};
use vsys_store::Page;
use vsys_testkit::db_test;

fn new_user(org: &str, email: &str, role: &str) -> NewUser {
    NewUser {
        org_code: org.into(),
        email: email.into(),
        name: "港 太郎".into(),
        role: role.into(),
        password: "a long initial password".into(),
    }
}

db_test!(create_list_and_update_with_versions, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let admin = w.actor("minato", "admin").await;
    let created = accounts::create(app, &admin, &new_user("13103", "Taro@Example.jp", "viewer"))
        .await
        .unwrap();
    // The address is kept in lower case; the first login must change the password.
    assert_eq!(
        (
            created.email.as_str(),
            created.role,
            created.must_change_password,
            created.version
        ),
        ("taro@example.jp", Role::Viewer, true, 0)
    );
    assert_eq!(w.audit("user.create").await.len(), 1);
    // One account per address.
    assert_eq!(
        invalid(
            accounts::create(app, &admin, &new_user("13103", "taro@example.jp", "viewer")).await,
            "email"
        ),
        Msg::EmailTaken
    );
    // Every problem at once.
    let bad = accounts::create(
        app,
        &admin,
        &NewUser {
            password: "short".into(),
            ..new_user("13103", "not an address", "boss")
        },
    )
    .await;
    let fields: Vec<String> = match &bad {
        Err(vsys_app::AppError::Invalid(inv)) => inv.0.iter().map(|f| f.field.clone()).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fields, ["email", "role", "password"]);
    // Operators do not manage accounts; nor does one municipality the next one's.
    forbidden(
        accounts::create(
            app,
            &w.actor("minato", "operator").await,
            &new_user("13103", "op@example.jp", "viewer"),
        )
        .await,
    );
    forbidden(accounts::create(app, &admin, &new_user("13104", "n@example.jp", "admin")).await);
    // An unknown organisation is a field error.
    assert_eq!(
        invalid(
            accounts::create(app, &admin, &new_user("13999", "x@example.jp", "viewer")).await,
            "org_code"
        ),
        Msg::UnknownOrg
    );
    // From above: 東京都's administrator creates 新宿区's first administrator, not a second one.
    let tokyo = w.actor("tokyo", "admin").await;
    accounts::create(app, &tokyo, &new_user("13104", "first@example.jp", "admin"))
        .await
        .unwrap();
    forbidden(
        accounts::create(
            app,
            &tokyo,
            &new_user("13104", "second@example.jp", "admin"),
        )
        .await,
    );
    forbidden(
        accounts::create(
            app,
            &tokyo,
            &new_user("13104", "op2@example.jp", "operator"),
        )
        .await,
    );
    // The nation's administrators manage everyone's.
    accounts::create(
        app,
        &w.actor("nation", "admin").await,
        &new_user("13104", "second@example.jp", "admin"),
    )
    .await
    .unwrap();

    // The list of 港区's accounts (the read of personal data is audited).
    let (list, total) = accounts::list(app, &admin, None, Page::all())
        .await
        .unwrap();
    assert_eq!(total, 4);
    assert!(list.iter().any(|u| u.email == "taro@example.jp"));
    assert_eq!(w.audit("user.list").await.len(), 1);
    assert_eq!(
        accounts::get(app, &admin, &created.id).await.unwrap().id,
        created.id
    );
    assert_eq!(w.audit("user.read").await.len(), 1);

    // Changes carry the version read: the second writer with the same version loses.
    let renamed = accounts::update(
        app,
        &admin,
        &created.id,
        0,
        &UserChange {
            name: Some("港 次郎".into()),
            role: Some("operator".into()),
            disabled: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.role, renamed.version),
        ("港 次郎", Role::Operator, 1)
    );
    conflict(
        accounts::update(
            app,
            &admin,
            &created.id,
            0,
            &UserChange {
                name: Some("港 三郎".into()),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(w.user("taro@example.jp").await.name, "港 次郎");
    assert_eq!(
        invalid(
            accounts::update(
                app,
                &admin,
                &created.id,
                1,
                &UserChange {
                    role: Some("owner".into()),
                    ..Default::default()
                },
            )
            .await,
            "role"
        ),
        Msg::InvalidRole
    );
    // The last administrator of an organisation stays one.
    let me = w.user(&email("minato", "admin")).await;
    assert_eq!(
        invalid(
            accounts::update(
                app,
                &admin,
                &me.id,
                me.version,
                &UserChange {
                    role: Some("operator".into()),
                    ..Default::default()
                },
            )
            .await,
            "role"
        ),
        Msg::LastAdmin
    );
    // Disabling ends access: the command line cannot act as the account either.
    accounts::update(
        app,
        &admin,
        &created.id,
        1,
        &UserChange {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    forbidden(accounts::actor_on_host(app, "taro@example.jp").await);
});

db_test!(locks_by_hand_and_resets, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let admin = w.actor("minato", "admin").await;
    let viewer = w.user(&email("minato", "viewer")).await;
    // Operators neither lock nor unlock.
    let operator = w.actor("minato", "operator").await;
    forbidden(accounts::lock(app, &operator, &viewer.id).await);
    let locked = accounts::lock(app, &admin, &viewer.id).await.unwrap();
    assert!(locked.locked);
    state(
        accounts::lock(app, &admin, &viewer.id).await,
        Msg::AlreadyLocked,
    );
    assert_eq!(
        invalid(accounts::lock(app, &admin, admin.user_id()).await, "locked"),
        Msg::OwnLock
    );
    forbidden(accounts::actor_on_host(app, &viewer.email).await);
    assert_eq!(w.audit("user.lock").await.len(), 1);
    forbidden(accounts::unlock(app, &operator, &viewer.id).await);
    let unlocked = accounts::unlock(app, &admin, &viewer.id).await.unwrap();
    assert!(!unlocked.locked);
    assert_eq!(w.actor("minato", "viewer").await.user_id(), viewer.id);

    // A temporary password, to be changed at the next login.
    assert_eq!(
        invalid(
            accounts::reset_password(app, &admin, &viewer.id, "short").await,
            "password"
        ),
        Msg::PasswordTooShort
    );
    let reset = accounts::reset_password(app, &admin, &viewer.id, "temporary password 2026")
        .await
        .unwrap();
    assert!(reset.must_change_password);
    assert_ne!(reset.password_hash, viewer.password_hash);
    forbidden(
        accounts::reset_password(app, &operator, &viewer.id, "temporary password 2027").await,
    );
    assert_eq!(w.audit("user.password_reset").await.len(), 1);

    // Second factors: the nation's and 東京都's administrators have one; another
    // administrator above resets it, nobody their own.
    let tokyo_admin = w.user(&email("tokyo", "admin")).await;
    assert!(tokyo_admin.totp_secret.is_some());
    let tokyo = w.actor("tokyo", "admin").await;
    assert_eq!(
        invalid(
            accounts::reset_totp(app, &tokyo, &tokyo_admin.id).await,
            "totp"
        ),
        Msg::OwnTotpReset
    );
    forbidden(
        accounts::reset_totp(app, &w.actor("tokyo", "operator").await, &tokyo_admin.id).await,
    );
    let nation = w.actor("nation", "admin").await;
    let cleared = accounts::reset_totp(app, &nation, &tokyo_admin.id)
        .await
        .unwrap();
    assert_eq!((cleared.totp_secret, cleared.totp_last_step), (None, None));
    assert_eq!(
        invalid(
            accounts::reset_totp(app, &nation, &tokyo_admin.id).await,
            "totp"
        ),
        Msg::TotpNotSet
    );
    assert_eq!(
        invalid(accounts::reset_totp(app, &admin, &viewer.id).await, "totp"),
        Msg::TotpNotSet
    );
    assert_eq!(w.audit("user.totp_reset").await.len(), 1);
});
