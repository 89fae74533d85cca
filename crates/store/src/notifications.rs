//! In-app notifications: a row per person and event, read or not. They name what
//! happened and link to it; the page renders the words in the reader's language.

use chrono::{DateTime, Utc};
use telemed_domain::{Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub subject_id: Option<String>,
    pub subject_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

pub struct NewNotification<'a> {
    pub user_id: UserId,
    pub kind: &'a str,
    pub subject_id: Option<String>,
    pub subject_at: Option<DateTime<Utc>>,
    /// What produced it (a job id): the same source creates one notification.
    pub source: Option<&'a str>,
}

pub async fn notify(conn: &mut Conn, n: NewNotification<'_>, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, subject_id, subject_at, source, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source) DO NOTHING",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(n.user_id.to_string())
    .bind(n.kind.to_owned())
    .bind(n.subject_id)
    .bind(n.subject_at.map(to_micros))
    .bind(n.source.map(str::to_owned))
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

type Row = (
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
);

impl Store {
    /// A person's newest notifications first.
    pub async fn notifications(&self, user: UserId, limit: i64) -> Result<Vec<Notification>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, kind, subject_id, subject_at, created_at, read_at FROM notifications \
             WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2",
        )
        .bind(user.to_string())
        .bind(limit.clamp(1, 500))
        .fetch_all(self.pool())
        .await
        .db()?;
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, subject_id, subject_at, created_at, read_at)| Notification {
                    id,
                    kind,
                    subject_id,
                    subject_at: subject_at.map(from_micros),
                    created_at: from_micros(created_at),
                    read_at: read_at.map(from_micros),
                },
            )
            .collect())
    }

    pub async fn unread_notifications(&self, user: UserId) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user.to_string())
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(n)
    }

    /// Marks all of a person's notifications read; returns how many changed.
    pub async fn mark_notifications_read(&self, user: UserId, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(user.to_string())
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected())
    }
}
