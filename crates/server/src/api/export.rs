//! The patient's copy of their record: `GET /api/v1/patients/{id}/record/export`, as JSON
//! (everything, machine-readable) or PDF (readable, printable).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::{Error, UserId};

use super::documents::DocumentView;
use super::record::{note_view, DemographicsBody, EntryView, NoteView, RecentVisitView};
use super::ApiQuery;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::export::{self, RecordExport};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecordExportView {
    /// `telemed-record/1`.
    pub format: &'static str,
    pub exported_at: DateTime<Utc>,
    pub patient_id: UserId,
    pub patient_name: String,
    pub demographics: DemographicsBody,
    /// Every chart section by name (problems, allergies, ...), all entries.
    pub chart: BTreeMap<String, Vec<EntryView>>,
    /// Signed notes with their addenda.
    pub notes: Vec<NoteView>,
    pub visits: Vec<RecentVisitView>,
    /// The documents' details; each file is at its `file_url`.
    pub documents: Vec<DocumentView>,
}

impl From<RecordExport> for RecordExportView {
    fn from(r: RecordExport) -> Self {
        RecordExportView {
            format: "telemed-record/1",
            exported_at: r.exported_at,
            patient_id: r.patient,
            patient_name: r.patient_name,
            demographics: r.demographics.into(),
            chart: r
                .sections
                .into_iter()
                .map(|(s, entries)| {
                    (
                        s.as_str().to_owned(),
                        entries.into_iter().map(Into::into).collect(),
                    )
                })
                .collect(),
            notes: r
                .notes
                .into_iter()
                .map(|(n, addenda)| note_view(n, addenda))
                .collect(),
            visits: r.visits.into_iter().map(Into::into).collect(),
            documents: r.documents.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// json (default) or pdf.
    pub format: Option<String>,
}

/// The whole record as a file to keep: JSON or a readable PDF. For the patient and
/// their proxies; the download is audited.
#[utoipa::path(get, path = "/api/v1/patients/{id}/record/export", tag = "record", security(("bearer" = [])), params(("id" = String, Path), ExportQuery),
    responses((status = 200, description = "application/json (RecordExportView) or application/pdf"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "pdf") {
        return Err(Error::invalid("format", "format is json or pdf").into());
    }
    let record = export::gather(&state, &ctx, &caller.principal, patient, format).await?;
    export_response(&state, record, format).await
}

/// The export as a download named after the day.
pub async fn export_response(
    state: &AppState,
    record: RecordExport,
    format: &str,
) -> AppResult<Response> {
    let file_name = format!(
        "health-record-{}.{format}",
        record.exported_at.format("%Y-%m-%d")
    );
    if format == "pdf" {
        let pdf = export::pdf_of(state, record).await?;
        Ok(crate::respond::pdf_download(pdf, &file_name))
    } else {
        let json = axum::Json(RecordExportView::from(record)).into_response();
        Ok(crate::respond::download(json, &file_name))
    }
}
