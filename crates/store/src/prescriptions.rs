//! Signed prescriptions: written once under the policy's grant on the patient's
//! prescriptions, read under a grant, found by id sealed, and cancelled only from
//! active (a conditional update: two cancels, one wins). Dispensed by a pharmacist
//! (`Dispenser`) through a conditional update on the prescription's dispense count:
//! two dispenses of the same fill, one wins.

use chrono::{DateTime, Utc};
use telemed_domain::access::{Dispenser, Grant, Op, Sealed};
use telemed_domain::prescribing::dispensing::{Dispensed, Fills};
use telemed_domain::prescribing::prescription::{
    NewPrescription, PrescriptionStatus, SignedFinding,
};
use telemed_domain::prescribing::sig::Language;
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

pub use telemed_domain::views::{Dispense, Prescription};

const COLUMNS: &str = "id, patient_id, prescriber_id, medication, sig, sig_text_en, sig_text_es, \
    quantity, quantity_unit, refills, substitution_allowed, note, findings, second_factor, \
    signed_at, token, status, status_reason, status_changed_at, status_changed_by, \
    dispense_count, fills_completed, fill_dispensed, pharmacy_id, sending, sending_detail";

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
    dispense_count: i64,
    fills_completed: i64,
    fill_dispensed: f64,
    pharmacy_id: Option<String>,
    sending: Option<String>,
    sending_detail: Option<String>,
}

fn corrupt() -> Error {
    Error::internal("a stored prescription does not read")
}

impl TryFrom<Row> for Prescription {
    type Error = Error;
    fn try_from(r: Row) -> Result<Self> {
        let refills = u32::try_from(r.refills).map_err(|_| corrupt())?;
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
            refills,
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
            fills: Fills {
                quantity: r.quantity,
                refills,
                dispenses: u32::try_from(r.dispense_count).map_err(|_| corrupt())?,
                completed: u32::try_from(r.fills_completed).map_err(|_| corrupt())?,
                open_fill_dispensed: r.fill_dispensed,
            },
            pharmacy_id: r.pharmacy_id,
            sending: r.sending,
            sending_detail: r.sending_detail,
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
    /// The pharmacy it is sent to (an active one of the directory), if any.
    pub pharmacy: Option<&'a str>,
    /// `queued` when the pharmacy takes prescriptions electronically.
    pub sending: Option<&'a str>,
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
         substitution_allowed, note, findings, second_factor, signed_at, token, pharmacy_id, sending, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 'active')",
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
    .bind(signing.pharmacy)
    .bind(signing.sending)
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

/// Records where sending prescription `id` of the patient of `grant` stands (`sent`,
/// `failed`) and what the pharmacy's system answered.
pub async fn set_sending(
    conn: &mut Conn,
    grant: &Grant,
    id: &str,
    state: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let patient = grant.require(Section::Prescriptions, Op::Write)?;
    sqlx::query(
        "UPDATE prescriptions SET sending = $1, sending_detail = $2, sending_at = $3 \
         WHERE id = $4 AND patient_id = $5",
    )
    .bind(state)
    .bind(detail.chars().take(500).collect::<String>())
    .bind(to_micros(at))
    .bind(id)
    .bind(patient.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(())
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

    /// Whose prescription `id` is and where it stands (for verifying a token and for
    /// dispensing), nothing more of it.
    pub async fn prescription_standing(&self, id: &str) -> Result<Option<Standing>> {
        standing(&mut *self.pool().acquire().await.db()?, id).await
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

/// Where a prescription stands, without its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub patient: UserId,
    pub status: PrescriptionStatus,
    pub status_reason: Option<String>,
    pub fills: Fills,
}

/// Where prescription `id` stands, read on `conn` (in a dispense's transaction, as it
/// is there).
pub async fn standing(conn: &mut Conn, id: &str) -> Result<Option<Standing>> {
    type StandingRow = (String, String, Option<String>, f64, i64, i64, i64, f64);
    let row: Option<StandingRow> = sqlx::query_as(
        "SELECT patient_id, status, status_reason, quantity, refills, dispense_count, \
         fills_completed, fill_dispensed FROM prescriptions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(
        |(patient, status, reason, quantity, refills, dispenses, completed, open)| {
            Ok(Standing {
                patient: patient.parse().map_err(|_| corrupt())?,
                status: PrescriptionStatus::parse(&status).ok_or_else(corrupt)?,
                status_reason: reason,
                fills: Fills {
                    quantity,
                    refills: u32::try_from(refills).map_err(|_| corrupt())?,
                    dispenses: u32::try_from(dispenses).map_err(|_| corrupt())?,
                    completed: u32::try_from(completed).map_err(|_| corrupt())?,
                    open_fill_dispensed: open,
                },
            })
        },
    )
    .transpose()
}

/// Records `dispensed` on prescription `id` for the dispenser's pharmacy, where the
/// prescription is still active with the dispense count the rules were applied to;
/// false (nothing written) when another dispense or an ending came first. The last
/// fill completes the prescription.
pub async fn dispense(
    conn: &mut Conn,
    dispenser: &Dispenser,
    id: &str,
    dispense_id: &str,
    dispensed: &Dispensed,
    now: DateTime<Utc>,
) -> Result<bool> {
    let after = &dispensed.after;
    let done = sqlx::query(
        "UPDATE prescriptions SET dispense_count = $1, fills_completed = $2, fill_dispensed = $3, \
         status = CASE WHEN $4 = 1 THEN 'completed' ELSE status END, \
         status_changed_at = CASE WHEN $4 = 1 THEN $5 ELSE status_changed_at END, \
         status_changed_by = CASE WHEN $4 = 1 THEN $6 ELSE status_changed_by END \
         WHERE id = $7 AND status = 'active' AND dispense_count = $8",
    )
    .bind(i64::from(after.dispenses))
    .bind(i64::from(after.completed))
    .bind(after.open_fill_dispensed)
    .bind(i64::from(dispensed.completes_prescription()))
    .bind(to_micros(now))
    .bind(dispenser.pharmacist().to_string())
    .bind(id)
    .bind(i64::from(after.dispenses - 1))
    .execute(&mut *conn)
    .await
    .db()?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO dispenses (id, prescription_id, sequence, fill, quantity, fill_complete, \
         pharmacy_id, pharmacist_id, dispensed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(dispense_id)
    .bind(id)
    .bind(i64::from(dispensed.sequence))
    .bind(i64::from(dispensed.fill))
    .bind(dispensed.quantity)
    .bind(i64::from(dispensed.fill_complete))
    .bind(dispenser.pharmacy())
    .bind(dispenser.pharmacist().to_string())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(true)
}

impl Store {
    /// The dispenses of the prescriptions of the patient of `grant`, in order.
    pub async fn dispenses_of(&self, grant: &Grant) -> Result<Vec<Dispense>> {
        let patient = grant.require(Section::Prescriptions, Op::Read)?;
        let rows: Vec<DispenseRow> = sqlx::query_as(&format!(
            "{DISPENSE_SELECT} WHERE p.patient_id = $1 ORDER BY d.prescription_id, d.sequence"
        ))
        .bind(patient.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|r| dispense_of(r).map(|(_, d)| d))
            .collect()
    }

    /// One dispense by its id, sealed with its patient's prescriptions.
    pub async fn dispense(&self, id: &str) -> Result<Option<Sealed<Dispense>>> {
        let row: Option<DispenseRow> =
            sqlx::query_as(&format!("{DISPENSE_SELECT} WHERE d.id = $1"))
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .db()?;
        row.map(|r| {
            let (patient, d) = dispense_of(r)?;
            Ok(Sealed::new(patient, Section::Prescriptions, d))
        })
        .transpose()
    }
}

const DISPENSE_SELECT: &str = "SELECT d.id, d.prescription_id, d.sequence, d.fill, d.quantity, \
     d.fill_complete, d.pharmacy_id, ph.name, d.pharmacist_id, d.dispensed_at, p.patient_id \
     FROM dispenses d JOIN prescriptions p ON p.id = d.prescription_id \
     JOIN pharmacies ph ON ph.id = d.pharmacy_id";

type DispenseRow = (
    String,
    String,
    i64,
    i64,
    f64,
    i64,
    String,
    String,
    String,
    i64,
    String,
);

fn dispense_of(r: DispenseRow) -> Result<(UserId, Dispense)> {
    let (
        id,
        prescription_id,
        sequence,
        fill,
        quantity,
        complete,
        pharmacy_id,
        pharmacy_name,
        pharmacist,
        at,
        patient,
    ) = r;
    Ok((
        patient.parse().map_err(|_| corrupt())?,
        Dispense {
            id,
            prescription_id,
            sequence: u32::try_from(sequence).map_err(|_| corrupt())?,
            fill: u32::try_from(fill).map_err(|_| corrupt())?,
            quantity,
            fill_complete: complete != 0,
            pharmacy_id,
            pharmacy_name,
            pharmacist: pharmacist.parse().map_err(|_| corrupt())?,
            dispensed_at: from_micros(at),
        },
    ))
}
