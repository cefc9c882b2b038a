//! Validation results that name the field and carry a catalogue message.

use crate::i18n::{Lang, Msg};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// 1-based data row of an imported file, when the error is about one.
    pub row: Option<usize>,
    pub field: String,
    pub msg: Msg,
    /// What the row of a bulk body or file is about (a site's code), when it names one.
    pub item: Option<String>,
}

impl FieldError {
    pub fn new(field: &str, msg: Msg) -> Self {
        FieldError {
            row: None,
            field: field.to_owned(),
            msg,
            item: None,
        }
    }
    /// The error about `field` of row `row` (1-based) of a file or a bulk body.
    pub fn at_row(row: usize, field: &str, msg: Msg) -> Self {
        FieldError {
            row: Some(row),
            ..FieldError::new(field, msg)
        }
    }
    /// Names what the row is about (a site's code).
    pub fn about(mut self, item: &str) -> Self {
        self.item = Some(item.to_owned());
        self
    }
    pub fn localized(&self, lang: Lang) -> LocalizedFieldError {
        LocalizedFieldError {
            row: self.row,
            item: self.item.clone(),
            field: self.field.clone(),
            message: self.msg.text(lang).to_owned(),
        }
    }
}

/// The serialisable form of a field error (`{row?, item?, field, message}` in problem details).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LocalizedFieldError {
    /// The row of a file (CSV imports) or list (bulk bodies), from 1; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, nullable = false)]
    pub row: Option<usize>,
    /// What that row is about (a site's code in a bulk update of reservation statuses);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub item: Option<String>,
    /// The field or parameter (`lines[3].amount`, `page`, a CSV column).
    pub field: String,
    /// What is wrong with it, in the caller's language.
    pub message: String,
}

/// One or more field errors; the input as a whole was refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: &str, msg: Msg) -> Self {
        Invalid(vec![FieldError::new(field, msg)])
    }
    pub fn push(&mut self, field: &str, msg: Msg) {
        self.0.push(FieldError::new(field, msg));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing was pushed.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }
    pub fn message_for(&self, field: &str, lang: Lang) -> Option<&'static str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.msg.text(lang))
    }
}

/// A normalised e-mail address (trimmed, lower-cased), checked for a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, Msg> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(Msg::Required);
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(Msg::InvalidEmail);
        };
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Email(s))
        } else {
            Err(Msg::InvalidEmail)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The one check every piece of text passes on its way in (forms, JSON, query strings, paths,
/// imported cells): no control characters but tab, line feed and carriage return. A NUL byte
/// in particular is refused the same way on both databases (PostgreSQL cannot store it;
/// SQLite would, and hide the rest of the text on some screens).
pub fn check_text(s: &str) -> Result<(), Msg> {
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Err(Msg::ControlCharacter)
    } else {
        Ok(())
    }
}

/// A text field as written (a title, a body): trimmed, no control characters
/// ([`check_text`]), required when `required`, at most `max` characters; what is wrong is
/// noted in `inv` under `name`. The one reading of free-text fields of the nation's writings.
pub fn bounded_text(
    inv: &mut Invalid,
    name: &str,
    raw: &str,
    required: bool,
    max: usize,
) -> String {
    let v = raw.trim();
    if let Err(m) = check_text(v) {
        inv.push(name, m);
    } else if required && v.is_empty() {
        inv.push(name, Msg::Required);
    } else if v.chars().count() > max {
        inv.push(name, Msg::TooLong);
    }
    v.to_owned()
}

/// Full-width digits and punctuation (as Japanese input methods type them) as ASCII: the one
/// normaliser of typed numbers and dates.
pub fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '，' | '、' => ',',
            '／' => '/',
            'ー' | '－' => '-',
            other => other,
        })
        .collect()
}

/// A whole number as typed (a count, an amount, a quantity): full-width digits, thousands
/// separators (`,` `，` `、`) and spaces (full-width too) anywhere are ignored, so 「１，２００」
/// and 「1 200」 are 1200. `Ok(None)` when empty; [`Msg::InvalidInput`] when it is not a whole
/// number. The one reading of typed whole numbers (forms, query strings, imported cells).
pub fn whole(raw: &str) -> Result<Option<i64>, Msg> {
    let t: String = ascii_digits(raw)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<i64>().map(Some).map_err(|_| Msg::InvalidInput)
}

/// A decimal number as typed (a coordinate): full-width digits, `．` and `−` as ASCII, spaces
/// around it ignored. `Ok(None)` when empty; [`Msg::InvalidInput`] when it is not a finite
/// number.
pub fn decimal(raw: &str) -> Result<Option<f64>, Msg> {
    let t: String = ascii_digits(raw.trim())
        .chars()
        .map(|c| match c {
            '．' => '.',
            '−' | '‐' => '-',
            '＋' => '+',
            other => other,
        })
        .collect();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(Msg::InvalidInput),
    }
}

/// A link inside vsys (a notice's "open" link): a path starting with one `/`, never a scheme
/// (`javascript:`, `https:`), another host (`//evil.example`, `/\\evil.example`) or control
/// characters; at most 500 characters.
pub fn local_link(raw: &str) -> Result<String, Msg> {
    let s = raw.trim();
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && !s.starts_with("/\\")
        && !s.contains('\\')
        && s.len() <= 500
        && check_text(s).is_ok()
        && !s.chars().any(char::is_whitespace);
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Msg::LocalLinkOnly)
    }
}

/// The largest quantity (vials, doses, pieces, boxes) any input may carry: far above any real
/// amount, and small enough that every product of quantities in the rules fits 64 bits.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// A quantity as entered: 0 to [`MAX_QUANTITY`].
pub fn quantity(v: i64) -> Result<i64, Msg> {
    if v < 0 {
        Err(Msg::NegativeNumber)
    } else if v > MAX_QUANTITY {
        Err(Msg::NumberOutOfRange)
    } else {
        Ok(v)
    }
}

/// A page of a list as asked for: page 1–[`Page::MAX_PAGE`], page size 1–[`Page::MAX_PER_PAGE`].
/// A value out of range is refused with the parameter's name, never clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
}

impl Page {
    pub const MAX_PER_PAGE: u64 = 500;
    pub const MAX_PAGE: u64 = 1_000_000;
    pub const DEFAULT_PER_PAGE: u64 = 50;

    /// The page a caller asked for (`None`: page 1, 50 a page).
    pub fn parse(page: Option<u64>, per_page: Option<u64>) -> Result<Page, Invalid> {
        Self::parse_with(page, per_page, Self::DEFAULT_PER_PAGE)
    }

    /// As [`Page::parse`], with the screen's own page size when none is asked for.
    pub fn parse_with(
        page: Option<u64>,
        per_page: Option<u64>,
        default_per_page: u64,
    ) -> Result<Page, Invalid> {
        let mut inv = Invalid::default();
        let p = page.unwrap_or(1);
        if !(1..=Self::MAX_PAGE).contains(&p) {
            inv.push("page", Msg::PageOutOfRange);
        }
        let n = per_page.unwrap_or(default_per_page);
        if !(1..=Self::MAX_PER_PAGE).contains(&n) {
            inv.push("per_page", Msg::PerPageOutOfRange);
        }
        inv.into_result()?;
        Ok(Page {
            page: p,
            per_page: n,
        })
    }

    /// The first `n` items (at most [`Page::MAX_PER_PAGE`]).
    pub const fn first(n: u64) -> Page {
        Page {
            page: 1,
            per_page: if n > Self::MAX_PER_PAGE {
                Self::MAX_PER_PAGE
            } else if n == 0 {
                1
            } else {
                n
            },
        }
    }

    /// Everything (internal use: exports, counts).
    pub const fn all() -> Page {
        Page {
            page: 1,
            per_page: i64::MAX as u64,
        }
    }

    pub fn limit(self) -> u64 {
        self.per_page
    }

    /// Rows to skip; always fits a signed 64-bit integer.
    pub fn offset(self) -> u64 {
        (self.page.saturating_sub(1))
            .saturating_mul(self.per_page)
            .min(i64::MAX as u64)
    }
}

/// A person's display name: 1–100 characters after trimming.
pub fn person_name(raw: &str) -> Result<String, Msg> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 {
        Err(Msg::Required)
    } else if n > 100 || s.chars().any(char::is_control) {
        Err(Msg::InvalidName)
    } else {
        Ok(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_as_typed() {
        assert_eq!(whole("１，２００"), Ok(Some(1200)));
        assert_eq!(whole(" 1,200 "), Ok(Some(1200)));
        assert_eq!(whole("１　２００"), Ok(Some(1200)));
        assert_eq!(whole("1 200"), Ok(Some(1200)));
        assert_eq!(whole("３０"), Ok(Some(30)));
        assert_eq!(whole("１、０００"), Ok(Some(1000)));
        assert_eq!(whole("－５"), Ok(Some(-5)));
        assert_eq!(whole("　"), Ok(None));
        assert_eq!(whole(""), Ok(None));
        assert_eq!(whole("三十"), Err(Msg::InvalidInput));
        assert_eq!(whole("12a"), Err(Msg::InvalidInput));
        assert_eq!(whole("1.5"), Err(Msg::InvalidInput));
    }

    #[test]
    fn decimals_as_typed() {
        assert_eq!(decimal(" 35.6581 "), Ok(Some(35.6581)));
        assert_eq!(decimal("３５．６５８１"), Ok(Some(35.6581)));
        assert_eq!(decimal("−１２．５"), Ok(Some(-12.5)));
        assert_eq!(decimal(""), Ok(None));
        assert_eq!(decimal("35.6581, 139.7"), Err(Msg::InvalidInput));
        assert_eq!(decimal("NaN"), Err(Msg::InvalidInput));
        assert_eq!(decimal("inf"), Err(Msg::InvalidInput));
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" A@Example.JP ").map(|e| e.0),
            Ok("a@example.jp".into())
        );
        assert_eq!(Email::parse(""), Err(Msg::Required));
        assert_eq!(Email::parse("nope"), Err(Msg::InvalidEmail));
        assert_eq!(Email::parse("a@b"), Err(Msg::InvalidEmail));
        assert_eq!(Email::parse("a b@c.jp"), Err(Msg::InvalidEmail));
    }

    #[test]
    fn text_refuses_control_characters_but_line_breaks() {
        assert_eq!(check_text("港区\t芝公園\r\n1-5-25"), Ok(()));
        assert_eq!(check_text("a\0b"), Err(Msg::ControlCharacter));
        assert_eq!(check_text("\u{7f}"), Err(Msg::ControlCharacter));
        assert_eq!(check_text("\u{1b}[31m"), Err(Msg::ControlCharacter));
        assert_eq!(check_text("\u{85}"), Err(Msg::ControlCharacter));
    }

    #[test]
    fn links_stay_inside() {
        assert_eq!(local_link(" /allocations/x "), Ok("/allocations/x".into()));
        for bad in [
            "javascript:alert(1)",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/a\\b",
            "/a b",
            "/a\u{0}",
            "",
            "allocations",
        ] {
            assert_eq!(local_link(bad), Err(Msg::LocalLinkOnly), "{bad}");
        }
    }

    #[test]
    fn pages_are_bounded_not_clamped() {
        assert_eq!(
            Page::parse(None, None),
            Ok(Page {
                page: 1,
                per_page: 50
            })
        );
        let e = Page::parse(Some(u64::MAX), Some(0))
            .err()
            .unwrap_or_default();
        assert!(e.has("page") && e.has("per_page"));
        assert!(Page::parse(Some(Page::MAX_PAGE), Some(Page::MAX_PER_PAGE)).is_ok());
        assert!(Page::parse(Some(Page::MAX_PAGE + 1), None).is_err());
        let last =
            Page::parse(Some(Page::MAX_PAGE), Some(Page::MAX_PER_PAGE)).unwrap_or(Page::first(1));
        assert!(i64::try_from(last.offset()).is_ok());
        assert!(i64::try_from(Page::all().limit()).is_ok());
    }

    #[test]
    fn names() {
        assert_eq!(person_name(" 山田 太郎 "), Ok("山田 太郎".into()));
        assert_eq!(person_name("  "), Err(Msg::Required));
        assert_eq!(person_name(&"あ".repeat(101)), Err(Msg::InvalidName));
    }
}

/// A time typed in Japan time — `YYYY-MM-DDTHH:MM` (as a `datetime-local` field sends it),
/// `YYYY-MM-DD HH:MM` or `YYYY/MM/DD HH:MM`, full-width digits allowed — as UTC; empty is
/// `None`.
pub fn jst_datetime(raw: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, Msg> {
    let s = ascii_digits(raw.trim()).replace('/', "-").replace('T', " ");
    if s.is_empty() {
        return Ok(None);
    }
    let local = chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S"))
        .map_err(|_| Msg::InvalidDateTime)?;
    Ok(Some((local - chrono::Duration::hours(9)).and_utc()))
}

#[cfg(test)]
mod jst_tests {
    use super::*;

    #[test]
    fn japan_time_as_utc() {
        let t = jst_datetime("２０２６-12-07T09:30").ok().flatten();
        assert_eq!(
            t.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-07T00:30:00+00:00")
        );
        assert_eq!(jst_datetime(" "), Ok(None));
        assert_eq!(jst_datetime("2026/12/07 9:30").ok().flatten(), t);
        assert_eq!(jst_datetime("tomorrow"), Err(Msg::InvalidDateTime));
    }
}
