//! Visits and availability as FHIR: Appointment (a booking), Encounter (a visit that
//! took place: its video call), Schedule and PractitionerRole (a clinician's bookable
//! profile) and Slot (a free time, computed from the availability, never stored).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};
use telemed_domain::schedule::VisitKind;
use telemed_domain::views::Visit;
use telemed_domain::views::{AppointmentStatus, ClinicianProfile};
use telemed_domain::UserId;

use super::{date_time, instant, put, reference};
use crate::types::ResourceType;

const PARTICIPATION_MODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const UCUM: &str = "http://unitsofmeasure.org";

/// The v3 ParticipationMode code, its display, and telemed's words for a kind of visit.
fn mode(kind: VisitKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        VisitKind::Video => ("VIDEOCONF", "videoconferencing", "Video visit"),
        VisitKind::Audio => ("PHONE", "telephone", "Phone visit"),
        VisitKind::Messaging => ("ONLINEWRIT", "online written", "Messaging visit"),
    }
}

/// The kind of visit a `service-type` code names: the ParticipationMode code, or
/// telemed's own word for it.
pub fn visit_kind_of(code: &str) -> Option<VisitKind> {
    [VisitKind::Video, VisitKind::Audio, VisitKind::Messaging]
        .into_iter()
        .find(|k| code == k.as_str() || code == mode(*k).0)
}

fn service_type(kind: VisitKind) -> Value {
    let (code, display, text) = mode(kind);
    json!({
        "coding": [{ "system": PARTICIPATION_MODE, "code": code, "display": display }],
        "text": text,
    })
}

fn minutes(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    (end - start).num_minutes()
}

/// An appointment: the patient and the clinician, when, what kind of visit, and why.
pub fn appointment(v: &Visit) -> Value {
    let a = &v.appointment;
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Appointment"));
    o.insert("id".into(), json!(a.id.to_string()));
    o.insert(
        "meta".into(),
        json!({ "lastUpdated": instant(a.updated_at) }),
    );
    o.insert("status".into(), json!(a.status.as_str()));
    if a.status == AppointmentStatus::Cancelled {
        put(
            &mut o,
            "cancelationReason",
            a.cancel_reason
                .as_ref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| json!({ "text": r })),
        );
    }
    o.insert("serviceType".into(), json!([service_type(a.visit_kind)]));
    if !a.reason.trim().is_empty() {
        o.insert("reasonCode".into(), json!([{ "text": a.reason }]));
    }
    o.insert("start".into(), json!(instant(a.start_at)));
    o.insert("end".into(), json!(instant(a.end_at)));
    o.insert(
        "minutesDuration".into(),
        json!(minutes(a.start_at, a.end_at)),
    );
    o.insert("created".into(), json!(date_time(a.created_at)));
    let attendance = |present: bool| if present { "accepted" } else { "declined" };
    let patient_came = a.status != AppointmentStatus::Noshow;
    o.insert(
        "participant".into(),
        json!([
            {
                "actor": reference(ResourceType::Patient, a.patient_id),
                "required": "required",
                "status": attendance(patient_came),
            },
            {
                "actor": reference(ResourceType::Practitioner, a.clinician_id),
                "required": "required",
                "status": "accepted",
            },
        ]),
    );
    Value::Object(o)
}

/// The encounter of a visit that began (its first admission to the call); `None` for a
/// visit that has not.
pub fn encounter(v: &Visit) -> Option<Value> {
    let a = &v.appointment;
    let span = v.encounter?;
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Encounter"));
    o.insert("id".into(), json!(a.id.to_string()));
    o.insert(
        "meta".into(),
        json!({ "lastUpdated": instant(span.ended_at.unwrap_or(span.started_at).max(a.updated_at)) }),
    );
    o.insert(
        "status".into(),
        json!(if span.ended_at.is_some() {
            "finished"
        } else {
            "in-progress"
        }),
    );
    o.insert(
        "class".into(),
        json!({ "system": ACT_CODE, "code": "VR", "display": "virtual" }),
    );
    o.insert("serviceType".into(), service_type(a.visit_kind));
    o.insert(
        "subject".into(),
        reference(ResourceType::Patient, a.patient_id),
    );
    o.insert(
        "participant".into(),
        json!([{ "individual": reference(ResourceType::Practitioner, a.clinician_id) }]),
    );
    o.insert(
        "appointment".into(),
        json!([reference(ResourceType::Appointment, a.id)]),
    );
    let mut period = json!({ "start": date_time(span.started_at) });
    if let Some(end) = span.ended_at {
        period["end"] = json!(date_time(end));
        o.insert(
            "length".into(),
            json!({ "value": minutes(span.started_at, end), "unit": "min", "system": UCUM, "code": "min" }),
        );
    }
    o.insert("period".into(), period);
    if !a.reason.trim().is_empty() {
        o.insert("reasonCode".into(), json!([{ "text": a.reason }]));
    }
    Some(Value::Object(o))
}

fn specialty(p: &ClinicianProfile) -> Option<Value> {
    (!p.specialty.trim().is_empty()).then(|| json!([{ "text": p.specialty }]))
}

/// A clinician's bookable time: one Schedule per clinician (its id is theirs), with the
/// kinds of visit they offer and how far ahead they can be booked.
pub fn schedule(p: &ClinicianProfile, now: DateTime<Utc>) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Schedule"));
    o.insert("id".into(), json!(p.user_id.to_string()));
    o.insert("active".into(), json!(true));
    o.insert(
        "serviceType".into(),
        json!(p
            .visit_types
            .iter()
            .map(|v| service_type(v.kind))
            .collect::<Vec<_>>()),
    );
    put(&mut o, "specialty", specialty(p));
    o.insert(
        "actor".into(),
        json!([reference(ResourceType::Practitioner, p.user_id)]),
    );
    o.insert(
        "planningHorizon".into(),
        json!({
            "start": date_time(now),
            "end": date_time(now + Duration::days(p.availability.horizon_days)),
        }),
    );
    o.insert(
        "comment".into(),
        json!(format!(
            "Booked at least {} minutes ahead; hours kept in {}.",
            p.availability.min_notice_minutes, p.availability.time_zone
        )),
    );
    Value::Object(o)
}

/// A free slot's id: the clinician, the kind of visit and the start (Unix seconds),
/// so that reading it recomputes it (`slot_id_parts`).
pub fn slot_id(clinician: UserId, kind: VisitKind, start: DateTime<Utc>) -> String {
    format!("{clinician}.{}.{}", kind.as_str(), start.timestamp())
}

/// The parts of a slot id, if it is one.
pub fn slot_id_parts(id: &str) -> Option<(UserId, VisitKind, DateTime<Utc>)> {
    let mut parts = id.split('.');
    let clinician = parts.next()?.parse().ok()?;
    let kind = VisitKind::parse(parts.next()?).ok()?;
    let start = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
    parts.next().is_none().then_some((clinician, kind, start))
}

/// A free time of a clinician's for a kind of visit.
pub fn slot(clinician: UserId, kind: VisitKind, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
    json!({
        "resourceType": "Slot",
        "id": slot_id(clinician, kind, start),
        "serviceType": [service_type(kind)],
        "schedule": reference(ResourceType::Schedule, clinician),
        "status": "free",
        "start": instant(start),
        "end": instant(end),
    })
}

/// A clinician's role at the clinic: specialty, the kinds of visit offered, and the
/// weekly hours (in the clinician's own time zone, which the text names).
pub fn practitioner_role(p: &ClinicianProfile) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("PractitionerRole"));
    o.insert("id".into(), json!(p.user_id.to_string()));
    o.insert("active".into(), json!(true));
    o.insert(
        "practitioner".into(),
        reference(ResourceType::Practitioner, p.user_id),
    );
    put(&mut o, "specialty", specialty(p));
    let hours: Vec<Value> = p
        .availability
        .rules
        .iter()
        .map(|r| {
            json!({
                "daysOfWeek": [r.weekday.to_string().to_lowercase()],
                "availableStartTime": r.start.format("%H:%M:%S").to_string(),
                "availableEndTime": r.end.format("%H:%M:%S").to_string(),
            })
        })
        .collect();
    if !hours.is_empty() {
        o.insert("availableTime".into(), json!(hours));
    }
    o.insert(
        "availabilityExceptions".into(),
        json!(format!(
            "Hours in {}; closed days and extra hours are published as Slots.",
            p.availability.time_zone
        )),
    );
    Value::Object(o)
}
