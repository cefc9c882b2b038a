//! Sites: details registered by the site against a version, registry changes that wait for
//! the municipality (approved or rejected once), moves, the municipality's confirmation,
//! reservation status and the public list, doctors, hubs and satellites, municipal sites.

use crate::common::*;
use vsys_app::sites::{self, ChangeOutcome, DetailsInput, NewDoctor, RegistryInput, SiteQuery};
use vsys_domain::{ContractStatus, Msg, OrgKind, Reservation, SiteType};
use vsys_testkit::db_test;

fn details(phone: Option<&str>) -> DetailsInput {
    DetailsInput {
        phone: phone.map(Into::into),
        hours: Some("9:00-17:00".into()),
        accepts_non_regular: true,
        freezers_ultra_cold: 1,
        freezers_minus20: 2,
        storage_location: Some("1階処置室".into()),
        ..Default::default()
    }
}

db_test!(details_and_registry_changes, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let code = w.clinic().await;
    let me = w.actor("clinic", "operator").await;
    let minato = w.actor("minato", "operator").await;
    // First login: nothing registered yet.
    let v = sites::get(app, &me, &code).await.unwrap();
    assert_eq!(v.profile.details_at, None);
    let version = v.profile.version;
    assert_eq!(
        invalid(
            sites::put_details(app, &me, &code, version, &details(Some("abc"))).await,
            "phone"
        ),
        Msg::InvalidPhone
    );
    assert_eq!(
        invalid(
            sites::put_details(app, &me, &code, version, &details(None)).await,
            "phone"
        ),
        Msg::Required
    );
    let saved = sites::put_details(app, &me, &code, version, &details(Some("03-1234-5678")))
        .await
        .unwrap();
    assert!(saved.profile.details_at.is_some());
    assert_eq!(
        (saved.profile.freezers_minus20, saved.profile.version),
        (2, version + 1)
    );
    // Written against the version read: nothing is lost silently.
    conflict(sites::put_details(app, &me, &code, version, &details(Some("03-1234-5678"))).await);

    // A controlled field: the clinic's own change waits for 港区.
    let current = sites::registry_of(&saved.org, &saved.profile);
    let renamed = RegistryInput {
        name: "新しい名前クリニック".into(),
        address: Some("東京都港区芝公園1-5-25".into()),
        ..current.clone()
    };
    let change_id = match sites::change_registry(app, &me, &code, &renamed)
        .await
        .unwrap()
    {
        ChangeOutcome::Pending { change_id } => change_id,
        other => panic!("{other:?}"),
    };
    let v = sites::get(app, &me, &code).await.unwrap();
    assert_eq!(v.org.name, saved.org.name);
    assert_eq!(
        v.pending.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [change_id.as_str()]
    );
    // One change at a time; nothing to change is refused; a bad postal code is named.
    assert_eq!(
        invalid(
            sites::change_registry(app, &me, &code, &renamed).await,
            "name"
        ),
        Msg::ChangePending
    );
    assert_eq!(
        invalid(
            sites::change_registry(app, &minato, &code, &current).await,
            "name"
        ),
        Msg::NothingChanged
    );
    assert_eq!(
        invalid(
            sites::change_registry(
                app,
                &minato,
                &code,
                &RegistryInput {
                    postal_code: Some("123".into()),
                    ..current.clone()
                }
            )
            .await,
            "postal_code"
        ),
        Msg::InvalidPostalCode
    );
    // 港区 sees it waiting; the clinic cannot decide its own change, nor can 港区's viewers.
    let (pending, total) = sites::list(
        app,
        &minato,
        &SiteQuery {
            filter: Some("pending".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((total, pending[0].code.as_str()), (1, code.as_str()));
    forbidden(sites::decide_change(app, &me, &change_id, true).await);
    forbidden(
        sites::decide_change(app, &w.actor("minato", "viewer").await, &change_id, true).await,
    );
    let decided = sites::decide_change(app, &minato, &change_id, true)
        .await
        .unwrap();
    assert_eq!(decided.status, "approved");
    let v = sites::get(app, &me, &code).await.unwrap();
    assert_eq!(v.org.name, "新しい名前クリニック");
    assert_eq!(v.profile.address.as_deref(), Some("東京都港区芝公園1-5-25"));
    assert!(v.pending.is_empty());
    state(
        sites::decide_change(app, &minato, &change_id, false).await,
        Msg::ChangeDecided,
    );
    not_found(sites::decide_change(app, &minato, "no-such-change", true).await);
    let (notices, _) = vsys_app::notices::list(app, &me, vsys_store::Page::first(10))
        .await
        .unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.notice.title_ja.contains("承認されました"))
    );

    // A move to 新宿区, asked by the clinic, rejected by 港区.
    let moving = RegistryInput {
        municipality_code: "13104".into(),
        ..sites::registry_of(&v.org, &v.profile)
    };
    let change_id = match sites::change_registry(app, &me, &code, &moving)
        .await
        .unwrap()
    {
        ChangeOutcome::Pending { change_id } => change_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        sites::decide_change(app, &minato, &change_id, false)
            .await
            .unwrap()
            .status,
        "rejected"
    );
    assert_eq!(
        sites::get(app, &me, &code)
            .await
            .unwrap()
            .org
            .parent_code
            .as_deref(),
        Some("13103")
    );
    // 港区 cannot hand the clinic to its neighbour; 東京都 can, at once.
    assert_eq!(
        invalid(
            sites::change_registry(app, &minato, &code, &moving).await,
            "municipality_code"
        ),
        Msg::OutOfScope
    );
    let tokyo = w.actor("tokyo", "operator").await;
    assert!(matches!(
        sites::change_registry(app, &tokyo, &code, &moving)
            .await
            .unwrap(),
        ChangeOutcome::Applied { .. }
    ));
    let moved = sites::get(app, &tokyo, &code).await.unwrap().org;
    assert_eq!(
        (moved.parent_code.as_deref(), moved.path),
        (Some("13104"), format!("/JP/13/13104/{code}/"))
    );
    // Now 港区 no longer sees it; the clinic still sees itself (at its new place).
    not_found(sites::get(app, &minato, &code).await);
    let me = w.actor("clinic", "operator").await;
    assert_eq!(sites::get(app, &me, &code).await.unwrap().org.code, code);
    assert_eq!(w.audit("site.registry").await.len(), 1);
    assert_eq!(w.audit("site.change.").await.len(), 2 + 2);
});

db_test!(
    confirmation_reservations_and_the_public_list,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let code = w.clinic().await;
        let me = w.actor("clinic", "operator").await;
        let minato = w.actor("minato", "operator").await;
        let public = |list: &[vsys_app::public::PublicSite]| -> Vec<String> {
            list.iter().map(|s| s.code.clone()).collect()
        };
        // The public site answers from a snapshot that the server rebuilds in the background
        // after a change (`public::run_follower`); here the rebuild is asked for directly.
        let rebuilt = || async {
            vsys_app::public::refresh(app).await.unwrap();
            vsys_app::public::municipality_sites(app, "13103")
                .await
                .unwrap()
        };
        // Before 港区 confirms the clinic, the public sees only the municipal site.
        let before = vsys_app::public::municipality_sites(app, "13103")
            .await
            .unwrap();
        assert!(!public(&before).contains(&code));
        let muni_site = w.municipal_site().await;
        assert!(
            before
                .iter()
                .any(|s| s.code == muni_site && s.kind == OrgKind::Site)
        );
        let (unconfirmed, _) = sites::list(
            app,
            &minato,
            &SiteQuery {
                filter: Some("unconfirmed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(unconfirmed.iter().any(|s| s.code == code));
        // 港区 confirms (against the version); the clinic cannot confirm itself.
        let v = sites::get(app, &minato, &code)
            .await
            .unwrap()
            .profile
            .version;
        assert!(sites::may_decide(
            &minato,
            &sites::get(app, &minato, &code).await.unwrap().org
        ));
        assert!(!sites::may_decide(
            &me,
            &sites::get(app, &me, &code).await.unwrap().org
        ));
        forbidden(sites::confirm(app, &me, &code, v).await);
        let confirmed = sites::confirm(app, &minato, &code, v).await.unwrap();
        assert!(confirmed.profile.confirmed_at.is_some());
        conflict(sites::confirm(app, &minato, &code, v).await);
        // One click on the reservation status.
        let p = sites::set_reservation(app, &me, &code, Reservation::Available)
            .await
            .unwrap();
        assert_eq!(p.reservation, Reservation::Available);
        assert!(p.reservation_at.is_some());
        // The snapshot read before the click still holds the clinic as it was; rebuilt, it
        // shows the click.
        let held = vsys_app::public::municipality_sites(app, "13103")
            .await
            .unwrap();
        assert!(
            !public(&held).contains(&code),
            "not confirmed when the snapshot was built"
        );
        let listed = rebuilt().await;
        let entry = listed.iter().find(|s| s.code == code).unwrap();
        assert_eq!(entry.reservation, Reservation::Available);
        not_found(vsys_app::public::municipality_sites(app, "13").await);
        not_found(vsys_app::public::municipality_sites(app, "99999").await);
        // A site that is not contracted cannot be confirmed, and leaves the public list.
        let view = sites::get(app, &minato, &code).await.unwrap();
        sites::change_registry(
            app,
            &minato,
            &code,
            &RegistryInput {
                contract_status: ContractStatus::NotContracted,
                ..sites::registry_of(&view.org, &view.profile)
            },
        )
        .await
        .unwrap();
        let v = sites::get(app, &minato, &code)
            .await
            .unwrap()
            .profile
            .version;
        assert_eq!(
            invalid(
                sites::confirm(app, &minato, &code, v).await,
                "contract_status"
            ),
            Msg::NotContracted
        );
        assert!(!public(&rebuilt().await).contains(&code));
        assert_eq!(w.audit("site.reservation").await.len(), 1);
    }
);

db_test!(doctors_hubs_and_municipal_sites, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let code = w.clinic().await;
    let me = w.actor("clinic", "operator").await;
    let minato = w.actor("minato", "operator").await;
    // Doctors: personal data, every read audited.
    assert_eq!(
        invalid(
            sites::add_doctor(
                app,
                &me,
                &code,
                &NewDoctor {
                    name: "港 医師".into(),
                    registration_number: Some("12-34".into()),
                }
            )
            .await,
            "registration_number"
        ),
        Msg::InvalidRegistrationNumber
    );
    let doctor = sites::add_doctor(
        app,
        &me,
        &code,
        &NewDoctor {
            name: "港 医師".into(),
            registration_number: Some("123456".into()),
        },
    )
    .await
    .unwrap();
    forbidden(
        sites::add_doctor(
            app,
            &w.actor("clinic", "viewer").await,
            &code,
            &NewDoctor {
                name: "閲覧 者".into(),
                registration_number: None,
            },
        )
        .await,
    );
    assert_eq!(
        sites::doctors(app, &minato, &code).await.unwrap(),
        vec![doctor.clone()]
    );
    assert_eq!(w.audit("doctor.read").await.len(), 1);
    sites::remove_doctor(app, &me, &code, &doctor.id)
        .await
        .unwrap();
    not_found(sites::remove_doctor(app, &me, &code, &doctor.id).await);
    assert!(sites::doctors(app, &me, &code).await.unwrap().is_empty());

    // Hubs and satellites are set by the municipality, within the prefecture.
    let muni_site = w.municipal_site().await;
    forbidden(sites::set_hub(app, &me, &code, SiteType::Hub, None).await);
    assert_eq!(
        invalid(
            sites::set_hub(app, &minato, &muni_site, SiteType::Satellite, None).await,
            "hub_code"
        ),
        Msg::HubInvalid
    );
    assert_eq!(
        invalid(
            sites::set_hub(
                app,
                &minato,
                &muni_site,
                SiteType::Satellite,
                Some(&muni_site)
            )
            .await,
            "hub_code"
        ),
        Msg::HubInvalid
    );
    let sat = sites::set_hub(app, &minato, &muni_site, SiteType::Satellite, Some(&code))
        .await
        .unwrap();
    assert_eq!(
        (sat.site_type, sat.hub_code.as_deref()),
        (SiteType::Satellite, Some(code.as_str()))
    );
    // A satellite is no hub; a hub with satellites does not become one.
    let third = sites::create_municipal_site(
        app,
        &minato,
        "13103",
        &sites::NewMunicipalSite {
            name: "港区第二集団接種会場".into(),
            postal_code: Some("105-0011".into()),
            address: Some("東京都港区芝公園4-2-8".into()),
            representative: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(third.org.code, "9131030002");
    assert_eq!(
        (
            third.org.kind,
            third.org.parent_code.as_deref(),
            third.profile.postal_code.as_deref()
        ),
        (OrgKind::Site, Some("13103"), Some("1050011"))
    );
    assert_eq!(
        invalid(
            sites::set_hub(
                app,
                &minato,
                &third.org.code,
                SiteType::Satellite,
                Some(&muni_site)
            )
            .await,
            "hub_code"
        ),
        Msg::HubInvalid
    );
    assert_eq!(
        invalid(
            sites::set_hub(
                app,
                &minato,
                &code,
                SiteType::Satellite,
                Some(&third.org.code)
            )
            .await,
            "site_type"
        ),
        Msg::HubHasSatellites
    );
    // Back to a hub of its own.
    let hub = sites::set_hub(app, &minato, &muni_site, SiteType::Hub, Some(&code))
        .await
        .unwrap();
    assert_eq!((hub.site_type, hub.hub_code), (SiteType::Hub, None));
    // The new municipal site is in 港区's list.
    let (all, _) = sites::list(app, &minato, &SiteQuery::default())
        .await
        .unwrap();
    assert!(
        all.iter()
            .any(|s| s.code == third.org.code && s.kind == OrgKind::Site)
    );
    assert_eq!(w.audit("site.create").await.len(), 1);
});

db_test!(
    a_change_filed_against_old_values_conflicts,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let code = w.clinic().await;
        let me = w.actor("clinic", "operator").await;
        let minato = w.actor("minato", "operator").await;
        let v = sites::get(app, &me, &code).await.unwrap();
        let current = sites::registry_of(&v.org, &v.profile);
        let change_id = match sites::change_registry(
            app,
            &me,
            &code,
            &RegistryInput {
                name: "申請中の名前".into(),
                ..current.clone()
            },
        )
        .await
        .unwrap()
        {
            ChangeOutcome::Pending { change_id } => change_id,
            other => panic!("{other:?}"),
        };
        // Meanwhile 港区 renames the clinic itself: the pending change no longer applies.
        sites::change_registry(
            app,
            &minato,
            &code,
            &RegistryInput {
                name: "港区が直した名前".into(),
                ..current
            },
        )
        .await
        .unwrap();
        conflict(sites::decide_change(app, &minato, &change_id, true).await);
        assert_eq!(
            sites::get(app, &me, &code).await.unwrap().org.name,
            "港区が直した名前"
        );
        // It can still be rejected.
        assert_eq!(
            sites::decide_change(app, &minato, &change_id, false)
                .await
                .unwrap()
                .status,
            "rejected"
        );
    }
);

db_test!(
    lists_follow_every_registry_write_of_any_process,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        // Two processes on one database: A reads (and caches) the lists, B writes.
        let a = &w.app;
        let b = &vsys_app::App::new(w.db.db.clone(), config(), w.clock.clone());
        let code = w.clinic().await;
        let me = w.actor("clinic", "operator").await;
        let minato = w.actor("minato", "operator").await;
        let tokyo = w.actor("tokyo", "operator").await;
        let on_a = |q: SiteQuery| {
            let minato = minato.clone();
            async move { sites::list(a, &minato, &q).await.unwrap() }
        };
        let entry = |page: &(Vec<sites::SiteSummary>, i64)| {
            page.0
                .iter()
                .find(|s| s.code == code)
                .cloned()
                .unwrap_or_else(|| panic!("{code} not listed"))
        };
        let all = || SiteQuery {
            per_page: Some(500),
            ..Default::default()
        };
        let before = on_a(all()).await;
        assert_eq!(on_a(all()).await.1, before.1, "read twice: the same");
        let first = entry(&before);
        assert!(!first.details_registered);
        // Details registered on B: A's next list says so.
        let version = sites::get(b, &me, &code).await.unwrap().profile.version;
        sites::put_details(b, &me, &code, version, &details(Some("03-1234-5678")))
            .await
            .unwrap();
        assert!(entry(&on_a(all()).await).details_registered);
        // One click on the reservation status.
        sites::set_reservation(b, &me, &code, Reservation::Available)
            .await
            .unwrap();
        assert_eq!(
            entry(&on_a(all()).await).reservation,
            Reservation::Available
        );
        // A change waits for 港区, then is approved: the count of pending changes, the
        // `pending` filter and finally the name follow.
        let view = sites::get(b, &me, &code).await.unwrap();
        let renamed = RegistryInput {
            name: "キャッシュ確認クリニック".into(),
            ..sites::registry_of(&view.org, &view.profile)
        };
        let change_id = match sites::change_registry(b, &me, &code, &renamed)
            .await
            .unwrap()
        {
            ChangeOutcome::Pending { change_id } => change_id,
            other => panic!("{other:?}"),
        };
        assert_eq!(entry(&on_a(all()).await).pending_changes, 1);
        let pending = || SiteQuery {
            filter: Some("pending".into()),
            ..Default::default()
        };
        assert_eq!(on_a(pending()).await.1, 1);
        sites::decide_change(b, &minato, &change_id, true)
            .await
            .unwrap();
        let after = entry(&on_a(all()).await);
        assert_eq!(
            (after.name.as_str(), after.pending_changes),
            ("キャッシュ確認クリニック", 0)
        );
        assert_eq!(on_a(pending()).await.1, 0);
        // The organisation list (東京都's, on A) shows the new name too; a new site of 港区
        // created on B appears in both lists on A.
        let orgs_of = |q: vsys_app::orgs::OrgQuery| {
            let tokyo = tokyo.clone();
            async move { vsys_app::orgs::list(a, &tokyo, &q).await.unwrap() }
        };
        let named = |q: &str| vsys_app::orgs::OrgQuery {
            q: Some(q.into()),
            ..Default::default()
        };
        assert_eq!(orgs_of(named("キャッシュ確認")).await.1, 1);
        assert_eq!(orgs_of(named("キャッシュ会場")).await.1, 0);
        let sites_before = on_a(all()).await.1;
        let created = vsys_app::orgs::create(
            b,
            &w.actor("minato", "admin").await,
            &vsys_app::orgs::NewOrg {
                kind: "site".into(),
                parent_code: "13103".into(),
                code: None,
                name: "キャッシュ会場".into(),
                name_en: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(orgs_of(named("キャッシュ会場")).await.1, 1);
        assert_eq!(on_a(all()).await.1, sites_before + 1);
        assert!(on_a(all()).await.0.iter().any(|s| s.code == created.code));
    }
);

db_test!(
    the_public_snapshot_follows_changes_and_outlives_the_database,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        use vsys_app::public;
        // As the server runs them: the change signal's follower and the snapshot's.
        let (stop_signal, signal_stopped) = tokio::sync::watch::channel(false);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let signal = tokio::spawn(vsys_app::signal::run_follower(app.clone(), signal_stopped));
        let follower = tokio::spawn(public::run_follower(app.clone(), stopped));
        let first = public::snapshot(app).await.unwrap();
        let site = w.municipal_site().await;
        let status_of = |list: Vec<public::PublicSite>| {
            list.into_iter()
                .find(|s| s.code == site)
                .map(|s| s.reservation)
        };
        let shown = status_of(public::municipality_sites(app, "13103").await.unwrap());
        assert!(shown.is_some(), "the municipal site is public");
        assert_ne!(shown, Some(Reservation::Few));
        // A click on the site's reservation status reaches the public site by itself.
        let me = w.actor("site", "operator").await;
        sites::set_reservation(app, &me, &site, Reservation::Few)
            .await
            .unwrap();
        let mut seen = None;
        for _ in 0..100 {
            seen = status_of(public::municipality_sites(app, "13103").await.unwrap());
            if seen == Some(Reservation::Few) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(seen, Some(Reservation::Few), "rebuilt after the change");
        let rebuilt = public::snapshot(app).await.unwrap();
        assert!(rebuilt.version > first.version);
        // The database goes away (the signal's follower first lets go of its PostgreSQL
        // listener, which would keep the pool from closing): a rebuild fails, the public site
        // keeps answering from the snapshot it has, which says when it was read.
        let _ = stop_signal.send(true);
        signal.await.unwrap();
        w.db.db.close().await;
        assert!(public::refresh(app).await.is_err());
        let still = public::snapshot(app).await.unwrap();
        assert_eq!(still.built_at, rebuilt.built_at);
        assert_eq!(
            status_of(public::municipality_sites(app, "13103").await.unwrap()),
            Some(Reservation::Few)
        );
        let _ = stop.send(true);
        follower.await.unwrap();
    }
);

/// A site outside 港区 (the demo's sites of 横浜市 and the other big cities).
async fn site_elsewhere(w: &World) -> String {
    let mut tx = w.db.db.read().await.unwrap();
    let f = vsys_store::orgs::OrgFilter {
        scope_path: "/JP/14/".into(),
        kinds: vec!["institution".into(), "site".into()],
        ..Default::default()
    };
    let (found, _) = vsys_store::orgs::list(&mut tx, &f, vsys_store::Page::first(1))
        .await
        .unwrap();
    found[0].code.clone()
}

fn item(code: &str, reservation: &str) -> sites::ReservationItem {
    sites::ReservationItem {
        code: code.into(),
        reservation: reservation.into(),
    }
}

/// The (row, site code, field, message) of every refused item.
#[track_caller]
fn refused_items(r: vsys_app::AppResult<usize>) -> Vec<(usize, String, String, Msg)> {
    match r {
        Err(vsys_app::AppError::Invalid(inv)) => inv
            .0
            .into_iter()
            .map(|e| {
                (
                    e.row.unwrap_or(0),
                    e.item.unwrap_or_default(),
                    e.field,
                    e.msg,
                )
            })
            .collect(),
        other => panic!("expected refused items, got {other:?}"),
    }
}

db_test!(
    reservations_in_bulk_all_or_nothing_in_scope,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let (clinic, muni_site) = (w.clinic().await, w.municipal_site().await);
        let elsewhere = site_elsewhere(&w).await;
        let minato = w.actor("minato", "operator").await;
        let status = |code: String| {
            let minato = minato.clone();
            async move {
                sites::get(app, &minato, &code)
                    .await
                    .unwrap()
                    .profile
                    .reservation
            }
        };
        assert_eq!(status(clinic.clone()).await, Reservation::Unregistered);
        // A site outside 港区 is refused like an unknown one, and nothing is set.
        let r = sites::set_reservations(
            app,
            &minato,
            &[
                item(&clinic, "available"),
                item(&elsewhere, "few"),
                item("9999999999", "few"),
                item("", "few"),
            ],
        )
        .await;
        assert_eq!(
            refused_items(r),
            [
                (2, elsewhere.clone(), "code".into(), Msg::UnknownSite),
                (3, "9999999999".into(), "code".into(), Msg::UnknownSite),
                (4, String::new(), "code".into(), Msg::Required),
            ]
        );
        assert_eq!(status(clinic.clone()).await, Reservation::Unregistered);
        // A bad status, or a site twice: nothing set either.
        let r = sites::set_reservations(
            app,
            &minato,
            &[
                item(&clinic, "予約可能"),
                item(&muni_site, "たぶん"),
                item(&clinic, "few"),
            ],
        )
        .await;
        assert_eq!(
            refused_items(r),
            [
                (
                    2,
                    muni_site.clone(),
                    "reservation".into(),
                    Msg::InvalidReservationWord
                ),
                (3, clinic.clone(), "code".into(), Msg::DuplicateSite),
            ]
        );
        assert_eq!(status(clinic.clone()).await, Reservation::Unregistered);
        assert_eq!(status(muni_site.clone()).await, Reservation::Unregistered);
        assert!(w.audit("site.reservation").await.is_empty());
        // Empty, or more than 5,000: refused as a whole.
        assert_eq!(
            invalid(sites::set_reservations(app, &minato, &[]).await, "items"),
            Msg::NoItems
        );
        let many: Vec<_> = (0..=sites::MAX_RESERVATION_ITEMS)
            .map(|_| item(&clinic, "few"))
            .collect();
        assert_eq!(
            invalid(sites::set_reservations(app, &minato, &many).await, "items"),
            Msg::TooManyItems
        );
        // A viewer changes nothing.
        let viewer = w.actor("minato", "viewer").await;
        forbidden(sites::set_reservations(app, &viewer, &[item(&clinic, "few")]).await);

        // Accepted: every status set in one go, with the words and marks as written, one
        // audit entry per site.
        w.clock.advance(chrono::Duration::minutes(5));
        let set_from = app.clock.now();
        let n = sites::set_reservations(
            app,
            &minato,
            &[item(&clinic, " 予約可能 "), item(&muni_site, "△")],
        )
        .await
        .unwrap();
        assert_eq!(n, 2);
        let v = sites::get(app, &minato, &clinic).await.unwrap();
        assert_eq!(v.profile.reservation, Reservation::Available);
        assert!(v.profile.reservation_at.is_some_and(|at| at >= set_from));
        assert_eq!(status(muni_site.clone()).await, Reservation::Few);
        let entries = w.audit("site.reservation").await;
        let mut audited: Vec<&str> = entries.iter().map(|e| e.object_id.as_str()).collect();
        audited.sort_unstable();
        let mut expected = vec![clinic.as_str(), muni_site.as_str()];
        expected.sort_unstable();
        assert_eq!(audited, expected);
        assert!(
            entries
                .iter()
                .all(|e| e.actor_org.as_deref() == Some("13103"))
        );
        // 東京都 (above 港区) may too; a site sets itself only.
        let tokyo = w.actor("tokyo", "operator").await;
        assert_eq!(
            sites::set_reservations(app, &tokyo, &[item(&clinic, "none")])
                .await
                .unwrap(),
            1
        );
        assert_eq!(status(clinic.clone()).await, Reservation::None);
        let me = w.actor("clinic", "operator").await;
        assert_eq!(
            refused_items(
                sites::set_reservations(app, &me, &[item(&clinic, "few"), item(&muni_site, "few")])
                    .await
            ),
            [(2, muni_site.clone(), "code".into(), Msg::UnknownSite)]
        );
        assert_eq!(
            sites::set_reservations(app, &me, &[item(&clinic, "not_needed")])
                .await
                .unwrap(),
            1
        );
        // The one-click update follows the same rule.
        not_found(sites::set_reservation(app, &me, &muni_site, Reservation::Few).await);
        assert_eq!(w.audit("site.reservation").await.len(), 4);
    }
);

db_test!(reservations_from_a_csv_file, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let (clinic, muni_site) = (w.clinic().await, w.municipal_site().await);
    let minato = w.actor("minato", "operator").await;
    use vsys_app::csv_files::{TableError, reservations};
    // The template lists 港区's sites with their current status.
    let template = String::from_utf8(reservations::template(app, &minato).await.unwrap()).unwrap();
    assert!(
        template.starts_with("\u{feff}医療機関等コード,名称,予約状況"),
        "{template}"
    );
    assert!(template.contains(&format!("{muni_site},")), "{template}");
    assert!(template.contains("未登録"), "{template}");
    // Shift_JIS with a bad row: the row and column named, nothing set.
    let text = format!("医療機関等コード,予約状況\r\n{clinic},○\r\n{muni_site},？\r\n");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    match reservations::import(app, &minato, &sjis).await {
        Err(vsys_app::AppError::Csv(TableError::Rows(errors))) => {
            let got: Vec<_> = errors
                .iter()
                .map(|e| (e.row, e.field.as_str(), e.msg))
                .collect();
            assert_eq!(got, [(Some(2), "予約状況", Msg::InvalidReservationWord)]);
        }
        other => panic!("expected row errors, got {other:?}"),
    }
    let get = |code: String| {
        let minato = minato.clone();
        async move {
            sites::get(app, &minato, &code)
                .await
                .unwrap()
                .profile
                .reservation
        }
    };
    assert_eq!(get(clinic.clone()).await, Reservation::Unregistered);
    // The template's own shape, in UTF-8 with a BOM: set.
    let good =
        format!("\u{feff}医療機関等コード,名称,予約状況\n{clinic},,○\n{muni_site},会場,予約不要\n");
    assert_eq!(
        reservations::import(app, &minato, good.as_bytes())
            .await
            .unwrap(),
        2
    );
    assert_eq!(get(clinic.clone()).await, Reservation::Available);
    assert_eq!(get(muni_site.clone()).await, Reservation::NotNeeded);
});
