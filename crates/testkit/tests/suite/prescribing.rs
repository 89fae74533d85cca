//! E-prescribing through the API: the starter catalogue is there on the first day and
//! found by the words a prescriber types; a prescription being written is checked
//! against the patient's chart (a penicillin allergy on amoxicillin, warfarin with
//! ibuprofen, a child's dose by weight) for the clinician who may read the chart, and
//! refused, like a chart that does not exist, to anyone else.

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use super::messaging::{give_a_visit, Api};

fn names(found: &Value) -> Vec<String> {
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_catalogue_is_found_by_the_words_typed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let (status, found) = api
        .call("GET", "/api/v1/medications?q=amox%20500", &token, None)
        .await;
    assert_eq!(status, 200, "{found}");
    let found = names(&found);
    assert_eq!(
        found.first().map(String::as_str),
        Some("amoxicillin 500 MG Oral Capsule"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .all(|n| n.contains("amoxicillin") && n.contains(" 500")),
        "{found:?}"
    );
    let (_, warfarin) = api
        .call("GET", "/api/v1/medications?q=WARF&limit=1", &token, None)
        .await;
    assert_eq!(names(&warfarin), ["warfarin sodium 1 MG Oral Tablet"]);
    assert_eq!(warfarin[0]["ingredients"][0]["strength"], "1 mg");
    let (_, oxy) = api
        .call("GET", "/api/v1/medications?q=oxycodone%205", &token, None)
        .await;
    assert!(
        oxy.as_array()
            .unwrap()
            .iter()
            .all(|m| m["schedule"] == "II"),
        "{oxy}"
    );
    let (_, none) = api
        .call("GET", "/api/v1/medications?q=zzzz", &token, None)
        .await;
    assert_eq!(none, json!([]));
    let long = "a".repeat(101);
    let (status, body) = api
        .call(
            "GET",
            &format!("/api/v1/medications?q={long}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = api.call("GET", "/api/v1/medications", &token, None).await;
    assert_eq!(status, 400, "q is required");
    let (status, _) = api
        .call("GET", "/api/v1/medications?q=amox", "tm_pat_nobody", None)
        .await;
    assert_eq!(status, 401);
    app.shutdown().await;
}

fn amoxicillin_tid(dose: f64) -> Value {
    json!({
        "system": "urn:telemed:medication-starter",
        "code": "amoxicillin-500-mg-oral-capsule",
        "sig": {"dose": dose, "unit": "mg", "route": "oral", "frequency": "three_times_daily", "duration_days": 7}
    })
}

async fn a_prescription_is_checked_against_the_chart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    give_a_visit(&app, &clinician, &patient).await;
    let token = app.token_for(&clinician, None).await;
    let base = format!("/api/v1/patients/{}", patient.id);
    let check = format!("{base}/prescriptions/check");

    // Nothing in the chart: nothing found, and the sig in words.
    let (status, report) = api
        .call("POST", &check, &token, Some(amoxicillin_tid(500.0)))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["findings"], json!([]));
    assert_eq!(
        report["sig_text_en"],
        "Take 500 mg by mouth three times a day for 7 days."
    );
    assert_eq!(
        report["sig_text_es"],
        "Tomar 500 mg por vía oral tres veces al día durante 7 días."
    );
    assert_eq!(
        report["medication"]["name"],
        "amoxicillin 500 MG Oral Capsule"
    );

    // A penicillin allergy, written in words, warns on amoxicillin (a penicillin).
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/record/allergies"),
            &token,
            Some(json!({"text": "Penicillin", "severity": "severe", "reaction": "Hives"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, report) = api
        .call("POST", &check, &token, Some(amoxicillin_tid(500.0)))
        .await;
    let first = &report["findings"][0];
    assert_eq!(
        (first["kind"].as_str(), first["severity"].as_str()),
        (Some("allergy"), Some("major")),
        "{report}"
    );
    assert_eq!(first["needs_reason"], true);

    // Warfarin in the medication list, in words: ibuprofen is a major interaction.
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/record/medications"),
            &token,
            Some(json!({"text": "Warfarin 5 mg once daily", "dosage": "5 mg daily", "effective": "2026-01-10"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ibuprofen = json!({
        "system": "urn:telemed:medication-starter",
        "code": "ibuprofen-400-mg-oral-tablet",
        "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "every_hours", "every_hours": 8, "as_needed": "pain"}
    });
    let (status, report) = api.call("POST", &check, &token, Some(ibuprofen)).await;
    assert_eq!(status, 200, "{report}");
    let interaction = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "interaction")
        .unwrap_or_else(|| panic!("no interaction in {report}"));
    assert_eq!(interaction["severity"], "major");
    assert_eq!(
        report["sig_text_en"],
        "Take 1 tablet by mouth every 8 hours as needed for pain."
    );

    // A child of 16 kg: 1500 mg of amoxicillin a day is above 90 mg/kg/day.
    let (status, body) = api
        .call(
            "PUT",
            &format!("{base}/record/demographics"),
            &token,
            Some(json!({"birth_date": "2021-03-01", "sex": "female"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/record/vitals"),
            &token,
            Some(json!({"code_system": "http://loinc.org", "code": "29463-7", "value": 16, "effective": "2026-11-30"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, report) = api
        .call("POST", &check, &token, Some(amoxicillin_tid(500.0)))
        .await;
    let dose = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "dose")
        .unwrap_or_else(|| panic!("no dose finding in {report}"));
    assert_eq!(dose["severity"], "major");
    assert!(
        dose["detail"].as_str().unwrap().contains("93.8 mg/kg/day"),
        "{dose}"
    );
    let (_, report) = api
        .call("POST", &check, &token, Some(amoxicillin_tid(200.0)))
        .await;
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "dose"),
        "{report}"
    );
    app.shutdown().await;
}

async fn a_check_refuses_what_is_not_a_prescription_and_those_who_may_not_read_the_chart(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    give_a_visit(&app, &clinician, &patient).await;
    let token = app.token_for(&clinician, None).await;
    let check = |p: &str| format!("/api/v1/patients/{p}/prescriptions/check");
    let mine = check(&patient.id.to_string());

    let says = |body: &Value, words: &str| {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{body}");
    };
    let mut bad = amoxicillin_tid(500.0);
    bad["code"] = json!("no-such-product");
    let (status, body) = api.call("POST", &mine, &token, Some(bad)).await;
    assert_eq!(status, 400, "{body}");
    says(&body, "no such active product");
    let (status, body) = api
        .call("POST", &mine, &token, Some(amoxicillin_tid(0.0)))
        .await;
    assert_eq!(status, 400, "{body}");
    says(&body, "dose");
    let mut hours = amoxicillin_tid(500.0);
    hours["sig"]["every_hours"] = json!(6);
    let (status, body) = api.call("POST", &mine, &token, Some(hours)).await;
    assert_eq!(status, 400, "{body}");
    says(&body, "every_hours");
    let mut extra = amoxicillin_tid(500.0);
    extra["quantity"] = json!(21);
    let (status, _) = api.call("POST", &mine, &token, Some(extra)).await;
    assert_eq!(status, 400, "unknown fields are refused");

    // An unrelated clinician: the same answer as a patient that does not exist.
    let stranger = app.create_user(Role::Clinician).await;
    let stranger_token = app.token_for(&stranger, None).await;
    let (status, refused) = api
        .call("POST", &mine, &stranger_token, Some(amoxicillin_tid(500.0)))
        .await;
    let (missing_status, missing) = api
        .call(
            "POST",
            &check(&telemed_domain::UserId::new().to_string()),
            &stranger_token,
            Some(amoxicillin_tid(500.0)),
        )
        .await;
    assert_eq!((status, missing_status), (404, 404));
    assert_eq!(refused["error"]["code"], missing["error"]["code"]);
    // Patients do not prescribe, not even to themselves.
    let patient_token = app.token_for(&patient, None).await;
    let (status, _) = api
        .call("POST", &mine, &patient_token, Some(amoxicillin_tid(500.0)))
        .await;
    assert_eq!(status, 403);
    app.shutdown().await;
}

/// An RxNorm release (a sample in RxNorm's RRF format) becomes the catalogue's RxNorm
/// products beside the starter ones; a later release that drops a product leaves it
/// inactive, not gone; the import is audited.
async fn an_rxnorm_release_is_imported_and_a_later_one_retires_what_it_drops(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rxnorm");
    let ctx = telemed_testkit::test_ctx();
    let report =
        telemed_server::prescribing::import_rxnorm(app.state(), &ctx, &sample, &mut |_, _| {})
            .await
            .unwrap();
    assert_eq!(
        (
            report.read.products,
            report.added,
            report.updated,
            report.retired
        ),
        (2, 2, 0, 0)
    );
    let (_, found) = api
        .call(
            "GET",
            "/api/v1/medications?q=amoxicillin%20500%20capsule",
            &token,
            None,
        )
        .await;
    let rxnorm: Vec<&Value> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["system"] == telemed_domain::record::RXNORM)
        .collect();
    assert_eq!(rxnorm.len(), 1, "{found}");
    assert_eq!(rxnorm[0]["code"], "308191");
    assert_eq!(rxnorm[0]["ingredients"][0]["code"], "723");
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["system"] == "urn:telemed:medication-starter"),
        "the starter products stay: {found}"
    );
    // The RxNorm product is checked like any other.
    let patient = app.create_user(Role::Patient).await;
    give_a_visit(&app, &clinician, &patient).await;
    let proposed = json!({
        "system": telemed_domain::record::RXNORM, "code": "308191",
        "sig": {"dose": 1, "unit": "capsule", "route": "oral", "frequency": "three_times_daily", "duration_days": 7}
    });
    let (status, report_body) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/prescriptions/check", patient.id),
            &token,
            Some(proposed.clone()),
        )
        .await;
    assert_eq!(status, 200, "{report_body}");

    // The same release again: nothing new, both brought up to date.
    let again =
        telemed_server::prescribing::import_rxnorm(app.state(), &ctx, &sample, &mut |_, _| {})
            .await
            .unwrap();
    assert_eq!((again.added, again.updated, again.retired), (0, 2, 0));
    // A release without the amoxicillin capsule: it is retired, kept, and not offered.
    let scratch = |name: &str| {
        let dir =
            std::env::temp_dir().join(format!("telemed-rxnorm-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let later = scratch("later");
    for file in ["RXNCONSO.RRF", "RXNREL.RRF", "RXNSAT.RRF"] {
        let text = std::fs::read_to_string(sample.join(file)).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with("308191|") && !l.contains("|308191|A4|"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(later.join(file), kept).unwrap();
    }
    let later_report =
        telemed_server::prescribing::import_rxnorm(app.state(), &ctx, &later, &mut |_, _| {})
            .await
            .unwrap();
    assert_eq!((later_report.read.products, later_report.retired), (1, 1));
    let (_, found) = api
        .call(
            "GET",
            "/api/v1/medications?q=amoxicillin%20500%20capsule",
            &token,
            None,
        )
        .await;
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["code"] != "308191"),
        "{found}"
    );
    let retired = app
        .state()
        .store
        .medication(telemed_domain::record::RXNORM, "308191")
        .await
        .unwrap()
        .expect("a retired product is kept");
    assert!(!retired.medication.active);
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/prescriptions/check", patient.id),
            &token,
            Some(proposed),
        )
        .await;
    assert_eq!(status, 400, "a retired product is not prescribed: {body}");
    // Each import is audited; a folder without a release changes nothing.
    let imports: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'medications.import'")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap();
    assert_eq!(imports, 3);
    let empty = scratch("empty");
    let err = telemed_server::prescribing::import_rxnorm(app.state(), &ctx, &empty, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("RXNCONSO.RRF"), "{err}");
    for dir in [later, empty] {
        let _ = std::fs::remove_dir_all(dir);
    }
    app.shutdown().await;
}

/// A licensed knowledge base replaces the starter interaction pairs at once for the
/// checks; a file with one wrong line changes nothing.
async fn a_licensed_interaction_knowledge_base_replaces_the_starter_pairs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    give_a_visit(&app, &clinician, &patient).await;
    let token = app.token_for(&clinician, None).await;
    let base = format!("/api/v1/patients/{}", patient.id);
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/record/medications"),
            &token,
            Some(json!({"text": "Warfarin 5 mg once daily", "effective": "2026-01-10"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let check = |code: &str| {
        json!({
            "system": "urn:telemed:medication-starter", "code": code,
            "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "once_daily"}
        })
    };
    let interactions = |report: &Value| -> Vec<(String, String)> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "interaction")
            .map(|f| {
                (
                    f["severity"].as_str().unwrap().to_owned(),
                    f["advice"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let path = format!("{base}/prescriptions/check");
    let (_, before) = api
        .call(
            "POST",
            &path,
            &token,
            Some(check("ibuprofen-400-mg-oral-tablet")),
        )
        .await;
    assert_eq!(interactions(&before).len(), 1, "the starter pair: {before}");

    let ctx = telemed_testkit::test_ctx();
    let licensed = "a,b,severity,mechanism,advice\n\
                    warfarin,acetaminophen,moderate,\"INR rises with regular use, over 2 g a day\",Check INR after a week\n\
                    class:anticoagulants,class:salicylates,major,Bleeding,Avoid\n";
    let wrong = format!("{licensed}warfarin,class:no-such-class,major,m,a\n");
    let err =
        telemed_server::prescribing::import_interactions(app.state(), &ctx, &wrong, "csv test")
            .await
            .unwrap_err();
    assert!(
        err.to_string().contains("line 4: no class no-such-class"),
        "{err}"
    );
    let (_, unchanged) = api
        .call(
            "POST",
            &path,
            &token,
            Some(check("ibuprofen-400-mg-oral-tablet")),
        )
        .await;
    assert_eq!(
        interactions(&unchanged).len(),
        1,
        "a refused file changes nothing"
    );

    let report =
        telemed_server::prescribing::import_interactions(app.state(), &ctx, licensed, "csv test")
            .await
            .unwrap();
    assert_eq!(report.imported, 2);
    assert!(report.replaced >= 40, "{report:?}");
    let (_, after) = api
        .call(
            "POST",
            &path,
            &token,
            Some(check("ibuprofen-400-mg-oral-tablet")),
        )
        .await;
    assert_eq!(
        interactions(&after),
        vec![],
        "the starter pair is gone: {after}"
    );
    let (_, paracetamol) = api
        .call(
            "POST",
            &path,
            &token,
            Some(check("acetaminophen-500-mg-oral-tablet")),
        )
        .await;
    assert_eq!(
        interactions(&paracetamol),
        vec![("moderate".to_owned(), "Check INR after a week".to_owned())]
    );
    // What a restart loads is what was imported.
    let stored = app.state().store.knowledge().await.unwrap();
    assert_eq!(stored.interaction_count(), 2);
    let imports: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'medications.knowledge_import'",
    )
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(imports, 1);
    app.shutdown().await;
}

/// The record suite's cast, and its clinician with a visit ready to prescribe: their
/// API token, their browser signed in with a second factor, and fresh codes of it.
pub(super) struct Prescriber {
    pub patient: telemed_testkit::TestUser,
    pub people: Vec<(&'static str, telemed_testkit::TestUser, String)>,
    pub clinician: telemed_testkit::TestUser,
    pub token: String,
    pub web: telemed_testkit::WebClient,
    secret: String,
}

impl Prescriber {
    pub(super) async fn new(app: &TestApp, api: &Api<'_>) -> Prescriber {
        let super::record::Cast {
            patient, people, ..
        } = super::record::cast(app, api).await;
        let (_, clinician, token) = people
            .iter()
            .find(|(who, _, _)| *who == "a clinician with a visit")
            .unwrap()
            .clone();
        let (web, secret) = app.signed_in_with_totp(&clinician).await;
        Prescriber {
            patient,
            people,
            clinician,
            token,
            web,
            secret: secret.expect("clinicians enrol a second factor"),
        }
    }

    /// A second-factor code not used before (the clock moves on a step).
    pub(super) fn code(&self, app: &TestApp) -> String {
        app.clock.advance(chrono::Duration::seconds(31));
        telemed_testkit::totp_code(&self.secret, telemed_domain::Clock::now(&app.clock))
    }

    /// Whose token `who` of the cast holds.
    pub(super) fn token_of(&self, who: &str) -> String {
        self.people
            .iter()
            .find(|(w, _, _)| *w == who)
            .map(|(_, _, token)| token.clone())
            .unwrap()
    }
}

fn amoxicillin_to_sign(code: &str, overrides: Value) -> Value {
    json!({
        "system": "urn:telemed:medication-starter",
        "code": "amoxicillin-500-mg-oral-capsule",
        "sig": {"dose": 500, "unit": "mg", "route": "oral", "frequency": "three_times_daily", "duration_days": 7},
        "quantity": 21, "quantity_unit": "capsule", "refills": 0,
        "overrides": overrides,
        "second_factor": code
    })
}

/// Signing: the checks again, a reason for each serious finding, the second factor
/// again (once per code); nothing stored when any of it fails. Then who reads the
/// prescriptions, and cancelling with a reason.
async fn a_prescription_is_signed_with_the_second_factor_and_cancelled_with_a_reason(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let prescriber = Prescriber::new(&app, &api).await;
    let Prescriber {
        patient,
        people,
        clinician,
        token,
        web,
        ..
    } = &prescriber;
    let code = || prescriber.code(&app);
    let base = format!("/api/v1/patients/{}", patient.id);
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/record/allergies"),
            token,
            Some(json!({"text": "Penicillin", "severity": "severe", "reaction": "Hives"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let sign = format!("{base}/prescriptions");
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM prescriptions")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap()
    };
    let says = |body: &Value, words: &str| {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{words}: {body}");
    };

    // A major finding without a reason, then a wrong code: refused, nothing stored.
    let (status, body) = api
        .call(
            "POST",
            &sign,
            token,
            Some(amoxicillin_to_sign(&code(), json!([]))),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    says(&body, "signing over it needs a reason");
    let reason = json!([{"kind": "allergy", "subject": "allergy to Penicillin", "reason": "Tolerated amoxicillin in 2024 without reaction"}]);
    let (status, body) = api
        .call(
            "POST",
            &sign,
            token,
            Some(amoxicillin_to_sign("000000", reason.clone())),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    says(&body, "second-factor code");
    assert_eq!(stored().await, 0);

    // Signed: the finding and its reason are kept with it.
    let good = code();
    let (status, signed) = api
        .call(
            "POST",
            &sign,
            token,
            Some(amoxicillin_to_sign(&good, reason.clone())),
        )
        .await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["status"], "active");
    assert_eq!(signed["prescriber_id"], clinician.id.to_string());
    assert_eq!(
        signed["medication"]["name"],
        "amoxicillin 500 MG Oral Capsule"
    );
    assert_eq!(
        signed["sig_text_en"],
        "Take 500 mg by mouth three times a day for 7 days."
    );
    assert_eq!(signed["findings"][0]["kind"], "allergy");
    assert_eq!(
        signed["findings"][0]["override_reason"],
        "Tolerated amoxicillin in 2024 without reaction"
    );
    // The same code again is refused: a second factor proves presence once.
    let (status, body) = api
        .call(
            "POST",
            &sign,
            token,
            Some(amoxicillin_to_sign(&good, reason.clone())),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(stored().await, 1);

    // What a pharmacy could not fill.
    let mut too_many = amoxicillin_to_sign(&code(), reason.clone());
    too_many["refills"] = json!(6);
    let (status, body) = api.call("POST", &sign, token, Some(too_many)).await;
    assert_eq!(status, 400, "{body}");
    says(&body, "at most 5 refills");
    let oxycodone = json!({
        "system": "urn:telemed:medication-starter", "code": "oxycodone-hydrochloride-5-mg-oral-tablet",
        "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "every_hours", "every_hours": 6, "as_needed": "pain", "duration_days": 3},
        "quantity": 12, "quantity_unit": "tablet", "refills": 1, "second_factor": code()
    });
    let (status, body) = api.call("POST", &sign, token, Some(oxycodone)).await;
    assert_eq!(status, 400, "{body}");
    says(&body, "at most 0 refills");
    let mut nothing = amoxicillin_to_sign(&code(), reason.clone());
    nothing["quantity"] = json!(0);
    let (status, _) = api.call("POST", &sign, token, Some(nothing)).await;
    assert_eq!(status, 400);
    assert_eq!(stored().await, 1);

    // Who reads them: as the record's other clinical sections; refusals as missing.
    for (who, _, reader) in people {
        let (status, list) = api.call("GET", &sign, reader, None).await;
        if super::record::allowed(who, telemed_domain::record::Section::Prescriptions, false) {
            assert_eq!(status, 200, "{who}: {list}");
            assert_eq!(list.as_array().map(Vec::len), Some(1), "{who}");
        } else {
            let (missing_status, missing) = api
                .call(
                    "GET",
                    &format!(
                        "/api/v1/patients/{}/prescriptions",
                        telemed_domain::UserId::new()
                    ),
                    reader,
                    None,
                )
                .await;
            assert_eq!((status, missing_status), (404, 404), "{who}: {list}");
            assert_eq!(
                list["error"]["message"], missing["error"]["message"],
                "{who}"
            );
        }
        // Only the patient's clinicians sign.
        let (status, _) = api
            .call(
                "POST",
                &sign,
                reader,
                Some(amoxicillin_to_sign("123456", reason.clone())),
            )
            .await;
        let may = matches!(
            *who,
            "a clinician with a visit" | "a clinician on the care team"
        );
        assert!(
            may || status == 404 || status == 403,
            "{who} signed: {status}"
        );
    }
    assert_eq!(stored().await, 1);

    // The patient's copy carries a token any pharmacy verifies: signed by this clinic,
    // what to dispense, the patient's initials and birth year only.
    let rx_token = signed["token"].as_str().unwrap().to_owned();
    let page = |rx: String| {
        let http = api.http.clone();
        let url = app.url("/rx/verify");
        async move {
            let r = http.get(url).query(&[("token", rx)]).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = page(rx_token.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Valid: signed by this clinic"), "{html}");
    assert!(html.contains("amoxicillin 500 MG Oral Capsule"), "{html}");
    let (header, rest) = rx_token.split_once('.').unwrap();
    let (claims, signature) = rest.split_once('.').unwrap();
    let decode = |part: &str| -> Value {
        use base64::Engine as _;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let mut altered = decode(claims);
    assert_eq!(altered["jti"], signed["id"]);
    assert_eq!(altered["quantity"], 21.0);
    assert!(
        altered["patient"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k == "initials" || k == "birth_year"),
        "{altered}"
    );
    altered["quantity"] = json!(210);
    let forged = {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(altered.to_string());
        format!("{header}.{body}.{signature}")
    };
    let (status, html) = page(forged).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("not a prescription signed by this clinic"),
        "{html}"
    );
    let keys: Value = api
        .http
        .get(app.url("/.well-known/telemed-prescription-keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["kid"], decode(header)["kid"], "{keys}");
    // The patient's copy as a PDF in their language, with the QR code drawn in it.
    let pdf_path = format!(
        "/api/v1/prescriptions/{}/pdf",
        signed["id"].as_str().unwrap()
    );
    let fetch = |lang: &'static str, bearer: String| {
        let http = api.http.clone();
        let url = app.url(&format!("{pdf_path}?lang={lang}"));
        async move {
            let r = http.get(url).bearer_auth(bearer).send().await.unwrap();
            let kind = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (r.status().as_u16(), kind, r.bytes().await.unwrap().to_vec())
        }
    };
    let (status, kind, pdf) = fetch("en", prescriber.token_of("the patient")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = telemed_testkit::pdf_text(&pdf);
    assert!(
        text.contains("amoxicillin 500 MG Oral Capsule\n"),
        "the product is named: {text}"
    );
    assert!(text.contains("Take 500 mg by mouth three times a day for 7 days."));
    let (_, _, spanish) = fetch("es", token.clone()).await;
    assert!(telemed_testkit::pdf_text(&spanish).contains("Receta"));
    let (status, _, _) = fetch("fr", token.clone()).await;
    assert_eq!(status, 400);
    let (_, stranger, stranger_token) = people
        .iter()
        .find(|(who, _, _)| *who == "an unrelated clinician")
        .unwrap();
    assert_eq!(stranger.role, Role::Clinician);
    let (status, _, _) = fetch("en", stranger_token.clone()).await;
    assert_eq!(status, 404);

    // The chart lists it, with the copy to download in the page's language.
    let chart = web
        .get(&format!("/patients/{}/chart", patient.id))
        .await
        .text()
        .await
        .unwrap();
    let rx_id = signed["id"].as_str().unwrap();
    assert!(
        chart.contains(&format!("data-prescription=\"{rx_id}\"")),
        "{chart}"
    );
    assert!(chart.contains(&format!("/prescriptions/{rx_id}/pdf")));
    let copy = web.get(&format!("/prescriptions/{rx_id}/pdf")).await;
    assert_eq!(copy.status(), 200);
    assert_eq!(
        copy.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("private, no-store"),
        "a copy of health data is never cached"
    );
    assert!(copy.bytes().await.unwrap().starts_with(b"%PDF"));
    let status = app
        .web()
        .get(&format!("/prescriptions/{rx_id}/pdf"))
        .await
        .status();
    assert_ne!(status, 200, "not without a session");

    // Another, left active, to see its token go out of date.
    let cetirizine = json!({
        "system": "urn:telemed:medication-starter", "code": "cetirizine-hydrochloride-10-mg-oral-tablet",
        "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "once_daily", "duration_days": 30},
        "quantity": 30, "quantity_unit": "tablet", "second_factor": code()
    });
    let (status, antihistamine) = api.call("POST", &sign, token, Some(cetirizine)).await;
    assert_eq!(status, 201, "{antihistamine}");

    // Cancelling: a reason, once; the patient cannot.
    let id = signed["id"].as_str().unwrap();
    let cancel = format!("/api/v1/prescriptions/{id}/cancel");
    let (_, _, patient_token) = people
        .iter()
        .find(|(who, _, _)| *who == "the patient")
        .unwrap();
    let (status, _) = api
        .call(
            "POST",
            &cancel,
            patient_token,
            Some(json!({"reason": "no"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .call("POST", &cancel, token, Some(json!({"reason": " "})))
        .await;
    assert_eq!(status, 400);
    let (status, cancelled) = api
        .call(
            "POST",
            &cancel,
            token,
            Some(json!({"reason": "Allergist advises against it"})),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["status_reason"].as_str()
        ),
        (Some("cancelled"), Some("Allergist advises against it"))
    );
    let (status, _) = api
        .call("POST", &cancel, token, Some(json!({"reason": "again"})))
        .await;
    assert_eq!(status, 409);
    let (_, html) = page(rx_token.clone()).await;
    assert!(
        html.contains("Not to be dispensed") && html.contains("Allergist advises against it"),
        "{html}"
    );
    // Discontinuing: the patient stops taking it; ended once.
    let montelukast = json!({
        "system": "urn:telemed:medication-starter", "code": "montelukast-10-mg-oral-tablet",
        "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "at_bedtime"},
        "quantity": 30, "quantity_unit": "tablet", "second_factor": code()
    });
    let (status, to_stop) = api.call("POST", &sign, token, Some(montelukast)).await;
    assert_eq!(status, 201, "{to_stop}");
    let stop = format!(
        "/api/v1/prescriptions/{}/discontinue",
        to_stop["id"].as_str().unwrap()
    );
    let (status, stopped) = api
        .call(
            "POST",
            &stop,
            token,
            Some(json!({"reason": "Symptoms resolved"})),
        )
        .await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    let (status, _) = api
        .call("POST", &stop, token, Some(json!({"reason": "again"})))
        .await;
    assert_eq!(status, 409);

    // Two cancels at once of one prescription: exactly one wins.
    let loratadine = json!({
        "system": "urn:telemed:medication-starter", "code": "loratadine-10-mg-oral-tablet",
        "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "once_daily"},
        "quantity": 30, "quantity_unit": "tablet", "second_factor": code()
    });
    let (status, raced) = api.call("POST", &sign, token, Some(loratadine)).await;
    assert_eq!(status, 201, "{raced}");
    let race = format!(
        "/api/v1/prescriptions/{}/cancel",
        raced["id"].as_str().unwrap()
    );
    let (first, other) = tokio::join!(
        api.call(
            "POST",
            &race,
            token,
            Some(json!({"reason": "duplicate order"}))
        ),
        api.call(
            "POST",
            &race,
            token,
            Some(json!({"reason": "entered twice"}))
        ),
    );
    let mut statuses = [first.0, other.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", first.1, other.1);
    let (status, _) = api
        .call(
            "POST",
            "/api/v1/prescriptions/no-such-id/cancel",
            token,
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(status, 404);

    // The audit trail holds the signing with the reason, and the refused code.
    app.flush_audit().await;
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'record.prescriptions.write' AND outcome = 'success' ORDER BY seq LIMIT 1",
    )
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert!(
        detail.contains("signed over major allergy") && detail.contains("Tolerated amoxicillin"),
        "{detail}"
    );
    let refused: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'prescription.sign' AND outcome = 'failure'",
    )
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert!(refused >= 2, "the wrong and the replayed code: {refused}");
    // A year and a day after signing, its token is out of date.
    app.clock.advance(chrono::Duration::days(366));
    let (_, html) = page(antihistamine["token"].as_str().unwrap().to_owned()).await;
    assert!(html.contains("Expired"), "{html}");
    app.shutdown().await;
}

on_both_databases!(
    a_prescription_is_signed_with_the_second_factor_and_cancelled_with_a_reason,
    a_licensed_interaction_knowledge_base_replaces_the_starter_pairs,
    an_rxnorm_release_is_imported_and_a_later_one_retires_what_it_drops,
    the_catalogue_is_found_by_the_words_typed,
    a_prescription_is_checked_against_the_chart,
    a_check_refuses_what_is_not_a_prescription_and_those_who_may_not_read_the_chart,
);
