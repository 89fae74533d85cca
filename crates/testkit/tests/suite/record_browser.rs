//! The patient record in headless Chromium: a patient sends a photo ahead of a visit
//! from their record page (with upload progress); the clinician opens it from the
//! chart, looks at a CT image through two windows, writes and signs a note; the patient
//! reads the signed note and downloads their record.

use chromiumoxide::Page;
use telemed_domain::Role;
use telemed_testkit::browser::{
    choose_file, fill, look, sign_in_clinician, sign_in_patient, text_of, until, wait_for,
    wait_for_path, TestBrowser,
};
use telemed_testkit::{Backend, TestApp};

use super::documents::photo;
use super::messaging::give_a_visit;

async fn click(page: &Page, selector: &str) {
    wait_for(page, selector)
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Replaces a text area's content, as a person selecting all and typing would.
async fn retype(page: &Page, selector: &str, text: &str) {
    page.evaluate(format!("document.querySelector('{selector}').value = ''"))
        .await
        .unwrap();
    fill(page, selector, text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn a_photo_sent_ahead_is_opened_from_the_chart_and_the_signed_note_read() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let visit = give_a_visit(&app, &clinician, &patient).await;
    let chart = format!("/patients/{}/chart", patient.id);

    // The patient sends a photo ahead of the visit, from "My record".
    let patient_browser = TestBrowser::launch().await.expect("Chromium");
    let p = patient_browser.open(&app.url("/login")).await.unwrap();
    sign_in_patient(&p, &patient).await;
    click(&p, "#nav-record").await;
    wait_for_path(&p, &chart).await.unwrap();
    let dir = std::env::temp_dir().join(format!("telemed-record-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo_path = dir.join("IMG_0412.png");
    std::fs::write(&photo_path, photo()).unwrap();
    choose_file(&p, "#upload-file", &photo_path).await.unwrap();
    fill(&p, "#upload-title", "Mole on my left arm")
        .await
        .unwrap();
    p.evaluate(format!(
        "document.getElementById('upload-visit').value = '{visit}'"
    ))
    .await
    .unwrap();
    // Remember the upload's progress events across the reload that follows it.
    p.evaluate(
        "(() => { const send = XMLHttpRequest.prototype.send; XMLHttpRequest.prototype.send = function (b) { \
         this.upload.addEventListener('progress', e => sessionStorage.setItem('progress', e.loaded + '/' + e.total)); \
         return send.call(this, b); }; })()",
    )
    .await
    .unwrap();
    look(&p, "40-patient-record-upload").await;
    click(&p, "#upload-form button[type=submit]").await;
    until(&p, "location.search.includes('uploaded=true')").await;
    until(
        &p,
        "(() => { const i = document.querySelector('ul.documents img'); return !!i && i.complete && i.naturalWidth === 320; })()",
    )
    .await;
    let progress: String = p
        .evaluate("sessionStorage.getItem('progress') || ''")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let (sent, total) = progress.split_once('/').expect("progress events fired");
    assert_eq!(sent, total, "the progress reached the whole file");
    look(&p, "41-patient-record-uploaded").await;

    // The clinician opens it from the chart: the original, full size.
    let clinician_browser = TestBrowser::launch().await.expect("Chromium");
    let c = clinician_browser.open(&app.url("/login")).await.unwrap();
    sign_in_clinician(&app, &c, &clinician).await;
    c.goto(app.url(&chart)).await.unwrap();
    assert!(text_of(&c, "#documents")
        .await
        .unwrap()
        .contains("Mole on my left arm"));
    click(&c, "ul.documents a[data-document]").await;
    until(
        &c,
        "(() => { const i = document.getElementById('viewer-image'); return !!i && i.complete && i.naturalWidth === 640; })()",
    )
    .await;
    look(&c, "42-clinician-photo").await;

    // A CT image through the viewer: the file's window, then the lung window.
    c.goto(app.url(&chart)).await.unwrap();
    let ct = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dicom/CT_small.dcm");
    choose_file(&c, "#upload-file", &ct).await.unwrap();
    click(&c, "#upload-form button[type=submit]").await;
    until(
        &c,
        "document.querySelectorAll('ul.documents li').length === 2",
    )
    .await;
    // (The test clock stands still, so both share a time: find the CT by its title.)
    c.evaluate(
        "[...document.querySelectorAll('ul.documents a[data-document]')].find(a => a.textContent.includes('CT_small.dcm')).click()",
    )
    .await
    .unwrap();
    until(
        &c,
        "(() => { const i = document.getElementById('viewer-image'); return !!i && i.complete && i.naturalWidth === 128; })()",
    )
    .await;
    assert!(text_of(&c, "#dicom-facts").await.unwrap().contains("CT"));
    c.evaluate("(() => { const s = document.getElementById('window'); s.value = 'lung'; s.dispatchEvent(new Event('change', {bubbles: true})); })()")
        .await
        .unwrap();
    until(&c, "location.search === '?window=lung'").await;
    until(
        &c,
        "(() => { const i = document.getElementById('viewer-image'); return !!i && i.complete && i.naturalWidth === 128 && i.src.endsWith('window=lung'); })()",
    )
    .await;
    look(&c, "43-clinician-ct-lung").await;

    // The clinician writes the visit's note and signs it.
    c.goto(app.url(&chart)).await.unwrap();
    c.evaluate(format!(
        "document.getElementById('note-visit').value = '{visit}'"
    ))
    .await
    .unwrap();
    click(&c, "#new-note button[type=submit]").await;
    wait_for(&c, "#note-editor").await.unwrap();
    retype(
        &c,
        "#subjective",
        "Mole on the left arm, larger over 2 months.",
    )
    .await;
    retype(&c, "#objective", "6 mm, irregular border, two colours.").await;
    retype(&c, "#assessment", "Atypical naevus, excision advised.").await;
    retype(&c, "#plan", "Refer to dermatologic surgery.").await;
    c.evaluate("window.confirm = () => true").await.unwrap();
    look(&c, "44-clinician-note").await;
    click(&c, "#note-sign").await;
    until(
        &c,
        "(() => { const s = document.getElementById('note-status'); return !!s && s.textContent.includes('Signed'); })()",
    )
    .await;
    assert!(c.find_element("#note-editor").await.is_err(), "locked");

    // The patient reads the signed note from their record, and takes a copy.
    p.goto(app.url(&chart)).await.unwrap();
    click(&p, "#notes a[data-note]").await;
    let body = text_of(&p, "#note-body").await.unwrap();
    assert!(
        body.contains("Atypical naevus, excision advised."),
        "{body}"
    );
    assert!(p.find_element("#note-editor").await.is_err());
    look(&p, "45-patient-reads-note").await;
    p.goto(app.url(&chart)).await.unwrap();
    // Their own contacts, corrected from the same page.
    click(&p, "#edit-demographics summary").await;
    fill(&p, "#d-phone", "+34 611 222 333").await.unwrap();
    click(&p, "#edit-demographics button[type=submit]").await;
    until(&p, "location.search.includes('saved=true')").await;
    assert!(text_of(&p, "#demographics dl")
        .await
        .unwrap()
        .contains("+34 611 222 333"));
    wait_for(&p, "#export-pdf").await.unwrap();
    let kind: String = p
        .evaluate(format!(
            "fetch('/patients/{}/record/export?format=pdf').then(r => r.headers.get('content-type'))",
            patient.id
        ))
        .await
        .unwrap()
        .into_value()
        .unwrap();
    assert_eq!(kind, "application/pdf");

    let _ = std::fs::remove_dir_all(&dir);
    patient_browser.close().await;
    clinician_browser.close().await;
    app.shutdown().await;
}
