//! FHIR API figures: a synthetic population (Synthea-style histories) loaded through the
//! transaction endpoint, then read-by-id, Patient search by name, Observation search by
//! patient + code + date, and create, each under 16 concurrent connections from `wrk`
//! (a separate process, as the reference figures were measured), with validation and
//! audit on as always.
//!
//! `cargo bench -p telemed-testkit --bench fhir` (SQLite; PostgreSQL too when
//! TELEMED_TEST_DATABASE_URL is set). Needs wrk (`apt-get install wrk`).
//! TELEMED_BENCH_PATIENTS (default 1000), TELEMED_BENCH_YEARS (default 10),
//! TELEMED_BENCH_SECONDS (default 10) tune the run; TELEMED_BENCH_CASES (words such as
//! `read,name`) runs only the cases whose names contain one of them.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use telemed_domain::Role;
use telemed_testkit::synthetic::patient_bundle;
use telemed_testkit::{Backend, TestApp};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Wrk {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: String,
}

fn ms(s: &str) -> f64 {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("ms") {
        v.parse().unwrap_or(f64::NAN)
    } else if let Some(v) = s.strip_suffix("us") {
        v.parse::<f64>().map(|v| v / 1000.0).unwrap_or(f64::NAN)
    } else if let Some(v) = s.strip_suffix('s') {
        v.parse::<f64>().map(|v| v * 1000.0).unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

/// Runs wrk -t2 -c16 against `url` (with `script` for a POST body).
fn wrk(url: &str, token: &str, seconds: usize, script: Option<&str>) -> Wrk {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency"])
        .args(["-H", &format!("Authorization: Bearer {token}")]);
    if let Some(s) = script {
        cmd.args(["-s", s]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk is needed for this benchmark: apt-get install wrk");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.trim_start()[prefix.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    Wrk {
        per_second: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50_ms: ms(&field("50%")),
        p99_ms: ms(&field("99%")),
        errors: text
            .lines()
            .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

async fn run(backend: Backend, patients: usize, years: i32, seconds: usize) {
    // The configuration a clinic runs (8 database connections): on SQLite each
    // connection is a thread, and 16 of them on two cores cost more in switching than
    // they gave (name search 484 → 576 req/s, create 1,082 → 1,333 with 8).
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let http = reqwest::Client::new();
    let db = format!("{backend:?}");

    // Load: one transaction bundle per patient, two importers at a time.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut importers = vec![];
    for _ in 0..2 {
        let (http, url, token, next) = (
            http.clone(),
            app.url("/fhir/R4"),
            token.clone(),
            next.clone(),
        );
        importers.push(tokio::spawn(async move {
            let mut resources = 0usize;
            let mut first: Vec<(String, String)> = vec![];
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= patients {
                    break;
                }
                let bundle = patient_bundle(42, n as u64, years, 2026);
                let body = serde_json::to_vec(&bundle).unwrap();
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/fhir+json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
                let answer: Value = r.json().await.unwrap();
                let entries = answer["entry"].as_array().unwrap();
                resources += entries.len();
                if first.is_empty() {
                    for e in entries {
                        let loc = e["response"]["location"].as_str().unwrap();
                        let mut parts = loc.split('/');
                        first.push((
                            parts.next().unwrap().to_owned(),
                            parts.next().unwrap().to_owned(),
                        ));
                    }
                }
            }
            (resources, first)
        }));
    }
    let mut resources = 0;
    let mut sample = vec![];
    for i in importers {
        let (n, first) = i.await.unwrap();
        resources += n;
        if sample.is_empty() {
            sample = first;
        }
    }
    let load_s = started.elapsed().as_secs_f64();
    println!(
        "| {db} | load {patients} patients × {years} years through transactions | {resources} resources in {load_s:.1} s = **{:.0} resources/s** | | |",
        resources as f64 / load_s
    );

    let patient = sample
        .iter()
        .find(|(t, _)| t == "Patient")
        .unwrap()
        .1
        .clone();
    let observation = sample
        .iter()
        .find(|(t, _)| t == "Observation")
        .unwrap()
        .1
        .clone();
    let base = app.url("/fhir/R4");
    let script =
        std::env::temp_dir().join(format!("telemed-fhir-create-{}.lua", uuid::Uuid::new_v4()));
    let body = serde_json::json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2025-03-01T10:00:00Z",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/fhir+json\"\nwrk.body = [[{}]]\n",
            body
        ),
    )
    .unwrap();
    let cases = [
        ("read Observation by id", format!("{base}/Observation/{observation}"), None),
        ("search Patient?name=lopez", format!("{base}/Patient?name=lopez"), None),
        (
            "search Observation?patient&code&date",
            format!("{base}/Observation?patient={patient}&code=http://loinc.org|8867-4&date=ge2020-01-01"),
            None,
        ),
        ("create Observation", format!("{base}/Observation"), Some(script.to_str().unwrap().to_owned())),
    ];
    let chosen = std::env::var("TELEMED_BENCH_CASES").unwrap_or_default();
    let chosen: Vec<&str> = chosen.split(',').filter(|w| !w.is_empty()).collect();
    for (name, url, script) in cases {
        if !chosen.is_empty() && !chosen.iter().any(|w| name.contains(w)) {
            continue;
        }
        // The server shares the machine: wrk runs on a blocking thread beside it.
        let t = token.clone();
        let w = tokio::task::spawn_blocking(move || wrk(&url, &t, seconds, script.as_deref()))
            .await
            .unwrap();
        println!(
            "| {db} | {name} | **{:.0} req/s** | {:.2} | {:.2} |{}",
            w.per_second,
            w.p50_ms,
            w.p99_ms,
            if w.errors.is_empty() {
                String::new()
            } else {
                format!(" {}", w.errors)
            }
        );
    }
    let _ = std::fs::remove_file(&script);
    app.shutdown().await;
}

fn main() {
    let patients = env("TELEMED_BENCH_PATIENTS", 1000);
    let years = env("TELEMED_BENCH_YEARS", 10) as i32;
    let seconds = env("TELEMED_BENCH_SECONDS", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some() {
        backends.push(Backend::Postgres);
    }
    println!("wrk -t2 -c16, {seconds} s per case; validation and audit on\n");
    println!("| database | case | throughput | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for backend in backends {
        runtime.block_on(run(backend, patients, years, seconds));
    }
}
