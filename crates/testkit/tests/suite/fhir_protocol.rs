//! The FHIR protocol as R4 states it: `_summary=count` pages nothing, a parameter
//! telemed does not know is ignored and said (or refused when the client is strict),
//! a format telemed does not serve is 406, and the CapabilityStatement declares the
//! operations the server runs.

use serde_json::json;
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use super::fhir_write::Fhir;

async fn searches_formats_and_operations_follow_r4(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let f = Fhir {
        app: &app,
        http: app.client(),
        token: app.token_for(&clinician, None).await,
    };
    let sato = json!({"resourceType": "Patient", "name": [{"family": "Sato", "given": ["Yui"]}]});
    let (s, created, _) = f.send("POST", "/Patient", Some(&sato), &[]).await;
    assert_eq!(s, 201);
    let patient = created["id"].as_str().unwrap().to_owned();
    for value in [72.0, 75.0, 71.0] {
        let pulse = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": format!("Patient/{patient}")},
            "effectiveDateTime": "2025-01-01T10:00:00Z",
            "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
        assert_eq!(
            f.send("POST", "/Observation", Some(&pulse), &[]).await.0,
            201
        );
    }
    let get = |path: String, headers: Vec<(&'static str, &'static str)>| {
        let f = &f;
        async move {
            let (status, body, _) = f.send("GET", &format!("/{path}"), None, &headers).await;
            (status, body)
        }
    };

    // _summary=count: the total, no entries, and no next page to follow.
    let (s, b) = get(
        format!("Observation?patient={patient}&_summary=count"),
        vec![],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["total"], 3);
    assert_eq!(b.get("entry"), None);
    let relations: Vec<&str> = b["link"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["relation"].as_str().unwrap())
        .collect();
    assert_eq!(relations, ["self"], "{b}");

    // An unknown parameter: ignored by default and said in an outcome entry; the
    // links repeat what was searched.
    let (s, b) = get(
        format!("Observation?patient={patient}&colour=red&_count=2"),
        vec![],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .count(),
        2
    );
    let outcome = entries
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("an outcome entry");
    assert_eq!(outcome["resource"]["resourceType"], "OperationOutcome");
    assert_eq!(outcome["resource"]["issue"][0]["severity"], "warning");
    assert_eq!(outcome["resource"]["issue"][0]["expression"][0], "colour");
    for link in b["link"].as_array().unwrap() {
        let url = link["url"].as_str().unwrap();
        assert!(!url.contains("colour"), "{url}");
    }
    assert!(b["link"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["relation"] == "next"));
    // …and refused when the client asks for strict handling.
    let (s, b) = get(
        format!("Observation?patient={patient}&colour=red"),
        vec![("prefer", "handling=strict")],
    )
    .await;
    assert_eq!(
        (s, b["resourceType"].as_str()),
        (400, Some("OperationOutcome"))
    );
    // A conditional create never ignores a parameter: it would match more than meant.
    let (s, _, _) = f
        .send(
            "POST",
            "/Patient",
            Some(&sato),
            &[("if-none-exist", "colour=red")],
        )
        .await;
    assert_eq!(s, 400);

    // Formats: JSON only; anything else is 406, never JSON under another name.
    for (path, accept, want) in [
        (format!("Patient/{patient}"), "application/fhir+xml", 406),
        (format!("Patient/{patient}"), "text/html", 406),
        (format!("Patient/{patient}?_format=xml"), "*/*", 406),
        (format!("Patient/{patient}"), "application/fhir+json", 200),
        (
            format!("Patient/{patient}"),
            "application/fhir+xml;q=0.9, application/json;q=0.5",
            200,
        ),
        (format!("Patient/{patient}"), "*/*", 200),
        (
            "metadata?_format=json".to_owned(),
            "application/fhir+json",
            200,
        ),
    ] {
        let (s, b) = get(path.clone(), vec![("accept", accept)]).await;
        assert_eq!(s, want, "{path} with {accept}: {b}");
        if want == 406 {
            assert_eq!(b["resourceType"], "OperationOutcome");
        }
    }

    // The operations the server runs are declared.
    let (_, cs) = get("metadata".into(), vec![]).await;
    let patient_ops: Vec<&str> = cs["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Patient")
        .unwrap()["operation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(patient_ops, ["everything", "export"]);
    assert_eq!(cs["rest"][0]["operation"][0]["name"], "export");
    app.shutdown().await;
}

on_both_databases!(searches_formats_and_operations_follow_r4);
