//! The one mapping from the domain error to HTTP. A handler returns `AppError`; its
//! response carries an `ErrorInfo` and no body yet. The `render_errors` middleware then
//! writes the body once, in the form the client asked for (JSON for the API, a page for
//! the UI) with the request id, and logs internal details that clients never see.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use telemed_domain::Error;

use crate::context::Ctx;

#[derive(Debug)]
pub struct AppError(pub Error);

pub type AppResult<T> = Result<T, AppError>;

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError(e)
    }
}

/// What the renderer needs to know of a failed response.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
    /// The input the error is about (a form field, a search parameter, a FHIR element).
    pub field: Option<String>,
    /// For the logs only.
    pub detail: Option<String>,
}

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Invalid { .. } => StatusCode::BAD_REQUEST,
        Error::Unauthenticated => StatusCode::UNAUTHORIZED,
        Error::Forbidden => StatusCode::FORBIDDEN,
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let detail = match &self.0 {
            Error::Internal(d) => Some(d.clone()),
            _ => None,
        };
        let mut response = status.into_response();
        if let Error::RateLimited { retry_after_secs } = self.0 {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if matches!(self.0, Error::Unauthenticated) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let field = match &self.0 {
            Error::Invalid { field, .. } | Error::Unprocessable { field, .. } => {
                Some(field.to_string())
            }
            _ => None,
        };
        response.extensions_mut().insert(ErrorInfo {
            code: self.0.code(),
            message: self.0.to_string(),
            field,
            detail,
        });
        response
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorFields,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorFields {
    /// Stable machine-readable code, e.g. `invalid`, `not_found`, `rate_limited`.
    pub code: String,
    /// A message safe to show a person.
    pub message: String,
    /// Quote this when reporting a problem; the server logs carry the detail.
    pub request_id: String,
}

/// Gives every error response its body, also those made by the framework (unknown
/// route, wrong method, body over the limit).
pub async fn render_errors(ctx: Ctx, request: Request, next: Next) -> Response {
    let is_fhir = request.uri().path().starts_with("/fhir/");
    let wants_json = request.uri().path().starts_with("/api/")
        || !request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let info = response.extensions().get::<ErrorInfo>().cloned();
    let has_body = info.is_none()
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct != "text/plain; charset=utf-8");
    if has_body {
        return response;
    }
    let info = info.unwrap_or_else(|| framework_error(status));
    if let Some(detail) = &info.detail {
        tracing::error!(request_id = %ctx.request_id, detail = %detail, "request failed");
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if is_fhir {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(telemed_fhir::FHIR_JSON),
        );
        let outcome = telemed_fhir::outcome::error(
            info.code,
            &info.message,
            info.field.as_deref(),
            &ctx.request_id,
        );
        axum::body::Body::from(serde_json::to_vec(&outcome).unwrap_or_default())
    } else if wants_json {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let body = ErrorBody {
            error: ErrorFields {
                code: info.code.to_owned(),
                message: info.message,
                request_id: ctx.request_id.clone(),
            },
        };
        axum::body::Body::from(serde_json::to_vec(&body).unwrap_or_default())
    } else {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let page = crate::web::pages::error_page(&ctx, status, &info);
        axum::body::Body::from(Html(page).0)
    };
    Response::from_parts(parts, body)
}

fn framework_error(status: StatusCode) -> ErrorInfo {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this method is not allowed here"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "this content type is not supported here",
        ),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            ("invalid", "the request is not valid")
        }
        StatusCode::UNAUTHORIZED => ("unauthenticated", "authentication required"),
        StatusCode::FORBIDDEN => ("forbidden", "you are not allowed to do this"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("error", "the request failed"),
    };
    ErrorInfo {
        code,
        message: message.to_owned(),
        field: None,
        detail: None,
    }
}
