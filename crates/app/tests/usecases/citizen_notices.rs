//! Citizens' notices (お知らせ, よくある質問, 接種の流れ on the public site): written and
//! withdrawn by the nation's operators and administrators only, checked, audited, never
//! mailed, and shown by the public snapshot once it follows the change.

use crate::common::*;
use vsys_app::notices::{self, CITIZEN_BODY_MAX, CitizenDraft};
use vsys_app::public;
use vsys_domain::Msg;
use vsys_domain::notice::CitizenTopic;
use vsys_testkit::db_test;

fn draft(title: &str) -> CitizenDraft {
    CitizenDraft {
        title_ja: format!("{title}（日本語）"),
        title_en: format!("{title} (English)"),
        body_ja: "**接種券**が届いたら予約してください。".into(),
        body_en: "Book once your **voucher** arrives.".into(),
    }
}

async fn mails(w: &World) -> (i64, i64) {
    let mut tx = w.db.db.read().await.unwrap();
    vsys_store::outbox::counts(&mut tx).await.unwrap()
}

db_test!(
    the_nation_publishes_citizens_notices_without_mail,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        assert!(notices::may_write_for_citizens(&nation));
        let before = mails(&w).await;
        let n = notices::post_for_citizens(app, &nation, CitizenTopic::Notice, &draft("お知らせ1"))
            .await
            .unwrap();
        assert_eq!(n.category, "notice");
        assert_eq!(n.title_ja, "お知らせ1（日本語）");
        let admin = w.actor("nation", "admin").await;
        let faq = notices::post_for_citizens(
            app,
            &admin,
            CitizenTopic::Faq,
            &CitizenDraft {
                title_ja: "  接種は無料ですか。 ".into(),
                title_en: "Is it free?".into(),
                body_ja: "はい、無料です。".into(),
                body_en: String::new(),
            },
        )
        .await
        .unwrap();
        assert_eq!(faq.title_ja, "接種は無料ですか。", "trimmed");
        // No e-mail: citizens read it on the site.
        assert_eq!(mails(&w).await, before);
        let created = w.audit("notice.citizens_create").await;
        assert_eq!(created.len(), 2);
        assert!(created.iter().any(|e| {
            e.object_id == n.id
                && e.after
                    .as_deref()
                    .unwrap_or_default()
                    .contains("\"topic\":\"notice\"")
        }));
        // Not a staff notice: no organisation's users see it in their list.
        assert_eq!(
            notices::list(app, &nation, vsys_store::Page::first(20))
                .await
                .unwrap()
                .1,
            0
        );
        // The public snapshot holds them once rebuilt, each under its topic, newest first.
        let s = public::refresh(app).await.unwrap();
        let shown: Vec<&str> = s
            .notices(CitizenTopic::Notice)
            .map(|x| x.id.as_str())
            .collect();
        assert_eq!(shown, vec![n.id.as_str()]);
        assert_eq!(
            s.notices(CitizenTopic::Faq).map(|x| x.id.as_str()).next(),
            Some(faq.id.as_str())
        );
        assert_eq!(s.notices(CitizenTopic::Guide).count(), 0);
        // The nation's screen lists them from the database.
        let listed = notices::list_for_citizens(app, &nation).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, faq.id, "newest first");
    }
);

db_test!(citizens_notices_are_checked, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = w.actor("nation", "operator").await;
    let post = |d: CitizenDraft| {
        let nation = &nation;
        async move { notices::post_for_citizens(app, nation, CitizenTopic::Guide, &d).await }
    };
    let r = post(CitizenDraft {
        title_ja: " ".into(),
        title_en: String::new(),
        ..draft("x")
    })
    .await;
    assert_eq!(invalid(r, "title_ja"), Msg::Required);
    let r = post(CitizenDraft {
        title_en: String::new(),
        ..draft("x")
    })
    .await;
    assert_eq!(invalid(r, "title_en"), Msg::Required);
    let r = post(CitizenDraft {
        body_ja: "あ".repeat(CITIZEN_BODY_MAX + 1),
        ..draft("x")
    })
    .await;
    assert_eq!(invalid(r, "body_ja"), Msg::TooLong);
    let r = post(CitizenDraft {
        body_en: "a\u{0}b".into(),
        ..draft("x")
    })
    .await;
    assert_eq!(invalid(r, "body_en"), Msg::ControlCharacter);
    // Exactly the limit is fine.
    post(CitizenDraft {
        body_ja: "あ".repeat(CITIZEN_BODY_MAX),
        ..draft("x")
    })
    .await
    .unwrap();
    assert_eq!(w.audit("notice.citizens_create").await.len(), 1);
});

db_test!(
    only_the_nation_writes_or_withdraws_citizens_notices,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        let n = notices::post_for_citizens(app, &nation, CitizenTopic::Notice, &draft("残す"))
            .await
            .unwrap();
        // A prefecture's or a municipality's operator or admin, a site, the nation's viewer:
        // refused, leaving no trace.
        for (slug, role) in [
            ("tokyo", "operator"),
            ("tokyo", "admin"),
            ("minato", "operator"),
            ("clinic", "admin"),
            ("nation", "viewer"),
        ] {
            let a = w.actor(slug, role).await;
            assert!(!notices::may_write_for_citizens(&a), "{slug} {role}");
            forbidden(notices::post_for_citizens(app, &a, CitizenTopic::Faq, &draft("越権")).await);
            forbidden(notices::withdraw_for_citizens(app, &a, &n.id).await);
            forbidden(notices::list_for_citizens(app, &a).await);
        }
        assert_eq!(w.audit("notice.citizens_").await.len(), 1);
        // A staff notice is not a citizens' one to withdraw.
        let staff = notices::post(
            app,
            &nation,
            "13",
            &notices::NoticeDraft {
                category: "info".into(),
                title_ja: "都道府県へ".into(),
                title_en: "To prefectures".into(),
                body_ja: "本文".into(),
                body_en: "Body".into(),
                link: None,
            },
        )
        .await
        .unwrap();
        not_found(notices::withdraw_for_citizens(app, &nation, &staff.id).await);
        not_found(notices::withdraw_for_citizens(app, &nation, "no-such-notice").await);
        // The nation withdraws it: audited, gone from the snapshot, and only once.
        assert_eq!(
            public::refresh(app)
                .await
                .unwrap()
                .notices(CitizenTopic::Notice)
                .count(),
            1
        );
        let gone = notices::withdraw_for_citizens(app, &nation, &n.id)
            .await
            .unwrap();
        assert_eq!(gone.id, n.id);
        let withdrawn = w.audit("notice.citizens_withdraw").await;
        assert_eq!(withdrawn.len(), 1);
        assert!(
            withdrawn[0]
                .before
                .as_deref()
                .unwrap_or_default()
                .contains("残す")
        );
        assert_eq!(
            public::refresh(app)
                .await
                .unwrap()
                .notices(CitizenTopic::Notice)
                .count(),
            0
        );
        not_found(notices::withdraw_for_citizens(app, &nation, &n.id).await);
    }
);
