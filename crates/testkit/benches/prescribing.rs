//! The prescribing checks (allergies + interactions + duplicate therapy + dose) for a
//! patient with 20 active medications against a knowledge base of 10,000 interaction
//! pairs: the starter knowledge plus synthetic pairs among 2,000 synthetic ingredients,
//! each of the patient's medications in up to three classes. Latency of one full check.
//!
//! Then the same check as a clinician's request gets it through the API on SQLite
//! (`POST /api/v1/patients/{id}/prescriptions/check`, the chart read under the policy's
//! grant and audited), for a patient whose chart holds 20 medications and 3 allergies:
//! p50/p99 of 500 sequential requests after 50 of warm-up.
//!
//! `cargo bench -p telemed-testkit --bench prescribing`. TELEMED_BENCH_CHECKS (default
//! 20,000) tunes the run.

use std::time::Instant;

use telemed_domain::prescribing::checks::{check, ActiveMedication, AllergyFact, PatientContext};
use telemed_domain::prescribing::sig::{Frequency, Sig};
use telemed_domain::prescribing::{starter, Agent, DrugClass, Interaction, Knowledge, Severity};
use telemed_domain::{Clock, Role};
use telemed_testkit::{percentile, Backend, TestApp};

const PAIRS: usize = 10_000;
const SYNTHETIC_INGREDIENTS: usize = 2_000;

fn knowledge() -> Knowledge {
    let mut classes = starter::classes().unwrap();
    let mut interactions = starter::interactions().unwrap();
    // Synthetic classes of 20 ingredients each, and pairs among ingredients and classes.
    for c in 0..SYNTHETIC_INGREDIENTS / 20 {
        classes.push(DrugClass {
            id: format!("class{c}"),
            name: format!("synthetic class {c}"),
            members: (0..20).map(|i| format!("drug{}", c * 20 + i)).collect(),
            allergy_terms: vec![format!("class{c} allergy")],
            allergy_codes: vec![],
            duplicate_therapy: c.is_multiple_of(2),
        });
    }
    // Distinct pairs: each synthetic ingredient with the next ones in turn, and every
    // tenth pair between the two ingredients' classes instead.
    let mut seen = std::collections::HashSet::new();
    let mut n = 0usize;
    while interactions.len() < PAIRS {
        let a = n % SYNTHETIC_INGREDIENTS;
        let b = (a + 1 + n / SYNTHETIC_INGREDIENTS) % SYNTHETIC_INGREDIENTS;
        n += 1;
        let (a, b) = if n.is_multiple_of(10) {
            (
                Agent::Class(format!("class{}", a / 20)),
                Agent::Class(format!("class{}", b / 20)),
            )
        } else {
            (
                Agent::Ingredient(format!("drug{a}")),
                Agent::Ingredient(format!("drug{b}")),
            )
        };
        let key = if a <= b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        if !seen.insert(key) {
            continue;
        }
        interactions.push(Interaction {
            a,
            b,
            severity: Severity::ALL[n % 4],
            mechanism: "synthetic".into(),
            advice: "synthetic".into(),
        });
    }
    Knowledge::new(classes, interactions, starter::dose_ranges().unwrap())
}

fn main() {
    let checks: usize = std::env::var("TELEMED_BENCH_CHECKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let k = knowledge();
    let catalogue = starter::medications().unwrap();
    let product = |name: &str| {
        catalogue
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    // 20 active medications: ten real ones, ten synthetic.
    let mut active: Vec<ActiveMedication> = [
        "warfarin",
        "sertraline",
        "lisinopril",
        "metformin",
        "atorvastatin",
        "amlodipine",
        "omeprazole",
        "levothyroxine",
        "gabapentin",
        "metoprolol",
    ]
    .iter()
    .map(|i| ActiveMedication {
        name: i.to_string(),
        ingredients: vec![i.to_string()],
    })
    .collect();
    active.extend((0..10).map(|i| ActiveMedication {
        name: format!("synthetic {i}"),
        ingredients: vec![format!("drug{}", i * 37)],
    }));
    let patient = PatientContext {
        allergies: vec![
            AllergyFact {
                code: None,
                text: "Penicillin".into(),
            },
            AllergyFact {
                code: None,
                text: "Sulfa".into(),
            },
            AllergyFact {
                code: None,
                text: "class3 allergy".into(),
            },
        ],
        active,
        weight_kg: Some(16.0),
        age_years: Some(5),
    };
    let proposed = [
        product("ibuprofen 400 MG Oral Tablet"),
        product("amoxicillin 500 MG Oral Capsule"),
        product("ciprofloxacin 500 MG Oral Tablet"),
    ];
    let sig = Sig {
        dose: 1.0,
        unit: "tablet".into(),
        route: "oral".into(),
        frequency: Frequency::ThreeTimesDaily,
        duration_days: Some(7),
        as_needed: None,
        instructions: String::new(),
    };
    println!(
        "knowledge: {} interaction pairs; patient: {} active medications, {} allergies",
        k.interaction_count(),
        patient.active.len(),
        patient.allergies.len()
    );
    let mut findings = 0;
    for m in &proposed {
        findings += check(m, &sig, &patient, &k).len();
    }
    let mut times = Vec::with_capacity(checks);
    let started = Instant::now();
    for n in 0..checks {
        let t = Instant::now();
        let found = check(&proposed[n % proposed.len()], &sig, &patient, &k);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(found);
    }
    let total = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    println!(
        "{checks} full checks ({findings} findings over the three products): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; {:.0} checks/s on one thread",
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        checks as f64 / total
    );
    api_check();
}

/// The check through the API, as a clinician's browser gets it.
fn api_check() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let patient = app.create_user(Role::Patient).await;
        let clinician = app.create_user(Role::Clinician).await;
        let now = app.clock.now();
        let mut tx = app.state().store.begin_write().await.unwrap();
        telemed_store::scheduling::book(
            &mut tx,
            telemed_store::scheduling::NewAppointment {
                clinician_id: clinician.id,
                patient_id: patient.id,
                visit_kind: telemed_domain::schedule::VisitKind::Video,
                start_at: now + chrono::Duration::days(1),
                end_at: now + chrono::Duration::days(1) + chrono::Duration::minutes(30),
                reason: "Review",
                booked_by: patient.id,
            },
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let token = app.token_for(&clinician, None).await;
        let http = reqwest::Client::new();
        let base = app.url(&format!("/api/v1/patients/{}", patient.id));
        let post = |path: String, body: serde_json::Value| {
            let (http, token) = (http.clone(), token.clone());
            async move {
                let r = http.post(path).bearer_auth(token).json(&body).send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            }
        };
        let medications = [
            "warfarin", "sertraline", "lisinopril", "metformin", "atorvastatin", "amlodipine",
            "omeprazole", "levothyroxine", "gabapentin", "metoprolol", "furosemide",
            "allopurinol", "tamsulosin", "finasteride", "montelukast", "cetirizine",
            "prednisone", "clopidogrel", "donepezil", "alendronate",
        ];
        for m in medications {
            let body = serde_json::json!({"text": format!("{m} once daily"), "effective": "2026-01-10"});
            post(format!("{base}/record/medications"), body).await;
        }
        for allergy in ["Penicillin", "Sulfa", "Latex"] {
            let body = serde_json::json!({"text": allergy, "severity": "moderate"});
            post(format!("{base}/record/allergies"), body).await;
        }
        let check = format!("{base}/prescriptions/check");
        let body = serde_json::json!({
            "system": "urn:telemed:medication-starter", "code": "ibuprofen-400-mg-oral-tablet",
            "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "three_times_daily"}
        });
        for _ in 0..50 {
            post(check.clone(), body.clone()).await;
        }
        let mut times = Vec::with_capacity(500);
        for _ in 0..500 {
            let t = Instant::now();
            post(check.clone(), body.clone()).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "the check through the API (SQLite; 20 medications and 3 allergies in the chart): p50 {:.2} ms, p99 {:.2} ms",
            percentile(&times, 0.50),
            percentile(&times, 0.99)
        );
        app.shutdown().await;
    });
}
