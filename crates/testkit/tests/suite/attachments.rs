//! Files sent with messages, and the encrypted store under them: what is stored is
//! ciphertext, tampering is caught, only thread members open a file, bad files are
//! refused with nothing stored, the master key rotates.

use serde_json::{json, Value};
use telemed_domain::{BlobId, Role};
use telemed_testkit::{Backend, TestApp, TestUser};

use super::messaging::{count, give_a_visit, Api};

/// Marker text that must never appear in a stored object.
const MARKER: &[u8] = b"PATIENT-RASH-PHOTO-PLAINTEXT-MARKER";

/// A real 1x1 PNG followed by marker bytes (browsers ignore data after IEND).
fn png() -> Vec<u8> {
    use base64::Engine as _;
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
        .unwrap();
    for _ in 0..50 {
        bytes.extend_from_slice(MARKER);
    }
    bytes
}

pub(crate) fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n% lab report\n".to_vec();
    bytes.extend_from_slice(MARKER);
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

impl Api<'_> {
    /// Uploads a file as `token`; returns the status and the answer.
    pub(crate) async fn upload(
        &self,
        token: &str,
        name: &str,
        claimed_type: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(claimed_type)
            .unwrap();
        let r = self
            .http
            .post(self.app.url("/api/v1/attachments"))
            .bearer_auth(token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn download(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

fn blob_id(v: &Value) -> BlobId {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// How many objects the local file store holds.
pub(crate) fn stored_objects(app: &TestApp) -> usize {
    let dir = app.state().config.files.local_dir.clone().unwrap();
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            walk(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&dir)
}

struct People {
    clinician: TestUser,
    patient: TestUser,
    c: String,
    p: String,
    stranger: String,
    other_clinician: String,
}

async fn people(app: &TestApp) -> People {
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let stranger = app.create_user(Role::Patient).await;
    let other = app.create_user(Role::Clinician).await;
    give_a_visit(app, &clinician, &patient).await;
    People {
        c: app.token_for(&clinician, None).await,
        p: app.token_for(&patient, None).await,
        stranger: app.token_for(&stranger, None).await,
        other_clinician: app.token_for(&other, None).await,
        clinician,
        patient,
    }
}

async fn files_reach_thread_members_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = people(&app).await;
    let thread = api
        .open_thread(&who.p, &who.clinician, "My rash", "A photo follows.")
        .await;

    // The client's name and type are not trusted: the content is a PNG.
    let (status, up) = api
        .upload(&who.p, "C:\\photos\\rash <1>.png", "text/html", png())
        .await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(up["media_type"], "image/png");
    assert_eq!(up["file_name"], "rash <1>.png");
    let photo = blob_id(&up);

    // At rest there is only ciphertext.
    let raw = app.state().blobs.raw_object(photo).await.unwrap();
    assert!(raw.starts_with(b"TMB1"));
    assert!(!raw.windows(MARKER.len()).any(|w| w == MARKER));
    assert!(
        !raw.windows(4).any(|w| w == b"IHDR"),
        "not even the PNG header"
    );

    // An unsent upload is its owner's alone.
    let own_url = format!("/api/v1/attachments/{photo}");
    assert_eq!(api.download(&who.p, &own_url).await.status(), 200);
    assert_eq!(api.download(&who.c, &own_url).await.status(), 404);
    // Nobody else can send it.
    let before = count(&app, "messages").await;
    let (status, _) = api
        .call(
            "POST",
            &thread,
            &who.c,
            Some(json!({"body": "mine now", "attachments": [photo]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(count(&app, "messages").await, before, "nothing stored");

    // Sent by its owner: files alone, no text needed.
    let (status, sent) = api
        .call(
            "POST",
            &thread,
            &who.p,
            Some(json!({"attachments": [photo]})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["attachments"][0]["id"], photo.to_string());
    // A file goes with one message only.
    let (status, _) = api
        .call(
            "POST",
            &thread,
            &who.p,
            Some(json!({"body": "again", "attachments": [photo]})),
        )
        .await;
    assert_eq!(status, 400);

    // The clinician sees it in the thread and opens it: the same bytes, served inert.
    let (_, list) = api.call("GET", &thread, &who.c, None).await;
    let files = &list.as_array().unwrap().last().unwrap()["attachments"];
    assert_eq!(files[0]["media_type"], "image/png");
    let url = files[0]["url"].as_str().unwrap();
    let r = api.download(&who.c, url).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), png());
    let r = api.download(&who.c, &format!("{url}?download=true")).await;
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));

    // Outsiders learn nothing, not even that it exists.
    for token in [&who.stranger, &who.other_clinician] {
        let r = api.download(token, url).await;
        assert_eq!(r.status(), 404);
    }
    let r = api
        .download(&who.c, &format!("/api/v1/attachments/{}", BlobId::new()))
        .await;
    assert_eq!(r.status(), 404);

    // Opening a file with a patient is audited as a read of their data.
    app.state().audit.flush().await.unwrap();
    let reads: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'attachment.read' AND patient_id = $1",
    )
    .bind(who.patient.id.to_string())
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert!(reads >= 2, "{reads}");
    app.shutdown().await;
}

async fn bad_files_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.files.max_attachment_bytes = 64 * 1024).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = people(&app).await;
    let thread = api
        .open_thread(&who.p, &who.clinician, "Results", "Files follow.")
        .await;
    let (blobs, messages) = (count(&app, "blobs").await, count(&app, "messages").await);

    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.extend(vec![0u8; 100]);
    let mut huge = png();
    huge.extend(vec![7u8; 70 * 1024]);
    let mut dicom = vec![0u8; 128];
    dicom.extend_from_slice(b"DICM");
    for (name, claimed, bytes, expected) in [
        ("photo.png", "image/png", html, 415),
        ("report.pdf", "application/pdf", exe, 415),
        ("ct.dcm", "application/dicom", dicom, 415),
        ("big.png", "image/png", huge.clone(), 413),
        ("empty.png", "image/png", Vec::new(), 400),
    ] {
        let (status, body) = api.upload(&who.p, name, claimed, bytes).await;
        assert_eq!(status, expected, "{name}: {body}");
        assert!(
            body["error"]["message"].is_string(),
            "{name}: a clear error: {body}"
        );
    }
    // No `file` field.
    let r = api
        .http
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&who.p)
        .multipart(reqwest::multipart::Form::new().text("note", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Too many files for one message.
    let mut six = Vec::new();
    for i in 0..6 {
        let (status, up) = api
            .upload(&who.p, &format!("{i}.pdf"), "application/pdf", pdf())
            .await;
        assert_eq!(status, 201);
        six.push(blob_id(&up));
    }
    let uploaded = count(&app, "blobs").await;
    let (status, _) = api
        .call(
            "POST",
            &thread,
            &who.p,
            Some(json!({"body": "all", "attachments": six})),
        )
        .await;
    assert_eq!(status, 400);
    // Unknown and malformed ids.
    let (status, _) = api
        .call(
            "POST",
            &thread,
            &who.p,
            Some(json!({"attachments": [BlobId::new()]})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = api
        .call(
            "POST",
            &thread,
            &who.p,
            Some(json!({"attachments": ["../etc/passwd"]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(count(&app, "messages").await, messages);
    assert_eq!(count(&app, "message_attachments").await, 0);
    assert_eq!(uploaded, blobs + 6, "only the six good uploads were stored");
    assert_eq!(stored_objects(&app), 6);

    // The web form refuses the same way, keeping the draft, storing nothing.
    let web = app.signed_in_web(&who.patient).await;
    let thread_id = thread.split('/').nth(4).unwrap();
    let r = web
        .post_multipart(
            &format!("/messages/{thread_id}"),
            &[("body", "my draft text"), ("client_id", "web-1")],
            &[("files", "photo.png", b"<svg onload=alert(1)>".to_vec())],
        )
        .await;
    assert_eq!(r.status(), 415, "the status the API answers");
    let page = r.text().await.unwrap();
    assert!(page.contains("PNG, JPEG, GIF, WebP"), "{page}");
    assert!(page.contains("my draft text"));
    let r = web
        .post_multipart(
            &format!("/messages/{thread_id}"),
            &[("body", "big one")],
            &[("files", "big.png", huge)],
        )
        .await;
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("too large"));
    assert_eq!(count(&app, "messages").await, messages);
    assert_eq!(count(&app, "blobs").await, uploaded);
    assert_eq!(stored_objects(&app), 6);
    app.shutdown().await;
}

async fn the_web_form_sends_files_and_shows_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let who = people(&app).await;
    let patient = app.signed_in_web(&who.patient).await;
    let r = patient
        .post_multipart(
            "/messages/new",
            &[
                ("to", &who.clinician.id.to_string()),
                ("subject", "Before my visit"),
                ("body", "A photo and my last report."),
            ],
            &[
                ("files", "rash.png", png()),
                ("files", "<script>report.pdf", pdf()),
                // An input left empty sends an empty part: ignored.
                ("files", "", Vec::new()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/messages/"));

    let clinician = app.signed_in_web(&who.clinician).await;
    // The clinician's inbox says whom the thread is about; the patient's, who wrote
    // first themselves, needs no name.
    let inbox = clinician.get("/messages").await.text().await.unwrap();
    assert!(
        inbox.contains("<span class=\"thread-with\">· Test patient</span>"),
        "{inbox}"
    );
    let own = patient.get("/messages").await.text().await.unwrap();
    assert!(
        own.contains("Before my visit") && !own.contains("thread-with"),
        "{own}"
    );
    let page = clinician.get(&location).await.text().await.unwrap();
    assert!(
        page.contains("class=\"attachment-preview\" src=\"/messages/files/"),
        "{page}"
    );
    assert!(
        page.contains("&#60;script&#62;report.pdf"),
        "the name shows as text"
    );
    assert!(!page.contains("<script>report"));
    let start = page.find("/messages/files/").unwrap() + "/messages/files/".len();
    let id = &page[start..start + 36];
    let r = clinician.get(&format!("/messages/files/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), png());

    // A patient outside the thread gets nothing.
    let other = app.create_user(Role::Patient).await;
    let stranger = app.signed_in_web(&other).await;
    assert_eq!(
        stranger
            .get(&format!("/messages/files/{id}"))
            .await
            .status(),
        404
    );

    // A reply with a file from the clinician's side.
    let r = clinician
        .post_multipart(
            &location,
            &[("body", "Thanks, see the leaflet.")],
            &[("files", "leaflet.pdf", pdf())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = patient.get(&location).await.text().await.unwrap();
    assert!(page.contains("leaflet.pdf"));
    app.shutdown().await;
}

async fn tampered_files_fail_their_integrity_check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = people(&app).await;
    let (_, a) = api.upload(&who.p, "a.png", "image/png", png()).await;
    let (_, b) = api.upload(&who.p, "b.pdf", "application/pdf", pdf()).await;
    let (a, b) = (blob_id(&a), blob_id(&b));
    let blobs = &app.state().blobs;
    let store = &app.state().store;
    let integrity = |e: telemed_domain::Error| {
        assert!(
            e.to_string().contains("internal") && format!("{e:?}").contains("integrity"),
            "{e:?}"
        );
    };

    // One flipped bit anywhere in the object.
    let original = blobs.raw_object(a).await.unwrap();
    for at in [4, 10, original.len() / 2, original.len() - 1] {
        let mut bad = original.clone();
        bad[at] ^= 0x01;
        blobs.replace_raw_object(a, bad).await.unwrap();
        integrity(blobs.read(store, a).await.unwrap_err());
    }
    let r = api
        .download(&who.p, &format!("/api/v1/attachments/{a}"))
        .await;
    assert_eq!(r.status(), 500, "an error, never altered bytes");

    // Another file's object put in its place (valid ciphertext, wrong id).
    blobs
        .replace_raw_object(a, blobs.raw_object(b).await.unwrap())
        .await
        .unwrap();
    integrity(blobs.read(store, a).await.unwrap_err());

    // Restored, it reads again; an altered wrapped key does not.
    blobs.replace_raw_object(a, original).await.unwrap();
    assert_eq!(blobs.read(store, a).await.unwrap().1, png());
    sqlx::query("UPDATE blobs SET wrapped_key = (SELECT wrapped_key FROM blobs WHERE id = $1) WHERE id = $2")
        .bind(b.to_string())
        .bind(a.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    integrity(blobs.read(store, a).await.unwrap_err());
    app.shutdown().await;
}

async fn the_master_key_rotates_and_a_missing_key_stops_the_start(backend: Backend) {
    use std::os::unix::fs::PermissionsExt as _;
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = people(&app).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, up) = api
            .upload(&who.p, &format!("{i}.png"), "image/png", png())
            .await;
        ids.push(blob_id(&up));
    }
    let config = app.state().config.clone();
    let key_file = config.files.master_key_file.clone().unwrap();
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let location = telemed_server::files::location(&config).unwrap();
    // A second factor's seed, sealed under the same master key.
    let purpose = telemed_store::blobs::totp_purpose(&who.patient.id.to_string());
    let seed_of = || async {
        sqlx::query_scalar::<_, String>("SELECT totp_secret FROM users WHERE id = $1")
            .bind(who.patient.id.to_string())
            .fetch_one(app.state().store.pool())
            .await
            .unwrap()
    };
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
        .bind(who.patient.id.to_string())
        .bind(
            app.state()
                .blobs
                .seal_secret(&purpose, "JBSWY3DPEHPK3PXP")
                .unwrap(),
        )
        .execute(app.state().store.pool())
        .await
        .unwrap();

    let done = telemed_store::blobs::rotate_key_file(&app.state().store, &location, &key_file)
        .await
        .unwrap();
    assert_eq!((done.rewrapped, done.secrets_resealed), (3, 1));
    assert_ne!(done.old_key_id, done.new_key_id);
    assert!(seed_of()
        .await
        .starts_with(&format!("sealed:v1:{}:", done.new_key_id)));
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key, new_key);
    let retired = key_file.with_file_name(format!("master.key.retired-{}", done.old_key_id));
    assert_eq!(std::fs::read_to_string(&retired).unwrap(), old_key);
    assert_eq!(
        std::fs::metadata(&retired).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let key_ids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT key_id FROM blobs")
        .fetch_all(app.state().store.pool())
        .await
        .unwrap();
    assert_eq!(key_ids, vec![done.new_key_id.clone()]);
    // Running it again is harmless.
    let again = telemed_store::blobs::rotate_key_file(&app.state().store, &location, &key_file)
        .await
        .unwrap();
    assert_eq!(
        again.rewrapped, 3,
        "a second rotation re-wraps under a third key"
    );

    // A node started now reads every file without the retired keys.
    for entry in std::fs::read_dir(key_file.parent().unwrap())
        .unwrap()
        .flatten()
    {
        if entry.file_name().to_string_lossy().contains(".retired-") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let node = app.spawn_beside(|_| {}).await;
    assert_eq!(
        node.state()
            .blobs
            .open_secret(&purpose, &seed_of().await)
            .unwrap(),
        "JBSWY3DPEHPK3PXP"
    );
    for id in &ids {
        assert_eq!(
            node.state()
                .blobs
                .read(&node.state().store, *id)
                .await
                .unwrap()
                .1,
            png()
        );
    }
    node.shutdown().await;

    // A lost key file: the next start refuses instead of minting a key that reads nothing.
    std::fs::rename(&key_file, key_file.with_extension("lost")).unwrap();
    let err = app
        .try_spawn_beside(|_| {})
        .await
        .err()
        .expect("must not start");
    assert!(
        format!("{err:#}").contains("restore the key file"),
        "{err:#}"
    );
    std::fs::rename(key_file.with_extension("lost"), &key_file).unwrap();
    // A key file others can read is refused.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = app
        .try_spawn_beside(|_| {})
        .await
        .err()
        .expect("must not start");
    assert!(format!("{err:#}").contains("chmod 600"), "{err:#}");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    app.shutdown().await;
}

/// An object written without its row (a node died between the two) is removed by the
/// sweep once it is older than the grace period; referenced files and fresh uploads stay.
async fn unreferenced_objects_are_swept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = people(&app).await;
    let (_, sent) = api.upload(&who.p, "a.png", "image/png", png()).await;
    let kept = blob_id(&sent);
    let blobs = &app.state().blobs;
    let store = &app.state().store;
    let now = telemed_domain::Clock::now(&app.clock);
    let media = telemed_domain::MediaType::sniff(&pdf()).unwrap();
    let orphan = blobs
        .seal(media, "lost.pdf", who.patient.id, &pdf(), now)
        .await
        .unwrap()
        .blob
        .id;
    // Within the grace period nothing goes, not even the orphan.
    let grace = telemed_server::files::ORPHAN_GRACE;
    assert_eq!(blobs.sweep_orphans(store, now - grace).await.unwrap(), 0);
    assert!(blobs.raw_object(orphan).await.is_ok());
    // Later, only the orphan goes.
    app.clock.advance(grace + chrono::Duration::minutes(5));
    let later = telemed_domain::Clock::now(&app.clock);
    assert_eq!(blobs.sweep_orphans(store, later - grace).await.unwrap(), 1);
    assert!(blobs.raw_object(orphan).await.is_err());
    assert_eq!(blobs.read(store, kept).await.unwrap().1, png());
    assert_eq!(blobs.sweep_orphans(store, later - grace).await.unwrap(), 0);
    app.shutdown().await;
}

on_both_databases!(
    unreferenced_objects_are_swept,
    files_reach_thread_members_only,
    bad_files_are_refused_and_nothing_is_stored,
    the_web_form_sends_files_and_shows_them,
    tampered_files_fail_their_integrity_check,
    the_master_key_rotates_and_a_missing_key_stops_the_start,
);
