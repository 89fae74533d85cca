//! Secure messaging: threads, messages (numbered per thread, so a client asks for what
//! came after the last one it has), read receipts, archive, routing by staff.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::{BlobId, Error, MessageId, ThreadId, UserId};
use telemed_store::blobs::Blob;
use telemed_store::messaging::{InboxEntry, Message};

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::messaging::{self as service, Draft, NewThreadRequest, Recipient};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ThreadView {
    pub id: ThreadId,
    pub subject: String,
    pub patient_id: Option<UserId>,
    /// The clinic's general inbox (every staff member sees it).
    pub clinic_inbox: bool,
    /// The number of the newest message.
    pub last_seq: i64,
    pub last_message_at: DateTime<Utc>,
    pub unread: i64,
    pub archived: bool,
}

impl From<InboxEntry> for ThreadView {
    fn from(e: InboxEntry) -> Self {
        ThreadView {
            unread: e.unread(),
            archived: e.archived,
            id: e.thread.id,
            subject: e.thread.subject,
            patient_id: e.thread.patient_id,
            clinic_inbox: e.thread.clinic_inbox,
            last_seq: e.thread.last_seq,
            last_message_at: e.thread.last_message_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: MessageId,
    pub seq: i64,
    pub sender_id: UserId,
    /// Plain text, shown as text (never as markup). May be empty when files were sent.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<AttachmentView>,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        MessageView {
            id: m.id,
            seq: m.seq,
            sender_id: m.sender_id,
            body: m.body,
            created_at: m.created_at,
            attachments: m
                .attachments
                .into_iter()
                .map(AttachmentView::from)
                .collect(),
        }
    }
}

/// A file sent with a message (or uploaded and not sent yet).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: BlobId,
    pub file_name: String,
    /// What the content is (sniffed, not what the uploader said): e.g. `image/png`.
    pub media_type: String,
    pub byte_size: i64,
    /// Where to download it (same bearer token).
    pub url: String,
}

impl From<Blob> for AttachmentView {
    fn from(b: Blob) -> Self {
        AttachmentView {
            url: format!("/api/v1/attachments/{}", b.id),
            id: b.id,
            file_name: b.file_name,
            media_type: b.media_type.mime().to_owned(),
            byte_size: b.byte_size,
        }
    }
}

/// Uploads a file (multipart field `file`: PNG, JPEG, GIF, WebP or PDF, checked by its
/// content) to send with a message: pass its id in `attachments`.
#[utoipa::path(post, path = "/api/v1/attachments", tag = "messaging", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "a `file` field"),
    responses((status = 201, body = AttachmentView), (status = 400, body = crate::error::ErrorBody),
        (status = 413, description = "larger than files.max_attachment_bytes, or past the caller's storage quota (code quota_exceeded)", body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody),
        (status = 429, description = "the caller's uploads per hour are spent; see Retry-After", body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    mut form: Multipart,
) -> AppResult<(StatusCode, Json<AttachmentView>)> {
    caller
        .principal
        .require(telemed_domain::Permission::Messages)?;
    let max = state.config.files.max_attachment_bytes;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Error::invalid("file", e.body_text()))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let bytes = crate::files::read_field(field, max).await?;
        let blob =
            service::upload_attachment(&state, &ctx, &caller.principal, &name, &bytes).await?;
        return Ok((StatusCode::CREATED, Json(blob.into())));
    }
    Err(Error::invalid("file", "send the file in a multipart field named `file`").into())
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    /// true: as a file to save (Content-Disposition: attachment).
    #[serde(default)]
    pub download: bool,
}

/// A file sent in a thread the caller sees (or their own unsent upload).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "messaging", security(("bearer" = [])), params(("id" = String, Path), DownloadQuery),
    responses((status = 200, description = "the file, with its sniffed Content-Type"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DownloadQuery>,
) -> AppResult<Response> {
    let id: BlobId = id.parse().map_err(|_| Error::NotFound)?;
    let (blob, bytes) = service::open_attachment(&state, &ctx, &caller.principal, id).await?;
    let how = crate::files::Disposition::from_query(q.download);
    Ok(crate::files::response(&blob, bytes, how))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// true: the archived threads.
    #[serde(default)]
    pub archived: bool,
}

/// The caller's threads, newest activity first.
#[utoipa::path(get, path = "/api/v1/threads", tag = "messaging", security(("bearer" = [])), params(InboxQuery),
    responses((status = 200, body = [ThreadView])))]
pub async fn inbox(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> AppResult<Json<Vec<ThreadView>>> {
    let list = service::inbox(&state, &caller.principal, q.archived).await?;
    Ok(Json(list.into_iter().map(ThreadView::from).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThreadBody {
    /// 1 to 200 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub subject: String,
    /// A clinician's or patient's id, or `clinic` for the clinic's inbox.
    pub to: String,
    /// The first message.
    #[serde(default)]
    pub body: String,
    /// Ids of the caller's uploads (`POST /api/v1/attachments`) to send with it.
    #[serde(default)]
    pub attachments: Vec<BlobId>,
}

/// Starts a thread with its first message.
#[utoipa::path(post, path = "/api/v1/threads", tag = "messaging", security(("bearer" = [])), request_body = NewThreadBody,
    responses((status = 201, body = ThreadView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<NewThreadBody>,
) -> AppResult<(StatusCode, Json<ThreadView>)> {
    let to = recipient(&state, &body.to).await?;
    let request = NewThreadRequest {
        subject: &body.subject,
        to,
        first: Draft {
            body: &body.body,
            uploaded: &body.attachments,
            ..Draft::default()
        },
    };
    let id = service::start_thread(&state, &ctx, &caller.principal, request).await?;
    let entry = service::inbox(&state, &caller.principal, false)
        .await?
        .into_iter()
        .find(|e| e.thread.id == id)
        .ok_or_else(|| Error::internal("new thread not in the inbox"))?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// `clinic`, or a user id whose role decides the kind of recipient.
pub async fn recipient(state: &AppState, to: &str) -> Result<Recipient, Error> {
    if to.trim() == "clinic" {
        return Ok(Recipient::Clinic);
    }
    let unknown = || Error::invalid("to", "write to a clinician, a patient or \"clinic\"");
    let id: UserId = to.trim().parse().map_err(|_| unknown())?;
    let user = state.store.user_by_id(id).await?.ok_or_else(unknown)?;
    match user.role {
        telemed_domain::Role::Clinician => Ok(Recipient::Clinician(id)),
        telemed_domain::Role::Patient => Ok(Recipient::Patient(id)),
        _ => Err(unknown()),
    }
}

fn thread_id(id: &str) -> Result<ThreadId, Error> {
    id.parse().map_err(|_| Error::NotFound)
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AfterQuery {
    /// Only messages numbered after this (what a reconnecting client missed).
    #[serde(default)]
    pub after: i64,
}

/// A thread's messages in order (after `after`, up to 500).
#[utoipa::path(get, path = "/api/v1/threads/{id}/messages", tag = "messaging", security(("bearer" = [])), params(("id" = String, Path), AfterQuery),
    responses((status = 200, body = [MessageView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> AppResult<Json<Vec<MessageView>>> {
    let (_, list) =
        service::read(&state, &ctx, &caller.principal, thread_id(&id)?, q.after).await?;
    Ok(Json(list.into_iter().map(MessageView::from).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    #[serde(default)]
    pub body: String,
    /// The client's own id for this message; sending it again stores nothing new.
    pub client_id: Option<String>,
    /// Ids of the caller's uploads (`POST /api/v1/attachments`) to send with it.
    #[serde(default)]
    pub attachments: Vec<BlobId>,
}

/// Sends a message; stored before the answer.
#[utoipa::path(post, path = "/api/v1/threads/{id}/messages", tag = "messaging", security(("bearer" = [])), params(("id" = String, Path)), request_body = SendBody,
    responses((status = 201, body = MessageView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SendBody>,
) -> AppResult<(StatusCode, Json<MessageView>)> {
    let message = service::send(
        &state,
        &ctx,
        &caller.principal,
        thread_id(&id)?,
        Draft {
            body: &body.body,
            client_id: body.client_id.as_deref(),
            uploaded: &body.attachments,
            files: Vec::new(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// Read up to and including this message number.
    pub seq: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub user_id: UserId,
    /// The last message number they have read.
    pub read_seq: i64,
}

/// Marks the thread read up to `seq` (others see the receipt).
#[utoipa::path(post, path = "/api/v1/threads/{id}/read", tag = "messaging", security(("bearer" = [])), params(("id" = String, Path)), request_body = ReadBody,
    responses((status = 200, body = [ReceiptView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReadBody>,
) -> AppResult<Json<Vec<ReceiptView>>> {
    let id = thread_id(&id)?;
    service::mark_read(&state, &caller.principal, id, body.seq).await?;
    receipts_of(&state, &caller, id).await
}

async fn receipts_of(
    state: &AppState,
    caller: &ApiUser,
    id: ThreadId,
) -> AppResult<Json<Vec<ReceiptView>>> {
    Ok(Json(
        service::receipts(state, &caller.principal, id)
            .await?
            .into_iter()
            .map(|(user_id, read_seq)| ReceiptView { user_id, read_seq })
            .collect(),
    ))
}

/// Who has read how far in a thread.
#[utoipa::path(get, path = "/api/v1/threads/{id}/receipts", tag = "messaging", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = [ReceiptView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn receipts(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<ReceiptView>>> {
    let id = thread_id(&id)?;
    receipts_of(&state, &caller, id).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveBody {
    pub archived: bool,
}

/// Archives (or brings back) a thread for the caller.
#[utoipa::path(post, path = "/api/v1/threads/{id}/archive", tag = "messaging", security(("bearer" = [])), params(("id" = String, Path)), request_body = ArchiveBody,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ArchiveBody>,
) -> AppResult<StatusCode> {
    service::set_archived(&state, &caller.principal, thread_id(&id)?, body.archived).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    pub clinician_id: UserId,
}

/// Staff bring a clinician into a thread.
#[utoipa::path(post, path = "/api/v1/threads/{id}/route", tag = "messaging", security(("bearer" = [])), params(("id" = String, Path)), request_body = RouteBody,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn route(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RouteBody>,
) -> AppResult<StatusCode> {
    service::route(
        &state,
        &ctx,
        &caller.principal,
        thread_id(&id)?,
        body.clinician_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
