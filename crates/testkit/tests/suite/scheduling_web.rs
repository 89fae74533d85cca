//! Scheduling through the web UI: the availability editor and its preview, moving a
//! visit, staff booking for a patient, undoing a no-show, notifications.

use chrono::{Duration, SecondsFormat, Timelike};
use serde_json::{json, Value};
use telemed_domain::{Clock, Role};
use telemed_testkit::{location, Backend, TestApp};

/// The editor's fields for weekday mornings in Madrid and two visit kinds.
fn editor_fields<'a>(monday: &'a str, exceptions: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("specialty", "Family medicine"),
        ("languages", "en es"),
        ("regions", "ES-MD"),
        ("bio", "Twenty years in primary care."),
        ("time_zone", "Europe/Madrid"),
        ("buffer_minutes", "0"),
        ("horizon_days", "30"),
        ("min_notice_minutes", "60"),
        ("hours_mon", monday),
        ("hours_tue", "09:00-12:00"),
        ("hours_wed", "09:00-12:00"),
        ("hours_thu", "09:00-12:00"),
        ("hours_fri", "09:00-12:00"),
        ("hours_sat", ""),
        ("hours_sun", ""),
        ("exceptions", exceptions),
        ("currency", "eur"),
        ("video_on", "on"),
        ("video_minutes", "30"),
        ("video_fee", "45.50"),
        ("audio_minutes", "15"),
        ("audio_fee", ""),
        ("messaging_on", "on"),
        ("messaging_minutes", "15"),
        ("messaging_fee", "20"),
    ]
}

async fn the_availability_editor_previews_and_saves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let other = app.create_user(Role::Clinician).await;
    let staff = app.create_user(Role::Staff).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.signed_in_web(&clinician).await;
    let own = format!("/schedule/{}", clinician.id);
    assert_eq!(
        location(&web.get("/schedule").await).as_deref(),
        Some(own.as_str())
    );
    let page = web.get(&own).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.text().await.unwrap().contains("09:00-17:00"),
        "a new clinician starts from office hours"
    );

    // The preview shows the slots the form yields without saving anything.
    let fields = editor_fields("09:00-12:00", "");
    let preview = web.post(&format!("{own}/preview"), &fields).await;
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    let total: usize = html
        .split("id=\"preview-total\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .parse()
        .unwrap();
    // Five mornings of six 30-minute slots a week, minus what has passed or is too soon.
    assert!((12..=30).contains(&total), "{total} slots previewed");
    assert!(html.contains("Europe/Madrid"));
    let bad = web
        .post(
            &format!("{own}/preview"),
            &editor_fields("9 until noon", ""),
        )
        .await;
    assert!(
        bad.text().await.unwrap().contains("9 until noon"),
        "the error quotes the input"
    );
    assert!(app
        .state()
        .store
        .clinician_profile(clinician.id)
        .await
        .unwrap()
        .is_none_or(|p| p.visit_types.is_empty()));

    // Bad input is refused with the reason and changes nothing.
    for (field, value) in [
        ("hours_mon", "12:00-09:00"),
        ("exceptions", "christmas closed"),
        ("video_fee", "lots"),
        ("time_zone", "Mars/Olympus"),
        ("horizon_days", "many"),
    ] {
        let mut fields = editor_fields("09:00-12:00", "");
        fields.retain(|(k, _)| *k != field);
        fields.push((field, value));
        let r = web.post(&own, &fields).await;
        assert_eq!(r.status(), 400, "{field}={value}");
    }
    assert!(app
        .state()
        .store
        .clinician_profile(clinician.id)
        .await
        .unwrap()
        .is_none_or(|p| p.visit_types.is_empty()));

    // Saved: patients' search and the API see it.
    let r = web
        .post(
            &own,
            &editor_fields(
                "09:00-12:00, 15:00-17:00",
                "2030-12-24 closed\n2030-12-28 10:00-12:00",
            ),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\"saved\""));
    let profile = app
        .state()
        .store
        .clinician_profile(clinician.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.specialty, "Family medicine");
    assert_eq!(profile.availability.rules.len(), 6);
    assert_eq!(profile.availability.exceptions.len(), 2);
    assert_eq!(profile.visit_types.len(), 2);
    let video = profile
        .visit_types
        .iter()
        .find(|v| v.kind == telemed_domain::schedule::VisitKind::Video)
        .unwrap();
    assert_eq!((video.fee_cents, video.currency.as_str()), (4550, "EUR"));
    let page = web.get(&own).await.text().await.unwrap();
    assert!(page.contains("09:00-12:00, 15:00-17:00") && page.contains("2030-12-28 10:00-12:00"));

    // Only the clinician themself and staff edit a schedule.
    assert_eq!(
        web.get(&format!("/schedule/{}", other.id)).await.status(),
        403
    );
    let r = web
        .post(
            &format!("/schedule/{}", other.id),
            &editor_fields("09:00-12:00", ""),
        )
        .await;
    assert_eq!(r.status(), 403);
    let patient_web = app.signed_in_web(&patient).await;
    assert_eq!(patient_web.get(&own).await.status(), 403);
    assert_eq!(patient_web.get("/schedule").await.status(), 403);
    let staff_web = app.signed_in_web(&staff).await;
    let list = staff_web.get("/schedule").await.text().await.unwrap();
    assert!(list.contains(&format!("/schedule/{}", other.id)));
    let r = staff_web
        .post(
            &format!("/schedule/{}", other.id),
            &editor_fields("10:00-11:00", ""),
        )
        .await;
    assert_eq!(r.status(), 200);
    let theirs = app
        .state()
        .store
        .clinician_profile(other.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(theirs.availability.rules.len(), 5);
    app.shutdown().await;
}

/// A clinician open every day 08:00–20:00 UTC, for the visit-changing scenarios.
async fn open_clinic(app: &TestApp) -> (telemed_testkit::TestUser, String) {
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let rules: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"weekday": d, "start": "08:00", "end": "20:00"}))
        .collect();
    let r = app
        .client()
        .put(app.url(&format!("/api/v1/clinicians/{}/schedule", clinician.id)))
        .bearer_auth(&token)
        .json(&json!({"specialty": "Dermatology", "languages": ["en"], "regions": ["ES-MD"], "time_zone": "UTC",
            "buffer_minutes": 0, "horizon_days": 30, "min_notice_minutes": 60, "rules": rules,
            "visit_types": [{"kind": "video", "duration_minutes": 30, "fee_cents": 5000, "currency": "EUR"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (clinician, token)
}

async fn free_starts(app: &TestApp, clinician: telemed_domain::UserId, token: &str) -> Vec<String> {
    let now = app.clock.now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let slots: Vec<Value> = app
        .client()
        .get(app.url(&format!(
            "/api/v1/clinicians/{clinician}/slots?visit_kind=video&from={}&to={}",
            fmt(now + Duration::hours(48)),
            fmt(now + Duration::days(5))
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect()
}

async fn visits_change_through_the_ui(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (clinician, clinician_token) = open_clinic(&app).await;
    let patient = app.create_user(Role::Patient).await;
    let staff = app.create_user(Role::Staff).await;
    let starts = free_starts(&app, clinician.id, &clinician_token).await;

    // Staff book for a patient named by email; an unknown email books nothing.
    let staff_web = app.signed_in_web(&staff).await;
    let book = format!("/book/{}", clinician.id);
    let confirm = staff_web
        .get(&format!(
            "{book}/confirm?kind=video&start={}",
            starts[0].replace('+', "%2B")
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("patient_email"));
    let r = staff_web
        .post(
            &book,
            &[
                ("kind", "video"),
                ("start", &starts[0]),
                ("reason", "Follow-up"),
                ("patient_email", "nobody@example.org"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM appointments")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap()
    };
    assert_eq!(count().await, 0);
    let r = staff_web
        .post(
            &book,
            &[
                ("kind", "video"),
                ("start", &starts[0]),
                ("reason", "Follow-up"),
                ("patient_email", &patient.email),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).unwrap().starts_with("/calendar?day="));
    let list = app
        .state()
        .store
        .appointments(
            &telemed_domain::access::visit_party(patient.id),
            app.clock.now(),
            app.clock.now() + Duration::days(30),
            10,
        )
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].booked_by, staff.id);
    let id = list[0].id;

    // The patient sees it, with a link to change the time, and moves it.
    let web = app.signed_in_web(&patient).await;
    // Search opens a clinician's times on the week of their next free time (on a
    // Sunday evening the current week may have none left).
    let now = app.clock.now();
    let soonest: Vec<Value> = app
        .client()
        .get(app.url(&format!(
            "/api/v1/clinicians/{}/slots?visit_kind=video&from={}&to={}",
            clinician.id,
            now.to_rfc3339_opts(SecondsFormat::Secs, true),
            (now + Duration::days(3)).to_rfc3339_opts(SecondsFormat::Secs, true)
        )))
        .bearer_auth(&clinician_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first_day = &soonest[0]["start"].as_str().unwrap()[..10];
    let search = web
        .get("/book?specialty=Dermatology")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        search.contains(&format!("?kind=video&amp;week={first_day}")),
        "{search}"
    );
    let mine = web.get("/appointments").await.text().await.unwrap();
    let move_path = format!("/appointments/{id}/reschedule");
    assert!(mine.contains(&move_path));
    let form = web
        .get(&format!("{move_path}?week={}", &starts[4][..10]))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(&format!("value=\"{}\"", starts[4])),
        "free times offered"
    );
    assert!(
        !form.contains("name=\"reason\""),
        "patients need not give a reason"
    );
    let r = web.post(&move_path, &[("start", &starts[4])]).await;
    assert_eq!(location(&r).as_deref(), Some("/appointments?done=moved"));
    let moved = app
        .state()
        .store
        .appointment(&telemed_testkit::every_visit(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        moved.start_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        starts[4]
    );
    // Someone else's visit cannot be moved or even seen.
    let stranger = app.create_user(Role::Patient).await;
    let stranger_web = app.signed_in_web(&stranger).await;
    assert_eq!(stranger_web.get(&move_path).await.status(), 404);
    assert_eq!(
        stranger_web
            .post(&move_path, &[("start", &starts[6])])
            .await
            .status(),
        404
    );

    // The clinician is notified in the app; reading marks it read.
    telemed_server::jobs::run_due(app.state()).await.unwrap();
    let clinician_web = app.signed_in_web(&clinician).await;
    let badge = clinician_web
        .get("/notifications/badge")
        .await
        .text()
        .await
        .unwrap();
    assert!(badge.contains("(1)"), "{badge}");
    let notes = clinician_web
        .get("/notifications")
        .await
        .text()
        .await
        .unwrap();
    assert!(notes.contains("A patient moved a visit"), "{notes}");
    let r = clinician_web.post("/notifications/read", &[]).await;
    assert_eq!(r.status(), 303);
    let badge = clinician_web
        .get("/notifications/badge")
        .await
        .text()
        .await
        .unwrap();
    assert!(!badge.contains('('), "{badge}");

    // A missed visit: the no-show job marks it, staff undo it from the day view (the
    // earlier sessions have timed out by then: sign in afresh).
    let start = moved.start_at;
    app.clock
        .advance(start - app.clock.now() + Duration::minutes(20));
    telemed_server::jobs::run_due(app.state()).await.unwrap();
    let front_desk = app.signed_in_web(&app.create_user(Role::Staff).await).await;
    web.sign_in(&patient.email, &patient.password).await;
    let day = format!("/calendar?day={}", start.format("%Y-%m-%d"));
    let page = front_desk.get(&day).await.text().await.unwrap();
    let undo = format!("/appointments/{id}/undo-noshow");
    assert!(page.contains(&undo), "the day view offers the undo");
    assert_eq!(
        web.post(&undo, &[]).await.status(),
        404,
        "not the patient's to undo"
    );
    let r = front_desk.post(&undo, &[("back", &day)]).await;
    assert_eq!(location(&r).as_deref(), Some(day.as_str()));
    assert_eq!(
        app.state()
            .store
            .appointment(&telemed_testkit::every_visit(), id)
            .await
            .unwrap()
            .unwrap()
            .status,
        telemed_store::scheduling::AppointmentStatus::Booked
    );
    // The week view holds the visit in its day's column, as a block placed at its time
    // (the grid starts at 08:00 unless a visit is earlier) that opens the day view.
    let week = front_desk
        .get(&format!("{day}&view=week"))
        .await
        .text()
        .await
        .unwrap();
    let column = week
        .split("<section class=\"tday\"")
        .find(|d| d.contains(&start.format("%a %-d %b").to_string()))
        .unwrap();
    let block = column
        .split("<li class=\"block ")
        .nth(1)
        .expect("a block in the visit's day");
    assert!(
        block.contains(&start.format("%H:%M").to_string()),
        "{block}"
    );
    let from = start.hour().min(8);
    let steps = (start.hour() - from) * 12 + start.minute() / 5;
    let place = format!("at-h{} at-m{} ", steps / 12, steps % 12);
    assert!(block.starts_with(&place), "{place} in {block}");
    assert!(
        block.contains(&format!("{day}#a-{id}")),
        "the block opens the day view at the visit: {block}"
    );
    let day_view = front_desk.get(&day).await.text().await.unwrap();
    assert!(day_view.contains(&format!("<tr id=\"a-{id}\">")));
    app.shutdown().await;
}

/// A patient who is late still finds the visit under way among their upcoming visits,
/// with its waiting room; once it is over it moves to the past.
async fn a_visit_under_way_is_still_ahead(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let id = super::messaging::give_a_visit(&app, &clinician, &patient).await;
    let waiting_room = format!("/appointments/{id}/waiting-room");
    let upcoming = |page: &str| {
        let past = page
            .find("<h2")
            .and_then(|first| page[first + 3..].find("<h2").map(|p| p + first + 3));
        past.map(|p| page[..p].contains(&waiting_room))
            .unwrap_or(false)
    };
    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(10));
    let web = app.signed_in_web(&patient).await;
    let during = web.get("/appointments").await.text().await.unwrap();
    assert!(upcoming(&during), "{during}");
    app.clock.advance(chrono::Duration::minutes(25));
    let after = web.get("/appointments").await.text().await.unwrap();
    assert!(!upcoming(&after), "{after}");
    app.shutdown().await;
}

/// A patient is offered only what can succeed: more than the cut-off ahead a visit can
/// be moved or cancelled; inside it there is no button that would be refused, but a
/// word to call the clinic; the waiting room names one next step at a time; a visit the
/// clinician has completed leaves "Upcoming" at once, though its booked end is ahead.
async fn patients_are_offered_only_what_can_succeed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clinic(|c| {
        c.patient_cancel_cutoff_hours = 12;
        c.phone = "+34 910 000 001".into();
        c.hours = "Mon–Fri 8:00–18:00".into();
    })
    .await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    // Booked for a day from now, with changes online up to 12 hours before.
    let id = super::messaging::give_a_visit(&app, &clinician, &patient).await;
    let cancel = format!("/appointments/{id}/cancel");
    let reschedule = format!("/appointments/{id}/reschedule");
    let web = app.signed_in_web(&patient).await;
    let ahead = web.get("/appointments").await.text().await.unwrap();
    assert!(
        ahead.contains(&cancel) && ahead.contains(&reschedule),
        "{ahead}"
    );
    assert!(!ahead.contains("call-to-change"), "{ahead}");

    // (A session idles out over hours: the patient signs in again each time.)
    app.clock.advance(chrono::Duration::hours(13));
    let web = app.signed_in_web(&patient).await;
    let inside = web.get("/appointments").await.text().await.unwrap();
    assert!(!inside.contains(&cancel), "{inside}");
    assert!(!inside.contains(&reschedule), "{inside}");
    assert!(inside.contains("call-to-change"), "{inside}");
    assert!(inside.contains("12 hours"), "{inside}");
    // …with the clinic's number to call, and when it answers.
    assert!(
        inside.contains(r#"<a href="tel:+34910000001">+34 910 000 001</a> (Mon–Fri 8:00–18:00)"#),
        "{inside}"
    );
    // The refusal itself stands for anyone who posts anyway, and names the number too.
    let refused = web.post(&cancel, &[]).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("+34 910 000 001"));

    // In the waiting room, the next step is checking in; joining comes after.
    app.clock
        .advance(chrono::Duration::hours(11) - chrono::Duration::minutes(5));
    let web = app.signed_in_web(&patient).await;
    let waiting_room = format!("/appointments/{id}/waiting-room");
    let before = web.get(&waiting_room).await.text().await.unwrap();
    assert!(before.contains("id=\"check-in\""), "{before}");
    assert!(before.contains("id=\"next-steps\""), "{before}");
    assert!(!before.contains("id=\"join-video\""), "{before}");
    assert_eq!(
        web.post(&format!("/appointments/{id}/check-in"), &[])
            .await
            .status(),
        303
    );
    let after = web.get(&waiting_room).await.text().await.unwrap();
    assert!(after.contains("id=\"join-video\""), "{after}");
    assert!(!after.contains("id=\"check-in\""), "{after}");

    // Completed ten minutes in, with twenty still booked: no longer upcoming.
    app.clock.advance(chrono::Duration::minutes(15));
    let doctor = app.signed_in_web(&clinician).await;
    let r = doctor
        .post(
            &format!("/appointments/{id}/complete"),
            &[("back", "/calendar")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let done = web.get("/appointments").await.text().await.unwrap();
    let past_at = done.rfind("<h2").unwrap();
    assert!(!done[..past_at].contains(&waiting_room), "{done}");
    app.shutdown().await;
}

/// A clinician's home is their day: today's visits with status and a way into the
/// room, how many wait now, and the unread threads with whom they are about; the
/// front desk sees the same day with each visit's clinician; a patient has none of it.
async fn a_clinicians_home_is_their_day(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_named_user(Role::Patient, "Ana Day").await;
    let id = super::messaging::give_a_visit(&app, &clinician, &patient).await;
    let api = super::messaging::Api {
        app: &app,
        http: app.client(),
    };
    let patient_token = app.token_for(&patient, None).await;
    api.open_thread(
        &patient_token,
        &clinician,
        "Rash is worse",
        "Since this morning.",
    )
    .await;
    // The morning of the visit, ten minutes before it (it is at this hour tomorrow).
    app.clock
        .advance(chrono::Duration::days(1) - chrono::Duration::minutes(10));

    let doctor = app.signed_in_web(&clinician).await;
    let home = doctor.get("/").await.text().await.unwrap();
    let day = &home[home.find("id=\"day\"").expect("the day panel")..];
    assert!(day.contains(&format!("data-appointment=\"{id}\"")), "{day}");
    assert!(day.contains("Ana Day"), "{day}");
    assert!(day.contains(&format!("/visits/{id}/room")), "{day}");
    assert!(day.contains("Rash is worse"), "{day}");
    assert!(!day.contains("waiting now"), "nobody waits yet: {day}");

    let web = app.signed_in_web(&patient).await;
    let r = web.post(&format!("/appointments/{id}/check-in"), &[]).await;
    assert_eq!(r.status(), 303);
    let home = doctor.get("/").await.text().await.unwrap();
    assert!(home.contains("1 waiting now"), "{home}");

    let desk = app.create_user(Role::Staff).await;
    let desk_home = app
        .signed_in_web(&desk)
        .await
        .get("/")
        .await
        .text()
        .await
        .unwrap();
    assert!(desk_home.contains("Ana Day") && desk_home.contains("Test clinician"));
    assert!(
        !desk_home.contains(&format!("/visits/{id}/room")),
        "{desk_home}"
    );
    let own = web.get("/").await.text().await.unwrap();
    assert!(!own.contains("id=\"day\""), "{own}");
    app.shutdown().await;
}

on_both_databases!(
    a_clinicians_home_is_their_day,
    the_availability_editor_previews_and_saves,
    visits_change_through_the_ui,
    a_visit_under_way_is_still_ahead,
    patients_are_offered_only_what_can_succeed,
);
