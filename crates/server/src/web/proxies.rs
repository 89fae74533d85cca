//! The proxy pages. `/account/proxies`: a patient sees who can read their record on
//! their behalf, invites someone by email and removes access; anyone invited answers
//! here, signed in with the invited address. `/patients/{id}/proxies`: the same for the
//! front desk, on a patient's behalf (reached from the clinic calendar). Every action
//! goes through `crate::proxies`, which decides who may.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::{Error, Role, UserId};

use super::pages::{render_refusal, render_with, when, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::proxies::{self, InvitationEntry, InvitationToMe, ProxyEntry};
use crate::AppState;

const OWN: &str = "/account/proxies";

/// Whose proxies a page shows: the signed-in patient's own, or a patient's, for the
/// front desk.
#[derive(Clone, Copy)]
enum Whose {
    Own,
    Patient(UserId),
}

impl Whose {
    fn patient(self, me: &SignedIn) -> UserId {
        match self {
            Whose::Own => me.user.id,
            Whose::Patient(id) => id,
        }
    }

    /// The page's address, where its forms post.
    fn base(self) -> String {
        match self {
            Whose::Own => OWN.to_owned(),
            Whose::Patient(id) => format!("/patients/{id}/proxies"),
        }
    }
}

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
    /// Whether the page manages someone's proxies (a patient's own, or the front desk's
    /// for a patient); otherwise it only answers invitations.
    manages: bool,
    /// Where the page's forms post.
    base: String,
    /// The patient, when the front desk manages their proxies.
    patient_name: Option<String>,
    /// Invitations to the signed-in person (on their own page only).
    own: bool,
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
    whose: Whose,
    done: Option<&str>,
    refused: Refused,
) -> AppResult<Response> {
    let base = whose.base();
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), &base);
    let manages = match whose {
        Whose::Own => me.role() == Role::Patient,
        Whose::Patient(_) => true,
    };
    let patient = whose.patient(me);
    let (proxies, sent) = if manages {
        // Refused as "not found" unless the caller manages this patient's proxies.
        let list = proxies::list(state, &w.ctx, &me.principal, patient).await?;
        (list.proxies, list.invitations)
    } else {
        (vec![], vec![])
    };
    let (received, patient_name) = match whose {
        Whose::Own => (proxies::invitations_to(state, &me.user).await?, None),
        Whose::Patient(id) => {
            let names = state.store.names_of(&[id]).await?;
            (vec![], names.get(&id).map(|(name, _)| name.clone()))
        }
    };
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
        manages,
        base,
        patient_name,
        own: matches!(whose, Whose::Own),
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

fn done(whose: Whose, what: &str) -> Response {
    Redirect::to(&format!("{}?done={what}", whose.base())).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    proxies_page(
        &state,
        &w,
        &me,
        Whose::Own,
        q.done.as_deref(),
        Refused::default(),
    )
    .await
}

/// A patient's proxies, for the front desk.
pub async fn show_for_patient(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(patient): Path<String>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let whose = Whose::Patient(patient_id(&patient)?);
    proxies_page(
        &state,
        &w,
        &me,
        whose,
        q.done.as_deref(),
        Refused::default(),
    )
    .await
}

fn patient_id(path: &str) -> Result<UserId, Error> {
    path.parse().map_err(|_| Error::NotFound)
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
    invite_as(&state, &w, &me, Whose::Own, form).await
}

pub async fn invite_for_patient(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(patient): Path<String>,
    Form(form): Form<InviteForm>,
) -> AppResult<Response> {
    let whose = Whose::Patient(patient_id(&patient)?);
    invite_as(&state, &w, &me, whose, form).await
}

async fn invite_as(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    whose: Whose,
    form: InviteForm,
) -> AppResult<Response> {
    let sent = proxies::invite(
        state,
        &w.ctx,
        &me.principal,
        whose.patient(me),
        &form.email,
        &form.relationship,
    )
    .await;
    match sent {
        Ok(_) => Ok(done(whose, "invited")),
        Err(e @ (Error::Internal(_) | Error::NotFound)) => Err(e.into()),
        Err(e) => {
            let refused = Refused {
                error: Some(e),
                email: form.email,
                relationship: form.relationship,
            };
            proxies_page(state, w, me, whose, None, refused).await
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
    answered(&state, &w, &me, Whose::Own, removed, "removed").await
}

pub async fn remove_for_patient(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path((patient, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let whose = Whose::Patient(patient_id(&patient)?);
    let removed = proxies::remove(&state, &w.ctx, &me.principal, whose.patient(&me), &id).await;
    answered(&state, &w, &me, whose, removed, "removed").await
}

pub async fn accept(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let result = proxies::answer(&state, &w.ctx, &me.principal, &me.user, &id, true).await;
    answered(&state, &w, &me, Whose::Own, result, "accepted").await
}

pub async fn decline(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let result = proxies::answer(&state, &w.ctx, &me.principal, &me.user, &id, false).await;
    answered(&state, &w, &me, Whose::Own, result, "declined").await
}

/// Back to the page with what happened: a notice, or the refusal shown on the page.
async fn answered(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    whose: Whose,
    result: telemed_domain::Result<()>,
    what: &str,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(done(whose, what)),
        Err(e @ Error::Internal(_)) => Err(e.into()),
        Err(e) => {
            let refused = Refused {
                error: Some(e),
                ..Refused::default()
            };
            proxies_page(state, w, me, whose, None, refused).await
        }
    }
}
