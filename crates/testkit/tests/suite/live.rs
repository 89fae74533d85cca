//! The live connection: who may open it, what it carries, and delivery across two
//! server nodes over NATS.

use std::time::Duration;

use serde_json::json;
use telemed_domain::Role;
use telemed_testkit::live::{Ended, LiveClient};
use telemed_testkit::{Backend, TestApp};

const WAIT: Duration = Duration::from_secs(5);

async fn only_signed_in_people_connect_and_hear_their_own_news(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let other = app.create_user(Role::Patient).await;

    // Refused before the upgrade: no credentials, a bad token, a session cookie from
    // another site's page.
    assert_eq!(LiveClient::connect(&app.base, &[]).await.err(), Some(401));
    assert_eq!(
        LiveClient::with_token(&app.base, "tm_pat_not-a-real-token")
            .await
            .err(),
        Some(401)
    );
    let web = app.signed_in_web(&patient).await;
    let cross_site = LiveClient::connect(
        &app.base,
        &[
            ("cookie", web.cookie_header()),
            ("origin", "https://evil.example".into()),
        ],
    )
    .await;
    assert_eq!(cross_site.err(), Some(403));
    // A plain GET is not a WebSocket.
    assert_eq!(web.get("/ws").await.status(), 400);

    let mut browser_tab = web.live().await.expect("a signed-in tab connects");
    let other_token = app.token_for(&other, None).await;
    let mut bystander = LiveClient::with_token(&app.base, &other_token)
        .await
        .expect("an API client connects with its token");
    assert!(browser_tab.send_text(r#"{"type":"ping"}"#).await);
    assert_eq!(browser_tab.next_event(WAIT).await.unwrap()["type"], "pong");

    // A booking's confirmation reaches the patient's open tab, and nobody else's.
    app.book_video_visit(&clinician, &patient).await;
    telemed_server::jobs::run_due(app.state()).await.unwrap();
    let event = browser_tab.next_event(WAIT).await.unwrap();
    assert_eq!(
        event,
        json!({"type": "notification", "kind": "visit.booked"})
    );
    assert_eq!(
        bystander.next_event(Duration::from_millis(500)).await,
        Err(Ended::TimedOut)
    );

    // The bystander revokes the token their connection opened with: it closes at once
    // ("signed out"), not at the next heartbeat 20 s later.
    let http = reqwest::Client::new();
    let id = app.newest_token_id(&other_token).await;
    let r = http
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        bystander.next_event(Duration::from_secs(3)).await,
        Err(Ended::Closed(Some(4001)))
    );

    // An oversized frame closes the connection.
    assert!(browser_tab.send_binary(vec![0u8; 100 * 1024]).await);
    assert!(matches!(
        browser_tab.next_event(WAIT).await,
        Err(Ended::Closed(_))
    ));
    app.shutdown().await;
}

async fn connections_are_capped_per_person_and_per_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let token = app.token_for(&patient, None).await;
    let mut open = Vec::new();
    for _ in 0..telemed_server::realtime::hub::MAX_CONNECTIONS_PER_USER {
        open.push(LiveClient::with_token(&app.base, &token).await.unwrap());
    }
    assert_eq!(
        LiveClient::with_token(&app.base, &token).await.err(),
        Some(429)
    );
    assert_eq!(
        app.state().hub.count(Some(patient.id)),
        telemed_server::realtime::hub::MAX_CONNECTIONS_PER_USER
    );
    // Closing one frees its place.
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.state().hub.count(Some(patient.id)) > open.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "registry not cleaned up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    LiveClient::with_token(&app.base, &token).await.unwrap();

    // An address that keeps failing is turned away even with good credentials.
    for _ in 0..telemed_server::realtime::hub::MAX_REFUSED_PER_MINUTE {
        assert_eq!(LiveClient::connect(&app.base, &[]).await.err(), Some(401));
    }
    let other = app.create_user(Role::Patient).await;
    let other_token = app.token_for(&other, None).await;
    assert_eq!(
        LiveClient::with_token(&app.base, &other_token).await.err(),
        Some(429)
    );
    app.shutdown().await;
}

on_both_databases!(
    only_signed_in_people_connect_and_hear_their_own_news,
    connections_are_capped_per_person_and_per_address,
);

/// Two server nodes on one PostgreSQL database, joined by the local NATS: an event
/// raised on either reaches a person connected to the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_pg),
    ignore = "PostgreSQL not configured: set TELEMED_TEST_DATABASE_URL to run"
)]
async fn two_nodes_share_live_events_over_nats() {
    let nats = std::env::var("TELEMED_TEST_NATS_URL").unwrap_or("nats://127.0.0.1:4222".into());
    let a = TestApp::spawn_with(Backend::Postgres, |c| c.nats_url = Some(nats.clone())).await;
    let b = a.spawn_beside(|c| c.nats_url = Some(nats.clone())).await;
    assert!(a.state().bus.is_shared() && b.state().bus.is_shared());
    let clinician = a.create_user(Role::Clinician).await;
    let patient = a.create_user(Role::Patient).await;
    let on_b = b.signed_in_web(&patient).await;
    let mut tab_on_b = on_b.live().await.unwrap();
    let clinician_token = a.token_for(&clinician, None).await;
    let mut clinician_on_a = LiveClient::with_token(&a.base, &clinician_token)
        .await
        .unwrap();

    // Booked through node A, confirmed by A's job worker: the patient on B hears it,
    // and the clinician on A sees their waiting queue change.
    a.book_video_visit(&clinician, &patient).await;
    telemed_server::jobs::run_due(a.state()).await.unwrap();
    let event = tab_on_b.next_event(WAIT).await.unwrap();
    assert_eq!(event["type"], "notification");
    assert_eq!(event["kind"], "visit.booked");
    clinician_on_a.expect("queue", WAIT).await;

    // Raised on B, heard on A.
    let envelope = telemed_server::realtime::Envelope {
        to: vec![clinician.id],
        guests: Vec::new(),
        event: telemed_server::realtime::LiveEvent::Notification {
            kind: "visit.patient_cancelled".into(),
        },
    };
    b.state().bus.publish(envelope).await;
    loop {
        let event = clinician_on_a.expect("notification", WAIT).await;
        if event["kind"] == "visit.patient_cancelled" {
            break;
        }
    }
    b.shutdown().await;
    a.shutdown().await;
}
