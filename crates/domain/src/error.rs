//! The one domain error. Each variant maps once to an HTTP status in the server; the
//! message of every variant but `Internal` is safe to show a client.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that fails validation. `field` names the offending input.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("authentication required")]
    Unauthenticated,
    /// The principal is known but may not do this. For patient data the access policy
    /// answers `NotFound` instead, so a refusal does not confirm that a record exists.
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// Well-formed input that cannot be processed as given: a FHIR resource that does
    /// not fit telemed's record (HTTP 422).
    #[error("{message}")]
    Unprocessable {
        field: &'static str,
        message: String,
    },
    /// A precondition of the request (If-Match, If-None-Exist) does not hold (HTTP 412).
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("too many attempts; try again later")]
    RateLimited { retry_after_secs: u64 },
    #[error("the request body is too large")]
    TooLarge,
    /// The upload does not fit in what the person may store (HTTP 413). Sizes in bytes.
    #[error("{}", quota_message(*used, *incoming, *quota))]
    QuotaExceeded {
        used: u64,
        incoming: u64,
        quota: u64,
    },
    /// telemed cannot do this now (its database is unreachable, or it is at its limit
    /// for work of this kind); the same request may succeed after `retry_after_secs`
    /// (HTTP 503 with Retry-After).
    #[error("{message}")]
    Unavailable {
        retry_after_secs: u64,
        message: String,
    },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The client accepts no format telemed can answer in (HTTP 406).
    #[error("{0}")]
    NotAcceptable(String),
    /// Detail for the logs only; clients see a generic message and the request id.
    #[error("internal error")]
    Internal(String),
}

/// What a refused upload tells its sender: how much they store, and what to do.
fn quota_message(used: u64, incoming: u64, quota: u64) -> String {
    let mb = crate::files::megabytes;
    format!(
        "this {} MB upload does not fit: your files take {} MB of the {} MB you may store; \
         delete unsent uploads or ask the clinic for more room",
        mb(incoming),
        mb(used),
        mb(quota)
    )
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn unprocessable(field: &'static str, message: impl Into<String>) -> Self {
        Error::Unprocessable {
            field,
            message: message.into(),
        }
    }

    /// Validation of content (not of the request's form) as unprocessable: what a FHIR
    /// write answers when a resource does not fit.
    pub fn as_unprocessable(self) -> Self {
        match self {
            Error::Invalid { field, message } => Error::Unprocessable { field, message },
            other => other,
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::Internal(detail.to_string())
    }

    /// A stable machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden => "forbidden",
            Error::NotFound => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Unprocessable { .. } => "unprocessable",
            Error::PreconditionFailed(_) => "precondition_failed",
            Error::RateLimited { .. } => "rate_limited",
            Error::TooLarge => "too_large",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::Unavailable { .. } => "unavailable",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::NotAcceptable(_) => "not_acceptable",
            Error::Internal(_) => "internal",
        }
    }
}
