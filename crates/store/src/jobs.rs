//! The persistent job queue. Jobs are rows: they survive a restart, are retried with
//! backoff, and each is claimed by one worker at a time through a lease, so a job runs
//! once even with several server processes on one database.

use chrono::{DateTime, Duration, Utc};
use telemed_domain::Result;

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub run_at: DateTime<Utc>,
}

/// Queues a job in the caller's transaction. With a `dedup_key`, a second job with the
/// same key is silently not created.
pub async fn enqueue(
    conn: &mut Conn,
    kind: &str,
    payload: &str,
    run_at: DateTime<Utc>,
    dedup_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, dedup_key, run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(kind.to_owned())
    .bind(payload.to_owned())
    .bind(dedup_key.map(str::to_owned))
    .bind(to_micros(run_at))
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` due jobs for `lease`. A job another worker holds is skipped.
    pub async fn claim_due_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Job>> {
        let due: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, kind, payload, attempts, run_at FROM jobs \
             WHERE done_at IS NULL AND run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) ORDER BY run_at LIMIT $2",
        )
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .db()?;
        let mut claimed = Vec::new();
        for (id, kind, payload, attempts, run_at) in due {
            let done = sqlx::query(
                "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $3)",
            )
            .bind(to_micros(now + lease))
            .bind(id.clone())
            .bind(to_micros(now))
            .execute(self.pool())
            .await
            .db()?;
            if done.rows_affected() == 1 {
                claimed.push(Job {
                    id,
                    kind,
                    payload,
                    attempts: attempts + 1,
                    run_at: from_micros(run_at),
                });
            }
        }
        Ok(claimed)
    }

    pub async fn complete_job(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2",
        )
        .bind(to_micros(now))
        .bind(id.to_owned())
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    /// Puts a failed job back for `retry_at`, or gives up after `max_attempts`.
    pub async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        retry_at: DateTime<Utc>,
        max_attempts: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let give_up = job.attempts >= max_attempts;
        sqlx::query("UPDATE jobs SET locked_until = NULL, last_error = $1, run_at = $2, done_at = $3 WHERE id = $4")
            .bind(error.chars().take(500).collect::<String>())
            .bind(to_micros(retry_at))
            .bind(give_up.then(|| to_micros(now)))
            .bind(job.id.clone())
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    /// How many jobs wait (for tests and metrics).
    pub async fn pending_jobs(&self, kind: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND done_at IS NULL")
            .bind(kind.to_owned())
            .fetch_one(self.pool())
            .await
            .db()
    }
}

/// The clinician's private calendar-feed token (hashed), replacing any earlier one.
pub async fn set_calendar_feed(
    conn: &mut Conn,
    clinician: telemed_domain::UserId,
    token_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM calendar_feeds WHERE clinician_id = $1")
        .bind(clinician.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    if let Some(hash) = token_hash {
        sqlx::query(
            "INSERT INTO calendar_feeds (clinician_id, token_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(clinician.to_string())
        .bind(hash.to_owned())
        .bind(to_micros(now))
        .execute(conn)
        .await
        .db()?;
    }
    Ok(())
}

impl Store {
    pub async fn calendar_feed_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<telemed_domain::UserId>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT clinician_id FROM calendar_feeds WHERE token_hash = $1")
                .bind(token_hash.to_owned())
                .fetch_optional(self.pool())
                .await
                .db()?;
        Ok(id.and_then(|i| i.parse().ok()))
    }

    pub async fn has_calendar_feed(&self, clinician: telemed_domain::UserId) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM calendar_feeds WHERE clinician_id = $1")
                .bind(clinician.to_string())
                .fetch_one(self.pool())
                .await
                .db()?;
        Ok(n > 0)
    }
}
