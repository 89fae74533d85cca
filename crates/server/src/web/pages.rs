//! What every page shares (`Page`: language, texts, form token, who is signed in) and
//! the pages any handler may end with: a message, an error.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use telemed_domain::files::megabytes;
use telemed_domain::{Error, Role};
use telemed_store::users::User;

use crate::context::Ctx;
use crate::error::ErrorInfo;
use crate::i18n::{args, Lang, Texts};

/// `?done=…`: what a form that went back to its page did (a notice to show).
#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    pub done: String,
}

pub struct NavUser {
    pub is_admin: bool,
    pub is_patient: bool,
    /// Clinicians and staff: the appointments calendar.
    pub has_calendar: bool,
    pub is_clinician: bool,
    pub is_staff: bool,
    /// Pharmacists: dispensing, nothing of anyone's record.
    pub is_pharmacist: bool,
}

pub struct Page {
    pub lang: Lang,
    pub t: &'static Texts,
    pub csrf: String,
    pub user: Option<NavUser>,
    /// This page's path, for the language form to come back to.
    pub path: String,
    /// Whether the page holds a live connection (signed in, or a visit's guest).
    pub live: bool,
    /// The clinic whose pages these are (name, logo, how to reach it).
    pub clinic: std::sync::Arc<crate::clinic::Clinic>,
}

impl Page {
    /// A page for `user` (their saved language wins over the browser's).
    pub fn new(ctx: &Ctx, csrf: &str, user: Option<&User>, path: &str) -> Self {
        let lang = lang_of(ctx, user);
        Page {
            lang,
            t: lang.texts(),
            csrf: csrf.to_owned(),
            live: user.is_some(),
            user: user.map(|u| NavUser {
                is_admin: u.role == Role::Admin,
                is_patient: u.role == Role::Patient,
                has_calendar: matches!(u.role, Role::Clinician | Role::Staff),
                is_clinician: u.role == Role::Clinician,
                is_staff: u.role == Role::Staff,
                is_pharmacist: u.role == Role::Pharmacist,
            }),
            path: path.to_owned(),
            clinic: ctx.clinic.clone(),
        }
    }

    pub fn is_clinician(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_clinician)
    }

    /// The languages the clinic offers (the language form's choices).
    pub fn langs(&self) -> Vec<Lang> {
        self.clinic.languages()
    }

    /// The clinic's phone number, when it has one ("" otherwise).
    pub fn clinic_phone(&self) -> &str {
        &self.clinic.settings.phone
    }

    /// The clinic's phone number as a `tel:` link dials it (digits and a leading +).
    pub fn clinic_tel(&self) -> String {
        self.clinic
            .settings
            .phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }

    pub fn kind_name(&self, kind: telemed_domain::schedule::VisitKind) -> &'static str {
        use telemed_domain::schedule::VisitKind;
        match kind {
            VisitKind::Video => self.t.kind_video,
            VisitKind::Audio => self.t.kind_audio,
            VisitKind::Messaging => self.t.kind_messaging,
        }
    }

    pub fn status_name(
        &self,
        status: telemed_store::scheduling::AppointmentStatus,
    ) -> &'static str {
        use telemed_store::scheduling::AppointmentStatus as S;
        let t = self.t;
        match status {
            S::Proposed => t.status_proposed,
            S::Booked => t.status_booked,
            S::Arrived => t.status_arrived,
            S::Fulfilled => t.status_fulfilled,
            S::Cancelled => t.status_cancelled,
            S::Noshow => t.status_noshow,
            S::EnteredInError => t.status_error,
        }
    }

    pub fn role_name(&self, role: Role) -> &'static str {
        crate::accounts::admin::role_label(role, self.lang)
    }

    /// Localised text for a validation error in a form.
    pub fn form_error(&self, e: &Error) -> String {
        let t = self.t;
        match e {
            Error::Invalid { field: "email", .. } => t.err_email.into(),
            Error::Invalid {
                field: "mobile",
                message,
            } if message.contains("not set up") => message.clone(),
            Error::Invalid {
                field: "mobile", ..
            } => t.mobile_bad_number.into(),
            Error::Invalid {
                field: "mobile_code",
                ..
            } => t.mobile_wrong_code.into(),
            Error::Invalid {
                field: "mobile_code_gone",
                ..
            } => t.mobile_code_gone.into(),
            Error::Invalid {
                field: "display_name",
                ..
            } => t.err_name.into(),
            Error::Invalid {
                field: "password",
                message,
            } if message.contains("at least") => t.err_password_short.into(),
            Error::Invalid {
                field: "password", ..
            } => t.err_password_weak.into(),
            Error::Invalid {
                field: "concept", ..
            } => t.code_chosen_differs.into(),
            Error::RateLimited { .. } => t.too_many_attempts.into(),
            Error::TooLarge => t.err_too_large.into(),
            Error::QuotaExceeded { used, quota, .. } => t.err_quota(args::ErrQuota {
                used: megabytes(*used).into(),
                quota: megabytes(*quota).into(),
            }),
            Error::UnsupportedMediaType(_) => t.err_file_type.into(),
            Error::Internal(_) => t.err_internal.into(),
            other => other.to_string(),
        }
    }
}

/// The language a page speaks: the signed-in user's own choice, else the browser's.
/// A language the clinic no longer offers gives way to the request's.
pub fn lang_of(ctx: &Ctx, user: Option<&User>) -> Lang {
    user.and_then(|u| Lang::from_code(&u.locale))
        .filter(|l| ctx.clinic.offers_language(*l))
        .unwrap_or(ctx.lang)
}

/// A moment as shown in tables: UTC, to the minute.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
}

/// Renders with a status (e.g. 400 for a form with errors); the body is kept as is.
pub fn render_with(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => crate::error::AppError(Error::internal(format!("template: {e}"))).into_response(),
    }
}

/// A page with a form, shown as asked (200) or again after `error` refused what was
/// sent (with that refusal's status, as `render_refusal`).
pub fn render_form(error: Option<&Error>, template: &impl Template) -> Response {
    match error {
        Some(e) => render_refusal(e, template),
        None => render(template),
    }
}

/// A form page shown again after `e` refused what was sent: 400 for what was written,
/// 429 with `Retry-After` for a rate limit, and so on as the API answers.
pub fn render_refusal(e: &Error, template: &impl Template) -> Response {
    let mut response = render_with(crate::error::status_of(e), template);
    crate::error::add_retry_after(e, &mut response);
    response
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub page: &'a Page,
    pub title: &'a str,
    pub message: &'a str,
    pub good: bool,
    pub link: Option<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: &'a Page,
    message: &'a str,
    request_id: &'a str,
}

/// The HTML page for an error response, in the request's language.
pub fn error_page(ctx: &Ctx, status: StatusCode, info: &ErrorInfo) -> String {
    let page = Page::new(ctx, "", None, "/");
    let t = page.t;
    let message = match info.code {
        "not_found" => t.err_not_found,
        "forbidden" | "unauthenticated" => t.err_forbidden,
        "csrf" => t.err_session_form,
        "too_large" | "quota_exceeded" => t.err_too_large,
        "rate_limited" => t.too_many_attempts,
        _ if status.is_server_error() => t.err_internal,
        _ => t.err_invalid,
    };
    ErrorPage {
        page: &page,
        message,
        request_id: &ctx.request_id,
    }
    .render()
    .unwrap_or_else(|_| format!("{message} ({})", ctx.request_id))
}
