//! Synthetic patients, Synthea-style, as FHIR R4 transaction bundles: a patient with
//! years of history (yearly check-ups with vital signs, labs, a flu shot each autumn,
//! chronic conditions that start and some that end, medications, an allergy or two).
//! Deterministic for a seed, so benchmarks and tests can count what they sent.

use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*), enough to vary synthetic data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A value in [lo, hi), rounded to one decimal.
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        let f = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((lo + f * (hi - lo)) * 10.0).round() / 10.0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const GIVEN_F: [&str; 8] = [
    "Ana", "María", "Lucía", "Emma", "Olivia", "Sofía", "Grace", "Aisha",
];
const GIVEN_M: [&str; 8] = [
    "Luis", "Álvaro", "James", "Noah", "Mateo", "Omar", "Daniel", "Hugo",
];
const FAMILY: [&str; 12] = [
    "López", "García", "Smith", "Johnson", "Núñez", "Müller", "Okafor", "Nakamura", "Rossi",
    "Dubois", "Kowalski", "Martín",
];
const CITIES: [&str; 4] = ["Boston", "Madrid", "Lyon", "Austin"];

const CONDITIONS: [(&str, &str, &str); 6] = [
    (
        "http://hl7.org/fhir/sid/icd-10",
        "I10",
        "Essential hypertension",
    ),
    (
        "http://hl7.org/fhir/sid/icd-10",
        "E11.9",
        "Type 2 diabetes mellitus",
    ),
    ("http://hl7.org/fhir/sid/icd-10", "J45.909", "Asthma"),
    (
        "http://snomed.info/sct",
        "44054006",
        "Diabetes mellitus type 2",
    ),
    (
        "http://snomed.info/sct",
        "195662009",
        "Acute viral pharyngitis",
    ),
    ("http://hl7.org/fhir/sid/icd-10", "M54.5", "Low back pain"),
];
const MEDICATIONS: [(&str, &str); 4] = [
    ("197361", "Amlodipine 5 MG Oral Tablet"),
    ("860975", "Metformin 500 MG Oral Tablet"),
    ("895994", "Albuterol 0.09 MG/ACTUAT Inhaler"),
    ("310965", "Ibuprofen 200 MG Oral Tablet"),
];
const ALLERGIES: [&str; 4] = ["Penicillin", "Peanut", "Latex", "Shellfish"];

/// (LOINC, unit, low, high) of the vital signs a check-up measures (blood pressure apart).
const VITALS: [(&str, &str, f64, f64); 6] = [
    ("8867-4", "/min", 55.0, 95.0),
    ("8310-5", "Cel", 36.1, 37.4),
    ("59408-5", "%", 94.0, 100.0),
    ("29463-7", "kg", 55.0, 110.0),
    ("8302-2", "cm", 150.0, 195.0),
    ("9279-1", "/min", 12.0, 20.0),
];
/// (LOINC, words, unit, reference low, high, drawn low, high).
const LABS: [(&str, &str, &str, f64, f64, f64, f64); 4] = [
    (
        "4548-4",
        "Hemoglobin A1c/Hemoglobin.total in Blood",
        "%",
        4.0,
        5.6,
        4.5,
        8.5,
    ),
    (
        "2093-3",
        "Cholesterol [Mass/volume] in Serum or Plasma",
        "mg/dL",
        0.0,
        200.0,
        140.0,
        260.0,
    ),
    (
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "mg/dL",
        0.6,
        1.3,
        0.5,
        1.6,
    ),
    (
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        "g/dL",
        12.0,
        17.5,
        10.5,
        18.0,
    ),
];

fn entry(full_url: &str, resource: Value) -> Value {
    let rt = resource["resourceType"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    json!({ "fullUrl": full_url, "resource": resource, "request": { "method": "POST", "url": rt } })
}

fn coded(system: &str, code: &str, text: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code, "display": text }], "text": text })
}

/// One patient's history of `years` years up to `end_year`, as a transaction bundle;
/// `n` makes the names and contacts unique.
pub fn patient_bundle(seed: u64, n: u64, years: i32, end_year: i32) -> Value {
    let mut rng = Rng::new(seed ^ n.wrapping_mul(0x1000_0001));
    let female = rng.below(2) == 0;
    let given = if female {
        *rng.pick(&GIVEN_F)
    } else {
        *rng.pick(&GIVEN_M)
    };
    let family = *rng.pick(&FAMILY);
    let birth_year = end_year - years - 20 - rng.below(50) as i32;
    let p = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let subject = json!({ "reference": p });
    let mut entries = vec![entry(
        &p,
        json!({
            "resourceType": "Patient",
            "name": [{ "use": "official", "family": family, "given": [given] }],
            "gender": if female { "female" } else { "male" },
            "birthDate": format!("{birth_year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
            "telecom": [
                { "system": "phone", "value": format!("555-{:04}", n % 10_000) },
                { "system": "email", "value": format!("patient{n}-{seed}@synthetic.example") }
            ],
            "address": [{ "line": [format!("{} Main St", 1 + rng.below(999))], "city": *rng.pick(&CITIES) }],
        }),
    )];
    // Adds a resource; answers the fullUrl others refer to it by.
    let mut add = |resource: Value| {
        let url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        entries.push(entry(&url, resource));
        url
    };
    let start = end_year - years;
    for _ in 0..1 + rng.below(2) {
        let allergy = *rng.pick(&ALLERGIES);
        add(json!({
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": coded("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
            "code": { "text": allergy },
            "criticality": if rng.below(3) == 0 { "high" } else { "low" },
            "patient": subject,
        }));
    }
    for _ in 0..2 + rng.below(3) {
        let (system, code, text) = *rng.pick(&CONDITIONS);
        let onset = start + rng.below(years.max(1) as u64) as i32;
        let resolved = rng.below(3) == 0;
        let mut c = json!({
            "resourceType": "Condition",
            "clinicalStatus": coded("http://terminology.hl7.org/CodeSystem/condition-clinical",
                if resolved { "resolved" } else { "active" }, if resolved { "Resolved" } else { "Active" }),
            "code": coded(system, code, text),
            "subject": subject,
            "onsetDateTime": format!("{onset}-03-01T09:00:00Z"),
        });
        if resolved {
            c["abatementDateTime"] = json!(format!("{onset}-06-01T09:00:00Z"));
        }
        add(c);
    }
    for _ in 0..1 + rng.below(3) {
        let (code, text) = *rng.pick(&MEDICATIONS);
        add(json!({
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": coded("http://www.nlm.nih.gov/research/umls/rxnorm", code, text),
            "subject": subject,
            "effectiveDateTime": format!("{}-04-01T09:00:00Z", start + rng.below(years.max(1) as u64) as i32),
            "dosage": [{ "text": "1 tablet daily" }],
        }));
    }
    for year in start..end_year {
        add(json!({
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": coded("http://hl7.org/fhir/sid/cvx", "140", "Influenza, seasonal, injectable, preservative free"),
            "patient": subject,
            "occurrenceDateTime": format!("{year}-10-{:02}T10:00:00Z", 1 + rng.below(28)),
            "lotNumber": format!("L{}", rng.below(100_000)),
        }));
        // Two check-ups a year: vital signs each time, labs once.
        for (visit, month) in [(0, 2 + rng.below(3)), (1, 8 + rng.below(3))] {
            let when = format!(
                "{year}-{month:02}-{:02}T{:02}:15:00Z",
                1 + rng.below(28),
                8 + rng.below(9)
            );
            add(json!({
                "resourceType": "Observation",
                "status": "final",
                "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs" }] }],
                "code": coded("http://loinc.org", "85354-9", "Blood pressure panel with all children optional"),
                "subject": subject,
                "effectiveDateTime": when,
                "component": [
                    { "code": coded("http://loinc.org", "8480-6", "Systolic blood pressure"),
                      "valueQuantity": { "value": rng.between(105.0, 150.0), "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" } },
                    { "code": coded("http://loinc.org", "8462-4", "Diastolic blood pressure"),
                      "valueQuantity": { "value": rng.between(65.0, 95.0), "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" } }
                ],
            }));
            for (code, unit, lo, hi) in VITALS {
                add(json!({
                    "resourceType": "Observation",
                    "status": "final",
                    "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs" }] }],
                    "code": { "coding": [{ "system": "http://loinc.org", "code": code }] },
                    "subject": subject,
                    "effectiveDateTime": when,
                    "valueQuantity": { "value": rng.between(lo, hi), "unit": unit, "system": "http://unitsofmeasure.org", "code": unit },
                }));
            }
            if visit == 0 {
                let mut results = vec![];
                for (code, text, unit, ref_lo, ref_hi, lo, hi) in LABS {
                    results.push(add(json!({
                        "resourceType": "Observation",
                        "status": "final",
                        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" }] }],
                        "code": coded("http://loinc.org", code, text),
                        "subject": subject,
                        "effectiveDateTime": when,
                        "valueQuantity": { "value": rng.between(lo, hi), "unit": unit },
                        "referenceRange": [{ "low": { "value": ref_lo, "unit": unit }, "high": { "value": ref_hi, "unit": unit } }],
                    })));
                }
                // The laboratory's report of the yearly panel, grouping its results.
                let results: Vec<Value> = results
                    .iter()
                    .map(|url| json!({ "reference": url }))
                    .collect();
                add(json!({
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB" }] }],
                    "code": coded("http://loinc.org", "24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma"),
                    "subject": subject,
                    "effectiveDateTime": when,
                    "result": results,
                    "conclusion": "Reviewed at the yearly check-up.",
                }));
            }
        }
    }
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}

/// How many resources of `resource_type` a bundle holds.
pub fn count_of(bundle: &Value, resource_type: &str) -> usize {
    bundle["entry"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter(|e| e["resource"]["resourceType"] == resource_type)
                .count()
        })
        .unwrap_or(0)
}
