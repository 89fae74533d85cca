//! The access policy through every surface: each kind of caller (the patient, a proxy,
//! another patient, clinicians with and without a care relationship, staff, an admin)
//! reads each kind of patient data (demographics, a chart section, one entry, the chart
//! as a whole, the access log, an export, a visit, prescriptions) through the JSON API,
//! FHIR and the web pages.
//! An allowed read answers and leaves exactly one successful audit entry; a refused read
//! leaves none, and answers exactly as the same read of a record that does not exist.

use serde_json::json;
use telemed_domain::{AppointmentId, Role, UserId};
use telemed_testkit::{location, Backend, TestApp};

use super::messaging::Api;
use super::record::{cast, Cast};

/// What is read, and how it is named in the expectations below.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Demographics,
    Section,
    Entry,
    Chart,
    AccessLog,
    Export,
    Visit,
    Prescriptions,
}

/// The rules, stated independently of the code: who reads what.
fn allowed(who: &str, kind: Kind) -> bool {
    let relation = matches!(
        who,
        "a clinician with a visit" | "a clinician on the care team"
    );
    match kind {
        Kind::Demographics => {
            matches!(
                who,
                "the patient" | "a proxy" | "staff" | "an unrelated clinician"
            ) || relation
        }
        Kind::Section | Kind::Entry | Kind::Chart => {
            matches!(who, "the patient" | "a proxy") || relation
        }
        // An auditor (the admin) reads who accessed any record.
        Kind::AccessLog => matches!(who, "the patient" | "an admin"),
        Kind::Export => matches!(who, "the patient" | "a proxy"),
        // Prescriptions read as the record's other clinical sections.
        Kind::Prescriptions => matches!(who, "the patient" | "a proxy") || relation,
        // A visit: its patient, its clinician, and the front desk that arranges visits.
        Kind::Visit => matches!(who, "the patient" | "a clinician with a visit" | "staff"),
    }
}

/// One read through one surface: the request for a record, and for one that is missing.
struct Read {
    surface: &'static str,
    kind: Kind,
    path: String,
    missing: String,
}

fn reads(patient: UserId, entry: &str, visit: AppointmentId) -> Vec<Read> {
    let nobody = UserId::new();
    let nothing = UserId::new();
    let no_visit = AppointmentId::new();
    let visit_read = |surface, path: &dyn Fn(AppointmentId) -> String| Read {
        surface,
        kind: Kind::Visit,
        path: path(visit),
        missing: path(no_visit),
    };
    let api = |kind, tail: &str| Read {
        surface: "api",
        kind,
        path: format!("/api/v1/patients/{patient}{tail}"),
        missing: format!("/api/v1/patients/{nobody}{tail}"),
    };
    vec![
        api(Kind::Demographics, ""),
        api(Kind::Demographics, "/record/demographics"),
        api(Kind::Section, "/record/problems"),
        api(Kind::Section, "/notes"),
        api(Kind::Chart, "/record"),
        api(Kind::AccessLog, "/access-log"),
        api(Kind::Export, "/record/export?format=json"),
        api(Kind::Prescriptions, "/prescriptions"),
        Read {
            surface: "fhir",
            kind: Kind::Demographics,
            path: format!("/fhir/R4/Patient/{patient}"),
            missing: format!("/fhir/R4/Patient/{nobody}"),
        },
        Read {
            surface: "fhir",
            kind: Kind::Entry,
            path: format!("/fhir/R4/Condition/{entry}"),
            missing: format!("/fhir/R4/Condition/{nothing}"),
        },
        Read {
            surface: "web",
            kind: Kind::Chart,
            path: format!("/patients/{patient}/chart"),
            missing: format!("/patients/{nobody}/chart"),
        },
        visit_read("api", &|v| format!("/api/v1/appointments/{v}")),
        visit_read("fhir", &|v| format!("/fhir/R4/Appointment/{v}")),
        visit_read("web", &|v| format!("/appointments/{v}/calendar.ics")),
    ]
}

/// The successful audit entries about `patient` so far.
async fn audited(app: &TestApp, patient: UserId) -> i64 {
    app.flush_audit().await;
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE patient_id = $1 AND outcome = 'success'",
    )
    .bind(patient.to_string())
    .fetch_one(app.state().store.pool())
    .await
    .unwrap()
}

async fn get(
    app: &TestApp,
    http: &reqwest::Client,
    web: Option<&telemed_testkit::WebClient>,
    token: &str,
    path: &str,
) -> (u16, Option<String>, String) {
    let r = match web {
        Some(w) => w.get(path).await,
        None => http
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    };
    let status = r.status().as_u16();
    let to = location(&r);
    let request_id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no request id")
        .to_owned();
    // The request id is each answer's own: the rest is what is compared.
    let body = r.text().await.unwrap().replace(&request_id, "<request>");
    (status, to, body)
}

async fn every_surface_answers_a_refusal_as_a_missing_record(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = Api {
        app: &app,
        http: http.clone(),
    };
    let Cast {
        patient,
        visit,
        people,
    } = cast(&app, &api).await;
    let (_, clinician, token) = people
        .iter()
        .find(|(who, _, _)| *who == "a clinician with a visit")
        .unwrap();
    assert_eq!(clinician.role, Role::Clinician);
    let (status, problem) = api
        .call(
            "POST",
            &format!("/api/v1/patients/{}/record/problems", patient.id),
            token,
            Some(
                json!({"code_system": "http://hl7.org/fhir/sid/icd-10", "code": "L40.0",
                "text": "Psoriasis vulgaris", "effective": "2019-03-01"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{problem}");
    let entry = problem["id"].as_str().unwrap().to_owned();
    let reads = reads(patient.id, &entry, visit);
    let mut checked = 0;
    for (who, user, token) in &people {
        let web = app.signed_in_web(user).await;
        for read in &reads {
            let web = (read.surface == "web").then_some(&web);
            let what = format!("{who}: {} {}", read.surface, read.path);
            let before = audited(&app, patient.id).await;
            let (status, to, body) = get(&app, &http, web, token, &read.path).await;
            let after = audited(&app, patient.id).await;
            if allowed(who, read.kind) {
                assert_eq!(status, 200, "{what}: {body}");
                assert_eq!(after - before, 1, "{what}: one audit entry per read");
                checked += 1;
                continue;
            }
            assert_eq!(after, before, "{what}: a refusal records no read");
            let (missing_status, missing_to, missing_body) =
                get(&app, &http, web, token, &read.missing).await;
            // Clinicians are offered emergency access to a record they may not read (they
            // see every patient's demographics to book and register, so its existence is
            // no secret to them); and the patient's own export is refused in so many
            // words to those who read the chart in place.
            let offered_glass =
                web.is_some() && user.role == Role::Clinician && read.kind == Kind::Chart;
            let reader_refused_export = read.kind == Kind::Export && allowed(who, Kind::Chart);
            if offered_glass {
                assert_eq!(status, 303, "{what}");
                assert!(to.unwrap_or_default().ends_with("/break-glass"), "{what}");
                assert_eq!(missing_status, 404, "{what}");
            } else if reader_refused_export {
                assert_eq!(status, 403, "{what}: {body}");
            } else {
                assert_eq!((status, to), (missing_status, missing_to), "{what}");
                // 404, or 403 where the caller may read no such data of anyone (a
                // token whose scopes leave out records), which says nothing of this one.
                assert!(status == 404 || status == 403, "{what}: {body}");
                assert_eq!(body, missing_body, "{what}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, people.len() * reads.len());
    app.shutdown().await;
}

on_both_databases!(every_surface_answers_a_refusal_as_a_missing_record);
