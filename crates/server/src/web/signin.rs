//! Pages for getting in: sign-in with the second step, sign-out, registration, email
//! verification, password reset and accepting an invitation. Links from emails open a
//! page with a button; only the POST uses the token (so link scanners cannot).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::pages::{render, render_refusal, render_with, MessagePage, Page};
use super::WebCtx;
use crate::accounts::registration::{self, Registration};
use crate::accounts::signin::{self, Refusal};
use crate::auth::{session_cookie, AnySession, MfaPending};
use crate::crypto::token_hash;
use crate::error::AppError;
use crate::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    page: &'a Page,
    error: Option<String>,
    notice: Option<String>,
    email: String,
    /// The clinic sees patients on demand: the page offers "see a clinician now".
    on_demand: bool,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    idle: Option<String>,
}

pub async fn login_form(
    State(state): State<AppState>,
    w: WebCtx,
    Query(q): Query<LoginQuery>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/login");
    let notice = q.idle.map(|_| page.t.signed_out_idle.to_owned());
    render(&LoginPage {
        page: &page,
        error: None,
        notice,
        email: String::new(),
        on_demand: !crate::on_demand::specialties(&state).await.is_empty(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    w: WebCtx,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/login");
    let on_demand = !crate::on_demand::specialties(&state).await.is_empty();
    let refused = |error: &str, status: StatusCode| {
        render_with(
            status,
            &LoginPage {
                page: &page,
                error: Some(error.to_owned()),
                notice: None,
                email: form.email.clone(),
                on_demand,
            },
        )
    };
    match signin::sign_in(&state, &w.ctx, &form.email, &form.password).await {
        Err(e) => AppError(e).into_response(),
        Ok(Err(Refusal::Failed)) => refused(page.t.login_failed, StatusCode::UNAUTHORIZED),
        Ok(Err(Refusal::Locked)) => {
            refused(page.t.too_many_attempts, StatusCode::TOO_MANY_REQUESTS)
        }
        Ok(Err(Refusal::Unverified)) => refused(page.t.login_unverified, StatusCode::FORBIDDEN),
        Ok(Err(Refusal::Disabled)) => refused(page.t.account_disabled, StatusCode::FORBIDDEN),
        Ok(Ok(started)) => {
            let back = super::oauth::return_after_sign_in(&headers);
            let next = match started.stage {
                telemed_store::sessions::SessionStage::Active => {
                    if let Some((to, clear)) = back {
                        let mut r = with_cookie(
                            Redirect::to(&to).into_response(),
                            &session_cookie(&started.cookie, state.config.secure_cookies()),
                        );
                        r.headers_mut().append(header::SET_COOKIE, clear);
                        return r;
                    }
                    "/"
                }
                telemed_store::sessions::SessionStage::MfaPending => "/login/mfa",
                telemed_store::sessions::SessionStage::MfaEnroll => "/account/mfa",
            };
            with_cookie(
                Redirect::to(next).into_response(),
                &session_cookie(&started.cookie, state.config.secure_cookies()),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage<'a> {
    page: &'a Page,
    error: Option<String>,
    /// Whether a code was (possibly) sent: the page asks for it.
    sent: bool,
    email: String,
    /// Where to go once signed in: a path on this site, or empty.
    next: String,
    /// Someone new: the page asks for a name too, and makes the account.
    new_patient: bool,
    display_name: String,
}

#[derive(Deserialize, Default)]
pub struct CodeQuery {
    #[serde(default)]
    next: Option<String>,
    /// `1`: the page is for a new patient.
    #[serde(default)]
    new: Option<String>,
}

/// `next` when it is a path on this site, else nothing.
fn local_next(next: Option<&str>) -> String {
    next.filter(|n| super::is_local_path(n))
        .unwrap_or_default()
        .to_owned()
}

/// Signing in with an emailed code: the address first. Someone already signed in goes
/// straight on to `next` (a link in an email opened in the browser that is signed in).
pub async fn code_form(
    w: WebCtx,
    AnySession(session): AnySession,
    Query(q): Query<CodeQuery>,
) -> Response {
    let next = local_next(q.next.as_deref());
    if session.is_some_and(|(s, _)| s.stage == telemed_store::sessions::SessionStage::Active)
        && !next.is_empty()
    {
        return Redirect::to(&next).into_response();
    }
    let page = Page::new(&w.ctx, &w.csrf, None, "/login/code");
    render(&CodePage {
        page: &page,
        error: None,
        sent: false,
        email: String::new(),
        next,
        new_patient: q.new.as_deref() == Some("1"),
        display_name: String::new(),
    })
}

#[derive(Deserialize)]
pub struct CodeRequestForm {
    email: String,
    #[serde(default)]
    next: Option<String>,
    /// A new patient's name (the new-patient form only).
    #[serde(default)]
    display_name: Option<String>,
    /// `email`: the code by email only (the text did not arrive).
    #[serde(default)]
    by: Option<String>,
}

/// Sends a code (when the address is a patient's, or, from the new-patient form, a new
/// patient's account) and asks for it.
pub async fn send_code(
    State(state): State<AppState>,
    w: WebCtx,
    Form(form): Form<CodeRequestForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/login/code");
    let next = local_next(form.next.as_deref());
    let sent = match &form.display_name {
        Some(name) => {
            registration::register_for_code(&state, &w.ctx, name, &form.email, page.lang).await
        }
        None => {
            let route = match form.by.as_deref() {
                Some("email") => signin::CodeRoute::ByEmail,
                _ => signin::CodeRoute::AsChosen,
            };
            signin::send_sign_in_code(&state, &w.ctx, &form.email, route).await
        }
    };
    let code_page = |error: Option<String>| CodePage {
        page: &page,
        sent: error.is_none(),
        error,
        email: form.email.clone(),
        next: next.clone(),
        new_patient: form.display_name.is_some(),
        display_name: form.display_name.clone().unwrap_or_default(),
    };
    match sent {
        Ok(()) => render(&code_page(None)),
        Err(
            e @ (telemed_domain::Error::RateLimited { .. } | telemed_domain::Error::Invalid { .. }),
        ) => render_refusal(&e, &code_page(Some(page.form_error(&e)))),
        Err(e) => AppError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignInCodeForm {
    email: String,
    code: String,
    #[serde(default)]
    next: Option<String>,
}

/// The code typed: a session, as after a password (the second factor next where the
/// account has one), then `next`.
pub async fn verify_code(
    State(state): State<AppState>,
    w: WebCtx,
    Form(form): Form<SignInCodeForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/login/code");
    let next = local_next(form.next.as_deref());
    let refused = |error: &str, status: StatusCode| {
        render_with(
            status,
            &CodePage {
                page: &page,
                error: Some(error.to_owned()),
                sent: true,
                email: form.email.clone(),
                next: next.clone(),
                new_patient: false,
                display_name: String::new(),
            },
        )
    };
    match signin::sign_in_with_code(&state, &w.ctx, &form.email, &form.code).await {
        Err(e) => AppError(e).into_response(),
        Ok(Err(Refusal::Failed | Refusal::Unverified)) => {
            refused(page.t.code_failed, StatusCode::UNAUTHORIZED)
        }
        Ok(Err(Refusal::Locked)) => {
            refused(page.t.too_many_attempts, StatusCode::TOO_MANY_REQUESTS)
        }
        Ok(Err(Refusal::Disabled)) => refused(page.t.account_disabled, StatusCode::FORBIDDEN),
        Ok(Ok(started)) => {
            let to = match started.stage {
                telemed_store::sessions::SessionStage::Active if !next.is_empty() => next,
                telemed_store::sessions::SessionStage::Active => "/".to_owned(),
                telemed_store::sessions::SessionStage::MfaPending => mfa_then(&next),
                telemed_store::sessions::SessionStage::MfaEnroll => "/account/mfa".to_owned(),
            };
            with_cookie(
                Redirect::to(&to).into_response(),
                &session_cookie(&started.cookie, state.config.secure_cookies()),
            )
        }
    }
}

pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The second factor's page, then `next` (a path on this site) once it is answered.
fn mfa_then(next: &str) -> String {
    if next.is_empty() {
        "/login/mfa".to_owned()
    } else {
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        format!("/login/mfa?{query}")
    }
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage<'a> {
    page: &'a Page,
    error: Option<String>,
    /// Where to go once the code is right: a path on this site, or empty.
    next: String,
}

#[derive(Deserialize, Default)]
pub struct MfaQuery {
    #[serde(default)]
    next: Option<String>,
}

pub async fn mfa_form(w: WebCtx, pending: MfaPending, Query(q): Query<MfaQuery>) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/login/mfa");
    let _ = pending.user;
    render(&MfaPage {
        page: &page,
        error: None,
        next: local_next(q.next.as_deref()),
    })
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn mfa(
    State(state): State<AppState>,
    w: WebCtx,
    pending: MfaPending,
    headers: axum::http::HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/login/mfa");
    let next = local_next(form.next.as_deref());
    match signin::complete_mfa(&state, &w.ctx, &pending.session, &pending.user, &form.code).await {
        Err(e) => AppError(e).into_response(),
        Ok(Ok(())) => match super::oauth::return_after_sign_in(&headers) {
            Some((to, clear)) => {
                let mut r = Redirect::to(&to).into_response();
                r.headers_mut().append(header::SET_COOKIE, clear);
                r
            }
            None if !next.is_empty() => Redirect::to(&next).into_response(),
            None => Redirect::to("/").into_response(),
        },
        Ok(Err(Refusal::Locked)) => {
            let response = render_with(
                StatusCode::TOO_MANY_REQUESTS,
                &LoginPage {
                    page: &page,
                    error: Some(page.t.too_many_attempts.into()),
                    notice: None,
                    email: String::new(),
                    on_demand: false,
                },
            );
            with_cookie(response, &session_cookie("", state.config.secure_cookies()))
        }
        Ok(Err(_)) => render_with(
            StatusCode::UNAUTHORIZED,
            &MfaPage {
                page: &page,
                error: Some(page.t.mfa_failed.into()),
                next,
            },
        ),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    w: WebCtx,
    AnySession(current): AnySession,
) -> Response {
    if let Some((session, user)) = current {
        if let Err(e) = signin::sign_out(&state, &w.ctx, &session, user.role).await {
            return AppError(e).into_response();
        }
    }
    with_cookie(
        Redirect::to("/login").into_response(),
        &session_cookie("", state.config.secure_cookies()),
    )
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    page: &'a Page,
    error: Option<String>,
    display_name: String,
    email: String,
}

pub async fn register_form(w: WebCtx) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/register");
    render(&RegisterPage {
        page: &page,
        error: None,
        display_name: String::new(),
        email: String::new(),
    })
}

#[derive(Deserialize)]
pub struct RegisterForm {
    display_name: String,
    email: String,
    password: String,
}

pub async fn register(
    State(state): State<AppState>,
    w: WebCtx,
    Form(form): Form<RegisterForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/register");
    let r = Registration {
        display_name: &form.display_name,
        email: &form.email,
        password: &form.password,
        lang: page.lang,
    };
    match registration::register_patient(&state, &w.ctx, r).await {
        Ok(()) => render(&MessagePage {
            page: &page,
            title: page.t.register_title,
            message: page.t.register_sent,
            good: true,
            link: None,
        }),
        Err(e @ telemed_domain::Error::Internal(_)) => AppError(e).into_response(),
        Err(e) => render_refusal(
            &e,
            &RegisterPage {
                page: &page,
                error: Some(page.form_error(&e)),
                display_name: form.display_name.clone(),
                email: form.email.clone(),
            },
        ),
    }
}

#[derive(Template)]
#[template(path = "confirm_link.html")]
struct ConfirmLinkPage<'a> {
    page: &'a Page,
    title: &'a str,
    error: Option<String>,
    action: &'a str,
    token: String,
    with_password: bool,
    button: &'a str,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn link_invalid(page: &Page) -> Response {
    render_with(
        StatusCode::BAD_REQUEST,
        &MessagePage {
            page,
            title: page.t.error_title,
            message: page.t.link_invalid,
            good: false,
            link: Some(("/login", page.t.sign_in)),
        },
    )
}

pub async fn verify_form(w: WebCtx, Query(q): Query<TokenQuery>) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/verify-email");
    render(&ConfirmLinkPage {
        page: &page,
        title: page.t.register_title,
        error: None,
        action: "/verify-email",
        token: q.token,
        with_password: false,
        button: page.t.verify,
    })
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
    #[serde(default)]
    password: String,
}

pub async fn verify(
    State(state): State<AppState>,
    w: WebCtx,
    Form(form): Form<TokenForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/verify-email");
    match registration::confirm_email(&state, &w.ctx, &form.token).await {
        Ok(true) => render(&MessagePage {
            page: &page,
            title: page.t.register_title,
            message: page.t.verify_ok,
            good: true,
            link: Some(("/login", page.t.sign_in)),
        }),
        Ok(false) => link_invalid(&page),
        Err(e) => AppError(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    page: &'a Page,
    error: Option<String>,
}

pub async fn forgot_form(w: WebCtx) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/password/forgot");
    render(&ForgotPage {
        page: &page,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    w: WebCtx,
    Form(form): Form<EmailForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/password/forgot");
    match registration::request_password_reset(&state, &w.ctx, &form.email, page.lang).await {
        Ok(()) => render(&MessagePage {
            page: &page,
            title: page.t.forgot_title,
            message: page.t.forgot_sent,
            good: true,
            link: None,
        }),
        Err(e @ telemed_domain::Error::RateLimited { .. }) => render_refusal(
            &e,
            &ForgotPage {
                page: &page,
                error: Some(page.form_error(&e)),
            },
        ),
        Err(e) => AppError(e).into_response(),
    }
}

pub async fn reset_form(w: WebCtx, Query(q): Query<TokenQuery>) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/password/reset");
    render(&ConfirmLinkPage {
        page: &page,
        title: page.t.reset_title,
        error: None,
        action: "/password/reset",
        token: q.token,
        with_password: true,
        button: page.t.save,
    })
}

pub async fn reset(
    State(state): State<AppState>,
    w: WebCtx,
    Form(form): Form<TokenForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/password/reset");
    match registration::reset_password(&state, &w.ctx, &form.token, &form.password).await {
        Ok(true) => with_cookie(
            render(&MessagePage {
                page: &page,
                title: page.t.reset_title,
                message: page.t.reset_done,
                good: true,
                link: Some(("/login", page.t.sign_in)),
            }),
            &session_cookie("", state.config.secure_cookies()),
        ),
        Ok(false) => link_invalid(&page),
        Err(e @ telemed_domain::Error::Internal(_)) => AppError(e).into_response(),
        Err(e) => render_with(
            StatusCode::BAD_REQUEST,
            &ConfirmLinkPage {
                page: &page,
                title: page.t.reset_title,
                error: Some(page.form_error(&e)),
                action: "/password/reset",
                token: form.token.clone(),
                with_password: true,
                button: page.t.save,
            },
        ),
    }
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    page: &'a Page,
    role: &'a str,
    email: String,
    error: Option<String>,
    token: String,
    display_name: String,
}

pub async fn invite_form(
    State(state): State<AppState>,
    w: WebCtx,
    Query(q): Query<TokenQuery>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/invite");
    match state
        .store
        .pending_invitation(&token_hash(&q.token), state.clock.now())
        .await
    {
        Ok(Some(inv)) => render(&InvitePage {
            page: &page,
            role: page.role_name(inv.role),
            email: inv.email.to_string(),
            error: None,
            token: q.token,
            display_name: inv.display_name,
        }),
        Ok(None) => link_invalid(&page),
        Err(e) => AppError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    token: String,
    display_name: String,
    password: String,
}

pub async fn accept_invite(
    State(state): State<AppState>,
    w: WebCtx,
    Form(form): Form<InviteForm>,
) -> Response {
    let page = Page::new(&w.ctx, &w.csrf, None, "/invite");
    match registration::accept_invitation(
        &state,
        &w.ctx,
        &form.token,
        &form.display_name,
        &form.password,
    )
    .await
    {
        Ok(Some(_)) => render(&MessagePage {
            page: &page,
            title: page.t.invite_title,
            message: page.t.invite_done,
            good: true,
            link: Some(("/login", page.t.sign_in)),
        }),
        Ok(None) => link_invalid(&page),
        Err(e @ telemed_domain::Error::Internal(_)) => AppError(e).into_response(),
        Err(e) => {
            let pending = state
                .store
                .pending_invitation(&token_hash(&form.token), state.clock.now())
                .await
                .ok()
                .flatten();
            let Some(inv) = pending else {
                return link_invalid(&page);
            };
            render_with(
                StatusCode::BAD_REQUEST,
                &InvitePage {
                    page: &page,
                    role: page.role_name(inv.role),
                    email: inv.email.to_string(),
                    error: Some(page.form_error(&e)),
                    token: form.token.clone(),
                    display_name: form.display_name.clone(),
                },
            )
        }
    }
}
