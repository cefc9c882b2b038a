//! Logging in: sessions that authenticate and expire, one answer for every kind of refusal,
//! the throttling gates (which slow an account down and never lock it), second factors, and
//! the first login's password change.

use crate::common::*;
use chrono::Duration;
use vsys_app::AppError;
use vsys_app::auth::{self, LoginRequest, SessionKind, Stage};
use vsys_testkit::db_test;

fn req<'a>(email: &'a str, password: &'a str) -> LoginRequest<'a> {
    LoginRequest {
        email,
        password,
        totp: None,
        ip: Some("192.0.2.10".into()),
        kind: SessionKind::Api,
    }
}

db_test!(login_sessions_and_expiry, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let me = email("minato", "operator");
    // Addresses are matched without regard to case or spaces.
    let s = auth::login(app, req(&format!(" {} ", me.to_uppercase()), PASSWORD))
        .await
        .unwrap();
    assert_eq!(s.stage, Stage::Active);
    assert_ne!(s.token, s.row.id_hash, "only the token's hash is kept");
    let a = auth::authenticate(app, &s.token, SessionKind::Api, None)
        .await
        .unwrap();
    assert_eq!(
        (a.actor.email(), a.actor.org_code()),
        (me.as_str(), "13103")
    );
    assert!(w.user(&me).await.last_login_at.is_some());
    assert_eq!(w.audit("auth.login").await.len(), 1);
    // A token of one kind is not one of the other.
    assert!(matches!(
        auth::authenticate(app, &s.token, SessionKind::Web, None).await,
        Err(AppError::NotLoggedIn)
    ));
    assert!(matches!(
        auth::authenticate(app, "not a token", SessionKind::Api, None).await,
        Err(AppError::NotLoggedIn)
    ));
    // Idle for longer than the timeout: expired (and gone).
    w.clock.advance(Duration::minutes(31));
    assert!(matches!(
        auth::authenticate(app, &s.token, SessionKind::Api, None).await,
        Err(AppError::SessionExpired)
    ));
    assert!(matches!(
        auth::authenticate(app, &s.token, SessionKind::Api, None).await,
        Err(AppError::NotLoggedIn)
    ));
    // Logging out ends the session.
    let s = auth::login(app, req(&me, PASSWORD)).await.unwrap();
    let a = auth::authenticate(app, &s.token, SessionKind::Api, None)
        .await
        .unwrap();
    auth::logout(app, &a.actor).await.unwrap();
    assert!(matches!(
        auth::authenticate(app, &s.token, SessionKind::Api, None).await,
        Err(AppError::NotLoggedIn)
    ));
    assert_eq!(w.audit("auth.logout").await.len(), 1);
});

db_test!(
    one_answer_for_every_refusal_and_the_gates,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let victim = email("minato", "viewer");
        // Unknown address and wrong password: the same answer.
        assert!(matches!(
            auth::login(app, req("nobody@example.jp", PASSWORD)).await,
            Err(AppError::LoginFailed)
        ));
        // Five failures are answered as failures; then the account waits, whatever the password.
        for _ in 0..5 {
            assert!(matches!(
                auth::login(app, req(&victim, "wrong password 1")).await,
                Err(AppError::LoginFailed)
            ));
        }
        match auth::login(app, req(&victim, PASSWORD)).await {
            Err(AppError::Throttled { retry_after_secs }) => {
                assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected Throttled, got {other:?}"),
        }
        // From another address too: the account's own gate is closed.
        assert!(matches!(
            auth::login(
                app,
                LoginRequest {
                    ip: Some("198.51.100.7".into()),
                    ..req(&victim, PASSWORD)
                }
            )
            .await,
            Err(AppError::Throttled { .. })
        ));
        // Failures never lock the account: after the wait the owner gets in.
        assert!(!w.user(&victim).await.locked);
        w.clock.advance(Duration::seconds(31));
        auth::login(app, req(&victim, PASSWORD)).await.unwrap();

        // Locked by hand: the right password answers exactly like a wrong one.
        let admin = w.actor("minato", "admin").await;
        let id = w.user(&victim).await.id;
        vsys_app::accounts::lock(app, &admin, &id).await.unwrap();
        assert!(matches!(
            auth::login(app, req(&victim, PASSWORD)).await,
            Err(AppError::LoginFailed)
        ));
        // The reason is in the audit log only.
        let failed = w.audit("auth.login_failed").await;
        let reasons: Vec<&str> = failed.iter().filter_map(|e| e.after.as_deref()).collect();
        assert!(reasons.iter().any(|r| r.contains("locked")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("unknown")), "{reasons:?}");
        assert_eq!(reasons.iter().filter(|r| r.contains("password")).count(), 5);
        // Unlocking lets the owner in again (and clears the account's counters).
        vsys_app::accounts::unlock(app, &admin, &id).await.unwrap();
        auth::login(app, req(&victim, PASSWORD)).await.unwrap();
        // A disabled account: the same single answer.
        let user = w.user(&victim).await;
        vsys_app::accounts::update(
            app,
            &admin,
            &id,
            user.version,
            &vsys_app::accounts::UserChange {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            auth::login(app, req(&victim, PASSWORD)).await,
            Err(AppError::LoginFailed)
        ));
    }
);

db_test!(
    second_factor_and_first_password_change,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        // The nation's administrators log in with a TOTP code: the API insists on it at once…
        let nation = email("nation", "admin");
        assert!(matches!(
            auth::login(app, req(&nation, PASSWORD)).await,
            Err(AppError::TotpRequired)
        ));
        // …a browser is asked for it next.
        let web = auth::login(
            app,
            LoginRequest {
                kind: SessionKind::Web,
                ..req(&nation, PASSWORD)
            },
        )
        .await
        .unwrap();
        assert_eq!(web.stage, Stage::Totp);
        let code = auth::totp_code_on_host(app, &nation)
            .await
            .unwrap()
            .unwrap();
        let s = auth::login(
            app,
            LoginRequest {
                totp: Some(&code),
                ..req(&nation, PASSWORD)
            },
        )
        .await
        .unwrap();
        assert_eq!(s.stage, Stage::Active);
        // A code is good once.
        assert!(matches!(
            auth::login(
                app,
                LoginRequest {
                    totp: Some(&code),
                    ..req(&nation, PASSWORD)
                }
            )
            .await,
            Err(AppError::TotpInvalid)
        ));
        // The browser's second step, in its own stage only, with a code not used before.
        w.clock.advance(Duration::seconds(30));
        let pending = auth::authenticate(app, &web.token, SessionKind::Web, None)
            .await
            .unwrap();
        assert_eq!(pending.stage, Stage::Totp);
        assert!(matches!(
            auth::complete_totp(app, &pending.actor, "12345").await,
            Err(AppError::TotpInvalid)
        ));
        let fresh = auth::totp_code_on_host(app, &nation)
            .await
            .unwrap()
            .unwrap();
        auth::complete_totp(app, &pending.actor, &fresh)
            .await
            .unwrap();
        assert_eq!(
            auth::authenticate(app, &web.token, SessionKind::Web, None)
                .await
                .unwrap()
                .stage,
            Stage::Active
        );
        state(
            auth::complete_totp(app, &pending.actor, &fresh).await,
            vsys_domain::Msg::WrongLoginStep,
        );
        // Without an authenticator (after a reset), an administrator must enrol one first.
        let tokyo = w.user(&email("tokyo", "admin")).await;
        vsys_app::accounts::reset_totp(app, &w.actor("nation", "admin").await, &tokyo.id)
            .await
            .unwrap();
        assert!(matches!(
            auth::login(app, req(&tokyo.email, PASSWORD)).await,
            Err(AppError::TotpSetupRequired)
        ));
        let setup = auth::login(
            app,
            LoginRequest {
                kind: SessionKind::Web,
                ..req(&tokyo.email, PASSWORD)
            },
        )
        .await
        .unwrap();
        assert_eq!(setup.stage, Stage::TotpSetup);
        let enrolling = auth::authenticate(app, &setup.token, SessionKind::Web, None)
            .await
            .unwrap();
        assert_eq!(enrolling.stage, Stage::TotpSetup);
        let secret = auth::new_totp_secret();
        assert_eq!(
            invalid(
                auth::enable_totp(app, &enrolling.actor, &secret.to_base32(), "12345").await,
                "code"
            ),
            vsys_domain::Msg::TotpInvalid
        );
        let code = secret.code_at(app.clock.now().timestamp());
        auth::enable_totp(app, &enrolling.actor, &secret.to_base32(), &code)
            .await
            .unwrap();
        assert_eq!(
            auth::authenticate(app, &setup.token, SessionKind::Web, None)
                .await
                .unwrap()
                .stage,
            Stage::Active
        );
        assert!(w.user(&tokyo.email).await.totp_secret.is_some());
        // Enrolled once: the same step again is refused.
        state(
            auth::enable_totp(app, &enrolling.actor, &secret.to_base32(), &code).await,
            vsys_domain::Msg::WrongLoginStep,
        );
        assert_eq!(w.audit("user.totp_enable").await.len(), 1);

        // A new account changes its password before anything else.
        vsys_app::accounts::create_system(
            app,
            &vsys_app::audit::Who::system(),
            &vsys_app::accounts::NewUser {
                org_code: "13103".into(),
                email: "new@example.jp".into(),
                name: "新人 職員".into(),
                role: "operator".into(),
                password: "a first temporary password".into(),
            },
            true,
        )
        .await
        .unwrap();
        let s = auth::login(app, req("new@example.jp", "a first temporary password"))
            .await
            .unwrap();
        let a = auth::authenticate(app, &s.token, SessionKind::Api, None)
            .await
            .unwrap()
            .actor;
        assert!(a.must_change_password());
        assert!(matches!(
            vsys_app::cycles::list(app, &a, vsys_store::Page::all()).await,
            Err(AppError::PasswordChangeRequired)
        ));
        assert!(matches!(
            vsys_app::sites::get(app, &a, &w.clinic().await).await,
            Err(AppError::PasswordChangeRequired)
        ));
        assert!(matches!(
            a.require_can(vsys_domain::Capability::OverseeArea),
            Err(AppError::PasswordChangeRequired)
        ));
        assert_eq!(
            invalid(
                auth::change_password(app, &a, "wrong current password", "my own new password")
                    .await,
                "current_password"
            ),
            vsys_domain::Msg::CurrentPasswordWrong
        );
        auth::change_password(app, &a, "a first temporary password", "my own new password")
            .await
            .unwrap();
        let a = auth::authenticate(app, &s.token, SessionKind::Api, None)
            .await
            .unwrap()
            .actor;
        assert!(!a.must_change_password());
        assert!(
            vsys_app::cycles::list(app, &a, vsys_store::Page::all())
                .await
                .is_ok()
        );
        assert!(matches!(
            auth::login(app, req("new@example.jp", "a first temporary password")).await,
            Err(AppError::LoginFailed)
        ));
        auth::login(app, req("new@example.jp", "my own new password"))
            .await
            .unwrap();
    }
);

db_test!(
    retention_removes_ended_sessions_and_says_so,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let me = email("minato", "operator");
        auth::login(app, req(&me, PASSWORD)).await.unwrap();
        // Past every session's end, a round of retention removes it, in one audited write.
        w.clock.advance(Duration::days(2));
        let r = vsys_app::maintenance::retain(app).await.unwrap();
        assert!(r.sessions >= 1, "{r:?}");
        let entries = w.audit("system.retention").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].actor_user, None, "the system acted");
        // A round with nothing to remove writes nothing.
        let again = vsys_app::maintenance::retain(app).await.unwrap();
        assert_eq!(again, vsys_app::maintenance::Retention::default());
        assert_eq!(w.audit("system.retention").await.len(), 1);
    }
);
