//! A `telemed serve` process under a burst of the largest FHIR bodies it admits, built
//! to cost the most memory once parsed: its peak resident memory stays under a stated
//! bound, because parsed bodies share one budget (`fhir::body`) instead of each
//! growing the process.

use std::time::Duration;

use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use crate::nodes::serve;

/// What the burst may add to the process's peak resident memory: the budget of parsed
/// trees (256 MiB), the eight bodies as read (64 MiB), and the allocator's slack.
const STATED_PEAK_GROWTH_MIB: u64 = 512;

/// What may stay resident after the burst, above the process at its start.
const RETURNED_WITHIN_MIB: u64 = 96;

/// A field of /proc/<pid>/status, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {status}"))
}

/// A batch Bundle of `max_bundle_bytes` (8 MiB) holding as many one-member objects as
/// the bundle's value limit admits: the shape whose parsed tree is largest per byte.
fn costliest_bundle() -> String {
    let objects = telemed_fhir::bounded::Limits::BUNDLE.max_values / 2 - 10;
    let room = 8 * 1024 * 1024 - 100;
    let member = |pad: usize| format!(r#"{{"a":"{}"}},"#, "x".repeat(pad));
    let pad = room / objects - member(0).len();
    let mut body = String::with_capacity(room + 100);
    body.push_str(r#"{"resourceType":"Bundle","type":"batch","entry":[],"x":["#);
    for _ in 0..objects {
        body.push_str(&member(pad));
    }
    body.pop();
    body.push_str("]}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_costliest_bodies_at_once_stay_within_the_stated_memory() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let node = serve(&app, None).await;
    let pid = node.child.id();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let body = costliest_bundle();
    let started = status_kib(pid, "VmRSS:");
    // One first, alone: it is taken whole (no limit is broken), and warms the process.
    let r = http
        .post(format!("{}/fhir/R4", node.base))
        .bearer_auth(&token)
        .header("content-type", "application/fhir+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let alone = status_kib(pid, "VmHWM:");
    let sent = (0..8).map(|_| {
        let request = http
            .post(format!("{}/fhir/R4", node.base))
            .bearer_auth(&token)
            .header("content-type", "application/fhir+json")
            .body(body.clone());
        tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
    });
    let mut statuses = Vec::new();
    for s in sent.collect::<Vec<_>>() {
        statuses.push(s.await.unwrap().unwrap());
    }
    let peak = status_kib(pid, "VmHWM:");
    // The burst over, its memory goes back to the system within seconds.
    let returned = std::time::Instant::now();
    let mut after = status_kib(pid, "VmRSS:");
    while after > started + RETURNED_WITHIN_MIB * 1024
        && returned.elapsed() < Duration::from_secs(15)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = status_kib(pid, "VmRSS:");
    }
    eprintln!(
        "resident memory: {} MiB at start, peak {} MiB for one body alone, {} MiB for eight at once, {} MiB {:.1} s later; answers {statuses:?}",
        started / 1024,
        alone / 1024,
        peak / 1024,
        after / 1024,
        returned.elapsed().as_secs_f64()
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "each is taken or told to come back: {statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        peak.saturating_sub(started) < STATED_PEAK_GROWTH_MIB * 1024,
        "the peak grew by {} MiB (stated: {STATED_PEAK_GROWTH_MIB} MiB)",
        peak.saturating_sub(started) / 1024
    );
    assert!(
        after <= started + RETURNED_WITHIN_MIB * 1024,
        "{} MiB still resident 15 s after the burst ({} MiB at start)",
        after / 1024,
        started / 1024
    );
    drop(node);
    app.shutdown().await;
}
