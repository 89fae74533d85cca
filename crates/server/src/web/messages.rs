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

use super::booking::local;
use super::pages::{render, render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::messaging::{self as service, NewThreadRequest};
use crate::AppState;

struct ThreadRow {
    id: ThreadId,
    subject: String,
    when: String,
    unread: i64,
    clinic_inbox: bool,
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

async fn inbox_rows(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    archived: bool,
) -> AppResult<Vec<ThreadRow>> {
    let tz = w.ctx.time_zone;
    Ok(service::inbox(state, &me.principal, archived)
        .await?
        .into_iter()
        .map(|e: InboxEntry| ThreadRow {
            unread: e.unread(),
            id: e.thread.id,
            subject: e.thread.subject,
            when: local(tz, e.thread.last_message_at, "%d %b %H:%M"),
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
    let members = state.store.thread_members(id).await?;
    let others_read = members
        .iter()
        .filter(|(u, _)| *u != me.user.id)
        .map(|(_, seq)| *seq)
        .min()
        .unwrap_or(0);
    let senders: Vec<UserId> = messages.iter().map(|m| m.sender_id).collect();
    let names = state.store.names_of(&senders).await?;
    let tz = w.ctx.time_zone;
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
            when: local(tz, m.created_at, "%d %b %H:%M"),
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
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
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

#[derive(Deserialize)]
pub struct SendForm {
    body: String,
    /// Set by the form when rendered: a resubmission stores nothing new.
    #[serde(default)]
    client_id: String,
}

pub async fn send(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SendForm>,
) -> AppResult<Response> {
    let id = thread_id(&id)?;
    let client_id = Some(form.client_id.as_str()).filter(|c| !c.is_empty());
    match service::send(&state, &w.ctx, &me.principal, id, &form.body, client_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/messages/{id}")).into_response()),
        Err(e @ Error::Invalid { .. }) => {
            thread_page(&state, &w, &me, id, Some(&e), &form.body).await
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
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
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
    Form(form): Form<NewForm>,
) -> AppResult<Response> {
    let outcome = match crate::api::recipient(&state, &form.to).await {
        Ok(to) => {
            let request = NewThreadRequest {
                subject: &form.subject,
                to,
                body: &form.body,
            };
            service::start_thread(&state, &w.ctx, &me.principal, request).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(id) => Ok(Redirect::to(&format!("/messages/{id}")).into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Forbidden)) => {
            new_page(&state, &w, &me, &form, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}
