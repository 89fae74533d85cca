//! The video visit in the browser: the room page (video, controls, chat, and for the
//! clinician the waiting list, guest links and the patient's chart summary), the
//! telehealth consent, a guest's landing page, and the record of a finished call.
//! The call itself runs in `assets/room.js` over the tab's live connection.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use telemed_domain::video::Participant;
use telemed_domain::{AppointmentId, Error, GuestId};
use telemed_store::visits::{ChatLine, Peer};

use super::booking::local;
use super::pages::{lang_of, render, render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::context::cookie;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
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
    /// The patient's preferred pharmacy, for the pad.
    preferred_pharmacy: Option<String>,
}

async fn chart_summary(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    room: &video::Room,
) -> AppResult<ChartSummary> {
    let a = &room.appointment;
    let patient = state
        .store
        .user_by_id(a.patient_id)
        .await?
        .ok_or(Error::NotFound)?;
    let beside = video::record::beside_the_call(state, &w.ctx, &me.principal, room).await?;
    let tz = w.ctx.time_zone;
    let t = lang_of(&w.ctx, Some(&me.user)).texts();
    let lines = |entries: &[telemed_store::record::Entry]| {
        entries
            .iter()
            .map(|e| crate::export::entry_line(t, e))
            .collect()
    };
    let chart = beside.chart;
    Ok(ChartSummary {
        preferred_pharmacy: beside.preferred_pharmacy.map(|p| p.id),
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
        consent: beside.consent.map(|c| {
            format!(
                "{} ({})",
                local(tz, c.accepted_at, "%Y-%m-%d %H:%M"),
                c.version
            )
        }),
        visits: beside
            .visits
            .iter()
            .map(|v| VisitLine {
                when: local(tz, v.start_at, "%Y-%m-%d %H:%M"),
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
    /// The prescription pad beside the call, for the visit's clinician.
    rx_pad: Option<super::rx_pad::Pad<'a>>,
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
    let names = video::record::roster(&state, a).await?;
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
            let invites = video::record::invitations(&state, &room)
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
            (Some(chart_summary(&state, &w, me, &room).await?), invites)
        }
        _ => (None, Vec::new()),
    };
    let rx_pad = match (&visitor.user, &summary) {
        (Some(me), Some(s)) => {
            let preferred = s.preferred_pharmacy.clone();
            super::rx_pad::blank(&state, me, &page, room.appointment.patient_id, preferred).await?
        }
        _ => None,
    };
    Ok(render(&RoomPage {
        id,
        role: room.me.kind().as_str(),
        me: room.me.id_text(),
        roster: serde_json::to_string(&names).unwrap_or_default(),
        title: clinician,
        when: dates::moment_in_zone(page.t, w.ctx.time_zone, a.start_at, Day::LongNoYear),
        audio_only: a.visit_kind == telemed_domain::schedule::VisitKind::Audio,
        summary,
        invites,
        rx_pad,
        page: &page,
    }))
}

#[derive(Template)]
#[template(path = "visit_consent.html")]
struct ConsentPage<'a> {
    page: &'a Page,
    id: AppointmentId,
    consent: crate::clinic::ConsentText,
    /// The text changed between showing and accepting: this is the new one.
    changed: bool,
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
    consent_page(&state, &w, &me, room.id(), false).await
}

async fn consent_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    id: AppointmentId,
    changed: bool,
) -> AppResult<Response> {
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        Some(&me.user),
        &format!("/visits/{id}/consent"),
    );
    let consent = crate::clinic::telehealth_consent(state, page.lang).await?;
    let template = ConsentPage {
        page: &page,
        id,
        consent,
        changed,
    };
    Ok(if changed {
        render_with(StatusCode::CONFLICT, &template)
    } else {
        render(&template)
    })
}

#[derive(Deserialize)]
pub struct ConsentForm {
    /// The version of the text the patient read.
    version: String,
}

pub async fn consent(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ConsentForm>,
) -> AppResult<Response> {
    // Consent is the patient's, not the visit's; the visit only has to be theirs.
    let room = video::open_room(&state, &Caller::User(me.user.id), visit_id(&id)?).await?;
    if !matches!(room.me, Participant::Patient(_)) {
        return Err(Error::NotFound.into());
    }
    let id = room.id();
    match video::accept_consent(&state, &w.ctx, me.user.id, &form.version).await {
        Ok(()) => Ok(Redirect::to(&format!("/visits/{id}/room")).into_response()),
        Err(Error::Conflict(_)) => consent_page(&state, &w, &me, id, true).await,
        Err(e) => Err(e.into()),
    }
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
    let a = guests::invited_visit(&state, &invite).await?;
    let names = state.store.names_of(&[a.clinician_id]).await?;
    let page = Page::new(&w.ctx, &w.csrf, None, "/visits/join");
    // A guest opening the link for the first time has not told us their zone yet: the
    // clinician's stated zone, named, says when the visit is rather than UTC.
    let zone = match w.ctx.browser_time_zone {
        Some(zone) => zone,
        None => crate::scheduling::clinician_zone(&state, a.clinician_id).await?,
    };
    Ok(render(&JoinPage {
        page: &page,
        token,
        label: invite.label,
        clinician: names
            .get(&a.clinician_id)
            .map(|n| n.0.clone())
            .unwrap_or_default(),
        when: dates::moment_in_zone(page.t, zone, a.start_at, Day::LongNoYear),
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
    let names = video::record::roster(&state, &room.appointment).await?;
    let lines = chat_lines(
        &w,
        video::record::chat(&state, &room, q.after).await?,
        &names,
    );
    Ok(Json(lines).into_response())
}

/// Chat lines as the page shows them, named from the visit's roster.
fn chat_lines(
    w: &WebCtx,
    lines: Vec<ChatLine>,
    names: &BTreeMap<String, String>,
) -> Vec<ChatLineView> {
    lines
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
        .collect()
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
    let call = video::record::call_record(&state, &w.ctx, &me.principal, id).await?;
    let video::record::CallRecord {
        visit: a,
        encounter,
        attendance,
        chat,
        roster: names,
    } = call;
    let tz = w.ctx.time_zone;
    let attendance = attendance
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
    let chat = chat_lines(&w, chat, &names);
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        Some(&me.user),
        &format!("/visits/{id}/record"),
    );
    Ok(render(&RecordPage {
        page: &page,
        when: dates::moment_day(page.t, tz, a.start_at, Day::Long),
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
