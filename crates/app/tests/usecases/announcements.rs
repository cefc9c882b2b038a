//! Announcements (お知らせ): one notice for an audience of kinds, areas and named
//! organisations, matched when read; writers scoped to their area; a publication window; the
//! e-mail sent exactly once (now, or by the scheduled step when its time comes); read counts.

use crate::common::*;
use chrono::{DateTime, Duration, Utc};
use vsys_app::Actor;
use vsys_app::notices::{self, AnnouncementDraft};
use vsys_domain::Msg;
use vsys_store::Page;
use vsys_testkit::db_test;

fn draft(title: &str) -> AnnouncementDraft {
    AnnouncementDraft {
        category: "delivery".into(),
        title_ja: title.into(),
        title_en: format!("{title} (en)"),
        body_ja: "**納入予定日**を入力してください。".into(),
        body_en: "Enter the **scheduled dates**.".into(),
        ..Default::default()
    }
}

fn to(kinds: &[&str], areas: &[&str], names: &[&str], d: AnnouncementDraft) -> AnnouncementDraft {
    AnnouncementDraft {
        kinds: kinds.iter().map(|s| s.to_string()).collect(),
        areas: areas.iter().map(|s| s.to_string()).collect(),
        names: names.iter().map(|s| s.to_string()).collect(),
        ..d
    }
}

/// Japan time as the form takes it.
fn jst(t: DateTime<Utc>) -> String {
    (t + Duration::hours(9))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

async fn sees(w: &World, who: &Actor, title: &str) -> bool {
    let (list, total) = notices::list(&w.app, who, Page::first(100)).await.unwrap();
    assert!(total >= list.len() as i64);
    list.iter().any(|n| n.notice.title_ja == title)
}

async fn pending_mail(w: &World) -> i64 {
    let mut tx = w.db.db.read().await.unwrap();
    vsys_store::outbox::counts(&mut tx).await.unwrap().0
}

db_test!(
    an_audience_matches_kinds_areas_and_names_together,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        let wholesaler = w.actor("wholesaler", "viewer").await;
        let clinic = w.actor("clinic", "operator").await;
        let tokyo = w.actor("tokyo", "operator").await;
        let minato = w.actor("minato", "viewer").await;
        let maker = w.actor("pfizer", "operator").await;
        let cases: [(&str, AnnouncementDraft, [bool; 5]); 5] = [
            // (wholesaler, clinic, tokyo, minato, maker)
            ("全員", draft("全員"), [true, true, true, true, true]),
            (
                "卸業者だけ",
                to(&["wholesaler"], &[], &[], draft("卸業者だけ")),
                [true, false, false, false, false],
            ),
            (
                "港区の医療機関",
                to(&["institution"], &["13103"], &[], draft("港区の医療機関")),
                [false, true, false, false, false],
            ),
            (
                "東京都の全部",
                to(&[], &["13"], &[], draft("東京都の全部")),
                [true, true, true, true, false],
            ),
            (
                "名指しと種類",
                to(
                    &["municipality"],
                    &[],
                    &["13103", "M001"],
                    draft("名指しと種類"),
                ),
                [false, false, false, true, false],
            ),
        ];
        for (title, d, _) in &cases {
            notices::publish(app, &nation, d)
                .await
                .unwrap_or_else(|e| panic!("{title}: {e:?}"));
        }
        for (title, _, expect) in &cases {
            let got = [
                sees(&w, &wholesaler, title).await,
                sees(&w, &clinic, title).await,
                sees(&w, &tokyo, title).await,
                sees(&w, &minato, title).await,
                sees(&w, &maker, title).await,
            ];
            assert_eq!(&got, expect, "{title}");
        }
        // The per-organisation notices still come along, and the badge is the category.
        let (list, _) = notices::list(app, &wholesaler, Page::first(100))
            .await
            .unwrap();
        let n = list
            .iter()
            .find(|n| n.notice.title_ja == "卸業者だけ")
            .unwrap();
        assert_eq!(n.notice.category, "delivery");
        assert!(n.read_at.is_none());
        assert_eq!(notices::unread(app, &wholesaler).await.unwrap(), 3);
        // Read state per user, and mark all read covers announcements.
        notices::mark_read(app, &wholesaler, &n.notice.id)
            .await
            .unwrap();
        assert_eq!(notices::unread(app, &wholesaler).await.unwrap(), 2);
        assert_eq!(notices::mark_all_read(app, &wholesaler).await.unwrap(), 2);
        assert_eq!(notices::unread(app, &wholesaler).await.unwrap(), 0);
        // An announcement not for the reader cannot be marked read by it.
        not_found(notices::mark_read(app, &maker, &n.notice.id).await);
        let published = w.audit("notice.publish").await;
        assert_eq!(published.len(), 5);
    }
);

db_test!(
    prefectures_and_municipalities_address_their_own_area_only,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let tokyo = w.actor("tokyo", "operator").await;
        let minato = w.actor("minato", "operator").await;
        let clinic = w.actor("clinic", "operator").await;
        let wholesaler = w.actor("wholesaler", "operator").await;
        let maker = w.actor("pfizer", "operator").await;
        // Another prefecture, a supplier of the nation, a prefecture above: refused, clearly.
        for (who, d, field) in [
            (&tokyo, to(&[], &["27"], &[], draft("大阪へ")), "areas"),
            (
                &tokyo,
                to(&[], &[], &["M001"], draft("メーカーへ")),
                "names",
            ),
            (
                &minato,
                to(&[], &["13"], &[], draft("東京都全体へ")),
                "areas",
            ),
            (&minato, to(&[], &[], &["W13001"], draft("卸へ")), "names"),
        ] {
            let title = d.title_ja.clone();
            assert_eq!(
                invalid(notices::publish(app, who, &d).await, field),
                Msg::AudienceOutsideArea,
                "{title}"
            );
            assert!(!sees(&w, &maker, &title).await);
        }
        assert_eq!(
            invalid(
                notices::publish(app, &tokyo, &to(&[], &["1310300001"], &[], draft("x"))).await,
                "areas"
            ),
            Msg::NotAnArea
        );
        assert_eq!(
            invalid(
                notices::publish(app, &tokyo, &to(&[], &[], &["13999"], draft("x"))).await,
                "names"
            ),
            Msg::UnknownOrg
        );
        assert!(w.audit("notice.publish").await.is_empty());
        // With no area, a prefecture's notice reaches its own area (its wholesaler too), not
        // the nation's suppliers.
        notices::publish(app, &tokyo, &draft("都内の皆さまへ"))
            .await
            .unwrap();
        assert!(sees(&w, &clinic, "都内の皆さまへ").await);
        assert!(sees(&w, &wholesaler, "都内の皆さまへ").await);
        assert!(!sees(&w, &maker, "都内の皆さまへ").await);
        notices::publish(
            app,
            &minato,
            &to(&["institution"], &[], &[], draft("区内の医療機関へ")),
        )
        .await
        .unwrap();
        assert!(sees(&w, &clinic, "区内の医療機関へ").await);
        assert!(!sees(&w, &tokyo, "区内の医療機関へ").await);
        // Viewers and other kinds do not write.
        let viewer = w.actor("tokyo", "viewer").await;
        forbidden(notices::publish(app, &viewer, &draft("x")).await);
        forbidden(notices::publish(app, &wholesaler, &draft("x")).await);
        // Each field's own rules.
        let bad = AnnouncementDraft {
            category: "gossip".into(),
            title_ja: " ".into(),
            body_ja: String::new(),
            publish_at: "明日".into(),
            ..Default::default()
        };
        let r = notices::publish(app, &tokyo, &bad).await;
        match r {
            Err(vsys_app::AppError::Invalid(inv)) => {
                let fields: Vec<&str> = inv.0.iter().map(|f| f.field.as_str()).collect();
                for f in ["category", "title_ja", "body_ja", "publish_at"] {
                    assert!(fields.contains(&f), "{f} in {fields:?}");
                }
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        let now = app.clock.now();
        let backwards = AnnouncementDraft {
            publish_at: jst(now + Duration::days(2)),
            expires_at: jst(now + Duration::days(1)),
            ..draft("逆")
        };
        assert_eq!(
            invalid(
                notices::publish(app, &tokyo, &backwards).await,
                "expires_at"
            ),
            Msg::ExpiryBeforePublish
        );
    }
);

db_test!(
    announcements_are_listed_between_publication_and_expiry_until_withdrawn,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        let tokyo = w.actor("tokyo", "operator").await;
        let wholesaler = w.actor("wholesaler", "operator").await;
        let now = app.clock.now();
        let d = AnnouncementDraft {
            publish_at: jst(now + Duration::days(1)),
            expires_at: jst(now + Duration::days(2)),
            ..to(&["wholesaler"], &[], &[], draft("明日から"))
        };
        let a = notices::publish(app, &nation, &d).await.unwrap();
        assert!(!sees(&w, &wholesaler, "明日から").await);
        not_found(notices::mark_read(app, &wholesaler, &a.notice.id).await);
        w.clock.advance(Duration::days(1) + Duration::minutes(1));
        assert!(sees(&w, &wholesaler, "明日から").await);
        w.clock.advance(Duration::days(1));
        assert!(!sees(&w, &wholesaler, "明日から").await, "expired");
        // Withdrawn: gone at once; only the writer's organisation (or the nation) withdraws.
        let b = notices::publish(
            app,
            &nation,
            &to(&["wholesaler"], &[], &[], draft("取り下げ")),
        )
        .await
        .unwrap();
        assert!(sees(&w, &wholesaler, "取り下げ").await);
        not_found(notices::withdraw(app, &tokyo, &b.notice.id).await);
        notices::withdraw(app, &nation, &b.notice.id).await.unwrap();
        assert!(!sees(&w, &wholesaler, "取り下げ").await);
        assert_eq!(
            invalid(notices::withdraw(app, &nation, &b.notice.id).await, "id"),
            Msg::AlreadyWithdrawn
        );
        assert_eq!(w.audit("notice.withdraw").await.len(), 1);
        // The sent list: the nation sees every writer's, a prefecture its own.
        let c = notices::publish(app, &tokyo, &draft("都から"))
            .await
            .unwrap();
        let (all, _) = notices::sent(app, &nation, Page::first(50)).await.unwrap();
        assert_eq!(all.len(), 3);
        let (own, total) = notices::sent(app, &tokyo, Page::first(50)).await.unwrap();
        assert_eq!(total, 1);
        assert_eq!(own[0].announcement.notice.id, c.notice.id);
        assert_eq!(own[0].audience.areas.iter().collect::<Vec<_>>(), ["13"]);
        forbidden(notices::sent(app, &wholesaler, Page::first(50)).await);
    }
);

db_test!(
    the_mail_goes_exactly_once_now_or_when_its_time_comes,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        // Published now with mail: the three wholesaler users get it at once, and the
        // scheduled step does not send it again.
        let before = pending_mail(&w).await;
        let now_mail = AnnouncementDraft {
            mail: true,
            ..to(&["wholesaler"], &[], &[], draft("今すぐメール"))
        };
        let a = notices::publish(app, &nation, &now_mail).await.unwrap();
        assert!(a.announcement.mailed_at.is_some());
        assert_eq!(pending_mail(&w).await, before + 3);
        assert_eq!(notices::mail_due(app).await.unwrap(), 0);
        assert_eq!(pending_mail(&w).await, before + 3);
        // Published tomorrow with mail: nothing until then; then once, even with the step
        // run twice, and at the same time.
        let later = AnnouncementDraft {
            mail: true,
            publish_at: jst(app.clock.now() + Duration::days(1)),
            ..to(&["wholesaler"], &[], &[], draft("明日メール"))
        };
        notices::publish(app, &nation, &later).await.unwrap();
        // Withdrawn before its time: never mailed.
        let withdrawn = AnnouncementDraft {
            mail: true,
            publish_at: jst(app.clock.now() + Duration::days(1)),
            ..to(&["wholesaler"], &[], &[], draft("取り下げメール"))
        };
        let x = notices::publish(app, &nation, &withdrawn).await.unwrap();
        notices::withdraw(app, &nation, &x.notice.id).await.unwrap();
        assert_eq!(notices::mail_due(app).await.unwrap(), 0);
        assert_eq!(pending_mail(&w).await, before + 3);
        w.clock.advance(Duration::days(1) + Duration::minutes(1));
        let (r1, r2) = tokio::join!(notices::mail_due(app), notices::mail_due(app));
        assert_eq!(r1.unwrap() + r2.unwrap(), 1);
        assert_eq!(notices::mail_due(app).await.unwrap(), 0);
        assert_eq!(pending_mail(&w).await, before + 6);
        assert_eq!(w.audit("notice.mail").await.len(), 1);
    }
);

db_test!(
    the_writer_sees_how_many_recipients_have_read,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        let nation_viewer = w.actor("nation", "viewer").await;
        let a = notices::publish(
            app,
            &nation,
            &to(&["wholesaler"], &[], &[], draft("既読数")),
        )
        .await
        .unwrap();
        let counts = |s: &notices::Sent| (s.read, s.recipients);
        let s = notices::sent_one(app, &nation_viewer, &a.notice.id)
            .await
            .unwrap();
        assert_eq!(counts(&s), (0, 3), "three wholesaler users");
        for role in ["admin", "operator"] {
            let u = w.actor("wholesaler", role).await;
            notices::mark_read(app, &u, &a.notice.id).await.unwrap();
            // Reading twice counts once.
            notices::mark_read(app, &u, &a.notice.id).await.unwrap();
        }
        let s = notices::sent_one(app, &nation, &a.notice.id).await.unwrap();
        assert_eq!(counts(&s), (2, 3));
        // Recipients are enabled users of matching organisations: a new wholesaler user counts.
        w.make_user("W13001", "viewer", "w2@example.jp").await;
        let (list, _) = notices::sent(app, &nation, Page::first(10)).await.unwrap();
        assert_eq!(counts(&list[0]), (2, 4));
    }
);
