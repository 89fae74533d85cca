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
//!
//! Side by side with a peer: TELEMED_BENCH_PEER=<path to Helios's `hfs` binary> starts
//! that server too (its own SQLite file, its defaults: no authentication, audit or
//! validation), loads the same population into it through its own transaction endpoint,
//! and runs each case in TELEMED_BENCH_ROUNDS (default 3) alternating rounds — telemed,
//! then the peer, one server under load at a time — printing each round's ratio.
//! TELEMED_BENCH_PEER_DATA names the folder holding the FHIR R4 search parameter
//! definitions it reads (`search-parameters-r4.json`). `tools/peer-bench` builds and
//! caches the peer, puts the definitions in place, and runs this.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

impl Wrk {
    fn cell(&self) -> String {
        let errors = if self.errors.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.errors)
        };
        format!(
            "{:.0} req/s, p99 {:.1} ms{errors}",
            self.per_second, self.p99_ms
        )
    }
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

/// A FHIR server under measurement: its base URL, and the bearer token it wants (the
/// peer runs without authentication).
#[derive(Clone)]
struct Server {
    label: String,
    base: String,
    token: Option<String>,
}

/// Runs wrk -t2 -c16 against `url` (with `script` for a POST body).
fn wrk(url: &str, token: Option<&str>, seconds: usize, script: Option<&str>) -> Wrk {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency"]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
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
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// What loading the population gave: how many resources in how long, and the ids of
/// one patient and one of their Observations for the cases.
struct Loaded {
    resources: usize,
    seconds: f64,
    patient: String,
    observation: String,
}

impl Loaded {
    fn per_second(&self) -> f64 {
        self.resources as f64 / self.seconds
    }
}

/// `(type, id)` of a transaction answer's `response.location`, relative
/// (`Patient/1/_history/1`) or absolute (`http://host/fhir/Patient/1/_history/1`).
fn located(location: &str) -> (String, String) {
    let parts: Vec<&str> = location.split('/').collect();
    let at = parts
        .iter()
        .position(|p| *p == "_history")
        .map(|h| h.saturating_sub(2))
        .unwrap_or(parts.len().saturating_sub(2));
    (parts[at].to_owned(), parts[at + 1].to_owned())
}

/// Loads `patients` synthetic histories of `years` years, one transaction bundle per
/// patient, two importers at a time.
async fn load(server: &Server, patients: usize, years: i32) -> Loaded {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut importers = vec![];
    for _ in 0..2 {
        let (http, server, next) = (http.clone(), server.clone(), next.clone());
        importers.push(tokio::spawn(async move {
            let mut resources = 0usize;
            let mut first: Vec<(String, String)> = vec![];
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= patients {
                    break;
                }
                let bundle = patient_bundle(42, n as u64, years, 2026);
                let mut request = http
                    .post(&server.base)
                    .header("content-type", "application/fhir+json")
                    .body(serde_json::to_vec(&bundle).unwrap());
                if let Some(token) = &server.token {
                    request = request.bearer_auth(token);
                }
                let r = request.send().await.unwrap();
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                assert_eq!(status, 200, "{}: {text}", server.label);
                let answer: Value = serde_json::from_str(&text).unwrap();
                let entries = answer["entry"].as_array().unwrap();
                resources += entries.len();
                if first.is_empty() {
                    first = entries
                        .iter()
                        .map(|e| located(e["response"]["location"].as_str().unwrap()))
                        .collect();
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
    let id_of = |t: &str| {
        sample
            .iter()
            .find(|(kind, _)| kind == t)
            .unwrap_or_else(|| panic!("{}: no {t} in the first bundle's answer", server.label))
            .1
            .clone()
    };
    Loaded {
        resources,
        seconds: started.elapsed().as_secs_f64(),
        patient: id_of("Patient"),
        observation: id_of("Observation"),
    }
}

/// One measured request shape against one server.
struct Case {
    name: &'static str,
    url: String,
    script: Option<PathBuf>,
}

/// The cases, against `server` holding `loaded`; the name search asks for 20 per page,
/// the page size both servers then answer with.
fn cases(server: &Server, loaded: &Loaded) -> Vec<Case> {
    let base = &server.base;
    let script =
        std::env::temp_dir().join(format!("telemed-fhir-create-{}.lua", uuid::Uuid::new_v4()));
    let body = serde_json::json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{}", loaded.patient)},
        "effectiveDateTime": "2025-03-01T10:00:00Z",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/fhir+json\"\nwrk.body = [[{body}]]\n"
        ),
    )
    .unwrap();
    let all = vec![
        Case {
            name: "read Observation by id",
            url: format!("{base}/Observation/{}", loaded.observation),
            script: None,
        },
        Case {
            name: "search Patient?name=lopez&_count=20",
            url: format!("{base}/Patient?name=lopez&_count=20"),
            script: None,
        },
        Case {
            name: "search Observation?patient&code&date",
            url: format!(
                "{base}/Observation?patient={}&code=http://loinc.org|8867-4&date=ge2020-01-01",
                loaded.patient
            ),
            script: None,
        },
        Case {
            name: "create Observation",
            url: format!("{base}/Observation"),
            script: Some(script),
        },
    ];
    let chosen = std::env::var("TELEMED_BENCH_CASES").unwrap_or_default();
    let chosen: Vec<&str> = chosen.split(',').filter(|w| !w.is_empty()).collect();
    all.into_iter()
        .filter(|c| chosen.is_empty() || chosen.iter().any(|w| c.name.contains(w)))
        .collect()
}

/// Runs one case under wrk; the server shares the machine, so wrk runs on a blocking
/// thread beside it.
async fn measure(server: &Server, case: &Case, seconds: usize) -> Wrk {
    let (url, token) = (case.url.clone(), server.token.clone());
    let script = case.script.as_ref().map(|p| p.to_str().unwrap().to_owned());
    tokio::task::spawn_blocking(move || wrk(&url, token.as_deref(), seconds, script.as_deref()))
        .await
        .unwrap()
}

/// How many resources the first page of a search holds on `server`: both servers must
/// answer the same question for their figures to compare.
async fn page_size(server: &Server, url: &str) -> usize {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = &server.token {
        request = request.bearer_auth(token);
    }
    let page: Value = request.send().await.unwrap().json().await.unwrap();
    page["entry"].as_array().map(Vec::len).unwrap_or(0)
}

async fn telemed(backend: Backend) -> (TestApp, Server) {
    // The configuration a clinic runs (8 database connections): on SQLite each
    // connection is a thread, and 16 of them on two cores cost more in switching than
    // they gave (name search 484 → 576 req/s, create 1,082 → 1,333 with 8).
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let label = match backend {
        Backend::Sqlite => "telemed SQLite",
        Backend::Postgres => "telemed PostgreSQL",
    };
    let server = Server {
        label: label.into(),
        base: app.url("/fhir/R4"),
        token: Some(token),
    };
    (app, server)
}

/// telemed alone: one table row per case and database.
async fn run_alone(backend: Backend, patients: usize, years: i32, seconds: usize) {
    let (app, server) = telemed(backend).await;
    let db = format!("{backend:?}");
    let loaded = load(&server, patients, years).await;
    println!(
        "| {db} | load {patients} patients × {years} years through transactions | {} resources in {:.1} s = **{:.0} resources/s** | | |",
        loaded.resources, loaded.seconds, loaded.per_second()
    );
    for case in cases(&server, &loaded) {
        let w = measure(&server, &case, seconds).await;
        println!(
            "| {db} | {} | **{:.0} req/s** | {:.2} | {:.2} |{}",
            case.name,
            w.per_second,
            w.p50_ms,
            w.p99_ms,
            if w.errors.is_empty() {
                String::new()
            } else {
                format!(" {}", w.errors)
            }
        );
        if let Some(script) = case.script {
            let _ = std::fs::remove_file(script);
        }
    }
    app.shutdown().await;
}

/// The peer as a child process on a free loopback port, with its own SQLite file in a
/// temporary folder; stopped when dropped.
struct Peer {
    child: Child,
    folder: PathBuf,
    server: Server,
}

impl Peer {
    async fn start(binary: &str) -> Peer {
        let folder = std::env::temp_dir().join(format!("telemed-peer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--database-url")
            .arg(folder.join("peer.db"))
            .args(["--log-level", "warn"]);
        // The FHIR R4 search parameter definitions, without which the peer knows only a
        // few and answers a search it does not know unfiltered.
        if let Some(data) = std::env::var_os("TELEMED_BENCH_PEER_DATA") {
            command.arg("--data-dir").arg(data);
        }
        let child = command
            .current_dir(&folder)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the peer {binary}: {e}"));
        let server = Server {
            label: "Helios".into(),
            base: format!("http://127.0.0.1:{port}"),
            token: None,
        };
        let health = format!("{}/health", server.base);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = reqwest::get(&health).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the peer did not answer {health} within 120 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Peer {
            child,
            folder,
            server,
        }
    }

    fn version(binary: &str) -> String {
        Command::new(binary)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}", a / b)
}

/// telemed (SQLite, and PostgreSQL when configured) beside the peer: the same
/// population loaded into each, then every case in alternating rounds, one server under
/// load at a time.
async fn run_beside_peer(peer_binary: &str, patients: usize, years: i32, seconds: usize) {
    let rounds = env("TELEMED_BENCH_ROUNDS", 3);
    let mut apps = vec![];
    let mut ours = vec![];
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some() {
        backends.push(Backend::Postgres);
    }
    for backend in backends {
        let (app, server) = telemed(backend).await;
        apps.push(app);
        ours.push(server);
    }
    let peer = Peer::start(peer_binary).await;
    println!("peer: {}", Peer::version(peer_binary));
    let servers: Vec<Server> = ours.iter().cloned().chain([peer.server.clone()]).collect();
    let headers: Vec<&str> = servers.iter().map(|s| s.label.as_str()).collect();
    let with_pg = ours.len() > 1;
    println!(
        "\n| case | round | {} | telemed / Helios |{}",
        headers.join(" | "),
        if with_pg {
            " PostgreSQL / SQLite |"
        } else {
            ""
        }
    );
    println!(
        "|---|---|{}---|{}",
        "---|".repeat(servers.len()),
        if with_pg { "---|" } else { "" }
    );

    let mut loads = vec![];
    for server in &servers {
        loads.push(load(server, patients, years).await);
    }
    let rate: Vec<f64> = loads.iter().map(Loaded::per_second).collect();
    let peer_at = servers.len() - 1;
    println!(
        "| load {patients} patients × {years} years, a transaction per patient ({} resources) | — | {} | **{}** |{}",
        loads[0].resources,
        rate.iter()
            .map(|r| format!("{r:.0} resources/s"))
            .collect::<Vec<_>>()
            .join(" | "),
        ratio(rate[0], rate[peer_at]),
        if with_pg {
            format!(" {} |", ratio(rate[1], rate[0]))
        } else {
            String::new()
        }
    );

    let per_server: Vec<Vec<Case>> = servers
        .iter()
        .zip(&loads)
        .map(|(s, l)| cases(s, l))
        .collect();
    for at in 0..per_server[0].len() {
        let name = per_server[0][at].name;
        if name.starts_with("search") {
            let sizes = futures::future::join_all(
                servers
                    .iter()
                    .zip(&per_server)
                    .map(|(s, cs)| page_size(s, &cs[at].url)),
            )
            .await;
            println!(
                "| {name}: first page holds | — | {} | | |",
                sizes
                    .iter()
                    .map(|n| format!("{n} resources"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        for round in 1..=rounds {
            let mut figures = vec![];
            for (server, cs) in servers.iter().zip(&per_server) {
                figures.push(measure(server, &cs[at], seconds).await);
            }
            println!(
                "| {name} | {round} | {} | **{}** |{}",
                figures
                    .iter()
                    .map(Wrk::cell)
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio(figures[0].per_second, figures[peer_at].per_second),
                if with_pg {
                    format!(" {} |", ratio(figures[1].per_second, figures[0].per_second))
                } else {
                    String::new()
                }
            );
        }
    }
    for case in per_server.into_iter().flatten() {
        if let Some(script) = case.script {
            let _ = std::fs::remove_file(script);
        }
    }
    drop(peer);
    for app in apps {
        app.shutdown().await;
    }
}

fn main() {
    let patients = env("TELEMED_BENCH_PATIENTS", 1000);
    let years = env("TELEMED_BENCH_YEARS", 10) as i32;
    let seconds = env("TELEMED_BENCH_SECONDS", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("wrk -t2 -c16, {seconds} s per case; telemed with validation and audit on\n");
    if let Ok(peer) = std::env::var("TELEMED_BENCH_PEER") {
        runtime.block_on(run_beside_peer(&peer, patients, years, seconds));
        return;
    }
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some() {
        backends.push(Backend::Postgres);
    }
    println!("| database | case | throughput | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for backend in backends {
        runtime.block_on(run_alone(backend, patients, years, seconds));
    }
}
