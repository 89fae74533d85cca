//! The rules of OAuth 2 that need no IO: PKCE (RFC 7636, S256 only), what a redirect URI
//! may be, and how long codes and tokens live.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// An authorization code is spent within a minute.
pub const CODE_SECONDS: i64 = 60;
/// Access tokens live an hour; refresh tokens (with `offline_access`) 90 days, each
/// replaced when used.
pub const ACCESS_SECONDS: i64 = 3600;
pub const REFRESH_DAYS: i64 = 90;

/// A PKCE verifier: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A S256 challenge: base64url (no padding) of a SHA-256, 43 characters.
pub fn valid_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Whether `verifier` is the one `challenge` was made from (S256).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    if !valid_verifier(verifier) {
        return false;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    base64url(&digest) == challenge
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A redirect URI an app may register: absolute, https (or http on the loopback
/// address, for native and development apps), no fragment, no credentials.
pub fn validate_redirect_uri(uri: &str) -> Result<()> {
    let bad = |why: &str| Error::invalid("redirect_uris", format!("{uri}: {why}"));
    let rest = if let Some(r) = uri.strip_prefix("https://") {
        r
    } else if let Some(r) = uri.strip_prefix("http://") {
        let host = r.split(['/', '?']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(bad("http is allowed on localhost only; use https"));
        }
        r
    } else {
        return Err(bad("must start with https://"));
    };
    if uri.contains('#') {
        return Err(bad("must not have a fragment"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("must name a host, without credentials"));
    }
    if uri.len() > 500 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must be one URI of at most 500 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="
        ));
    }

    #[test]
    fn redirect_uris_are_https_or_loopback() {
        for ok in [
            "https://app.example/callback",
            "https://app.example:8443/cb?x=1",
            "http://localhost:3000/callback",
            "http://127.0.0.1/cb",
        ] {
            assert!(validate_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/callback",
            "https://app.example/cb#frag",
            "https://user:pw@app.example/cb",
            "javascript:alert(1)",
            "https:///nohost",
            "/relative",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
