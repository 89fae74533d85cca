//! A clinician's (or the front desk's) day on their home page: today's visits with
//! their status and a way into each video room, how many patients wait now, and the
//! unread message threads with whom they are about. The panel refreshes itself when
//! the live connection says the queue or a thread changed.

use chrono::Duration;
use telemed_domain::schedule::VisitKind;
use telemed_domain::{AppointmentId, Role, UserId};
use telemed_store::scheduling::AppointmentStatus;

use super::booking::{local, local_midnight};
use super::messages::{inbox_rows, ThreadRow};
use super::pages::Page;
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
use crate::scheduling as service;
use crate::AppState;

/// How many unread threads the panel lists; the inbox has them all.
const UNREAD_SHOWN: usize = 8;

pub struct DayVisit {
    pub id: AppointmentId,
    pub when: String,
    pub patient: String,
    pub patient_id: UserId,
    /// The front desk sees whose visit it is.
    pub clinician: String,
    pub kind: &'static str,
    pub status: &'static str,
    /// Checked in and waiting.
    pub waiting: bool,
    /// A video or audio visit not over: its room is one click away.
    pub room: bool,
}

pub struct DayPanel {
    pub date: String,
    pub visits: Vec<DayVisit>,
    /// Patients checked in and waiting now.
    pub waiting: usize,
    pub unread: Vec<ThreadRow>,
    pub more_unread: bool,
    /// A clinician opens charts from here; the front desk sees the clinician's name.
    pub is_clinician: bool,
}

/// Today's panel for a clinician or the front desk; None for anyone else. Listing the
/// day's visits is audited as the calendar's list is.
pub async fn panel(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    page: &Page,
) -> AppResult<Option<DayPanel>> {
    if !matches!(me.role(), Role::Clinician | Role::Staff) {
        return Ok(None);
    }
    let tz = w.ctx.time_zone;
    let now = state.clock.now();
    let today = now.with_timezone(&tz).date_naive();
    let (from, to) = (
        local_midnight(tz, today),
        local_midnight(tz, today + Duration::days(1)),
    );
    let list = service::visits_between(state, &w.ctx, &me.principal, from, to, 200).await?;
    let people: Vec<UserId> = list
        .iter()
        .flat_map(|a| [a.patient_id, a.clinician_id])
        .collect();
    let names = state.store.names_of(&people).await?;
    let name = |id: &UserId| names.get(id).map(|n| n.0.clone()).unwrap_or_default();
    let visits: Vec<DayVisit> = list
        .into_iter()
        .filter(|a| a.status != AppointmentStatus::Cancelled)
        .map(|a| DayVisit {
            id: a.id,
            when: format!(
                "{}–{}",
                local(tz, a.start_at, "%H:%M"),
                local(tz, a.end_at, "%H:%M")
            ),
            patient: name(&a.patient_id),
            patient_id: a.patient_id,
            clinician: name(&a.clinician_id),
            kind: page.kind_name(a.visit_kind),
            status: page.status_name(a.status),
            waiting: a.status == AppointmentStatus::Arrived,
            room: a.visit_kind != VisitKind::Messaging && a.status.is_active() && a.end_at > now,
        })
        .collect();
    let mut unread: Vec<ThreadRow> = inbox_rows(state, w, me, false)
        .await?
        .into_iter()
        .filter(|t| t.unread > 0)
        .collect();
    let more_unread = unread.len() > UNREAD_SHOWN;
    unread.truncate(UNREAD_SHOWN);
    Ok(Some(DayPanel {
        date: dates::day(page.t, today, Day::Long),
        waiting: visits.iter().filter(|v| v.waiting).count(),
        visits,
        unread,
        more_unread,
        is_clinician: me.role() == Role::Clinician,
    }))
}
