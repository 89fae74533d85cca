//! FHIR resources sent to telemed (create, transaction import) as telemed's own input:
//! a chart entry for its section, or a new patient. What does not fit is refused as
//! unprocessable (422) with the element named; the domain's validation then checks the
//! entry as it checks one typed in the UI.

use serde_json::Value;
use telemed_domain::names::PersonName;
use telemed_domain::record::{self, NewEntry, Section};
use telemed_domain::{Error, Result};
use telemed_store::fhir::Identifier;
use telemed_store::record::Demographics;

use crate::types::ResourceType;

/// A resource as telemed will store it.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A chart entry, about the patient the reference names (`Patient/<id>` or a
    /// transaction's `urn:uuid:…`).
    Entry {
        section: Section,
        patient: String,
        entry: NewEntry,
    },
    Patient(NewPatient),
}

#[derive(Debug, Clone)]
pub struct NewPatient {
    /// Identifiers in other systems, kept and searchable (`identifier=`).
    pub identifiers: Vec<Identifier>,
    pub name: PersonName,
    pub display_name: String,
    pub email: Option<String>,
    pub demographics: Demographics,
}

fn bad(field: &'static str, message: impl Into<String>) -> Error {
    Error::unprocessable(field, message)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// A CodeableConcept as (system, code, words): the first coding, the text or display.
fn concept(v: &Value) -> (Option<String>, Option<String>, String) {
    let coding = &v["coding"][0];
    let words = text(&v["text"])
        .or_else(|| text(&coding["display"]))
        .unwrap_or_default();
    match (text(&coding["system"]), text(&coding["code"])) {
        (Some(s), Some(c)) => (Some(s), Some(c), words),
        _ => (None, None, words),
    }
}

/// The code of a CodeableConcept of statuses (clinicalStatus and the like).
fn status_code(v: &Value) -> Option<String> {
    text(&v["coding"][0]["code"])
}

fn subject(json: &Value, element: &'static str) -> Result<String> {
    text(&json[element]["reference"])
        .ok_or_else(|| bad(element, format!("{element}.reference is required")))
}

fn note(json: &Value) -> Option<String> {
    json["note"].as_array().map(|notes| {
        notes
            .iter()
            .filter_map(|n| n["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Reads a resource of `rt` sent by a client.
pub fn parse(rt: ResourceType, json: &Value) -> Result<Incoming> {
    if json["resourceType"].as_str() != Some(rt.as_str()) {
        return Err(bad(
            "resourceType",
            format!("the resource is not a {}", rt.as_str()),
        ));
    }
    let entry = |section: Section, element: &'static str, entry: NewEntry| {
        Ok(Incoming::Entry {
            section,
            patient: subject(json, element)?,
            entry,
        })
    };
    match rt {
        ResourceType::Patient => Ok(Incoming::Patient(patient(json)?)),
        ResourceType::Practitioner => Err(bad(
            "resourceType",
            "practitioners are accounts: invite them from the admin pages",
        )),
        ResourceType::AuditEvent => Err(bad(
            "resourceType",
            "the audit trail is written by telemed itself",
        )),
        ResourceType::Appointment
        | ResourceType::Encounter
        | ResourceType::Schedule
        | ResourceType::Slot
        | ResourceType::PractitionerRole => Err(bad(
            "resourceType",
            "visits are booked, and availability set, through telemed's scheduling API",
        )),
        ResourceType::Communication => Err(bad(
            "resourceType",
            "messages are sent through telemed's messaging API, which checks who may write to whom",
        )),
        ResourceType::Consent => Err(bad(
            "resourceType",
            "a consent is given by the patient in telemed's own pages",
        )),
        ResourceType::DocumentReference => Err(bad(
            "resourceType",
            "documents are files: upload them to /api/v1/patients/{id}/record/documents",
        )),
        ResourceType::Condition => {
            let (code_system, code, words) = concept(&json["code"]);
            let erroneous =
                status_code(&json["verificationStatus"]).as_deref() == Some("entered-in-error");
            entry(
                Section::Problems,
                "subject",
                NewEntry {
                    code_system,
                    code,
                    text: words,
                    status: if erroneous {
                        Some("entered-in-error".into())
                    } else {
                        status_code(&json["clinicalStatus"])
                    },
                    effective: text(&json["onsetDateTime"]),
                    ended: text(&json["abatementDateTime"]),
                    note: note(json),
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::AllergyIntolerance => {
            let (code_system, code, words) = concept(&json["code"]);
            let reaction = &json["reaction"][0];
            let severity =
                text(&reaction["severity"]).or_else(|| match json["criticality"].as_str() {
                    Some("high") => Some("severe".into()),
                    Some("low") => Some("mild".into()),
                    _ => None,
                });
            let manifestation = concept(&reaction["manifestation"][0]).2;
            let erroneous =
                status_code(&json["verificationStatus"]).as_deref() == Some("entered-in-error");
            entry(
                Section::Allergies,
                "patient",
                NewEntry {
                    code_system,
                    code,
                    text: words,
                    status: if erroneous {
                        Some("entered-in-error".into())
                    } else {
                        status_code(&json["clinicalStatus"])
                    },
                    effective: text(&json["onsetDateTime"]),
                    severity,
                    reaction: Some(manifestation).filter(|m| !m.is_empty()),
                    note: note(json),
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::MedicationStatement => {
            let (code_system, code, words) = concept(&json["medicationCodeableConcept"]);
            if words.is_empty() && code.is_none() {
                return Err(bad(
                    "medicationCodeableConcept",
                    "the medication is given as medicationCodeableConcept",
                ));
            }
            let (start, end) = match text(&json["effectiveDateTime"]) {
                Some(t) => (Some(t), None),
                None => (
                    text(&json["effectivePeriod"]["start"]),
                    text(&json["effectivePeriod"]["end"]),
                ),
            };
            let status = match json["status"].as_str() {
                Some("completed") => Some("stopped".into()),
                s => s.map(str::to_owned),
            };
            entry(
                Section::Medications,
                "subject",
                NewEntry {
                    code_system,
                    code,
                    text: words,
                    status,
                    effective: start,
                    ended: end,
                    dosage: text(&json["dosage"][0]["text"]),
                    note: note(json),
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::Immunization => {
            let (code_system, code, words) = concept(&json["vaccineCode"]);
            let status = match json["status"].as_str() {
                Some("completed") | None => None,
                Some("entered-in-error") => Some("entered-in-error".into()),
                Some(other) => {
                    return Err(bad(
                        "status",
                        format!("an immunization '{other}' is not recorded; only given ones are"),
                    ))
                }
            };
            let lot = text(&json["lotNumber"]).map(|l| format!("Lot {l}"));
            let note = match (lot, note(json)) {
                (Some(l), Some(n)) => Some(format!("{l}\n{n}")),
                (l, n) => l.or(n),
            };
            entry(
                Section::Immunizations,
                "patient",
                NewEntry {
                    code_system,
                    code,
                    text: words,
                    status,
                    effective: text(&json["occurrenceDateTime"]),
                    note,
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::Observation => observation(json),
        ResourceType::DiagnosticReport => lab_report(json),
    }
}

/// A laboratory report: its panel's code, when, its conclusion, and the lab results it
/// groups (`Observation/<id>`, or a transaction's `urn:uuid:…`, resolved by the server).
fn lab_report(json: &Value) -> Result<Incoming> {
    let (code_system, code, words) = concept(&json["code"]);
    let status = match json["status"].as_str() {
        Some("final") | Some("amended") | Some("corrected") | Some("appended") => None,
        Some("entered-in-error") => Some("entered-in-error".into()),
        Some(other) => {
            return Err(bad(
                "status",
                format!("a report '{other}' is not recorded; only final reports are"),
            ))
        }
        None => return Err(bad("status", "status is required")),
    };
    let results = match &json["result"] {
        Value::Null => vec![],
        Value::Array(rs) => rs
            .iter()
            .map(|r| {
                text(&r["reference"])
                    .ok_or_else(|| bad("result", "each result is a reference to an Observation"))
            })
            .collect::<Result<Vec<_>>>()?,
        _ => return Err(bad("result", "result is a list of references")),
    };
    Ok(Incoming::Entry {
        section: Section::Labs,
        patient: subject(json, "subject")?,
        entry: NewEntry {
            code_system,
            code,
            text: words,
            status,
            effective: text(&json["effectiveDateTime"]),
            note: text(&json["conclusion"]),
            results: Some(results),
            ..NewEntry::default()
        },
    })
}

fn observation(json: &Value) -> Result<Incoming> {
    let (code_system, code, words) = concept(&json["code"]);
    let vital = code
        .as_deref()
        .and_then(record::vital_kind)
        .filter(|_| code_system.as_deref() == Some(record::LOINC));
    let section = if vital.is_some() {
        Section::Vitals
    } else {
        Section::Labs
    };
    let component = |loinc: &str| {
        json["component"].as_array().and_then(|cs| {
            cs.iter()
                .find(|c| c["code"]["coding"][0]["code"].as_str() == Some(loinc))
                .and_then(|c| c["valueQuantity"]["value"].as_f64())
        })
    };
    let (value, value2) = if vital.is_some_and(|v| v.two_values) {
        (component("8480-6"), component("8462-4"))
    } else {
        (json["valueQuantity"]["value"].as_f64(), None)
    };
    // The unit as written (UCUM code first): a vital sign in another unit than telemed
    // keeps is refused by validation, never stored as if it were in telemed's unit.
    let quantity_unit = |q: &Value| text(&q["code"]).or_else(|| text(&q["unit"]));
    let unit = quantity_unit(&json["valueQuantity"]).or_else(|| {
        json["component"]
            .as_array()
            .and_then(|cs| cs.iter().find_map(|c| quantity_unit(&c["valueQuantity"])))
    });
    let range = &json["referenceRange"][0];
    let status = match json["status"].as_str() {
        Some("final") | Some("amended") | Some("corrected") | None => None,
        Some("entered-in-error") => Some("entered-in-error".into()),
        Some(other) => {
            return Err(bad(
                "status",
                format!("an observation '{other}' is not recorded; only final results are"),
            ))
        }
    };
    Ok(Incoming::Entry {
        section,
        patient: subject(json, "subject")?,
        entry: NewEntry {
            code_system,
            code,
            text: words,
            status,
            effective: text(&json["effectiveDateTime"]),
            value,
            value2,
            value_text: text(&json["valueString"]),
            unit,
            range_low: range["low"]["value"].as_f64(),
            range_high: range["high"]["value"].as_f64(),
            note: note(json),
            ..NewEntry::default()
        },
    })
}

/// The most identifiers one patient may bring.
const MAX_IDENTIFIERS: usize = 20;

fn identifiers(json: &Value) -> Result<Vec<Identifier>> {
    let Some(list) = json.get("identifier") else {
        return Ok(vec![]);
    };
    let list = list
        .as_array()
        .ok_or_else(|| bad("identifier", "identifier is a list"))?;
    if list.len() > MAX_IDENTIFIERS {
        return Err(bad(
            "identifier",
            format!("at most {MAX_IDENTIFIERS} identifiers"),
        ));
    }
    let clean = |v: Option<&str>, what: &str| -> Result<String> {
        let v = v.unwrap_or_default().trim();
        if v.chars().count() > 200 || v.chars().any(char::is_control) {
            return Err(bad(
                "identifier",
                format!("an identifier's {what} is up to 200 printable characters"),
            ));
        }
        Ok(v.to_owned())
    };
    let mut out: Vec<Identifier> = list
        .iter()
        .map(|i| {
            let value = clean(i["value"].as_str(), "value")?;
            if value.is_empty() {
                return Err(bad("identifier", "an identifier needs a value"));
            }
            Ok(Identifier {
                system: clean(i["system"].as_str(), "system")?,
                value,
            })
        })
        .collect::<Result<_>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn patient(json: &Value) -> Result<NewPatient> {
    let names = json["name"].as_array().cloned().unwrap_or_default();
    let official = names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| names.first())
        .ok_or_else(|| bad("name", "a patient needs a name"))?;
    let given: Vec<String> = official["given"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let name = PersonName {
        family: text(&official["family"]).unwrap_or_default(),
        given,
    };
    let display_name = text(&official["text"]).unwrap_or_else(|| name.display());
    if display_name.trim().is_empty() {
        return Err(bad("name", "a patient needs a name"));
    }
    let telecom = |system: &str| {
        json["telecom"].as_array().and_then(|ts| {
            ts.iter()
                .find(|t| t["system"] == system)
                .and_then(|t| text(&t["value"]))
        })
    };
    let gender = text(&json["gender"]);
    if gender
        .as_deref()
        .is_some_and(|g| !matches!(g, "female" | "male" | "other" | "unknown"))
    {
        return Err(bad("gender", "gender is female, male, other or unknown"));
    }
    let address = json["address"][0].as_object().map(|a| {
        a.get("text").and_then(text).unwrap_or_else(|| {
            let mut parts: Vec<String> = a
                .get("line")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for key in ["city", "state", "postalCode", "country"] {
                if let Some(v) = a.get(key).and_then(Value::as_str) {
                    parts.push(v.to_owned());
                }
            }
            parts.join(", ")
        })
    });
    let contact = &json["contact"][0];
    let identifiers = identifiers(json)?;
    Ok(NewPatient {
        identifiers,
        name,
        display_name,
        email: telecom("email"),
        demographics: Demographics {
            birth_date: text(&json["birthDate"]),
            sex: gender,
            phone: telecom("phone"),
            address: address.filter(|a| !a.is_empty()),
            emergency_contact: text(&contact["name"]["text"]).or_else(|| {
                text(&contact["name"]["family"]).map(|f| {
                    let g = contact["name"]["given"][0].as_str().unwrap_or_default();
                    format!("{g} {f}").trim().to_owned()
                })
            }),
            emergency_phone: contact["telecom"]
                .as_array()
                .and_then(|ts| ts.iter().find_map(|t| text(&t["value"]))),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_blood_pressure_observation_becomes_a_vital_with_two_values() {
        let obs = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "subject": {"reference": "urn:uuid:p1"},
            "effectiveDateTime": "2020-01-01T10:00:00Z",
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 81, "unit": "mm[Hg]"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 122, "unit": "mm[Hg]"}}]});
        let Incoming::Entry {
            section,
            patient,
            entry,
        } = parse(ResourceType::Observation, &obs).unwrap()
        else {
            panic!("an entry")
        };
        assert_eq!(section, Section::Vitals);
        assert_eq!(patient, "urn:uuid:p1");
        assert_eq!((entry.value, entry.value2), (Some(122.0), Some(81.0)));
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!(entry.validate(section, now).is_ok());
    }

    #[test]
    fn a_vital_sign_in_another_unit_is_refused_not_converted() {
        let obs = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": "Patient/1"},
            "valueQuantity": {"value": 150, "unit": "lb", "code": "[lb_av]"}});
        let Incoming::Entry { section, entry, .. } =
            parse(ResourceType::Observation, &obs).unwrap()
        else {
            panic!("an entry")
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!(entry.validate(section, now).is_err());
    }

    #[test]
    fn what_does_not_fit_is_unprocessable_with_the_element_named() {
        let cases = [
            (
                ResourceType::Observation,
                json!({"resourceType": "Condition"}),
                "resourceType",
            ),
            (
                ResourceType::Observation,
                json!({"resourceType": "Observation", "code": {"text": "x"}}),
                "subject",
            ),
            (
                ResourceType::Observation,
                json!({"resourceType": "Observation", "status": "preliminary",
                "code": {"text": "x"}, "subject": {"reference": "Patient/1"}}),
                "status",
            ),
            (
                ResourceType::Patient,
                json!({"resourceType": "Patient"}),
                "name",
            ),
            (
                ResourceType::Patient,
                json!({"resourceType": "Patient", "name": [{"family": "X"}], "gender": "f"}),
                "gender",
            ),
            (
                ResourceType::Practitioner,
                json!({"resourceType": "Practitioner"}),
                "resourceType",
            ),
        ];
        for (rt, json, field) in cases {
            match parse(rt, &json) {
                Err(Error::Unprocessable { field: f, .. }) => assert_eq!(f, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_patient_keeps_the_parts_of_their_name() {
        let p = parse(
            ResourceType::Patient,
            &json!({"resourceType": "Patient",
            "name": [{"use": "official", "family": "Núñez", "given": ["Álvaro", "José"]}],
            "gender": "male", "birthDate": "1970-05-06",
            "address": [{"line": ["1 Main St"], "city": "Boston", "state": "MA"}],
            "telecom": [{"system": "phone", "value": "555-0100"}]}),
        )
        .unwrap();
        let Incoming::Patient(p) = p else {
            panic!("a patient")
        };
        assert_eq!(p.display_name, "Álvaro José Núñez");
        assert_eq!(p.name.family, "Núñez");
        assert_eq!(
            p.demographics.address.as_deref(),
            Some("1 Main St, Boston, MA")
        );
        assert_eq!(p.demographics.phone.as_deref(), Some("555-0100"));
        assert_eq!(p.email, None);
    }
}
