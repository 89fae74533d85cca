//! Pharmacies and dispensing through the API: an admin keeps the pharmacy directory; a
//! pharmacist of a pharmacy looks a prescription up by its signed token and dispenses
//! it fill by fill, whole or in parts. The same fill is counted once however many
//! requests race for it; a cancelled, discontinued, fully dispensed or expired
//! prescription, an altered token, more than was prescribed are each refused with a
//! 4xx naming the problem and nothing written.

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use super::messaging::Api;
use super::prescribing::Prescriber;

fn says(body: &Value, words: &str) {
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "{words}: {body}");
}

/// A pharmacist's dispense request through the API.
async fn dispense_with(
    api: &Api<'_>,
    bearer: String,
    rx: String,
    fill: u32,
    quantity: f64,
    previous: u32,
) -> (u16, Value) {
    api.call(
        "POST",
        "/api/v1/dispensing/dispenses",
        &bearer,
        Some(json!({"token": rx, "fill": fill, "quantity": quantity, "previous_dispenses": previous})),
    )
    .await
}

/// A pharmacy in the directory (added by a new admin) with a pharmacist of its own:
/// the pharmacy as the API answered, and the pharmacist.
pub(super) async fn pharmacy_with_pharmacist(
    app: &TestApp,
    api: &Api<'_>,
    details: Value,
) -> (Value, telemed_testkit::TestUser) {
    let admin = app.create_user(Role::Admin).await;
    let admin_token = app.token_for(&admin, None).await;
    let (status, pharmacy) = api
        .call("POST", "/api/v1/pharmacies", &admin_token, Some(details))
        .await;
    assert_eq!(status, 201, "{pharmacy}");
    let pharmacist = app.create_user(Role::Pharmacist).await;
    let members = format!(
        "/api/v1/pharmacies/{}/members",
        pharmacy["id"].as_str().unwrap()
    );
    let (status, body) = api
        .call(
            "POST",
            &members,
            &admin_token,
            Some(json!({"user_id": pharmacist.id})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    (pharmacy, pharmacist)
}

async fn a_pharmacist_dispenses_each_fill_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let prescriber = Prescriber::new(&app, &api).await;
    let Prescriber {
        patient,
        clinician,
        token,
        ..
    } = &prescriber;
    let code = || prescriber.code(&app);
    let sign = format!("/api/v1/patients/{}/prescriptions", patient.id);
    let prescribe = |code: String| {
        json!({
            "system": "urn:telemed:medication-starter", "code": "cetirizine-hydrochloride-10-mg-oral-tablet",
            "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "once_daily", "duration_days": 30},
            "quantity": 30, "quantity_unit": "tablet", "refills": 1, "second_factor": code
        })
    };
    let (status, rx) = api
        .call("POST", &sign, token, Some(prescribe(code())))
        .await;
    assert_eq!(status, 201, "{rx}");
    assert_eq!(rx["fills"]["allowed"], 2);
    let rx_token = rx["token"].as_str().unwrap().to_owned();

    // The directory: admins keep it; a pharmacy needs a name, address and phone.
    let admin = app.create_user(Role::Admin).await;
    let admin_token = app.token_for(&admin, None).await;
    let sol = json!({"name": "Farmacia Sol", "address": "Calle Mayor 1, Madrid", "phone": "+34 910 000 000"});
    let (status, _) = api
        .call("POST", "/api/v1/pharmacies", token, Some(sol.clone()))
        .await;
    assert_eq!(status, 403, "a clinician does not keep the directory");
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/pharmacies",
            &admin_token,
            Some(json!({"name": "No phone", "address": "x", "phone": " "})),
        )
        .await;
    assert_eq!(status, 400);
    says(&body, "phone");
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/pharmacies",
            &admin_token,
            Some(json!({"name": "Plain", "address": "x", "phone": "1", "fhir_endpoint": "http://pharmacy.example"})),
        )
        .await;
    assert_eq!(status, 400);
    says(&body, "https://");
    let (status, pharmacy) = api
        .call("POST", "/api/v1/pharmacies", &admin_token, Some(sol))
        .await;
    assert_eq!(status, 201, "{pharmacy}");
    let pharmacy_id = pharmacy["id"].as_str().unwrap().to_owned();
    let (status, listed) = api.call("GET", "/api/v1/pharmacies", token, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["name"], "Farmacia Sol", "{listed}");

    // A pharmacist dispenses only once they belong to a pharmacy.
    let pharmacist = app.create_user(Role::Pharmacist).await;
    let pharmacist_token = app.token_for(&pharmacist, None).await;
    let lookup = |bearer: String, rx: String| {
        let api = &api;
        async move {
            api.call(
                "POST",
                "/api/v1/dispensing/lookup",
                &bearer,
                Some(json!({ "token": rx })),
            )
            .await
        }
    };
    let (status, _) = lookup(pharmacist_token.clone(), rx_token.clone()).await;
    assert_eq!(status, 403, "not a member of any pharmacy yet");
    let members = format!("/api/v1/pharmacies/{pharmacy_id}/members");
    let (status, body) = api
        .call(
            "POST",
            &members,
            &admin_token,
            Some(json!({ "user_id": clinician.id })),
        )
        .await;
    assert_eq!(status, 400, "only pharmacists belong to a pharmacy: {body}");
    let (status, body) = api
        .call(
            "POST",
            &members,
            &admin_token,
            Some(json!({ "user_id": pharmacist.id })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, found) = lookup(pharmacist_token.clone(), rx_token.clone()).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["verdict"], "valid");
    assert_eq!(found["fills"]["open_fill"], 1);
    assert_eq!(found["fills"]["dispenses"], 0);
    assert_eq!(found["claims"]["quantity"], 30.0);
    let (status, _) = lookup(token.clone(), rx_token.clone()).await;
    assert_eq!(status, 403, "a clinician is not a dispenser");

    let dispense = |rx: String, fill: u32, quantity: f64, previous: u32| {
        dispense_with(&api, pharmacist_token.clone(), rx, fill, quantity, previous)
    };
    let dispensed = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM dispenses")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap()
    };

    // The first fill, asked for eight times at once (a double-clicking counter, two
    // tills): recorded once, the others refused as overtaken.
    let racers: Vec<_> = (0..8)
        .map(|_| dispense(rx_token.clone(), 1, 30.0, 0))
        .collect();
    let results = futures::future::join_all(racers).await;
    let mut statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [201, 409, 409, 409, 409, 409, 409, 409],
        "{results:?}"
    );
    assert_eq!(dispensed().await, 1);
    let (_, first) = results.iter().find(|(s, _)| *s == 201).unwrap();
    assert_eq!(first["fill_complete"], true);
    assert_eq!(first["fills"]["open_fill"], 2);
    // The same fill again, named with the new count: already dispensed.
    let (status, body) = dispense(rx_token.clone(), 1, 30.0, 1).await;
    assert_eq!(status, 400);
    says(&body, "fill 1 has already been dispensed");

    // The refill in two parts; more than it has left is refused.
    let (status, part) = dispense(rx_token.clone(), 2, 10.0, 1).await;
    assert_eq!(status, 201, "{part}");
    assert_eq!(part["fill_complete"], false);
    assert_eq!(part["fills"]["open_fill_left"], 20.0);
    let (status, body) = dispense(rx_token.clone(), 2, 25.0, 2).await;
    assert_eq!(status, 400);
    says(&body, "20 left");
    for bad in [0.0, -5.0] {
        let (status, _) = dispense(rx_token.clone(), 2, bad, 2).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, rest) = dispense(rx_token.clone(), 2, 20.0, 2).await;
    assert_eq!(status, 201, "{rest}");
    assert_eq!(rest["fills"]["open_fill"], Value::Null);
    // Every fill dispensed: the prescription is complete and nothing more goes out.
    let (status, body) = dispense(rx_token.clone(), 3, 1.0, 3).await;
    assert_eq!(status, 409);
    says(&body, "every fill");
    let (_, found) = lookup(pharmacist_token.clone(), rx_token.clone()).await;
    assert_eq!(found["verdict"], "completed", "{found}");
    let (_, list) = api.call("GET", &sign, token, None).await;
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == rx["id"])
        .unwrap();
    assert_eq!(mine["status"], "completed");
    assert_eq!(mine["fills"]["completed"], 2);
    assert_eq!(dispensed().await, 3);

    // A cancelled prescription is never dispensed; an altered token is not ours.
    let (status, other) = api
        .call("POST", &sign, token, Some(prescribe(code())))
        .await;
    assert_eq!(status, 201, "{other}");
    let other_token = other["token"].as_str().unwrap().to_owned();
    let (status, _) = api
        .call(
            "POST",
            &format!(
                "/api/v1/prescriptions/{}/cancel",
                other["id"].as_str().unwrap()
            ),
            token,
            Some(json!({"reason": "Wrong patient"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = dispense(other_token.clone(), 1, 30.0, 0).await;
    assert_eq!(status, 409);
    says(&body, "cancelled");
    let mut altered = other_token.clone();
    altered.insert(altered.len() - 2, 'x');
    let (status, body) = dispense(altered, 1, 30.0, 0).await;
    assert_eq!(status, 400);
    says(&body, "not a prescription signed by this clinic");
    assert_eq!(dispensed().await, 3);

    // An inactive pharmacy's pharmacists no longer dispense.
    let (status, _) = api
        .call(
            "PUT",
            &format!("/api/v1/pharmacies/{pharmacy_id}"),
            &admin_token,
            Some(json!({"name": "Farmacia Sol", "address": "Calle Mayor 1, Madrid", "phone": "+34 910 000 000", "active": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = lookup(pharmacist_token.clone(), rx_token.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = api
        .call(
            "PUT",
            &format!("/api/v1/pharmacies/{pharmacy_id}"),
            &admin_token,
            Some(json!({"name": "Farmacia Sol", "address": "Calle Mayor 1, Madrid", "phone": "+34 910 000 000"})),
        )
        .await;
    assert_eq!(status, 200, "back in the directory");

    // A token past its date is not dispensed either.
    let (status, late) = api
        .call("POST", &sign, token, Some(prescribe(code())))
        .await;
    assert_eq!(status, 201, "{late}");
    app.clock.advance(chrono::Duration::days(366));
    // (The API tokens went out of date too: a new one for the pharmacist.)
    let pharmacist_token = app.token_for(&pharmacist, None).await;
    let dispense = |rx: String, fill: u32, quantity: f64, previous: u32| {
        dispense_with(&api, pharmacist_token.clone(), rx, fill, quantity, previous)
    };
    let (status, body) = dispense(late["token"].as_str().unwrap().to_owned(), 1, 30.0, 0).await;
    assert_eq!(status, 409);
    says(&body, "past its date");

    // Each dispense and each refusal is in the patient's audit trail.
    app.flush_audit().await;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, COUNT(*) FROM audit_log WHERE action = 'prescription.dispense' \
         AND patient_id = $1 GROUP BY outcome ORDER BY outcome",
    )
    .bind(patient.id.to_string())
    .fetch_all(app.state().store.pool())
    .await
    .unwrap();
    let count = |outcome: &str| {
        counts
            .iter()
            .find(|(o, _)| o == outcome)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(count("success"), 3, "{counts:?}");
    assert!(count("failure") >= 7 + 5, "{counts:?}");
    app.shutdown().await;
}

/// The same on the pages: an admin adds a pharmacy and its pharmacist; the pharmacist
/// opens the verification page of a prescription, sees the fills and dispenses there;
/// the same form sent again is refused. Anyone else sees no form.
async fn a_pharmacist_dispenses_from_the_verification_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let prescriber = Prescriber::new(&app, &api).await;
    let Prescriber { patient, token, .. } = &prescriber;
    let code = prescriber.code(&app);
    let (status, rx) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/prescriptions", patient.id),
            token,
            Some(json!({
                "system": "urn:telemed:medication-starter", "code": "loratadine-10-mg-oral-tablet",
                "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "once_daily"},
                "quantity": 30, "quantity_unit": "tablet", "second_factor": code
            })),
        )
        .await;
    assert_eq!(status, 201, "{rx}");
    let rx_token = rx["token"].as_str().unwrap().to_owned();

    let admin = app.create_user(Role::Admin).await;
    let (admin_web, _) = app.signed_in_with_totp(&admin).await;
    let r = admin_web
        .post(
            "/admin/pharmacies",
            &[
                ("name", "Farmacia Luna"),
                ("address", "Plaza 2"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("pharmacy-error"));
    let r = admin_web
        .post(
            "/admin/pharmacies",
            &[
                ("name", "Farmacia Luna"),
                ("address", "Plaza 2"),
                ("phone", "+34 600 111 222"),
            ],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let pharmacy_id: String =
        sqlx::query_scalar("SELECT id FROM pharmacies WHERE name = 'Farmacia Luna'")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap();
    let pharmacist = app.create_user(Role::Pharmacist).await;
    let r = admin_web
        .post(
            &format!("/admin/pharmacies/{pharmacy_id}/members"),
            &[("user_id", &pharmacist.id.to_string())],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let listing = admin_web
        .get("/admin/pharmacies")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains("Farmacia Luna") && listing.contains("Test pharmacist"),
        "{listing}"
    );

    let verify = format!("/rx/verify?token={rx_token}");
    let anonymous = app.web().get(&verify).await.text().await.unwrap();
    assert!(anonymous.contains("Valid: signed by this clinic"));
    assert!(
        !anonymous.contains("rx-dispense"),
        "no form for who does not dispense"
    );
    assert!(
        anonymous.contains("0 of 1 fill dispensed in full"),
        "anyone holding the token sees the fills left"
    );
    let (pharmacist_web, _) = app.signed_in_with_totp(&pharmacist).await;
    let page = pharmacist_web.get(&verify).await.text().await.unwrap();
    assert!(page.contains("id=\"rx-dispense\""), "{page}");
    assert!(page.contains("0 of 1 fill dispensed in full"), "{page}");
    let form = [
        ("token", rx_token.as_str()),
        ("fill", "1"),
        ("quantity", "30"),
        ("previous_dispenses", "0"),
    ];
    let r = pharmacist_web.post("/rx/dispense", &form).await;
    assert_eq!(r.status(), 200);
    let done = r.text().await.unwrap();
    assert!(done.contains("Dispensed 30 of fill 1."), "{done}");
    assert!(done.contains("Fully dispensed"), "{done}");
    let r = pharmacist_web.post("/rx/dispense", &form).await;
    assert_eq!(r.status(), 409, "the same form again");
    assert!(r.text().await.unwrap().contains("rx-refused"));
    let r = admin_web.post("/rx/dispense", &form).await;
    assert_eq!(r.status(), 403, "an admin does not dispense");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dispenses")
        .fetch_one(app.state().store.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
    app.shutdown().await;
}

/// The same through FHIR: the prescription as a MedicationRequest (its overridden
/// finding a contained DetectedIssue with the reason), what was handed over as
/// MedicationDispense, both found by the searches a pharmacy or another system would
/// use, in `$everything`, refused like a missing record to whoever may not read it.
async fn prescriptions_and_dispenses_are_fhir_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let prescriber = Prescriber::new(&app, &api).await;
    let Prescriber { patient, token, .. } = &prescriber;
    let base = format!("/api/v1/patients/{}", patient.id);
    let (status, _) = api
        .call(
            "POST",
            &format!("{base}/record/allergies"),
            token,
            Some(json!({"text": "Penicillin", "severity": "severe", "reaction": "Hives"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, rx) = api
        .call(
            "POST",
            &format!("{base}/prescriptions"),
            token,
            Some(json!({
                "system": "urn:telemed:medication-starter", "code": "amoxicillin-500-mg-oral-capsule",
                "sig": {"dose": 500, "unit": "mg", "route": "oral", "frequency": "three_times_daily", "duration_days": 7},
                "quantity": 21, "quantity_unit": "capsule", "refills": 1,
                "overrides": [{"kind": "allergy", "subject": "allergy to Penicillin", "reason": "Tolerated amoxicillin in 2024"}],
                "second_factor": prescriber.code(&app)
            })),
        )
        .await;
    assert_eq!(status, 201, "{rx}");
    let rx_id = rx["id"].as_str().unwrap().to_owned();
    let (_, pharmacist) = pharmacy_with_pharmacist(
        &app,
        &api,
        json!({"name": "Farmacia Sol", "address": "Calle Mayor 1", "phone": "+34 910 000 000"}),
    )
    .await;
    let pharmacist_token = app.token_for(&pharmacist, None).await;
    for (quantity, previous) in [(21.0, 0), (10.0, 1)] {
        let rx_token = rx["token"].as_str().unwrap().to_owned();
        let (status, body) = dispense_with(
            &api,
            pharmacist_token.clone(),
            rx_token,
            previous + 1,
            quantity,
            previous,
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }

    let fhir = |path: String, bearer: String| {
        let api = &api;
        async move { super::fhir::get(api, &path, Some(&bearer)).await }
    };
    let (status, request, _) = fhir(format!("MedicationRequest/{rx_id}"), token.clone()).await;
    assert_eq!(status, 200, "{request}");
    assert_eq!(request["intent"], "order");
    assert_eq!(request["status"], "active");
    assert_eq!(
        request["medicationCodeableConcept"]["coding"][0]["code"],
        "amoxicillin-500-mg-oral-capsule"
    );
    assert_eq!(request["dispenseRequest"]["numberOfRepeatsAllowed"], 1);
    assert_eq!(request["detectedIssue"][0]["reference"], "#issue-1");
    assert_eq!(request["contained"][0]["severity"], "high");
    assert!(
        request["contained"][0]["mitigation"][0]["action"]["text"]
            .as_str()
            .unwrap()
            .contains("Tolerated amoxicillin in 2024"),
        "{request}"
    );
    let mut returned = vec![request.clone()];
    for (query, expected) in [
        (format!("MedicationRequest?patient={}", patient.id), 1),
        (format!("MedicationRequest?patient={}&status=active&intent=order", patient.id), 1),
        (format!("MedicationRequest?patient={}&status=cancelled", patient.id), 0),
        (format!("MedicationRequest?patient={}&code=urn:telemed:medication-starter|amoxicillin-500-mg-oral-capsule", patient.id), 1),
        (format!("MedicationRequest?patient={}&code=ibuprofen-400-mg-oral-tablet", patient.id), 0),
        (format!("MedicationRequest?patient={}&authoredon=ge2000-01-01", patient.id), 1),
        (format!("MedicationRequest?patient={}&authoredon=lt2000-01-01", patient.id), 0),
        (format!("MedicationDispense?patient={}", patient.id), 2),
        (format!("MedicationDispense?patient={}&prescription={rx_id}", patient.id), 2),
        (format!("MedicationDispense?patient={}&prescription=other", patient.id), 0),
    ] {
        let (status, bundle, _) = fhir(query.clone(), token.clone()).await;
        assert_eq!(status, 200, "{query}: {bundle}");
        let entries = bundle["entry"].as_array().map_or(0, Vec::len);
        assert_eq!(entries, expected, "{query}: {bundle}");
        returned.push(bundle);
    }
    let (_, dispenses, _) = fhir(
        format!("MedicationDispense?patient={}", patient.id),
        token.clone(),
    )
    .await;
    let kinds: Vec<&str> = dispenses["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["type"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["FF", "RFP"],
        "a first fill, then part of the refill"
    );
    let dispense_id = dispenses["entry"][0]["resource"]["id"].as_str().unwrap();
    let (status, one, _) = fhir(format!("MedicationDispense/{dispense_id}"), token.clone()).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        one["authorizingPrescription"][0]["reference"],
        format!("MedicationRequest/{rx_id}")
    );
    let (status, everything, _) =
        fhir(format!("Patient/{}/$everything", patient.id), token.clone()).await;
    assert_eq!(status, 200);
    let types: Vec<&str> = everything["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["resourceType"].as_str())
        .collect();
    assert!(
        types.contains(&"MedicationRequest") && types.contains(&"MedicationDispense"),
        "{types:?}"
    );
    // Whoever may not read the patient's prescriptions: a missing record.
    let stranger = prescriber.token_of("an unrelated clinician");
    let (status, _, _) = fhir(format!("MedicationRequest/{rx_id}"), stranger.clone()).await;
    assert_eq!(status, 404);
    let (status, _, _) = fhir(
        format!("MedicationDispense/{dispense_id}"),
        stranger.clone(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, bundle, _) = fhir(
        format!("MedicationRequest?patient={}", patient.id),
        stranger,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(bundle["entry"].as_array().map_or(0, Vec::len), 0);
    // A SMART app signs with the prescriber's second factor in X-Second-Factor.
    let create = |body: Value, code: Option<String>, bearer: String| {
        let http = api.http.clone();
        let url = app.url("/fhir/R4/MedicationRequest");
        async move {
            let mut r = http
                .post(url)
                .bearer_auth(bearer)
                .header("content-type", "application/fhir+json")
                .body(body.to_string());
            if let Some(code) = code {
                r = r.header("x-second-factor", code);
            }
            let r = r.send().await.unwrap();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let status = r.status().as_u16();
            (
                status,
                location,
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let order = |code: &str| {
        json!({
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "subject": {"reference": format!("Patient/{}", patient.id)},
            "medicationCodeableConcept": {"coding": [{"system": "urn:telemed:medication-starter", "code": code}]},
            "dosageInstruction": [{
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d",
                    "boundsDuration": {"value": 30, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}}},
                "route": {"text": "oral"},
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]
            }],
            "dispenseRequest": {"quantity": {"value": 30, "unit": "tablet"}, "numberOfRepeatsAllowed": 1}
        })
    };
    let cetirizine = order("cetirizine-hydrochloride-10-mg-oral-tablet");
    let (status, _, body) = create(cetirizine.clone(), None, token.clone()).await;
    assert_eq!(status, 400, "no second factor: {body}");
    let code = prescriber.code(&app);
    let (status, location, created) =
        create(cetirizine.clone(), Some(code.clone()), token.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        location,
        format!("MedicationRequest/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(
        created["dosageInstruction"][0]["text"],
        "Take 1 tablet by mouth once a day for 30 days."
    );
    let (status, _, body) = create(cetirizine.clone(), Some(code), token.clone()).await;
    assert_eq!(status, 400, "a code is accepted once: {body}");
    // A finding that needs a stated reason is signed over in telemed, not here.
    let mut amoxicillin = order("amoxicillin-500-mg-oral-capsule");
    amoxicillin["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] =
        json!({"value": 500, "unit": "mg"});
    let (status, _, body) = create(amoxicillin, Some(prescriber.code(&app)), token.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("sign over it in telemed"),
        "{body}"
    );
    // What telemed cannot keep as written is refused, not guessed.
    let mut odd = cetirizine.clone();
    odd["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = json!(5);
    let (status, _, body) = create(odd, Some(prescriber.code(&app)), token.clone()).await;
    assert_eq!(status, 422, "{body}");
    let (status, _, _) = create(
        cetirizine,
        Some(prescriber.code(&app)),
        prescriber.token_of("the patient"),
    )
    .await;
    assert!(
        status == 403 || status == 422,
        "a patient does not prescribe: {status}"
    );
    returned.push(created);
    returned.push(one);
    super::fhir::passes_validators(&returned);
    app.shutdown().await;
}

/// A pharmacy's FHIR server, on this machine: it answers 503 to the first
/// MedicationRequest and 201 to the next, and keeps what it was sent.
async fn pharmacy_server() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
) {
    use axum::routing::post;
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/fhir/MedicationRequest",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let kind = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let mut all = kept.lock().unwrap();
                all.push((kind, json));
                if all.len() == 1 {
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        [("location", "")],
                    )
                        .into_response()
                } else {
                    (
                        axum::http::StatusCode::CREATED,
                        [("location", "MedicationRequest/ph-77")],
                    )
                        .into_response()
                }
            }
        }),
    );
    use axum::response::IntoResponse as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (at, received)
}

/// A prescription for a pharmacy with a FHIR server is sent there as a
/// MedicationRequest by the job queue: a failure is shown with the pharmacy's answer and
/// retried; then it is sent, once.
async fn a_prescription_is_sent_to_the_pharmacys_fhir_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let (endpoint, received) = pharmacy_server().await;
    let prescriber = Prescriber::new(&app, &api).await;
    let Prescriber { patient, token, .. } = &prescriber;
    let (pharmacy, _) = pharmacy_with_pharmacist(
        &app,
        &api,
        json!({"name": "Farmacia Red", "address": "Gran Vía 3", "phone": "+34 910 111 111", "fhir_endpoint": endpoint}),
    )
    .await;
    let sign = format!("/api/v1/patients/{}/prescriptions", patient.id);
    let (status, rx) = api
        .call(
            "POST",
            &sign,
            token,
            Some(json!({
                "system": "urn:telemed:medication-starter", "code": "loratadine-10-mg-oral-tablet",
                "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "once_daily"},
                "quantity": 30, "quantity_unit": "tablet", "second_factor": prescriber.code(&app),
                "pharmacy_id": pharmacy["id"]
            })),
        )
        .await;
    assert_eq!(status, 201, "{rx}");
    assert_eq!(rx["sending"], "queued");
    let sending = || async {
        let (_, list) = api.call("GET", &sign, token, None).await;
        (
            list[0]["sending"].as_str().unwrap_or_default().to_owned(),
            list[0]["sending_detail"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let app_ref = &app;
    let sending = &sending;
    let until = |want: &'static str| async move {
        let app = app_ref;
        for _ in 0..100 {
            telemed_server::jobs::run_due(app.state()).await.unwrap();
            let (state, detail) = sending().await;
            if state == want {
                return detail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("sending never became {want}: {:?}", sending().await);
    };
    let failed = until("failed").await;
    assert!(failed.contains("503"), "{failed}");
    let chart = prescriber
        .web
        .get(&format!("/patients/{}/chart", patient.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        chart.contains("Not yet sent to the pharmacy"),
        "the prescriber sees it"
    );
    app.clock.advance(chrono::Duration::minutes(5));
    let sent = until("sent").await;
    assert_eq!(sent, "MedicationRequest/ph-77");
    let all = received.lock().unwrap().clone();
    assert_eq!(all.len(), 2, "sent once after one failure");
    assert_eq!(all[1].0, "application/fhir+json");
    assert_eq!(all[1].1["resourceType"], "MedicationRequest");
    assert_eq!(all[1].1["id"], rx["id"]);
    assert_eq!(
        all[1].1["subject"]["reference"],
        format!("Patient/{}", patient.id)
    );
    // Nothing more is sent once it went.
    app.clock.advance(chrono::Duration::hours(1));
    telemed_server::jobs::run_due(app.state()).await.unwrap();
    assert_eq!(received.lock().unwrap().len(), 2);
    app.flush_audit().await;
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM audit_log WHERE action = 'prescription.send' ORDER BY seq",
    )
    .fetch_all(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!(outcomes, ["failure", "success"]);
    app.shutdown().await;
}

on_both_databases!(
    a_prescription_is_sent_to_the_pharmacys_fhir_server,
    prescriptions_and_dispenses_are_fhir_resources,
    a_pharmacist_dispenses_each_fill_once,
    a_pharmacist_dispenses_from_the_verification_page,
);
