//! What the store gives back: the rows of patient data and of the clinic as the rest of
//! telemed reads them (the FHIR mapping, the pages, the API). Plain values; how they are
//! stored is the store's, who may see them the access policy's.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::{AuditRecord, Outcome};
use crate::clinical_time::ClinicalTime;
use crate::documents::{Category, DicomHeader, DocumentStatus};
use crate::record::{Criticality, EntryStatus, Section, Severity, Verification};
use crate::schedule::{Availability, VisitKind};
use crate::{
    AppointmentId, BlobId, DocumentId, EntryId, Error, MediaType, MessageId, Result, Role,
    ThreadId, UserId,
};

/// A person as FHIR shows them: the account, the name in parts, and for patients the
/// demographics.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: UserId,
    pub role: Role,
    pub email: String,
    pub display_name: String,
    pub family: String,
    pub given: Vec<String>,
    pub locale: String,
    pub active: bool,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub emergency_contact: Option<String>,
    pub emergency_phone: Option<String>,
    pub specialty: Option<String>,
    /// Identifiers in other systems (patients created through FHIR).
    pub identifiers: Vec<Identifier>,
    /// Earlier names, oldest first (patients).
    pub former_names: Vec<FormerName>,
    pub updated_at: DateTime<Utc>,
    /// The Patient resource as another system wrote it (FHIR JSON), for patients it
    /// registered.
    pub source: Option<String>,
}

/// A name a person no longer goes by, and when it stopped being theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct FormerName {
    pub display_name: String,
    pub family: String,
    pub given: Vec<String>,
    pub until: DateTime<Utc>,
}

/// An identifier as FHIR gives it: `system` is empty when none was given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identifier {
    pub system: String,
    pub value: String,
}

/// A message with what a Communication says of it.
#[derive(Debug, Clone)]
pub struct Communication {
    pub id: MessageId,
    pub thread_id: ThreadId,
    pub subject: String,
    pub patient: Option<UserId>,
    pub clinic_inbox: bool,
    pub sender: (UserId, Role),
    pub body: String,
    pub sent_at: DateTime<Utc>,
    /// The thread's other members when it was sent.
    pub recipients: Vec<(UserId, Role)>,
    /// Files sent with it, in order.
    pub attachments: Vec<Blob>,
}

/// When a visit's encounter began and ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncounterSpan {
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Visit {
    pub appointment: Appointment,
    pub encounter: Option<EncounterSpan>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Demographics {
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub emergency_contact: Option<String>,
    pub emergency_phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: EntryId,
    pub patient: UserId,
    pub section: Section,
    pub code_system: Option<String>,
    pub code: Option<String>,
    pub text: String,
    pub status: EntryStatus,
    pub effective: Option<ClinicalTime>,
    pub ended: Option<ClinicalTime>,
    pub value: Option<f64>,
    pub value2: Option<f64>,
    pub value_text: Option<String>,
    pub unit: Option<String>,
    /// The value and unit as sent, when telemed converted them to the chart's unit.
    pub as_sent: Option<String>,
    pub range_low: Option<f64>,
    pub range_high: Option<f64>,
    pub severity: Option<Severity>,
    pub verification: Option<Verification>,
    pub criticality: Option<Criticality>,
    pub reaction: Option<String>,
    pub dosage: Option<String>,
    pub relation: Option<String>,
    pub note: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: UserId,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// A lab report's results, in order; `None` for every other entry.
    pub results: Option<Vec<EntryId>>,
    /// Observation categories (vital-signs, laboratory…).
    pub categories: Vec<String>,
    /// The resource as another system wrote it (FHIR JSON), for entries it sent.
    pub source: Option<String>,
    /// The status that resource stated: telemed has changed it since when they differ.
    pub source_status: Option<EntryStatus>,
}

impl Entry {
    /// Outside the reference range (labs), when there is one.
    pub fn out_of_range(&self) -> bool {
        match self.value {
            Some(v) => {
                self.range_low.is_some_and(|lo| v < lo) || self.range_high.is_some_and(|hi| v > hi)
            }
            None => false,
        }
    }
}

/// A document as listed and opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: DocumentId,
    pub patient: UserId,
    /// The original file, as uploaded.
    pub file: Blob,
    pub category: Category,
    pub title: String,
    pub description: Option<String>,
    /// The visit it was sent ahead of, if any.
    pub appointment: Option<AppointmentId>,
    /// A small JPEG for lists (photos and DICOM).
    pub thumbnail: Option<BlobId>,
    /// A PNG a browser can show (DICOM only: photos are shown as they are).
    pub preview: Option<BlobId>,
    pub status: DocumentStatus,
    pub uploaded_by: UserId,
    pub uploaded_by_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub dicom: Option<DicomHeader>,
}

impl Document {
    /// Whether `blob` is one of this document's files (original, thumbnail, preview).
    pub fn holds(&self, blob: BlobId) -> bool {
        self.file.id == blob || self.thumbnail == Some(blob) || self.preview == Some(blob)
    }
}

/// A stored file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub id: BlobId,
    pub media_type: MediaType,
    pub file_name: String,
    pub byte_size: i64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub id: String,
    pub user: UserId,
    pub kind: String,
    pub version: String,
    pub accepted_at: DateTime<Utc>,
}

/// One entry as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: Option<UserId>,
    pub actor_role: Option<Role>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub patient: Option<UserId>,
    pub outcome: Outcome,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
    #[serde(skip)]
    pub prev_hash: String,
    #[serde(skip)]
    pub hash: String,
}

impl AuditEntry {
    pub fn record(&self) -> AuditRecord {
        AuditRecord {
            at: self.at,
            actor: self.actor,
            actor_role: self.actor_role,
            action: self.action.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            patient: self.patient,
            outcome: self.outcome,
            client_addr: self.client_addr.clone(),
            request_id: self.request_id.clone(),
            detail: self.detail.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: AppointmentId,
    pub clinician_id: UserId,
    pub patient_id: UserId,
    pub visit_kind: VisitKind,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub reason: String,
    pub booked_by: UserId,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the patient checked in to the waiting room.
    pub arrived_at: Option<DateTime<Utc>>,
    /// The iCalendar SEQUENCE: 0 when booked, one more at each move or cancellation.
    pub sequence: i64,
    pub updated_at: DateTime<Utc>,
}

/// FHIR Appointment.status values telemed uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AppointmentStatus {
    Proposed,
    Booked,
    Arrived,
    Fulfilled,
    Cancelled,
    Noshow,
    EnteredInError,
}

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Proposed => "proposed",
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::Arrived => "arrived",
            AppointmentStatus::Fulfilled => "fulfilled",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::Noshow => "noshow",
            AppointmentStatus::EnteredInError => "entered-in-error",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        use AppointmentStatus::*;
        [
            Proposed,
            Booked,
            Arrived,
            Fulfilled,
            Cancelled,
            Noshow,
            EnteredInError,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| Error::internal("corrupt appointment status"))
    }

    /// Whether the appointment still holds its time.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            AppointmentStatus::Proposed | AppointmentStatus::Booked | AppointmentStatus::Arrived
        )
    }
}

#[derive(Debug, Clone)]
pub struct ClinicianProfile {
    pub user_id: UserId,
    pub display_name: String,
    pub specialty: String,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
    pub bio: String,
    pub availability: Availability,
    pub visit_types: Vec<VisitType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VisitType {
    pub kind: VisitKind,
    pub duration_minutes: i64,
    pub fee_cents: i64,
    pub currency: String,
}

/// A prescription as signed, with where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Prescription {
    pub id: String,
    pub patient: UserId,
    pub prescriber: UserId,
    pub medication: crate::prescribing::Medication,
    pub sig: crate::prescribing::sig::Sig,
    pub sig_text_en: String,
    pub sig_text_es: String,
    pub quantity: f64,
    pub quantity_unit: String,
    pub refills: u32,
    pub substitution_allowed: bool,
    pub note: String,
    pub findings: Vec<crate::prescribing::prescription::SignedFinding>,
    /// How the prescriber proved it was them at signing (`totp`, `recovery_code`).
    pub second_factor: String,
    pub signed_at: DateTime<Utc>,
    /// The signed token of the patient's copy (compact JWS).
    pub token: String,
    pub status: crate::prescribing::prescription::PrescriptionStatus,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub status_changed_by: Option<UserId>,
    /// What has been dispensed of it.
    pub fills: crate::prescribing::dispensing::Fills,
    /// The pharmacy it was sent to, if one was chosen.
    pub pharmacy_id: Option<String>,
    /// Sending it to that pharmacy's system: `queued`, `sent` or `failed` (none when the
    /// pharmacy takes no prescriptions electronically), with the pharmacy's answer.
    pub sending: Option<String>,
    pub sending_detail: Option<String>,
}

/// A dispense as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispense {
    pub id: String,
    pub prescription_id: String,
    pub sequence: u32,
    pub fill: u32,
    pub quantity: f64,
    pub fill_complete: bool,
    pub pharmacy_id: String,
    pub pharmacy_name: String,
    pub pharmacist: UserId,
    pub dispensed_at: DateTime<Utc>,
}
