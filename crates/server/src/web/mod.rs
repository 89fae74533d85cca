//! The server-rendered UI: askama templates (auto-escaped), htmx, no inline scripts.
//! Every route sits behind the CSRF check; private pages take a session extractor.

mod access_log;
mod account;
mod admin;
mod booking;
mod calendar_grid;
mod chart;
mod clinic;
mod day;
#[cfg(test)]
mod design;
mod menu;
mod messages;
mod notes;
mod notifications;
pub mod oauth;
mod on_demand;
pub mod pages;
mod pharmacies;
mod prescriptions;
mod proxies;
mod room;
mod rx_pad;
mod schedule_editor;
mod signin;
pub mod terminology;
mod visits;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::context::{Ctx, LANG_COOKIE};
use crate::i18n::Lang;
use crate::security::CsrfToken;
use crate::AppState;

/// Form posts that carry files; they get the larger upload body limit.
pub fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/messages/new", post(messages::create))
        .route("/messages/{id}", post(messages::send))
        .route("/patients/{id}/documents", post(chart::upload))
}

/// Release files an admin imports (code systems): larger than any other upload.
pub fn release_router() -> Router<AppState> {
    Router::new().route("/admin/terminology", post(terminology::start_import))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(account::home))
        .route("/login", get(signin::login_form).post(signin::login))
        .route("/login/mfa", get(signin::mfa_form).post(signin::mfa))
        .route(
            "/login/code",
            get(signin::code_form).post(signin::send_code),
        )
        .route("/login/code/verify", post(signin::verify_code))
        .route("/logout", post(signin::logout))
        .route(
            "/register",
            get(signin::register_form).post(signin::register),
        )
        .route(
            "/verify-email",
            get(signin::verify_form).post(signin::verify),
        )
        .route(
            "/password/forgot",
            get(signin::forgot_form).post(signin::forgot),
        )
        .route(
            "/password/reset",
            get(signin::reset_form).post(signin::reset),
        )
        .route(
            "/invite",
            get(signin::invite_form).post(signin::accept_invite),
        )
        .route("/language", post(set_language))
        .route("/ws", get(crate::realtime::ws::connect))
        .route("/account", get(account::account))
        .route(
            "/account/mfa",
            get(account::mfa_setup).post(account::mfa_confirm),
        )
        .route("/account/mfa/disable", post(account::mfa_disable))
        .route("/account/sessions", get(account::sessions))
        .route("/account/proxies", get(proxies::show).post(proxies::invite))
        .route("/account/proxies/{id}/remove", post(proxies::remove))
        .route(
            "/patients/{id}/proxies",
            get(proxies::show_for_patient).post(proxies::invite_for_patient),
        )
        .route(
            "/patients/{id}/proxies/{proxy}/remove",
            post(proxies::remove_for_patient),
        )
        .route(
            "/account/proxy-invitations/{id}/accept",
            post(proxies::accept),
        )
        .route(
            "/account/proxy-invitations/{id}/decline",
            post(proxies::decline),
        )
        .route(
            "/account/sessions/revoke-all",
            post(account::revoke_all_sessions),
        )
        .route(
            "/account/sessions/{id}/revoke",
            post(account::revoke_session),
        )
        .route(
            "/account/tokens",
            get(account::tokens).post(account::create_token),
        )
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/account/apps/{id}/revoke", post(account::revoke_app))
        .route(
            "/oauth/authorize",
            get(oauth::authorize_form).post(oauth::authorize),
        )
        .route("/admin/apps", get(oauth::apps).post(oauth::register_app))
        .route("/admin/apps/{id}/disable", post(oauth::disable_app))
        .route("/account/access-log", get(account::access_log))
        .route("/admin/users", get(admin::users))
        .route("/clinic/logo", get(clinic::logo))
        .route("/admin/clinic", get(clinic::page).post(clinic::save))
        .route("/admin/terminology", get(terminology::page))
        .route("/admin/terminology/imports", get(terminology::imports))
        .route("/terminology/choices", get(terminology::choices))
        .route("/admin/clinic/logo", post(clinic::upload_logo))
        .route("/admin/clinic/logo/remove", post(clinic::remove_logo))
        .route("/admin/clinic/consent", post(clinic::publish_consent))
        .route(
            "/admin/pharmacies",
            get(pharmacies::page).post(pharmacies::add),
        )
        .route("/admin/pharmacies/{id}", post(pharmacies::update))
        .route(
            "/admin/pharmacies/{id}/members",
            post(pharmacies::add_member),
        )
        .route("/admin/users/{id}/role", post(admin::set_role))
        .route("/admin/users/{id}/disable", post(admin::disable))
        .route("/admin/users/{id}/enable", post(admin::enable))
        .route("/admin/invitations", post(admin::invite))
        .route(
            "/admin/invitations/{id}/revoke",
            post(admin::revoke_invitation),
        )
        .route("/admin/outbox", get(admin::outbox))
        .route("/admin/audit", get(admin::audit))
        .route("/book", get(booking::search))
        .route("/book/{id}", get(booking::week).post(booking::book))
        .route("/book/{id}/confirm", get(booking::confirm))
        .route("/appointments", get(booking::my_appointments))
        .route("/appointments/{id}/cancel", post(booking::cancel))
        .route("/calendar", get(booking::calendar))
        .route(
            "/calendar/feed",
            get(booking::feed_page).post(booking::set_feed),
        )
        .route("/calendar/feed/{token}", get(booking::feed))
        .route("/appointments/{id}/calendar.ics", get(booking::ics))
        .route(
            "/appointments/{id}/reschedule",
            get(visits::reschedule_form).post(visits::reschedule),
        )
        .route("/appointments/{id}/waiting-room", get(visits::waiting_room))
        .route("/appointments/{id}/check-in", post(visits::check_in))
        .route("/appointments/{id}/undo-noshow", post(visits::undo_noshow))
        .route("/appointments/{id}/complete", post(visits::complete))
        .route("/schedule", get(schedule_editor::index))
        .route(
            "/schedule/{id}",
            get(schedule_editor::edit).post(schedule_editor::save),
        )
        .route(
            "/schedule/{id}/preview",
            post(schedule_editor::preview_fragment),
        )
        .route("/waiting-room", get(visits::queue))
        .route("/now", get(on_demand::now).post(on_demand::join))
        .route("/now/status", get(on_demand::status))
        .route("/now/withdraw", post(on_demand::withdraw))
        .route("/on-demand", get(on_demand::queue))
        .route("/on-demand/rows", get(on_demand::queue_refresh))
        .route("/on-demand/take", post(on_demand::take))
        .route("/patients/{id}/start-now", post(on_demand::start_now))
        .route("/waiting-room/rows", get(visits::queue_refresh))
        .route("/messages", get(messages::inbox))
        .route("/messages/list", get(messages::inbox_fragment))
        .route("/messages/new", get(messages::new_form))
        .route("/messages/{id}", get(messages::thread))
        .route("/messages/files/{id}", get(messages::attachment))
        .route("/messages/{id}/list", get(messages::thread_fragment))
        .route("/messages/{id}/archive", post(messages::archive))
        .route("/messages/{id}/route", post(messages::route))
        .route("/menu", get(menu::menu))
        .route("/notifications", get(notifications::notifications))
        .route(
            "/notifications/read",
            post(notifications::mark_notifications_read),
        )
        .route(
            "/notifications/badge",
            get(notifications::notifications_badge),
        )
        .route(
            "/account/notifications",
            get(notifications::preferences).post(notifications::save_preferences),
        )
        .route("/account/mobile", post(notifications::send_mobile_code))
        .route(
            "/account/mobile/confirm",
            post(notifications::confirm_mobile),
        )
        .route("/account/mobile/remove", post(notifications::remove_mobile))
        .route(
            "/visits/join/{token}",
            get(room::join_form).post(room::join),
        )
        .route("/rx/verify", get(prescriptions::verify))
        .route("/rx/dispense", post(prescriptions::dispense))
        .route("/prescriptions/{id}/renewal", post(chart::request_renewal))
        .route("/patients/{id}/pharmacy", post(chart::choose_pharmacy))
        .route("/renewals/{id}/decline", post(chart::decline_renewal))
        .route("/patients/{id}/rx/search", get(rx_pad::search))
        .route("/patients/{id}/rx/check", post(rx_pad::check))
        .route("/patients/{id}/rx/sign", post(rx_pad::sign))
        .route("/prescriptions/{id}/pdf", get(prescriptions::pdf))
        .route(
            "/.well-known/telemed-prescription-keys",
            get(prescriptions::keys),
        )
        .route("/visits/{id}/room", get(room::room))
        .route(
            "/visits/{id}/consent",
            get(room::consent_form).post(room::consent),
        )
        .route("/visits/{id}/chat", get(room::chat))
        .route("/visits/{id}/invites", post(room::create_invite))
        .route(
            "/visits/{id}/invites/{guest}/revoke",
            post(room::revoke_invite),
        )
        .route("/visits/{id}/record", get(room::record))
        .route("/record", get(chart::my_record))
        .route("/patients/{id}/chart", get(chart::chart))
        .route("/patients/{id}/chart/entries", post(chart::add_entry))
        .route(
            "/patients/{id}/chart/lab-reports",
            post(chart::add_lab_report),
        )
        .route(
            "/patients/{id}/demographics",
            post(chart::save_demographics),
        )
        .route("/patients/{id}/record/export", get(chart::export))
        .route(
            "/patients/{id}/break-glass",
            get(chart::break_glass_form).post(chart::break_glass),
        )
        .route("/patients/{id}/notes", post(notes::start))
        .route("/notes/{id}", get(notes::view).post(notes::save))
        .route("/notes/{id}/addenda", post(notes::add_addendum))
        .route("/documents/{id}", get(chart::document))
        .route("/documents/{id}/file", get(chart::file))
        .route("/documents/{id}/thumbnail", get(chart::thumbnail))
        .route("/documents/{id}/preview", get(chart::preview))
        .route(
            "/documents/{id}/entered-in-error",
            post(chart::mark_in_error),
        )
}

/// What every page handler needs from the request: the context and the form token.
pub struct WebCtx {
    pub ctx: Ctx,
    pub csrf: String,
}

impl<S: Send + Sync> FromRequestParts<S> for WebCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        Ok(WebCtx { ctx, csrf })
    }
}

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    /// The page to return to: a local path.
    #[serde(default)]
    back: String,
}

/// Remembers the language in a cookie and, for a signed-in user, on the account.
async fn set_language(
    state: axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    ctx: Ctx,
    Form(form): Form<LanguageForm>,
) -> Response {
    let Some(lang) = Lang::from_code(&form.lang).filter(|l| ctx.clinic.offers_language(*l)) else {
        return crate::error::AppError(telemed_domain::Error::invalid(
            "lang",
            "the clinic does not offer that language",
        ))
        .into_response();
    };
    if let Some(secret) = crate::context::cookie(&headers, crate::auth::SESSION_COOKIE) {
        let now = state.clock.now();
        let idle = now - chrono::Duration::minutes(state.config.session.idle_timeout_minutes);
        if let Ok(Some(session)) = state
            .store
            .live_session(&crate::crypto::token_hash(secret), now, idle)
            .await
        {
            if let Ok(mut tx) = state.store.begin_write().await {
                let saved =
                    telemed_store::users::set_locale(&mut tx, session.user_id, lang.code(), now)
                        .await;
                if saved.is_ok() {
                    let _ = tx.commit().await;
                }
            }
        }
    }
    let back = Some(form.back.as_str())
        .filter(|p| is_local_path(p))
        .unwrap_or("/");
    let mut response = Redirect::to(back).into_response();
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
        lang.code()
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// A path on this site (not `//host`, not a URL), safe to redirect to.
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
}
