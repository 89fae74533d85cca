//! OAuth 2 for FHIR apps, the SMART App Launch way: authorization code with PKCE (S256,
//! required of every client), refresh tokens that rotate, revocation that ends a grant's
//! tokens at once, clients registered by an admin. Used by `web::oauth` (the consent
//! page, the token and revocation endpoints, the admin's app list) and `fhir::caller`.

use chrono::Duration;
use serde::Serialize;
use telemed_domain::access::Principal;
use telemed_domain::audit::Outcome;
use telemed_domain::oauth::{self as rules, ACCESS_SECONDS, CODE_SECONDS, REFRESH_DAYS};
use telemed_domain::{Error, OAuthClientId, OAuthGrantId, Result, Role, UserId};
use telemed_fhir::scopes::Context;
use telemed_fhir::Scopes;
use telemed_store::oauth::{self as store, Client, CodeUse, Grant, RefreshUse, TokenKind};
use telemed_store::users::User;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::{constant_time_eq, random_token, token_hash};
use crate::AppState;

pub const ACCESS_PREFIX: &str = "tm_oat_";
const REFRESH_PREFIX: &str = "tm_ort_";
const CODE_PREFIX: &str = "tm_oac_";
const SECRET_PREFIX: &str = "tm_ocs_";

/// The scopes an admin may let an app ask for.
pub const GRANTABLE: &str =
    "launch/patient openid fhirUser offline_access patient/*.cruds user/*.cruds";

// ---- registration --------------------------------------------------------------------------

pub struct NewApp<'a> {
    pub name: &'a str,
    pub redirect_uris: &'a str,
    pub scopes: &'a str,
    pub confidential: bool,
}

/// Registers an app; a confidential one gets a secret, shown once.
pub async fn register(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    new: NewApp<'_>,
) -> Result<(OAuthClientId, Option<String>)> {
    if admin.role != Role::Admin {
        return Err(Error::Forbidden);
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "name the app in 1 to 80 characters"));
    }
    let uris: Vec<String> = new
        .redirect_uris
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if uris.is_empty() || uris.len() > 10 {
        return Err(Error::invalid(
            "redirect_uris",
            "give 1 to 10 redirect URIs",
        ));
    }
    for u in &uris {
        rules::validate_redirect_uri(u)?;
    }
    let scopes = Scopes::parse(new.scopes)?;
    let grantable = Scopes::parse(GRANTABLE)?;
    if scopes.within(&grantable) != scopes || scopes.resources.is_empty() {
        return Err(Error::invalid(
            "scopes",
            "give the resource scopes the app may ask for (patient/… or user/…)",
        ));
    }
    let secret = new.confidential.then(|| random_token(SECRET_PREFIX));
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let id = store::insert_client(
        change.tx(),
        store::NewClient {
            name,
            redirect_uris: &uris,
            secret_hash: secret.as_deref().map(token_hash).as_deref(),
            scopes: &scopes.to_scope_string(),
            created_by: admin.user_id,
        },
        now,
    )
    .await?;
    let record = Event::new(ctx, now, "oauth.client.register", "oauth_client")
        .by(admin.user_id, admin.role)
        .on(id)
        .build();
    change.audit(record);
    change.commit().await?;
    Ok((id, secret))
}

pub async fn disable(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    id: OAuthClientId,
) -> Result<()> {
    if admin.role != Role::Admin {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if !store::disable_client(change.tx(), id, now).await? {
        return Err(Error::NotFound);
    }
    let record = Event::new(ctx, now, "oauth.client.disable", "oauth_client")
        .by(admin.user_id, admin.role)
        .on(id)
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(())
}

// ---- authorization request -----------------------------------------------------------------

/// The parameters of `GET /oauth/authorize`.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub aud: Option<String>,
    /// OpenID Connect: echoed in the id_token.
    pub nonce: Option<String>,
}

/// Why a request was refused: before the client and its redirect URI are known good, the
/// person is told on the page (never redirected to an unchecked URI); after, the app is
/// told through its redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug)]
pub enum Refusal {
    Show(&'static str),
    Redirect(String),
}

/// A request that passed every check, waiting for the person's consent.
#[derive(Debug, Clone)]
pub struct Checked {
    pub client: Client,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub code_challenge: String,
    pub patient: Option<UserId>,
    pub nonce: Option<String>,
}

/// `redirect_uri` with the response's parameters appended.
fn redirect_with(uri: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

fn refusal(uri: &str, state: Option<&str>, error: &str, description: &str) -> Refusal {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    Refusal::Redirect(redirect_with(uri, &params))
}

pub async fn check(
    state: &AppState,
    params: &AuthorizeParams,
    user: &User,
) -> Result<std::result::Result<Checked, Refusal>> {
    let Some(client) = (match params.client_id.as_deref().map(str::parse::<OAuthClientId>) {
        Some(Ok(id)) => state.store.oauth_client(id).await?,
        _ => None,
    })
    .filter(|c| !c.disabled) else {
        return Ok(Err(Refusal::Show("unknown_client")));
    };
    let Some(redirect_uri) = params
        .redirect_uri
        .clone()
        .filter(|u| client.redirect_uris.contains(u))
    else {
        return Ok(Err(Refusal::Show("bad_redirect")));
    };
    let app_state = params.state.as_deref();
    let refuse = |error: &str, description: &str| {
        Ok(Err(refusal(&redirect_uri, app_state, error, description)))
    };
    if params.response_type.as_deref() != Some("code") {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let challenge = params.code_challenge.clone().unwrap_or_default();
    if params.code_challenge_method.as_deref() != Some("S256")
        || !rules::valid_challenge(&challenge)
    {
        return refuse(
            "invalid_request",
            "PKCE is required: code_challenge with code_challenge_method=S256",
        );
    }
    let fhir_base = state.config.fhir_base_url();
    if params
        .aud
        .as_deref()
        .is_some_and(|a| a.trim_end_matches('/') != fhir_base)
    {
        return refuse("invalid_request", "aud is not this FHIR server");
    }
    let Ok(asked) = Scopes::parse(params.scope.as_deref().unwrap_or_default()) else {
        return refuse(
            "invalid_scope",
            "a requested scope is not one telemed grants",
        );
    };
    let allowed = Scopes::parse(&client.scopes)?;
    let mut scopes = asked.within(&allowed);
    let wants_patient = scopes.launch_patient
        || scopes
            .resources
            .iter()
            .any(|s| s.context == Context::Patient);
    let patient =
        match (wants_patient, user.role) {
            (false, _) => None,
            (true, Role::Patient) => Some(user.id),
            (true, _) => return refuse(
                "invalid_scope",
                "patient scopes are for a patient's own apps; clinicians' apps use user/ scopes",
            ),
        };
    // System scopes are never given to an app acting for a person.
    scopes.resources.retain(|s| s.context != Context::System);
    if scopes.resources.is_empty() {
        return refuse(
            "invalid_scope",
            "no requested scope can be granted to this app",
        );
    }
    Ok(Ok(Checked {
        client,
        redirect_uri,
        scopes,
        state: params.state.clone(),
        code_challenge: challenge,
        patient,
        nonce: params.nonce.clone().filter(|n| n.len() <= 256),
    }))
}

/// The person said yes: a grant and a one-time code; the URI to send the browser to.
pub async fn approve(state: &AppState, ctx: &Ctx, user: &User, req: &Checked) -> Result<String> {
    let now = state.clock.now();
    let code = random_token(CODE_PREFIX);
    let mut change = Change::begin(state).await?;
    let grant = store::insert_grant(
        change.tx(),
        store::NewGrant {
            client_id: req.client.id,
            user_id: user.id,
            scopes: &req.scopes.to_scope_string(),
            patient: req.patient,
        },
        now,
    )
    .await?;
    store::insert_code(
        change.tx(),
        store::NewCode {
            code_hash: &token_hash(&code),
            grant,
            redirect_uri: &req.redirect_uri,
            code_challenge: &req.code_challenge,
            nonce: req.nonce.as_deref(),
            expires_at: now + Duration::seconds(CODE_SECONDS),
        },
    )
    .await?;
    let record = Event::new(ctx, now, "oauth.authorize", "oauth_grant")
        .by(user.id, user.role)
        .on(grant)
        .detail(req.client.id.to_string())
        .build();
    change.audit(record);
    change.commit().await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        params.push(("state", s));
    }
    Ok(redirect_with(&req.redirect_uri, &params))
}

/// The person said no.
pub fn deny(req: &Checked) -> String {
    match refusal(
        &req.redirect_uri,
        req.state.as_deref(),
        "access_denied",
        "the person declined",
    ) {
        Refusal::Redirect(uri) => uri,
        Refusal::Show(_) => req.redirect_uri.clone(),
    }
}

// ---- token endpoint ------------------------------------------------------------------------

/// The form of `POST /oauth/token` and `POST /oauth/revoke`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub token: Option<String>,
}

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Debug, Serialize)]
pub struct OAuthError {
    pub error: &'static str,
    pub error_description: &'static str,
}

impl OAuthError {
    fn new(error: &'static str, error_description: &'static str) -> OAuthError {
        OAuthError {
            error,
            error_description,
        }
    }
    pub fn status(&self) -> u16 {
        if self.error == "invalid_client" {
            401
        } else {
            400
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// The client a token request is from: HTTP Basic or form credentials for a confidential
/// client, the client_id alone for a public one.
pub async fn authenticate_client(
    state: &AppState,
    basic: Option<(String, String)>,
    form: &TokenForm,
) -> Result<std::result::Result<Client, OAuthError>> {
    let (id, secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (form.client_id.clone(), form.client_secret.clone()),
    };
    let invalid = || {
        Ok(Err(OAuthError::new(
            "invalid_client",
            "unknown client or wrong secret",
        )))
    };
    let Some(Ok(id)) = id.map(|i| i.parse::<OAuthClientId>()) else {
        return invalid();
    };
    let Some(client) = state.store.oauth_client(id).await?.filter(|c| !c.disabled) else {
        return invalid();
    };
    let authenticated = match (&client.secret_hash, secret) {
        (None, None) => true,
        (Some(stored), Some(given)) => {
            constant_time_eq(stored.as_bytes(), token_hash(&given).as_bytes())
        }
        _ => false,
    };
    if !authenticated {
        return invalid();
    }
    Ok(Ok(client))
}

/// An id_token for a grant with `openid`: who the user is (`sub`), and with
/// `fhirUser` their FHIR resource.
async fn id_token(
    conn: &mut telemed_store::Conn,
    state: &AppState,
    grant: &Grant,
    scopes: &Scopes,
    nonce: Option<&str>,
) -> Result<Option<String>> {
    if !scopes.openid {
        return Ok(None);
    }
    let now = state.clock.now();
    let base = state.config.fhir_base_url();
    let mut claims = serde_json::json!({
        "iss": base,
        "sub": grant.user_id.to_string(),
        "aud": grant.client_id.to_string(),
        "iat": now.timestamp(),
        "exp": now.timestamp() + ACCESS_SECONDS,
    });
    if let Some(n) = nonce {
        claims["nonce"] = serde_json::json!(n);
    }
    if scopes.fhir_user {
        let kind = match store::role_of(conn, grant.user_id).await? {
            Some(Role::Patient) => Some("Patient"),
            Some(Role::Clinician) => Some("Practitioner"),
            _ => None,
        };
        if let Some(kind) = kind {
            claims["fhirUser"] = serde_json::json!(format!("{base}/{kind}/{}", grant.user_id));
        }
    }
    state.id_token_key.sign(&claims).map(Some)
}

async fn issue(
    conn: &mut telemed_store::Conn,
    state: &AppState,
    grant: &Grant,
    nonce: Option<&str>,
) -> Result<TokenResponse> {
    let now = state.clock.now();
    let access = random_token(ACCESS_PREFIX);
    store::insert_token(
        conn,
        &token_hash(&access),
        grant.id,
        TokenKind::Access,
        now,
        now + Duration::seconds(ACCESS_SECONDS),
    )
    .await?;
    let scopes = Scopes::parse(&grant.scopes)?;
    let refresh = if scopes.offline_access {
        let r = random_token(REFRESH_PREFIX);
        store::insert_token(
            conn,
            &token_hash(&r),
            grant.id,
            TokenKind::Refresh,
            now,
            now + Duration::days(REFRESH_DAYS),
        )
        .await?;
        Some(r)
    } else {
        None
    };
    let id_token = id_token(conn, state, grant, &scopes, nonce).await?;
    Ok(TokenResponse {
        id_token,
        access_token: access,
        token_type: "Bearer",
        expires_in: ACCESS_SECONDS,
        scope: grant.scopes.clone(),
        refresh_token: refresh,
        patient: grant.patient.map(|p| p.to_string()),
    })
}

fn token_event(
    ctx: &Ctx,
    state: &AppState,
    action: &str,
    grant: &Grant,
) -> telemed_domain::audit::AuditRecord {
    Event::new(ctx, state.clock.now(), action, "oauth_grant")
        .on(grant.id)
        .detail(grant.client_id.to_string())
        .build()
}

/// The audit entry of a token request refused after it spent a code or refresh token
/// (the wrong client, redirect URI or verifier) or revoked a grant (a replay).
fn refusal_event(ctx: &Ctx, state: &AppState, action: &str, grant: OAuthGrantId) -> Event {
    Event::new(ctx, state.clock.now(), action, "oauth_grant")
        .on(grant)
        .outcome(Outcome::Denied)
}

/// `grant_type=authorization_code` or `refresh_token`. Whatever the request changed
/// (a code or refresh token spent, a grant revoked on replay) is audited with it; a
/// request that changed nothing (an unknown code) writes nothing.
pub async fn token(
    state: &AppState,
    ctx: &Ctx,
    client: &Client,
    form: &TokenForm,
) -> Result<std::result::Result<TokenResponse, OAuthError>> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let outcome = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let code = form.code.as_deref().unwrap_or_default();
            match store::spend_code(change.tx(), &token_hash(code), now).await? {
                CodeUse::Fresh {
                    grant,
                    redirect_uri,
                    code_challenge,
                    nonce,
                } => {
                    let verifier = form.code_verifier.as_deref().unwrap_or_default();
                    if grant.client_id != client.id
                        || form.redirect_uri.as_deref() != Some(redirect_uri.as_str())
                        || !rules::pkce_matches(verifier, &code_challenge)
                    {
                        change.audit(
                            refusal_event(ctx, state, "oauth.token.refused", grant.id)
                                .detail(client.id.to_string()),
                        );
                        Err(OAuthError::new(
                            "invalid_grant",
                            "the code, redirect_uri or code_verifier does not match",
                        ))
                    } else {
                        let issued = issue(change.tx(), state, &grant, nonce.as_deref()).await?;
                        change.audit(token_event(ctx, state, "oauth.token.issue", &grant));
                        Ok(issued)
                    }
                }
                CodeUse::Replayed(grant) => {
                    // A code used twice was stolen or replayed: what it gave is revoked.
                    store::revoke_grant(change.tx(), grant, None, now).await?;
                    change.audit(
                        refusal_event(ctx, state, "oauth.token.replayed", grant)
                            .detail(format!("code; {}", client.id)),
                    );
                    Err(OAuthError::new(
                        "invalid_grant",
                        "the code was used already",
                    ))
                }
                CodeUse::Invalid => {
                    Err(OAuthError::new("invalid_grant", "unknown or expired code"))
                }
            }
        }
        Some("refresh_token") => {
            let token = form.refresh_token.as_deref().unwrap_or_default();
            match store::spend_refresh(change.tx(), &token_hash(token), now).await? {
                RefreshUse::Fresh(grant) if grant.client_id == client.id => {
                    let issued = issue(change.tx(), state, &grant, None).await?;
                    change.audit(token_event(ctx, state, "oauth.token.refresh", &grant));
                    Ok(issued)
                }
                RefreshUse::Fresh(grant) => {
                    // Another client's token: spent, refused, and said so.
                    change.audit(
                        refusal_event(ctx, state, "oauth.token.refused", grant.id)
                            .detail(client.id.to_string()),
                    );
                    Err(OAuthError::new(
                        "invalid_grant",
                        "unknown, expired or revoked refresh token",
                    ))
                }
                RefreshUse::Replayed(grant) => {
                    store::revoke_grant(change.tx(), grant, None, now).await?;
                    change.audit(
                        refusal_event(ctx, state, "oauth.token.replayed", grant)
                            .detail(format!("refresh token; {}", client.id)),
                    );
                    Err(OAuthError::new(
                        "invalid_grant",
                        "the refresh token was used already; the authorization is revoked",
                    ))
                }
                RefreshUse::Invalid => Err(OAuthError::new(
                    "invalid_grant",
                    "unknown, expired or revoked refresh token",
                )),
            }
        }
        _ => Err(OAuthError::new(
            "unsupported_grant_type",
            "grant_type is authorization_code or refresh_token",
        )),
    };
    if change.has_audit() {
        change.commit().await?;
    } else {
        change.rollback().await?;
    }
    Ok(outcome)
}

/// RFC 7009: revokes the grant a token belongs to (if it is this client's); answers the
/// same whether or not the token was known.
pub async fn revoke(state: &AppState, ctx: &Ctx, client: &Client, token: &str) -> Result<()> {
    let Some(grant) = state.store.grant_of_token(&token_hash(token)).await? else {
        return Ok(());
    };
    if grant.client_id != client.id || grant.revoked {
        return Ok(());
    }
    match revoke_grant(state, ctx, grant.id, None).await {
        Err(Error::NotFound) => Ok(()),
        other => other,
    }
}

/// Ends an authorization: every token of it stops working at once.
pub async fn revoke_grant(
    state: &AppState,
    ctx: &Ctx,
    grant: OAuthGrantId,
    by: Option<&Principal>,
) -> Result<()> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if !store::revoke_grant(change.tx(), grant, by.map(|p| p.user_id), now).await? {
        return Err(Error::NotFound);
    }
    let mut event = Event::new(ctx, now, "oauth.revoke", "oauth_grant").on(grant);
    if let Some(p) = by {
        event = event.by(p.user_id, p.role);
    }
    change.audit(event);
    change.commit().await?;
    Ok(())
}

/// The scopes telemed grants, for the SMART configuration document.
pub fn grantable() -> Vec<String> {
    Scopes::parse(GRANTABLE)
        .map(|s| s.to_scope_string().split(' ').map(str::to_owned).collect())
        .unwrap_or_default()
}
