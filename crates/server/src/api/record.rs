//! The patient record over JSON: demographics, chart sections, the summary, visit notes
//! with signing and addenda, break-the-glass, care team and proxies. Every handler goes
//! through `crate::record`, which applies the access policy and audits; a refusal is a
//! 404 like a patient that does not exist.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::record::{
    Criticality, EntryStatus, NewEntry, Section, Severity, Soap, Verification,
};
use telemed_domain::{AppointmentId, EntryId, Error, NoteId, Result, UserId};
use telemed_store::record::{Addendum, Demographics, Entry, Note, NoteStatus, Summary};

use super::ApiJson;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::record::{self, NewNoteRequest, StatusChange};
use crate::AppState;

fn section_of(raw: &str) -> Result<Section, Error> {
    Section::parse(raw).ok_or(Error::NotFound)
}

#[derive(Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemographicsBody {
    pub birth_date: Option<String>,
    /// female, male, other or unknown.
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub emergency_contact: Option<String>,
    pub emergency_phone: Option<String>,
    /// The patient's family name. In a change, with `given_names`: both absent leave
    /// the name as it is; otherwise a family name is needed.
    pub family_name: Option<String>,
    /// The patient's given names, separated by spaces.
    pub given_names: Option<String>,
}

/// Demographics without the name.
impl From<Demographics> for DemographicsBody {
    fn from(d: Demographics) -> Self {
        DemographicsBody {
            birth_date: d.birth_date,
            sex: d.sex,
            phone: d.phone,
            address: d.address,
            emergency_contact: d.emergency_contact,
            emergency_phone: d.emergency_phone,
            family_name: None,
            given_names: None,
        }
    }
}

impl DemographicsBody {
    /// What is stored for `patient`, with their name (after the caller's read grant).
    async fn stored(state: &AppState, patient: UserId, d: Demographics) -> Result<Self> {
        let name = state.store.user_by_id(patient).await?.map(|u| u.name);
        Ok(DemographicsBody {
            family_name: name.as_ref().map(|n| n.family.clone()),
            given_names: name.map(|n| n.given_joined()),
            ..d.into()
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: EntryId,
    pub section: Section,
    pub code_system: Option<String>,
    pub code: Option<String>,
    pub text: String,
    pub status: EntryStatus,
    /// When it happened, as written: a year, a month (YYYY-MM), a date, or a date and
    /// time with its offset.
    pub effective: Option<String>,
    pub ended: Option<String>,
    pub value: Option<f64>,
    pub value2: Option<f64>,
    pub value_text: Option<String>,
    pub unit: Option<String>,
    pub range_low: Option<f64>,
    pub range_high: Option<f64>,
    pub out_of_range: bool,
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// The value and unit as another system sent them, when telemed converted them to
    /// the chart's unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_sent: Option<String>,
    pub reaction: Option<String>,
    pub dosage: Option<String>,
    pub relation: Option<String>,
    pub note: Option<String>,
    /// A lab report's results (lab entries of the same record), in order; absent for
    /// every other entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<EntryId>>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: UserId,
    /// Send it back to change the status: a stale version is 409.
    pub version: i64,
}

impl From<Entry> for EntryView {
    fn from(e: Entry) -> Self {
        EntryView {
            out_of_range: e.out_of_range(),
            id: e.id,
            section: e.section,
            code_system: e.code_system,
            code: e.code,
            text: e.text,
            status: e.status,
            effective: e.effective.map(|t| t.written().to_owned()),
            ended: e.ended.map(|t| t.written().to_owned()),
            value: e.value,
            value2: e.value2,
            value_text: e.value_text,
            unit: e.unit,
            range_low: e.range_low,
            range_high: e.range_high,
            severity: e.severity,
            verification: e.verification,
            criticality: e.criticality,
            as_sent: e.as_sent,
            reaction: e.reaction,
            dosage: e.dosage,
            relation: e.relation,
            note: e.note,
            results: e.results,
            recorded_at: e.recorded_at,
            recorded_by: e.recorded_by,
            version: e.version,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AddendumView {
    pub author: UserId,
    pub body: String,
    pub signed_at: DateTime<Utc>,
}

impl From<Addendum> for AddendumView {
    fn from(a: Addendum) -> Self {
        AddendumView {
            author: a.author,
            body: a.body,
            signed_at: a.signed_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NoteView {
    pub id: NoteId,
    pub patient: UserId,
    pub appointment_id: Option<AppointmentId>,
    pub author: UserId,
    pub template: String,
    #[serde(flatten)]
    pub soap: Soap,
    /// `draft` or `signed`; a signed note never changes.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub addenda: Vec<AddendumView>,
}

pub(super) fn note_view(n: Note, addenda: Vec<Addendum>) -> NoteView {
    NoteView {
        id: n.id,
        patient: n.patient,
        appointment_id: n.appointment,
        author: n.author,
        template: n.template,
        soap: n.soap,
        status: match n.status {
            NoteStatus::Draft => "draft",
            NoteStatus::Signed => "signed",
        }
        .into(),
        created_at: n.created_at,
        updated_at: n.updated_at,
        signed_at: n.signed_at,
        version: n.version,
        addenda: addenda.into_iter().map(Into::into).collect(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SummaryView {
    pub problems: Vec<EntryView>,
    pub allergies: Vec<EntryView>,
    pub medications: Vec<EntryView>,
    /// The latest reading of each vital sign.
    pub vitals: Vec<EntryView>,
    pub recent_notes: Vec<NoteView>,
    pub recent_visits: Vec<RecentVisitView>,
    pub recent_documents: Vec<super::documents::DocumentView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecentVisitView {
    pub id: AppointmentId,
    pub start_at: DateTime<Utc>,
    pub clinician_name: String,
    pub status: String,
    pub reason: String,
}

impl From<telemed_store::record::RecentVisit> for RecentVisitView {
    fn from(v: telemed_store::record::RecentVisit) -> Self {
        RecentVisitView {
            id: v.id,
            start_at: v.start_at,
            clinician_name: v.clinician_name,
            status: v.status,
            reason: v.reason,
        }
    }
}

impl From<Summary> for SummaryView {
    fn from(s: Summary) -> Self {
        let entries = |v: Vec<Entry>| v.into_iter().map(Into::into).collect();
        SummaryView {
            problems: entries(s.problems),
            allergies: entries(s.allergies),
            medications: entries(s.medications),
            vitals: entries(s.vitals),
            recent_notes: s
                .recent_notes
                .into_iter()
                .map(|n| note_view(n, Vec::new()))
                .collect(),
            recent_visits: s.recent_visits.into_iter().map(Into::into).collect(),
            recent_documents: s.recent_documents.into_iter().map(Into::into).collect(),
        }
    }
}

/// The record at a glance: active problems, allergies, medications, last vitals, recent
/// notes, visits and documents.
#[utoipa::path(get, path = "/api/v1/patients/{id}/record", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = SummaryView),
    (status = 404, description = "no such patient, or not yours to see (the same answer)", body = crate::error::ErrorBody)))]
pub async fn summary(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<SummaryView>> {
    let patient = UserId::from_path(&id)?;
    let (s, _) = record::summary(&state, &ctx, &caller.principal, patient).await?;
    Ok(Json(s.into()))
}

/// Demographics and contacts.
#[utoipa::path(get, path = "/api/v1/patients/{id}/record/demographics", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = DemographicsBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn demographics(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<DemographicsBody>> {
    let patient = UserId::from_path(&id)?;
    let d = record::demographics(&state, &ctx, &caller.principal, patient).await?;
    Ok(Json(DemographicsBody::stored(&state, patient, d).await?))
}

/// Replaces demographics and contacts (the patient, or the front desk).
#[utoipa::path(put, path = "/api/v1/patients/{id}/record/demographics", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = DemographicsBody, responses(
    (status = 200, body = DemographicsBody), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn save_demographics(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DemographicsBody>,
) -> AppResult<Json<DemographicsBody>> {
    let patient = UserId::from_path(&id)?;
    let d = Demographics {
        birth_date: body.birth_date,
        sex: body.sex,
        phone: body.phone,
        address: body.address,
        emergency_contact: body.emergency_contact,
        emergency_phone: body.emergency_phone,
    };
    let name = record::name_from_form(
        body.family_name.as_deref().unwrap_or_default(),
        body.given_names.as_deref().unwrap_or_default(),
    )?;
    let d = record::save_demographics(&state, &ctx, &caller.principal, patient, &d, name.as_ref())
        .await?;
    Ok(Json(DemographicsBody::stored(&state, patient, d).await?))
}

/// One chart section's entries, newest first: problems, allergies, medications,
/// immunizations, vitals, labs or history.
#[utoipa::path(get, path = "/api/v1/patients/{id}/record/{section}", tag = "record", security(("bearer" = [])), params(("id" = String, Path), ("section" = String, Path)), responses(
    (status = 200, body = [EntryView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn entries(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path((id, section)): Path<(String, String)>,
) -> AppResult<Json<Vec<EntryView>>> {
    let entries = record::entries(
        &state,
        &ctx,
        &caller.principal,
        UserId::from_path(&id)?,
        section_of(&section)?,
    )
    .await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// Adds an entry to a chart section (validated for that section).
#[utoipa::path(post, path = "/api/v1/patients/{id}/record/{section}", tag = "record", security(("bearer" = [])), params(("id" = String, Path), ("section" = String, Path)), request_body = NewEntry, responses(
    (status = 201, body = EntryView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn add_entry(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path((id, section)): Path<(String, String)>,
    ApiJson(body): ApiJson<NewEntry>,
) -> AppResult<(StatusCode, Json<EntryView>)> {
    let entry = record::add_entry(
        &state,
        &ctx,
        &caller.principal,
        UserId::from_path(&id)?,
        section_of(&section)?,
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// active, inactive, resolved, stopped, final or entered-in-error.
    pub status: String,
    /// The version read; a stale one is 409.
    pub version: i64,
    pub ended: Option<String>,
}

/// Changes an entry's status (resolved, stopped, entered in error). Entries are never deleted.
#[utoipa::path(post, path = "/api/v1/patients/{id}/record/{section}/{entry}/status", tag = "record", security(("bearer" = [])), params(("id" = String, Path), ("section" = String, Path), ("entry" = String, Path)), request_body = StatusBody, responses(
    (status = 200, body = EntryView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn change_status(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path((id, section, entry)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<StatusBody>,
) -> AppResult<Json<EntryView>> {
    let change = StatusChange {
        entry: entry.parse().map_err(|_| Error::NotFound)?,
        version: body.version,
        status: &body.status,
        ended: body.ended.as_deref(),
    };
    let entry = record::change_status(
        &state,
        &ctx,
        &caller.principal,
        UserId::from_path(&id)?,
        section_of(&section)?,
        change,
    )
    .await?;
    Ok(Json(entry.into()))
}

/// The patient's notes, newest first (patients and proxies: signed notes only).
#[utoipa::path(get, path = "/api/v1/patients/{id}/notes", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = [NoteView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn notes(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<NoteView>>> {
    let notes = record::notes(&state, &ctx, &caller.principal, UserId::from_path(&id)?).await?;
    Ok(Json(
        notes
            .into_iter()
            .map(|n| note_view(n, Vec::new()))
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNoteBody {
    pub appointment_id: Option<AppointmentId>,
    /// general, dermatology, psychiatry or cardiology.
    pub template: String,
    /// Initial text; the template's prompts when absent.
    pub soap: Option<Soap>,
}

/// Starts a draft SOAP note (clinicians).
#[utoipa::path(post, path = "/api/v1/patients/{id}/notes", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewNoteBody, responses(
    (status = 201, body = NoteView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "the visit already has its note", body = crate::error::ErrorBody)))]
pub async fn start_note(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewNoteBody>,
) -> AppResult<(StatusCode, Json<NoteView>)> {
    let req = NewNoteRequest {
        appointment: body.appointment_id,
        template: &body.template,
        lang: ctx.lang,
        soap: body.soap,
    };
    let note = record::start_note(
        &state,
        &ctx,
        &caller.principal,
        UserId::from_path(&id)?,
        req,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(note_view(note, Vec::new()))))
}

fn note_id(raw: &str) -> Result<NoteId, Error> {
    raw.parse().map_err(|_| Error::NotFound)
}

/// A note with its addenda.
#[utoipa::path(get, path = "/api/v1/notes/{id}", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = NoteView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn note(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<NoteView>> {
    let (n, addenda) = record::note(&state, &ctx, &caller.principal, note_id(&id)?).await?;
    Ok(Json(note_view(n, addenda)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    pub version: i64,
    #[serde(default)]
    pub subjective: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub plan: String,
}

impl DraftBody {
    /// The note's four parts. (Listed here rather than flattened: serde cannot refuse
    /// unknown fields of a flattened struct, and the schema of one contradicts itself.)
    fn soap(&self) -> Soap {
        Soap {
            subjective: self.subjective.clone(),
            objective: self.objective.clone(),
            assessment: self.assessment.clone(),
            plan: self.plan.clone(),
        }
    }
}

/// Saves a draft (its author only); a signed note is 409, a stale version 409.
#[utoipa::path(put, path = "/api/v1/notes/{id}", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = DraftBody, responses(
    (status = 200, body = NoteView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn save_draft(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DraftBody>,
) -> AppResult<Json<NoteView>> {
    let n = record::save_draft(
        &state,
        &ctx,
        &caller.principal,
        note_id(&id)?,
        body.version,
        &body.soap(),
    )
    .await?;
    Ok(Json(note_view(n, Vec::new())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    /// The version read: what is signed is exactly what was read.
    pub version: i64,
}

/// Signs a draft; it is locked from then on.
#[utoipa::path(post, path = "/api/v1/notes/{id}/sign", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = SignBody, responses(
    (status = 200, body = NoteView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn sign(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SignBody>,
) -> AppResult<Json<NoteView>> {
    let n = record::sign(&state, &ctx, &caller.principal, note_id(&id)?, body.version).await?;
    Ok(Json(note_view(n, Vec::new())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddendumBody {
    pub body: String,
}

/// Adds a signed, timestamped addendum to a signed note.
#[utoipa::path(post, path = "/api/v1/notes/{id}/addenda", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = AddendumBody, responses(
    (status = 201, body = AddendumView), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "the note is still a draft", body = crate::error::ErrorBody)))]
pub async fn add_addendum(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddendumBody>,
) -> AppResult<(StatusCode, Json<AddendumView>)> {
    let a =
        record::add_addendum(&state, &ctx, &caller.principal, note_id(&id)?, &body.body).await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassBody {
    /// Why emergency access is needed: 10 to 500 characters (shown to the patient).
    #[schema(min_length = 10, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BreakGlassView {
    pub expires_at: DateTime<Utc>,
}

/// Emergency access to a record without a care relationship: time-limited, flagged in
/// the audit trail, and the patient is told.
#[utoipa::path(post, path = "/api/v1/patients/{id}/break-glass", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = BreakGlassBody, responses(
    (status = 201, body = BreakGlassView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn break_glass(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BreakGlassBody>,
) -> AppResult<(StatusCode, Json<BreakGlassView>)> {
    let expires_at = record::break_glass(
        &state,
        &ctx,
        &caller.principal,
        UserId::from_path(&id)?,
        &body.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(BreakGlassView { expires_at })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareTeamBody {
    pub clinician_id: UserId,
}

/// Adds a clinician to the patient's care team (front desk, or a clinician in it).
#[utoipa::path(post, path = "/api/v1/patients/{id}/care-team", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = CareTeamBody, responses(
    (status = 204), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn add_to_care_team(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CareTeamBody>,
) -> AppResult<StatusCode> {
    record::add_to_care_team(
        &state,
        &ctx,
        &caller.principal,
        UserId::from_path(&id)?,
        body.clinician_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
