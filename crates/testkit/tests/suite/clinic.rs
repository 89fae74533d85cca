//! The clinic's settings, kept by admins on the clinic page and through the API: what
//! every page shows of the clinic, what can be booked, the languages offered, the logo,
//! and the telehealth consent's versions. A refused change changes nothing.

use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp};

use super::messaging::Api;
use super::scheduling::schedule;

async fn clinic_of(api: &Api<'_>, token: &str) -> Value {
    let (status, clinic) = api.call("GET", "/api/v1/clinic", token, None).await;
    assert_eq!(status, 200, "{clinic}");
    clinic
}

/// Only admins change the settings; a change names the revision it was made from, so
/// a stale one is refused; bad values are refused by name; every page shows the clinic.
async fn admins_keep_the_clinic_settings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api::of(&app);
    let admin = app.create_user(Role::Admin).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let admin_token = app.token_for(&admin, None).await;
    let patient_token = app.token_for(&patient, None).await;
    let clinician_token = app.token_for(&clinician, None).await;

    let before = clinic_of(&api, &patient_token).await;
    assert_eq!(
        (before["revision"].as_i64(), before["name"].as_str()),
        (Some(0), Some("telemed"))
    );
    assert_eq!(before["reminder_hours"], json!([24, 1]));

    let change = json!({"revision": 0, "name": "Clínica Norte", "phone": "+34 910 000 002",
        "address": "Calle Mayor 1\n28013 Madrid", "time_zone": "Europe/Madrid"});
    for token in [&patient_token, &clinician_token] {
        let (status, _) = api
            .call("PATCH", "/api/v1/clinic", token, Some(change.clone()))
            .await;
        assert_eq!(status, 403);
    }
    let (status, saved) = api
        .call(
            "PATCH",
            "/api/v1/clinic",
            &admin_token,
            Some(change.clone()),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["revision"], 1);
    assert_eq!(saved["name"], "Clínica Norte");
    // What was not named stays as it was.
    assert_eq!(saved["reminder_hours"], json!([24, 1]));
    assert_eq!(
        saved["check_in_opens_minutes"],
        before["check_in_opens_minutes"]
    );

    // Refused, each by what is wrong, and nothing changes.
    let refusals = [
        (
            json!({"revision": 0, "name": "Stale"}),
            409,
            "conflict",
            "someone else",
        ),
        (
            json!({"revision": 1, "phone": "call us"}),
            400,
            "invalid",
            "phone number",
        ),
        (
            json!({"revision": 1, "time_zone": "Mars/Olympus"}),
            400,
            "invalid",
            "IANA",
        ),
        (
            json!({"revision": 1, "languages": ["fr"]}),
            400,
            "invalid",
            "languages telemed speaks",
        ),
        (
            json!({"revision": 1, "reminder_hours": [0]}),
            400,
            "invalid",
            "1 to 336 hours",
        ),
        (
            json!({"revision": 1, "colour": "blue"}),
            400,
            "invalid",
            "no setting",
        ),
        (
            json!({"revision": 1, "noshow_grace_minutes": "ten"}),
            400,
            "invalid",
            "wrong type",
        ),
        (json!({"name": "No revision"}), 400, "invalid", "revision"),
    ];
    for (body, want, code, says) in refusals {
        let (status, error) = api
            .call("PATCH", "/api/v1/clinic", &admin_token, Some(body.clone()))
            .await;
        assert_eq!(status, want, "{body} → {error}");
        assert_eq!(error["error"]["code"], code, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body} → {message}");
    }
    let after = clinic_of(&api, &patient_token).await;
    assert_eq!(after, saved);

    // Every page shows the clinic: its name in the title and bar, how to reach it below.
    let login = app.web().get("/login").await.text().await.unwrap();
    assert!(login.contains("· Clínica Norte</title>"), "{login}");
    assert!(
        login.contains(r#"<a href="tel:+34910000002">+34 910 000 002</a>"#),
        "{login}"
    );
    assert!(login.contains("Calle Mayor 1<br>28013 Madrid"), "{login}");

    // The admin's page writes the same settings; a refusal shows what was sent again.
    let web = app.signed_in_web(&admin).await;
    let page = web.get("/admin/clinic").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"name="revision" value="1""#), "{page}");
    let mut form = vec![
        ("revision", "1"),
        ("name", "Clínica Norte"),
        ("phone", "+34 910 000 002"),
        ("email", "desk@norte.example"),
        ("address", "Calle Mayor 1\r\n28013 Madrid"),
        ("hours", "Mon–Fri 8:00–18:00"),
        ("time_zone", "Europe/Madrid"),
        ("currency", "EUR"),
        ("languages", "en"),
        ("languages", "es"),
        ("default_language", "es"),
        ("video_offered", "on"),
        ("video_minutes", "30"),
        ("video_fee", "45.50"),
        ("audio_minutes", "20"),
        ("audio_fee", "0"),
        ("messaging_offered", "on"),
        ("messaging_minutes", "15"),
        ("messaging_fee", "12"),
        ("reminder_hours", "48, 2"),
        ("patient_cancel_cutoff_hours", "12"),
        ("check_in_opens_minutes", "10"),
        ("noshow_grace_minutes", "20"),
    ];
    let bad_zone: Vec<(&str, &str)> = form
        .iter()
        .map(|(k, v)| (*k, if *k == "time_zone" { "Madrid" } else { *v }))
        .collect();
    let refused = web.post("/admin/clinic", &bad_zone).await;
    assert_eq!(refused.status(), 400);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains(r#"id="clinic-error""#) && refused.contains(r#"value="Madrid""#),
        "{refused}"
    );
    assert_eq!(clinic_of(&api, &patient_token).await["revision"], 1);
    let r = web.post("/admin/clinic", &form).await;
    assert_eq!(r.status(), 303);
    let now = clinic_of(&api, &patient_token).await;
    assert_eq!(now["revision"], 2);
    assert_eq!(now["reminder_hours"], json!([48, 2]));
    assert_eq!(now["default_language"], "es");
    let offered: Vec<(&str, bool, i64)> = now["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["kind"].as_str().unwrap(),
                v["offered"].as_bool().unwrap(),
                v["fee_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        offered,
        [
            ("video", true, 4550),
            ("audio", false, 0),
            ("messaging", true, 1200)
        ]
    );
    // The same form from revision 1 again: someone saved since.
    form[0] = ("revision", "1");
    let stale = web.post("/admin/clinic", &form).await;
    assert_eq!(stale.status(), 409);
    // Others may not even see the page.
    let clinician_web = app.signed_in_web(&clinician).await;
    assert_eq!(clinician_web.get("/admin/clinic").await.status(), 403);
    assert_eq!(
        clinician_web.post("/admin/clinic", &form).await.status(),
        403
    );
    assert_eq!(clinic_of(&api, &patient_token).await["revision"], 2);

    // Each save is audited, naming what changed (not the values).
    app.flush_audit().await;
    let (status, audit) = api
        .call(
            "GET",
            "/api/v1/audit?action=clinic.settings.update",
            &admin_token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{audit}");
    let details: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap_or_default())
        .collect();
    assert!(
        details.contains(&"name phone address time_zone"),
        "{details:?}"
    );
    app.shutdown().await;
}

/// Only the kinds of visit the clinic offers can be booked or put in a schedule; fees
/// are in the clinic's currency; the pages speak only the languages it offers.
async fn what_the_clinic_offers_is_what_can_be_booked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api::of(&app);
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let clinician_token = app.token_for(&clinician, None).await;
    let patient_token = app.token_for(&patient, None).await;
    let path = format!("/api/v1/clinicians/{}/schedule", clinician.id);
    let (status, _) = api
        .call(
            "PUT",
            &path,
            &clinician_token,
            Some(schedule("Dermatology", &["en"], &[])),
        )
        .await;
    assert_eq!(status, 200);
    let now = telemed_domain::Clock::now(&app.clock);
    let window = format!(
        "from={}&to={}",
        now.format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::Duration::days(2)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let slots = |kind: &str| {
        format!(
            "/api/v1/clinicians/{}/slots?visit_kind={kind}&{window}",
            clinician.id
        )
    };
    let (status, audio) = api.call("GET", &slots("audio"), &patient_token, None).await;
    assert_eq!(status, 200);
    let audio_start = audio[0]["start"].clone();

    app.set_clinic(|c| {
        for v in &mut c.visits {
            v.offered = v.kind != telemed_domain::schedule::VisitKind::Audio;
        }
    })
    .await;
    let (status, _) = api.call("GET", &slots("audio"), &patient_token, None).await;
    assert_eq!(status, 400);
    let book = |kind: &str, start: &Value| json!({"clinician_id": clinician.id, "visit_kind": kind, "start": start, "reason": "Rash"});
    let (status, _) = api
        .call(
            "POST",
            "/api/v1/appointments",
            &patient_token,
            Some(book("audio", &audio_start)),
        )
        .await;
    assert_eq!(status, 400);
    let (_, found) = api
        .call(
            "GET",
            "/api/v1/clinicians?visit_kind=audio",
            &patient_token,
            None,
        )
        .await;
    assert_eq!(found, json!([]), "{found}");
    let (status, video) = api.call("GET", &slots("video"), &patient_token, None).await;
    assert_eq!(status, 200);
    let (status, booked) = api
        .call(
            "POST",
            "/api/v1/appointments",
            &patient_token,
            Some(book("video", &video[0]["start"])),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    // A schedule may not offer what the clinic does not, nor charge in another currency.
    let (status, error) = api
        .call(
            "PUT",
            &path,
            &clinician_token,
            Some(schedule("Dermatology", &["en"], &[])),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not offer audio"));
    let mut dollars = schedule("Dermatology", &["en"], &[]);
    dollars["visit_types"] =
        json!([{"kind": "video", "duration_minutes": 30, "fee_cents": 5000, "currency": "USD"}]);
    let (status, error) = api
        .call("PUT", &path, &clinician_token, Some(dollars))
        .await;
    assert_eq!(status, 400);
    assert!(error["error"]["message"].as_str().unwrap().contains("EUR"));

    // A clinic that speaks only Spanish answers an English browser in Spanish, and
    // offers no other language to switch to.
    app.set_clinic(|c| {
        c.languages = vec!["es".into()];
        c.default_language = "es".into();
    })
    .await;
    let web = app.web();
    let page = web
        .http
        .get(web.url("/login"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<html lang="es">"#), "{page}");
    assert!(!page.contains(r#"<option value="en""#), "{page}");
    let r = web
        .post("/language", &[("lang", "en"), ("back", "/login")])
        .await;
    assert_eq!(r.status(), 400);
    app.shutdown().await;
}

/// A new version of the telehealth consent is asked of every patient before their next
/// video visit; the version accepted is the text they were shown; a text for each
/// language offered is needed to publish.
async fn a_new_consent_version_is_asked_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.create_user(Role::Admin).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let visit = app.book_video_visit(&clinician, &patient).await;
    let id = visit["id"].as_str().unwrap();
    // The room opens shortly before the visit: the test goes to its start.
    let start: chrono::DateTime<chrono::Utc> = visit["start"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(start - telemed_domain::Clock::now(&app.clock));
    let consent = format!("/visits/{id}/consent");
    let room = format!("/visits/{id}/room");
    let built_in = telemed_domain::video::TELEHEALTH_CONSENT_VERSION;

    let web = app.signed_in_web(&patient).await;
    let form = web.get(&consent).await.text().await.unwrap();
    assert!(
        form.contains(&format!(r#"name="version" value="{built_in}""#)),
        "{form}"
    );
    assert_eq!(
        web.post(&consent, &[("version", built_in)]).await.status(),
        303
    );
    assert_eq!(web.get(&room).await.status(), 200);

    let admin_web = app.signed_in_web(&admin).await;
    let english = "You consent to video visits.\n\nSecond paragraph: what the clinic keeps.";
    let spanish =
        "Usted consiente las visitas por video.\n\nSegundo párrafo: lo que guarda la clínica.";
    let missing = admin_web
        .post("/admin/clinic/consent", &[("consent_en", english)])
        .await;
    assert_eq!(missing.status(), 400);
    assert!(missing.text().await.unwrap().contains("Español"));
    let patient_web = app.signed_in_web(&patient).await;
    assert_eq!(
        patient_web
            .post(
                "/admin/clinic/consent",
                &[("consent_en", english), ("consent_es", spanish)]
            )
            .await
            .status(),
        403
    );
    let r = admin_web
        .post(
            "/admin/clinic/consent",
            &[("consent_en", english), ("consent_es", spanish)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let today = telemed_domain::Clock::now(&app.clock)
        .format("%Y-%m-%d")
        .to_string();

    // The patient is asked again, with the new text; accepting the old one is refused.
    let r = web.get(&room).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        telemed_testkit::location(&r).as_deref(),
        Some(consent.as_str())
    );
    let form = web.get(&consent).await.text().await.unwrap();
    assert!(
        form.contains("<p>You consent to video visits.</p>"),
        "{form}"
    );
    assert!(
        form.contains(&format!(r#"name="version" value="{today}""#)),
        "{form}"
    );
    let stale = web.post(&consent, &[("version", built_in)]).await;
    assert_eq!(stale.status(), 409);
    assert!(stale.text().await.unwrap().contains("new version"));
    assert_eq!(
        web.post(&consent, &[("version", &today)]).await.status(),
        303
    );
    assert_eq!(web.get(&room).await.status(), 200);

    // A second version the same day gets its own number; both stay listed.
    let r = admin_web
        .post(
            "/admin/clinic/consent",
            &[("consent_en", english), ("consent_es", spanish)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = admin_web.get("/admin/clinic").await.text().await.unwrap();
    assert!(
        page.contains(&format!(
            r#"<strong id="consent-version">{today}.2</strong>"#
        )),
        "{page}"
    );
    assert!(page.contains(&format!("<td>{today}</td>")), "{page}");
    let account = web.get("/account").await.text().await.unwrap();
    assert!(
        account.contains(built_in) && account.contains(&today),
        "{account}"
    );
    app.shutdown().await;
}

/// The logo is a PNG, JPEG or WebP image of at most 256 KiB, shown on every page;
/// anything else is refused and the logo stays as it was.
async fn the_logo_is_an_image_on_every_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.create_user(Role::Admin).await;
    let web = app.signed_in_web(&admin).await;
    let png = {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend(std::iter::repeat_n(7u8, 2000));
        bytes
    };
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let web = &web;
        async move {
            web.post_multipart("/admin/clinic/logo", &[], &[("logo", name, bytes)])
                .await
        }
    };
    assert_eq!(app.web().get("/clinic/logo").await.status(), 404);
    assert_eq!(upload(png.clone(), "logo.png").await.status(), 303);
    let logo = app.web().get("/clinic/logo").await;
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    let etag = logo.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(logo.bytes().await.unwrap().to_vec(), png);
    let again = app
        .client()
        .get(app.url("/clinic/logo"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let login = app.web().get("/login").await.text().await.unwrap();
    assert!(login.contains(r#"<img src="/clinic/logo?v="#), "{login}");

    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    assert_eq!(upload(svg, "logo.svg").await.status(), 415);
    let mut huge = png.clone();
    huge.extend(std::iter::repeat_n(0u8, 300 * 1024));
    assert_eq!(upload(huge, "big.png").await.status(), 413);
    let patient = app.create_user(Role::Patient).await;
    let patient_web = app.signed_in_web(&patient).await;
    let r = patient_web
        .post_multipart("/admin/clinic/logo", &[], &[("logo", "x.png", png.clone())])
        .await;
    assert_eq!(r.status(), 403);
    let still = app.web().get("/clinic/logo").await;
    assert_eq!(still.headers()["etag"].to_str().unwrap(), etag);

    assert_eq!(
        web.post("/admin/clinic/logo/remove", &[]).await.status(),
        303
    );
    assert_eq!(app.web().get("/clinic/logo").await.status(), 404);
    app.shutdown().await;
}

on_both_databases!(
    admins_keep_the_clinic_settings,
    what_the_clinic_offers_is_what_can_be_booked,
    a_new_consent_version_is_asked_again,
    the_logo_is_an_image_on_every_page,
);
