//! The one mapping from the domain error to HTTP. A handler returns `AppError`; its
//! response carries an `ErrorInfo` and no body yet. The `respond::render_errors`
//! middleware then writes the body once, in the form the client asked for (JSON for the
//! API, an OperationOutcome for FHIR, a page for the UI) with the request id, and logs
//! internal details that clients never see.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use telemed_domain::Error;

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
        Error::TooLarge | Error::QuotaExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `Retry-After` on a response refused for a rate limit or an outage, from the error.
pub fn add_retry_after(e: &Error, response: &mut Response) {
    if let Error::RateLimited { retry_after_secs }
    | Error::Unavailable {
        retry_after_secs, ..
    } = e
    {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
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
        add_retry_after(&self.0, &mut response);
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
