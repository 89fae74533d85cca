//! E-prescribing in headless Chromium, end to end: in the video room, beside the call,
//! the clinician prescribes amoxicillin to a patient allergic to penicillin, sees the
//! warning, signs over it with a reason and a fresh TOTP code — and the call goes on;
//! ibuprofen for the same patient, who takes warfarin, raises a major interaction. The
//! patient downloads the PDF from their chart; its QR code, read off the drawing in the
//! PDF, leads to the verification page; the pharmacist dispenses there, and the same
//! dispense sent again is refused.

use chromiumoxide::Page;
use serde_json::json;
use telemed_domain::Role;
use telemed_testkit::browser::{
    fill, look, sign_in_patient, sign_in_to_enrolment, submit, text_of, until, wait_for,
    wait_for_path, TestBrowser,
};
use telemed_testkit::{totp_code, Backend, TestApp, TestUser};

use super::messaging::Api;

/// Signs in someone who enrols a second factor on the way; returns its secret.
async fn sign_in_with_enrolment(app: &TestApp, page: &Page, user: &TestUser) -> String {
    let secret = sign_in_to_enrolment(page, user).await;
    let code = totp_code(&secret, telemed_domain::Clock::now(&app.clock));
    fill(page, "#code", &code).await.unwrap();
    submit(page).await;
    wait_for(page, "#recovery-codes").await.unwrap();
    secret
}

/// Finds a product in the pad by the words typed and chooses it.
async fn choose_product(page: &Page, words: &str, code: &str) {
    page.evaluate("document.getElementById('rx-q').value = ''")
        .await
        .unwrap();
    fill(page, "#rx-q", words).await.unwrap();
    let radio = format!("#rx-choices input[value*='|{code}|']");
    wait_for(page, &radio).await.unwrap().click().await.unwrap();
}

/// Sets a field of the pad (as typing would, with its change event).
async fn set(page: &Page, id: &str, value: &str) {
    page.evaluate(format!(
        "(() => {{ const f = document.getElementById('{id}'); f.value = {value:?}; \
         f.dispatchEvent(new Event('change', {{ bubbles: true }})); }})()"
    ))
    .await
    .unwrap();
}

/// The QR code a PDF of telemed draws (filled rectangles, one per run of dark
/// modules), rasterised at four pixels a point as a scanner would see it, and read.
fn read_qr(pdf: &[u8]) -> String {
    let boxes = telemed_testkit::filled_boxes(pdf);
    assert!(boxes.len() > 100, "a QR code is drawn");
    // The code with a quiet zone of 20 points around it.
    let left = boxes.iter().map(|b| b[0]).fold(f32::MAX, f32::min) - 20.0;
    let top = boxes.iter().map(|b| b[1]).fold(f32::MAX, f32::min) - 20.0;
    let right = boxes.iter().map(|b| b[2]).fold(0.0, f32::max) + 20.0;
    let bottom = boxes.iter().map(|b| b[3]).fold(0.0, f32::max) + 20.0;
    let scale = 4.0;
    let (w, h) = (
        ((right - left) * scale) as usize,
        ((bottom - top) * scale) as usize,
    );
    let mut dark = vec![false; w * h];
    for b in boxes {
        let px = |v: f32, origin: f32, max: usize| (((v - origin) * scale) as usize).min(max);
        for y in px(b[1], top, h)..px(b[3], top, h) {
            for x in px(b[0], left, w)..px(b[2], left, w) {
                dark[y * w + x] = true;
            }
        }
    }
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| {
                if dark[y * w + x] {
                    0
                } else {
                    255
                }
            },
        );
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("the QR code reads").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn a_prescription_from_the_video_room_is_verified_from_its_qr_code_and_dispensed_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let booked = app.book_video_visit(&clinician, &patient).await;
    let visit = booked["id"].as_str().unwrap().to_owned();
    let start: chrono::DateTime<chrono::Utc> = booked["start"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(start - telemed_domain::Clock::now(&app.clock));
    let clinician_token = app.token_for(&clinician, None).await;
    let record = format!("/api/v1/patients/{}/record", patient.id);
    for (section, entry) in [
        (
            "allergies",
            json!({"text": "Penicillin", "severity": "severe", "reaction": "Hives"}),
        ),
        (
            "medications",
            json!({"text": "Warfarin 5 mg", "dosage": "One tablet daily"}),
        ),
    ] {
        let (status, body) = api
            .call(
                "POST",
                &format!("{record}/{section}"),
                &clinician_token,
                Some(entry),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, pharmacist) = super::dispensing::pharmacy_with_pharmacist(
        &app,
        &api,
        json!({"name": "Farmacia Sol", "address": "Calle Mayor 12", "phone": "+34 910 000 000"}),
    )
    .await;

    // The clinician in the video room, the pad beside the call.
    let doc_browser = TestBrowser::launch().await.expect("Chromium");
    let doc = doc_browser.open(&app.url("/login")).await.unwrap();
    let secret = sign_in_with_enrolment(&app, &doc, &clinician).await;
    let room = format!("/visits/{visit}/room");
    doc.goto(app.url(&room)).await.unwrap();
    wait_for(&doc, "#room-status[data-state='in-call']")
        .await
        .unwrap();
    wait_for(&doc, "#rx-pad").await.unwrap();
    choose_product(&doc, "amoxi 500", "amoxicillin-500-mg-oral-capsule").await;
    set(&doc, "rx-dose", "500").await;
    set(&doc, "rx-unit", "mg").await;
    set(&doc, "rx-frequency", "three_times_daily").await;
    set(&doc, "rx-days", "7").await;
    set(&doc, "rx-quantity", "21").await;
    set(&doc, "rx-qunit", "capsule").await;
    // The checks answer as the form is filled: the allergy, with its advice.
    until(
        &doc,
        "[...document.querySelectorAll('#rx-finding-list li')].some(li => li.dataset.severity === 'major' && li.textContent.includes('allergy to Penicillin'))",
    )
    .await;
    assert!(text_of(&doc, "#rx-sig-text")
        .await
        .unwrap()
        .contains("Take 500 mg by mouth three times a day for 7 days."));
    look(&doc, "60-room-prescription-warning").await;
    fill(
        &doc,
        "#rx-finding-list textarea",
        "Tolerated amoxicillin in 2024 without reaction",
    )
    .await
    .unwrap();
    app.clock.advance(chrono::Duration::seconds(31));
    let code = totp_code(&secret, telemed_domain::Clock::now(&app.clock));
    fill(&doc, "#rx-code", &code).await.unwrap();
    wait_for(&doc, "#rx-sign")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let signed = text_of(&doc, "#rx-signed").await.unwrap();
    assert!(
        signed.contains("amoxicillin 500 MG Oral Capsule"),
        "{signed}"
    );
    // Signed in place: the call went on.
    wait_for_path(&doc, &room).await.unwrap();
    wait_for(&doc, "#room-status[data-state='in-call']")
        .await
        .unwrap();
    look(&doc, "61-room-prescription-signed").await;

    // Ibuprofen for a patient on warfarin: a major interaction.
    choose_product(&doc, "ibuprofen 400", "ibuprofen-400-mg-oral-tablet").await;
    set(&doc, "rx-dose", "400").await;
    set(&doc, "rx-unit", "mg").await;
    set(&doc, "rx-frequency", "three_times_daily").await;
    until(
        &doc,
        "[...document.querySelectorAll('#rx-finding-list li')].some(li => li.dataset.severity === 'major' && li.textContent.toLowerCase().includes('warfarin'))",
    )
    .await;
    look(&doc, "62-room-interaction").await;

    // The patient finds it in their record and downloads the copy.
    let (status, list) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/prescriptions", patient.id),
            &clinician_token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let rx_id = list[0]["id"].as_str().unwrap().to_owned();
    let pat_browser = TestBrowser::launch().await.expect("Chromium");
    let pat = pat_browser.open(&app.url("/login")).await.unwrap();
    sign_in_patient(&pat, &patient).await;
    pat.goto(app.url(&format!("/patients/{}/chart", patient.id)))
        .await
        .unwrap();
    wait_for(&pat, &format!("[data-prescription='{rx_id}']"))
        .await
        .unwrap();
    assert!(
        pat.find_element("#rx-pad").await.is_err(),
        "no pad for the patient"
    );
    let pdf_base64: String = pat
        .evaluate(format!(
            "fetch('/prescriptions/{rx_id}/pdf').then(r => r.arrayBuffer()).then(b => {{ \
             let s = ''; for (const c of new Uint8Array(b)) s += String.fromCharCode(c); return btoa(s); }})"
        ))
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let pdf = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(pdf_base64)
            .unwrap()
    };
    assert!(pdf.starts_with(b"%PDF"));
    let url = read_qr(&pdf);
    let (base, token) = url.split_once("/rx/verify?token=").expect("{url}");
    assert_eq!(
        base,
        app.state().config.public_url,
        "the clinic's verification page"
    );
    // (The test server listens elsewhere than the public address it is configured with.)
    let url = app.url(&format!("/rx/verify?token={token}"));
    let claims: serde_json::Value = {
        use base64::Engine as _;
        let body = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["jti"], rx_id.as_str());
    let verdict = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        verdict.contains("Valid: signed by this clinic"),
        "{verdict}"
    );

    // The pharmacist opens the QR code's address, in two tabs (two tills); the first
    // dispenses, the second's form, sent after, is refused.
    let ph_browser = TestBrowser::launch().await.expect("Chromium");
    let ph = ph_browser.open(&app.url("/login")).await.unwrap();
    sign_in_with_enrolment(&app, &ph, &pharmacist).await;
    ph.goto(url.as_str()).await.unwrap();
    wait_for(&ph, "#rx-dispense").await.unwrap();
    assert!(text_of(&ph, "#rx-fills").await.unwrap().contains("0 of 1"));
    let other_till = ph_browser.open(&url).await.unwrap();
    wait_for(&other_till, "#rx-dispense").await.unwrap();
    look(&ph, "63-pharmacist-verify").await;
    wait_for(&ph, "#rx-dispense button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = text_of(&ph, "#rx-dispensed").await.unwrap();
    assert!(done.contains("Dispensed 21 of fill 1."), "{done}");
    other_till.bring_to_front().await.unwrap();
    other_till
        .evaluate("document.getElementById('rx-dispense').requestSubmit()")
        .await
        .unwrap();
    let refused = text_of(&other_till, "#rx-refused").await.unwrap();
    assert!(refused.contains("every fill"), "{refused}");
    look(&other_till, "64-pharmacist-refused").await;
    let dispenses: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dispenses")
        .fetch_one(app.state().store.pool())
        .await
        .unwrap();
    assert_eq!(dispenses, 1);

    ph_browser.close().await;
    pat_browser.close().await;
    doc_browser.close().await;
    app.shutdown().await;
}
