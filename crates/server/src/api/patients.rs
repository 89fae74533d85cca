//! Patient data, through the access policy: every read is decided and audited, and a
//! refusal looks exactly like a record that does not exist.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use telemed_domain::{Error, Role, UserId};
use telemed_store::audit::AuditFilter;

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

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessLogEntry {
    pub at: DateTime<Utc>,
    pub who: String,
    pub role: Option<Role>,
    pub action: String,
    pub outcome: telemed_domain::audit::Outcome,
}

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
    let grant = crate::record::authorize(
        &state,
        &ctx,
        &caller.principal,
        id,
        telemed_domain::access::Data::AccessLog,
        telemed_domain::access::Op::Read,
    )
    .await?;
    Ok(Json(access_log_entries(&state, &grant, 200).await?))
}

/// The newest entries about `patient`, with names of who acted.
pub async fn access_log_entries(
    state: &AppState,
    grant: &telemed_domain::access::Grant,
    limit: i64,
) -> Result<Vec<AccessLogEntry>, Error> {
    let patient = grant.require_data(telemed_domain::access::Data::AccessLog)?;
    state.audit.flush().await?;
    let entries = state
        .store
        .search_audit(&AuditFilter {
            patient: Some(patient),
            limit,
            ..Default::default()
        })
        .await?;
    let actors: Vec<UserId> = entries.iter().filter_map(|e| e.actor).collect();
    let names = state.store.names_of(&actors).await?;
    Ok(entries
        .into_iter()
        .map(|e| AccessLogEntry {
            at: e.at,
            who: e
                .actor
                .and_then(|a| names.get(&a).map(|n| n.0.clone()))
                .unwrap_or_else(|| "telemed".into()),
            role: e.actor_role,
            action: e.action,
            outcome: e.outcome,
        })
        .collect())
}
