//! Scheduling through the API: availability, search, slots, booking without
//! double-booking (enforced by the database), cancellation, bad input.

use chrono::{Duration, SecondsFormat};
use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::live::LiveClient;
use telemed_testkit::{Backend, TestApp, TestUser};

fn every_day(start: &str, end: &str) -> Vec<Value> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"weekday": d, "start": start, "end": end}))
        .collect()
}

pub(crate) fn schedule(specialty: &str, languages: &[&str], regions: &[&str]) -> Value {
    json!({
        "specialty": specialty, "languages": languages, "regions": regions, "bio": "",
        "time_zone": "UTC", "buffer_minutes": 0, "horizon_days": 30, "min_notice_minutes": 60,
        "rules": every_day("08:00", "20:00"),
        "visit_types": [{"kind": "video", "duration_minutes": 30, "fee_cents": 5000, "currency": "EUR"},
                        {"kind": "audio", "duration_minutes": 15, "fee_cents": 3000, "currency": "EUR"}]
    })
}

struct Clinic {
    app: TestApp,
    http: reqwest::Client,
    clinician: TestUser,
    clinician_token: String,
    patient: TestUser,
    patient_token: String,
}

impl Clinic {
    async fn open(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let clinician = app.create_user(Role::Clinician).await;
        let patient = app.create_user(Role::Patient).await;
        let (clinician_token, patient_token) = (
            app.token_for(&clinician, None).await,
            app.token_for(&patient, None).await,
        );
        let clinic = Clinic {
            http: app.client(),
            app,
            clinician,
            clinician_token,
            patient,
            patient_token,
        };
        let r = clinic
            .put(
                &format!("/api/v1/clinicians/{}/schedule", clinic.clinician.id),
                &clinic.clinician_token,
                &schedule("Dermatology", &["en", "es"], &["ES-MD"]),
            )
            .await;
        assert_eq!(r.status(), 200);
        clinic
    }

    async fn put(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(self.app.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.app.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Free video slots of the clinician over the next `days` days.
    async fn slots(&self, days: i64) -> Vec<Value> {
        let now = telemed_domain::Clock::now(&self.app.clock);
        let (from, to) = (
            now.to_rfc3339_opts(SecondsFormat::Secs, true),
            (now + Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true),
        );
        let r = self
            .get(
                &format!(
                    "/api/v1/clinicians/{}/slots?visit_kind=video&from={from}&to={to}",
                    self.clinician.id
                ),
                &self.patient_token,
            )
            .await;
        assert_eq!(r.status(), 200);
        r.json::<Vec<Value>>().await.unwrap()
    }

    fn booking(&self, start: &str) -> Value {
        json!({"clinician_id": self.clinician.id, "visit_kind": "video", "start": start, "reason": "Rash on the arm"})
    }

    async fn count_appointments(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM appointments")
            .fetch_one(self.app.state().store.pool())
            .await
            .unwrap()
    }
}

async fn clinicians_set_their_availability(backend: Backend) {
    let c = Clinic::open(backend).await;
    let path = format!("/api/v1/clinicians/{}/schedule", c.clinician.id);
    let saved: Value = c.get(&path, &c.patient_token).await.json().await.unwrap();
    assert_eq!(saved["specialty"], "Dermatology");
    assert_eq!(saved["rules"].as_array().unwrap().len(), 7);
    assert_eq!(
        saved["rules"][0],
        json!({"weekday": "mon", "start": "08:00", "end": "20:00"})
    );

    let mut bad = Vec::new();
    for (field, value) in [
        ("time_zone", json!("Mars/Base")),
        ("buffer_minutes", json!(7)),
        ("horizon_days", json!(0)),
        ("languages", json!(["english language"])),
    ] {
        let mut body = schedule("Dermatology", &["en"], &[]);
        body[field] = value;
        bad.push(body);
    }
    let mut body = schedule("Dermatology", &["en"], &[]);
    body["rules"] = json!([{"weekday": "mon", "start": "17:00", "end": "09:00"}]);
    bad.push(body);
    let mut body = schedule("Dermatology", &["en"], &[]);
    body["rules"] = json!([{"weekday": "someday", "start": "09:00", "end": "17:00"}]);
    bad.push(body);
    let mut body = schedule("Dermatology", &["en"], &[]);
    body["visit_types"] =
        json!([{"kind": "video", "duration_minutes": 33, "fee_cents": 1, "currency": "EUR"}]);
    bad.push(body);
    let mut body = schedule("Dermatology", &["en"], &[]);
    body["surprise"] = json!(true);
    bad.push(body);
    for body in bad {
        let r = c.put(&path, &c.clinician_token, &body).await;
        assert_eq!(r.status(), 400, "{body}");
    }
    let unchanged: Value = c.get(&path, &c.patient_token).await.json().await.unwrap();
    assert_eq!(unchanged, saved, "refused updates changed nothing");

    // Patients cannot set schedules; a clinician cannot set another's; staff can.
    assert_eq!(
        c.put(&path, &c.patient_token, &schedule("X", &["en"], &[]))
            .await
            .status(),
        403
    );
    let other = c.app.create_user(Role::Clinician).await;
    let other_token = c.app.token_for(&other, None).await;
    assert_eq!(
        c.put(&path, &other_token, &schedule("X", &["en"], &[]))
            .await
            .status(),
        403
    );
    let staff = c.app.create_user(Role::Staff).await;
    let staff_token = c.app.token_for(&staff, None).await;
    assert_eq!(
        c.put(
            &path,
            &staff_token,
            &schedule("Dermatology", &["en"], &["ES-MD"])
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        c.put(
            &format!("/api/v1/clinicians/{}/schedule", c.patient.id),
            &staff_token,
            &schedule("X", &["en"], &[])
        )
        .await
        .status(),
        404
    );
    c.app.shutdown().await;
}

async fn patients_find_clinicians_by_need(backend: Backend) {
    let c = Clinic::open(backend).await;
    let later = c.app.create_user(Role::Clinician).await;
    let token = c.app.token_for(&later, None).await;
    let mut body = schedule("Dermatology", &["en"], &["ES-MD", "ES-CT"]);
    body["min_notice_minutes"] = json!(3 * 24 * 60);
    assert_eq!(
        c.put(
            &format!("/api/v1/clinicians/{}/schedule", later.id),
            &token,
            &body
        )
        .await
        .status(),
        200
    );
    let psych = c.app.create_user(Role::Clinician).await;
    let token = c.app.token_for(&psych, None).await;
    assert_eq!(
        c.put(
            &format!("/api/v1/clinicians/{}/schedule", psych.id),
            &token,
            &schedule("Psychiatry", &["es"], &["US-NY"])
        )
        .await
        .status(),
        200
    );

    let found: Vec<Value> = c
        .get(
            "/api/v1/clinicians?specialty=dermatology&region=ES-MD",
            &c.patient_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [c.clinician.id.to_string(), later.id.to_string()],
        "sorted by next available"
    );
    assert!(
        found[0]["next_available"].as_str().unwrap() < found[1]["next_available"].as_str().unwrap()
    );
    let found: Vec<Value> = c
        .get("/api/v1/clinicians?region=ES-CT", &c.patient_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        found.len(),
        1,
        "only clinicians licensed where the patient is"
    );
    let found: Vec<Value> = c
        .get(
            "/api/v1/clinicians?language=es&visit_kind=audio",
            &c.patient_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        c.get("/api/v1/clinicians?visit_kind=fax", &c.patient_token)
            .await
            .status(),
        400
    );
    c.app.shutdown().await;
}

async fn a_patient_books_and_cancels(backend: Backend) {
    let c = Clinic::open(backend).await;
    let slots = c.slots(3).await;
    assert!(!slots.is_empty());
    let day_after = (telemed_domain::Clock::now(&c.app.clock) + Duration::hours(30))
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    // A visit more than a day ahead (patients may cancel it online).
    let start = slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .find(|s| *s > day_after)
        .unwrap();
    let r = c
        .post("/api/v1/appointments", &c.patient_token, &c.booking(&start))
        .await;
    assert_eq!(r.status(), 201);
    let booked: Value = r.json().await.unwrap();
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["patient_id"], c.patient.id.to_string());
    assert!(
        !c.slots(3)
            .await
            .iter()
            .any(|s| s["start"] == start.as_str()),
        "the slot is no longer offered"
    );

    // The clinician sees it; another patient does not (not found, not forbidden).
    let theirs: Vec<Value> = c
        .get("/api/v1/appointments", &c.clinician_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    let stranger = c.app.create_user(Role::Patient).await;
    let stranger_token = c.app.token_for(&stranger, None).await;
    let id = booked["id"].as_str().unwrap();
    assert_eq!(
        c.get(&format!("/api/v1/appointments/{id}"), &stranger_token)
            .await
            .status(),
        404
    );
    assert_eq!(
        c.post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &stranger_token,
            &json!({})
        )
        .await
        .status(),
        404
    );

    // A clinician must give a reason; the patient may cancel until the cut-off.
    assert_eq!(
        c.post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.clinician_token,
            &json!({})
        )
        .await
        .status(),
        400
    );
    let r = c
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.patient_token,
            &json!({"reason": "feeling better"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    assert!(
        c.slots(3)
            .await
            .iter()
            .any(|s| s["start"] == start.as_str()),
        "the slot is free again"
    );
    assert_eq!(
        c.post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.patient_token,
            &json!({})
        )
        .await
        .status(),
        409
    );

    // Within 24 hours of the visit, the patient is sent to the clinic.
    let soon_start = c.slots(1).await[0]["start"].as_str().unwrap().to_owned();
    let soon_id = c
        .post(
            "/api/v1/appointments",
            &c.patient_token,
            &c.booking(&soon_start),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        c.post(
            &format!("/api/v1/appointments/{soon_id}/cancel"),
            &c.patient_token,
            &json!({})
        )
        .await
        .status(),
        409
    );
    assert_eq!(
        c.post(
            &format!("/api/v1/appointments/{soon_id}/cancel"),
            &c.clinician_token,
            &json!({"reason": "clinic closed"})
        )
        .await
        .status(),
        200
    );
    c.app.flush_audit().await;
    let trail = c
        .app
        .state()
        .store
        .search_audit(&telemed_store::audit::AuditFilter {
            patient: Some(c.patient.id),
            action_prefix: Some("appointment.".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        trail
            .iter()
            .filter(|e| e.action == "appointment.book")
            .count()
            == 2
            && trail
                .iter()
                .filter(|e| e.action == "appointment.cancel")
                .count()
                == 2
    );
    c.app.shutdown().await;
}

async fn bad_bookings_change_nothing(backend: Backend) {
    let c = Clinic::open(backend).await;
    let now = telemed_domain::Clock::now(&c.app.clock);
    let slot = c.slots(3).await[5]["start"].as_str().unwrap().to_owned();
    let iso = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut cases = vec![
        (
            c.booking(&iso(now - Duration::hours(2))),
            400,
            "in the past",
        ),
        (
            c.booking(&iso(now + Duration::days(40))),
            400,
            "beyond the horizon",
        ),
        (
            c.booking(&iso(now + Duration::minutes(10))),
            400,
            "within the minimum notice",
        ),
    ];
    let mut off_grid = c.booking(&slot);
    off_grid["start"] = json!(iso(chrono::DateTime::parse_from_rfc3339(&slot)
        .unwrap()
        .with_timezone(&chrono::Utc)
        + Duration::minutes(5)));
    cases.push((off_grid, 400, "not a slot start"));
    let mut night = c.booking(&slot);
    let tomorrow_3am = (now + Duration::days(2))
        .date_naive()
        .and_hms_opt(3, 0, 0)
        .unwrap()
        .and_utc();
    night["start"] = json!(iso(tomorrow_3am));
    cases.push((night, 400, "outside availability"));
    let mut unknown = c.booking(&slot);
    unknown["clinician_id"] = json!(telemed_domain::UserId::new());
    cases.push((unknown, 404, "unknown clinician"));
    let mut not_a_clinician = c.booking(&slot);
    not_a_clinician["clinician_id"] = json!(c.patient.id);
    cases.push((not_a_clinician, 404, "a patient is not a clinician"));
    let mut kind = c.booking(&slot);
    kind["visit_kind"] = json!("messaging");
    cases.push((kind, 400, "a visit kind not offered"));
    let mut other_patient = c.booking(&slot);
    other_patient["patient_id"] = json!(c.app.create_user(Role::Patient).await.id);
    cases.push((other_patient, 403, "for another patient, as a patient"));
    let mut no_reason = c.booking(&slot);
    no_reason["reason"] = json!("  ");
    cases.push((no_reason, 400, "no reason"));
    for (body, status, why) in cases {
        let r = c
            .post("/api/v1/appointments", &c.patient_token, &body)
            .await;
        assert_eq!(
            r.status().as_u16(),
            status,
            "{why}: {}",
            r.text().await.unwrap()
        );
    }
    let r = c
        .http
        .post(c.app.url("/api/v1/appointments"))
        .bearer_auth(&c.patient_token)
        .header("content-type", "application/json")
        .body("{\"clinician_id\": 12}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(c.count_appointments().await, 0, "nothing was booked");

    // Staff book for a named patient, and only for a patient.
    let staff = c.app.create_user(Role::Staff).await;
    let staff_token = c.app.token_for(&staff, None).await;
    assert_eq!(
        c.post("/api/v1/appointments", &staff_token, &c.booking(&slot))
            .await
            .status(),
        400,
        "staff name the patient"
    );
    let mut for_clinician = c.booking(&slot);
    for_clinician["patient_id"] = json!(c.clinician.id);
    assert_eq!(
        c.post("/api/v1/appointments", &staff_token, &for_clinician)
            .await
            .status(),
        404
    );
    let mut for_patient = c.booking(&slot);
    for_patient["patient_id"] = json!(c.patient.id);
    let r = c
        .post("/api/v1/appointments", &staff_token, &for_patient)
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(c.count_appointments().await, 1);
    c.app.shutdown().await;
}

async fn one_slot_one_booking_under_contention(backend: Backend) {
    let c = Clinic::open(backend).await;
    let start = c.slots(3).await[3]["start"].as_str().unwrap().to_owned();
    let body = c.booking(&start);
    let mut attempts = Vec::new();
    for _ in 0..100 {
        let (http, url, token, body) = (
            c.http.clone(),
            c.app.url("/api/v1/appointments"),
            c.patient_token.clone(),
            body.clone(),
        );
        attempts.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let (mut booked, mut conflicts) = (0, 0);
    for a in attempts {
        let (status, body) = a.await.unwrap();
        match status {
            201 => booked += 1,
            409 => {
                assert_eq!(body["error"]["code"], "conflict");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((booked, conflicts), (1, 99));
    assert_eq!(c.count_appointments().await, 1);
    // Overlapping visits of another length are refused by the database too.
    let audio_start = chrono::DateTime::parse_from_rfc3339(&start).unwrap() + Duration::minutes(15);
    let overlapping = json!({"clinician_id": c.clinician.id, "visit_kind": "audio", "start": audio_start.to_rfc3339_opts(SecondsFormat::Secs, true), "reason": "follow-up"});
    let r = c
        .post("/api/v1/appointments", &c.patient_token, &overlapping)
        .await;
    assert_eq!(
        r.status(),
        409,
        "15-minute audio visit inside the booked video visit"
    );
    c.app.shutdown().await;
}

on_both_databases!(
    clinicians_set_their_availability,
    patients_find_clinicians_by_need,
    a_patient_books_and_cancels,
    bad_bookings_change_nothing,
    one_slot_one_booking_under_contention,
    bookings_send_confirmations_reminders_and_cancellations,
    calendars_export_with_a_revocable_feed,
    waiting_room_check_in_and_no_shows,
    visits_move_and_both_sides_are_told,
    a_patient_cancelling_tells_the_clinician,
);

/// Reads DTSTART, DTEND and STATUS of the one event in an iCalendar document with an
/// independent parser (the `ical` crate), not telemed's writer.
fn parse_event(ics: &str) -> std::collections::HashMap<String, String> {
    let mut calendars = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    let calendar = calendars
        .next()
        .expect("one calendar")
        .expect("valid iCalendar");
    assert_eq!(calendar.events.len(), 1);
    calendar.events[0]
        .properties
        .iter()
        .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
        .collect()
}

async fn bookings_send_confirmations_reminders_and_cancellations(backend: Backend) {
    let c = Clinic::open(backend).await;
    let slots = c.slots(5).await;
    let two_days = (telemed_domain::Clock::now(&c.app.clock) + Duration::hours(48))
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let start = slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .find(|s| *s > two_days)
        .unwrap();
    let booked: Value = c
        .post("/api/v1/appointments", &c.patient_token, &c.booking(&start))
        .await
        .json()
        .await
        .unwrap();
    let id = booked["id"].as_str().unwrap().to_owned();
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'visit.notice'")
        .fetch_one(c.app.state().store.pool())
        .await
        .unwrap();
    assert_eq!(
        jobs, 4,
        "confirmation, two reminders, and the clinician's word of the booking"
    );
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    let mail = c.app.smtp.wait_for(&c.patient.email, "is booked").await;
    assert!(
        !mail.raw.contains("Rash on the arm"),
        "no clinical detail in email"
    );
    let event = parse_event(&mail.part("text/calendar").expect("an .ics attachment"));
    // An invitation (METHOD:REQUEST) names who sends it and whom it is for (RFC 5546).
    assert!(
        event["ORGANIZER"].starts_with("mailto:noreply@"),
        "{event:?}"
    );
    assert_eq!(event["ATTENDEE"], format!("mailto:{}", c.patient.email));
    let start_utc = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .with_timezone(&chrono::Utc);
    // The patient never said where they are: the time in the clinician's zone.
    let text = mail.part("text/plain").unwrap();
    let utc_text = format!("{} (UTC)", start_utc.format("%Y-%m-%d %H:%M"));
    assert!(text.contains(&utc_text), "{text}");
    // Signed in from a browser in Lima: their reminders state Lima's time.
    let browser = c.app.web();
    browser.set_time_zone("America/Lima");
    let (status, next) = browser.sign_in(&c.patient.email, &c.patient.password).await;
    assert_eq!((status.as_u16(), next.as_deref()), (303, Some("/")));
    let remembered: Option<String> =
        sqlx::query_scalar("SELECT time_zone FROM users WHERE id = $1")
            .bind(c.patient.id.to_string())
            .fetch_one(c.app.state().store.pool())
            .await
            .unwrap();
    assert_eq!(remembered.as_deref(), Some("America/Lima"));
    let account = browser.get("/account").await.text().await.unwrap();
    assert!(
        account.contains("<td id=\"email-time-zone\">America/Lima</td>"),
        "{account}"
    );
    let lima = start_utc.with_timezone(&chrono_tz::America::Lima);
    let lima_text = format!("{} (America/Lima)", lima.format("%Y-%m-%d %H:%M"));
    assert_eq!(
        event["DTSTART"],
        start_utc.format("%Y%m%dT%H%M%SZ").to_string()
    );
    assert_eq!(
        event["DTEND"],
        (start_utc + Duration::minutes(30))
            .format("%Y%m%dT%H%M%SZ")
            .to_string()
    );
    assert_eq!(event["STATUS"], "CONFIRMED");
    assert_eq!(event["UID"], format!("{id}@telemed"));

    // Nothing else is due yet; 24 hours before, the first reminder goes, once, even
    // with two workers at it.
    assert_eq!(
        telemed_server::jobs::run_due(c.app.state()).await.unwrap(),
        0
    );
    c.app.clock.advance(
        start_utc - telemed_domain::Clock::now(&c.app.clock) - Duration::hours(24)
            + Duration::minutes(1),
    );
    let state = c.app.state().clone();
    let (a, b) = tokio::join!(
        telemed_server::jobs::run_due(&state),
        telemed_server::jobs::run_due(&state)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let reminder = c.app.smtp.wait_for(&c.patient.email, "Reminder").await;
    let text = reminder.part("text/plain").unwrap();
    assert!(text.contains(&lima_text), "{lima_text} in: {text}");

    // Cancelled by the clinician: the patient is told, and the last reminder is dropped.
    let r = c
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.clinician_token,
            &json!({"reason": "clinic closed"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    c.app.clock.advance(Duration::hours(23));
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    let cancelled = c.app.smtp.wait_for(&c.patient.email, "cancelled").await;
    let event = parse_event(&cancelled.part("text/calendar").unwrap());
    assert_eq!(event["STATUS"], "CANCELLED");
    assert_eq!(event["ATTENDEE"], format!("mailto:{}", c.patient.email));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let reminders = c
        .app
        .smtp
        .all()
        .iter()
        .filter(|m| m.subject().contains("Reminder"))
        .count();
    assert_eq!(reminders, 1, "no reminder for a cancelled visit");
    assert_eq!(
        c.app
            .state()
            .store
            .pending_jobs("visit.notice")
            .await
            .unwrap(),
        0
    );
    c.app.shutdown().await;
}

async fn calendars_export_with_a_revocable_feed(backend: Backend) {
    let c = Clinic::open(backend).await;
    let start = c.slots(3).await[2]["start"].as_str().unwrap().to_owned();
    let booked: Value = c
        .post("/api/v1/appointments", &c.patient_token, &c.booking(&start))
        .await
        .json()
        .await
        .unwrap();
    let id = booked["id"].as_str().unwrap();
    // The patient downloads the visit.
    let patient_web = c.app.web();
    patient_web
        .sign_in(&c.patient.email, &c.patient.password)
        .await;
    let r = patient_web
        .get(&format!("/appointments/{id}/calendar.ics"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let event = parse_event(&r.text().await.unwrap());
    assert_eq!(event["UID"], format!("{id}@telemed"));
    let stranger = c.app.create_user(Role::Patient).await;
    let other_web = c.app.web();
    other_web.sign_in(&stranger.email, &stranger.password).await;
    assert_eq!(
        other_web
            .get(&format!("/appointments/{id}/calendar.ics"))
            .await
            .status(),
        404
    );

    // The clinician's feed: made, read without signing in, revoked.
    let state = c.app.state();
    let secret = "cal_test-feed-secret-0123456789abcdefghijkl";
    let mut tx = state.store.begin_write().await.unwrap();
    telemed_store::jobs::set_calendar_feed(
        &mut tx,
        c.clinician.id,
        Some(&telemed_server::crypto::token_hash(secret)),
        telemed_domain::Clock::now(&c.app.clock),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let r = c
        .http
        .get(c.app.url(&format!("/calendar/feed/{secret}.ics")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let feed = r.text().await.unwrap();
    assert!(
        !feed.contains("Test patient") && !feed.contains("Rash"),
        "no names or reasons in a feed"
    );
    let mut calendars = ical::IcalParser::new(std::io::BufReader::new(feed.as_bytes()));
    assert_eq!(calendars.next().unwrap().unwrap().events.len(), 1);
    assert_eq!(
        c.http
            .get(c.app.url("/calendar/feed/cal_wrong.ics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let mut tx = state.store.begin_write().await.unwrap();
    telemed_store::jobs::set_calendar_feed(
        &mut tx,
        c.clinician.id,
        None,
        telemed_domain::Clock::now(&c.app.clock),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        c.http
            .get(c.app.url(&format!("/calendar/feed/{secret}.ics")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    c.app.shutdown().await;
}

fn instant(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

async fn waiting_room_check_in_and_no_shows(backend: Backend) {
    let c = Clinic::open(backend).await;
    let slots = c.slots(3).await;
    let (first, second) = (
        slots[4]["start"].as_str().unwrap().to_owned(),
        slots[8]["start"].as_str().unwrap().to_owned(),
    );
    let mut ids = Vec::new();
    for start in [&first, &second] {
        let booked: Value = c
            .post("/api/v1/appointments", &c.patient_token, &c.booking(start))
            .await
            .json()
            .await
            .unwrap();
        ids.push(booked["id"].as_str().unwrap().to_owned());
    }
    let check_in = |token: &str, id: &str| {
        let (path, token) = (
            format!("/api/v1/appointments/{id}/check-in"),
            token.to_owned(),
        );
        let c = &c;
        async move { c.post(&path, &token, &json!({})).await.status() }
    };
    let now = || telemed_domain::Clock::now(&c.app.clock);

    // Too early to check in; from 15 minutes before it works, once.
    assert_eq!(check_in(&c.patient_token, &ids[0]).await, 409);
    c.app
        .clock
        .advance(instant(&first) - now() - Duration::minutes(14));
    // The clinician's open queue hears of the check-in at once, and the front desk's;
    // a refused check-in tells nobody anything.
    let desk = c.app.create_user(Role::Staff).await;
    let desk_token = c.app.token_for(&desk, None).await;
    let mut doctor_live = LiveClient::with_token(&c.app.base, &c.clinician_token)
        .await
        .unwrap();
    let mut desk_live = LiveClient::with_token(&c.app.base, &desk_token)
        .await
        .unwrap();
    assert_eq!(check_in(&c.patient_token, &ids[0]).await, 200);
    for live in [&mut doctor_live, &mut desk_live] {
        let event = live
            .expect("queue", std::time::Duration::from_secs(5))
            .await;
        assert_eq!(event["visit"], ids[0].as_str());
    }
    assert_eq!(check_in(&c.patient_token, &ids[0]).await, 409);
    // (Other news may arrive meanwhile, such as the booking's notifications.)
    let quiet_until = tokio::time::Instant::now() + std::time::Duration::from_millis(500);
    while let Ok(event) = doctor_live
        .next_event(quiet_until.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        assert_ne!(
            event["type"], "queue",
            "a refused check-in changed no queue"
        );
    }
    // Nobody else may check the patient in; another patient's id reads as unknown.
    assert_eq!(check_in(&c.clinician_token, &ids[0]).await, 404);
    let stranger = c.app.create_user(Role::Patient).await;
    let stranger_token = c.app.token_for(&stranger, None).await;
    assert_eq!(check_in(&stranger_token, &ids[0]).await, 404);
    assert_eq!(check_in(&c.patient_token, "not-an-id").await, 404);

    // The queue shows the checked-in patient first; after 11 minutes they wait too long.
    c.app.clock.advance(Duration::minutes(11));
    let queue: Vec<Value> = c
        .get("/api/v1/waiting-room", &c.clinician_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue[0]["appointment"]["id"], ids[0].as_str());
    assert_eq!(queue[0]["waiting"], true);
    assert_eq!(queue[0]["waiting_too_long"], true);
    assert_eq!(queue[0]["late"], false);
    assert!(!queue[0]["patient_name"].as_str().unwrap().is_empty());
    assert_eq!(
        c.get("/api/v1/waiting-room", &c.patient_token)
            .await
            .status(),
        403
    );

    // The second visit: no check-in, so 15 minutes after its start it is a no-show.
    c.app
        .clock
        .advance(instant(&second) - now() + Duration::minutes(5));
    let queue: Vec<Value> = c
        .get("/api/v1/waiting-room", &c.clinician_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        queue
            .iter()
            .any(|e| e["appointment"]["id"] == ids[1].as_str() && e["late"] == true),
        "late before the grace period ends"
    );
    c.app.clock.advance(Duration::minutes(11));
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    let status = |id: &str| {
        let path = format!("/api/v1/appointments/{id}");
        let c = &c;
        async move {
            let v: Value = c.get(&path, &c.clinician_token).await.json().await.unwrap();
            v["status"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(status(&ids[1]).await, "noshow");
    assert_eq!(
        status(&ids[0]).await,
        "arrived",
        "a checked-in visit is not a no-show"
    );
    // The clinician undoes it; a patient cannot.
    let undo = |token: &str, id: &str| {
        let (path, token) = (
            format!("/api/v1/appointments/{id}/undo-noshow"),
            token.to_owned(),
        );
        let c = &c;
        async move { c.post(&path, &token, &json!({})).await.status() }
    };
    assert_eq!(undo(&c.patient_token, &ids[1]).await, 404);
    assert_eq!(undo(&c.clinician_token, &ids[1]).await, 200);
    assert_eq!(status(&ids[1]).await, "booked");
    assert_eq!(undo(&c.clinician_token, &ids[1]).await, 409);

    // The clinician records the checked-in visit as done; only once, and not the
    // patient's to record.
    let complete = |token: &str, id: &str| {
        let (path, token) = (
            format!("/api/v1/appointments/{id}/complete"),
            token.to_owned(),
        );
        let c = &c;
        async move { c.post(&path, &token, &json!({})).await.status() }
    };
    assert_eq!(complete(&c.patient_token, &ids[0]).await, 404);
    assert_eq!(complete(&c.clinician_token, &ids[0]).await, 200);
    assert_eq!(status(&ids[0]).await, "fulfilled");
    assert_eq!(complete(&c.clinician_token, &ids[0]).await, 409);
    let later = c.slots(3).await;
    let v: Value = c
        .post(
            "/api/v1/appointments",
            &c.patient_token,
            &c.booking(later[6]["start"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        complete(&c.clinician_token, v["id"].as_str().unwrap()).await,
        409,
        "not started yet"
    );
    c.app.shutdown().await;
}

async fn visits_move_and_both_sides_are_told(backend: Backend) {
    let c = Clinic::open(backend).await;
    let slots: Vec<String> = c
        .slots(5)
        .await
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect();
    let two_days = (telemed_domain::Clock::now(&c.app.clock) + Duration::hours(48))
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let later: Vec<&String> = slots.iter().filter(|s| **s > two_days).collect();
    let (start, taken, new_start) = (later[0].clone(), later[2].clone(), later[4].clone());
    let book = |start: String| {
        let c = &c;
        async move {
            let v: Value = c
                .post("/api/v1/appointments", &c.patient_token, &c.booking(&start))
                .await
                .json()
                .await
                .unwrap();
            v["id"].as_str().unwrap().to_owned()
        }
    };
    let id = book(start.clone()).await;
    book(taken.clone()).await;
    let path = format!("/api/v1/appointments/{id}/reschedule");
    let before = c.count_appointments().await;

    // Refused, changing nothing: onto a booked time, off the availability, without a
    // reason by the clinician, by someone else's patient, malformed.
    let r = c
        .post(&path, &c.patient_token, &json!({"start": taken}))
        .await;
    assert_eq!(r.status(), 409);
    let odd = instant(&new_start) + Duration::minutes(7);
    let r = c
        .post(&path, &c.patient_token, &json!({"start": odd}))
        .await;
    assert_eq!(r.status(), 400);
    let r = c
        .post(&path, &c.clinician_token, &json!({"start": new_start}))
        .await;
    assert_eq!(r.status(), 400);
    let stranger = c.app.create_user(Role::Patient).await;
    let stranger_token = c.app.token_for(&stranger, None).await;
    let r = c
        .post(&path, &stranger_token, &json!({"start": new_start}))
        .await;
    assert_eq!(r.status(), 404);
    let r = c
        .post(&path, &c.patient_token, &json!({"start": "tomorrow"}))
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = c
        .get(&format!("/api/v1/appointments/{id}"), &c.patient_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(instant(v["start"].as_str().unwrap()), instant(&start));

    // The patient moves it: the old time is free again, the new one is not.
    let r = c
        .post(&path, &c.patient_token, &json!({"start": new_start}))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(instant(v["start"].as_str().unwrap()), instant(&new_start));
    assert_eq!(c.count_appointments().await, before);
    let free: Vec<String> = c
        .slots(5)
        .await
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect();
    assert!(free.contains(&start) && !free.contains(&new_start));

    // The patient gets the new time (with an updated invitation), the clinician is told.
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    let mail = c.app.smtp.wait_for(&c.patient.email, "new time").await;
    let event = parse_event(&mail.part("text/calendar").unwrap());
    assert_eq!(
        event["DTSTART"],
        instant(&new_start).format("%Y%m%dT%H%M%SZ").to_string()
    );
    assert!(event["SEQUENCE"].parse::<u32>().unwrap() > 0);
    c.app
        .smtp
        .wait_for(&c.clinician.email, "moved by the patient")
        .await;
    let notes: Vec<Value> = c
        .get("/api/v1/notifications", &c.clinician_token)
        .await
        .json()
        .await
        .unwrap();
    // (The booking told them too, earlier.)
    let moved: Vec<&Value> = notes
        .iter()
        .filter(|n| n["kind"] == "visit.patient_rescheduled")
        .collect();
    assert_eq!(moved.len(), 1, "{notes:?}");
    assert_eq!(moved[0]["subject_id"], id.as_str());
    assert_eq!(moved[0]["read"], false);

    // Reminders follow the new time: none fires for the old one.
    c.app.clock.advance(
        instant(&start) - telemed_domain::Clock::now(&c.app.clock) - Duration::minutes(30),
    );
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let reminders_for = |email: &str| {
        c.app
            .smtp
            .all()
            .iter()
            .filter(|m| m.recipients.iter().any(|r| r == email) && m.subject().contains("Reminder"))
            .count()
    };
    // One 24-hour reminder per visit at its current time; none for the old time
    // (that would make four).
    assert_eq!(reminders_for(&c.patient.email), 2);

    // The clinician moves it back with a reason; the patient is told and notified.
    let r = c
        .post(
            &path,
            &c.clinician_token,
            &json!({"start": later[6], "reason": "running late that day"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    let notes: Vec<Value> = c
        .get("/api/v1/notifications", &c.patient_token)
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = notes.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"visit.rescheduled") && kinds.contains(&"visit.booked"));
    let marked: Value = c
        .post("/api/v1/notifications/read", &c.patient_token, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    // The server's own worker may have added one since the list was read.
    assert!(marked["marked"].as_u64().unwrap() as usize >= notes.len());
    let listed: Vec<&Value> = notes.iter().map(|n| &n["id"]).collect();
    let after: Vec<Value> = c
        .get("/api/v1/notifications", &c.patient_token)
        .await
        .json()
        .await
        .unwrap();
    // Everything that existed when the patient marked all read is read; only
    // a notification the worker raised after that may still be unread.
    let still_unread: Vec<&Value> = after
        .iter()
        .filter(|n| n["read"] != true && listed.contains(&&n["id"]))
        .collect();
    assert!(still_unread.is_empty(), "{still_unread:?}");
    c.app.shutdown().await;
}

/// A patient's booking, and then their cancelling, each tell the clinician once: in
/// the app and by email, with no clinical detail.
async fn a_patient_cancelling_tells_the_clinician(backend: Backend) {
    let c = Clinic::open(backend).await;
    let slots = c.slots(5).await;
    let two_days = (telemed_domain::Clock::now(&c.app.clock) + Duration::hours(48))
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let start = slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .find(|s| *s > two_days)
        .unwrap();
    let v: Value = c
        .post("/api/v1/appointments", &c.patient_token, &c.booking(&start))
        .await
        .json()
        .await
        .unwrap();
    let id = v["id"].as_str().unwrap();
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    let mail = c
        .app
        .smtp
        .wait_for(&c.clinician.email, "booked a telemed visit with you")
        .await;
    assert!(!mail.raw.contains("Rash on the arm"));
    let r = c
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.patient_token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Jobs run twice over (a retry, a second worker): one notification each.
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    telemed_server::jobs::run_due(c.app.state()).await.unwrap();
    let mail = c
        .app
        .smtp
        .wait_for(&c.clinician.email, "cancelled by the patient")
        .await;
    assert!(!mail.raw.contains("Rash on the arm"));
    assert_eq!(
        parse_event(&mail.part("text/calendar").unwrap())["STATUS"],
        "CANCELLED"
    );
    let notes: Vec<Value> = c
        .get("/api/v1/notifications", &c.clinician_token)
        .await
        .json()
        .await
        .unwrap();
    let mut kinds: Vec<&str> = notes.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["visit.patient_booked", "visit.patient_cancelled"]);
    c.app.shutdown().await;
}
