//! The patient record through the API: the access matrix (every kind of caller × every
//! section × read and write), notes that lock when signed, break-the-glass, chart
//! entries that validate and keep their history.

use serde_json::{json, Value};
use telemed_domain::record::Section;
use telemed_domain::{Clock as _, Role, UserId};
use telemed_testkit::{location, Backend, TestApp, TestUser};

use super::messaging::{count, give_a_visit, Api};

/// A valid new entry for each chart section.
fn sample(section: Section) -> Value {
    match section {
        Section::Problems => {
            json!({"code_system": "http://hl7.org/fhir/sid/icd-10", "code": "L40.0",
            "text": "Psoriasis vulgaris", "effective": "2019-03-01"})
        }
        Section::Allergies => {
            json!({"text": "Penicillin", "severity": "severe", "reaction": "Anaphylaxis"})
        }
        Section::Medications => {
            json!({"code_system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "197361", "text": "Amlodipine 5 mg tablet", "dosage": "1 tablet daily"})
        }
        Section::Immunizations => {
            json!({"code_system": "http://hl7.org/fhir/sid/cvx", "code": "140",
            "text": "Influenza, seasonal", "effective": "2025-10-15"})
        }
        Section::Vitals => {
            json!({"code_system": "http://loinc.org", "code": "85354-9", "value": 128, "value2": 82})
        }
        Section::Labs => {
            json!({"code_system": "http://loinc.org", "code": "4548-4", "text": "Hemoglobin A1c",
            "value": 6.1, "unit": "%", "range_low": 4.0, "range_high": 5.6})
        }
        Section::History => json!({"text": "Type 2 diabetes", "relation": "mother"}),
        _ => unreachable!(),
    }
}

/// The request that reads or writes a section of `patient`'s record.
fn request(
    section: Section,
    write: bool,
    patient: UserId,
) -> (&'static str, String, Option<Value>) {
    let base = format!("/api/v1/patients/{patient}");
    match (section, write) {
        (Section::Demographics, false) => ("GET", format!("{base}/record/demographics"), None),
        (Section::Demographics, true) => (
            "PUT",
            format!("{base}/record/demographics"),
            Some(json!({"birth_date": "1984-02-29", "sex": "female", "phone": "+34 600 000 000"})),
        ),
        (Section::Notes, false) => ("GET", format!("{base}/notes"), None),
        (Section::Notes, true) => (
            "POST",
            format!("{base}/notes"),
            Some(json!({"template": "general"})),
        ),
        (s, false) => ("GET", format!("{base}/record/{}", s.as_str()), None),
        (s, true) => (
            "POST",
            format!("{base}/record/{}", s.as_str()),
            Some(sample(s)),
        ),
    }
}

/// Reads or writes a section of `patient`'s record as `token`; a document write is an
/// upload of a photo.
async fn attempt(
    api: &Api<'_>,
    section: Section,
    write: bool,
    patient: UserId,
    token: &str,
) -> (u16, Value) {
    if section == Section::Documents && write {
        let photo = super::documents::file("matrix.png", super::documents::photo());
        return api.file_document(token, patient, photo).await;
    }
    let (method, path, body) = request(section, write, patient);
    api.call(method, &path, token, body).await
}

pub(super) struct Cast {
    pub patient: TestUser,
    /// The patient's visit with "a clinician with a visit".
    pub visit: telemed_domain::AppointmentId,
    pub people: Vec<(&'static str, TestUser, String)>,
}

pub(super) async fn cast(app: &TestApp, api: &Api<'_>) -> Cast {
    let patient = app.create_user(Role::Patient).await;
    let with_visit = app.create_user(Role::Clinician).await;
    let visit = give_a_visit(app, &with_visit, &patient).await;
    let on_team = app.create_user(Role::Clinician).await;
    let staff = app.create_user(Role::Staff).await;
    let staff_token = app.token_for(&staff, None).await;
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/care-team", patient.id),
            &staff_token,
            Some(json!({"clinician_id": on_team.id})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let proxy = app.create_user(Role::Patient).await;
    let patient_token = app.token_for(&patient, None).await;
    super::proxies::make_proxy(app, api, &patient, &patient_token, &proxy).await;
    let mut people = vec![
        ("the patient", patient.clone(), patient_token),
        ("staff", staff, staff_token),
    ];
    for (who, user) in [
        ("a proxy", proxy),
        ("another patient", app.create_user(Role::Patient).await),
        ("a clinician with a visit", with_visit),
        ("a clinician on the care team", on_team),
        (
            "an unrelated clinician",
            app.create_user(Role::Clinician).await,
        ),
        ("an admin", app.create_user(Role::Admin).await),
    ] {
        let token = app.token_for(&user, None).await;
        people.push((who, user, token));
    }
    Cast {
        patient,
        visit,
        people,
    }
}

/// The sections the matrix walks: every one but prescriptions, whose writes need the
/// prescriber's second factor (walked in `prescribing`, reads and writes).
fn matrix_sections() -> Vec<Section> {
    Section::ALL
        .into_iter()
        .filter(|s| *s != Section::Prescriptions)
        .collect()
}

pub(super) fn allowed(who: &str, section: Section, write: bool) -> bool {
    match who {
        "the patient" => !write || matches!(section, Section::Demographics | Section::Documents),
        "a proxy" => !write || section == Section::Documents,
        "a clinician with a visit" | "a clinician on the care team" => true,
        "an unrelated clinician" => section == Section::Demographics && !write,
        "staff" => section == Section::Demographics,
        _ => false,
    }
}

/// Every caller × every section × read and write:
/// allowed is 2xx, refused is a 404 indistinguishable from a patient that does not
/// exist, and a refused write stores nothing.
async fn the_access_matrix_holds_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let c = cast(&app, &api).await;
    let nobody = UserId::new();
    let stored = || async {
        count(&app, "chart_entries").await
            + count(&app, "visit_notes").await
            + count(&app, "record_documents").await
            + count(&app, "blobs").await
    };
    for (who, _, token) in &c.people {
        for section in matrix_sections() {
            for write in [false, true] {
                let before = stored().await;
                let (status, got) = attempt(&api, section, write, c.patient.id, token).await;
                let what = format!(
                    "{who}: {} {}",
                    section.as_str(),
                    if write { "write" } else { "read" }
                );
                if allowed(who, section, write) {
                    assert!((200..300).contains(&status), "{what}: {status} {got}");
                } else {
                    assert_eq!(status, 404, "{what}: {got}");
                    assert_eq!(before, stored().await, "{what} stored something");
                    // The same answer as for a patient that does not exist.
                    let (status, missing) = attempt(&api, section, write, nobody, token).await;
                    assert_eq!(status, 404, "{what} on nobody");
                    assert_eq!(
                        got["error"]["message"], missing["error"]["message"],
                        "{what}"
                    );
                    assert_eq!(got["error"]["code"], missing["error"]["code"], "{what}");
                }
            }
        }
    }
    // Every decision is in the audit trail: reads with their basis, refusals as denied.
    app.flush_audit().await;
    let store = app.state().store.pool();
    let denied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'record.%' AND outcome = 'denied' AND patient_id = $1",
    )
    .bind(c.patient.id.to_string())
    .fetch_one(store)
    .await
    .unwrap();
    let refusals = c
        .people
        .iter()
        .flat_map(|(who, _, _)| {
            matrix_sections()
                .into_iter()
                .flat_map(move |s| [false, true].map(|w| !allowed(who, s, w)))
        })
        .filter(|refused| *refused)
        .count() as i64;
    assert_eq!(denied, refusals);
    let via_proxy: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'record.problems.read' AND detail = 'proxy' AND patient_id = $1",
    )
    .bind(c.patient.id.to_string())
    .fetch_one(store)
    .await
    .unwrap();
    assert_eq!(via_proxy, 1);
    app.shutdown().await;
}

async fn notes_lock_when_signed_and_change_only_by_addenda(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app.create_user(Role::Patient).await;
    let author = app.create_user(Role::Clinician).await;
    let colleague = app.create_user(Role::Clinician).await;
    let visit = give_a_visit(&app, &author, &patient).await;
    give_a_visit(&app, &colleague, &patient).await;
    let (doc, other, pat) = (
        app.token_for(&author, None).await,
        app.token_for(&colleague, None).await,
        app.token_for(&patient, None).await,
    );
    let notes = format!("/api/v1/patients/{}/notes", patient.id);
    let (status, note) = api
        .call(
            "POST",
            &notes,
            &doc,
            Some(json!({"appointment_id": visit, "template": "dermatology"})),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    assert!(
        note["subjective"]
            .as_str()
            .unwrap()
            .contains("Lesion history"),
        "template prompts: {note}"
    );
    assert_eq!(note["status"], "draft");
    let path = format!("/api/v1/notes/{}", note["id"].as_str().unwrap());

    // One note per visit; an unknown template is refused.
    let (status, _) = api
        .call(
            "POST",
            &notes,
            &doc,
            Some(json!({"appointment_id": visit, "template": "general"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = api
        .call("POST", &notes, &doc, Some(json!({"template": "astrology"})))
        .await;
    assert_eq!(status, 400);

    // The patient does not see a draft, in the list or by id.
    let (_, list) = api.call("GET", &notes, &pat, None).await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    assert_eq!(api.call("GET", &path, &pat, None).await.0, 404);

    // Drafts are saved by their author at the version they read.
    let soap = json!({"version": 1, "subjective": "Itchy plaque on the left elbow for 3 months.",
        "objective": "Well-demarcated erythematous plaque, silvery scale, 3 cm.",
        "assessment": "Plaque psoriasis.", "plan": "Topical steroid; review in 4 weeks."});
    let (status, saved) = api.call("PUT", &path, &doc, Some(soap.clone())).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["version"], 2);
    let (status, stale) = api.call("PUT", &path, &doc, Some(soap.clone())).await;
    assert_eq!(status, 409, "{stale}");
    let (status, _) = api
        .call(
            "PUT",
            &path,
            &other,
            Some(json!({"version": 2, "plan": "mine now"})),
        )
        .await;
    assert_eq!(status, 403, "only the author edits a draft");
    let (status, _) = api
        .call(
            "POST",
            &format!("{path}/addenda"),
            &doc,
            Some(json!({"body": "early"})),
        )
        .await;
    assert_eq!(status, 409, "a draft is edited, not amended");

    // Signed: locked for good.
    let (status, signed) = api
        .call(
            "POST",
            &format!("{path}/sign"),
            &doc,
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "signed");
    assert!(signed["signed_at"].is_string());
    let (status, locked) = api
        .call(
            "PUT",
            &path,
            &doc,
            Some(json!({"version": 3, "plan": "changed my mind"})),
        )
        .await;
    assert_eq!(status, 409, "{locked}");
    assert!(locked["error"]["message"]
        .as_str()
        .unwrap()
        .contains("addendum"));
    assert_eq!(
        api.call(
            "POST",
            &format!("{path}/sign"),
            &doc,
            Some(json!({"version": 3}))
        )
        .await
        .0,
        409
    );

    // Corrections are signed addenda; the original stays as it was.
    let (status, addendum) = api
        .call(
            "POST",
            &format!("{path}/addenda"),
            &other,
            Some(json!({"body": "Biopsy result: psoriasis confirmed."})),
        )
        .await;
    assert_eq!(status, 201, "{addendum}");
    assert!(addendum["signed_at"].is_string());
    let (status, read) = api.call("GET", &path, &pat, None).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["plan"], "Topical steroid; review in 4 weeks.");
    assert_eq!(
        read["addenda"][0]["body"],
        "Biopsy result: psoriasis confirmed."
    );
    assert_eq!(read["addenda"][0]["author"], json!(colleague.id));
    let (_, list) = api.call("GET", &notes, &pat, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Bad input changes nothing.
    let (status, _) = api
        .call(
            "POST",
            &format!("{path}/addenda"),
            &doc,
            Some(json!({"body": "   "})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = api
        .call(
            "PUT",
            &path,
            &doc,
            Some(json!({"version": 3, "plan": "x".repeat(20_001)})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(count(&app, "note_addenda").await, 1);
    app.flush_audit().await;
    let signs: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'record.notes.sign'")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap();
    assert_eq!(signs, 1);
    app.shutdown().await;
}

async fn break_the_glass_is_stated_time_limited_flagged_and_told(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let staff = app.create_user(Role::Staff).await;
    let token = app.token_for(&clinician, None).await;
    let problems = format!("/api/v1/patients/{}/record/problems", patient.id);
    let glass = format!("/api/v1/patients/{}/break-glass", patient.id);
    assert_eq!(api.call("GET", &problems, &token, None).await.0, 404);

    let (status, _) = api
        .call("POST", &glass, &token, Some(json!({"reason": "urgent"})))
        .await;
    assert_eq!(status, 400, "a reason, stated");
    let staff_token = app.token_for(&staff, None).await;
    let (status, _) = api
        .call(
            "POST",
            &glass,
            &staff_token,
            Some(json!({"reason": "I would like to look"})),
        )
        .await;
    assert_eq!(status, 403, "clinicians only");
    let (status, _) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/break-glass", UserId::new()),
            &token,
            Some(json!({"reason": "Unconscious patient brought in, allergies unknown"})),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(count(&app, "break_glass").await, 0);

    let (status, granted) = api
        .call(
            "POST",
            &glass,
            &token,
            Some(json!({"reason": "Unconscious patient brought in, allergies unknown"})),
        )
        .await;
    assert_eq!(status, 201, "{granted}");
    let expires: chrono::DateTime<chrono::Utc> =
        granted["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, app.clock.now() + chrono::Duration::minutes(60));
    assert_eq!(api.call("GET", &problems, &token, None).await.0, 200);

    // Flagged in the audit trail, and the patient is told.
    app.flush_audit().await;
    let flagged: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE patient_id = $1 AND (detail = 'break_glass' OR action = 'record.break_glass') ORDER BY seq",
    )
    .bind(patient.id.to_string())
    .fetch_all(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(flagged, ["record.break_glass", "record.problems.read"]);
    let told: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'record.emergency_access'",
    )
    .bind(patient.id.to_string())
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(told, 1);
    // And by email, with a link to the access log and nothing about who or why.
    let mail = app
        .smtp
        .wait_for(&patient.email, "Emergency access to your telemed record")
        .await;
    assert!(
        mail.link_path("/account/access-log").is_some(),
        "{}",
        mail.raw
    );
    let body = mail.body();
    assert!(
        !body.contains("Unconscious") && !body.contains("allergies"),
        "{body}"
    );
    // The patient reads it in plain words, in their language: no audit codes.
    let web = app.signed_in_web(&patient).await;
    let page = web.get("/account/access-log").await.text().await.unwrap();
    assert!(
        page.contains("opened your record in an emergency (break the glass)")
            && page.contains("opened your record: Problems"),
        "{page}"
    );
    assert!(!page.contains("record.break_glass") && !page.contains("record.problems"));
    web.post("/language", &[("lang", "es")]).await;
    let page = web.get("/account/access-log").await.text().await.unwrap();
    assert!(
        page.contains("abrió su historia en una emergencia")
            && page.contains("abrió su historia: Problemas"),
        "{page}"
    );

    // An hour later the glass is whole again.
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(api.call("GET", &problems, &token, None).await.0, 404);
    app.shutdown().await;
}

async fn chart_entries_validate_and_keep_their_history(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    give_a_visit(&app, &clinician, &patient).await;
    let token = app.token_for(&clinician, None).await;
    let base = format!("/api/v1/patients/{}/record", patient.id);
    for bad in [
        json!({"code_system": "http://loinc.org", "code": "85354-9", "value": 128}),
        json!({"code_system": "http://loinc.org", "code": "85354-9", "value": 900, "value2": 80}),
        json!({"code_system": "http://loinc.org", "code": "8867-4", "value": 70, "unit": "Hz"}),
        json!({"code_system": "http://loinc.org", "code": "8867-4", "value": "seventy"}),
        json!({"code_system": "http://loinc.org", "code": "8867-4", "value": 70, "colour": "red"}),
    ] {
        let (status, body) = api
            .call("POST", &format!("{base}/vitals"), &token, Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad} → {body}");
    }
    let (status, _) = api
        .call(
            "POST",
            &format!("{base}/surgery"),
            &token,
            Some(sample(Section::Problems)),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(count(&app, "chart_entries").await, 0);

    // Two heart-rate readings and a pressure: the summary shows the latest of each.
    for (code, value, minutes_ago) in [("8867-4", 88.0, 60), ("8867-4", 72.0, 5)] {
        let at = (app.clock.now() - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
        let (status, _) = api
            .call("POST", &format!("{base}/vitals"), &token,
                Some(json!({"code_system": "http://loinc.org", "code": code, "value": value, "effective": at})))
            .await;
        assert_eq!(status, 201);
    }
    api.call(
        "POST",
        &format!("{base}/vitals"),
        &token,
        Some(sample(Section::Vitals)),
    )
    .await;
    let (_, problem) = api
        .call(
            "POST",
            &format!("{base}/problems"),
            &token,
            Some(sample(Section::Problems)),
        )
        .await;
    let (_, old) = api
        .call("POST", &format!("{base}/problems"), &token,
            Some(json!({"code_system": "http://snomed.info/sct", "code": "195662009", "text": "Acute viral pharyngitis", "effective": "2024-01-10"})))
        .await;
    let (_, lab) = api
        .call(
            "POST",
            &format!("{base}/labs"),
            &token,
            Some(sample(Section::Labs)),
        )
        .await;
    assert_eq!(lab["out_of_range"], true, "6.1 % is above 5.6 %");

    // Resolving keeps the entry and bumps its version; a stale version is refused.
    let status_path = format!("{base}/problems/{}/status", old["id"].as_str().unwrap());
    let (status, resolved) = api
        .call(
            "POST",
            &status_path,
            &token,
            Some(json!({"status": "resolved", "version": 1, "ended": "2024-01-20"})),
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["version"], 2);
    let (status, _) = api
        .call(
            "POST",
            &status_path,
            &token,
            Some(json!({"status": "active", "version": 1})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = api
        .call(
            "POST",
            &status_path,
            &token,
            Some(json!({"status": "stopped", "version": 2})),
        )
        .await;
    assert_eq!(status, 400, "problems are not stopped");
    // An entry is only reachable under its own patient and section.
    let (status, _) = api
        .call(
            "POST",
            &format!("{base}/labs/{}/status", problem["id"].as_str().unwrap()),
            &token,
            Some(json!({"status": "entered-in-error", "version": 1})),
        )
        .await;
    assert_eq!(status, 404);

    let patient_token = app.token_for(&patient, None).await;
    let (status, summary) = api.call("GET", &base, &patient_token, None).await;
    assert_eq!(status, 200, "{summary}");
    let problems: Vec<&str> = summary["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(problems, ["Psoriasis vulgaris"], "active problems only");
    let vitals = summary["vitals"].as_array().unwrap();
    assert_eq!(vitals.len(), 2, "{vitals:?}");
    let heart = vitals.iter().find(|v| v["code"] == "8867-4").unwrap();
    assert_eq!(heart["value"], 72.0);
    assert_eq!(heart["unit"], "/min");
    let (_, all) = api
        .call("GET", &format!("{base}/problems"), &patient_token, None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2, "history is kept");
    app.shutdown().await;
}

/// The patient takes the whole record home: JSON with everything they may read, and a
/// PDF that says the same; a proxy may too; clinicians and strangers may not.
async fn the_patient_downloads_the_whole_record(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let c = cast(&app, &api).await;
    let token = |who: &str| {
        c.people
            .iter()
            .find(|(w, _, _)| *w == who)
            .map(|(_, _, t)| t.clone())
            .unwrap()
    };
    let (doc, pat) = (token("a clinician with a visit"), token("the patient"));
    let base = format!("/api/v1/patients/{}", c.patient.id);
    for section in [Section::Problems, Section::Vitals, Section::Allergies] {
        let (status, body) = api
            .call(
                "POST",
                &format!("{base}/record/{}", section.as_str()),
                &doc,
                Some(sample(section)),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, note) = api
        .call(
            "POST",
            &format!("{base}/notes"),
            &doc,
            Some(json!({"template": "general"})),
        )
        .await;
    let note_path = format!("/api/v1/notes/{}", note["id"].as_str().unwrap());
    // Words in the patient's languages: Vietnamese (Noto Sans has it) and Japanese (no
    // font of the server has it by default).
    let soap = json!({"version": 1, "subjective": "Joint pain in both knees (worse on stairs). In her words: «đau khớp gối» 膝の痛み.",
        "objective": "No effusion.", "assessment": "Osteoarthritis.", "plan": "Physiotherapy."});
    assert_eq!(api.call("PUT", &note_path, &doc, Some(soap)).await.0, 200);
    assert_eq!(
        api.call(
            "POST",
            &format!("{note_path}/sign"),
            &doc,
            Some(json!({"version": 2}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.call(
            "POST",
            &format!("{note_path}/addenda"),
            &doc,
            Some(json!({"body": "X-ray booked for Tuesday."}))
        )
        .await
        .0,
        201
    );
    // A draft stays out of the patient's copy.
    api.call(
        "POST",
        &format!("{base}/notes"),
        &doc,
        Some(json!({"template": "cardiology"})),
    )
    .await;
    let (status, _) = api
        .file_document(
            &pat,
            c.patient.id,
            super::documents::file("knee.png", super::documents::photo()),
        )
        .await;
    assert_eq!(status, 201);

    let export = format!("{base}/record/export");
    let r = api
        .http
        .get(app.url(&export))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"health-record-"),
        "{disposition}"
    );
    let json: Value = r.json().await.unwrap();
    assert_eq!(json["format"], "telemed-record/1");
    assert_eq!(json["patient_id"], c.patient.id.to_string());
    assert_eq!(json["chart"]["problems"][0]["code"], "L40.0");
    assert_eq!(json["chart"]["vitals"][0]["value2"], 82.0);
    assert_eq!(json["chart"]["labs"].as_array().unwrap().len(), 0);
    assert_eq!(
        json["notes"].as_array().unwrap().len(),
        1,
        "signed notes only"
    );
    assert_eq!(
        json["notes"][0]["addenda"][0]["body"],
        "X-ray booked for Tuesday."
    );
    assert_eq!(json["documents"][0]["title"], "knee.png");
    assert_eq!(json["visits"].as_array().unwrap().len(), 1);

    let (status, kind, pdf) = api.get_bytes(&pat, &format!("{export}?format=pdf")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = telemed_testkit::pdf_text(&pdf);
    for expected in [
        "Psoriasis vulgaris",
        "Joint pain in both knees (worse on stairs). In her words: «đau khớp gối» 膝の痛み.",
        "the record keeps them as written",
        "X-ray booked for Tuesday.",
        "Penicillin",
        "knee.png",
        "Blood pressure 128/82 mm[Hg]",
    ] {
        assert!(text.contains(expected), "the PDF has {expected}: {text}");
    }
    assert!(!text.contains("cardiology note"), "no draft in the PDF");

    // A proxy may take a copy; a clinician reads in place; others learn nothing.
    assert_eq!(
        api.call("GET", &export, &token("a proxy"), None).await.0,
        200
    );
    assert_eq!(api.call("GET", &export, &doc, None).await.0, 403);
    assert_eq!(
        api.call("GET", &export, &token("another patient"), None)
            .await
            .0,
        404
    );
    assert_eq!(api.call("GET", &export, &token("staff"), None).await.0, 404);
    assert_eq!(
        api.call("GET", &format!("{export}?format=xml"), &pat, None)
            .await
            .0,
        400
    );
    app.flush_audit().await;
    let exports: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'record.export.%' AND outcome = 'success' AND patient_id = $1 ORDER BY action",
    )
    .bind(c.patient.id.to_string())
    .fetch_all(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(
        exports,
        [
            "record.export.json",
            "record.export.json",
            "record.export.pdf"
        ]
    );
    app.shutdown().await;
}

/// A patient's name corrected from the chart's demographics form: the new name is shown
/// and searched, a form without a family name is refused, and someone else's chart
/// cannot be renamed.
async fn a_patients_name_is_corrected_from_the_chart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let other = app.create_user(Role::Patient).await;
    let web = app.signed_in_web(&patient).await;
    let name_of = |id: telemed_domain::UserId| {
        let pool = app.state().store.pool().clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>, Option<String>)>(
                "SELECT display_name, family_name, given_names FROM users WHERE id = $1",
            )
            .bind(id.to_string())
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (before, other_before) = (name_of(patient.id).await, name_of(other.id).await);
    let form = format!("/patients/{}/demographics", patient.id);

    let r = web
        .post(&form, &[("family_name", " "), ("given_names", "Rosa")])
        .await;
    let page = r.text().await.unwrap();
    assert!(page.contains("enter the family name"), "{page}");
    assert_eq!(name_of(patient.id).await, before);

    let r = web
        .post(
            &form,
            &[
                ("family_name", "Quispe Mamani"),
                ("given_names", "Rosa  Elena"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        name_of(patient.id).await,
        (
            "Rosa Elena Quispe Mamani".to_owned(),
            Some("Quispe Mamani".to_owned()),
            Some("Rosa Elena".to_owned())
        )
    );
    let chart = web
        .get(&format!("/patients/{}/chart", patient.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(chart.contains("Rosa Elena Quispe Mamani"), "{chart}");
    // Found by the words of the new name only.
    let words: Vec<String> =
        sqlx::query_scalar("SELECT word FROM person_name_words WHERE user_id = $1 ORDER BY word")
            .bind(patient.id.to_string())
            .fetch_all(app.state().store.pool())
            .await
            .unwrap();
    assert_eq!(words, ["elena", "mamani", "quispe", "rosa"]);

    let r = web
        .post(
            &format!("/patients/{}/demographics", other.id),
            &[("family_name", "Impostor"), ("given_names", "")],
        )
        .await;
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    assert_eq!(name_of(other.id).await, other_before);

    // The REST API reads and changes the name with the rest of the demographics; a
    // change without names leaves it.
    let token = app.token_for(&patient, None).await;
    let url = app.url(&format!(
        "/api/v1/patients/{}/record/demographics",
        patient.id
    ));
    let http = reqwest::Client::new();
    let put = |body: Value| http.put(&url).bearer_auth(&token).json(&body).send();
    let r = put(json!({"phone": "+51 1 555 0101", "family_name": "Quispe", "given_names": "Rosa"}))
        .await
        .unwrap();
    let (status, body) = (r.status(), r.json::<Value>().await.unwrap());
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["family_name"], &body["given_names"], &body["phone"]),
        (&json!("Quispe"), &json!("Rosa"), &json!("+51 1 555 0101"))
    );
    let r = put(json!({"phone": "+51 1 555 0102"})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(name_of(patient.id).await.0, "Rosa Quispe");
    let r = put(json!({"given_names": "Rosa"})).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(name_of(patient.id).await.0, "Rosa Quispe");
    app.shutdown().await;
}

/// A clinician groups lab results already in the chart into a lab report from the
/// chart page; results of another patient, an empty report and a patient's own attempt
/// are refused and store nothing.
async fn a_clinician_groups_lab_results_into_a_report(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let (patient, other) = (
        app.create_user(Role::Patient).await,
        app.create_user(Role::Patient).await,
    );
    let colleague = app.create_user(Role::Clinician).await;
    give_a_visit(&app, &clinician, &patient).await;
    give_a_visit(&app, &colleague, &other).await;
    let token = app.token_for(&clinician, None).await;
    let colleague_token = app.token_for(&colleague, None).await;
    let lab = |who: &TestUser, code: &str, text: &str, value: f64| {
        let body = json!({"code_system": "http://loinc.org", "code": code, "text": text,
            "value": value, "unit": "mmol/L", "effective": "2026-11-20"});
        let path = format!("/api/v1/patients/{}/record/labs", who.id);
        let api = &api;
        let token = if who.id == patient.id {
            token.clone()
        } else {
            colleague_token.clone()
        };
        async move {
            let (status, entry) = api.call("POST", &path, &token, Some(body)).await;
            assert_eq!(status, 201, "{entry}");
            entry["id"].as_str().unwrap().to_owned()
        }
    };
    let sodium = lab(&patient, "2951-2", "Sodium", 140.0).await;
    let potassium = lab(&patient, "2823-3", "Potassium", 4.1).await;
    let elsewhere = lab(&other, "2951-2", "Sodium", 139.0).await;

    let web = app.signed_in_web(&clinician).await;
    let chart = format!("/patients/{}/chart", patient.id);
    let page = web.get(&chart).await.text().await.unwrap();
    assert!(page.contains("id=\"add-lab-report\""));
    for id in [&sodium, &potassium] {
        assert!(
            page.contains(&format!("name=\"result\" value=\"{id}\"")),
            "{id}"
        );
    }
    assert!(!page.contains(&elsewhere));
    let form = format!("/patients/{}/chart/lab-reports", patient.id);
    let reports = || async {
        let (_, body) = api
            .call(
                "GET",
                &format!("/fhir/R4/DiagnosticReport?patient={}", patient.id),
                &token,
                None,
            )
            .await;
        body["entry"].as_array().cloned().unwrap_or_default()
    };
    let entries = count(&app, "chart_entries").await;
    for (fields, why) in [
        (
            vec![("text", "Electrolytes"), ("result", elsewhere.as_str())],
            "another patient's result",
        ),
        (
            vec![("text", "Electrolytes")],
            "no results and no conclusion",
        ),
    ] {
        let r = web.post(&form, &fields).await;
        assert_eq!(r.status(), 400, "{why}");
        assert_eq!(count(&app, "chart_entries").await, entries, "{why}");
    }
    let patient_web = app.signed_in_web(&patient).await;
    let r = patient_web
        .post(&form, &[("text", "Mine"), ("result", sodium.as_str())])
        .await;
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    assert!(reports().await.is_empty());

    let r = web
        .post(
            &form,
            &[
                ("text", "Electrolytes"),
                ("code", "24326-1"),
                ("effective", "2026-11-20"),
                ("result", sodium.as_str()),
                ("result", potassium.as_str()),
                ("note", "Within normal limits"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).unwrap().ends_with("#labs"));
    let found = reports().await;
    assert_eq!(found.len(), 1);
    let report = &found[0]["resource"];
    assert_eq!(report["code"]["coding"][0]["code"], "24326-1");
    assert_eq!(report["conclusion"], "Within normal limits");
    assert_eq!(
        report["result"],
        json!([{"reference": format!("Observation/{sodium}")},
               {"reference": format!("Observation/{potassium}")}])
    );
    app.shutdown().await;
}

on_both_databases!(
    a_clinician_groups_lab_results_into_a_report,
    a_patients_name_is_corrected_from_the_chart,
    the_access_matrix_holds_through_the_api,
    notes_lock_when_signed_and_change_only_by_addenda,
    break_the_glass_is_stated_time_limited_flagged_and_told,
    chart_entries_validate_and_keep_their_history,
    the_patient_downloads_the_whole_record,
);
