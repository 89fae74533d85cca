//! Visit notices as jobs in the persistent queue: what scheduling queues in its own
//! transaction when a visit is booked, moved or cancelled (the confirmation, the
//! reminders, the no-show check). The job worker (`crate::jobs`) runs them.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::{AppointmentId, Error, Result};
use telemed_store::jobs;
use telemed_store::Conn;

use crate::mail::VisitNotice;
use crate::AppState;

pub const VISIT_NOTICE: &str = "visit.notice";
pub const NOSHOW_CHECK: &str = "visit.noshow_check";
#[derive(Serialize, Deserialize)]
pub(crate) struct NoshowPayload {
    pub(crate) appointment: AppointmentId,
    /// The clinic's grace period when the check was queued (checks queued before it
    /// was kept here read the current one).
    #[serde(default)]
    pub(crate) grace_minutes: Option<i64>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct NoticePayload {
    pub(crate) appointment: AppointmentId,
    pub(crate) notice: VisitNotice,
    /// For reminders: the start they remind of. A visit moved since is not reminded.
    #[serde(default)]
    pub(crate) start: Option<DateTime<Utc>>,
}

/// Queues `first` (the confirmation, or the new-time notice) now, and the reminders and
/// no-show check of the visit at `start`, in the caller's transaction. Dedup keys name
/// the start, so each exists once per time the visit holds.
pub async fn schedule_visit_notices(
    state: &AppState,
    conn: &mut Conn,
    id: AppointmentId,
    start: DateTime<Utc>,
    first: VisitNotice,
) -> Result<()> {
    let now = state.clock.now();
    let clinic = crate::clinic::current(state).await;
    let policy = &clinic.settings;
    queue_notice(conn, id, first, now, now).await?;
    let noshow_at = start + Duration::minutes(policy.noshow_grace_minutes);
    let payload = serde_json::to_string(&NoshowPayload {
        appointment: id,
        grace_minutes: Some(policy.noshow_grace_minutes),
    })
    .map_err(Error::internal)?;
    let at = start.timestamp();
    jobs::enqueue(
        conn,
        NOSHOW_CHECK,
        &payload,
        noshow_at,
        Some(&format!("noshow:{id}:{at}")),
        now,
    )
    .await?;
    for hours in &policy.reminder_hours {
        let run_at = start - Duration::hours(*hours);
        if run_at > now {
            let payload = serde_json::to_string(&NoticePayload {
                appointment: id,
                notice: VisitNotice::Reminder,
                start: Some(start),
            })
            .map_err(Error::internal)?;
            let dedup = format!("reminder:{id}:{at}:{hours}");
            jobs::enqueue(conn, VISIT_NOTICE, &payload, run_at, Some(&dedup), now).await?;
        }
    }
    Ok(())
}

/// Queues a notice of a change that happened now.
pub async fn queue_notice(
    conn: &mut Conn,
    appointment: AppointmentId,
    notice: VisitNotice,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::to_string(&NoticePayload {
        appointment,
        notice,
        start: None,
    })
    .map_err(Error::internal)?;
    jobs::enqueue(conn, VISIT_NOTICE, &payload, run_at, None, now).await
}
