//! Secure messaging pages: the inbox, a thread (its list refreshes live when the
//! server announces a message), and writing a new message. Message text goes through
//! the template's escaping, so markup in a message shows as text.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::{Error, Role, ThreadId, UserId};
use telemed_store::messaging::{InboxEntry, Message};

use super::pages::{lang_of, render, render_form, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
use crate::messaging::{self as service, Draft, NewThreadRequest};
use crate::AppState;

pub(super) struct ThreadRow {
    pub(super) id: ThreadId,
    pub(super) subject: String,
    /// Whom it is with, as the reader needs it: the patient's name for the care team,
    /// the clinician who wrote first for the patient (empty when the patient did).
    pub(super) with: String,
    pub(super) when: String,
    pub(super) unread: i64,
    pub(super) clinic_inbox: bool,
}

#[derive(Template)]
#[template(path = "messages_inbox.html")]
struct InboxPage<'a> {
    page: &'a Page,
    rows: Vec<ThreadRow>,
    archived: bool,
}

#[derive(Template)]
#[template(path = "messages_inbox_rows.html")]
struct InboxRows<'a> {
    page: &'a Page,
    rows: Vec<ThreadRow>,
}

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    #[serde(default)]
    archived: bool,
}

pub(super) async fn inbox_rows(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    archived: bool,
) -> AppResult<Vec<ThreadRow>> {
    let tz = w.ctx.time_zone;
    let t = lang_of(&w.ctx, Some(&me.user)).texts();
    let entries = service::inbox(state, &me.principal, archived).await?;
    let people: Vec<UserId> = entries
        .iter()
        .flat_map(|e| e.thread.patient_id.into_iter().chain([e.thread.created_by]))
        .collect();
    let names = state.store.names_of(&people).await?;
    let name = |id: UserId| names.get(&id).map(|n| n.0.clone()).unwrap_or_default();
    Ok(entries
        .into_iter()
        .map(|e: InboxEntry| ThreadRow {
            with: match e.thread.patient_id {
                Some(patient) if patient != me.user.id => name(patient),
                _ if e.thread.created_by != me.user.id => name(e.thread.created_by),
                _ => String::new(),
            },
            unread: e.unread(),
            id: e.thread.id,
            subject: e.thread.subject,
            when: dates::moment(t, tz, e.thread.last_message_at, Day::PlainNoYear),
            clinic_inbox: e.thread.clinic_inbox,
        })
        .collect())
}

pub async fn inbox(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<InboxQuery>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/messages");
    let rows = inbox_rows(&state, &w, &me, q.archived).await?;
    Ok(render(&InboxPage {
        page: &page,
        rows,
        archived: q.archived,
    }))
}

/// The inbox list alone, for live refreshes.
pub async fn inbox_fragment(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<InboxQuery>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/messages");
    let rows = inbox_rows(&state, &w, &me, q.archived).await?;
    Ok(render(&InboxRows { page: &page, rows }))
}

struct MessageRow {
    seq: i64,
    sender: String,
    mine: bool,
    body: String,
    when: String,
    /// Read by everyone else in the thread.
    seen: bool,
    files: Vec<FileRow>,
}

struct FileRow {
    id: telemed_domain::BlobId,
    name: String,
    size: String,
    image: bool,
}

impl From<&telemed_store::blobs::Blob> for FileRow {
    fn from(b: &telemed_store::blobs::Blob) -> Self {
        let size = if b.byte_size >= 1024 * 1024 {
            format!("{:.1} MB", b.byte_size as f64 / (1024.0 * 1024.0))
        } else {
            format!("{} KB", (b.byte_size + 1023) / 1024)
        };
        FileRow {
            id: b.id,
            name: b.file_name.clone(),
            size,
            image: b.media_type.is_image(),
        }
    }
}

#[derive(Template)]
#[template(path = "message_thread.html")]
struct ThreadPage<'a> {
    page: &'a Page,
    id: ThreadId,
    subject: String,
    list: MessageList<'a>,
    error: Option<String>,
    draft: String,
    can_route: bool,
    clinicians: Vec<(UserId, String)>,
    /// A fresh id for the message being written: submitting twice stores it once.
    client_id: String,
}

#[derive(Template)]
#[template(path = "message_list.html")]
struct MessageList<'a> {
    page: &'a Page,
    rows: Vec<MessageRow>,
}

fn thread_id(id: &str) -> Result<ThreadId, Error> {
    id.parse().map_err(|_| Error::NotFound)
}

/// The thread's messages as `me` sees them; reading them marks them read.
async fn message_rows(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    id: ThreadId,
) -> AppResult<(String, Vec<MessageRow>)> {
    let (thread, messages) = service::read(state, &w.ctx, &me.principal, id, 0).await?;
    if let Some(last) = messages.last() {
        service::mark_read(state, &me.principal, id, last.seq).await?;
    }
    let members = service::receipts(state, &me.principal, id).await?;
    let others_read = members
        .iter()
        .filter(|(u, _)| *u != me.user.id)
        .map(|(_, seq)| *seq)
        .min()
        .unwrap_or(0);
    let senders: Vec<UserId> = messages.iter().map(|m| m.sender_id).collect();
    let names = state.store.names_of(&senders).await?;
    let tz = w.ctx.time_zone;
    let t = lang_of(&w.ctx, Some(&me.user)).texts();
    let rows = messages
        .into_iter()
        .map(|m: Message| MessageRow {
            seq: m.seq,
            sender: names
                .get(&m.sender_id)
                .map(|n| n.0.clone())
                .unwrap_or_default(),
            mine: m.sender_id == me.user.id,
            seen: m.seq <= others_read,
            when: dates::moment(t, tz, m.created_at, Day::PlainNoYear),
            files: m.attachments.iter().map(FileRow::from).collect(),
            body: m.body,
        })
        .collect();
    Ok((thread.subject, rows))
}

async fn thread_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    id: ThreadId,
    error: Option<&Error>,
    draft: &str,
) -> AppResult<Response> {
    let (subject, rows) = message_rows(state, w, me, id).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/messages");
    let can_route = me.role() == Role::Staff;
    let clinicians = if can_route {
        let filter = telemed_store::users::UserFilter {
            role: Some(Role::Clinician),
            query: None,
            limit: 500,
            offset: 0,
        };
        state
            .store
            .list_users(&filter)
            .await?
            .into_iter()
            .filter(|u| u.disabled_at.is_none())
            .map(|u| (u.id, u.display_name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(render_form(
        error,
        &ThreadPage {
            page: &page,
            id,
            subject,
            list: MessageList { page: &page, rows },
            error: error.map(|e| page.form_error(e)),
            draft: draft.to_owned(),
            can_route,
            clinicians,
            client_id: uuid::Uuid::new_v4().to_string(),
        },
    ))
}

pub async fn thread(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    thread_page(&state, &w, &me, thread_id(&id)?, None, "").await
}

/// The message list alone, for live refreshes.
pub async fn thread_fragment(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (_, rows) = message_rows(&state, &w, &me, thread_id(&id)?).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/messages");
    Ok(render(&MessageList { page: &page, rows }))
}

/// A message form: its text fields and the files chosen (`files`), posted as
/// multipart (with files) or urlencoded (without).
#[derive(Default)]
pub struct MessageForm {
    fields: std::collections::HashMap<String, String>,
    files: Vec<(String, Vec<u8>)>,
    /// A file over the size limit: shown beside the form, which keeps the draft.
    too_large: bool,
}

impl MessageForm {
    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

impl axum::extract::FromRequest<AppState> for MessageForm {
    type Rejection = crate::error::AppError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("multipart/form-data"));
        if !multipart {
            let Form(fields) =
                Form::<std::collections::HashMap<String, String>>::from_request(req, state)
                    .await
                    .map_err(|_| Error::invalid("form", "the form could not be read"))?;
            return Ok(MessageForm {
                fields,
                ..MessageForm::default()
            });
        }
        let mut body = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|_| Error::invalid("form", "the form could not be read"))?;
        let mut form = MessageForm::default();
        let max = state.config.files.max_attachment_bytes;
        while let Some(field) = body.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge
            } else {
                Error::invalid("form", "the form broke off; try again")
            }
        })? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "files" {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let bytes = match crate::files::read_field(field, max).await {
                    Err(Error::TooLarge) => {
                        form.too_large = true;
                        continue;
                    }
                    other => other?,
                };
                // A file input left empty still sends an empty part.
                if !(file_name.is_empty() && bytes.is_empty()) {
                    form.files.push((file_name, bytes));
                }
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|_| Error::invalid("form", "the form broke off; try again"))?;
                form.fields.insert(name, text);
            }
        }
        Ok(form)
    }
}

/// Errors a message form shows beside the form (the rest are error pages).
fn shown_in_form(e: &Error) -> bool {
    matches!(
        e,
        Error::Invalid { .. }
            | Error::TooLarge
            | Error::QuotaExceeded { .. }
            | Error::RateLimited { .. }
            | Error::UnsupportedMediaType(_)
            | Error::Forbidden
    )
}

pub async fn send(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    mut form: MessageForm,
) -> AppResult<Response> {
    let id = thread_id(&id)?;
    if form.too_large {
        return thread_page(
            &state,
            &w,
            &me,
            id,
            Some(&Error::TooLarge),
            form.field("body"),
        )
        .await;
    }
    let files = std::mem::take(&mut form.files);
    let draft = Draft {
        body: form.field("body"),
        client_id: Some(form.field("client_id")).filter(|c| !c.is_empty()),
        uploaded: &[],
        files,
    };
    match service::send(&state, &w.ctx, &me.principal, id, draft).await {
        Ok(_) => Ok(Redirect::to(&format!("/messages/{id}")).into_response()),
        Err(e) if shown_in_form(&e) && !matches!(e, Error::Forbidden) => {
            thread_page(&state, &w, &me, id, Some(&e), form.field("body")).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ArchiveForm {
    #[serde(default)]
    archived: bool,
}

pub async fn archive(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ArchiveForm>,
) -> AppResult<Response> {
    service::set_archived(&state, &me.principal, thread_id(&id)?, form.archived).await?;
    Ok(Redirect::to("/messages").into_response())
}

#[derive(Deserialize)]
pub struct RouteForm {
    clinician_id: String,
}

pub async fn route(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RouteForm>,
) -> AppResult<Response> {
    let id = thread_id(&id)?;
    let clinician: UserId = form
        .clinician_id
        .parse()
        .map_err(|_| Error::invalid("clinician_id", "choose a clinician"))?;
    service::route(&state, &w.ctx, &me.principal, id, clinician).await?;
    Ok(Redirect::to(&format!("/messages/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "message_new.html")]
struct NewPage<'a> {
    page: &'a Page,
    contacts: Vec<(UserId, String)>,
    clinic: bool,
    error: Option<String>,
    subject: String,
    body: String,
    to: String,
}

#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

async fn new_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    form: &NewForm,
    error: Option<&Error>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/messages");
    let contacts = service::contacts(state, &me.principal).await?;
    Ok(render_form(
        error,
        &NewPage {
            page: &page,
            contacts,
            clinic: me.role() == Role::Patient,
            error: error.map(|e| page.form_error(e)),
            subject: form.subject.clone(),
            body: form.body.clone(),
            to: form.to.clone(),
        },
    ))
}

pub async fn new_form(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(form): Query<NewForm>,
) -> AppResult<Response> {
    new_page(&state, &w, &me, &form, None).await
}

pub async fn create(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    mut form: MessageForm,
) -> AppResult<Response> {
    let files = std::mem::take(&mut form.files);
    let shown = NewForm {
        to: form.field("to").to_owned(),
        subject: form.field("subject").to_owned(),
        body: form.field("body").to_owned(),
    };
    if form.too_large {
        return new_page(&state, &w, &me, &shown, Some(&Error::TooLarge)).await;
    }
    let outcome = match crate::api::recipient(&state, &shown.to).await {
        Ok(to) => {
            let request = NewThreadRequest {
                subject: &shown.subject,
                to,
                first: Draft {
                    body: &shown.body,
                    files,
                    ..Draft::default()
                },
            };
            service::start_thread(&state, &w.ctx, &me.principal, request).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(id) => Ok(Redirect::to(&format!("/messages/{id}")).into_response()),
        Err(e) if shown_in_form(&e) => new_page(&state, &w, &me, &shown, Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}

/// A file sent in a thread, for the thread page (previews and downloads).
pub async fn attachment(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> AppResult<Response> {
    let id: telemed_domain::BlobId = id.parse().map_err(|_| Error::NotFound)?;
    let (blob, bytes) = service::open_attachment(&state, &w.ctx, &me.principal, id).await?;
    let how = crate::files::Disposition::from_query(q.download);
    Ok(crate::files::response(&blob, bytes, how))
}

#[derive(Deserialize, Default)]
pub struct DownloadQuery {
    #[serde(default)]
    download: bool,
}
