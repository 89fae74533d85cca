//! OAuth 2 over HTTP: the consent page (`/oauth/authorize`), the token and revocation
//! endpoints (form posts from apps, outside the CSRF check: they carry the client's
//! credentials, not a browser session), and the admin's list of registered apps.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use telemed_domain::{Error, OAuthClientId, Role};
use telemed_fhir::scopes::{Context, ResourceScope};

use super::pages::{render, render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::context::{cookie, Ctx};
use crate::error::{AppError, AppResult};
use crate::i18n::Texts;
use crate::oauth::{self, AuthorizeParams, Refusal, TokenForm};
use crate::AppState;

/// Where to come back to after signing in, when an app sent a signed-out person here.
pub const RETURN_COOKIE: &str = "telemed_oauth_return";

/// The endpoints apps call directly.
pub fn endpoints() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/jwks", axum::routing::get(jwks))
}

#[derive(Template)]
#[template(path = "oauth_consent.html")]
struct ConsentPage<'a> {
    page: &'a Page,
    app: String,
    lines: Vec<String>,
    patient_only: bool,
    offline: bool,
    redirect_uri: String,
    params: Vec<(&'static str, String)>,
}

/// A scope in the person's words: "read, search: Observation".
fn describe(t: &Texts, s: &ResourceScope) -> String {
    let verbs: Vec<&str> = s
        .permissions
        .chars()
        .map(|c| match c {
            'c' => t.scope_create,
            'r' => t.scope_read,
            'u' => t.scope_update,
            'd' => t.scope_delete,
            _ => t.scope_search,
        })
        .collect();
    format!(
        "{}: {}",
        verbs.join(", "),
        s.resource.as_deref().unwrap_or(t.scope_all_data)
    )
}

fn as_params(p: &AuthorizeParams) -> Vec<(&'static str, String)> {
    [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("aud", &p.aud),
        ("nonce", &p.nonce),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
}

fn shown(refusal: &'static str) -> AppError {
    AppError(Error::invalid("client_id", refusal))
}

/// What to show for a refusal that cannot go back to the app.
fn show(w: &WebCtx, which: &'static str) -> Response {
    let t = w.ctx.lang.texts();
    let message = if which == "unknown_client" {
        t.oauth_unknown_client
    } else {
        t.oauth_bad_redirect
    };
    shown(message).into_response()
}

pub async fn authorize_form(
    State(state): State<AppState>,
    w: WebCtx,
    me: Result<SignedIn, Response>,
    uri: axum::http::Uri,
    Query(params): Query<AuthorizeParams>,
) -> AppResult<Response> {
    let me = match me {
        Ok(me) => me,
        Err(_) => {
            // Sign in first, then come back to this very request.
            let back = uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/oauth/authorize");
            let secure = if state.config.secure_cookies() {
                "; Secure"
            } else {
                ""
            };
            let mut r = Redirect::to("/login").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{RETURN_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=900{secure}",
                urlencode(back)
            )) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            return Ok(r);
        }
    };
    let checked = match oauth::check(&state, &params, &me.user).await? {
        Ok(c) => c,
        Err(Refusal::Show(which)) => return Ok(show(&w, which)),
        Err(Refusal::Redirect(to)) => return Ok(Redirect::to(&to).into_response()),
    };
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/oauth/authorize");
    let t = w.ctx.lang.texts();
    let mut lines: Vec<String> = checked
        .scopes
        .resources
        .iter()
        .map(|s| describe(t, s))
        .collect();
    if checked.scopes.openid || checked.scopes.fhir_user {
        lines.push(t.scope_identity.to_owned());
    }
    Ok(render(&ConsentPage {
        page: &page,
        app: checked.client.name.clone(),
        lines,
        patient_only: checked.patient.is_some()
            && checked
                .scopes
                .resources
                .iter()
                .all(|s| s.context == Context::Patient),
        offline: checked.scopes.offline_access,
        redirect_uri: checked.redirect_uri.clone(),
        params: as_params(&params),
    }))
}

#[derive(Deserialize)]
pub struct Decision {
    decision: String,
    #[serde(flatten)]
    params: AuthorizeParams,
}

pub async fn authorize(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<Decision>,
) -> AppResult<Response> {
    // The request is checked again: the form's hidden fields are the client's word.
    let checked = match oauth::check(&state, &form.params, &me.user).await? {
        Ok(c) => c,
        Err(Refusal::Show(which)) => return Ok(show(&w, which)),
        Err(Refusal::Redirect(to)) => return Ok(Redirect::to(&to).into_response()),
    };
    let to = if form.decision == "allow" {
        oauth::approve(&state, &w.ctx, &me.user, &checked).await?
    } else {
        oauth::deny(&checked)
    };
    Ok(Redirect::to(&to).into_response())
}

/// After signing in: the authorization request that sent the person to sign in, if any
/// (only ever an `/oauth/authorize` path on this site), with the cookie cleared.
pub fn return_after_sign_in(headers: &HeaderMap) -> Option<(String, HeaderValue)> {
    let back = cookie(headers, RETURN_COOKIE)?;
    let back = urldecode(back)?;
    if !(back.starts_with("/oauth/authorize?") && super::is_local_path(&back)) {
        return None;
    }
    let clear = HeaderValue::from_str(&format!(
        "{RETURN_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .ok()?;
    Some((back, clear))
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)])
        .unwrap_or_default()
        .trim_start_matches("v=")
        .to_owned()
}

fn urldecode(s: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
        .ok()?
        .pop()
        .map(|(_, v)| v)
}

// ---- endpoints apps call ---------------------------------------------------------------------

/// HTTP Basic client credentials (RFC 6749 §2.3.1: form-encoded id and secret).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(raw.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((urldecode(id)?, urldecode(secret)?))
}

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn oauth_error(e: oauth::OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = no_store((status, Json(e)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"telemed\""),
        );
    }
    r
}

pub async fn token(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> AppResult<Response> {
    let client = match oauth::authenticate_client(&state, basic(&headers), &form).await? {
        Ok(c) => c,
        Err(e) => return Ok(oauth_error(e)),
    };
    Ok(match oauth::token(&state, &ctx, &client, &form).await? {
        Ok(t) => no_store(Json(t).into_response()),
        Err(e) => oauth_error(e),
    })
}

pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> AppResult<Response> {
    let client = match oauth::authenticate_client(&state, basic(&headers), &form).await? {
        Ok(c) => c,
        Err(e) => return Ok(oauth_error(e)),
    };
    oauth::revoke(
        &state,
        &ctx,
        &client,
        form.token.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(no_store(StatusCode::OK.into_response()))
}

// ---- the admin's apps ---------------------------------------------------------------------------

struct AppRow {
    id: OAuthClientId,
    name: String,
    scopes: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "admin_apps.html")]
struct AppsPage<'a> {
    page: &'a Page,
    created: Option<(OAuthClientId, Option<String>)>,
    error: Option<String>,
    apps: Vec<AppRow>,
}

async fn apps_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    created: Option<(OAuthClientId, Option<String>)>,
    error: Option<&Error>,
) -> AppResult<Response> {
    if me.role() != Role::Admin {
        return Err(Error::Forbidden.into());
    }
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/apps");
    let apps = state
        .store
        .oauth_clients()
        .await?
        .into_iter()
        .map(|c| AppRow {
            id: c.id,
            name: c.name,
            scopes: c.scopes,
            disabled: c.disabled,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &AppsPage {
            page: &page,
            created,
            error: error.map(|e| page.form_error(e)),
            apps,
        },
    ))
}

pub async fn apps(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    apps_page(&state, &w, &me, None, None).await
}

#[derive(Deserialize)]
pub struct NewAppForm {
    name: String,
    redirect_uris: String,
    scopes: String,
    confidential: Option<String>,
}

pub async fn register_app(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<NewAppForm>,
) -> AppResult<Response> {
    let registered = oauth::register(
        &state,
        &w.ctx,
        &me.principal,
        oauth::NewApp {
            name: &form.name,
            redirect_uris: &form.redirect_uris,
            scopes: &form.scopes,
            confidential: form.confidential.is_some(),
        },
    )
    .await;
    match registered {
        Ok(created) => apps_page(&state, &w, &me, Some(created), None).await,
        Err(e @ Error::Invalid { .. }) => apps_page(&state, &w, &me, None, Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn disable_app(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = OAuthClientId::from_path(&id)?;
    oauth::disable(&state, &w.ctx, &me.principal, id).await?;
    Ok(Redirect::to("/admin/apps").into_response())
}

/// `GET /oauth/jwks`: the key that signs id_tokens.
pub async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.id_token_key.jwks())
}
