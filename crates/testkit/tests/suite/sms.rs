//! Text messages through Twilio's Messages API, against a local server that speaks it:
//! what telemed hands over, what it does when the provider refuses or is down, and
//! which status callbacks it believes.

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_store::outbox::{self, OutboxMail, SMS};
use telemed_testkit::twilio::INVALID_NUMBER;
use telemed_testkit::{Backend, FakeTwilio, TestApp};

use super::messaging::Api;

const CLINIC_NUMBER: &str = "+34910000000";

async fn queue(app: &TestApp, to: &str, body: &str) {
    let state = app.state();
    let mut tx = state.store.begin_write().await.unwrap();
    outbox::enqueue_sms(&mut tx, to, body, state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    state.sms_wake.notify_one();
}

async fn texts_in_outbox(app: &TestApp) -> Vec<OutboxMail> {
    let all = app.state().store.recent_mail(100).await.unwrap();
    all.into_iter().filter(|m| m.channel == SMS).collect()
}

/// Waits (15 s at most) until the outbox's text to `to` satisfies `done`.
async fn outbox_text(app: &TestApp, to: &str, done: impl Fn(&OutboxMail) -> bool) -> OutboxMail {
    for _ in 0..150 {
        if let Some(t) = texts_in_outbox(app)
            .await
            .into_iter()
            .find(|t| t.to_addr == to)
        {
            if done(&t) {
                return t;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the text to {to} never reached the state asked for");
}

async fn texts_go_to_the_provider_and_only_signed_reports_count(backend: Backend) {
    let twilio = FakeTwilio::start().await.unwrap();
    let app = TestApp::spawn_with(backend, |c| twilio.configure(c, CLINIC_NUMBER)).await;
    twilio.proxy_callbacks_to(&app.url(""));

    queue(&app, "+34600111222", "Clínica Sol: su código es 042917").await;
    let sent = twilio.text_to("+34600111222").await.unwrap();
    assert_eq!(sent.from, CLINIC_NUMBER);
    assert_eq!(sent.body, "Clínica Sol: su código es 042917");
    let public = app
        .state()
        .config
        .public_url
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        sent.status_callback,
        Some(format!("{public}/hooks/sms/twilio"))
    );
    let row = outbox_text(&app, "+34600111222", |t| t.sent_at.is_some()).await;
    assert_eq!(row.provider_id.as_deref(), Some(sent.sid.as_str()));
    assert_eq!(row.delivery.as_deref(), Some("sent"));
    assert_eq!(row.body_text, "", "a code is not kept once handed over");

    // A report signed with another token, or not signed, changes nothing.
    assert_eq!(
        twilio
            .report_signed_with(&sent, "delivered", "not-the-token")
            .await
            .unwrap(),
        403
    );
    let unsigned = app
        .client()
        .post(app.url("/hooks/sms/twilio"))
        .form(&[
            ("MessageSid", sent.sid.as_str()),
            ("MessageStatus", "failed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);
    let row = outbox_text(&app, "+34600111222", |_| true).await;
    assert_eq!(row.delivery.as_deref(), Some("sent"));

    // The provider's signed word is kept.
    assert_eq!(twilio.report(&sent, "delivered").await.unwrap(), 204);
    outbox_text(&app, "+34600111222", |t| {
        t.delivery.as_deref() == Some("delivered")
    })
    .await;
    // A status that is not one is refused, even signed.
    assert_eq!(twilio.report(&sent, "teleported").await.unwrap(), 400);

    // A number the provider refuses is given up at once, with the provider's reason.
    queue(&app, INVALID_NUMBER, "Clínica Sol: recordatorio").await;
    let refused = outbox_text(&app, INVALID_NUMBER, |t| {
        t.delivery.as_deref() == Some("rejected")
    })
    .await;
    assert!(refused.sent_at.is_none());
    assert!(
        refused
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("21211"),
        "{refused:?}"
    );
    assert_eq!(refused.attempts, 1);

    // While the provider is down, the text waits in the outbox with the reason.
    twilio.set_down(true);
    queue(&app, "+34600333444", "Clínica Sol: recordatorio").await;
    let waiting = outbox_text(&app, "+34600333444", |t| t.last_error.is_some()).await;
    assert!(waiting.sent_at.is_none() && waiting.delivery.is_none());
    assert!(waiting.last_error.unwrap().contains("503"));
    assert!(twilio.texts().iter().all(|t| t.to != "+34600333444"));
    app.shutdown().await;
}

/// A patient confirms their mobile with a texted code, chooses texts for sign-in codes
/// and visits, and then signs in with a code that came by text only and is told of a
/// booking by text.
async fn a_patient_chooses_texts_after_confirming_their_number(backend: Backend) {
    let twilio = FakeTwilio::start().await.unwrap();
    let app = TestApp::spawn_with(backend, |c| twilio.configure(c, CLINIC_NUMBER)).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.signed_in_web(&patient).await;
    let page = web
        .get("/account/notifications")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"mobile\"") && page.contains("No mobile number is confirmed yet."));

    // A number without its country code is refused, and nothing is sent.
    let r = web
        .post("/account/mobile", &[("mobile", "600 111 222")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("with its country code"));
    assert!(twilio.texts().is_empty());

    let number = "+34600111222";
    let r = web
        .post("/account/mobile", &[("mobile", "+34 600 11 12 22")])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("We have sent a code to +34600111222."));
    let text = twilio.text_to(number).await.unwrap();
    let code = text.code().expect("a code in the text");
    assert!(
        text.body.contains("to confirm this number"),
        "{}",
        text.body
    );

    // Someone else's session cannot confirm it; a wrong code is refused and counted.
    let other = app.create_user(Role::Patient).await;
    let other_web = app.signed_in_web(&other).await;
    let r = other_web
        .post("/account/mobile/confirm", &[("code", &code)])
        .await;
    assert_eq!(r.status(), 422);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = web
        .post("/account/mobile/confirm", &[("code", wrong)])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("That code is not right."));
    let r = web
        .post("/account/mobile/confirm", &[("code", &code)])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Texts go to +34600111222."));
    assert_eq!(
        app.state().store.mobile(other.id).await.unwrap().confirmed,
        None
    );

    // Sign-in codes by text only; visits by email and text.
    let r = web
        .post(
            "/account/notifications",
            &[("visits", "on"), ("visits_sms", "on"), ("codes_sms", "on")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let anonymous = app.web();
    anonymous
        .post("/login/code", &[("email", &patient.email)])
        .await;
    let sign_in = twilio.nth_text_to(number, 2).await.unwrap();
    assert!(sign_in.body.contains("sign-in code"), "{}", sign_in.body);
    let r = anonymous
        .post(
            "/login/code/verify",
            &[
                ("email", patient.email.as_str()),
                ("code", &sign_in.code().unwrap()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "the texted code signs the patient in");
    let mailed_codes = app
        .state()
        .store
        .recent_mail(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel == outbox::EMAIL && m.to_addr == patient.email)
        .count();
    assert_eq!(mailed_codes, 0, "codes chosen by text only are not emailed");

    // A text that does not arrive: the page offers the code by email instead, and that
    // one goes by email only.
    let page = anonymous
        .post("/login/code", &[("email", &patient.email)])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"id="code-by-email""#), "{page}");
    twilio.nth_text_to(number, 3).await.unwrap();
    let texts_before = twilio.texts().len();
    anonymous
        .post("/login/code", &[("email", &patient.email), ("by", "email")])
        .await;
    let emailed = app
        .smtp
        .wait_for(&patient.email, "sign-in code")
        .await
        .sign_in_code();
    assert_eq!(twilio.texts().len(), texts_before, "no text this time");
    let r = anonymous
        .post(
            "/login/code/verify",
            &[("email", patient.email.as_str()), ("code", &emailed)],
        )
        .await;
    assert_eq!(r.status(), 303, "the emailed code signs the patient in");

    let clinician = app.create_user(Role::Clinician).await;
    app.book_video_visit(&clinician, &patient).await;
    let booked = twilio.nth_text_to(number, 4).await.unwrap();
    assert!(
        booked.code().is_none(),
        "the code asked by email was not texted"
    );
    assert!(
        booked.body.contains("your visit is booked for"),
        "{}",
        booked.body
    );
    assert!(booked.body.contains("/appointments"), "{}", booked.body);

    // Forgotten, the number gets nothing more.
    let r = web.post("/account/mobile/remove", &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.state().store.mobile(patient.id).await.unwrap(),
        Default::default()
    );
    app.shutdown().await;
}

const PREFS: &str = "/api/v1/notification-preferences";

async fn post(api: &Api<'_>, token: &str, path: &str, body: Value) -> (u16, Value) {
    api.call("POST", path, token, Some(body)).await
}

async fn put_prefs(api: &Api<'_>, token: &str, body: Value) -> (u16, Value) {
    api.call("PUT", PREFS, token, Some(body)).await
}

/// An app does through the API what the account page does: types a number, confirms it
/// with the texted code, chooses texts for visits, removes the number; choices that
/// cannot be are refused and change nothing.
async fn the_api_confirms_a_number_and_chooses_texts(backend: Backend) {
    let twilio = FakeTwilio::start().await.unwrap();
    let app = TestApp::spawn_with(backend, |c| twilio.configure(c, CLINIC_NUMBER)).await;
    let api = Api::of(&app);
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let (p, c) = (
        app.token_for(&patient, None).await,
        app.token_for(&clinician, None).await,
    );
    let (status, mobile) = api.call("GET", "/api/v1/me/mobile", &p, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        mobile,
        json!({"confirmed": null, "pending": null, "texts": true})
    );

    let (status, _) = post(
        &api,
        &p,
        "/api/v1/me/mobile",
        json!({"number": "600 111 222"}),
    )
    .await;
    assert_eq!(status, 400, "no country code");
    let (status, _) = post(
        &api,
        &p,
        "/api/v1/me/mobile",
        json!({"mobile": "+34600111222"}),
    )
    .await;
    assert_eq!(status, 400, "an unknown field");
    assert!(twilio.texts().is_empty());
    let number = "+34600111222";
    let (status, mobile) = post(
        &api,
        &p,
        "/api/v1/me/mobile",
        json!({"number": "+34 600 11 12 22"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(mobile["pending"], number);
    let code = twilio.text_to(number).await.unwrap().code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _) = post(
        &api,
        &p,
        "/api/v1/me/mobile/confirm",
        json!({"code": wrong}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, mobile) = post(&api, &p, "/api/v1/me/mobile/confirm", json!({"code": code})).await;
    assert_eq!(status, 200);
    assert_eq!(mobile["confirmed"], number);
    assert_eq!(mobile["pending"], Value::Null);

    // Preferences: every group with its email choice, and the text choice where texts can
    // carry it; codes are a patient's group only.
    let (_, prefs) = api.call("GET", PREFS, &p, None).await;
    assert_eq!(
        prefs,
        json!([
            {"group": "visits", "email": true, "sms": false},
            {"group": "messages", "email": true},
            {"group": "codes", "email": true, "sms": false},
        ])
    );
    let (status, _) = put_prefs(&api, &p, json!([{"group": "visits", "email": false, "sms": true}, {"group": "messages", "email": true, "sms": true}])).await;
    assert_eq!(status, 400, "messages never come by text");
    let (_, unchanged) = api.call("GET", PREFS, &p, None).await;
    assert_eq!(unchanged, prefs, "a refused change changes nothing");
    let (status, _) = put_prefs(&api, &c, json!([{"group": "codes", "email": false}])).await;
    assert_eq!(status, 400, "clinicians sign in with their second factor");
    let (status, prefs) = put_prefs(&api, &p, json!([{"group": "visits", "email": false, "sms": true}, {"group": "codes", "email": true}])).await;
    assert_eq!(status, 200);
    assert_eq!(
        prefs[0],
        json!({"group": "visits", "email": false, "sms": true})
    );
    assert_eq!(
        prefs[2],
        json!({"group": "codes", "email": true, "sms": false})
    );
    // The account page shows the confirmed number.
    let page = app
        .signed_in_web(&patient)
        .await
        .get("/account/notifications")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(number), "{page}");

    let (status, _) = api.call("DELETE", "/api/v1/me/mobile", &p, None).await;
    assert_eq!(status, 204);
    let (_, mobile) = api.call("GET", "/api/v1/me/mobile", &p, None).await;
    assert_eq!(mobile["confirmed"], Value::Null);
    app.shutdown().await;
}

on_both_databases!(
    texts_go_to_the_provider_and_only_signed_reports_count,
    a_patient_chooses_texts_after_confirming_their_number,
    the_api_confirms_a_number_and_chooses_texts,
);

/// On a phone, a patient types their number, gets the code by text and confirms it,
/// then chooses texts for reminders; every step's page passes axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn on_a_phone_a_patient_confirms_their_number_and_chooses_texts() {
    use telemed_testkit::browser::{fill, look, sign_in_patient, wait_for, TestBrowser};

    let twilio = FakeTwilio::start().await.unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| twilio.configure(c, CLINIC_NUMBER)).await;
    let patient = app.create_user(Role::Patient).await;
    let browser = TestBrowser::launch_phone().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    sign_in_patient(&page, &patient).await;
    page.goto(app.url("/account/notifications")).await.unwrap();
    wait_for(&page, "#mobile-number").await.unwrap();
    fill(&page, "#mobile-number", "+44 7700 900123")
        .await
        .unwrap();
    page.find_element("#mobile button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "#mobile-code").await.unwrap();
    look(&page, "70-mobile-code-phone").await;
    let code = twilio
        .text_to("+447700900123")
        .await
        .unwrap()
        .code()
        .unwrap();
    fill(&page, "#mobile-code", &code).await.unwrap();
    page.find_element("form[action='/account/mobile/confirm'] button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "#saved").await.unwrap();
    let state = page
        .find_element("#mobile-state")
        .await
        .unwrap()
        .inner_text()
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(state, "Texts go to +447700900123.");
    page.find_element("input[name=visits_sms]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    page.find_element("form[action='/account/notifications'] button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The page before had its "saved" notice too: wait for the new one.
    page.wait_for_navigation().await.unwrap();
    wait_for(&page, "#saved").await.unwrap();
    look(&page, "71-texts-chosen-phone").await;
    let mut tx = app.state().store.begin_write().await.unwrap();
    let chosen = telemed_store::notifications::wants(
        &mut tx,
        patient.id,
        "visits",
        telemed_store::notifications::Channel::Sms,
    )
    .await
    .unwrap();
    drop(tx);
    assert!(chosen, "the visits' texts are chosen");
    browser.close().await;
    app.shutdown().await;
}
