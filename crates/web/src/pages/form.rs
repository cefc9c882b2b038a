//! Reading form fields as people type them.

use chrono::NaiveDate;
use std::collections::HashMap;

/// A submitted form: field name → value.
pub(super) type FormMap = HashMap<String, String>;

/// A field without surrounding spaces; empty when absent.
pub(super) fn text(f: &FormMap, k: &str) -> String {
    f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default()
}

/// A field, or `None` when it is empty.
pub(super) fn opt(f: &FormMap, k: &str) -> Option<String> {
    Some(text(f, k)).filter(|s| !s.is_empty())
}

/// Full-width digits and punctuation as ASCII (the one normaliser, in `domain::validation`).
pub(super) use vsys_domain::validation::ascii_digits;

/// A date as typed (`2026-06-03`, `2026/6/3`, full-width digits).
pub(super) fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&ascii_digits(s.trim()).replace('/', "-"), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
