//! The signed-in person's own pages: home, account, second factor, sessions, API
//! tokens, and (for patients) who accessed their record.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::role::format_scopes;
use telemed_domain::{ApiTokenId, Error, Permission, Role, SessionId};
use telemed_store::sessions;

use super::access_log;
use super::pages::{render, render_with, when, Page};
use super::signin::with_cookie;
use super::WebCtx;
use crate::accounts::api_tokens::{self, NewToken};
use crate::accounts::mfa;
use crate::audit::Event;
use crate::auth::{session_cookie, Enrolling, SignedIn};
use crate::change::Change;
use crate::error::AppResult;
use crate::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    page: &'a Page,
    name: &'a str,
    role: &'a str,
    specialty: Option<String>,
    is_patient: bool,
    is_admin: bool,
    has_calendar: bool,
    /// A clinician's or the front desk's day.
    day: Option<super::day::DayPanel>,
}

pub async fn home(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/");
    let specialty = state.store.specialty_of(me.user.id).await?;
    let day = super::day::panel(&state, &w, &me, &page).await?;
    Ok(render(&HomePage {
        day,
        page: &page,
        name: &me.user.display_name,
        role: page.role_name(me.role()),
        specialty,
        is_patient: me.role() == Role::Patient,
        is_admin: me.role() == Role::Admin,
        has_calendar: matches!(me.role(), Role::Clinician | Role::Staff),
    }))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    page: &'a Page,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    name: &'a str,
    email: String,
    role: &'a str,
    specialty: Option<String>,
    mfa_enabled: bool,
    can_disable_mfa: bool,
    recovery_left: i64,
    is_patient: bool,
    /// The zone the person's emails state times in (the browser they last signed in
    /// with), if known.
    time_zone: Option<String>,
    /// Consents given (e.g. telehealth), with version and time.
    consents: Vec<String>,
}

/// What the account page reports after an action.
enum Outcome {
    None,
    Done(fn(&Page) -> &'static str),
    Failed(fn(&Page) -> &'static str),
}

async fn account_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    outcome: Outcome,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/account");
    let (notice, error, status) = match outcome {
        Outcome::None => (None, None, StatusCode::OK),
        Outcome::Done(text) => (Some(text(&page)), None, StatusCode::OK),
        Outcome::Failed(text) => (None, Some(text(&page)), StatusCode::BAD_REQUEST),
    };
    let recovery_left = state.store.unused_recovery_codes(me.user.id).await?;
    let consents = if me.role() == Role::Patient {
        crate::video::consents_of(state, &w.ctx, &me.principal, me.user.id).await?
    } else {
        Vec::new()
    };
    Ok(render_with(
        status,
        &AccountPage {
            page: &page,
            notice,
            error,
            name: &me.user.display_name,
            email: me.user.email.to_string(),
            role: page.role_name(me.role()),
            specialty: state.store.specialty_of(me.user.id).await?,
            mfa_enabled: me.user.mfa_enabled(),
            can_disable_mfa: !me.role().requires_mfa(),
            recovery_left,
            is_patient: me.role() == Role::Patient,
            time_zone: me.user.time_zone.clone(),
            consents: consents
                .into_iter()
                .map(|c| {
                    let name = match c.kind.as_str() {
                        telemed_domain::video::TELEHEALTH_CONSENT => page.t.room_consent,
                        other => other,
                    };
                    format!(
                        "{name} · {} {} · {}",
                        page.t.consent_version,
                        c.version,
                        super::booking::local(w.ctx.time_zone, c.accepted_at, "%Y-%m-%d %H:%M")
                    )
                })
                .collect(),
        },
    ))
}

pub async fn account(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    account_page(&state, &w, &me, Outcome::None).await
}

#[derive(Template)]
#[template(path = "mfa_setup.html")]
struct MfaSetupPage<'a> {
    page: &'a Page,
    required: bool,
    error: Option<&'a str>,
    qr: String,
    otpauth_url: String,
    secret: String,
}

pub async fn mfa_setup(
    State(state): State<AppState>,
    w: WebCtx,
    me: Enrolling,
) -> AppResult<Response> {
    if me.user.mfa_enabled() {
        return Ok(Redirect::to("/account").into_response());
    }
    let enrollment = mfa::start_enrollment(&state, &me.user).await?;
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        (!me.required).then_some(&me.user),
        "/account/mfa",
    );
    Ok(render(&MfaSetupPage {
        page: &page,
        required: me.required,
        error: None,
        qr: enrollment.qr_data_uri,
        otpauth_url: enrollment.otpauth_url,
        secret: enrollment.secret,
    }))
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    page: &'a Page,
    codes: Vec<String>,
}

pub async fn mfa_confirm(
    State(state): State<AppState>,
    w: WebCtx,
    me: Enrolling,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let codes = mfa::confirm_enrollment(&state, &w.ctx, &me.user, &me.session, &form.code).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/account/mfa");
    match codes {
        Some(codes) => Ok(render(&RecoveryCodesPage { page: &page, codes })),
        None => {
            // Show the same secret again so the person can retry with the next code.
            let user = state
                .store
                .user_by_id(me.user.id)
                .await?
                .ok_or(Error::NotFound)?;
            let Some(enrollment) = mfa::pending_enrollment(&state, &user)? else {
                return Ok(Redirect::to("/account/mfa").into_response());
            };
            let page = Page::new(
                &w.ctx,
                &w.csrf,
                (!me.required).then_some(&me.user),
                "/account/mfa",
            );
            Ok(render_with(
                StatusCode::BAD_REQUEST,
                &MfaSetupPage {
                    page: &page,
                    required: me.required,
                    error: Some(page.t.mfa_failed),
                    qr: enrollment.qr_data_uri,
                    otpauth_url: enrollment.otpauth_url,
                    secret: enrollment.secret,
                },
            ))
        }
    }
}

pub async fn mfa_disable(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    if mfa::disable(&state, &w.ctx, &me.user, &form.code).await? {
        let me = SignedIn {
            user: state
                .store
                .user_by_id(me.user.id)
                .await?
                .ok_or(Error::NotFound)?,
            ..me
        };
        account_page(&state, &w, &me, Outcome::Done(|p| p.t.off)).await
    } else {
        account_page(&state, &w, &me, Outcome::Failed(|p| p.t.mfa_failed)).await
    }
}

struct SessionRow {
    id: SessionId,
    created_at: String,
    last_seen_at: String,
    client_addr: String,
    user_agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage<'a> {
    page: &'a Page,
    sessions: Vec<SessionRow>,
}

pub async fn sessions(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let now = state.clock.now();
    let idle = now - chrono::Duration::minutes(state.config.session.idle_timeout_minutes);
    let list = state.store.live_sessions_of(me.user.id, now, idle).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/account/sessions");
    let sessions = list
        .into_iter()
        .map(|s| SessionRow {
            current: s.id == me.session.id,
            id: s.id,
            created_at: when(s.created_at),
            last_seen_at: when(s.last_seen_at),
            client_addr: s.client_addr,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(render(&SessionsPage {
        page: &page,
        sessions,
    }))
}

pub async fn revoke_session(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: SessionId = id.parse().map_err(|_| Error::NotFound)?;
    let now = state.clock.now();
    let mut change = Change::begin(&state).await?;
    sessions::revoke(change.tx(), me.user.id, id, now).await?;
    let record = Event::new(&w.ctx, now, "auth.session_revoke", "session")
        .by(me.user.id, me.role())
        .on(id)
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(Redirect::to("/account/sessions").into_response())
}

/// Signs out every session of this person, this one included.
pub async fn revoke_all_sessions(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut change = Change::begin(&state).await?;
    let n = sessions::revoke_all(change.tx(), me.user.id, now).await?;
    let record = Event::new(&w.ctx, now, "auth.sign_out_everywhere", "session")
        .by(me.user.id, me.role())
        .detail(format!("{n} sessions"))
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(with_cookie(
        Redirect::to("/login").into_response(),
        &session_cookie("", state.config.secure_cookies()),
    ))
}

struct TokenRow {
    id: ApiTokenId,
    name: String,
    scopes: String,
    expires_at: String,
    last_used_at: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage<'a> {
    page: &'a Page,
    created: Option<String>,
    error: Option<String>,
    scopes: Vec<&'static str>,
    tokens: Vec<TokenRow>,
    apps: Vec<AppRow>,
}

/// An app the person authorized (an OAuth grant).
struct AppRow {
    id: telemed_domain::OAuthGrantId,
    name: String,
    scopes: String,
    granted_at: String,
}

async fn tokens_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    created: Option<String>,
    error: Option<&Error>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/account/tokens");
    let tokens = state
        .store
        .live_api_tokens_of(me.user.id, state.clock.now())
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            scopes: format_scopes(&t.scopes),
            expires_at: when(t.expires_at),
            last_used_at: t.last_used_at.map(when).unwrap_or_else(|| "—".into()),
        })
        .collect();
    let apps = state
        .store
        .grants_of(me.user.id)
        .await?
        .into_iter()
        .map(|(g, name)| AppRow {
            id: g.id,
            name,
            scopes: g.scopes,
            granted_at: when(g.created_at),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &TokensPage {
            page: &page,
            created,
            error: error.map(|e| page.form_error(e)),
            scopes: me.role().permissions().iter().map(|p| p.as_str()).collect(),
            tokens,
            apps,
        },
    ))
}

/// Revokes an app's access (an OAuth grant of the signed-in person).
pub async fn revoke_app(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = telemed_domain::OAuthGrantId::from_path(&id)?;
    crate::oauth::revoke_grant(&state, &w.ctx, id, Some(&me.principal)).await?;
    Ok(Redirect::to("/account/tokens").into_response())
}

pub async fn tokens(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    tokens_page(&state, &w, &me, None, None).await
}

pub async fn create_token(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let scopes: Result<Vec<Permission>, Error> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.parse())
        .collect();
    let days = field("days")
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("days", "days must be a whole number"));
    let result = match (scopes, days) {
        (Ok(scopes), Ok(days)) => {
            api_tokens::create(
                &state,
                &w.ctx,
                &me.principal,
                NewToken {
                    name: field("name"),
                    scopes,
                    days,
                },
            )
            .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok((_, secret)) => tokens_page(&state, &w, &me, Some(secret), None).await,
        Err(e @ Error::Internal(_)) => Err(e.into()),
        Err(e) => tokens_page(&state, &w, &me, None, Some(&e)).await,
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ApiTokenId = id.parse().map_err(|_| Error::NotFound)?;
    api_tokens::revoke(&state, &w.ctx, &me.principal, id).await?;
    Ok(Redirect::to("/account/tokens").into_response())
}

struct AccessRow {
    at: String,
    who: String,
    role: &'static str,
    /// What they did, in a phrase ("opened your chart").
    what: String,
    outcome: &'static str,
    refused: bool,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage<'a> {
    page: &'a Page,
    entries: Vec<AccessRow>,
}

/// A patient's view of who accessed their record.
pub async fn access_log(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/account/access-log");
    let entries = crate::record::access_log(&state, &w.ctx, &me.principal, me.user.id, 200)
        .await?
        .into_iter()
        .map(|e| AccessRow {
            at: access_log::moment(page.t, e.at, w.ctx.time_zone),
            who: e.who,
            role: e.role.map(|r| page.role_name(r)).unwrap_or(""),
            what: access_log::describe(page.t, &e.action),
            outcome: access_log::outcome(page.t, e.outcome),
            refused: e.outcome != telemed_domain::audit::Outcome::Success,
        })
        .collect();
    Ok(render(&AccessLogPage {
        page: &page,
        entries,
    }))
}
