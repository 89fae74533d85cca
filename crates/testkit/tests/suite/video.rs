//! Video visits over the live connection: who may enter a room, admission from the
//! waiting room, negotiation routed only within the call, guests by single-use link,
//! the consent, the chat, and the encounter the call leaves behind.

use std::time::Duration;

use chrono::DateTime;
use serde_json::{json, Value};
use telemed_domain::{AppointmentId, Role};
use telemed_testkit::live::LiveClient;
use telemed_testkit::{location, Backend, TestApp, TestUser, WebClient};

const WAIT: Duration = Duration::from_secs(5);

struct Visit {
    app: TestApp,
    clinician: TestUser,
    patient: TestUser,
    id: String,
}

impl Visit {
    /// A booked video visit, with the clock moved to its start.
    async fn at_start(backend: Backend) -> Visit {
        Self::at_start_with(backend, |_| {}).await
    }

    async fn at_start_with(
        backend: Backend,
        configure: impl FnOnce(&mut telemed_server::Config),
    ) -> Visit {
        let app = TestApp::spawn_with(backend, configure).await;
        let clinician = app.create_user(Role::Clinician).await;
        let patient = app.create_user(Role::Patient).await;
        let booked = app.book_video_visit(&clinician, &patient).await;
        let start: DateTime<chrono::Utc> = booked["start"].as_str().unwrap().parse().unwrap();
        app.clock
            .advance(start - telemed_domain::Clock::now(&app.clock));
        Visit {
            id: booked["id"].as_str().unwrap().to_owned(),
            app,
            clinician,
            patient,
        }
    }

    async fn live_of(&self, user: &TestUser) -> LiveClient {
        let token = self.app.token_for(user, None).await;
        LiveClient::with_token(&self.app.base, &token)
            .await
            .unwrap()
    }

    async fn consenting_patient(&self) -> WebClient {
        let web = self.app.signed_in_web(&self.patient).await;
        let version = [("version", telemed_domain::video::TELEHEALTH_CONSENT_VERSION)];
        let r = web
            .post(&format!("/visits/{}/consent", self.id), &version)
            .await;
        assert_eq!(r.status(), 303);
        web
    }

    fn frame(&self, kind: &str, extra: Value) -> Value {
        let mut frame = json!({"type": kind, "visit": self.id});
        if let (Some(f), Some(e)) = (frame.as_object_mut(), extra.as_object()) {
            f.extend(e.clone());
        }
        frame
    }

    async fn appointment(&self) -> telemed_store::scheduling::Appointment {
        let id: AppointmentId = self.id.parse().unwrap();
        self.app
            .state()
            .store
            .appointment(&telemed_testkit::every_visit(), id)
            .await
            .unwrap()
            .unwrap()
    }
}

/// The `room_peer` event announcing `peer` (skipping the announcement of one's own tab).
async fn arrival(live: &mut LiveClient, peer: &str) -> Value {
    loop {
        let seen = live.expect("room_peer", WAIT).await;
        if seen["peer"] == peer {
            return seen;
        }
    }
}

async fn the_clinician_admits_and_the_call_is_recorded(backend: Backend) {
    let v = Visit::at_start(backend).await;
    let mut doc = v.live_of(&v.clinician).await;
    let joined = doc.request(&v.frame("join", json!({}))).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["admitted"], true);
    assert_eq!(joined["participant"]["kind"], "clinician");
    let doc_peer = joined["peer"].as_str().unwrap().to_owned();
    // Without a TURN server configured, no ICE server (and no third party) is named.
    assert_eq!(joined["ice"]["iceServers"], json!([]));

    // The patient has not accepted the telehealth consent yet.
    let mut pat = v.live_of(&v.patient).await;
    let refused = pat.request(&v.frame("join", json!({}))).await;
    assert_eq!(refused["type"], "error");
    assert!(
        refused["message"].as_str().unwrap().contains("consent"),
        "{refused}"
    );
    let patient_web = v.consenting_patient().await;
    let account = patient_web.get("/account").await.text().await.unwrap();
    assert!(
        account.contains(telemed_domain::video::TELEHEALTH_CONSENT_VERSION),
        "consent not shown in the record"
    );

    // Entering puts the patient in the waiting room (and checks them in).
    let joined = pat.request(&v.frame("join", json!({}))).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["admitted"], false);
    let pat_peer = joined["peer"].as_str().unwrap().to_owned();
    assert_eq!(joined["peers"][0]["peer"], doc_peer.as_str());
    let seen = arrival(&mut doc, &pat_peer).await;
    assert_eq!(seen["admitted"], false);
    assert_eq!(seen["participant"]["kind"], "patient");
    assert_eq!(
        v.appointment().await.status,
        telemed_store::scheduling::AppointmentStatus::Arrived
    );

    // Waiting: no negotiation, no chat, no admitting oneself.
    let r = pat
        .request(&v.frame(
            "signal",
            json!({"to": doc_peer, "data": {"sdp": {"type": "offer", "sdp": "v=0"}}}),
        ))
        .await;
    assert_eq!(r["type"], "error");
    assert!(r["message"].as_str().unwrap().contains("wait"), "{r}");
    let r = pat
        .request(&v.frame("chat", json!({"body": "hello?"})))
        .await;
    assert_eq!(r["type"], "error");
    let r = pat
        .request(&v.frame("admit", json!({"peer": pat_peer})))
        .await;
    assert_eq!(r["type"], "error");
    assert!(r["message"].as_str().unwrap().contains("clinician"), "{r}");

    // Admission.
    let r = doc
        .request(&v.frame("admit", json!({"peer": pat_peer})))
        .await;
    assert_eq!(r["type"], "ok", "{r}");
    let admitted = pat.expect("room_admitted", WAIT).await;
    assert_eq!(admitted["peer"], pat_peer.as_str());
    let r = doc
        .request(&v.frame("admit", json!({"peer": pat_peer})))
        .await;
    assert_eq!(r["type"], "error", "admitting twice");

    // Negotiation reaches exactly the peer it is for, with the sender set by the server.
    let offer = json!({"sdp": {"type": "offer", "sdp": "v=0\r\n"}});
    assert!(
        pat.send_json(&v.frame("signal", json!({"to": doc_peer, "data": offer})))
            .await
    );
    let got = doc.expect("signal", WAIT).await;
    assert_eq!(got["from"], pat_peer.as_str());
    assert_eq!(got["to"], doc_peer.as_str());
    assert_eq!(got["data"], offer);
    let r = pat
        .request(&v.frame(
            "signal",
            json!({"to": telemed_domain::PeerId::new(), "data": {}}),
        ))
        .await;
    assert_eq!(r["type"], "error", "a peer not in the room");

    // Chat is stored with the visit; markup stays text.
    let line = "<img src=x onerror=alert(1)> my rash is itchy";
    let r = pat.request(&v.frame("chat", json!({"body": line}))).await;
    assert_eq!(r["type"], "ok", "{r}");
    assert_eq!(r["seq"], 1);
    let note = doc.expect("room_chat", WAIT).await;
    assert_eq!(note["seq"], 1);
    assert!(note.get("body").is_none(), "chat text never rides the bus");
    let lines: Vec<Value> = patient_web
        .get(&format!("/visits/{}/chat", v.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["body"], line);
    assert_eq!(lines[0]["kind"], "patient");
    let r = pat
        .request(&v.frame("chat", json!({"body": "x".repeat(2001)})))
        .await;
    assert_eq!(r["type"], "error");

    // Quality reports: impossible figures are refused.
    let r = pat
        .request(&v.frame(
            "quality",
            json!({"rtt_ms": 40, "loss_permille": 5000, "bitrate_kbps": 900, "relayed": false}),
        ))
        .await;
    assert_eq!(r["type"], "error");
    for (live, rtt, loss) in [(&mut pat, 40, 2), (&mut doc, 60, 10)] {
        assert!(
            live.send_json(&v.frame(
                "quality",
                json!({"rtt_ms": rtt, "loss_permille": loss, "bitrate_kbps": 800, "relayed": false})
            ))
            .await
        );
    }
    let _ = pat.request(&json!({"type": "ping"})).await;
    let _ = doc.request(&json!({"type": "ping"})).await;

    // A dropped connection leaves the room; coming back needs no second admission.
    drop(pat);
    let left = doc.expect("room_left", WAIT).await;
    assert_eq!(left["peer"], pat_peer.as_str());
    let mut pat = v.live_of(&v.patient).await;
    let back = pat.request(&v.frame("join", json!({}))).await;
    assert_eq!(back["admitted"], true, "{back}");
    assert_ne!(back["peer"], pat_peer.as_str());

    // Only the clinician ends the visit.
    let r = pat.request(&v.frame("end", json!({}))).await;
    assert_eq!(r["type"], "error");
    let r = doc.request(&v.frame("end", json!({}))).await;
    assert_eq!(r["type"], "ok", "{r}");
    pat.expect("room_ended", WAIT).await;

    let id: AppointmentId = v.id.parse().unwrap();
    let store = &v.app.state().store;
    let encounter = store.encounter(id).await.unwrap().unwrap();
    assert!(encounter.ended_at.is_some());
    assert_eq!(encounter.ended_by, Some(v.clinician.id));
    let q = encounter.quality.expect("quality summary");
    assert_eq!(q.rtt_ms, 50, "average round trip");
    assert_eq!(q.loss_permille, 10, "worst loss");
    assert!(!q.relayed);
    assert_eq!(
        v.appointment().await.status,
        telemed_store::scheduling::AppointmentStatus::Fulfilled
    );
    let attendance = store.visit_attendance(id).await.unwrap();
    assert_eq!(attendance.len(), 3, "clinician, patient, patient again");
    assert!(attendance.iter().all(|p| p.left_at.is_some()));
    let record = patient_web.get(&format!("/visits/{}/record", v.id)).await;
    assert_eq!(record.status(), 200);
    let html = record.text().await.unwrap();
    assert!(
        html.contains("&#60;img src=x") || html.contains("&lt;img src=x"),
        "chat shown as text in the record: {html}"
    );
    assert!(!html.contains("<img src=x"));

    // The room is closed now.
    let r = pat.request(&v.frame("join", json!({}))).await;
    assert_eq!(r["type"], "error");
    assert!(r["message"].as_str().unwrap().contains("ended"), "{r}");
    v.app.flush_audit().await;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY seq")
            .bind(v.id.clone())
            .fetch_all(store.pool())
            .await
            .unwrap();
    for action in ["visit.enter", "visit.admit", "visit.chat", "visit.end"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not audited: {actions:?}"
        );
    }
    v.app.shutdown().await;
}

async fn outsiders_are_refused_at_signaling(backend: Backend) {
    let v = Visit::at_start(backend).await;
    let mut doc = v.live_of(&v.clinician).await;
    let joined = doc.request(&v.frame("join", json!({}))).await;
    let doc_peer = joined["peer"].as_str().unwrap().to_owned();
    for role in [Role::Patient, Role::Clinician, Role::Staff, Role::Admin] {
        let outsider = v.app.create_user(role).await;
        let mut live = v.live_of(&outsider).await;
        let r = live.request(&v.frame("join", json!({}))).await;
        assert_eq!(r["type"], "error", "{role:?} joined: {r}");
        assert!(
            r["message"].as_str().unwrap().contains("no such visit"),
            "{r}"
        );
        // Nothing sent without joining reaches the room.
        let r = live
            .request(&v.frame("signal", json!({"to": doc_peer, "data": {"candidate": {}}})))
            .await;
        assert_eq!(r["type"], "error");
        let r = live
            .request(&v.frame("admit", json!({"peer": doc_peer})))
            .await;
        assert_eq!(r["type"], "error");
        // And the room page is not found for them.
        let web = v.app.signed_in_web(&outsider).await;
        assert_eq!(
            web.get(&format!("/visits/{}/room", v.id)).await.status(),
            404
        );
    }
    // Malformed and unknown frames are refused, and change nothing.
    let r = doc
        .request(&json!({"type": "join", "visit": "not-an-id"}))
        .await;
    assert_eq!(r["type"], "error");
    let r = doc
        .request(&json!({"type": "teleport", "visit": v.id}))
        .await;
    assert_eq!(r["type"], "error");
    assert!(
        doc.next_event(Duration::from_millis(300)).await.is_err(),
        "no room event was caused by an outsider"
    );
    let id: AppointmentId = v.id.parse().unwrap();
    assert_eq!(v.app.state().store.room_peers(id).await.unwrap().len(), 1);
    v.app.shutdown().await;
}

async fn guests_join_by_a_single_use_link(backend: Backend) {
    let v = Visit::at_start(backend).await;
    let doc_web = v.app.signed_in_web(&v.clinician).await;
    let r = doc_web
        .post(
            &format!("/visits/{}/invites", v.id),
            &[("label", "Interpreter (Spanish)")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let made: Value = r.json().await.unwrap();
    let url = made["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap();
    assert!(url.ends_with(&format!("/visits/join/{token}")), "{url}");
    let path = format!("/visits/join/{token}");
    // The patient cannot make links; an empty label is refused.
    let patient_web = v.consenting_patient().await;
    let r = patient_web
        .post(
            &format!("/visits/{}/invites", v.id),
            &[("label", "My cousin")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = doc_web
        .post(&format!("/visits/{}/invites", v.id), &[("label", "  ")])
        .await;
    assert_eq!(r.status(), 400);

    // A guest whose browser has not told its zone reads the time in the clinician's
    // stated zone, named, not in UTC.
    let token = v.app.token_for(&v.clinician, None).await;
    let schedule_url = v
        .app
        .url(&format!("/api/v1/clinicians/{}/schedule", v.clinician.id));
    let mut schedule: Value = v
        .app
        .client()
        .get(&schedule_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    schedule["time_zone"] = json!("Europe/Madrid");
    let r = v
        .app
        .client()
        .put(&schedule_url)
        .bearer_auth(&token)
        .json(&schedule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Opening the link shows who it is for and spends nothing; joining spends it.
    let guest = v.app.web();
    let landing = guest.get(&path).await;
    assert_eq!(landing.status(), 200);
    let landing = landing.text().await.unwrap();
    assert!(landing.contains("Interpreter (Spanish)"));
    assert!(landing.contains("(Europe/Madrid)"), "{landing}");
    let r = guest.post(&path, &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r).unwrap(), format!("/visits/{}/room", v.id));
    assert_eq!(
        guest.get(&format!("/visits/{}/room", v.id)).await.status(),
        200
    );
    let other = v.app.web();
    assert_eq!(other.post(&path, &[]).await.status(), 404, "single use");
    assert_eq!(other.get(&path).await.status(), 404);

    // The guest waits like the patient and is let in by the clinician.
    let mut doc = v.live_of(&v.clinician).await;
    let joined = doc.request(&v.frame("join", json!({}))).await;
    let doc_peer = joined["peer"]
        .as_str()
        .unwrap_or_else(|| panic!("{joined}"))
        .to_owned();
    let mut g = guest.live().await.unwrap();
    let joined = g.request(&v.frame("join", json!({}))).await;
    assert_eq!(joined["admitted"], false, "{joined}");
    assert_eq!(joined["participant"]["kind"], "guest");
    let g_peer = joined["peer"].as_str().unwrap().to_owned();
    arrival(&mut doc, &g_peer).await;
    assert_eq!(
        doc.request(&v.frame("admit", json!({"peer": g_peer})))
            .await["type"],
        "ok"
    );
    g.expect("room_admitted", WAIT).await;
    assert!(
        g.send_json(&v.frame(
            "signal",
            json!({"to": doc_peer, "data": {"candidate": {"candidate": ""}}})
        ))
        .await
    );
    assert_eq!(doc.expect("signal", WAIT).await["from"], g_peer.as_str());

    // A guest pass is for this visit only: another visit of the same clinician is not
    // theirs, nor are the clinician's other pages.
    assert_eq!(guest.get("/appointments").await.status(), 303);
    assert_eq!(
        guest
            .get(&format!("/visits/{}/record", v.id))
            .await
            .status(),
        303
    );

    // Revoked: the pass stops working.
    let guest_id = made["guest"].as_str().unwrap();
    let r = doc_web
        .post(&format!("/visits/{}/invites/{guest_id}/revoke", v.id), &[])
        .await;
    assert_eq!(r.status(), 200);
    assert!(guest.live().await.is_err());
    assert_ne!(
        guest.get(&format!("/visits/{}/room", v.id)).await.status(),
        200
    );
    v.app.shutdown().await;
}

async fn turn_credentials_follow_the_configuration(backend: Backend) {
    let v = Visit::at_start_with(backend, |c| {
        c.video.stun_urls = vec!["stun:127.0.0.1:3478".into()];
        c.video.turn_urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        c.video.turn_secret = Some("a-shared-secret".into());
        c.video.turn_credential_minutes = 60;
        c.video.ice_transport_policy = "relay".into();
    })
    .await;
    let mut doc = v.live_of(&v.clinician).await;
    let joined = doc.request(&v.frame("join", json!({}))).await;
    let ice = &joined["ice"];
    assert_eq!(ice["iceTransportPolicy"], "relay");
    assert_eq!(ice["iceServers"][0]["urls"][0], "stun:127.0.0.1:3478");
    let turn = &ice["iceServers"][1];
    let user = turn["username"].as_str().unwrap();
    let (expiry, who) = user.split_once(':').unwrap();
    let now = telemed_domain::Clock::now(&v.app.clock).timestamp();
    assert_eq!(expiry.parse::<i64>().unwrap(), now + 3600);
    assert_eq!(
        who,
        joined["peer"].as_str().unwrap(),
        "an opaque id, not a name"
    );
    assert_eq!(
        turn["credential"].as_str().unwrap(),
        telemed_server::video::ice::turn_credential(
            "a-shared-secret",
            who,
            chrono::DateTime::from_timestamp(now + 3600, 0).unwrap()
        )
        .1
    );
    v.app.shutdown().await;
}

on_both_databases!(
    the_clinician_admits_and_the_call_is_recorded,
    outsiders_are_refused_at_signaling,
    guests_join_by_a_single_use_link,
    turn_credentials_follow_the_configuration,
);
