//! Admit → first decoded frame, in two headless Chromium instances with fake cameras,
//! through the real server on loopback; beside the floor: the same media between two
//! RTCPeerConnections in one page, negotiated by direct calls with no server at all.
//!
//! Each round books a new video visit, opens the room on both sides (the clinician in
//! the call, the patient waiting with camera and microphone open), then clicks "Let in".
//! The time runs from that click, read in the clinician's page, to the first video frame
//! decoded (getStats `framesDecoded` > 0, polled every 2 ms in the page) on each side;
//! the round's figure is the later of the two. The floor round starts its clock with
//! both streams open, just before it creates the two connections, and stops it the
//! same way. Rounds alternate between the two so machine noise falls on both.
//!
//! `cargo bench -p telemed-testkit --bench video` (Chromium at /usr/bin/chromium or
//! TELEMED_CHROMIUM). TELEMED_BENCH_ROUNDS sets the number of rounds (default 15).

use std::time::Duration;

use chromiumoxide::Page;
use telemed_domain::{Clock as _, Role};
use telemed_testkit::browser::{
    sign_in_clinician, sign_in_patient, wait_for, wait_for_path, TestBrowser,
};
use telemed_testkit::{percentile, Backend, TestApp};

/// Wall-clock milliseconds with sub-millisecond precision, comparable across the two
/// browser processes on one machine.
const NOW: &str = "performance.timeOrigin + performance.now()";

/// Prepares a room page before admission: `window.benchConnected` gets the time its
/// peer connection reaches "connected", `window.benchFirstFrame` the time getStats first
/// counts a decoded video frame.
fn watch_room() -> String {
    format!(
        "window.benchConnected = null; window.benchFirstFrame = null;
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = function (config) {{
          const pc = new Native(config);
          pc.addEventListener('connectionstatechange', () => {{
            if (pc.connectionState === 'connected' && !window.benchConnected) {{ window.benchConnected = {NOW}; }}
          }});
          return pc;
        }};
        (function poll() {{
          window.telemedRoom.inbound().then(s => {{
            if (s.framesDecoded > 0) {{ window.benchFirstFrame = {NOW}; }} else {{ setTimeout(poll, 2); }}
          }});
        }})(); true"
    )
}

/// Two connections in one page with the room's media constraints, negotiated by
/// direct calls; resolves to `[connected, first frame]`, milliseconds from the start,
/// each the later of the two sides.
fn loopback_floor() -> String {
    format!(
        "(async () => {{
          const now = () => {NOW};
          const media = {{ audio: true, video: {{ width: 640, height: 480 }} }};
          const a = await navigator.mediaDevices.getUserMedia(media);
          const b = await navigator.mediaDevices.getUserMedia(media);
          const t0 = now();
          const pa = new RTCPeerConnection(), pb = new RTCPeerConnection();
          pa.onicecandidate = e => {{ if (e.candidate) pb.addIceCandidate(e.candidate); }};
          pb.onicecandidate = e => {{ if (e.candidate) pa.addIceCandidate(e.candidate); }};
          a.getTracks().forEach(t => pa.addTrack(t, a));
          b.getTracks().forEach(t => pb.addTrack(t, b));
          const connected = pc => new Promise(resolve => pc.addEventListener('connectionstatechange', () => {{
            if (pc.connectionState === 'connected') resolve(now());
          }}));
          const firstFrame = pc => new Promise(resolve => {{
            const poll = () => pc.getStats().then(report => {{
              let frames = 0;
              report.forEach(s => {{ if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0; }});
              if (frames > 0) resolve(now()); else setTimeout(poll, 2);
            }});
            poll();
          }});
          const ready = Promise.all([connected(pa), connected(pb)]);
          const frames = Promise.all([firstFrame(pa), firstFrame(pb)]);
          const offer = await pa.createOffer();
          await pa.setLocalDescription(offer);
          await pb.setRemoteDescription(offer);
          const answer = await pb.createAnswer();
          await pb.setLocalDescription(answer);
          await pa.setRemoteDescription(answer);
          const [ca, cb] = await ready;
          const [fa, fb] = await frames;
          pa.close(); pb.close();
          [a, b].forEach(s => s.getTracks().forEach(t => t.stop()));
          return [Math.max(ca, cb) - t0, Math.max(fa, fb) - t0];
        }})()"
    )
}

async fn number(page: &Page, script: &str) -> Option<f64> {
    page.evaluate(script)
        .await
        .ok()
        .and_then(|r| r.into_value::<Option<f64>>().ok())
        .flatten()
}

/// Waits for a number the page sets under `window.<name>`.
async fn wait_number(page: &Page, name: &str) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(t) = number(page, &format!("window.{name}")).await {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {name}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The median, least and greatest of a set of rounds.
fn summary(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), ms[0], ms[ms.len() - 1])
}

fn main() {
    let rounds: usize = std::env::var("TELEMED_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Each round moves the clock to its visit's start; sessions outlive the run.
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            c.session.absolute_lifetime_hours = 24 * 7;
            c.session.idle_timeout_minutes = 24 * 7 * 60;
        })
        .await;
        let clinician = app.create_user(Role::Clinician).await;
        let patient = app.create_user(Role::Patient).await;
        let doc_browser = TestBrowser::launch().await.expect("Chromium");
        let pat_browser = TestBrowser::launch().await.expect("Chromium");
        let floor_browser = TestBrowser::launch().await.expect("Chromium");
        let doc = doc_browser.open(&app.url("/login")).await.unwrap();
        sign_in_clinician(&app, &doc, &clinician).await;
        let pat = pat_browser.open(&app.url("/login")).await.unwrap();
        sign_in_patient(&pat, &patient).await;

        let mut ours = Vec::new();
        let mut floor = Vec::new();
        for round in 0..=rounds {
            let booked = app.book_video_visit(&clinician, &patient).await;
            let id = booked["id"].as_str().unwrap().to_owned();
            let start: chrono::DateTime<chrono::Utc> =
                booked["start"].as_str().unwrap().parse().unwrap();
            app.clock.advance(start - app.clock.now());
            let room = app.url(&format!("/visits/{id}/room"));

            doc.goto(room.as_str()).await.unwrap();
            wait_for(&doc, "#room-status[data-state='in-call']")
                .await
                .unwrap();
            pat.goto(room.as_str()).await.unwrap();
            if round == 0 {
                wait_for(&pat, "#accept-consent")
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                wait_for_path(&pat, &format!("/visits/{id}/room"))
                    .await
                    .unwrap();
            }
            wait_for(&pat, "#room-status[data-state='waiting']")
                .await
                .unwrap();
            wait_for(&doc, "#waiting-list [data-admit]").await.unwrap();
            for page in [&doc, &pat] {
                page.evaluate(watch_room()).await.unwrap();
            }
            let admitted = number(
                &doc,
                &format!(
                    "(() => {{ const t = {NOW}; document.querySelector('#waiting-list [data-admit]').click(); return t; }})()"
                ),
            )
            .await
            .expect("admit clicked");
            let mut connected = 0f64;
            let mut frame = 0f64;
            for page in [&doc, &pat] {
                connected = connected.max(wait_number(page, "benchConnected").await - admitted);
                frame = frame.max(wait_number(page, "benchFirstFrame").await - admitted);
            }
            doc.find_element("#end-call")
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait_for(&pat, "#room-status[data-state='ended']")
                .await
                .unwrap();

            let page = floor_browser.open(&app.url("/login")).await.unwrap();
            let [direct_connected, direct_frame] = page
                .evaluate(loopback_floor())
                .await
                .unwrap()
                .into_value::<[f64; 2]>()
                .unwrap();
            page.close().await.unwrap();
            // Round 0 warms both paths up and is not counted.
            if round > 0 {
                ours.push((connected, frame));
                floor.push((direct_connected, direct_frame));
            }
        }
        let ours_connected = summary(ours.iter().map(|r| r.0).collect());
        let ours_frame = summary(ours.iter().map(|r| r.1).collect());
        let floor_connected = summary(floor.iter().map(|r| r.0).collect());
        let floor_frame = summary(floor.iter().map(|r| r.1).collect());
        println!("{rounds} rounds; milliseconds, median (min–max)");
        println!("| path | to connected | to first frame on both sides | first frame vs floor |");
        println!("|---|---|---|---|");
        let row = |path: &str, c: (f64, f64, f64), f: (f64, f64, f64)| {
            println!(
                "| {path} | {:.1} ({:.1}–{:.1}) | {:.1} ({:.1}–{:.1}) | {:.2} |",
                c.0, c.1, c.2, f.0, f.1, f.2, f.0 / floor_frame.0
            )
        };
        row("admit through telemed", ours_connected, ours_frame);
        row("in-page loopback, no server", floor_connected, floor_frame);
        doc_browser.close().await;
        pat_browser.close().await;
        floor_browser.close().await;
        app.shutdown().await;
    });
}
