//! Invitations to become a patient's proxy. An invitation names an email address; only
//! the account signed in with that address can answer it, and only while it waits and
//! has not expired. Accepting opens the access (`record::grant_proxy`) in the same
//! transaction.

use chrono::{DateTime, Utc};
use telemed_domain::{Email, Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// How an invitation was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    Declined,
    /// Taken back by the patient or the front desk before an answer.
    Withdrawn,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Accepted => "accepted",
            Answer::Declined => "declined",
            Answer::Withdrawn => "withdrawn",
        }
    }
}

/// An invitation waiting for its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyInvitation {
    pub id: String,
    pub patient: UserId,
    pub email: String,
    pub relationship: String,
    pub invited_by: UserId,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

type Row = (String, String, String, String, String, i64, i64);

fn from_row((id, patient, email, relationship, by, at, expires): Row) -> Result<ProxyInvitation> {
    let corrupt = |_| Error::internal("corrupt proxy invitation");
    Ok(ProxyInvitation {
        id,
        patient: patient.parse().map_err(corrupt)?,
        email,
        relationship,
        invited_by: by.parse().map_err(corrupt)?,
        invited_at: from_micros(at),
        expires_at: from_micros(expires),
    })
}

const COLUMNS: &str = "id, patient_id, email, relationship, invited_by, invited_at, expires_at";

pub struct NewProxyInvitation<'a> {
    pub patient: UserId,
    pub email: &'a Email,
    pub relationship: &'a str,
    pub invited_by: UserId,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut Conn,
    new: NewProxyInvitation<'_>,
    now: DateTime<Utc>,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO proxy_invitations (id, patient_id, email, relationship, invited_by, invited_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.clone())
    .bind(new.patient.to_string())
    .bind(new.email.as_str().to_owned())
    .bind(new.relationship.to_owned())
    .bind(new.invited_by.to_string())
    .bind(to_micros(now))
    .bind(to_micros(new.expires_at))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

/// Invitations of `patient` still waiting at `now`.
pub async fn waiting_of_patient(
    conn: &mut Conn,
    patient: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<ProxyInvitation>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM proxy_invitations \
         WHERE patient_id = $1 AND answer IS NULL AND expires_at > $2 ORDER BY invited_at"
    ))
    .bind(patient.to_string())
    .bind(to_micros(now))
    .fetch_all(conn)
    .await
    .db()?;
    rows.into_iter().map(from_row).collect()
}

/// How many invitations of `patient` still wait at `now`.
pub async fn count_waiting_of_patient(
    conn: &mut Conn,
    patient: UserId,
    now: DateTime<Utc>,
) -> Result<usize> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM proxy_invitations \
         WHERE patient_id = $1 AND answer IS NULL AND expires_at > $2",
    )
    .bind(patient.to_string())
    .bind(to_micros(now))
    .fetch_one(conn)
    .await
    .db()?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Answers the invitation `id` addressed to `email`, if it still waits at `now`; the
/// invitation as it was, or `None` (no such invitation for that address, answered,
/// expired: one answer, so a guess tells nothing).
pub async fn answer(
    conn: &mut Conn,
    id: &str,
    email: &Email,
    answer: Answer,
    now: DateTime<Utc>,
) -> Result<Option<ProxyInvitation>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE proxy_invitations SET answer = $1, answered_at = $2 \
         WHERE id = $3 AND email = $4 AND answer IS NULL AND expires_at > $2 \
         RETURNING {COLUMNS}"
    ))
    .bind(answer.as_str())
    .bind(to_micros(now))
    .bind(id.to_owned())
    .bind(email.as_str().to_owned())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(from_row).transpose()
}

/// Records the access an accepted invitation opened.
pub async fn link_grant(conn: &mut Conn, id: &str, grant: &str) -> Result<()> {
    sqlx::query("UPDATE proxy_invitations SET proxy_grant_id = $1 WHERE id = $2")
        .bind(grant.to_owned())
        .bind(id.to_owned())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Takes back `patient`'s waiting invitation `id`. False when there is none.
pub async fn withdraw(
    conn: &mut Conn,
    patient: UserId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE proxy_invitations SET answer = $1, answered_at = $2 \
         WHERE id = $3 AND patient_id = $4 AND answer IS NULL",
    )
    .bind(Answer::Withdrawn.as_str())
    .bind(to_micros(now))
    .bind(id.to_owned())
    .bind(patient.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Invitations addressed to `email` still waiting at `now`, oldest first.
    pub async fn proxy_invitations_to(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<ProxyInvitation>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM proxy_invitations \
             WHERE email = $1 AND answer IS NULL AND expires_at > $2 ORDER BY invited_at"
        ))
        .bind(email.as_str().to_owned())
        .bind(to_micros(now))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(from_row).collect()
    }

    /// Invitations of `patient` still waiting at `now`, oldest first.
    pub async fn proxy_invitations_of(
        &self,
        patient: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ProxyInvitation>> {
        let mut conn = self.pool().acquire().await.db()?;
        waiting_of_patient(&mut conn, patient, now).await
    }
}
