//! Prescriptions as MedicationRequest (an order, with the checks' findings at signing
//! as contained DetectedIssues, each with the reason the prescriber gave to sign over
//! it) and what pharmacies handed over as MedicationDispense.

use serde_json::{json, Map, Value};
use telemed_domain::prescribing::prescription::PrescriptionStatus;
use telemed_domain::prescribing::sig::Frequency;
use telemed_domain::prescribing::{Medication, Severity};
use telemed_domain::views::{Dispense, Prescription};

use super::{date_time, instant, reference};
use crate::types::ResourceType;

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// The medication as a CodeableConcept: the catalogue's coding, the name always; a
/// drug written in words has its words only.
fn medication(m: &Medication) -> Value {
    if m.is_checked() {
        json!({
            "coding": [{ "system": m.system, "code": m.code, "display": m.name }],
            "text": m.name,
        })
    } else {
        json!({ "text": format!("{} (not checked: written in words)", m.name) })
    }
}

fn status(s: PrescriptionStatus) -> &'static str {
    match s {
        PrescriptionStatus::Active => "active",
        PrescriptionStatus::Cancelled => "cancelled",
        PrescriptionStatus::Stopped => "stopped",
        PrescriptionStatus::Completed => "completed",
    }
}

fn issue_severity(s: Severity) -> &'static str {
    match s {
        Severity::Contraindicated | Severity::Major => "high",
        Severity::Moderate => "moderate",
        Severity::Minor => "low",
    }
}

/// The sig as a Dosage: the words, the route, the timing, the dose, when needed.
fn dosage(p: &Prescription) -> Value {
    let sig = &p.sig;
    let (frequency, period, unit) = match sig.frequency {
        Frequency::OnceDaily | Frequency::AtBedtime => (1, 1.0, "d"),
        Frequency::TwiceDaily => (2, 1.0, "d"),
        Frequency::ThreeTimesDaily => (3, 1.0, "d"),
        Frequency::FourTimesDaily => (4, 1.0, "d"),
        Frequency::Hours(h) => (1, f64::from(h), "h"),
        Frequency::Weekly => (1, 1.0, "wk"),
    };
    let mut repeat = json!({ "frequency": frequency, "period": period, "periodUnit": unit });
    if sig.frequency == Frequency::AtBedtime {
        repeat["when"] = json!(["HS"]);
    }
    if let Some(days) = sig.duration_days {
        repeat["boundsDuration"] = json!({
            "value": days, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d",
        });
    }
    let mut d = json!({
        "text": p.sig_text_en,
        "timing": { "repeat": repeat },
        "route": { "text": sig.route },
        "doseAndRate": [{ "doseQuantity": { "value": sig.dose, "unit": sig.unit } }],
    });
    match &sig.as_needed {
        Some(reason) => d["asNeededCodeableConcept"] = json!({ "text": reason }),
        None => d["asNeededBoolean"] = json!(false),
    }
    if !sig.instructions.is_empty() {
        d["patientInstruction"] = json!(sig.instructions);
    }
    d
}

/// A signed prescription as a MedicationRequest (intent `order`).
pub fn medication_request(p: &Prescription) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("MedicationRequest"));
    o.insert("id".into(), json!(p.id));
    o.insert(
        "meta".into(),
        json!({ "lastUpdated": instant(p.status_changed_at.unwrap_or(p.signed_at)) }),
    );
    let issues: Vec<Value> = p
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut issue = json!({
                "resourceType": "DetectedIssue",
                "id": format!("issue-{}", i + 1),
                "status": "final",
                "code": { "text": f.finding.kind.as_str() },
                "severity": issue_severity(f.finding.severity),
                "patient": reference(ResourceType::Patient, p.patient),
                "identifiedDateTime": date_time(p.signed_at),
                "detail": format!(
                    "{} ({}): {} {}",
                    f.finding.subject,
                    f.finding.severity.as_str(),
                    f.finding.detail,
                    f.finding.advice
                ),
            });
            if let Some(reason) = &f.override_reason {
                issue["mitigation"] = json!([{
                    "action": { "text": format!("Signed over by the prescriber: {reason}") },
                    "date": date_time(p.signed_at),
                    "author": reference(ResourceType::Practitioner, p.prescriber),
                }]);
            }
            issue
        })
        .collect();
    if !issues.is_empty() {
        o.insert("contained".into(), json!(issues));
    }
    o.insert("status".into(), json!(status(p.status)));
    if let Some(reason) = &p.status_reason {
        o.insert("statusReason".into(), json!({ "text": reason }));
    }
    o.insert("intent".into(), json!("order"));
    o.insert(
        "medicationCodeableConcept".into(),
        medication(&p.medication),
    );
    o.insert(
        "subject".into(),
        reference(ResourceType::Patient, p.patient),
    );
    o.insert("authoredOn".into(), json!(date_time(p.signed_at)));
    o.insert(
        "requester".into(),
        reference(ResourceType::Practitioner, p.prescriber),
    );
    if !p.findings.is_empty() {
        let refs: Vec<Value> = (1..=p.findings.len())
            .map(|i| json!({ "reference": format!("#issue-{i}") }))
            .collect();
        o.insert("detectedIssue".into(), json!(refs));
    }
    if !p.note.is_empty() {
        o.insert("note".into(), json!([{ "text": p.note }]));
    }
    o.insert("dosageInstruction".into(), json!([dosage(p)]));
    o.insert(
        "dispenseRequest".into(),
        json!({
            "validityPeriod": { "start": date_time(p.signed_at) },
            "numberOfRepeatsAllowed": p.refills,
            "quantity": { "value": p.quantity, "unit": p.quantity_unit },
        }),
    );
    o.insert(
        "substitution".into(),
        json!({ "allowedBoolean": p.substitution_allowed }),
    );
    Value::Object(o)
}

/// What a pharmacy handed over as a MedicationDispense: the fill it was of (first or
/// refill, whole or partial), the quantity, when, and the pharmacy.
pub fn medication_dispense(d: &Dispense, p: &Prescription) -> Value {
    let kind = match (d.fill == 1, d.fill_complete) {
        (true, true) => ("FF", "First Fill"),
        (true, false) => ("FFP", "First Fill - Partial"),
        (false, true) => ("RF", "Refill"),
        (false, false) => ("RFP", "Refill - Part Fill"),
    };
    json!({
        "resourceType": "MedicationDispense",
        "id": d.id,
        "meta": { "lastUpdated": instant(d.dispensed_at) },
        "status": "completed",
        "medicationCodeableConcept": medication(&p.medication),
        "subject": reference(ResourceType::Patient, p.patient),
        "performer": [{ "actor": { "display": d.pharmacy_name } }],
        "authorizingPrescription": [reference(ResourceType::MedicationRequest, &p.id)],
        "type": { "coding": [{ "system": ACT_CODE, "code": kind.0, "display": kind.1 }] },
        "quantity": { "value": d.quantity, "unit": p.quantity_unit },
        "whenHandedOver": date_time(d.dispensed_at),
    })
}
