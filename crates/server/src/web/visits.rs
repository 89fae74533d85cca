//! Changing and attending a visit: moving it to another time, the patient's device
//! check and check-in, the clinician's live waiting-room queue, undoing a no-show.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use telemed_domain::{AppointmentId, Error, Permission, Role};
use telemed_store::scheduling::{Appointment, AppointmentStatus};

use super::booking::{local, slot_week, DayColumn};
use super::pages::{render, render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
use crate::scheduling as service;
use crate::AppState;

async fn visible_appointment(state: &AppState, me: &SignedIn, id: &str) -> AppResult<Appointment> {
    let id: AppointmentId = id.parse().map_err(|_| Error::NotFound)?;
    Ok(service::visible_appointment(state, &me.principal, id).await?)
}

/// The display name of the visit's clinician.
async fn clinician_name(state: &AppState, a: &Appointment) -> AppResult<String> {
    let names = state.store.names_of(&[a.clinician_id]).await?;
    Ok(names
        .get(&a.clinician_id)
        .map(|n| n.0.clone())
        .unwrap_or_default())
}

/// Where someone goes back to after changing a visit.
fn home_of(me: &SignedIn) -> &'static str {
    if me.role() == Role::Patient {
        "/appointments"
    } else {
        "/calendar"
    }
}

#[derive(Template)]
#[template(path = "reschedule.html")]
struct ReschedulePage<'a> {
    page: &'a Page,
    error: Option<String>,
    id: AppointmentId,
    clinician: String,
    current: String,
    days: Vec<DayColumn>,
    empty: bool,
    prev: Option<String>,
    next: String,
    needs_reason: bool,
    back: &'static str,
    time_zone: String,
}

#[derive(Deserialize, Default)]
pub struct WeekQuery {
    week: Option<NaiveDate>,
}

async fn reschedule_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    a: &Appointment,
    week: Option<NaiveDate>,
    error: Option<&Error>,
) -> AppResult<Response> {
    let tz = w.ctx.time_zone;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), home_of(me));
    let slots = slot_week(state, page.t, tz, a.clinician_id, a.visit_kind, week).await?;
    let clinician = clinician_name(state, a).await?;
    let link = |d: NaiveDate| {
        format!(
            "/appointments/{}/reschedule?week={}",
            a.id,
            d.format("%Y-%m-%d")
        )
    };
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &ReschedulePage {
            error: error.map(|e| page.form_error(e)),
            id: a.id,
            clinician,
            current: dates::moment_in_zone(page.t, tz, a.start_at, Day::Long),
            empty: slots.days.iter().all(|d| d.count == 0),
            prev: slots.prev.map(link),
            next: link(slots.next),
            days: slots.days,
            needs_reason: me.role() != Role::Patient,
            back: home_of(me),
            time_zone: tz.name().to_owned(),
            page: &page,
        },
    ))
}

pub async fn reschedule_form(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<WeekQuery>,
) -> AppResult<Response> {
    let a = visible_appointment(&state, &me, &id).await?;
    reschedule_page(&state, &w, &me, &a, q.week, None).await
}

#[derive(Deserialize)]
pub struct RescheduleForm {
    start: DateTime<Utc>,
    #[serde(default)]
    reason: String,
}

pub async fn reschedule(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RescheduleForm>,
) -> AppResult<Response> {
    let a = visible_appointment(&state, &me, &id).await?;
    match service::reschedule(
        &state,
        &w.ctx,
        &me.principal,
        a.id,
        form.start,
        &form.reason,
    )
    .await
    {
        Ok(()) if me.role() == Role::Patient => {
            Ok(Redirect::to("/appointments?done=moved").into_response())
        }
        Ok(()) => {
            let day = form.start.with_timezone(&w.ctx.time_zone).date_naive();
            Ok(Redirect::to(&format!("/calendar?day={}", day.format("%Y-%m-%d"))).into_response())
        }
        Err(e @ (Error::Conflict(_) | Error::Invalid { .. })) => {
            let week = Some(form.start.with_timezone(&w.ctx.time_zone).date_naive());
            reschedule_page(&state, &w, &me, &a, week, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "waiting_room.html")]
struct WaitingRoomPage<'a> {
    page: &'a Page,
    error: Option<String>,
    id: AppointmentId,
    clinician: String,
    when: String,
    checked_in: Option<String>,
    /// When check-in opens, while it has not.
    opens_at: Option<String>,
    /// The visit is over or no longer active.
    closed: bool,
    /// A video or audio visit: the room is open to join.
    video: bool,
}

async fn waiting_room_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    a: &Appointment,
    error: Option<&Error>,
) -> AppResult<Response> {
    let tz = w.ctx.time_zone;
    let now = state.clock.now();
    let opens =
        a.start_at - chrono::Duration::minutes(w.ctx.clinic.settings.check_in_opens_minutes);
    let clinician = clinician_name(state, a).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/appointments");
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &WaitingRoomPage {
            error: error.map(|e| page.form_error(e)),
            id: a.id,
            clinician,
            when: dates::moment_in_zone(page.t, tz, a.start_at, Day::LongNoYear),
            checked_in: (a.status == AppointmentStatus::Arrived).then(|| {
                a.arrived_at
                    .map(|t| local(tz, t, "%H:%M"))
                    .unwrap_or_default()
            }),
            opens_at: (now < opens).then(|| local(tz, opens, "%H:%M")),
            closed: !a.status.is_active() || now >= a.end_at,
            video: a.visit_kind != telemed_domain::schedule::VisitKind::Messaging,
            page: &page,
        },
    ))
}

/// The patient's waiting room: a device check, then check-in.
pub async fn waiting_room(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let a = visible_appointment(&state, &me, &id).await?;
    if me.role() != Role::Patient {
        return Err(Error::NotFound.into());
    }
    waiting_room_page(&state, &w, &me, &a, None).await
}

pub async fn check_in(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let a = visible_appointment(&state, &me, &id).await?;
    match service::check_in(&state, &w.ctx, &me.principal, a.id).await {
        Ok(()) => Ok(Redirect::to(&format!("/appointments/{}/waiting-room", a.id)).into_response()),
        Err(e @ Error::Conflict(_)) => waiting_room_page(&state, &w, &me, &a, Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct BackForm {
    #[serde(default)]
    back: String,
}

pub async fn undo_noshow(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<BackForm>,
) -> AppResult<Response> {
    let a = visible_appointment(&state, &me, &id).await?;
    service::undo_noshow(&state, &w.ctx, &me.principal, a.id).await?;
    let back = if super::is_local_path(&form.back) {
        form.back.as_str()
    } else {
        "/calendar"
    };
    Ok(Redirect::to(back).into_response())
}

/// The clinician marks the visit done, from the queue or the day view.
pub async fn complete(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<BackForm>,
) -> AppResult<Response> {
    let a = visible_appointment(&state, &me, &id).await?;
    service::complete(&state, &w.ctx, &me.principal, a.id).await?;
    let back = if super::is_local_path(&form.back) {
        form.back.as_str()
    } else {
        "/waiting-room"
    };
    Ok(Redirect::to(back).into_response())
}

struct QueueRow {
    id: AppointmentId,
    patient: String,
    clinician: String,
    starts: String,
    waiting: bool,
    waiting_minutes: i64,
    late: bool,
    too_long: bool,
    can_complete: bool,
    /// A video or audio visit the clinician runs from the visit room.
    video: bool,
}

#[derive(Template)]
#[template(path = "waiting_queue.html")]
struct QueuePage<'a> {
    page: &'a Page,
    rows: Vec<QueueRow>,
    show_clinician: bool,
    time_zone: String,
}

#[derive(Template)]
#[template(path = "waiting_queue_rows.html")]
struct QueueRows<'a> {
    page: &'a Page,
    rows: Vec<QueueRow>,
    show_clinician: bool,
}

async fn queue_rows(state: &AppState, w: &WebCtx, me: &SignedIn) -> AppResult<Vec<QueueRow>> {
    let entries = service::waiting_queue(state, &me.principal).await?;
    let ids: Vec<_> = entries
        .iter()
        .flat_map(|e| [e.appointment.patient_id, e.appointment.clinician_id])
        .collect();
    let names = state.store.names_of(&ids).await?;
    let name = |id| names.get(&id).map(|n| n.0.clone()).unwrap_or_default();
    let tz = w.ctx.time_zone;
    let now = state.clock.now();
    Ok(entries
        .into_iter()
        .map(|e| QueueRow {
            id: e.appointment.id,
            patient: name(e.appointment.patient_id),
            clinician: name(e.appointment.clinician_id),
            starts: local(tz, e.appointment.start_at, "%H:%M"),
            waiting: e.appointment.status == AppointmentStatus::Arrived,
            waiting_minutes: e.waiting_minutes,
            late: e.late,
            too_long: e.waiting_too_long,
            can_complete: e.appointment.start_at <= now,
            video: e.appointment.visit_kind != telemed_domain::schedule::VisitKind::Messaging,
        })
        .collect())
}

/// The clinician's live queue (staff: everyone's). The page is audited as a read of the
/// patients it lists; its refreshes show the same list and are not.
pub async fn queue(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    me.principal.require(Permission::Appointments)?;
    let rows = queue_rows(&state, &w, &me).await?;
    let record = crate::audit::Event::new(
        &w.ctx,
        state.clock.now(),
        "waiting_room.read",
        "appointment",
    )
    .by(me.user.id, me.role())
    .detail(format!("{} rows", rows.len()));
    state.audit.record(record.build()).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/waiting-room");
    Ok(render(&QueuePage {
        page: &page,
        rows,
        show_clinician: me.role() == Role::Staff,
        time_zone: w.ctx.time_zone.name().to_owned(),
    }))
}

pub async fn queue_refresh(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    me.principal.require(Permission::Appointments)?;
    let rows = queue_rows(&state, &w, &me).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/waiting-room");
    Ok(render(&QueueRows {
        page: &page,
        rows,
        show_clinician: me.role() == Role::Staff,
    }))
}
