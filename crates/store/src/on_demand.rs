//! The on-demand queue: patients waiting to be seen now in a specialty, and the one
//! clinician who takes each. Taking is a conditional update (`status = 'waiting'`), so
//! of two clinicians taking the same patient at once exactly one succeeds; the visit it
//! becomes is booked in the same transaction.

use chrono::{DateTime, Utc};
use telemed_domain::{AppointmentId, Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

fn corrupt<E>(_: E) -> Error {
    Error::internal("corrupt on-demand row")
}

/// One patient's request to be seen now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    pub patient_id: UserId,
    pub specialty: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// The visit it became, once a clinician took it.
    pub appointment_id: Option<AppointmentId>,
    pub status: String,
}

type Row = (String, String, String, String, i64, Option<String>, String);

const COLUMNS: &str = "id, patient_id, specialty, reason, created_at, appointment_id, status";

fn request(
    (id, patient, specialty, reason, created_at, appointment, status): Row,
) -> Result<Request> {
    Ok(Request {
        id,
        patient_id: patient.parse().map_err(corrupt)?,
        specialty,
        reason,
        created_at: from_micros(created_at),
        appointment_id: appointment
            .map(|a| a.parse())
            .transpose()
            .map_err(corrupt)?,
        status,
    })
}

/// Puts `patient` in the `specialty` queue. A patient already waiting is a conflict.
pub async fn join(
    conn: &mut Conn,
    patient: UserId,
    specialty: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO on_demand_requests (id, patient_id, specialty, reason, status, created_at) \
         VALUES ($1, $2, $3, $4, 'waiting', $5)",
    )
    .bind(&id)
    .bind(patient.to_string())
    .bind(specialty)
    .bind(reason)
    .bind(to_micros(now))
    .execute(conn)
    .await
    .map_err(|e| match crate::db_error(e) {
        Error::Conflict(_) => Error::Conflict("you are already waiting to be seen".into()),
        other => other,
    })?;
    Ok(id)
}

/// Takes `patient` out of the queue they wait in; false when they wait in none.
pub async fn withdraw(conn: &mut Conn, patient: UserId, now: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE on_demand_requests SET status = 'withdrawn', closed_at = $1 \
         WHERE patient_id = $2 AND status = 'waiting'",
    )
    .bind(to_micros(now))
    .bind(patient.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() > 0)
}

/// The oldest waiting request of `specialty`, taken by `clinician` if nobody took it
/// first; None when nobody waits. The caller books the visit in the same transaction
/// and records it with `attach_visit`.
pub async fn take_next(
    conn: &mut Conn,
    specialty: &str,
    clinician: UserId,
    now: DateTime<Utc>,
) -> Result<Option<Request>> {
    // A few tries: each lost race means someone else took that patient, so the next
    // oldest is asked for (with two nodes, a lost race is possible on PostgreSQL).
    for _ in 0..8 {
        let oldest: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM on_demand_requests WHERE specialty = $1 AND status = 'waiting' \
             ORDER BY seq LIMIT 1"
        ))
        .bind(specialty)
        .fetch_optional(&mut *conn)
        .await
        .db()?;
        let Some(row) = oldest else {
            return Ok(None);
        };
        let found = request(row)?;
        let taken = sqlx::query(
            "UPDATE on_demand_requests SET status = 'taken', taken_by = $1, taken_at = $2, \
             closed_at = $2 WHERE id = $3 AND status = 'waiting'",
        )
        .bind(clinician.to_string())
        .bind(to_micros(now))
        .bind(&found.id)
        .execute(&mut *conn)
        .await
        .db()?;
        if taken.rows_affected() == 1 {
            return Ok(Some(Request {
                status: "taken".into(),
                ..found
            }));
        }
    }
    Err(Error::Conflict(
        "other clinicians are taking patients at this moment; try again".into(),
    ))
}

/// Records the visit a taken request became.
pub async fn attach_visit(conn: &mut Conn, request: &str, visit: AppointmentId) -> Result<()> {
    sqlx::query("UPDATE on_demand_requests SET appointment_id = $1 WHERE id = $2")
        .bind(visit.to_string())
        .bind(request)
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

impl Store {
    /// Everyone waiting in `specialty`, longest waiting first.
    pub async fn on_demand_queue(&self, specialty: &str) -> Result<Vec<Request>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM on_demand_requests WHERE specialty = $1 AND status = 'waiting' \
             ORDER BY seq"
        ))
        .bind(specialty)
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(request).collect()
    }

    /// `patient`'s latest request (waiting, or what became of it).
    pub async fn latest_on_demand(&self, patient: UserId) -> Result<Option<Request>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM on_demand_requests WHERE patient_id = $1 \
             ORDER BY seq DESC LIMIT 1"
        ))
        .bind(patient.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(request).transpose()
    }
}
