//! Reading form fields as people type them: spaces around a value, full-width digits,
//! thousands separators, dates written with slashes.

use chrono::NaiveDate;
use std::collections::HashMap;
use vsys_domain::{Invalid, Msg};

/// A submitted form: field name → value.
pub type FormMap = HashMap<String, String>;

/// Full-width digits and punctuation as ASCII (the one normaliser, in `domain::validation`).
pub use vsys_domain::validation::ascii_digits;

/// A field without surrounding spaces; empty when absent.
pub fn text(f: &FormMap, k: &str) -> String {
    f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default()
}

/// A field, or `None` when it is empty.
pub fn opt(f: &FormMap, k: &str) -> Option<String> {
    Some(text(f, k)).filter(|s| !s.is_empty())
}

/// A field of digits (a code, a postal code, a telephone number), or `None` when it is empty;
/// full-width digits become ASCII.
pub fn digits(f: &FormMap, k: &str) -> Option<String> {
    opt(f, k).map(|v| ascii_digits(&v))
}

/// A date as typed (`2026-06-03`, `2026/6/3`, full-width digits).
pub fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&ascii_digits(s.trim()).replace('/', "-"), "%Y-%m-%d").ok()
}

/// A whole number as typed (full-width digits, thousands separators and spaces allowed): `None`
/// when empty, `Err` when it is not a number (the one reading, in `domain::validation`).
pub use vsys_domain::validation::whole;

/// A whole number of a form: an empty field is `empty`, or required when that is `None`; what
/// is wrong is noted in `inv` (and 0 returned).
pub fn number(f: &FormMap, k: &str, empty: Option<i64>, inv: &mut Invalid) -> i64 {
    match (whole(&text(f, k)), empty) {
        (Ok(Some(n)), _) => n,
        (Ok(None), Some(d)) => d,
        (Ok(None), None) => {
            inv.push(k, Msg::Required);
            0
        }
        (Err(m), _) => {
            inv.push(k, not_a_number(m));
            0
        }
    }
}

/// What a field that is not a number is told: to type a number (the kit's reading accepts
/// full-width digits and commas, and says so).
fn not_a_number(m: Msg) -> Msg {
    match m {
        Msg::InvalidInput => Msg::NotANumber,
        other => other,
    }
}

/// An optional whole number of a form: `None` when the field is empty; what is not a number is
/// noted in `inv` (and `None` returned).
pub fn optional_number(f: &FormMap, k: &str, inv: &mut Invalid) -> Option<i64> {
    whole(&text(f, k)).unwrap_or_else(|m| {
        inv.push(k, not_a_number(m));
        None
    })
}

/// The uploaded file of a multipart form (its field `file`), or `None` when none or an empty
/// one was sent: the one reading of CSV uploads.
pub async fn uploaded_file(mp: &mut axum::extract::Multipart) -> Option<Vec<u8>> {
    let mut file: Option<Vec<u8>> = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            file = field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    file.filter(|b| !b.is_empty())
}

/// A decimal number of a form (a coordinate; full-width digits allowed): `None` when empty;
/// what is wrong is noted in `inv`.
pub fn decimal(f: &FormMap, k: &str, inv: &mut Invalid) -> Option<f64> {
    vsys_domain::validation::decimal(&text(f, k)).unwrap_or_else(|m| {
        inv.push(k, m);
        None
    })
}

/// A required date of a form; what is wrong is noted in `inv`.
pub fn date(f: &FormMap, k: &str, inv: &mut Invalid) -> Option<NaiveDate> {
    let t = text(f, k);
    if t.is_empty() {
        inv.push(k, Msg::Required);
        return None;
    }
    let d = day(&t);
    if d.is_none() {
        inv.push(k, Msg::InvalidDate);
    }
    d
}

/// The version a form was read at (`version`); −1 when absent, which matches no stored row, so
/// the save is refused as a conflict.
pub fn version(f: &FormMap) -> i64 {
    text(f, "version").parse().unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn dates_and_digits_as_typed() {
        let d = NaiveDate::from_ymd_opt(2026, 6, 3);
        assert_eq!(day("2026-06-03"), d);
        assert_eq!(day(" 2026/6/3 "), d);
        assert_eq!(day("２０２６／６／３"), d);
        assert_eq!(day("2026ー06ー03"), d);
        assert_eq!(day("2026-02-30"), None);
        assert_eq!(ascii_digits("０３－１２３４"), "03-1234");
    }

    #[test]
    fn numbers_as_typed() {
        assert_eq!(whole(" １２,３４５ "), Ok(Some(12_345)));
        assert_eq!(whole(""), Ok(None));
        assert_eq!(whole("12a"), Err(Msg::InvalidInput));
        let f = form(&[("a", "1,000"), ("b", ""), ("c", "x")]);
        let mut inv = Invalid::default();
        assert_eq!(number(&f, "a", None, &mut inv), 1000);
        assert_eq!(number(&f, "b", Some(0), &mut inv), 0);
        assert!(inv.is_empty());
        number(&f, "b", None, &mut inv);
        number(&f, "c", Some(0), &mut inv);
        assert_eq!(
            inv.0
                .iter()
                .map(|e| (e.field.as_str(), e.msg))
                .collect::<Vec<_>>(),
            [("b", Msg::Required), ("c", Msg::NotANumber)]
        );
    }

    #[test]
    fn required_dates_and_versions() {
        let f = form(&[("d", "2026/6/3"), ("bad", "6/3"), ("version", " 4 ")]);
        let mut inv = Invalid::default();
        assert_eq!(date(&f, "d", &mut inv), NaiveDate::from_ymd_opt(2026, 6, 3));
        assert_eq!(date(&f, "bad", &mut inv), None);
        assert_eq!(date(&f, "none", &mut inv), None);
        assert_eq!(
            inv.0
                .iter()
                .map(|e| (e.field.as_str(), e.msg))
                .collect::<Vec<_>>(),
            [("bad", Msg::InvalidDate), ("none", Msg::Required)]
        );
        assert_eq!(version(&f), 4);
        assert_eq!(version(&FormMap::new()), -1);
    }
}
