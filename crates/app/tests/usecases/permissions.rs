//! The permission source: `Capability` by kind and role as every demo user holds it, each
//! use-case that needs a capability refusing without it, and scope between siblings.

use crate::common::*;
use vsys_app::AppError;
use vsys_domain::{Capability, Msg, OrgKind, Role};
use vsys_testkit::db_test;

const ALL: [Capability; 16] = [
    Capability::ManageProgramme,
    Capability::ImportRegistry,
    Capability::OverseeArea,
    Capability::ReviewSites,
    Capability::RunSite,
    Capability::SeeOwnDeliveries,
    Capability::EnterDeliveryDates,
    Capability::ReassignDeliveries,
    Capability::SeeUpstream,
    Capability::KeepDelivererStock,
    Capability::RecordInbound,
    Capability::SeeDryIce,
    Capability::ManageApiTokens,
    Capability::SupplyProducts,
    Capability::CreateMunicipalSites,
    Capability::RequestSupply,
];

/// What each kind of organisation can do, with the least role that can: the rules as the
/// issue states them, written out once more as a table.
fn expected(slug: &str) -> (OrgKind, Vec<(Capability, Role)>) {
    use Capability::*;
    use Role::{Admin, Operator, Viewer};
    match slug {
        "nation" => (
            OrgKind::Nation,
            vec![
                (ManageProgramme, Operator),
                (ImportRegistry, Operator),
                (OverseeArea, Viewer),
                (ReviewSites, Operator),
                (ReassignDeliveries, Operator),
                (SeeUpstream, Viewer),
                (SeeDryIce, Viewer),
                (SupplyProducts, Operator),
            ],
        ),
        "tokyo" => (
            OrgKind::Prefecture,
            vec![
                (ImportRegistry, Operator),
                (OverseeArea, Viewer),
                (ReviewSites, Operator),
                (ReassignDeliveries, Operator),
                (SeeDryIce, Viewer),
            ],
        ),
        "minato" => (
            OrgKind::Municipality,
            vec![
                (OverseeArea, Viewer),
                (ReviewSites, Operator),
                (SeeDryIce, Viewer),
                (CreateMunicipalSites, Operator),
                (ManageApiTokens, Admin),
            ],
        ),
        "clinic" => (
            OrgKind::Institution,
            vec![(RunSite, Viewer), (RequestSupply, Operator)],
        ),
        "site" => (
            OrgKind::Site,
            vec![(RunSite, Viewer), (RequestSupply, Operator)],
        ),
        "pfizer" => (
            OrgKind::Manufacturer,
            vec![
                (SeeOwnDeliveries, Viewer),
                (EnterDeliveryDates, Operator),
                (SeeUpstream, Viewer),
                (KeepDelivererStock, Viewer),
                (RecordInbound, Operator),
                (ManageApiTokens, Admin),
                (SupplyProducts, Operator),
            ],
        ),
        "wholesaler" => (
            OrgKind::Wholesaler,
            vec![
                (SeeOwnDeliveries, Viewer),
                (EnterDeliveryDates, Operator),
                (SeeUpstream, Viewer),
                (KeepDelivererStock, Viewer),
                (RecordInbound, Operator),
                (ManageApiTokens, Admin),
            ],
        ),
        "dryice" => (
            OrgKind::DryIceMaker,
            vec![
                (SeeOwnDeliveries, Viewer),
                (EnterDeliveryDates, Operator),
                (SeeDryIce, Viewer),
                (ManageApiTokens, Admin),
            ],
        ),
        "syringe" => (
            OrgKind::SyringeWarehouse,
            vec![
                (SeeOwnDeliveries, Viewer),
                (EnterDeliveryDates, Operator),
                (SeeUpstream, Viewer),
                (KeepDelivererStock, Viewer),
                (RecordInbound, Operator),
                (ManageApiTokens, Admin),
                (SupplyProducts, Operator),
            ],
        ),
        other => panic!("no demo organisation {other}"),
    }
}

db_test!(
    capabilities_of_every_demo_kind_and_role,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let slugs = [
            "nation",
            "tokyo",
            "minato",
            "clinic",
            "site",
            "pfizer",
            "wholesaler",
            "dryice",
            "syringe",
        ];
        for slug in slugs {
            let (kind, table) = expected(slug);
            for role in Role::ALL {
                let actor = w.actor(slug, role.as_str()).await;
                assert_eq!(actor.principal().org_kind, kind, "{slug}");
                assert_eq!(actor.role(), role, "{slug}");
                for c in ALL {
                    let want = table.iter().any(|(cap, least)| *cap == c && role >= *least);
                    assert_eq!(actor.can(c), want, "{slug}-{} {c:?}", role.as_str());
                    match actor.require_can(c) {
                        Ok(()) => assert!(want, "{slug}-{} {c:?}", role.as_str()),
                        Err(AppError::Forbidden) => {
                            assert!(!want, "{slug}-{} {c:?}", role.as_str())
                        }
                        Err(e) => panic!("{slug}-{} {c:?}: {e:?}", role.as_str()),
                    }
                }
            }
        }
    }
);

db_test!(
    use_cases_refuse_without_their_capability,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let demo = w.demo_cycle().await;
        let tokyo = w.actor("tokyo", "operator").await;
        let minato = w.actor("minato", "operator").await;
        let clinic = w.actor("clinic", "operator").await;
        let wholesaler = w.actor("wholesaler", "operator").await;
        let today = w.today();

        // The programme is the nation's operators'.
        let input = w.cycle_input(90).await;
        forbidden(vsys_app::cycles::create(app, &tokyo, &input).await);
        forbidden(vsys_app::cycles::create(app, &w.actor("nation", "viewer").await, &input).await);
        forbidden(vsys_app::results::open_period(app, &tokyo, today, today).await);
        let periods = vsys_app::results::periods(app, &tokyo).await.unwrap();
        forbidden(vsys_app::results::close_period(app, &tokyo, &periods[0].id).await);
        // The registry: nation and prefectures.
        let file =
            "医療機関コード,老健施設等コード,名称,郵便番号,市町村コード,住所,代表者,契約状況\r\n";
        forbidden(
            vsys_app::site_import::import(app, &minato, file.as_bytes(), &|_, _, _| {}).await,
        );
        forbidden(vsys_app::site_import::start(app, &minato, file.as_bytes().to_vec()).await);
        // Supply: manufacturers and warehouses (and the nation), never a prefecture.
        forbidden(
            vsys_app::cycles::register_supply(
                app,
                &tokyo,
                &demo.id,
                &vsys_app::cycles::SupplyInput {
                    supplier_code: Some("M001".into()),
                    product_id: demo.vaccine_id.clone(),
                    quantity: 1,
                },
            )
            .await,
        );
        // Organisation tokens: deliverers' administrators only.
        forbidden(vsys_app::api_tokens::create(app, &wholesaler, "W13001", "基幹システム").await);
        forbidden(vsys_app::api_tokens::list(app, &wholesaler, "W13001").await);
        let admin = w.actor("wholesaler", "admin").await;
        let token = vsys_app::api_tokens::create(app, &admin, "W13001", "基幹システム")
            .await
            .unwrap();
        assert!(token.secret.starts_with(vsys_app::api_tokens::PREFIX));
        // A token acts as an operator of its organisation.
        let by_token = vsys_app::api_tokens::authenticate(app, &token.secret, None)
            .await
            .unwrap();
        assert_eq!(
            (by_token.org_code(), by_token.role()),
            ("W13001", Role::Operator)
        );
        vsys_app::api_tokens::revoke(app, &admin, "W13001", &token.token.id)
            .await
            .unwrap();
        assert!(matches!(
            vsys_app::api_tokens::authenticate(app, &token.secret, None).await,
            Err(AppError::NotLoggedIn)
        ));
        // Municipal sites: municipalities' operators.
        let site = vsys_app::sites::NewMunicipalSite {
            name: "港区第二集団接種会場".into(),
            postal_code: None,
            address: None,
            representative: None,
        };
        forbidden(vsys_app::sites::create_municipal_site(app, &tokyo, "13103", &site).await);
        forbidden(
            vsys_app::sites::create_municipal_site(
                app,
                &w.actor("minato", "viewer").await,
                "13103",
                &site,
            )
            .await,
        );
        // Idle stock is for those who oversee an area.
        forbidden(vsys_app::stock::idle_sites(app, &clinic).await);
        forbidden(vsys_app::stock::idle_sites(app, &wholesaler).await);
        assert!(!vsys_app::stock::may_see_idle(&clinic));
        // Dry ice: dry-ice makers and governments; upstream: the nation and suppliers.
        forbidden(vsys_app::delivery::dry_ice(app, &wholesaler, &demo.id).await);
        forbidden(vsys_app::delivery::upstream(app, &minato, &demo.id).await);
        forbidden(vsys_app::delivery::upstream(app, &tokyo, &demo.id).await);
        // Deliverer stock and inbound: those who keep stock (dry-ice makers do not).
        forbidden(vsys_app::delivery::deliverer_stock(app, &minato, &demo.id).await);
        let inbound = vsys_app::delivery::InboundInput {
            cycle_id: demo.id.clone(),
            item: vsys_domain::ProductKind::Vaccine,
            quantity: 10,
            received_on: today,
        };
        forbidden(
            vsys_app::delivery::record_inbound(app, &w.actor("dryice", "operator").await, &inbound)
                .await,
        );
        forbidden(
            vsys_app::delivery::record_inbound(
                app,
                &w.actor("wholesaler", "viewer").await,
                &inbound,
            )
            .await,
        );
        // Audit: nation administrators.
        forbidden(vsys_app::audit::verify(app, &w.actor("nation", "operator").await).await);
        forbidden(vsys_app::audit::verify(app, &w.actor("tokyo", "admin").await).await);
        // Nobody was let through by mistake: none of the refused writes left an audit entry
        // (the demo seeded one cycle with three supply lines).
        for (action, seeded) in [
            ("cycle.create", 1),
            ("cycle.supply", 3),
            ("results.period", 0),
            ("site.", 0),
            ("delivery.", 0),
        ] {
            assert_eq!(w.audit(action).await.len(), seeded, "{action}");
        }
    }
);

db_test!(scope_between_sibling_municipalities, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let minato = w.actor("minato", "operator").await;
    // 新宿区 (13104), 港区's neighbour, registers a site of its own.
    let shinjuku = w
        .make_user("13104", "operator", "shinjuku-operator@example.jp")
        .await;
    let theirs = vsys_app::sites::create_municipal_site(
        app,
        &shinjuku,
        "13104",
        &vsys_app::sites::NewMunicipalSite {
            name: "新宿区集団接種会場".into(),
            postal_code: Some("160-0022".into()),
            address: Some("東京都新宿区新宿5-18-21".into()),
            representative: None,
        },
    )
    .await
    .unwrap()
    .org
    .code;
    assert!(theirs.starts_with("913104"), "{theirs}");
    let clinic = w.clinic().await;
    let cycle = w.demo_cycle().await;
    let today = w.today();

    // Another municipality's site does not exist, as far as 港区 can tell.
    not_found(vsys_app::sites::get(app, &minato, &theirs).await);
    not_found(
        vsys_app::sites::put_details(
            app,
            &minato,
            &theirs,
            0,
            &vsys_app::sites::DetailsInput {
                phone: Some("03-1234-5678".into()),
                ..Default::default()
            },
        )
        .await,
    );
    not_found(
        vsys_app::sites::set_reservation(app, &minato, &theirs, vsys_domain::Reservation::Few)
            .await,
    );
    not_found(vsys_app::sites::doctors(app, &minato, &theirs).await);
    not_found(vsys_app::stock::view(app, &minato, &theirs).await);
    not_found(
        vsys_app::results::put_day(
            app,
            &minato,
            &theirs,
            today,
            None,
            &vsys_app::results::DayInput::default(),
        )
        .await,
    );
    not_found(vsys_app::results::day(app, &minato, &theirs, today).await);
    not_found(vsys_app::requests::get(app, &minato, &cycle.id, &theirs).await);
    not_found(
        vsys_app::requests::put(
            app,
            &minato,
            &cycle.id,
            &theirs,
            None,
            &vsys_app::requests::RequestInput {
                capacity_doses: 10,
                requested_doses: 10,
                storage: "freezer".into(),
                needles: 0,
                syringes: 0,
            },
        )
        .await,
    );
    not_found(vsys_app::orgs::get(app, &minato, &theirs).await);
    // …nor its users.
    let minato_admin = w.actor("minato", "admin").await;
    not_found(
        vsys_app::accounts::list(app, &minato_admin, Some("13104"), vsys_store::Page::all()).await,
    );
    not_found(vsys_app::accounts::get(app, &minato_admin, shinjuku.user_id()).await);
    not_found(vsys_app::accounts::lock(app, &minato_admin, shinjuku.user_id()).await);
    // Notices go to organisations in one's own scope only.
    let notice = vsys_app::notices::NoticeDraft {
        category: "info".into(),
        title_ja: "お知らせ".into(),
        title_en: "Notice".into(),
        body_ja: "本文".into(),
        body_en: "Body".into(),
        link: None,
    };
    not_found(vsys_app::notices::post(app, &minato, "13104", &notice).await);
    // A municipal site is registered in one's own municipality only.
    assert_eq!(
        invalid(
            vsys_app::sites::create_municipal_site(
                app,
                &minato,
                "13104",
                &vsys_app::sites::NewMunicipalSite {
                    name: "越境会場".into(),
                    postal_code: None,
                    address: None,
                    representative: None,
                },
            )
            .await,
            "municipality_code"
        ),
        Msg::UnknownOrg
    );
    // The municipality itself is shared master data: everyone reads it.
    assert_eq!(
        vsys_app::orgs::get(app, &minato, "13104")
            .await
            .unwrap()
            .name,
        "新宿区"
    );
    // And the other way round.
    not_found(vsys_app::sites::get(app, &shinjuku, &clinic).await);
    not_found(vsys_app::stock::view(app, &shinjuku, &clinic).await);
    // Another prefecture sees nothing of 東京都's sites; 東京都 sees both municipalities'.
    let kanagawa = w
        .make_user("14", "operator", "kanagawa-operator@example.jp")
        .await;
    not_found(vsys_app::sites::get(app, &kanagawa, &clinic).await);
    not_found(vsys_app::sites::get(app, &kanagawa, &theirs).await);
    let tokyo = w.actor("tokyo", "viewer").await;
    assert_eq!(
        vsys_app::sites::get(app, &tokyo, &theirs)
            .await
            .unwrap()
            .org
            .code,
        theirs
    );
    assert_eq!(
        vsys_app::sites::get(app, &tokyo, &clinic)
            .await
            .unwrap()
            .org
            .code,
        clinic
    );

    // Inside one's own scope, beyond one's role: forbidden, not hidden.
    let viewer = w.actor("minato", "viewer").await;
    assert_eq!(
        vsys_app::sites::get(app, &viewer, &clinic)
            .await
            .unwrap()
            .org
            .code,
        clinic
    );
    forbidden(
        vsys_app::sites::set_reservation(app, &viewer, &clinic, vsys_domain::Reservation::Few)
            .await,
    );
    forbidden(vsys_app::notices::post(app, &viewer, "13103", &notice).await);
    forbidden(vsys_app::accounts::list(app, &minato, None, vsys_store::Page::all()).await);
    // A site runs itself, not its municipality.
    let clinic_op = w.actor("clinic", "operator").await;
    let muni_site = w.municipal_site().await;
    not_found(vsys_app::sites::get(app, &clinic_op, &muni_site).await);
    not_found(vsys_app::notices::post(app, &clinic_op, "13103", &notice).await);
});
