//! The notification center: the list (newest first), the unread badge the navigation
//! refreshes live, and the choice of email per group (in-app always).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::Role;
use telemed_store::notifications::EMAIL_GROUPS;

use super::booking::local;
use super::pages::{render, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
use crate::AppState;

struct NotificationRow {
    text: &'static str,
    about: String,
    link: String,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage<'a> {
    page: &'a Page,
    rows: Vec<NotificationRow>,
}

pub async fn notifications(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/notifications");
    let tz = w.ctx.time_zone;
    let t = page.t;
    let link = if me.role() == Role::Patient {
        "/appointments"
    } else {
        "/calendar"
    };
    let rows = state
        .store
        .notifications(me.user.id, 100)
        .await?
        .into_iter()
        .map(|n| NotificationRow {
            text: match n.kind.as_str() {
                "visit.booked" => t.note_booked,
                "visit.reminder" => t.note_reminder,
                "visit.cancelled" => t.note_cancelled,
                "visit.rescheduled" => t.note_rescheduled,
                "visit.patient_cancelled" => t.note_patient_cancelled,
                "visit.patient_rescheduled" => t.note_patient_rescheduled,
                "visit.patient_booked" => t.note_patient_booked,
                "visit.start_now" => t.note_start_now,
                "message.new" => t.note_message,
                "message.routed" => t.note_routed,
                "record.emergency_access" => t.note_emergency_access,
                crate::renewals::RENEWAL_REQUESTED => t.note_renewal_requested,
                crate::renewals::RENEWAL_ANSWERED => t.note_renewal_answered,
                _ => t.note_other,
            },
            about: n
                .subject_at
                .map(|s| dates::moment(t, tz, s, Day::Short))
                .unwrap_or_default(),
            link: match (n.subject_at, me.role()) {
                _ if n.kind == "record.emergency_access" => "/account/access-log".to_owned(),
                _ if n.kind == "visit.start_now" => {
                    format!("/visits/{}/room", n.subject_id.clone().unwrap_or_default())
                }
                _ if n.kind.starts_with("prescription.renewal") => format!(
                    "/patients/{}/chart#prescriptions",
                    n.subject_id.clone().unwrap_or_default()
                ),
                _ if n.kind.starts_with("message.") => {
                    format!("/messages/{}", n.subject_id.clone().unwrap_or_default())
                }
                (Some(s), Role::Clinician | Role::Staff) => {
                    format!("/calendar?day={}", local(tz, s, "%Y-%m-%d"))
                }
                _ => link.to_owned(),
            },
            at: dates::moment(t, tz, n.created_at, Day::PlainNoYear),
            unread: n.read_at.is_none(),
        })
        .collect();
    Ok(render(&NotificationsPage { page: &page, rows }))
}

pub async fn mark_notifications_read(
    State(state): State<AppState>,
    me: SignedIn,
) -> AppResult<Response> {
    state
        .store
        .mark_notifications_read(me.user.id, state.clock.now())
        .await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// The navigation link's text with the unread count, refreshed by htmx.
pub async fn notifications_badge(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/notifications");
    let unread = state.store.unread_notifications(me.user.id).await?;
    let text = if unread > 0 {
        format!("{} ({unread})", page.t.nav_notifications)
    } else {
        page.t.nav_notifications.to_owned()
    };
    Ok(text.into_response())
}

struct PreferenceRow {
    group: &'static str,
    label: &'static str,
    on: bool,
}

#[derive(Template)]
#[template(path = "notification_prefs.html")]
struct PreferencesPage<'a> {
    page: &'a Page,
    rows: Vec<PreferenceRow>,
    saved: bool,
}

async fn preferences_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    saved: bool,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/account/notifications");
    let rows = state
        .store
        .email_preferences(me.user.id)
        .await?
        .into_iter()
        .map(|(group, on)| PreferenceRow {
            group,
            label: if group == "visits" {
                page.t.email_visits
            } else {
                page.t.email_messages
            },
            on,
        })
        .collect();
    Ok(render(&PreferencesPage {
        page: &page,
        rows,
        saved,
    }))
}

pub async fn preferences(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    preferences_page(&state, &w, &me, false).await
}

/// Checked boxes arrive as `group=on`; an unchecked box is simply absent.
#[derive(Deserialize, Default)]
pub struct PreferencesForm {
    #[serde(default)]
    visits: Option<String>,
    #[serde(default)]
    messages: Option<String>,
}

pub async fn save_preferences(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<PreferencesForm>,
) -> AppResult<Response> {
    let mut tx = state.store.begin_write().await?;
    for group in EMAIL_GROUPS {
        let on = match group {
            "visits" => form.visits.is_some(),
            _ => form.messages.is_some(),
        };
        telemed_store::notifications::set_email(&mut tx, me.user.id, group, on).await?;
    }
    telemed_store::DbResult::db(tx.commit().await)?;
    preferences_page(&state, &w, &me, true).await
}
