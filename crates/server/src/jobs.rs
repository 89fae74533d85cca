//! Background jobs from the persistent queue (`telemed_store::jobs`): visit
//! confirmations, reminders and cancellation notices, each an email with an iCalendar
//! attachment. `run_due` does one pass (tests call it after moving the clock);
//! `run_worker` repeats it for the life of the server.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use telemed_domain::{AppointmentId, Error, Result};
use telemed_store::jobs::{self, Job};
use telemed_store::{Conn, DbResult as _};

use crate::i18n::Lang;
use crate::ical::{calendar, CalendarEvent};
use crate::mail::{self, Mail, VisitNotice};
use crate::AppState;

pub const VISIT_NOTICE: &str = "visit.notice";
pub const NOSHOW_CHECK: &str = "visit.noshow_check";
const MAX_ATTEMPTS: i64 = 8;

#[derive(Serialize, Deserialize)]
struct NoshowPayload {
    appointment: AppointmentId,
}

#[derive(Serialize, Deserialize)]
struct NoticePayload {
    appointment: AppointmentId,
    notice: VisitNotice,
}

/// Queues the confirmation now and the reminders before the visit, in the booking's
/// transaction. Dedup keys make each exist once.
pub async fn schedule_visit_notices(
    state: &AppState,
    conn: &mut Conn,
    id: AppointmentId,
    start: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let now = state.clock.now();
    queue_notice(conn, id, VisitNotice::Booked, now, None, now).await?;
    let noshow_at = start + Duration::minutes(state.config.scheduling.noshow_grace_minutes);
    let payload =
        serde_json::to_string(&NoshowPayload { appointment: id }).map_err(Error::internal)?;
    jobs::enqueue(
        conn,
        NOSHOW_CHECK,
        &payload,
        noshow_at,
        Some(&format!("noshow:{id}")),
        now,
    )
    .await?;
    for hours in &state.config.scheduling.reminder_hours {
        let at = start - Duration::hours(*hours);
        if at > now {
            queue_notice(
                conn,
                id,
                VisitNotice::Reminder,
                at,
                Some(format!("reminder:{id}:{hours}")),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn queue_notice(
    conn: &mut Conn,
    appointment: AppointmentId,
    notice: VisitNotice,
    run_at: chrono::DateTime<chrono::Utc>,
    dedup: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let payload = serde_json::to_string(&NoticePayload {
        appointment,
        notice,
    })
    .map_err(Error::internal)?;
    jobs::enqueue(conn, VISIT_NOTICE, &payload, run_at, dedup.as_deref(), now).await
}

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
    }
    Ok(count)
}

pub async fn run_worker(state: AppState) {
    loop {
        if let Err(e) = run_due(&state).await {
            tracing::error!(error = ?e, "running due jobs failed");
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
            send_visit_notice(state, payload).await
        }
        NOSHOW_CHECK => {
            let payload: NoshowPayload =
                serde_json::from_str(&job.payload).map_err(Error::internal)?;
            crate::scheduling::mark_noshow(state, payload.appointment).await
        }
        other => Err(Error::internal(format!("unknown job kind {other}"))),
    }
}

/// The calendar event of a visit, as patients and feeds see it: a time and a link, no
/// clinical detail (calendar apps sync to third parties).
pub fn visit_event(
    state: &AppState,
    a: &telemed_store::scheduling::Appointment,
    path: &str,
) -> CalendarEvent {
    let cancelled = !a.status.is_active();
    CalendarEvent {
        uid: format!("{}@telemed", a.id),
        start: a.start_at,
        end: a.end_at,
        summary: "telemed visit".into(),
        url: format!("{}{path}", state.config.public_url),
        cancelled,
        sequence: u32::from(cancelled),
    }
}

async fn send_visit_notice(state: &AppState, p: NoticePayload) -> Result<()> {
    let Some(a) = state.store.appointment(p.appointment).await? else {
        return Ok(());
    };
    // A reminder for a visit that no longer holds its time is dropped.
    if p.notice == VisitNotice::Reminder && !a.status.is_active() {
        return Ok(());
    }
    let patient = state
        .store
        .user_by_id(a.patient_id)
        .await?
        .ok_or(Error::NotFound)?;
    let zone = state
        .store
        .clinician_profile(a.clinician_id)
        .await?
        .map(|c| c.availability.time_zone)
        .unwrap_or(chrono_tz::Tz::UTC);
    let when = format!(
        "{} ({})",
        a.start_at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
        zone.name()
    );
    let link = format!("{}/appointments", state.config.public_url);
    let now = state.clock.now();
    let event = visit_event(state, &a, "/appointments");
    let method = if p.notice == VisitNotice::Cancelled {
        "CANCEL"
    } else {
        "REQUEST"
    };
    let ics = calendar("telemed", Some(method), &[event], now);
    let lang = Lang::from_code(&patient.locale).unwrap_or(Lang::En);
    let mut tx = state.store.begin_write().await?;
    mail::enqueue_with_calendar(
        &mut tx,
        &patient.email,
        Mail::Visit {
            notice: p.notice,
            when: &when,
            link: &link,
        },
        Some(&ics),
        lang,
        now,
    )
    .await?;
    tx.commit().await.db()
}
