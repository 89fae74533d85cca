//! The caller's in-app notifications.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use telemed_domain::Error;
use telemed_store::notifications::{self, Channel, SMS_GROUPS};

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
pub struct NoticePreference {
    /// `visits` (confirmations, reminders, changes), `messages` (new secure messages) or,
    /// for patients, `codes` (sign-in codes).
    #[schema(pattern = "^(visits|messages|codes)$")]
    pub group: String,
    /// Whether these also come by email (in-app notifications always happen).
    pub email: bool,
    /// Whether these also come by text message, to the confirmed mobile number; only
    /// `visits` and `codes` can. Left out of a change, the choice stays as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<bool>,
}

/// The caller's choices per notification group: email, and text where it can.
#[utoipa::path(get, path = "/api/v1/notification-preferences", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = [NoticePreference])))]
pub async fn preferences(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<NoticePreference>>> {
    let choices = state
        .store
        .notice_choices(caller.user.id, caller.user.role)
        .await?;
    Ok(Json(
        choices
            .into_iter()
            .map(|c| NoticePreference {
                group: c.group.to_owned(),
                email: c.email,
                sms: c.sms,
            })
            .collect(),
    ))
}

/// Sets the choices given; groups left out keep theirs, and so does a group's text
/// choice when `sms` is left out. Nothing changes when one of them is refused.
#[utoipa::path(put, path = "/api/v1/notification-preferences", tag = "account", security(("bearer" = [])), request_body = [NoticePreference],
    responses((status = 200, body = [NoticePreference]), (status = 400, body = crate::error::ErrorBody)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    caller: ApiUser,
    super::ApiJson(body): super::ApiJson<Vec<NoticePreference>>,
) -> AppResult<Json<Vec<NoticePreference>>> {
    let groups: Vec<_> = notifications::groups_for(caller.user.role).collect();
    for p in &body {
        if !groups.contains(&p.group.as_str()) {
            return Err(Error::invalid(
                "group",
                format!(
                    "unknown group {:?}; use one of {}",
                    p.group,
                    groups.join(", ")
                ),
            )
            .into());
        }
        if p.sms.is_some() && !SMS_GROUPS.contains(&p.group.as_str()) {
            return Err(
                Error::invalid("sms", format!("{} do not come by text message", p.group)).into(),
            );
        }
    }
    let user = caller.user.id;
    let mut tx = state.store.begin_write().await?;
    for p in &body {
        notifications::choose(&mut tx, user, &p.group, Channel::Email, p.email).await?;
        if let Some(on) = p.sms {
            notifications::choose(&mut tx, user, &p.group, Channel::Sms, on).await?;
        }
    }
    telemed_store::DbResult::db(tx.commit().await)?;
    preferences(State(state), caller).await
}
