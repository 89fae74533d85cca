//! On-demand visits in the browser: a patient's "see someone now" page (`/now`: the
//! specialty and reason, then their place, refreshed when the queue changes, and the
//! room as soon as a clinician takes them), and a clinician's queue (`/on-demand`) with
//! "take the next patient".

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::Error;

use super::pages::{render, render_form, Page};
use super::WebCtx;
use crate::auth::{AnySession, SignedIn};
use crate::error::AppResult;
use crate::i18n::args;
use crate::i18n::dates::{self, Day};
use crate::on_demand::{self as service, Standing};
use crate::AppState;

#[derive(Template)]
#[template(path = "on_demand_status.html")]
struct StatusFragment<'a> {
    page: &'a Page,
    standing: Standing,
    specialties: Vec<String>,
    /// What was typed, shown again after a refusal.
    specialty: String,
    reason: String,
}

impl StatusFragment<'_> {
    /// "You are number 2 of 3 waiting for Family medicine."
    fn place_sentence(&self, specialty: &str, place: usize, of: usize) -> String {
        self.page.t.od_place(args::OdPlace {
            place: place.into(),
            of: of.into(),
            specialty: specialty.into(),
        })
    }

    /// "Estimated wait: about 10 minutes."
    fn estimate_sentence(&self, minutes: i64) -> String {
        self.page.t.od_estimate(args::OdEstimate {
            minutes: minutes.into(),
        })
    }
}

#[derive(Template)]
#[template(path = "on_demand.html")]
struct NowPage<'a> {
    page: &'a Page,
    error: Option<String>,
    status: StatusFragment<'a>,
}

async fn now_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    refused: Option<(&Error, String, String)>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/now");
    let standing = service::standing(state, &me.principal).await?;
    let (error, specialty, reason) = match &refused {
        Some((e, specialty, reason)) => {
            (Some(page.form_error(e)), specialty.clone(), reason.clone())
        }
        None => (None, String::new(), String::new()),
    };
    let status = StatusFragment {
        page: &page,
        standing,
        specialties: service::specialties(state).await,
        specialty,
        reason,
    };
    let template = NowPage {
        page: &page,
        error,
        status,
    };
    Ok(render_form(refused.map(|(e, ..)| e), &template))
}

/// The patient's page: ask to be seen now, or where they stand.
/// The on-demand page. Someone not signed in is offered the new-patient form (a name,
/// an email, a code) with a way to sign in instead, and comes back here.
pub async fn now(
    State(state): State<AppState>,
    w: WebCtx,
    session: Result<SignedIn, Response>,
    AnySession(any): AnySession,
) -> AppResult<Response> {
    match session {
        Ok(me) => now_page(&state, &w, &me, None).await,
        Err(_) if any.is_none() => Ok(Redirect::to("/login/code?next=/now&new=1").into_response()),
        Err(half_signed_in) => Ok(half_signed_in),
    }
}

/// Where the patient stands, for the page's live refresh; once a clinician took them,
/// the browser goes to the visit's room.
pub async fn status(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    headers: HeaderMap,
) -> AppResult<Response> {
    let standing = service::standing(&state, &me.principal).await?;
    if let (Standing::Taken { visit }, true) = (&standing, headers.contains_key("hx-request")) {
        let mut response = StatusCode::OK.into_response();
        if let Ok(to) = HeaderValue::from_str(&format!("/visits/{visit}/room")) {
            response.headers_mut().insert("hx-redirect", to);
        }
        return Ok(response);
    }
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/now");
    Ok(render(&StatusFragment {
        page: &page,
        standing,
        specialties: service::specialties(&state).await,
        specialty: String::new(),
        reason: String::new(),
    }))
}

#[derive(Deserialize)]
pub struct JoinForm {
    specialty: String,
    reason: String,
}

pub async fn join(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<JoinForm>,
) -> AppResult<Response> {
    match service::join(&state, &w.ctx, &me.principal, &form.specialty, &form.reason).await {
        Ok(_) => Ok(Redirect::to("/now").into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            now_page(&state, &w, &me, Some((&e, form.specialty, form.reason))).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn withdraw(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    service::withdraw(&state, &w.ctx, &me.principal).await?;
    Ok(Redirect::to("/now").into_response())
}

struct WaitingRow {
    name: String,
    reason: String,
    since: String,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "on_demand_rows.html")]
struct QueueRows<'a> {
    page: &'a Page,
    specialty: Option<String>,
    rows: Vec<WaitingRow>,
}

#[derive(Template)]
#[template(path = "on_demand_queue.html")]
struct QueuePage<'a> {
    page: &'a Page,
    error: Option<String>,
    rows: QueueRows<'a>,
}

async fn queue_rows<'a>(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    page: &'a Page,
) -> AppResult<QueueRows<'a>> {
    let now = state.clock.now();
    let tz = w.ctx.time_zone;
    let (specialty, rows) = match service::queue(state, &w.ctx, &me.principal).await? {
        Some((specialty, waiting)) => (
            Some(specialty),
            waiting
                .into_iter()
                .map(|p| WaitingRow {
                    name: p.name,
                    reason: p.reason,
                    since: dates::moment(page.t, tz, p.since, Day::Short),
                    minutes: (now - p.since).num_minutes(),
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    Ok(QueueRows {
        page,
        specialty,
        rows,
    })
}

async fn queue_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    error: Option<&Error>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/on-demand");
    let rows = queue_rows(state, w, me, &page).await?;
    let template = QueuePage {
        page: &page,
        error: error.map(|e| page.form_error(e)),
        rows,
    };
    Ok(render_form(error, &template))
}

/// The clinician's on-demand queue.
pub async fn queue(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    queue_page(&state, &w, &me, None).await
}

/// The queue's rows, for the page's live refresh.
pub async fn queue_refresh(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/on-demand");
    let rows = queue_rows(&state, &w, &me, &page).await?;
    Ok(render(&rows))
}

#[derive(Deserialize)]
pub struct StartNowForm {
    reason: String,
}

/// From a patient's chart: starts a video visit now and opens its room.
pub async fn start_now(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<StartNowForm>,
) -> AppResult<Response> {
    let patient = telemed_domain::UserId::from_path(&id)?;
    match service::start_now(&state, &w.ctx, &me.principal, patient, &form.reason).await {
        Ok(visit) => Ok(Redirect::to(&format!("/visits/{visit}/room")).into_response()),
        Err(e @ (Error::Conflict(_) | Error::Invalid { .. })) => {
            super::chart::chart_with_error(&state, &w, &me, patient, &e).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Takes the next patient and opens the visit's room.
pub async fn take(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    match service::take_next(&state, &w.ctx, &me.principal).await {
        Ok(visit) => Ok(Redirect::to(&format!("/visits/{visit}/room")).into_response()),
        Err(e @ Error::Conflict(_)) => queue_page(&state, &w, &me, Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}
