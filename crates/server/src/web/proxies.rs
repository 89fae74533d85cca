//! The proxy page (`/account/proxies`): a patient sees who can read their record on
//! their behalf, invites someone by email and removes access; anyone invited answers
//! here, signed in with the invited address. Every action goes through `crate::proxies`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::{Error, Role};

use super::pages::{render_refusal, render_with, when, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::proxies::{self, InvitationEntry, InvitationToMe, ProxyEntry};
use crate::AppState;

const PATH: &str = "/account/proxies";

struct ProxyRow {
    id: String,
    name: String,
    relationship: String,
    since: String,
}

struct SentRow {
    id: String,
    email: String,
    relationship: String,
    expires: String,
}

struct ReceivedRow {
    id: String,
    patient_name: String,
    relationship: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "proxies.html")]
struct ProxiesPage<'a> {
    page: &'a Page,
    notice: Option<&'a str>,
    error: Option<String>,
    is_patient: bool,
    proxies: Vec<ProxyRow>,
    sent: Vec<SentRow>,
    received: Vec<ReceivedRow>,
    /// What was typed in the invitation form, kept when it is refused.
    email: String,
    relationship: String,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// What the form held when an action was refused.
#[derive(Default)]
struct Refused {
    error: Option<Error>,
    email: String,
    relationship: String,
}

async fn proxies_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    done: Option<&str>,
    refused: Refused,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), PATH);
    let is_patient = me.role() == Role::Patient;
    let (proxies, sent) = if is_patient {
        let list = proxies::list(state, &w.ctx, &me.principal, me.user.id).await?;
        (list.proxies, list.invitations)
    } else {
        (vec![], vec![])
    };
    let received = proxies::invitations_to(state, &me.user).await?;
    let notice = match done {
        Some("invited") => Some(page.t.proxy_invited),
        Some("removed") => Some(page.t.proxy_removed),
        Some("accepted") => Some(page.t.proxy_accepted),
        Some("declined") => Some(page.t.proxy_declined),
        _ => None,
    };
    let template = ProxiesPage {
        page: &page,
        notice,
        error: refused.error.as_ref().map(|e| match e {
            Error::NotFound => page.t.proxy_not_found.to_owned(),
            other => page.form_error(other),
        }),
        is_patient,
        proxies: proxies.into_iter().map(proxy_row).collect(),
        sent: sent.into_iter().map(sent_row).collect(),
        received: received.into_iter().map(received_row).collect(),
        email: refused.email,
        relationship: refused.relationship,
    };
    Ok(match &refused.error {
        Some(e) => render_refusal(e, &template),
        None => render_with(StatusCode::OK, &template),
    })
}

fn proxy_row(p: ProxyEntry) -> ProxyRow {
    ProxyRow {
        id: p.id,
        name: p.name,
        relationship: p.relationship,
        since: when(p.granted_at),
    }
}

fn sent_row(i: InvitationEntry) -> SentRow {
    SentRow {
        id: i.id,
        email: i.email,
        relationship: i.relationship,
        expires: when(i.expires_at),
    }
}

fn received_row(i: InvitationToMe) -> ReceivedRow {
    ReceivedRow {
        id: i.id,
        patient_name: i.patient_name,
        relationship: i.relationship,
        expires: when(i.expires_at),
    }
}

fn done(what: &str) -> Response {
    Redirect::to(&format!("{PATH}?done={what}")).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    proxies_page(&state, &w, &me, q.done.as_deref(), Refused::default()).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    relationship: String,
}

pub async fn invite(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<InviteForm>,
) -> AppResult<Response> {
    let sent = proxies::invite(
        &state,
        &w.ctx,
        &me.principal,
        me.user.id,
        &form.email,
        &form.relationship,
    )
    .await;
    match sent {
        Ok(_) => Ok(done("invited")),
        Err(e @ Error::Internal(_)) => Err(e.into()),
        Err(e) => {
            let refused = Refused {
                error: Some(e),
                email: form.email,
                relationship: form.relationship,
            };
            proxies_page(&state, &w, &me, None, refused).await
        }
    }
}

pub async fn remove(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let removed = proxies::remove(&state, &w.ctx, &me.principal, me.user.id, &id).await;
    answered(&state, &w, &me, removed, "removed").await
}

pub async fn accept(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let result = proxies::answer(&state, &w.ctx, &me.principal, &me.user, &id, true).await;
    answered(&state, &w, &me, result, "accepted").await
}

pub async fn decline(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let result = proxies::answer(&state, &w.ctx, &me.principal, &me.user, &id, false).await;
    answered(&state, &w, &me, result, "declined").await
}

/// Back to the page with what happened: a notice, or the refusal shown on the page.
async fn answered(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    result: telemed_domain::Result<()>,
    what: &str,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(done(what)),
        Err(e @ Error::Internal(_)) => Err(e.into()),
        Err(e) => {
            let refused = Refused {
                error: Some(e),
                ..Refused::default()
            };
            proxies_page(state, w, me, None, refused).await
        }
    }
}
