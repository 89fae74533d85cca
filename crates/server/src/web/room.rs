//! The video visit in the browser: the room page (video, controls, chat, and for the
//! clinician the waiting list, guest links and the patient's chart summary), the
//! telehealth consent, a guest's landing page, and the record of a finished call.
//! The call itself runs in `assets/room.js` over the tab's live connection.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use telemed_domain::video::{Participant, TELEHEALTH_CONSENT_VERSION};
use telemed_domain::{AppointmentId, Error, GuestId};
use telemed_store::scheduling::{Appointment, AppointmentsOf};
use telemed_store::visits::Peer;

use super::booking::local;
use super::pages::{render, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::context::cookie;
use crate::error::AppResult;
use crate::video::{self, guests, Caller};
use crate::AppState;

/// Who is at a room page: someone signed in, or a guest with a pass.
struct Visitor {
    caller: Caller,
    user: Option<SignedIn>,
}

async fn visitor(
    state: &AppState,
    headers: &HeaderMap,
    session: Result<SignedIn, Response>,
) -> Result<Visitor, Response> {
    match session {
        Ok(me) => Ok(Visitor {
            caller: Caller::User(me.user.id),
            user: Some(me),
        }),
        Err(to_sign_in) => {
            let pass = cookie(headers, guests::GUEST_COOKIE).unwrap_or_default();
            match guests::by_pass(state, pass).await {
                Ok(Some(invite)) => Ok(Visitor {
                    caller: Caller::Guest(invite),
                    user: None,
                }),
                Ok(None) => Err(to_sign_in),
                Err(e) => Err(crate::error::AppError(e).into_response()),
            }
        }
    }
}

fn visit_id(id: &str) -> Result<AppointmentId, Error> {
    id.parse().map_err(|_| Error::NotFound)
}

/// Display names of everyone who may be in the room, by participant id.
async fn roster(state: &AppState, a: &Appointment) -> AppResult<BTreeMap<String, String>> {
    let names = state
        .store
        .names_of(&[a.patient_id, a.clinician_id])
        .await?;
    let mut roster = BTreeMap::new();
    for id in [a.patient_id, a.clinician_id] {
        if let Some((name, _)) = names.get(&id) {
            roster.insert(id.to_string(), name.clone());
        }
    }
    for invite in state.store.invites_for(a.id).await? {
        roster.insert(invite.guest.to_string(), invite.label);
    }
    Ok(roster)
}

struct VisitLine {
    when: String,
    kind: String,
    status: String,
}

/// What the clinician sees beside the video: what telemed holds on the patient so far.
struct ChartSummary {
    patient_id: telemed_domain::UserId,
    patient: String,
    problems: Vec<String>,
    allergies: Vec<String>,
    medications: Vec<String>,
    vitals: Vec<String>,
    /// Id and title of the newest documents (photos sent ahead, reports).
    documents: Vec<(telemed_domain::DocumentId, String)>,
    email: String,
    reason: String,
    consent: Option<String>,
    visits: Vec<VisitLine>,
}

async fn chart_summary(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    a: &Appointment,
) -> AppResult<ChartSummary> {
    let now = state.clock.now();
    let patient = state
        .store
        .user_by_id(a.patient_id)
        .await?
        .ok_or(Error::NotFound)?;
    let visits = state
        .store
        .appointments(
            AppointmentsOf::Patient(a.patient_id),
            now - Duration::days(3 * 365),
            now + Duration::days(365),
            20,
        )
        .await?;
    let consent = state
        .store
        .consents_of(a.patient_id)
        .await?
        .into_iter()
        .rev()
        .find(|c| c.kind == telemed_domain::video::TELEHEALTH_CONSENT)
        .map(|c| {
            format!(
                "{} ({})",
                local(w.ctx.time_zone, c.accepted_at, "%Y-%m-%d %H:%M"),
                c.version
            )
        });
    // The summary is the chart's, under the policy's grant like every other read of it.
    let (chart, _) = crate::record::summary(state, &w.ctx, &me.principal, a.patient_id).await?;
    let lines = |entries: &[telemed_store::record::Entry]| {
        entries.iter().map(crate::export::entry_line).collect()
    };
    Ok(ChartSummary {
        patient_id: a.patient_id,
        problems: lines(&chart.problems),
        allergies: lines(&chart.allergies),
        medications: lines(&chart.medications),
        vitals: lines(&chart.vitals),
        documents: chart
            .recent_documents
            .into_iter()
            .map(|d| (d.id, d.title))
            .collect(),
        patient: patient.display_name,
        email: patient.email.as_str().to_owned(),
        reason: a.reason.clone(),
        consent,
        visits: visits
            .iter()
            .filter(|v| v.id != a.id)
            .map(|v| VisitLine {
                when: local(w.ctx.time_zone, v.start_at, "%Y-%m-%d %H:%M"),
                kind: v.visit_kind.as_str().to_owned(),
                status: v.status.as_str().to_owned(),
            })
            .collect(),
    })
}

struct InviteLine {
    guest: GuestId,
    label: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "visit_room.html")]
struct RoomPage<'a> {
    page: &'a Page,
    id: AppointmentId,
    role: &'static str,
    me: String,
    roster: String,
    title: String,
    when: String,
    audio_only: bool,
    summary: Option<ChartSummary>,
    invites: Vec<InviteLine>,
}

/// The room page. A patient who has not accepted the telehealth consent is sent to it
/// first; anyone else not in the visit gets the not-found page.
pub async fn room(
    State(state): State<AppState>,
    w: WebCtx,
    headers: HeaderMap,
    session: Result<SignedIn, Response>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let visitor = match visitor(&state, &headers, session).await {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let id = visit_id(&id)?;
    let room = video::open_room(&state, &visitor.caller, id).await?;
    if let Participant::Patient(p) = room.me {
        if !video::has_consent(&state, p).await? {
            return Ok(Redirect::to(&format!("/visits/{id}/consent")).into_response());
        }
    }
    let a = &room.appointment;
    let names = roster(&state, a).await?;
    let clinician = names
        .get(&a.clinician_id.to_string())
        .cloned()
        .unwrap_or_default();
    let mut page = Page::new(
        &w.ctx,
        &w.csrf,
        visitor.user.as_ref().map(|u| &u.user),
        &format!("/visits/{id}/room"),
    );
    page.live = true;
    let (summary, invites) = match (&visitor.user, room.me.hosts()) {
        (Some(me), true) => {
            let now = state.clock.now();
            let invites = state
                .store
                .invites_for(id)
                .await?
                .into_iter()
                .map(|i| InviteLine {
                    guest: i.guest,
                    state: if i.revoked_at.is_some() {
                        "revoked"
                    } else if i.used_at.is_some() {
                        "used"
                    } else if i.expires_at <= now {
                        "expired"
                    } else {
                        "open"
                    },
                    label: i.label,
                })
                .collect();
            (Some(chart_summary(&state, &w, me, a).await?), invites)
        }
        _ => (None, Vec::new()),
    };
    Ok(render(&RoomPage {
        id,
        role: room.me.kind().as_str(),
        me: room.me.id_text(),
        roster: serde_json::to_string(&names).unwrap_or_default(),
        title: clinician,
        when: format!(
            "{} ({})",
            local(w.ctx.time_zone, a.start_at, "%A %d %B, %H:%M"),
            w.ctx.time_zone.name()
        ),
        audio_only: a.visit_kind == telemed_domain::schedule::VisitKind::Audio,
        summary,
        invites,
        page: &page,
    }))
}

#[derive(Template)]
#[template(path = "visit_consent.html")]
struct ConsentPage<'a> {
    page: &'a Page,
    id: AppointmentId,
    version: &'static str,
}

/// The telehealth consent, before a patient's first video visit.
pub async fn consent_form(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let caller = Caller::User(me.user.id);
    let room = video::open_room(&state, &caller, visit_id(&id)?).await?;
    if !matches!(room.me, Participant::Patient(_)) {
        return Err(Error::NotFound.into());
    }
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        Some(&me.user),
        &format!("/visits/{}/consent", room.id()),
    );
    Ok(render(&ConsentPage {
        page: &page,
        id: room.id(),
        version: TELEHEALTH_CONSENT_VERSION,
    }))
}

pub async fn consent(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    // Consent is the patient's, not the visit's; the visit only has to be theirs.
    let room = video::open_room(&state, &Caller::User(me.user.id), visit_id(&id)?).await?;
    if !matches!(room.me, Participant::Patient(_)) {
        return Err(Error::NotFound.into());
    }
    let id = room.id();
    video::accept_consent(&state, &w.ctx, me.user.id).await?;
    Ok(Redirect::to(&format!("/visits/{id}/room")).into_response())
}

#[derive(Template)]
#[template(path = "visit_join.html")]
struct JoinPage<'a> {
    page: &'a Page,
    token: String,
    label: String,
    clinician: String,
    when: String,
}

/// A guest's landing page: says what the link is for; joining spends it.
pub async fn join_form(
    State(state): State<AppState>,
    w: WebCtx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let invite = guests::pending(&state, &token).await?;
    let a = state
        .store
        .appointment(invite.appointment)
        .await?
        .ok_or(Error::NotFound)?;
    let names = state.store.names_of(&[a.clinician_id]).await?;
    let page = Page::new(&w.ctx, &w.csrf, None, "/visits/join");
    Ok(render(&JoinPage {
        page: &page,
        token,
        label: invite.label,
        clinician: names
            .get(&a.clinician_id)
            .map(|n| n.0.clone())
            .unwrap_or_default(),
        when: format!(
            "{} ({})",
            local(w.ctx.time_zone, a.start_at, "%A %d %B, %H:%M"),
            w.ctx.time_zone.name()
        ),
    }))
}

pub async fn join(
    State(state): State<AppState>,
    w: WebCtx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let (invite, pass) = guests::spend(&state, &w.ctx, &token).await?;
    let mut response = Redirect::to(&guests::room_path(invite.appointment)).into_response();
    if let Ok(v) = HeaderValue::from_str(&guests::pass_cookie(&pass, state.config.secure_cookies()))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct InviteForm {
    label: String,
}

#[derive(Serialize)]
pub struct NewInviteView {
    guest: GuestId,
    label: String,
    url: String,
}

/// The clinician makes a guest link (called from the room page; answers JSON so the
/// call goes on).
pub async fn create_invite(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<InviteForm>,
) -> AppResult<Json<NewInviteView>> {
    let caller = Caller::User(me.user.id);
    let room = video::open_room(&state, &caller, visit_id(&id)?).await?;
    let link = guests::invite(&state, &w.ctx, &room, &form.label).await?;
    Ok(Json(NewInviteView {
        guest: link.invite.guest,
        label: link.invite.label,
        url: link.url,
    }))
}

pub async fn revoke_invite(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path((id, guest)): Path<(String, String)>,
) -> AppResult<Json<serde_json::Value>> {
    let caller = Caller::User(me.user.id);
    let room = video::open_room(&state, &caller, visit_id(&id)?).await?;
    let guest: GuestId = guest.parse().map_err(|_| Error::NotFound)?;
    guests::revoke(&state, &w.ctx, &room, guest).await?;
    Ok(Json(serde_json::json!({"revoked": guest})))
}

#[derive(Deserialize)]
pub struct ChatQuery {
    #[serde(default)]
    after: i64,
}

#[derive(Serialize)]
pub struct ChatLineView {
    seq: i64,
    from: String,
    kind: &'static str,
    body: String,
    at: String,
}

/// In-call chat lines after `after`, for anyone in the visit.
pub async fn chat(
    State(state): State<AppState>,
    w: WebCtx,
    headers: HeaderMap,
    session: Result<SignedIn, Response>,
    Path(id): Path<String>,
    Query(q): Query<ChatQuery>,
) -> AppResult<Response> {
    let visitor = match visitor(&state, &headers, session).await {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let room = video::open_room(&state, &visitor.caller, visit_id(&id)?).await?;
    let names = roster(&state, &room.appointment).await?;
    let lines = chat_lines(&state, &w, room.id(), &names, q.after).await?;
    Ok(Json(lines).into_response())
}

/// A visit's chat lines after `after`, named from its roster.
async fn chat_lines(
    state: &AppState,
    w: &WebCtx,
    visit: AppointmentId,
    names: &BTreeMap<String, String>,
    after: i64,
) -> AppResult<Vec<ChatLineView>> {
    let lines = state.store.visit_chat(visit, after.max(0), 200).await?;
    Ok(lines
        .into_iter()
        .map(|l| ChatLineView {
            seq: l.seq,
            from: names
                .get(&l.participant.id_text())
                .cloned()
                .unwrap_or_default(),
            kind: l.participant.kind().as_str(),
            body: l.body,
            at: local(w.ctx.time_zone, l.sent_at, "%H:%M"),
        })
        .collect())
}

struct AttendanceLine {
    who: String,
    kind: &'static str,
    joined: String,
    left: String,
}

#[derive(Template)]
#[template(path = "visit_record.html")]
struct RecordPage<'a> {
    page: &'a Page,
    when: String,
    started: String,
    ended: String,
    minutes: i64,
    attendance: Vec<AttendanceLine>,
    quality: Option<telemed_domain::video::Quality>,
    chat: Vec<ChatLineView>,
}

/// The record of a finished (or running) call, for its patient and clinician.
pub async fn record(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = visit_id(&id)?;
    let a = state
        .store
        .appointment(id)
        .await?
        .filter(|a| a.patient_id == me.user.id || a.clinician_id == me.user.id)
        .ok_or(Error::NotFound)?;
    let encounter = state.store.encounter(id).await?.ok_or(Error::NotFound)?;
    let names = roster(&state, &a).await?;
    let tz = w.ctx.time_zone;
    let attendance = state
        .store
        .visit_attendance(id)
        .await?
        .into_iter()
        .map(|p: Peer| AttendanceLine {
            who: names
                .get(&p.participant.id_text())
                .cloned()
                .unwrap_or_default(),
            kind: p.participant.kind().as_str(),
            joined: p
                .admitted_at
                .map(|t| local(tz, t, "%H:%M:%S"))
                .unwrap_or_default(),
            left: p
                .left_at
                .map(|t| local(tz, t, "%H:%M:%S"))
                .unwrap_or_default(),
        })
        .collect();
    let chat = chat_lines(&state, &w, id, &names, 0).await?;
    let event = crate::audit::Event::new(
        &w.ctx,
        state.clock.now(),
        "visit.record.read",
        "appointment",
    )
    .by(me.user.id, me.role())
    .on(id)
    .patient(a.patient_id);
    state.audit.record(event.build()).await?;
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        Some(&me.user),
        &format!("/visits/{id}/record"),
    );
    Ok(render(&RecordPage {
        page: &page,
        when: local(tz, a.start_at, "%A %d %B %Y"),
        started: local(tz, encounter.started_at, "%H:%M:%S"),
        ended: encounter
            .ended_at
            .map(|t| local(tz, t, "%H:%M:%S"))
            .unwrap_or_default(),
        minutes: encounter.duration().map(|d| d.num_minutes()).unwrap_or(0),
        attendance,
        quality: encounter.quality,
        chat,
    }))
}
