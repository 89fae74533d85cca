//! Renewals through the API: the patient asks from their prescription, the request
//! waits in the prescriber's queue (and nobody else's), the prescriber asks for a visit
//! or denies with a reason, or approves by signing a new prescription that names the
//! request; each request is answered once, and an ended prescription is not renewed.

use serde_json::json;
use telemed_testkit::{Backend, TestApp};

use super::messaging::Api;
use super::prescribing::Prescriber;

async fn a_patient_asks_for_a_renewal_and_the_prescriber_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let prescriber = Prescriber::new(&app, &api).await;
    let Prescriber { patient, token, .. } = &prescriber;
    let patient_token = prescriber.token_of("the patient");
    let sign = format!("/api/v1/patients/{}/prescriptions", patient.id);
    let cetirizine = |code: String, renewal: Option<&str>| {
        json!({
            "system": "urn:telemed:medication-starter", "code": "cetirizine-hydrochloride-10-mg-oral-tablet",
            "sig": {"dose": 1, "unit": "tablet", "route": "oral", "frequency": "once_daily", "duration_days": 30},
            "quantity": 30, "quantity_unit": "tablet", "second_factor": code,
            "renewal_request_id": renewal
        })
    };
    let (status, rx) = api
        .call(
            "POST",
            &sign,
            token,
            Some(cetirizine(prescriber.code(&app), None)),
        )
        .await;
    assert_eq!(status, 201, "{rx}");
    let ask = format!(
        "/api/v1/prescriptions/{}/renewal-requests",
        rx["id"].as_str().unwrap()
    );

    // The patient asks; once at a time; nobody else asks for them.
    let (status, request) = api
        .call(
            "POST",
            &ask,
            &patient_token,
            Some(json!({"note": "Running out next week"})),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["status"], "pending");
    let (status, _) = api
        .call("POST", &ask, &patient_token, Some(json!({})))
        .await;
    assert_eq!(status, 409, "one pending request per prescription");
    let (status, _) = api.call("POST", &ask, token, Some(json!({}))).await;
    assert_eq!(status, 403, "a clinician does not ask");
    let (status, _) = api
        .call(
            "POST",
            &ask,
            &prescriber.token_of("another patient"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404, "another patient's prescription is missing");

    // The prescriber's queue has it; another clinician's has nothing.
    let (status, queue) = api
        .call("GET", "/api/v1/renewal-requests", token, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(queue.as_array().map(Vec::len), Some(1), "{queue}");
    assert_eq!(
        queue[0]["medication"],
        "cetirizine hydrochloride 10 MG Oral Tablet"
    );
    let (_, other) = api
        .call(
            "GET",
            "/api/v1/renewal-requests",
            &prescriber.token_of("an unrelated clinician"),
            None,
        )
        .await;
    assert_eq!(other.as_array().map(Vec::len), Some(0), "{other}");

    // Asked for a visit, with the reason the patient reads; answered once.
    let id = request["id"].as_str().unwrap();
    let visit = format!("/api/v1/renewal-requests/{id}/ask-for-visit");
    let (status, _) = api
        .call("POST", &visit, token, Some(json!({"reason": " "})))
        .await;
    assert_eq!(status, 400, "a reason is needed");
    let (status, answered) = api
        .call(
            "POST",
            &visit,
            token,
            Some(json!({"reason": "Let us review your symptoms first"})),
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["status"], "visit_needed");
    let (status, _) = api
        .call(
            "POST",
            &format!("/api/v1/renewal-requests/{id}/deny"),
            token,
            Some(json!({"reason": "No"})),
        )
        .await;
    assert_eq!(status, 409);
    let (_, mine) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/renewal-requests", patient.id),
            &patient_token,
            None,
        )
        .await;
    assert_eq!(
        mine[0]["answer"], "Let us review your symptoms first",
        "{mine}"
    );

    // Asked again, approved by signing a renewal that names the request.
    let (status, again) = api
        .call("POST", &ask, &patient_token, Some(json!({})))
        .await;
    assert_eq!(status, 201, "{again}");
    let again_id = again["id"].as_str().unwrap();
    let (status, renewed) = api
        .call(
            "POST",
            &sign,
            token,
            Some(cetirizine(prescriber.code(&app), Some(again_id))),
        )
        .await;
    assert_eq!(status, 201, "{renewed}");
    let (_, mine) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/renewal-requests", patient.id),
            &patient_token,
            None,
        )
        .await;
    let approved = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == again["id"])
        .unwrap();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["renewed_as"], renewed["id"]);
    // The same request cannot approve a second prescription: nothing is signed.
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM prescriptions")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap()
    };
    let before = count().await;
    let (status, body) = api
        .call(
            "POST",
            &sign,
            token,
            Some(cetirizine(prescriber.code(&app), Some(again_id))),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(count().await, before);

    // On the pages: the patient asks from their chart, the prescriber sees the request
    // in the chart, opens the pad filled as the prescription was, and denies it.
    let (_, patient_user, _) = prescriber
        .people
        .iter()
        .find(|(who, _, _)| *who == "the patient")
        .unwrap();
    let patient_web = app.signed_in_web(patient_user).await;
    let chart = format!("/patients/{}/chart", patient.id);
    let rx_id = rx["id"].as_str().unwrap();
    let page = patient_web.get(&chart).await.text().await.unwrap();
    assert!(
        page.contains(&format!("/prescriptions/{rx_id}/renewal")),
        "{page}"
    );
    let r = patient_web
        .post(
            &format!("/prescriptions/{rx_id}/renewal"),
            &[("note", "Same as before")],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let (_, mine) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/renewal-requests", patient.id),
            &patient_token,
            None,
        )
        .await;
    let web_request = mine[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(mine[0]["status"], "pending");
    let page = prescriber.web.get(&chart).await.text().await.unwrap();
    assert!(
        page.contains(&format!("data-renewal=\"{web_request}\"")),
        "{page}"
    );
    let renewing = prescriber
        .web
        .get(&format!("{chart}?renew={web_request}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(renewing.contains("id=\"rx-renewing\""), "{renewing}");
    assert!(renewing.contains(&format!("name=\"renewal\" value=\"{web_request}\"")));
    assert!(
        renewing.contains("|cetirizine-hydrochloride-10-mg-oral-tablet|"),
        "the pad is filled"
    );
    let r = prescriber
        .web
        .post(
            &format!("/renewals/{web_request}/decline"),
            &[
                ("how", "deny"),
                ("reason", "Use it only as needed"),
                ("patient", &patient.id.to_string()),
            ],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let page = patient_web.get(&chart).await.text().await.unwrap();
    assert!(
        page.contains("not renewed — Use it only as needed"),
        "{page}"
    );

    // An ended prescription is not renewed.
    let (status, _) = api
        .call(
            "POST",
            &format!(
                "/api/v1/prescriptions/{}/discontinue",
                rx["id"].as_str().unwrap()
            ),
            token,
            Some(json!({"reason": "Allergy season over"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .call("POST", &ask, &patient_token, Some(json!({})))
        .await;
    assert_eq!(status, 409, "{body}");

    app.flush_audit().await;
    let (asked, answers): (i64, i64) = sqlx::query_as(
        "SELECT SUM(CASE WHEN action = 'prescription.renewal_request' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN action = 'prescription.renewal_answer' THEN 1 ELSE 0 END) \
         FROM audit_log WHERE patient_id = $1 AND outcome = 'success'",
    )
    .bind(patient.id.to_string())
    .fetch_one(app.state().store.pool())
    .await
    .unwrap();
    assert_eq!((asked, answers), (3, 3));
    // The prescriber was told of each request, the patient of each answer.
    let told = |user: telemed_domain::UserId, kind: &'static str| {
        let pool = app.state().store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2",
            )
            .bind(user.to_string())
            .bind(kind)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        told(prescriber.clinician.id, "prescription.renewal_requested").await,
        3
    );
    assert_eq!(told(patient.id, "prescription.renewal_answered").await, 3);

    // The patient chooses their pharmacy on the chart's page; the pad then offers it.
    let admin = app.create_user(telemed_domain::Role::Admin).await;
    let (_, pharmacy) = api
        .call(
            "POST",
            "/api/v1/pharmacies",
            &app.token_for(&admin, None).await,
            Some(
                json!({"name": "Farmacia Luna", "address": "Plaza 2", "phone": "+34 600 111 222"}),
            ),
        )
        .await;
    let pharmacy_id = pharmacy["id"].as_str().unwrap();
    let r = patient_web
        .post(
            &format!("/patients/{}/pharmacy", patient.id),
            &[("pharmacy_id", pharmacy_id)],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let (_, preferred) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/pharmacy", patient.id),
            &patient_token,
            None,
        )
        .await;
    assert_eq!(preferred["id"], pharmacy["id"], "{preferred}");
    let page = prescriber.web.get(&chart).await.text().await.unwrap();
    assert!(
        page.contains(&format!("<option value=\"{pharmacy_id}\" selected>")),
        "the pad offers the patient's pharmacy"
    );
    app.shutdown().await;
}

on_both_databases!(a_patient_asks_for_a_renewal_and_the_prescriber_answers);
