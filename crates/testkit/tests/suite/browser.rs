//! The real UI in headless Debian Chromium: a patient registers, confirms the email
//! from the SMTP sink and signs in; a clinician enrols TOTP and signs in with a code.
//! Screenshots of each page go to target/screenshots/ for review.

use telemed_domain::Role;
use telemed_testkit::browser::{
    choose_file, fill, look, press, sign_in_clinician, sign_in_to_enrolment, submit, tab_to,
    text_of, type_text, wait_for, wait_for_path, TestBrowser,
};
use telemed_testkit::{totp_code, Backend, TestApp, TestUser};

/// A real 1x1 PNG.
fn one_pixel_png() -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn patient_registers_verifies_and_signs_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/register")).await.unwrap();
    look(&page, "01-register").await;
    fill(&page, "#display_name", "Lucía Fernández")
        .await
        .unwrap();
    fill(&page, "#email", "lucia@example.org").await.unwrap();
    fill(&page, "#password", "amber otter glacier 19")
        .await
        .unwrap();
    submit(&page).await;
    let notice = wait_for(&page, "p.notice.good").await.unwrap();
    assert!(notice
        .inner_text()
        .await
        .unwrap()
        .unwrap()
        .contains("Check your email"));
    look(&page, "02-register-sent").await;

    let mail = app
        .smtp
        .wait_for("lucia@example.org", "Confirm your email")
        .await;
    let link = mail.link_path("/verify-email?token=").unwrap();
    page.goto(app.url(&link)).await.unwrap();
    wait_for(&page, "main form button").await.unwrap();
    submit(&page).await;
    let notice = wait_for(&page, "p.notice.good").await.unwrap();
    assert!(notice
        .inner_text()
        .await
        .unwrap()
        .unwrap()
        .contains("confirmed"));
    look(&page, "03-email-confirmed").await;

    page.goto(app.url("/login")).await.unwrap();
    wait_for(&page, "#email").await.unwrap();
    fill(&page, "#email", "lucia@example.org").await.unwrap();
    fill(&page, "#password", "amber otter glacier 19")
        .await
        .unwrap();
    look(&page, "04-sign-in").await;
    submit(&page).await;
    wait_for_path(&page, "/").await.unwrap();
    let heading = text_of(&page, "main h1").await.unwrap();
    assert!(heading.contains("Lucía Fernández"), "{heading}");
    look(&page, "05-patient-home").await;
    browser.close().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn clinician_enrolls_totp_and_signs_in_with_a_code() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let clinician = app.create_user(Role::Clinician).await;
    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    let secret = sign_in_to_enrolment(&page, &clinician).await;
    // The QR code rendered (the CSP allows the data: image).
    let qr_width: f64 = page
        .evaluate("document.querySelector('img.qr').naturalWidth")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    assert!(qr_width > 0.0, "the QR image did not render");
    look(&page, "06-mfa-enroll").await;
    fill(
        &page,
        "#code",
        &totp_code(&secret, telemed_domain::Clock::now(&app.clock)),
    )
    .await
    .unwrap();
    submit(&page).await;
    let codes = wait_for(&page, "#recovery-codes")
        .await
        .unwrap()
        .inner_text()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        codes.lines().filter(|l| l.trim().len() == 11).count(),
        10,
        "{codes}"
    );
    look(&page, "07-recovery-codes").await;

    // Sign out, then in again with a fresh code.
    page.find_element("header form[action='/logout'] button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&page, "/login").await.unwrap();
    app.clock.advance(chrono::Duration::seconds(30));
    fill(&page, "#email", &clinician.email).await.unwrap();
    fill(&page, "#password", &clinician.password).await.unwrap();
    submit(&page).await;
    wait_for_path(&page, "/login/mfa").await.unwrap();
    look(&page, "08-mfa-code").await;
    fill(
        &page,
        "#code",
        &totp_code(&secret, telemed_domain::Clock::now(&app.clock)),
    )
    .await
    .unwrap();
    submit(&page).await;
    wait_for_path(&page, "/").await.unwrap();
    let heading = text_of(&page, "main h1").await.unwrap();
    assert!(heading.contains("Test clinician"), "{heading}");
    // In Spanish too.
    page.evaluate("document.getElementById('lang-select').value = 'es'; document.querySelector('.lang-form').submit()").await.unwrap();
    wait_for(&page, "html[lang=es]").await.unwrap();
    assert!(text_of(&page, "main h1")
        .await
        .unwrap()
        .contains("Bienvenido"));
    look(&page, "09-clinician-home-es").await;
    browser.close().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn admin_invites_a_clinician_and_reads_the_audit_trail() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.create_user(Role::Admin).await;
    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    let secret = sign_in_to_enrolment(&page, &admin).await;
    fill(
        &page,
        "#code",
        &totp_code(&secret, telemed_domain::Clock::now(&app.clock)),
    )
    .await
    .unwrap();
    submit(&page).await;
    wait_for(&page, "#recovery-codes").await.unwrap();

    page.goto(app.url("/admin/users")).await.unwrap();
    fill(&page, "#inv-name", "Dr. Sofía Marín").await.unwrap();
    fill(&page, "#inv-email", "sofia.marin@clinic.example")
        .await
        .unwrap();
    page.find_element("form[action='/admin/invitations'] button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = wait_for(&page, "p.notice.good")
        .await
        .unwrap()
        .inner_text()
        .await
        .unwrap()
        .unwrap();
    assert!(notice.contains("Invitation sent"), "{notice}");
    assert!(text_of(&page, "main")
        .await
        .unwrap()
        .contains("sofia.marin@clinic.example"));
    look(&page, "10-admin-users").await;
    app.smtp
        .wait_for("sofia.marin@clinic.example", "invitation")
        .await;

    page.goto(app.url("/admin/audit?verify=1")).await.unwrap();
    let chain = wait_for(&page, "p.notice")
        .await
        .unwrap()
        .inner_text()
        .await
        .unwrap()
        .unwrap();
    assert!(chain.contains("The chain is intact"), "{chain}");
    let table = text_of(&page, "table").await.unwrap();
    assert!(
        table.contains("user.invite") && table.contains("auth.mfa_enroll"),
        "{table}"
    );
    look(&page, "11-admin-audit").await;
    browser.close().await;
    app.shutdown().await;
}

/// Gives `clinician` daily video hours 08:00–18:00 (Madrid) through the API.
async fn open_dermatology_hours(app: &TestApp, clinician: &TestUser) {
    let token = app.token_for(clinician, None).await;
    let rules: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| serde_json::json!({"weekday": d, "start": "08:00", "end": "18:00"}))
        .collect();
    let schedule = serde_json::json!({
        "specialty": "Dermatology", "languages": ["en"], "regions": ["ES-MD"], "time_zone": "Europe/Madrid",
        "buffer_minutes": 0, "horizon_days": 30, "min_notice_minutes": 60, "rules": rules,
        "visit_types": [{"kind": "video", "duration_minutes": 30, "fee_cents": 6000, "currency": "EUR"}]
    });
    let r = app
        .client()
        .put(app.url(&format!("/api/v1/clinicians/{}/schedule", clinician.id)))
        .bearer_auth(&token)
        .json(&schedule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn patient_checks_devices_and_checks_in_to_the_live_queue() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    open_dermatology_hours(&app, &clinician).await;
    let now = telemed_domain::Clock::now(&app.clock);
    let token = app.token_for(&patient, None).await;
    let slots: Vec<serde_json::Value> = app
        .client()
        .get(app.url(&format!(
            "/api/v1/clinicians/{}/slots?visit_kind=video&from={}&to={}",
            clinician.id,
            now.format("%Y-%m-%dT%H:%M:%SZ"),
            (now + chrono::Duration::days(3)).format("%Y-%m-%dT%H:%M:%SZ")
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let start = slots[0]["start"].as_str().unwrap().to_owned();
    let r = app
        .client()
        .post(app.url("/api/v1/appointments"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"clinician_id": clinician.id, "visit_kind": "video", "start": start, "reason": "Follow-up"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let start = chrono::DateTime::parse_from_rfc3339(&start).unwrap();
    app.clock
        .advance(start.with_timezone(&chrono::Utc) - now - chrono::Duration::minutes(10));

    // The clinician has the queue open: the patient is due, not yet waiting.
    let clinician_browser = TestBrowser::launch().await.expect("Chromium");
    let queue = clinician_browser.open(&app.url("/login")).await.unwrap();
    sign_in_clinician(&app, &queue, &clinician).await;
    queue.goto(app.url("/waiting-room")).await.unwrap();
    let before = text_of(&queue, "#queue-table").await.unwrap();
    assert!(
        before.contains("Test patient") && before.contains("Due"),
        "{before}"
    );

    // The patient checks camera, microphone, speaker and connection, then checks in.
    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    fill(&page, "#email", &patient.email).await.unwrap();
    fill(&page, "#password", &patient.password).await.unwrap();
    submit(&page).await;
    wait_for_path(&page, "/").await.unwrap();
    page.goto(app.url("/appointments")).await.unwrap();
    wait_for(&page, "a.button[href$='/waiting-room']")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "[data-dc-media]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for check in ["camera", "microphone", "connection"] {
        wait_for(&page, &format!("[data-dc-result={check}][data-state=ok]"))
            .await
            .unwrap_or_else(|e| panic!("{check}: {e}"));
    }
    page.find_element("[data-dc-heard]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "[data-dc-result=speaker][data-state=ok]")
        .await
        .unwrap();
    look(&page, "17-device-check").await;
    page.find_element("#check-in")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "#checked-in").await.unwrap();
    look(&page, "18-checked-in").await;

    // The clinician's open queue shows them waiting without a reload.
    wait_for(&queue, "#queue-table .pill.good").await.unwrap();
    let after = text_of(&queue, "#queue-table").await.unwrap();
    assert!(after.contains("Waiting"), "{after}");
    look(&queue, "19-waiting-queue").await;
    browser.close().await;
    clinician_browser.close().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn patient_books_a_visit_that_shows_on_the_clinicians_day() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    open_dermatology_hours(&app, &clinician).await;

    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    fill(&page, "#email", &patient.email).await.unwrap();
    fill(&page, "#password", &patient.password).await.unwrap();
    submit(&page).await;
    wait_for_path(&page, "/").await.unwrap();
    page.goto(app.url("/book?specialty=Dermatology&region=ES-MD"))
        .await
        .unwrap();
    wait_for(&page, "li.clinician a.button").await.unwrap();
    look(&page, "12-find-clinician").await;
    page.find_element("li.clinician a.button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "a.slot").await.unwrap();
    look(&page, "13-week-view").await;
    page.find_element("a.slot")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&page, "#reason", "Itchy rash on the forearm")
        .await
        .unwrap();
    let start: String = page
        .evaluate("document.querySelector('input[name=start]').value")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    look(&page, "14-confirm").await;
    submit(&page).await;
    wait_for_path(&page, "/appointments").await.unwrap();
    let list = text_of(&page, "main").await.unwrap();
    assert!(
        list.contains("Your visit is booked") && list.contains("Test clinician"),
        "{list}"
    );
    look(&page, "15-my-appointments").await;
    browser.close().await;

    // The clinician sees it on that day.
    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    sign_in_clinician(&app, &page, &clinician).await;
    let day = &start[..10];
    page.goto(app.url(&format!("/calendar?day={day}")))
        .await
        .unwrap();
    let table = wait_for(&page, "#day-appointments")
        .await
        .unwrap()
        .inner_text()
        .await
        .unwrap()
        .unwrap();
    assert!(
        table.contains("Test patient") && table.contains("Itchy rash on the forearm"),
        "{table}"
    );
    look(&page, "16-clinician-day").await;

    // The week shows the visit as a block in time in its day's column: half an hour
    // tall, as far below the top of the grid as its start is after the grid's first hour.
    page.goto(app.url(&format!("/calendar?day={day}&view=week")))
        .await
        .unwrap();
    wait_for(&page, ".timeline .block").await.unwrap();
    let (offset, height, hour, column, text): (f64, f64, f64, String, String) = page
        .evaluate(
            "(() => { const b = document.querySelector('.timeline .block'); \
               const hour = document.querySelector('.timeline .hours li').getBoundingClientRect().height; \
               const top = b.parentElement.getBoundingClientRect().top; const r = b.getBoundingClientRect(); \
               return [r.top - top, r.height, hour, b.closest('.tday').querySelector('h2').innerText, b.innerText]; })()",
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let starts: chrono::DateTime<chrono::Utc> = start.parse().unwrap();
    use chrono::Timelike as _;
    let first_hour = starts.hour().min(8);
    let after_first = f64::from((starts.hour() - first_hour) * 60 + starts.minute()) / 60.0;
    assert!(
        (offset - after_first * hour).abs() < 1.5,
        "{offset} vs {after_first} h of {hour} px"
    );
    assert!((height - hour / 2.0).abs() < 1.5, "{height} vs {hour}");
    assert!(
        column.contains(&starts.format("%a %-d %b").to_string()),
        "{column}"
    );
    assert!(
        text.contains(&starts.format("%H:%M").to_string()) && text.contains("Test patient"),
        "{text}"
    );
    look(&page, "16b-clinician-week").await;
    browser.close().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn patient_and_clinician_message_each_other_live() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    open_dermatology_hours(&app, &clinician).await;
    // A visit makes them a care team.
    let now = telemed_domain::Clock::now(&app.clock);
    let mut tx = app.state().store.begin_write().await.unwrap();
    let start = now + chrono::Duration::days(1);
    telemed_store::scheduling::book(
        &mut tx,
        telemed_store::scheduling::NewAppointment {
            clinician_id: clinician.id,
            patient_id: patient.id,
            visit_kind: telemed_domain::schedule::VisitKind::Video,
            start_at: start,
            end_at: start + chrono::Duration::minutes(30),
            reason: "Follow-up",
            booked_by: patient.id,
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // The clinician has the inbox open.
    let clinician_browser = TestBrowser::launch().await.expect("Chromium");
    let inbox = clinician_browser.open(&app.url("/login")).await.unwrap();
    sign_in_clinician(&app, &inbox, &clinician).await;
    inbox.goto(app.url("/messages")).await.unwrap();
    wait_for(&inbox, "body[data-live-ready]").await.unwrap();

    // The patient writes, with markup that must stay text.
    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    fill(&page, "#email", &patient.email).await.unwrap();
    fill(&page, "#password", &patient.password).await.unwrap();
    submit(&page).await;
    wait_for_path(&page, "/").await.unwrap();
    page.goto(app.url("/messages/new")).await.unwrap();
    wait_for(&page, "#to").await.unwrap();
    page.evaluate(format!(
        "document.getElementById('to').value = '{}'",
        clinician.id
    ))
    .await
    .unwrap();
    fill(&page, "#subject", "Rash update").await.unwrap();
    fill(
        &page,
        "#body",
        "<img src=x onerror=\"window.pwned=1\"> It is <b>worse</b> today",
    )
    .await
    .unwrap();
    page.find_element("form[action='/messages/new'] button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&page, "li.message[data-seq='1']").await.unwrap();
    wait_for(&page, "body[data-live-ready]").await.unwrap();

    // It appears in the clinician's open inbox without a reload.
    wait_for(&inbox, "#threads a[href^='/messages/']")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let body = text_of(&inbox, "li.message[data-seq='1'] .body")
        .await
        .unwrap();
    assert!(
        body.contains("<img src=x onerror="),
        "shown as text: {body}"
    );
    let pwned: bool = inbox
        .evaluate("window.pwned === 1")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    assert!(!pwned, "markup in a message never runs");
    look(&inbox, "20-clinician-thread").await;

    // The reply appears live on the patient's open thread, and is marked seen there.
    wait_for(&inbox, "body[data-live-ready]").await.unwrap();
    fill(&inbox, "#body", "Please send a photo.").await.unwrap();
    inbox
        .find_element("#reply button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let reply = text_of(&page, "li.message[data-seq='2'] .body")
        .await
        .unwrap();
    assert_eq!(reply.trim(), "Please send a photo.");
    look(&page, "21-patient-thread-live").await;

    // The patient sends a photo; it shows, decoded, in the clinician's open thread.
    let photo = std::env::temp_dir().join(format!("rash-{}.png", uuid::Uuid::new_v4()));
    std::fs::write(&photo, one_pixel_png()).unwrap();
    wait_for(&page, "body[data-live-ready]").await.unwrap();
    fill(&page, "#body", "Here it is.").await.unwrap();
    choose_file(&page, "#files", &photo).await.unwrap();
    page.find_element("#reply button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&inbox, "li.message[data-seq='3'] img.attachment-preview")
        .await
        .unwrap();
    let mut decoded = false;
    for _ in 0..50 {
        decoded = inbox
            .evaluate("(() => { const i = document.querySelector(\"li.message[data-seq='3'] img.attachment-preview\"); return !!i && i.complete && i.naturalWidth === 1; })()")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        if decoded {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        decoded,
        "the photo came back through the server and decoded"
    );
    look(&inbox, "22-clinician-sees-photo").await;
    let _ = std::fs::remove_file(&photo);
    browser.close().await;
    clinician_browser.close().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn with_the_keyboard_alone_a_patient_books_and_joins_a_visit() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    open_dermatology_hours(&app, &clinician).await;
    let browser = TestBrowser::launch().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    // Signing in: Tab to each field, type, Enter.
    let sign_in = || async {
        tab_to(&page, "#email").await.unwrap();
        type_text(&page, &patient.email).await.unwrap();
        tab_to(&page, "#password").await.unwrap();
        type_text(&page, &patient.password).await.unwrap();
        press(&page, "Enter", false).await.unwrap();
        wait_for_path(&page, "/").await.unwrap();
    };
    sign_in().await;

    // Booking: the clinician, a free time, the reason, confirm.
    page.goto(app.url("/book?specialty=Dermatology&region=ES-MD"))
        .await
        .unwrap();
    wait_for(&page, "li.clinician a.button").await.unwrap();
    tab_to(&page, "li.clinician a.button").await.unwrap();
    press(&page, "Enter", false).await.unwrap();
    wait_for(&page, "a.slot").await.unwrap();
    tab_to(&page, "a.slot").await.unwrap();
    press(&page, "Enter", false).await.unwrap();
    wait_for(&page, "#reason").await.unwrap();
    tab_to(&page, "#reason").await.unwrap();
    type_text(&page, "Itchy rash, booked without a mouse")
        .await
        .unwrap();
    let start: String = page
        .evaluate("document.querySelector('input[name=start]').value")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    tab_to(&page, "form button[type=submit]").await.unwrap();
    press(&page, "Enter", false).await.unwrap();
    wait_for_path(&page, "/appointments").await.unwrap();
    let list = text_of(&page, "main").await.unwrap();
    assert!(list.contains("Your visit is booked"), "{list}");

    // Joining, ten minutes before (signed in again: the session has lapsed by then):
    // the waiting room, the device check, check-in.
    let now = telemed_domain::Clock::now(&app.clock);
    let start = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .with_timezone(&chrono::Utc);
    app.clock
        .advance(start - now - chrono::Duration::minutes(10));
    page.goto(app.url("/login")).await.unwrap();
    sign_in().await;
    page.goto(app.url("/appointments")).await.unwrap();
    wait_for(&page, "a.button[href$='/waiting-room']")
        .await
        .unwrap();
    tab_to(&page, "a.button[href$='/waiting-room']")
        .await
        .unwrap();
    press(&page, "Enter", false).await.unwrap();
    wait_for(&page, "[data-dc-media]").await.unwrap();
    tab_to(&page, "[data-dc-media]").await.unwrap();
    press(&page, "Enter", false).await.unwrap();
    for check in ["camera", "microphone", "connection"] {
        wait_for(&page, &format!("[data-dc-result={check}][data-state=ok]"))
            .await
            .unwrap_or_else(|e| panic!("{check}: {e}"));
    }
    tab_to(&page, "[data-dc-heard]").await.unwrap();
    press(&page, "Space", false).await.unwrap();
    wait_for(&page, "[data-dc-result=speaker][data-state=ok]")
        .await
        .unwrap();
    tab_to(&page, "#check-in").await.unwrap();
    press(&page, "Enter", false).await.unwrap();
    wait_for(&page, "#checked-in").await.unwrap();
    look(&page, "18b-checked-in-by-keyboard").await;
    browser.close().await;
    app.shutdown().await;
}

/// On a phone the bar is the clinic's name and "Menu", not a row of links to scroll:
/// the menu page lists the links one per line, and the language is chosen in the
/// footer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn on_a_phone_the_links_are_in_the_menu() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let patient = app.create_user(Role::Patient).await;
    let browser = TestBrowser::launch_phone().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    telemed_testkit::browser::sign_in_patient(&page, &patient).await;
    // The bar fits the screen, and its links are not shown there.
    let fits = page
        .evaluate("(() => { const bar = document.querySelector('header .bar'); return bar.scrollWidth <= bar.clientWidth && bar.getBoundingClientRect().height < 80; })()")
        .await
        .unwrap()
        .into_value::<bool>()
        .unwrap();
    assert!(fits, "the bar is one short row on a phone");
    let hidden = page
        .evaluate("getComputedStyle(document.querySelector('header .links')).display === 'none'")
        .await
        .unwrap()
        .into_value::<bool>()
        .unwrap();
    assert!(hidden);
    look(&page, "72-patient-home-phone-bar").await;
    page.find_element("header .menu-link")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&page, "/menu").await.unwrap();
    let links = text_of(&page, "nav.menu").await.unwrap();
    for link in [
        "Book a visit",
        "My appointments",
        "My record",
        "Messages",
        "Account",
        "Sign out",
    ] {
        assert!(links.contains(link), "{link} is in the menu: {links}");
    }
    look(&page, "73-menu-phone").await;
    page.find_element("nav.menu a[href='/appointments']")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&page, "/appointments").await.unwrap();
    // The language, in the footer.
    wait_for(&page, "footer #lang-select").await.unwrap();
    browser.close().await;
    app.shutdown().await;
}
