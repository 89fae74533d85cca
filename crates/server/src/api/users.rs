//! Accounts, for admins.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::{Error, Permission, Role, UserId};
use telemed_store::users::{User, UserFilter};

use super::{ApiJson, ApiQuery};
use crate::accounts::admin;
use crate::audit::Event;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email.to_string(),
            display_name: u.display_name.clone(),
            role: u.role,
            email_verified: u.email_verified_at.is_some(),
            mfa_enabled: u.mfa_enabled(),
            disabled: u.disabled_at.is_some(),
            created_at: u.created_at,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub role: Option<Role>,
    /// Part of a name or email.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Lists accounts (admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", security(("bearer" = [])), params(ListQuery), responses(
    (status = 200, body = [UserView]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<Vec<UserView>>> {
    caller.principal.require(Permission::UsersRead)?;
    let filter = UserFilter {
        role: q.role,
        query: q.q,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
    };
    let users = state.store.list_users(&filter).await?;
    let record = Event::new(&ctx, state.clock.now(), "user.list", "user")
        .by(caller.user.id, caller.user.role)
        .detail(format!("{} rows", users.len()));
    state.audit.record(record.build()).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// One account (admins).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = UserView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<UserView>> {
    caller.principal.require(Permission::UsersRead)?;
    let id: UserId = id.parse()?;
    let user = state.store.user_by_id(id).await?.ok_or(Error::NotFound)?;
    let mut record = Event::new(&ctx, state.clock.now(), "user.read", "user")
        .by(caller.user.id, caller.user.role)
        .on(id);
    if user.role == Role::Patient {
        record = record.patient(id);
    }
    state.audit.record(record.build()).await?;
    Ok(Json(user.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Changes an account's role or disables it (admins; not their own).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)), request_body = UserPatch, responses(
    (status = 200, body = UserView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> AppResult<Json<UserView>> {
    caller.principal.require(Permission::UsersWrite)?;
    let id: UserId = id.parse()?;
    if body.role.is_none() && body.disabled.is_none() {
        return Err(Error::invalid("body", "give role or disabled").into());
    }
    if let Some(role) = body.role {
        admin::change_role(&state, &ctx, &caller.principal, id, role).await?;
    }
    if let Some(disabled) = body.disabled {
        admin::set_disabled(&state, &ctx, &caller.principal, id, disabled).await?;
    }
    let user = state.store.user_by_id(id).await?.ok_or(Error::NotFound)?;
    Ok(Json(user.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StorageQuery {
    /// How many of the people storing the most to list (1 to 500; 50 by default).
    pub limit: Option<i64>,
}

/// The clinic's stored files, and who stores the most against their quota (admins).
#[utoipa::path(get, path = "/api/v1/storage", tag = "admin", security(("bearer" = [])), params(StorageQuery), responses(
    (status = 200, body = crate::quotas::StorageReport), (status = 400, description = "limit outside 1 to 500", body = crate::error::ErrorBody),
    (status = 403, body = crate::error::ErrorBody)))]
pub async fn storage(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<StorageQuery>,
) -> AppResult<Json<crate::quotas::StorageReport>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "limit must be between 1 and 500").into());
    }
    Ok(Json(
        crate::quotas::report(&state, &ctx, &caller.principal, limit).await?,
    ))
}
