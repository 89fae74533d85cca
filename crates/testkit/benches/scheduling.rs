//! Scheduling figures: clinician search and slot listing over 200 clinicians and 30
//! days (p50/p99), and booking throughput under contention through the API against a
//! raw insert of the same rows (appointment + ticks, no HTTP, checks or audit) at the
//! same concurrency; and the on-demand queue: 50 patients waiting, 10 clinicians taking
//! the next one at once (take, mark done, take again), each take's latency beside an
//! ordinary booking's at the same concurrency. `cargo bench -p telemed-testkit --bench
//! scheduling` (PostgreSQL too when TELEMED_TEST_DATABASE_URL is set).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveTime, SecondsFormat, Weekday};
use telemed_domain::schedule::{parse_time_zone, Availability, VisitKind, WeeklyRule};
use telemed_domain::{Clock, Email, Role, UserId};
use telemed_store::scheduling::{self, NewAppointment, ProfileUpdate, VisitType};
use telemed_store::users::{self, NewUser};
use telemed_testkit::{percentile as pct, TestApp};
use tokio::sync::Mutex;

const CLINICIANS: usize = 200;
const CONNECTIONS: usize = 16;

async fn seed(app: &TestApp) -> Vec<UserId> {
    let store = &app.state().store;
    let now = app.clock.now();
    let time = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let availability = Availability {
        time_zone: parse_time_zone("Europe/Madrid").unwrap(),
        rules: [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|weekday| WeeklyRule {
            weekday,
            start: time(9),
            end: time(17),
        })
        .collect(),
        exceptions: vec![],
        buffer_minutes: 0,
        horizon_days: 60,
        min_notice_minutes: 60,
    };
    let visit = [VisitType {
        kind: VisitKind::Video,
        duration_minutes: 30,
        fee_cents: 5000,
        currency: "EUR".into(),
    }];
    let mut ids = Vec::new();
    let mut tx = store.begin_write().await.unwrap();
    for i in 0..CLINICIANS {
        let email = Email::parse(&format!("clinician{i}@bench.example")).unwrap();
        let user = NewUser {
            email: &email,
            display_name: &format!("Clinician {i}"),
            role: Role::Clinician,
            password_hash: "x",
            email_verified: true,
            locale: "en",
            name: None,
        };
        let id = users::insert(&mut tx, user, now).await.unwrap();
        let specialty = ["Dermatology", "Family medicine", "Psychiatry", "Cardiology"][i % 4];
        let profile = ProfileUpdate {
            specialty,
            languages: &["en".into()],
            regions: &["ES-MD".into()],
            bio: "",
            availability: &availability,
            visit_types: &visit,
        };
        scheduling::save_profile(&mut tx, id, profile)
            .await
            .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    ids
}

async fn timed_gets(client: &reqwest::Client, urls: Vec<String>, token: &str) -> Vec<f64> {
    let mut ms = Vec::new();
    for url in urls {
        let t0 = Instant::now();
        let r = client.get(&url).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let _ = r.bytes().await.unwrap();
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    ms
}

/// POSTs to `url` as `token` and returns the milliseconds it took and the answer.
async fn timed_post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (f64, u16, serde_json::Value) {
    let t0 = Instant::now();
    let request = client.post(url).bearer_auth(token);
    let request = match body {
        Some(b) => request.json(&b),
        None => request,
    };
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let answer = r.json().await.unwrap_or(serde_json::Value::Null);
    (t0.elapsed().as_secs_f64() * 1000.0, status, answer)
}

const ON_DEMAND_PATIENTS: usize = 50;
const ON_DEMAND_CLINICIANS: usize = 10;

/// 50 patients in the family medicine queue; 10 of its clinicians take at once until
/// nobody waits. The reference: the same 10 clients booking 50 ordinary visits.
async fn on_demand(app: &TestApp, ids: &[UserId], db: &str) {
    app.set_clinic(|c| c.on_demand = vec!["Family medicine".into()])
        .await;
    let client = reqwest::Client::new();
    let mut patients = Vec::new();
    for _ in 0..ON_DEMAND_PATIENTS {
        let p = app.create_user(Role::Patient).await;
        let token = app.token_for(&p, None).await;
        let body = serde_json::json!({"specialty": "Family medicine", "reason": "benchmark"});
        let (_, status, _) =
            timed_post(&client, &app.url("/api/v1/on-demand"), &token, Some(body)).await;
        assert_eq!(status, 201);
        patients.push(token);
    }
    // Seeded clinician i practises family medicine when i % 4 == 1.
    let mut doctors = Vec::new();
    for i in (1..ids.len()).step_by(4).take(ON_DEMAND_CLINICIANS) {
        let user = telemed_testkit::TestUser {
            id: ids[i],
            email: format!("clinician{i}@bench.example"),
            password: String::new(),
            role: Role::Clinician,
        };
        doctors.push(app.token_for(&user, None).await);
    }
    let started = Instant::now();
    let runs = doctors.iter().map(|token| {
        let (client, take) = (client.clone(), app.url("/api/v1/on-demand/take"));
        async move {
            let mut ms = Vec::new();
            loop {
                let (took, status, answer) = timed_post(&client, &take, token, None).await;
                if status == 409 {
                    return ms;
                }
                assert_eq!(status, 201, "{answer}");
                ms.push(took);
                let done = app.url(&format!(
                    "/api/v1/appointments/{}/complete",
                    answer["visit_id"].as_str().unwrap()
                ));
                let (_, status, _) = timed_post(&client, &done, token, None).await;
                assert!(status < 300);
            }
        }
    });
    let mut takes: Vec<f64> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(takes.len(), ON_DEMAND_PATIENTS);
    takes.sort_by(f64::total_cmp);
    // The reference: 10 clients booking 50 ordinary visits (a patient each, the next
    // free slots of ten other clinicians).
    let now = app.clock.now();
    let (from, to) = (
        now.to_rfc3339_opts(SecondsFormat::Secs, true),
        (now + Duration::days(30)).to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    let mut work = Vec::new();
    for id in &ids[100..100 + ON_DEMAND_CLINICIANS] {
        let slots: Vec<serde_json::Value> = client
            .get(app.url(&format!(
                "/api/v1/clinicians/{id}/slots?visit_kind=video&from={from}&to={to}"
            )))
            .bearer_auth(&patients[0])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        work.extend(
            slots
                .iter()
                .take(ON_DEMAND_PATIENTS / ON_DEMAND_CLINICIANS)
                .map(|s| (*id, s["start"].as_str().unwrap().to_owned())),
        );
    }
    let chunks: Vec<Vec<(UserId, String)>> = work
        .chunks(ON_DEMAND_PATIENTS / ON_DEMAND_CLINICIANS)
        .map(<[_]>::to_vec)
        .collect();
    let runs = chunks.into_iter().zip(patients.chunks(ON_DEMAND_PATIENTS / ON_DEMAND_CLINICIANS)).map(|(slots, tokens)| {
        let (client, url) = (client.clone(), app.url("/api/v1/appointments"));
        async move {
            let mut ms = Vec::new();
            for ((clinician, start), token) in slots.into_iter().zip(tokens) {
                let body = serde_json::json!({"clinician_id": clinician, "visit_kind": "video", "start": start, "reason": "benchmark"});
                let (took, status, answer) = timed_post(&client, &url, token, Some(body)).await;
                assert_eq!(status, 201, "{answer}");
                ms.push(took);
            }
            ms
        }
    });
    let mut bookings: Vec<f64> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    bookings.sort_by(f64::total_cmp);
    println!("| {db} | on-demand take, {ON_DEMAND_PATIENTS} waiting, {ON_DEMAND_CLINICIANS} clinicians at once: p50 / p99 | {:.1} ms / {:.1} ms |", pct(&takes, 0.5), pct(&takes, 0.99));
    println!("| {db} | ordinary booking, {ON_DEMAND_CLINICIANS} clients at once (reference): p50 / p99 | {:.1} ms / {:.1} ms |", pct(&bookings, 0.5), pct(&bookings, 0.99));
    println!(
        "| {db} | all {ON_DEMAND_PATIENTS} patients seen (take + mark done each) in | {:.2} s |",
        elapsed
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let backends = telemed_testkit::bench_backends();
    println!("| database | measure | figure |");
    println!("|---|---|---|");
    for backend in backends {
        runtime.block_on(async {
            let app = TestApp::spawn_with(backend, |c| c.max_db_connections = 16).await;
            let ids = seed(&app).await;
            let patient = app.create_user(Role::Patient).await;
            let token = app.token_for(&patient, None).await;
            let client = reqwest::Client::new();
            let db = format!("{backend:?}");

            let search = timed_gets(&client, (0..20).map(|_| app.url("/api/v1/clinicians?visit_kind=video")).collect(), &token).await;
            println!("| {db} | clinician search over {CLINICIANS} clinicians, next free slot within 31 days: p50 / p99 | {:.1} ms / {:.1} ms |", pct(&search, 0.5), pct(&search, 0.99));
            let now = app.clock.now();
            let (from, to) = (now.to_rfc3339_opts(SecondsFormat::Secs, true), (now + Duration::days(30)).to_rfc3339_opts(SecondsFormat::Secs, true));
            let slot_urls = ids.iter().map(|id| app.url(&format!("/api/v1/clinicians/{id}/slots?visit_kind=video&from={from}&to={to}"))).collect();
            let slots = timed_gets(&client, slot_urls, &token).await;
            println!("| {db} | free slots of one clinician over 30 days ({CLINICIANS} requests): p50 / p99 | {:.2} ms / {:.2} ms |", pct(&slots, 0.5), pct(&slots, 0.99));

            // Bookings: the free slots of the first 20 clinicians, taken by 16 clients at once.
            let mut work = Vec::new();
            for id in &ids[..20] {
                let body: Vec<serde_json::Value> = client
                    .get(app.url(&format!("/api/v1/clinicians/{id}/slots?visit_kind=video&from={from}&to={to}")))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                work.extend(body.iter().take(60).map(|s| (*id, s["start"].as_str().unwrap().to_owned())));
            }
            let total = work.len();
            let api_rate = {
                let queue = Arc::new(Mutex::new(work.clone()));
                let started = Instant::now();
                let mut tasks = Vec::new();
                for _ in 0..CONNECTIONS {
                    let (queue, client, token, url) = (queue.clone(), client.clone(), token.clone(), app.url("/api/v1/appointments"));
                    tasks.push(tokio::spawn(async move {
                        loop {
                            let Some((clinician, start)) = queue.lock().await.pop() else { return };
                            let body = serde_json::json!({"clinician_id": clinician, "visit_kind": "video", "start": start, "reason": "benchmark"});
                            let r = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                            assert_eq!(r.status(), 201);
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
                total as f64 / started.elapsed().as_secs_f64()
            };
            // The same rows again, shifted a year on so they do not clash, straight into the store.
            let raw_rate = {
                let queue = Arc::new(Mutex::new(work));
                let started = Instant::now();
                let mut tasks = Vec::new();
                for _ in 0..CONNECTIONS {
                    let (queue, store, booker, now) = (queue.clone(), app.state().store.clone(), patient.id, now);
                    tasks.push(tokio::spawn(async move {
                        loop {
                            let Some((clinician, start)) = queue.lock().await.pop() else { return };
                            let start = chrono::DateTime::parse_from_rfc3339(&start).unwrap().with_timezone(&chrono::Utc) + Duration::days(365);
                            let mut tx = store.begin_write().await.unwrap();
                            let row = NewAppointment { clinician_id: clinician, patient_id: booker, visit_kind: VisitKind::Video, start_at: start, end_at: start + Duration::minutes(30), reason: "benchmark", booked_by: booker };
                            scheduling::book(&mut tx, row, now).await.unwrap();
                            tx.commit().await.unwrap();
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
                total as f64 / started.elapsed().as_secs_f64()
            };
            println!("| {db} | bookings/s through the API, {CONNECTIONS} clients, {total} bookings | {api_rate:.0} |");
            println!("| {db} | raw inserts/s of the same rows (appointment + ticks), {CONNECTIONS} clients | {raw_rate:.0} |");
            println!("| {db} | API booking rate as a share of raw insert rate | {:.2} |", api_rate / raw_rate);
            on_demand(&app, &ids, &db).await;
            app.shutdown().await;
        });
    }
}
