//! Prometheus metrics: request counts and latency histograms by route (the route
//! template, never the concrete path, which may hold ids) and status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
    live: std::sync::atomic::AtomicI64,
}

impl Metrics {
    /// Counts live (WebSocket) connections opening (+1) and closing (-1).
    pub fn live_connections(&self, change: i64) {
        self.live
            .fetch_add(change, std::sync::atomic::Ordering::Relaxed);
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let s = series
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP telemed_build_info telemed version.\n# TYPE telemed_build_info gauge"
        );
        let _ = writeln!(
            out,
            "telemed_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP telemed_live_connections Open live (WebSocket) connections on this node.\n# TYPE telemed_live_connections gauge\ntelemed_live_connections {}",
            self.live.load(std::sync::atomic::Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP telemed_http_requests_total HTTP requests by route and status.\n# TYPE telemed_http_requests_total counter");
        for ((method, route, status), s) in series.iter() {
            let _ = writeln!(out, "telemed_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}", s.count);
        }
        let _ = writeln!(out, "# HELP telemed_http_request_duration_seconds HTTP request latency.\n# TYPE telemed_http_request_duration_seconds histogram");
        let mut by_route: BTreeMap<(&str, &str), Series> = BTreeMap::new();
        for ((method, route, _), s) in series.iter() {
            let agg = by_route.entry((method, route)).or_default();
            agg.count += s.count;
            agg.sum_seconds += s.sum_seconds;
            for (a, b) in agg.buckets.iter_mut().zip(s.buckets.iter()) {
                *a += b;
            }
        }
        for ((method, route), s) in by_route {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(s.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "telemed_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "telemed_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "telemed_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "telemed_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
