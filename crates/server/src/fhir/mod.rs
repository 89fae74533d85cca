//! The FHIR R4 API under `/fhir/R4` (see ARCHITECTURE.md, "FHIR R4 API"): the mapping,
//! search parsing and scopes live in `telemed-fhir`; this module authenticates, asks the
//! record's policy (audited like the UI) and runs the store's queries.

mod caller;
mod read;
mod search;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::Value;
use telemed_domain::{Error, Result};
use telemed_fhir::ResourceType;

pub use caller::FhirCaller;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/{type}", get(search::by_get))
        .route("/{type}/_search", post(search::by_post))
        .route("/{type}/{id}", get(read::read))
}

/// A FHIR JSON response, with the version as a weak ETag and the last change.
pub struct FhirJson {
    pub status: StatusCode,
    pub body: Value,
    pub version: Option<i64>,
    pub last_modified: Option<DateTime<Utc>>,
}

impl FhirJson {
    pub fn ok(body: Value) -> FhirJson {
        FhirJson {
            status: StatusCode::OK,
            body,
            version: None,
            last_modified: None,
        }
    }
}

impl IntoResponse for FhirJson {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(telemed_fhir::FHIR_JSON),
        );
        if let Some(v) = self
            .version
            .and_then(|v| HeaderValue::from_str(&format!("W/\"{v}\"")).ok())
        {
            headers.insert(header::ETAG, v);
        }
        if let Some(t) = self.last_modified.and_then(|t| {
            HeaderValue::from_str(&t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()
        }) {
            headers.insert(header::LAST_MODIFIED, t);
        }
        response
    }
}

/// A resource type telemed serves, from the path.
fn resource_type(s: &str) -> Result<ResourceType> {
    ResourceType::parse(s).ok_or(Error::NotFound)
}

/// The base every reference and link is relative to.
fn base_url(state: &AppState) -> String {
    format!("{}/fhir/R4", state.config.public_url.trim_end_matches('/'))
}

/// `GET /metadata`: open to anyone, as FHIR expects.
async fn metadata(axum::extract::State(state): axum::extract::State<AppState>) -> FhirJson {
    FhirJson::ok(telemed_fhir::capability::statement(
        &base_url(&state),
        env!("CARGO_PKG_VERSION"),
        "2026-11-22",
    ))
}
