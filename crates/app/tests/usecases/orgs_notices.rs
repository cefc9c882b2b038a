//! Organisations (lists scoped to the caller, shared master data, names, subordinates created
//! by administrators, deliverers' areas) and notices (posted within one's scope, local links
//! only, read by the organisation's users).

use crate::common::*;
use vsys_app::notices::{self, NoticeDraft};
use vsys_app::orgs::{self, NewOrg, OrgQuery};
use vsys_domain::{Lang, Msg, OrgKind};
use vsys_store::Page;
use vsys_testkit::db_test;

fn query(kind: Option<&str>) -> OrgQuery {
    OrgQuery {
        kind: kind.map(Into::into),
        per_page: Some(200),
        ..Default::default()
    }
}

db_test!(
    org_lists_are_scoped_and_master_data_shared,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let minato = w.actor("minato", "viewer").await;
        // 港区 lists itself and its sites (the demo's clinic and municipal site among them).
        let (rows, total) = orgs::list(app, &minato, &query(None)).await.unwrap();
        assert_eq!(total, rows.len() as i64);
        assert!(
            rows.iter().all(|o| o.path.starts_with("/JP/13/13103/")),
            "{rows:?}"
        );
        let codes: Vec<&str> = rows.iter().map(|o| o.code.as_str()).collect();
        let (clinic_code, muni_site) = (w.clinic().await, w.municipal_site().await);
        for c in ["13103", clinic_code.as_str(), muni_site.as_str()] {
            assert!(codes.contains(&c), "{c}: {codes:?}");
        }
        let (sites, _) = orgs::list(app, &minato, &query(Some("institution")))
            .await
            .unwrap();
        assert!(
            sites.iter().all(
                |o| o.kind == OrgKind::Institution && o.parent_code.as_deref() == Some("13103")
            )
        );
        // Prefectures and municipalities are shared: the whole country, for anyone.
        let clinic = w.actor("clinic", "viewer").await;
        assert_eq!(
            orgs::list(app, &clinic, &query(Some("prefecture")))
                .await
                .unwrap()
                .1,
            47
        );
        assert_eq!(
            orgs::list(app, &clinic, &query(Some("municipality")))
                .await
                .unwrap()
                .1,
            1741
        );
        let (tokyo_munis, _) = orgs::list(
            app,
            &clinic,
            &OrgQuery {
                parent: Some("13".into()),
                ..query(Some("municipality"))
            },
        )
        .await
        .unwrap();
        assert!(
            tokyo_munis
                .iter()
                .all(|m| m.parent_code.as_deref() == Some("13"))
        );
        assert!(tokyo_munis.iter().any(|m| m.name == "新宿区"));
        // A wholesaler sees itself among organisations of its own scope, and no site.
        let wholesaler = w.actor("wholesaler", "viewer").await;
        let (mine, _) = orgs::list(app, &wholesaler, &query(None)).await.unwrap();
        assert_eq!(
            mine.iter().map(|o| o.code.as_str()).collect::<Vec<_>>(),
            ["W13001"]
        );
        not_found(orgs::get(app, &wholesaler, &clinic_code).await);
        assert_eq!(
            orgs::get(app, &wholesaler, "13103").await.unwrap().name,
            "港区"
        );
        assert_eq!(
            orgs::get(app, &w.actor("tokyo", "viewer").await, &clinic_code)
                .await
                .unwrap()
                .kind,
            OrgKind::Institution
        );
        // Search and paging.
        let (found, _) = orgs::list(
            app,
            &clinic,
            &OrgQuery {
                q: Some("港区".into()),
                ..query(Some("municipality"))
            },
        )
        .await
        .unwrap();
        assert_eq!(
            found.iter().map(|o| o.code.as_str()).collect::<Vec<_>>(),
            ["13103"]
        );
        assert!(matches!(
            orgs::list(
                app,
                &clinic,
                &OrgQuery {
                    per_page: Some(100_000),
                    ..query(None)
                }
            )
            .await,
            Err(vsys_app::AppError::BadParameter(_))
        ));
        // Names of the organisations a list refers to, in one lookup.
        let names = orgs::names(
            app,
            &wholesaler,
            &[
                "13103".into(),
                clinic_code.clone(),
                "JP".into(),
                "nope".into(),
                "13103".into(),
            ],
            Lang::Ja,
        )
        .await
        .unwrap();
        assert_eq!(names.len(), 3);
        assert_eq!(names["13103"], "港区");
        assert_eq!(names["JP"], "厚生労働省");
        let en = orgs::names(app, &wholesaler, &["JP".into(), "13103".into()], Lang::En)
            .await
            .unwrap();
        assert_eq!(en["JP"], "Ministry of Health, Labour and Welfare");
        assert_eq!(en["13103"], "港区", "no English name: the Japanese one");
        assert!(
            orgs::names(app, &wholesaler, &[], Lang::Ja)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

db_test!(subordinates_and_deliverers_areas, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let tokyo_admin = w.actor("tokyo", "admin").await;
    let wholesaler = |name: &str| NewOrg {
        kind: "wholesaler".into(),
        parent_code: "13".into(),
        code: None,
        name: name.into(),
        name_en: Some("Second Wholesaler".into()),
    };
    // Codes by the conventions: the next wholesaler of 東京都.
    let second = orgs::create(app, &tokyo_admin, &wholesaler("第二ワクチン卸"))
        .await
        .unwrap();
    assert_eq!(
        (
            second.code.as_str(),
            second.path.as_str(),
            second.prefecture_code.as_deref()
        ),
        ("W13002", "/JP/13/W13002/", Some("13"))
    );
    assert_eq!(w.audit("org.create").await.len(), 1);
    forbidden(orgs::create(app, &w.actor("tokyo", "operator").await, &wholesaler("x")).await);
    // Under another prefecture: the parent is unknown to 東京都.
    assert_eq!(
        invalid(
            orgs::create(
                app,
                &tokyo_admin,
                &NewOrg {
                    parent_code: "27".into(),
                    ..wholesaler("大阪の卸")
                }
            )
            .await,
            "parent_code"
        ),
        Msg::UnknownOrg
    );
    // A kind that cannot hang there, and prefectures, are refused.
    assert_eq!(
        invalid(
            orgs::create(
                app,
                &tokyo_admin,
                &NewOrg {
                    kind: "manufacturer".into(),
                    ..wholesaler("製薬")
                }
            )
            .await,
            "parent_code"
        ),
        Msg::InvalidInput
    );
    // An institution needs its own 10-digit code.
    assert_eq!(
        invalid(
            orgs::create(
                app,
                &w.actor("minato", "admin").await,
                &NewOrg {
                    kind: "institution".into(),
                    parent_code: "13103".into(),
                    code: None,
                    name: "港区みなと内科".into(),
                    name_en: None,
                }
            )
            .await,
            "code"
        ),
        Msg::Required
    );

    // Areas: 東京都 contracts its wholesalers for its own municipalities only.
    let tokyo = w.actor("tokyo", "operator").await;
    let areas = orgs::set_areas(
        app,
        &tokyo,
        "W13002",
        &["13104".into(), " 13103".into(), "13103".into()],
    )
    .await
    .unwrap();
    assert_eq!(areas, ["13103", "13104"]);
    assert_eq!(
        orgs::areas(app, &tokyo, "W13002").await.unwrap(),
        ["13103", "13104"]
    );
    assert_eq!(
        invalid(
            orgs::set_areas(app, &tokyo, "W13002", &["13103".into(), "27100".into()]).await,
            "areas"
        ),
        Msg::UnknownOrg
    );
    // The wholesaler does not set its own areas; another prefecture cannot see it.
    forbidden(orgs::set_areas(app, &w.actor("wholesaler", "operator").await, "W13001", &[]).await);
    let osaka = w
        .make_user("27", "operator", "osaka-operator@example.jp")
        .await;
    not_found(orgs::set_areas(app, &osaka, "W13002", &[]).await);
    assert_eq!(
        orgs::areas(app, &tokyo, "W13002").await.unwrap(),
        ["13103", "13104"]
    );
    assert_eq!(w.audit("org.areas").await.len(), 1);
});

fn draft(link: Option<&str>) -> NoticeDraft {
    NoticeDraft {
        category: "info".into(),
        title_ja: "接種会場の変更について".into(),
        title_en: "A change of venue".into(),
        body_ja: "会場が変わります。".into(),
        body_en: "The venue changes.".into(),
        link: link.map(Into::into),
    }
}

db_test!(notices_are_posted_in_scope_and_read, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let minato = w.actor("minato", "operator").await;
    let clinic = w.clinic().await;
    let n = notices::post(app, &minato, &clinic, &draft(Some(" /sites/x?tab=1 ")))
        .await
        .unwrap();
    assert_eq!(n.link.as_deref(), Some("/sites/x?tab=1"));
    assert_eq!(n.created_by.as_deref(), Some(minato.user_id()));
    // One mail per enabled user of the clinic (admin, operator, viewer).
    let created = w.audit("notice.create").await;
    assert!(
        created[0]
            .after
            .as_deref()
            .unwrap_or_default()
            .contains("\"mails\":3")
    );
    // A link is a path inside vsys, never a script or another host.
    for bad in [
        "javascript:alert(1)",
        "https://evil.example/",
        "//evil.example",
        "/a b",
    ] {
        assert_eq!(
            invalid(
                notices::post(app, &minato, &clinic, &draft(Some(bad))).await,
                "link"
            ),
            Msg::LocalLinkOnly,
            "{bad}"
        );
    }
    assert_eq!(
        invalid(
            notices::post(
                app,
                &minato,
                &clinic,
                &NoticeDraft {
                    title_ja: " ".into(),
                    ..draft(None)
                }
            )
            .await,
            "title_ja"
        ),
        Msg::Required
    );
    // The clinic's users read it; marking it read is recorded once.
    let reader = w.actor("clinic", "viewer").await;
    assert_eq!(notices::unread(app, &reader).await.unwrap(), 1);
    let (list, total) = notices::list(app, &reader, Page::first(20)).await.unwrap();
    assert_eq!((total, list[0].notice.id.as_str()), (1, n.id.as_str()));
    notices::mark_read(app, &reader, &n.id).await.unwrap();
    notices::mark_read(app, &reader, &n.id).await.unwrap();
    assert_eq!(notices::unread(app, &reader).await.unwrap(), 0);
    assert_eq!(w.audit("notice.read").await.len(), 1);
    // Still unread for the clinic's other users; not the business of anyone else.
    assert_eq!(
        notices::unread(app, &w.actor("clinic", "operator").await)
            .await
            .unwrap(),
        1
    );
    not_found(notices::mark_read(app, &minato, &n.id).await);
    not_found(notices::mark_read(app, &reader, "no-such-notice").await);
    assert_eq!(
        notices::list(app, &minato, Page::first(20))
            .await
            .unwrap()
            .1,
        0
    );
});
