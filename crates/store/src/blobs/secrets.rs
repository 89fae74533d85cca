//! Small secrets kept in database rows (today: TOTP seeds), sealed under the master key
//! like the files' data keys, so a copy of the database alone does not give away anyone's
//! second factor.
//!
//! Stored form: `sealed:v1:<master key id>:<base64 of nonce | ciphertext | tag>`
//! (AES-256-GCM). The associated data names what the secret belongs to (e.g.
//! `totp:<user id>`), so a sealed value copied into another row does not open there.

use base64::Engine as _;
use telemed_domain::{Error, Result};

use super::keys::KEY_ID_LEN;
use super::{open, seal, Blobs};
use crate::{DbResult, Store};

const SEALED_PREFIX: &str = "sealed:v1:";

/// What a user's TOTP seed is bound to.
pub fn totp_purpose(user_id: &str) -> String {
    format!("totp:{user_id}")
}

impl Blobs {
    /// Seals `secret` under the current master key, bound to `purpose`.
    pub fn seal_secret(&self, purpose: &str, secret: &str) -> Result<String> {
        let master = self
            .keys
            .first()
            .ok_or_else(|| Error::internal("no master key"))?;
        let sealed = seal(master.bytes(), secret.as_bytes(), purpose.as_bytes())?;
        Ok(format!(
            "{SEALED_PREFIX}{}:{}",
            master.id(),
            base64::engine::general_purpose::STANDARD.encode(sealed)
        ))
    }

    /// Opens a stored secret. A value written before secrets were sealed (no prefix: a
    /// node of an older version) is read as it is; `seal_totp_secrets` seals it at the
    /// next start. Anything altered, or sealed for another purpose, fails.
    pub fn open_secret(&self, purpose: &str, stored: &str) -> Result<String> {
        let Some(rest) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let corrupt = || Error::internal(format!("a sealed secret ({purpose}) does not open"));
        let (key_id, body) = rest.split_once(':').ok_or_else(corrupt)?;
        let master = self.master_key(key_id, &format!("a secret ({purpose})"))?;
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| corrupt())?;
        let plain = open(master.bytes(), &sealed, purpose.as_bytes()).ok_or_else(corrupt)?;
        String::from_utf8(plain).map_err(|_| corrupt())
    }

    /// Seals every TOTP seed still stored in plain text and re-seals those under a
    /// retired master key (at start, and when the key is rotated). A seed changed
    /// meanwhile (a new enrolment) is left to its writer. Returns how many changed.
    pub async fn seal_totp_secrets(&self, store: &Store) -> Result<u64> {
        // Only the seeds not yet sealed under the current key leave the database.
        let stale: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, totp_secret FROM users \
             WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE $1",
        )
        .bind(format!("{SEALED_PREFIX}{}:%", self.current_key_id()))
        .fetch_all(store.pool())
        .await
        .db()?;
        if stale.is_empty() {
            return Ok(0);
        }
        let mut changed = 0u64;
        let mut tx = store.begin_write().await?;
        for (id, stored) in stale {
            let purpose = totp_purpose(&id);
            let sealed = self.seal_secret(&purpose, &self.open_secret(&purpose, &stored)?)?;
            changed +=
                sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_secret = $3")
                    .bind(id)
                    .bind(sealed)
                    .bind(stored)
                    .execute(&mut **tx)
                    .await
                    .db()?
                    .rows_affected();
        }
        tx.commit().await.db()?;
        Ok(changed)
    }

    /// The master keys stored TOTP seeds are sealed under (each once, found by the
    /// database: the id stands at a fixed place after the prefix).
    pub(super) async fn totp_key_ids(store: &Store) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT substr(totp_secret, {}, {KEY_ID_LEN}) FROM users \
             WHERE totp_secret LIKE '{SEALED_PREFIX}%'",
            SEALED_PREFIX.len() + 1
        );
        sqlx::query_scalar(&sql).fetch_all(store.pool()).await.db()
    }
}

#[cfg(test)]
mod tests {
    use super::super::MasterKey;
    use super::*;

    /// The master key a stored secret is sealed under, if it is sealed.
    fn sealed_key_id(stored: &str) -> Option<&str> {
        stored
            .strip_prefix(SEALED_PREFIX)?
            .split_once(':')
            .map(|(id, _)| id)
    }

    fn blobs(keys: Vec<MasterKey>) -> Blobs {
        let dir = std::env::temp_dir().join(format!("telemed-secrets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Blobs::open(&super::super::Location::Local(dir), keys).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_for_its_purpose_only_and_under_a_retired_key() {
        let old = MasterKey::generate();
        let sealer = blobs(vec![old.clone()]);
        let stored = sealer.seal_secret("totp:a", "JBSWY3DPEHPK3PXP").unwrap();
        assert!(stored.starts_with("sealed:v1:"));
        assert!(!stored.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(sealed_key_id(&stored), Some(old.id().as_str()));
        assert_eq!(old.id().len(), KEY_ID_LEN);
        assert_eq!(
            sealer.open_secret("totp:a", &stored).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        // Copied to another user's row: does not open.
        assert!(sealer.open_secret("totp:b", &stored).is_err());
        // Altered: does not open.
        let mut altered = stored.clone();
        altered.pop();
        altered.push(if stored.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open_secret("totp:a", &altered).is_err());
        // After a rotation the retired key still opens it; without it, nothing does.
        let rotated = blobs(vec![MasterKey::generate(), old]);
        assert_eq!(
            rotated.open_secret("totp:a", &stored).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(blobs(vec![MasterKey::generate()])
            .open_secret("totp:a", &stored)
            .is_err());
        // A value from before sealing is read as it is.
        assert_eq!(sealer.open_secret("totp:a", "PLAIN").unwrap(), "PLAIN");
    }
}
