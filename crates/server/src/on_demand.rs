//! On-demand visits: a patient asks to be seen now in a specialty the clinic opened a
//! queue for, states why, and waits with their place and an estimate; any clinician of
//! that specialty takes the next patient, which books a video visit starting now (the
//! patient already checked in) and opens the same room, consent and admission as a
//! booked visit. Two clinicians never take the same patient (the store's conditional
//! take); everyone concerned hears of a change over the live connection.

use chrono::Duration;
use telemed_domain::access::Principal;
use telemed_domain::schedule::VisitKind;
use telemed_domain::{AppointmentId, Error, Permission, Result, Role, UserId};
use telemed_store::on_demand::{self as store, Request};
use telemed_store::scheduling::{self as booking, AppointmentStatus, NewAppointment};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::realtime::{Envelope, LiveEvent};
use crate::AppState;

/// Where a patient stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Not waiting (never asked, withdrew, or their visit is over).
    Away,
    Waiting {
        specialty: String,
        /// 1 for the next one to be taken.
        place: usize,
        of: usize,
        /// A rough wait: the visits ahead at the clinic's video length, shared among
        /// the specialty's clinicians.
        estimate_minutes: i64,
    },
    /// A clinician took them: the visit's room is open.
    Taken { visit: AppointmentId },
}

fn patient_of(principal: &Principal) -> Result<UserId> {
    principal.require(Permission::Appointments)?;
    if principal.role != Role::Patient {
        return Err(Error::Forbidden);
    }
    Ok(principal.user_id)
}

/// The specialties a patient may ask to be seen now in.
pub async fn specialties(state: &AppState) -> Vec<String> {
    crate::clinic::current(state)
        .await
        .settings
        .on_demand
        .clone()
}

/// The patient joins the `specialty` queue, saying why (audited).
pub async fn join(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    specialty: &str,
    reason: &str,
) -> Result<Standing> {
    let patient = patient_of(principal)?;
    let clinic = crate::clinic::current(state).await;
    let queue = clinic
        .settings
        .on_demand_queue(specialty)
        .ok_or_else(|| {
            Error::invalid(
                "specialty",
                "the clinic does not see patients on demand in that specialty",
            )
        })?
        .to_owned();
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > 500
        || reason.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(Error::invalid(
            "reason",
            "say why you want to be seen, in up to 500 characters",
        ));
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    store::join(change.tx(), patient, &queue, reason, now).await?;
    change.audit(
        Event::new(ctx, now, "appointment.on_demand.join", "appointment")
            .by(patient, Role::Patient)
            .patient(patient)
            .detail(queue.clone()),
    );
    change.commit().await?;
    announce(state, &queue, &[]).await;
    standing(state, principal).await
}

/// The patient leaves the queue they wait in (audited); nothing when they wait in none.
pub async fn withdraw(state: &AppState, ctx: &Ctx, principal: &Principal) -> Result<()> {
    let patient = patient_of(principal)?;
    let Some(waiting) = state
        .store
        .latest_on_demand(patient)
        .await?
        .filter(|r| r.status == "waiting")
    else {
        return Ok(());
    };
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if store::withdraw(change.tx(), patient, now).await? {
        change.audit(
            Event::new(ctx, now, "appointment.on_demand.withdraw", "appointment")
                .by(patient, Role::Patient)
                .patient(patient),
        );
        change.commit().await?;
        announce(state, &waiting.specialty, &[]).await;
        Ok(())
    } else {
        change.rollback().await
    }
}

/// Where the patient stands now.
pub async fn standing(state: &AppState, principal: &Principal) -> Result<Standing> {
    let patient = patient_of(principal)?;
    let Some(latest) = state.store.latest_on_demand(patient).await? else {
        return Ok(Standing::Away);
    };
    match latest.status.as_str() {
        "waiting" => {
            let queue = state.store.on_demand_queue(&latest.specialty).await?;
            let place = queue
                .iter()
                .position(|r| r.id == latest.id)
                .map_or(1, |i| i + 1);
            let clinicians = clinicians_of(state, &latest.specialty).await?.len().max(1);
            let minutes = visit_minutes(state).await;
            let ahead = i64::try_from(place).unwrap_or(i64::MAX);
            let shared = i64::try_from(clinicians).unwrap_or(1);
            Ok(Standing::Waiting {
                specialty: latest.specialty,
                place,
                of: queue.len(),
                estimate_minutes: (ahead * minutes + shared - 1) / shared,
            })
        }
        "taken" => {
            let Some(visit) = latest.appointment_id else {
                return Ok(Standing::Away);
            };
            let reach = telemed_domain::access::visit_party(patient);
            let open = state
                .store
                .appointment(&reach, visit)
                .await?
                .is_some_and(|a| a.status.is_active() && a.end_at > state.clock.now());
            Ok(if open {
                Standing::Taken { visit }
            } else {
                Standing::Away
            })
        }
        _ => Ok(Standing::Away),
    }
}

/// How long an on-demand visit is booked for: the clinic's video length.
async fn visit_minutes(state: &AppState) -> i64 {
    crate::clinic::current(state)
        .await
        .settings
        .visits
        .iter()
        .find(|v| v.kind == VisitKind::Video)
        .map_or(30, |v| v.duration_minutes)
}

/// The active clinicians whose specialty is `queue`.
async fn clinicians_of(state: &AppState, queue: &str) -> Result<Vec<UserId>> {
    state.store.clinicians_with_specialty(queue).await
}

/// The queue a clinician takes from: their specialty's, if the clinic opened one.
async fn queue_of_clinician(state: &AppState, clinician: UserId) -> Result<Option<String>> {
    let Some(specialty) = state.store.specialty_of(clinician).await? else {
        return Ok(None);
    };
    let clinic = crate::clinic::current(state).await;
    Ok(clinic
        .settings
        .on_demand_queue(&specialty)
        .map(str::to_owned))
}

/// One waiting patient as a clinician sees them.
pub struct WaitingPatient {
    pub patient: UserId,
    pub name: String,
    pub reason: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// The queue a clinician takes from, longest waiting first (audited as a list of
/// visits); None when their specialty has none.
pub async fn queue(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
) -> Result<Option<(String, Vec<WaitingPatient>)>> {
    principal.require(Permission::Appointments)?;
    if principal.role != Role::Clinician {
        return Err(Error::Forbidden);
    }
    let Some(queue) = queue_of_clinician(state, principal.user_id).await? else {
        return Ok(None);
    };
    let waiting = state.store.on_demand_queue(&queue).await?;
    let ids: Vec<UserId> = waiting.iter().map(|r| r.patient_id).collect();
    let names = state.store.names_of(&ids).await?;
    let record = Event::new(
        ctx,
        state.clock.now(),
        "appointment.on_demand.list",
        "appointment",
    )
    .by(principal.user_id, principal.role)
    .detail(format!("{} waiting", waiting.len()));
    state.audit.record(record.build()).await?;
    let patients = waiting
        .into_iter()
        .map(|r: Request| WaitingPatient {
            patient: r.patient_id,
            name: names
                .get(&r.patient_id)
                .map(|n| n.0.clone())
                .unwrap_or_default(),
            reason: r.reason,
            since: r.created_at,
        })
        .collect();
    Ok(Some((queue, patients)))
}

/// The clinician takes the longest-waiting patient of their specialty: a video visit
/// from now, the patient checked in, both told. Nobody waiting, or the clinician
/// already busy (a visit booked within the visit's length), is a conflict.
pub async fn take_next(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
) -> Result<AppointmentId> {
    principal.require(Permission::Appointments)?;
    if principal.role != Role::Clinician {
        return Err(Error::Forbidden);
    }
    let clinician = principal.user_id;
    let queue = queue_of_clinician(state, clinician).await?.ok_or_else(|| {
        Error::Conflict("your specialty has no on-demand queue at this clinic".into())
    })?;
    let minutes = visit_minutes(state).await;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let Some(request) = store::take_next(change.tx(), &queue, clinician, now).await? else {
        change.rollback().await?;
        return Err(Error::Conflict("nobody is waiting to be seen now".into()));
    };
    let visit = NewAppointment {
        clinician_id: clinician,
        patient_id: request.patient_id,
        visit_kind: VisitKind::Video,
        start_at: now,
        end_at: now + Duration::minutes(minutes),
        reason: &request.reason,
        booked_by: clinician,
    };
    // A refusal leaves the patient first in the queue.
    let (id, mut change) = book_now(change, visit, now).await?;
    booking::transition(
        change.tx(),
        id,
        AppointmentStatus::Booked,
        AppointmentStatus::Arrived,
        now,
    )
    .await?;
    store::attach_visit(change.tx(), &request.id, id).await?;
    change.audit(
        Event::new(ctx, now, "appointment.on_demand.take", "appointment")
            .by(clinician, Role::Clinician)
            .on(id)
            .patient(request.patient_id),
    );
    change.commit().await?;
    announce(state, &queue, &[request.patient_id]).await;
    state
        .bus
        .publish(Envelope::new(
            vec![clinician],
            LiveEvent::Queue { visit: id },
        ))
        .await;
    Ok(id)
}

/// Books `visit` (starting now) in `change`; a clinician already in a visit (its ticks
/// clash) is refused with a conflict that says so, and the change rolled back.
async fn book_now(
    mut change: Change,
    visit: NewAppointment<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(AppointmentId, Change)> {
    let minutes = (visit.end_at - visit.start_at).num_minutes();
    match booking::book(change.tx(), visit, now).await {
        Ok(id) => Ok((id, change)),
        Err(Error::Conflict(_)) => {
            change.rollback().await?;
            Err(Error::Conflict(format!(
                "you have a visit booked within the next {minutes} minutes: see to it (or mark it done) first"
            )))
        }
        Err(e) => Err(e),
    }
}

/// A clinician starts a video visit with `patient` now (from their chart) and waits
/// in its room; the patient is told at once, in the app and by email, with the link
/// (no clinical content). Audited; refused while the clinician is in another visit.
pub async fn start_now(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    reason: &str,
) -> Result<AppointmentId> {
    principal.require(Permission::Appointments)?;
    if principal.role != Role::Clinician {
        return Err(Error::Forbidden);
    }
    state
        .store
        .user_by_id(patient)
        .await?
        .filter(|u| u.role == Role::Patient && u.disabled_at.is_none())
        .ok_or(Error::NotFound)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid(
            "reason",
            "tell the patient why, in up to 500 characters",
        ));
    }
    let minutes = visit_minutes(state).await;
    let now = state.clock.now();
    let change = Change::begin(state).await?;
    let visit = NewAppointment {
        clinician_id: principal.user_id,
        patient_id: patient,
        visit_kind: VisitKind::Video,
        start_at: now,
        end_at: now + Duration::minutes(minutes),
        reason,
        booked_by: principal.user_id,
    };
    let (id, mut change) = book_now(change, visit, now).await?;
    crate::visit_notices::queue_notice(
        change.tx(),
        id,
        crate::mail::VisitNotice::StartNow,
        now,
        now,
    )
    .await?;
    change.audit(
        Event::new(ctx, now, "appointment.start_now", "appointment")
            .by(principal.user_id, principal.role)
            .on(id)
            .patient(patient),
    );
    change.commit().await?;
    state.jobs_wake.notify_one();
    Ok(id)
}

/// Tells the patients waiting in `queue` (their places moved), `also` (a patient just
/// taken) and the specialty's clinicians that the queue changed. After the commit; a
/// failure to list them only leaves their pages to the slow refresh.
async fn announce(state: &AppState, queue: &str, also: &[UserId]) {
    let mut to: Vec<UserId> = also.to_vec();
    match state.store.on_demand_queue(queue).await {
        Ok(waiting) => to.extend(waiting.iter().map(|r| r.patient_id)),
        Err(e) => tracing::warn!(error = %e, "listing the on-demand queue to announce a change"),
    }
    match clinicians_of(state, queue).await {
        Ok(clinicians) => to.extend(clinicians),
        Err(e) => tracing::warn!(error = %e, "listing a specialty's clinicians"),
    }
    let event = LiveEvent::OnDemand {
        specialty: queue.to_owned(),
    };
    state.bus.publish(Envelope::new(to, event)).await;
}
