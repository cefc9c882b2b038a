#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! Hostile input for every parser of `vsys_domain` (issue 12, item 5): arbitrary Unicode, NUL
//! and other control characters, bidirectional overrides, full-width forms and very long strings
//! never panic; what a parser accepts reads back as itself; full-width digits mean what their
//! ASCII forms mean; every refusal is a catalogue message with a text in both languages.
//!
//! The saved corpus (`tests/fixtures/hostile/strings.txt`) runs through the same properties as
//! an ordinary test, so a string that once broke a parser stays in CI.

use proptest::prelude::*;
use vsys_domain::allocation::{ChildInput, Weights, allocate};
use vsys_domain::i18n::Lang;
use vsys_domain::ledger::WasteReason;
use vsys_domain::totp::TotpSecret;
use vsys_domain::units::Presentation;
use vsys_domain::validation::{
    Email, MAX_QUANTITY, Page, ascii_digits, check_text, local_link, person_name, quantity,
};
use vsys_domain::{
    Chain, ContractStatus, EntryKind, Formula, Formulas, Level, Msg, OrgCode, OrgKind, ProductKind,
    Reservation, Role, SiteType, Status, Unit,
};

/// Characters that break naive parsers: NUL and other C0/C1 controls, BOM, bidirectional
/// overrides, zero-width characters, full-width digits and punctuation, other scripts' digits,
/// combining marks, characters outside the BMP, quotes, separators and markup.
const NASTY: &[char] = &[
    '\0',
    '\u{1}',
    '\u{7}',
    '\u{8}',
    '\t',
    '\n',
    '\r',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{9f}',
    '\u{a0}',
    '\u{ad}',
    '\u{feff}',
    '\u{200b}',
    '\u{200d}',
    '\u{202e}',
    '\u{2066}',
    '\u{2028}',
    '\u{2029}',
    '\u{3000}',
    '０',
    '１',
    '９',
    '，',
    '、',
    '／',
    'ー',
    '－',
    '＋',
    '．',
    '٣',
    '߂',
    '੩',
    '¹',
    '½',
    'Ⅻ',
    '\u{301}',
    '\u{fffd}',
    '\u{10ffff}',
    '𠮷',
    '髙',
    '﨑',
    '①',
    '㈱',
    '¥',
    '‾',
    '−',
    '"',
    '\'',
    ',',
    ';',
    '=',
    '+',
    '-',
    '@',
    '<',
    '>',
    '&',
    '/',
    '\\',
    ':',
    '%',
    '{',
    '}',
    '|',
    ' ',
    'J',
    'P',
    'M',
    'W',
    'D',
    'N',
    '0',
    '1',
    '2',
    '4',
    '7',
    '9',
    'a',
    'Z',
    'é',
    'İ',
    'ß',
];

/// Strings worth throwing at a parser: arbitrary Unicode, strings of the nasty characters,
/// digit strings of the lengths codes have, and long repetitions.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        4 => prop::collection::vec(prop::sample::select(NASTY), 0..40)
            .prop_map(|v| v.into_iter().collect::<String>()),
        2 => prop::collection::vec(prop::sample::select(&['0', '1', '3', '4', '7', '9', '０', '９'][..]), 0..12)
            .prop_map(|v| v.into_iter().collect::<String>()),
        1 => (prop::sample::select(NASTY), 1_000..70_000_usize)
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect::<String>()),
        1 => ("[JPMWDN]?[0-9]{0,11}", prop::sample::select(NASTY))
            .prop_map(|(s, c)| format!("{s}{c}")),
    ]
}

/// The full-width form of the ASCII digits, `/`, `-` and `,` of `s` (as Japanese input methods
/// type them).
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
            '/' => '／',
            '-' => '－',
            ',' => '，',
            other => other,
        })
        .collect()
}

/// A refusal a person can read: a catalogue message with a text in both languages.
fn clear(m: Msg) {
    for lang in [Lang::Ja, Lang::En] {
        assert!(
            !m.text(lang).trim().is_empty(),
            "{m:?} has no {lang:?} text"
        );
    }
}

/// A valid organisation code of every shape the convention allows.
fn valid_code() -> impl Strategy<Value = (String, OrgKind)> {
    prop_oneof![
        Just(("JP".to_owned(), OrgKind::Nation)),
        (1..=47_u8).prop_map(|p| (format!("{p:02}"), OrgKind::Prefecture)),
        (1..=47_u8, 0..1000_u16)
            .prop_map(|(p, n)| (format!("{p:02}{n:03}"), OrgKind::Municipality)),
        (0..=8_u8, 0..1_000_000_000_u32)
            .prop_map(|(d, n)| (format!("{d}{n:09}"), OrgKind::Institution)),
        (0..1_000_000_000_u32).prop_map(|n| (format!("9{n:09}"), OrgKind::Site)),
        (0..1000_u16).prop_map(|n| (format!("M{n:03}"), OrgKind::Manufacturer)),
        (1..=47_u8, 0..1000_u16).prop_map(|(p, n)| (format!("W{p:02}{n:03}"), OrgKind::Wholesaler)),
        (0..1000_u16).prop_map(|n| (format!("D{n:03}"), OrgKind::DryIceMaker)),
        (0..1000_u16).prop_map(|n| (format!("N{n:03}"), OrgKind::SyringeWarehouse)),
    ]
}

/// Every property of the text parsers, for one input; used by the generated cases and the
/// saved corpus alike.
fn text_parsers_hold(s: &str) {
    // Organisation codes.
    match OrgCode::parse(s) {
        Ok(c) => {
            assert_eq!(OrgCode::parse(c.as_str()), Ok(c.clone()), "{s:?}");
            assert_eq!(c.to_string(), c.as_str());
            assert!(c.as_str().bytes().all(|b| b.is_ascii_alphanumeric()), "{c}");
            assert_eq!(c.as_str(), s.trim());
            let _ = c.kind();
            // A site's code names its municipality by shape (the prefecture digits are not
            // checked against 01–47: the registry checks the municipality exists).
            if let Some(m) = c.site_municipality() {
                assert_eq!(m.kind(), OrgKind::Municipality);
                assert!(m.as_str().len() == 5 && m.as_str().bytes().all(|b| b.is_ascii_digit()));
            }
        }
        Err(m) => {
            assert!(
                matches!(m, Msg::Required | Msg::InvalidOrgCode),
                "{s:?}: {m:?}"
            );
            clear(m);
        }
    }
    // Full-width digits mean their ASCII digits once normalised, as every form does.
    let ascii = ascii_digits(s);
    assert_eq!(ascii_digits(&full_width(&ascii)), ascii);
    assert_eq!(
        ascii_digits(&ascii),
        ascii,
        "normalising twice changes nothing"
    );
    assert_eq!(ascii.chars().count(), s.chars().count());
    assert!(!ascii.chars().any(|c| ('０'..='９').contains(&c)));
    // Roles, languages and every closed set of codes.
    match Role::parse(s) {
        Ok(r) => assert_eq!(Role::parse(r.as_str()), Ok(r)),
        Err(m) => clear(m),
    }
    if let Some(l) = Lang::parse(s) {
        assert_eq!(Lang::parse(l.code()), Some(l));
    }
    let _ = Lang::from_accept_language(s);
    macro_rules! codes {
        ($($t:ty),*) => {$(
            if let Some(v) = <$t>::parse(s) {
                assert_eq!(v.as_str(), s);
            }
            assert_eq!(<$t>::try_from(s.to_owned()).ok(), <$t>::parse(s));
        )*};
    }
    codes!(
        OrgKind,
        Level,
        Status,
        Chain,
        Unit,
        EntryKind,
        ProductKind,
        ContractStatus,
        SiteType,
        Reservation
    );
    if let Some(w) = WasteReason::parse(s) {
        assert_eq!(w.as_str(), s);
    }
    // Text checks.
    let controls = s
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    assert_eq!(check_text(s).is_err(), controls, "{s:?}");
    match Email::parse(s) {
        Ok(e) => {
            assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
            assert!(e.as_str().len() <= 254 && check_text(e.as_str()).is_ok());
        }
        Err(m) => clear(m),
    }
    match local_link(s) {
        Ok(l) => {
            assert_eq!(local_link(&l), Ok(l.clone()));
            assert!(l.starts_with('/') && !l.starts_with("//"), "{l:?}");
            assert!(!l.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
        Err(m) => clear(m),
    }
    match person_name(s) {
        Ok(n) => {
            assert_eq!(person_name(&n), Ok(n.clone()));
            assert!((1..=100).contains(&n.chars().count()));
            assert!(check_text(&n).is_ok());
        }
        Err(m) => clear(m),
    }
    if let Err(m) = vsys_domain::password::check(s, "someone@example.jp") {
        clear(m);
    }
    // TOTP: any text as a code or a secret.
    let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
    for t in [0, 1_750_000_000, i64::MIN, i64::MAX] {
        if secret.verify(s, t, None).is_some() {
            assert_eq!(s.trim().len(), 6);
        }
    }
    if let Some(sec) = TotpSecret::from_base32(s) {
        assert_eq!(TotpSecret::from_base32(&sec.to_base32()), Some(sec.clone()));
        let _ = sec.uri(s, s);
        let _ = sec.code_at(i64::MIN);
    }
    // Stored formulas: any text is refused with a clear error or read back as itself.
    if let Ok(f) = Formulas::try_from(s.to_owned()) {
        assert_eq!(Formulas::try_from(f.to_stored()), Ok(f));
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn text_parsers_never_panic_and_read_back(s in hostile()) {
        text_parsers_hold(&s);
    }

    #[test]
    fn valid_codes_read_back_also_typed_full_width_and_padded(
        (code, kind) in valid_code(),
        pad in prop::sample::select(&["", " ", "\u{3000}", "\t", " \r\n"][..]),
    ) {
        let c = OrgCode::parse(&code).unwrap();
        prop_assert_eq!(c.kind(), kind);
        prop_assert_eq!(c.as_str(), code.as_str());
        prop_assert_eq!(OrgCode::parse(&format!("{pad}{code}{pad}")), Ok(c.clone()));
        prop_assert_eq!(OrgCode::parse(&ascii_digits(&full_width(&code))), Ok(c.clone()));
        if kind == OrgKind::Site {
            let m = c.site_municipality().unwrap();
            prop_assert_eq!(m.kind(), OrgKind::Municipality);
        }
    }

    #[test]
    fn codes_with_one_character_changed_are_refused_or_still_valid(
        (code, _) in valid_code(),
        at in any::<prop::sample::Index>(),
        c in prop::sample::select(NASTY),
    ) {
        let mut chars: Vec<char> = code.chars().collect();
        let i = at.index(chars.len());
        chars[i] = c;
        let mutated: String = chars.into_iter().collect();
        text_parsers_hold(&mutated);
    }

    #[test]
    fn full_width_numbers_and_dates_mean_their_ascii_forms(
        n in any::<i64>(),
        y in 1..=9999_i32, m in 1..=12_u32, d in 1..=31_u32,
    ) {
        let typed = full_width(&n.to_string());
        prop_assert_eq!(ascii_digits(&typed).parse::<i64>(), Ok(n));
        let date = format!("{y:04}/{m}/{d}");
        prop_assert_eq!(ascii_digits(&full_width(&date)), date);
    }

    #[test]
    fn numbers_never_panic(q in any::<i64>(), page in any::<Option<u64>>(), per in any::<Option<u64>>()) {
        match quantity(q) {
            Ok(v) => prop_assert!((0..=MAX_QUANTITY).contains(&v)),
            Err(m) => clear(m),
        }
        match Page::parse(page, per) {
            Ok(p) => {
                prop_assert!((1..=Page::MAX_PAGE).contains(&p.page));
                prop_assert!((1..=Page::MAX_PER_PAGE).contains(&p.per_page));
                prop_assert!(i64::try_from(p.offset()).is_ok());
            }
            Err(inv) => {
                prop_assert!(!inv.is_empty());
                for e in &inv.0 {
                    prop_assert!(e.field == "page" || e.field == "per_page");
                    clear(e.msg);
                }
            }
        }
    }

    #[test]
    fn unit_conversions_never_panic(
        amount in any::<i64>(),
        doses_per_vial in any::<u32>(),
        vials_per_box in any::<u32>(),
    ) {
        let p = Presentation { doses_per_vial, vials_per_box };
        for unit in Unit::ALL {
            if let Some(v) = p.to_vials(amount, unit)
                && unit == Unit::Box
                && vials_per_box > 0
            {
                prop_assert_eq!(p.from_vials_floor(v, unit).amount, amount);
            }
            let r = p.from_vials_floor(amount, unit);
            prop_assert!(r.remainder_vials >= 0 || amount < 0);
            let r = p.doses_to_unit_floor(amount, unit);
            prop_assert!(r.remainder_doses >= 0 || amount < 0 || unit == Unit::Dose);
            let _ = p.doses(amount);
        }
    }

    #[test]
    fn stored_formulas_read_back(
        w in any::<[u32; 5]>(),
        version in any::<u32>(),
        flags in any::<[bool; 3]>(),
    ) {
        let f = Formula {
            version,
            weights: Weights { population: w[0], requested: w[1], capacity: w[2], usage: w[3], equal: w[4] },
            deduct_stock: flags[0],
            cap_by_request: flags[1],
            cap_by_capacity: flags[2],
        };
        let fs = Formulas { prefecture: f.clone(), municipality: Formula::default(), site: f };
        prop_assert_eq!(Formulas::try_from(fs.to_stored()), Ok(fs));
    }

    /// The formula with inputs far outside anything real (every quantity up to `i64::MAX`,
    /// negative numbers, weights up to `u32::MAX`): no panic, and never more than the total.
    #[test]
    fn formulas_survive_extreme_inputs(
        total in prop_oneof![any::<i64>(), Just(i64::MAX), 0..1_000_000_i64],
        kids in prop::collection::vec(extreme_child(), 0..40),
        w in prop::collection::vec(prop_oneof![Just(0_u32), Just(u32::MAX), any::<u32>(), 0..5_u32], 5),
        flags in any::<[bool; 3]>(),
    ) {
        let f = Formula {
            version: 1,
            weights: Weights { population: w[0], requested: w[1], capacity: w[2], usage: w[3], equal: w[4] },
            deduct_stock: flags[0],
            cap_by_request: flags[1],
            cap_by_capacity: flags[2],
        };
        let a = allocate(total, &kids, &f);
        let given: i128 = a.lines.iter().map(|l| i128::from(l.amount)).sum();
        prop_assert!(given <= i128::from(total.max(0)));
        prop_assert!(a.lines.iter().all(|l| l.amount >= 0));
    }
}

fn extreme() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        Just(None),
        Just(Some(i64::MAX)),
        Just(Some(i64::MIN)),
        Just(Some(0)),
        any::<i64>().prop_map(Some),
        (0..10_000_i64).prop_map(Some),
    ]
}

fn extreme_child() -> impl Strategy<Value = ChildInput> {
    (
        hostile().prop_map(|s| s.chars().take(20).collect::<String>()),
        [
            extreme(),
            extreme(),
            extreme(),
            extreme(),
            extreme(),
            extreme(),
            extreme(),
        ],
    )
        .prop_map(|(code, v)| ChildInput {
            code,
            population: v[0],
            requested: v[1],
            capacity: v[2],
            administered: v[3],
            delivered: v[4],
            stock: v[5],
            storage_cap: v[6],
        })
}

/// The saved corpus: one hostile string per line, with `\u{…}` escapes for what a text file
/// cannot hold (NUL, lone control characters); lines starting with `#` are comments.
#[test]
fn saved_corpus_of_strings() {
    let corpus = include_str!("fixtures/hostile/strings.txt");
    let mut n = 0;
    for line in corpus.lines().filter(|l| !l.starts_with('#')) {
        let s = unescape(line);
        text_parsers_hold(&s);
        text_parsers_hold(&s.repeat(1000));
        n += 1;
    }
    assert!(n >= 40, "the corpus holds {n} strings");
}

/// `\u{HEX}` → that character; everything else as it is.
fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("\\u{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        match after.find('}') {
            Some(j) => {
                let c = u32::from_str_radix(&after[..j], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or_else(|| panic!("bad escape in {line:?}"));
                out.push(c);
                rest = &after[j + 1..];
            }
            None => panic!("unclosed escape in {line:?}"),
        }
    }
    out.push_str(rest);
    out
}

/// Known shapes of attack, each answered with the expected clear refusal.
#[test]
fn known_attacks_are_refused_clearly() {
    for s in ["", " ", "\u{3000}"] {
        assert_eq!(OrgCode::parse(s), Err(Msg::Required), "{s:?}");
    }
    for s in [
        "13103\0",
        "1310３",
        "٣١٠٣١",
        "JP\u{202e}",
        "W0\u{0}001",
        "M0001",
        "W48001",
        "00",
        "48",
        "9",
        "9131030001 OR 1=1",
        "13103'; DROP TABLE orgs; --",
        "W１３001",
    ] {
        assert_eq!(OrgCode::parse(s), Err(Msg::InvalidOrgCode), "{s:?}");
    }
    for s in [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example",
        "/\\evil.example",
        "\u{202e}/x",
        "/x\u{0}",
    ] {
        assert_eq!(local_link(s), Err(Msg::LocalLinkOnly), "{s:?}");
    }
    assert_eq!(check_text("a\u{0}b"), Err(Msg::ControlCharacter));
    assert_eq!(person_name("<script>\u{7}</script>"), Err(Msg::InvalidName));
    assert_eq!(ascii_digits("２０２６／０６／０３"), "2026/06/03");
}
