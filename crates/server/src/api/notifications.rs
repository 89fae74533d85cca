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

#[derive(Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailPreference {
    /// `visits` (confirmations, reminders, changes) or `messages` (new secure messages).
    #[schema(pattern = "^(visits|messages)$")]
    pub group: String,
    /// Whether these also come by email (in-app notifications always happen).
    pub email: bool,
}

/// The caller's email choices per notification group.
#[utoipa::path(get, path = "/api/v1/notification-preferences", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = [EmailPreference])))]
pub async fn preferences(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<EmailPreference>>> {
    let list = state
        .store
        .email_preferences(caller.principal.user_id)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|(group, email)| EmailPreference {
                group: group.to_owned(),
                email,
            })
            .collect(),
    ))
}

/// Sets email choices; groups left out keep theirs.
#[utoipa::path(put, path = "/api/v1/notification-preferences", tag = "account", security(("bearer" = [])), request_body = [EmailPreference],
    responses((status = 200, body = [EmailPreference]), (status = 400, body = crate::error::ErrorBody)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    caller: ApiUser,
    super::ApiJson(body): super::ApiJson<Vec<EmailPreference>>,
) -> AppResult<Json<Vec<EmailPreference>>> {
    let groups = telemed_store::notifications::EMAIL_GROUPS;
    if let Some(bad) = body.iter().find(|p| !groups.contains(&p.group.as_str())) {
        return Err(telemed_domain::Error::invalid(
            "group",
            format!("unknown group {:?}; use visits or messages", bad.group),
        )
        .into());
    }
    let mut tx = state.store.begin_write().await?;
    for p in &body {
        telemed_store::notifications::set_email(
            &mut tx,
            caller.principal.user_id,
            &p.group,
            p.email,
        )
        .await?;
    }
    telemed_store::DbResult::db(tx.commit().await)?;
    preferences(State(state), caller).await
}
