//! Response headers that keep browsers safe (a strict CSP with no inline scripts,
//! framing denied, no referrer leaking links with tokens, no caching of private pages),
//! and CSRF protection for every state-changing form.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::SESSION_COOKIE;
use crate::context::cookie;
use crate::crypto::{constant_time_eq, hmac_hex, random_token, token_hash};
use crate::error::ErrorInfo;
use crate::AppState;

const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // Stored files bring their own, stricter policy (`files::response`).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static(
            "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
        ),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.tls_cert.is_some() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}

pub const CSRF_COOKIE: &str = "telemed_csrf";
const CSRF_FIELD: &str = "csrf";
const CSRF_HEADER: &str = "x-csrf-token";

/// The token a page puts in its forms (`<input name="csrf">`) or htmx sends as a header.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Every form page gets a token tied to the browser (a random cookie) and to its
/// session; every POST, PUT, PATCH or DELETE to the UI must present it, in the
/// `csrf` form field or the `X-CSRF-Token` header. Checked here, before any handler.
pub async fn csrf_protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let existing = cookie(headers, CSRF_COOKIE)
        .filter(|v| v.len() >= 32 && v.len() <= 64)
        .map(str::to_owned);
    let (browser_secret, is_new) = match existing {
        Some(v) => (v, false),
        None => (random_token(""), true),
    };
    let session = cookie(headers, SESSION_COOKIE)
        .map(token_hash)
        .unwrap_or_default();
    let Ok(expected) = hmac_hex(
        &state.csrf_key,
        format!("{browser_secret}|{session}").as_bytes(),
    ) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let mut request = if safe {
        request
    } else {
        match presented_token(request, &state.config).await {
            Ok((request, Some(token)))
                if constant_time_eq(token.as_bytes(), expected.as_bytes()) =>
            {
                request
            }
            Ok(_) => return csrf_refused(),
            Err(response) => return response,
        }
    };
    request.extensions_mut().insert(CsrfToken(expected));
    let mut response = next.run(request).await;
    if is_new {
        let secure = if state.config.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let value =
            format!("{CSRF_COOKIE}={browser_secret}; Path=/; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Cross-origin access for apps that run in a browser (SMART apps on another origin):
/// the FHIR API and the OAuth endpoints apps call directly. Any origin may call them,
/// because they authenticate by the `Authorization` header alone, never by cookie, and
/// credentials are not allowed: a page elsewhere gains nothing it could not do with a
/// token it already holds. The sign-in, consent and every cookie-authenticated page
/// stay same-origin.
pub fn cors_for_apps() -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, Method};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            HeaderName::from_static("if-none-exist"),
            HeaderName::from_static("prefer"),
        ])
        .expose_headers([
            header::LOCATION,
            header::ETAG,
            header::LAST_MODIFIED,
            header::CONTENT_LOCATION,
        ])
        .max_age(std::time::Duration::from_secs(600))
}

fn csrf_refused() -> Response {
    let mut response = StatusCode::FORBIDDEN.into_response();
    response.extensions_mut().insert(ErrorInfo {
        code: "csrf",
        message: "the form expired; reload the page and try again".into(),
        field: None,
        detail: None,
    });
    response
}

/// The token from the header, or from a URL-encoded form body (read, then put back).
/// The CSRF token a request presents: the header (scripts), or the `csrf` field of a
/// urlencoded or multipart form (the body is read and put back).
async fn presented_token(
    request: Request,
    config: &crate::Config,
) -> Result<(Request, Option<String>), Response> {
    if let Some(token) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        let token = token.to_owned();
        return Ok((request, Some(token)));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let multipart = content_type.starts_with("multipart/form-data");
    if !(multipart || content_type.starts_with("application/x-www-form-urlencoded")) {
        return Ok((request, None));
    }
    let limit = if multipart {
        upload_limit(config)
    } else {
        config.max_body_bytes
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let token = if multipart {
        multipart_field(&content_type, bytes.clone(), CSRF_FIELD).await
    } else {
        form_urlencoded_field(&bytes, CSRF_FIELD)
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

/// A short text field of a buffered multipart body.
async fn multipart_field(
    content_type: &str,
    body: axum::body::Bytes,
    name: &str,
) -> Option<String> {
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .ok()?;
    let mut form =
        <axum::extract::Multipart as axum::extract::FromRequest<()>>::from_request(request, &())
            .await
            .ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok().filter(|t| t.len() <= 200);
        }
    }
    None
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The largest request that carries files: a message's worth of attachments or one
/// record document, and their form fields.
pub fn upload_limit(config: &crate::Config) -> usize {
    let files = &config.files;
    files
        .max_attachment_bytes
        .saturating_mul(crate::messaging::MAX_ATTACHMENTS)
        .max(files.max_document_bytes)
        .saturating_add(64 * 1024)
}

/// Refuses a NUL character (U+0000) in a request's address or in a JSON or form body:
/// PostgreSQL cannot store one in text and SQLite would keep it invisibly, so both
/// databases answer the same clear 400 instead of a 500 or a stored oddity. Bodies are
/// read here only on routes whose bodies are small (`max_body_bytes`); FHIR bodies are
/// checked where they are measured (`fhir::body`).
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    if nul_in_address(&request) {
        return crate::error::AppError(nul_refused("query")).into_response();
    }
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let json = kind.starts_with("application/json") || kind.contains("+json");
    let form = kind.starts_with("application/x-www-form-urlencoded");
    if !(json || form) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body limit layer below this one has already bounded what can arrive.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        // Past the body limit (a body sent without its length): what the extractor
        // would have said.
        Err(_) => return crate::error::AppError(telemed_domain::Error::TooLarge).into_response(),
    };
    let has_nul = bytes.contains(&0)
        || (json && bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")))
        || (form && bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")));
    if has_nul {
        return crate::error::AppError(nul_refused("body")).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The same for routes whose bodies may be large (uploads, FHIR): the address only.
pub async fn refuse_nul_in_address(request: Request, next: Next) -> Response {
    if nul_in_address(&request) {
        return crate::error::AppError(nul_refused("query")).into_response();
    }
    next.run(request).await
}

fn nul_in_address(request: &Request) -> bool {
    let nul_in = |s: &str| s.to_ascii_lowercase().contains("%00");
    request.uri().query().is_some_and(nul_in) || nul_in(request.uri().path())
}

fn nul_refused(field: &'static str) -> telemed_domain::Error {
    telemed_domain::Error::invalid(field, "the NUL character (U+0000) is not accepted in text")
}
