//! The caller's own account.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use telemed_domain::{Permission, Role, UserId};

use crate::auth::ApiUser;
use crate::error::AppResult;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub locale: String,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    /// The scopes of the token used for this request.
    pub scopes: Vec<Permission>,
}

/// The account of the token's owner.
#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("bearer" = [])), responses(
    (status = 200, body = Me),
    (status = 401, description = "missing, expired or revoked token", body = crate::error::ErrorBody)))]
pub async fn me(State(_state): State<AppState>, caller: ApiUser) -> AppResult<Json<Me>> {
    let u = caller.user;
    Ok(Json(Me {
        id: u.id,
        email: u.email.to_string(),
        display_name: u.display_name.clone(),
        role: u.role,
        locale: u.locale.clone(),
        email_verified: u.email_verified_at.is_some(),
        mfa_enabled: u.mfa_enabled(),
        scopes: caller.principal.permissions,
    }))
}
