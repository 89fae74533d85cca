//! The prescription pad on the chart's page, as a browser without scripts (or htmx)
//! uses it: find the drug by its words, see the checks with their advice and a reason
//! field where one is needed, sign with the second factor. A drug written in words is
//! flagged "not checked". Only the patient's clinicians get the pad.

use telemed_testkit::{Backend, TestApp};

use super::messaging::Api;
use super::prescribing::Prescriber;

async fn a_clinician_prescribes_from_the_chart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let prescriber = Prescriber::new(&app, &api).await;
    let Prescriber {
        patient,
        people,
        token,
        web,
        ..
    } = &prescriber;
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/record/allergies", patient.id),
            token,
            Some(serde_json::json!({"text": "Penicillin", "severity": "severe", "reaction": "Hives"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let chart = format!("/patients/{}/chart", patient.id);
    let page = web.get(&chart).await.text().await.unwrap();
    assert!(page.contains("id=\"rx-pad\""), "the clinician gets the pad");

    let choices = web
        .get(&format!("/patients/{}/rx/search?q=amoxi%20500", patient.id))
        .await
        .text()
        .await
        .unwrap();
    let product = "urn:telemed:medication-starter|amoxicillin-500-mg-oral-capsule|amoxicillin 500 MG Oral Capsule";
    assert!(
        choices.contains(&format!("value=\"{product}\"")),
        "{choices}"
    );

    let mut pad = vec![
        ("product", product.to_owned()),
        ("dose", "500".to_owned()),
        ("unit", "mg".to_owned()),
        ("route", "oral".to_owned()),
        ("frequency", "three_times_daily".to_owned()),
        ("duration_days", "7".to_owned()),
        ("quantity", "21".to_owned()),
        ("quantity_unit", "capsule".to_owned()),
        ("refills", "0".to_owned()),
        ("substitution", "1".to_owned()),
    ];
    let form = |pad: &[(&'static str, String)]| -> Vec<(&'static str, String)> { pad.to_vec() };
    let post = |path: String, fields: Vec<(&'static str, String)>| async move {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = web.post(&path, &borrowed).await;
        (r.status().as_u16(), r.text().await.unwrap())
    };
    let check = format!("/patients/{}/rx/check", patient.id);
    let sign = format!("/patients/{}/rx/sign", patient.id);
    let (status, findings) = post(check.clone(), form(&pad)).await;
    assert_eq!(status, 200, "{findings}");
    assert!(
        findings.contains("Take 500 mg by mouth three times a day for 7 days."),
        "{findings}"
    );
    assert!(findings.contains("allergy to Penicillin"), "{findings}");
    let reason_field = "reason:allergy:allergy to Penicillin";
    assert!(
        findings.contains(&format!("name=\"{reason_field}\"")),
        "{findings}"
    );

    // Signing without the reason: refused, the pad comes back as typed.
    let code = || prescriber.code(&app);
    let mut signing = form(&pad);
    signing.push(("second_factor", code()));
    let (status, page) = post(sign.clone(), signing).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("id=\"rx-error\""), "{page}");
    assert!(page.contains("value=\"21\""), "the pad as typed: {page}");
    // With the reason and a fresh code: signed, a blank pad and the copy to download.
    pad.push((reason_field, "Tolerated amoxicillin in 2024".to_owned()));
    let mut signing = form(&pad);
    signing.push(("second_factor", code()));
    let (status, page) = post(sign.clone(), signing).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"rx-signed\""), "{page}");
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT medication_name, findings FROM prescriptions")
            .fetch_all(app.state().store.pool())
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].1.contains("Tolerated amoxicillin in 2024"),
        "{stored:?}"
    );

    // A drug written in words: flagged, and checked for what its name names.
    let mut words = form(&pad);
    words.retain(|(k, _)| *k != "product" && !k.starts_with("reason:"));
    words.push(("free_text", "Amoxicilina 500 mg cápsulas".to_owned()));
    let (status, findings) = post(check.clone(), words.clone()).await;
    assert_eq!(status, 200);
    assert!(findings.contains("id=\"rx-not-checked\""), "{findings}");
    let mut both = words.clone();
    both.push(("product", product.to_owned()));
    let (_, findings) = post(check.clone(), both).await;
    assert!(findings.contains("rx-incomplete"), "{findings}");
    words.push(("second_factor", code()));
    let (status, page) = post(sign.clone(), words).await;
    assert_eq!(status, 200, "{page}");
    let (status, list) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/prescriptions", patient.id),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["medication"]["checked"], false, "{list}");
    assert_eq!(list[0]["medication"]["system"], "urn:telemed:free-text");

    // The patient reads the chart without a pad.
    let (_, patient_user, _) = people
        .iter()
        .find(|(who, _, _)| *who == "the patient")
        .unwrap();
    let patient_web = app.signed_in_web(patient_user).await;
    let own = patient_web.get(&chart).await.text().await.unwrap();
    assert!(!own.contains("id=\"rx-pad\""));
    let (status, _) = {
        let r = patient_web
            .post(&sign, &[("free_text", "x"), ("second_factor", "123456")])
            .await;
        (r.status().as_u16(), ())
    };
    assert!(status == 400 || status == 403 || status == 404, "{status}");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM prescriptions")
        .fetch_one(app.state().store.pool())
        .await
        .unwrap();
    assert_eq!(count, 2);
    app.shutdown().await;
}

on_both_databases!(a_clinician_prescribes_from_the_chart);
