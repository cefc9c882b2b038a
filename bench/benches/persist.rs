//! Persisting a national cycle on SQLite: 1 + 47 + 1,741 + 80,000 allocation nodes with one
//! chained audit entry per division (1,789 divisions: the nation's, 47 prefectures', 1,741
//! municipalities'), in one transaction — the batched path a division save uses
//! (`allocations::insert_many` + `audit::append_many`). Baseline: the same nodes without audit.

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use vsys_store::allocations::{NodeRow, insert_many};
use vsys_store::audit::{NewEntry, append_many};
use vsys_store::cycles::CycleRow;
use vsys_store::orgs::OrgRow;
use vsys_store::{Db, cycles, migrate, orgs, products};

const SITES: usize = 80_000;

/// One node of the tree: org code, path, parent index, level.
type Shape = (String, String, Option<usize>, &'static str);

fn org(code: String, kind: &str, parent: Option<String>, path: String) -> OrgRow {
    let now = Utc::now();
    OrgRow {
        code,
        kind: kind.into(),
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

/// The national tree: (org code, path, parent index, level) in parents-first order.
fn tree() -> (Vec<OrgRow>, Vec<Shape>) {
    let mut orgs = vec![org("JP".into(), "nation", None, "/JP/".into())];
    let mut nodes = vec![("JP".to_string(), "/JP/".to_string(), None, "nation")];
    let mut munis = Vec::new();
    for p in 1..=47u32 {
        let code = format!("{p:02}");
        let path = format!("/JP/{code}/");
        orgs.push(org(
            code.clone(),
            "prefecture",
            Some("JP".into()),
            path.clone(),
        ));
        nodes.push((code.clone(), path.clone(), Some(0), "prefecture"));
        let pi = nodes.len() - 1;
        let count = 1741 / 47 + usize::from(p <= 1741 % 47);
        for m in 0..count {
            let mc = format!("{code}{:03}", 100 + m);
            let mp = format!("{path}{mc}/");
            orgs.push(org(
                mc.clone(),
                "municipality",
                Some(code.clone()),
                mp.clone(),
            ));
            nodes.push((mc, mp, Some(pi), "municipality"));
            munis.push(nodes.len() - 1);
        }
    }
    for s in 0..SITES {
        let mi = munis[s % munis.len()];
        let (mc, mp, _, _) = nodes[mi].clone();
        let code = format!("{}1{:07}", &mc[..2], s);
        let path = format!("{mp}{code}/");
        orgs.push(org(code.clone(), "institution", Some(mc), path.clone()));
        nodes.push((code, path, Some(mi), "site"));
    }
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
        .map(|(i, (code, path, parent, level))| NodeRow {
            id: ids[i].clone(),
            cycle_id: cycle.into(),
            org_code: code.clone(),
            parent_id: parent.map(|p| ids[p].clone()),
            level: (*level).into(),
            path: path.clone(),
            vials: 195,
            needles: 1200,
            syringes: 1200,
            status: "unconfirmed".into(),
            released: false,
            explanation: Some(r#"{"auto":null,"manual_adjustment":0}"#.into()),
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
                kind: "vaccine".into(),
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
            chain: "standard".into(),
            doses_per_vial: 6,
            vials_per_box: 195,
            unit_site: "vial".into(),
            formulas: "{}".into(),
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
        });
        rows(&id, &shape)
    };
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
                    let mut lines: BTreeMap<&str, Vec<Line>> = BTreeMap::new();
                    for n in &nodes {
                        let parent = n.parent_id.as_deref().unwrap_or("root");
                        lines.entry(parent).or_default().push(Line {
                            node: &n.id,
                            org_code: &n.org_code,
                            vials: n.vials,
                            needles: n.needles,
                            syringes: n.syringes,
                        });
                    }
                    let entries = lines
                        .into_iter()
                        .map(|(parent, lines)| NewEntry {
                            partition: "JP".to_owned(),
                            at: now,
                            actor_user: Some("bench".into()),
                            actor_org: Some("JP".into()),
                            ip: None,
                            action: "allocation.division".into(),
                            object_type: "allocation".into(),
                            object_id: parent.to_owned(),
                            before: Some("[]".into()),
                            after: serde_json::to_string(&lines).ok(),
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
    g.finish();
}

criterion_group!(benches, persist);
criterion_main!(benches);
