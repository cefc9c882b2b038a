//! Secrets kept at rest (TOTP secrets): sealed with ChaCha20-Poly1305 under the key from the
//! configuration (`secret_key`, `VSYS_SECRET_KEY`), so a copy of the database or a backup alone
//! does not hand out anybody's second factor.
//!
//! Stored form: `v1:` + base64url(12-byte nonce ‖ ciphertext ‖ tag).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const PREFIX: &str = "v1:";
const AAD: &[u8] = b"vsys:totp-secret";

/// Seals and opens secrets with one 256-bit key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

/// Why a key or a sealed value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the secret key must be 32 bytes, written as 64 hex digits or 43–44 base64 characters")]
    BadKey,
    #[error("the stored secret is not sealed (no `v1:` prefix)")]
    NotSealed,
    #[error("the stored secret does not open with the configured key (wrong VSYS_SECRET_KEY?)")]
    WrongKey,
}

impl Sealer {
    /// A sealer from a configured key: 64 hex digits, or base64 (standard or URL-safe, with or
    /// without padding) of 32 bytes.
    pub fn from_config(key: &str) -> Result<Sealer, SealError> {
        let key = key.trim();
        let bytes = data_encoding::HEXLOWER_PERMISSIVE
            .decode(key.as_bytes())
            .ok()
            .filter(|b| b.len() == 32)
            .or_else(|| {
                [
                    data_encoding::BASE64,
                    data_encoding::BASE64_NOPAD,
                    data_encoding::BASE64URL,
                    data_encoding::BASE64URL_NOPAD,
                ]
                .iter()
                .find_map(|e| e.decode(key.as_bytes()).ok().filter(|b| b.len() == 32))
            })
            .ok_or(SealError::BadKey)?;
        Ok(Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// A fresh random key, as configuration text (64 hex digits).
    pub fn generate_key() -> String {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        data_encoding::HEXLOWER.encode(&b)
    }

    /// A sealer with a random key that lives as long as the process (benchmarks and tools
    /// that never read a secret back after a restart).
    pub fn ephemeral() -> Sealer {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&b)),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and a 12-byte nonce cannot fail.
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: AAD,
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", data_encoding::BASE64URL_NOPAD.encode(&out))
    }

    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let body = stored.strip_prefix(PREFIX).ok_or(SealError::NotSealed)?;
        let raw = data_encoding::BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| SealError::WrongKey)?;
        if raw.len() < 12 + 16 {
            return Err(SealError::WrongKey);
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SealError::WrongKey)
    }

    /// Is this stored value sealed (as opposed to a plaintext secret of an older version)?
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_with_the_same_key_only() {
        let key = Sealer::generate_key();
        let s = Sealer::from_config(&key).unwrap_or_else(|_| Sealer::ephemeral());
        let sealed = s.seal("JBSWY3DPEHPK3PXP");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            s.seal("JBSWY3DPEHPK3PXP"),
            "a fresh nonce each time"
        );
        assert_eq!(s.open(&sealed).as_deref(), Ok("JBSWY3DPEHPK3PXP"));
        let other = Sealer::ephemeral();
        assert_eq!(other.open(&sealed), Err(SealError::WrongKey));
        assert_eq!(s.open("JBSWY3DPEHPK3PXP"), Err(SealError::NotSealed));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.open(&tampered), Err(SealError::WrongKey));
    }

    #[test]
    fn keys_in_hex_or_base64_of_32_bytes() {
        let b = [7u8; 32];
        assert!(Sealer::from_config(&data_encoding::HEXLOWER.encode(&b)).is_ok());
        assert!(Sealer::from_config(&data_encoding::BASE64.encode(&b)).is_ok());
        assert!(Sealer::from_config(&data_encoding::BASE64URL_NOPAD.encode(&b)).is_ok());
        assert_eq!(
            Sealer::from_config("too short").err(),
            Some(SealError::BadKey)
        );
        assert_eq!(
            Sealer::from_config(&data_encoding::HEXLOWER.encode(&[1u8; 16])).err(),
            Some(SealError::BadKey)
        );
    }
}
