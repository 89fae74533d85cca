//! Web sessions: cookies, idle and absolute timeouts, revocation, CSRF, language.

use chrono::Duration;
use telemed_domain::Role;
use telemed_testkit::{location, Backend, TestApp};

async fn session_cookies_are_locked_down(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.web();
    let r = web
        .post(
            "/login",
            &[("email", &patient.email), ("password", &patient.password)],
        )
        .await;
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("telemed_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP in tests");
    // The stored form is a hash: the cookie value is nowhere in the database.
    let secret = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("telemed_session=");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1")
        .bind(secret.to_owned())
        .fetch_one(app.state().store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);
    app.shutdown().await;
}

async fn idle_and_absolute_timeouts_sign_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.web();
    web.sign_in(&patient.email, &patient.password).await;
    // Activity within the idle timeout keeps the session for up to 12 hours.
    for _ in 0..4 {
        app.clock.advance(Duration::minutes(25));
        assert_eq!(web.get("/account").await.status(), 200);
    }
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        location(&web.get("/account").await).as_deref(),
        Some("/login"),
        "idle for 31 minutes"
    );

    web.sign_in(&patient.email, &patient.password).await;
    for _ in 0..30 {
        app.clock.advance(Duration::minutes(25));
        let _ = web.get("/account").await;
    }
    assert_eq!(
        location(&web.get("/account").await).as_deref(),
        Some("/login"),
        "past the 12-hour lifetime"
    );
    app.shutdown().await;
}

async fn sessions_are_listed_and_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let laptop = app.web();
    let phone = app.web();
    laptop.sign_in(&patient.email, &patient.password).await;
    phone.sign_in(&patient.email, &patient.password).await;
    let page = laptop.get("/account/sessions").await.text().await.unwrap();
    assert_eq!(
        page.matches("/revoke\"").count(),
        1,
        "one other session can be signed out"
    );
    let path = page
        .split("action=\"")
        .find(|s| {
            s.starts_with("/account/sessions/") && !s.starts_with("/account/sessions/revoke-all")
        })
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // Another person cannot revoke it.
    let other = app.create_user(Role::Patient).await;
    let stranger = app.web();
    stranger.sign_in(&other.email, &other.password).await;
    assert_eq!(stranger.post(&path, &[]).await.status(), 404);
    assert_eq!(phone.get("/account").await.status(), 200);
    // Its owner can.
    assert_eq!(
        location(&laptop.post(&path, &[]).await).as_deref(),
        Some("/account/sessions")
    );
    assert_eq!(
        location(&phone.get("/account").await).as_deref(),
        Some("/login")
    );
    assert_eq!(laptop.get("/account").await.status(), 200);
    // Sign out everywhere.
    phone.sign_in(&patient.email, &patient.password).await;
    laptop.post("/account/sessions/revoke-all", &[]).await;
    assert_eq!(
        location(&phone.get("/account").await).as_deref(),
        Some("/login")
    );
    assert_eq!(
        location(&laptop.get("/account").await).as_deref(),
        Some("/login")
    );
    // Sign out.
    laptop.sign_in(&patient.email, &patient.password).await;
    laptop.post("/logout", &[]).await;
    assert_eq!(
        location(&laptop.get("/account").await).as_deref(),
        Some("/login")
    );
    app.shutdown().await;
}

async fn forms_without_the_token_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.create_user(Role::Admin).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.web();
    web.sign_in(&admin.email, &admin.password).await;
    let r = web
        .post_without_token(
            &format!("/admin/users/{}/role", patient.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("The form expired"));
    let r = web
        .post_without_token(
            &format!("/admin/users/{}/role", patient.id),
            &[("role", "admin"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let still = app
        .state()
        .store
        .user_by_id(patient.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.role, Role::Patient);
    // A token from another browser does not work either.
    let other = app.web();
    let foreign = other.csrf().await;
    let r = web
        .post_without_token(
            "/register",
            &[
                ("display_name", "X"),
                ("email", "x@clinic.example"),
                ("password", "amber otter glacier 19"),
                ("csrf", &foreign),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.state().store.count_users().await.unwrap(), 2);
    app.shutdown().await;
}

async fn the_language_follows_the_choice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.web();
    let r = web
        .post("/language", &[("lang", "es"), ("back", "/register")])
        .await;
    assert_eq!(location(&r).as_deref(), Some("/register"));
    assert!(web
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("Inicie sesión en telemed"));
    let r = web
        .post("/language", &[("lang", "es"), ("back", "//evil.example/")])
        .await;
    assert_eq!(location(&r).as_deref(), Some("/"), "no open redirect");
    assert_eq!(web.post("/language", &[("lang", "xx")]).await.status(), 400);
    // Signed in, the choice is saved on the account.
    web.sign_in(&patient.email, &patient.password).await;
    web.post("/language", &[("lang", "es")]).await;
    let fresh = app.web();
    fresh.sign_in(&patient.email, &patient.password).await;
    assert!(fresh
        .get("/account")
        .await
        .text()
        .await
        .unwrap()
        .contains("Su cuenta"));
    app.shutdown().await;
}

async fn admin_pages_are_for_admins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.web();
    assert_eq!(
        location(&web.get("/admin/users").await).as_deref(),
        Some("/login")
    );
    web.sign_in(&patient.email, &patient.password).await;
    for path in ["/admin/users", "/admin/audit", "/admin/outbox"] {
        assert_eq!(web.get(path).await.status(), 403, "{path}");
    }
    let r = web
        .post(
            &format!("/admin/users/{}/role", patient.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.state()
            .store
            .user_by_id(patient.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Patient
    );
    app.shutdown().await;
}

async fn a_half_signed_in_session_can_sign_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let staff = app.create_user(Role::Staff).await;
    let web = app.web();
    let (_, next) = web.sign_in(&staff.email, &staff.password).await;
    assert_eq!(next.as_deref(), Some("/account/mfa"));
    assert_eq!(
        location(&web.post("/logout", &[]).await).as_deref(),
        Some("/login")
    );
    assert_eq!(
        location(&web.get("/account/mfa").await).as_deref(),
        Some("/login"),
        "the session is revoked, not just forgotten"
    );
    app.flush_audit().await;
    let events = app
        .state()
        .store
        .search_audit(&telemed_store::audit::AuditFilter {
            action_prefix: Some("auth.sign_out".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    app.shutdown().await;
}

/// A patient signs in with a code sent by email instead of the password: once, for ten
/// minutes, the newest code only, wrong codes throttled like wrong passwords; nobody
/// learns from the page whether an address has an account, and clinicians get no code.
async fn a_patient_signs_in_with_an_emailed_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let web = app.web();
    let form = web.get("/login/code?next=/appointments").await;
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    assert!(
        form.contains(r#"name="next" value="/appointments""#),
        "{form}"
    );
    // Another site is never where one lands.
    let elsewhere = web
        .get("/login/code?next=//evil.example/")
        .await
        .text()
        .await
        .unwrap();
    assert!(elsewhere.contains(r#"name="next" value="""#));

    // The same page whoever asks; only the patient's address gets a code.
    let mut pages = Vec::new();
    for email in [
        clinician.email.as_str(),
        "nobody@example.org",
        patient.email.as_str(),
    ] {
        let r = web
            .post(
                "/login/code",
                &[("email", email), ("next", "/appointments")],
            )
            .await;
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains(r#"id="code-sent""#));
        pages.push(page.replace(email, "ADDRESS"));
    }
    assert_eq!(pages[0], pages[1], "no account is revealed");
    let first = app
        .smtp
        .wait_for(&patient.email, "sign-in code")
        .await
        .sign_in_code();
    assert!(
        !app.smtp
            .all()
            .iter()
            .any(|m| m.recipients.contains(&clinician.email)),
        "clinicians sign in with their password and second factor"
    );

    // A newer code voids the older one.
    web.post("/login/code", &[("email", &patient.email)]).await;
    let second = app
        .smtp
        .wait_for_nth(&patient.email, "sign-in code", 2)
        .await
        .sign_in_code();
    let verify = |code: &str| {
        let (web, email, code) = (app.web(), patient.email.clone(), code.to_owned());
        async move {
            let r = web
                .post(
                    "/login/code/verify",
                    &[
                        ("email", &email),
                        ("code", &code),
                        ("next", "/appointments"),
                    ],
                )
                .await;
            (r.status().as_u16(), telemed_testkit::location(&r), web)
        }
    };
    if first != second {
        assert_eq!(verify(&first).await.0, 401, "the older code is void");
    }
    assert_eq!(verify("12345").await.0, 401, "not six digits");
    let (status, to, signed_in) = verify(&format!(" {second} ")).await;
    assert_eq!((status, to.as_deref()), (303, Some("/appointments")));
    assert_eq!(signed_in.get("/appointments").await.status(), 200);
    assert_eq!(verify(&second).await.0, 401, "used once");

    // Expired after ten minutes.
    web.post("/login/code", &[("email", &patient.email)]).await;
    let third = app
        .smtp
        .wait_for_nth(&patient.email, "sign-in code", 3)
        .await
        .sign_in_code();
    app.clock.advance(Duration::minutes(11));
    assert_eq!(verify(&third).await.0, 401, "expired");

    // Someone new gets an account and a code; the code verifies the address. A bad
    // name is refused and makes nothing.
    let newcomer = app.web();
    let bad = newcomer
        .post(
            "/login/code",
            &[("display_name", " "), ("email", "new@example.org")],
        )
        .await;
    assert_eq!(bad.status(), 400);
    let r = newcomer
        .post(
            "/login/code",
            &[
                ("display_name", "Nuevo Paciente"),
                ("email", "new@example.org"),
                ("next", "/now"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let code = app
        .smtp
        .wait_for("new@example.org", "sign-in code")
        .await
        .sign_in_code();
    let r = newcomer
        .post(
            "/login/code/verify",
            &[
                ("email", "new@example.org"),
                ("code", &code),
                ("next", "/now"),
            ],
        )
        .await;
    assert_eq!(telemed_testkit::location(&r).as_deref(), Some("/now"));
    let account = newcomer.get("/account").await.text().await.unwrap();
    assert!(account.contains("Nuevo Paciente"), "{account}");
    // The same form for an address with an account: a code, no second account.
    let again = app.web();
    again
        .post(
            "/login/code",
            &[("display_name", "Someone Else"), ("email", &patient.email)],
        )
        .await;
    app.smtp
        .wait_for_nth(&patient.email, "sign-in code", 4)
        .await;

    // Wrong codes lock the account like wrong passwords.
    let mut last = 0;
    for _ in 0..6 {
        last = verify("000000").await.0;
    }
    assert_eq!(last, 429);
    app.shutdown().await;
}

/// A visit link (a code sign-in with `next`) still lands on its page for a patient who
/// turned on a second factor: the code, then the authenticator's code, then the page.
async fn a_second_factor_keeps_where_the_link_pointed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let secret = app
        .signed_in_web(&patient)
        .await
        .enrol_totp(telemed_domain::Clock::now(&app.clock))
        .await;
    for (n, (next, lands)) in [("/appointments", "/appointments"), ("//evil.example/", "/")]
        .into_iter()
        .enumerate()
    {
        app.clock.advance(Duration::minutes(1));
        let web = app.web();
        web.post("/login/code", &[("email", &patient.email)]).await;
        let code = app
            .smtp
            .wait_for_nth(&patient.email, "sign-in code", n + 1)
            .await
            .sign_in_code();
        let r = web
            .post(
                "/login/code/verify",
                &[("email", &patient.email), ("code", &code), ("next", next)],
            )
            .await;
        let mfa = location(&r).unwrap();
        if lands == "/" {
            assert_eq!(mfa, "/login/mfa", "another site is never kept");
        } else {
            assert_eq!(mfa, "/login/mfa?next=%2Fappointments");
        }
        let form = web.get(&mfa).await.text().await.unwrap();
        assert_eq!(
            form.contains(&format!(r#"name="next" value="{next}""#)),
            lands != "/",
            "{form}"
        );
        let now = telemed_domain::Clock::now(&app.clock);
        let wrong = web
            .post("/login/mfa", &[("code", "000000"), ("next", next)])
            .await;
        assert_eq!(wrong.status(), 401);
        let again = wrong.text().await.unwrap();
        assert_eq!(
            again.contains(&format!(r#"name="next" value="{next}""#)),
            lands != "/",
            "a wrong code keeps where to go: {again}"
        );
        let r = web
            .post(
                "/login/mfa",
                &[
                    ("code", &telemed_testkit::totp_code(&secret, now)),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(location(&r).as_deref(), Some(lands));
        assert_eq!(web.get("/appointments").await.status(), 200);
    }
    app.shutdown().await;
}

on_both_databases!(
    a_patient_signs_in_with_an_emailed_code,
    a_second_factor_keeps_where_the_link_pointed,
    a_half_signed_in_session_can_sign_out,
    session_cookies_are_locked_down,
    idle_and_absolute_timeouts_sign_out,
    sessions_are_listed_and_revoked,
    forms_without_the_token_change_nothing,
    the_language_follows_the_choice,
    admin_pages_are_for_admins,
);
