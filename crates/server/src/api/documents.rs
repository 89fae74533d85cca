//! Documents and images in the patient record over HTTP: multipart upload, listing,
//! details (with the DICOM header), the file, its thumbnail and its preview (CT windows
//! on request), and marking a misfiled document. Everything goes through
//! `crate::documents`.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::documents::{Category, DicomHeader, DocumentDetails, DocumentStatus};
use telemed_domain::{AppointmentId, DocumentId, Error, UserId};
use telemed_store::documents::Document;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::documents::{self as service, Rendition, Upload};
use crate::error::AppResult;
use crate::files::Disposition;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    pub id: DocumentId,
    pub patient: UserId,
    pub category: Category,
    pub title: String,
    pub description: Option<String>,
    pub appointment_id: Option<AppointmentId>,
    /// What the content is (sniffed): png, jpeg, gif, webp, pdf or dicom.
    pub media_type: String,
    pub file_name: String,
    pub byte_size: i64,
    /// SHA-256 of the original file.
    pub sha256: String,
    pub status: DocumentStatus,
    pub uploaded_by: UserId,
    pub uploaded_by_name: String,
    pub created_at: DateTime<Utc>,
    pub version: i64,
    /// Links to the file and its renditions.
    pub file_url: String,
    pub thumbnail_url: Option<String>,
    pub preview_url: Option<String>,
    pub dicom: Option<DicomHeader>,
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        let base = format!("/api/v1/documents/{}", d.id);
        DocumentView {
            id: d.id,
            patient: d.patient,
            category: d.category,
            title: d.title,
            description: d.description,
            appointment_id: d.appointment,
            media_type: d.file.media_type.as_str().to_owned(),
            file_name: d.file.file_name,
            byte_size: d.file.byte_size,
            sha256: d.file.sha256,
            status: d.status,
            uploaded_by: d.uploaded_by,
            uploaded_by_name: d.uploaded_by_name,
            created_at: d.created_at,
            version: d.version,
            file_url: format!("{base}/file"),
            thumbnail_url: d.thumbnail.map(|_| format!("{base}/thumbnail")),
            preview_url: d.preview.map(|_| format!("{base}/preview")),
            dicom: d.dicom,
        }
    }
}

/// Longest text field accepted beside the file.
const FIELD_MAX: usize = 4096;

/// Reads an upload form: `file`, and optionally `category`, `title`, `description`,
/// `appointment_id`. Unknown fields are refused.
pub async fn read_upload(form: &mut Multipart, max_file: usize) -> Result<Upload, Error> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut details = DocumentDetails::default();
    let mut appointment = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Error::invalid("file", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            file = Some((file_name, crate::files::read_field(field, max_file).await?));
            continue;
        }
        let bytes = crate::files::read_field(field, FIELD_MAX).await?;
        let value = String::from_utf8(bytes)
            .map_err(|_| Error::invalid("form", "form fields are UTF-8 text"))?;
        match name.as_str() {
            "category" => details.category = Some(value),
            "title" => details.title = Some(value),
            "description" => details.description = Some(value),
            "appointment_id" if !value.trim().is_empty() => {
                appointment = Some(value.trim().parse().map_err(|_| {
                    Error::invalid("appointment_id", "appointment_id is not a visit id")
                })?)
            }
            "appointment_id" | "csrf" => {}
            _ => return Err(Error::invalid("form", format!("unknown field {name}"))),
        }
    }
    let (file_name, bytes) = file
        .ok_or_else(|| Error::invalid("file", "send the file in a multipart field named `file`"))?;
    Ok(Upload {
        file_name,
        bytes,
        details,
        appointment,
    })
}

/// Files a document or image in the record (multipart: `file`; optional `category`
/// photo|report|lab_report|scan|imaging|letter|other, `title`, `description`,
/// `appointment_id`). PNG, JPEG, GIF, WebP, PDF or DICOM, recognised by content;
/// photos get a thumbnail, DICOM images a PNG preview and their header read.
#[utoipa::path(post, path = "/api/v1/patients/{id}/record/documents", tag = "record", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "`file` and optional details"),
    responses((status = 201, body = DocumentView), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 413, description = "larger than files.max_document_bytes, or past the caller's storage quota (code quota_exceeded)", body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody),
        (status = 429, description = "the caller's uploads per hour are spent; see Retry-After", body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    mut form: Multipart,
) -> AppResult<(StatusCode, Json<DocumentView>)> {
    let patient = UserId::from_path(&id)?;
    let upload = read_upload(&mut form, state.config.files.max_document_bytes).await?;
    let document = service::upload(&state, &ctx, &caller.principal, patient, upload).await?;
    Ok((StatusCode::CREATED, Json(document.into())))
}

/// The record's documents and images, newest first.
#[utoipa::path(get, path = "/api/v1/patients/{id}/record/documents", tag = "record", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = [DocumentView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<DocumentView>>> {
    let list = service::list(&state, &ctx, &caller.principal, UserId::from_path(&id)?).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One document's details, with the DICOM header for images.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "record", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = DocumentView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<DocumentView>> {
    let d = service::open(&state, &ctx, &caller.principal, DocumentId::from_path(&id)?).await?;
    Ok(Json(d.into()))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// true: as a file to save (Content-Disposition: attachment).
    #[serde(default)]
    pub download: bool,
}

/// The file as uploaded (decrypted), with its sniffed Content-Type.
#[utoipa::path(get, path = "/api/v1/documents/{id}/file", tag = "record", security(("bearer" = [])), params(("id" = String, Path), FileQuery),
    responses((status = 200, description = "the file"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FileQuery>,
) -> AppResult<Response> {
    let id = DocumentId::from_path(&id)?;
    let (blob, bytes) =
        service::file(&state, &ctx, &caller.principal, id, Rendition::Original).await?;
    Ok(crate::files::response(
        &blob,
        bytes,
        Disposition::from_query(q.download),
    ))
}

/// A small JPEG of a photo or an image.
#[utoipa::path(get, path = "/api/v1/documents/{id}/thumbnail", tag = "record", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "image/jpeg"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn thumbnail(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = DocumentId::from_path(&id)?;
    let (blob, bytes) =
        service::file(&state, &ctx, &caller.principal, id, Rendition::Thumbnail).await?;
    Ok(crate::files::response(&blob, bytes, Disposition::Inline))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// A CT window to render through: soft_tissue, lung, bone or brain. Without it, the
    /// preview made at upload (the file's own window).
    pub window: Option<String>,
}

/// A DICOM image as PNG, through the file's window or a named CT window.
#[utoipa::path(get, path = "/api/v1/documents/{id}/preview", tag = "record", security(("bearer" = [])), params(("id" = String, Path), PreviewQuery),
    responses((status = 200, description = "image/png"), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> AppResult<Response> {
    let id = DocumentId::from_path(&id)?;
    let rendition = match q.window.as_deref() {
        None => Rendition::Preview,
        Some(name) => Rendition::Windowed(crate::imaging::ct_window(name).ok_or_else(|| {
            Error::invalid("window", "window is one of soft_tissue, lung, bone, brain")
        })?),
    };
    let (blob, bytes) = service::file(&state, &ctx, &caller.principal, id, rendition).await?;
    Ok(crate::files::response(&blob, bytes, Disposition::Inline))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentStatusBody {
    /// current or entered_in_error.
    pub status: DocumentStatus,
    /// The version read; another change since gives 409.
    pub version: i64,
}

/// Marks a document filed by mistake (entered_in_error), or current again. The file is kept.
#[utoipa::path(post, path = "/api/v1/documents/{id}/status", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = DocumentStatusBody,
    responses((status = 200, body = DocumentView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn change_status(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DocumentStatusBody>,
) -> AppResult<Json<DocumentView>> {
    let d = service::change_status(
        &state,
        &ctx,
        &caller.principal,
        DocumentId::from_path(&id)?,
        body.status,
        body.version,
    )
    .await?;
    Ok(Json(d.into()))
}
