//! Secrets of this installation that every node must share (e.g. the key that signs
//! CSRF tokens), made once at migration time.

use rand::RngCore;
use sqlx::AnyPool;
use telemed_domain::Result;

use crate::DbResult;

pub const CSRF_KEY: &str = "csrf_key";

pub(crate) async fn ensure_secrets(pool: &AnyPool) -> Result<()> {
    sqlx::query(
        "INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(CSRF_KEY)
    .bind(random_hex())
    .execute(pool)
    .await
    .db()?;
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
