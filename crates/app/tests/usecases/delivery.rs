//! Delivery after a cycle is finalised: lines per site and item assigned to their deliverers,
//! seen by the deliverer and the area only; dates entered against versions (one by one, in
//! bulk, by CSV), the site told and its stock written; counts of late lines; reassignment by
//! the prefecture; upstream amounts, deliverers' inbound and stock, dry ice, basic information.

use crate::common::*;
use chrono::Duration;
use vsys_app::AppError;
use vsys_app::csv_files::{self, Encoding};
use vsys_app::delivery::{self, BulkLine, DatesInput, DeliveryQuery, InboundInput};
use vsys_domain::{Lang, Msg, ProductKind};
use vsys_store::Page;
use vsys_store::deliveries::DeliveryRow;
use vsys_testkit::db_test;

fn of_cycle(cycle: &str) -> DeliveryQuery {
    DeliveryQuery {
        cycle: Some(cycle.into()),
        per_page: Some(500),
        ..Default::default()
    }
}

fn scheduled(day: chrono::NaiveDate) -> DatesInput {
    DatesInput {
        scheduled_on: Some(day),
        ..Default::default()
    }
}

db_test!(lines_dates_stock_and_reassignment, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let cycle = w.finalised(11).await;
    let q = of_cycle(&cycle.id);
    let wholesaler = w.actor("wholesaler", "operator").await;
    let warehouse = w.actor("syringe", "operator").await;
    let tokyo = w.actor("tokyo", "operator").await;
    // The vaccine goes through 東京都's wholesaler; needles and syringes from the warehouse.
    let (vaccine, n) = delivery::list(app, &wholesaler, &q).await.unwrap();
    assert!(n >= 1);
    assert!(
        vaccine
            .iter()
            .all(|d| d.item == ProductKind::Vaccine && d.deliverer_code == "W13001")
    );
    let clinic = w.clinic().await;
    let first: DeliveryRow = vaccine
        .iter()
        .find(|d| d.site_code == clinic)
        .cloned()
        .unwrap();
    assert_eq!(first.storage.as_deref(), Some("dry_ice"));
    let (kits, _) = delivery::list(app, &warehouse, &q).await.unwrap();
    assert!(
        kits.iter()
            .all(|d| d.item != ProductKind::Vaccine && d.deliverer_code == "N001")
    );
    assert!(kits.iter().any(|d| d.item == ProductKind::Needle));
    // 東京都 and 港区 see them all: none scheduled yet.
    let (_, all) = delivery::list(app, &tokyo, &q).await.unwrap();
    assert_eq!(all, (vaccine.len() + kits.len()) as i64);
    let status = delivery::status(app, &tokyo, &q).await.unwrap();
    assert_eq!(
        (
            status.total,
            status.unscheduled,
            status.late,
            status.delivered
        ),
        (all, all, 0, 0)
    );
    assert_eq!(
        delivery::status(app, &w.actor("minato", "viewer").await, &q)
            .await
            .unwrap()
            .total,
        all
    );
    // The wholesaler was told of its lines.
    let (notices, _) = vsys_app::notices::list(app, &wholesaler, Page::first(10))
        .await
        .unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.notice.title_ja.contains("配送先の確定"))
    );

    // Another prefecture's wholesaler sees nothing and reaches nothing.
    let osaka = w
        .make_user("W27001", "operator", "osaka-wholesaler@example.jp")
        .await;
    assert_eq!(delivery::list(app, &osaka, &q).await.unwrap().1, 0);
    not_found(delivery::get(app, &osaka, &first.id).await);
    not_found(delivery::enter(app, &osaka, &first.id, 0, &scheduled(w.today())).await);
    assert_eq!(
        invalid(
            delivery::enter_many(
                app,
                &osaka,
                &[BulkLine {
                    id: first.id.clone(),
                    version: 0,
                    dates: scheduled(w.today()),
                }]
            )
            .await,
            "id"
        ),
        Msg::NotFound
    );
    // Those above may look, not write; the wholesaler does not reassign.
    assert_eq!(delivery::get(app, &tokyo, &first.id).await.unwrap(), first);
    forbidden(delivery::enter(app, &tokyo, &first.id, 0, &scheduled(w.today())).await);
    forbidden(delivery::reassign(app, &wholesaler, &first.id, "W13001").await);
    forbidden(
        delivery::enter(
            app,
            &w.actor("wholesaler", "viewer").await,
            &first.id,
            0,
            &scheduled(w.today()),
        )
        .await,
    );

    // 東京都 reassigns an undated line to a wholesaler serving 港区, and back.
    assert_eq!(
        invalid(
            delivery::reassign(app, &tokyo, &first.id, "W27001").await,
            "deliverer_code"
        ),
        Msg::NotServing
    );
    let second = vsys_app::orgs::create(
        app,
        &w.actor("tokyo", "admin").await,
        &vsys_app::orgs::NewOrg {
            kind: "wholesaler".into(),
            parent_code: "13".into(),
            code: None,
            name: "第二ワクチン卸".into(),
            name_en: None,
        },
    )
    .await
    .unwrap();
    vsys_app::orgs::set_areas(app, &tokyo, &second.code, &["13103".into()])
        .await
        .unwrap();
    let moved = delivery::reassign(app, &tokyo, &first.id, &second.code)
        .await
        .unwrap();
    assert_eq!(
        (moved.deliverer_code.as_str(), moved.version),
        (second.code.as_str(), 1)
    );
    not_found(delivery::get(app, &wholesaler, &first.id).await);
    let back = delivery::reassign(app, &tokyo, &first.id, "W13001")
        .await
        .unwrap();
    assert_eq!(back.version, 2);

    // The wholesaler schedules it in two days (against the version): the site is told.
    let today = w.today();
    let d1 = delivery::enter(
        app,
        &wholesaler,
        &first.id,
        2,
        &DatesInput {
            delivery_number: Some("D-0001".into()),
            ..scheduled(today + Duration::days(2))
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (d1.version, d1.delivery_number.as_deref()),
        (3, Some("D-0001"))
    );
    conflict(delivery::enter(app, &wholesaler, &first.id, 2, &scheduled(today)).await);
    let (notices, _) =
        vsys_app::notices::list(app, &w.actor("clinic", "viewer").await, Page::first(20))
            .await
            .unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.notice.title_ja == "配送予定日のお知らせ")
    );
    // A dated line stays with its wholesaler; a future actual date is refused.
    assert_eq!(
        invalid(
            delivery::reassign(app, &tokyo, &first.id, &second.code).await,
            "deliverer_code"
        ),
        Msg::DeliveryDated
    );
    assert_eq!(
        invalid(
            delivery::enter(
                app,
                &wholesaler,
                &first.id,
                3,
                &DatesInput {
                    delivered_on: Some(today + Duration::days(2)),
                    ..Default::default()
                }
            )
            .await,
            "delivered_on"
        ),
        Msg::FutureDay
    );
    let status = delivery::status(app, &tokyo, &q).await.unwrap();
    assert_eq!(status.unscheduled, all - 1);
    assert_eq!(
        status.by_scheduled_day,
        vec![(today + Duration::days(2), 1)]
    );
    // Three days later the line is late.
    w.clock.advance(Duration::days(3));
    let tokyo = w.actor("tokyo", "operator").await;
    assert_eq!(delivery::status(app, &tokyo, &q).await.unwrap().late, 1);
    let late = DeliveryQuery {
        state: Some("late".into()),
        ..of_cycle(&cycle.id)
    };
    let (rows, _) = delivery::list(app, &tokyo, &late).await.unwrap();
    assert_eq!(
        rows.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [first.id.as_str()]
    );
    // Delivered (with its lot): the site's stock grows by the vials, once.
    let before = vsys_app::stock::view(app, &tokyo, &clinic)
        .await
        .unwrap()
        .vials;
    let arrived = today + Duration::days(2);
    let d2 = delivery::enter(
        app,
        &wholesaler,
        &first.id,
        3,
        &DatesInput {
            delivered_on: Some(arrived),
            lot: Some("FK1234".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let after = vsys_app::stock::view(app, &tokyo, &clinic).await.unwrap();
    assert_eq!(after.vials, before + first.quantity);
    assert!(after.lots.iter().any(|l| l.lot == "FK1234"));
    // Delivered: the dates and the lot stay as recorded.
    for (field, input) in [
        (
            "delivered_on",
            DatesInput {
                delivered_on: Some(today),
                ..Default::default()
            },
        ),
        ("scheduled_on", scheduled(today)),
        (
            "lot",
            DatesInput {
                lot: Some("ZZ9999".into()),
                ..Default::default()
            },
        ),
    ] {
        assert_eq!(
            invalid(
                delivery::enter(app, &wholesaler, &first.id, d2.version, &input).await,
                field
            ),
            Msg::DeliveredAlready
        );
    }
    let status = delivery::status(app, &tokyo, &q).await.unwrap();
    assert_eq!((status.late, status.delivered), (0, 1));
    assert_eq!(status.by_delivered_day, vec![(arrived, 1)]);

    // Bulk: one stale line refuses the whole batch and names its row.
    let (kits, _) = delivery::list(app, &warehouse, &q).await.unwrap();
    let lines: Vec<BulkLine> = kits
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, d)| BulkLine {
            id: d.id.clone(),
            version: if i == 1 { 99 } else { d.version },
            dates: scheduled(w.today() + Duration::days(1)),
        })
        .collect();
    assert_eq!(lines.len(), 2);
    match delivery::enter_many(app, &warehouse, &lines).await {
        Err(AppError::Invalid(inv)) => assert_eq!(
            inv.0
                .iter()
                .map(|f| (f.row, f.field.as_str()))
                .collect::<Vec<_>>(),
            [(Some(2), "version")]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        delivery::status(app, &tokyo, &q).await.unwrap().unscheduled,
        all - 1
    );
    let fixed: Vec<BulkLine> = lines
        .into_iter()
        .map(|l| BulkLine { version: 0, ..l })
        .collect();
    assert_eq!(
        delivery::enter_many(app, &warehouse, &fixed).await.unwrap(),
        2
    );
    assert_eq!(
        delivery::status(app, &tokyo, &q).await.unwrap().unscheduled,
        all - 3
    );
    assert_eq!(w.audit("delivery.reassign").await.len(), 2);
});

db_test!(
    upstream_inbound_dry_ice_info_and_csv,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let cycle = w.finalised(11).await;
        let id = cycle.id.as_str();
        let q = of_cycle(id);
        let wholesaler = w.actor("wholesaler", "operator").await;
        let (vaccine, _) = delivery::list(app, &wholesaler, &q).await.unwrap();
        let assigned: i64 = vaccine.iter().map(|d| d.quantity).sum();
        // Upstream: the nation sees every deliverer; the manufacturer what it supplies; a
        // wholesaler its own.
        let nation = delivery::upstream(app, &w.actor("nation", "viewer").await, id)
            .await
            .unwrap();
        let deliverers: Vec<(&str, ProductKind)> = nation
            .iter()
            .map(|l| (l.deliverer_code.as_str(), l.item))
            .collect();
        assert!(deliverers.contains(&("W13001", ProductKind::Vaccine)));
        assert!(deliverers.contains(&("N001", ProductKind::Needle)));
        assert!(deliverers.contains(&("N001", ProductKind::Syringe)));
        let pfizer = delivery::upstream(app, &w.actor("pfizer", "viewer").await, id)
            .await
            .unwrap();
        assert!(pfizer.iter().all(|l| l.item == ProductKind::Vaccine));
        let mine = delivery::upstream(app, &wholesaler, id).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(
            (
                mine[0].quantity,
                mine[0].delivered,
                mine[0].deliverer_name.is_empty()
            ),
            (assigned, 0, false)
        );
        not_found(delivery::upstream(app, &wholesaler, "no-such-cycle").await);

        // Inbound and stock of the deliverer.
        let today = w.today();
        let inbound = |quantity, on| InboundInput {
            cycle_id: id.into(),
            item: ProductKind::Vaccine,
            quantity,
            received_on: on,
        };
        assert_eq!(
            invalid(
                delivery::record_inbound(app, &wholesaler, &inbound(0, today)).await,
                "quantity"
            ),
            Msg::LedgerNotPositive
        );
        assert_eq!(
            invalid(
                delivery::record_inbound(app, &wholesaler, &inbound(5, today + Duration::days(1)))
                    .await,
                "received_on"
            ),
            Msg::FutureDay
        );
        delivery::record_inbound(app, &wholesaler, &inbound(assigned + 10, today))
            .await
            .unwrap();
        let first = &vaccine[0];
        delivery::enter(
            app,
            &wholesaler,
            &first.id,
            first.version,
            &DatesInput {
                delivered_on: Some(today),
                lot: Some("FK0001".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let stock = delivery::deliverer_stock(app, &wholesaler, id)
            .await
            .unwrap();
        assert_eq!(stock.len(), 1);
        assert_eq!(
            (
                stock[0].item,
                stock[0].assigned,
                stock[0].received,
                stock[0].delivered,
                stock[0].on_hand
            ),
            (
                ProductKind::Vaccine,
                assigned,
                assigned + 10,
                first.quantity,
                assigned + 10 - first.quantity
            )
        );

        // Dry ice where a site keeps its vaccine on dry ice: for the maker and the area.
        let rules = vsys_app::products::rules(app, &w.actor("nation", "viewer").await)
            .await
            .unwrap();
        let clinic = w.clinic().await;
        let lines = delivery::dry_ice(app, &w.actor("dryice", "operator").await, id)
            .await
            .unwrap();
        let line = lines.iter().find(|l| l.site_code == clinic).unwrap();
        let boxes = (line.vials + 194) / 195;
        assert_eq!(
            (line.boxes, line.grams),
            (boxes, boxes * rules.dry_ice_grams_ultra_cold)
        );
        assert!(lines.iter().all(|l| l.cycle_id == id));
        let area = delivery::dry_ice(app, &w.actor("minato", "viewer").await, id)
            .await
            .unwrap();
        assert_eq!(
            area.iter().map(|l| &l.delivery_id).collect::<Vec<_>>(),
            lines.iter().map(|l| &l.delivery_id).collect::<Vec<_>>()
        );
        let osaka = w.make_user("27", "viewer", "osaka-viewer@example.jp").await;
        assert!(delivery::dry_ice(app, &osaka, id).await.unwrap().is_empty());

        // Basic information: the deliverer's own, read by those above.
        let info = delivery::DelivererInfo {
            postal_code: Some("105-0011".into()),
            address: Some("東京都港区芝公園4-2-8".into()),
            phone: Some("03-1234-5678".into()),
            contact: Some("配送 担当".into()),
            email: Some("haiso@example.jp".into()),
        };
        let saved = delivery::set_deliverer_info(app, &wholesaler, "W13001", 0, &info)
            .await
            .unwrap();
        assert_eq!(
            (saved.version, saved.postal_code.as_deref()),
            (1, Some("1050011"))
        );
        conflict(delivery::set_deliverer_info(app, &wholesaler, "W13001", 0, &info).await);
        let tokyo = w.actor("tokyo", "operator").await;
        forbidden(delivery::set_deliverer_info(app, &tokyo, "W13001", 1, &info).await);
        assert_eq!(
            delivery::deliverer_info(app, &tokyo, "W13001")
                .await
                .unwrap(),
            saved
        );
        not_found(delivery::deliverer_info(app, &tokyo, "13103").await);
        assert_eq!(
            invalid(
                delivery::set_deliverer_info(
                    app,
                    &wholesaler,
                    "W13001",
                    1,
                    &delivery::DelivererInfo {
                        phone: Some("abc".into()),
                        ..info.clone()
                    }
                )
                .await,
                "phone"
            ),
            Msg::InvalidPhone
        );

        // The CSV round trip: the file downloaded goes back up unchanged; a date typed in is entered.
        let all = delivery::all(app, &wholesaler, &q).await.unwrap();
        let (bytes, name) =
            csv_files::delivery::export(&all, Encoding::ShiftJis, Lang::Ja).unwrap();
        assert!(name.ends_with("sjis.csv"));
        assert_eq!(
            csv_files::delivery::import(app, &wholesaler, &bytes)
                .await
                .unwrap(),
            all.len()
        );
        let (text, enc) = csv_files::decode(&bytes).unwrap();
        assert_eq!(enc, Encoding::ShiftJis);
        let undated = all.iter().find(|d| d.scheduled_on.is_none());
        if let Some(u) = undated {
            let day = (today + Duration::days(4)).format("%Y/%m/%d").to_string();
            let edited: Vec<String> = text
                .lines()
                .map(|l| {
                    if l.starts_with(&u.id) {
                        let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
                        cells[5] = day.clone();
                        cells.join(",")
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
            let n = csv_files::delivery::import(app, &wholesaler, edited.join("\r\n").as_bytes())
                .await
                .unwrap();
            assert_eq!(n, all.len());
            assert_eq!(
                delivery::get(app, &wholesaler, &u.id)
                    .await
                    .unwrap()
                    .scheduled_on,
                Some(today + Duration::days(4))
            );
            // The same file again: the version moved on, so the line's row is named.
            match csv_files::delivery::import(app, &wholesaler, edited.join("\r\n").as_bytes())
                .await
            {
                Err(AppError::Csv(csv_files::TableError::Rows(errors))) => {
                    assert!(
                        errors
                            .iter()
                            .all(|e| e.field == csv_files::delivery::COL_VERSION),
                        "{errors:?}"
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        // Another wholesaler's upload reaches nothing.
        let osaka = w
            .make_user("W27001", "operator", "osaka-wholesaler@example.jp")
            .await;
        assert!(matches!(
            csv_files::delivery::import(app, &osaka, &bytes).await,
            Err(AppError::Csv(csv_files::TableError::Rows(_)))
        ));
    }
);
