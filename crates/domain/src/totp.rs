//! TOTP (RFC 6238) with HMAC-SHA1, 30-second steps and 6 digits, as authenticator apps expect.

use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;

/// A TOTP secret: raw bytes, shown to people as unpadded base32.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        TotpSecret(bytes)
    }
    pub fn from_base32(s: &str) -> Option<Self> {
        let cleaned: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect();
        data_encoding::BASE32_NOPAD
            .decode(cleaned.to_ascii_uppercase().as_bytes())
            .ok()
            .map(TotpSecret)
    }
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// The `otpauth://` URI that authenticator apps import.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            enc(issuer),
            enc(account),
            self.to_base32(),
            enc(issuer)
        )
    }

    /// The code for a time step.
    pub fn code_at_step(&self, step: i64) -> u32 {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return 0;
        };
        mac.update(&step.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let off = (h[h.len() - 1] & 0x0f) as usize;
        let bin = (u32::from(h[off]) & 0x7f) << 24
            | u32::from(h[off + 1]) << 16
            | u32::from(h[off + 2]) << 8
            | u32::from(h[off + 3]);
        bin % 10u32.pow(DIGITS)
    }

    pub fn code_at(&self, unix_seconds: i64) -> String {
        format!("{:06}", self.code_at_step(step_of(unix_seconds)))
    }

    /// Checks a code against the current step and one step either side. Returns the matching
    /// step so the caller can refuse a replay of the same or an earlier step.
    pub fn verify(
        &self,
        code: &str,
        unix_seconds: i64,
        last_used_step: Option<i64>,
    ) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let want: u32 = code.parse().ok()?;
        let now = step_of(unix_seconds);
        (now - 1..=now + 1)
            .filter(|s| last_used_step.is_none_or(|last| *s > last))
            .find(|s| self.code_at_step(*s) == want)
    }
}

pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vectors() {
        // RFC 6238 appendix B, SHA-1, 8 digits truncated to our 6.
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(s.code_at(59), "287082");
        assert_eq!(s.code_at(1111111109), "081804");
        assert_eq!(s.code_at(2000000000), "279037");
    }

    #[test]
    fn verify_window_and_replay() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let t = 1_700_000_000;
        let code = s.code_at(t);
        let step = s.verify(&code, t + 25, None);
        assert!(step.is_some());
        assert_eq!(s.verify(&code, t, step), None, "replay refused");
        assert_eq!(s.verify(&code, t + 200, None), None, "too late");
        assert_eq!(s.verify("12345", t, None), None);
        let b32 = s.to_base32();
        assert_eq!(TotpSecret::from_base32(&b32.to_lowercase()), Some(s));
    }
}
