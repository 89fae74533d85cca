//! FHIR resources sent to telemed (create, transaction import) as telemed's own input:
//! a chart entry for its section, or a new patient. What does not fit is refused as
//! unprocessable (422) with the element named; the domain's validation then checks the
//! entry as it checks one typed in the UI.

use serde_json::Value;
use telemed_domain::names::{self, PersonName};
use telemed_domain::record::{self, NewEntry, Section};
use telemed_domain::views::Demographics;
use telemed_domain::views::Identifier;
use telemed_domain::{Error, Result};

use crate::types::ResourceType;

/// A resource as telemed will store it.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A chart entry, about the patient the reference names (`Patient/<id>` or a
    /// transaction's `urn:uuid:…`).
    Entry {
        section: Section,
        patient: String,
        entry: Box<NewEntry>,
    },
    Patient(Box<NewPatient>),
}

#[derive(Debug, Clone)]
pub struct NewPatient {
    /// Identifiers in other systems, kept and searchable (`identifier=`).
    pub identifiers: Vec<Identifier>,
    pub name: PersonName,
    pub display_name: String,
    pub email: Option<String>,
    pub demographics: Demographics,
    /// The Patient resource as sent (see `kept`).
    pub source: Value,
}

fn bad(field: &'static str, message: impl Into<String>) -> Error {
    Error::unprocessable(field, message)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// A CodeableConcept as (system, code, words): the coding of the first of `preferred`
/// systems it has (else its first coding), and its text or that coding's display.
/// The other codings stay in the kept resource.
fn concept(v: &Value, preferred: &[&str]) -> (Option<String>, Option<String>, String) {
    let codings = v["coding"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let usable = |c: &&Value| c["system"].is_string() && c["code"].is_string();
    let coding = preferred
        .iter()
        .find_map(|system| {
            codings
                .iter()
                .filter(usable)
                .find(|c| c["system"].as_str() == Some(system))
        })
        .or_else(|| codings.iter().find(usable));
    let words = text(&v["text"])
        .or_else(|| coding.and_then(|c| text(&c["display"])))
        .or_else(|| codings.iter().find_map(|c| text(&c["display"])))
        .unwrap_or_default();
    match coding {
        Some(c) => (text(&c["system"]), text(&c["code"]), words),
        None => (None, None, words),
    }
}

/// Every (system, code) of a CodeableConcept.
fn codings(v: &Value) -> Vec<(String, String)> {
    v["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((text(&c["system"])?, text(&c["code"])?)))
        .collect()
}

/// The code of a CodeableConcept of statuses (clinicalStatus and the like).
fn status_code(v: &Value) -> Option<String> {
    v["coding"]
        .as_array()?
        .iter()
        .find_map(|c| text(&c["code"]))
}

/// The codes of a list of CodeableConcepts (categories).
fn codes(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        .filter_map(|c| text(&c["code"]))
        .filter(|c| !c.is_empty() && c.len() <= 64)
        .collect()
}

/// `status`, which R4 requires of statements, observations and reports.
fn required_status(json: &Value) -> Result<String> {
    text(&json["status"]).ok_or_else(|| bad("status", "status is required"))
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

/// A time element `name[x]`: its dateTime (or instant, or date), or its period's start
/// and end. Ages, ranges and strings are kept in the resource only.
fn time_of(json: &Value, name: &str) -> (Option<String>, Option<String>) {
    for kind in ["DateTime", "Instant", "Date"] {
        if let Some(t) = text(&json[format!("{name}{kind}")]) {
            return (Some(t), None);
        }
    }
    let period = &json[format!("{name}Period")];
    (text(&period["start"]), text(&period["end"]))
}

/// The resource as telemed keeps it: as sent, less what the server assigns (its id,
/// version and time of update; the rest of `meta`, profiles and tags, stays).
pub fn kept(json: &Value) -> Value {
    let mut kept = json.clone();
    if let Some(o) = kept.as_object_mut() {
        o.remove("id");
        let meta_left = o.get_mut("meta").and_then(Value::as_object_mut).map(|m| {
            m.remove("versionId");
            m.remove("lastUpdated");
            !m.is_empty()
        });
        if meta_left == Some(false) {
            o.remove("meta");
        }
    }
    kept
}

/// Reads a resource of `rt` sent by a client. A chart entry brings the resource as
/// sent (`NewEntry::source`), which telemed keeps and returns; the fields read here are
/// what the chart shows, summarises and searches.
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
            entry: Box::new(NewEntry {
                source: Some(kept(json).to_string()),
                codings: codings(match rt {
                    ResourceType::Immunization => &json["vaccineCode"],
                    ResourceType::MedicationStatement => medication(json).unwrap_or(&Value::Null),
                    _ => &json["code"],
                }),
                ..entry
            }),
        })
    };
    match rt {
        ResourceType::Patient => Ok(Incoming::Patient(Box::new(patient(json)?))),
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
        ResourceType::MedicationRequest => Err(bad(
            "resourceType",
            "a prescription is signed with the prescriber's second factor: POST /api/v1/patients/{id}/prescriptions or the prescription pad",
        )),
        ResourceType::MedicationDispense => Err(bad(
            "resourceType",
            "a dispense is recorded by a pharmacist with the prescription's token: POST /api/v1/dispensing/dispenses",
        )),
        ResourceType::DocumentReference => Err(bad(
            "resourceType",
            "documents are files: upload them to /api/v1/patients/{id}/record/documents",
        )),
        ResourceType::Condition => {
            let (code_system, code, words) =
                concept(&json["code"], &[record::ICD10, record::SNOMED]);
            let (verification, status) = clinical_status(json)?;
            let (onset, _) = time_of(json, "onset");
            let (abated, abated_end) = time_of(json, "abatement");
            entry(
                Section::Problems,
                "subject",
                NewEntry {
                    code_system,
                    code,
                    text: words,
                    status: Some(status),
                    verification,
                    effective: onset,
                    ended: abated.or(abated_end),
                    note: note(json),
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::AllergyIntolerance => {
            let (code_system, code, words) =
                concept(&json["code"], &[record::SNOMED, record::RXNORM]);
            let (verification, status) = clinical_status(json)?;
            let reactions = json["reaction"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            // The worst severity of the reactions that happened, as the sender wrote it.
            let severity = reactions
                .iter()
                .filter_map(|r| r["severity"].as_str())
                .max_by_key(|s| ["mild", "moderate", "severe"].iter().position(|x| x == s))
                .map(str::to_owned);
            let manifestations: Vec<String> = reactions
                .iter()
                .flat_map(|r| r["manifestation"].as_array().into_iter().flatten())
                .map(|m| concept(m, &[record::SNOMED]).2)
                .filter(|m| !m.is_empty())
                .collect();
            let (onset, _) = time_of(json, "onset");
            entry(
                Section::Allergies,
                "patient",
                NewEntry {
                    code_system,
                    code,
                    text: words,
                    status: Some(status),
                    verification,
                    criticality: text(&json["criticality"]),
                    effective: onset,
                    severity,
                    reaction: Some(manifestations.join("; ")).filter(|m| !m.is_empty()),
                    note: note(json),
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::MedicationStatement => {
            let medication = medication(json)?;
            let (code_system, code, words) = concept(medication, &[record::RXNORM, record::SNOMED]);
            if words.is_empty() && code.is_none() {
                return Err(bad(
                    "medication[x]",
                    "the medication needs a code or a text (medicationCodeableConcept, or a contained Medication's code)",
                ));
            }
            let (start, end) = time_of(json, "effective");
            entry(
                Section::Medications,
                "subject",
                NewEntry {
                    code_system,
                    code,
                    text: words,
                    status: Some(required_status(json)?),
                    effective: start,
                    ended: end,
                    dosage: text(&json["dosage"][0]["text"]),
                    note: note(json),
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::Immunization => {
            let (code_system, code, words) = concept(&json["vaccineCode"], &[record::CVX]);
            let status = match json["status"].as_str() {
                Some("completed") => "final",
                Some(other @ ("not-done" | "entered-in-error")) => other,
                Some(other) => {
                    return Err(bad(
                        "status",
                        format!("'{other}' is not an R4 Immunization status"),
                    ))
                }
                None => return Err(bad("status", "status is required")),
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
                    status: Some(status.into()),
                    effective: time_of(json, "occurrence").0,
                    note,
                    ..NewEntry::default()
                },
            )
        }
        ResourceType::Observation => {
            observation(json).and_then(|(section, e)| entry(section, "subject", e))
        }
        ResourceType::DiagnosticReport => {
            lab_report(json).and_then(|e| entry(Section::Labs, "subject", e))
        }
    }
}

/// The FHIR element of `rt` that a chart entry's field is read from, so that a
/// refusal names what the sender wrote (`Condition.onset[x]`, not `effective`).
pub fn element_of(rt: ResourceType, field: &'static str) -> &'static str {
    use ResourceType as T;
    match (rt, field) {
        (T::Condition | T::AllergyIntolerance, "effective") => "onset[x]",
        (T::Condition, "ended") => "abatement[x]",
        (T::Immunization, "effective") => "occurrence[x]",
        (T::Observation | T::MedicationStatement | T::DiagnosticReport, "effective") => {
            "effective[x]"
        }
        (T::Observation | T::MedicationStatement, "ended") => "effectivePeriod.end",
        (T::Condition | T::AllergyIntolerance, "status") => "clinicalStatus",
        (_, "verification") => "verificationStatus",
        (T::AllergyIntolerance, "severity") => "reaction.severity",
        (T::AllergyIntolerance, "reaction") => "reaction.manifestation",
        (T::Observation, "value" | "value2" | "value_text") => "value[x]",
        (T::Observation, "unit") => "valueQuantity.code",
        (T::Observation, "range_low" | "range_high") => "referenceRange",
        (T::Immunization, "code" | "code_system" | "text") => "vaccineCode",
        (T::MedicationStatement, "code" | "code_system" | "text") => "medication[x]",
        (_, "code" | "code_system" | "text") => "code",
        (T::MedicationStatement, "dosage") => "dosage",
        (T::DiagnosticReport, "note") => "conclusion",
        (_, "note") => "note",
        (_, "results") => "result",
        (_, "resource") => "resource",
        (_, other) => other,
    }
}

/// A Condition's or AllergyIntolerance's verification and clinical status, as the
/// chart keeps them: entered in error when the verification says so, no clinical
/// status when none was given (telemed does not guess one).
fn clinical_status(json: &Value) -> Result<(Option<String>, String)> {
    let verification = status_code(&json["verificationStatus"]);
    let clinical = status_code(&json["clinicalStatus"]);
    let status = match (verification.as_deref(), clinical) {
        (Some("entered-in-error"), _) => "entered-in-error".to_owned(),
        (_, Some(c)) => c,
        (_, None) => "unstated".to_owned(),
    };
    Ok((verification, status))
}

/// The medication a statement names: its CodeableConcept, or a contained Medication's
/// code (`medicationReference` to `#id`); a reference to a Medication elsewhere is
/// read by its display.
fn medication(json: &Value) -> Result<&Value> {
    if json["medicationCodeableConcept"].is_object() {
        return Ok(&json["medicationCodeableConcept"]);
    }
    let reference = &json["medicationReference"];
    match reference["reference"].as_str() {
        Some(r) if r.starts_with('#') => json["contained"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| {
                c["resourceType"] == "Medication" && c["id"].as_str() == Some(&r[1..])
            })
            .map(|m| &m["code"])
            .ok_or_else(|| {
                bad(
                    "medicationReference",
                    format!("{r} names no contained Medication"),
                )
            }),
        _ if reference["display"].is_string() => Ok(reference),
        _ => Err(bad(
            "medication[x]",
            "the medication is a medicationCodeableConcept, a contained Medication, or a reference with its display",
        )),
    }
}

/// A laboratory report: its panel's code, when, its conclusion, and the lab results it
/// groups (`Observation/<id>`, or a transaction's `urn:uuid:…`, resolved by the server).
fn lab_report(json: &Value) -> Result<NewEntry> {
    let (code_system, code, words) = concept(&json["code"], &[record::LOINC]);
    let status = required_status(json)?;
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
    let (effective, _) = time_of(json, "effective");
    Ok(NewEntry {
        code_system,
        code,
        text: words,
        status: Some(status),
        effective,
        note: text(&json["conclusion"]),
        results: Some(results),
        categories: codes(&json["category"]),
        ..NewEntry::default()
    })
}

/// The category that makes an observation a vital sign.
const VITAL_SIGNS: &str = "vital-signs";

fn observation(json: &Value) -> Result<(Section, NewEntry)> {
    let (code_system, code, words) = concept(&json["code"], &[record::LOINC]);
    let categories = codes(&json["category"]);
    let known_vital = code
        .as_deref()
        .and_then(record::vital_kind)
        .filter(|_| code_system.as_deref() == Some(record::LOINC));
    // The sender's category decides; without one, a vital sign's LOINC code does.
    let section = if categories.iter().any(|c| c == VITAL_SIGNS)
        || categories.is_empty() && known_vital.is_some()
    {
        Section::Vitals
    } else {
        Section::Labs
    };
    let component = |loinc: &str| {
        json["component"].as_array().and_then(|cs| {
            cs.iter()
                .find(|c| {
                    c["code"]["coding"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|x| x["code"].as_str() == Some(loinc)))
                })
                .and_then(|c| c["valueQuantity"]["value"].as_f64())
        })
    };
    let two_values = known_vital.is_some_and(|v| v.two_values) && section == Section::Vitals;
    let quantity = &json["valueQuantity"];
    // A value with a comparator (`<5`) is not the number alone: the chart shows it whole.
    let comparator = text(&quantity["comparator"]);
    let (value, value2) = if two_values {
        (component("8480-6"), component("8462-4"))
    } else if comparator.is_some() {
        (None, None)
    } else {
        (quantity["value"].as_f64(), None)
    };
    // The unit as written (UCUM code first): a vital sign in another unit is converted
    // with the sent value kept, or refused; never stored as if it were in the chart's.
    let quantity_unit = |q: &Value| text(&q["code"]).or_else(|| text(&q["unit"]));
    let unit = quantity_unit(&json["valueQuantity"]).or_else(|| {
        json["component"]
            .as_array()
            .and_then(|cs| cs.iter().find_map(|c| quantity_unit(&c["valueQuantity"])))
    });
    let value_text = comparator
        .zip(quantity["value"].as_f64())
        .map(|(c, v)| format!("{c}{}", record::number(v)))
        .or_else(|| text(&json["valueString"]))
        .or_else(|| {
            json["valueCodeableConcept"].is_object().then(|| {
                concept(
                    &json["valueCodeableConcept"],
                    &[record::SNOMED, record::LOINC],
                )
                .2
            })
        })
        .or_else(|| json["valueBoolean"].as_bool().map(|b| b.to_string()))
        .or_else(|| json["valueInteger"].as_i64().map(|i| i.to_string()))
        .or_else(|| text(&json["valueDateTime"]))
        .filter(|t| !t.is_empty());
    let panel = json["hasMember"].is_array() || json["component"].is_array();
    let range = &json["referenceRange"][0];
    let (effective, ended) = time_of(json, "effective");
    Ok((
        section,
        NewEntry {
            code_system,
            code,
            text: words,
            status: Some(required_status(json)?),
            effective,
            ended,
            value,
            value2,
            value_text,
            unit: unit.filter(|_| value.is_some() || quantity["comparator"].is_string()),
            range_low: range["low"]["value"].as_f64(),
            range_high: range["high"]["value"].as_f64(),
            note: note(json),
            categories,
            panel,
            ..NewEntry::default()
        },
    ))
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

/// A Patient resource as telemed's account, demographics and identifiers.
pub fn patient(json: &Value) -> Result<NewPatient> {
    let names = json["name"].as_array().cloned().unwrap_or_default();
    let (name, display_name) = match names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| names.first())
    {
        Some(official) => {
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
                return Err(bad(
                    "name",
                    "a name needs a family name, a given name or a text",
                ));
            }
            (name, display_name)
        }
        // A patient whose name is not known (a newborn not yet named, an unidentified
        // patient): telemed's pages call them so; FHIR returns them without a name, as
        // they were sent.
        None => (PersonName::default(), names::UNIDENTIFIED.to_owned()),
    };
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
        source: kept(json),
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
    fn a_vital_sign_in_another_unit_is_converted_with_what_was_sent_kept_or_refused() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let weight = |unit: &str| {
            let obs = json!({"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "subject": {"reference": "Patient/1"},
                "valueQuantity": {"value": 150, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}});
            let Incoming::Entry { section, entry, .. } =
                parse(ResourceType::Observation, &obs).unwrap()
            else {
                panic!("an entry")
            };
            entry.validate(section, now)
        };
        let pounds = weight("[lb_av]").unwrap();
        assert_eq!(pounds.unit.as_deref(), Some("kg"));
        assert!((pounds.value.unwrap() - 68.038_855_5).abs() < 1e-6);
        assert_eq!(pounds.as_sent.as_deref(), Some("150 [lb_av]"));
        // The resource as sent is kept whole, value and unit included.
        let source: Value = serde_json::from_str(pounds.source.as_deref().unwrap()).unwrap();
        assert_eq!(source["valueQuantity"]["code"], "[lb_av]");
        assert_eq!(source["valueQuantity"]["value"], 150);
        // A unit telemed cannot convert is refused, never stored as if it were kg.
        assert!(weight("[stone_av]").is_err());
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
                json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}),
                "subject",
            ),
            (
                ResourceType::Observation,
                json!({"resourceType": "Observation",
                "code": {"text": "x"}, "subject": {"reference": "Patient/1"}}),
                "status",
            ),
            (
                ResourceType::Patient,
                json!({"resourceType": "Patient", "name": [{"use": "official"}]}),
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

/// A MedicationRequest a SMART app sends to be signed: what telemed prescribes from.
#[derive(Debug, Clone, PartialEq)]
pub struct MedicationOrder {
    /// `Patient/<id>` as the subject says.
    pub patient: String,
    /// The coding of the catalogue (system, code), when it has one.
    pub coding: Option<(String, String)>,
    /// The medication's words (free text when there is no coding).
    pub text: String,
    pub sig: telemed_domain::prescribing::sig::Sig,
    pub quantity: f64,
    pub quantity_unit: String,
    pub refills: u32,
    pub substitution_allowed: bool,
    pub note: String,
}

/// Reads a MedicationRequest to be signed: an `order` for its subject, the medication
/// (a coding, or words), one dosage instruction with its dose, route and timing, and
/// the dispense request's quantity and repeats. What telemed cannot keep as written is
/// refused, naming the element, rather than guessed.
pub fn medication_order(json: &Value) -> Result<MedicationOrder> {
    use telemed_domain::prescribing::sig::{Frequency, Sig};
    if json["resourceType"] != "MedicationRequest" {
        return Err(bad("resourceType", "a MedicationRequest"));
    }
    if json["intent"] != "order" {
        return Err(bad("intent", "telemed signs orders (intent order)"));
    }
    if !matches!(json["status"].as_str(), None | Some("active" | "draft")) {
        return Err(bad("status", "a new prescription is active"));
    }
    let patient = text(&json["subject"]["reference"])
        .filter(|r| r.starts_with("Patient/"))
        .ok_or_else(|| bad("subject", "the subject is a Patient"))?;
    let concept = &json["medicationCodeableConcept"];
    if concept.is_null() {
        return Err(bad(
            "medicationCodeableConcept",
            "name the medication as a CodeableConcept (a coding of the catalogue, or text)",
        ));
    }
    let coding = concept["coding"]
        .as_array()
        .and_then(|c| c.first())
        .and_then(|c| Some((text(&c["system"])?, text(&c["code"])?)));
    let words = text(&concept["text"])
        .or_else(|| text(&concept["coding"][0]["display"]))
        .unwrap_or_default();
    if coding.is_none() && words.trim().is_empty() {
        return Err(bad("medicationCodeableConcept", "no coding and no text"));
    }
    let dosages = json["dosageInstruction"].as_array().map_or(0, Vec::len);
    if dosages != 1 {
        return Err(bad(
            "dosageInstruction",
            "exactly one dosage instruction (telemed's sig)",
        ));
    }
    let d = &json["dosageInstruction"][0];
    let dose = &d["doseAndRate"][0]["doseQuantity"];
    let (Some(amount), Some(unit)) = (dose["value"].as_f64(), text(&dose["unit"])) else {
        return Err(bad(
            "dosageInstruction.doseAndRate",
            "a doseQuantity with its value and unit",
        ));
    };
    let route = text(&d["route"]["text"])
        .or_else(|| text(&d["route"]["coding"][0]["display"]))
        .ok_or_else(|| bad("dosageInstruction.route", "the route, as text"))?;
    let repeat = &d["timing"]["repeat"];
    let at_bedtime = repeat["when"]
        .as_array()
        .is_some_and(|w| w.iter().any(|v| v == "HS"));
    let frequency = match (
        repeat["frequency"].as_u64(),
        repeat["period"].as_f64(),
        repeat["periodUnit"].as_str(),
    ) {
        (Some(1), Some(1.0), Some("d")) if at_bedtime => Frequency::AtBedtime,
        (Some(n @ 1..=4), Some(1.0), Some("d")) => match n {
            1 => Frequency::OnceDaily,
            2 => Frequency::TwiceDaily,
            3 => Frequency::ThreeTimesDaily,
            _ => Frequency::FourTimesDaily,
        },
        (Some(1), Some(h), Some("h")) if h.fract() == 0.0 && (1.0..=72.0).contains(&h) => {
            Frequency::Hours(h as u32)
        }
        (Some(1), Some(1.0), Some("wk")) => Frequency::Weekly,
        _ => return Err(bad(
            "dosageInstruction.timing",
            "a timing telemed's sig holds: 1-4 times a day, every 1-72 hours, at bedtime or weekly",
        )),
    };
    let duration_days = match &repeat["boundsDuration"] {
        Value::Null => None,
        b if b["unit"] == "d" || b["code"] == "d" => Some(
            b["value"]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    bad(
                        "dosageInstruction.timing.repeat.boundsDuration",
                        "whole days",
                    )
                })?,
        ),
        _ => {
            return Err(bad(
                "dosageInstruction.timing.repeat.boundsDuration",
                "a duration in days (unit d)",
            ))
        }
    };
    let as_needed = text(&d["asNeededCodeableConcept"]["text"]);
    if d["asNeededBoolean"] == true && as_needed.is_none() {
        return Err(bad(
            "dosageInstruction.asNeededCodeableConcept",
            "as needed: say for what (asNeededCodeableConcept.text)",
        ));
    }
    let request = &json["dispenseRequest"];
    let (Some(quantity), Some(quantity_unit)) = (
        request["quantity"]["value"].as_f64(),
        text(&request["quantity"]["unit"]),
    ) else {
        return Err(bad(
            "dispenseRequest.quantity",
            "the quantity to dispense, with its unit",
        ));
    };
    let refills = match &request["numberOfRepeatsAllowed"] {
        Value::Null => 0,
        v => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| bad("dispenseRequest.numberOfRepeatsAllowed", "a whole number"))?,
    };
    Ok(MedicationOrder {
        patient,
        coding,
        text: words,
        sig: Sig {
            dose: amount,
            unit,
            route,
            frequency,
            duration_days,
            as_needed,
            instructions: text(&d["patientInstruction"]).unwrap_or_default(),
        },
        quantity,
        quantity_unit,
        refills,
        substitution_allowed: json["substitution"]["allowedBoolean"] != false,
        note: text(&json["note"][0]["text"]).unwrap_or_default(),
    })
}
