//! A clinician's home with a full day: 24 video visits today (every 20 minutes from
//! 08:00, each with its own patient, the first four checked in and waiting), and 12
//! unread threads from patients. `GET /` as the signed-in clinician's browser asks for it
//! (the day's list with statuses, the waiting count, unread threads with the patient's
//! name; each load audited as the day's list): p50/p99 of 300 sequential loads after 30
//! of warm-up, on SQLite and on PostgreSQL when TELEMED_TEST_DATABASE_URL is set. The
//! reference in the same run: the same clinician's account page (`GET /account`), a
//! page that reads no day.
//!
//! `cargo bench -p telemed-testkit --bench clinician_home`

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use telemed_domain::schedule::VisitKind;
use telemed_domain::{Clock, Role};
use telemed_testkit::{percentile, TestApp, WebClient};

const VISITS: i64 = 24;
const THREADS: usize = 12;
const LOADS: usize = 300;

async fn times(web: &WebClient, path: &str, must_hold: &str) -> Vec<f64> {
    let mut out = Vec::with_capacity(LOADS);
    for i in 0..LOADS + 30 {
        let started = Instant::now();
        let r = web.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let page = r.text().await.unwrap();
        if i >= 30 {
            out.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        assert!(page.contains(must_hold), "{path} lacks {must_hold}");
    }
    out.sort_by(f64::total_cmp);
    out
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let backends = telemed_testkit::bench_backends();
    println!("| database | page | p50 | p99 |");
    println!("|---|---|---|---|");
    for backend in backends {
        runtime.block_on(async {
            let app = TestApp::spawn(backend).await;
            // The day starts at 07:00 UTC (the browser tells no zone: the page is in UTC).
            let now = app.clock.now();
            let seven = Utc.from_utc_datetime(&now.date_naive().and_hms_opt(7, 0, 0).unwrap());
            app.clock.advance(seven - now + Duration::days(1));
            let clinician = app.create_named_user(Role::Clinician, "Dr. Amara Okafor").await;
            let client = reqwest::Client::new();
            let start_of_day = app.clock.now() + Duration::hours(1);
            for i in 0..VISITS {
                let patient = app.create_named_user(Role::Patient, &format!("Patient {i:02}")).await;
                let at = start_of_day + Duration::minutes(20 * i);
                let mut tx = app.state().store.begin_write().await.unwrap();
                telemed_store::scheduling::book(
                    &mut tx,
                    telemed_store::scheduling::NewAppointment {
                        clinician_id: clinician.id,
                        patient_id: patient.id,
                        visit_kind: VisitKind::Video,
                        start_at: at,
                        end_at: at + Duration::minutes(20),
                        reason: "Follow-up",
                        booked_by: patient.id,
                    },
                    app.clock.now(),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                if (i as usize) < THREADS {
                    let token = app.token_for(&patient, None).await;
                    let r = client
                        .post(app.url("/api/v1/threads"))
                        .bearer_auth(&token)
                        .json(&json!({"subject": "A question", "to": clinician.id.to_string(), "body": "Is the new dose right?"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
                }
            }
            let web = app.signed_in_web(&clinician).await;
            let db = format!("{backend:?}");
            let home = times(&web, "/", "Patient 23").await;
            let account = times(&web, "/account", "Dr. Amara Okafor").await;
            println!(
                "| {db} | home, a full day ({VISITS} visits, {THREADS} unread threads) | {:.2} ms | {:.2} ms |",
                percentile(&home, 0.5),
                percentile(&home, 0.99)
            );
            println!(
                "| {db} | account page (reference) | {:.2} ms | {:.2} ms |",
                percentile(&account, 0.5),
                percentile(&account, 0.99)
            );
            app.shutdown().await;
        });
    }
}
