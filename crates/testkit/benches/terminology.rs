//! Code search over the full ICD-10-CM, as a clinician types: every prefix (two
//! characters and more) of a dozen diagnoses and codes is one request to
//! `GET /api/v1/terminology?section=problems&q=…` (what the chart's code finder sends per
//! keystroke), five rounds, on SQLite and on PostgreSQL when TELEMED_TEST_DATABASE_URL
//! is set. The reference in the same run: the same keystrokes over telemed's starter
//! set (206 codes), so the figure shows what the 98,000 codes cost. Also how long the
//! import of the release takes.
//!
//! The release: the order file `tools/terminology/icd10cm-order-file` writes from the
//! official CMS tabular list (it runs when the file is missing), or the file named by
//! TELEMED_ICD10CM_ORDER_FILE.
//!
//! `cargo bench -p telemed-testkit --bench terminology`

use std::path::PathBuf;
use std::time::Instant;

use telemed_domain::terminology::CodeSystem;
use telemed_domain::Role;
use telemed_testkit::{percentile, Backend, TestApp};

const TYPED: [&str; 12] = [
    "dermatitis",
    "allergic contact dermatitis",
    "essential hypertension",
    "type 2 diabetes mellitus without complications",
    "fracture of neck of femur",
    "asthma",
    "acute otitis media",
    "upper respiratory infection",
    "low back pain",
    "urinary tract infection",
    "L23.9",
    "S72.001A",
];
const ROUNDS: usize = 5;

fn order_file() -> PathBuf {
    if let Some(path) = std::env::var_os("TELEMED_ICD10CM_ORDER_FILE") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").expect("HOME");
    let path = PathBuf::from(home).join(".cache/telemed-terminology/icd10cm_order.txt");
    if !path.exists() {
        let tool = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tools/terminology/icd10cm-order-file"
        );
        let status = std::process::Command::new(tool)
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "{tool} failed");
    }
    path
}

/// Every keystroke of every typed text, from the second character on.
fn keystrokes() -> Vec<String> {
    TYPED
        .iter()
        .flat_map(|t| (2..=t.chars().count()).map(move |n| t.chars().take(n).collect()))
        .collect()
}

/// The keystrokes' times, sorted, how many found something, and the five slowest.
async fn search_times(app: &TestApp, token: &str) -> (Vec<f64>, usize, String) {
    let client = reqwest::Client::new();
    let strokes = keystrokes();
    let mut times = Vec::new();
    let mut found = 0;
    let mut by_query: Vec<(f64, &str)> = Vec::new();
    for round in 0..=ROUNDS {
        for q in &strokes {
            let started = Instant::now();
            let r = client
                .get(app.url("/api/v1/terminology"))
                .query(&[("section", "problems"), ("q", q.as_str())])
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let body: Vec<serde_json::Value> = r.json().await.unwrap();
            // Round 0 warms the caches and is not counted.
            if round > 0 {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                times.push(ms);
                by_query.push((ms, q.as_str()));
                found += usize::from(!body.is_empty());
            }
        }
    }
    times.sort_by(f64::total_cmp);
    by_query.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest = by_query
        .iter()
        .take(5)
        .map(|(ms, q)| format!("\"{q}\" {ms:.1} ms"))
        .collect::<Vec<_>>()
        .join(", ");
    (times, found / ROUNDS, slowest)
}

/// This process's resident memory, in MB (Linux).
fn resident_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let file = order_file();
    let size = std::fs::metadata(&file).unwrap().len();
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TELEMED_BENCH_SQLITE_ONLY").is_some() {
        println!("PostgreSQL left out (TELEMED_BENCH_SQLITE_ONLY)");
    } else if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some() {
        backends.push(Backend::Postgres);
    } else {
        println!("PostgreSQL skipped: set TELEMED_TEST_DATABASE_URL to include it");
    }
    let strokes = keystrokes().len();
    println!(
        "{strokes} keystrokes a round, {ROUNDS} rounds; release {} ({size} bytes)",
        file.display()
    );
    println!("| database | codes held | measure | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    for backend in backends {
        runtime.block_on(async {
            let app = TestApp::spawn(backend).await;
            let clinician = app.create_user(Role::Clinician).await;
            let token = app.token_for(&clinician, None).await;
            let db = format!("{backend:?}");

            let (starter, found, _) = search_times(&app, &token).await;
            println!(
                "| {db} | 206 (starter) | search per keystroke ({found} of {strokes} found some) | {:.2} ms | {:.2} ms | {:.2} ms |",
                percentile(&starter, 0.5),
                percentile(&starter, 0.99),
                starter[starter.len() - 1]
            );

            let state = app.state();
            let ctx = telemed_server::context::Ctx::background("bench");
            let started = Instant::now();
            let id = telemed_server::terminology::begin_import(state, None, CodeSystem::Icd10Cm, "icd10cm_order.txt", size)
                .await
                .unwrap();
            let input = tokio::io::BufReader::new(tokio::fs::File::open(&file).await.unwrap());
            let report = telemed_server::terminology::run_import(state, &ctx, None, &id, CodeSystem::Icd10Cm, input)
                .await
                .unwrap();
            let import = started.elapsed().as_secs_f64();
            let held = report.concepts;

            let before = resident_mb();
            let (full, found, slowest) = search_times(&app, &token).await;
            let index_mb = resident_mb() - before;
            println!(
                "| {db} | {held} (full release) | search per keystroke ({found} of {strokes} found some) | {:.2} ms | {:.2} ms | {:.2} ms |",
                percentile(&full, 0.5),
                percentile(&full, 0.99),
                full[full.len() - 1]
            );
            println!("| {db} | {held} | import of the release (CMS order file) | {import:.1} s | | |");
            println!("{db}, slowest keystrokes: {slowest}");
            println!("{db}, resident memory grew {index_mb:.1} MB while the index was built and searched");
            app.shutdown().await;
        });
    }
}
