//! The FHIR R4 API under `/fhir/R4` (see ARCHITECTURE.md, "FHIR R4 API"): the mapping,
//! search parsing and scopes live in `telemed-fhir`; this module authenticates, asks the
//! record's policy (audited like the UI) and runs the store's queries.

pub mod body;
mod bulk;
mod caller;
pub mod caller_cache;
mod communications;
mod consents;
mod found;
mod prescriptions;
mod read;
mod scheduling;
mod search;
mod transaction;
mod write;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::Value;
use telemed_domain::{Error, Result};
use telemed_fhir::ResourceType;
use tower_http::limit::RequestBodyLimitLayer;

pub use bulk::{fail_stalled_exports, watch_stalled_exports};
pub use caller::FhirCaller;

use crate::config::FhirConfig;
use crate::AppState;

/// The FHIR API under its base. Each route reads at most the body it needs: a bundle
/// at the base, one resource elsewhere (`[fhir]` in the configuration).
pub fn router(limits: &FhirConfig) -> Router<AppState> {
    // The declared length is refused before anything is read; a body without one is
    // cut off at the limit.
    let resource = (
        DefaultBodyLimit::max(limits.max_resource_bytes),
        RequestBodyLimitLayer::new(limits.max_resource_bytes),
    );
    Router::new()
        .route("/", base_with_slash(limits))
        .route("/metadata", get(metadata))
        .route("/.well-known/smart-configuration", get(smart_configuration))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/{type}",
            get(search::by_get).post(write::create).layer(resource),
        )
        .route("/{type}/_search", post(search::by_post).layer(resource))
        .route(
            "/{type}/{id}",
            get(read::read).put(write::update).layer(resource),
        )
        .route("/{type}/{id}/_history", get(read::history))
        .route("/{type}/{id}/_history/{vid}", get(read::vread))
        .route("/Patient/{id}/$everything", get(read::everything))
        .route("/Binary/{id}", get(read::binary))
        .route("/Patient/$export", get(bulk::patients))
        .route("/Group/{id}/$export", get(bulk::group))
        .route(
            "/$export-status/{id}",
            get(bulk::status).delete(bulk::cancel),
        )
        .route("/$export-file/{id}/{seq}", get(bulk::file))
        .fallback(elsewhere)
}

/// The formats a FHIR answer can be asked for in (`Accept`, `_format`): JSON only.
const JSON_FORMATS: [&str; 6] = [
    "application/fhir+json",
    "application/json",
    "application/json+fhir",
    "json",
    "application/*",
    "*/*",
];

/// A request whose `Accept` or `_format` admits no JSON is answered 406 (R4: a server
/// SHALL say so rather than answer in another format). Checked by `FhirCaller`, which
/// every FHIR handler takes, and by the discovery endpoints; a Binary is served as its
/// own file and an export file as NDJSON: they negotiate nothing.
pub(crate) fn negotiate(headers: &HeaderMap, uri: &axum::http::Uri) -> Result<()> {
    let path = uri.path();
    if path.contains("/Binary/") || path.contains("/$export-file/") {
        return Ok(());
    }
    let json = |media: &str| {
        let media = media.split(';').next().unwrap_or_default().trim();
        JSON_FORMATS.iter().any(|f| f.eq_ignore_ascii_case(media))
    };
    let accepted = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|a| a.trim().is_empty() || a.split(',').any(json));
    // `_format` is looked for only when the query names it.
    let formatted = match uri.query().filter(|q| q.contains("_format")) {
        None => true,
        Some(q) => serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .unwrap_or_default()
            .iter()
            .filter(|(k, _)| k == "_format")
            .all(|(_, v)| json(v)),
    };
    if accepted && formatted {
        Ok(())
    } else {
        Err(Error::NotAcceptable(
            "telemed serves FHIR as JSON only (application/fhir+json)".into(),
        ))
    }
}

/// What no route takes under the base: a FHIR 404 (OperationOutcome), not the web
/// pages' answer.
async fn elsewhere() -> crate::error::AppError {
    Error::NotFound.into()
}

/// `POST` to the base written with a slash (`/fhir/R4/`, as some clients write it): a
/// bundle, as at the base. Routed beside the nest, which does not see that path.
pub fn base_with_slash(limits: &FhirConfig) -> axum::routing::MethodRouter<AppState> {
    post(transaction::process).layer((
        DefaultBodyLimit::max(limits.max_bundle_bytes),
        RequestBodyLimitLayer::new(limits.max_bundle_bytes),
    ))
}

/// A FHIR response's body: built as JSON, or already written out (the read of one
/// entry kept as its sender wrote it: telemed's id and meta spliced into the kept text,
/// without parsing it and writing it out again).
pub enum Body {
    Json(Value),
    Written(String),
}

impl Body {
    /// The body as JSON (for a bundle's entry); a written one is parsed.
    pub fn into_value(self) -> Value {
        match self {
            Body::Json(v) => v,
            Body::Written(text) => serde_json::from_str(&text).unwrap_or_default(),
        }
    }
}

/// A FHIR JSON response, with the version as a weak ETag and the last change.
pub struct FhirJson {
    pub status: StatusCode,
    pub body: Body,
    pub version: Option<i64>,
    pub last_modified: Option<DateTime<Utc>>,
    /// The new resource's address (201 Created).
    pub location: Option<String>,
}

impl FhirJson {
    /// 200 with a body already written out.
    pub fn written(text: String) -> FhirJson {
        FhirJson {
            body: Body::Written(text),
            ..FhirJson::ok(Value::Null)
        }
    }

    pub fn ok(body: Value) -> FhirJson {
        FhirJson {
            status: StatusCode::OK,
            body: Body::Json(body),
            version: None,
            last_modified: None,
            location: None,
        }
    }
}

impl IntoResponse for FhirJson {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Body::Json(v) => (self.status, Json(v)).into_response(),
            Body::Written(text) => (self.status, text).into_response(),
        };
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
        if let Some(l) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, l);
        }
        response
    }
}

/// A resource type telemed serves, from the path.
fn resource_type(s: &str) -> Result<ResourceType> {
    ResourceType::parse(s).ok_or(Error::NotFound)
}

/// The base every reference and link is relative to.
pub(crate) fn base_url(state: &AppState) -> String {
    state.config.fhir_base_url()
}

/// `GET /metadata`: open to anyone, as FHIR expects.
async fn metadata(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> crate::error::AppResult<FhirJson> {
    negotiate(&headers, &uri)?;
    Ok(FhirJson::ok(telemed_fhir::capability::statement(
        &base_url(&state),
        env!("CARGO_PKG_VERSION"),
        "2026-11-30",
    )))
}

/// `GET /.well-known/openid-configuration`: OpenID Connect discovery for the issuer of
/// id_tokens (this FHIR base).
async fn openid_configuration(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Json<Value> {
    let site = state.config.public_url.trim_end_matches('/');
    Json(serde_json::json!({
        "issuer": base_url(&state),
        "authorization_endpoint": format!("{site}/oauth/authorize"),
        "token_endpoint": format!("{site}/oauth/token"),
        "jwks_uri": format!("{site}/oauth/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "fhirUser"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

/// `GET /.well-known/smart-configuration` (SMART App Launch 2.0): where to authorize and
/// what is supported.
async fn smart_configuration(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Json<Value> {
    let site = state.config.public_url.trim_end_matches('/');
    Json(serde_json::json!({
        "issuer": base_url(&state),
        "authorization_endpoint": format!("{site}/oauth/authorize"),
        "token_endpoint": format!("{site}/oauth/token"),
        "revocation_endpoint": format!("{site}/oauth/revoke"),
        "jwks_uri": format!("{site}/oauth/jwks"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": crate::oauth::grantable(),
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "context-standalone-patient",
            "permission-offline",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
            "sso-openid-connect"
        ],
    }))
}
