//! SMART App Launch against telemed: an admin registers an app, a patient consents,
//! the app trades the code (with PKCE) for tokens, reads the patient's compartment and
//! nothing else, refreshes, and loses access the moment it is revoked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use telemed_domain::Role;
use telemed_testkit::{location, Backend, TestApp, WebClient};

use super::messaging::{count, give_a_visit, Api};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-long-and-random-pkce-verifier-of-the-app-0123456789";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    serde_urlencoded::from_str(q).unwrap()
}

fn param(url: &str, key: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// An admin registers an app through the admin page; its client_id (and secret).
async fn register(app: &TestApp, scopes: &str, confidential: bool) -> (String, Option<String>) {
    let admin = app.create_user(Role::Admin).await;
    let web = app.signed_in_web(&admin).await;
    let mut fields = vec![
        ("name", "Vitals Tracker"),
        ("redirect_uris", REDIRECT),
        ("scopes", scopes),
    ];
    if confidential {
        fields.push(("confidential", "1"));
    }
    let r = web.post("/admin/apps", &fields).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let code = |id: &str| {
        html.split(&format!("id=\"{id}\">"))
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .map(str::to_owned)
    };
    (
        code("client-id").expect("the client id is shown"),
        code("client-secret"),
    )
}

fn authorize_path(client_id: &str, scope: &str, state: &str) -> String {
    let q = serde_urlencoded::to_string([
        ("nonce", "n-0S6_WzA2Mj"),
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", state),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    format!("/oauth/authorize?{q}")
}

/// The person consents (or not) on the page; where the browser is sent.
async fn consent(web: &WebClient, path: &str, decision: &str) -> String {
    let page = web.get(path).await;
    assert_eq!(page.status(), 200, "{path}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Vitals Tracker"),
        "the consent page names the app"
    );
    let mut fields: Vec<(String, String)> = query_of(path);
    fields.push(("decision".into(), decision.into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = web.post("/oauth/authorize", &borrowed).await;
    assert_eq!(r.status(), 303);
    location(&r).unwrap()
}

/// The person allows the app; the app trades the code. The token response.
async fn authorized(app: &TestApp, web: &WebClient, client_id: &str, asked: &str) -> Value {
    let back = consent(web, asked, "allow").await;
    let code = param(&back, "code").unwrap();
    let (status, t) = token_request(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{t}");
    t
}

async fn token_request(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap())
}

async fn fhir(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(app.url(&format!("/fhir/R4/{path}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ids(bundle: &Value) -> usize {
    bundle["entry"].as_array().map_or(0, Vec::len)
}

/// Whether a JWT's ES256 signature verifies with the key of the server's JWKS.
async fn signature_holds(app: &TestApp, jwt: &str) -> bool {
    let jwks: Value = reqwest::get(app.url("/oauth/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(key["y"].as_str().unwrap()).unwrap());
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(input.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], key["kid"]);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(
            input.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .is_ok()
}

/// The claims of an id_token whose signature verifies.
async fn verified_claims(app: &TestApp, jwt: &str) -> Value {
    assert!(
        signature_holds(app, jwt).await,
        "the id_token's signature verifies"
    );
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn a_patient_app_reads_its_patient_only_and_loses_access_when_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let (client_id, secret) = register(
        &app,
        "launch/patient openid fhirUser offline_access patient/*.rs",
        false,
    )
    .await;
    assert_eq!(secret, None, "a public client has no secret");
    // The patient and a record, and another patient with one.
    let patient = app.create_named_user(Role::Patient, "Ana López").await;
    let other = app.create_user(Role::Patient).await;
    for p in [&patient, &other] {
        let clinician = app.create_user(Role::Clinician).await;
        let ct = app.token_for(&clinician, None).await;
        give_a_visit(&app, &clinician, p).await;
        let (s, _) = api
            .call(
                "POST",
                &format!("/api/v1/patients/{}/record/vitals", p.id),
                &ct,
                Some(json!({"code_system": "http://loinc.org", "code": "8867-4", "value": 70})),
            )
            .await;
        assert_eq!(s, 201);
    }

    // Signed out: to the sign-in page, then straight back to the request.
    let web = app.web();
    let asked = authorize_path(
        &client_id,
        "launch/patient openid fhirUser offline_access patient/Observation.rs patient/Patient.rs",
        "xyz",
    );
    let r = web.get(&asked).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r).as_deref(), Some("/login"));
    let (status, next) = web.sign_in(&patient.email, &patient.password).await;
    assert_eq!(status, 303);
    assert_eq!(
        next.as_deref(),
        Some(asked.as_str()),
        "back to the app's request"
    );

    // Consent; the code comes back with the state.
    let back = consent(&web, &asked, "allow").await;
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    let code = param(&back, "code").expect("a code");

    // The wrong verifier spends nothing useful… and a wrong redirect neither.
    let grants_before = count(&app, "oauth_tokens").await;
    let (status, e) = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            (
                "code_verifier",
                "another-verifier-that-is-long-enough-to-be-valid-000",
            ),
        ],
    )
    .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(count(&app, "oauth_tokens").await, grants_before);
    // The code was spent by the refusal, and the trail says so.
    assert_eq!(token_audits(&app, "oauth.token.refused").await, 1);

    // A second consent gives a fresh code, traded properly.
    let back = consent(&web, &asked, "allow").await;
    let code = param(&back, "code").unwrap();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let (status, t) = token_request(&app, &exchange).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    assert_eq!(t["patient"], patient.id.to_string());
    assert_eq!(
        t["scope"],
        "launch/patient openid fhirUser offline_access patient/Observation.rs patient/Patient.rs"
    );
    let access = t["access_token"].as_str().unwrap().to_owned();
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();

    // openid fhirUser: an id_token signed with the key the JWKS publishes.
    let id_token = t["id_token"].as_str().expect("an id_token");
    let claims = verified_claims(&app, id_token).await;
    assert_eq!(claims["sub"], patient.id.to_string());
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert!(claims["iss"].as_str().unwrap().ends_with("/fhir/R4"));
    assert!(claims["fhirUser"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/fhir/R4/Patient/{}", patient.id)));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    // A token whose payload was changed does not verify.
    let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();
    let mut forged = claims.clone();
    forged["sub"] = json!(other.id.to_string());
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert!(!signature_holds(&app, &parts.join(".")).await);

    // The compartment: own observations (with or without naming the patient), nobody else's.
    let (s, own) = fhir(&app, "Observation", &access).await;
    assert_eq!((s, ids(&own)), (200, 1), "{own}");
    let (s, own) = fhir(
        &app,
        &format!("Observation?patient={}", patient.id),
        &access,
    )
    .await;
    assert_eq!((s, ids(&own)), (200, 1));
    let (s, theirs) = fhir(&app, &format!("Observation?patient={}", other.id), &access).await;
    assert_eq!((s, ids(&theirs)), (200, 0));
    let (s, _) = fhir(&app, &format!("Patient/{}", other.id), &access).await;
    assert_eq!(s, 404);
    let (s, me) = fhir(&app, &format!("Patient/{}", patient.id), &access).await;
    assert_eq!((s, me["name"][0]["family"].as_str()), (200, Some("López")));
    // Scopes narrow: no Condition scope was granted.
    let (s, o) = fhir(&app, "Condition", &access).await;
    assert_eq!(s, 403, "{o}");

    // A code is spent once; a replay revokes what it gave.
    let (status, e) = token_request(&app, &exchange).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = fhir(&app, "Observation", &access).await;
    assert_eq!(s, 401, "the replayed code's tokens are revoked");
    assert_eq!(
        token_audits(&app, "oauth.token.replayed").await,
        1,
        "a replay and the revocation it caused are in the audit trail"
    );
    let (status, _) = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, 400);

    // Again, properly: refresh rotates, a reused refresh token revokes the grant.
    let t = authorized(&app, &web, &client_id, &asked).await;
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let (status, t2) = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{t2}");
    let access2 = t2["access_token"].as_str().unwrap().to_owned();
    assert_ne!(t2["refresh_token"], t["refresh_token"]);
    assert_eq!(fhir(&app, "Observation", &access2).await.0, 200);
    let (status, e) = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(fhir(&app, "Observation", &access2).await.0, 401);
    assert_eq!(token_audits(&app, "oauth.token.replayed").await, 2);

    // Revocation by the app (RFC 7009) takes effect on the next request.
    let t = authorized(&app, &web, &client_id, &asked).await;
    let access3 = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(fhir(&app, "Observation", &access3).await.0, 200);
    let r = reqwest::Client::new()
        .post(app.url("/oauth/revoke"))
        .form(&[
            ("token", access3.as_str()),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fhir(&app, "Observation", &access3).await.0, 401);

    // …and by the person, from their account page.
    let t = authorized(&app, &web, &client_id, &asked).await;
    let access4 = t["access_token"].as_str().unwrap().to_owned();
    let page = web.get("/account/tokens").await.text().await.unwrap();
    let grant = page
        .split("/account/apps/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the app is listed")
        .to_owned();
    let r = web
        .post(&format!("/account/apps/{grant}/revoke"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(fhir(&app, "Observation", &access4).await.0, 401);

    // Saying no sends the app an error, and gives nothing.
    let tokens = count(&app, "oauth_tokens").await;
    let back = consent(&web, &asked, "deny").await;
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    assert_eq!(param(&back, "code"), None);
    assert_eq!(count(&app, "oauth_tokens").await, tokens);

    // The audit trail has the consents, the tokens and the revocations.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('oauth.authorize', 'oauth.token.issue', 'oauth.token.refresh', 'oauth.revoke')",
    )
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert!(audited >= 11, "{audited}");
    app.shutdown().await;
}

async fn bad_authorization_requests_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client_id, secret) = register(&app, "patient/*.rs user/*.rs", true).await;
    let secret = secret.expect("a confidential client gets a secret");
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let web = app.signed_in_web(&patient).await;
    let stored = count(&app, "oauth_grants").await;

    // Before the client and redirect are known good: a page, never a redirect.
    for path in [
        authorize_path("not-a-client", "patient/*.rs", "s"),
        authorize_path(
            &telemed_domain::OAuthClientId::new().to_string(),
            "patient/*.rs",
            "s",
        ),
        authorize_path(&client_id, "patient/*.rs", "s").replace("127.0.0.1%3A9", "evil.example"),
    ] {
        let r = web.get(&path).await;
        assert_eq!(r.status(), 400, "{path}");
        assert!(location(&r).is_none());
    }
    // After: the app is told, through its redirect URI.
    let without_pkce =
        authorize_path(&client_id, "patient/*.rs", "s").replace("&code_challenge_method=S256", "");
    let cases = [
        (without_pkce, "invalid_request"),
        (
            authorize_path(&client_id, "patient/*.rs", "s")
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            authorize_path(&client_id, "patient/*.rs banana", "s"),
            "invalid_scope",
        ),
        (
            authorize_path(&client_id, "system/*.rs", "s"),
            "invalid_scope",
        ),
        (
            format!(
                "{}&aud=https%3A%2F%2Fother.example%2Ffhir",
                authorize_path(&client_id, "patient/*.rs", "s")
            ),
            "invalid_request",
        ),
    ];
    for (path, error) in cases {
        let r = web.get(&path).await;
        assert_eq!(r.status(), 303, "{path}");
        let to = location(&r).unwrap();
        assert!(to.starts_with(REDIRECT), "{to}");
        assert_eq!(param(&to, "error").as_deref(), Some(error), "{path}");
        assert_eq!(param(&to, "state").as_deref(), Some("s"));
    }
    // A clinician cannot take patient scopes (there is no patient picker).
    let cweb = app.signed_in_web(&clinician).await;
    let r = cweb
        .get(&authorize_path(
            &client_id,
            "launch/patient patient/*.rs",
            "s",
        ))
        .await;
    assert_eq!(
        param(&location(&r).unwrap(), "error").as_deref(),
        Some("invalid_scope")
    );
    // Asking for more than registered grants only what was registered.
    let back = consent(
        &web,
        &authorize_path(&client_id, "patient/*.cruds", "s"),
        "allow",
    )
    .await;
    let code = param(&back, "code").unwrap();
    // A confidential client must authenticate: no secret, wrong secret → 401.
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let mut form = base.to_vec();
    form.push(("client_id", &client_id));
    let (status, e) = token_request(&app, &form).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
    form.push(("client_secret", "tm_ocs_wrong"));
    let (status, _) = token_request(&app, &form).await;
    assert_eq!(status, 401);
    // HTTP Basic with the right secret.
    let r = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["scope"], "patient/*.rs");
    assert!(
        t.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    assert!(t.get("id_token").is_none(), "no openid, no id_token");
    let (status, e) = token_request(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    assert_eq!(count(&app, "oauth_grants").await, stored + 1);

    // A bad registration is refused with the field named, nothing stored.
    let admin = app.create_user(Role::Admin).await;
    let aweb = app.signed_in_web(&admin).await;
    let clients = count(&app, "oauth_clients").await;
    for (uris, scopes) in [
        ("http://app.example/cb", "patient/*.rs"),
        ("https://app.example/cb#x", "patient/*.rs"),
        ("https://app.example/cb", "system/*.rs"),
        ("https://app.example/cb", "patient/Observation.rz"),
    ] {
        let r = aweb
            .post(
                "/admin/apps",
                &[("name", "X"), ("redirect_uris", uris), ("scopes", scopes)],
            )
            .await;
        assert_eq!(r.status(), 400, "{uris} {scopes}");
    }
    assert_eq!(count(&app, "oauth_clients").await, clients);
    // Only admins register apps.
    let r = web
        .post(
            "/admin/apps",
            &[
                ("name", "X"),
                ("redirect_uris", REDIRECT),
                ("scopes", "patient/*.rs"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);

    // The SMART configuration says where to go and what is supported.
    let conf: Value = reqwest::get(app.url("/fhir/R4/.well-known/smart-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(conf["code_challenge_methods_supported"], json!(["S256"]));
    assert!(conf["authorization_endpoint"]
        .as_str()
        .unwrap()
        .ends_with("/oauth/authorize"));
    assert!(conf["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("permission-v2")));
    app.shutdown().await;
}

/// A SMART app served from another origin may call the FHIR API and the token endpoint
/// (preflight and actual requests), without credentials; pages and the JSON API that
/// cookies reach stay same-origin.
async fn browser_apps_call_fhir_across_origins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = app.client();
    let origin = "https://app.example";
    let patient = app.create_user(Role::Patient).await;
    let token = app.token_for(&patient, None).await;
    let preflight = http
        .request(reqwest::Method::OPTIONS, app.url("/fhir/R4/Observation"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, if-none-exist",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in ["authorization", "content-type", "if-none-exist"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(h.get("access-control-allow-credentials").is_none());
    let r = http
        .get(app.url(&format!("/fhir/R4/Patient/{}", patient.id)))
        .header("origin", origin)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase()
        .contains("etag"));
    let token_preflight = http
        .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        token_preflight.headers()["access-control-allow-origin"],
        "*"
    );
    for path in ["/login", "/api/v1/me", "/oauth/authorize"] {
        let r = http
            .get(app.url(path))
            .header("origin", origin)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{path} is same-origin only"
        );
    }
    app.shutdown().await;
}

on_both_databases!(
    browser_apps_call_fhir_across_origins,
    a_patient_app_reads_its_patient_only_and_loses_access_when_revoked,
    bad_authorization_requests_are_refused,
);

/// How many denied audit entries of `action` the token endpoint left.
async fn token_audits(app: &TestApp, action: &str) -> i64 {
    app.flush_audit().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND outcome = 'denied'")
        .bind(action.to_owned())
        .fetch_one(app.state().store.pool())
        .await
        .unwrap()
}
