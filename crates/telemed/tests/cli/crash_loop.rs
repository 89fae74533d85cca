//! The crash loop: `telemed serve` started, put under mixed load (record entries,
//! messages, file uploads, audited reads, refused sign-ins), killed with SIGKILL at a
//! different moment each time, and started again. After every crash: every write that
//! was acknowledged in that cycle reads back exactly as written (an uploaded file byte
//! for byte), every answered read and every answered refusal has its audit entry, and
//! the audit chain verifies; at the end, everything acknowledged in every cycle is read
//! back again.
//!
//! `TELEMED_CRASH_CYCLES` sets the number of crashes (3 by default, as in CI); before a
//! release, run it long on both databases:
//! `TELEMED_CRASH_CYCLES=100 cargo test -p telemed --test cli -- crash_loop --nocapture`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use crate::nodes::{serve_with, Node};

/// What the clients saw acknowledged, over all cycles.
#[derive(Default, Clone)]
struct Acked {
    /// Record entries: id and text.
    entries: Vec<(String, String)>,
    /// Messages: id and body.
    messages: Vec<(String, String)>,
    /// Uploaded files: id and the seed their bytes are made from.
    files: Vec<(String, u64)>,
    /// Request ids of answered reads of the patient's record.
    reads: Vec<String>,
    /// Request ids of answered refused sign-ins (401, or 429 once locked).
    refusals: Vec<String>,
}

impl Acked {
    fn counts(&self) -> [usize; 5] {
        [
            self.entries.len(),
            self.messages.len(),
            self.files.len(),
            self.reads.len(),
            self.refusals.len(),
        ]
    }
}

/// The people and credentials the load uses.
#[derive(Clone)]
struct Cast {
    patient: String,
    patient_token: String,
    patient_email: String,
    clinician_token: String,
    thread: String,
}

#[derive(Clone, Copy)]
enum Load {
    Entry,
    Message,
    Upload,
    Read,
    RefusedSignIn,
}

/// An uploaded file's bytes: a PDF of 16 to 256 KiB that only `seed` makes.
fn file_bytes(seed: u64) -> Vec<u8> {
    let size = 16 * 1024 * (1 + (seed % 16) as usize);
    let mut bytes = format!("%PDF-1.4\n% crash loop {seed}\n").into_bytes();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while bytes.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

fn cycles() -> u32 {
    std::env::var("TELEMED_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

async fn crash_loop(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    app.book_video_visit(&clinician, &patient).await;
    let patient_token = app.token_for(&patient, None).await;
    let thread: Value = reqwest::Client::new()
        .post(app.url("/api/v1/threads"))
        .bearer_auth(&patient_token)
        .json(&json!({"subject": "Crash loop", "to": clinician.id, "body": "first"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cast = Cast {
        patient: patient.id.to_string(),
        patient_token,
        patient_email: patient.email.clone(),
        clinician_token: app.token_for(&clinician, None).await,
        thread: thread["id"].as_str().unwrap().to_owned(),
    };
    let acked = Arc::new(Mutex::new(Acked::default()));
    let started = Instant::now();
    let cycles = cycles();
    for cycle in 0..cycles {
        // Uploads as fast as the machine goes: no upload rate or quota in the way.
        let node = serve_with(
            &app,
            None,
            &[
                ("TELEMED_LIMITS_UPLOADS_PER_HOUR_PATIENT", "100000"),
                ("TELEMED_FILES_QUOTA_MB_PATIENT", "0"),
            ],
        )
        .await;
        let before = acked.lock().unwrap().counts();
        let mut load = vec![];
        for (worker, kind) in [
            Load::Entry,
            Load::Entry,
            Load::Message,
            Load::Message,
            Load::Upload,
            Load::Read,
            Load::Read,
            Load::RefusedSignIn,
        ]
        .into_iter()
        .enumerate()
        {
            let (base, cast, acked) = (node.base.clone(), cast.clone(), acked.clone());
            let tag = format!("c{cycle}w{worker}");
            load.push(tokio::spawn(work(kind, base, cast, tag, acked)));
        }
        kill_mid_load(node, &acked, before, cycle).await;
        for task in load {
            task.await.unwrap();
        }
        // What this cycle acknowledged is read back now; all of it again at the end.
        let seen = acked.lock().unwrap().clone();
        check_acknowledged(&app, &cast, &seen, before).await;
    }
    let seen = acked.lock().unwrap().clone();
    check_acknowledged(&app, &cast, &seen, [0; 5]).await;
    let [entries, messages, files, reads, refusals] = acked.lock().unwrap().counts();
    println!(
        "crash loop ({backend:?}): {cycles} kill -9 in {:.0} s; acknowledged and read back: \
         {entries} record entries, {messages} messages, {files} files; audited: {reads} \
         answered reads, {refusals} refused sign-ins",
        started.elapsed().as_secs_f64()
    );
    app.shutdown().await;
}

/// Lets the load run until every kind was acknowledged a few times in this cycle, then
/// a little longer (a different moment each cycle), and kills the server.
async fn kill_mid_load(mut node: Node, acked: &Mutex<Acked>, before: [usize; 5], cycle: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = acked.lock().unwrap().counts();
        if now.iter().zip(before).all(|(n, b)| *n >= b + 2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cycle {cycle}: the load never got going ({now:?} after {before:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let jitter = u64::from(cycle.wrapping_mul(7919) % 500);
    tokio::time::sleep(Duration::from_millis(jitter)).await;
    node.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    node.child.wait().unwrap();
}

/// One client: sends its kind of request until the server is gone, noting what was
/// acknowledged.
async fn work(kind: Load, base: String, cast: Cast, tag: String, acked: Arc<Mutex<Acked>>) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = match kind {
        Load::RefusedSignIn => match http.get(format!("{base}/login")).send().await {
            Ok(page) => crate::csrf_of(&page.text().await.unwrap_or_default()),
            Err(_) => return,
        },
        _ => String::new(),
    };
    for n in 0u64.. {
        let request_id = format!("{tag}n{n}");
        let sent = match kind {
            Load::Entry => {
                let text = format!("Crash loop problem {request_id}");
                let r = http
                    .post(format!(
                        "{base}/api/v1/patients/{}/record/problems",
                        cast.patient
                    ))
                    .bearer_auth(&cast.clinician_token)
                    .json(&json!({"code_system": "http://hl7.org/fhir/sid/icd-10",
                        "code": "L40.0", "text": text, "effective": "2019-03-01"}))
                    .send()
                    .await;
                created(r, 201).await.map(|id| {
                    acked.lock().unwrap().entries.push((id, text));
                })
            }
            Load::Message => {
                let body = format!("Crash loop message {request_id}");
                let r = http
                    .post(format!("{base}/api/v1/threads/{}/messages", cast.thread))
                    .bearer_auth(&cast.patient_token)
                    .json(&json!({"body": body}))
                    .send()
                    .await;
                created(r, 201).await.map(|id| {
                    acked.lock().unwrap().messages.push((id, body));
                })
            }
            Load::Upload => {
                let seed = tag
                    .bytes()
                    .fold(n, |h, b| h.wrapping_mul(31) ^ u64::from(b));
                let part = reqwest::multipart::Part::bytes(file_bytes(seed))
                    .file_name(format!("{request_id}.pdf"));
                let r = http
                    .post(format!("{base}/api/v1/attachments"))
                    .bearer_auth(&cast.patient_token)
                    .multipart(reqwest::multipart::Form::new().part("file", part))
                    .send()
                    .await;
                created(r, 201).await.map(|id| {
                    acked.lock().unwrap().files.push((id, seed));
                })
            }
            Load::Read => {
                let r = http
                    .get(format!("{base}/api/v1/patients/{}/record", cast.patient))
                    .bearer_auth(&cast.patient_token)
                    .header("x-request-id", &request_id)
                    .send()
                    .await;
                answered(r, &[200]).map(|_| acked.lock().unwrap().reads.push(request_id))
            }
            Load::RefusedSignIn => {
                let form = [
                    ("email", cast.patient_email.as_str()),
                    ("password", "not the password 1"),
                    ("csrf", csrf.as_str()),
                ];
                let r = http
                    .post(format!("{base}/login"))
                    .header("x-request-id", &request_id)
                    .form(&form)
                    .send()
                    .await;
                answered(r, &[401, 429]).map(|_| acked.lock().unwrap().refusals.push(request_id))
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

/// `Ok(true)` for an answer with one of `statuses`; an error once the server is gone. A
/// request cut by the kill was not acknowledged.
fn answered(r: reqwest::Result<reqwest::Response>, statuses: &[u16]) -> Result<bool, ()> {
    match r {
        Ok(r) if statuses.contains(&r.status().as_u16()) => Ok(true),
        Ok(r) if r.status().is_server_error() => Err(()),
        Ok(r) => panic!("unexpected answer {} from {}", r.status(), r.url()),
        Err(_) => Err(()),
    }
}

/// The id of what a request created (its answer had `status` and a body).
async fn created(r: reqwest::Result<reqwest::Response>, status: u16) -> Result<String, ()> {
    let r = r.map_err(|_| ())?;
    if r.status().is_server_error() {
        return Err(());
    }
    assert_eq!(r.status().as_u16(), status, "{}", r.url());
    let body: Value = r.json().await.map_err(|_| ())?;
    Ok(body["id"].as_str().expect("an id").to_owned())
}

/// What was acknowledged (from the counts `from` on) is there as written, and
/// audited; the audit chain is whole.
async fn check_acknowledged(app: &TestApp, cast: &Cast, acked: &Acked, from: [usize; 5]) {
    let pool = app.state().store.pool();
    for (id, text) in &acked.entries[from[0]..] {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT text FROM chart_entries WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .unwrap();
        assert_eq!(stored.as_ref(), Some(text), "record entry {id}");
    }
    for (id, body) in &acked.messages[from[1]..] {
        let stored: Option<String> = sqlx::query_scalar("SELECT body FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .unwrap();
        assert_eq!(stored.as_ref(), Some(body), "message {id}");
    }
    let http = reqwest::Client::new();
    for (id, seed) in &acked.files[from[2]..] {
        let r = http
            .get(app.url(&format!("/api/v1/attachments/{id}")))
            .bearer_auth(&cast.patient_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "file {id}");
        assert!(
            r.bytes().await.unwrap() == file_bytes(*seed),
            "file {id} reads back other bytes"
        );
    }
    let audited: HashSet<String> =
        sqlx::query_scalar("SELECT request_id FROM audit_log WHERE request_id IS NOT NULL")
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    for id in acked.reads[from[3]..]
        .iter()
        .chain(&acked.refusals[from[4]..])
    {
        assert!(
            audited.contains(id),
            "request {id} was answered, never audited"
        );
    }
    let chain = app.state().store.verify_audit_chain().await.unwrap();
    assert!(chain.first_break.is_none(), "{:?}", chain.first_break);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_sqlite() {
    crash_loop(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_pg),
    ignore = "PostgreSQL not configured: set TELEMED_TEST_DATABASE_URL to run"
)]
async fn crash_loop_postgres() {
    crash_loop(Backend::Postgres).await;
}
