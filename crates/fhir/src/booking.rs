//! An Appointment a client sends, as telemed's booking request: which clinician, which
//! kind of visit, when (from a free `Slot`, or `start` with the practitioner and the
//! service type), for which patient, and why. Telemed's scheduling then decides whether
//! the time is offered and free; this only reads the resource.

use chrono::{DateTime, Utc};
use serde_json::Value;
use telemed_domain::schedule::VisitKind;
use telemed_domain::{Error, Result, UserId};

use crate::resources::{slot_id_parts, visit_kind_of};

/// A booking asked for through FHIR.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub clinician: UserId,
    pub kind: VisitKind,
    pub start: DateTime<Utc>,
    /// The patient participant, if the resource names one.
    pub patient: Option<UserId>,
    pub reason: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> Error {
    Error::unprocessable(field, message)
}

/// The id in a `Type/<id>` reference, if it refers to that type.
fn referenced<'a>(reference: &'a Value, rt: &str) -> Option<&'a str> {
    reference["reference"]
        .as_str()?
        .strip_prefix(rt)?
        .strip_prefix('/')
}

/// Reads a new Appointment (status `booked` or `proposed`).
pub fn booking(json: &Value) -> Result<Booking> {
    if json["resourceType"] != "Appointment" {
        return Err(bad("resourceType", "this is not an Appointment"));
    }
    match json["status"].as_str() {
        Some("booked" | "proposed") => {}
        _ => {
            return Err(bad(
                "status",
                "a new appointment is booked (status booked or proposed)",
            ))
        }
    }
    let actors: Vec<&Value> = json["participant"]
        .as_array()
        .map(|ps| ps.iter().map(|p| &p["actor"]).collect())
        .unwrap_or_default();
    let named = |rt: &str| -> Result<Option<UserId>> {
        let ids: Vec<&str> = actors.iter().filter_map(|a| referenced(a, rt)).collect();
        match ids.as_slice() {
            [] => Ok(None),
            [one] => one
                .parse()
                .map(Some)
                .map_err(|_| bad("participant", format!("no such {rt}"))),
            _ => Err(bad("participant", format!("one {rt} per appointment"))),
        }
    };
    let patient = named("Patient")?;
    let practitioner = named("Practitioner")?;
    let start = match json["start"].as_str() {
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| bad("start", "start is an instant with a time zone"))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let kinds: Vec<VisitKind> = json["serviceType"]
        .as_array()
        .map(|types| {
            types
                .iter()
                .flat_map(|t| t["coding"].as_array().cloned().unwrap_or_default())
                .filter_map(|c| c["code"].as_str().and_then(visit_kind_of))
                .collect()
        })
        .unwrap_or_default();
    let slots: Vec<&Value> = json["slot"]
        .as_array()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let (clinician, kind, start) = match slots.as_slice() {
        [] => {
            let clinician = practitioner
                .ok_or_else(|| bad("participant", "name the Practitioner, or a Slot"))?;
            let start = start.ok_or_else(|| bad("start", "give start, or a Slot"))?;
            let kind = match kinds.as_slice() {
                [one] => *one,
                _ => {
                    return Err(bad(
                        "serviceType",
                        "name one kind of visit (VIDEOCONF, PHONE or ONLINEWRIT), or a Slot",
                    ))
                }
            };
            (clinician, kind, start)
        }
        [slot] => {
            let (clinician, kind, slot_start) = referenced(slot, "Slot")
                .and_then(slot_id_parts)
                .ok_or_else(|| bad("slot", "no such slot"))?;
            let agrees = practitioner.is_none_or(|p| p == clinician)
                && start.is_none_or(|s| s == slot_start)
                && kinds.iter().all(|k| *k == kind);
            if !agrees {
                return Err(bad(
                    "slot",
                    "the slot's clinician, time or kind of visit differs from the appointment's",
                ));
            }
            (clinician, kind, slot_start)
        }
        _ => return Err(bad("slot", "book one slot per appointment")),
    };
    let reason = json["reasonCode"]
        .as_array()
        .and_then(|r| r.first())
        .and_then(|r| r["text"].as_str())
        .or_else(|| json["description"].as_str())
        .unwrap_or_default()
        .to_owned();
    Ok(Booking {
        clinician,
        kind,
        start,
        patient,
        reason,
    })
}

/// What an update of an Appointment may change: only its cancellation, with the reason
/// (`cancelationReason.text`) telemed tells the other side.
pub fn cancellation(json: &Value) -> Result<String> {
    if json["status"] != "cancelled" {
        return Err(bad(
            "status",
            "an appointment is changed through FHIR only by cancelling it (status cancelled); move it in telemed",
        ));
    }
    Ok(json["cancelationReason"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_booking_comes_from_a_slot_or_from_its_parts() {
        let doctor = UserId::new();
        let patient = UserId::new();
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let slot = crate::resources::slot_id(doctor, VisitKind::Audio, start);
        let b = booking(&json!({"resourceType": "Appointment", "status": "booked",
            "slot": [{"reference": format!("Slot/{slot}")}],
            "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"}],
            "reasonCode": [{"text": "Cough"}]}))
        .unwrap();
        assert_eq!(
            b,
            Booking {
                clinician: doctor,
                kind: VisitKind::Audio,
                start,
                patient: Some(patient),
                reason: "Cough".into()
            }
        );
        let parts = booking(&json!({"resourceType": "Appointment", "status": "proposed",
            "start": "2027-01-15T09:30:00+01:00",
            "serviceType": [{"coding": [{"code": "VIDEOCONF"}]}],
            "participant": [{"actor": {"reference": format!("Practitioner/{doctor}")}, "status": "accepted"}],
            "description": "Follow-up"}))
        .unwrap();
        assert_eq!(parts.kind, VisitKind::Video);
        assert_eq!(parts.start.to_rfc3339(), "2027-01-15T08:30:00+00:00");
        assert_eq!(parts.patient, None);

        let refused = |j: Value, field: &str| match booking(&j) {
            Err(Error::Unprocessable { field: f, .. }) => assert_eq!(f, field, "{j}"),
            other => panic!("{j}: {other:?}"),
        };
        refused(
            json!({"resourceType": "Appointment", "status": "fulfilled"}),
            "status",
        );
        refused(
            json!({"resourceType": "Appointment", "status": "booked", "start": "2027-01-15T09:30:00Z"}),
            "participant",
        );
        refused(
            json!({"resourceType": "Appointment", "status": "booked",
                "slot": [{"reference": format!("Slot/{slot}")}], "start": "2030-01-01T00:00:00Z"}),
            "slot",
        );
        refused(
            json!({"resourceType": "Appointment", "status": "booked", "slot": [{"reference": "Slot/x"}]}),
            "slot",
        );
        assert!(cancellation(&json!({"status": "booked"})).is_err());
        assert_eq!(
            cancellation(&json!({"status": "cancelled", "cancelationReason": {"text": "Ill"}}))
                .unwrap(),
            "Ill"
        );
    }
}
