//! Renewal requests: written by the patient (or a proxy) under a read grant on the
//! patient's prescriptions, answered by the prescriber under a write grant; a pending
//! request is answered once (a conditional update), and a prescription has at most one
//! pending request (a unique index).

use chrono::{DateTime, Utc};
use telemed_domain::access::{Grant, Op};
use telemed_domain::prescribing::renewal::RenewalStatus;
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// A renewal request, with the medication it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct RenewalRequest {
    pub id: String,
    pub prescription_id: String,
    pub medication_name: String,
    pub patient: UserId,
    pub prescriber: UserId,
    pub requested_by: UserId,
    pub note: String,
    pub requested_at: DateTime<Utc>,
    pub status: RenewalStatus,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The prescription signed to renew it.
    pub renewed_as: Option<String>,
}

const SELECT: &str = "SELECT r.id, r.prescription_id, p.medication_name, r.patient_id, \
    r.prescriber_id, r.requested_by, r.note, r.requested_at, r.status, r.answer, \
    r.answered_at, r.renewed_as FROM renewal_requests r \
    JOIN prescriptions p ON p.id = r.prescription_id";

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn corrupt() -> Error {
    Error::internal("a stored renewal request does not read")
}

fn request(r: Row) -> Result<RenewalRequest> {
    let (
        id,
        prescription_id,
        medication_name,
        patient,
        prescriber,
        by,
        note,
        at,
        status,
        answer,
        answered_at,
        renewed_as,
    ) = r;
    Ok(RenewalRequest {
        id,
        prescription_id,
        medication_name,
        patient: patient.parse().map_err(|_| corrupt())?,
        prescriber: prescriber.parse().map_err(|_| corrupt())?,
        requested_by: by.parse().map_err(|_| corrupt())?,
        note,
        requested_at: from_micros(at),
        status: RenewalStatus::parse(&status).ok_or_else(corrupt)?,
        answer,
        answered_at: answered_at.map(from_micros),
        renewed_as,
    })
}

/// What a new request names.
pub struct NewRenewal<'a> {
    pub id: &'a str,
    pub prescription_id: &'a str,
    pub prescriber: UserId,
    pub note: &'a str,
    pub at: DateTime<Utc>,
}

/// Writes a pending request for the patient of `grant` (who may read their
/// prescriptions), by the grant's actor; `Conflict` when one is pending already.
pub async fn insert(conn: &mut Conn, grant: &Grant, new: NewRenewal<'_>) -> Result<()> {
    let patient = grant.require(Section::Prescriptions, Op::Read)?;
    sqlx::query(
        "INSERT INTO renewal_requests (id, prescription_id, patient_id, prescriber_id, \
         requested_by, note, requested_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
    )
    .bind(new.id)
    .bind(new.prescription_id)
    .bind(patient.to_string())
    .bind(new.prescriber.to_string())
    .bind(grant.author().to_string())
    .bind(new.note)
    .bind(to_micros(new.at))
    .execute(conn)
    .await
    .map_err(|e| match crate::db_error(e) {
        Error::Conflict(_) => Error::Conflict(
            "a renewal of this prescription is already waiting for the prescriber".into(),
        ),
        other => other,
    })?;
    Ok(())
}

/// Answers a pending request of the patient of `grant` (a write grant on their
/// prescriptions); whom it was asked by, or `None` when it was not pending (answered
/// already) or not theirs.
pub async fn answer(
    conn: &mut Conn,
    grant: &Grant,
    id: &str,
    to: RenewalStatus,
    answer: &str,
    renewed_as: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<UserId>> {
    let patient = grant.require(Section::Prescriptions, Op::Write)?;
    let asked_by: Option<(String,)> = sqlx::query_as(
        "UPDATE renewal_requests SET status = $1, answer = $2, answered_by = $3, \
         answered_at = $4, renewed_as = $5 WHERE id = $6 AND patient_id = $7 AND status = 'pending' \
         RETURNING requested_by",
    )
    .bind(to.as_str())
    .bind(answer)
    .bind(grant.author().to_string())
    .bind(to_micros(now))
    .bind(renewed_as)
    .bind(id)
    .bind(patient.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    asked_by
        .map(|(by,)| by.parse().map_err(|_| corrupt()))
        .transpose()
}

impl Store {
    /// The renewal requests of the patient of `grant`, newest first.
    pub async fn renewals_of(&self, grant: &Grant) -> Result<Vec<RenewalRequest>> {
        let patient = grant.require(Section::Prescriptions, Op::Read)?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT} WHERE r.patient_id = $1 ORDER BY r.requested_at DESC, r.id"
        ))
        .bind(patient.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(request).collect()
    }

    /// Whose patients have renewal requests pending with `prescriber`, oldest first
    /// (the queue's patients; each one's requests are read under a grant).
    pub async fn renewal_queue_patients(&self, prescriber: UserId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT patient_id FROM renewal_requests WHERE prescriber_id = $1 AND \
             status = 'pending' GROUP BY patient_id ORDER BY MIN(requested_at)",
        )
        .bind(prescriber.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(p,)| p.parse().map_err(|_| corrupt()))
            .collect()
    }

    /// Whose renewal request `id` is (to ask the policy before answering it).
    pub async fn renewal_patient(&self, id: &str) -> Result<Option<UserId>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT patient_id FROM renewal_requests WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .db()?;
        row.map(|(p,)| p.parse().map_err(|_| corrupt())).transpose()
    }
}
