//! The notification center: the list (newest first), the unread badge the navigation
//! refreshes live, and how notices come besides in the app: email per group, text
//! messages per group once a mobile number is confirmed (`accounts::mobile`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::{Error, Role};
use telemed_store::notifications::{self, NoticeChoice};

use super::booking::local;
use super::pages::{render, render_with, Page};
use super::WebCtx;
use crate::accounts::mobile;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::args;
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
    choice: NoticeChoice,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "notification_prefs.html")]
struct PreferencesPage<'a> {
    page: &'a Page,
    rows: Vec<PreferenceRow>,
    notice: Option<String>,
    error: Option<String>,
    /// Whether the clinic sends text messages at all.
    texts: bool,
    /// "Texts go to +34…", or that none is confirmed.
    confirmed: String,
    has_number: bool,
    /// The sentence asking for the code sent to a number typed, while one waits.
    waiting: Option<String>,
}

/// What the preferences page says after an action.
enum Said {
    Nothing,
    Saved,
    Removed,
    Refused(Error),
}

async fn preferences_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    said: Said,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/account/notifications");
    let t = page.t;
    let user = me.user.id;
    let rows = state
        .store
        .notice_choices(user, me.user.role)
        .await?
        .into_iter()
        .map(|choice| PreferenceRow {
            label: match choice.group {
                "visits" => t.email_visits,
                "messages" => t.email_messages,
                _ => t.prefs_codes,
            },
            choice,
        })
        .collect();
    let mobile = state.store.mobile(user).await?;
    let (notice, error, status) = match said {
        Said::Nothing => (None, None, StatusCode::OK),
        Said::Saved => (Some(t.saved.to_owned()), None, StatusCode::OK),
        Said::Removed => (Some(t.mobile_removed.to_owned()), None, StatusCode::OK),
        Said::Refused(e) => (
            None,
            Some(page.form_error(&e)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let confirmed = match &mobile.confirmed {
        Some(number) => t.mobile_confirmed(args::MobileConfirmed {
            number: number.as_str().into(),
        }),
        None => t.mobile_none.to_owned(),
    };
    let waiting = mobile.pending.as_deref().map(|number| {
        t.mobile_code_sent(args::MobileCodeSent {
            number: number.into(),
        })
    });
    Ok(render_with(
        status,
        &PreferencesPage {
            page: &page,
            rows,
            notice,
            error,
            texts: state.config.sms.is_some(),
            confirmed,
            has_number: mobile.confirmed.is_some() || mobile.pending.is_some(),
            waiting,
        },
    ))
}

pub async fn preferences(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    preferences_page(&state, &w, &me, Said::Nothing).await
}

/// Checked boxes arrive as `group=on` (email) and `group_sms=on`; an unchecked box is
/// simply absent.
#[derive(Deserialize, Default)]
pub struct PreferencesForm {
    #[serde(default)]
    visits: Option<String>,
    #[serde(default)]
    messages: Option<String>,
    #[serde(default)]
    codes: Option<String>,
    #[serde(default)]
    visits_sms: Option<String>,
    #[serde(default)]
    codes_sms: Option<String>,
}

pub async fn save_preferences(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<PreferencesForm>,
) -> AppResult<Response> {
    let user = me.user.id;
    let mut tx = state.store.begin_write().await?;
    for (group, on) in [
        ("visits", form.visits.is_some()),
        ("messages", form.messages.is_some()),
        ("codes", form.codes.is_some()),
    ] {
        notifications::set_email(&mut tx, user, group, on).await?;
    }
    for (group, on) in [
        ("visits", form.visits_sms.is_some()),
        ("codes", form.codes_sms.is_some()),
    ] {
        notifications::choose(&mut tx, user, group, notifications::Channel::Sms, on).await?;
    }
    telemed_store::DbResult::db(tx.commit().await)?;
    preferences_page(&state, &w, &me, Said::Saved).await
}

#[derive(Deserialize)]
pub struct MobileForm {
    #[serde(default)]
    mobile: String,
}

/// Sends a code to the number typed.
pub async fn send_mobile_code(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<MobileForm>,
) -> AppResult<Response> {
    let said = match mobile::send_code(&state, &w.ctx, &me.user, &form.mobile).await {
        Ok(()) => Said::Nothing,
        Err(e @ (Error::Invalid { .. } | Error::RateLimited { .. })) => Said::Refused(e),
        Err(e) => return Err(e.into()),
    };
    preferences_page(&state, &w, &me, said).await
}

#[derive(Deserialize)]
pub struct MobileCodeForm {
    #[serde(default)]
    code: String,
}

/// Confirms the waiting number with the code from its text.
pub async fn confirm_mobile(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<MobileCodeForm>,
) -> AppResult<Response> {
    let said = match mobile::confirm(&state, &w.ctx, &me.user, &form.code).await {
        Ok(()) => Said::Saved,
        Err(e @ Error::Invalid { .. }) => Said::Refused(e),
        Err(e) => return Err(e.into()),
    };
    preferences_page(&state, &w, &me, said).await
}

/// Forgets the number.
pub async fn remove_mobile(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    mobile::remove(&state, &w.ctx, &me.user).await?;
    preferences_page(&state, &w, &me, Said::Removed).await
}
