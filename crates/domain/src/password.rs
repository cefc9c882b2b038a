//! Password policy after NIST SP 800-63B: at least 12 characters, at most 256, not the
//! e-mail address, not a well-known or trivially repetitive password, and no composition rules.

use crate::i18n::Msg;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;

/// A short list of the passwords attackers try first (12 characters or longer, lower-cased).
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "qwertyuiopas",
    "qwertyuiop123",
    "passwordpassword",
    "password1234",
    "password12345",
    "password123456",
    "iloveyou1234",
    "administrator",
    "adminadminadmin",
    "letmein12345",
    "welcome12345",
    "changeme1234",
    "vaccination1",
    "vaccine12345",
    "abcdefghijkl",
    "abc123abc123",
    "qazwsxedcrfv",
    "1q2w3e4r5t6y",
    "zaq12wsxcde3",
];

/// Checks a new password; returns the first rule it breaks.
pub fn check(password: &str, email: &str) -> Result<(), Msg> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(Msg::PasswordTooShort);
    }
    if n > MAX_CHARS {
        return Err(Msg::PasswordTooLong);
    }
    let lower = password.to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lower == email
        || (local.chars().count() >= 4 && lower == local)
        || lower.contains(&email) && !email.is_empty()
    {
        return Err(Msg::PasswordIsEmail);
    }
    if COMMON.contains(&lower.as_str()) {
        return Err(Msg::PasswordTooCommon);
    }
    if is_repetitive(&lower) {
        return Err(Msg::PasswordRepetitive);
    }
    Ok(())
}

/// One repeated character, or a run of consecutive code points ("abcdefghijklm", "987654…").
fn is_repetitive(s: &str) -> bool {
    let cs: Vec<u32> = s.chars().map(u32::from).collect();
    let same = cs.windows(2).all(|w| w[0] == w[1]);
    let up = cs.windows(2).all(|w| w[1] == w[0].wrapping_add(1));
    let down = cs.windows(2).all(|w| w[0] == w[1].wrapping_add(1));
    same || up || down
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        let e = "tanaka@example.jp";
        assert_eq!(check("short", e), Err(Msg::PasswordTooShort));
        assert_eq!(check("tanaka@example.jp", e), Err(Msg::PasswordIsEmail));
        assert_eq!(check("TANAKA@EXAMPLE.JP", e), Err(Msg::PasswordIsEmail));
        assert_eq!(check("Password1234", e), Err(Msg::PasswordTooCommon));
        assert_eq!(check("aaaaaaaaaaaaaaa", e), Err(Msg::PasswordRepetitive));
        assert_eq!(check("abcdefghijklmnop", e), Err(Msg::PasswordRepetitive));
        assert_eq!(check(&"x".repeat(257), e), Err(Msg::PasswordTooLong));
        // No composition rules: a long lower-case phrase is fine, and so is Japanese.
        assert_eq!(check("correct horse battery staple", e), Ok(()));
        assert_eq!(check("ワクチンを全国へ届けるために", e), Ok(()));
    }
}
