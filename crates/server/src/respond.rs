//! Error bodies, written once for every failed response by `render_errors`: JSON for
//! the API, an OperationOutcome for FHIR, a page for the UI, each with the request id;
//! internal details go to the log only. What failed is the `ErrorInfo` a handler's
//! `AppError` left on the response (`crate::error`).

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, Response};

use crate::context::Ctx;
use crate::error::{ErrorBody, ErrorFields, ErrorInfo};

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

/// `response` as a file to download named `file_name`, never kept in a cache (every
/// download telemed serves holds someone's health data).
pub fn download(mut response: Response, file_name: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// PDF bytes as a download (`download`).
pub fn pdf_download(bytes: Vec<u8>, file_name: &str) -> Response {
    use axum::response::IntoResponse as _;
    let typed = ([(header::CONTENT_TYPE, "application/pdf")], bytes).into_response();
    download(typed, file_name)
}
