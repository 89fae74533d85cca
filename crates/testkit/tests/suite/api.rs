//! The JSON API: tokens, scopes, bad input, another user's id.

use chrono::Duration;
use serde_json::{json, Value};
use telemed_domain::{Permission, Role};
use telemed_testkit::{Backend, TestApp};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn me_needs_a_live_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let patient = app.create_user(Role::Patient).await;
    let token = app.token_for(&patient, None).await;
    let r = c
        .get(app.url("/api/v1/me"))
        .header("authorization", bearer(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["email"], patient.email);
    assert_eq!(me["role"], "patient");
    assert_eq!(
        me["scopes"],
        json!([
            "profile",
            "appointments",
            "messages",
            "records:read",
            "records:write"
        ])
    );

    for bad in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer tm_pat_notatoken".to_owned()),
        Some(format!("Basic {token}")),
    ] {
        let mut req = c.get(app.url("/api/v1/me"));
        if let Some(h) = bad.clone() {
            req = req.header("authorization", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{bad:?}");
        assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
    }

    // Expired: 30 days later the token no longer works.
    app.clock.advance(Duration::days(31));
    let r = c
        .get(app.url("/api/v1/me"))
        .header("authorization", bearer(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.shutdown().await;
}

async fn tokens_are_created_scoped_and_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let clinician = app.create_user(Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let auth = bearer(&token);

    // A narrower token through the API.
    let r = c
        .post(app.url("/api/v1/tokens"))
        .header("authorization", &auth)
        .json(&json!({"name": "profile only", "scopes": ["profile"], "days": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let narrow = created["secret"].as_str().unwrap().to_owned();
    assert!(narrow.starts_with("tm_pat_"));

    // Scopes a clinician does not have, or that the calling token lacks, are refused.
    let r = c
        .post(app.url("/api/v1/tokens"))
        .header("authorization", &auth)
        .json(&json!({"name": "too wide", "scopes": ["audit:read"], "days": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(app.url("/api/v1/tokens"))
        .header("authorization", bearer(&narrow))
        .json(&json!({"name": "escalate", "scopes": ["patients:read"], "days": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for body in [
        json!({"name": "", "scopes": ["profile"], "days": 7}),
        json!({"name": "x", "scopes": [], "days": 7}),
        json!({"name": "x", "scopes": ["profile"], "days": 0}),
        json!({"name": "x", "scopes": ["profile"], "days": 400}),
        json!({"name": "x", "scopes": ["root"], "days": 7}),
        json!({"name": "x", "scopes": ["profile"], "days": 7, "extra": 1}),
    ] {
        let r = c
            .post(app.url("/api/v1/tokens"))
            .header("authorization", &auth)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    let tokens: Value = c
        .get(app.url("/api/v1/tokens"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tokens.as_array().unwrap().len(),
        2,
        "the bad requests created nothing"
    );

    // The narrow token cannot read patients: the answer is the same as for no patient.
    let patient = app.create_user(Role::Patient).await;
    let r = c
        .get(app.url(&format!("/api/v1/patients/{}", patient.id)))
        .header("authorization", bearer(&narrow))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Revocation takes effect at once.
    let id = created["id"].as_str().unwrap();
    let r = c
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .get(app.url("/api/v1/me"))
        .header("authorization", bearer(&narrow))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Someone else's token id is not found, and not revoked.
    let other = app.create_user(Role::Patient).await;
    let other_token = app.token_for(&other, None).await;
    let other_id = app.newest_token_id(&other_token).await;
    let r = c
        .delete(app.url(&format!("/api/v1/tokens/{other_id}")))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        c.get(app.url("/api/v1/me"))
            .header("authorization", bearer(&other_token))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.shutdown().await;
}

async fn malformed_bodies_get_clear_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let user = app.create_user(Role::Patient).await;
    let auth = bearer(&app.token_for(&user, None).await);
    let r = c
        .post(app.url("/api/v1/tokens"))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid");
    assert!(!body["error"]["message"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("sql"));
    let r = c
        .post(app.url("/api/v1/tokens"))
        .header("authorization", &auth)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = c
        .post(app.url("/api/v1/tokens"))
        .header("authorization", &auth)
        .json(&json!({"name": 5, "scopes": "profile", "days": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(app.url("/api/v1/users?limit=lots"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.shutdown().await;
}

async fn patient_data_follows_the_access_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let ana = app.create_user(Role::Patient).await;
    let ben = app.create_user(Role::Patient).await;
    let clinician = app.create_user(Role::Clinician).await;
    let admin = app.create_user(Role::Admin).await;
    let ana_auth = bearer(&app.token_for(&ana, None).await);
    let get = |auth: String, id: String| {
        let c = c.clone();
        let url = app.url(&format!("/api/v1/patients/{id}"));
        async move {
            c.get(url)
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
        }
    };
    // Own record: yes.
    let r = get(ana_auth.clone(), ana.id.to_string()).await;
    assert_eq!(r.status(), 200);
    // Another patient's, and one that does not exist: the same 404 body shape, no hint.
    let other = get(ana_auth.clone(), ben.id.to_string()).await;
    let missing = get(ana_auth.clone(), telemed_domain::UserId::new().to_string()).await;
    assert_eq!(other.status(), 404);
    assert_eq!(missing.status(), 404);
    let (a, b): (Value, Value) = (other.json().await.unwrap(), missing.json().await.unwrap());
    assert_eq!(a["error"]["code"], b["error"]["code"]);
    assert_eq!(a["error"]["message"], b["error"]["message"]);
    assert_eq!(
        get(ana_auth.clone(), "not-an-id".into()).await.status(),
        404
    );
    // A clinician may read demographics; the read lands in the patient's access log.
    let r = get(
        bearer(&app.token_for(&clinician, None).await),
        ben.id.to_string(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["email"], ben.email);
    // A clinician's id is not a patient's record.
    assert_eq!(
        get(
            bearer(&app.token_for(&clinician, None).await),
            clinician.id.to_string()
        )
        .await
        .status(),
        404
    );
    // An admin manages accounts but does not read records.
    assert_eq!(
        get(
            bearer(&app.token_for(&admin, None).await),
            ben.id.to_string()
        )
        .await
        .status(),
        404
    );

    let ben_auth = bearer(&app.token_for(&ben, None).await);
    let log: Value = c
        .get(app.url(&format!("/api/v1/patients/{}/access-log", ben.id)))
        .header("authorization", &ben_auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = log.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["who"] == "Test clinician"
            && e["action"] == "record.demographics.read"
            && e["outcome"] == "success"),
        "{log}"
    );
    assert!(
        entries.iter().any(|e| e["outcome"] == "denied"),
        "Ana's refused attempt is listed: {log}"
    );
    // Ana cannot read Ben's access log.
    let r = c
        .get(app.url(&format!("/api/v1/patients/{}/access-log", ben.id)))
        .header("authorization", &ana_auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.shutdown().await;
}

async fn admins_manage_users_and_invitations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let admin = app.create_user(Role::Admin).await;
    let staff = app.create_user(Role::Staff).await;
    let patient = app.create_user(Role::Patient).await;
    let auth = bearer(&app.token_for(&admin, None).await);
    let staff_auth = bearer(&app.token_for(&staff, None).await);

    assert_eq!(
        c.get(app.url("/api/v1/users"))
            .header("authorization", &staff_auth)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let users: Value = c
        .get(app.url("/api/v1/users?role=patient"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1);

    let patient_auth = format!("Bearer {}", app.token_for(&patient, None).await);
    let r = c
        .patch(app.url(&format!("/api/v1/users/{}", patient.id)))
        .header("authorization", &auth)
        .json(&json!({"role": "staff"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "staff");
    assert_eq!(
        c.get(app.url("/api/v1/me"))
            .header("authorization", &patient_auth)
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "a token made for the old role goes with it"
    );
    let r = c
        .patch(app.url(&format!("/api/v1/users/{}", admin.id)))
        .header("authorization", &auth)
        .json(&json!({"role": "patient"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an admin cannot demote themself");
    let r = c
        .patch(app.url(&format!("/api/v1/users/{}", patient.id)))
        .header("authorization", &staff_auth)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .patch(app.url(&format!("/api/v1/users/{}", telemed_domain::UserId::new())))
        .header("authorization", &auth)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Disabling cuts the account's tokens off.
    let r = c
        .patch(app.url(&format!("/api/v1/users/{}", staff.id)))
        .header("authorization", &auth)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        c.get(app.url("/api/v1/me"))
            .header("authorization", &staff_auth)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Invitation by email; the link creates a clinician account.
    let r = c.post(app.url("/api/v1/invitations")).header("authorization", &auth)
        .json(&json!({"email": "new.doctor@clinic.example", "display_name": "Dr. New", "role": "clinician", "lang": "es"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let r = c
        .post(app.url("/api/v1/invitations"))
        .header("authorization", &auth)
        .json(&json!({"email": "p@clinic.example", "display_name": "P", "role": "patient"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "patients are not invited");
    let r = c
        .post(app.url("/api/v1/invitations"))
        .header("authorization", &auth)
        .json(&json!({"email": admin.email, "display_name": "Dup", "role": "staff"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let mail = app
        .smtp
        .wait_for("new.doctor@clinic.example", "Invitación")
        .await;
    let link = mail.link_path("/invite?token=").expect("invitation link");
    let web = app.web();
    let page = web.get(&link).await.text().await.unwrap();
    assert!(page.contains("new.doctor@clinic.example"));
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let r = web
        .post(
            "/invite",
            &[
                ("token", &token),
                ("display_name", "Dr. New"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        400,
        "a weak password is refused and the link stays valid"
    );
    let r = web
        .post(
            "/invite",
            &[
                ("token", &token),
                ("display_name", "Dr. New"),
                ("password", "granite meadow falcon 77"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = web
        .post(
            "/invite",
            &[
                ("token", &token),
                ("display_name", "Dr. New"),
                ("password", "granite meadow falcon 77"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "the link is single-use");
    let found: Value = c
        .get(app.url("/api/v1/users?q=new.doctor"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["role"], "clinician");
    assert_eq!(found[0]["email_verified"], true);
    app.shutdown().await;
}

async fn audit_search_is_for_auditors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let admin = app.create_user(Role::Admin).await;
    let clinician = app.create_user(Role::Clinician).await;
    let auth = bearer(&app.token_for(&admin, None).await);
    let r = c
        .get(app.url("/api/v1/audit"))
        .header(
            "authorization",
            bearer(&app.token_for(&clinician, None).await),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let narrow = bearer(&app.token_for(&admin, Some(&[Permission::Profile])).await);
    assert_eq!(
        c.get(app.url("/api/v1/audit"))
            .header("authorization", &narrow)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let page: Value = c
        .get(app.url("/api/v1/audit?action=user.create&limit=1"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    let before = page["next_before"].as_i64().expect("a next page");
    let older: Value = c
        .get(app.url(&format!(
            "/api/v1/audit?action=user.create&limit=10&before={before}"
        )))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        older["entries"].as_array().unwrap().len(),
        1,
        "two accounts were created"
    );
    assert!(older["entries"][0]["seq"].as_i64().unwrap() < before);
    assert_eq!(
        c.get(app.url("/api/v1/audit?outcome=maybe"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let status: Value = c
        .get(app.url("/api/v1/audit/verify"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["intact"], true, "{status}");
    app.shutdown().await;
}

on_both_databases!(
    me_needs_a_live_token,
    tokens_are_created_scoped_and_revoked,
    malformed_bodies_get_clear_errors,
    patient_data_follows_the_access_policy,
    admins_manage_users_and_invitations,
    audit_search_is_for_auditors,
);
