//! Documents and images in the patient record. Each row points at its encrypted file
//! (`blobs`) and, where one was made, an encrypted thumbnail and preview; a DICOM
//! document also has its header in `dicom_instances`. Documents are never deleted: one
//! filed by mistake is marked entered-in-error.

use chrono::{DateTime, Utc};
use telemed_domain::access::{Grant, Op, Sealed};
use telemed_domain::documents::{Category, DicomHeader, DocumentStatus};
use telemed_domain::record::Section;
use telemed_domain::{AppointmentId, BlobId, DocumentId, Error, Result};

use crate::blobs::{BlobRecord, BLOB_COLUMNS};
use crate::values::decimal;
use crate::{from_micros, to_micros, Conn, DbResult, Store};

pub use telemed_domain::views::Document;

/// A document to file: its blobs are inserted first, in the same transaction.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    pub file: BlobId,
    pub category: Category,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub appointment: Option<AppointmentId>,
    pub thumbnail: Option<BlobId>,
    pub preview: Option<BlobId>,
    pub dicom: Option<&'a DicomHeader>,
}

pub async fn insert_document(
    conn: &mut Conn,
    grant: &Grant,
    d: &NewDocument<'_>,
    now: DateTime<Utc>,
) -> Result<DocumentId> {
    let patient = grant.require(Section::Documents, Op::Write)?;
    let id = DocumentId::new();
    sqlx::query(
        "INSERT INTO record_documents (id, patient_id, blob_id, category, title, description, \
         appointment_id, thumbnail_blob_id, preview_blob_id, status, uploaded_by, created_at, \
         updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'current', $10, $11, $11, 1)",
    )
    .bind(id.to_string())
    .bind(patient.to_string())
    .bind(d.file.to_string())
    .bind(d.category.as_str())
    .bind(d.title.to_owned())
    .bind(d.description.map(str::to_owned))
    .bind(d.appointment.map(|a| a.to_string()))
    .bind(d.thumbnail.map(|b| b.to_string()))
    .bind(d.preview.map(|b| b.to_string()))
    .bind(grant.author().to_string())
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await
    .db()?;
    if let Some(h) = d.dicom {
        insert_dicom(conn, id, h).await?;
    }
    Ok(id)
}

async fn insert_dicom(conn: &mut Conn, id: DocumentId, h: &DicomHeader) -> Result<()> {
    sqlx::query(
        "INSERT INTO dicom_instances (document_id, study_uid, series_uid, sop_instance_uid, \
         sop_class_uid, transfer_syntax, modality, study_date, study_description, \
         series_description, series_number, instance_number, body_part, patient_name, \
         patient_identifier, rows_count, columns_count, frames, window_center, window_width) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         CAST($19 AS DOUBLE PRECISION), CAST($20 AS DOUBLE PRECISION))",
    )
    .bind(id.to_string())
    .bind(h.study_uid.clone())
    .bind(h.series_uid.clone())
    .bind(h.sop_instance_uid.clone())
    .bind(h.sop_class_uid.clone())
    .bind(h.transfer_syntax.clone())
    .bind(h.modality.clone())
    .bind(h.study_date.clone())
    .bind(h.study_description.clone())
    .bind(h.series_description.clone())
    .bind(h.series_number)
    .bind(h.instance_number)
    .bind(h.body_part.clone())
    .bind(h.patient_name.clone())
    .bind(h.patient_identifier.clone())
    .bind(h.rows)
    .bind(h.columns)
    .bind(h.frames)
    .bind(decimal(h.window_center))
    .bind(decimal(h.window_width))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Marks a document entered-in-error (or current again) at the version the caller saw;
/// another change first gives `Conflict`.
pub async fn set_document_status(
    conn: &mut Conn,
    grant: &Grant,
    id: DocumentId,
    status: DocumentStatus,
    version: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE record_documents SET status = $1, updated_at = $2, version = version + 1 \
         WHERE id = $3 AND version = $4 AND patient_id = $5",
    )
    .bind(status.as_str())
    .bind(to_micros(now))
    .bind(id.to_string())
    .bind(version)
    .bind(grant.require(Section::Documents, Op::Write)?.to_string())
    .execute(conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict(
            "the document changed since it was read; reload it".into(),
        ));
    }
    Ok(())
}

fn document_select(filter: &str) -> String {
    format!(
        "SELECT d.id AS doc_id, d.patient_id, d.category, d.title, d.description, d.appointment_id, \
         d.thumbnail_blob_id, d.preview_blob_id, d.status, d.uploaded_by, \
         u.display_name AS uploaded_by_name, d.created_at AS doc_created_at, d.updated_at, \
         d.version, {BLOB_COLUMNS}, \
         i.study_uid, i.series_uid, i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax, \
         i.modality, i.study_date, i.study_description, i.series_description, i.series_number, \
         i.instance_number, i.body_part, i.patient_name, i.patient_identifier, i.rows_count, \
         i.columns_count, i.frames, i.window_center, i.window_width \
         FROM record_documents d JOIN blobs b ON b.id = d.blob_id \
         JOIN users u ON u.id = d.uploaded_by \
         LEFT JOIN dicom_instances i ON i.document_id = d.id WHERE {filter}"
    )
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    doc_id: String,
    patient_id: String,
    category: String,
    title: String,
    description: Option<String>,
    appointment_id: Option<String>,
    thumbnail_blob_id: Option<String>,
    preview_blob_id: Option<String>,
    status: String,
    uploaded_by: String,
    uploaded_by_name: String,
    doc_created_at: i64,
    updated_at: i64,
    version: i64,
    #[sqlx(flatten)]
    blob: BlobRecord,
    study_uid: Option<String>,
    series_uid: Option<String>,
    sop_instance_uid: Option<String>,
    sop_class_uid: Option<String>,
    transfer_syntax: Option<String>,
    modality: Option<String>,
    study_date: Option<String>,
    study_description: Option<String>,
    series_description: Option<String>,
    series_number: Option<i64>,
    instance_number: Option<i64>,
    body_part: Option<String>,
    patient_name: Option<String>,
    patient_identifier: Option<String>,
    rows_count: Option<i64>,
    columns_count: Option<i64>,
    frames: Option<i64>,
    window_center: Option<f64>,
    window_width: Option<f64>,
}

fn corrupt<E>(_: E) -> Error {
    Error::internal("corrupt record_documents row")
}

fn parse_opt<T: std::str::FromStr>(v: Option<String>) -> Result<Option<T>> {
    v.map(|s| s.parse().map_err(corrupt)).transpose()
}

impl TryFrom<DocumentRow> for Document {
    type Error = Error;
    fn try_from(r: DocumentRow) -> Result<Document> {
        let dicom = match r.study_uid {
            Some(study_uid) => Some(DicomHeader {
                study_uid,
                series_uid: r.series_uid.unwrap_or_default(),
                sop_instance_uid: r.sop_instance_uid.unwrap_or_default(),
                sop_class_uid: r.sop_class_uid.unwrap_or_default(),
                transfer_syntax: r.transfer_syntax.unwrap_or_default(),
                modality: r.modality,
                study_date: r.study_date,
                study_description: r.study_description,
                series_description: r.series_description,
                series_number: r.series_number,
                instance_number: r.instance_number,
                body_part: r.body_part,
                patient_name: r.patient_name,
                patient_identifier: r.patient_identifier,
                rows: r.rows_count,
                columns: r.columns_count,
                frames: r.frames,
                window_center: r.window_center,
                window_width: r.window_width,
            }),
            None => None,
        };
        Ok(Document {
            id: r.doc_id.parse().map_err(corrupt)?,
            patient: r.patient_id.parse().map_err(corrupt)?,
            file: r.blob.into_blob()?,
            category: Category::parse(&r.category).ok_or_else(|| corrupt(()))?,
            title: r.title,
            description: r.description,
            appointment: parse_opt(r.appointment_id)?,
            thumbnail: parse_opt(r.thumbnail_blob_id)?,
            preview: parse_opt(r.preview_blob_id)?,
            status: DocumentStatus::parse(&r.status).ok_or_else(|| corrupt(()))?,
            uploaded_by: r.uploaded_by.parse().map_err(corrupt)?,
            uploaded_by_name: r.uploaded_by_name,
            created_at: from_micros(r.doc_created_at),
            updated_at: from_micros(r.updated_at),
            version: r.version,
            dicom,
        })
    }
}

impl Store {
    /// A patient's documents, newest first; those entered in error only when asked.
    pub async fn documents_of(
        &self,
        grant: &Grant,
        with_entered_in_error: bool,
        limit: i64,
    ) -> Result<Vec<Document>> {
        let patient = grant.require(Section::Documents, Op::Read)?;
        let filter = if with_entered_in_error {
            "d.patient_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2"
        } else {
            "d.patient_id = $1 AND d.status = 'current' ORDER BY d.created_at DESC, d.id LIMIT $2"
        };
        let rows: Vec<DocumentRow> = sqlx::query_as(&document_select(filter))
            .bind(patient.to_string())
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .db()?;
        rows.into_iter().map(Document::try_from).collect()
    }

    /// A document by its own id, sealed until a grant to its patient's documents opens it.
    pub async fn document(&self, id: DocumentId) -> Result<Option<Sealed<Document>>> {
        let row: Option<DocumentRow> = sqlx::query_as(&document_select("d.id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .db()?;
        row.map(|r| Document::try_from(r).map(|d| Sealed::new(d.patient, Section::Documents, d)))
            .transpose()
    }
}
