//! Background jobs from the persistent queue (`telemed_store::jobs`): visit
//! confirmations, reminders and cancellation notices, each an email with an iCalendar
//! attachment. `run_due` does one pass (tests call it after moving the clock);
//! `run_worker` repeats it for the life of the server.

use std::time::Duration as StdDuration;

use chrono::Duration;
use telemed_domain::access::{self, SystemTask};
use telemed_domain::{Error, Result};
use telemed_store::jobs::Job;
use telemed_store::notifications::{self, NewNotification};
use telemed_store::DbResult as _;

use crate::i18n::Lang;
use crate::ical::{calendar, CalendarEvent};
use crate::mail::{self, Mail, VisitNotice};
use crate::realtime::{Envelope, LiveEvent};
use crate::visit_notices::{NoshowPayload, NoticePayload, NOSHOW_CHECK, VISIT_NOTICE};
use crate::AppState;

const MAX_ATTEMPTS: i64 = 8;

/// Runs every job due now once; returns how many ran.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let now = state.clock.now();
    let due = state
        .store
        .claim_due_jobs(now, Duration::minutes(5), 50)
        .await?;
    let count = due.len();
    for job in due {
        match run_job(state, &job).await {
            Ok(()) => state.store.complete_job(&job.id, state.clock.now()).await?,
            Err(e) => {
                let detail = match &e {
                    Error::Internal(d) => d.clone(),
                    other => other.to_string(),
                };
                tracing::warn!(kind = %job.kind, attempt = job.attempts, "job failed; will retry");
                let retry =
                    state.clock.now() + Duration::seconds(30 * (1i64 << job.attempts.clamp(0, 8)));
                state
                    .store
                    .fail_job(&job, &detail, retry, MAX_ATTEMPTS, state.clock.now())
                    .await?;
            }
        }
    }
    if count > 0 {
        state.mail_wake.notify_one();
        state.sms_wake.notify_one();
    }
    Ok(count)
}

pub async fn run_worker(state: AppState) {
    loop {
        match run_due(&state).await {
            // Logged by the store, once in a while, while the outage lasts.
            Ok(_) | Err(telemed_domain::Error::Unavailable { .. }) => {}
            Err(e) => tracing::error!(error = ?e, "running due jobs failed"),
        }
        tokio::select! {
            _ = state.jobs_wake.notified() => {}
            _ = tokio::time::sleep(StdDuration::from_secs(5)) => {}
        }
    }
}

async fn run_job(state: &AppState, job: &Job) -> Result<()> {
    match job.kind.as_str() {
        VISIT_NOTICE => {
            let payload: NoticePayload =
                serde_json::from_str(&job.payload).map_err(Error::internal)?;
            send_visit_notice(state, &job.id, payload).await
        }
        NOSHOW_CHECK => {
            let payload: NoshowPayload =
                serde_json::from_str(&job.payload).map_err(Error::internal)?;
            crate::scheduling::mark_noshow(state, payload.appointment, payload.grace_minutes).await
        }
        crate::sending::SEND_PRESCRIPTION => {
            crate::sending::run(state, &job.payload, job.attempts).await
        }
        other => Err(Error::internal(format!("unknown job kind {other}"))),
    }
}

/// The calendar event of a visit, as patients and feeds see it: a time and a link, no
/// clinical detail (calendar apps sync to third parties). Its sequence grows with each
/// move or cancellation, so calendar apps apply it over the earlier invitation.
pub fn visit_event(
    state: &AppState,
    a: &telemed_store::scheduling::Appointment,
    path: &str,
) -> CalendarEvent {
    CalendarEvent {
        uid: format!("{}@telemed", a.id),
        start: a.start_at,
        end: a.end_at,
        summary: "telemed visit".into(),
        url: format!("{}{path}", state.config.public_url),
        cancelled: !a.status.is_active(),
        sequence: u32::try_from(a.sequence).unwrap_or(u32::MAX),
        organizer: organizer(state),
        attendee: None,
    }
}

/// The clinic as the organizer of its visits: the address its emails come from (in the
/// demo, without SMTP, a no-reply address at its own host).
fn organizer(state: &AppState) -> (Option<String>, String) {
    let from = state
        .config
        .smtp
        .as_ref()
        .and_then(|s| s.from.parse::<lettre::message::Mailbox>().ok());
    match from {
        Some(m) => (m.name.filter(|n| !n.is_empty()), m.email.to_string()),
        None => {
            let host = state
                .config
                .public_url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split(['/', ':']).next())
                .filter(|h| !h.is_empty())
                .unwrap_or("localhost");
            (Some("telemed".into()), format!("noreply@{host}"))
        }
    }
}

/// Emails the notice (with an .ics) and leaves an in-app notification, in one
/// transaction; `job_id` keeps a retried job from notifying twice.
async fn send_visit_notice(state: &AppState, job_id: &str, p: NoticePayload) -> Result<()> {
    let reach = access::system_visits(SystemTask::Scheduling);
    let Some(a) = state.store.appointment(&reach, p.appointment).await? else {
        return Ok(());
    };
    // A reminder for a visit that no longer holds that time is dropped.
    if p.notice == VisitNotice::Reminder
        && (!a.status.is_active() || p.start.is_some_and(|s| s != a.start_at))
    {
        return Ok(());
    }
    let recipient_id = if p.notice.to_clinician() {
        a.clinician_id
    } else {
        a.patient_id
    };
    let recipient = state
        .store
        .user_by_id(recipient_id)
        .await?
        .ok_or(Error::NotFound)?;
    // A patient reads the time in the zone of the browser they last signed in with;
    // a clinician, and a patient who never told, in the clinician's schedule zone.
    let own_zone = recipient
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .filter(|_| !p.notice.to_clinician());
    let zone = match own_zone {
        Some(zone) => zone,
        None => crate::scheduling::clinician_zone(state, a.clinician_id).await?,
    };
    let local = a.start_at.with_timezone(&zone);
    let when = format!("{} ({})", local.format("%Y-%m-%d %H:%M"), zone.name());
    let path = if p.notice.to_clinician() {
        format!("/calendar?day={}", local.format("%Y-%m-%d"))
    } else if p.notice == VisitNotice::StartNow {
        // Signed in, the link goes straight to the room; else it offers a code by email
        // (or the password) first.
        format!("/login/code?next=/visits/{}/room", a.id)
    } else {
        "/appointments".to_owned()
    };
    let link = format!("{}{path}", state.config.public_url);
    let now = state.clock.now();
    let event = CalendarEvent {
        attendee: Some(recipient.email.to_string()),
        ..visit_event(state, &a, &path)
    };
    let method = if a.status.is_active() {
        "REQUEST"
    } else {
        "CANCEL"
    };
    let clinic = crate::clinic::current(state).await;
    let ics = calendar(&clinic.settings.name, Some(method), &[event], now);
    let lang = Lang::from_code(&recipient.locale).unwrap_or(Lang::En);
    let mut tx = state.store.begin_write().await?;
    if notifications::wants_email(&mut tx, recipient.id, "visits").await? {
        mail::enqueue_with_calendar(
            &mut tx,
            &recipient.email,
            Mail::Visit {
                notice: p.notice,
                when: &when,
                link: &link,
            },
            Some(&ics),
            clinic.letter(lang),
            now,
        )
        .await?;
    }
    let text = crate::sms::Text::Visit {
        notice: p.notice,
        when: &when,
        link: &link,
    };
    crate::sms::queue_if_wanted(
        &state.config,
        &mut tx,
        recipient.id,
        "visits",
        &text,
        clinic.letter(lang),
        now,
    )
    .await?;
    let notification = NewNotification {
        user_id: recipient.id,
        kind: p.notice.kind(),
        subject_id: Some(a.id.to_string()),
        subject_at: Some(a.start_at),
        source: Some(job_id),
    };
    notifications::notify(&mut tx, notification, now).await?;
    tx.commit().await.db()?;
    let live = Envelope {
        to: vec![recipient.id],
        guests: Vec::new(),
        event: LiveEvent::Notification {
            kind: p.notice.kind().to_owned(),
        },
    };
    state.bus.publish(live).await;
    Ok(())
}
