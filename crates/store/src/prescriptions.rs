//! Signed prescriptions: written once under the policy's grant on the patient's
//! prescriptions, read under a grant, found by id sealed, and cancelled only from
//! active (a conditional update: two cancels, one wins).

use chrono::{DateTime, Utc};
use telemed_domain::access::{Grant, Op, Sealed};
use telemed_domain::prescribing::prescription::{
    NewPrescription, PrescriptionStatus, SignedFinding,
};
use telemed_domain::prescribing::sig::{Language, Sig};
use telemed_domain::prescribing::Medication;
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// A prescription as signed, with where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Prescription {
    pub id: String,
    pub patient: UserId,
    pub prescriber: UserId,
    pub medication: Medication,
    pub sig: Sig,
    pub sig_text_en: String,
    pub sig_text_es: String,
    pub quantity: f64,
    pub quantity_unit: String,
    pub refills: u32,
    pub substitution_allowed: bool,
    pub note: String,
    pub findings: Vec<SignedFinding>,
    /// How the prescriber proved it was them at signing (`totp`, `recovery_code`).
    pub second_factor: String,
    pub signed_at: DateTime<Utc>,
    /// The signed token of the patient's copy (compact JWS).
    pub token: String,
    pub status: PrescriptionStatus,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub status_changed_by: Option<UserId>,
}

const COLUMNS: &str = "id, patient_id, prescriber_id, medication, sig, sig_text_en, sig_text_es, \
    quantity, quantity_unit, refills, substitution_allowed, note, findings, second_factor, \
    signed_at, token, status, status_reason, status_changed_at, status_changed_by";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    patient_id: String,
    prescriber_id: String,
    medication: String,
    sig: String,
    sig_text_en: String,
    sig_text_es: String,
    quantity: f64,
    quantity_unit: String,
    refills: i64,
    substitution_allowed: i64,
    note: String,
    findings: String,
    second_factor: String,
    signed_at: i64,
    token: String,
    status: String,
    status_reason: Option<String>,
    status_changed_at: Option<i64>,
    status_changed_by: Option<String>,
}

fn corrupt() -> Error {
    Error::internal("a stored prescription does not read")
}

impl TryFrom<Row> for Prescription {
    type Error = Error;
    fn try_from(r: Row) -> Result<Self> {
        Ok(Prescription {
            id: r.id,
            patient: r.patient_id.parse().map_err(|_| corrupt())?,
            prescriber: r.prescriber_id.parse().map_err(|_| corrupt())?,
            medication: serde_json::from_str(&r.medication).map_err(|_| corrupt())?,
            sig: serde_json::from_str(&r.sig).map_err(|_| corrupt())?,
            sig_text_en: r.sig_text_en,
            sig_text_es: r.sig_text_es,
            quantity: r.quantity,
            quantity_unit: r.quantity_unit,
            refills: u32::try_from(r.refills).map_err(|_| corrupt())?,
            substitution_allowed: r.substitution_allowed != 0,
            note: r.note,
            findings: serde_json::from_str(&r.findings).map_err(|_| corrupt())?,
            second_factor: r.second_factor,
            signed_at: from_micros(r.signed_at),
            token: r.token,
            status: PrescriptionStatus::parse(&r.status).ok_or_else(corrupt)?,
            status_reason: r.status_reason,
            status_changed_at: r.status_changed_at.map(from_micros),
            status_changed_by: r
                .status_changed_by
                .map(|u| u.parse().map_err(|_| corrupt()))
                .transpose()?,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|_| Error::internal("a prescription does not serialise"))
}

/// What is written at signing beside the prescription itself.
pub struct Signing<'a> {
    /// The prescription's id, made before so that its token can name it.
    pub id: &'a str,
    pub findings: &'a [SignedFinding],
    pub second_factor: &'a str,
    pub token: &'a str,
    pub at: DateTime<Utc>,
}

/// Writes a signed prescription for the patient of `grant` (a write grant on their
/// prescriptions), by its actor; returns it as stored.
pub async fn insert(
    conn: &mut Conn,
    grant: &Grant,
    new: &NewPrescription,
    signing: Signing<'_>,
) -> Result<Prescription> {
    let patient = grant.require(Section::Prescriptions, Op::Write)?;
    let id = signing.id;
    sqlx::query(
        "INSERT INTO prescriptions (id, patient_id, prescriber_id, medication_system, medication_code, \
         medication_name, medication, sig, sig_text_en, sig_text_es, quantity, quantity_unit, refills, \
         substitution_allowed, note, findings, second_factor, signed_at, token, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 'active')",
    )
    .bind(id)
    .bind(patient.to_string())
    .bind(grant.author().to_string())
    .bind(&new.medication.system)
    .bind(&new.medication.code)
    .bind(&new.medication.name)
    .bind(json(&new.medication)?)
    .bind(json(&new.sig)?)
    .bind(new.sig.text(Language::English))
    .bind(new.sig.text(Language::Spanish))
    .bind(new.quantity)
    .bind(new.quantity_unit.trim())
    .bind(i64::from(new.refills))
    .bind(i64::from(new.substitution_allowed))
    .bind(new.note.trim())
    .bind(json(&signing.findings)?)
    .bind(signing.second_factor)
    .bind(to_micros(signing.at))
    .bind(signing.token)
    .execute(&mut *conn)
    .await
    .db()?;
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM prescriptions WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .db()?;
    row.try_into()
}

/// Moves an active prescription of the patient of `grant` to `to`, by the grant's
/// actor, with a reason; false when it was not active (or not theirs).
pub async fn end(
    conn: &mut Conn,
    grant: &Grant,
    id: &str,
    to: PrescriptionStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let patient = grant.require(Section::Prescriptions, Op::Write)?;
    let done = sqlx::query(
        "UPDATE prescriptions SET status = $1, status_reason = $2, status_changed_at = $3, \
         status_changed_by = $4 WHERE id = $5 AND patient_id = $6 AND status = 'active'",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(to_micros(now))
    .bind(grant.author().to_string())
    .bind(id)
    .bind(patient.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// The prescriptions of the patient of `grant`, newest first.
    pub async fn prescriptions_of(&self, grant: &Grant) -> Result<Vec<Prescription>> {
        let patient = grant.require(Section::Prescriptions, Op::Read)?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM prescriptions WHERE patient_id = $1 ORDER BY signed_at DESC, id"
        ))
        .bind(patient.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(Prescription::try_from).collect()
    }

    /// Whose prescription `id` is and where it stands (for verifying a token), nothing
    /// more.
    pub async fn prescription_status(
        &self,
        id: &str,
    ) -> Result<Option<(UserId, PrescriptionStatus, Option<String>)>> {
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT patient_id, status, status_reason FROM prescriptions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(|(patient, status, reason)| {
            Ok((
                patient.parse().map_err(|_| corrupt())?,
                PrescriptionStatus::parse(&status).ok_or_else(corrupt)?,
                reason,
            ))
        })
        .transpose()
    }

    /// One prescription by its id, sealed with its patient's prescriptions.
    pub async fn prescription(&self, id: &str) -> Result<Option<Sealed<Prescription>>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM prescriptions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(|r| {
            let p = Prescription::try_from(r)?;
            Ok(Sealed::new(p.patient, Section::Prescriptions, p))
        })
        .transpose()
    }
}
