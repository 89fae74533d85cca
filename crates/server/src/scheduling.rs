//! Scheduling services: clinicians set their availability, patients (or staff for
//! them) find clinicians and free slots and book; either side cancels. A booking is
//! checked against the computed slots here and against overlap by the database.

use chrono::{DateTime, Duration, Utc};
use telemed_domain::access::{self, Principal, SystemTask, VisitScope};
use telemed_domain::audit::Outcome;
use telemed_domain::schedule::{Availability, Slot, VisitKind};
use telemed_domain::{AppointmentId, Error, Permission, Result, Role, UserId};
use telemed_store::scheduling::{
    self, Appointment, AppointmentStatus, ClinicianProfile, NewAppointment, ProfileUpdate,
    VisitType,
};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::mail::VisitNotice;
use crate::realtime::{Envelope, LiveEvent};
use crate::AppState;

/// The longest span one slot query may cover.
pub const MAX_SLOT_QUERY_DAYS: i64 = 31;

/// Who may change `clinician`'s schedule: the clinician, or staff.
pub fn may_manage(principal: &Principal, clinician: UserId) -> Result<()> {
    principal.require(Permission::SchedulesWrite)?;
    match principal.role {
        Role::Staff => Ok(()),
        Role::Clinician if principal.user_id == clinician => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

pub struct ScheduleUpdate {
    pub specialty: String,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
    pub bio: String,
    pub availability: Availability,
    pub visit_types: Vec<VisitType>,
}

/// Codes such as `en`, `es`, `US-NY`, `ES-MD`: letters, digits and dashes, up to 10.
fn validate_codes(field: &'static str, codes: &[String]) -> Result<()> {
    let ok = codes.len() <= 50
        && codes.iter().all(|c| {
            !c.is_empty()
                && c.len() <= 10
                && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "use short codes such as en, es, US-NY, ES-MD",
        ))
    }
}

pub async fn set_schedule(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    clinician: UserId,
    update: ScheduleUpdate,
) -> Result<()> {
    may_manage(principal, clinician)?;
    let user = state
        .store
        .user_by_id(clinician)
        .await?
        .filter(|u| u.role == Role::Clinician)
        .ok_or(Error::NotFound)?;
    update.availability.validate()?;
    validate_codes("languages", &update.languages)?;
    validate_codes("regions", &update.regions)?;
    let specialty = update.specialty.trim();
    if specialty.is_empty() || specialty.chars().count() > 100 {
        return Err(Error::invalid(
            "specialty",
            "name the specialty in 1 to 100 characters",
        ));
    }
    if update.bio.chars().count() > 2000 {
        return Err(Error::invalid("bio", "keep the bio under 2000 characters"));
    }
    let mut kinds: Vec<VisitKind> = update.visit_types.iter().map(|v| v.kind).collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    if kinds.len() != update.visit_types.len() {
        return Err(Error::invalid("visit_types", "each visit kind once"));
    }
    let clinic = crate::clinic::current(state).await;
    for v in &update.visit_types {
        if !clinic.settings.offers(v.kind) {
            return Err(Error::invalid(
                "visit_types",
                format!("the clinic does not offer {} visits", v.kind.as_str()),
            ));
        }
        if v.currency != clinic.settings.currency {
            return Err(Error::invalid(
                "visit_types",
                format!(
                    "fees are in the clinic's currency, {}",
                    clinic.settings.currency
                ),
            ));
        }
        telemed_domain::schedule::validate_minutes("duration_minutes", v.duration_minutes, 5, 240)?;
        if !(0..=10_000_000).contains(&v.fee_cents)
            || v.currency.len() != 3
            || !v.currency.chars().all(|c| c.is_ascii_uppercase())
        {
            return Err(Error::invalid(
                "visit_types",
                "a fee is 0 or more cents in a currency such as EUR or USD",
            ));
        }
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let profile = ProfileUpdate {
        specialty,
        languages: &update.languages,
        regions: &update.regions,
        bio: update.bio.trim(),
        availability: &update.availability,
        visit_types: &update.visit_types,
    };
    scheduling::save_profile(change.tx(), user.id, profile).await?;
    let record = Event::new(ctx, now, "schedule.update", "clinician")
        .by(principal.user_id, principal.role)
        .on(user.id)
        .build();
    change.audit(record);
    change.commit().await
}

/// What a patient filters clinicians by.
#[derive(Debug, Default, Clone)]
pub struct ClinicianQuery {
    pub specialty: Option<String>,
    pub language: Option<String>,
    pub region: Option<String>,
    pub visit_kind: Option<VisitKind>,
}

pub struct ClinicianMatch {
    pub profile: ClinicianProfile,
    pub next_available: Option<DateTime<Utc>>,
}

/// Clinicians matching `q`, soonest available first (none available: last). Only
/// clinicians licensed for the patient's region are offered when a region is given.
pub async fn find_clinicians(state: &AppState, q: &ClinicianQuery) -> Result<Vec<ClinicianMatch>> {
    let now = state.clock.now();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b.trim());
    let to = now + Duration::days(MAX_SLOT_QUERY_DAYS);
    let busy = state.store.busy_intervals_of_all(now, to).await?;
    let clinic = crate::clinic::current(state).await;
    let mut out = Vec::new();
    for profile in state.store.clinician_profiles().await? {
        let profile = within_offer(&clinic, profile);
        if profile.visit_types.is_empty() {
            continue;
        }
        let fits = q
            .specialty
            .as_deref()
            .is_none_or(|s| eq(&profile.specialty, s))
            && q.language
                .as_deref()
                .is_none_or(|l| profile.languages.iter().any(|x| eq(x, l)))
            && q.region
                .as_deref()
                .is_none_or(|r| profile.regions.iter().any(|x| eq(x, r)))
            && q.visit_kind
                .is_none_or(|k| profile.visit_types.iter().any(|v| v.kind == k));
        if !fits {
            continue;
        }
        let their_busy = busy
            .get(&profile.user_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let next_available = profile
            .visit_types
            .iter()
            .filter(|v| q.visit_kind.is_none_or(|k| v.kind == k))
            .filter_map(|v| {
                first_slot(
                    &profile.availability,
                    v.duration_minutes,
                    now,
                    to,
                    their_busy,
                )
            })
            .min();
        out.push(ClinicianMatch {
            profile,
            next_available,
        });
    }
    out.sort_by_key(|m| {
        (
            m.next_available.is_none(),
            m.next_available,
            m.profile.display_name.clone(),
        )
    });
    Ok(out)
}

/// A clinician's profile as patients may book it: the kinds of visit the clinic does
/// not offer (an admin turned them off) are left out.
fn within_offer(clinic: &crate::clinic::Clinic, mut profile: ClinicianProfile) -> ClinicianProfile {
    profile
        .visit_types
        .retain(|v| clinic.settings.offers(v.kind));
    profile
}

/// `clinician`'s profile as patients may book it (see `within_offer`).
pub async fn bookable_profile(state: &AppState, clinician: UserId) -> Result<ClinicianProfile> {
    let profile = state
        .store
        .clinician_profile(clinician)
        .await?
        .ok_or(Error::NotFound)?;
    let clinic = crate::clinic::current(state).await;
    Ok(within_offer(&clinic, profile))
}

/// The first free slot, looking a week at a time so a busy-free clinician costs a week's work.
fn first_slot(
    a: &Availability,
    duration: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    busy: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Option<DateTime<Utc>> {
    let mut start = from;
    while start < to {
        let end = (start + Duration::days(7)).min(to);
        if let Some(slot) = a.slots(duration, start, end, from, busy).first() {
            return Some(slot.start);
        }
        start = end;
    }
    None
}

/// The zone a clinician's schedule is kept in: how a visit's time reads to someone who
/// has not told their own (a guest's first visit, an email). UTC for one without a
/// schedule.
pub async fn clinician_zone(state: &AppState, clinician: UserId) -> Result<chrono_tz::Tz> {
    Ok(state
        .store
        .clinician_profile(clinician)
        .await?
        .map(|c| c.availability.time_zone)
        .unwrap_or(chrono_tz::Tz::UTC))
}

/// Free slots of a clinician's visit kind that start in `[from, to)`.
pub async fn free_slots(
    state: &AppState,
    clinician: UserId,
    kind: VisitKind,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Slot>> {
    if to <= from || to - from > Duration::days(MAX_SLOT_QUERY_DAYS) {
        return Err(Error::invalid(
            "to",
            format!("ask for up to {MAX_SLOT_QUERY_DAYS} days at a time, with to after from"),
        ));
    }
    let profile = bookable_profile(state, clinician).await?;
    let visit = profile
        .visit_types
        .iter()
        .find(|v| v.kind == kind)
        .ok_or_else(|| {
            Error::invalid(
                "visit_kind",
                "this clinician does not offer that kind of visit",
            )
        })?;
    let busy = state
        .store
        .busy_intervals(clinician, from - Duration::days(1), to + Duration::days(1))
        .await?;
    Ok(profile
        .availability
        .slots(visit.duration_minutes, from, to, state.clock.now(), &busy))
}

/// Checks that the clinician offers a `kind` visit starting at `start` (ignoring
/// bookings: the database settles those) and returns their profile and the visit's end.
async fn check_offered(
    state: &AppState,
    clinician: UserId,
    kind: VisitKind,
    start: DateTime<Utc>,
) -> Result<(ClinicianProfile, DateTime<Utc>)> {
    let now = state.clock.now();
    if start <= now {
        return Err(Error::invalid("start", "this time has passed"));
    }
    let profile = bookable_profile(state, clinician).await?;
    let visit = profile
        .visit_types
        .iter()
        .find(|v| v.kind == kind)
        .ok_or_else(|| {
            Error::invalid(
                "visit_kind",
                "this clinician does not offer that kind of visit",
            )
        })?;
    let a = &profile.availability;
    if start > now + Duration::days(a.horizon_days) {
        return Err(Error::invalid(
            "start",
            "this time is beyond how far ahead the clinician can be booked",
        ));
    }
    if start < now + Duration::minutes(a.min_notice_minutes) {
        return Err(Error::invalid("start", "this time is too soon to book"));
    }
    let end = start + Duration::minutes(visit.duration_minutes);
    let window = (start - Duration::minutes(1), start + Duration::minutes(1));
    let offered = a
        .slots(visit.duration_minutes, window.0, window.1, now, &[])
        .iter()
        .any(|s| s.start == start);
    if !offered {
        return Err(Error::invalid(
            "start",
            "the clinician does not see patients at this time",
        ));
    }
    Ok((profile, end))
}

pub struct BookingRequest<'a> {
    pub clinician: UserId,
    pub visit_kind: VisitKind,
    pub start: DateTime<Utc>,
    pub reason: &'a str,
    /// For staff booking on behalf of a patient; a patient books for themself.
    pub patient: Option<UserId>,
}

/// Books a visit in a free slot. The time must be one the clinician's availability
/// offers now; two concurrent bookings of one slot end in one booking and one conflict.
pub async fn book(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    req: BookingRequest<'_>,
) -> Result<AppointmentId> {
    principal.require(Permission::Appointments)?;
    let patient = match (principal.role, req.patient) {
        (Role::Patient, None) => principal.user_id,
        (Role::Patient, Some(p)) if p == principal.user_id => p,
        (Role::Patient, Some(_)) => return Err(Error::Forbidden),
        (Role::Staff, Some(p)) => {
            state
                .store
                .user_by_id(p)
                .await?
                .filter(|u| u.role == Role::Patient && u.disabled_at.is_none())
                .ok_or(Error::NotFound)?
                .id
        }
        (Role::Staff, None) => {
            return Err(Error::invalid(
                "patient_id",
                "name the patient you book for",
            ))
        }
        _ => return Err(Error::Forbidden),
    };
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid(
            "reason",
            "give a reason for the visit in up to 500 characters",
        ));
    }
    let now = state.clock.now();
    let (profile, end) = check_offered(state, req.clinician, req.visit_kind, req.start).await?;
    let mut change = Change::begin(state).await?;
    let new = NewAppointment {
        clinician_id: profile.user_id,
        patient_id: patient,
        visit_kind: req.visit_kind,
        start_at: req.start,
        end_at: end,
        reason,
        booked_by: principal.user_id,
    };
    let id = match scheduling::book(change.tx(), new, now).await {
        Ok(id) => id,
        Err(e) => {
            change.rollback().await?;
            if matches!(e, Error::Conflict(_)) {
                let record = Event::new(ctx, now, "appointment.book", "appointment")
                    .by(principal.user_id, principal.role)
                    .patient(patient)
                    .outcome(Outcome::Failure)
                    .detail("slot taken");
                state.audit.record(record.build()).await?;
            }
            return Err(e);
        }
    };
    crate::visit_notices::schedule_visit_notices(
        state,
        change.tx(),
        id,
        req.start,
        VisitNotice::Booked,
    )
    .await?;
    if principal.role == Role::Patient {
        crate::visit_notices::queue_notice(change.tx(), id, VisitNotice::PatientBooked, now, now)
            .await?;
    }
    let record = Event::new(ctx, now, "appointment.book", "appointment")
        .by(principal.user_id, principal.role)
        .on(id)
        .patient(patient)
        .detail(format!("clinician {}", profile.user_id));
    change.audit(record);
    change.commit().await?;
    state.jobs_wake.notify_one();
    announce_queue_change(state, id, profile.user_id).await;
    Ok(id)
}

/// Visit `id` if `principal` may see it (`access::visit_reach`); `NotFound` otherwise,
/// the same answer as a visit that does not exist.
pub async fn visible_appointment(
    state: &AppState,
    principal: &Principal,
    id: AppointmentId,
) -> Result<Appointment> {
    let reach = access::visit_reach(principal).ok_or(Error::NotFound)?;
    state
        .store
        .appointment(&reach, id)
        .await?
        .ok_or(Error::NotFound)
}

/// Visit `id` for `principal`, audited as a read of it (`appointment.read`).
pub async fn read_visit(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: AppointmentId,
) -> Result<Appointment> {
    let found = visible_appointment(state, principal, id).await?;
    let record = Event::new(ctx, state.clock.now(), "appointment.read", "appointment")
        .by(principal.user_id, principal.role)
        .on(id)
        .patient(found.patient_id);
    state.audit.record(record.build()).await?;
    Ok(found)
}

/// The visits `principal` sees (`access::visit_reach`) starting in `[from, to)`, in
/// time order, at most `limit`; audited as one list (`appointment.list`).
pub async fn visits_between(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Appointment>> {
    principal.require(Permission::Appointments)?;
    let reach = access::visit_reach(principal).ok_or(Error::Forbidden)?;
    let found = state.store.appointments(&reach, from, to, limit).await?;
    let record = Event::new(ctx, state.clock.now(), "appointment.list", "appointment")
        .by(principal.user_id, principal.role)
        .detail(format!("{} rows", found.len()));
    state.audit.record(record.build()).await?;
    Ok(found)
}

/// The visits of the clinician whose calendar-feed secret this is (thirty days back,
/// half a year ahead); an unknown secret is not found.
pub async fn calendar_feed(state: &AppState, secret: &str) -> Result<Vec<Appointment>> {
    let clinician = state
        .store
        .calendar_feed_owner(&crate::crypto::token_hash(secret))
        .await?
        .ok_or(Error::NotFound)?;
    let now = state.clock.now();
    let (from, to) = (now - Duration::days(30), now + Duration::days(180));
    let reach = access::calendar_feed(clinician);
    state.store.appointments(&reach, from, to, 1000).await
}

/// Patients change a visit online only up to the configured cut-off before it.
async fn check_patient_cutoff(
    state: &AppState,
    principal: &Principal,
    appointment: &Appointment,
    verb: &str,
) -> Result<()> {
    let clinic = crate::clinic::current(state).await;
    let hours = clinic.settings.patient_cancel_cutoff_hours;
    if principal.role == Role::Patient
        && appointment.start_at - state.clock.now() < Duration::hours(hours)
    {
        let phone = &clinic.settings.phone;
        let call = if phone.is_empty() {
            "please call the clinic".to_owned()
        } else {
            format!("please call the clinic on {phone}")
        };
        return Err(Error::Conflict(format!(
            "visits can be {verb} online up to {hours} hours before; {call}"
        )));
    }
    Ok(())
}

/// Checks a change's reason: optional for the patient, required (to tell the patient)
/// for the clinician and staff.
fn check_change_reason<'a>(principal: &Principal, reason: &'a str) -> Result<&'a str> {
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(Error::invalid(
            "reason",
            "keep the reason under 500 characters",
        ));
    }
    if principal.role != Role::Patient && reason.is_empty() {
        return Err(Error::invalid(
            "reason",
            "tell the patient why the visit changes",
        ));
    }
    Ok(reason)
}

/// Cancels a visit: the patient up to the configured cut-off, the clinician or staff
/// any time with a reason.
pub async fn cancel(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: AppointmentId,
    reason: &str,
) -> Result<()> {
    let appointment = visible_appointment(state, principal, id).await?;
    let now = state.clock.now();
    let reason = check_change_reason(principal, reason)?;
    check_patient_cutoff(state, principal, &appointment, "cancelled").await?;
    let mut change = Change::begin(state).await?;
    scheduling::cancel(change.tx(), id, reason, now).await?;
    let notice = if principal.role == Role::Patient {
        VisitNotice::PatientCancelled
    } else {
        VisitNotice::Cancelled
    };
    crate::visit_notices::queue_notice(change.tx(), id, notice, now, now).await?;
    let record = Event::new(ctx, now, "appointment.cancel", "appointment")
        .by(principal.user_id, principal.role)
        .on(id)
        .patient(appointment.patient_id);
    change.audit(record);
    change.commit().await?;
    state.jobs_wake.notify_one();
    announce_queue_change(state, id, appointment.clinician_id).await;
    Ok(())
}

/// Moves a booked visit to another free time of the same clinician and visit kind:
/// the patient up to the cut-off, the clinician or staff with a reason. The other side
/// is told; reminders follow the new time.
pub async fn reschedule(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: AppointmentId,
    start: DateTime<Utc>,
    reason: &str,
) -> Result<()> {
    let appointment = visible_appointment(state, principal, id).await?;
    let reason = check_change_reason(principal, reason)?;
    if !matches!(
        appointment.status,
        AppointmentStatus::Booked | AppointmentStatus::Proposed
    ) {
        return Err(Error::Conflict(
            "this appointment can no longer be moved".into(),
        ));
    }
    check_patient_cutoff(state, principal, &appointment, "moved").await?;
    if start == appointment.start_at {
        return Err(Error::invalid("start", "choose a different time"));
    }
    let (_, end) = check_offered(
        state,
        appointment.clinician_id,
        appointment.visit_kind,
        start,
    )
    .await?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if let Err(e) =
        scheduling::reschedule(change.tx(), id, appointment.clinician_id, start, end, now).await
    {
        change.rollback().await?;
        return Err(e);
    }
    crate::visit_notices::schedule_visit_notices(
        state,
        change.tx(),
        id,
        start,
        VisitNotice::Rescheduled,
    )
    .await?;
    if principal.role == Role::Patient {
        crate::visit_notices::queue_notice(
            change.tx(),
            id,
            VisitNotice::PatientRescheduled,
            now,
            now,
        )
        .await?;
    }
    let mut record = Event::new(ctx, now, "appointment.reschedule", "appointment")
        .by(principal.user_id, principal.role)
        .on(id)
        .patient(appointment.patient_id);
    if !reason.is_empty() {
        record = record.detail(format!(
            "reason given ({} characters)",
            reason.chars().count()
        ));
    }
    change.audit(record);
    change.commit().await?;
    state.jobs_wake.notify_one();
    announce_queue_change(state, id, appointment.clinician_id).await;
    Ok(())
}

/// Tells the visit's clinician and the front desk, on whatever node they are connected
/// to, that the waiting queue changed: their open queue and home pages refresh at once
/// instead of polling. Told after the commit; a failure to list the staff only leaves
/// them to their page's slow refresh.
async fn announce_queue_change(state: &AppState, visit: AppointmentId, clinician: UserId) {
    let mut to = vec![clinician];
    match state.store.active_ids_with_role(Role::Staff).await {
        Ok(staff) => to.extend(staff),
        Err(e) => {
            tracing::warn!(error = %e, "could not list the front desk to tell of a queue change")
        }
    }
    state
        .bus
        .publish(Envelope::new(to, LiveEvent::Queue { visit }))
        .await;
}

/// Moves a visit from the first of `from` it is in to `to`, with its audit entry, in
/// one transaction; `refusal` when it is in none of them.
async fn change_status(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    a: &Appointment,
    status: StatusChange,
) -> Result<()> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let mut moved = false;
    for from in status.from {
        if scheduling::transition(change.tx(), a.id, *from, status.to, now).await? {
            moved = true;
            break;
        }
    }
    if !moved {
        return Err(Error::Conflict(status.refusal.into()));
    }
    if status.to == AppointmentStatus::Fulfilled && now < a.end_at {
        // Done early: the rest of its time is the clinician's again (the visit keeps
        // its booked times).
        scheduling::release_ticks_from(change.tx(), a.id, now).await?;
    }
    let record = Event::new(ctx, now, status.action, "appointment")
        .by(principal.user_id, principal.role)
        .on(a.id)
        .patient(a.patient_id);
    change.audit(record);
    change.commit().await?;
    announce_queue_change(state, a.id, a.clinician_id).await;
    Ok(())
}

struct StatusChange {
    from: &'static [AppointmentStatus],
    to: AppointmentStatus,
    action: &'static str,
    refusal: &'static str,
}

/// Checks the patient in to the waiting room, from `check_in_opens_minutes` before the
/// visit until its end.
pub async fn check_in(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: AppointmentId,
) -> Result<()> {
    let a = visible_appointment(state, principal, id).await?;
    if principal.role != Role::Patient {
        return Err(Error::NotFound);
    }
    let now = state.clock.now();
    let opening = crate::clinic::current(state)
        .await
        .settings
        .check_in_opens_minutes;
    if now < a.start_at - Duration::minutes(opening) {
        return Err(Error::Conflict(format!(
            "check-in opens {opening} minutes before the visit"
        )));
    }
    if now >= a.end_at {
        return Err(Error::Conflict("this visit has ended".into()));
    }
    let change = StatusChange {
        from: &[AppointmentStatus::Booked],
        to: AppointmentStatus::Arrived,
        action: "appointment.check_in",
        refusal: "this visit cannot be checked in to",
    };
    change_status(state, ctx, principal, &a, change).await
}

/// The no-show job: a visit still only booked after the grace period becomes a no-show.
/// `grace_minutes` is the grace the check was queued with (the clinic's, at booking),
/// so that a change of the setting since cannot leave a queued check forever early.
pub async fn mark_noshow(
    state: &AppState,
    id: AppointmentId,
    grace_minutes: Option<i64>,
) -> Result<()> {
    let reach = access::system_visits(SystemTask::Scheduling);
    let Some(a) = state.store.appointment(&reach, id).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    // A check queued for a time the visit has since moved from is not due yet.
    let grace = match grace_minutes {
        Some(minutes) => minutes,
        None => {
            crate::clinic::current(state)
                .await
                .settings
                .noshow_grace_minutes
        }
    };
    if now < a.start_at + Duration::minutes(grace) {
        return Ok(());
    }
    let mut change = Change::begin(state).await?;
    if scheduling::transition(
        change.tx(),
        id,
        AppointmentStatus::Booked,
        AppointmentStatus::Noshow,
        now,
    )
    .await?
    {
        let record = Event::new(
            &Ctx::background("job"),
            now,
            "appointment.noshow",
            "appointment",
        )
        .on(id)
        .patient(a.patient_id)
        .detail("no check-in within the grace period");
        change.audit(record);
        change.commit().await?;
        announce_queue_change(state, id, a.clinician_id).await;
        Ok(())
    } else {
        // Already so: nothing written, nothing to audit.
        change.rollback().await
    }
}

/// Undoes a no-show (the patient did come, or the clinic was late): back to booked.
pub async fn undo_noshow(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: AppointmentId,
) -> Result<()> {
    let a = visible_appointment(state, principal, id).await?;
    if principal.role == Role::Patient {
        return Err(Error::NotFound);
    }
    let change = StatusChange {
        from: &[AppointmentStatus::Noshow],
        to: AppointmentStatus::Booked,
        action: "appointment.noshow_undo",
        refusal: "this visit is not marked as a no-show",
    };
    change_status(state, ctx, principal, &a, change).await
}

/// The clinician (or staff) records that the visit took place: from checked-in, or from
/// booked once it has started (a phone visit may skip the waiting room).
pub async fn complete(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: AppointmentId,
) -> Result<()> {
    let a = visible_appointment(state, principal, id).await?;
    if principal.role == Role::Patient {
        return Err(Error::NotFound);
    }
    let now = state.clock.now();
    if now < a.start_at {
        return Err(Error::Conflict("this visit has not started yet".into()));
    }
    let change = StatusChange {
        from: &[AppointmentStatus::Arrived, AppointmentStatus::Booked],
        to: AppointmentStatus::Fulfilled,
        action: "appointment.fulfil",
        refusal: "only a booked or checked-in visit can be marked done",
    };
    change_status(state, ctx, principal, &a, change).await
}

/// Someone in (or due in) a clinician's waiting room.
pub struct QueueEntry {
    pub appointment: Appointment,
    /// Booked, not checked in, and the start has passed.
    pub late: bool,
    /// Checked in more than `WAITING_TOO_LONG_MINUTES` ago.
    pub waiting_too_long: bool,
    pub waiting_minutes: i64,
}

pub const WAITING_TOO_LONG_MINUTES: i64 = 10;

/// The clinician's queue (staff: everyone's): visits from two hours ago to an hour
/// ahead that are booked or checked in, checked-in first, then by start.
pub async fn waiting_queue(state: &AppState, principal: &Principal) -> Result<Vec<QueueEntry>> {
    // The queue is the clinicians' and the front desk's; patients have the waiting room.
    let reach = access::visit_reach(principal)
        .filter(|r| !matches!(r.scope(), VisitScope::Patient(_)))
        .ok_or(Error::Forbidden)?;
    let now = state.clock.now();
    let list = state
        .store
        .appointments(
            &reach,
            now - Duration::hours(2),
            now + Duration::hours(1),
            200,
        )
        .await?;
    let mut queue: Vec<QueueEntry> = list
        .into_iter()
        .filter(|a| {
            matches!(
                a.status,
                AppointmentStatus::Booked | AppointmentStatus::Arrived
            ) && a.end_at > now
        })
        .map(|a| {
            let waiting = a.arrived_at.map(|t| (now - t).num_minutes()).unwrap_or(0);
            QueueEntry {
                late: a.status == AppointmentStatus::Booked && now > a.start_at,
                waiting_too_long: a.status == AppointmentStatus::Arrived
                    && waiting > WAITING_TOO_LONG_MINUTES,
                waiting_minutes: waiting,
                appointment: a,
            }
        })
        .collect();
    queue.sort_by_key(|e| {
        (
            e.appointment.status != AppointmentStatus::Arrived,
            e.appointment.start_at,
        )
    });
    Ok(queue)
}
