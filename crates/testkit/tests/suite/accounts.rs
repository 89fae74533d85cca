//! Accounts through the web UI over HTTP: registration and verification, sign-in with
//! throttling, the second factor, password reset.

use chrono::Duration;
use telemed_domain::Role;
use telemed_testkit::{location, totp_code, Backend, TestApp, WebClient};

const PASSWORD: &str = "amber otter glacier 19";

async fn register(app: &TestApp, web: &WebClient, email: &str) -> reqwest::Response {
    let _ = app;
    web.post(
        "/register",
        &[
            ("display_name", "Rosa Díaz"),
            ("email", email),
            ("password", PASSWORD),
        ],
    )
    .await
}

async fn a_patient_registers_verifies_and_signs_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let web = app.web();
    let r = register(&app, &web, "Rosa.Diaz@Example.org").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Check your email"));
    // Not verified yet: the right password does not open a session, and a new link is sent.
    let (status, _) = web.sign_in("rosa.diaz@example.org", PASSWORD).await;
    assert_eq!(status, 403);
    let mail = app
        .smtp
        .wait_for("rosa.diaz@example.org", "Confirm your email")
        .await;
    assert!(
        !mail.body().contains("Rosa"),
        "no personal detail beyond the link"
    );
    let link = mail.link_path("/verify-email?token=").unwrap();
    // Opening the link only shows a button; the POST confirms.
    let page = web.get(&link).await.text().await.unwrap();
    let token = link.split("token=").nth(1).unwrap();
    assert!(page.contains(token));
    let r = web.post("/verify-email", &[("token", token)]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("confirmed"));
    assert_eq!(
        web.post("/verify-email", &[("token", token)])
            .await
            .status(),
        400,
        "single use"
    );
    assert_eq!(
        web.post("/verify-email", &[("token", "forged")])
            .await
            .status(),
        400
    );

    let (status, next) = web.sign_in("rosa.diaz@example.org", PASSWORD).await;
    assert_eq!((status.as_u16(), next.as_deref()), (303, Some("/")));
    let home = web.get("/").await.text().await.unwrap();
    assert!(home.contains("Rosa Díaz"), "{home}");
    app.shutdown().await;
}

async fn registration_rejects_bad_input_and_reveals_no_accounts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let web = app.web();
    let existing = app.create_user(Role::Clinician).await;
    for (name, email, password) in [
        ("", "a@example.org", PASSWORD),
        ("A", "not-an-email", PASSWORD),
        ("A", "a@example.org", "short"),
        ("A", "a@example.org", "password1234"),
    ] {
        let r = web
            .post(
                "/register",
                &[
                    ("display_name", name),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.status(), 400, "{name:?} {email:?} {password:?}");
    }
    assert_eq!(
        app.state().store.count_users().await.unwrap(),
        1,
        "nothing was created"
    );
    // An email with an account gets the same answer, and a notice by email.
    let r = register(&app, &web, &existing.email).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Check your email"));
    app.smtp.wait_for(&existing.email, "already have").await;
    assert_eq!(app.state().store.count_users().await.unwrap(), 1);
    // Spanish from the browser's language.
    let r = web
        .http
        .get(web.url("/register"))
        .header("accept-language", "es-ES,es;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Cree su cuenta de paciente"));
    app.shutdown().await;
}

async fn failed_sign_ins_lock_without_revealing_accounts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let web = app.web();
    let patient = app.create_user(Role::Patient).await;
    let wrong = web
        .post(
            "/login",
            &[("email", &patient.email), ("password", "wrong password 1")],
        )
        .await;
    let unknown = web
        .post(
            "/login",
            &[
                ("email", "nobody@clinic.example"),
                ("password", "wrong password 1"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(
        a.contains("The email or password is not right.")
            && b.contains("The email or password is not right.")
    );
    // Four more failures lock the account (5 per account by default), known or not.
    for _ in 0..4 {
        web.post(
            "/login",
            &[("email", &patient.email), ("password", "wrong password 2")],
        )
        .await;
        web.post(
            "/login",
            &[
                ("email", "nobody@clinic.example"),
                ("password", "wrong password 2"),
            ],
        )
        .await;
    }
    let (status, _) = web.sign_in(&patient.email, &patient.password).await;
    assert_eq!(status, 429, "locked even with the right password");
    let (status, _) = web
        .sign_in("nobody@clinic.example", "anything at all")
        .await;
    assert_eq!(status, 429, "an unknown account locks the same way");
    // Another account is not affected.
    let other = app.create_user(Role::Patient).await;
    assert_eq!(web.sign_in(&other.email, &other.password).await.0, 303);
    // The lock lifts after its time.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(web.sign_in(&patient.email, &patient.password).await.0, 303);
    // Every attempt is in the audit trail.
    app.flush_audit().await;
    let failures = app
        .state()
        .store
        .search_audit(&telemed_store::audit::AuditFilter {
            action_prefix: Some("auth.sign_in".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let failed = failures
        .iter()
        .filter(|e| e.outcome == telemed_domain::audit::Outcome::Failure)
        .count();
    assert!(
        failed >= 10,
        "{failed} failures: {:#?}",
        failures
            .iter()
            .map(|e| (&e.action, e.outcome, &e.detail))
            .collect::<Vec<_>>()
    );
    assert!(failures
        .iter()
        .any(|e| e.outcome == telemed_domain::audit::Outcome::Denied
            && e.detail.as_deref() == Some("locked")));
    app.shutdown().await;
}

async fn an_address_is_throttled_across_accounts(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login.max_failures_per_address = 3).await;
    let web = app.web();
    for i in 0..3 {
        web.post(
            "/login",
            &[
                ("email", &format!("guess{i}@clinic.example")),
                ("password", "wrong password 3"),
            ],
        )
        .await;
    }
    let user = app.create_user(Role::Patient).await;
    assert_eq!(web.sign_in(&user.email, &user.password).await.0, 429);
    app.shutdown().await;
}

/// Signs a clinician in for the first time: enrolment is required before anything else.
async fn enroll(app: &TestApp, web: &WebClient, email: &str, password: &str) -> String {
    let (status, next) = web.sign_in(email, password).await;
    assert_eq!(
        (status.as_u16(), next.as_deref()),
        (303, Some("/account/mfa"))
    );
    let r = web.get("/").await;
    assert_eq!(
        location(&r).as_deref(),
        Some("/account/mfa"),
        "the rest of the UI waits for enrolment"
    );
    let page = web.get("/account/mfa").await.text().await.unwrap();
    assert!(page.contains("data:image/svg+xml;base64,"), "a QR code");
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let r = web.post("/account/mfa", &[("code", "000000")]).await;
    assert_eq!(r.status(), 400);
    let r = web
        .post(
            "/account/mfa",
            &[("code", &totp_code(&secret, app.clock.now()))],
        )
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("recovery-codes"));
    assert_eq!(
        web.get("/").await.status(),
        200,
        "signed in after enrolment"
    );
    secret
}

trait Now {
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl Now for telemed_domain::ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        telemed_domain::Clock::now(self)
    }
}

async fn clinicians_must_use_a_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let web = app.web();
    let secret = enroll(&app, &web, &clinician.email, &clinician.password).await;
    let first_code = totp_code(&secret, app.clock.now());

    // A new sign-in asks for the code; the password alone opens nothing.
    let web = app.web();
    let (_, next) = web.sign_in(&clinician.email, &clinician.password).await;
    assert_eq!(next.as_deref(), Some("/login/mfa"));
    assert_eq!(
        location(&web.get("/account").await).as_deref(),
        Some("/login/mfa")
    );
    // The code used at enrolment cannot be replayed.
    assert_eq!(
        web.post("/login/mfa", &[("code", &first_code)])
            .await
            .status(),
        401
    );
    app.clock.advance(Duration::seconds(30));
    let r = web
        .post(
            "/login/mfa",
            &[("code", &totp_code(&secret, app.clock.now()))],
        )
        .await;
    assert_eq!(location(&r).as_deref(), Some("/"));
    assert_eq!(web.get("/account").await.status(), 200);

    // The seed is stored sealed under the master key, not as the app was given it.
    let store = &app.state().store;
    let stored_seed = || async {
        sqlx::query_scalar::<_, String>("SELECT totp_secret FROM users WHERE id = $1")
            .bind(clinician.id.to_string())
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    let sealed = stored_seed().await;
    assert!(sealed.starts_with("sealed:v1:"), "{sealed}");
    assert!(!sealed.contains(&secret));
    // A seed an older version stored in plain text still signs in, and is sealed by
    // the sweep every start runs.
    let set_seed = |value: String| async move {
        sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
            .bind(clinician.id.to_string())
            .bind(value)
            .execute(store.pool())
            .await
            .unwrap();
    };
    set_seed(secret.clone()).await;
    let signs_in = |at| {
        let (app, clinician, secret) = (&app, &clinician, &secret);
        async move {
            app.clock.advance(Duration::seconds(30));
            let web = app.web();
            web.sign_in(&clinician.email, &clinician.password).await;
            let r = web
                .post(
                    "/login/mfa",
                    &[("code", &totp_code(secret, app.clock.now()))],
                )
                .await;
            assert_eq!(location(&r).as_deref(), Some("/"), "{at}");
        }
    };
    signs_in("plain seed").await;
    assert_eq!(app.state().blobs.seal_totp_secrets(store).await.unwrap(), 1);
    assert!(stored_seed().await.starts_with("sealed:v1:"));
    assert_eq!(app.state().blobs.seal_totp_secrets(store).await.unwrap(), 0);
    signs_in("sealed again").await;
    // A seed sealed under a master key this node does not have stops the start.
    let elsewhere = telemed_store::blobs::Blobs::open(
        &telemed_store::blobs::Location::Local(
            std::env::temp_dir().join(format!("telemed-elsewhere-{}", uuid::Uuid::new_v4())),
        ),
        vec![telemed_store::blobs::MasterKey::generate()],
    )
    .unwrap();
    let foreign = elsewhere
        .seal_secret(
            &telemed_store::blobs::totp_purpose(&clinician.id.to_string()),
            &secret,
        )
        .unwrap();
    set_seed(foreign).await;
    let refused = app.state().blobs.check_keys(store).await.unwrap_err();
    assert!(
        refused.to_string().contains(&elsewhere.current_key_id()),
        "{refused}"
    );

    // A clinician cannot turn MFA off.
    let r = web
        .post("/account/mfa/disable", &[("code", "123456")])
        .await;
    assert_eq!(r.status(), 403);
    app.shutdown().await;
}

async fn recovery_codes_work_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.create_user(Role::Admin).await;
    let web = app.web();
    let (_, _) = web.sign_in(&admin.email, &admin.password).await;
    let page = web.get("/account/mfa").await.text().await.unwrap();
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let codes_page = web
        .post(
            "/account/mfa",
            &[("code", &totp_code(&secret, app.clock.now()))],
        )
        .await
        .text()
        .await
        .unwrap();
    let codes: Vec<String> = codes_page
        .split("<li>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .filter(|c| c.len() == 11)
        .collect();
    assert_eq!(codes.len(), 10, "{codes_page}");

    let again = app.web();
    again.sign_in(&admin.email, &admin.password).await;
    let r = again
        .post("/login/mfa", &[("code", &codes[3].to_uppercase())])
        .await;
    assert_eq!(location(&r).as_deref(), Some("/"));
    let third = app.web();
    third.sign_in(&admin.email, &admin.password).await;
    assert_eq!(
        third
            .post("/login/mfa", &[("code", &codes[3])])
            .await
            .status(),
        401,
        "used up"
    );
    app.shutdown().await;
}

async fn wrong_second_factors_lock_the_pending_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let staff = app.create_user(Role::Staff).await;
    let web = app.web();
    enroll(&app, &web, &staff.email, &staff.password).await;
    let web = app.web();
    web.sign_in(&staff.email, &staff.password).await;
    for _ in 0..5 {
        assert_eq!(
            web.post("/login/mfa", &[("code", "111111")]).await.status(),
            401
        );
    }
    let r = web.post("/login/mfa", &[("code", "222222")]).await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        location(&web.get("/login/mfa").await).as_deref(),
        Some("/login"),
        "the half-open session is gone"
    );
    app.shutdown().await;
}

async fn patients_may_turn_on_and_off_a_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.web();
    assert_eq!(
        web.sign_in(&patient.email, &patient.password)
            .await
            .1
            .as_deref(),
        Some("/")
    );
    let page = web.get("/account/mfa").await.text().await.unwrap();
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        web.post(
            "/account/mfa",
            &[("code", &totp_code(&secret, app.clock.now()))]
        )
        .await
        .status(),
        200
    );
    app.clock.advance(Duration::seconds(30));
    assert_eq!(
        web.post("/account/mfa/disable", &[("code", "999999")])
            .await
            .status(),
        400
    );
    assert_eq!(
        web.post(
            "/account/mfa/disable",
            &[("code", &totp_code(&secret, app.clock.now()))]
        )
        .await
        .status(),
        200
    );
    let web = app.web();
    assert_eq!(
        web.sign_in(&patient.email, &patient.password)
            .await
            .1
            .as_deref(),
        Some("/"),
        "no second step any more"
    );
    app.shutdown().await;
}

async fn password_reset_signs_out_everywhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let first = app.web();
    first.sign_in(&patient.email, &patient.password).await;
    assert_eq!(first.get("/account").await.status(), 200);
    // An API token made before the reset.
    let api_token = app.token_for(&patient, None).await;
    let me = |bearer: String| {
        let http = reqwest::Client::new();
        let url = app.url("/api/v1/me");
        async move {
            http.get(url)
                .bearer_auth(bearer)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(api_token.clone()).await, 200);

    let anon = app.web();
    let r = anon
        .post("/password/forgot", &[("email", &patient.email)])
        .await;
    let unknown = anon
        .post("/password/forgot", &[("email", "nobody@clinic.example")])
        .await;
    assert_eq!(
        (r.status(), unknown.status()),
        (reqwest::StatusCode::OK, reqwest::StatusCode::OK)
    );
    let sent = "If an account exists for this address";
    assert!(
        r.text().await.unwrap().contains(sent) && unknown.text().await.unwrap().contains(sent),
        "same answer either way"
    );
    let mail = app
        .smtp
        .wait_for(&patient.email, "Reset your telemed password")
        .await;
    let link = mail.link_path("/password/reset?token=").unwrap();
    let token = link.split("token=").nth(1).unwrap();
    assert_eq!(
        anon.post("/password/reset", &[("token", token), ("password", "abc")])
            .await
            .status(),
        400
    );
    assert_eq!(
        anon.post(
            "/password/reset",
            &[("token", token), ("password", "cobalt willow harbor 58")]
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        anon.post(
            "/password/reset",
            &[("token", token), ("password", "cobalt willow harbor 59")]
        )
        .await
        .status(),
        400,
        "single use"
    );
    assert_eq!(
        location(&first.get("/account").await).as_deref(),
        Some("/login"),
        "the old session is gone"
    );
    assert_eq!(
        me(api_token.clone()).await,
        401,
        "the API token went with the password"
    );
    assert_eq!(anon.sign_in(&patient.email, &patient.password).await.0, 401);
    assert_eq!(
        anon.sign_in(&patient.email, "cobalt willow harbor 58")
            .await
            .0,
        303
    );
    // Links expire after an hour.
    anon.post("/password/forgot", &[("email", &patient.email)])
        .await;
    let later = app.smtp.wait_for_nth(&patient.email, "Reset", 2).await;
    let token = later
        .link_path("/password/reset?token=")
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::minutes(61));
    assert_eq!(
        anon.post(
            "/password/reset",
            &[("token", &token), ("password", "cobalt willow harbor 60")]
        )
        .await
        .status(),
        400
    );
    app.shutdown().await;
}

on_both_databases!(
    a_patient_registers_verifies_and_signs_in,
    registration_rejects_bad_input_and_reveals_no_accounts,
    failed_sign_ins_lock_without_revealing_accounts,
    an_address_is_throttled_across_accounts,
    clinicians_must_use_a_second_factor,
    recovery_codes_work_once,
    wrong_second_factors_lock_the_pending_session,
    patients_may_turn_on_and_off_a_second_factor,
    password_reset_signs_out_everywhere,
);
