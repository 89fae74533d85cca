//! What one person may store and how fast: a quota per role (413 saying how much is
//! used), an upload rate (429 with Retry-After), uploads nobody sent expire, and admins
//! see who stores what. A refused upload stores nothing.

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use super::attachments::{pdf, stored_objects};
use super::documents::file;
use super::messaging::{count, give_a_visit, Api};

/// A PDF of about `kib` KiB.
fn pdf_of(kib: usize) -> Vec<u8> {
    let mut bytes = pdf();
    bytes.truncate(bytes.len() - 7);
    bytes.extend(std::iter::repeat_n(b'%', kib * 1024));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

async fn a_full_quota_refuses_with_413_and_stores_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.files.quota_mb_patient = 1;
        c.files.quota_mb_staff = 2;
    })
    .await;
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
    for _ in 0..2 {
        let (status, body) = api
            .upload(&p, "scan.pdf", "application/pdf", pdf_of(400))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (blobs, objects) = (count(&app, "blobs").await, stored_objects(&app));
    let (status, body) = api
        .upload(&p, "scan.pdf", "application/pdf", pdf_of(400))
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 MB you may store") && message.contains("take 1 MB"),
        "says how much is used of how much: {message}"
    );
    // The same through a message sent with files on the web form.
    let web = app.signed_in_web(&patient).await;
    let page = web
        .post_multipart(
            "/messages/new",
            &[
                ("to", &clinician.id.to_string()),
                ("subject", "Results"),
                ("body", "Here it is"),
            ],
            &[("files", "scan.pdf", pdf_of(400))],
        )
        .await;
    assert_eq!(page.status(), 413);
    let html = page.text().await.unwrap();
    assert!(html.contains("does not fit"), "shown on the form: {html}");
    assert_eq!(count(&app, "blobs").await, blobs, "nothing stored");
    assert_eq!(stored_objects(&app), objects, "no object written");

    // A clinician's own quota is apart from the patient's: a document in the record fits
    // in theirs, and one past it is refused the same way.
    let (status, body) = api
        .file_document(&c, patient.id, file("ct.pdf", pdf_of(1500)))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .file_document(&c, patient.id, file("ct.pdf", pdf_of(700)))
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded");
    app.shutdown().await;
}

async fn uploads_are_rate_limited_per_person(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.limits.uploads_per_hour_patient = 3).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let patient = app.create_user(Role::Patient).await;
    let other = app.create_user(Role::Patient).await;
    let (p, o) = (
        app.token_for(&patient, None).await,
        app.token_for(&other, None).await,
    );
    for _ in 0..3 {
        let (status, body) = api.upload(&p, "a.pdf", "application/pdf", pdf()).await;
        assert_eq!(status, 201, "{body}");
    }
    let blobs = count(&app, "blobs").await;
    let r = api
        .http
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&p)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(pdf()).file_name("a.pdf"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert_eq!(count(&app, "blobs").await, blobs, "nothing stored");
    // Another person's uploads are counted apart.
    let (status, body) = api.upload(&o, "b.pdf", "application/pdf", pdf()).await;
    assert_eq!(status, 201, "{body}");
    app.shutdown().await;
}

async fn unsent_uploads_expire_and_sent_files_stay(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.files.unsent_upload_hours = 2).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    give_a_visit(&app, &clinician, &patient).await;
    let p = app.token_for(&patient, None).await;
    let thread = api
        .open_thread(&p, &clinician, "Results", "Files follow.")
        .await;
    let (_, kept) = api.upload(&p, "sent.pdf", "application/pdf", pdf()).await;
    let (_, forgotten) = api
        .upload(&p, "forgotten.pdf", "application/pdf", pdf())
        .await;
    let (status, sent) = api
        .call(
            "POST",
            &thread,
            &p,
            Some(json!({"body": "The report", "attachments": [kept["id"]]})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let objects = stored_objects(&app);

    // Not yet: nothing goes before its time.
    app.clock.advance(chrono::Duration::minutes(119));
    assert_eq!(
        telemed_server::quotas::expire_unsent(app.state())
            .await
            .unwrap(),
        0
    );
    app.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(
        telemed_server::quotas::expire_unsent(app.state())
            .await
            .unwrap(),
        1
    );
    let forgotten_id = forgotten["id"].as_str().unwrap();
    let (status, _) = api
        .call(
            "GET",
            &format!("/api/v1/attachments/{forgotten_id}"),
            &p,
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(stored_objects(&app), objects - 1, "its object is deleted");
    let (status, body) = api
        .call(
            "POST",
            &thread,
            &p,
            Some(json!({"body": "Again", "attachments": [forgotten_id]})),
        )
        .await;
    assert_eq!(status, 400, "an expired upload is not sent: {body}");
    // The file sent with the message stays, for both sides of the thread.
    let kept_id = kept["id"].as_str().unwrap();
    let c = app.token_for(&clinician, None).await;
    let (status, _) = api
        .call("GET", &format!("/api/v1/attachments/{kept_id}"), &c, None)
        .await;
    assert_eq!(status, 200);
    app.flush_audit().await;
    let expired: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'attachment.expire' AND resource_id = $1",
    )
    .bind(forgotten_id)
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(expired, 1, "the deletion is in the audit trail");
    app.shutdown().await;
}

async fn admins_see_who_stores_what(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let admin = app.create_user(Role::Admin).await;
    let patient = app.create_user(Role::Patient).await;
    let p = app.token_for(&patient, None).await;
    let bytes = pdf_of(1200);
    let size = bytes.len() as i64;
    let (status, _) = api.upload(&p, "big.pdf", "application/pdf", bytes).await;
    assert_eq!(status, 201);
    let a = app.token_for(&admin, None).await;
    let report: Value = app.get_json(&a, "/api/v1/storage").await;
    let mine = report["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == patient.id.to_string())
        .unwrap_or_else(|| panic!("the patient is listed: {report}"));
    assert_eq!(mine["bytes"], size);
    assert_eq!(mine["unsent_files"], 1);
    assert_eq!(mine["quota_bytes"], 1024 * 1024 * 1024_i64);
    assert!(report["bytes"].as_i64().unwrap() >= size);
    let (status, _) = api.call("GET", "/api/v1/storage", &p, None).await;
    assert_eq!(status, 403, "patients do not see others' storage");
    let (status, _) = api.call("GET", "/api/v1/storage?limit=0", &a, None).await;
    assert_eq!(status, 400);

    let web = app.signed_in_web(&admin).await;
    let html = web.get("/admin/users").await.text().await.unwrap();
    let cell = html
        .split(&format!("data-storage=\"{}\">", patient.id))
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(cell, "2 MB of 1024 MB · 1 unsent");
    app.shutdown().await;
}

on_both_databases!(
    a_full_quota_refuses_with_413_and_stores_nothing,
    uploads_are_rate_limited_per_person,
    unsent_uploads_expire_and_sent_files_stay,
    admins_see_who_stores_what,
);
