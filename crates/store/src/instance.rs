//! Secrets of this installation that every node must share (e.g. the key that signs
//! CSRF tokens), made once at migration time.

use rand::RngCore;
use sqlx::AnyPool;
use telemed_domain::Result;

use crate::DbResult;

pub const CSRF_KEY: &str = "csrf_key";
/// The ECDSA P-256 key (PKCS#8, hex) that signs OpenID Connect id_tokens.
pub const ID_TOKEN_KEY: &str = "id_token_key";
/// The ECDSA P-256 key (PKCS#8, hex) that signs prescriptions' verifiable tokens.
pub const PRESCRIPTION_KEY: &str = "prescription_key";

pub(crate) async fn ensure_secrets(pool: &AnyPool) -> Result<()> {
    sqlx::query(
        "INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(CSRF_KEY)
    .bind(random_hex())
    .execute(pool)
    .await
    .db()?;
    let rng = ring::rand::SystemRandom::new();
    for name in [ID_TOKEN_KEY, PRESCRIPTION_KEY] {
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .map_err(|_| telemed_domain::Error::internal("generating a signing key failed"))?;
        sqlx::query(
            "INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(hex::encode(pkcs8.as_ref()))
        .execute(pool)
        .await
        .db()?;
    }
    Ok(())
}

pub async fn secret(pool: &AnyPool, name: &str) -> Result<String> {
    sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1")
        .bind(name.to_owned())
        .fetch_one(pool)
        .await
        .db()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
