//! FHIR Bulk Data exports (migration 0014): the job row and its NDJSON files.

use chrono::{DateTime, Utc};
use telemed_domain::{Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub id: String,
    pub requester: UserId,
    pub request_url: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportFile {
    pub seq: i64,
    pub resource_type: String,
    pub count: i64,
}

impl Store {
    pub async fn insert_export(
        &self,
        id: &str,
        requester: UserId,
        request_url: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let conn: &mut Conn = &mut tx;
        sqlx::query(
            "INSERT INTO fhir_exports (id, requester_id, request_url, status, created_at, heartbeat_at) \
             VALUES ($1, $2, $3, 'running', $4, $4)",
        )
        .bind(id.to_owned())
        .bind(requester.to_string())
        .bind(request_url.to_owned())
        .bind(to_micros(now))
        .execute(&mut *conn)
        .await
        .db()?;
        tx.commit().await.db()
    }

    /// Notes that the node running the export is still at it.
    pub async fn export_heartbeat(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE fhir_exports SET heartbeat_at = $2 WHERE id = $1 AND status = 'running'",
        )
        .bind(id.to_owned())
        .bind(to_micros(now))
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    /// Marks failed every running export not heard of since `stalled_before` (its node
    /// stopped), with `error`, and removes the files it had written. Returns how many.
    pub async fn fail_stalled_exports(
        &self,
        stalled_before: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let conn: &mut Conn = &mut tx;
        let failed: Vec<(String,)> = sqlx::query_as(
            "UPDATE fhir_exports SET status = 'failed', error = $2, completed_at = $3 \
             WHERE status = 'running' AND COALESCE(heartbeat_at, created_at) < $1 RETURNING id",
        )
        .bind(to_micros(stalled_before))
        .bind(error.to_owned())
        .bind(to_micros(now))
        .fetch_all(&mut *conn)
        .await
        .db()?;
        for (id,) in &failed {
            sqlx::query("DELETE FROM fhir_export_files WHERE export_id = $1")
                .bind(id.clone())
                .execute(&mut *conn)
                .await
                .db()?;
        }
        tx.commit().await.db()?;
        Ok(failed.len() as u64)
    }

    /// Adds one NDJSON file to a running export (nothing if it is no longer running).
    pub async fn add_export_file(
        &self,
        id: &str,
        seq: i64,
        resource_type: &str,
        count: i64,
        body: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let conn: &mut Conn = &mut tx;
        sqlx::query(
            "INSERT INTO fhir_export_files (export_id, seq, resource_type, resource_count, body) \
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
             (SELECT 1 FROM fhir_exports WHERE id = $1 AND status = 'running')",
        )
        .bind(id.to_owned())
        .bind(seq)
        .bind(resource_type.to_owned())
        .bind(count)
        .bind(body.to_owned())
        .execute(&mut *conn)
        .await
        .db()?;
        tx.commit().await.db()
    }

    /// Ends a running export as done or failed; false if it was cancelled meanwhile.
    pub async fn finish_export(
        &self,
        id: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let conn: &mut Conn = &mut tx;
        let done = sqlx::query(
            "UPDATE fhir_exports SET status = $2, error = $3, completed_at = $4 \
             WHERE id = $1 AND status = 'running'",
        )
        .bind(id.to_owned())
        .bind(if error.is_some() { "failed" } else { "done" })
        .bind(error.map(str::to_owned))
        .bind(to_micros(now))
        .execute(&mut *conn)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels (or, once finished, deletes) an export of `requester`, with its files.
    pub async fn delete_export(
        &self,
        id: &str,
        requester: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let conn: &mut Conn = &mut tx;
        let found = sqlx::query(
            "UPDATE fhir_exports SET status = 'cancelled', completed_at = $3 \
             WHERE id = $1 AND requester_id = $2 AND status <> 'cancelled'",
        )
        .bind(id.to_owned())
        .bind(requester.to_string())
        .bind(to_micros(now))
        .execute(&mut *conn)
        .await
        .db()?;
        sqlx::query("DELETE FROM fhir_export_files WHERE export_id = $1")
            .bind(id.to_owned())
            .execute(&mut *conn)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(found.rows_affected() == 1)
    }

    pub async fn export(&self, id: &str) -> Result<Option<Export>> {
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            Option<i64>,
            Option<String>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, requester_id, request_url, status, created_at, completed_at, error \
                 FROM fhir_exports WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(|r| {
            Ok(Export {
                id: r.0,
                requester: r.1.parse().map_err(|_| Error::internal("corrupt export"))?,
                request_url: r.2,
                status: r.3,
                created_at: from_micros(r.4),
                completed_at: r.5.map(from_micros),
                error: r.6,
            })
        })
        .transpose()
    }

    pub async fn export_files(&self, id: &str) -> Result<Vec<ExportFile>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT seq, resource_type, resource_count FROM fhir_export_files \
             WHERE export_id = $1 ORDER BY seq",
        )
        .bind(id.to_owned())
        .fetch_all(self.pool())
        .await
        .db()?;
        Ok(rows
            .into_iter()
            .map(|(seq, resource_type, count)| ExportFile {
                seq,
                resource_type,
                count,
            })
            .collect())
    }

    pub async fn export_file(&self, id: &str, seq: i64) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT body FROM fhir_export_files WHERE export_id = $1 AND seq = $2")
            .bind(id.to_owned())
            .bind(seq)
            .fetch_optional(self.pool())
            .await
            .db()
    }

    /// A clinician's panel: the patients on their care team or with a visit with them
    /// that is not cancelled.
    pub async fn panel_of(&self, clinician: UserId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT patient_id FROM care_team WHERE clinician_id = $1 \
             UNION SELECT patient_id FROM appointments WHERE clinician_id = $1 \
             AND status NOT IN ('cancelled', 'entered-in-error') ORDER BY 1",
        )
        .bind(clinician.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(id,)| {
                id.parse()
                    .map_err(|_| Error::internal("corrupt patient id"))
            })
            .collect()
    }
}
