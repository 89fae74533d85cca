//! Documents and images in the patient record: photos get an upright thumbnail, DICOM
//! files from pydicom's package are read and rendered like pydicom renders them (CT
//! windows included), everything is encrypted at rest, only those the record's policy
//! lets in see a file, and bad uploads are refused with nothing stored.

use std::path::PathBuf;

use image::GenericImageView as _;
use serde_json::Value;
use telemed_domain::{Role, UserId};
use telemed_testkit::{Backend, TestApp, TestUser};

use super::attachments::stored_objects;
use super::messaging::{count, give_a_visit, Api};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dicom")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A 640×480 photo-like PNG: a gradient with a dark spot in the middle.
pub(crate) fn photo() -> Vec<u8> {
    let picture = image::RgbImage::from_fn(640, 480, |x, y| {
        let (dx, dy) = (x as i32 - 320, y as i32 - 240);
        if dx * dx + dy * dy < 40 * 40 {
            image::Rgb([60, 30, 20])
        } else {
            image::Rgb([(x / 3) as u8, (y / 2) as u8, 180])
        }
    });
    let mut bytes = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

pub(crate) struct Form<'a> {
    pub file: (&'a str, Vec<u8>),
    pub fields: Vec<(&'a str, String)>,
}

impl Api<'_> {
    pub(crate) async fn file_document(
        &self,
        token: &str,
        patient: UserId,
        form: Form<'_>,
    ) -> (u16, Value) {
        let mut multipart = reqwest::multipart::Form::new();
        for (name, value) in form.fields {
            multipart = multipart.text(name.to_owned(), value);
        }
        let (name, bytes) = form.file;
        multipart = multipart.part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str("application/octet-stream")
                .unwrap(),
        );
        let r = self
            .http
            .post(
                self.app
                    .url(&format!("/api/v1/patients/{patient}/record/documents")),
            )
            .bearer_auth(token)
            .multipart(multipart)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn get_bytes(&self, token: &str, path: &str) -> (u16, String, Vec<u8>) {
        let r = self
            .http
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, r.bytes().await.unwrap().to_vec())
    }
}

pub(crate) fn file(name: &str, bytes: Vec<u8>) -> Form<'_> {
    Form {
        file: (name, bytes),
        fields: Vec::new(),
    }
}

struct Cast {
    patient: TestUser,
    p: String,
    c: String,
    stranger: String,
    staff: String,
    visit: telemed_domain::AppointmentId,
}

async fn cast(app: &TestApp) -> Cast {
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let visit = give_a_visit(app, &clinician, &patient).await;
    Cast {
        p: app.token_for(&patient, None).await,
        c: app.token_for(&clinician, None).await,
        stranger: app
            .token_for(&app.create_user(Role::Clinician).await, None)
            .await,
        staff: app
            .token_for(&app.create_user(Role::Staff).await, None)
            .await,
        patient,
        visit,
    }
}

/// The stored (encrypted) objects behind a document: file, thumbnail, preview.
async fn stored_objects_of(app: &TestApp, document: &str) -> Vec<Vec<u8>> {
    let row: (String, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT blob_id, thumbnail_blob_id, preview_blob_id FROM record_documents WHERE id = $1",
    )
    .bind(document)
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    let mut objects = Vec::new();
    for id in [Some(row.0), row.1, row.2].into_iter().flatten() {
        objects.push(
            app.state()
                .blobs
                .raw_object(id.parse().unwrap())
                .await
                .unwrap(),
        );
    }
    objects
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn a_photo_sent_ahead_reaches_the_care_team_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = cast(&app).await;
    let original = photo();
    let (status, doc) = api
        .file_document(
            &who.p,
            who.patient.id,
            Form {
                file: ("IMG_2041.PNG", original.clone()),
                fields: vec![
                    ("title", "Mole on the left forearm".into()),
                    ("description", "It has grown over the last month.".into()),
                    ("appointment_id", who.visit.to_string()),
                ],
            },
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    assert_eq!(doc["category"], "photo");
    assert_eq!(doc["media_type"], "png");
    assert_eq!(doc["title"], "Mole on the left forearm");
    assert_eq!(doc["appointment_id"], who.visit.to_string());
    assert!(doc["preview_url"].is_null());
    let id = doc["id"].as_str().unwrap().to_owned();

    // The thumbnail: a JPEG, 320 px on its long side, same proportions, dark spot kept.
    let (status, kind, thumb) = api
        .get_bytes(&who.c, doc["thumbnail_url"].as_str().unwrap())
        .await;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert_eq!(thumb.dimensions(), (320, 240));
    assert!(
        thumb.get_pixel(160, 120).0[0] < 90,
        "the spot is in the middle"
    );

    // The clinician with the visit finds it in the record and gets the original back.
    let path = format!("/api/v1/patients/{}/record/documents", who.patient.id);
    let (status, list) = api.call("GET", &path, &who.c, None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["uploaded_by_name"], doc["uploaded_by_name"]);
    let (status, kind, back) = api
        .get_bytes(&who.c, &format!("/api/v1/documents/{id}/file"))
        .await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(back, original);

    // At rest there is only ciphertext: no run of the photo, no JPEG marker.
    let objects = stored_objects_of(&app, &id).await;
    assert_eq!(objects.len(), 2, "file and thumbnail");
    let middle = &original[original.len() / 2..original.len() / 2 + 32];
    for object in &objects {
        assert!(!contains(object, middle));
        assert!(!contains(object, b"\x89PNG") && !contains(object, b"JFIF"));
    }

    // Anyone else: the same 404 as a document that does not exist.
    let nowhere = telemed_domain::DocumentId::new();
    let (_, missing) = api
        .call("GET", &format!("/api/v1/documents/{nowhere}"), &who.c, None)
        .await;
    for token in [&who.stranger, &who.staff] {
        for suffix in ["", "/file", "/thumbnail"] {
            let (status, body) = api
                .call(
                    "GET",
                    &format!("/api/v1/documents/{id}{suffix}"),
                    token,
                    None,
                )
                .await;
            assert_eq!(status, 404, "{suffix}");
            assert_eq!(body["error"]["code"], missing["error"]["code"]);
            assert_eq!(body["error"]["message"], missing["error"]["message"]);
        }
        let (status, _) = api.call("GET", &path, token, None).await;
        assert_eq!(status, 404);
    }

    // Misfiled: the clinician marks it; the patient no longer sees it, the clinician does.
    let (status, marked) = api
        .call(
            "POST",
            &format!("/api/v1/documents/{id}/status"),
            &who.c,
            Some(serde_json::json!({"status": "entered_in_error", "version": 1})),
        )
        .await;
    assert_eq!(status, 200, "{marked}");
    let (status, _) = api
        .call(
            "POST",
            &format!("/api/v1/documents/{id}/status"),
            &who.c,
            Some(serde_json::json!({"status": "current", "version": 1})),
        )
        .await;
    assert_eq!(status, 409, "a stale version");
    let (_, mine) = api.call("GET", &path, &who.p, None).await;
    assert_eq!(mine.as_array().unwrap().len(), 0);
    let (status, _) = api
        .call("GET", &format!("/api/v1/documents/{id}/file"), &who.p, None)
        .await;
    assert_eq!(status, 404);
    let (_, theirs) = api.call("GET", &path, &who.c, None).await;
    assert_eq!(theirs[0]["status"], "entered_in_error");

    // Every step is in the audit trail.
    app.flush_audit().await;
    let actions: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, outcome FROM audit_log WHERE patient_id = $1 AND action LIKE 'record.documents.%'",
    )
    .bind(who.patient.id.to_string())
    .fetch_all(app.state().store.pool())
    .await
    .unwrap();
    let seen = |action: &str, outcome: &str| {
        actions
            .iter()
            .filter(|(a, o)| a == action && o == outcome)
            .count()
    };
    assert_eq!(seen("record.documents.write", "success"), 2, "{actions:?}");
    assert!(seen("record.documents.download", "success") >= 1);
    assert!(seen("record.documents.view", "success") >= 1);
    assert!(seen("record.documents.read", "denied") >= 2);
    app.shutdown().await;
}

/// Checks pixels of a rendered grey image against pydicom's values (±2 for rounding).
fn assert_grey(png: &[u8], mean: f64, points: &[((u32, u32), u8)]) {
    let picture = image::load_from_memory(png).unwrap().into_luma8();
    let sum: f64 = picture.pixels().map(|p| f64::from(p.0[0])).sum();
    let got = sum / f64::from(picture.width() * picture.height());
    assert!((got - mean).abs() < 1.5, "mean {got} vs {mean}");
    for &((row, column), want) in points {
        let value = picture.get_pixel(column, row).0[0];
        assert!(
            value.abs_diff(want) <= 2,
            "pixel ({row}, {column}): {value} vs {want}"
        );
    }
}

async fn dicom_images_are_read_and_rendered_like_pydicom_does(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = cast(&app).await;

    // CT: header read; no window in the file, so the soft-tissue window; others on request.
    let (status, ct) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("CT_small.dcm", fixture("CT_small.dcm")),
        )
        .await;
    assert_eq!(status, 201, "{ct}");
    assert_eq!(ct["category"], "imaging");
    assert_eq!(ct["media_type"], "dicom");
    let h = &ct["dicom"];
    assert_eq!(h["modality"], "CT");
    assert_eq!(
        (h["rows"].as_i64(), h["columns"].as_i64()),
        (Some(128), Some(128))
    );
    assert_eq!(
        h["study_uid"],
        "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
    );
    assert_eq!(
        h["series_uid"],
        "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
    );
    assert_eq!(h["transfer_syntax"], "1.2.840.10008.1.2.1");
    assert_eq!(h["patient_name"], "CompressedSamples CT1");
    assert_eq!(h["study_date"], "20040119");
    let preview = ct["preview_url"].as_str().unwrap();
    let (status, kind, png) = api.get_bytes(&who.c, preview).await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_grey(
        &png,
        101.52,
        &[((64, 64), 255), ((10, 10), 0), ((100, 40), 140)],
    );
    for (window, mean, points) in [
        (
            "lung",
            204.56,
            [((64, 64), 255), ((10, 10), 94), ((100, 40), 240)],
        ),
        (
            "bone",
            62.49,
            [((64, 64), 199), ((10, 10), 0), ((100, 40), 79)],
        ),
    ] {
        let (status, _, png) = api
            .get_bytes(&who.c, &format!("{preview}?window={window}"))
            .await;
        assert_eq!(status, 200);
        assert_grey(&png, mean, &points);
    }
    let (status, body) = api
        .call("GET", &format!("{preview}?window=abdomen"), &who.c, None)
        .await;
    assert_eq!(status, 400, "{body}");
    // The original comes back byte for byte; the patient sees their image too.
    let (_, kind, original) = api
        .get_bytes(&who.p, ct["file_url"].as_str().unwrap())
        .await;
    assert_eq!(kind, "application/dicom");
    assert_eq!(original, fixture("CT_small.dcm"));

    // MR: the file's own window (600/1600).
    let (status, mr) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("MR_small.dcm", fixture("MR_small.dcm")),
        )
        .await;
    assert_eq!(status, 201, "{mr}");
    assert_eq!(mr["dicom"]["window_center"], 600.0);
    let (_, _, png) = api
        .get_bytes(&who.c, mr["preview_url"].as_str().unwrap())
        .await;
    assert_grey(&png, 113.06, &[((32, 32), 61), ((5, 5), 147)]);

    // RGB, RLE-compressed: colours as they are.
    let (status, rgb) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("rgb.dcm", fixture("SC_rgb_rle.dcm")),
        )
        .await;
    assert_eq!(status, 201, "{rgb}");
    let (_, _, png) = api
        .get_bytes(&who.c, rgb["preview_url"].as_str().unwrap())
        .await;
    let picture = image::load_from_memory(&png).unwrap().into_rgb8();
    assert_eq!(picture.get_pixel(0, 0).0, [255, 0, 0]);
    assert_eq!(picture.get_pixel(50, 50).0, [128, 128, 255]);
    assert_eq!(picture.get_pixel(99, 99).0, [255, 255, 255]);

    // 12-bit JPEG is not decoded here: the image is filed with its header, no preview.
    let (status, nm) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("nm.dcm", fixture("JPEG-lossy.dcm")),
        )
        .await;
    assert_eq!(status, 201, "{nm}");
    assert_eq!(nm["dicom"]["modality"], "NM");
    assert_eq!(nm["dicom"]["transfer_syntax"], "1.2.840.10008.1.2.4.51");
    assert!(nm["preview_url"].is_null());

    // A damaged RLE image whose segments overrun the frame (found by fuzzing; the
    // decoder panicked, and the upload was a 500): filed, its header read, no preview.
    let (status, damaged) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("damaged.dcm", fixture("rle_overrun.dcm")),
        )
        .await;
    assert_eq!(status, 201, "{damaged}");
    assert!(damaged["preview_url"].is_null() && damaged["thumbnail_url"].is_null());
    // An RLE frame header claiming about 3 billion segments (the decoder allocated
    // 12 GB for their offsets): filed, no preview, nothing allocated.
    let (status, claims) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("claims.dcm", fixture("rle_segment_count.dcm")),
        )
        .await;
    assert_eq!(status, 201, "{claims}");
    assert!(claims["preview_url"].is_null());

    // A 2.7 KB file with an element declaring about 4 GB (found by fuzzing; the parser
    // allocated it): refused before it is parsed.
    let (status, refused) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("bomb.dcm", fixture("length_past_the_end.dcm")),
        )
        .await;
    assert_eq!(status, 400, "{refused}");

    // A DICOM object with no image (an RT plan) is filed, without a preview.
    let (status, plan) = api
        .file_document(
            &who.c,
            who.patient.id,
            file("plan.dcm", fixture("rtplan.dcm")),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["dicom"]["modality"], "RTPLAN");
    assert!(plan["preview_url"].is_null() && plan["thumbnail_url"].is_null());
    let id = plan["id"].as_str().unwrap();
    let (status, _) = api
        .call(
            "GET",
            &format!("/api/v1/documents/{id}/preview?window=lung"),
            &who.c,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Every stored object is ciphertext: the DICOM magic and UIDs appear nowhere.
    for doc in [&ct, &mr, &rgb, &plan] {
        for object in stored_objects_of(&app, doc["id"].as_str().unwrap()).await {
            assert!(!contains(&object, b"DICM"));
            assert!(!contains(&object, b"1.3.6.1.4.1.5962"));
            assert!(!contains(&object, b"\x89PNG"));
        }
    }
    let (_, list) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/record/documents", who.patient.id),
            &who.p,
            None,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 7);
    app.shutdown().await;
}

async fn bad_documents_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.files.max_document_bytes = 64 * 1024).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let who = cast(&app).await;
    let other = app.create_user(Role::Patient).await;
    let other_clinician = app.create_user(Role::Clinician).await;
    let not_theirs = give_a_visit(&app, &other_clinician, &other).await;
    let mut broken_png = photo();
    broken_png.truncate(200);
    let mut broken_dicom = fixture("CT_small.dcm");
    broken_dicom.truncate(300);
    let with = |name: &'static str, bytes: Vec<u8>, fields: Vec<(&'static str, String)>| Form {
        file: (name, bytes),
        fields,
    };
    let cases: Vec<(&str, &String, Form<'_>, u16)> = vec![
        (
            "a text file",
            &who.p,
            with("notes.txt", b"just text".to_vec(), vec![]),
            415,
        ),
        (
            "an HTML page named .png",
            &who.p,
            with("x.png", b"<html><script>alert(1)</script>".to_vec(), vec![]),
            415,
        ),
        (
            "an empty file",
            &who.p,
            with("x.png", Vec::new(), vec![]),
            400,
        ),
        (
            "a broken photo",
            &who.p,
            with("x.png", broken_png, vec![]),
            400,
        ),
        (
            "a broken DICOM file",
            &who.c,
            with("x.dcm", broken_dicom, vec![]),
            400,
        ),
        (
            "too large",
            &who.p,
            with("big.dcm", vec![0u8; 70 * 1024], vec![]),
            413,
        ),
        (
            "a PDF filed as imaging",
            &who.p,
            with(
                "r.pdf",
                b"%PDF-1.4\n%%EOF\n".to_vec(),
                vec![("category", "imaging".into())],
            ),
            400,
        ),
        (
            "an unknown category",
            &who.p,
            with("x.png", photo(), vec![("category", "selfie".into())]),
            400,
        ),
        (
            "an unknown field",
            &who.p,
            with("x.png", photo(), vec![("owner", "me".into())]),
            400,
        ),
        (
            "a title of two lines",
            &who.p,
            with("x.png", photo(), vec![("title", "a\nb".into())]),
            400,
        ),
        (
            "someone else's visit",
            &who.p,
            with(
                "x.png",
                photo(),
                vec![("appointment_id", not_theirs.to_string())],
            ),
            400,
        ),
        (
            "not a visit id",
            &who.p,
            with(
                "x.png",
                photo(),
                vec![("appointment_id", "tomorrow".into())],
            ),
            400,
        ),
        (
            "a clinician without a relationship",
            &who.stranger,
            with("x.png", photo(), vec![]),
            404,
        ),
        ("staff", &who.staff, with("x.png", photo(), vec![]), 404),
    ];
    for (what, token, form, want) in cases {
        let (status, body) = api.file_document(token, who.patient.id, form).await;
        assert_eq!(status, want, "{what}: {body}");
        assert!(body["error"]["message"].is_string(), "{what}: {body}");
    }
    // No file field at all.
    let r = api
        .http
        .post(app.url(&format!(
            "/api/v1/patients/{}/record/documents",
            who.patient.id
        )))
        .bearer_auth(&who.p)
        .multipart(reqwest::multipart::Form::new().text("title", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(count(&app, "record_documents").await, 0);
    assert_eq!(count(&app, "blobs").await, 0);
    assert_eq!(stored_objects(&app), 0, "no object left behind");
    app.shutdown().await;
}

on_both_databases!(
    a_photo_sent_ahead_reaches_the_care_team_only,
    dicom_images_are_read_and_rendered_like_pydicom_does,
    bad_documents_are_refused_and_nothing_is_stored,
);
