//! Every text parser of `vsys_domain` on arbitrary bytes (as UTF-8, lossily): no panic, and
//! what is accepted reads back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsys_domain::i18n::Lang;
use vsys_domain::totp::TotpSecret;
use vsys_domain::validation::{Email, ascii_digits, check_text, local_link, person_name};
use vsys_domain::{Formulas, OrgCode, Role};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    if let Ok(c) = OrgCode::parse(s) {
        assert_eq!(OrgCode::parse(c.as_str()), Ok(c.clone()));
        let _ = (c.kind(), c.site_municipality());
    }
    let a = ascii_digits(s);
    assert_eq!(ascii_digits(&a), a);
    if let Ok(e) = Email::parse(s) {
        assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
    }
    if let Ok(l) = local_link(s) {
        assert!(l.starts_with('/') && !l.starts_with("//"));
    }
    if let Ok(n) = person_name(s) {
        assert_eq!(person_name(&n), Ok(n.clone()));
    }
    let _ = check_text(s);
    let _ = Role::parse(s);
    let _ = Lang::parse(s);
    let _ = Lang::from_accept_language(s);
    let _ = vsys_domain::password::check(s, "a@example.jp");
    if let Some(t) = TotpSecret::from_base32(s) {
        let _ = t.verify(s, 0, None);
        let _ = t.uri(s, s);
    }
    if let Ok(f) = Formulas::try_from(s.to_owned()) {
        assert_eq!(Formulas::try_from(f.to_stored()), Ok(f));
    }
});
