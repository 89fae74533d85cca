//! Invitations of clinicians, staff and admins (admins).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::{Error, InvitationId, Permission, Role};
use telemed_store::invitations::Invitation;

use super::ApiJson;
use crate::accounts::admin::{self, NewInvite};
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// pending, accepted, revoked or expired.
    pub status: &'static str,
}

pub fn invitation_status(i: &Invitation, now: DateTime<Utc>) -> &'static str {
    if i.accepted_at.is_some() {
        "accepted"
    } else if i.revoked_at.is_some() {
        "revoked"
    } else if i.expires_at <= now {
        "expired"
    } else {
        "pending"
    }
}

impl InvitationView {
    fn of(i: Invitation, now: DateTime<Utc>) -> Self {
        InvitationView {
            id: i.id,
            status: invitation_status(&i, now),
            email: i.email.to_string(),
            display_name: i.display_name,
            role: i.role,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitationBody {
    #[schema(format = Email)]
    pub email: String,
    /// 1 to 100 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub display_name: String,
    /// clinician, staff or admin.
    pub role: Role,
    /// Language of the email: en (default) or es.
    #[schema(pattern = "^(en|es)$")]
    pub lang: Option<String>,
}

/// Recent invitations (admins).
#[utoipa::path(get, path = "/api/v1/invitations", tag = "admin", security(("bearer" = [])), responses((status = 200, body = [InvitationView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<InvitationView>>> {
    caller.principal.require(Permission::UsersRead)?;
    let now = state.clock.now();
    let invitations = state.store.recent_invitations(200).await?;
    Ok(Json(
        invitations
            .into_iter()
            .map(|i| InvitationView::of(i, now))
            .collect(),
    ))
}

/// Invites someone by email; the link is valid for 7 days.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "admin", security(("bearer" = [])), request_body = NewInvitationBody, responses(
    (status = 201, body = InvitationView), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<NewInvitationBody>,
) -> AppResult<(StatusCode, Json<InvitationView>)> {
    let lang = match body.lang.as_deref() {
        None => Lang::En,
        Some(code) => {
            Lang::from_code(code).ok_or_else(|| Error::invalid("lang", "lang must be en or es"))?
        }
    };
    let invite = NewInvite {
        email: &body.email,
        display_name: &body.display_name,
        role: body.role,
        lang,
    };
    let id = admin::invite(&state, &ctx, &caller.principal, invite).await?;
    let now = state.clock.now();
    let created = state
        .store
        .recent_invitations(50)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| Error::internal("invitation vanished"))?;
    Ok((StatusCode::CREATED, Json(InvitationView::of(created, now))))
}

/// Revokes a pending invitation.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id: InvitationId = id.parse()?;
    admin::revoke_invitation(&state, &ctx, &caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
