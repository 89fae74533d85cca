//! Authenticated `GET /api/v1/me` against `GET /healthz` on the same server in the same
//! run: throughput and latency, with the ratio to /healthz as the figure that matters
//! (it prices token authentication and the database round trips on top of HTTP).
//!
//! `cargo bench -p telemed-testkit --bench api_throughput` runs SQLite, and PostgreSQL
//! too when TELEMED_TEST_DATABASE_URL is set. TELEMED_BENCH_SECONDS (default 5) and
//! TELEMED_BENCH_CONNECTIONS (default 16) tune the run.

use std::time::{Duration, Instant};

use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

struct Run {
    requests: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn load(url: String, token: Option<String>, connections: usize, seconds: u64) -> Run {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    // Warm up connections and caches.
    let warm_until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < warm_until {
        let mut req = client.get(&url);
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        assert!(req.send().await.unwrap().status().is_success());
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let r = req.send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                let _ = r.bytes().await.unwrap();
                latencies.push(t0.elapsed().as_micros() as u32);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    Run {
        requests: all.len(),
        per_second: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let seconds = env_number("TELEMED_BENCH_SECONDS", 5);
    let connections = env_number("TELEMED_BENCH_CONNECTIONS", 16) as usize;
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some() {
        backends.push(Backend::Postgres);
    } else {
        println!("PostgreSQL skipped: set TELEMED_TEST_DATABASE_URL to include it");
    }
    println!(
        "{connections} connections, {seconds} s per endpoint, client and server on this machine\n"
    );
    println!("| database | endpoint | requests/s | p50 ms | p99 ms | throughput vs /healthz | p99 vs /healthz |");
    println!("|---|---|---|---|---|---|---|");
    for backend in backends {
        runtime.block_on(async {
            let app = TestApp::spawn_with(backend, |c| c.max_db_connections = 16).await;
            let user = app.create_user(Role::Patient).await;
            let token = app.token_for(&user, None).await;
            let health = load(app.url("/healthz"), None, connections, seconds).await;
            let me = load(app.url("/api/v1/me"), Some(token), connections, seconds).await;
            let db = format!("{backend:?}");
            for (name, run) in [("/healthz", &health), ("/api/v1/me", &me)] {
                println!(
                    "| {db} | {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    run.per_second,
                    run.p50_ms,
                    run.p99_ms,
                    run.per_second / health.per_second,
                    run.p99_ms / health.p99_ms
                );
            }
            eprintln!("({db}: {} + {} requests)", health.requests, me.requests);
            app.shutdown().await;
        });
    }
}
