//! Moving a visit, the virtual waiting room (check-in, the clinician's queue) and
//! undoing a no-show.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::{AppointmentId, Error};

use super::scheduling::AppointmentView;
use super::ApiJson;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::scheduling as service;
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    /// A free slot start of the same clinician and visit kind.
    pub start: DateTime<Utc>,
    /// Required when a clinician or staff member moves the visit; sent to the patient.
    #[serde(default)]
    pub reason: String,
}

/// The visit as it is after the caller changed it.
async fn appointment_view(
    state: &AppState,
    caller: &ApiUser,
    id: AppointmentId,
) -> AppResult<Json<AppointmentView>> {
    let found = service::visible_appointment(state, &caller.principal, id).await?;
    Ok(Json(found.into()))
}

fn appointment_id(id: &str) -> Result<AppointmentId, Error> {
    id.parse().map_err(|_| Error::NotFound)
}

/// Moves a booked visit to another free time.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)), request_body = RescheduleBody,
    responses((status = 200, body = AppointmentView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn reschedule(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> AppResult<Json<AppointmentView>> {
    let id = appointment_id(&id)?;
    service::reschedule(
        &state,
        &ctx,
        &caller.principal,
        id,
        body.start,
        &body.reason,
    )
    .await?;
    appointment_view(&state, &caller, id).await
}

/// The patient checks in to the waiting room (from shortly before the visit).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/check-in", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AppointmentView), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "too early, ended, or not booked", body = crate::error::ErrorBody)))]
pub async fn check_in(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<AppointmentView>> {
    let id = appointment_id(&id)?;
    service::check_in(&state, &ctx, &caller.principal, id).await?;
    appointment_view(&state, &caller, id).await
}

/// A clinician or staff member undoes a no-show: the visit is booked again.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/undo-noshow", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AppointmentView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn undo_noshow(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<AppointmentView>> {
    let id = appointment_id(&id)?;
    service::undo_noshow(&state, &ctx, &caller.principal, id).await?;
    appointment_view(&state, &caller, id).await
}

/// The clinician or staff record that the visit took place (status `fulfilled`).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/complete", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AppointmentView), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "not started, or not booked or checked in", body = crate::error::ErrorBody)))]
pub async fn complete(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<AppointmentView>> {
    let id = appointment_id(&id)?;
    service::complete(&state, &ctx, &caller.principal, id).await?;
    appointment_view(&state, &caller, id).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueEntryView {
    pub appointment: AppointmentView,
    /// The patient's display name.
    pub patient_name: String,
    /// Checked in and waiting.
    pub waiting: bool,
    /// Minutes since check-in.
    pub waiting_minutes: i64,
    /// Not checked in and the start has passed.
    pub late: bool,
    /// Waiting longer than the clinic's threshold.
    pub waiting_too_long: bool,
}

/// The waiting room: the clinician's own (staff: every clinician's), checked-in first.
#[utoipa::path(get, path = "/api/v1/waiting-room", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, body = [QueueEntryView]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
) -> AppResult<Json<Vec<QueueEntryView>>> {
    let entries = service::waiting_queue(&state, &caller.principal).await?;
    let ids: Vec<_> = entries.iter().map(|e| e.appointment.patient_id).collect();
    let names = state.store.names_of(&ids).await?;
    let p = &caller.principal;
    let record =
        crate::audit::Event::new(&ctx, state.clock.now(), "waiting_room.read", "appointment")
            .by(p.user_id, p.role)
            .detail(format!("{} rows", entries.len()));
    state.audit.record(record.build()).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| QueueEntryView {
                patient_name: names
                    .get(&e.appointment.patient_id)
                    .map(|n| n.0.clone())
                    .unwrap_or_default(),
                waiting: e.appointment.arrived_at.is_some()
                    && e.appointment.status
                        == telemed_store::scheduling::AppointmentStatus::Arrived,
                waiting_minutes: e.waiting_minutes,
                late: e.late,
                waiting_too_long: e.waiting_too_long,
                appointment: e.appointment.into(),
            })
            .collect(),
    ))
}
