//! A video visit between two headless Chromium instances with fake cameras and
//! microphones, through the real server: the patient accepts the consent and waits,
//! the clinician admits them, both sides decode the other's video and audio, a chat
//! line crosses, and ending the call records the encounter. Then the same call forced
//! through a coturn relay started here, which proves the TURN credential scheme.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use telemed_domain::{AppointmentId, Role};
use telemed_testkit::browser::{
    fill, sign_in_clinician, sign_in_patient, text_of, wait_for, wait_for_path, TestBrowser,
};
use telemed_testkit::{Backend, TestApp};

/// A coturn on loopback with `use-auth-secret`, killed when dropped. It listens on UDP
/// only (a TCP listener could find its port taken by one of the suite's servers) and
/// is ready when it answers a STUN binding request; its log is kept for failures.
struct Coturn {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Coturn {
    fn start(secret: &str) -> Coturn {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .unwrap();
        let log = std::env::temp_dir().join(format!("telemed-coturn-{}.log", uuid::Uuid::new_v4()));
        let child = Command::new("/usr/bin/turnserver")
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
                "--realm=telemed.test",
                "--allow-loopback-peers",
                "--no-tcp",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--no-tcp-relay",
                "--min-port=49200",
                "--max-port=49400",
                "--simple-log",
                &format!("--log-file={}", log.display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("coturn is not installed: apt-get install coturn");
        let mut coturn = Coturn { child, port, log };
        coturn.wait_until_it_answers();
        coturn
    }

    /// Sends STUN binding requests until one is answered (RFC 8489 section 6).
    fn wait_until_it_answers(&mut self) {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(b"telemed-test");
        for _ in 0..50 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("coturn exited ({status}): {}", self.log_tail());
            }
            let _ = socket.send_to(&request, ("127.0.0.1", self.port));
            let mut answer = [0u8; 512];
            if let Ok(n) = socket.recv(&mut answer) {
                if n >= 20 && answer[..2] == [0x01, 0x01] && answer[8..20] == request[8..20] {
                    return;
                }
            }
        }
        panic!("coturn did not answer STUN in 10 s: {}", self.log_tail());
    }

    /// The end of coturn's log, for a failure message.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

async fn json_of(page: &chromiumoxide::Page, script: &str) -> serde_json::Value {
    page.evaluate(script)
        .await
        .ok()
        .and_then(|r| r.into_value::<serde_json::Value>().ok())
        .unwrap_or_default()
}

/// Sums of what a room page receives, from its getStats.
async fn inbound(page: &chromiumoxide::Page) -> serde_json::Value {
    json_of(page, "window.telemedRoom.inbound()").await
}

/// Waits until `check` holds for what `script` returns in the page.
async fn wait_until(
    page: &chromiumoxide::Page,
    script: &str,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = json_of(page, script).await;
        if check(&got) {
            return got;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {got}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A network change: the patient's tab restarts ICE, then loses its live connection
/// altogether. Each time the call comes back with media flowing, and the patient is
/// never sent back to the waiting room.
async fn the_call_survives_network_changes(doc: &chromiumoxide::Page, pat: &chromiumoxide::Page) {
    let before = json_of(pat, "window.telemedRoom.connections()").await;
    let old_ufrag = before[0]["ufrag"]
        .as_str()
        .expect("a connection")
        .to_owned();
    pat.evaluate("window.telemedRoom.restartIce()")
        .await
        .unwrap();
    wait_until(
        pat,
        "window.telemedRoom.connections()",
        "ICE restart",
        |c| c[0]["ufrag"].as_str().is_some_and(|u| u != old_ufrag) && c[0]["state"] == "connected",
    )
    .await;
    let frames = inbound(doc).await["framesDecoded"].as_u64().unwrap();
    wait_until(
        doc,
        "window.telemedRoom.inbound()",
        "frames after the restart",
        |s| s["framesDecoded"].as_u64().unwrap_or(0) > frames,
    )
    .await;

    // The live connection drops; the tab reconnects, joins as a new peer and is back
    // in the call without being admitted again.
    let old_peer = json_of(pat, "window.telemedRoom.me.peer").await;
    pat.evaluate("window.telemedLive.close()").await.unwrap();
    let new_peer = wait_until(pat, "window.telemedRoom.me", "rejoined", |me| {
        me["peer"] != old_peer && me["admitted"] == true
    })
    .await["peer"]
        .clone();
    wait_for(pat, "#room-status[data-state='in-call']")
        .await
        .unwrap();
    wait_until(
        doc,
        "window.telemedRoom.connections()",
        "the clinician connects to the rejoined tab",
        |c| {
            c.as_array().is_some_and(|c| c.len() == 1)
                && c[0]["peer"] == new_peer
                && c[0]["state"] == "connected"
        },
    )
    .await;
    wait_for_media(doc, "clinician after the reconnect", None).await;
    wait_for_media(pat, "patient after the reconnect", None).await;
}

/// Waits until the page decodes video frames and receives audio; on failure says what
/// the page's connections and the relay (when there is one) were doing.
async fn wait_for_media(
    page: &chromiumoxide::Page,
    who: &str,
    relay: Option<&Coturn>,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = inbound(page).await;
        if got["framesDecoded"].as_u64().unwrap_or(0) > 0
            && got["audioBytes"].as_u64().unwrap_or(0) > 0
        {
            return got;
        }
        if tokio::time::Instant::now() >= deadline {
            let connections = json_of(page, "window.telemedRoom.connections()").await;
            let relay_log = relay.map(Coturn::log_tail).unwrap_or_default();
            panic!("{who} received no media: {got}\nconnections: {connections}\n{relay_log}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// On a phone in a call: the clinician's video is first and large, the patient's own
/// picture small over it, and the mute, camera and leave buttons on screen without
/// scrolling, even scrolled down to the chat.
async fn a_phone_shows_the_other_person_first(pat: &chromiumoxide::Page) {
    let layout = |scrolled: bool| {
        format!(
            "(() => {{ if ({scrolled}) window.scrollTo(0, document.body.scrollHeight);
              const box = s => document.querySelector(s).getBoundingClientRect();
              const me = box('#videos .tile.me'), them = box('#videos .tile:not(.me)');
              const inView = s => {{ const b = box(s); return b.top >= 0 && b.bottom <= innerHeight && b.width > 0; }};
              return {{ width: innerWidth, me: me.width, them: them.width, themTop: them.top, meTop: me.top,
                bar: document.querySelector('header.top').getBoundingClientRect().height, height: innerHeight,
                controls: inView('#toggle-mic') && inView('#toggle-camera') && inView('#leave-call') }}; }})()"
        )
    };
    for scrolled in [false, true] {
        let seen = json_of(pat, &layout(scrolled)).await;
        assert!(seen["width"].as_f64().unwrap() < 500.0, "a phone: {seen}");
        assert!(
            seen["them"].as_f64().unwrap() > 2.5 * seen["me"].as_f64().unwrap(),
            "the other person large, oneself small: {seen}"
        );
        assert!(
            seen["themTop"].as_f64().unwrap() <= seen["meTop"].as_f64().unwrap(),
            "the other person first: {seen}"
        );
        assert_eq!(seen["controls"], true, "controls in reach: {seen}");
        assert!(
            seen["bar"].as_f64().unwrap() < 0.1 * seen["height"].as_f64().unwrap(),
            "the top bar is one row: {seen}"
        );
    }
    pat.evaluate("window.scrollTo(0, 0)").await.unwrap();
    telemed_testkit::browser::look(pat, "30-phone-call").await;
}

async fn a_call(relay: bool) {
    let secret = "loopback-turn-secret";
    let coturn = relay.then(|| Coturn::start(secret));
    let turn_port = coturn.as_ref().map(|c| c.port);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        if let Some(port) = turn_port {
            c.video.turn_urls = vec![format!("turn:127.0.0.1:{port}?transport=udp")];
            c.video.turn_secret = Some(secret.into());
            c.video.ice_transport_policy = "relay".into();
        }
    })
    .await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let booked = app.book_video_visit(&clinician, &patient).await;
    let id = booked["id"].as_str().unwrap().to_owned();
    let start: chrono::DateTime<chrono::Utc> = booked["start"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(start - telemed_domain::Clock::now(&app.clock));
    let room = app.url(&format!("/visits/{id}/room"));

    // The clinician opens the room and is in the call at once.
    let doc_browser = TestBrowser::launch().await.expect("Chromium");
    let doc = doc_browser.open(&app.url("/login")).await.unwrap();
    sign_in_clinician(&app, &doc, &clinician).await;
    doc.goto(room.as_str()).await.unwrap();
    wait_for(&doc, "#room-status[data-state='in-call']")
        .await
        .unwrap();
    assert!(
        text_of(&doc, "#chart-summary")
            .await
            .unwrap()
            .contains("Check-up"),
        "chart summary beside the video"
    );

    // The patient, on a phone, accepts the telehealth consent on the way in, then waits.
    let pat_browser = TestBrowser::launch_phone().await.expect("Chromium");
    let pat = pat_browser.open(&app.url("/login")).await.unwrap();
    sign_in_patient(&pat, &patient).await;
    pat.goto(room.as_str()).await.unwrap();
    wait_for_path(&pat, &format!("/visits/{id}/consent"))
        .await
        .unwrap();
    wait_for(&pat, "#accept-consent")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&pat, &format!("/visits/{id}/room"))
        .await
        .unwrap();
    wait_for(&pat, "#room-status[data-state='waiting']")
        .await
        .unwrap();

    // Admitted from the clinician's waiting list.
    wait_for(&doc, "#waiting-list [data-admit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&pat, "#room-status[data-state='in-call']")
        .await
        .unwrap();

    // Each side decodes the other's video and hears their audio.
    let at_doc = wait_for_media(&doc, "clinician", coturn.as_ref()).await;
    let at_pat = wait_for_media(&pat, "patient", coturn.as_ref()).await;
    a_phone_shows_the_other_person_first(&pat).await;
    if relay {
        assert_eq!(at_doc["relayed"], true, "{at_doc}");
        assert_eq!(at_pat["relayed"], true, "{at_pat}");
    } else {
        the_call_survives_network_changes(&doc, &pat).await;
    }

    // A chat line crosses, as text.
    // (On the phone the chat is below the call: scrolled to, clear of the controls.)
    pat.evaluate("document.getElementById('chat-form').scrollIntoView({block: 'center'})")
        .await
        .unwrap();
    fill(&pat, "#chat-input", "Can you see the <b>rash</b>?")
        .await
        .unwrap();
    pat.find_element("#chat-form button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&doc, "#chat-lines li[data-seq='1']")
        .await
        .unwrap();
    let line = text_of(&doc, "#chat-lines li[data-seq='1']").await.unwrap();
    assert!(line.contains("<b>rash</b>"), "{line}");

    // Quality reports, then the clinician ends the visit.
    for page in [&doc, &pat] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while page
            .evaluate("document.getElementById('quality').getAttribute('data-grade')")
            .await
            .ok()
            .and_then(|r| r.into_value::<String>().ok())
            .unwrap_or_default()
            .is_empty()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no quality indicator"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        page.evaluate("window.telemedRoom.reportQuality()")
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    doc.find_element("#end-call")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&pat, "#room-status[data-state='ended']")
        .await
        .unwrap();
    wait_for(&doc, "#room-status[data-state='ended']")
        .await
        .unwrap();

    let visit: AppointmentId = id.parse().unwrap();
    let store = &app.state().store;
    let encounter = store.encounter(visit).await.unwrap().unwrap();
    assert!(encounter.ended_at.is_some());
    let quality = encounter.quality.expect("a quality summary");
    assert_eq!(quality.relayed, relay);
    assert_eq!(
        store
            .appointment(&telemed_testkit::every_visit(), visit)
            .await
            .unwrap()
            .unwrap()
            .status,
        telemed_store::scheduling::AppointmentStatus::Fulfilled
    );
    doc.goto(app.url(&format!("/visits/{id}/record")))
        .await
        .unwrap();
    let attendance = text_of(&doc, "#attendance").await.unwrap();
    // The header, then one line for each time someone was in the room: the patient
    // twice when their connection dropped and came back.
    let spans = if relay { 2 } else { 3 };
    assert_eq!(attendance.trim().lines().count(), 1 + spans, "{attendance}");
    assert!(
        attendance.contains("\tpatient\t") && attendance.contains("\tclinician\t"),
        "{attendance}"
    );
    app.flush_audit().await;
    let admissions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE resource_id = $1 AND action = 'visit.admit'",
    )
    .bind(&id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(admissions, 1, "admitted once, whatever the network did");
    doc_browser.close().await;
    pat_browser.close().await;
    app.shutdown().await;
    drop(coturn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn patient_and_clinician_see_and_hear_each_other() {
    a_call(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_turn),
    ignore = "coturn not found at /usr/bin/turnserver: apt-get install coturn (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn the_same_call_through_a_turn_relay() {
    a_call(true).await;
}
