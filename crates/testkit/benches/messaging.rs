//! Messaging and live-connection figures:
//! - memory per idle live connection (RSS growth over N WebSockets, of the server
//!   process and of the client process, which is this binary re-executed);
//! - fan-out: the time from sending a message through the API until each of N open
//!   connections of the thread's members has the event (p50 / p99 over all deliveries);
//! - messages stored per second through the API by 16 concurrent senders, against a raw
//!   insert of the same rows (thread counter + message, one transaction each, no HTTP,
//!   notifications or audit) at the same concurrency.
//!
//! `cargo bench -p telemed-testkit --bench messaging` (PostgreSQL too when
//! TELEMED_TEST_DATABASE_URL is set; TELEMED_BENCH_CONNECTIONS sets N, default 10,000).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::io::{BufRead, BufReader, Write};
use telemed_domain::{Clock, Email, Role, ThreadId, UserId};
use telemed_store::messaging::{self, NewThread};
use telemed_store::users::{self, NewUser};
use telemed_testkit::live::LiveClient;
use telemed_testkit::{percentile as pct, Backend, TestApp, TestUser};
use tokio::sync::mpsc;

const SENDERS: usize = 16;
const PER_MEMBER: usize = 20;
const FANOUT_MESSAGES: usize = 20;
const STORE_SECONDS: u64 = 5;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `count` patients made straight in the store (no password hashing), with tokens.
async fn members(app: &TestApp, tag: &str, count: usize) -> Vec<(TestUser, String)> {
    let now = app.clock.now();
    let mut tx = app.state().store.begin_write().await.unwrap();
    let mut made = Vec::new();
    for i in 0..count {
        let email = format!("{tag}{i}@bench.example");
        let parsed = Email::parse(&email).unwrap();
        let user = NewUser {
            email: &parsed,
            display_name: &format!("Member {i}"),
            role: Role::Patient,
            password_hash: "x",
            email_verified: true,
            locale: "en",
            name: None,
        };
        let id = users::insert(&mut tx, user, now).await.unwrap();
        made.push(TestUser {
            id,
            email,
            password: String::new(),
            role: Role::Patient,
        });
    }
    tx.commit().await.unwrap();
    let mut out = Vec::new();
    for user in made {
        let token = app.token_for(&user, None).await;
        out.push((user, token));
    }
    out
}

async fn thread_of(app: &TestApp, members: &[UserId]) -> ThreadId {
    let now = app.clock.now();
    let mut tx = app.state().store.begin_write().await.unwrap();
    let new = NewThread {
        subject: "bench",
        patient_id: None,
        clinic_inbox: false,
        created_by: members[0],
        members,
    };
    let id = messaging::create_thread(&mut tx, new, now).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// What the listener process is told: where to connect, as whom, and what to send.
#[derive(serde::Serialize, serde::Deserialize)]
struct ListenPlan {
    base: String,
    tokens: Vec<String>,
    connections: usize,
    path: String,
}

/// Names the environment variable that makes this binary the listener process: it
/// opens the connections, reports its own memory growth, waits for a line on stdin,
/// then sends the messages and reports each delivery's latency. Client and server in
/// separate processes: each holds its own 10,000 sockets, and the server's memory per
/// connection is measured alone.
const LISTEN_PLAN: &str = "TELEMED_BENCH_LISTEN_PLAN";

/// `first`: whether this is the process's first run; a later run's connections reuse
/// heap the earlier one freed, so the server's RSS growth says nothing.
async fn fan_out(app: &TestApp, db: &str, connections: usize, first: bool) {
    let people = members(app, "listener", connections.div_ceil(PER_MEMBER)).await;
    let ids: Vec<UserId> = people.iter().map(|(u, _)| u.id).collect();
    let thread = thread_of(app, &ids).await;
    let plan = ListenPlan {
        base: app.base.clone(),
        tokens: people.iter().map(|(_, t)| t.clone()).collect(),
        connections,
        path: app.url(&format!("/api/v1/threads/{thread}/messages")),
    };
    let before = rss_kib();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(LISTEN_PLAN, serde_json::to_string(&plan).unwrap())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let opened: serde_json::Value =
        serde_json::from_str(&lines.recv().await.expect("the listeners report")).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_grown = rss_kib().saturating_sub(before);
    let opened_count = opened["opened"].as_u64().unwrap();
    if first {
        println!(
            "| {db} | memory per idle live connection, server process ({opened_count} open) | {:.1} KiB |",
            server_grown as f64 / opened_count as f64
        );
    } else {
        println!(
            "| {db} | memory per idle live connection, server process | not measured: heap freed by the earlier run is reused |"
        );
    }
    println!(
        "| {db} | memory per idle live connection, client process (tokio-tungstenite) | {:.1} KiB |",
        opened["client_kib"].as_f64().unwrap() / opened_count as f64
    );
    stdin.write_all(b"go\n").unwrap();
    let mut latencies: Vec<f64> =
        serde_json::from_str(&lines.recv().await.expect("the latencies")).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    assert_eq!(latencies.len(), opened_count as usize * FANOUT_MESSAGES);
    latencies.sort_by(f64::total_cmp);
    println!(
        "| {db} | fan-out of one message to {opened_count} open connections, send to receipt: p50 / p99 ({FANOUT_MESSAGES} messages) | {:.1} ms / {:.1} ms |",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99)
    );
}

fn run_listeners(plan: &str) {
    let plan: ListenPlan = serde_json::from_str(plan).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let before = rss_kib();
        let (tx, mut rx) = mpsc::unbounded_channel::<(i64, Instant)>();
        let mut opened = 0;
        let mut listeners = Vec::new();
        for token in &plan.tokens {
            for _ in 0..PER_MEMBER {
                if opened == plan.connections {
                    break;
                }
                let mut client = LiveClient::with_token(&plan.base, token).await.unwrap();
                let tx = tx.clone();
                listeners.push(tokio::spawn(async move {
                    while let Ok(event) = client.next_event(Duration::from_secs(600)).await {
                        if event["type"] == "message" {
                            let _ = tx.send((event["seq"].as_i64().unwrap_or(0), Instant::now()));
                        }
                    }
                }));
                opened += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let grown = rss_kib().saturating_sub(before);
        println!(
            "{}",
            serde_json::json!({"opened": opened, "client_kib": grown})
        );
        tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new()))
            .await
            .unwrap()
            .unwrap();
        let http = reqwest::Client::new();
        let mut latencies = Vec::new();
        for i in 0..FANOUT_MESSAGES {
            let sent = Instant::now();
            let r = http
                .post(&plan.path)
                .bearer_auth(&plan.tokens[0])
                .json(&serde_json::json!({"body": format!("fan-out {i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let seq = i as i64 + 1;
            for _ in 0..opened {
                let (s, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                    .await
                    .expect("every connection hears the message")
                    .unwrap();
                assert_eq!(s, seq);
                latencies.push(at.duration_since(sent).as_secs_f64() * 1000.0);
            }
        }
        println!("{}", serde_json::to_string(&latencies).unwrap());
        for listener in listeners {
            listener.abort();
        }
    });
}

async fn store_rate(app: &TestApp, db: &str) {
    let people = members(app, "sender", SENDERS * 2).await;
    let http = reqwest::Client::new();
    let mut paths = Vec::new();
    for pair in people.chunks(2) {
        let thread = thread_of(app, &[pair[0].0.id, pair[1].0.id]).await;
        paths.push((
            app.url(&format!("/api/v1/threads/{thread}/messages")),
            pair[0].1.clone(),
            thread,
            pair[0].0.id,
        ));
    }
    let count = Arc::new(AtomicU64::new(0));
    let mut ms = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(STORE_SECONDS);
    let tasks: Vec<_> = paths
        .iter()
        .cloned()
        .map(|(path, token, _, _)| {
            let (http, count) = (http.clone(), count.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let r = http
                        .post(&path)
                        .bearer_auth(&token)
                        .json(&serde_json::json!({"body": "How are you feeling today?"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                    times.push(t0.elapsed().as_secs_f64() * 1000.0);
                    count.fetch_add(1, Ordering::Relaxed);
                }
                times
            })
        })
        .collect();
    for t in tasks {
        ms.extend(t.await.unwrap());
    }
    ms.sort_by(f64::total_cmp);
    let api_rate = count.load(Ordering::Relaxed) as f64 / STORE_SECONDS as f64;

    // The same senders from a separate process, so the clients' work is not counted
    // against the server's share of the two cores' scheduling within one runtime.
    let work: Vec<(String, String)> = paths
        .iter()
        .map(|(p, t, _, _)| (p.clone(), t.clone()))
        .collect();
    let plan = serde_json::to_string(&work).unwrap();
    let child = tokio::task::spawn_blocking(move || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .env(SENDERS_PLAN, plan)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let mut apart: Vec<f64> = serde_json::from_slice(&child.stdout).unwrap();
    apart.sort_by(f64::total_cmp);
    let apart_rate = apart.len() as f64 / STORE_SECONDS as f64;

    let raw = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(STORE_SECONDS);
    let tasks: Vec<_> = paths
        .iter()
        .cloned()
        .map(|(_, _, thread, sender)| {
            let (store, clock, raw) = (app.state().store.clone(), app.clock.clone(), raw.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let mut tx = store.begin_write().await.unwrap();
                    let new = messaging::NewMessage {
                        thread,
                        sender,
                        body: "How are you feeling today?",
                        client_id: None,
                        attachments: &[],
                    };
                    messaging::append_message(&mut tx, new, clock.now())
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                    raw.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let raw_rate = raw.load(Ordering::Relaxed) as f64 / STORE_SECONDS as f64;
    println!(
        "| {db} | messages stored/s through the API ({SENDERS} senders; p50 / p99 per send) / raw inserts/s of the same rows | {api_rate:.0} ({:.1} ms / {:.1} ms) / {raw_rate:.0} ({:.2}) |",
        pct(&ms, 0.5),
        pct(&ms, 0.99),
        api_rate / raw_rate
    );
    println!(
        "| {db} | the same, senders in a separate process: messages stored/s (p50 / p99 per send) | {apart_rate:.0} ({:.1} ms / {:.1} ms) |",
        pct(&apart, 0.5),
        pct(&apart, 0.99)
    );
}

/// Names the environment variable that makes this binary a sender process: a JSON list
/// of (URL, token); it posts for `STORE_SECONDS` and prints each send's milliseconds.
const SENDERS_PLAN: &str = "TELEMED_BENCH_SENDERS_PLAN";

fn run_senders(plan: &str) {
    let work: Vec<(String, String)> = serde_json::from_str(plan).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let times = runtime.block_on(async {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(STORE_SECONDS);
        let tasks: Vec<_> = work
            .into_iter()
            .map(|(path, token)| {
                let http = http.clone();
                tokio::spawn(async move {
                    let mut times = Vec::new();
                    while Instant::now() < deadline {
                        let t0 = Instant::now();
                        let r = http
                            .post(&path)
                            .bearer_auth(&token)
                            .json(&serde_json::json!({"body": "How are you feeling today?"}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 201);
                        times.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    times
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    println!("{}", serde_json::to_string(&times).unwrap());
}

fn main() {
    if let Ok(plan) = std::env::var(SENDERS_PLAN) {
        run_senders(&plan);
        return;
    }
    if let Ok(plan) = std::env::var(LISTEN_PLAN) {
        run_listeners(&plan);
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let connections: usize = std::env::var("TELEMED_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some() {
        backends.push(Backend::Postgres);
    } else {
        println!("PostgreSQL skipped: set TELEMED_TEST_DATABASE_URL to include it");
    }
    println!("| database | measure | figure |");
    println!("|---|---|---|");
    for (run, backend) in backends.into_iter().enumerate() {
        runtime.block_on(async {
            let db = format!("{backend:?}");
            let app = TestApp::spawn_with(backend, |c| c.max_db_connections = 16).await;
            store_rate(&app, &db).await;
            fan_out(&app, &db, connections, run == 0).await;
            app.shutdown().await;
        });
    }
}
