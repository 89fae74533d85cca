//! The JSON API under `/api/v1`. Every handler takes `ApiUser` (a bearer token), so none
//! can run unauthenticated; bodies and queries go through `ApiJson` / `ApiQuery`, so a
//! malformed one is a clear 4xx in the one error format.

mod audit;
mod clinic;
mod documents;
mod export;
mod invitations;
mod me;
mod messaging;
mod mobile;
mod notifications;
mod on_demand;
mod patients;
mod pharmacies;
mod prescribing;
mod proxies;
mod record;
mod scheduling;
mod terminology;
mod tokens;
mod users;
mod waiting_room;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{delete, get};
use axum::Router;
use serde::de::DeserializeOwned;
use telemed_domain::Error;

use crate::error::AppError;
use crate::AppState;

pub use audit::{describe_break, AuditPage, AuditQuery};
pub use documents::read_upload;
pub use export::export_response;
pub use invitations::{invitation_status, InvitationView, NewInvitationBody};
pub use me::Me;
pub use messaging::recipient;
pub use patients::{AccessLogEntry, PatientView};
pub use tokens::{CreatedToken, NewTokenBody, TokenView};
pub use users::{UserPatch, UserView};

/// Endpoints that take files; they get the larger upload body limit.
pub fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/attachments", axum::routing::post(messaging::upload))
        .route(
            "/patients/{id}/record/documents",
            get(documents::list).post(documents::upload),
        )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me::me))
        .route(
            "/me/mobile",
            get(mobile::get).post(mobile::add).delete(mobile::remove),
        )
        .route("/me/mobile/confirm", axum::routing::post(mobile::confirm))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/users", get(users::list))
        .route("/storage", get(users::storage))
        .route("/users/{id}", get(users::get).patch(users::patch))
        .route(
            "/invitations",
            get(invitations::list).post(invitations::create),
        )
        .route("/invitations/{id}", delete(invitations::revoke))
        .route("/patients/{id}", get(patients::get))
        .route("/patients/{id}/access-log", get(patients::access_log))
        .route("/patients/{id}/record", get(record::summary))
        .route("/medications", get(prescribing::search))
        .route("/terminology", get(terminology::search))
        .route(
            "/patients/{id}/prescriptions/check",
            axum::routing::post(prescribing::check),
        )
        .route(
            "/patients/{id}/prescriptions",
            get(prescribing::list).post(prescribing::sign),
        )
        .route(
            "/prescriptions/{id}/cancel",
            axum::routing::post(prescribing::cancel),
        )
        .route(
            "/prescriptions/{id}/discontinue",
            axum::routing::post(prescribing::discontinue),
        )
        .route("/prescriptions/{id}/pdf", get(prescribing::pdf))
        .route(
            "/prescriptions/{id}/renewal-requests",
            axum::routing::post(prescribing::request_renewal),
        )
        .route(
            "/patients/{id}/renewal-requests",
            get(prescribing::renewals_of),
        )
        .route("/renewal-requests", get(prescribing::renewal_queue))
        .route(
            "/renewal-requests/{id}/deny",
            axum::routing::post(prescribing::deny_renewal),
        )
        .route(
            "/renewal-requests/{id}/ask-for-visit",
            axum::routing::post(prescribing::ask_for_visit),
        )
        .route("/clinic", get(clinic::get).patch(clinic::patch))
        .route(
            "/on-demand",
            get(on_demand::get)
                .post(on_demand::join)
                .delete(on_demand::withdraw),
        )
        .route("/on-demand/queue", get(on_demand::queue))
        .route("/on-demand/take", axum::routing::post(on_demand::take))
        .route(
            "/patients/{id}/start-now",
            axum::routing::post(on_demand::start_now),
        )
        .route(
            "/pharmacies",
            get(pharmacies::list).post(pharmacies::create),
        )
        .route("/pharmacies/{id}", axum::routing::put(pharmacies::update))
        .route(
            "/patients/{id}/pharmacy",
            get(pharmacies::preferred).put(pharmacies::set_preferred),
        )
        .route(
            "/pharmacies/{id}/members",
            axum::routing::post(pharmacies::add_member),
        )
        .route(
            "/dispensing/lookup",
            axum::routing::post(pharmacies::lookup),
        )
        .route(
            "/dispensing/dispenses",
            axum::routing::post(pharmacies::dispense),
        )
        .route("/patients/{id}/record/export", get(export::export))
        .route(
            "/patients/{id}/record/demographics",
            get(record::demographics).put(record::save_demographics),
        )
        .route(
            "/patients/{id}/record/{section}",
            get(record::entries).post(record::add_entry),
        )
        .route(
            "/patients/{id}/record/{section}/{entry}/status",
            axum::routing::post(record::change_status),
        )
        .route(
            "/patients/{id}/notes",
            get(record::notes).post(record::start_note),
        )
        .route("/notes/{id}", get(record::note).put(record::save_draft))
        .route("/documents/{id}", get(documents::get))
        .route("/documents/{id}/file", get(documents::file))
        .route("/documents/{id}/thumbnail", get(documents::thumbnail))
        .route("/documents/{id}/preview", get(documents::preview))
        .route(
            "/documents/{id}/status",
            axum::routing::post(documents::change_status),
        )
        .route("/notes/{id}/sign", axum::routing::post(record::sign))
        .route(
            "/notes/{id}/addenda",
            axum::routing::post(record::add_addendum),
        )
        .route(
            "/patients/{id}/break-glass",
            axum::routing::post(record::break_glass),
        )
        .route(
            "/patients/{id}/care-team",
            axum::routing::post(record::add_to_care_team),
        )
        .route(
            "/patients/{id}/proxies",
            get(proxies::list).post(proxies::invite),
        )
        .route("/patients/{id}/proxies/{proxy}", delete(proxies::remove))
        .route("/proxy-invitations", get(proxies::mine))
        .route(
            "/proxy-invitations/{id}/accept",
            axum::routing::post(proxies::accept),
        )
        .route(
            "/proxy-invitations/{id}/decline",
            axum::routing::post(proxies::decline),
        )
        .route("/audit", get(audit::search))
        .route("/audit/verify", get(audit::verify))
        .route("/clinicians", get(scheduling::find_clinicians))
        .route(
            "/clinicians/{id}/schedule",
            get(scheduling::get_schedule).put(scheduling::put_schedule),
        )
        .route("/clinicians/{id}/slots", get(scheduling::slots))
        .route(
            "/appointments",
            get(scheduling::list).post(scheduling::book),
        )
        .route("/appointments/{id}", get(scheduling::get))
        .route(
            "/appointments/{id}/cancel",
            axum::routing::post(scheduling::cancel),
        )
        .route(
            "/appointments/{id}/reschedule",
            axum::routing::post(waiting_room::reschedule),
        )
        .route(
            "/appointments/{id}/check-in",
            axum::routing::post(waiting_room::check_in),
        )
        .route(
            "/appointments/{id}/undo-noshow",
            axum::routing::post(waiting_room::undo_noshow),
        )
        .route(
            "/appointments/{id}/complete",
            axum::routing::post(waiting_room::complete),
        )
        .route("/waiting-room", get(waiting_room::queue))
        .route("/attachments/{id}", get(messaging::attachment))
        .route("/threads", get(messaging::inbox).post(messaging::start))
        .route(
            "/threads/{id}/messages",
            get(messaging::messages).post(messaging::send),
        )
        .route(
            "/threads/{id}/read",
            axum::routing::post(messaging::mark_read),
        )
        .route("/threads/{id}/receipts", get(messaging::receipts))
        .route(
            "/threads/{id}/archive",
            axum::routing::post(messaging::archive),
        )
        .route("/threads/{id}/route", axum::routing::post(messaging::route))
        .route(
            "/notification-preferences",
            get(notifications::preferences).put(notifications::set_preferences),
        )
        .route("/notifications", get(notifications::list))
        .route(
            "/notifications/read",
            axum::routing::post(notifications::mark_read),
        )
}

/// The OpenAPI 3.1 document, generated from the handlers and types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "telemed API", description = "The telemed JSON API. Authenticate with a personal access token: `Authorization: Bearer tm_pat_...`."),
    paths(
        me::me, tokens::list, tokens::create, tokens::revoke, users::list, users::storage, users::get, users::patch,
        invitations::list, invitations::create, invitations::revoke, patients::get, patients::access_log,
        audit::search, audit::verify, scheduling::find_clinicians, scheduling::get_schedule, scheduling::put_schedule,
        scheduling::slots, scheduling::book, scheduling::list, scheduling::get, scheduling::cancel,
        waiting_room::reschedule, waiting_room::check_in, waiting_room::undo_noshow, waiting_room::complete, waiting_room::queue,
        notifications::list, notifications::mark_read, notifications::preferences, notifications::set_preferences,
        mobile::get, mobile::add, mobile::confirm, mobile::remove,
        messaging::inbox, messaging::start, messaging::messages, messaging::send, messaging::mark_read,
        messaging::receipts, messaging::archive, messaging::route, messaging::upload, messaging::attachment,
        record::summary, record::demographics, record::save_demographics, record::entries, record::add_entry,
        record::change_status, record::notes, record::start_note, record::note, record::save_draft, record::sign,
        record::add_addendum, record::break_glass, record::add_to_care_team,
        proxies::invite, proxies::list, proxies::remove, proxies::mine, proxies::accept, proxies::decline,
        documents::upload, documents::list, documents::get, documents::file, documents::thumbnail, documents::preview,
        documents::change_status, export::export, prescribing::search, terminology::search, prescribing::check, prescribing::sign, prescribing::list, prescribing::cancel, prescribing::discontinue, prescribing::pdf,
        prescribing::request_renewal, prescribing::renewals_of, prescribing::renewal_queue, prescribing::deny_renewal, prescribing::ask_for_visit,
        clinic::get, clinic::patch, on_demand::get, on_demand::join, on_demand::withdraw, on_demand::queue, on_demand::take, on_demand::start_now,
        pharmacies::list, pharmacies::create, pharmacies::update, pharmacies::add_member, pharmacies::lookup, pharmacies::dispense, pharmacies::preferred, pharmacies::set_preferred,
        crate::ops::healthz, crate::ops::readyz,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorFields)),
    modifiers(&BearerAuth),
    tags((name = "account"), (name = "admin"), (name = "patients"), (name = "record"), (name = "audit"), (name = "scheduling"), (name = "messaging"), (name = "prescribing"), (name = "operations"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal access token"))
                    .build(),
            ),
        );
    }
}

/// A JSON body whose rejection is one of our errors: malformed JSON or a wrong shape is
/// 400, a missing `Content-Type: application/json` 415, too large 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(AppError(match rejection {
                JsonRejection::JsonDataError(e) => {
                    Error::invalid("body", for_people(&e.body_text()))
                }
                JsonRejection::JsonSyntaxError(_) => {
                    Error::invalid("body", "the body is not valid JSON")
                }
                JsonRejection::MissingJsonContentType(_) => Error::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ),
                JsonRejection::BytesRejection(_) => Error::TooLarge,
                _ => Error::invalid("body", "the body could not be read"),
            })),
        }
    }
}

/// Query parameters whose rejection is a 400 in our format.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                AppError(Error::invalid("query", for_people(&e.body_text())))
            })
    }
}

/// A deserializer's complaint as a person reads it: without the library's preamble
/// ("Failed to deserialize …:") and the parser's position, Rust type names and
/// backticks; `field: unknown variant `x`, expected one of `a`, `b`` becomes
/// "field: 'x' is not one of 'a', 'b'".
fn for_people(text: &str) -> String {
    let text = match text.split_once(": ") {
        Some((preamble, rest)) if preamble.starts_with("Failed to deserialize") => rest,
        _ => text,
    };
    let text = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text,
    };
    let (at, what) = match text.split_once(": ") {
        Some((path, what)) if !path.contains(' ') => (Some(path), what),
        _ => (None, text),
    };
    let what = what.replace('`', "'");
    let what = if let Some(rest) = what.strip_prefix("missing field ") {
        format!("{rest} is required")
    } else if let Some(rest) = what.strip_prefix("unknown field ") {
        let name = rest.split(',').next().unwrap_or(rest);
        format!("{name} is not a field of this request")
    } else if let Some(rest) = what.strip_prefix("unknown variant ") {
        match rest.split_once(", expected ") {
            Some((value, expected)) => {
                format!("{value} is not {}", expected.trim_start_matches("one of "))
            }
            None => format!("{rest} is not an allowed value"),
        }
    } else if let Some(rest) = what.strip_prefix("invalid type: ") {
        match rest.split_once(", expected ") {
            Some((got, expected)) => format!("expected {expected}, got {got}"),
            None => format!("a value has the wrong type ({rest})"),
        }
    } else if let Some(rest) = what.strip_prefix("invalid value: ") {
        match rest.split_once(", expected ") {
            Some((got, expected)) => format!("expected {expected}, got {got}"),
            None => format!("a value is not allowed ({rest})"),
        }
    } else {
        what
    };
    match at {
        Some(path) => format!("{path}: {what}"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::for_people;

    #[test]
    fn deserializer_complaints_are_written_for_people() {
        let cases = [
            (
                "Failed to deserialize the JSON body into the target type: missing field `visit_kind` at line 1 column 2",
                "'visit_kind' is required",
            ),
            (
                "Failed to deserialize the JSON body into the target type: visit_kind: unknown variant `vid`, expected one of `video`, `audio`, `messaging` at line 1 column 20",
                "visit_kind: 'vid' is not 'video', 'audio', 'messaging'",
            ),
            (
                "Failed to deserialize the JSON body into the target type: unknown field `colour`, expected `name` or `scopes` at line 1 column 9",
                "'colour' is not a field of this request",
            ),
            (
                "Failed to deserialize query string: from: input contains invalid characters",
                "from: input contains invalid characters",
            ),
            (
                "Failed to deserialize the JSON body into the target type: limit: invalid type: string \"x\", expected u32 at line 1 column 12",
                "limit: expected u32, got string \"x\"",
            ),
        ];
        for (serde, person) in cases {
            assert_eq!(for_people(serde), person);
        }
    }
}
