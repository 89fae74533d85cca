//! Two `telemed serve` processes on one PostgreSQL database, joined by the local NATS:
//! what happens through one node reaches people connected to the other, live.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::live::LiveClient;
use telemed_testkit::{Backend, TestApp};

const WAIT: Duration = Duration::from_secs(20);

/// A `telemed serve` process, stopped when dropped.
pub struct Node {
    pub child: Child,
    pub base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a node on `app`'s database and files (same master key), joined to the others
/// by `nats` if given, and waits until it answers /readyz.
pub async fn serve(app: &TestApp, nats: Option<&str>) -> Node {
    serve_with(app, nats, &[]).await
}

/// The same, with more settings (`TELEMED_*` variables).
pub async fn serve_with(app: &TestApp, nats: Option<&str>, settings: &[(&str, &str)]) -> Node {
    let config = &app.state().config;
    let port = free_port();
    let data = config.files.local_dir.clone().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_telemed"));
    command.env_clear();
    if let Some(nats) = nats {
        command.env("TELEMED_NATS_URL", nats);
    }
    command.envs(settings.iter().copied());
    let child = command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("TELEMED_DATABASE_URL", &config.database_url)
        .env("TELEMED_DATA_DIR", data.parent().unwrap())
        .env("TELEMED_FILES_LOCAL_DIR", &data)
        .env(
            "TELEMED_FILES_MASTER_KEY_FILE",
            config.files.master_key_file.clone().unwrap(),
        )
        .env("TELEMED_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let node = Node {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_until_ready(&node.base).await;
    node
}

/// Waits until a telemed at `base` answers /readyz (60 s at most: a cold start of a
/// debug build under load is slow).
pub async fn wait_until_ready(base: &str) {
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ready = http.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "telemed at {base} did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(base: &str, path: &str, token: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "POST {path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// The next event of `kind` (other events may come first).
async fn next_of(client: &mut LiveClient, kind: &str) -> Value {
    loop {
        let event = client
            .next_event(WAIT)
            .await
            .unwrap_or_else(|e| panic!("waiting for {kind}: {e:?}"));
        if event["type"] == kind || event["kind"] == kind {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_pg),
    ignore = "PostgreSQL not configured: set TELEMED_TEST_DATABASE_URL to run"
)]
async fn two_serve_processes_share_live_events_over_nats() {
    let nats = std::env::var("TELEMED_TEST_NATS_URL").unwrap_or("nats://127.0.0.1:4222".into());
    // The in-process app only prepares the database: people, tokens, a visit.
    let app = TestApp::spawn(Backend::Postgres).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let clinician_token = app.token_for(&clinician, None).await;
    let patient_token = app.token_for(&patient, None).await;
    let start = telemed_domain::Clock::now(&app.clock) + chrono::Duration::days(2);
    let mut tx = app.state().store.begin_write().await.unwrap();
    let visit = telemed_store::scheduling::book(
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
        start - chrono::Duration::days(2),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (a, b) = (
        serve(&app, Some(&nats)).await,
        serve(&app, Some(&nats)).await,
    );
    let mut patient_on_a = LiveClient::with_token(&a.base, &patient_token)
        .await
        .unwrap();
    let mut clinician_on_b = LiveClient::with_token(&b.base, &clinician_token)
        .await
        .unwrap();

    // A message sent through node A arrives live on node B.
    let thread = post(
        &a.base,
        "/api/v1/threads",
        &patient_token,
        json!({"subject": "Before the visit", "to": clinician.id, "body": "Can I eat before?"}),
    )
    .await;
    let event = next_of(&mut clinician_on_b, "message").await;
    assert_eq!(event["thread"], thread["id"]);
    assert_eq!(
        next_of(&mut clinician_on_b, "message.new").await["type"],
        "notification"
    );

    // The reply through B reaches the patient on A, with its notification.
    let path = format!(
        "/api/v1/threads/{}/messages",
        thread["id"].as_str().unwrap()
    );
    post(
        &b.base,
        &path,
        &clinician_token,
        json!({"body": "Yes, lightly."}),
    )
    .await;
    // (The patient's own first message was announced to them too.)
    let mut event = next_of(&mut patient_on_a, "message").await;
    if event["seq"] == 1 {
        event = next_of(&mut patient_on_a, "message").await;
    }
    assert_eq!(event["seq"], 2);
    assert_eq!(event["thread"], thread["id"]);
    assert_eq!(
        next_of(&mut patient_on_a, "message.new").await["type"],
        "notification"
    );

    // A visit cancelled on B: its notice (raised by whichever node's job worker runs
    // it) reaches the patient on A.
    post(
        &b.base,
        &format!("/api/v1/appointments/{visit}/cancel"),
        &clinician_token,
        json!({"reason": "The clinician is ill"}),
    )
    .await;
    assert_eq!(
        next_of(&mut patient_on_a, "visit.cancelled").await["type"],
        "notification"
    );

    // A token revoked through B: its connection on A closes at once ("signed out"),
    // not at A's next heartbeat, and A refuses the token from then on.
    let token_id = app.newest_token_id(&patient_token).await;
    let r = reqwest::Client::new()
        .delete(format!("{}/api/v1/tokens/{token_id}", b.base))
        .bearer_auth(&patient_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let ended = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match patient_on_a.next_event(left).await {
            Ok(_) => continue, // events sent before the revocation
            Err(ended) => break ended,
        }
    };
    assert_eq!(ended, telemed_testkit::live::Ended::Closed(Some(4001)));
    let r = reqwest::Client::new()
        .get(format!("{}/fhir/R4/Patient/{}", a.base, patient.id))
        .bearer_auth(&patient_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "node A no longer takes the token");
    drop((a, b));
    app.shutdown().await;
}
