//! Secrets and hashes: random tokens, their stored SHA-256 form, HMAC signatures, and
//! Argon2id password hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use telemed_domain::{Error, Result};

/// A fresh random secret: 32 bytes from the OS, URL-safe base64, with a readable prefix
/// (e.g. `tm_pat_`) so a leaked token can be recognised by secret scanners.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The form in which a high-entropy token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hmac_hex(key: &[u8], message: &[u8]) -> Result<String> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(key)
        .map_err(|e| Error::internal(format!("hmac key: {e}")))?;
    mac.update(message);
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2: {e}")))
}

/// Checks a password against a stored Argon2id hash. A corrupt hash fails closed.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so a failed sign-in takes
/// as long whether or not the email is known.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("telemed-no-such-account").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("violet kettle orbit 42").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("violet kettle orbit 42", &h));
        assert!(!verify_password("violet kettle orbit 43", &h));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_prefixed() {
        let a = random_token("tm_pat_");
        assert!(a.starts_with("tm_pat_") && a.len() > 40);
        assert_ne!(a, random_token("tm_pat_"));
        assert_eq!(token_hash(&a), token_hash(&a));
        assert!(
            constant_time_eq(b"abc", b"abc")
                && !constant_time_eq(b"abc", b"abd")
                && !constant_time_eq(b"ab", b"abc")
        );
    }
}
