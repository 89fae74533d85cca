//! The clinic's settings, logo and published consent texts. Not patient data: what an
//! admin writes about the clinic. Settings are one document with a revision: a save
//! names the revision it was made from and is refused if another came first.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::Digest as _;
use telemed_domain::clinic::ClinicSettings;
use telemed_domain::{Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// The settings as saved, and their revision (0: never saved, the built-in defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedSettings {
    pub settings: ClinicSettings,
    pub revision: i64,
}

/// The clinic's logo as uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes, hex: the logo's ETag and its address's version.
    pub digest: String,
}

/// One published version of a consent text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentVersion {
    pub version: String,
    pub published_at: DateTime<Utc>,
    /// `(language, text)`, by language code.
    pub texts: Vec<(String, String)>,
}

/// Saves `settings` over revision `from` (0 when none was saved); the new revision.
/// Refused with a conflict when the saved revision is no longer `from`.
pub async fn save_settings(
    conn: &mut Conn,
    settings: &ClinicSettings,
    from: i64,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<i64> {
    let json = serde_json::to_string(settings).map_err(|e| Error::internal(e.to_string()))?;
    let next = from + 1;
    let done = if from == 0 {
        sqlx::query(
            "INSERT INTO clinic_settings (id, settings, revision, updated_at, updated_by) \
             VALUES (1, $1, 1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(json)
        .bind(to_micros(now))
        .bind(by.to_string())
        .execute(conn)
        .await
        .db()?
    } else {
        sqlx::query(
            "UPDATE clinic_settings SET settings = $1, revision = $2, updated_at = $3, \
             updated_by = $4 WHERE id = 1 AND revision = $5",
        )
        .bind(json)
        .bind(next)
        .bind(to_micros(now))
        .bind(by.to_string())
        .bind(from)
        .execute(conn)
        .await
        .db()?
    };
    if done.rows_affected() != 1 {
        return Err(Error::Conflict(
            "the clinic settings were changed by someone else meanwhile: reload them and \
             make your change again"
                .into(),
        ));
    }
    Ok(next)
}

/// Replaces the logo (`Some`) or removes it (`None`).
pub async fn set_logo(
    conn: &mut Conn,
    logo: Option<(&str, &[u8])>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM clinic_logo WHERE id = 1")
        .execute(&mut *conn)
        .await
        .db()?;
    if let Some((media_type, bytes)) = logo {
        sqlx::query(
            "INSERT INTO clinic_logo (id, media_type, data, digest, updated_at) \
             VALUES (1, $1, $2, $3, $4)",
        )
        .bind(media_type)
        .bind(base64::engine::general_purpose::STANDARD.encode(bytes))
        .bind(hex::encode(sha2::Sha256::digest(bytes)))
        .bind(to_micros(now))
        .execute(conn)
        .await
        .db()?;
    }
    Ok(())
}

/// Publishes version `version` of the `kind` consent in each `(language, text)`.
/// Refused with a conflict when that version exists.
pub async fn publish_consent(
    conn: &mut Conn,
    kind: &str,
    version: &str,
    texts: &[(String, String)],
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let taken: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM consent_texts WHERE kind = $1 AND version = $2")
            .bind(kind)
            .bind(version)
            .fetch_one(&mut *conn)
            .await
            .db()?;
    if taken > 0 {
        return Err(Error::Conflict(format!(
            "consent version {version} is already published"
        )));
    }
    for (lang, body) in texts {
        sqlx::query(
            "INSERT INTO consent_texts (kind, version, lang, body, published_at, published_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(kind)
        .bind(version)
        .bind(lang)
        .bind(body)
        .bind(to_micros(now))
        .bind(by.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    }
    Ok(())
}

impl Store {
    /// The saved settings; None before an admin first saved them.
    pub async fn clinic_settings(&self) -> Result<Option<SavedSettings>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT settings, revision FROM clinic_settings WHERE id = 1")
                .fetch_optional(self.pool())
                .await
                .db()?;
        row.map(|(json, revision)| {
            let settings = serde_json::from_str(&json)
                .map_err(|e| Error::internal(format!("the saved clinic settings: {e}")))?;
            Ok(SavedSettings { settings, revision })
        })
        .transpose()
    }

    /// The digest of the logo, if there is one (cheap: the bytes stay in the database).
    pub async fn clinic_logo_digest(&self) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT digest FROM clinic_logo WHERE id = 1")
            .fetch_optional(self.pool())
            .await
            .db()
    }

    pub async fn clinic_logo(&self) -> Result<Option<Logo>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT media_type, data, digest FROM clinic_logo WHERE id = 1")
                .fetch_optional(self.pool())
                .await
                .db()?;
        row.map(|(media_type, data, digest)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| Error::internal(format!("the stored logo: {e}")))?;
            Ok(Logo {
                media_type,
                bytes,
                digest,
            })
        })
        .transpose()
    }

    /// The published versions of the `kind` consent, newest first.
    pub async fn consent_versions(&self, kind: &str) -> Result<Vec<ConsentVersion>> {
        let rows: Vec<(String, i64, String, String)> = sqlx::query_as(
            "SELECT version, published_at, lang, body FROM consent_texts WHERE kind = $1 \
             ORDER BY published_at DESC, version DESC, lang",
        )
        .bind(kind)
        .fetch_all(self.pool())
        .await
        .db()?;
        let mut versions: Vec<ConsentVersion> = Vec::new();
        for (version, published_at, lang, body) in rows {
            match versions.last_mut() {
                Some(last) if last.version == version => last.texts.push((lang, body)),
                _ => versions.push(ConsentVersion {
                    version,
                    published_at: from_micros(published_at),
                    texts: vec![(lang, body)],
                }),
            }
        }
        Ok(versions)
    }

    /// The current (latest published) version of the `kind` consent; None: the
    /// built-in text.
    pub async fn current_consent(&self, kind: &str) -> Result<Option<ConsentVersion>> {
        let Some(latest) = self.current_consent_version(kind).await? else {
            return Ok(None);
        };
        self.consent_version(kind, &latest).await
    }

    /// The name of the current (latest published) version of the `kind` consent, without
    /// its texts; None: the built-in text.
    pub async fn current_consent_version(&self, kind: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT version FROM consent_texts WHERE kind = $1 \
             ORDER BY published_at DESC, version DESC LIMIT 1",
        )
        .bind(kind)
        .fetch_optional(self.pool())
        .await
        .db()
    }

    /// One published version of the `kind` consent.
    pub async fn consent_version(
        &self,
        kind: &str,
        version: &str,
    ) -> Result<Option<ConsentVersion>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT published_at, lang, body FROM consent_texts \
             WHERE kind = $1 AND version = $2 ORDER BY lang",
        )
        .bind(kind)
        .bind(version)
        .fetch_all(self.pool())
        .await
        .db()?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(ConsentVersion {
            version: version.to_owned(),
            published_at: from_micros(first.0),
            texts: rows
                .into_iter()
                .map(|(_, lang, body)| (lang, body))
                .collect(),
        }))
    }
}
