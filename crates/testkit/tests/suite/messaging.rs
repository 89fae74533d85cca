//! Secure messaging through the API: who may write to whom, order, resends, receipts,
//! archive, the clinic inbox and routing, live delivery, bad input.

use std::time::Duration;

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::live::LiveClient;
use telemed_testkit::{Backend, TestApp, TestUser};

pub(crate) struct Api<'a> {
    pub app: &'a TestApp,
    pub http: reqwest::Client,
}

impl<'a> Api<'a> {
    /// A client of `app`'s API (tokens are passed per call).
    pub fn of(app: &'a TestApp) -> Self {
        Api {
            app,
            http: app.client(),
        }
    }
}

impl Api<'_> {
    /// Starts a thread from `token` to `to`; returns the path of its messages.
    pub async fn open_thread(
        &self,
        token: &str,
        to: &TestUser,
        subject: &str,
        body: &str,
    ) -> String {
        let (status, thread) = self
            .call(
                "POST",
                "/api/v1/threads",
                token,
                Some(json!({"subject": subject, "to": to.id, "body": body})),
            )
            .await;
        assert_eq!(status, 201, "{thread}");
        format!(
            "/api/v1/threads/{}/messages",
            thread["id"].as_str().unwrap()
        )
    }

    async fn call_put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .put(self.app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = self.app.url(path);
        let request = match method {
            "GET" => self.http.get(url),
            "PUT" => self.http.put(url),
            "DELETE" => self.http.delete(url),
            "PATCH" => self.http.patch(url),
            _ => self.http.post(url),
        }
        .bearer_auth(token);
        let request = match body {
            Some(b) => request.json(&b),
            None => request,
        };
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

pub(crate) async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.state().store.pool())
        .await
        .unwrap()
}

/// A visit between them, so they have a care relationship.
pub(crate) async fn give_a_visit(
    app: &TestApp,
    clinician: &TestUser,
    patient: &TestUser,
) -> telemed_domain::AppointmentId {
    let now = telemed_domain::Clock::now(&app.clock);
    let mut tx = app.state().store.begin_write().await.unwrap();
    let start = now + chrono::Duration::days(1);
    let id = telemed_store::scheduling::book(
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
    id
}

async fn patients_write_to_their_care_team(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let stranger = app.create_user(Role::Patient).await;
    let other_clinician = app.create_user(Role::Clinician).await;
    let (c, p, s, oc) = (
        app.token_for(&clinician, None).await,
        app.token_for(&patient, None).await,
        app.token_for(&stranger, None).await,
        app.token_for(&other_clinician, None).await,
    );
    let first = json!({"subject": "My rash", "to": clinician.id, "body": "It is spreading."});

    // No visit, no thread; nothing stored.
    let (status, _) = api
        .call("POST", "/api/v1/threads", &p, Some(first.clone()))
        .await;
    assert_eq!(status, 400);
    assert_eq!(count(&app, "threads").await, 0);
    give_a_visit(&app, &clinician, &patient).await;

    // The clinician has the inbox open on a live connection.
    let mut clinician_live = LiveClient::with_token(&app.base, &c).await.unwrap();
    let (status, thread) = api.call("POST", "/api/v1/threads", &p, Some(first)).await;
    assert_eq!(status, 201, "{thread}");
    let id = thread["id"].as_str().unwrap().to_owned();
    let event = clinician_live
        .next_event(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(event, json!({"type": "message", "thread": id, "seq": 1}));
    let (_, inbox) = api.call("GET", "/api/v1/threads", &c, None).await;
    assert_eq!(inbox[0]["id"], id.as_str());
    assert_eq!(inbox[0]["unread"], 1);

    // Markup is stored as typed and comes back as text.
    let script = "<script>alert('x')</script> <b>bold</b>";
    let messages = format!("/api/v1/threads/{id}/messages");
    let (status, reply) = api
        .call(
            "POST",
            &messages,
            &c,
            Some(json!({"body": script, "client_id": "c-1"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(reply["seq"], 2);
    // A resend with the same client id stores nothing new.
    let (status, again) = api
        .call(
            "POST",
            &messages,
            &c,
            Some(json!({"body": script, "client_id": "c-1"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(again["id"], reply["id"]);
    assert_eq!(count(&app, "messages").await, 2);

    // The patient catches up from the last number they have.
    let (_, missed) = api
        .call("GET", &format!("{messages}?after=1"), &p, None)
        .await;
    assert_eq!(missed.as_array().unwrap().len(), 1);
    assert_eq!(missed[0]["body"], script);

    // Read receipts: the patient reads up to 2; the clinician sees it.
    let (status, receipts) = api
        .call(
            "POST",
            &format!("/api/v1/threads/{id}/read"),
            &p,
            Some(json!({"seq": 2})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(receipts
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["user_id"] == patient.id.to_string().as_str() && r["read_seq"] == 2));
    let event = loop {
        let e = clinician_live
            .next_event(Duration::from_secs(5))
            .await
            .unwrap();
        if e["type"] == "read" {
            break e;
        }
    };
    assert_eq!(event["seq"], 2);
    let (status, _) = api
        .call(
            "POST",
            &format!("/api/v1/threads/{id}/read"),
            &p,
            Some(json!({"seq": 99})),
        )
        .await;
    assert_eq!(status, 400);

    // Outsiders: the thread does not exist for them.
    for token in [&s, &oc] {
        assert_eq!(api.call("GET", &messages, token, None).await.0, 404);
        let (status, _) = api
            .call("POST", &messages, token, Some(json!({"body": "hi"})))
            .await;
        assert_eq!(status, 404);
    }
    assert_eq!(
        api.call("GET", "/api/v1/threads/not-an-id/messages", &p, None)
            .await
            .0,
        404
    );

    // Bad input changes nothing.
    let before = count(&app, "messages").await;
    for body in [
        json!({"body": "   "}),
        json!({"body": "x".repeat(10_001)}),
        json!({"text": "hi"}),
        json!({"body": 5}),
    ] {
        let (status, _) = api.call("POST", &messages, &p, Some(body)).await;
        assert_eq!(status, 400);
    }
    assert_eq!(count(&app, "messages").await, before);

    // Archive hides it until the next message brings it back.
    let archive = format!("/api/v1/threads/{id}/archive");
    assert_eq!(
        api.call("POST", &archive, &p, Some(json!({"archived": true})))
            .await
            .0,
        204
    );
    let (_, inbox) = api.call("GET", "/api/v1/threads", &p, None).await;
    assert!(inbox.as_array().unwrap().is_empty());
    api.call("POST", &messages, &c, Some(json!({"body": "Any better?"})))
        .await;
    let (_, inbox) = api.call("GET", "/api/v1/threads", &p, None).await;
    assert_eq!(inbox[0]["unread"], 1);

    // Clinicians write to each other; a patient cannot open a clinician thread.
    let (status, _) = api
        .call("POST", "/api/v1/threads", &c, Some(json!({"subject": "Second opinion", "to": other_clinician.id, "body": "Could you look?"})))
        .await;
    assert_eq!(status, 201);
    let (status, _) = api
        .call(
            "POST",
            "/api/v1/threads",
            &p,
            Some(json!({"subject": "Hi", "to": other_clinician.id, "body": "Hello"})),
        )
        .await;
    assert_eq!(status, 400);
    app.shutdown().await;
}

async fn the_clinic_inbox_is_shared_and_routed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let patient = app.create_user(Role::Patient).await;
    let desk = app.create_user(Role::Staff).await;
    let other_desk = app.create_user(Role::Staff).await;
    let clinician = app.create_user(Role::Clinician).await;
    let (p, d, od, c) = (
        app.token_for(&patient, None).await,
        app.token_for(&desk, None).await,
        app.token_for(&other_desk, None).await,
        app.token_for(&clinician, None).await,
    );
    let mut desk_live = LiveClient::with_token(&app.base, &od).await.unwrap();
    let (status, thread) = api
        .call(
            "POST",
            "/api/v1/threads",
            &p,
            Some(json!({"subject": "Invoice", "to": "clinic", "body": "I was charged twice."})),
        )
        .await;
    assert_eq!(status, 201);
    let id = thread["id"].as_str().unwrap();
    // Every staff member sees it, live.
    assert_eq!(
        desk_live.next_event(Duration::from_secs(5)).await.unwrap()["type"],
        "message"
    );
    let (_, inbox) = api.call("GET", "/api/v1/threads", &d, None).await;
    assert_eq!(inbox[0]["id"], id);
    assert_eq!(inbox[0]["clinic_inbox"], true);
    // The clinician does not, until staff route it.
    let messages = format!("/api/v1/threads/{id}/messages");
    assert_eq!(api.call("GET", &messages, &c, None).await.0, 404);
    let (status, _) = api
        .call(
            "POST",
            &messages,
            &d,
            Some(json!({"body": "Looking into it."})),
        )
        .await;
    assert_eq!(status, 201);
    let route = format!("/api/v1/threads/{id}/route");
    assert_eq!(
        api.call(
            "POST",
            &route,
            &p,
            Some(json!({"clinician_id": clinician.id}))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        api.call(
            "POST",
            &route,
            &d,
            Some(json!({"clinician_id": patient.id}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        api.call(
            "POST",
            &route,
            &d,
            Some(json!({"clinician_id": clinician.id}))
        )
        .await
        .0,
        204
    );
    let (status, list) = api.call("GET", &messages, &c, None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, notes) = api.call("GET", "/api/v1/notifications", &c, None).await;
    assert_eq!(notes[0]["kind"], "message.routed");
    app.shutdown().await;
}

async fn message_emails_follow_preferences_and_carry_no_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    give_a_visit(&app, &clinician, &patient).await;
    let (c, p) = (
        app.token_for(&clinician, None).await,
        app.token_for(&patient, None).await,
    );
    let path = api
        .open_thread(&p, &clinician, "Results", "My glucose was 180")
        .await;
    api.call("POST", &path, &p, Some(json!({"body": "and 190 today"})))
        .await;
    // One email for the first unread message, not one per message; no text in it.
    let mail = app.smtp.wait_for(&clinician.email, "new message").await;
    // (The message's words, not "190" alone: ids and dates in the mail may hold it.)
    assert!(!mail.raw.contains("glucose") && !mail.raw.contains("190 today"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to_clinician = app
        .smtp
        .all()
        .iter()
        .filter(|m| m.recipients.contains(&clinician.email))
        .count();
    assert_eq!(to_clinician, 1);

    // The patient turns message emails off: the reply is only in the app.
    let (status, prefs) = api
        .call_put(
            "/api/v1/notification-preferences",
            &p,
            json!([{"group": "messages", "email": false}]),
        )
        .await;
    assert_eq!(status, 200);
    assert!(prefs
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["group"] == "messages" && g["email"] == false));
    let (status, _) = api
        .call_put(
            "/api/v1/notification-preferences",
            &p,
            json!([{"group": "everything", "email": false}]),
        )
        .await;
    assert_eq!(status, 400);
    api.call("POST", &path, &c, Some(json!({"body": "Please come in."})))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!app
        .smtp
        .all()
        .iter()
        .any(|m| m.recipients.contains(&patient.email)));
    let (_, notes) = api.call("GET", "/api/v1/notifications", &p, None).await;
    assert_eq!(notes[0]["kind"], "message.new");
    app.shutdown().await;
}

async fn concurrent_senders_keep_one_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    give_a_visit(&app, &clinician, &patient).await;
    let (c, p) = (
        app.token_for(&clinician, None).await,
        app.token_for(&patient, None).await,
    );
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let path = api.open_thread(&p, &clinician, "Busy", "0").await;
    let sends = (0..40).map(|i| {
        let (api, path) = (&api, path.clone());
        let token = if i % 2 == 0 { c.clone() } else { p.clone() };
        async move {
            api.call(
                "POST",
                &path,
                &token,
                Some(json!({"body": format!("m{i}")})),
            )
            .await
            .0
        }
    });
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let (_, list) = api.call("GET", &path, &p, None).await;
    let seqs: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=41).collect::<Vec<_>>(),
        "every message once, numbered without gaps"
    );
    app.shutdown().await;
}

on_both_databases!(
    patients_write_to_their_care_team,
    the_clinic_inbox_is_shared_and_routed,
    concurrent_senders_keep_one_order,
    message_emails_follow_preferences_and_carry_no_text,
);
