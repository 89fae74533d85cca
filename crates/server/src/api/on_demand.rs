//! On-demand visits: a patient joins the queue of a specialty and follows their place;
//! a clinician reads their specialty's queue and takes the next patient.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use telemed_domain::{AppointmentId, UserId};

use super::ApiJson;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::on_demand::{self as service, Standing};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct StandingView {
    /// `away` (not waiting), `waiting` or `taken` (the visit's room is open).
    pub status: &'static str,
    pub specialty: Option<String>,
    /// 1 for the next patient to be taken.
    pub place: Option<usize>,
    pub of: Option<usize>,
    pub estimate_minutes: Option<i64>,
    pub visit_id: Option<AppointmentId>,
    /// The specialties the clinic sees patients on demand in.
    pub specialties: Vec<String>,
}

async fn view(state: &AppState, standing: Standing) -> StandingView {
    let mut v = StandingView {
        status: "away",
        specialty: None,
        place: None,
        of: None,
        estimate_minutes: None,
        visit_id: None,
        specialties: service::specialties(state).await,
    };
    match standing {
        Standing::Away => {}
        Standing::Waiting {
            specialty,
            place,
            of,
            estimate_minutes,
        } => {
            v.status = "waiting";
            v.specialty = Some(specialty);
            v.place = Some(place);
            v.of = Some(of);
            v.estimate_minutes = Some(estimate_minutes);
        }
        Standing::Taken { visit } => {
            v.status = "taken";
            v.visit_id = Some(visit);
        }
    }
    v
}

/// Where the caller (a patient) stands in the on-demand queue.
#[utoipa::path(get, path = "/api/v1/on-demand", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, body = StandingView), (status = 403, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: ApiUser) -> AppResult<Json<StandingView>> {
    let standing = service::standing(&state, &caller.principal).await?;
    Ok(Json(view(&state, standing).await))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    /// One of the clinic's on-demand specialties.
    pub specialty: String,
    /// Why the patient wants to be seen (up to 500 characters).
    pub reason: String,
}

/// Joins the on-demand queue of a specialty (patients; one queue at a time).
#[utoipa::path(post, path = "/api/v1/on-demand", tag = "scheduling", security(("bearer" = [])), request_body = JoinBody,
    responses((status = 201, body = StandingView), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn join(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<JoinBody>,
) -> AppResult<(StatusCode, Json<StandingView>)> {
    let standing = service::join(
        &state,
        &ctx,
        &caller.principal,
        &body.specialty,
        &body.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&state, standing).await)))
}

/// Leaves the on-demand queue (nothing happens when the caller is not waiting).
#[utoipa::path(delete, path = "/api/v1/on-demand", tag = "scheduling", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
) -> AppResult<StatusCode> {
    service::withdraw(&state, &ctx, &caller.principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WaitingView {
    pub patient_id: UserId,
    pub patient_name: String,
    pub reason: String,
    pub waiting_since: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueView {
    /// The caller's specialty's queue; none when the clinic has no queue for it.
    pub specialty: Option<String>,
    pub waiting: Vec<WaitingView>,
}

/// The on-demand queue of the caller's specialty (clinicians), longest waiting first.
#[utoipa::path(get, path = "/api/v1/on-demand/queue", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, body = QueueView), (status = 403, body = crate::error::ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
) -> AppResult<Json<QueueView>> {
    let found = service::queue(&state, &ctx, &caller.principal).await?;
    let (specialty, waiting) = match found {
        Some((specialty, waiting)) => (Some(specialty), waiting),
        None => (None, Vec::new()),
    };
    Ok(Json(QueueView {
        specialty,
        waiting: waiting
            .into_iter()
            .map(|w| WaitingView {
                patient_id: w.patient,
                patient_name: w.name,
                reason: w.reason,
                waiting_since: w.since,
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartNowBody {
    /// Why, in words for the patient (up to 500 characters).
    pub reason: String,
}

/// Starts a video visit with the patient now (clinicians): the patient is told at
/// once, in the app and by email, with the room's link. 409 while the clinician is in
/// another visit.
#[utoipa::path(post, path = "/api/v1/patients/{id}/start-now", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = StartNowBody,
    responses((status = 201, body = TakenView), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn start_now(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(body): ApiJson<StartNowBody>,
) -> AppResult<(StatusCode, Json<TakenView>)> {
    let patient = UserId::from_path(&id)?;
    let visit_id =
        service::start_now(&state, &ctx, &caller.principal, patient, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(TakenView { visit_id })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TakenView {
    /// The video visit that starts now; its room is `/visits/{visit_id}/room`.
    pub visit_id: AppointmentId,
}

/// Takes the longest-waiting patient of the caller's specialty (clinicians): a video
/// visit from now. 409 when nobody waits or the clinician has a visit booked now.
#[utoipa::path(post, path = "/api/v1/on-demand/take", tag = "scheduling", security(("bearer" = [])),
    responses((status = 201, body = TakenView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn take(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
) -> AppResult<(StatusCode, Json<TakenView>)> {
    let visit_id = service::take_next(&state, &ctx, &caller.principal).await?;
    Ok((StatusCode::CREATED, Json(TakenView { visit_id })))
}
