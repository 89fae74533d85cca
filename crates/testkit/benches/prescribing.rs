//! The prescribing checks (allergies + interactions + duplicate therapy + dose) for a
//! patient with 20 active medications against a knowledge base of 10,000 interaction
//! pairs: the starter knowledge plus synthetic pairs among 2,000 synthetic ingredients,
//! each of the patient's medications in up to three classes. Latency of one full check.
//!
//! `cargo bench -p telemed-testkit --bench prescribing`. TELEMED_BENCH_CHECKS (default
//! 20,000) tunes the run.

use std::time::Instant;

use telemed_domain::prescribing::checks::{check, ActiveMedication, AllergyFact, PatientContext};
use telemed_domain::prescribing::sig::{Frequency, Sig};
use telemed_domain::prescribing::{starter, Agent, DrugClass, Interaction, Knowledge, Severity};
use telemed_testkit::percentile;

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
}
