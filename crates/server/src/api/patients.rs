//! Patient data, through the access policy: every read is decided and audited, and a
//! refusal looks exactly like a record that does not exist.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use telemed_domain::{Error, Role, UserId};

use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PatientView {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub locale: String,
}

/// A patient's demographics.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = PatientView),
    (status = 404, description = "no such patient, or not yours to see (the same answer)", body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<PatientView>> {
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let grant = crate::record::authorize(
        &state,
        &ctx,
        &caller.principal,
        id,
        telemed_domain::record::Section::Demographics,
        telemed_domain::access::Op::Read,
    )
    .await?;
    let patient = state
        .store
        .user_by_id(grant.patient())
        .await?
        .filter(|u| u.role == Role::Patient)
        .ok_or(Error::NotFound)?;
    Ok(Json(PatientView {
        id: patient.id,
        display_name: patient.display_name,
        email: patient.email.to_string(),
        locale: patient.locale,
    }))
}

pub use crate::record::AccessLogEntry;

/// Who accessed this patient's record (the patient themself, or an auditor).
#[utoipa::path(get, path = "/api/v1/patients/{id}/access-log", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = [AccessLogEntry]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn access_log(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<AccessLogEntry>>> {
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let log = crate::record::access_log(&state, &ctx, &caller.principal, id, 200).await?;
    Ok(Json(log))
}
