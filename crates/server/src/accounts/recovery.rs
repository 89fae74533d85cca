//! One-time recovery codes for a lost second factor: ten random codes shown once and
//! stored as SHA-256 (they carry 50 bits of randomness each, beyond guessing within the
//! sign-in lockout).

use rand::rngs::OsRng;
use rand::Rng;

use crate::crypto::token_hash;

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
pub const CODES: usize = 10;

/// Ten fresh codes, as shown to the person: `xxxxx-xxxxx`.
pub fn generate() -> Vec<String> {
    (0..CODES)
        .map(|_| {
            let mut code: String = (0..10)
                .map(|_| ALPHABET[OsRng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            code.insert(5, '-');
            code
        })
        .collect()
}

/// The stored form of a code as typed: case, spaces and dashes do not matter.
pub fn hash(typed: &str) -> String {
    let normal: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    token_hash(&format!("recovery:{normal}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_distinct_and_forgiving_to_type() {
        let codes = super::generate();
        assert_eq!(codes.len(), super::CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        let c = &codes[0];
        assert_eq!(
            super::hash(c),
            super::hash(&c.to_uppercase().replace('-', " "))
        );
    }
}
