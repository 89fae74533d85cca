//! telemed's rows as FHIR R4 resources. References are relative (`Patient/<id>`); times
//! are UTC. Each mapping keeps the R4 invariants of its type (for instance, a Condition
//! entered in error has no clinical status; an abatement only with a status that says
//! it ended), and the test suite has every resource it returns checked by independent
//! validators.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use telemed_domain::names::PersonName;
use telemed_domain::record::{self, EntryStatus, Section, Severity};
use telemed_domain::views::Entry;
use telemed_domain::views::Person;

use crate::bundle::Resource;
use crate::types::ResourceType;

mod prescribing;
mod scheduling;

pub use prescribing::{medication_dispense, medication_request};
pub use scheduling::{
    appointment, encounter, practitioner_role, schedule, slot, slot_id, slot_id_parts,
    visit_kind_of,
};

const UCUM: &str = "http://unitsofmeasure.org";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const ALLERGY_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const SYSTOLIC: &str = "8480-6";
const DIASTOLIC: &str = "8462-4";

const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";

/// A consent a patient gave in telemed (the telehealth consent before a first video
/// visit): to treatment, by the patient, naming the text's version.
pub fn consent(c: &telemed_domain::views::Consent) -> Value {
    json!({
        "resourceType": "Consent",
        "id": c.id,
        "meta": { "lastUpdated": instant(c.accepted_at) },
        "status": "active",
        "scope": coding(CONSENT_SCOPE, "treatment"),
        "category": [{
            "coding": [{ "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent" }],
        }],
        "patient": reference(ResourceType::Patient, c.user),
        "dateTime": date_time(c.accepted_at),
        "performer": [reference(ResourceType::Patient, c.user)],
        "policyRule": { "text": format!("telemed {} consent, version {}", c.kind, c.version) },
        "provision": { "type": "permit" },
    })
}

/// Whom a message names: a patient or a clinician by reference, staff by role only
/// (they have no Practitioner resource).
fn party(user: telemed_domain::UserId, role: telemed_domain::Role) -> Value {
    match role {
        telemed_domain::Role::Patient => reference(ResourceType::Patient, user),
        telemed_domain::Role::Clinician => reference(ResourceType::Practitioner, user),
        _ => json!({ "display": "Clinic staff" }),
    }
}

/// A secure message as a Communication: its thread's subject as the topic, the patient
/// the thread is with, sender, the members it reached, and the text.
/// Its attachments' URLs are absolute (`{base}/Binary/<id>`), as R4 validators ask.
pub fn communication(base: &str, c: &telemed_domain::views::Communication) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Communication"));
    o.insert("id".into(), json!(c.id.to_string()));
    o.insert("meta".into(), json!({ "lastUpdated": instant(c.sent_at) }));
    o.insert("status".into(), json!("completed"));
    put(
        &mut o,
        "subject",
        c.patient.map(|p| reference(ResourceType::Patient, p)),
    );
    o.insert("topic".into(), json!({ "text": c.subject }));
    o.insert("sent".into(), json!(date_time(c.sent_at)));
    let mut recipients: Vec<Value> = c.recipients.iter().map(|(u, r)| party(*u, *r)).collect();
    if c.clinic_inbox
        && !c
            .recipients
            .iter()
            .any(|(_, r)| *r == telemed_domain::Role::Staff)
    {
        recipients.push(json!({ "display": "Clinic staff" }));
    }
    if !recipients.is_empty() {
        o.insert("recipient".into(), Value::Array(recipients));
    }
    o.insert("sender".into(), party(c.sender.0, c.sender.1));
    let mut payload = vec![json!({ "contentString": c.body })];
    payload.extend(c.attachments.iter().map(|b| {
        json!({ "contentAttachment": {
            "contentType": b.media_type.mime(),
            "url": format!("{base}/Binary/{}", b.id),
            "size": b.byte_size.min(i64::from(i32::MAX)),
            "title": b.file_name,
            "creation": date_time(b.created_at),
        } })
    }));
    o.insert("payload".into(), Value::Array(payload));
    Value::Object(o)
}

/// A FHIR `instant` (lastUpdated, issued): milliseconds and `Z`.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A FHIR `dateTime` for clinical times: seconds and `Z`.
pub fn date_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn meta(version: Option<i64>, updated: DateTime<Utc>) -> Value {
    let mut m = json!({ "lastUpdated": instant(updated) });
    if let Some(v) = version {
        m["versionId"] = json!(v.to_string());
    }
    m
}

pub fn reference(rt: ResourceType, id: impl std::fmt::Display) -> Value {
    json!({ "reference": format!("{}/{id}", rt.as_str()) })
}

fn coding(system: &str, code: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code }] })
}

/// The entry's code as a CodeableConcept: the coding when there is one, the words always.
fn concept(e: &Entry) -> Value {
    let mut c = json!({ "text": e.text });
    if let (Some(system), Some(code)) = (&e.code_system, &e.code) {
        let mut one = json!({ "system": system, "code": code });
        if let Some(v) = record::vital_kind(code).filter(|_| e.section == Section::Vitals) {
            one["display"] = json!(v.display);
        }
        c["coding"] = Value::Array(vec![one]);
    }
    c
}

fn put(o: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        o.insert(key.to_owned(), v);
    }
}

fn notes(e: &Entry) -> Option<Value> {
    e.note.as_ref().map(|n| json!([{ "text": n }]))
}

/// A chart entry as the resource of its section's type; `None` for sections FHIR does
/// not serve from entries (family and social history). An entry another system sent is
/// the resource as it was sent (ARCHITECTURE.md, "What a sender wrote is kept").
pub fn entry(e: &Entry) -> Option<Value> {
    let rt = ResourceType::of_section(e.section, e.results.is_some())?;
    let source = e
        .source
        .as_deref()
        .and_then(|s| serde_json::from_str::<Map<String, Value>>(s).ok());
    match source {
        Some(source) => as_sent(source, e, rt),
        None => own_entry(e, rt),
    }
}

/// `entry`, for a response. An entry kept as its sender wrote it, its status unchanged
/// and without a `meta` of its own, is its kept text with telemed's id and meta spliced
/// in front (the kept text never has an id: `input::kept`), so reads and searches
/// neither parse nor re-serialise it; any other is `entry`'s JSON.
pub fn entry_resource(e: &Entry) -> Option<Resource> {
    let rt = ResourceType::of_section(e.section, e.results.is_some())?;
    if let Some(kept) = e.source.as_deref().filter(|k| {
        e.source_status == Some(e.status) && k.starts_with('{') && !k.contains("\"meta\"")
    }) {
        let head = json!({ "id": e.id.to_string(), "meta": meta(Some(e.version), e.updated_at) })
            .to_string();
        let head = head.strip_suffix('}').unwrap_or(&head);
        let rest = kept[1..].trim_start();
        let text = if rest.starts_with('}') {
            format!("{head}}}")
        } else {
            format!("{head},{rest}")
        };
        return Some(Resource::Written {
            path: format!("{}/{}", rt.as_str(), e.id),
            text,
        });
    }
    entry(e).map(Resource::Json)
}

/// The resource as its sender wrote it, with what telemed owns laid over it: its id,
/// version and time of update, and, once telemed has changed the entry's status
/// (resolved, stopped, entered in error), the elements that state it. (Telemed's own
/// rendering is made only then: reads are the hot path.)
fn as_sent(mut source: Map<String, Value>, e: &Entry, rt: ResourceType) -> Option<Value> {
    if e.source_status == Some(e.status) {
        let identity = json!({
            "resourceType": rt.as_str(),
            "id": e.id.to_string(),
            "meta": meta(Some(e.version), e.updated_at),
        });
        lay_identity(&mut source, &identity);
        return Some(Value::Object(source));
    }
    let own = own_entry(e, rt)?;
    lay_identity(&mut source, &own);
    let erroneous = e.status == EntryStatus::EnteredInError;
    // (element, whether telemed's rendering replaces it even when it has none)
    let elements: &[(&str, bool)] = match rt {
        ResourceType::Condition => &[
            ("clinicalStatus", true),
            ("verificationStatus", erroneous),
            ("abatement", false),
        ],
        ResourceType::AllergyIntolerance => {
            &[("clinicalStatus", true), ("verificationStatus", erroneous)]
        }
        _ => &[("status", true)],
    };
    for (element, always) in elements {
        // `abatement` stands for `abatement[x]`: abatementDateTime, abatementString…
        let named = |k: &str| {
            k == *element
                || k.strip_prefix(element)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        };
        let replacement: Vec<(String, Value)> = own
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| named(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if replacement.is_empty() && !always {
            continue;
        }
        if *element == "verificationStatus" && !erroneous {
            continue;
        }
        source.retain(|k, _| !named(k));
        source.extend(replacement);
    }
    Some(Value::Object(source))
}

/// What telemed says of every resource it keeps, laid over the one a sender wrote: its
/// type and id, and its version and time of update beside the sender's own `meta`
/// (profiles, tags, security labels).
fn lay_identity(source: &mut Map<String, Value>, own: &Value) {
    for key in ["resourceType", "id"] {
        if let Some(v) = own.get(key) {
            source.insert(key.into(), v.clone());
        }
    }
    let mut meta = match source.remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(Value::Object(own_meta)) = own.get("meta") {
        meta.extend(own_meta.clone());
    }
    source.insert("meta".into(), Value::Object(meta));
}

/// An entry as telemed renders it from the chart's own fields.
fn own_entry(e: &Entry, rt: ResourceType) -> Option<Value> {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!(rt.as_str()));
    o.insert("id".into(), json!(e.id.to_string()));
    o.insert("meta".into(), meta(Some(e.version), e.updated_at));
    let subject = reference(ResourceType::Patient, e.patient);
    match rt {
        ResourceType::Condition => {
            if let Some(c) = clinical_status(e) {
                o.insert("clinicalStatus".into(), coding(CONDITION_CLINICAL, c));
            }
            o.insert(
                "verificationStatus".into(),
                coding(CONDITION_VERIFICATION, verification(e)),
            );
            o.insert(
                "category".into(),
                json!([coding(CONDITION_CATEGORY, "problem-list-item")]),
            );
            o.insert("code".into(), concept(e));
            o.insert("subject".into(), subject);
            put(&mut o, "onsetDateTime", written(&e.effective));
            let ended = matches!(
                e.status,
                EntryStatus::Resolved | EntryStatus::Inactive | EntryStatus::Remission
            );
            put(
                &mut o,
                "abatementDateTime",
                written(&e.ended).filter(|_| ended),
            );
            o.insert("recordedDate".into(), json!(date_time(e.recorded_at)));
        }
        ResourceType::AllergyIntolerance => {
            if let Some(c) = clinical_status(e) {
                o.insert("clinicalStatus".into(), coding(ALLERGY_CLINICAL, c));
            }
            o.insert(
                "verificationStatus".into(),
                coding(ALLERGY_VERIFICATION, verification(e)),
            );
            // An allergy typed in telemed has a severity; its criticality follows.
            let criticality = e.criticality.map(|c| c.as_str()).or_else(|| {
                e.severity.map(|s| match s {
                    Severity::Severe => "high",
                    Severity::Mild | Severity::Moderate => "low",
                })
            });
            put(&mut o, "criticality", criticality.map(|c| json!(c)));
            o.insert("code".into(), concept(e));
            o.insert("patient".into(), subject);
            put(&mut o, "onsetDateTime", written(&e.effective));
            o.insert("recordedDate".into(), json!(date_time(e.recorded_at)));
            put(
                &mut o,
                "reaction",
                e.reaction.as_ref().map(|r| {
                    let mut one = json!({ "manifestation": [{ "text": r }] });
                    if let Some(s) = e.severity {
                        one["severity"] = json!(s.as_str());
                    }
                    Value::Array(vec![one])
                }),
            );
        }
        ResourceType::MedicationStatement => {
            o.insert("status".into(), json!(e.status.as_str()));
            o.insert("medicationCodeableConcept".into(), concept(e));
            o.insert("subject".into(), subject);
            effective(e, &mut o);
            o.insert("dateAsserted".into(), json!(date_time(e.recorded_at)));
            put(
                &mut o,
                "dosage",
                e.dosage.as_ref().map(|d| json!([{ "text": d }])),
            );
        }
        ResourceType::Immunization => {
            o.insert(
                "status".into(),
                json!(match e.status {
                    EntryStatus::Final => "completed",
                    other => other.as_str(),
                }),
            );
            o.insert("vaccineCode".into(), concept(e));
            o.insert("patient".into(), subject);
            match written(&e.effective) {
                Some(t) => o.insert("occurrenceDateTime".into(), t),
                None => o.insert("occurrenceString".into(), json!("unknown")),
            };
            o.insert("recorded".into(), json!(date_time(e.recorded_at)));
        }
        ResourceType::Observation => observation(e, &mut o, subject),
        ResourceType::DiagnosticReport => {
            // A report's words are its conclusion; it has no `note` element.
            lab_report(e, &mut o, subject);
            return Some(Value::Object(o));
        }
        _ => return None,
    }
    put(&mut o, "note", notes(e));
    Some(Value::Object(o))
}

/// A time as written (a year, a month, a date or an instant with its offset).
fn written(t: &Option<telemed_domain::clinical_time::ClinicalTime>) -> Option<Value> {
    t.as_ref().map(|t| json!(t.written()))
}

/// `effective[x]`: a dateTime, or a period when the entry also ended.
fn effective(e: &Entry, o: &mut Map<String, Value>) {
    match (written(&e.effective), written(&e.ended)) {
        (Some(start), Some(end)) => {
            o.insert(
                "effectivePeriod".into(),
                json!({ "start": start, "end": end }),
            );
        }
        (None, Some(end)) => {
            o.insert("effectivePeriod".into(), json!({ "end": end }));
        }
        (Some(start), None) => {
            o.insert("effectiveDateTime".into(), start);
        }
        (None, None) => {}
    }
}

/// A problem's or allergy's clinical status; none when entered in error (R4 con-5,
/// ait-1) or when its sender stated none.
fn clinical_status(e: &Entry) -> Option<&'static str> {
    match e.status {
        EntryStatus::EnteredInError | EntryStatus::Unstated => None,
        s => Some(s.as_str()),
    }
}

/// A problem's or allergy's verification status: as recorded; an entry typed in
/// telemed by a clinician is confirmed.
fn verification(e: &Entry) -> &'static str {
    match (e.status, e.verification) {
        (EntryStatus::EnteredInError, _) => "entered-in-error",
        (_, Some(v)) => v.as_str(),
        (_, None) => "confirmed",
    }
}

/// The v2 diagnostic service section of a laboratory report.
const DIAGNOSTIC_SERVICE: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";

/// What an Observation and a DiagnosticReport begin with: status, one category,
/// code, subject, when it was taken and when it was issued.
fn measured(e: &Entry, o: &mut Map<String, Value>, subject: Value, category: Value) {
    o.insert("status".into(), json!(e.status.as_str()));
    o.insert("category".into(), category);
    o.insert("code".into(), concept(e));
    o.insert("subject".into(), subject);
    effective(e, o);
    o.insert("issued".into(), json!(instant(e.recorded_at)));
}

fn lab_report(e: &Entry, o: &mut Map<String, Value>, subject: Value) {
    measured(
        e,
        o,
        subject,
        json!([{ "coding": [{ "system": DIAGNOSTIC_SERVICE, "code": "LAB", "display": "Laboratory" }] }]),
    );
    let results: Vec<Value> = e
        .results
        .iter()
        .flatten()
        .map(|id| json!({ "reference": format!("Observation/{id}") }))
        .collect();
    if !results.is_empty() {
        o.insert("result".into(), Value::Array(results));
    }
    put(o, "conclusion", e.note.as_ref().map(|n| json!(n)));
}

fn observation(e: &Entry, o: &mut Map<String, Value>, subject: Value) {
    let vital = e.section == Section::Vitals;
    let categories: Vec<Value> = e
        .categories
        .iter()
        .map(|code| {
            let mut c = json!({ "system": OBSERVATION_CATEGORY, "code": code });
            match code.as_str() {
                "vital-signs" => c["display"] = json!("Vital Signs"),
                "laboratory" => c["display"] = json!("Laboratory"),
                _ => {}
            }
            json!({ "coding": [c] })
        })
        .collect();
    measured(e, o, subject, Value::Array(categories));
    let quantity = |v: f64| {
        let mut q = json!({ "value": v });
        if let Some(unit) = &e.unit {
            q["unit"] = json!(unit);
            // Vital signs' units are UCUM by construction (fixed by the LOINC code);
            // a lab's unit is as the laboratory wrote it.
            if vital {
                q["system"] = json!(UCUM);
                q["code"] = json!(unit);
            }
        }
        q
    };
    let two_values = e
        .code
        .as_deref()
        .and_then(record::vital_kind)
        .is_some_and(|k| k.two_values);
    if vital && two_values {
        let component = |code: &str, display: &str, v: Option<f64>| {
            let mut c = json!({
                "code": { "coding": [{ "system": record::LOINC, "code": code, "display": display }] },
            });
            match v {
                Some(v) => c["valueQuantity"] = quantity(v),
                None => {
                    c["dataAbsentReason"] = json!({ "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                        "code": "unknown" }] })
                }
            }
            c
        };
        o.insert(
            "component".into(),
            json!([
                component(SYSTOLIC, "Systolic blood pressure", e.value),
                component(DIASTOLIC, "Diastolic blood pressure", e.value2),
            ]),
        );
    } else if let Some(v) = e.value {
        o.insert("valueQuantity".into(), quantity(v));
    } else if let Some(t) = &e.value_text {
        o.insert("valueString".into(), json!(t));
    }
    if let Some(v) = e.value.filter(|_| !two_values) {
        let flag = if e.range_low.is_some_and(|lo| v < lo) {
            Some(("L", "Low"))
        } else if e.range_high.is_some_and(|hi| v > hi) {
            Some(("H", "High"))
        } else if e.range_low.is_some() || e.range_high.is_some() {
            Some(("N", "Normal"))
        } else {
            None
        };
        if let Some((code, display)) = flag {
            o.insert(
                "interpretation".into(),
                json!([{ "coding": [{ "system": INTERPRETATION, "code": code, "display": display }] }]),
            );
        }
    }
    if e.range_low.is_some() || e.range_high.is_some() {
        let bound = |v: f64| {
            let mut q = json!({ "value": v });
            if let Some(u) = &e.unit {
                q["unit"] = json!(u);
            }
            q
        };
        let mut r = Map::new();
        put(&mut r, "low", e.range_low.map(bound));
        put(&mut r, "high", e.range_high.map(bound));
        o.insert(
            "referenceRange".into(),
            Value::Array(vec![Value::Object(r)]),
        );
    }
}

fn human_name(p: &Person) -> Value {
    name_of("official", &p.display_name, &p.family, &p.given)
}

/// A `HumanName`: its use, text, and the parts that are known.
fn name_of(usage: &str, text: &str, family: &str, given: &[String]) -> Value {
    let mut n = json!({ "use": usage, "text": text });
    if !family.is_empty() {
        n["family"] = json!(family);
    }
    if !given.is_empty() {
        n["given"] = json!(given);
    }
    n
}

/// A patient as FHIR sees them. A patient another system registered is the Patient
/// resource it sent, and each element telemed also keeps (name, birth date, gender,
/// phone, address, emergency contact) comes from that resource for as long as telemed's
/// value is still the one it states; once someone changes it in telemed, telemed's own.
pub fn patient(p: &Person) -> Value {
    let own = own_patient(p);
    let source = p
        .source
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    let (Some(Value::Object(mut source)), Some(sent)) = (
        source.clone(),
        source.and_then(|s| crate::input::patient(&s).ok()),
    ) else {
        return own;
    };
    let d = &sent.demographics;
    let unchanged = [
        (
            &["name"][..],
            sent.name
                == PersonName {
                    family: p.family.clone(),
                    given: p.given.clone(),
                }
                && sent.display_name == p.display_name
                && p.former_names.is_empty(),
        ),
        (&["birthDate"], d.birth_date == p.birth_date),
        (&["gender"], d.sex == p.sex),
        (
            &["telecom"],
            d.phone == p.phone && sent.email.as_ref().is_none_or(|e| *e == p.email),
        ),
        (&["address"], d.address == p.address),
        (
            &["contact"],
            d.emergency_contact == p.emergency_contact && d.emergency_phone == p.emergency_phone,
        ),
    ];
    for (elements, same) in unchanged {
        if same {
            continue;
        }
        for element in elements {
            match own.get(*element) {
                Some(v) => source.insert((*element).to_owned(), v.clone()),
                None => source.remove(*element),
            };
        }
    }
    lay_identity(&mut source, &own);
    // Whether the record is in use is telemed's to say (a closed account is not).
    if source.contains_key("active") || !p.active {
        source.insert("active".into(), json!(p.active));
    }
    Value::Object(source)
}

fn own_patient(p: &Person) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Patient"));
    o.insert("id".into(), json!(p.id.to_string()));
    o.insert("meta".into(), meta(None, p.updated_at));
    if !p.identifiers.is_empty() {
        let ids: Vec<Value> = p
            .identifiers
            .iter()
            .map(|i| {
                if i.system.is_empty() {
                    json!({ "value": i.value })
                } else {
                    json!({ "system": i.system, "value": i.value })
                }
            })
            .collect();
        o.insert("identifier".into(), Value::Array(ids));
    }
    o.insert("active".into(), json!(p.active));
    let mut names = vec![human_name(p)];
    // Earlier names, most recent first, each with when it stopped being theirs.
    names.extend(p.former_names.iter().rev().map(|f| {
        let mut n = name_of("old", &f.display_name, &f.family, &f.given);
        n["period"] = json!({ "end": instant(f.until) });
        n
    }));
    o.insert("name".into(), Value::Array(names));
    let mut telecom = vec![json!({ "system": "email", "value": p.email, "use": "home" })];
    if let Some(phone) = &p.phone {
        telecom.push(json!({ "system": "phone", "value": phone, "use": "mobile" }));
    }
    o.insert("telecom".into(), Value::Array(telecom));
    put(&mut o, "gender", p.sex.as_ref().map(|s| json!(s)));
    put(&mut o, "birthDate", p.birth_date.as_ref().map(|d| json!(d)));
    put(
        &mut o,
        "address",
        p.address.as_ref().map(|a| json!([{ "text": a }])),
    );
    if p.emergency_contact.is_some() || p.emergency_phone.is_some() {
        let mut c = json!({ "relationship": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C", "display": "Emergency Contact" }] }] });
        if let Some(name) = &p.emergency_contact {
            c["name"] = json!({ "text": name });
        }
        if let Some(phone) = &p.emergency_phone {
            c["telecom"] = json!([{ "system": "phone", "value": phone }]);
        }
        o.insert("contact".into(), Value::Array(vec![c]));
    }
    o.insert(
        "communication".into(),
        json!([{ "language": { "coding": [{ "system": "urn:ietf:bcp:47", "code": p.locale }] }, "preferred": true }]),
    );
    Value::Object(o)
}

pub fn practitioner(p: &Person) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": p.id.to_string(),
        "meta": meta(None, p.updated_at),
        "active": p.active,
        "name": [human_name(p)],
        "telecom": [{ "system": "email", "value": p.email, "use": "work" }],
    })
}

/// A document of the record, its file served as `{base}/Binary/<document id>`.
pub fn document_reference(base: &str, d: &telemed_domain::views::Document) -> Value {
    use telemed_domain::documents::DocumentStatus;
    let description = match &d.description {
        Some(more) => format!("{} — {more}", d.title),
        None => d.title.clone(),
    };
    json!({
        "resourceType": "DocumentReference",
        "id": d.id.to_string(),
        "meta": meta(Some(d.version), d.updated_at),
        "status": if d.status == DocumentStatus::EnteredInError { "entered-in-error" } else { "current" },
        "category": [{ "coding": [{ "system": DOCUMENT_CATEGORY, "code": d.category.as_str() }] }],
        "subject": reference(ResourceType::Patient, d.patient),
        "date": instant(d.created_at),
        "author": [{ "display": d.uploaded_by_name }],
        "description": description,
        "content": [{ "attachment": {
            "contentType": d.file.media_type.mime(),
            "url": format!("{base}/Binary/{}", d.id),
            // unsignedInt in R4: at most 2^31 - 1.
            "size": d.file.byte_size.min(i64::from(i32::MAX)),
            "title": d.file.file_name,
            "creation": date_time(d.created_at),
        } }],
    })
}

/// telemed's document categories, as a code system of its own.
pub const DOCUMENT_CATEGORY: &str = "urn:telemed:document-category";

/// An entry of the audit trail. Its id is the entry's sequence number in the hash chain.
pub fn audit_event(e: &telemed_domain::views::AuditEntry) -> Value {
    use telemed_domain::audit::Outcome;
    let reads = [".read", ".download", ".view", ".export.json", ".export.pdf"];
    let action = if reads.iter().any(|r| e.action.ends_with(r)) {
        "R"
    } else if e.action.ends_with(".create") || e.action.ends_with(".register") {
        "C"
    } else if e.action.ends_with(".write") {
        "U"
    } else {
        "E"
    };
    let who = match (e.actor, e.actor_role) {
        (Some(a), Some(telemed_domain::Role::Patient)) => reference(ResourceType::Patient, a),
        (Some(a), Some(telemed_domain::Role::Clinician)) => {
            reference(ResourceType::Practitioner, a)
        }
        (Some(a), _) => json!({ "display": format!("telemed user {a}") }),
        (None, _) => json!({ "display": "telemed" }),
    };
    let mut agent = json!({ "who": who, "requestor": e.actor.is_some() });
    if let Some(addr) = &e.client_addr {
        agent["network"] = json!({ "address": addr, "type": "2" });
    }
    let mut r = json!({
        "resourceType": "AuditEvent",
        "id": e.seq.to_string(),
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation" },
        "subtype": [{ "system": AUDIT_ACTION, "code": e.action }],
        "action": action,
        "recorded": instant(e.at),
        "outcome": if e.outcome == Outcome::Success { "0" } else { "4" },
        "agent": [agent],
        "source": { "observer": { "display": "telemed" } },
    });
    if let Some(p) = e.patient {
        r["entity"] = json!([{ "what": reference(ResourceType::Patient, p) }]);
    }
    if let Some(d) = &e.detail {
        r["outcomeDesc"] = json!(d);
    }
    r
}

/// telemed's audit actions, as a code system of its own.
pub const AUDIT_ACTION: &str = "urn:telemed:audit-action";
