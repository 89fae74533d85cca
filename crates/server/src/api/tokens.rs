//! The caller's personal access tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::{ApiTokenId, Permission};

use super::ApiJson;
use crate::accounts::api_tokens::{self, NewToken};
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: ApiTokenId,
    pub name: String,
    pub scopes: Vec<Permission>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<telemed_store::tokens::ApiToken> for TokenView {
    fn from(t: telemed_store::tokens::ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// 1 to 80 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// Scopes no wider than the calling token's.
    #[schema(min_items = 1)]
    pub scopes: Vec<Permission>,
    /// Lifetime in days, 1 to 366.
    #[schema(minimum = 1, maximum = 366)]
    pub days: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    /// The secret, shown this once.
    pub secret: String,
}

/// The caller's live tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "account", security(("bearer" = [])), responses((status = 200, body = [TokenView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<TokenView>>> {
    let tokens = state
        .store
        .live_api_tokens_of(caller.user.id, state.clock.now())
        .await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Creates a token with scopes no wider than the calling token's.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "account", security(("bearer" = [])), request_body = NewTokenBody, responses(
    (status = 201, body = CreatedToken), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> AppResult<(StatusCode, Json<CreatedToken>)> {
    let (id, secret) = api_tokens::create(
        &state,
        &ctx,
        &caller.principal,
        NewToken {
            name: &body.name,
            scopes: body.scopes,
            days: body.days,
        },
    )
    .await?;
    let token = state
        .store
        .live_api_tokens_of(caller.user.id, state.clock.now())
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| telemed_domain::Error::internal("created token not found"))?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: token.into(),
            secret,
        }),
    ))
}

/// Revokes one of the caller's tokens at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "account", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id: ApiTokenId = id.parse()?;
    api_tokens::revoke(&state, &ctx, &caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
