//! Code systems: clinicians find ICD-10-CM, LOINC and CVX codes by typing words (in
//! English or Spanish where a name exists) or the start of a code; an admin imports a
//! full release in the background, after which codes it does not list are refused and
//! retired, never deleted; a broken release names its line and retires nothing.

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::browser::{
    assert_accessible, fill, look, sign_in_clinician, text_of, until, wait_for, wait_for_path,
    TestBrowser,
};
use telemed_testkit::{Backend, TestApp, TestUser, WebClient};

use super::messaging::{give_a_visit, Api};

const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

/// `GET /api/v1/terminology?…` in a language.
async fn find(app: &TestApp, token: &str, query: &str, lang: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/terminology?{query}")))
        .bearer_auth(token)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn codes(found: &Value) -> Vec<&str> {
    found
        .as_array()
        .unwrap_or_else(|| panic!("{found}"))
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect()
}

/// A line of the CMS order file.
fn order_line(n: usize, code: &str, billable: bool, description: &str) -> String {
    let short: String = description.chars().take(60).collect();
    format!(
        "{n:05} {code:<7} {} {short:<60} {description}\n",
        u8::from(billable)
    )
}

/// A small release: cholera (a heading and two codes), allergic contact dermatitis (a
/// heading and the unspecified code) and one code telemed's starter set does not have.
fn release() -> String {
    [
        order_line(1, "A00", false, "Cholera"),
        order_line(
            2,
            "A000",
            true,
            "Cholera due to Vibrio cholerae 01, biovar cholerae",
        ),
        order_line(3, "A009", true, "Cholera, unspecified"),
        order_line(4, "L23", false, "Allergic contact dermatitis"),
        order_line(
            5,
            "L239",
            true,
            "Allergic contact dermatitis, unspecified cause",
        ),
        order_line(
            6,
            "Z9989",
            true,
            "Dependence on other enabling machines and devices",
        ),
    ]
    .concat()
}

/// Uploads a release from the admin's page and waits until its import ends; returns
/// the imports table as the page shows it then.
async fn import(admin: &WebClient, system: &str, name: &str, body: &str) -> String {
    let r = admin
        .post_multipart(
            "/admin/terminology",
            &[("system", system)],
            &[("file", name, body.as_bytes().to_vec())],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let mut table = String::new();
    for _ in 0..200 {
        table = admin
            .get("/admin/terminology/imports")
            .await
            .text()
            .await
            .unwrap();
        if !table.contains("every 2s") {
            return table;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import of {name} did not end: {table}");
}

async fn add_problem(api: &Api<'_>, token: &str, patient: &TestUser, code: &str) -> (u16, Value) {
    api.call(
        "POST",
        &format!("/api/v1/patients/{}/record/problems", patient.id),
        token,
        Some(json!({"code_system": ICD10CM, "code": code, "text": "Rash"})),
    )
    .await
}

async fn codes_are_found_as_typed_and_a_release_replaces_the_starter_set(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api::of(&app);
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    give_a_visit(&app, &clinician, &patient).await;
    let token = app.token_for(&clinician, None).await;

    // The starter set, by words: the shortest names first, headings never.
    let (status, found) = find(&app, &token, "section=problems&q=dermatitis", "en").await;
    assert_eq!(status, 200, "{found}");
    let found_codes = codes(&found);
    assert!(found_codes.contains(&"L23.9"), "{found}");
    assert!(!found_codes.contains(&"L23"), "{found}");
    let lengths: Vec<usize> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["display"].as_str().unwrap().len())
        .collect();
    assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{found}");
    // Two words narrow: both must start a word of the name.
    let (_, found) = find(&app, &token, "section=problems&q=contact%20derm", "en").await;
    assert_eq!(codes(&found), ["L23.9", "L24.9", "L25.9"], "{found}");
    let (_, found) = find(&app, &token, "section=problems&q=derm%20allerg", "en").await;
    assert_eq!(codes(&found), ["L23.9"], "{found}");
    // By the start of a code, with or without its dot.
    let (_, found) = find(&app, &token, "system=icd10cm&q=l23", "en").await;
    assert_eq!(codes(&found)[0], "L23.9", "{found}");
    let (_, found) = find(&app, &token, "system=icd10cm&q=J069", "en").await;
    assert_eq!(codes(&found), ["J06.9"], "{found}");
    // Vital signs and laboratory tests are both LOINC, each section its own.
    let (_, vitals) = find(&app, &token, "section=vitals&q=glucose", "en").await;
    assert_eq!(codes(&vitals), ["2339-0"], "{vitals}");
    let (_, labs) = find(&app, &token, "section=labs&q=glucose", "en").await;
    assert_eq!(codes(&labs), ["2345-7"], "{labs}");
    let (_, vaccines) = find(&app, &token, "section=immunizations&q=influenza", "en").await;
    assert!(codes(&vaccines).contains(&"140"), "{vaccines}");
    // In Spanish: found by its Spanish name, shown with it beside LOINC's own.
    let (_, es) = find(&app, &token, "section=vitals&q=frecuencia%20card", "es").await;
    assert_eq!(codes(&es), ["8867-4"], "{es}");
    assert_eq!(es[0]["name"], "Frecuencia cardiaca");
    assert_eq!(es[0]["display"], "Heart rate");
    let (_, en) = find(&app, &token, "section=vitals&q=heart", "en").await;
    assert_eq!(en[0]["name"], Value::Null, "{en}");

    // Refused, clearly: too long, an unknown system, both or neither, a bad limit, no token.
    let long = "a".repeat(101);
    for bad in [
        format!("system=icd10cm&q={long}"),
        "system=snomed&q=rash".into(),
        "q=rash".into(),
        "system=loinc&section=labs&q=rash".into(),
        "section=notes&q=rash".into(),
        "system=icd10cm&q=rash&limit=0".into(),
    ] {
        let (status, body) = find(&app, &token, &bad, "en").await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            !body["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{body}"
        );
    }
    let (status, _) = find(&app, "tm_pat_nothing", "system=icd10cm&q=rash", "en").await;
    assert_eq!(status, 401);

    // A problem takes an ICD-10-CM code written as one; the refusal says so in words.
    let (status, body) = add_problem(&api, &token, &patient, "l23.9").await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("L23.9") && !message.contains("code_system"),
        "{message}"
    );
    assert_eq!(add_problem(&api, &token, &patient, "L23.9").await.0, 201);
    assert_eq!(add_problem(&api, &token, &patient, "I10").await.0, 201);
    // Before a release is imported, a well-written code the starter set lacks is taken.
    assert_eq!(add_problem(&api, &token, &patient, "L23.81").await.0, 201);

    // Only an admin imports.
    let clinician_web = app.signed_in_web(&clinician).await;
    let refused = clinician_web
        .post_multipart(
            "/admin/terminology",
            &[("system", "icd10cm")],
            &[("file", "order.txt", release().into_bytes())],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let admin = app.create_user(Role::Admin).await;
    let admin_web = app.signed_in_web(&admin).await;
    let empty = admin_web
        .post_multipart(
            "/admin/terminology",
            &[("system", "icd10cm")],
            &[("file", "order.txt", Vec::new())],
        )
        .await;
    assert_eq!(empty.status(), 400);

    // A broken release: the import fails naming its line; nothing is retired.
    let broken = release().replace("00003 A009    1", "00003 A009    7");
    let table = import(&admin_web, "icd10cm", "broken.txt", &broken).await;
    assert!(table.contains("line 3"), "{table}");
    let (_, found) = find(&app, &token, "system=icd10cm&q=hypertension", "en").await;
    assert_eq!(codes(&found), ["I10"], "{found}");

    // The release: its codes come in, the starter codes it does not list retire.
    let table = import(&admin_web, "icd10cm", "icd10cm_order_2026.txt", &release()).await;
    assert!(table.contains("icd10cm_order_2026.txt"), "{table}");
    assert!(
        table.contains("6 codes read (5 new, 205 retired)"),
        "{table}"
    );
    let (_, found) = find(&app, &token, "system=icd10cm&q=cholera", "en").await;
    assert_eq!(codes(&found), ["A00.9", "A00.0"], "{found}");
    let (_, found) = find(&app, &token, "system=icd10cm&q=hypertension", "en").await;
    assert_eq!(codes(&found), Vec::<&str>::new(), "{found}");
    let page = admin_web
        .get("/admin/terminology")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("A full release, imported"), "{page}");

    // Now the release decides: a heading or a code it lacks is refused, with why.
    let (status, body) = add_problem(&api, &token, &patient, "L23").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("heading"),
        "{body}"
    );
    let (status, body) = add_problem(&api, &token, &patient, "L23.89").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not a code of ICD-10-CM"),
        "{body}"
    );
    let (status, body) = add_problem(&api, &token, &patient, "I10").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retired it"),
        "{body}"
    );
    assert_eq!(add_problem(&api, &token, &patient, "Z99.89").await.0, 201);
    // What the chart held keeps its codes, retired or not.
    let (_, problems) = api
        .call(
            "GET",
            &format!("/api/v1/patients/{}/record/problems", patient.id),
            &token,
            None,
        )
        .await;
    let held: Vec<&str> = problems
        .as_array()
        .unwrap_or_else(|| panic!("{problems}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    for code in ["L23.9", "I10", "L23.81", "Z99.89"] {
        assert!(held.contains(&code), "{code} in {problems}");
    }

    // The import is audited with what it did.
    app.flush_audit().await;
    let admin_token = app.token_for(&admin, None).await;
    let (_, audit) = api
        .call(
            "GET",
            "/api/v1/audit?action=terminology.import",
            &admin_token,
            None,
        )
        .await;
    let mut details: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap_or_default(),
                e["detail"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    details.sort();
    assert_eq!(
        details,
        [
            ("failure", "icd10cm: failed"),
            ("success", "icd10cm: 6 concepts (5 new, 205 retired)")
        ],
        "{audit}"
    );
    app.shutdown().await;
}

/// The chart's form: a code chosen from the finder is stored with the code system's
/// name when no words were written; a chosen code that differs from one typed is
/// refused in words.
async fn the_chart_form_records_the_code_chosen(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    give_a_visit(&app, &clinician, &patient).await;
    let web = app.signed_in_web(&clinician).await;
    let choices = web
        .get("/terminology/choices?section=problems&q=dermat")
        .await
        .text()
        .await
        .unwrap();
    let value = format!("{ICD10CM}|L23.9|Allergic contact dermatitis, unspecified cause");
    assert!(choices.contains(&format!("value=\"{value}\"")), "{choices}");
    let none = web
        .get("/terminology/choices?section=problems&q=zzzz")
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No code of this kind"), "{none}");

    let path = format!("/patients/{}/chart/entries", patient.id);
    let differs = web
        .post(
            &path,
            &[
                ("section", "problems"),
                ("concept", &value),
                ("code", "L30.9"),
            ],
        )
        .await;
    assert_eq!(differs.status(), 400);
    let page = differs.text().await.unwrap();
    assert!(
        page.contains("The code chosen from the list and the code typed differ"),
        "{page}"
    );
    let saved = web
        .post(&path, &[("section", "problems"), ("concept", &value)])
        .await;
    assert_eq!(saved.status(), 303);
    let chart = web
        .get(&format!("/patients/{}/chart", patient.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        chart.contains("Allergic contact dermatitis, unspecified cause"),
        "{chart}"
    );
    app.shutdown().await;
}

/// A LOINC release: its laboratory tests and vital signs come in by their class, a
/// deprecated code is kept but not offered, the Spanish names telemed gives the vital
/// signs stay; a file that is not LOINC's table is refused naming what it lacks.
async fn a_loinc_release_keeps_the_names_telemed_gave(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let admin = app.create_user(Role::Admin).await;
    let admin_web = app.signed_in_web(&admin).await;

    let table = import(&admin_web, "loinc", "codes.csv", "code,name\n1,Heart\n").await;
    assert!(table.contains("line 1: this is not LOINC"), "{table}");
    assert!(table.contains("it has no LOINC_NUM column"), "{table}");

    let loinc = [
        "\"LOINC_NUM\",\"COMPONENT\",\"STATUS\",\"CLASSTYPE\",\"LONG_COMMON_NAME\"",
        "\"8867-4\",\"Heart rate\",\"ACTIVE\",\"2\",\"Heart rate\"",
        "\"2345-7\",\"Glucose\",\"ACTIVE\",\"1\",\"Glucose [Mass/volume] in Serum or Plasma\"",
        "\"14749-6\",\"Glucose\",\"ACTIVE\",\"1\",\"Glucose [Moles/volume] in Serum or Plasma\"",
        "\"1-8\",\"Acyclovir\",\"DEPRECATED\",\"1\",\"Acyclovir [Mass/volume] in Serum or Plasma\"",
        "\"8480-6\",\"Intravascular systolic\",\"ACTIVE\",\"2\",\"Systolic blood pressure\"",
    ]
    .join("\r\n");
    let table = import(&admin_web, "loinc", "Loinc.csv", &loinc).await;
    assert!(
        table.contains("5 codes read (3 new, 29 retired)"),
        "{table}"
    );

    let (_, labs) = find(&app, &token, "section=labs&q=glucose", "en").await;
    assert_eq!(codes(&labs), ["2345-7", "14749-6"], "{labs}");
    let (_, gone) = find(&app, &token, "section=labs&q=acyclovir", "en").await;
    assert_eq!(codes(&gone), Vec::<&str>::new(), "{gone}");
    // A starter test the release does not list is retired.
    let (_, hemoglobin) = find(&app, &token, "section=labs&q=hemoglobin", "en").await;
    assert_eq!(codes(&hemoglobin), Vec::<&str>::new(), "{hemoglobin}");
    // A clinical LOINC code the chart's vital signs do not know is not offered there.
    let (_, systolic) = find(&app, &token, "section=vitals&q=systolic", "en").await;
    assert_eq!(codes(&systolic), Vec::<&str>::new(), "{systolic}");
    let (_, es) = find(&app, &token, "section=vitals&q=frecuencia", "es").await;
    assert_eq!(codes(&es), ["8867-4"], "{es}");
    assert_eq!(es[0]["name"], "Frecuencia cardiaca", "{es}");
    app.shutdown().await;
}

on_both_databases!(
    a_loinc_release_keeps_the_names_telemed_gave,
    codes_are_found_as_typed_and_a_release_replaces_the_starter_set,
    the_chart_form_records_the_code_chosen,
);

/// On a phone, a clinician adds a problem by typing "dermatitis" and choosing it from
/// the list; the chart shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_browser),
    ignore = "Chromium not found at /usr/bin/chromium: apt-get install chromium (TELEMED_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn on_a_phone_a_problem_is_added_by_typing_dermatitis() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    give_a_visit(&app, &clinician, &patient).await;
    let browser = TestBrowser::launch_phone().await.expect("Chromium");
    let page = browser.open(&app.url("/login")).await.unwrap();
    sign_in_clinician(&app, &page, &clinician).await;
    let chart = format!("/patients/{}/chart", patient.id);
    page.goto(app.url(&format!("{chart}#add-entry")))
        .await
        .unwrap();
    wait_for(&page, "#entry-q").await.unwrap();
    // Problems is the form's first section.
    let section = page
        .evaluate("document.getElementById('entry-section').value")
        .await
        .unwrap()
        .into_value::<String>()
        .unwrap();
    assert_eq!(section, "problems");
    fill(&page, "#entry-q", "dermatitis").await.unwrap();
    let choice =
        "#entry-choices input[value$='|L23.9|Allergic contact dermatitis, unspecified cause']";
    wait_for(&page, choice)
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    look(&page, "46-code-finder-phone").await;
    wait_for(&page, "#add-entry button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&page, "location.search.includes('added=true')").await;
    wait_for_path(&page, &chart).await.unwrap();
    let problems = text_of(&page, "#problems").await.unwrap();
    assert!(
        problems.contains("Allergic contact dermatitis, unspecified cause"),
        "{problems}"
    );
    assert_accessible(&page, "the chart, on a phone").await;
    browser.close().await;
    app.shutdown().await;
}
