//! Visits and availability over FHIR: Appointment and Encounter under the scheduling
//! rules (a patient sees their own visits, a clinician theirs, staff all; audited as the
//! scheduling API audits), and the bookable directory (Schedule, PractitionerRole, free
//! Slots), open to any authenticated client like the practitioner directory.

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::Value;
use telemed_domain::access::{self, VisitReach};
use telemed_domain::{AppointmentId, Error, Result, Role, UserId};
use telemed_fhir::search::{Search, Value as Param};
use telemed_fhir::types::Target;
use telemed_fhir::{query, resources, ResourceType};
use telemed_store::fhir::{TimeCond, Visit, VisitQuery};
use telemed_store::scheduling::ClinicianProfile;

use super::found::{included_patient, total, Found};
use super::FhirCaller;
use crate::audit::Event;
use crate::context::Ctx;
use crate::AppState;

/// The visits a caller may see (`access::visit_reach`: a patient their own, a
/// clinician those they see, staff every one); a token pinned to a patient narrows the
/// query to that patient's.
fn reach(caller: &FhirCaller, q: &mut VisitQuery) -> Result<VisitReach> {
    let reach = access::visit_reach(&caller.principal).ok_or(Error::Forbidden)?;
    if let Some(own) = caller.patient {
        q.patients.push(vec![own]);
    }
    Ok(reach)
}

/// The visit with this id (with `encounters`, only if it began), if the caller may see
/// it; 404 otherwise, like a visit that does not exist.
async fn visible_visit(
    state: &AppState,
    caller: &FhirCaller,
    id: &str,
    encounters: bool,
) -> Result<Visit> {
    let mut q = VisitQuery {
        ids: vec![vec![AppointmentId::from_path(id)?]],
        encounters,
        limit: 1,
        ..VisitQuery::default()
    };
    let reach = reach(caller, &mut q).map_err(|_| Error::NotFound)?;
    state
        .store
        .search_visits(&reach, &q)
        .await?
        .0
        .pop()
        .ok_or(Error::NotFound)
}

fn noun(rt: ResourceType) -> &'static str {
    if rt == ResourceType::Encounter {
        "encounter"
    } else {
        "appointment"
    }
}

fn resource(rt: ResourceType, v: &Visit) -> Option<Value> {
    if rt == ResourceType::Encounter {
        resources::encounter(v)
    } else {
        Some(resources::appointment(v))
    }
}

/// `GET /Appointment/{id}` and `GET /Encounter/{id}` (an encounter's id is its
/// appointment's). Outside the caller's reach it is 404, like a visit that does not exist.
pub async fn read_visit(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: ResourceType,
    id: &str,
) -> Result<(Value, Visit)> {
    let visit = visible_visit(state, caller, id, rt == ResourceType::Encounter).await?;
    let id = visit.appointment.id;
    let body = resource(rt, &visit).ok_or(Error::NotFound)?;
    let p = &caller.principal;
    let noun = noun(rt);
    let event = Event::new(ctx, state.clock.now(), &format!("{noun}.read"), noun)
        .by(p.user_id, p.role)
        .on(id)
        .patient(visit.appointment.patient_id)
        .detail("fhir");
    state.audit.record(event.build()).await?;
    Ok((body, visit))
}

/// Scheduling's refusals in FHIR's terms: a booking that does not fit is 422 naming the
/// Appointment's element; an unknown practitioner or patient is one that does not fit.
fn as_booking_error(e: Error) -> Error {
    match e {
        Error::Invalid { field, message } => Error::Unprocessable {
            field: match field {
                "visit_kind" => "serviceType",
                "reason" => "reasonCode",
                "patient_id" | "clinician_id" => "participant",
                other => other,
            },
            message,
        },
        Error::NotFound => Error::unprocessable("participant", "no such practitioner or patient"),
        other => other,
    }
}

/// `POST /Appointment`: a booking through telemed's scheduling, the same rules as the
/// booking page (a patient for themself, staff for a named patient; a time the
/// clinician offers and nobody holds: a taken slot is 409).
pub async fn book(state: &AppState, ctx: &Ctx, caller: &FhirCaller, json: &Value) -> Result<Visit> {
    let b = telemed_fhir::booking::booking(json)?;
    let p = &caller.principal;
    let patient = match (b.patient, caller.patient) {
        (Some(named), Some(own)) if named != own => {
            return Err(Error::unprocessable("participant", "no such patient"))
        }
        (named, own) => named.or(own),
    };
    if p.role == Role::Patient && patient.is_some_and(|x| x != p.user_id) {
        return Err(Error::unprocessable(
            "participant",
            "a patient books visits for themself",
        ));
    }
    let request = crate::scheduling::BookingRequest {
        clinician: b.clinician,
        visit_kind: b.kind,
        start: b.start,
        reason: &b.reason,
        patient,
    };
    let id = crate::scheduling::book(state, ctx, p, request)
        .await
        .map_err(as_booking_error)?;
    visible_visit(state, caller, &id.to_string(), false).await
}

/// `PUT /Appointment/{id}` with status cancelled: the cancellation the scheduling
/// rules allow (a patient up to the cut-off; the clinician or staff with a reason).
pub async fn cancel(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    id: &str,
    json: &Value,
) -> Result<Visit> {
    let reason = telemed_fhir::booking::cancellation(json)?;
    let id = visible_visit(state, caller, id, false)
        .await?
        .appointment
        .id;
    crate::scheduling::cancel(state, ctx, &caller.principal, id, &reason)
        .await
        .map_err(|e| match e {
            Error::Invalid { message, .. } => Error::Unprocessable {
                field: "cancelationReason",
                message,
            },
            other => other,
        })?;
    visible_visit(state, caller, &id.to_string(), false).await
}

/// A patient's visits as Appointments or Encounters, within the caller's reach (none
/// outside it), for `$everything` and bulk export; audited as one list of the patient's.
pub async fn patient_visits(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
    rt: ResourceType,
    updated_since: Option<TimeCond>,
) -> Result<Vec<Value>> {
    let mut q = VisitQuery {
        encounters: rt == ResourceType::Encounter,
        patients: vec![vec![patient]],
        updated: updated_since.map(|c| vec![vec![c]]).unwrap_or_default(),
        limit: 100_000,
        ..VisitQuery::default()
    };
    let Ok(reach) = reach(caller, &mut q) else {
        return Ok(vec![]);
    };
    let (visits, _) = state.store.search_visits(&reach, &q).await?;
    if visits.is_empty() {
        return Ok(vec![]);
    }
    let p = &caller.principal;
    let noun = noun(rt);
    let event = Event::new(ctx, state.clock.now(), &format!("{noun}.list"), noun)
        .by(p.user_id, p.role)
        .patient(patient)
        .detail(format!("fhir; {} rows", visits.len()));
    state.audit.record(event.build()).await?;
    Ok(visits.iter().filter_map(|v| resource(rt, v)).collect())
}

/// Appointment and Encounter searches, within the caller's reach; one audit entry per
/// search (naming the patient when the search names one), as the scheduling API's list.
pub async fn search_visits(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    let rt = search.resource_type;
    let mut q = query::visit_query(search);
    let reach = reach(caller, &mut q)?;
    let (visits, more) = state.store.search_visits(&reach, &q).await?;
    let count = state.store.count_visits(&reach, &q);
    let total = total(search, visits.len(), more, count).await?;
    let p = &caller.principal;
    let noun = noun(rt);
    let mut event = Event::new(ctx, state.clock.now(), &format!("{noun}.list"), noun)
        .by(p.user_id, p.role)
        .detail(format!("fhir; {} rows", visits.len()));
    let patients: BTreeSet<UserId> = visits.iter().map(|v| v.appointment.patient_id).collect();
    if let (1, Some(only)) = (patients.len(), patients.first()) {
        event = event.patient(*only);
    }
    state.audit.record(event.build()).await?;
    let matches: Vec<Value> = visits.iter().filter_map(|v| resource(rt, v)).collect();
    let mut included = vec![];
    for include in &search.include {
        if include.target == ResourceType::Patient {
            for patient in &patients {
                included.extend(included_patient(state, ctx, caller, *patient).await?);
            }
        } else if include.target == ResourceType::Practitioner {
            let clinicians: BTreeSet<UserId> =
                visits.iter().map(|v| v.appointment.clinician_id).collect();
            for c in clinicians {
                if let Some(person) = state.store.practitioner(c).await? {
                    included.push(resources::practitioner(&person));
                }
            }
        }
    }
    Ok(Found {
        matches: super::found::as_json(matches),
        included: super::found::as_json(included),
        total,
        more,
    })
}

fn references(search: &Search, target: Target) -> Vec<Vec<String>> {
    search
        .on(target)
        .map(|f| {
            f.values
                .iter()
                .filter_map(|v| match v {
                    Param::Reference(id) => Some(id.clone()),
                    Param::Token(t) => t.code.clone(),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// `Schedule` and `PractitionerRole` searches: the clinicians who take bookings,
/// narrowed by `_id` and `actor`/`practitioner` (every group must hold).
pub async fn search_directory(state: &AppState, search: &Search) -> Result<Found> {
    let rt = search.resource_type;
    let mut groups = references(search, Target::Id);
    groups.extend(references(search, Target::Practitioner));
    let mut profiles: Vec<ClinicianProfile> = state.store.clinician_profiles().await?;
    profiles.retain(|p| {
        let id = p.user_id.to_string();
        groups.iter().all(|g| g.contains(&id))
    });
    let now = state.clock.now();
    let mut found = Found::page(&profiles, search, |p| directory_resource(rt, p, now));
    if !search.include.is_empty() {
        for p in profiles.iter().skip(search.offset).take(search.count) {
            if let Some(person) = state.store.practitioner(p.user_id).await? {
                found.included.push(resources::practitioner(&person).into());
            }
        }
    }
    Ok(found)
}

fn directory_resource(
    rt: ResourceType,
    p: &ClinicianProfile,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    if rt == ResourceType::Schedule {
        resources::schedule(p, now)
    } else {
        resources::practitioner_role(p)
    }
}

/// `GET /Schedule/{id}` and `GET /PractitionerRole/{id}`: the clinician's.
pub async fn read_directory(state: &AppState, rt: ResourceType, id: &str) -> Result<Value> {
    let id = UserId::from_path(id)?;
    let profile = state
        .store
        .clinician_profile(id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(directory_resource(rt, &profile, state.clock.now()))
}

/// The longest stretch one Slot search covers.
const MAX_SLOT_DAYS: i64 = 31;
/// What a Slot search covers when it gives no start.
const DEFAULT_SLOT_DAYS: i64 = 7;

/// `Slot?schedule=Schedule/<clinician>`: the clinician's free slots (every kind of visit
/// they offer, or those `service-type` names) starting in the range `start` gives.
pub async fn search_slots(state: &AppState, search: &Search) -> Result<Found> {
    let schedules = references(search, Target::Schedule);
    let clinician: UserId = match schedules.as_slice() {
        [one] if one.len() == 1 => match one[0].parse() {
            Ok(id) => id,
            Err(_) => return Ok(Found::nothing()),
        },
        _ => {
            return Err(Error::invalid(
                "schedule",
                "a Slot search names one schedule (schedule=Schedule/<id>)",
            ))
        }
    };
    let statuses = references(search, Target::Status);
    if statuses.iter().any(|g| !g.iter().any(|s| s == "free")) {
        return Ok(Found::nothing());
    }
    let now = state.clock.now();
    let (mut from, mut to) = (now, None);
    for f in search.on(Target::Effective) {
        for v in &f.values {
            let Param::Date(c) = v else { continue };
            match *c {
                TimeCond::AtOrAfter(t) => from = from.max(t),
                TimeCond::Before(t) => to = Some(to.map_or(t, |x: chrono::DateTime<_>| x.min(t))),
                TimeCond::Within(lo, hi) => {
                    from = from.max(lo);
                    to = Some(to.map_or(hi, |x: chrono::DateTime<_>| x.min(hi)));
                }
                TimeCond::Outside(..) => {
                    return Err(Error::invalid(
                        "start",
                        "Slot start takes eq, lt, le, gt, ge, sa or eb",
                    ))
                }
            }
        }
    }
    let to = to.unwrap_or(from + Duration::days(DEFAULT_SLOT_DAYS));
    if to - from > Duration::days(MAX_SLOT_DAYS) {
        return Err(Error::invalid(
            "start",
            format!("ask for up to {MAX_SLOT_DAYS} days of slots at a time"),
        ));
    }
    if to <= from {
        return Ok(Found::nothing());
    }
    let profile = match crate::scheduling::bookable_profile(state, clinician).await {
        Ok(profile) => profile,
        Err(Error::NotFound) => return Ok(Found::nothing()),
        Err(e) => return Err(e),
    };
    let kinds: Vec<Vec<String>> = references(search, Target::ServiceType);
    let mut slots = vec![];
    for offered in &profile.visit_types {
        let named = |code: &String| resources::visit_kind_of(code) == Some(offered.kind);
        if !kinds.iter().all(|g| g.iter().any(named)) {
            continue;
        }
        for s in crate::scheduling::free_slots(state, clinician, offered.kind, from, to).await? {
            slots.push((s.start, offered.kind, s.end));
        }
    }
    slots.sort_by_key(|(start, kind, _)| (*start, kind.as_str()));
    Ok(Found::page(&slots, search, |(start, kind, end)| {
        resources::slot(clinician, *kind, *start, *end)
    }))
}

/// `GET /Slot/{id}`: the slot while it is still free; 404 once booked or past.
pub async fn read_slot(state: &AppState, id: &str) -> Result<Value> {
    let (clinician, kind, start) = resources::slot_id_parts(id).ok_or(Error::NotFound)?;
    let window =
        crate::scheduling::free_slots(state, clinician, kind, start, start + Duration::seconds(1))
            .await
            .map_err(|_| Error::NotFound)?;
    let slot = window
        .into_iter()
        .find(|s| s.start == start)
        .ok_or(Error::NotFound)?;
    Ok(resources::slot(clinician, kind, slot.start, slot.end))
}
