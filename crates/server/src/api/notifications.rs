//! The caller's in-app notifications.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::ApiUser;
use crate::error::AppResult;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: String,
    /// What happened, e.g. `visit.booked`, `visit.reminder`, `visit.cancelled`.
    pub kind: String,
    /// What it is about (an appointment id for visit notices).
    pub subject_id: Option<String>,
    /// The time of what it is about (a visit's start).
    pub subject_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
}

/// The caller's newest 100 notifications.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = [NotificationView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<NotificationView>>> {
    let list = state
        .store
        .notifications(caller.principal.user_id, 100)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                subject_id: n.subject_id,
                subject_at: n.subject_at,
                created_at: n.created_at,
                read: n.read_at.is_some(),
            })
            .collect(),
    ))
}

/// Marks all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = MarkedRead)))]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<MarkedRead>> {
    let marked = state
        .store
        .mark_notifications_read(caller.principal.user_id, state.clock.now())
        .await?;
    Ok(Json(MarkedRead { marked }))
}
