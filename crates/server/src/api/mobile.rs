//! The caller's mobile number for text messages: typed, confirmed by a code sent to it,
//! removed. The same steps as the account's notification page (`accounts::mobile`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::accounts::mobile;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MobileView {
    /// The confirmed number texts go to (E.164), if any.
    pub confirmed: Option<String>,
    /// A number sent a code and not yet confirmed.
    pub pending: Option<String>,
    /// Whether the clinic sends text messages at all.
    pub texts: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMobile {
    /// The number, international form: `+34 600 123 456`.
    pub number: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MobileCode {
    /// The six digits texted to the pending number.
    pub code: String,
}

async fn view(state: &AppState, caller: &ApiUser) -> AppResult<Json<MobileView>> {
    let m = state.store.mobile(caller.user.id).await?;
    Ok(Json(MobileView {
        confirmed: m.confirmed,
        pending: m.pending,
        texts: state.config.sms.is_some(),
    }))
}

/// The caller's mobile number.
#[utoipa::path(get, path = "/api/v1/me/mobile", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = MobileView)))]
pub async fn get(State(state): State<AppState>, caller: ApiUser) -> AppResult<Json<MobileView>> {
    view(&state, &caller).await
}

/// Texts a code to `number`; it becomes the caller's once confirmed. At most five
/// codes an hour.
#[utoipa::path(post, path = "/api/v1/me/mobile", tag = "account", security(("bearer" = [])), request_body = NewMobile,
    responses((status = 202, body = MobileView), (status = 400, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    super::ApiJson(body): super::ApiJson<NewMobile>,
) -> AppResult<(StatusCode, Json<MobileView>)> {
    mobile::send_code(&state, &ctx, &caller.user, &body.number).await?;
    Ok((StatusCode::ACCEPTED, view(&state, &caller).await?))
}

/// Confirms the pending number with the code texted to it.
#[utoipa::path(post, path = "/api/v1/me/mobile/confirm", tag = "account", security(("bearer" = [])), request_body = MobileCode,
    responses((status = 200, body = MobileView), (status = 400, body = crate::error::ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    super::ApiJson(body): super::ApiJson<MobileCode>,
) -> AppResult<Json<MobileView>> {
    mobile::confirm(&state, &ctx, &caller.user, &body.code).await?;
    view(&state, &caller).await
}

/// Removes the number (confirmed or pending); texts stop.
#[utoipa::path(delete, path = "/api/v1/me/mobile", tag = "account", security(("bearer" = [])),
    responses((status = 204, description = "removed")))]
pub async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
) -> AppResult<StatusCode> {
    mobile::remove(&state, &ctx, &caller.user).await?;
    Ok(StatusCode::NO_CONTENT)
}
