//! On-demand visits: patients wait in a specialty's queue with their place; whichever
//! clinician of the specialty takes the next patient gets them, and no two clinicians
//! ever get the same one, however many take at once.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::live::LiveClient;
use telemed_testkit::{Backend, TestApp, TestUser};

use super::messaging::Api;
use super::scheduling::schedule;
use telemed_testkit::browser::{
    assert_accessible, fill, look, submit, text_of, wait_for, wait_for_path, TestBrowser,
};

/// A clinic seeing family medicine on demand, with `clinicians` family doctors (their
/// schedules saved, so their specialty is known) and their tokens.
async fn open_clinic(app: &TestApp, clinicians: usize) -> Vec<(TestUser, String)> {
    app.set_clinic(|c| c.on_demand = vec!["Family medicine".into()])
        .await;
    let api = Api::of(app);
    let mut out = Vec::new();
    for _ in 0..clinicians {
        let clinician = app.create_user(Role::Clinician).await;
        let token = app.token_for(&clinician, None).await;
        let path = format!("/api/v1/clinicians/{}/schedule", clinician.id);
        // Spelt differently from the clinic's setting: the match ignores case.
        let (status, body) = api
            .call(
                "PUT",
                &path,
                &token,
                Some(schedule("family medicine", &["en"], &[])),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        out.push((clinician, token));
    }
    out
}

async fn join(api: &Api<'_>, token: &str, reason: &str) -> (u16, Value) {
    let body = json!({"specialty": "Family medicine", "reason": reason});
    api.call("POST", "/api/v1/on-demand", token, Some(body))
        .await
}

async fn take(api: &Api<'_>, token: &str) -> (u16, Value) {
    api.call("POST", "/api/v1/on-demand/take", token, None)
        .await
}

async fn patients_are_seen_by_whichever_clinician_takes_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api::of(&app);
    let doctors = open_clinic(&app, 2).await;
    let dermatologist = app.create_user(Role::Clinician).await;
    let derm_token = app.token_for(&dermatologist, None).await;
    let path = format!("/api/v1/clinicians/{}/schedule", dermatologist.id);
    let (status, _) = api
        .call(
            "PUT",
            &path,
            &derm_token,
            Some(schedule("Dermatology", &["en"], &[])),
        )
        .await;
    assert_eq!(status, 200);
    let mut patients = Vec::new();
    for _ in 0..3 {
        let p = app.create_user(Role::Patient).await;
        let token = app.token_for(&p, None).await;
        patients.push((p, token));
    }

    // Refusals first: nothing joins.
    let (status, _) = api
        .call(
            "POST",
            "/api/v1/on-demand",
            &patients[0].1,
            Some(json!({"specialty": "Cardiology", "reason": "Chest pain"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = join(&api, &patients[0].1, "   ").await;
    assert_eq!(status, 400);
    let (status, _) = join(&api, &doctors[0].1, "Testing").await;
    assert_eq!(status, 403);
    let (_, queue) = api
        .call("GET", "/api/v1/on-demand/queue", &doctors[0].1, None)
        .await;
    assert_eq!(queue["waiting"], json!([]));

    for (i, (_, token)) in patients.iter().enumerate() {
        let (status, standing) = join(&api, token, &format!("Sore throat {i}")).await;
        assert_eq!(status, 201, "{standing}");
        assert_eq!(standing["status"], "waiting");
        assert_eq!(standing["place"], i + 1);
    }
    let (status, _) = join(&api, &patients[0].1, "Again").await;
    assert_eq!(status, 409);
    let (_, third) = api
        .call("GET", "/api/v1/on-demand", &patients[2].1, None)
        .await;
    assert_eq!(
        (third["place"].as_u64(), third["of"].as_u64()),
        (Some(3), Some(3))
    );
    // Three visits of 30 minutes ahead, shared by two clinicians.
    assert_eq!(third["estimate_minutes"], 45);
    let (_, queue) = api
        .call("GET", "/api/v1/on-demand/queue", &doctors[1].1, None)
        .await;
    let reasons: Vec<&str> = queue["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["Sore throat 0", "Sore throat 1", "Sore throat 2"]);

    // Another specialty's clinician has no queue to take from.
    let (_, theirs) = api
        .call("GET", "/api/v1/on-demand/queue", &derm_token, None)
        .await;
    assert_eq!(theirs["specialty"], Value::Null);
    assert_eq!(take(&api, &derm_token).await.0, 409);

    // Both family doctors take at once: each gets a different patient, oldest first.
    let mut first_live = LiveClient::with_token(&app.base, &patients[0].1)
        .await
        .unwrap();
    let (a, b) = tokio::join!(take(&api, &doctors[0].1), take(&api, &doctors[1].1));
    assert_eq!((a.0, b.0), (201, 201), "{a:?} {b:?}");
    assert_ne!(a.1["visit_id"], b.1["visit_id"]);
    first_live
        .expect("on_demand", std::time::Duration::from_secs(5))
        .await;
    let mut seen_by = BTreeSet::new();
    for (p, token) in &patients[..2] {
        let (_, standing) = api.call("GET", "/api/v1/on-demand", token, None).await;
        assert_eq!(standing["status"], "taken", "{standing}");
        let visit = standing["visit_id"].as_str().unwrap();
        let (status, a) = api
            .call("GET", &format!("/api/v1/appointments/{visit}"), token, None)
            .await;
        assert_eq!(status, 200, "{a}");
        assert_eq!(
            (a["status"].as_str(), a["visit_kind"].as_str()),
            (Some("arrived"), Some("video"))
        );
        assert_eq!(a["patient_id"], json!(p.id));
        seen_by.insert(a["clinician_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen_by.len(), 2, "each doctor took one patient");
    let (_, third) = api
        .call("GET", "/api/v1/on-demand", &patients[2].1, None)
        .await;
    assert_eq!(
        (third["place"].as_u64(), third["of"].as_u64()),
        (Some(1), Some(1))
    );

    // A doctor in a visit cannot take another until it is done; then they can.
    let (status, busy) = take(&api, &doctors[0].1).await;
    assert_eq!(status, 409);
    assert!(
        busy["error"]["message"]
            .as_str()
            .unwrap()
            .contains("visit booked"),
        "{busy}"
    );
    let (_, third) = api
        .call("GET", "/api/v1/on-demand", &patients[2].1, None)
        .await;
    assert_eq!(third["status"], "waiting");
    let done = format!(
        "/api/v1/appointments/{}/complete",
        a.1["visit_id"].as_str().unwrap()
    );
    let (status, body) = api.call("POST", &done, &doctors[0].1, None).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let (status, third_visit) = take(&api, &doctors[0].1).await;
    assert_eq!(status, 201, "{third_visit}");
    let (status, none) = take(&api, &doctors[0].1).await;
    assert_eq!(status, 409);
    assert!(
        none["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nobody"),
        "{none}"
    );

    // A patient may stop waiting; the queue forgets them.
    let late = app.create_user(Role::Patient).await;
    let late_token = app.token_for(&late, None).await;
    assert_eq!(join(&api, &late_token, "Cough").await.0, 201);
    let (status, _) = api
        .call("DELETE", "/api/v1/on-demand", &late_token, None)
        .await;
    assert_eq!(status, 204);
    let (_, standing) = api
        .call("GET", "/api/v1/on-demand", &late_token, None)
        .await;
    assert_eq!(standing["status"], "away");
    let (_, queue) = api
        .call("GET", "/api/v1/on-demand/queue", &doctors[1].1, None)
        .await;
    assert_eq!(queue["waiting"], json!([]));
    app.shutdown().await;
}

/// Fifty patients, ten clinicians taking at once (each: take, finish, take again):
/// every patient is seen exactly once.
async fn fifty_patients_ten_clinicians_none_taken_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api::of(&app);
    let doctors = open_clinic(&app, 10).await;
    let mut waiting = BTreeSet::new();
    for i in 0..50 {
        let p = app.create_user(Role::Patient).await;
        let token = app.token_for(&p, None).await;
        assert_eq!(join(&api, &token, &format!("Fever {i}")).await.0, 201);
        waiting.insert(p.id.to_string());
    }
    let runs = doctors.iter().map(|(_, token)| {
        let api = &api;
        async move {
            let mut seen = Vec::new();
            loop {
                let (status, body) = take(api, token).await;
                if status == 409 {
                    assert!(
                        body["error"]["message"]
                            .as_str()
                            .unwrap()
                            .contains("nobody"),
                        "{body}"
                    );
                    return seen;
                }
                assert_eq!(status, 201, "{body}");
                let visit = body["visit_id"].as_str().unwrap().to_owned();
                let (_, a) = api
                    .call("GET", &format!("/api/v1/appointments/{visit}"), token, None)
                    .await;
                seen.push(a["patient_id"].as_str().unwrap().to_owned());
                let (status, _) = api
                    .call(
                        "POST",
                        &format!("/api/v1/appointments/{visit}/complete"),
                        token,
                        None,
                    )
                    .await;
                assert!(status < 300);
            }
        }
    });
    let seen: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(seen.len(), 50, "every patient seen once");
    let distinct: BTreeSet<String> = seen.into_iter().collect();
    assert_eq!(distinct, waiting);
    app.shutdown().await;
}

/// The pages: the patient asks on `/now` and reads their place; the doctor takes them
/// from `/on-demand` into the room; the patient's page follows them there.
async fn the_pages_lead_from_the_queue_to_the_room(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doctors = open_clinic(&app, 1).await;
    let patient = app.create_named_user(Role::Patient, "Nadia Ruiz").await;
    let web = app.signed_in_web(&patient).await;
    let home = web.get("/").await.text().await.unwrap();
    assert!(home.contains(r#"href="/now""#), "{home}");
    let page = web.get("/now").await.text().await.unwrap();
    assert!(
        page.contains(r#"<option value="Family medicine""#),
        "{page}"
    );
    let refused = web
        .post("/now", &[("specialty", "Family medicine"), ("reason", "")])
        .await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("on-demand-error"));
    let r = web
        .post(
            "/now",
            &[
                ("specialty", "Family medicine"),
                ("reason", "Earache since yesterday"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = web.get("/now").await.text().await.unwrap();
    assert!(
        page.contains("You are number 1 of 1 waiting for Family medicine."),
        "{page}"
    );

    let doctor = app.signed_in_web(&doctors[0].0).await;
    let queue = doctor.get("/on-demand").await.text().await.unwrap();
    assert!(
        queue.contains("Nadia Ruiz") && queue.contains("Earache since yesterday"),
        "{queue}"
    );
    let taken = doctor.post("/on-demand/take", &[]).await;
    assert_eq!(taken.status(), 303);
    let room = telemed_testkit::location(&taken).unwrap();
    assert!(
        room.starts_with("/visits/") && room.ends_with("/room"),
        "{room}"
    );
    let again = doctor.post("/on-demand/take", &[]).await;
    assert_eq!(again.status(), 409);

    let status = web
        .http
        .get(web.url("/now/status"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(status.headers()["hx-redirect"].to_str().unwrap(), room);
    let page = web.get("/now").await.text().await.unwrap();
    assert!(page.contains(&format!(r#"href="{room}""#)), "{page}");
    app.shutdown().await;
}

/// From a patient's chart, a clinician starts a video visit now: the patient is told in
/// the app and by email with the room's link (nothing clinical), and finds it open.
async fn a_clinician_starts_a_visit_now_from_the_chart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api::of(&app);
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let other = app.create_user(Role::Patient).await;
    let clinician_token = app.token_for(&clinician, None).await;
    let patient_token = app.token_for(&patient, None).await;
    app.set_clinic(|c| c.name = "Clínica Norte".into()).await;
    let path = |p: &TestUser| format!("/api/v1/patients/{}/start-now", p.id);
    // Their care relationships: a visit booked for tomorrow each.
    super::messaging::give_a_visit(&app, &clinician, &patient).await;
    app.clock.advance(chrono::Duration::hours(1));
    super::messaging::give_a_visit(&app, &clinician, &other).await;

    // Refused: a patient may not, nor a blank reason, nor someone who is no patient.
    let reason = json!({"reason": "Your blood test results"});
    assert_eq!(
        api.call(
            "POST",
            &path(&patient),
            &patient_token,
            Some(reason.clone())
        )
        .await
        .0,
        403
    );
    assert_eq!(
        api.call(
            "POST",
            &path(&patient),
            &clinician_token,
            Some(json!({"reason": " "}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        api.call(
            "POST",
            &path(&clinician),
            &clinician_token,
            Some(reason.clone())
        )
        .await
        .0,
        404
    );

    let mut live = LiveClient::with_token(&app.base, &patient_token)
        .await
        .unwrap();
    let web = app.signed_in_web(&clinician).await;
    let chart = web
        .get(&format!("/patients/{}/chart", patient.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(chart.contains(r#"id="start-now""#), "{chart}");
    let started = web
        .post(
            &format!("/patients/{}/start-now", patient.id),
            &[("reason", "Your blood test results")],
        )
        .await;
    assert_eq!(started.status(), 303);
    let room = telemed_testkit::location(&started).unwrap();
    assert!(
        room.starts_with("/visits/") && room.ends_with("/room"),
        "{room}"
    );
    live.expect("notification", std::time::Duration::from_secs(5))
        .await;
    let mail = app.smtp.wait_for(&patient.email, "waiting for you").await;
    // In the clinic's name: the subject and the invitation's calendar.
    // (The sink's decoding of encoded words drops the space between them.)
    let subject = mail.subject();
    assert!(
        subject.contains("(Clínica") && subject.contains("Norte)"),
        "{subject}"
    );
    let invitation = mail.part("text/calendar").unwrap();
    assert!(
        invitation.contains("X-WR-CALNAME:Clínica Norte"),
        "{invitation}"
    );
    let text = mail.part("text/plain").unwrap();
    let link = format!("/login/code?next={room}");
    assert!(
        text.lines().any(|l| l.trim_end().ends_with(link.as_str())),
        "{text}"
    );
    assert!(!text.contains("blood test"), "no clinical words by email");
    let patient_web = app.signed_in_web(&patient).await;
    let notes = patient_web
        .get("/notifications")
        .await
        .text()
        .await
        .unwrap();
    assert!(notes.contains(&format!(r#"href="{room}""#)), "{notes}");
    let consent = patient_web.get(&room).await;
    assert_eq!(
        consent.status(),
        303,
        "the room asks for the telehealth consent first"
    );
    // Opened where the patient is signed in, the link goes on to the room.
    let through = patient_web.get(&link).await;
    assert_eq!(
        telemed_testkit::location(&through).as_deref(),
        Some(room.as_str())
    );

    // In that visit, the clinician cannot start another; the chart says why.
    let busy = web
        .post(
            &format!("/patients/{}/start-now", other.id),
            &[("reason", "Follow-up")],
        )
        .await;
    assert_eq!(busy.status(), 409);
    assert!(busy.text().await.unwrap().contains("chart-error"));
    app.shutdown().await;
}

on_both_databases!(
    a_clinician_starts_a_visit_now_from_the_chart,
    the_pages_lead_from_the_queue_to_the_room,
    patients_are_seen_by_whichever_clinician_takes_them,
    fifty_patients_ten_clinicians_none_taken_twice,
);

/// On a phone: someone new to the clinic signs up with a code sent to their email,
/// asks to be seen now and waits on the page; of two doctors
/// taking at once one gets them, the other finds nobody; the patient's page goes to the
/// visit by itself (the live connection, no reload), where the consent comes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn on_a_phone_the_queue_leads_to_the_visit() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let api = Api::of(&app);
    let doctors = open_clinic(&app, 2).await;
    // Someone new to the clinic: from the sign-in page to the on-demand page, with a
    // name, an email and the code sent to it.
    let email = "ines.moreno@example.org";
    let browser = TestBrowser::launch_phone().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    wait_for(&page, "#see-now")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "#display_name").await.unwrap();
    look(&page, "50-new-patient-now-phone").await;
    fill(&page, "#display_name", "Inés Moreno").await.unwrap();
    fill(&page, "#email", email).await.unwrap();
    submit(&page).await;
    wait_for(&page, "#code").await.unwrap();
    let code = app
        .smtp
        .wait_for(email, "sign-in code")
        .await
        .sign_in_code();
    fill(&page, "#code", &code).await.unwrap();
    submit(&page).await;
    wait_for_path(&page, "/now").await.unwrap();
    wait_for(&page, "#od-reason").await.unwrap();
    assert_accessible(&page, "the on-demand form, on a phone").await;
    fill(&page, "#od-reason", "Rash on both arms since this morning")
        .await
        .unwrap();
    submit(&page).await;
    let place = wait_for(&page, "#on-demand-place").await.unwrap();
    let said = place.inner_text().await.unwrap().unwrap_or_default();
    assert!(said.contains("number 1 of 1"), "{said}");
    look(&page, "51-on-demand-waiting-phone").await;

    let (a, b) = tokio::join!(take(&api, &doctors[0].1), take(&api, &doctors[1].1));
    let mut outcomes = [a.0, b.0];
    outcomes.sort_unstable();
    assert_eq!(outcomes, [201, 409], "{a:?} {b:?}");
    let visit = if a.0 == 201 { &a.1 } else { &b.1 };
    let visit = visit["visit_id"].as_str().unwrap();
    wait_for_path(&page, &format!("/visits/{visit}/consent"))
        .await
        .unwrap();
    let heading = text_of(&page, "main h1").await.unwrap();
    assert!(heading.contains("Consent"), "{heading}");
    assert_accessible(&page, "the telehealth consent, on a phone").await;
    browser.close().await;
    app.shutdown().await;
}

/// On a phone: the clinician starts a visit now; the patient, not signed in there,
/// opens the emailed link, asks for a code, types it, and is at the visit (the consent
/// first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn on_a_phone_the_see_you_now_link_opens_the_visit_after_a_code() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let api = Api::of(&app);
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_named_user(Role::Patient, "Inés Moreno").await;
    super::messaging::give_a_visit(&app, &clinician, &patient).await;
    let token = app.token_for(&clinician, None).await;
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/start-now", patient.id),
            &token,
            Some(json!({"reason": "Your blood test results"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mail = app.smtp.wait_for(&patient.email, "waiting for you").await;
    let link = mail
        .part("text/plain")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.contains("/login/code?next="))
        })
        .and_then(|l| l.find("/login/code").map(|at| l[at..].to_owned()))
        .expect("the link");

    let browser = TestBrowser::launch_phone().await.expect("Chromium");
    let page = browser.open(&app.url(&link)).await.unwrap();
    wait_for(&page, "#email").await.unwrap();
    look(&page, "52-see-you-now-link-phone").await;
    fill(&page, "#email", &patient.email).await.unwrap();
    submit(&page).await;
    wait_for(&page, "#code").await.unwrap();
    let code = app
        .smtp
        .wait_for(&patient.email, "sign-in code")
        .await
        .sign_in_code();
    look(&page, "53-sign-in-code-phone").await;
    fill(&page, "#code", &code).await.unwrap();
    submit(&page).await;
    let visit = link
        .split("next=")
        .nth(1)
        .unwrap()
        .trim_end_matches("/room");
    wait_for_path(&page, &format!("{visit}/consent"))
        .await
        .unwrap();
    assert_accessible(&page, "the consent after a code, on a phone").await;
    browser.close().await;
    app.shutdown().await;
}
