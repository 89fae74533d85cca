//! What a sender wrote is what telemed keeps and returns (ARCHITECTURE.md, "What a
//! sender wrote is kept"): resources written the way other systems write them (partial
//! dates, periods, panels, extra codings, extensions, every status) are imported in a
//! transaction and read back element by element; what telemed cannot keep is refused
//! naming the element, and nothing is stored.

use std::collections::HashMap;

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use super::fhir::passes_validators;
use super::fhir_write::Fhir;
use super::messaging::count;

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const UCUM: &str = "http://unitsofmeasure.org";
const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

fn category(code: &str) -> Value {
    json!([{"coding": [{"system": OBS_CATEGORY, "code": code}]}])
}

/// A patient's history as other systems write it: (fullUrl, resource).
fn history() -> Vec<(&'static str, Value)> {
    let p = "urn:uuid:9d1c1c38-0000-4000-8000-000000000001";
    let subject = json!({"reference": p});
    vec![
        (
            p,
            json!({"resourceType": "Patient",
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                "valueAddress": {"city": "Oaxaca", "country": "MX"}}],
            "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-4471",
                "period": {"start": "2001-02-03"}}],
            "name": [
                {"use": "official", "family": "Hernández", "given": ["María", "Luisa"]},
                {"use": "usual", "given": ["Malu"]},
                {"use": "maiden", "family": "Ortega", "period": {"end": "1999-06-12"}}],
            "gender": "female", "birthDate": "1974",
            "deceasedDateTime": "2024-02-11T08:15:00-05:00",
            "address": [{"use": "home", "line": ["12 Calle Luna", "Apt 3"], "city": "Austin",
                "district": "Travis", "state": "TX", "postalCode": "78701", "country": "US",
                "period": {"start": "2010-01"}}],
            "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "W"}]},
            "multipleBirthInteger": 2,
            "contact": [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}],
                "name": {"family": "Hernández", "given": ["Rosa"]},
                "telecom": [{"system": "phone", "value": "+1 512 555 0142", "use": "mobile"}]}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000010",
            json!({"resourceType": "Condition",
            "extension": [{"url": "http://example.org/fhir/StructureDefinition/source-system", "valueString": "EHR-A"}],
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "differential"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
            "code": {"coding": [
                {"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"},
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}], "text": "Type 2 diabetes"},
            "subject": subject, "onsetDateTime": "2004", "recordedDate": "2005-03-01"}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000011",
            json!({"resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"coding": [{"system": SNOMED, "code": "195662009", "display": "Acute viral pharyngitis"}]},
            "subject": subject, "onsetPeriod": {"start": "2019-04-28", "end": "2019-05"},
            "abatementDateTime": "2019-05"}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000012",
            json!({"resourceType": "Condition",
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
            "code": {"coding": [{"system": SNOMED, "code": "233604007", "display": "Pneumonia"}]},
            "subject": subject, "onsetString": "winter of 2018"}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000013",
            json!({"resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "remission"}]},
            "code": {"text": "Depressive episode"},
            "subject": subject, "onsetAge": {"value": 32, "unit": "a", "system": UCUM, "code": "a"},
            "note": [{"text": "Stable on treatment."}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000020",
            json!({"resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "unconfirmed"}]},
            "type": "allergy", "category": ["medication"], "criticality": "high",
            "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7980", "display": "Penicillin G"}]},
            "patient": subject, "onsetDateTime": "2012-09-17", "recordedDate": "2012-09-18T10:00:00+02:00",
            "reaction": [{"manifestation": [{"coding": [{"system": SNOMED, "code": "271807003", "display": "Eruption of skin"}]}]}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000021",
            json!({"resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
            "type": "allergy", "category": ["food"],
            "code": {"coding": [{"system": SNOMED, "code": "256349002", "display": "Peanut"}], "text": "Peanuts"},
            "patient": subject,
            "reaction": [
                {"manifestation": [{"coding": [{"system": SNOMED, "code": "39579001", "display": "Anaphylaxis"}]}], "severity": "severe"},
                {"manifestation": [{"text": "Hives"}], "severity": "moderate", "onset": "2010-06"}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000030",
            json!({"resourceType": "MedicationStatement",
            "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "308182", "display": "Amoxicillin 250 MG Oral Capsule"}], "text": "Amoxicillin"},
            "subject": subject, "effectivePeriod": {"start": "2019-04-28", "end": "2019-05-05"},
            "dateAsserted": "2019-05-06",
            "dosage": [{"text": "250 mg three times a day", "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 250, "unit": "mg", "system": UCUM, "code": "mg"}}]}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000031",
            json!({"resourceType": "MedicationStatement",
            "contained": [{"resourceType": "Medication", "id": "med1",
                "code": {"coding": [{"system": SNOMED, "code": "109081006", "display": "Metformin"}]}}],
            "status": "active", "medicationReference": {"reference": "#med1"},
            "subject": subject, "effectiveDateTime": "2019"}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000040",
            json!({"resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": SNOMED, "code": "871751006", "display": "Hepatitis A vaccine"}]},
            "patient": subject, "occurrenceString": "in childhood",
            "primarySource": false,
            "reportOrigin": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/immunization-origin", "code": "recall"}]}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000041",
            json!({"resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}], "text": "Influenza, seasonal"},
            "patient": subject, "occurrenceDateTime": "2021-10-04T09:30:00-05:00",
            "recorded": "2021-10-04", "lotNumber": "AB123",
            "site": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActSite", "code": "LA"}]}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000050",
            json!({"resourceType": "Observation",
            "status": "final", "category": category("vital-signs"),
            "code": {"coding": [{"system": LOINC, "code": "39156-5", "display": "Body mass index (BMI) [Ratio]"}]},
            "subject": subject, "effectiveDateTime": "2020-02-03",
            "valueQuantity": {"value": 27.4, "unit": "kg/m2", "system": UCUM, "code": "kg/m2"}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000051",
            json!({"resourceType": "Observation",
            "status": "final", "category": category("laboratory"),
            "code": {"coding": [{"system": LOINC, "code": "2345-7", "display": "Glucose [Mass/volume] in Serum or Plasma"}]},
            "subject": subject,
            "effectivePeriod": {"start": "2013-04-02T08:00:00+01:00", "end": "2013-04-02T10:00:00+01:00"},
            "issued": "2013-04-03T15:30:10.000+01:00",
            "valueQuantity": {"value": 6.3, "unit": "mmol/l", "system": UCUM, "code": "mmol/L"},
            "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "H"}]}],
            "referenceRange": [{"low": {"value": 3.1, "unit": "mmol/l", "system": UCUM, "code": "mmol/L"},
                "high": {"value": 6.2, "unit": "mmol/l", "system": UCUM, "code": "mmol/L"}}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000052",
            json!({"resourceType": "Observation",
            "status": "amended", "category": category("vital-signs"),
            "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}]},
            "subject": subject, "effectiveDateTime": "2022-07-01T07:45:00Z",
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 141, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": {"value": 92, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000053",
            json!({"resourceType": "Observation",
            "status": "preliminary", "category": category("laboratory"),
            "code": {"coding": [
                {"system": "http://acme.example/lab-codes", "code": "K-SER", "display": "Potassium"},
                {"system": LOINC, "code": "2823-3"}]},
            "subject": subject, "effectiveDateTime": "2023-11-20T06:10:00Z",
            "valueQuantity": {"value": 4.1, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000054",
            json!({"resourceType": "Observation",
            "status": "final", "category": category("laboratory"),
            "code": {"coding": [{"system": LOINC, "code": "882-1", "display": "ABO and Rh group [Type] in Blood"}]},
            "subject": subject, "effectiveDateTime": "1998",
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "278149003", "display": "Blood group A Rh(D) positive"}]}}),
        ),
        // A panel whose members come later in the bundle.
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000055",
            json!({"resourceType": "Observation",
            "status": "final", "category": category("laboratory"),
            "code": {"coding": [{"system": LOINC, "code": "24323-8", "display": "Comprehensive metabolic 2000 panel"}]},
            "subject": subject, "effectiveDateTime": "2023-11-20",
            "hasMember": [{"reference": "urn:uuid:9d1c1c38-0000-4000-8000-000000000056"},
                {"reference": "urn:uuid:9d1c1c38-0000-4000-8000-000000000057"}]}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000056",
            json!({"resourceType": "Observation",
            "status": "final", "category": category("laboratory"),
            "code": {"coding": [{"system": LOINC, "code": "2951-2", "display": "Sodium"}]},
            "subject": subject, "effectiveDateTime": "2023-11-20",
            "valueQuantity": {"value": 139, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000057",
            json!({"resourceType": "Observation",
            "status": "final", "category": category("laboratory"),
            "code": {"coding": [{"system": LOINC, "code": "1988-5", "display": "C reactive protein"}]},
            "subject": subject, "effectiveDateTime": "2023-11-20",
            "valueQuantity": {"value": 5, "comparator": "<", "unit": "mg/L", "system": UCUM, "code": "mg/L"}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000058",
            json!({"resourceType": "Observation",
            "status": "final", "category": category("vital-signs"),
            "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]},
            "subject": subject, "effectiveDateTime": "2024-01-15T08:00:00-06:00",
            "valueQuantity": {"value": 150, "unit": "lbs", "system": UCUM, "code": "[lb_av]"}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000059",
            json!({"resourceType": "Observation",
            "status": "cancelled", "category": category("laboratory"),
            "code": {"coding": [{"system": LOINC, "code": "718-7", "display": "Hemoglobin"}]},
            "subject": subject,
            "dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]}}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-00000000005a",
            json!({"resourceType": "Observation",
            "status": "registered", "category": category("laboratory"),
            "code": {"coding": [{"system": LOINC, "code": "4548-4", "display": "Hemoglobin A1c"}]},
            "subject": subject}),
        ),
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000060",
            json!({"resourceType": "DiagnosticReport",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "CH"}]}],
            "code": {"coding": [{"system": LOINC, "code": "24323-8"}], "text": "Metabolic panel"},
            "subject": subject, "effectiveDateTime": "2023-11-20", "issued": "2023-11-21T09:00:00Z",
            "result": [{"reference": "urn:uuid:9d1c1c38-0000-4000-8000-000000000056"},
                {"reference": "urn:uuid:9d1c1c38-0000-4000-8000-000000000057"}],
            "conclusion": "Within normal limits.",
            "conclusionCode": [{"coding": [{"system": SNOMED, "code": "281900007", "display": "No abnormality detected"}]}]}),
        ),
        // A newborn not yet named: no name, a partial birth date, a hospital number.
        (
            "urn:uuid:9d1c1c38-0000-4000-8000-000000000002",
            json!({"resourceType": "Patient",
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "NB-2026-0117"}],
            "gender": "unknown", "birthDate": "2026-11", "multipleBirthBoolean": true}),
        ),
    ]
}

/// The resource with every reference the bundle resolved rewritten, as telemed must.
fn with_references(v: &Value, refs: &HashMap<String, String>) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(
                    |(k, x)| match (k.as_str(), x.as_str().and_then(|r| refs.get(r))) {
                        ("reference", Some(to)) => (k.clone(), json!(to)),
                        _ => (k.clone(), with_references(x, refs)),
                    },
                )
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| with_references(x, refs)).collect()),
        other => other.clone(),
    }
}

/// What came back, less what the server assigns (id, version, time of update).
fn as_written(returned: &Value) -> Value {
    let mut r = returned.clone();
    let o = r.as_object_mut().expect("a resource");
    o.remove("id");
    if let Some(meta) = o.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            o.remove("meta");
        }
    }
    r
}

async fn what_a_sender_wrote_comes_back_as_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let http = app.client();
    let history = history();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction",
        "entry": history.iter().map(|(url, r)| json!({"fullUrl": url, "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]}})).collect::<Vec<_>>()});
    let r = http
        .post(app.url("/fhir/R4"))
        .bearer_auth(&token)
        .json(&bundle)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    let mut refs = HashMap::new();
    for ((url, _), e) in history.iter().zip(answer["entry"].as_array().unwrap()) {
        let location = e["response"]["location"].as_str().unwrap();
        let (typed_id, _) = location.split_once("/_history").unwrap_or((location, ""));
        refs.insert(url.to_string(), typed_id.to_owned());
    }
    let mut returned = vec![];
    let mut per_type: HashMap<String, usize> = HashMap::new();
    for (url, sent) in &history {
        let path = &refs[*url];
        let r = http
            .get(app.url(&format!("/fhir/R4/{path}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let got: Value = r.json().await.unwrap();
        let expected = with_references(sent, &refs);
        let mut got_as_written = as_written(&got);
        if sent["resourceType"] == "Patient" {
            // The record's own element: the patient's account is open.
            assert_eq!(
                got_as_written.as_object_mut().unwrap().remove("active"),
                None
            );
        }
        assert_eq!(
            got_as_written,
            expected,
            "{path} came back changed:\nsent {}\ngot  {}",
            serde_json::to_string_pretty(&expected).unwrap(),
            serde_json::to_string_pretty(&got).unwrap()
        );
        *per_type
            .entry(sent["resourceType"].as_str().unwrap().to_owned())
            .or_default() += 1;
        returned.push(got);
    }
    assert_eq!(per_type["Observation"], 11);
    let patient = refs[history[0].0].trim_start_matches("Patient/").to_owned();

    // Searches find them by what they are, however they arrived.
    let f = Fhir {
        app: &app,
        http: app.client(),
        token: token.clone(),
    };
    // A search's matches, by the code of their first coding (and the bundle).
    let search = |q: String| {
        let f = &f;
        async move {
            let (status, b, _) = f.send("GET", &format!("/{q}"), None, &[]).await;
            assert_eq!(status, 200, "{q}");
            let mut codes: Vec<String> = b["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| {
                    e["resource"]["code"]["coding"][0]["code"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned()
                })
                .collect();
            codes.sort();
            (codes, b)
        }
    };
    let (vitals, _) = search(format!(
        "Observation?patient={patient}&category=vital-signs"
    ))
    .await;
    assert_eq!(vitals, ["29463-7", "39156-5", "85354-9"]);
    let (amended, _) = search(format!(
        "Observation?patient={patient}&status=amended,preliminary"
    ))
    .await;
    assert_eq!(amended, ["85354-9", "K-SER"]);
    // By any coding the sender gave, not only the one the chart shows.
    let (by_icd, _) = search(format!(
        "Condition?patient={patient}&code=http://hl7.org/fhir/sid/icd-10|E11.9"
    ))
    .await;
    assert_eq!(by_icd, ["44054006"]);
    let (by_local, _) = search(format!("Observation?patient={patient}&code=K-SER")).await;
    assert_eq!(by_local, ["K-SER"]);
    let (by_loinc, _) = search(format!("Observation?patient={patient}&code={LOINC}|2823-3")).await;
    assert_eq!(by_loinc, ["K-SER"]);
    let (none, _) = search(format!(
        "Observation?patient={patient}&code={SNOMED}|2823-3"
    ))
    .await;
    assert!(none.is_empty());
    let (remission, _) = search(format!(
        "Condition?patient={patient}&clinical-status=remission"
    ))
    .await;
    assert_eq!(remission.len(), 1);
    let (everything, bundle) = search(format!("Patient/{patient}/$everything")).await;
    // (All but the other patient.)
    assert_eq!(everything.len(), history.len() - 1, "{bundle}");
    for e in bundle["entry"].as_array().unwrap() {
        let r = &e["resource"];
        let id = format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        );
        let (url, sent) = history.iter().find(|(u, _)| refs[*u] == id).unwrap();
        if sent["resourceType"] != "Patient" {
            assert_eq!(
                as_written(r),
                with_references(sent, &refs),
                "{url} in $everything"
            );
        }
    }

    // A bulk export carries the same resources, as written.
    let r = http
        .get(app.url("/fhir/R4/Patient/$export"))
        .bearer_auth(&token)
        .header("prefer", "respond-async")
        .header("accept", "application/fhir+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let here = |url: &str| {
        app.url(&format!(
            "/fhir/R4/{}",
            url.split("/fhir/R4/").nth(1).expect("a FHIR URL")
        ))
    };
    let status_url = here(r.headers()["content-location"].to_str().unwrap());
    let mut manifest = Value::Null;
    for _ in 0..400 {
        let r = http
            .get(&status_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            202 => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
            200 => {
                manifest = r.json().await.unwrap();
                break;
            }
            other => panic!("export status {other}"),
        }
    }
    let mut exported = 0;
    for out in manifest["output"].as_array().expect("an export manifest") {
        let r = http
            .get(here(out["url"].as_str().unwrap()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        for line in r.text().await.unwrap().lines() {
            let resource: Value = serde_json::from_str(line).unwrap();
            let id = format!(
                "{}/{}",
                resource["resourceType"].as_str().unwrap(),
                resource["id"].as_str().unwrap()
            );
            let Some((url, sent)) = history.iter().find(|(u, _)| refs[*u] == id) else {
                continue;
            };
            let mut got = as_written(&resource);
            if let Some(o) = got
                .as_object_mut()
                .filter(|_| sent["resourceType"] == "Patient")
            {
                o.remove("active");
            }
            assert_eq!(
                got,
                with_references(sent, &refs),
                "{url} in the bulk export"
            );
            exported += 1;
        }
    }
    assert_eq!(exported, history.len(), "every resource sent is exported");

    // The chart shows what the chart keeps: the unconfirmed allergy says so, the
    // partial dates are as written, the weight in the chart's unit with what was sent.
    let web = app.signed_in_web(&clinician).await;
    let page = web
        .get(&format!("/patients/{patient}/chart"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Penicillin G, criticality high"), "{page}");
    assert!(
        page.contains("UNCONFIRMED"),
        "the unconfirmed allergy is not shown as such"
    );
    assert!(page.contains("DIFFERENTIAL"));
    assert!(page.contains("Type 2 diabetes") && page.contains("— 2004"));
    assert!(page.contains("68.04 kg (sent as 150 [lb_av])"), "{page}");
    assert!(
        page.contains("C reactive protein: &lt;5 mg/L")
            || page.contains("C reactive protein: &#60;5 mg/L"),
        "the comparator is shown with the value: {page}"
    );

    // The unnamed newborn's record is updated without inventing a name; then named.
    let newborn = refs[history.last().unwrap().0].clone();
    let mut update = history.last().unwrap().1.clone();
    update["id"] = json!(newborn.split_once('/').unwrap().1);
    update["gender"] = json!("female");
    let (s, b, _) = f
        .send("PUT", &format!("/{newborn}"), Some(&update), &[])
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, got, _) = f.send("GET", &format!("/{newborn}"), None, &[]).await;
    let mut sent = update.clone();
    sent.as_object_mut().unwrap().remove("id");
    assert_eq!(as_written(&got), sent);
    update["name"] = json!([{"family": "Hernández", "given": ["Sofía"]}]);
    let (s, b, _) = f
        .send("PUT", &format!("/{newborn}"), Some(&update), &[])
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, got, _) = f.send("GET", &format!("/{newborn}"), None, &[]).await;
    assert_eq!(got["name"], update["name"]);
    // …and once named, an update that leaves the name out is refused.
    update.as_object_mut().unwrap().remove("name");
    let (s, b, _) = f
        .send("PUT", &format!("/{newborn}"), Some(&update), &[])
        .await;
    assert_eq!((s, &b["issue"][0]["expression"][0]), (422, &json!("name")));

    // A status telemed changes (the allergy marked entered in error through the REST
    // API) is laid over what was sent; everything else stays as written.
    let allergy = refs[history[5].0].clone();
    let (_, allergy_id) = allergy.split_once('/').unwrap();
    let r = http
        .post(app.url(&format!(
            "/api/v1/patients/{patient}/record/allergies/{allergy_id}/status"
        )))
        .bearer_auth(&token)
        .json(&json!({"status": "entered-in-error", "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let read = |path: String| {
        let f = &f;
        async move {
            let (status, body, _) = f.send("GET", &format!("/{path}"), None, &[]).await;
            assert_eq!(status, 200, "{path}");
            body
        }
    };
    let marked = read(allergy.clone()).await;
    let mut expected = with_references(&history[5].1, &refs);
    let o = expected.as_object_mut().unwrap();
    o.remove("clinicalStatus");
    o.insert(
        "verificationStatus".into(),
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "entered-in-error"}]}),
    );
    assert_eq!(as_written(&marked), expected);
    assert_eq!(marked["meta"]["versionId"], "2");
    // The version as sent is still there.
    let first = read(format!("{allergy}/_history/1")).await;
    assert_eq!(as_written(&first), with_references(&history[5].1, &refs));
    returned.push(marked);

    // The sender updates its differential diagnosis: resolved, and confirmed after all.
    // What it sends is what telemed keeps; a change to what the chart shows is refused.
    let condition = refs[history[1].0].clone();
    let mut update = with_references(&history[1].1, &refs);
    update["id"] = json!(condition.split_once('/').unwrap().1);
    update["clinicalStatus"]["coding"][0]["code"] = json!("resolved");
    update["verificationStatus"]["coding"][0]["code"] = json!("confirmed");
    update["abatementDateTime"] = json!("2024");
    let put = |body: Value| {
        let (f, condition) = (&f, &condition);
        async move {
            let (status, answer, _) = f
                .send("PUT", &format!("/{condition}"), Some(&body), &[])
                .await;
            (status, answer)
        }
    };
    let (s, updated) = put(update.clone()).await;
    assert_eq!(s, 200, "{updated}");
    let mut sent = update.clone();
    sent.as_object_mut().unwrap().remove("id");
    assert_eq!(as_written(&read(condition.clone()).await), sent);
    let (resolved, _) = search(format!(
        "Condition?patient={patient}&clinical-status=resolved"
    ))
    .await;
    assert_eq!(resolved.len(), 2, "the chart follows the update");
    let mut edit = update.clone();
    edit["code"]["text"] = json!("Type 1 diabetes");
    let (s, refused) = put(edit).await;
    assert_eq!(s, 422, "{refused}");
    assert_eq!(refused["issue"][0]["expression"][0], "code");
    assert_eq!(as_written(&read(condition.clone()).await), sent);

    passes_validators(&returned);
    app.shutdown().await;
}

async fn what_telemed_cannot_keep_is_refused_naming_the_element(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let http = app.client();
    // A patient the clinician registers, and so cares for.
    let r = http
        .post(app.url("/fhir/R4/Patient"))
        .bearer_auth(&token)
        .json(&json!({"resourceType": "Patient", "name": [{"family": "Ito", "given": ["Ken"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let patient: Value = r.json().await.unwrap();
    let subject = json!({"reference": format!("Patient/{}", patient["id"].as_str().unwrap())});
    let entries_before = count(&app, "chart_entries").await;
    let cases = [
        (
            json!({"resourceType": "Observation", "status": "final", "category": category("vital-signs"),
            "code": {"coding": [{"system": LOINC, "code": "29463-7"}]}, "subject": subject,
            "valueQuantity": {"value": 10, "unit": "stone", "system": UCUM, "code": "[stone_av]"}}),
            "valueQuantity.code",
        ),
        (
            json!({"resourceType": "Observation", "status": "done",
            "code": {"coding": [{"system": LOINC, "code": "2345-7"}]}, "subject": subject,
            "valueQuantity": {"value": 5, "unit": "mmol/L"}}),
            "status",
        ),
        (
            json!({"resourceType": "Observation",
            "code": {"coding": [{"system": LOINC, "code": "2345-7"}]}, "subject": subject,
            "valueQuantity": {"value": 5, "unit": "mmol/L"}}),
            "status",
        ),
        (
            json!({"resourceType": "Condition", "code": {"text": "Asthma"}, "subject": subject,
            "onsetDateTime": "2019-13"}),
            "onset[x]",
        ),
        (
            json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "2345-7"}]}, "subject": subject,
            "hasMember": [{"reference": "urn:uuid:0b7e0e4c-0000-4000-8000-00000000dead"}]}),
            "reference",
        ),
        (
            json!({"resourceType": "MedicationStatement", "status": "active",
            "medicationReference": {"reference": "#nowhere"}, "subject": subject}),
            "medicationReference",
        ),
    ];
    for (resource, element) in cases {
        let rt = resource["resourceType"].as_str().unwrap();
        let r = http
            .post(app.url(&format!("/fhir/R4/{rt}")))
            .bearer_auth(&token)
            .json(&resource)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert!(matches!(status, 400 | 422), "{resource}: {status} {body}");
        assert_eq!(body["resourceType"], "OperationOutcome");
        let expression = body["issue"][0]["expression"][0]
            .as_str()
            .unwrap_or_default();
        let said = body["issue"][0]["diagnostics"].as_str().unwrap_or_default();
        assert_eq!(expression, element, "{resource}: {body} ({said})");
    }
    assert_eq!(count(&app, "chart_entries").await, entries_before);
    app.shutdown().await;
}

on_both_databases!(
    what_a_sender_wrote_comes_back_as_written,
    what_telemed_cannot_keep_is_refused_naming_the_element,
);
