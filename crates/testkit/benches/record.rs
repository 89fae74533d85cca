//! Patient record figures: the chart summary (and the whole vitals section) for a
//! patient with ten years of history among other patients' records, p50/p99 through
//! the API; the whole-record download as PDF against JSON; and the encrypted file store's write and read throughput against a plain
//! file write and read of the same bytes in the same folder and run.
//! `cargo bench -p telemed-testkit --bench record` (PostgreSQL too when
//! TELEMED_TEST_DATABASE_URL is set).

use std::time::Instant;
use telemed_domain::access::{self, SystemTask};

use chrono::{DateTime, Duration, Utc};
use telemed_domain::clinical_time::ClinicalTime;
use telemed_domain::record::{EntryStatus, Section, Severity, Soap, ValidEntry};
use telemed_domain::schedule::VisitKind;
use telemed_domain::{Clock, MediaType, Role, UserId};
use telemed_store::record::{self, NewNote};
use telemed_store::scheduling::{self, NewAppointment};
use telemed_testkit::{percentile as pct, TestApp};

const YEARS: i64 = 10;
/// Other patients with a record of the same size, so indexes have to select.
const OTHER_PATIENTS: usize = 20;
const REQUESTS: usize = 300;

fn entry(section: Section, code: &str, text: &str, at: DateTime<Utc>) -> ValidEntry {
    ValidEntry {
        section,
        code_system: Some(
            match section {
                Section::Problems => "http://hl7.org/fhir/sid/icd-10",
                Section::Medications => "http://www.nlm.nih.gov/research/umls/rxnorm",
                Section::Immunizations => "http://hl7.org/fhir/sid/cvx",
                _ => "http://loinc.org",
            }
            .into(),
        ),
        code: Some(code.into()),
        text: text.into(),
        status: match section {
            Section::Vitals | Section::Labs | Section::Immunizations => EntryStatus::Final,
            _ => EntryStatus::Active,
        },
        effective: Some(ClinicalTime::at(at)),
        ended: None,
        value: None,
        value2: None,
        value_text: None,
        unit: None,
        as_sent: None,
        range_low: None,
        range_high: None,
        severity: None,
        verification: None,
        criticality: None,
        reaction: None,
        dosage: None,
        relation: None,
        note: None,
        results: None,
        categories: match section {
            Section::Vitals => vec!["vital-signs".into()],
            Section::Labs => vec!["laboratory".into()],
            _ => vec![],
        },
        source: None,
        other_codings: vec![],
    }
}

/// Ten years of a chronic patient's record: a visit and a signed note a month, home
/// blood pressure, heart rate, weight and glucose twice a week, lab panels each
/// quarter, problems, allergies, medications and immunizations. Returns the count of
/// chart entries.
async fn seed_history(app: &TestApp, patient: UserId, clinician: UserId) -> usize {
    let store = &app.state().store;
    let now = app.clock.now();
    let start = now - Duration::days(365 * YEARS);
    let mut tx = store.begin_write().await.unwrap();
    let mut entries = 0;
    let mut add = |e: ValidEntry| {
        entries += 1;
        e
    };
    let mut batch = Vec::new();
    for day in (0..365 * YEARS).step_by(3) {
        let at = start + Duration::days(day) + Duration::hours(8);
        let wave = (day as f64 / 30.0).sin();
        let mut bp = entry(Section::Vitals, "85354-9", "Blood pressure", at);
        bp.value = Some(135.0 + 10.0 * wave);
        bp.value2 = Some(85.0 + 5.0 * wave);
        bp.unit = Some("mm[Hg]".into());
        batch.push(add(bp));
        let mut hr = entry(Section::Vitals, "8867-4", "Heart rate", at);
        hr.value = Some(72.0 + 6.0 * wave);
        hr.unit = Some("/min".into());
        batch.push(add(hr));
        let mut weight = entry(Section::Vitals, "29463-7", "Body weight", at);
        weight.value = Some(88.0 + 3.0 * wave);
        weight.unit = Some("kg".into());
        batch.push(add(weight));
        let mut glucose = entry(Section::Vitals, "2339-0", "Glucose", at);
        glucose.value = Some(130.0 + 20.0 * wave);
        glucose.unit = Some("mg/dL".into());
        batch.push(add(glucose));
    }
    for quarter in 0..4 * YEARS {
        let at = start + Duration::days(quarter * 91);
        for (code, text, value, unit, low, high) in [
            ("4548-4", "Hemoglobin A1c", 7.1, "%", 4.0, 5.6),
            ("2093-3", "Cholesterol", 190.0, "mg/dL", 0.0, 200.0),
            ("2160-0", "Creatinine", 1.1, "mg/dL", 0.6, 1.2),
            ("718-7", "Hemoglobin", 14.2, "g/dL", 13.0, 17.0),
            ("2823-3", "Potassium", 4.3, "mmol/L", 3.5, 5.1),
        ] {
            let mut lab = entry(Section::Labs, code, text, at);
            lab.value = Some(value);
            lab.unit = Some(unit.into());
            lab.range_low = Some(low);
            lab.range_high = Some(high);
            batch.push(add(lab));
        }
    }
    for (i, (code, text)) in [
        ("E11.9", "Type 2 diabetes mellitus"),
        ("I10", "Essential hypertension"),
        ("E78.5", "Hyperlipidaemia"),
        ("M17.0", "Osteoarthritis of both knees"),
        ("J45.909", "Asthma"),
    ]
    .into_iter()
    .enumerate()
    {
        batch.push(add(entry(
            Section::Problems,
            code,
            text,
            start + Duration::days(i as i64 * 400),
        )));
    }
    for (i, text) in [
        "Metformin 850 mg",
        "Lisinopril 10 mg",
        "Atorvastatin 20 mg",
        "Salbutamol inhaler",
    ]
    .into_iter()
    .enumerate()
    {
        let mut med = entry(
            Section::Medications,
            "000",
            text,
            start + Duration::days(i as i64 * 300),
        );
        med.dosage = Some("as directed".into());
        batch.push(add(med));
    }
    let mut allergy = entry(Section::Allergies, "000", "Penicillin", start);
    allergy.code_system = None;
    allergy.code = None;
    allergy.severity = Some(Severity::Severe);
    batch.push(add(allergy));
    for year in 0..YEARS {
        batch.push(add(entry(
            Section::Immunizations,
            "140",
            "Influenza, seasonal",
            start + Duration::days(year * 365 + 280),
        )));
    }
    let grant = access::system(SystemTask::SyntheticLoad, patient, clinician);
    for e in &batch {
        record::insert_entry(&mut tx, &grant, e, now).await.unwrap();
    }
    // A visit and a signed note each month.
    let soap = Soap {
        subjective: "Feels well; home readings attached.".into(),
        objective: "BP as charted; feet: no ulcers.".into(),
        assessment: "Diabetes and hypertension, controlled.".into(),
        plan: "Continue; labs next quarter.".into(),
    };
    for month in 0..12 * YEARS {
        let at = start + Duration::days(month * 30) + Duration::hours(10);
        let visit = scheduling::book(
            &mut tx,
            NewAppointment {
                clinician_id: clinician,
                patient_id: patient,
                visit_kind: VisitKind::Video,
                start_at: at,
                end_at: at + Duration::minutes(30),
                reason: "Diabetes review",
                booked_by: patient,
            },
            at - Duration::days(7),
        )
        .await
        .unwrap();
        let note = record::insert_note(
            &mut tx,
            &grant,
            NewNote {
                appointment: Some(visit),
                template: "general",
                soap: &soap,
            },
            at,
        )
        .await
        .unwrap();
        record::sign_note(&mut tx, &grant, note, 1, at + Duration::minutes(40))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    entries
}

async fn timed(client: &reqwest::Client, url: &str, token: &str) -> Vec<f64> {
    let mut times = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS + 10 {
        let started = Instant::now();
        let r = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        if i >= 10 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

/// The patient's whole-record download, as the readable PDF (krilla, Noto Sans
/// embedded and subset) against the JSON copy of the same record in the same run.
async fn export_figures(
    app: &TestApp,
    db: &str,
    patient: &telemed_testkit::TestUser,
    base: &str,
    entries: usize,
) {
    let token = app.token_for(patient, None).await;
    let client = reqwest::Client::new();
    for format in ["json", "pdf"] {
        let url = format!("{base}/record/export?format={format}");
        let mut times = Vec::new();
        let mut size = 0;
        for i in 0..23 {
            let started = Instant::now();
            let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            size = r.bytes().await.unwrap().len();
            if i >= 3 {
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {db} | whole-record export as {format} ({entries} entries, 120 notes; {:.1} MB): p50 / max of 20 | {:.0} ms / {:.0} ms |",
            size as f64 / 1e6,
            pct(&times, 0.5),
            times[times.len() - 1]
        );
    }
}

/// Encrypted store against plain files: the same bytes, the same folder, interleaved.
async fn file_throughput(app: &TestApp, db: &str) {
    const FILES: usize = 8;
    const SIZE: usize = 16 * 1024 * 1024;
    let blobs = &app.state().blobs;
    let store = &app.state().store;
    let dir = app.state().config.files.local_dir.clone().unwrap();
    let plain_dir = dir.join("plain-reference");
    std::fs::create_dir_all(&plain_dir).unwrap();
    let owner = app.create_user(Role::Patient).await.id;
    let payloads: Vec<Vec<u8>> = (0..FILES)
        .map(|i| (0..SIZE).map(|j| ((i * 31 + j * 7) % 251) as u8).collect())
        .collect();
    let mb = (FILES * SIZE) as f64 / (1024.0 * 1024.0);
    let (mut enc_w, mut enc_r, mut plain_w, mut plain_r) = (0.0, 0.0, 0.0, 0.0);
    for round in 0..3 {
        let started = Instant::now();
        let mut ids = Vec::new();
        for bytes in &payloads {
            let now = app.clock.now();
            let sealed = blobs
                .seal(MediaType::Pdf, "scan.pdf", owner, bytes, now)
                .await
                .unwrap();
            let mut tx = store.begin_write().await.unwrap();
            telemed_store::blobs::insert(&mut tx, &sealed)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            ids.push(sealed.blob.id);
        }
        let w = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for (i, bytes) in payloads.iter().enumerate() {
            let path = plain_dir.join(format!("{round}-{i}"));
            tokio::fs::write(&path, bytes).await.unwrap();
        }
        let pw = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for id in &ids {
            let (_, bytes) = blobs.read(store, *id).await.unwrap();
            assert_eq!(bytes.len(), SIZE);
        }
        let r = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for i in 0..FILES {
            let bytes = tokio::fs::read(plain_dir.join(format!("{round}-{i}")))
                .await
                .unwrap();
            assert_eq!(bytes.len(), SIZE);
        }
        let pr = started.elapsed().as_secs_f64();
        if round > 0 {
            enc_w += w;
            enc_r += r;
            plain_w += pw;
            plain_r += pr;
        }
    }
    let rate = |seconds: f64| 2.0 * mb / seconds;
    println!(
        "| {db} | encrypted write (seal + object + row), {FILES} × 16 MiB | {:.0} MiB/s |",
        rate(enc_w)
    );
    println!(
        "| {db} | plain file write of the same bytes | {:.0} MiB/s |",
        rate(plain_w)
    );
    println!(
        "| {db} | encrypted write as a share of plain write | {:.2} |",
        plain_w / enc_w
    );
    println!(
        "| {db} | encrypted read (row + object + unwrap + decrypt and verify) | {:.0} MiB/s |",
        rate(enc_r)
    );
    println!(
        "| {db} | plain file read of the same bytes | {:.0} MiB/s |",
        rate(plain_r)
    );
    println!(
        "| {db} | encrypted read as a share of plain read | {:.2} |",
        plain_r / enc_r
    );
    let _ = std::fs::remove_dir_all(&plain_dir);
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
            let app = TestApp::spawn(backend).await;
            let db = format!("{backend:?}");
            let clinician = app.create_user(Role::Clinician).await;
            let started = Instant::now();
            let mut entries = 0;
            for _ in 0..OTHER_PATIENTS {
                let other = app.create_user(Role::Patient).await;
                let their_clinician = app.create_user(Role::Clinician).await;
                entries += seed_history(&app, other.id, their_clinician.id).await;
            }
            let patient = app.create_user(Role::Patient).await;
            let own = seed_history(&app, patient.id, clinician.id).await;
            entries += own;
            eprintln!("seeded {entries} entries in {:.0} s", started.elapsed().as_secs_f64());
            let token = app.token_for(&clinician, None).await;
            let client = reqwest::Client::new();
            let base = app.url(&format!("/api/v1/patients/{}", patient.id));
            let summary = timed(&client, &format!("{base}/record"), &token).await;
            println!(
                "| {db} | chart summary, patient with {YEARS} years ({own} entries, 120 signed notes; {entries} entries in the database): p50 / p99 | {:.2} ms / {:.2} ms |",
                pct(&summary, 0.5),
                pct(&summary, 0.99)
            );
            // The chart page as the clinician's browser gets it (session, policy, audit,
            // the summary, each section's newest lines, notes, documents, rendered HTML).
            let web = app.signed_in_web(&clinician).await;
            let chart = format!("/patients/{}/chart", patient.id);
            let mut page = Vec::new();
            for i in 0..310 {
                let started = Instant::now();
                let r = web.get(&chart).await;
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                if i >= 10 {
                    page.push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
            page.sort_by(f64::total_cmp);
            println!(
                "| {db} | chart page (HTML) of that patient: p50 / p99 | {:.2} ms / {:.2} ms |",
                pct(&page, 0.5),
                pct(&page, 0.99)
            );
            let vitals = timed(&client, &format!("{base}/record/vitals"), &token).await;
            println!(
                "| {db} | whole vitals section of that patient ({} readings): p50 / p99 | {:.1} ms / {:.1} ms |",
                4 * (365 * YEARS as usize).div_ceil(3),
                pct(&vitals, 0.5),
                pct(&vitals, 0.99)
            );
            let mut direct = Vec::new();
            let grant = access::system(SystemTask::SyntheticLoad, patient.id, patient.id);
            for _ in 0..50 {
                let started = Instant::now();
                let rows = app
                    .state()
                    .store
                    .entries(&grant, Section::Vitals)
                    .await
                    .unwrap();
                assert!(!rows.is_empty());
                direct.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            direct.sort_by(f64::total_cmp);
            println!(
                "| {db} | the same section read from the store alone (no HTTP, JSON or audit): p50 | {:.1} ms |",
                pct(&direct, 0.5)
            );
            export_figures(&app, &db, &patient, &base, own).await;
            file_throughput(&app, &db).await;
            app.shutdown().await;
        });
    }
}
