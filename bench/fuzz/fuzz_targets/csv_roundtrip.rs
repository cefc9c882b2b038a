//! What vsys writes, it reads back: arbitrary cells (split from the input at `\u{1}`, rows at
//! `\u{2}`) written by `csv_files::write` in UTF-8 and Shift_JIS decode and parse to the same
//! cells; no written cell starts a formula.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsys_app::csv_files::{self, Encoding, TableError};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let headers = ["a", "b", "c"];
    let rows: Vec<Vec<String>> = s
        .split('\u{2}')
        .map(|r| {
            let mut c: Vec<String> = r.split('\u{1}').map(str::to_owned).take(3).collect();
            c.resize(3, String::new());
            c
        })
        .filter(|r| r.iter().all(|c| vsys_domain::validation::check_text(c).is_ok()))
        .collect();
    for encoding in [Encoding::Utf8, Encoding::ShiftJis] {
        let bytes = match csv_files::write(&headers, &rows, encoding) {
            Ok(b) => b,
            Err(TableError::Unencodable { .. }) if encoding == Encoding::ShiftJis => continue,
            Err(e) => panic!("{e:?}"),
        };
        let (text, _) = csv_files::decode(&bytes).expect("our own file decodes");
        let t = csv_files::parse(&text, &headers).expect("our own file parses");
        let kept: Vec<&Vec<String>> = rows
            .iter()
            .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
            .collect();
        assert_eq!(t.rows.len(), kept.len());
        for (r, want) in t.rows.iter().zip(kept) {
            for (h, v) in headers.iter().zip(want) {
                assert_eq!(r.fields.get(*h), Some(v));
            }
        }
    }
    for r in &rows {
        for c in r {
            let d = csv_files::defuse(c);
            if d.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                assert!(d.trim().trim_start_matches(['+', '-']).chars().all(|c| c.is_ascii_digit() || c == '.'));
            }
        }
    }
});
