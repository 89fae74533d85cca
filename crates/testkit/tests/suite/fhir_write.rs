//! FHIR writes: create (and conditional create), update where telemed allows it, and
//! transaction and batch bundles importing synthetic patient histories.

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::synthetic::{count_of, patient_bundle};
use telemed_testkit::{Backend, TestApp};

use super::messaging::count;

/// A FHIR client of the suite: one caller's token, requests under `/fhir/R4`.
pub(super) struct Fhir<'a> {
    pub app: &'a TestApp,
    pub http: reqwest::Client,
    pub token: String,
}

impl Fhir<'_> {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let url = self.app.url(&format!("/fhir/R4{path}"));
        let mut r = match method {
            "POST" => self.http.post(url),
            "PUT" => self.http.put(url),
            _ => self.http.get(url),
        }
        .bearer_auth(&self.token);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/fhir+json")
                .body(serde_json::to_vec(b).unwrap());
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }
}

fn observation(patient: &str, code: &str, value: f64, unit: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2025-03-01T10:00:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}})
}

async fn stored(app: &TestApp) -> (i64, i64, i64) {
    (
        count(app, "users").await,
        count(app, "chart_entries").await,
        count(app, "audit_log").await,
    )
}

async fn resources_are_created_and_updated_under_the_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let f = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&clinician, None).await,
    };
    // A clinician registers a patient: created, and on the patient's care team.
    let patient = json!({"resourceType": "Patient",
        "name": [{"family": "Okafor", "given": ["Grace"]}], "gender": "female", "birthDate": "1980-07-14",
        "telecom": [{"system": "email", "value": "grace.okafor@example.org"}]});
    let (s, p, h) = f
        .send(
            "POST",
            "/Patient",
            Some(&patient),
            &[("if-none-exist", "email=grace.okafor@example.org")],
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    assert!(h["location"]
        .to_str()
        .unwrap()
        .ends_with(&format!("/fhir/R4/Patient/{pid}")));
    assert_eq!(p["name"][0]["family"], "Okafor");
    // The same conditional create again finds it: 200, nothing new.
    let users = count(&app, "users").await;
    let (s, again, _) = f
        .send(
            "POST",
            "/Patient",
            Some(&patient),
            &[("if-none-exist", "email=grace.okafor@example.org")],
        )
        .await;
    assert_eq!((s, again["id"].as_str()), (200, Some(pid.as_str())));
    assert_eq!(count(&app, "users").await, users);

    // Identifiers from another system are kept, found, and make imports idempotent;
    // one system's value names one patient.
    const MRN: &str = "urn:oid:2.16.840.1.113883.19.5";
    let with_mrn = json!({"resourceType": "Patient",
        "identifier": [{"system": MRN, "value": "MRN-0042"}, {"value": "local-7"}],
        "name": [{"family": "Mensah", "given": ["Kofi"]}]});
    let condition = format!("identifier={MRN}|MRN-0042");
    let (s, kofi, _) = f
        .send(
            "POST",
            "/Patient",
            Some(&with_mrn),
            &[("if-none-exist", &condition)],
        )
        .await;
    assert_eq!(s, 201, "{kofi}");
    let kid = kofi["id"].as_str().unwrap().to_owned();
    assert_eq!(
        kofi["identifier"],
        // As sent, in the sender's order.
        with_mrn["identifier"]
    );
    let (s, again, _) = f
        .send(
            "POST",
            "/Patient",
            Some(&with_mrn),
            &[("if-none-exist", &condition)],
        )
        .await;
    assert_eq!((s, again["id"].as_str()), (200, Some(kid.as_str())));
    for (query, expected) in [
        (format!("/Patient?identifier={MRN}|MRN-0042"), 1),
        ("/Patient?identifier=MRN-0042".to_owned(), 1),
        ("/Patient?identifier=|local-7".to_owned(), 1),
        ("/Patient?identifier=urn:oid:1.2.3|MRN-0042".to_owned(), 0),
        (format!("/Patient?identifier={MRN}|"), 1),
    ] {
        let (s, b, _) = f.send("GET", &query, None, &[]).await;
        assert_eq!(s, 200, "{query}: {b}");
        assert_eq!(
            b["entry"].as_array().map_or(0, Vec::len),
            expected,
            "{query}"
        );
    }
    let users = count(&app, "users").await;
    let mut twin = with_mrn.clone();
    twin["name"] = json!([{"family": "Boateng", "given": ["Ama"]}]);
    let (s, o, _) = f.send("POST", "/Patient", Some(&twin), &[]).await;
    assert_eq!(s, 409, "{o}");
    twin["identifier"] = json!([{"system": MRN}]);
    let (s, o, _) = f.send("POST", "/Patient", Some(&twin), &[]).await;
    assert_eq!(
        (s, &o["issue"][0]["expression"][0]),
        (422, &json!("identifier"))
    );
    assert_eq!(
        count(&app, "users").await,
        users,
        "refused patients are not stored"
    );

    // A patient registered without an address gets a reserved, never deliverable one:
    // no mail is ever queued to it.
    let (s, nameless, _) = f
        .send("POST", "/Patient", Some(&json!({"resourceType": "Patient", "name": [{"family": "Rossi", "given": ["Lia"]}]})), &[])
        .await;
    assert_eq!(s, 201, "{nameless}");
    let address: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(nameless["id"].as_str().unwrap())
        .fetch_one(app.state().store.pool())
        .await
        .unwrap();
    assert!(address.ends_with("@patients.invalid"), "{address}");
    // Her name corrected by an update: read, and found, by the new name only; an update
    // without a name is refused and changes nothing.
    let lia = nameless["id"].as_str().unwrap().to_owned();
    let mut renamed = nameless.clone();
    renamed["name"] = json!([{"family": "Conti", "given": ["Lia", "Maria"]}]);
    let (s, r, _) = f
        .send("PUT", &format!("/Patient/{lia}"), Some(&renamed), &[])
        .await;
    assert_eq!((s, &r["name"][0]["family"]), (200, &json!("Conti")), "{r}");
    // The earlier name is kept, of use `old`, ended when it changed.
    assert_eq!(r["name"].as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(
        (
            &r["name"][1]["use"],
            &r["name"][1]["family"],
            &r["name"][1]["text"]
        ),
        (&json!("old"), &json!("Rossi"), &json!("Lia Rossi"))
    );
    assert!(r["name"][1]["period"]["end"].is_string(), "{r}");
    // Sent back as read (both names), nothing changes and nothing more is kept.
    let (s, same, _) = f
        .send("PUT", &format!("/Patient/{lia}"), Some(&r), &[])
        .await;
    assert_eq!((s, &same["name"]), (200, &r["name"]));
    for (query, expected) in [
        ("family=conti", 1),
        ("name=lia%20maria", 1),
        ("family=rossi", 0),
    ] {
        let (s, b, _) = f
            .send(
                "GET",
                &format!("/Patient?{query}&_total=accurate"),
                None,
                &[],
            )
            .await;
        assert_eq!(
            (s, b["total"].as_i64()),
            (200, Some(expected)),
            "{query}: {b}"
        );
    }
    let mut unnamed = renamed.clone();
    unnamed["name"] = json!([]);
    let (s, o, _) = f
        .send("PUT", &format!("/Patient/{lia}"), Some(&unnamed), &[])
        .await;
    assert_eq!((s, &o["issue"][0]["expression"][0]), (422, &json!("name")));
    let (_, again, _) = f.send("GET", &format!("/Patient/{lia}"), None, &[]).await;
    assert_eq!(again["name"], r["name"]);
    let queued = count(&app, "mail_outbox").await;
    let mut tx = app.state().store.begin_write().await.unwrap();
    telemed_store::outbox::enqueue(
        &mut tx,
        &address,
        "Your visit",
        "Hello",
        None,
        telemed_domain::Clock::now(&app.clock),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&app, "mail_outbox").await, queued);

    // An observation for them, read back.
    let (s, o, h) = f
        .send(
            "POST",
            "/Observation",
            Some(&observation(&pid, "8867-4", 64.0, "/min")),
            &[],
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(h["etag"], "W/\"1\"");
    let oid = o["id"].as_str().unwrap().to_owned();
    let (s, back, _) = f
        .send("GET", &format!("/Observation/{oid}"), None, &[])
        .await;
    assert_eq!(
        (s, back["valueQuantity"]["value"].as_f64()),
        (200, Some(64.0))
    );

    // A condition, then resolved through an update (If-Match), then a stale update.
    let cond = json!({"resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45.909"}], "text": "Asthma"},
        "subject": {"reference": format!("Patient/{pid}")}, "onsetDateTime": "2020-01-01T00:00:00Z"});
    let (s, c, _) = f.send("POST", "/Condition", Some(&cond), &[]).await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_str().unwrap().to_owned();
    let mut resolved = c.clone();
    resolved["clinicalStatus"]["coding"][0]["code"] = json!("resolved");
    resolved["abatementDateTime"] = json!("2024-05-01T00:00:00Z");
    let (s, r, h) = f
        .send(
            "PUT",
            &format!("/Condition/{cid}"),
            Some(&resolved),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(h["etag"], "W/\"2\"");
    assert_eq!(r["clinicalStatus"]["coding"][0]["code"], "resolved");
    assert_eq!(r["abatementDateTime"], "2024-05-01T00:00:00Z");
    let (s, o, _) = f
        .send(
            "PUT",
            &format!("/Condition/{cid}"),
            Some(&resolved),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(s, 412, "{o}");
    // Changing what was recorded is not an update telemed makes.
    let mut edited = resolved.clone();
    edited["code"]["coding"][0]["code"] = json!("J45.20");
    let (s, o, _) = f
        .send("PUT", &format!("/Condition/{cid}"), Some(&edited), &[])
        .await;
    assert_eq!(s, 422, "{o}");
    assert_eq!(o["resourceType"], "OperationOutcome");

    // Both versions stay readable (vread), and the history lists them newest first.
    let (s, v1, h) = f
        .send("GET", &format!("/Condition/{cid}/_history/1"), None, &[])
        .await;
    assert_eq!(s, 200, "{v1}");
    assert_eq!(h["etag"], "W/\"1\"");
    assert_eq!(v1["clinicalStatus"]["coding"][0]["code"], "active");
    assert!(v1.get("abatementDateTime").is_none());
    let (s, v2, _) = f
        .send("GET", &format!("/Condition/{cid}/_history/2"), None, &[])
        .await;
    assert_eq!(
        (s, &v2["clinicalStatus"]["coding"][0]["code"]),
        (200, &json!("resolved"))
    );
    for missing in [
        format!("/Condition/{cid}/_history/3"),
        format!("/Observation/{cid}/_history/1"),
        format!("/Condition/{cid}/_history/x"),
    ] {
        assert_eq!(f.send("GET", &missing, None, &[]).await.0, 404, "{missing}");
    }
    let (s, history, _) = f
        .send("GET", &format!("/Condition/{cid}/_history"), None, &[])
        .await;
    assert_eq!(s, 200, "{history}");
    assert_eq!(history["type"], "history");
    let versions: Vec<(&str, &str)> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["resource"]["meta"]["versionId"].as_str().unwrap(),
                e["request"]["method"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [("2", "PUT"), ("1", "POST")]);
    super::fhir::passes_validators(&[v1, v2, history, kofi]);

    // Bad input: a clear 4xx, nothing stored.
    let stranger = app.create_user(Role::Patient).await;
    let outsider = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&stranger, None).await,
    };
    for path in [
        format!("/Condition/{cid}/_history/1"),
        format!("/Condition/{cid}/_history"),
    ] {
        assert_eq!(
            outsider.send("GET", &path, None, &[]).await.0,
            404,
            "{path}"
        );
    }
    let before = stored(&app).await;
    let cases: Vec<(&str, Value, u16)> = vec![
        // A weight in a unit telemed cannot convert (pounds are converted, the pounds
        // kept beside: see the fidelity suite).
        (
            "/Observation",
            observation(&pid, "29463-7", 10.0, "[stone_av]"),
            422,
        ),
        (
            "/Observation",
            observation(&pid, "8310-5", 98.6, "Cel"),
            422,
        ),
        (
            "/Observation",
            observation(&stranger.id.to_string(), "8867-4", 64.0, "/min"),
            422,
        ),
        (
            "/Observation",
            observation("not-an-id", "8867-4", 64.0, "/min"),
            422,
        ),
        (
            "/Observation",
            json!({"resourceType": "Observation", "code": {"text": "x"}}),
            422,
        ),
        ("/Observation", json!({"resourceType": "Condition"}), 422),
        ("/Observation", json!(["not", "a", "resource"]), 400),
        (
            "/Patient",
            json!({"resourceType": "Patient", "name": [{"family": "X"}], "birthDate": "2999-01-01"}),
            422,
        ),
        (
            "/Practitioner",
            json!({"resourceType": "Practitioner", "name": [{"family": "X"}]}),
            422,
        ),
        ("/Spaceship", json!({"resourceType": "Spaceship"}), 404),
    ];
    for (path, body, want) in cases {
        let (s, o, _) = f.send("POST", path, Some(&body), &[]).await;
        assert_eq!(s, want, "{path} {body}: {o}");
        assert_eq!(o["resourceType"], "OperationOutcome", "{path}");
    }
    let (users, entries, _) = stored(&app).await;
    assert_eq!((users, entries), (before.0, before.1), "nothing stored");
    // A patient's own token cannot register patients; their app writes nothing clinical.
    let pf = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&stranger, None).await,
    };
    let (s, _, _) = pf.send("POST", "/Patient", Some(&patient), &[]).await;
    assert_eq!(s, 403);
    let (s, _, _) = pf
        .send(
            "POST",
            "/Observation",
            Some(&observation(
                &stranger.id.to_string(),
                "8867-4",
                64.0,
                "/min",
            )),
            &[],
        )
        .await;
    assert_eq!(s, 422);
    app.shutdown().await;
}

async fn a_transaction_imports_a_whole_history_or_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let f = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&clinician, None).await,
    };
    let bundle = patient_bundle(7, 1, 5, 2025);
    let n = bundle["entry"].as_array().unwrap().len();
    assert!(n > 90, "{n} resources");
    let before = stored(&app).await;
    let (s, r, _) = f.send("POST", "", Some(&bundle), &[]).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["type"], "transaction-response");
    let out = r["entry"].as_array().unwrap();
    assert_eq!(out.len(), n);
    assert!(out.iter().all(|e| e["response"]["status"] == "201 Created"));
    let patient = out[0]["response"]["location"].as_str().unwrap().to_owned();
    assert!(patient.starts_with("Patient/"), "{patient}");
    let pid = patient.trim_start_matches("Patient/");
    let after = stored(&app).await;
    assert_eq!(after.0, before.0 + 1);
    assert_eq!(after.1 - before.1, n as i64 - 1);
    // Each created resource was audited in the same transaction.
    assert!(after.2 - before.2 >= n as i64);
    // What went in comes out through search.
    for rt in [
        "Observation",
        "Condition",
        "Immunization",
        "MedicationStatement",
        "AllergyIntolerance",
        "DiagnosticReport",
    ] {
        let (s, b, _) = f
            .send(
                "GET",
                &format!("/{rt}?patient={pid}&_total=accurate&_count=1"),
                None,
                &[],
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(b["total"], count_of(&bundle, rt), "{rt}");
    }
    let (_, bp, _) = f
        .send("GET", &format!("/Observation?patient={pid}&code=http://loinc.org|85354-9&date=ge2024-01-01&_total=accurate"), None, &[])
        .await;
    assert_eq!(
        bp["total"], 2,
        "two check-ups in 2024, the last year of 2020–2024"
    );

    // One bad entry at the end: the whole transaction is refused, nothing stored.
    let mut bad = patient_bundle(8, 2, 3, 2025);
    let entries = bad["entry"].as_array_mut().unwrap();
    let last = entries.len() - 1;
    entries[last]["resource"]["valueQuantity"]["value"] = json!(-5);
    entries[last]["resource"]["code"] =
        json!({"coding": [{"system": "http://loinc.org", "code": "8867-4"}]});
    entries[last]["resource"]["category"][0]["coding"][0]["code"] = json!("vital-signs");
    entries[last]["resource"]["valueQuantity"]["unit"] = json!("/min");
    entries[last]["resource"]["valueQuantity"]["code"] = json!("/min");
    let before = stored(&app).await;
    let (s, o, _) = f.send("POST", "", Some(&bad), &[]).await;
    assert_eq!(s, 422, "{o}");
    assert!(
        o["issue"][0]["details"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("entry {last}:")),
        "{o}"
    );
    let after = stored(&app).await;
    assert_eq!((after.0, after.1), (before.0, before.1));

    // A batch: each entry on its own.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": observation(pid, "8867-4", 70.0, "/min"), "request": {"method": "POST", "url": "Observation"}},
        {"resource": observation(pid, "8867-4", 7000.0, "/min"), "request": {"method": "POST", "url": "Observation"}},
        {"resource": {"resourceType": "Encounter"}, "request": {"method": "POST", "url": "Encounter"}},
        {"resource": observation(pid, "8867-4", 71.0, "/min"), "request": {"method": "POST", "url": "Observation"}}]});
    let entries_before = count(&app, "chart_entries").await;
    let (s, r, _) = f.send("POST", "", Some(&batch), &[]).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["type"], "batch-response");
    assert_eq!(
        statuses(&r),
        [
            "201 Created",
            "422 Unprocessable Entity",
            "422 Unprocessable Entity",
            "201 Created"
        ]
    );
    assert_eq!(
        r["entry"][1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(count(&app, "chart_entries").await, entries_before + 2);

    // Malformed bundles.
    for (body, want) in [
        (json!({"resourceType": "Bundle", "type": "collection"}), 400),
        (json!({"resourceType": "Patient"}), 400),
        (
            json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": observation(pid, "8867-4", 70.0, "/min"), "request": {"method": "DELETE", "url": "Observation/1"}}]}),
            400,
        ),
    ] {
        let (s, o, _) = f.send("POST", "", Some(&body), &[]).await;
        assert_eq!(s, want, "{body}: {o}");
    }
    app.shutdown().await;
}

/// A transaction's entries beyond plain creates: a conditional create that finds its
/// patient (and stands for it in the bundle), a reference that is a search, an update
/// with `ifMatch`, and reads, answered in the bundle's order; any failing write
/// undoes all of them. A batch answers each entry on its own.
async fn bundles_update_read_and_resolve_conditions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let f = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&clinician, None).await,
    };
    const MRN: &str = "urn:oid:2.16.840.1.113883.19.5";
    let patient = json!({"resourceType": "Patient",
        "identifier": [{"system": MRN, "value": "MRN-7"}],
        "name": [{"family": "Haddad", "given": ["Rami"]}]});
    let (s, p, _) = f.send("POST", "/Patient", Some(&patient), &[]).await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    let (s, first, _) = f
        .send(
            "POST",
            "/Observation",
            Some(&observation(&pid, "8867-4", 64.0, "/min")),
            &[],
        )
        .await;
    assert_eq!(s, 201, "{first}");
    let oid = first["id"].as_str().unwrap().to_owned();
    let mut wrong = first.clone();
    wrong["status"] = json!("entered-in-error");
    let by_mrn = format!("Patient?identifier={MRN}|MRN-7");
    let mut by_search = observation("x", "8867-4", 66.0, "/min");
    by_search["subject"]["reference"] = json!(by_mrn);
    let mut by_url = observation("x", "8867-4", 65.0, "/min");
    by_url["subject"]["reference"] = json!("urn:uuid:rami");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": format!("Observation/{oid}/_history/1")}},
        {"fullUrl": "urn:uuid:rami", "resource": patient,
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier={MRN}|MRN-7")}},
        {"resource": by_url, "request": {"method": "POST", "url": "Observation"}},
        {"resource": wrong, "request": {"method": "PUT", "url": format!("Observation/{oid}"), "ifMatch": "W/\"1\""}},
        {"resource": by_search, "request": {"method": "POST", "url": "Observation"}},
        {"request": {"method": "GET", "url": format!("Observation?patient={pid}&_total=accurate")}}]});
    let before = stored(&app).await;
    let (s, r, _) = f.send("POST", "", Some(&bundle), &[]).await;
    assert_eq!(s, 200, "{r}");
    let out = r["entry"].as_array().unwrap();
    assert_eq!(
        statuses(&r),
        [
            "200 OK",
            "200 OK",
            "201 Created",
            "200 OK",
            "201 Created",
            "200 OK"
        ]
    );
    // Reads come last: the version read sees what it was, the search what was written.
    assert_eq!(out[0]["resource"]["status"], "final");
    assert_eq!(out[0]["response"]["etag"], "W/\"1\"");
    assert_eq!(out[1]["response"]["location"], format!("Patient/{pid}"));
    assert_eq!(out[1]["resource"]["id"], pid.as_str());
    assert_eq!(out[3]["response"]["etag"], "W/\"2\"");
    assert_eq!(out[5]["resource"]["total"], 3, "{}", out[5]);
    let after = stored(&app).await;
    assert_eq!(
        after.0, before.0,
        "the conditional create found its patient"
    );
    assert_eq!(after.1, before.1 + 2);
    for (i, value) in [(2, 65.0), (4, 66.0)] {
        let location = out[i]["response"]["location"].as_str().unwrap();
        let (s, o, _) = f.send("GET", &format!("/{location}"), None, &[]).await;
        assert_eq!(s, 200, "{location}");
        assert_eq!(o["subject"]["reference"], format!("Patient/{pid}"));
        assert_eq!(o["valueQuantity"]["value"], value);
    }
    let (_, now, _) = f
        .send("GET", &format!("/Observation/{oid}"), None, &[])
        .await;
    assert_eq!(now["status"], "entered-in-error");

    // A stale ifMatch, a search that finds no one, an Appointment: the whole
    // transaction is refused, its creates undone.
    let mut undone = now.clone();
    undone["status"] = json!("final");
    let mut nobody = observation("x", "8867-4", 67.0, "/min");
    nobody["subject"]["reference"] = json!(format!("Patient?identifier={MRN}|MRN-404"));
    let appointment = json!({"resourceType": "Appointment", "status": "booked"});
    for (bad, status, entry) in [
        (
            json!({"resource": undone, "request": {"method": "PUT", "url": format!("Observation/{oid}"), "ifMatch": "W/\"1\""}}),
            412,
            1,
        ),
        (
            json!({"resource": nobody, "request": {"method": "POST", "url": "Observation"}}),
            422,
            1,
        ),
        (
            json!({"resource": appointment, "request": {"method": "POST", "url": "Appointment"}}),
            422,
            1,
        ),
        (
            json!({"request": {"method": "PUT", "url": "Observation?code=8867-4"}, "resource": now}),
            400,
            1,
        ),
    ] {
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": observation(&pid, "8867-4", 68.0, "/min"), "request": {"method": "POST", "url": "Observation"}},
            bad]});
        let before = stored(&app).await;
        let (s, o, _) = f.send("POST", "", Some(&bundle), &[]).await;
        assert_eq!(s, status, "{o}");
        let text = o["issue"][0]["details"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(text.starts_with(&format!("entry {entry}:")), "{o}");
        let after = stored(&app).await;
        assert_eq!((after.0, after.1), (before.0, before.1), "{o}");
    }
    let (_, still, _) = f
        .send("GET", &format!("/Observation/{oid}"), None, &[])
        .await;
    assert_eq!(
        (
            still["status"].as_str(),
            still["meta"]["versionId"].as_str()
        ),
        (Some("entered-in-error"), Some("2"))
    );

    // A batch: each entry as if sent alone, failures in place.
    let mut back = still.clone();
    back["status"] = json!("final");
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{pid}")}},
        {"request": {"method": "GET", "url": "Observation/999999999"}},
        {"resource": back.clone(), "request": {"method": "PUT", "url": format!("Observation/{oid}"), "ifMatch": "W/\"1\""}},
        {"request": {"method": "DELETE", "url": format!("Observation/{oid}")}},
        {"request": {"method": "GET", "url": format!("Observation?patient={pid}&code=http://loinc.org|8867-4&_count=1")}},
        {"request": {"method": "GET", "url": format!("Patient/{pid}/$everything")}}]});
    app.state().audit.flush().await.unwrap();
    let reads_before = demographics_reads(&app, &pid).await;
    let (s, r, _) = f.send("POST", "", Some(&batch), &[]).await;
    assert_eq!(s, 200, "{r}");
    let out = r["entry"].as_array().unwrap();
    assert_eq!(
        statuses(&r),
        [
            "200 OK",
            "404 Not Found",
            "412 Precondition Failed",
            "400 Bad Request",
            "200 OK",
            "400 Bad Request"
        ]
    );
    assert_eq!(out[0]["resource"]["name"][0]["family"], "Haddad");
    assert_eq!(
        out[2]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(out[4]["resource"]["type"], "searchset");
    assert_eq!(
        out[4]["resource"]["entry"].as_array().map(Vec::len),
        Some(1)
    );
    // The base with a slash takes bundles too; other paths under the base are FHIR 404s.
    let empty = json!({"resourceType": "Bundle", "type": "batch", "entry": []});
    let (s, r, _) = f.send("POST", "/", Some(&empty), &[]).await;
    assert_eq!((s, &r["type"]), (200, &json!("batch-response")), "{r}");
    for (method, path) in [
        ("POST", "/Observation/1/x"),
        ("GET", "/Observation/1/x/2/3"),
    ] {
        let (s, o, _) = f.send(method, path, Some(&empty), &[]).await;
        assert_eq!(
            (s, &o["resourceType"]),
            (404, &json!("OperationOutcome")),
            "{path}: {o}"
        );
    }
    // Every read in a bundle is audited as the same read alone would be.
    app.state().audit.flush().await.unwrap();
    assert_eq!(demographics_reads(&app, &pid).await, reads_before + 1);
    app.shutdown().await;
}

/// The `response.status` of each entry of a transaction or batch response.
fn statuses(response: &Value) -> Vec<&str> {
    response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect()
}

async fn demographics_reads(app: &TestApp, patient: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE patient_id = $1 AND action = 'record.demographics.read'",
    )
    .bind(patient)
    .fetch_one(app.state().store.pool())
    .await
    .unwrap()
}

fn lab(patient: &str, code: &str, value: f64, unit: &str) -> Value {
    let words = match code {
        "2093-3" => "Cholesterol [Mass/volume] in Serum or Plasma",
        _ => "HDL Cholesterol [Mass/volume] in Serum or Plasma",
    };
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": words}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2025-03-01T08:00:00Z",
        "valueQuantity": {"value": value, "unit": unit}})
}

fn report(patient: &str, results: &[&str]) -> Value {
    let results: Vec<Value> = results.iter().map(|r| json!({"reference": r})).collect();
    json!({"resourceType": "DiagnosticReport", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24331-1", "display": "Lipid panel"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2025-03-01T08:00:00Z",
        "result": results,
        "conclusion": "LDL above target; diet advice given."})
}

/// A laboratory's report groups results of its own patient; it is a DiagnosticReport,
/// never an Observation, and brings its results along with `_include`.
async fn lab_reports_group_their_patients_results(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let f = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&clinician, None).await,
    };
    let mut patients = vec![];
    for family in ["Ruiz", "Berg"] {
        let (s, p, _) = f
            .send(
                "POST",
                "/Patient",
                Some(&json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Ana"]}]})),
                &[],
            )
            .await;
        assert_eq!(s, 201, "{p}");
        patients.push(p["id"].as_str().unwrap().to_owned());
    }
    let (pid, other) = (&patients[0], &patients[1]);
    let mut labs = vec![];
    for (code, value, unit) in [("2093-3", 232.0, "mg/dL"), ("2085-9", 41.0, "mg/dL")] {
        let (s, o, _) = f
            .send(
                "POST",
                "/Observation",
                Some(&lab(pid, code, value, unit)),
                &[],
            )
            .await;
        assert_eq!(s, 201, "{o}");
        labs.push(format!("Observation/{}", o["id"].as_str().unwrap()));
    }
    let (s, pulse, _) = f
        .send(
            "POST",
            "/Observation",
            Some(&observation(pid, "8867-4", 70.0, "/min")),
            &[],
        )
        .await;
    assert_eq!(s, 201);
    let pulse = format!("Observation/{}", pulse["id"].as_str().unwrap());
    let (s, theirs, _) = f
        .send(
            "POST",
            "/Observation",
            Some(&lab(other, "2093-3", 180.0, "mg/dL")),
            &[],
        )
        .await;
    assert_eq!(s, 201);
    let theirs = format!("Observation/{}", theirs["id"].as_str().unwrap());

    // Refused, and nothing stored: another patient's result, a vital sign, a result
    // twice, a report without its status, a report as a result.
    let entries = count(&app, "chart_entries").await;
    let mut no_status = report(pid, &[&labs[0]]);
    no_status.as_object_mut().unwrap().remove("status");
    for (bad, element) in [
        (report(pid, &[&labs[0], &theirs]), "result"),
        (report(pid, &[&pulse]), "result"),
        (report(pid, &[&labs[0], &labs[0]]), "result"),
        (report(pid, &[&format!("Patient/{pid}")]), "result"),
        (no_status, "status"),
    ] {
        let (s, o, _) = f.send("POST", "/DiagnosticReport", Some(&bad), &[]).await;
        assert_eq!(s, 422, "{bad} → {o}");
        assert_eq!(o["issue"][0]["expression"][0], element, "{o}");
    }
    assert_eq!(count(&app, "chart_entries").await, entries);

    let (s, made, h) = f
        .send(
            "POST",
            "/DiagnosticReport",
            Some(&report(pid, &[&labs[0], &labs[1]])),
            &[],
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let rid = made["id"].as_str().unwrap().to_owned();
    assert!(h["location"]
        .to_str()
        .unwrap()
        .contains(&format!("/DiagnosticReport/{rid}")));
    let (s, read, _) = f
        .send("GET", &format!("/DiagnosticReport/{rid}"), None, &[])
        .await;
    assert_eq!(s, 200);
    assert_eq!(read["status"], "final");
    // The report as the laboratory sent it: no category was given, none is invented.
    assert_eq!(read.get("category"), None);
    assert_eq!(read["code"]["coding"][0]["code"], "24331-1");
    assert_eq!(read["conclusion"], "LDL above target; diet advice given.");
    assert_eq!(
        read["result"],
        json!([{"reference": labs[0]}, {"reference": labs[1]}])
    );
    assert!(read.get("note").is_none(), "{read}");
    // A report is not an Observation, and an Observation id is not a report.
    let (s, _, _) = f
        .send("GET", &format!("/Observation/{rid}"), None, &[])
        .await;
    assert_eq!(s, 404);
    let (s, _, _) = f
        .send(
            "GET",
            &format!("/DiagnosticReport/{}", &labs[0][12..]),
            None,
            &[],
        )
        .await;
    assert_eq!(s, 404);
    let (_, observations, _) = f
        .send(
            "GET",
            &format!("/Observation?patient={pid}&_total=accurate"),
            None,
            &[],
        )
        .await;
    assert_eq!(observations["total"], 3, "two results and a pulse");

    let (s, found, _) = f
        .send(
            "GET",
            &format!("/DiagnosticReport?patient={pid}&code=http://loinc.org|24331-1&date=ge2025-01-01&_include=DiagnosticReport:result"),
            None,
            &[],
        )
        .await;
    assert_eq!(s, 200, "{found}");
    let mut modes: Vec<(String, String)> = found["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["search"]["mode"].as_str().unwrap().to_owned(),
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap(),
                    e["resource"]["id"].as_str().unwrap()
                ),
            )
        })
        .collect();
    modes.sort();
    let mut results = labs.clone();
    results.sort();
    assert_eq!(
        modes,
        vec![
            ("include".to_owned(), results[0].clone()),
            ("include".to_owned(), results[1].clone()),
            ("match".to_owned(), format!("DiagnosticReport/{rid}")),
        ]
    );
    let (_, none, _) = f
        .send(
            "GET",
            &format!("/DiagnosticReport?patient={other}&_total=accurate"),
            None,
            &[],
        )
        .await;
    assert_eq!(none["total"], 0);

    // Corrected the way chart entries are: marked entered-in-error, a version kept.
    let mut wrong = read.clone();
    wrong["status"] = json!("entered-in-error");
    let (s, marked, _) = f
        .send(
            "PUT",
            &format!("/DiagnosticReport/{rid}"),
            Some(&wrong),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(s, 200, "{marked}");
    assert_eq!(marked["status"], "entered-in-error");
    let (s, first, _) = f
        .send(
            "GET",
            &format!("/DiagnosticReport/{rid}/_history/1"),
            None,
            &[],
        )
        .await;
    assert_eq!((s, first["status"].as_str()), (200, Some("final")));
    app.shutdown().await;
}

/// Requests with the same condition sent at once: one creates, the others find what it
/// created (single creates and transaction bundles), for conditions no uniqueness
/// constraint backs.
async fn concurrent_conditional_creates_make_one_resource(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let f = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&clinician, None).await,
    };
    let patient = json!({"resourceType": "Patient",
        "name": [{"family": "Lindqvist", "given": ["Eva"]}], "birthDate": "1975-02-03"});
    let (s, p, _) = f.send("POST", "/Patient", Some(&patient), &[]).await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    let pulse = observation(&pid, "8867-4", 64.0, "/min");
    let condition = format!("patient={pid}&code=http://loinc.org|8867-4&date=2025-03-01");
    let entries = count(&app, "chart_entries").await;
    let headers = [("if-none-exist", condition.as_str())];
    let answers = futures::future::join_all(
        (0..6).map(|_| f.send("POST", "/Observation", Some(&pulse), &headers)),
    )
    .await;
    let mut codes: Vec<u16> = answers.iter().map(|(s, _, _)| *s).collect();
    codes.sort();
    let ids_seen: Vec<&Value> = answers.iter().map(|(_, b, _)| &b["id"]).collect();
    assert_eq!(codes, [200, 200, 200, 200, 200, 201], "{ids_seen:?}");
    let ids: std::collections::HashSet<&str> = answers
        .iter()
        .map(|(_, b, _)| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "every answer is the one Observation");
    assert_eq!(count(&app, "chart_entries").await, entries + 1);

    // The same new patient (no identifier, no email) imported by four transactions at
    // once, each with a pulse referring to it: one patient, four pulses on it.
    let newcomer = json!({"resourceType": "Patient",
        "name": [{"family": "Nakamura", "given": ["Ken"]}], "birthDate": "1990-05-06"});
    let mut pulse = observation("x", "8867-4", 70.0, "/min");
    pulse["subject"]["reference"] = json!("urn:uuid:ken");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:ken", "resource": newcomer,
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": "family=Nakamura&birthdate=1990-05-06"}},
        {"resource": pulse, "request": {"method": "POST", "url": "Observation"}}]});
    let answers =
        futures::future::join_all((0..4).map(|_| f.send("POST", "", Some(&bundle), &[]))).await;
    let mut firsts = vec![];
    let mut patients = std::collections::HashSet::new();
    for (s, r, _) in &answers {
        assert_eq!(*s, 200, "{r}");
        firsts.push(statuses(r)[0].to_owned());
        let location = r["entry"][0]["response"]["location"].as_str().unwrap();
        patients.insert(location.split('/').nth(1).unwrap().to_owned());
    }
    firsts.sort();
    assert_eq!(firsts, ["200 OK", "200 OK", "200 OK", "201 Created"]);
    assert_eq!(patients.len(), 1, "every transaction refers to one patient");
    let ken = patients.into_iter().next().unwrap();
    let (s, found, _) = f
        .send(
            "GET",
            "/Patient?family=Nakamura&birthdate=1990-05-06&_total=accurate",
            None,
            &[],
        )
        .await;
    assert_eq!((s, found["total"].as_i64()), (200, Some(1)), "{found}");
    let (s, pulses, _) = f
        .send(
            "GET",
            &format!("/Observation?patient={ken}&_total=accurate"),
            None,
            &[],
        )
        .await;
    assert_eq!((s, pulses["total"].as_i64()), (200, Some(4)), "{pulses}");
}

on_both_databases!(
    concurrent_conditional_creates_make_one_resource,
    lab_reports_group_their_patients_results,
    resources_are_created_and_updated_under_the_policy,
    a_transaction_imports_a_whole_history_or_nothing,
    bundles_update_read_and_resolve_conditions,
);
