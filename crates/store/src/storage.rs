//! What each person stores (for quotas and the admins' view), and the uploads that wait
//! for a message (`unsent_uploads`), which expire.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use telemed_domain::{BlobId, Result, UserId};

use crate::{to_micros, Conn, DbResult, Store};

/// One person's stored files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub files: i64,
    pub bytes: i64,
    /// Of those, uploads still waiting for a message.
    pub unsent_files: i64,
    pub unsent_bytes: i64,
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    owner_id: String,
    files: i64,
    bytes: i64,
    unsent_files: i64,
    unsent_bytes: i64,
}

const USAGE_SELECT: &str = "SELECT b.owner_id, COUNT(*) AS files, \
     CAST(COALESCE(SUM(b.byte_size), 0) AS BIGINT) AS bytes, \
     CAST(COUNT(u.blob_id) AS BIGINT) AS unsent_files, \
     CAST(COALESCE(SUM(CASE WHEN u.blob_id IS NULL THEN 0 ELSE b.byte_size END), 0) AS BIGINT) AS unsent_bytes \
     FROM blobs b LEFT JOIN unsent_uploads u ON u.blob_id = b.id";

fn usage_of(row: UsageRow) -> Result<(UserId, Usage)> {
    Ok((
        row.owner_id.parse()?,
        Usage {
            files: row.files,
            bytes: row.bytes,
            unsent_files: row.unsent_files,
            unsent_bytes: row.unsent_bytes,
        },
    ))
}

impl Store {
    /// The bytes `owner`'s files take.
    pub async fn stored_bytes(&self, owner: UserId) -> Result<i64> {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(byte_size), 0) AS BIGINT) FROM blobs WHERE owner_id = $1",
        )
        .bind(owner.to_string())
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(bytes)
    }

    /// The storage of each of `owners` who stores anything.
    pub async fn usage_of(&self, owners: &[UserId]) -> Result<HashMap<UserId, Usage>> {
        if owners.is_empty() {
            return Ok(HashMap::new());
        }
        let marks: Vec<String> = (1..=owners.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "{USAGE_SELECT} WHERE b.owner_id IN ({}) GROUP BY b.owner_id",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, UsageRow>(&sql);
        for owner in owners {
            query = query.bind(owner.to_string());
        }
        let rows = query.fetch_all(self.pool()).await.db()?;
        rows.into_iter().map(usage_of).collect()
    }

    /// The `limit` people who store the most, most first.
    pub async fn largest_usage(&self, limit: i64) -> Result<Vec<(UserId, Usage)>> {
        let rows: Vec<UsageRow> = sqlx::query_as(&format!(
            "{USAGE_SELECT} GROUP BY b.owner_id ORDER BY bytes DESC, b.owner_id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(usage_of).collect()
    }

    /// Every stored file of the clinic, counted as one person's are.
    pub async fn total_usage(&self) -> Result<Usage> {
        let row: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(b.byte_size), 0) AS BIGINT), \
             CAST(COUNT(u.blob_id) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN u.blob_id IS NULL THEN 0 ELSE b.byte_size END), 0) AS BIGINT) \
             FROM blobs b LEFT JOIN unsent_uploads u ON u.blob_id = b.id",
        )
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(Usage {
            files: row.0,
            bytes: row.1,
            unsent_files: row.2,
            unsent_bytes: row.3,
        })
    }
}

/// Marks a file just stored as an upload waiting for a message, until `expires_at`.
pub async fn insert_unsent(
    conn: &mut Conn,
    blob: BlobId,
    owner: UserId,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO unsent_uploads (blob_id, owner_id, expires_at) VALUES ($1, $2, $3)")
        .bind(blob.to_string())
        .bind(owner.to_string())
        .bind(to_micros(expires_at))
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Takes `blob` out of `owner`'s unsent uploads for a message; `false` when it is not
/// one of them (another's, sent already, expired). Of two sends racing for one file,
/// one gets it.
pub async fn take_unsent(conn: &mut Conn, blob: BlobId, owner: UserId) -> Result<bool> {
    let taken: Option<String> = sqlx::query_scalar(
        "DELETE FROM unsent_uploads WHERE blob_id = $1 AND owner_id = $2 RETURNING blob_id",
    )
    .bind(blob.to_string())
    .bind(owner.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(taken.is_some())
}

/// Up to `limit` uploads expired at `now`, oldest first, with their owners.
pub async fn expired_unsent(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(BlobId, UserId)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT blob_id, owner_id FROM unsent_uploads WHERE expires_at <= $1 \
         ORDER BY expires_at LIMIT $2",
    )
    .bind(to_micros(now))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()?;
    rows.into_iter()
        .map(|(b, o)| Ok((b.parse()?, o.parse()?)))
        .collect()
}

/// Deletes an upload that is still unsent and expired at `now`, with its file's row;
/// `false` when a message took it meanwhile (nothing is deleted then).
pub async fn delete_expired(conn: &mut Conn, blob: BlobId, now: DateTime<Utc>) -> Result<bool> {
    let gone: Option<String> = sqlx::query_scalar(
        "DELETE FROM unsent_uploads WHERE blob_id = $1 AND expires_at <= $2 RETURNING blob_id",
    )
    .bind(blob.to_string())
    .bind(to_micros(now))
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    if gone.is_none() {
        return Ok(false);
    }
    sqlx::query("DELETE FROM blobs WHERE id = $1")
        .bind(blob.to_string())
        .execute(conn)
        .await
        .db()?;
    Ok(true)
}
