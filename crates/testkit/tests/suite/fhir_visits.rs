//! Visits and availability over FHIR: free Slots computed from a clinician's Schedule,
//! Appointments and Encounters under the scheduling rules (own visits, the clinician's,
//! staff all; others 404), audited; PractitionerRole; the telehealth Consent; secure
//! messages as Communications to their threads' members only; bad searches refused.

use chrono::{Duration, SecondsFormat};
use serde_json::{json, Value};
use telemed_domain::{AppointmentId, Clock, Role};
use telemed_testkit::{Backend, TestApp, TestUser};

use super::fhir::{get, ids_of, passes_validators};
use super::messaging::Api;

struct Clinic {
    app: TestApp,
    clinician: TestUser,
    clinician_token: String,
    patient: TestUser,
    patient_token: String,
}

async fn clinic(backend: Backend) -> Clinic {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_named_user(Role::Clinician, "Elena García").await;
    let patient = app
        .create_named_user(Role::Patient, "Ana María López")
        .await;
    let clinician_token = app.token_for(&clinician, None).await;
    let patient_token = app.token_for(&patient, None).await;
    let days: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"weekday": d, "start": "08:00", "end": "20:00"}))
        .collect();
    let r = app
        .client()
        .put(app.url(&format!("/api/v1/clinicians/{}/schedule", clinician.id)))
        .bearer_auth(&clinician_token)
        .json(&json!({
            "specialty": "Dermatology", "languages": ["en", "es"], "regions": ["ES-MD"], "bio": "",
            "time_zone": "Europe/Madrid", "buffer_minutes": 0, "horizon_days": 30, "min_notice_minutes": 60,
            "rules": days,
            "visit_types": [{"kind": "video", "duration_minutes": 30, "fee_cents": 5000, "currency": "EUR"},
                            {"kind": "audio", "duration_minutes": 15, "fee_cents": 3000, "currency": "EUR"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    Clinic {
        app,
        clinician,
        clinician_token,
        patient,
        patient_token,
    }
}

fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `+` in a query string is a space: FHIR date-times need it escaped.
fn q(s: &str) -> String {
    s.replace('+', "%2B")
}

async fn visits_and_availability_are_fhir_resources(backend: Backend) {
    let c = clinic(backend).await;
    let api = Api {
        app: &c.app,
        http: c.app.client(),
    };
    let (pt, ct) = (
        Some(c.patient_token.as_str()),
        Some(c.clinician_token.as_str()),
    );
    let (doctor, patient) = (c.clinician.id, c.patient.id);
    let now = c.app.clock.now();
    let mut returned = vec![];

    // The clinician's bookable time: Schedule and PractitionerRole carry their id.
    let (status, schedule, _) = get(&api, &format!("Schedule/{doctor}"), pt).await;
    assert_eq!(status, 200, "{schedule}");
    assert_eq!(
        schedule["actor"][0]["reference"],
        format!("Practitioner/{doctor}")
    );
    let mut kinds: Vec<&str> = schedule["serviceType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["coding"][0]["code"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["PHONE", "VIDEOCONF"]);
    returned.push(schedule);
    let (_, found, _) = get(&api, &format!("Schedule?actor=Practitioner/{doctor}"), pt).await;
    assert_eq!(ids_of(&found), [doctor.to_string()]);
    returned.push(found);
    let (_, none, _) = get(
        &api,
        &format!("Schedule?actor={}", telemed_domain::UserId::new()),
        pt,
    )
    .await;
    assert!(ids_of(&none).is_empty());
    let (status, role, _) = get(&api, &format!("PractitionerRole/{doctor}"), pt).await;
    assert_eq!(status, 200);
    assert_eq!(role["availableTime"].as_array().unwrap().len(), 7);
    assert_eq!(role["availableTime"][0]["availableStartTime"], "08:00:00");
    assert!(role["availabilityExceptions"]
        .as_str()
        .unwrap()
        .contains("Europe/Madrid"));
    returned.push(role);
    let (_, roles, _) = get(
        &api,
        &format!("PractitionerRole?practitioner={doctor}&_include=PractitionerRole:practitioner"),
        pt,
    )
    .await;
    assert_eq!(ids_of(&roles), [doctor.to_string()]);
    assert_eq!(
        roles["entry"][1]["resource"]["resourceType"],
        "Practitioner"
    );
    returned.push(roles);

    // Free slots: the same times the booking API offers, per kind of visit.
    let (from, to) = (stamp(now), stamp(now + Duration::days(3)));
    let (status, slots, _) = get(
        &api,
        &q(&format!(
            "Slot?schedule=Schedule/{doctor}&service-type=VIDEOCONF&start=ge{from}&start=lt{to}&_count=1000"
        )),
        pt,
    )
    .await;
    assert_eq!(status, 200, "{slots}");
    let offered: Vec<Value> = api
        .http
        .get(c.app.url(&format!(
            "/api/v1/clinicians/{doctor}/slots?visit_kind=video&from={from}&to={to}"
        )))
        .bearer_auth(&c.patient_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let starts = |bundle: &Value| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|e| {
                        chrono::DateTime::parse_from_rfc3339(
                            e["resource"]["start"].as_str().unwrap(),
                        )
                        .unwrap()
                        .timestamp()
                        .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let api_starts: Vec<String> = offered
        .iter()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap())
                .unwrap()
                .timestamp()
                .to_string()
        })
        .collect();
    assert!(api_starts.len() > 40, "{} slots", api_starts.len());
    assert_eq!(starts(&slots), api_starts);
    let first = &slots["entry"][0]["resource"];
    assert_eq!(first["status"], "free");
    assert_eq!(first["schedule"]["reference"], format!("Schedule/{doctor}"));
    let (_, both, _) = get(
        &api,
        &q(&format!(
            "Slot?schedule={doctor}&start=ge{from}&start=lt{to}&_count=1000&_total=accurate"
        )),
        pt,
    )
    .await;
    assert!(
        both["total"].as_i64().unwrap() > api_starts.len() as i64,
        "audio slots too"
    );
    // A visit more than a day ahead, booked through the API as a patient would.
    let day_after = now + Duration::hours(30);
    let slot = slots["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .find(|s| {
            chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap()).unwrap() > day_after
        })
        .unwrap();
    let slot_id = slot["id"].as_str().unwrap().to_owned();
    let (status, read, _) = get(&api, &format!("Slot/{slot_id}"), pt).await;
    assert_eq!(status, 200);
    assert_eq!(read["start"], slot["start"]);
    returned.push(read);
    returned.push(slots.clone());
    let (status, booked) = api
        .call(
            "POST",
            "/api/v1/appointments",
            &c.patient_token,
            Some(json!({"clinician_id": doctor, "visit_kind": "video",
                "start": slot["start"], "reason": "Rash on the arm"})),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    let visit = booked["id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&api, &format!("Slot/{slot_id}"), pt).await.0,
        404,
        "a booked slot is gone"
    );
    let (_, after, _) = get(
        &api,
        &q(&format!(
            "Slot?schedule=Schedule/{doctor}&service-type=video&start=ge{from}&start=lt{to}&_count=1000"
        )),
        pt,
    )
    .await;
    assert!(!ids_of(&after).contains(&slot_id));

    // The appointment: its patient and its clinician read it; anyone else finds nothing.
    let (status, appointment, _) = get(&api, &format!("Appointment/{visit}"), pt).await;
    assert_eq!(status, 200, "{appointment}");
    assert_eq!(appointment["status"], "booked");
    assert_eq!(appointment["start"], slot["start"]);
    assert_eq!(appointment["minutesDuration"], 30);
    assert_eq!(appointment["reasonCode"][0]["text"], "Rash on the arm");
    assert_eq!(
        appointment["serviceType"][0]["coding"][0]["code"],
        "VIDEOCONF"
    );
    let actors: Vec<&str> = appointment["participant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["actor"]["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        [
            format!("Patient/{patient}"),
            format!("Practitioner/{doctor}")
        ]
    );
    returned.push(appointment);
    assert_eq!(get(&api, &format!("Appointment/{visit}"), ct).await.0, 200);
    let stranger = c.app.create_user(Role::Patient).await;
    let st = c.app.token_for(&stranger, None).await;
    let other_doctor = c.app.create_user(Role::Clinician).await;
    let ot = c.app.token_for(&other_doctor, None).await;
    for token in [&st, &ot] {
        let (status, outcome, _) = get(&api, &format!("Appointment/{visit}"), Some(token)).await;
        assert_eq!(status, 404);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        let (status, nothing, _) = get(&api, "Appointment", Some(token)).await;
        assert_eq!(status, 200);
        assert!(ids_of(&nothing).is_empty());
        let (_, nothing, _) =
            get(&api, &format!("Appointment?patient={patient}"), Some(token)).await;
        assert!(ids_of(&nothing).is_empty());
    }
    assert_eq!(
        get(&api, &format!("Appointment/{}", AppointmentId::new()), pt)
            .await
            .0,
        404
    );

    // Searches narrow by patient, practitioner, date, status and kind of visit.
    let today = now.format("%Y-%m-%d").to_string();
    for (query, expected) in [
        (format!("Appointment?patient={patient}"), 1),
        (
            format!("Appointment?practitioner=Practitioner/{doctor}&status=booked"),
            1,
        ),
        (
            format!("Appointment?date=ge{today}&service-type=VIDEOCONF"),
            1,
        ),
        (format!("Appointment?date=lt{today}"), 0),
        ("Appointment?status=cancelled".to_owned(), 0),
        ("Appointment?service-type=audio".to_owned(), 0),
        (format!("Appointment?practitioner={}", other_doctor.id), 0),
    ] {
        let (status, bundle, _) = get(&api, &query, ct).await;
        assert_eq!(status, 200, "{query}: {bundle}");
        assert_eq!(ids_of(&bundle).len(), expected, "{query}");
    }
    let (_, counted, _) = get(&api, "Appointment?_summary=count", ct).await;
    assert_eq!(counted["total"], 1);
    assert!(counted.get("entry").is_none());
    let (_, with, _) = get(
        &api,
        &format!("Appointment?patient={patient}&_include=Appointment:patient&_include=Appointment:practitioner"),
        ct,
    )
    .await;
    let included: Vec<&str> = with["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(included, ["Patient", "Practitioner"]);
    returned.push(with);
    for (query, field) in [
        ("Appointment?patient=Practitioner/x", "patient"),
        ("Appointment?practitioner=Patient/x", "practitioner"),
        ("Appointment?date=tomorrow", "date"),
    ] {
        let (status, outcome, _) = get(&api, query, ct).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(
            outcome["issue"][0]["expression"][0], field,
            "{query}: {outcome}"
        );
    }

    // The encounter exists once the call began, and is finished when it ended.
    assert_eq!(get(&api, &format!("Encounter/{visit}"), ct).await.0, 404);
    let id: AppointmentId = visit.parse().unwrap();
    let store = &c.app.state().store;
    let mut tx = store.begin_write().await.unwrap();
    telemed_store::visits::start_encounter(&mut tx, id, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (status, running, _) = get(&api, &format!("Encounter/{visit}"), pt).await;
    assert_eq!(status, 200, "{running}");
    assert_eq!(running["status"], "in-progress");
    assert_eq!(running["class"]["code"], "VR");
    assert_eq!(
        running["appointment"][0]["reference"],
        format!("Appointment/{visit}")
    );
    returned.push(running);
    let mut tx = store.begin_write().await.unwrap();
    telemed_store::visits::end_encounter(&mut tx, id, Some(doctor), now + Duration::minutes(25))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (_, ended, _) = get(&api, &format!("Encounter/{visit}"), ct).await;
    assert_eq!(ended["status"], "finished");
    assert_eq!(ended["length"]["value"], 25);
    assert_eq!(ended["period"]["start"], stamp(now));
    returned.push(ended);
    let (_, finished, _) = get(
        &api,
        &format!("Encounter?patient={patient}&status=finished"),
        ct,
    )
    .await;
    assert_eq!(ids_of(&finished), std::slice::from_ref(&visit));
    returned.push(finished);
    let (_, running, _) = get(
        &api,
        &format!("Encounter?subject=Patient/{patient}&status=in-progress"),
        ct,
    )
    .await;
    assert!(ids_of(&running).is_empty());
    assert_eq!(
        get(&api, &format!("Encounter/{visit}"), Some(&st)).await.0,
        404
    );

    // The telehealth consent the patient gave before the call, to them and their
    // clinician; a stranger finds nothing.
    let mut tx = store.begin_write().await.unwrap();
    telemed_store::visits::accept_consent(&mut tx, patient, "telehealth", "2026-11", now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (status, consents, _) = get(&api, &format!("Consent?patient={patient}"), ct).await;
    assert_eq!(status, 200, "{consents}");
    let consent_ids = ids_of(&consents);
    assert_eq!(consent_ids.len(), 1);
    let consent = &consents["entry"][0]["resource"];
    assert_eq!(consent["status"], "active");
    assert_eq!(
        consent["patient"]["reference"],
        format!("Patient/{patient}")
    );
    assert!(consent["policyRule"]["text"]
        .as_str()
        .unwrap()
        .contains("2026-11"));
    returned.push(consents.clone());
    let (status, mine, _) = get(&api, &format!("Consent/{}", consent_ids[0]), pt).await;
    assert_eq!(status, 200);
    returned.push(mine);
    assert_eq!(
        get(&api, &format!("Consent/{}", consent_ids[0]), Some(&st))
            .await
            .0,
        404
    );
    let (_, theirs, _) = get(&api, &format!("Consent?patient={patient}"), Some(&st)).await;
    assert!(ids_of(&theirs).is_empty());
    let (_, none, _) = get(&api, &format!("Consent?patient={patient}&date=lt2020"), ct).await;
    assert!(ids_of(&none).is_empty());
    let (status, outcome, _) = get(&api, "Consent", ct).await;
    assert_eq!(status, 400);
    assert_eq!(outcome["issue"][0]["expression"][0], "patient");
    let (_, everything, _) = get(&api, &format!("Patient/{patient}/$everything"), ct).await;
    let mut kinds: Vec<&str> = everything["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["Appointment", "Consent", "Encounter", "Patient"]);

    // Every read and search of a visit is in the audit trail, the reads under the patient.
    c.app.state().audit.flush().await.unwrap();
    let reads: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('appointment.read', 'encounter.read') AND patient_id = $1",
    )
    .bind(patient.to_string())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        reads, 4,
        "two reads of the appointment and two of the encounter"
    );
    let lists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('appointment.list', 'encounter.list')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(lists >= 12, "{lists}");

    // Slot searches that cannot be answered are refused, naming the parameter.
    for (query, field) in [
        ("Slot?start=ge2030-01-01".to_owned(), "schedule"),
        (
            q(&format!(
                "Slot?schedule={doctor}&start=ge{from}&start=lt{}",
                stamp(now + Duration::days(60))
            )),
            "start",
        ),
        (
            format!("Slot?schedule={doctor}&start=ne2030-01-01"),
            "start",
        ),
    ] {
        let (status, outcome, _) = get(&api, &query, pt).await;
        assert_eq!(status, 400, "{query}: {outcome}");
        assert_eq!(
            outcome["issue"][0]["expression"][0], field,
            "{query}: {outcome}"
        );
    }
    assert_eq!(get(&api, "Slot/not-a-slot", pt).await.0, 404);
    let (_, busy, _) = get(&api, &format!("Slot?schedule={doctor}&status=busy"), pt).await;
    assert!(ids_of(&busy).is_empty());

    // The CapabilityStatement names the new types and their search parameters.
    let (_, capability, _) = get(&api, "metadata", None).await;
    let served: Vec<&str> = capability["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for t in [
        "Appointment",
        "Encounter",
        "Schedule",
        "Slot",
        "PractitionerRole",
        "Consent",
    ] {
        assert!(served.contains(&t), "{t}");
    }

    passes_validators(&returned);
    c.app.shutdown().await;
}

async fn messages_are_communications_to_their_threads_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let clinician = app.create_named_user(Role::Clinician, "Elena García").await;
    let colleague = app.create_named_user(Role::Clinician, "Raúl Ortega").await;
    let patient = app.create_named_user(Role::Patient, "Ana López").await;
    let stranger = app.create_user(Role::Patient).await;
    super::messaging::give_a_visit(&app, &clinician, &patient).await;
    let (ct, pt, kt, st) = (
        app.token_for(&clinician, None).await,
        app.token_for(&patient, None).await,
        app.token_for(&colleague, None).await,
        app.token_for(&stranger, None).await,
    );
    let thread = api
        .open_thread(
            &pt,
            &clinician,
            "Rash update",
            "<b>It spreads</b> to the elbow",
        )
        .await;
    let (status, leaflet) = api
        .upload(
            &ct,
            "leaflet.pdf",
            "application/pdf",
            super::attachments::pdf(),
        )
        .await;
    assert_eq!(status, 201, "{leaflet}");
    let (status, _) = api
        .call(
            "POST",
            &thread,
            &ct,
            Some(json!({"body": "Please send a photo", "attachments": [leaflet["id"]]})),
        )
        .await;
    assert_eq!(status, 201);
    let between = api
        .open_thread(
            &ct,
            &colleague,
            "Second opinion",
            "Could you look at a rash?",
        )
        .await;
    assert!(between.contains("/threads/"));
    let p = patient.id;
    let mut returned = vec![];

    let (status, mine, _) = get(&api, &format!("Communication?patient={p}"), Some(&pt)).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(ids_of(&mine).len(), 2);
    let newest = &mine["entry"][0]["resource"];
    assert_eq!(newest["payload"][0]["contentString"], "Please send a photo");
    assert_eq!(
        newest["sender"]["reference"],
        format!("Practitioner/{}", clinician.id)
    );
    assert_eq!(newest["recipient"][0]["reference"], format!("Patient/{p}"));
    assert_eq!(newest["subject"]["reference"], format!("Patient/{p}"));
    assert_eq!(newest["topic"]["text"], "Rash update");
    // The attached file: described in the payload, fetched as Binary by members only.
    let file = &newest["payload"][1]["contentAttachment"];
    assert_eq!(file["contentType"], "application/pdf");
    assert_eq!(file["title"], "leaflet.pdf");
    let binary = file["url"].as_str().unwrap().to_owned();
    assert_eq!(
        binary,
        format!(
            "{}/fhir/R4/Binary/{}",
            app.state().config.public_url,
            leaflet["id"].as_str().unwrap()
        )
    );
    let binary = binary.split("/fhir/R4/").nth(1).unwrap().to_owned();
    for (token, expected) in [(&pt, 200), (&ct, 200), (&st, 404), (&kt, 404)] {
        let r = api
            .http
            .get(app.url(&format!("/fhir/R4/{binary}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), expected);
        if expected == 200 {
            assert_eq!(r.bytes().await.unwrap().to_vec(), super::attachments::pdf());
        }
    }
    let first = &mine["entry"][1]["resource"];
    assert_eq!(
        first["payload"][0]["contentString"], "<b>It spreads</b> to the elbow",
        "the text as written: FHIR carries data, markup is the reader's to escape"
    );
    returned.push(mine.clone());
    let (_, oldest_first, _) = get(
        &api,
        &format!("Communication?patient={p}&_sort=sent"),
        Some(&pt),
    )
    .await;
    let ids = ids_of(&mine);
    assert_eq!(ids_of(&oldest_first), [ids[1].clone(), ids[0].clone()]);
    let (_, none, _) = get(
        &api,
        &format!("Communication?patient={p}&sent=lt2000"),
        Some(&pt),
    )
    .await;
    assert!(ids_of(&none).is_empty());

    // The clinician sees both threads; the colleague only theirs; the patient never
    // the clinicians' thread; a stranger nothing.
    let (_, all, _) = get(&api, "Communication", Some(&ct)).await;
    assert_eq!(ids_of(&all).len(), 3);
    let (_, theirs, _) = get(&api, "Communication", Some(&kt)).await;
    assert_eq!(ids_of(&theirs).len(), 1);
    let between_message = &theirs["entry"][0]["resource"];
    assert!(
        between_message.get("subject").is_none(),
        "no patient: {between_message}"
    );
    returned.push(theirs.clone());
    let (_, patients_view, _) = get(&api, "Communication", Some(&pt)).await;
    assert_eq!(ids_of(&patients_view).len(), 2);
    let (_, nothing, _) = get(&api, &format!("Communication?patient={p}"), Some(&st)).await;
    assert!(ids_of(&nothing).is_empty());
    for (token, id, expected) in [
        (&pt, &ids[0], 200),
        (&ct, &ids[0], 200),
        (&st, &ids[0], 404),
        (&kt, &ids[0], 404),
        (&pt, &ids_of(&theirs)[0], 404),
    ] {
        let (status, body, _) = get(&api, &format!("Communication/{id}"), Some(token)).await;
        assert_eq!(status, expected, "{body}");
        if status == 200 {
            returned.push(body);
        }
    }
    assert_eq!(get(&api, "Communication/not-an-id", Some(&pt)).await.0, 404);

    // Reads are audited under the patient; the clinician's $everything carries them.
    app.state().audit.flush().await.unwrap();
    let reads: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'message.read' AND patient_id = $1 AND detail LIKE 'fhir%'",
    )
    .bind(p.to_string())
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(reads, 2);
    let (_, everything, _) = get(&api, &format!("Patient/{p}/$everything"), Some(&ct)).await;
    let messages = everything["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Communication")
        .count();
    assert_eq!(messages, 2);

    passes_validators(&returned);
    app.shutdown().await;
}

/// POST or PUT a FHIR resource; the status, the body and the Location header.
async fn send(
    api: &Api<'_>,
    method: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> (u16, Value, Option<String>) {
    // A bundle goes to the base, here written with a slash (`fhir/R4/`).
    let url = api.app.url(&format!("/fhir/R4/{path}"));
    let request = if method == "PUT" {
        api.http.put(url)
    } else {
        api.http.post(url)
    };
    let r = request.bearer_auth(token).json(body).send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        r.status().as_u16(),
        r.json().await.unwrap_or(Value::Null),
        location,
    )
}

async fn apps_book_and_cancel_visits_through_fhir(backend: Backend) {
    let c = clinic(backend).await;
    let api = Api {
        app: &c.app,
        http: c.app.client(),
    };
    let (doctor, patient) = (c.clinician.id, c.patient.id);
    let now = c.app.clock.now();
    let (_, slots, _) = get(
        &api,
        &q(&format!(
            "Slot?schedule=Schedule/{doctor}&service-type=video&start=ge{}&_count=100",
            stamp(now + Duration::hours(30))
        )),
        Some(&c.patient_token),
    )
    .await;
    let slot_ids = ids_of(&slots);
    assert!(slot_ids.len() > 3);
    let store = &c.app.state().store;
    let booked = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM appointments")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    let mut returned = vec![];

    // A patient's app books a free slot.
    let appointment = json!({"resourceType": "Appointment", "status": "booked",
        "slot": [{"reference": format!("Slot/{}", slot_ids[0])}],
        "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"}],
        "reasonCode": [{"text": "Rash on the arm"}]});
    let (status, made, location) =
        send(&api, "POST", "Appointment", &c.patient_token, &appointment).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(location
        .unwrap()
        .ends_with(&format!("/fhir/R4/Appointment/{id}")));
    assert_eq!(made["status"], "booked");
    assert_eq!(made["start"], slots["entry"][0]["resource"]["start"]);
    returned.push(made.clone());
    assert_eq!(
        get(
            &api,
            &format!("Slot/{}", slot_ids[0]),
            Some(&c.patient_token)
        )
        .await
        .0,
        404
    );
    assert_eq!(booked().await, 1);

    // The same slot again is a conflict; what does not fit is 422 naming the element;
    // none of it stores anything.
    let other = c.app.create_user(Role::Patient).await;
    let other_token = c.app.token_for(&other, None).await;
    let mut again = appointment.clone();
    again["participant"] = json!([]);
    let (status, outcome, _) = send(&api, "POST", "Appointment", &other_token, &again).await;
    assert_eq!(status, 409, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let slot1 = format!("Slot/{}", slot_ids[1]);
    let second_start = slots["entry"][1]["resource"]["start"]
        .as_str()
        .unwrap()
        .to_owned();
    let off_grid = stamp(
        chrono::DateTime::parse_from_rfc3339(&second_start)
            .unwrap()
            .to_utc()
            + Duration::minutes(7),
    );
    for (body, field) in [
        (
            json!({"resourceType": "Appointment", "status": "fulfilled", "slot": [{"reference": slot1}], "reasonCode": [{"text": "x"}]}),
            "status",
        ),
        (
            json!({"resourceType": "Appointment", "status": "booked", "reasonCode": [{"text": "x"}]}),
            "participant",
        ),
        (
            json!({"resourceType": "Appointment", "status": "booked", "slot": [{"reference": "Slot/nonsense"}], "reasonCode": [{"text": "x"}]}),
            "slot",
        ),
        (
            json!({"resourceType": "Appointment", "status": "booked", "slot": [{"reference": slot1}]}),
            "reasonCode",
        ),
        (
            json!({"resourceType": "Appointment", "status": "booked", "start": off_grid,
            "serviceType": [{"coding": [{"code": "VIDEOCONF"}]}], "reasonCode": [{"text": "x"}],
            "participant": [{"actor": {"reference": format!("Practitioner/{doctor}")}, "status": "accepted"}]}),
            "start",
        ),
        (
            json!({"resourceType": "Appointment", "status": "booked", "slot": [{"reference": slot1}], "reasonCode": [{"text": "x"}],
            "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"}]}),
            "participant",
        ),
    ] {
        let (status, outcome, _) = send(&api, "POST", "Appointment", &other_token, &body).await;
        assert_eq!(status, 422, "{body}: {outcome}");
        assert_eq!(
            outcome["issue"][0]["expression"][0], field,
            "{body}: {outcome}"
        );
    }
    assert_eq!(booked().await, 1);

    // Staff book for a named patient by practitioner, time and kind of visit.
    let staff = c.app.create_user(Role::Staff).await;
    let staff_token = c.app.token_for(&staff, None).await;
    let (status, phone, _) = send(&api, "POST", "Appointment", &staff_token, &json!({
        "resourceType": "Appointment", "status": "booked", "start": second_start,
        "serviceType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", "code": "PHONE"}]}],
        "participant": [
            {"actor": {"reference": format!("Practitioner/{doctor}")}, "status": "accepted"},
            {"actor": {"reference": format!("Patient/{}", other.id)}, "status": "accepted"}],
        "description": "Results call"})).await;
    assert_eq!(status, 201, "{phone}");
    assert_eq!(phone["minutesDuration"], 15);
    assert_eq!(
        phone["participant"][0]["actor"]["reference"],
        format!("Patient/{}", other.id)
    );
    returned.push(phone);
    assert_eq!(booked().await, 2);

    // Cancelling: only the status changes, and the slot is offered again.
    let mut cancelled = made.clone();
    cancelled["status"] = json!("arrived");
    let (status, outcome, _) = send(
        &api,
        "PUT",
        &format!("Appointment/{id}"),
        &c.patient_token,
        &cancelled,
    )
    .await;
    assert_eq!(status, 422, "{outcome}");
    cancelled["status"] = json!("cancelled");
    let (status, _, _) = send(
        &api,
        "PUT",
        &format!("Appointment/{id}"),
        &other_token,
        &cancelled,
    )
    .await;
    assert_eq!(status, 404);
    let (status, done, _) = send(
        &api,
        "PUT",
        &format!("Appointment/{id}"),
        &c.patient_token,
        &cancelled,
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "cancelled");
    returned.push(done);
    assert_eq!(
        get(
            &api,
            &format!("Slot/{}", slot_ids[0]),
            Some(&c.patient_token)
        )
        .await
        .0,
        200
    );
    c.app.state().audit.flush().await.unwrap();
    let trail: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('appointment.book', 'appointment.cancel') ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        trail,
        [
            "appointment.book",
            "appointment.book",
            "appointment.book",
            "appointment.cancel"
        ],
        "the conflict is audited as a failed booking"
    );

    // In a batch each Appointment is booked as if sent alone: the second entry wants
    // the slot the first just took.
    let mut by_batch = appointment.clone();
    by_batch["slot"] = json!([{"reference": format!("Slot/{}", slot_ids[2])}]);
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": by_batch, "request": {"method": "POST", "url": "Appointment"}},
        {"resource": by_batch, "request": {"method": "POST", "url": "Appointment"}}]});
    let (status, answer, _) = send(&api, "POST", "", &c.patient_token, &bundle).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (
            &answer["entry"][0]["response"]["status"],
            &answer["entry"][1]["response"]["status"]
        ),
        (&json!("201 Created"), &json!("409 Conflict")),
        "{answer}"
    );
    assert_eq!(booked().await, 3);

    passes_validators(&returned);
    c.app.shutdown().await;
}

on_both_databases!(
    apps_book_and_cancel_visits_through_fhir,
    messages_are_communications_to_their_threads_only,
    visits_and_availability_are_fhir_resources,
);
