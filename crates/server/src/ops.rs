//! Operational endpoints: liveness, readiness, Prometheus metrics, and the static
//! assets embedded in the binary.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/assets/{file}", get(asset))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers too.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready", body = String),
    (status = 503, description = "the database does not answer", body = String)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.store.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"error\":{\"code\":\"not_ready\",\"message\":\"the database does not answer\"}}",
        )
            .into_response()
    }
}

/// Prometheus metrics: for the bearer of `metrics_token`, or without one for this
/// machine connecting directly (a request that came through a proxy says so in its
/// forwarding headers and is refused: a proxy on this machine would otherwise open it
/// to everyone).
async fn metrics(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let headers = request.headers();
    let allowed = match &state.config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| {
                crate::crypto::constant_time_eq(given.as_bytes(), token.as_bytes())
            }),
        None => {
            let direct =
                !headers.contains_key("x-forwarded-for") && !headers.contains_key("forwarded");
            let local = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .is_some_and(|c| c.0.ip().is_loopback());
            direct && local
        }
    };
    if !allowed {
        return crate::error::AppError(telemed_domain::Error::Forbidden).into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "telemed.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/telemed.css"),
    },
    Asset {
        name: "telemed.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/telemed.js"),
    },
    Asset {
        name: "room.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/room.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/htmx.min.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/favicon.svg"),
    },
];

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
