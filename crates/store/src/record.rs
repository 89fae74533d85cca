//! The patient record: demographics, chart entries, visit notes and addenda, and the
//! facts the access policy decides on (visits, care team, proxies, break-the-glass).
//! Every function that reads or changes a patient's data takes the policy's `Grant`
//! and touches only the rows of the patient it names, in the sections it covers; a row
//! found by its own id (an entry, a note) comes back `Sealed` until a grant opens it.
//!
//! A read of a patient's chart without the policy's grant does not compile:
//!
//! ```compile_fail,E0308
//! # use telemed_domain::{record::Section, UserId};
//! async fn peek(store: &telemed_store::Store, patient: UserId) {
//!     let _ = store.entries(patient, Section::Problems).await;
//! }
//! ```
//!
//! nor does a look inside a row found by its id before a grant opens it:
//!
//! ```compile_fail,E0609
//! # use telemed_domain::NoteId;
//! async fn peek(store: &telemed_store::Store, id: NoteId) {
//!     let _ = store.note(id).await.unwrap().unwrap().soap;
//! }
//! ```
//!
//! while with one it does (the control for the two above):
//!
//! ```
//! # use telemed_domain::{access::Grant, record::Section, NoteId};
//! async fn read(store: &telemed_store::Store, grant: &Grant, id: NoteId) {
//!     let _ = store.entries(grant, Section::Problems).await;
//!     let _ = store.note(id).await.unwrap().unwrap().open(grant).map(|n| n.soap);
//! }
//! ```

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use telemed_domain::access::{CareFacts, Grant, Op, Sealed};
use telemed_domain::clinical_time::ClinicalTime;
use telemed_domain::record::{
    Criticality, EntryStatus, Section, Severity, Soap, ValidEntry, Verification, VITALS,
};
use telemed_domain::{AppointmentId, EntryId, Error, NoteId, Result, UserId};

use crate::values::decimal;
use crate::{from_micros, to_micros, Conn, DbResult, Store};

fn corrupt<E>(_: E) -> Error {
    Error::internal("corrupt record row")
}

// ---- demographics ----------------------------------------------------------------------

pub use telemed_domain::views::Demographics;

pub async fn save_demographics(
    conn: &mut Conn,
    grant: &Grant,
    d: &Demographics,
    now: DateTime<Utc>,
) -> Result<()> {
    let patient = grant.require(Section::Demographics, Op::Write)?;
    let by = grant.author();
    sqlx::query(
        "INSERT INTO patient_profiles (patient_id, birth_date, sex, phone, address, emergency_contact, \
         emergency_phone, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (patient_id) DO UPDATE SET birth_date = $2, sex = $3, phone = $4, address = $5, \
         emergency_contact = $6, emergency_phone = $7, updated_at = $8, updated_by = $9",
    )
    .bind(patient.to_string())
    .bind(d.birth_date.clone())
    .bind(d.sex.clone())
    .bind(d.phone.clone())
    .bind(d.address.clone())
    .bind(d.emergency_contact.clone())
    .bind(d.emergency_phone.clone())
    .bind(to_micros(now))
    .bind(by.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The Patient resource another system registered or last updated the patient with,
/// kept as written (FHIR JSON); telemed returns it with its own changes laid over.
pub async fn set_patient_source(conn: &mut Conn, grant: &Grant, source: &str) -> Result<()> {
    let patient = grant.require(Section::Demographics, Op::Write)?;
    sqlx::query("UPDATE patient_profiles SET source = $1 WHERE patient_id = $2")
        .bind(source.to_owned())
        .bind(patient.to_string())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

// ---- chart entries ----------------------------------------------------------------------

pub use telemed_domain::views::Entry;

pub(crate) const ENTRY_COLUMNS: &str =
    "id, patient_id, section, code_system, code, text, status, effective_at, \
    ended_at, value, value2, value_text, unit, range_low, range_high, severity, reaction, dosage, \
    relation, note, recorded_at, recorded_by, updated_at, version, result_ids, effective_text, \
    ended_text, verification, criticality, as_sent, categories, source, source_status";

#[derive(sqlx::FromRow)]
pub(crate) struct EntryRow {
    id: String,
    patient_id: String,
    section: String,
    code_system: Option<String>,
    code: Option<String>,
    text: String,
    status: String,
    effective_at: Option<i64>,
    ended_at: Option<i64>,
    value: Option<f64>,
    value2: Option<f64>,
    value_text: Option<String>,
    unit: Option<String>,
    range_low: Option<f64>,
    range_high: Option<f64>,
    severity: Option<String>,
    reaction: Option<String>,
    dosage: Option<String>,
    relation: Option<String>,
    note: Option<String>,
    recorded_at: i64,
    recorded_by: String,
    updated_at: i64,
    version: i64,
    result_ids: Option<String>,
    effective_text: Option<String>,
    ended_text: Option<String>,
    verification: Option<String>,
    criticality: Option<String>,
    as_sent: Option<String>,
    categories: Option<String>,
    source: Option<String>,
    source_status: Option<String>,
}

impl EntryRow {
    /// The row as a direct read (`crate::direct`) gives it, by the same column names.
    fn from_direct(r: &rusqlite::Row) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get("id")?,
            patient_id: r.get("patient_id")?,
            section: r.get("section")?,
            code_system: r.get("code_system")?,
            code: r.get("code")?,
            text: r.get("text")?,
            status: r.get("status")?,
            effective_at: r.get("effective_at")?,
            ended_at: r.get("ended_at")?,
            value: r.get("value")?,
            value2: r.get("value2")?,
            value_text: r.get("value_text")?,
            unit: r.get("unit")?,
            range_low: r.get("range_low")?,
            range_high: r.get("range_high")?,
            severity: r.get("severity")?,
            reaction: r.get("reaction")?,
            dosage: r.get("dosage")?,
            relation: r.get("relation")?,
            note: r.get("note")?,
            recorded_at: r.get("recorded_at")?,
            recorded_by: r.get("recorded_by")?,
            updated_at: r.get("updated_at")?,
            version: r.get("version")?,
            result_ids: r.get("result_ids")?,
            effective_text: r.get("effective_text")?,
            ended_text: r.get("ended_text")?,
            verification: r.get("verification")?,
            criticality: r.get("criticality")?,
            as_sent: r.get("as_sent")?,
            categories: r.get("categories")?,
            source: r.get("source")?,
            source_status: r.get("source_status")?,
        })
    }
}

impl TryFrom<EntryRow> for Entry {
    type Error = Error;
    fn try_from(r: EntryRow) -> Result<Entry> {
        Ok(Entry {
            id: r.id.parse().map_err(corrupt)?,
            patient: r.patient_id.parse().map_err(corrupt)?,
            section: Section::parse(&r.section).ok_or_else(|| corrupt(()))?,
            code_system: r.code_system,
            code: r.code,
            text: r.text,
            status: EntryStatus::parse(&r.status).ok_or_else(|| corrupt(()))?,
            effective: r
                .effective_at
                .map(|t| ClinicalTime::from_stored(r.effective_text, from_micros(t))),
            ended: r
                .ended_at
                .map(|t| ClinicalTime::from_stored(r.ended_text, from_micros(t))),
            value: r.value,
            value2: r.value2,
            value_text: r.value_text,
            unit: r.unit,
            as_sent: r.as_sent,
            range_low: r.range_low,
            range_high: r.range_high,
            severity: match r.severity {
                Some(s) => Some(Severity::parse(&s).ok_or_else(|| corrupt(()))?),
                None => None,
            },
            verification: parsed(r.verification, Verification::parse)?,
            criticality: parsed(r.criticality, Criticality::parse)?,
            reaction: r.reaction,
            dosage: r.dosage,
            relation: r.relation,
            note: r.note,
            recorded_at: from_micros(r.recorded_at),
            recorded_by: r.recorded_by.parse().map_err(corrupt)?,
            updated_at: from_micros(r.updated_at),
            version: r.version,
            results: r
                .result_ids
                .map(|ids| {
                    ids.split_whitespace()
                        .map(|id| id.parse().map_err(corrupt))
                        .collect::<Result<Vec<EntryId>>>()
                })
                .transpose()?,
            categories: r
                .categories
                .map(|c| c.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            source: r.source,
            source_status: parsed(r.source_status, EntryStatus::parse)?,
        })
    }
}

/// The statuses a summary counts (`EntryStatus::is_current`), as an SQL list.
fn current_statuses() -> String {
    EntryStatus::current_codes()
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parsed<T>(v: Option<String>, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    v.map(|s| parse(&s).ok_or_else(|| corrupt(()))).transpose()
}

/// Categories as stored: space-delimited with a space at each end, so that one is
/// found with `LIKE '% code %'`.
pub(crate) fn delimited(codes: &[String]) -> Option<String> {
    (!codes.is_empty()).then(|| format!(" {} ", codes.join(" ")))
}

pub async fn insert_entry(
    conn: &mut Conn,
    grant: &Grant,
    e: &ValidEntry,
    now: DateTime<Utc>,
) -> Result<Entry> {
    let patient = grant.require(e.section, Op::Write)?;
    let by = grant.author();
    if let Some(results) = &e.results {
        check_report_results(&mut *conn, patient, results).await?;
    }
    let id = EntryId::new();
    // The stored row comes back with the insert: no second trip to read it.
    let row: EntryRow = sqlx::query_as(&format!(
        "INSERT INTO chart_entries (id, patient_id, section, code_system, code, text, status, \
         effective_at, ended_at, value, value2, value_text, unit, range_low, range_high, severity, \
         reaction, dosage, relation, note, recorded_at, recorded_by, updated_at, version, result_ids, \
         effective_text, ended_text, verification, criticality, as_sent, categories, source, \
         source_status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CAST($10 AS DOUBLE PRECISION), \
         CAST($11 AS DOUBLE PRECISION), $12, $13, CAST($14 AS DOUBLE PRECISION), \
         CAST($15 AS DOUBLE PRECISION), $16, $17, $18, $19, $20, $21, $22, $21, 1, $23, \
         $24, $25, $26, $27, $28, $29, $30, $31) \
         RETURNING {ENTRY_COLUMNS}"
    ))
    .bind(id.to_string())
    .bind(patient.to_string())
    .bind(e.section.as_str())
    .bind(e.code_system.clone())
    .bind(e.code.clone())
    .bind(e.text.clone())
    .bind(e.status.as_str())
    .bind(e.effective.as_ref().map(|t| to_micros(t.start())))
    .bind(e.ended.as_ref().map(|t| to_micros(t.start())))
    .bind(decimal(e.value))
    .bind(decimal(e.value2))
    .bind(e.value_text.clone())
    .bind(e.unit.clone())
    .bind(decimal(e.range_low))
    .bind(decimal(e.range_high))
    .bind(e.severity.map(|s| s.as_str()))
    .bind(e.reaction.clone())
    .bind(e.dosage.clone())
    .bind(e.relation.clone())
    .bind(e.note.clone())
    .bind(to_micros(now))
    .bind(by.to_string())
    .bind(e.results.as_ref().map(|ids| {
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }))
    .bind(e.effective.as_ref().map(|t| t.written().to_owned()))
    .bind(e.ended.as_ref().map(|t| t.written().to_owned()))
    .bind(e.verification.map(|v| v.as_str()))
    .bind(e.criticality.map(|c| c.as_str()))
    .bind(e.as_sent.clone())
    .bind(delimited(&e.categories))
    .bind(e.source.clone())
    .bind(e.source.as_ref().map(|_| e.status.as_str()))
    .fetch_one(&mut *conn)
    .await
    .db()?;
    for (system, code) in &e.other_codings {
        sqlx::query(
            "INSERT INTO chart_entry_codings (entry_id, patient_id, system, code) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(id.to_string())
        .bind(patient.to_string())
        .bind(system.clone())
        .bind(code.clone())
        .execute(&mut *conn)
        .await
        .db()?;
    }
    Entry::try_from(row)
}

/// A report's results must be lab results (not reports) of its own patient, each once.
async fn check_report_results(conn: &mut Conn, patient: UserId, results: &[EntryId]) -> Result<()> {
    let mut distinct: Vec<&EntryId> = results.iter().collect();
    distinct.sort_by_key(|id| id.to_string());
    distinct.dedup();
    if distinct.len() != results.len() {
        return Err(Error::invalid("results", "a result is listed twice"));
    }
    if results.is_empty() {
        return Ok(());
    }
    let slots: Vec<String> = (0..results.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT COUNT(*) FROM chart_entries WHERE patient_id = $1 AND section = 'labs' \
         AND result_ids IS NULL AND id IN ({})",
        slots.join(", ")
    );
    let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(patient.to_string());
    for id in results {
        query = query.bind(id.to_string());
    }
    let found = query.fetch_one(conn).await.db()?;
    if found != results.len() as i64 {
        return Err(Error::invalid(
            "results",
            "every result is a lab result in this patient's record",
        ));
    }
    Ok(())
}

/// Changes an entry's status (resolved, stopped, entered in error) if it is still at
/// `version`; `Conflict` when someone changed it first, `NotFound` when it is not this
/// patient's entry.
pub async fn set_entry_status(
    conn: &mut Conn,
    grant: &Grant,
    id: EntryId,
    version: i64,
    status: EntryStatus,
    ended: Option<&ClinicalTime>,
    now: DateTime<Utc>,
) -> Result<Entry> {
    let patient = grant.patient();
    let current = entry_row_in(conn, patient, id)
        .await?
        .ok_or(Error::NotFound)?;
    grant.require(current.section, Op::Write)?;
    if !status.allowed_in(current.section) {
        return Err(Error::invalid(
            "status",
            format!(
                "that status is not one a {} entry has",
                current.section.as_str()
            ),
        ));
    }
    // The version being replaced goes to the history first (nothing, if it is stale).
    sqlx::query(&format!(
        "INSERT INTO chart_entry_history ({ENTRY_COLUMNS}) SELECT {ENTRY_COLUMNS} FROM chart_entries \
         WHERE id = $1 AND patient_id = $2 AND version = $3"
    ))
    .bind(id.to_string())
    .bind(patient.to_string())
    .bind(version)
    .execute(&mut *conn)
    .await
    .db()?;
    let done = sqlx::query(
        "UPDATE chart_entries SET status = $1, ended_at = COALESCE($2, ended_at), \
         ended_text = CASE WHEN $2 IS NULL THEN ended_text ELSE $7 END, updated_at = $3, \
         version = version + 1 WHERE id = $4 AND patient_id = $5 AND version = $6",
    )
    .bind(status.as_str())
    .bind(ended.map(|t| to_micros(t.start())))
    .bind(to_micros(now))
    .bind(id.to_string())
    .bind(patient.to_string())
    .bind(version)
    .bind(ended.map(|t| t.written().to_owned()))
    .execute(&mut *conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict(
            "the entry was changed since you read it; reload and try again".into(),
        ));
    }
    entry_row_in(conn, patient, id)
        .await?
        .ok_or(Error::NotFound)
}

/// A new version of the resource another system keeps sending for an entry (FHIR
/// `PUT`): what it now says, and how sure its author now is, on the entry's current
/// version (made by `set_entry_status` in the same transaction).
pub async fn replace_source(
    conn: &mut Conn,
    grant: &Grant,
    id: EntryId,
    source: &str,
    status: EntryStatus,
    verification: Option<Verification>,
) -> Result<Entry> {
    let patient = grant.patient();
    let current = entry_row_in(conn, patient, id)
        .await?
        .ok_or(Error::NotFound)?;
    grant.require(current.section, Op::Write)?;
    sqlx::query(
        "UPDATE chart_entries SET source = $1, source_status = $2, verification = $3 \
         WHERE id = $4 AND patient_id = $5",
    )
    .bind(source.to_owned())
    .bind(status.as_str())
    .bind(verification.map(|v| v.as_str()))
    .bind(id.to_string())
    .bind(patient.to_string())
    .execute(&mut *conn)
    .await
    .db()?;
    entry_row_in(conn, patient, id)
        .await?
        .ok_or(Error::NotFound)
}

/// An entry of the grant's patient, in a section the grant covers, read on `conn`.
pub async fn entry_in(conn: &mut Conn, grant: &Grant, id: EntryId) -> Result<Option<Entry>> {
    match entry_row_in(conn, grant.patient(), id).await? {
        Some(e) if grant.covers(e.section, Op::Read) => Ok(Some(e)),
        _ => Ok(None),
    }
}

async fn entry_row_in(conn: &mut Conn, patient: UserId, id: EntryId) -> Result<Option<Entry>> {
    let row: Option<EntryRow> = sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM chart_entries WHERE id = $1 AND patient_id = $2"
    ))
    .bind(id.to_string())
    .bind(patient.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(Entry::try_from).transpose()
}

/// A chart entry by id alone (the FHIR API learns the patient from it, then asks the
/// policy), read on `conn`: inside a write transaction, as it stands there.
pub async fn chart_entry_in(conn: &mut Conn, id: EntryId) -> Result<Option<Sealed<Entry>>> {
    let row: Option<EntryRow> = sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM chart_entries WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(|r| Entry::try_from(r).map(|e| Sealed::new(e.patient, e.section, e)))
        .transpose()
}

// ---- notes ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteStatus {
    Draft,
    Signed,
}

impl NoteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteStatus::Draft => "draft",
            NoteStatus::Signed => "signed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: NoteId,
    pub patient: UserId,
    pub appointment: Option<AppointmentId>,
    pub author: UserId,
    pub template: String,
    pub soap: Soap,
    pub status: NoteStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Addendum {
    pub id: String,
    pub note: NoteId,
    pub author: UserId,
    pub body: String,
    pub signed_at: DateTime<Utc>,
}

const NOTE_COLUMNS: &str = "id, patient_id, appointment_id, author_id, template, subjective, \
    objective, assessment, plan, status, created_at, updated_at, signed_at, version";

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: String,
    patient_id: String,
    appointment_id: Option<String>,
    author_id: String,
    template: String,
    subjective: String,
    objective: String,
    assessment: String,
    plan: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    signed_at: Option<i64>,
    version: i64,
}

impl TryFrom<NoteRow> for Note {
    type Error = Error;
    fn try_from(r: NoteRow) -> Result<Note> {
        Ok(Note {
            id: r.id.parse().map_err(corrupt)?,
            patient: r.patient_id.parse().map_err(corrupt)?,
            appointment: r
                .appointment_id
                .map(|a| a.parse().map_err(corrupt))
                .transpose()?,
            author: r.author_id.parse().map_err(corrupt)?,
            template: r.template,
            soap: Soap {
                subjective: r.subjective,
                objective: r.objective,
                assessment: r.assessment,
                plan: r.plan,
            },
            status: match r.status.as_str() {
                "draft" => NoteStatus::Draft,
                "signed" => NoteStatus::Signed,
                _ => return Err(corrupt(())),
            },
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
            signed_at: r.signed_at.map(from_micros),
            version: r.version,
        })
    }
}

pub struct NewNote<'a> {
    pub appointment: Option<AppointmentId>,
    pub template: &'a str,
    pub soap: &'a Soap,
}

/// Starts a draft. `Conflict` when the visit already has its note.
pub async fn insert_note(
    conn: &mut Conn,
    grant: &Grant,
    n: NewNote<'_>,
    now: DateTime<Utc>,
) -> Result<NoteId> {
    let patient = grant.require(Section::Notes, Op::Write)?;
    let id = NoteId::new();
    let done = sqlx::query(
        "INSERT INTO visit_notes (id, patient_id, appointment_id, author_id, template, subjective, \
         objective, assessment, plan, status, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $10, 1) \
         ON CONFLICT (appointment_id) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(patient.to_string())
    .bind(n.appointment.map(|a| a.to_string()))
    .bind(grant.author().to_string())
    .bind(n.template.to_owned())
    .bind(n.soap.subjective.clone())
    .bind(n.soap.objective.clone())
    .bind(n.soap.assessment.clone())
    .bind(n.soap.plan.clone())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("this visit already has a note".into()));
    }
    Ok(id)
}

/// What stops a change to a note: explains a refused conditional update.
async fn why_not(conn: &mut Conn, grant: &Grant, id: NoteId, version: i64) -> Error {
    let author = grant.author();
    match note_row_in(conn, id).await {
        Ok(Some(n)) if n.patient != grant.patient() => Error::NotFound,
        Ok(Some(n)) if n.status == NoteStatus::Signed => {
            Error::Conflict("the note is signed and locked; add an addendum instead".into())
        }
        Ok(Some(n)) if n.author != author => Error::Forbidden,
        Ok(Some(n)) if n.version != version => {
            Error::Conflict("the note was changed since you read it; reload and try again".into())
        }
        Ok(_) => Error::NotFound,
        Err(e) => e,
    }
}

/// Saves a draft by its author, if still at `version`.
pub async fn update_draft(
    conn: &mut Conn,
    grant: &Grant,
    id: NoteId,
    version: i64,
    soap: &Soap,
    now: DateTime<Utc>,
) -> Result<()> {
    let patient = grant.require(Section::Notes, Op::Write)?;
    let author = grant.author();
    let done = sqlx::query(
        "UPDATE visit_notes SET subjective = $1, objective = $2, assessment = $3, plan = $4, \
         updated_at = $5, version = version + 1 \
         WHERE id = $6 AND author_id = $7 AND version = $8 AND status = 'draft' \
         AND patient_id = $9",
    )
    .bind(soap.subjective.clone())
    .bind(soap.objective.clone())
    .bind(soap.assessment.clone())
    .bind(soap.plan.clone())
    .bind(to_micros(now))
    .bind(id.to_string())
    .bind(author.to_string())
    .bind(version)
    .bind(patient.to_string())
    .execute(&mut *conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(why_not(conn, grant, id, version).await);
    }
    Ok(())
}

/// Signs a draft as it stands at `version`; from then on the note never changes.
pub async fn sign_note(
    conn: &mut Conn,
    grant: &Grant,
    id: NoteId,
    version: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let patient = grant.require(Section::Notes, Op::Write)?;
    let done = sqlx::query(
        "UPDATE visit_notes SET status = 'signed', signed_at = $1, updated_at = $1, \
         version = version + 1 \
         WHERE id = $2 AND author_id = $3 AND version = $4 AND status = 'draft' \
         AND patient_id = $5",
    )
    .bind(to_micros(now))
    .bind(id.to_string())
    .bind(grant.author().to_string())
    .bind(version)
    .bind(patient.to_string())
    .execute(&mut *conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(why_not(conn, grant, id, version).await);
    }
    Ok(())
}

/// Adds a signed addendum to a signed note.
pub async fn add_addendum(
    conn: &mut Conn,
    grant: &Grant,
    note: NoteId,
    body: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let patient = grant.require(Section::Notes, Op::Write)?;
    let author = grant.author();
    let n = note_row_in(conn, note)
        .await?
        .filter(|n| n.patient == patient)
        .ok_or(Error::NotFound)?;
    if n.status != NoteStatus::Signed {
        return Err(Error::Conflict(
            "a draft is edited, not amended; sign it first".into(),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO note_addenda (id, note_id, author_id, body, signed_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.clone())
    .bind(note.to_string())
    .bind(author.to_string())
    .bind(body.to_owned())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

/// A note by its own id, sealed until a grant to the notes of its patient opens it.
pub async fn note_in(conn: &mut Conn, id: NoteId) -> Result<Option<Sealed<Note>>> {
    Ok(note_row_in(conn, id)
        .await?
        .map(|n| Sealed::new(n.patient, Section::Notes, n)))
}

async fn note_row_in(conn: &mut Conn, id: NoteId) -> Result<Option<Note>> {
    let row: Option<NoteRow> = sqlx::query_as(&format!(
        "SELECT {NOTE_COLUMNS} FROM visit_notes WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(Note::try_from).transpose()
}

// ---- relationships --------------------------------------------------------------------

pub async fn add_to_care_team(
    conn: &mut Conn,
    patient: UserId,
    clinician: UserId,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO care_team (patient_id, clinician_id, added_by, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (patient_id, clinician_id) DO NOTHING",
    )
    .bind(patient.to_string())
    .bind(clinician.to_string())
    .bind(by.to_string())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

pub async fn grant_proxy(
    conn: &mut Conn,
    patient: UserId,
    proxy: UserId,
    relationship: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<String> {
    let existing: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM record_proxies WHERE patient_id = $1 AND proxy_id = $2 AND revoked_at IS NULL",
    )
    .bind(patient.to_string())
    .bind(proxy.to_string())
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    if existing.is_some() {
        return Err(Error::Conflict("that person is already a proxy".into()));
    }
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO record_proxies (id, patient_id, proxy_id, relationship, granted_by, granted_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.clone())
    .bind(patient.to_string())
    .bind(proxy.to_string())
    .bind(relationship.to_owned())
    .bind(by.to_string())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

pub async fn revoke_proxy(
    conn: &mut Conn,
    patient: UserId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE record_proxies SET revoked_at = $1 WHERE id = $2 AND patient_id = $3 AND revoked_at IS NULL",
    )
    .bind(to_micros(now))
    .bind(id.to_owned())
    .bind(patient.to_string())
    .execute(conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

pub async fn insert_break_glass(
    conn: &mut Conn,
    actor: UserId,
    patient: UserId,
    reason: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO break_glass (id, actor_id, patient_id, reason, granted_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.clone())
    .bind(actor.to_string())
    .bind(patient.to_string())
    .bind(reason.to_owned())
    .bind(to_micros(now))
    .bind(to_micros(expires))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    pub id: String,
    pub patient: UserId,
    pub proxy: UserId,
    pub relationship: String,
    pub granted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BreakGlass {
    pub actor: UserId,
    pub reason: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What is current in the record: the active problems, allergies and medications, and
/// the latest reading of each vital sign.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub problems: Vec<Entry>,
    pub allergies: Vec<Entry>,
    pub medications: Vec<Entry>,
    /// The latest reading of each vital sign.
    pub vitals: Vec<Entry>,
}

/// The record at a glance, for the visit: what is current, and what is recent.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub problems: Vec<Entry>,
    pub allergies: Vec<Entry>,
    pub medications: Vec<Entry>,
    /// The latest reading of each vital sign.
    pub vitals: Vec<Entry>,
    pub recent_notes: Vec<Note>,
    /// The last visits that have started, newest first.
    pub recent_visits: Vec<RecentVisit>,
    /// The newest current documents.
    pub recent_documents: Vec<crate::documents::Document>,
}

/// A visit as the summary lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentVisit {
    pub id: AppointmentId,
    pub start_at: DateTime<Utc>,
    pub clinician_name: String,
    /// The appointment's status (`completed`, `no_show`, ...).
    pub status: String,
    pub reason: String,
}

#[derive(sqlx::FromRow)]
struct RecentVisitRow {
    id: String,
    start_at: i64,
    display_name: String,
    status: String,
    reason: String,
}

impl Store {
    /// Everything the access policy needs about `actor` and `patient`, in one query.
    pub async fn care_facts(
        &self,
        actor: UserId,
        patient: UserId,
        now: DateTime<Utc>,
    ) -> Result<CareFacts> {
        let mut conn = self.pool().acquire().await.db()?;
        care_facts_in(&mut conn, actor, patient, now).await
    }

    pub async fn demographics(&self, grant: &Grant) -> Result<Demographics> {
        let patient = grant.require(Section::Demographics, Op::Read)?;
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT birth_date, sex, phone, address, emergency_contact, emergency_phone \
             FROM patient_profiles WHERE patient_id = $1",
        )
        .bind(patient.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row
            .map(
                |(birth_date, sex, phone, address, emergency_contact, emergency_phone)| {
                    Demographics {
                        birth_date,
                        sex,
                        phone,
                        address,
                        emergency_contact,
                        emergency_phone,
                    }
                },
            )
            .unwrap_or_default())
    }

    /// A section's entries, newest first (entered-in-error ones included, marked).
    pub async fn entries(&self, grant: &Grant, section: Section) -> Result<Vec<Entry>> {
        self.latest_entries(grant, section, i64::MAX).await
    }

    /// The newest `limit` entries of a section (a page of the chart).
    pub async fn latest_entries(
        &self,
        grant: &Grant,
        section: Section,
        limit: i64,
    ) -> Result<Vec<Entry>> {
        let patient = grant.require(section, Op::Read)?;
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM chart_entries WHERE patient_id = $1 AND section = $2 \
             ORDER BY effective_at DESC, recorded_at DESC LIMIT $3"
        ))
        .bind(patient.to_string())
        .bind(section.as_str())
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(Entry::try_from).collect()
    }

    /// A chart entry by id alone, sealed, with the facts the policy decides on about
    /// `actor` and the entry's patient, in one query (the FHIR read's path).
    pub async fn chart_entry_with_facts(
        &self,
        id: EntryId,
        actor: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<(Sealed<Entry>, CareFacts)>> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {ENTRY_COLUMNS}, {} FROM chart_entries e WHERE e.id = $1",
                relationship_columns("$2", "e.patient_id", "$3")
            )
        });
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            entry: EntryRow,
            shared_visit: i64,
            care_team: i64,
            break_glass: i64,
            proxy: i64,
        }
        let (id, actor, now) = (id.to_string(), actor.to_string(), to_micros(now));
        let row: Option<Row> = match &self.direct {
            // One row by its primary key: the hot path of a FHIR read (see `direct`).
            Some(direct) => direct.run(|conn| {
                conn.prepare_cached(&SQL)?
                    // By name: SQLite numbers `$n` in order of appearance, not by `n`.
                    .query_row(
                        rusqlite::named_params! {"$1": id, "$2": actor, "$3": now},
                        |r| {
                            Ok(Row {
                                entry: EntryRow::from_direct(r)?,
                                shared_visit: r.get("shared_visit")?,
                                care_team: r.get("care_team")?,
                                break_glass: r.get("break_glass")?,
                                proxy: r.get("proxy")?,
                            })
                        },
                    )
                    .optional()
            })?,
            None => sqlx::query_as(&SQL)
                .bind(id)
                .bind(actor)
                .bind(now)
                .fetch_optional(self.pool())
                .await
                .db()?,
        };
        row.map(|r| {
            let facts = CareFacts {
                // The entry's patient is a patient: chart entries reference users, and
                // only patients have them.
                patient_exists: true,
                shared_visit: r.shared_visit == 1,
                care_team: r.care_team == 1,
                break_glass: r.break_glass == 1,
                proxy: r.proxy == 1,
            };
            Entry::try_from(r.entry).map(|e| (Sealed::new(e.patient, e.section, e), facts))
        })
        .transpose()
    }

    /// Every kept version of an entry, newest first: the current one, then the history
    /// (versions replaced before history was kept are absent).
    pub async fn entry_versions(&self, grant: &Grant, id: EntryId) -> Result<Vec<Entry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM chart_entries WHERE id = $1 AND patient_id = $2 UNION ALL \
             SELECT {ENTRY_COLUMNS} FROM chart_entry_history WHERE id = $1 AND patient_id = $2 \
             ORDER BY version DESC"
        ))
        .bind(id.to_string())
        .bind(grant.patient().to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        let versions: Vec<Entry> = rows
            .into_iter()
            .map(Entry::try_from)
            .collect::<Result<_>>()?;
        if versions.iter().any(|e| !grant.covers(e.section, Op::Read)) {
            return Err(Error::NotFound);
        }
        Ok(versions)
    }

    pub async fn entry(&self, grant: &Grant, id: EntryId) -> Result<Option<Entry>> {
        let mut conn = self.pool().acquire().await.db()?;
        entry_in(&mut conn, grant, id).await
    }

    /// What is current in the record (`Current`), under a grant on the whole chart.
    pub async fn current(&self, grant: &Grant) -> Result<Current> {
        let patient = grant.require_data(telemed_domain::access::Data::Chart)?;
        let current = current_statuses();
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM chart_entries WHERE patient_id = $1 \
             AND section IN ('problems', 'allergies', 'medications') AND status IN ({current}) \
             AND (verification IS NULL OR verification NOT IN ('refuted', 'entered-in-error')) \
             ORDER BY effective_at DESC, recorded_at DESC"
        ))
        .bind(patient.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        let mut found = Current::default();
        for row in rows {
            let e = Entry::try_from(row)?;
            match e.section {
                Section::Problems => found.problems.push(e),
                Section::Allergies => found.allergies.push(e),
                _ => found.medications.push(e),
            }
        }
        // The latest reading per vital sign: one short backward scan of
        // `chart_entries_by_code` per code telemed knows, however long the history.
        let latest_of_each: Vec<String> = (0..VITALS.len())
            .map(|i| {
                format!(
                    "SELECT (SELECT id FROM chart_entries d WHERE d.patient_id = $1 \
                     AND d.section = 'vitals' AND d.code = ${} AND d.status IN ({current}) \
                     ORDER BY d.effective_at DESC, d.recorded_at DESC LIMIT 1) AS id",
                    i + 2
                )
            })
            .collect();
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM chart_entries WHERE id IN ({}) ORDER BY code",
            latest_of_each.join(" UNION ALL ")
        );
        let mut query = sqlx::query_as(&sql).bind(patient.to_string());
        for vital in &VITALS {
            query = query.bind(vital.code);
        }
        let latest: Vec<EntryRow> = query.fetch_all(self.pool()).await.db()?;
        found.vitals = latest
            .into_iter()
            .map(Entry::try_from)
            .collect::<Result<_>>()?;
        Ok(found)
    }

    /// The record at a glance (`Summary`): what is current, and the newest notes,
    /// visits and documents.
    pub async fn summary(&self, grant: &Grant, now: DateTime<Utc>) -> Result<Summary> {
        let Current {
            problems,
            allergies,
            medications,
            vitals,
        } = self.current(grant).await?;
        Ok(Summary {
            problems,
            allergies,
            medications,
            vitals,
            recent_notes: self.notes_of(grant, 5).await?,
            recent_visits: self.recent_visits(grant, now, 5).await?,
            recent_documents: self.documents_of(grant, false, 5).await?,
        })
    }

    /// The patient's visits that started before `now`, newest first.
    pub async fn recent_visits(
        &self,
        grant: &Grant,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RecentVisit>> {
        let patient = grant.require(Section::Notes, Op::Read)?;
        let rows: Vec<RecentVisitRow> = sqlx::query_as(
            "SELECT a.id, a.start_at, u.display_name, a.status, a.reason FROM appointments a \
             JOIN users u ON u.id = a.clinician_id WHERE a.patient_id = $1 AND a.start_at < $2 \
             ORDER BY a.start_at DESC LIMIT $3",
        )
        .bind(patient.to_string())
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|r| {
                Ok(RecentVisit {
                    id: r.id.parse().map_err(corrupt)?,
                    start_at: from_micros(r.start_at),
                    clinician_name: r.display_name,
                    status: r.status,
                    reason: r.reason,
                })
            })
            .collect()
    }

    /// A patient's notes, newest first; drafts only for a grant that sees them.
    pub async fn notes_of(&self, grant: &Grant, limit: i64) -> Result<Vec<Note>> {
        let patient = grant.require(Section::Notes, Op::Read)?;
        let filter = if grant.sees_drafts() {
            ""
        } else {
            "AND status = 'signed'"
        };
        let rows: Vec<NoteRow> = sqlx::query_as(&format!(
            "SELECT {NOTE_COLUMNS} FROM visit_notes WHERE patient_id = $1 {filter} \
             ORDER BY created_at DESC LIMIT $2"
        ))
        .bind(patient.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(Note::try_from).collect()
    }

    pub async fn note(&self, id: NoteId) -> Result<Option<Sealed<Note>>> {
        let mut conn = self.pool().acquire().await.db()?;
        note_in(&mut conn, id).await
    }

    /// A note's addenda, when the note is of the grant's patient.
    pub async fn addenda(&self, grant: &Grant, note: NoteId) -> Result<Vec<Addendum>> {
        let patient = grant.require(Section::Notes, Op::Read)?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT a.id, a.author_id, a.body, a.signed_at FROM note_addenda a \
             JOIN visit_notes n ON n.id = a.note_id \
             WHERE a.note_id = $1 AND n.patient_id = $2 ORDER BY a.signed_at, a.id",
        )
        .bind(note.to_string())
        .bind(patient.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(id, author, body, at)| {
                Ok(Addendum {
                    id,
                    note,
                    author: author.parse().map_err(corrupt)?,
                    body,
                    signed_at: from_micros(at),
                })
            })
            .collect()
    }

    pub async fn care_team(&self, patient: UserId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT clinician_id FROM care_team WHERE patient_id = $1 ORDER BY added_at",
        )
        .bind(patient.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(id,)| id.parse().map_err(corrupt))
            .collect()
    }

    /// Active proxies of a patient (`of_patient`), or the patients a user is proxy for.
    pub async fn proxies(&self, user: UserId, of_patient: bool) -> Result<Vec<Proxy>> {
        let column = if of_patient { "patient_id" } else { "proxy_id" };
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(&format!(
            "SELECT id, patient_id, proxy_id, relationship, granted_at FROM record_proxies \
             WHERE {column} = $1 AND revoked_at IS NULL ORDER BY granted_at"
        ))
        .bind(user.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(id, patient, proxy, relationship, at)| {
                Ok(Proxy {
                    id,
                    patient: patient.parse().map_err(corrupt)?,
                    proxy: proxy.parse().map_err(corrupt)?,
                    relationship,
                    granted_at: from_micros(at),
                })
            })
            .collect()
    }

    /// Emergency accesses to a patient's record, newest first.
    pub async fn break_glass_of(&self, patient: UserId) -> Result<Vec<BreakGlass>> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT actor_id, reason, granted_at, expires_at FROM break_glass WHERE patient_id = $1 \
             ORDER BY granted_at DESC",
        )
        .bind(patient.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(actor, reason, at, until)| {
                Ok(BreakGlass {
                    actor: actor.parse().map_err(corrupt)?,
                    reason,
                    granted_at: from_micros(at),
                    expires_at: from_micros(until),
                })
            })
            .collect()
    }
}

/// The facts the record's policy decides on, read on `conn` (inside a write
/// transaction, it sees what the transaction wrote: a patient created a moment ago).
pub async fn care_facts_in(
    conn: &mut Conn,
    actor: UserId,
    patient: UserId,
    now: DateTime<Utc>,
) -> Result<CareFacts> {
    let row: (i64, i64, i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM users WHERE id = $2 AND role = 'patient') \
         THEN 1 ELSE 0 END AS BIGINT) AS patient_exists, {}",
        relationship_columns("$1", "$2", "$3")
    ))
    .bind(actor.to_string())
    .bind(patient.to_string())
    .bind(to_micros(now))
    .fetch_one(conn)
    .await
    .db()?;
    Ok(CareFacts {
        patient_exists: row.0 == 1,
        shared_visit: row.1 == 1,
        care_team: row.2 == 1,
        break_glass: row.3 == 1,
        proxy: row.4 == 1,
    })
}

/// The four facts of a relationship between `actor` and `patient` (SQL expressions) at
/// `now`, as 0/1 columns named `shared_visit`, `care_team`, `break_glass` and `proxy`.
fn relationship_columns(actor: &str, patient: &str, now: &str) -> String {
    let fact = |name: &str, condition: String| {
        format!("CAST(CASE WHEN EXISTS ({condition}) THEN 1 ELSE 0 END AS BIGINT) AS {name}")
    };
    [
        fact(
            "shared_visit",
            format!(
                "SELECT 1 FROM appointments a WHERE a.clinician_id = {actor} AND a.patient_id = {patient} \
                 AND a.status NOT IN ('cancelled', 'entered-in-error')"
            ),
        ),
        fact(
            "care_team",
            format!("SELECT 1 FROM care_team t WHERE t.clinician_id = {actor} AND t.patient_id = {patient}"),
        ),
        fact(
            "break_glass",
            format!(
                "SELECT 1 FROM break_glass b WHERE b.actor_id = {actor} AND b.patient_id = {patient} \
                 AND b.expires_at > {now}"
            ),
        ),
        fact(
            "proxy",
            format!(
                "SELECT 1 FROM record_proxies r WHERE r.proxy_id = {actor} AND r.patient_id = {patient} \
                 AND r.revoked_at IS NULL"
            ),
        ),
    ]
    .join(", ")
}
