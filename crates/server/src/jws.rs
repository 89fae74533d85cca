//! Signed JSON Web Tokens (ES256, compact JWS) under one of the installation's P-256
//! keys (made once, kept in the database so every node signs alike), and their public
//! keys as a JWKS: OpenID Connect id_tokens for apps granted `openid` (published at
//! `/oauth/jwks`), and prescriptions' verifiable tokens (a key of their own, published
//! at `/.well-known/telemed-prescription-keys`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use telemed_domain::{Error, Result};

pub struct JwsKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    kid: String,
}

impl JwsKey {
    /// The key from its stored form (PKCS#8, hex).
    pub fn from_hex(stored: &str) -> Result<JwsKey> {
        let pkcs8 = hex::decode(stored).map_err(|_| Error::internal("a signing key is not hex"))?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|_| Error::internal("a signing key does not load"))?;
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(pair.public_key().as_ref())[..12]);
        Ok(JwsKey { pair, rng, kid })
    }

    /// A signed JWT of `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String> {
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| Error::internal("signing a token failed"))?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The claims of `token` when this key signed it (ES256, this key's `kid`), as they
    /// were signed; `None` for anything else (malformed, another key, altered).
    pub fn verify(&self, token: &str) -> Option<Value> {
        let (input, signature) = token.rsplit_once('.')?;
        let (header, claims) = input.split_once('.')?;
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header["alg"] != "ES256" || header["kid"] != self.kid.as_str() {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            self.pair.public_key().as_ref(),
        )
        .verify(input.as_bytes(), &signature)
        .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()
    }

    /// The public key as a JSON Web Key Set.
    pub fn jwks(&self) -> Value {
        // An uncompressed P-256 point: 0x04, then x and y (32 bytes each).
        let point = self.pair.public_key().as_ref();
        let (x, y) = point
            .get(1..)
            .unwrap_or_default()
            .split_at(point.len().saturating_sub(1) / 2);
        json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> JwsKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        JwsKey::from_hex(&hex::encode(pkcs8.as_ref())).unwrap()
    }

    #[test]
    fn a_token_verifies_under_its_key_only_and_not_once_altered() {
        let (k, other) = (key(), key());
        let token = k.sign(&json!({"jti": "rx-1", "quantity": 21})).unwrap();
        assert_eq!(k.verify(&token).unwrap()["quantity"], 21);
        assert_eq!(other.verify(&token), None);
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = input.split_once('.').unwrap();
        let forged = format!(
            "{header}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(json!({"jti": "rx-1", "quantity": 210}).to_string())
        );
        assert_eq!(k.verify(&forged), None);
        assert_eq!(k.verify("not a token"), None);
    }
}
