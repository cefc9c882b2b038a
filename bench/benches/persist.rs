//! Persisting a national cycle on SQLite: the whole chain the allocation benchmark computes
//! (`vsys_bench::national_chain`: 1 + 47 + 1,741 + 80,000 allocation nodes, each with the
//! amount and the stored explanation the formula gave it) and one chained audit entry per
//! division (1,789 divisions: the nation's, 47 prefectures', 1,741 municipalities'), in one
//! transaction — the batched path a division save uses (`allocations::insert_many` +
//! `audit::append_many`). Baseline: the same nodes without audit. Each timed save starts
//! from a checkpointed WAL, as the server's background checkpointer leaves it; the cost of
//! that checkpoint is measured on its own (`background_checkpoint_of_one_cycle`).

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use vsys_app::allocation::StoredExplanation;
use vsys_bench::{NATIONAL_BOXES, PFIZER, formula, national_chain, national_tree};
use vsys_domain::allocation::Explanation;
use vsys_domain::units::Unit;
use vsys_store::allocations::{NodeRow, insert_many};
use vsys_store::audit::{NewEntry, append_many};
use vsys_store::cycles::CycleRow;
use vsys_store::orgs::OrgRow;
use vsys_store::{Db, cycles, migrate, orgs, products};

/// One node of the cycle: org code, path, parent index, level, vials, explanation (JSON).
struct Shape {
    code: String,
    path: String,
    parent: Option<usize>,
    level: vsys_domain::Level,
    vials: i64,
    explanation: Option<String>,
}

fn org(code: String, kind: &str, parent: Option<String>, path: String) -> OrgRow {
    let now = Utc::now();
    OrgRow {
        code,
        kind: vsys_domain::OrgKind::parse(kind).unwrap_or(vsys_domain::OrgKind::Site),
        name: "x".into(),
        name_en: None,
        parent_code: parent,
        path,
        prefecture_code: None,
        population: Some(1000),
        lat: None,
        lng: None,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

fn stored(e: &Explanation) -> Option<String> {
    serde_json::to_string(&StoredExplanation {
        auto: Some(e.clone()),
        manual_adjustment: 0,
        supplies: None,
    })
    .ok()
}

/// The national cycle as the allocation benchmark computes it, parents first: the
/// organisations and, per node, its amount in vials and stored explanation.
fn tree() -> (Vec<OrgRow>, Vec<Shape>) {
    let n = national_tree(20_210_301);
    let formulas = [formula(80, 20, 0), formula(80, 0, 20), formula(0, 100, 0)];
    let mut divisions = national_chain(&n, &formulas).into_iter();
    let mut orgs = vec![org("JP".into(), "nation", None, "/JP/".into())];
    let mut nodes = vec![Shape {
        code: "JP".into(),
        path: "/JP/".into(),
        parent: None,
        level: vsys_domain::Level::Nation,
        vials: PFIZER.to_vials(NATIONAL_BOXES, Unit::Box).unwrap_or(0),
        explanation: None,
    }];
    // `national_chain` yields, per prefecture, its municipalities' divisions then its own, and
    // the nation's last.
    let mut per_prefecture = Vec::new();
    for p in &n.prefectures {
        let towns: Vec<_> = divisions.by_ref().take(p.municipalities.len()).collect();
        let own = divisions.next();
        per_prefecture.push((towns, own));
    }
    let nation = divisions.next();
    let mut sites = Vec::new();
    for (pi, (towns, pref)) in per_prefecture.into_iter().enumerate() {
        let Some(line) = nation.as_ref().and_then(|d| d.lines.get(pi)) else {
            continue;
        };
        let path = format!("/JP/{}/", line.code);
        orgs.push(org(
            line.code.clone(),
            "prefecture",
            Some("JP".into()),
            path.clone(),
        ));
        nodes.push(Shape {
            code: line.code.clone(),
            path: path.clone(),
            parent: Some(0),
            level: vsys_domain::Level::Prefecture,
            vials: PFIZER.to_vials(line.amount, Unit::Box).unwrap_or(0),
            explanation: stored(&line.explanation),
        });
        let p_index = nodes.len() - 1;
        let town_lines = pref.map(|d| d.lines).unwrap_or_default();
        for (town, division) in town_lines.into_iter().zip(towns) {
            let town_path = format!("{path}{}/", town.code);
            orgs.push(org(
                town.code.clone(),
                "municipality",
                Some(line.code.clone()),
                town_path.clone(),
            ));
            nodes.push(Shape {
                code: town.code.clone(),
                path: town_path.clone(),
                parent: Some(p_index),
                level: vsys_domain::Level::Municipality,
                vials: PFIZER.to_vials(town.amount, Unit::Box).unwrap_or(0),
                explanation: stored(&town.explanation),
            });
            let m_index = nodes.len() - 1;
            for site in division.lines {
                let site_path = format!("{town_path}{}/", site.code);
                orgs.push(org(
                    site.code.clone(),
                    "institution",
                    Some(town.code.clone()),
                    site_path.clone(),
                ));
                sites.push(Shape {
                    code: site.code.clone(),
                    path: site_path,
                    parent: Some(m_index),
                    level: vsys_domain::Level::Site,
                    vials: site.amount,
                    explanation: stored(&site.explanation),
                });
            }
        }
    }
    nodes.extend(sites);
    (orgs, nodes)
}

fn rows(cycle: &str, shape: &[Shape]) -> Vec<NodeRow> {
    let now = Utc::now();
    let ids: Vec<String> = shape
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    shape
        .iter()
        .enumerate()
        .map(|(i, s)| NodeRow {
            id: ids[i].clone(),
            cycle_id: cycle.into(),
            org_code: s.code.clone(),
            parent_id: s.parent.map(|p| ids[p].clone()),
            level: s.level,
            path: s.path.clone(),
            vials: s.vials,
            // One needle and one syringe per dose.
            needles: s.vials * 6,
            syringes: s.vials * 6,
            status: vsys_domain::Status::Unconfirmed,
            released: false,
            explanation: s.explanation.clone(),
            updated_at: now,
            updated_by: Some("bench".into()),
            version: 0,
        })
        .collect()
}

fn persist(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite:{}", dir.path().join("persist.db").display());
    let (org_rows, shape) = tree();
    let explained: Vec<usize> = shape
        .iter()
        .filter_map(|s| s.explanation.as_ref().map(String::len))
        .collect();
    println!(
        "{} nodes; stored explanations average {} bytes",
        shape.len(),
        explained.iter().sum::<usize>() / explained.len().max(1)
    );
    let db = rt.block_on(async {
        let db = Db::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        migrate::run(&db, Utc::now())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        orgs::insert_many(&mut tx, &org_rows)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        orgs::insert_many(
            &mut tx,
            &[org(
                "M001".into(),
                "manufacturer",
                Some("JP".into()),
                "/JP/M001/".into(),
            )],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let now = Utc::now();
        products::insert(
            &mut tx,
            &products::ProductRow {
                id: "vaccine".into(),
                kind: vsys_domain::ProductKind::Vaccine,
                owner_code: "M001".into(),
                name: "v".into(),
                spec: None,
                storage_class: Some("ultra_cold".into()),
                days_after_thaw: None,
                needs_dry_ice: true,
                units_per_pack: None,
                created_at: now,
                updated_at: now,
                version: 0,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        db
    });
    let mut number = 0i64;
    let mut new_cycle = || {
        number += 1;
        let id = format!("cycle-{number}");
        let now = Utc::now();
        let d = now.date_naive();
        let row = CycleRow {
            id: id.clone(),
            number,
            name: id.clone(),
            vaccine_id: "vaccine".into(),
            needle_id: None,
            syringe_id: None,
            period_start: d,
            period_end: d,
            deadline_prefecture: d,
            deadline_municipality: d,
            deadline_site: d,
            chain: vsys_domain::Chain::Standard,
            doses_per_vial: 6,
            vials_per_box: 195,
            unit_site: vsys_domain::Unit::Vial,
            formulas: Default::default(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        rt.block_on(async {
            let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
            cycles::insert(&mut tx, &row)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
            // What the server's background checkpointer does between saves.
            db.checkpoint().await.unwrap_or_else(|e| panic!("{e}"));
        });
        rows(&id, &shape)
    };
    // The divisions (parent → its children), as a division save has its lines at hand.
    let mut by_parent: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (i, s) in shape.iter().enumerate() {
        by_parent.entry(s.parent).or_default().push(i);
    }
    let divisions: Vec<(Option<usize>, Vec<usize>)> = by_parent.into_iter().collect();
    let mut g = c.benchmark_group("persist_national_cycle_sqlite");
    g.sample_size(10);
    g.bench_function("baseline_nodes_without_audit", |b| {
        b.iter_batched(
            &mut new_cycle,
            |nodes| {
                rt.block_on(async {
                    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
                    insert_many(&mut tx, &nodes)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
                })
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("nodes_with_chained_audit", |b| {
        b.iter_batched(
            &mut new_cycle,
            |nodes| {
                rt.block_on(async {
                    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
                    insert_many(&mut tx, &nodes)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    // One entry per division save (as `save_division` writes it): the
                    // parent is the object, its lines the content.
                    let now = Utc::now();
                    #[derive(serde::Serialize)]
                    struct Line<'a> {
                        node: &'a str,
                        org_code: &'a str,
                        vials: i64,
                        needles: i64,
                        syringes: i64,
                    }
                    let entries = divisions
                        .iter()
                        .map(|(parent, children)| {
                            let lines: Vec<Line> = children
                                .iter()
                                .map(|&i| Line {
                                    node: &nodes[i].id,
                                    org_code: &nodes[i].org_code,
                                    vials: nodes[i].vials,
                                    needles: nodes[i].needles,
                                    syringes: nodes[i].syringes,
                                })
                                .collect();
                            NewEntry {
                                partition: "JP".to_owned(),
                                at: now,
                                actor_user: Some("bench".into()),
                                actor_org: Some("JP".into()),
                                ip: None,
                                action: "allocation.division".into(),
                                object_type: "allocation".into(),
                                object_id: parent.map_or("root", |p| &nodes[p].id).to_owned(),
                                before: Some("[]".into()),
                                after: serde_json::to_string(&lines).ok(),
                            }
                        })
                        .collect();
                    append_many(&mut tx, entries)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
                })
            },
            BatchSize::PerIteration,
        )
    });
    // The cost the commit no longer pays: the background checkpoint that copies one national
    // cycle's WAL into the database file (the cycle persisted in the untimed setup).
    g.bench_function("background_checkpoint_of_one_cycle", |b| {
        b.iter_batched(
            || {
                let nodes = new_cycle();
                rt.block_on(async {
                    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
                    insert_many(&mut tx, &nodes)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
                });
            },
            |()| rt.block_on(async { db.checkpoint().await.unwrap_or_else(|e| panic!("{e}")) }),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, persist);
criterion_main!(benches);
