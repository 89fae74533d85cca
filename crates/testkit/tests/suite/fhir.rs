//! The FHIR R4 API: reads and searches under the record's policy and audit, search
//! parameters as FHIR defines them, errors as OperationOutcome, and every resource it
//! returns checked by validators telemed did not write.

use std::collections::HashMap;

use serde_json::{json, Value};
use telemed_domain::{Role, UserId};
use telemed_testkit::{Backend, TestApp, TestUser};

use super::messaging::{count, give_a_visit, Api};

const REPORT: &[u8] = b"%PDF-1.4\n% a dermatology report\n%%EOF\n";

/// A patient with a record of every kind, their clinician (with a visit), and tokens.
struct Chart {
    patient: TestUser,
    clinician: TestUser,
    patient_token: String,
    clinician_token: String,
    /// Entry ids by a name of the test's ("bp", "pulse", "a1c", "psoriasis"…).
    ids: HashMap<&'static str, String>,
}

async fn chart(app: &TestApp, api: &Api<'_>) -> Chart {
    let patient = app
        .create_named_user(Role::Patient, "Ana María López")
        .await;
    let clinician = app.create_named_user(Role::Clinician, "Elena García").await;
    give_a_visit(app, &clinician, &patient).await;
    let patient_token = app.token_for(&patient, None).await;
    let clinician_token = app.token_for(&clinician, None).await;
    let base = format!("/api/v1/patients/{}", patient.id);
    let (status, body) = api
        .call(
            "PUT",
            &format!("{base}/record/demographics"),
            &clinician_token,
            Some(
                json!({"birth_date": "1984-02-29", "sex": "female", "phone": "+34 600 000 000",
                "address": "Calle Mayor 1, Madrid", "emergency_contact": "Luis López",
                "emergency_phone": "+34 600 000 001"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entries: [(&str, &str, Value); 9] = [
        (
            "psoriasis",
            "problems",
            json!({"code_system": "http://hl7.org/fhir/sid/icd-10", "code": "L40.0",
            "text": "Psoriasis vulgaris", "effective": "2019-03-01", "note": "Elbows and knees"}),
        ),
        (
            "flu",
            "problems",
            json!({"code_system": "http://snomed.info/sct", "code": "6142004",
            "text": "Influenza", "effective": "2024-01-10"}),
        ),
        (
            "penicillin",
            "allergies",
            json!({"text": "Penicillin", "severity": "severe", "reaction": "Anaphylaxis"}),
        ),
        (
            "latex",
            "allergies",
            json!({"text": "Latex", "severity": "mild"}),
        ),
        (
            "amlodipine",
            "medications",
            json!({"code_system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "197361", "text": "Amlodipine 5 mg tablet", "dosage": "1 tablet daily", "effective": "2023-05-01"}),
        ),
        (
            "influenza-vaccine",
            "immunizations",
            json!({"code_system": "http://hl7.org/fhir/sid/cvx", "code": "140",
            "text": "Influenza, seasonal", "effective": "2025-10-15", "note": "Lot AB123"}),
        ),
        (
            "bp",
            "vitals",
            json!({"code_system": "http://loinc.org", "code": "85354-9", "value": 128, "value2": 82,
            "effective": "2025-06-01T09:30:00Z"}),
        ),
        (
            "pulse",
            "vitals",
            json!({"code_system": "http://loinc.org", "code": "8867-4", "value": 72,
            "effective": "2024-06-01T09:30:00Z"}),
        ),
        (
            "a1c",
            "labs",
            json!({"code_system": "http://loinc.org", "code": "4548-4", "text": "Hemoglobin A1c",
            "value": 6.1, "unit": "%", "range_low": 4.0, "range_high": 5.6, "effective": "2025-06-02"}),
        ),
    ];
    let mut ids = HashMap::new();
    for (name, section, body) in entries {
        let (status, got) = api
            .call(
                "POST",
                &format!("{base}/record/{section}"),
                &clinician_token,
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{name}: {got}");
        ids.insert(name, got["id"].as_str().unwrap().to_owned());
    }
    // The flu is over; the latex allergy was recorded by mistake.
    for (name, section, status, ended) in [
        ("flu", "problems", "resolved", Some("2024-01-20")),
        ("latex", "allergies", "entered-in-error", None),
    ] {
        let (code, got) = api
            .call(
                "POST",
                &format!("{base}/record/{section}/{}/status", ids[name]),
                &clinician_token,
                Some(json!({"status": status, "version": 1, "ended": ended})),
            )
            .await;
        assert_eq!(code, 200, "{name}: {got}");
    }
    // A report, filed by the clinician.
    let (status, doc) = api
        .file_document(
            &clinician_token,
            patient.id,
            super::documents::Form {
                file: ("report.pdf", REPORT.to_vec()),
                fields: vec![
                    ("category", "report".into()),
                    ("title", "Dermatology report".into()),
                ],
            },
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    ids.insert("report", doc["id"].as_str().unwrap().to_owned());
    Chart {
        patient,
        clinician,
        patient_token,
        clinician_token,
        ids,
    }
}

/// GET a FHIR path; the status, the body and the response's content type.
pub(super) async fn get(api: &Api<'_>, path: &str, token: Option<&str>) -> (u16, Value, String) {
    let mut request = api.http.get(api.app.url(&format!("/fhir/R4/{path}")));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut body: Value = r.json().await.unwrap_or(Value::Null);
    if let Some(e) = etag {
        body["__etag"] = json!(e);
    }
    (status, body, kind)
}

pub(super) fn ids_of(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .map(|l| l["url"].as_str().unwrap().to_owned())
}

async fn chart_entries_are_read_and_searched_as_fhir_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let c = chart(&app, &api).await;
    let t = Some(c.clinician_token.as_str());
    let p = c.patient.id;

    // Each entry reads as its type, with its version as ETag.
    for (name, rt) in [
        ("psoriasis", "Condition"),
        ("penicillin", "AllergyIntolerance"),
        ("amlodipine", "MedicationStatement"),
        ("influenza-vaccine", "Immunization"),
        ("bp", "Observation"),
        ("a1c", "Observation"),
    ] {
        let (status, r, kind) = get(&api, &format!("{rt}/{}", c.ids[name]), t).await;
        assert_eq!(status, 200, "{name}: {r}");
        assert!(kind.starts_with("application/fhir+json"), "{kind}");
        assert_eq!(r["resourceType"], rt);
        assert_eq!(r["id"], c.ids[name].as_str());
        assert_eq!(r["meta"]["versionId"], "1");
        assert_eq!(r["__etag"], "W/\"1\"");
        // The same id as another type is no such resource.
        let other = if rt == "Condition" {
            "Observation"
        } else {
            "Condition"
        };
        let (status, o, _) = get(&api, &format!("{other}/{}", c.ids[name]), t).await;
        assert_eq!(status, 404, "{name} as {other}");
        assert_eq!(o["resourceType"], "OperationOutcome");
        assert_eq!(o["issue"][0]["code"], "not-found");
    }
    // Many reads at once (more than the connections kept for reads on SQLite): each
    // answered with its own resource.
    let names = ["psoriasis", "penicillin", "amlodipine", "bp", "a1c"];
    let reads = (0..40).map(|i| {
        let name = names[i % names.len()];
        let rt = match name {
            "psoriasis" => "Condition",
            "penicillin" => "AllergyIntolerance",
            "amlodipine" => "MedicationStatement",
            _ => "Observation",
        };
        let api = &api;
        let id = c.ids[name].clone();
        async move { (id.clone(), get(api, &format!("{rt}/{id}"), t).await) }
    });
    for (id, (status, r, _)) in futures::future::join_all(reads).await {
        assert_eq!((status, r["id"].as_str()), (200, Some(id.as_str())), "{r}");
    }
    // What the mapping carries.
    let (_, bp, _) = get(&api, &format!("Observation/{}", c.ids["bp"]), t).await;
    assert_eq!(bp["category"][0]["coding"][0]["code"], "vital-signs");
    assert_eq!(bp["code"]["coding"][0]["code"], "85354-9");
    assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(bp["component"][0]["valueQuantity"]["value"], 128.0);
    assert_eq!(bp["component"][1]["valueQuantity"]["value"], 82.0);
    assert_eq!(bp["component"][1]["valueQuantity"]["code"], "mm[Hg]");
    assert_eq!(bp["subject"]["reference"], format!("Patient/{p}"));
    assert_eq!(bp["effectiveDateTime"], "2025-06-01T09:30:00Z");
    let (_, a1c, _) = get(&api, &format!("Observation/{}", c.ids["a1c"]), t).await;
    assert_eq!(a1c["valueQuantity"]["value"], 6.1);
    assert_eq!(a1c["interpretation"][0]["coding"][0]["code"], "H");
    assert_eq!(a1c["referenceRange"][0]["high"]["value"], 5.6);
    let (_, flu, _) = get(&api, &format!("Condition/{}", c.ids["flu"]), t).await;
    assert_eq!(flu["clinicalStatus"]["coding"][0]["code"], "resolved");
    // The date as the clinician typed it, not a UTC midnight.
    assert_eq!(flu["abatementDateTime"], "2024-01-20");
    assert_eq!(flu["meta"]["versionId"], "2");
    let (_, latex, _) = get(&api, &format!("AllergyIntolerance/{}", c.ids["latex"]), t).await;
    assert_eq!(
        latex["verificationStatus"]["coding"][0]["code"],
        "entered-in-error"
    );
    assert!(latex.get("clinicalStatus").is_none(), "{latex}");
    let (_, pen, _) = get(
        &api,
        &format!("AllergyIntolerance/{}", c.ids["penicillin"]),
        t,
    )
    .await;
    assert_eq!(pen["criticality"], "high");
    assert_eq!(
        pen["reaction"][0]["manifestation"][0]["text"],
        "Anaphylaxis"
    );

    // Searches: by patient, category, code (system|code and code alone), date prefixes.
    let search = |q: String| {
        let api = &api;
        async move { get(api, &q, t).await }
    };
    let (status, all, _) = search(format!("Observation?patient={p}")).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["type"], "searchset");
    assert_eq!(all["total"], 3);
    // Newest first by default.
    assert_eq!(
        ids_of(&all),
        [
            c.ids["a1c"].as_str(),
            c.ids["bp"].as_str(),
            c.ids["pulse"].as_str()
        ]
    );
    let cases: [(String, Vec<&str>); 10] = [
        (
            format!("Observation?subject=Patient/{p}&category=vital-signs"),
            vec!["bp", "pulse"],
        ),
        (
            format!("Observation?patient={p}&category=laboratory"),
            vec!["a1c"],
        ),
        (
            format!("Observation?patient={p}&code=http://loinc.org|8867-4"),
            vec!["pulse"],
        ),
        (
            format!("Observation?patient={p}&code=4548-4,8867-4"),
            vec!["a1c", "pulse"],
        ),
        (
            format!("Observation?patient={p}&code=http://snomed.info/sct|8867-4"),
            vec![],
        ),
        (
            format!("Observation?patient={p}&date=2025"),
            vec!["a1c", "bp"],
        ),
        (
            format!("Observation?patient={p}&date=lt2025-01-01"),
            vec!["pulse"],
        ),
        (
            format!("Observation?patient={p}&date=ge2025-06-01&date=le2025-06-01"),
            vec!["bp"],
        ),
        (
            format!("Condition?patient={p}&clinical-status=active"),
            vec!["psoriasis"],
        ),
        (
            format!("Condition?patient={p}&onset-date=sa2020&_sort=onset-date"),
            vec!["flu"],
        ),
    ];
    for (q, want) in cases {
        let (status, b, _) = search(q.clone()).await;
        assert_eq!(status, 200, "{q}: {b}");
        let mut got = ids_of(&b);
        got.sort();
        let mut want: Vec<String> = want.iter().map(|n| c.ids[n].clone()).collect();
        want.sort();
        assert_eq!(got, want, "{q}");
    }
    let (_, sorted, _) = search(format!("Observation?patient={p}&_sort=date")).await;
    assert_eq!(
        ids_of(&sorted),
        [
            c.ids["pulse"].as_str(),
            c.ids["bp"].as_str(),
            c.ids["a1c"].as_str()
        ]
    );

    // Paging: _count=2, then the next link, which repeats the query.
    let (_, page1, _) = search(format!("Observation?patient={p}&_count=2&_total=accurate")).await;
    assert_eq!(page1["total"], 3);
    assert_eq!(ids_of(&page1).len(), 2);
    let next = link(&page1, "next").expect("a next link");
    assert!(next.starts_with(&app.state().config.public_url), "{next}");
    let next_path = next.split("/fhir/R4/").nth(1).unwrap().to_owned();
    let (_, page2, _) = search(next_path).await;
    assert_eq!(ids_of(&page2), [c.ids["pulse"].as_str()]);
    assert!(link(&page2, "next").is_none());
    // _summary=count: the number of matches and no resources, whatever _count says.
    let (_, counted, _) = search(format!("Observation?patient={p}&_summary=count&_count=5")).await;
    assert_eq!(counted["total"], 3);
    assert!(counted.get("entry").is_none(), "{counted}");
    let (s, o, _) = get(&api, &format!("Observation?patient={p}&_summary=text"), t).await;
    assert_eq!(
        (s, &o["issue"][0]["expression"][0]),
        (400, &json!("_summary"))
    );
    assert!(link(&page2, "previous").is_some());

    // _include brings the patient once.
    let (_, with, _) = search(format!(
        "Observation?patient={p}&_include=Observation:patient"
    ))
    .await;
    let included: Vec<&Value> = with["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .collect();
    assert_eq!(included.len(), 1);
    assert_eq!(included[0]["resource"]["resourceType"], "Patient");

    // POST _search with a form body answers the same.
    let r = api
        .http
        .post(app.url("/fhir/R4/Observation/_search"))
        .bearer_auth(&c.clinician_token)
        .form(&[
            ("patient", p.to_string()),
            ("category", "laboratory".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(ids_of(&b), [c.ids["a1c"].as_str()]);

    // $everything: the patient, all nine entries, the document and the visit.
    let (status, all, _) = get(&api, &format!("Patient/{p}/$everything"), t).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["total"], 12);
    let mut kinds: Vec<&str> = all["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "AllergyIntolerance",
            "Appointment",
            "Condition",
            "DocumentReference",
            "Immunization",
            "MedicationStatement",
            "Observation",
            "Patient"
        ]
    );
    let stranger = app.create_user(Role::Clinician).await;
    let st = app.token_for(&stranger, None).await;
    // A clinician without a care relationship sees the demographics every clinician
    // may, and nothing of the record.
    let (status, theirs, _) = get(&api, &format!("Patient/{p}/$everything"), Some(&st)).await;
    assert_eq!(status, 200);
    assert_eq!(theirs["total"], 1, "{theirs}");
    assert_eq!(theirs["entry"][0]["resource"]["resourceType"], "Patient");

    // The document, and its file through Binary.
    let (status, docs, _) = get(
        &api,
        &format!("DocumentReference?patient={p}&category=report"),
        t,
    )
    .await;
    assert_eq!(status, 200, "{docs}");
    assert_eq!(ids_of(&docs), [c.ids["report"].as_str()]);
    let (_, none, _) = get(
        &api,
        &format!("DocumentReference?patient={p}&category=photo"),
        t,
    )
    .await;
    assert_eq!(ids_of(&none).len(), 0);
    let (status, d, _) = get(&api, &format!("DocumentReference/{}", c.ids["report"]), t).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        d["content"][0]["attachment"]["contentType"],
        "application/pdf"
    );
    // Absolute, as strict validators ask.
    assert_eq!(
        d["content"][0]["attachment"]["url"],
        format!(
            "{}/fhir/R4/Binary/{}",
            app.state().config.public_url,
            c.ids["report"]
        )
    );
    let r = api
        .http
        .get(app.url(&format!("/fhir/R4/Binary/{}", c.ids["report"])))
        .bearer_auth(&c.clinician_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().as_ref(), REPORT);
    let (status, _, _) = get(
        &api,
        &format!("DocumentReference/{}", c.ids["report"]),
        Some(&st),
    )
    .await;
    assert_eq!(status, 404);

    // The patient reads their own record the same way.
    let (_, own, _) = get(
        &api,
        &format!("Observation?patient={p}"),
        Some(&c.patient_token),
    )
    .await;
    assert_eq!(ids_of(&own).len(), 3);
    app.shutdown().await;
}

async fn patients_and_practitioners_are_found_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let c = chart(&app, &api).await;
    let other = app.create_named_user(Role::Patient, "Álvaro Núñez").await;
    let staff = app.create_user(Role::Staff).await;
    let staff_token = app.token_for(&staff, None).await;
    let t = Some(staff_token.as_str());
    let found = |q: &str| {
        let (api, q) = (&api, q.to_owned());
        async move {
            let (status, b, _) = get(api, &q, t).await;
            assert_eq!(status, 200, "{q}: {b}");
            ids_of(&b)
        }
    };
    let ana = c.patient.id.to_string();
    let alvaro = other.id.to_string();
    assert_eq!(found("Patient?name=ana").await, [ana.as_str()]);
    assert_eq!(found("Patient?name=mar").await, [ana.as_str()]);
    assert_eq!(found("Patient?name=LOPEZ").await, [ana.as_str()]);
    assert_eq!(found("Patient?name=alvaro").await, [alvaro.as_str()]);
    assert_eq!(found("Patient?family=nunez").await, [alvaro.as_str()]);
    assert_eq!(found("Patient?given=nunez").await, Vec::<String>::new());
    assert_eq!(found("Patient?name=opez").await, Vec::<String>::new());
    assert_eq!(found("Patient?name:contains=opez").await, [ana.as_str()]);
    assert_eq!(found("Patient?name:exact=López").await, [ana.as_str()]);
    assert_eq!(
        found("Patient?name=ana,alvaro&_sort=name").await,
        [ana.as_str(), alvaro.as_str()]
    );
    assert_eq!(found("Patient?birthdate=1984").await, [ana.as_str()]);
    assert_eq!(
        found("Patient?birthdate=lt1984-02-29").await,
        Vec::<String>::new()
    );
    assert_eq!(
        found("Patient?birthdate=le1984-02-29").await,
        [ana.as_str()]
    );
    assert_eq!(found("Patient?gender=female").await, [ana.as_str()]);
    assert_eq!(
        found(&format!("Patient?_id={alvaro}")).await,
        [alvaro.as_str()]
    );
    assert_eq!(
        found(&format!("Patient?email={}", c.patient.email)).await,
        [ana.as_str()]
    );

    let (status, ana_r, _) = get(&api, &format!("Patient/{ana}"), t).await;
    assert_eq!(status, 200, "{ana_r}");
    assert_eq!(ana_r["name"][0]["family"], "López");
    assert_eq!(ana_r["name"][0]["given"], json!(["Ana", "María"]));
    assert_eq!(ana_r["birthDate"], "1984-02-29");
    assert_eq!(ana_r["gender"], "female");
    assert_eq!(ana_r["contact"][0]["name"]["text"], "Luis López");

    // Name search narrows through the index of name words; accounts that predate it
    // are indexed when the store starts.
    let pool = app.state().store.pool();
    sqlx::query("DELETE FROM person_name_words WHERE user_id = $1")
        .bind(alvaro.clone())
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(found("Patient?name=alvaro").await, Vec::<String>::new());
    assert_eq!(
        found("Patient?name:contains=lvaro").await,
        [alvaro.as_str()]
    );
    app.state().store.migrate().await.unwrap();
    assert_eq!(found("Patient?name=alvaro").await, [alvaro.as_str()]);

    // A patient finds only themself.
    let (_, own, _) = get(&api, "Patient?name=a", Some(&c.patient_token)).await;
    assert_eq!(ids_of(&own), [ana.as_str()]);
    let (status, _, _) = get(&api, &format!("Patient/{alvaro}"), Some(&c.patient_token)).await;
    assert_eq!(status, 404);

    // The practitioner directory.
    let (_, docs, _) = get(&api, "Practitioner?name=garcia", Some(&c.patient_token)).await;
    assert_eq!(ids_of(&docs), [c.clinician.id.to_string()]);
    let (_, doc, _) = get(&api, &format!("Practitioner/{}", c.clinician.id), t).await;
    assert_eq!(doc["name"][0]["family"], "García");
    // A patient is not a practitioner.
    let (status, _, _) = get(&api, &format!("Practitioner/{ana}"), t).await;
    assert_eq!(status, 404);

    // Each patient a search returned is audited as a demographics read.
    app.flush_audit().await;
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'record.demographics.read' AND actor_id = $1 AND patient_id = $2",
    )
    .bind(staff.id.to_string())
    .bind(other.id.to_string())
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 6, "alvaro was returned by six searches");
    app.shutdown().await;
}

async fn the_record_policy_holds_through_fhir(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let c = chart(&app, &api).await;
    let p = c.patient.id;
    let stranger = app.create_user(Role::Clinician).await;
    let stranger_token = app.token_for(&stranger, None).await;
    let other_patient = app.create_user(Role::Patient).await;
    let other_token = app.token_for(&other_patient, None).await;
    let staff = app.create_user(Role::Staff).await;
    let staff_token = app.token_for(&staff, None).await;
    let nobody = UserId::new();
    let audit_before = count(&app, "audit_log").await;

    // Staff have no clinical scope at all: refused by scope, for every patient alike.
    for path in [
        format!("Condition/{}", c.ids["psoriasis"]),
        format!("Observation?patient={p}"),
    ] {
        let (status, o, _) = get(&api, &path, Some(&staff_token)).await;
        assert_eq!(status, 403, "{path}: {o}");
    }
    for token in [&stranger_token, &other_token] {
        for (name, rt) in [("psoriasis", "Condition"), ("bp", "Observation")] {
            let (status, o, _) = get(&api, &format!("{rt}/{}", c.ids[name]), Some(token)).await;
            assert_eq!(status, 404, "{name}: {o}");
            assert_eq!(o["resourceType"], "OperationOutcome");
        }
        // A search of someone else's record looks like a search of nobody's.
        let (status, b, _) = get(&api, &format!("Observation?patient={p}"), Some(token)).await;
        assert_eq!(status, 200);
        let (_, none, _) = get(&api, &format!("Observation?patient={nobody}"), Some(token)).await;
        assert_eq!(ids_of(&b), Vec::<String>::new());
        assert_eq!(b["total"], none["total"]);
    }
    // A token without records:read reaches no clinical type at all (403 by scope).
    let narrow = app
        .token_for(
            &c.clinician,
            Some(&[telemed_domain::Permission::PatientsRead]),
        )
        .await;
    let (status, o, _) = get(&api, &format!("Observation?patient={p}"), Some(&narrow)).await;
    assert_eq!(status, 403, "{o}");
    assert_eq!(o["issue"][0]["code"], "forbidden");
    let (status, _, _) = get(&api, &format!("Patient/{p}"), Some(&narrow)).await;
    assert_eq!(status, 200);

    // Refusals are audited as denied.
    app.flush_audit().await;
    let denied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE outcome = 'denied' AND patient_id = $1 AND action LIKE 'record.%'",
    )
    .bind(p.to_string())
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    // Two reads and one search (two sections) for each of the two callers.
    assert_eq!(denied, 8, "refusals audited");
    assert!(count(&app, "audit_log").await > audit_before);

    // Bad requests: OperationOutcome with the status FHIR expects, nothing stored.
    let t = Some(c.clinician_token.as_str());
    let stored = count(&app, "chart_entries").await;
    // (An unknown parameter is ignored and said, or refused under handling=strict:
    // the protocol suite.)
    for (path, want, code) in [
        (
            format!("Observation?patient={p}&date=yesterday"),
            400,
            "invalid",
        ),
        (
            format!("Observation?patient={p}&_count=5000"),
            400,
            "invalid",
        ),
        (
            format!("Observation?patient={p}&_sort=colour"),
            400,
            "invalid",
        ),
        (
            format!("Observation?patient={p}&_format=xml"),
            406,
            "not-supported",
        ),
        ("Observation?code=8867-4".to_owned(), 400, "invalid"),
        (format!("Observation?patient={p},{nobody}"), 400, "invalid"),
        ("Spaceship?name=x".to_owned(), 404, "not-found"),
        ("Observation/not-an-id".to_owned(), 404, "not-found"),
        (format!("Observation/{}", UserId::new()), 404, "not-found"),
    ] {
        let (status, o, kind) = get(&api, &path, t).await;
        assert_eq!(status, want, "{path}: {o}");
        assert!(kind.starts_with("application/fhir+json"), "{path}: {kind}");
        assert_eq!(o["resourceType"], "OperationOutcome", "{path}");
        assert_eq!(o["issue"][0]["code"], code, "{path}: {o}");
    }
    let (status, o, _) = get(&api, &format!("Observation?patient={p}"), None).await;
    assert_eq!(status, 401);
    assert_eq!(o["issue"][0]["code"], "login");
    let (status, o, _) = get(&api, "Patient", Some("tm_not-a-token")).await;
    assert_eq!(status, 401, "{o}");
    assert_eq!(count(&app, "chart_entries").await, stored);

    // The access log as AuditEvents: the patient sees who read their record…
    app.flush_audit().await;
    let (status, log, _) = get(
        &api,
        &format!("AuditEvent?patient={p}&_count=1000"),
        Some(&c.patient_token),
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["subtype"][0]["code"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"record.vitals.read"), "{actions:?}");
    let denied = log["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["outcome"] == "4")
        .count();
    assert!(
        denied >= 8,
        "the refusals are in the patient's log: {denied}"
    );
    let one = log["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, _) = get(&api, &format!("AuditEvent/{one}"), Some(&c.patient_token)).await;
    assert_eq!(status, 200);
    // …nobody else's; others see nothing of it; admins see the whole trail.
    let (status, _, _) = get(&api, &format!("AuditEvent/{one}"), Some(&other_token)).await;
    assert_eq!(status, 404);
    let (_, theirs, _) = get(
        &api,
        &format!("AuditEvent?patient={p}"),
        Some(&stranger_token),
    )
    .await;
    assert_eq!(ids_of(&theirs).len(), 0);
    let (status, _, _) = get(&api, "AuditEvent", Some(&c.clinician_token)).await;
    assert_eq!(status, 400);
    let admin = app.create_user(Role::Admin).await;
    let admin_token = app.token_for(&admin, None).await;
    let (status, all, _) = get(&api, "AuditEvent?_count=5", Some(&admin_token)).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(ids_of(&all).len(), 5);

    // The CapabilityStatement is public and lists what is served.
    let (status, cap, _) = get(&api, "metadata", None).await;
    assert_eq!(status, 200);
    assert_eq!(cap["fhirVersion"], "4.0.1");
    let types: Vec<&str> = cap["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for t in [
        "Patient",
        "Practitioner",
        "Condition",
        "Observation",
        "Immunization",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    app.shutdown().await;
}

/// Every kind of resource and bundle the API returns, through @medplum/core's validator
/// (R4 definitions) and the fhir.resources models.
#[cfg_attr(not(telemed_fhir_validators), allow(dead_code))]
async fn every_resource_returned_passes_independent_validators(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let c = chart(&app, &api).await;
    let p = c.patient.id;
    let t = Some(c.clinician_token.as_str());
    let mut returned = vec![];
    for path in [
        format!("Patient/{p}"),
        format!("Practitioner/{}", c.clinician.id),
        "Patient?name=ana&_total=accurate".to_owned(),
        "Practitioner?name=garcia".to_owned(),
        format!("Condition?patient={p}&_include=Condition:patient"),
        format!("AllergyIntolerance?patient={p}"),
        format!("MedicationStatement?patient={p}"),
        format!("Immunization?patient={p}"),
        format!("DocumentReference?patient={p}"),
        format!("Observation?patient={p}&_count=2"),
        format!("Observation?patient={p}&colour=red"),
        "Observation/not-an-id".to_owned(),
        "metadata".to_owned(),
        format!("Patient/{p}/$everything"),
    ] {
        let (_, mut body, _) = get(&api, &path, t).await;
        if let Some(o) = body.as_object_mut() {
            o.remove("__etag");
        }
        returned.push(body);
    }
    for (name, id) in &c.ids {
        let rt = match *name {
            "psoriasis" | "flu" => "Condition",
            "penicillin" | "latex" => "AllergyIntolerance",
            "amlodipine" => "MedicationStatement",
            "influenza-vaccine" => "Immunization",
            "report" => "DocumentReference",
            _ => "Observation",
        };
        let (status, mut body, _) = get(&api, &format!("{rt}/{id}"), t).await;
        assert_eq!(status, 200, "{name} {rt}/{id}: {body}");
        if let Some(o) = body.as_object_mut() {
            o.remove("__etag");
        }
        returned.push(body);
    }
    let (status, log, _) = get(
        &api,
        &format!("AuditEvent?patient={p}"),
        Some(&c.patient_token),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ids_of(&log).len() > 5);
    returned.push(log);
    assert_eq!(returned.len(), 25);
    // An imported history: the bundle sent (the generator's output is itself checked),
    // the transaction's answer, and everything the import made, as searches return it.
    let bundle = telemed_testkit::synthetic::patient_bundle(3, 1, 2, 2025);
    returned.push(bundle.clone());
    let r = api
        .http
        .post(app.url("/fhir/R4"))
        .bearer_auth(&c.clinician_token)
        .json(&bundle)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let imported = answer["entry"][0]["response"]["location"]
        .as_str()
        .unwrap()
        .trim_start_matches("Patient/")
        .to_owned();
    returned.push(answer);
    // Renamed: the earlier name is kept as a HumanName of use `old`.
    let (_, mut renamed, _) = get(&api, &format!("Patient/{imported}"), t).await;
    if let Some(o) = renamed.as_object_mut() {
        o.remove("__etag");
    }
    renamed["name"] = json!([{"family": "Renamed", "given": ["Alex"]}]);
    let r = api
        .http
        .put(app.url(&format!("/fhir/R4/Patient/{imported}")))
        .bearer_auth(&c.clinician_token)
        .json(&renamed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for path in [
        format!("Patient/{imported}"),
        format!("Observation?patient={imported}&_count=1000"),
        format!("Condition?patient={imported}"),
        format!("AllergyIntolerance?patient={imported}"),
        format!("MedicationStatement?patient={imported}"),
        format!("Immunization?patient={imported}"),
        format!("DiagnosticReport?patient={imported}&_include=DiagnosticReport:result"),
    ] {
        let (status, body, _) = get(&api, &path, t).await;
        assert_eq!(status, 200, "{path}");
        returned.push(body);
    }
    passes_validators(&returned);
    app.shutdown().await;
}

/// Has the independent validators check what the API returned, when they are installed
/// (`every_resource_returned_passes_independent_validators_not_run` says when not).
pub(super) fn passes_validators(returned: &[Value]) {
    #[cfg(telemed_fhir_validators)]
    if let Err(complaints) = telemed_testkit::fhir_validate::validate(returned) {
        panic!("the validators refused what the API returned:\n{complaints}");
    }
    #[cfg(not(telemed_fhir_validators))]
    let _ = returned;
}

/// A URL the server wrote (under its configured public address) on the test's server.
fn here(api: &Api<'_>, url: &str) -> String {
    let path = url.split("/fhir/R4/").nth(1).expect("a FHIR URL");
    api.app.url(&format!("/fhir/R4/{path}"))
}

/// Polls an export's status URL until it is done; the manifest.
async fn manifest_of(api: &Api<'_>, status_url: &str, token: &str) -> Value {
    let status_url = here(api, status_url);
    let status_url = status_url.as_str();
    for _ in 0..400 {
        let r = api
            .http
            .get(status_url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            202 => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
            200 => return r.json().await.unwrap(),
            other => panic!("export status {other}: {}", r.text().await.unwrap()),
        }
    }
    panic!("the export did not finish");
}

async fn kick_off(api: &Api<'_>, path: &str, token: &str) -> (u16, Option<String>) {
    let r = api
        .http
        .get(api.app.url(&format!("/fhir/R4/{path}")))
        .bearer_auth(token)
        .header("prefer", "respond-async")
        .header("accept", "application/fhir+json")
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("content-location")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), location)
}

/// An export whose node stopped mid-way (no heartbeat for two minutes) is reported
/// failed, with the reason, instead of "in progress" forever; a live one is left alone.
async fn an_export_whose_node_stopped_is_reported_failed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let store = &app.state().store;
    let now = telemed_domain::Clock::now(&app.clock);
    store
        .insert_export(
            "lostexport",
            clinician.id,
            "https://x/fhir/R4/Patient/$export",
            now,
        )
        .await
        .unwrap();
    let status = |id: &'static str| {
        let (http, url, token) = (
            app.client(),
            app.url(&format!("/fhir/R4/$export-status/{id}")),
            token.clone(),
        );
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            let code = r.status().as_u16();
            (code, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(status("lostexport").await.0, 202);
    assert_eq!(
        telemed_server::fhir::fail_stalled_exports(app.state())
            .await
            .unwrap(),
        0
    );
    app.clock.advance(chrono::Duration::minutes(3));
    let later = telemed_domain::Clock::now(&app.clock);
    store
        .insert_export(
            "liveexport",
            clinician.id,
            "https://x/fhir/R4/Patient/$export",
            later,
        )
        .await
        .unwrap();
    assert_eq!(
        telemed_server::fhir::fail_stalled_exports(app.state())
            .await
            .unwrap(),
        1
    );
    let (code, outcome) = status("lostexport").await;
    assert_eq!(code, 500);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("node running the export stopped"));
    assert_eq!(status("liveexport").await.0, 202);
    app.shutdown().await;
}

async fn a_clinician_exports_their_panel_in_bulk(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let c = chart(&app, &api).await;
    let token = c.clinician_token.as_str();
    // The asynchronous pattern is required.
    let r = api
        .http
        .get(app.url("/fhir/R4/Patient/$export"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let (status, at) = kick_off(&api, "Patient/$export", token).await;
    assert_eq!(status, 202);
    let at = here(&api, &at.expect("a status URL"));
    let manifest = manifest_of(&api, &at, token).await;
    assert_eq!(manifest["requiresAccessToken"], true);
    let mut counts = std::collections::BTreeMap::new();
    for out in manifest["output"].as_array().unwrap() {
        let kind = out["type"].as_str().unwrap().to_owned();
        let r = api
            .http
            .get(here(&api, out["url"].as_str().unwrap()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/fhir+ndjson");
        let body = r.text().await.unwrap();
        for line in body.lines() {
            let resource: Value = serde_json::from_str(line).unwrap();
            assert_eq!(resource["resourceType"], kind.as_str());
        }
        *counts.entry(kind).or_insert(0) += body.lines().count();
        // Someone else's token gets nothing.
        let r = api
            .http
            .get(here(&api, out["url"].as_str().unwrap()))
            .bearer_auth(&c.patient_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let want: std::collections::BTreeMap<String, usize> = [
        ("AllergyIntolerance", 2),
        ("Appointment", 1),
        ("Condition", 2),
        ("DocumentReference", 1),
        ("Immunization", 1),
        ("MedicationStatement", 1),
        ("Observation", 3),
        ("Patient", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, want);
    let r = api
        .http
        .get(&at)
        .bearer_auth(&c.patient_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another person's export is not theirs to see"
    );

    // A group is a clinician's panel, exported by that clinician only; _type narrows.
    let (status, at) = kick_off(
        &api,
        &format!("Group/{}/$export?_type=Observation", c.clinician.id),
        token,
    )
    .await;
    assert_eq!(status, 202);
    let at = here(&api, &at.unwrap());
    let manifest = manifest_of(&api, &at, token).await;
    let kinds: Vec<&str> = manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Observation"]);
    let (status, _) = kick_off(&api, &format!("Group/{}/$export", c.patient.id), token).await;
    assert_eq!(status, 404);
    let (status, _) = kick_off(&api, "Patient/$export?_type=Spaceship", token).await;
    assert_eq!(status, 400);
    // Deleting it removes it.
    let r = api
        .http
        .delete(&at)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = api.http.get(&at).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // The patient's own export holds their record only.
    let (status, at) = kick_off(&api, "Patient/$export?_type=Patient", &c.patient_token).await;
    assert_eq!(status, 202);
    let manifest = manifest_of(&api, &at.unwrap(), &c.patient_token).await;
    assert_eq!(manifest["output"][0]["count"], 1);
    app.shutdown().await;
}

/// Callers are remembered between requests (one node); a revoked token, a disabled
/// account or a changed role must still count from the very next request.
async fn revoking_a_token_or_changing_its_owner_counts_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let admin = app.create_user(Role::Admin).await;
    let admin_token = app.token_for(&admin, None).await;
    let clinician = app.create_user(Role::Clinician).await;
    let status = |path: String, token: String| {
        let api = &api;
        async move { get(api, &path, Some(&token)).await.0 }
    };
    let me = format!("Practitioner/{}", clinician.id);

    // Revoked by its owner through the API.
    let token = app.token_for(&clinician, None).await;
    for _ in 0..3 {
        assert_eq!(status(me.clone(), token.clone()).await, 200);
    }
    let id = app.newest_token_id(&token).await;
    let r = api
        .http
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(status(me.clone(), token.clone()).await, 401);

    // The owner disabled by an admin, then enabled again.
    let token = app.token_for(&clinician, None).await;
    assert_eq!(status(me.clone(), token.clone()).await, 200);
    let patch = |body: Value| {
        api.http
            .patch(app.url(&format!("/api/v1/users/{}", clinician.id)))
            .bearer_auth(&admin_token)
            .json(&body)
            .send()
    };
    assert_eq!(
        patch(json!({"disabled": true})).await.unwrap().status(),
        200
    );
    assert_eq!(status(me.clone(), token.clone()).await, 401);
    assert_eq!(
        patch(json!({"disabled": false})).await.unwrap().status(),
        200
    );
    assert_eq!(
        status(me.clone(), token.clone()).await,
        401,
        "revoked with the disabling: enabling the account does not bring it back"
    );

    // A new role: the tokens made for the old one go with it.
    let token = app.token_for(&clinician, None).await;
    let observation = format!("Observation/{}", uuid::Uuid::new_v4());
    assert_eq!(status(observation.clone(), token.clone()).await, 404);
    assert_eq!(patch(json!({"role": "staff"})).await.unwrap().status(), 200);
    assert_eq!(status(observation, token.clone()).await, 401);
    app.shutdown().await;
}

/// The store itself tells when a credential lost power: a committed change through its
/// functions moves the epoch the token cache follows; a rolled-back one, an ordinary
/// write, or a revocation that found nothing to revoke does not.
async fn a_credential_change_moves_the_epoch_only_when_committed(backend: Backend) {
    use telemed_store::{oauth, users};
    let app = TestApp::spawn(backend).await;
    let store = &app.state().store;
    let clinician = app.create_user(Role::Clinician).await;
    let now = app.state().clock.now();
    let epoch = store.credentials_epoch();
    let start = epoch.current();

    let mut tx = store.begin_write().await.unwrap();
    users::set_role(&mut tx, clinician.id, Role::Staff, now)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(epoch.current(), start, "rolled back");

    let mut tx = store.begin_write().await.unwrap();
    let unknown = telemed_domain::OAuthGrantId::new();
    assert!(!oauth::revoke_grant(&mut tx, unknown, None, now)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    assert_eq!(epoch.current(), start, "nothing was revoked");

    let mut tx = store.begin_write().await.unwrap();
    users::set_disabled(&mut tx, clinician.id, true, now)
        .await
        .unwrap();
    assert_eq!(epoch.current(), start, "not before the commit");
    tx.commit().await.unwrap();
    assert_eq!(epoch.current(), start + 1);
    app.shutdown().await;
}

on_both_databases!(
    a_credential_change_moves_the_epoch_only_when_committed,
    revoking_a_token_or_changing_its_owner_counts_at_once,
    an_export_whose_node_stopped_is_reported_failed,
    a_clinician_exports_their_panel_in_bulk,
    chart_entries_are_read_and_searched_as_fhir_resources,
    patients_and_practitioners_are_found_by_name,
    the_record_policy_holds_through_fhir,
);

#[cfg(telemed_fhir_validators)]
mod validated {
    on_both_databases!(every_resource_returned_passes_independent_validators);
    use super::every_resource_returned_passes_independent_validators;
}

#[cfg(not(telemed_fhir_validators))]
#[test]
#[ignore = "FHIR validators not installed: npm ci --prefix tools/fhir-validate && pip install -r tools/fhir-validate/requirements.txt"]
fn every_resource_returned_passes_independent_validators_not_run() {}
