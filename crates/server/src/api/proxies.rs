//! Proxies over JSON: the patient (or the front desk) invites, lists and removes; the
//! invited person lists and answers the invitations addressed to them. Every handler
//! goes through `crate::proxies`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use telemed_domain::UserId;

use super::ApiJson;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::proxies::{self, InvitationSent, InvitationToMe, ProxyList};
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyInvitationBody {
    /// Where the invitation goes; the person answers signed in with this address.
    pub email: String,
    /// Who they are to the patient: parent, carer, …
    pub relationship: String,
}

/// Invites someone to see the record on the patient's behalf (the patient, or the
/// front desk). The same answer whoever has the address: the access opens only when the
/// person signed in with it accepts.
#[utoipa::path(post, path = "/api/v1/patients/{id}/proxies", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), request_body = ProxyInvitationBody, responses(
    (status = 202, body = InvitationSent), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
    (status = 409, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn invite(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProxyInvitationBody>,
) -> AppResult<(StatusCode, Json<InvitationSent>)> {
    let sent = proxies::invite(
        &state,
        &ctx,
        &caller.principal,
        UserId::from_path(&id)?,
        &body.email,
        &body.relationship,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// The patient's proxies and the invitations waiting for an answer.
#[utoipa::path(get, path = "/api/v1/patients/{id}/proxies", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = ProxyList), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ProxyList>> {
    let list = proxies::list(&state, &ctx, &caller.principal, UserId::from_path(&id)?).await?;
    Ok(Json(list))
}

/// Ends a proxy's access, or withdraws a waiting invitation (either id).
#[utoipa::path(delete, path = "/api/v1/patients/{id}/proxies/{proxy}", tag = "record", security(("bearer" = [])), params(("id" = String, Path), ("proxy" = String, Path)), responses(
    (status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path((id, proxy)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let patient = UserId::from_path(&id)?;
    proxies::remove(&state, &ctx, &caller.principal, patient, &proxy).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The invitations waiting for the caller's answer (a patient account with a verified
/// address; none for anyone else).
#[utoipa::path(get, path = "/api/v1/proxy-invitations", tag = "record", security(("bearer" = [])), responses(
    (status = 200, body = [InvitationToMe])))]
pub async fn mine(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<InvitationToMe>>> {
    Ok(Json(proxies::invitations_to(&state, &caller.user).await?))
}

/// Accepts an invitation addressed to the caller: the access opens at once.
#[utoipa::path(post, path = "/api/v1/proxy-invitations/{id}/accept", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    proxies::answer(&state, &ctx, &caller.principal, &caller.user, &id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Declines an invitation addressed to the caller.
#[utoipa::path(post, path = "/api/v1/proxy-invitations/{id}/decline", tag = "record", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn decline(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    proxies::answer(&state, &ctx, &caller.principal, &caller.user, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
