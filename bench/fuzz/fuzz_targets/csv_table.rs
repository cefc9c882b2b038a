//! The CSV importers' parsing layer (`csv_files::decode` and `csv_files::parse`, with the
//! columns each importer requires) on arbitrary bytes: no panic; a table or a readable refusal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsys_app::csv_files::{self, TableError};
use vsys_domain::Lang;

const REQUIRED: [&[&str]; 3] = [
    &["医療機関コード", "老健施設等コード", "名称", "郵便番号", "市町村コード", "住所", "代表者", "契約状況"],
    &["配送ID", "版"],
    &["組織コード", "分配量"],
];

fuzz_target!(|data: &[u8]| {
    match csv_files::decode(data) {
        Ok((text, _)) => {
            for required in REQUIRED {
                match csv_files::parse(&text, required) {
                    Ok(t) => {
                        for r in &t.rows {
                            assert!(r.row >= 1);
                            for v in r.fields.values() {
                                assert!(vsys_domain::validation::check_text(v).is_ok());
                            }
                        }
                    }
                    Err(e) => {
                        assert!(!e.message(Lang::Ja).is_empty() && !e.message(Lang::En).is_empty());
                    }
                }
            }
        }
        Err(e) => {
            assert!(matches!(e, TableError::Malformed { line, .. } if line >= 1));
            assert!(!e.message(Lang::En).is_empty());
        }
    }
});
