//! Proxies by invitation: an invitation answers the same whoever the address belongs
//! to, opens nothing until the person signed in with that address accepts, and can be
//! declined, withdrawn or left to expire; and every endpoint that sends email or takes
//! an address is rate limited the same whether or not an account has it.

use chrono::Duration;
use serde_json::{json, Value};
use telemed_domain::Role;
use telemed_testkit::{Backend, TestApp, TestUser};

use super::messaging::{count, Api};

const INVITATION_SUBJECT: &str = "An invitation to access a record on telemed";

async fn invite(api: &Api<'_>, patient: &TestUser, token: &str, email: &str) -> (u16, Value) {
    api.call(
        "POST",
        &format!("/api/v1/patients/{}/proxies", patient.id),
        token,
        Some(json!({"email": email, "relationship": "daughter"})),
    )
    .await
}

/// Invites `email` and returns the invitation's id.
async fn invited(api: &Api<'_>, patient: &TestUser, token: &str, email: &str) -> String {
    let (status, sent) = invite(api, patient, token, email).await;
    assert_eq!(status, 202, "{sent}");
    sent["id"].as_str().unwrap().to_owned()
}

/// The invitations waiting for the holder of `token`.
async fn waiting_for(api: &Api<'_>, token: &str) -> Vec<Value> {
    let (status, list) = api
        .call("GET", "/api/v1/proxy-invitations", token, None)
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

async fn answer(api: &Api<'_>, token: &str, id: &str, verb: &str) -> (u16, Value) {
    let path = format!("/api/v1/proxy-invitations/{id}/{verb}");
    api.call("POST", &path, token, None).await
}

/// The patient's proxies and waiting invitations, as `token` lists them.
async fn proxies_of(api: &Api<'_>, patient: &TestUser, token: &str) -> Value {
    let path = format!("/api/v1/patients/{}/proxies", patient.id);
    let (status, list) = api.call("GET", &path, token, None).await;
    assert_eq!(status, 200, "{list}");
    list
}

async fn reads_record(api: &Api<'_>, patient: &TestUser, token: &str) -> u16 {
    let path = format!("/api/v1/patients/{}/record/allergies", patient.id);
    api.call("GET", &path, token, None).await.0
}

/// Makes `proxy` the proxy of `patient`: invited by the patient, accepted by the proxy.
pub(super) async fn make_proxy(
    app: &TestApp,
    api: &Api<'_>,
    patient: &TestUser,
    patient_token: &str,
    proxy: &TestUser,
) {
    let id = invited(api, patient, patient_token, &proxy.email).await;
    let proxy_token = app.token_for(proxy, None).await;
    let (status, body) = answer(api, &proxy_token, &id, "accept").await;
    assert_eq!(status, 204, "{body}");
}

/// Whether the address is a patient's, a clinician's or nobody's, the inviter gets the
/// same answer and the address the same email; nobody gets access by being invited.
async fn an_invitation_tells_nothing_about_who_is_a_patient(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app.create_user(Role::Patient).await;
    let token = app.token_for(&patient, None).await;
    let another_patient = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let nobody = "nobody-here@clinic.example";
    let proxies_before = count(&app, "record_proxies").await;

    let mut answers = vec![];
    for email in [
        another_patient.email.as_str(),
        clinician.email.as_str(),
        nobody,
    ] {
        let (status, sent) = invite(&api, &patient, &token, email).await;
        assert_eq!(status, 202, "{email}: {sent}");
        let mut keys: Vec<&String> = sent.as_object().unwrap().keys().collect();
        keys.sort();
        answers.push((status, keys.into_iter().cloned().collect::<Vec<_>>()));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(count(&app, "record_proxies").await, proxies_before);

    let mut mails = vec![];
    for email in [
        another_patient.email.as_str(),
        clinician.email.as_str(),
        nobody,
    ] {
        let mail = app.smtp.wait_for(email, INVITATION_SUBJECT).await;
        mails.push((mail.subject(), mail.body()));
    }
    assert!(
        mails.windows(2).all(|w| w[0] == w[1]),
        "the same email to each"
    );
    assert!(
        !mails[0].1.contains("Test patient"),
        "the email names nobody: who invited is shown after sign-in"
    );
    let invited_token = app.token_for(&another_patient, None).await;
    assert_eq!(reads_record(&api, &patient, &invited_token).await, 404);

    // A malformed address is refused for what was written, as before.
    let (status, body) = invite(&api, &patient, &token, "not an address").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("email"));
    // Someone who does not manage the patient's proxies gets "not found".
    let (status, _) = invite(&api, &patient, &invited_token, nobody).await;
    assert_eq!(status, 404);
    app.shutdown().await;
}

/// The person signed in with the invited address sees the invitation and answers it;
/// nobody else can. Declined, withdrawn and expired invitations open nothing.
async fn the_invited_person_accepts_or_declines(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let patient = app
        .create_named_user(Role::Patient, "Lucía Fernández")
        .await;
    let token = app.token_for(&patient, None).await;
    let carer = app.create_user(Role::Patient).await;
    let carer_token = app.token_for(&carer, None).await;
    let stranger = app.create_user(Role::Patient).await;
    let stranger_token = app.token_for(&stranger, None).await;

    let id = invited(&api, &patient, &token, &carer.email.to_uppercase()).await;
    let mine = waiting_for(&api, &carer_token).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["patient_name"], "Lucía Fernández");
    assert_eq!(mine[0]["relationship"], "daughter");
    assert!(waiting_for(&api, &stranger_token).await.is_empty());
    assert_eq!(answer(&api, &stranger_token, &id, "accept").await.0, 404);
    assert_eq!(reads_record(&api, &patient, &stranger_token).await, 404);

    let list = proxies_of(&api, &patient, &token).await;
    assert_eq!(list["invitations"][0]["email"], carer.email.as_str());
    assert_eq!(list["proxies"].as_array().unwrap().len(), 0);

    assert_eq!(reads_record(&api, &patient, &carer_token).await, 404);
    assert_eq!(answer(&api, &carer_token, &id, "accept").await.0, 204);
    assert_eq!(reads_record(&api, &patient, &carer_token).await, 200);
    assert_eq!(
        answer(&api, &carer_token, &id, "accept").await.0,
        404,
        "answered once"
    );
    let list = proxies_of(&api, &patient, &token).await;
    assert_eq!(list["proxies"][0]["proxy_id"], carer.id.to_string());
    assert_eq!(list["invitations"].as_array().unwrap().len(), 0);
    let grant = list["proxies"][0]["id"].as_str().unwrap().to_owned();

    // Removing the access closes the record again.
    let path = format!("/api/v1/patients/{}/proxies/{grant}", patient.id);
    assert_eq!(api.call("DELETE", &path, &token, None).await.0, 204);
    assert_eq!(reads_record(&api, &patient, &carer_token).await, 404);

    // Declined: nothing opens.
    let declined = invited(&api, &patient, &token, &stranger.email).await;
    assert_eq!(
        answer(&api, &stranger_token, &declined, "decline").await.0,
        204
    );
    assert_eq!(
        answer(&api, &stranger_token, &declined, "accept").await.0,
        404
    );
    assert_eq!(reads_record(&api, &patient, &stranger_token).await, 404);

    // Withdrawn before the answer: nothing opens.
    let withdrawn = invited(&api, &patient, &token, &stranger.email).await;
    let path = format!("/api/v1/patients/{}/proxies/{withdrawn}", patient.id);
    assert_eq!(api.call("DELETE", &path, &token, None).await.0, 204);
    assert_eq!(
        answer(&api, &stranger_token, &withdrawn, "accept").await.0,
        404
    );

    // Expired: nothing opens.
    let late = invited(&api, &patient, &token, &stranger.email).await;
    app.clock.advance(Duration::days(15));
    assert!(waiting_for(&api, &stranger_token).await.is_empty());
    assert_eq!(answer(&api, &stranger_token, &late, "accept").await.0, 404);
    assert_eq!(reads_record(&api, &patient, &stranger_token).await, 404);

    // The same through the web page: invited, seen on the page, accepted there.
    let id = invited(&api, &patient, &token, &stranger.email).await;
    let web = app.signed_in_web(&stranger).await;
    let page = web.get("/account/proxies").await.text().await.unwrap();
    assert!(page.contains("Lucía Fernández"), "{page}");
    let r = web
        .post(&format!("/account/proxy-invitations/{id}/accept"), &[])
        .await;
    assert_eq!(
        telemed_testkit::location(&r).as_deref(),
        Some("/account/proxies?done=accepted")
    );
    assert_eq!(reads_record(&api, &patient, &stranger_token).await, 200);
    let patient_web = app.signed_in_web(&patient).await;
    let page = patient_web
        .get("/account/proxies")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Remove access"), "{page}");

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE patient_id = $1 AND action LIKE 'record.proxy.%' ORDER BY seq",
    )
    .bind(patient.id.to_string())
    .fetch_all(app.state().store.pool())
    .await
    .unwrap();
    for action in ["invite", "accept", "revoke", "decline", "withdraw"] {
        let action = format!("record.proxy.{action}");
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    app.shutdown().await;
}

/// Password resets, sign-ups and proxy invitations are limited per hour; the limit is
/// the same for an address with an account and one without, answered 429 with
/// Retry-After, and lifts after the hour.
async fn email_endpoints_are_rate_limited_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let per_recipient = app.state().config.limits.emails_per_recipient;
    let web = app.web();
    for email in [patient.email.as_str(), "nobody-at-all@clinic.example"] {
        for _ in 0..per_recipient {
            let r = web.post("/password/forgot", &[("email", email)]).await;
            assert_eq!(r.status(), 200, "{email}");
        }
        let r = web.post("/password/forgot", &[("email", email)]).await;
        assert_eq!(r.status(), 429, "{email}");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&wait), "{wait}");
        assert!(r.text().await.unwrap().contains("Too many attempts"));
    }
    let resets = app
        .smtp
        .all()
        .into_iter()
        .filter(|m| m.recipients.iter().any(|r| r.contains(&patient.email)))
        .filter(|m| m.subject().contains("Reset"))
        .count();
    assert!(resets as i64 <= per_recipient, "{resets} resets sent");

    // Proxy invitations: per person inviting.
    let api = Api {
        app: &app,
        http: reqwest::Client::new(),
    };
    let token = app.token_for(&patient, None).await;
    let per_person = app.state().config.limits.proxy_invitations_per_person;
    for i in 0..per_person {
        let email = format!("carer-{i}@clinic.example");
        assert_eq!(invite(&api, &patient, &token, &email).await.0, 202);
    }
    let (status, body) = invite(&api, &patient, &token, "one-more@clinic.example").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );

    app.clock.advance(Duration::minutes(61));
    let r = web
        .post("/password/forgot", &[("email", &patient.email)])
        .await;
    assert_eq!(r.status(), 200, "the limit lifts after the hour");
    assert_eq!(
        invite(&api, &patient, &token, "one-more@clinic.example")
            .await
            .0,
        202
    );
    app.shutdown().await;
}

/// The front desk manages a patient's proxies on the web, reached from the clinic
/// calendar; nobody else reaches that page for someone else's record.
async fn the_front_desk_manages_proxies_on_the_web(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = Api {
        app: &app,
        http: app.client(),
    };
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app
        .create_named_user(Role::Patient, "Lucía Fernández")
        .await;
    let desk = app.create_user(Role::Staff).await;
    let visit = app.book_video_visit(&clinician, &patient).await;
    let desk_web = app.signed_in_web(&desk).await;
    // The visit's day in the clinic's zone is the UTC day or one beside it.
    let start: chrono::NaiveDate = visit["start"].as_str().unwrap()[..10].parse().unwrap();
    let page_path = format!("/patients/{}/proxies", patient.id);
    let mut linked = false;
    for day in [start.pred_opt().unwrap(), start, start.succ_opt().unwrap()] {
        let calendar = desk_web
            .get(&format!("/calendar?day={day}"))
            .await
            .text()
            .await
            .unwrap();
        linked |= calendar.contains(&format!("href=\"{page_path}\""));
    }
    assert!(
        linked,
        "the clinic calendar links to the patient's proxy page"
    );

    let page = desk_web.get(&page_path).await.text().await.unwrap();
    assert!(page.contains("Lucía Fernández"), "{page}");
    assert!(page.contains("Nobody has proxy access"), "{page}");
    let r = desk_web
        .post(
            &page_path,
            &[("email", "carer@example.org"), ("relationship", "carer")],
        )
        .await;
    assert_eq!(
        telemed_testkit::location(&r).as_deref(),
        Some(format!("{page_path}?done=invited").as_str())
    );
    let token = app.token_for(&patient, None).await;
    let list = proxies_of(&api, &patient, &token).await;
    let id = list["invitations"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["invitations"][0]["email"], "carer@example.org");
    let page = desk_web.get(&page_path).await.text().await.unwrap();
    assert!(page.contains("carer@example.org"), "{page}");
    // What was written is kept and the refusal shown when the address is not one.
    let r = desk_web
        .post(
            &page_path,
            &[("email", "not an address"), ("relationship", "son")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not an address"));
    let r = desk_web
        .post(&format!("{page_path}/{id}/remove"), &[])
        .await;
    assert_eq!(
        telemed_testkit::location(&r).as_deref(),
        Some(format!("{page_path}?done=removed").as_str())
    );
    let list = proxies_of(&api, &patient, &token).await;
    assert!(list["invitations"].as_array().unwrap().is_empty());

    // A clinician, another patient, or an id that is nobody's: not found.
    let other = app.create_user(Role::Patient).await;
    for who in [&clinician, &other] {
        let web = app.signed_in_web(who).await;
        assert_eq!(web.get(&page_path).await.status(), 404);
        let r = web
            .post(
                &page_path,
                &[("email", "carer@example.org"), ("relationship", "carer")],
            )
            .await;
        assert_eq!(r.status(), 404);
    }
    let nobody = format!("/patients/{}/proxies", uuid::Uuid::new_v4());
    assert_eq!(desk_web.get(&nobody).await.status(), 404);
    assert_eq!(
        desk_web.get("/patients/not-an-id/proxies").await.status(),
        404
    );
    app.shutdown().await;
}

on_both_databases!(
    an_invitation_tells_nothing_about_who_is_a_patient,
    the_invited_person_accepts_or_declines,
    email_endpoints_are_rate_limited_alike,
    the_front_desk_manages_proxies_on_the_web,
);
