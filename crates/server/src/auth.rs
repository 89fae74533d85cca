//! Who is asking. Handlers that touch anything private take one of these extractors,
//! so a handler cannot be written that skips authentication:
//! - `ApiUser`: a bearer personal access token (the JSON API);
//! - `SignedIn`: a fully signed-in web session;
//! - `MfaPending` / `Enrolling`: a web session part-way through sign-in.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use telemed_domain::access::Principal;
use telemed_domain::{Error, Role};
use telemed_store::sessions::{Session, SessionStage};
use telemed_store::users::User;

use crate::accounts::api_tokens::TOKEN_PREFIX;
use crate::context::cookie;
use crate::crypto::token_hash;
use crate::error::AppError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "telemed_session";

/// How stale a "last seen" may get before a request writes it again.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// A caller of the JSON API, authenticated by a personal access token.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub principal: Principal,
    pub user: User,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or(Error::Unauthenticated)?;
        ApiUser::by_token_hash(state, &token_hash(secret)).await
    }
}

impl ApiUser {
    /// The live API token with this hash, and its user (not disabled).
    pub(crate) async fn by_token_hash(state: &AppState, hash: &str) -> Result<Self, AppError> {
        let now = state.clock.now();
        let (token, user) = state
            .store
            .live_api_token_with_user(hash, now)
            .await?
            .filter(|(_, u)| u.disabled_at.is_none())
            .ok_or(Error::Unauthenticated)?;
        if token.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY) {
            state.store.touch_api_token(token.id, now).await?;
        }
        let permissions = token
            .scopes
            .iter()
            .copied()
            .filter(|p| user.role.has(*p))
            .collect();
        Ok(ApiUser {
            principal: Principal {
                user_id: user.id,
                role: user.role,
                permissions,
            },
            user,
            expires_at: token.expires_at,
        })
    }
}

/// A web session in any stage, with its user, if the cookie names a live one.
async fn web_session(parts: &Parts, state: &AppState) -> Result<Option<(Session, User)>, AppError> {
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle_since = now - Duration::minutes(state.config.session.idle_timeout_minutes);
    let Some(session) = state
        .store
        .live_session(&token_hash(secret), now, idle_since)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = state
        .store
        .user_by_id(session.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
    else {
        return Ok(None);
    };
    if now - session.last_seen_at > TOUCH_EVERY {
        state.store.touch_session(session.id, now).await?;
    }
    Ok(Some((session, user)))
}

/// Where a session of this stage belongs, for a user of this role.
fn effective_stage(session: &Session, user: &User) -> SessionStage {
    // A role that gained the MFA requirement after sign-in must enrol before going on.
    if session.stage == SessionStage::Active && user.role.requires_mfa() && !user.mfa_enabled() {
        SessionStage::MfaEnroll
    } else {
        session.stage
    }
}

fn redirect_for(stage: Option<SessionStage>) -> Response {
    match stage {
        None => Redirect::to("/login").into_response(),
        Some(SessionStage::MfaPending) => Redirect::to("/login/mfa").into_response(),
        Some(SessionStage::MfaEnroll) => Redirect::to("/account/mfa").into_response(),
        Some(SessionStage::Active) => Redirect::to("/").into_response(),
    }
}

/// A fully signed-in web user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    pub user: User,
    pub session: Session,
}

impl SignedIn {
    pub fn role(&self) -> Role {
        self.user.role
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let found = web_session(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match found {
            Some((session, user)) if effective_stage(&session, &user) == SessionStage::Active => {
                let principal = Principal {
                    user_id: user.id,
                    role: user.role,
                    permissions: user.role.permissions().to_vec(),
                };
                Ok(SignedIn {
                    principal,
                    user,
                    session,
                })
            }
            Some((session, user)) => Err(redirect_for(Some(effective_stage(&session, &user)))),
            None => Err(redirect_for(None)),
        }
    }
}

/// A web session whose password step passed and whose second factor is awaited.
pub struct MfaPending {
    pub user: User,
    pub session: Session,
}

impl FromRequestParts<AppState> for MfaPending {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match web_session(parts, state)
            .await
            .map_err(IntoResponse::into_response)?
        {
            Some((session, user)) if session.stage == SessionStage::MfaPending => {
                Ok(MfaPending { user, session })
            }
            Some((session, user)) => Err(redirect_for(Some(effective_stage(&session, &user)))),
            None => Err(redirect_for(None)),
        }
    }
}

/// A web session that may manage its second factor: signed in, or required to enrol.
pub struct Enrolling {
    pub user: User,
    pub session: Session,
    /// True when the session is held until enrolment is done.
    pub required: bool,
}

impl FromRequestParts<AppState> for Enrolling {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match web_session(parts, state)
            .await
            .map_err(IntoResponse::into_response)?
        {
            Some((session, user)) => match effective_stage(&session, &user) {
                SessionStage::MfaEnroll => Ok(Enrolling {
                    user,
                    session,
                    required: true,
                }),
                SessionStage::Active => Ok(Enrolling {
                    user,
                    session,
                    required: false,
                }),
                stage => Err(redirect_for(Some(stage))),
            },
            None => Err(redirect_for(None)),
        }
    }
}

/// Whatever live session the cookie names, in any stage (for signing out).
pub struct AnySession(pub Option<(Session, User)>);

impl FromRequestParts<AppState> for AnySession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        web_session(parts, state)
            .await
            .map(AnySession)
            .map_err(IntoResponse::into_response)
    }
}

/// The session cookie's `Set-Cookie` value; an empty secret clears it.
pub fn session_cookie(secret: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    if secret.is_empty() {
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    } else {
        format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax{secure}")
    }
}
