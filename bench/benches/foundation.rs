//! Foundation benchmarks, each printed with a same-run baseline:
//! - audit entry hashing vs a bare SHA-256 of the same bytes;
//! - appending 1,000 chained audit entries in one SQLite transaction vs 1,000 plain inserts of
//!   the same rows (the cost of the chain and its head row).

use criterion::{Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use vsys_domain::audit::{EntryContent, GENESIS, entry_hash};
use vsys_store::audit::NewEntry;
use vsys_store::{Db, migrate};

fn content(i: i64) -> EntryContent<'static> {
    EntryContent {
        partition: "13103",
        seq: i,
        at: "2026-04-01T00:00:00.000000Z",
        actor_user: Some("01930000-0000-7000-8000-000000000000"),
        actor_org: Some("13103"),
        ip: Some("192.0.2.1"),
        action: "user.update",
        object_type: "user",
        object_id: "01930000-0000-7000-8000-000000000001",
        before: Some(r#"{"name":"山田 太郎","role":"viewer"}"#),
        after: Some(r#"{"name":"山田 太郎","role":"operator"}"#),
    }
}

fn hashing(c: &mut Criterion) {
    let e = content(1);
    let bytes = serde_json_bytes(&e);
    let mut g = c.benchmark_group("audit_hash");
    g.bench_function("baseline_sha256_of_same_bytes", |b| {
        b.iter(|| Sha256::digest(black_box(&bytes)))
    });
    g.bench_function("entry_hash", |b| {
        b.iter(|| entry_hash(black_box(GENESIS), black_box(&e)))
    });
    g.finish();
}

/// The bytes `entry_hash` digests: the previous hash, a newline, the entry's canonical JSON.
fn serde_json_bytes(e: &EntryContent<'_>) -> Vec<u8> {
    let mut v = format!("{GENESIS}\n").into_bytes();
    v.extend(serde_json::to_vec(e).unwrap_or_default());
    v
}

fn persistence(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let db = rt.block_on(async {
        let db = Db::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        migrate::run(&db, chrono::Utc::now()).await.unwrap_or_else(|e| panic!("{e}"));
        let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.raw("CREATE TABLE plain_log (id TEXT PRIMARY KEY, partition TEXT, at TEXT, action TEXT, object_id TEXT, after TEXT)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        db
    });
    let mut g = c.benchmark_group("persist_1000_entries_sqlite");
    g.sample_size(10);
    let mut n = 0u64;
    g.bench_function("baseline_plain_inserts", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
                for _ in 0..1000 {
                    n += 1;
                    let q = sea_query::Query::insert()
                        .into_table(sea_query::Alias::new("plain_log"))
                        .columns(
                            ["id", "partition", "at", "action", "object_id", "after"]
                                .map(sea_query::Alias::new),
                        )
                        .values_panic([
                            n.to_string().into(),
                            "13103".into(),
                            chrono::Utc::now().into(),
                            "user.update".into(),
                            "x".into(),
                            r#"{"role":"operator"}"#.into(),
                        ])
                        .to_owned();
                    tx.exec(&q).await.unwrap_or_else(|e| panic!("{e}"));
                }
                tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
            })
        })
    });
    g.bench_function("chained_audit_append", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
                for _ in 0..1000 {
                    vsys_store::audit::append(
                        &mut tx,
                        NewEntry {
                            partition: "13103".into(),
                            at: chrono::Utc::now(),
                            action: "user.update".into(),
                            object_type: "user".into(),
                            object_id: "x".into(),
                            after: Some(r#"{"role":"operator"}"#.into()),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                }
                tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
            })
        })
    });
    g.finish();
}

criterion_group!(benches, hashing, persistence);
criterion_main!(benches);
