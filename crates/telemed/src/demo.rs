//! The demo clinic: an admin, three clinicians of different specialties, five
//! patients, and a pharmacy with its pharmacist, created on first start of `telemed
//! demo`. Demo passwords are fixed and
//! printed; they are for trying telemed, never for real patients.

use chrono::{NaiveTime, Weekday};
use telemed_domain::access::{Principal, SystemTask};
use telemed_domain::schedule::{parse_time_zone, Availability, VisitKind, WeeklyRule};
use telemed_domain::{Role, UserId};
use telemed_server::accounts::admin::{create_user, ShellUser};
use telemed_server::app::describe;
use telemed_server::scheduling::{set_schedule, ScheduleUpdate};
use telemed_server::AppState;
use telemed_store::scheduling::VisitType;

pub const DEMO_PASSWORD: &str = "lantern-copper-river-42";

struct DemoUser {
    email: &'static str,
    name: &'static str,
    role: Role,
    specialty: Option<&'static str>,
}

/// Where each demo clinician practises: time zone, languages, licensed regions.
const PRACTICES: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "dr.garcia@demo.telemed.example",
        "Europe/Madrid",
        &["es", "en"],
        &["ES-MD", "ES-CT"],
    ),
    (
        "dr.okafor@demo.telemed.example",
        "America/New_York",
        &["en"],
        &["US-NY", "US-NJ"],
    ),
    (
        "dr.nguyen@demo.telemed.example",
        "America/Los_Angeles",
        &["en", "vi"],
        &["US-CA"],
    ),
];

const USERS: &[DemoUser] = &[
    DemoUser {
        email: ADMIN,
        name: "Alex Admin",
        role: Role::Admin,
        specialty: None,
    },
    DemoUser {
        email: "dr.garcia@demo.telemed.example",
        name: "Dr. Lucía García",
        role: Role::Clinician,
        specialty: Some("Family medicine"),
    },
    DemoUser {
        email: "dr.okafor@demo.telemed.example",
        name: "Dr. Chidi Okafor",
        role: Role::Clinician,
        specialty: Some("Dermatology"),
    },
    DemoUser {
        email: "dr.nguyen@demo.telemed.example",
        name: "Dr. Mai Nguyen",
        role: Role::Clinician,
        specialty: Some("Psychiatry"),
    },
    DemoUser {
        email: "ana.lopez@demo.telemed.example",
        name: "Ana López",
        role: Role::Patient,
        specialty: None,
    },
    DemoUser {
        email: "ben.carter@demo.telemed.example",
        name: "Ben Carter",
        role: Role::Patient,
        specialty: None,
    },
    DemoUser {
        email: "carmen.ruiz@demo.telemed.example",
        name: "Carmen Ruiz",
        role: Role::Patient,
        specialty: None,
    },
    DemoUser {
        email: "david.kim@demo.telemed.example",
        name: "David Kim",
        role: Role::Patient,
        specialty: None,
    },
    DemoUser {
        email: "emma.schmidt@demo.telemed.example",
        name: "Emma Schmidt",
        role: Role::Patient,
        specialty: None,
    },
    DemoUser {
        email: PHARMACIST,
        name: "Marta Fernández",
        role: Role::Pharmacist,
        specialty: None,
    },
];

/// The demo's admin.
const ADMIN: &str = "admin@demo.telemed.example";

/// The demo pharmacist, of the demo pharmacy.
const PHARMACIST: &str = "pharmacist@demo.telemed.example";

pub async fn seed_if_empty(state: &AppState) -> anyhow::Result<()> {
    if state.store.count_users().await.map_err(describe)? > 0 {
        return Ok(());
    }
    let ctx = crate::shell_ctx();
    let mut ids = Vec::new();
    for u in USERS {
        let new = ShellUser {
            email: u.email,
            display_name: u.name,
            role: u.role,
            password: DEMO_PASSWORD,
            specialty: u.specialty,
        };
        let id = create_user(state, &ctx, new).await.map_err(describe)?;
        ids.push((u.email, id));
        let practice = PRACTICES.iter().find(|p| p.0 == u.email);
        if let (Some(specialty), Some((_, zone, languages, regions))) = (u.specialty, practice) {
            seed_schedule(state, &ctx, id, specialty, zone, languages, regions).await?;
        }
    }
    let id_of = |email: &str| ids.iter().find(|(e, _)| *e == email).map(|(_, id)| *id);
    if let Some(admin) = id_of(ADMIN) {
        seed_clinic(state, admin).await?;
    }
    let pharmacy = match (id_of(ADMIN), id_of(PHARMACIST)) {
        (Some(admin), Some(pharmacist)) => Some(seed_pharmacy(state, admin, pharmacist).await?),
        _ => None,
    };
    if let (Some(clinician), Some(patient)) = (id_of(VISIT_NOW.0), id_of(VISIT_NOW.1)) {
        seed_visit_now(state, clinician, patient, pharmacy.as_deref()).await?;
    }
    tracing::info!(accounts = USERS.len(), "seeded the demo clinic");
    Ok(())
}

fn admin_principal(admin: UserId) -> Principal {
    Principal {
        user_id: admin,
        role: Role::Admin,
        permissions: Role::Admin.permissions().to_vec(),
    }
}

/// The demo clinic's settings, as its admin would write them on the clinic page.
async fn seed_clinic(state: &AppState, admin: UserId) -> anyhow::Result<()> {
    let settings = telemed_domain::clinic::ClinicSettings {
        name: "Clínica Demo".into(),
        phone: "+34 910 000 001".into(),
        email: "desk@demo.telemed.example".into(),
        address: "Calle de Alcalá 1\n28014 Madrid".into(),
        hours: "Mon–Fri 8:00–20:00".into(),
        time_zone: "Europe/Madrid".into(),
        on_demand: vec!["Family medicine".into(), "Dermatology".into()],
        ..Default::default()
    };
    let clinic = telemed_server::clinic::current(state).await;
    telemed_server::clinic::update(
        state,
        &crate::shell_ctx(),
        &admin_principal(admin),
        clinic.revision,
        settings,
    )
    .await
    .map_err(describe)?;
    Ok(())
}

/// The demo pharmacy, with `pharmacist` dispensing for it, added by the demo's
/// admin; returns its id.
async fn seed_pharmacy(
    state: &AppState,
    admin: UserId,
    pharmacist: UserId,
) -> anyhow::Result<String> {
    use telemed_server::pharmacies;
    let ctx = crate::shell_ctx();
    let admin = admin_principal(admin);
    let details = pharmacies::validate(
        "Farmacia Sol",
        "Calle Mayor 12, 28013 Madrid",
        "+34 910 000 000",
        "",
    )
    .map_err(describe)?;
    let pharmacy = pharmacies::add(state, &ctx, &admin, details)
        .await
        .map_err(describe)?;
    pharmacies::add_member(state, &ctx, &admin, &pharmacy.id, pharmacist)
        .await
        .map_err(describe)?;
    Ok(pharmacy.id)
}

/// The clinician and patient of the video visit that is on when the demo first starts.
const VISIT_NOW: (&str, &str) = (
    "dr.garcia@demo.telemed.example",
    "ana.lopez@demo.telemed.example",
);

/// A video visit from the current half hour, so the visit room can be tried at once
/// (two browsers: the clinician's calendar and the patient's appointments).
async fn seed_visit_now(
    state: &AppState,
    clinician: UserId,
    patient: UserId,
    pharmacy: Option<&str>,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut tx = state.store.begin_write().await.map_err(describe)?;
    book_this_half_hour(&mut tx, clinician, patient, now).await?;
    seed_record(&mut tx, clinician, patient, now).await?;
    if let Some(pharmacy) = pharmacy {
        let grant = telemed_domain::access::system(SystemTask::DemoSeed, patient, clinician);
        telemed_store::pharmacies::set_preferred(&mut tx, &grant, Some(pharmacy))
            .await
            .map_err(describe)?;
    }
    tx.commit()
        .await
        .map_err(|e| anyhow::anyhow!("seeding the demo visit: {e}"))?;
    Ok(())
}

/// Books the demo pair's video visit for the half hour `now` is in; false when the
/// clinician already has a visit then (the store refuses a double booking).
async fn book_this_half_hour(
    tx: &mut telemed_store::Conn,
    clinician: UserId,
    patient: UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let start = chrono::DateTime::from_timestamp(now.timestamp() - now.timestamp() % 1800, 0)
        .unwrap_or(now);
    let visit = telemed_store::scheduling::NewAppointment {
        clinician_id: clinician,
        patient_id: patient,
        visit_kind: VisitKind::Video,
        start_at: start,
        end_at: start + chrono::Duration::minutes(30),
        reason: "Rash on the forearm (demo video visit)",
        booked_by: patient,
    };
    match telemed_store::scheduling::book(tx, visit, now).await {
        Ok(_) => Ok(true),
        Err(telemed_domain::Error::Conflict(_)) => Ok(false),
        Err(e) => Err(describe(e)),
    }
}

/// Every start of the demo has a video visit on now: one started again after the last
/// demo visit ended books the current half hour for the same two people.
pub async fn keep_a_visit_on_now(state: &AppState) -> anyhow::Result<()> {
    let email = |e: &str| telemed_domain::Email::parse(e).map_err(describe);
    let (Some(clinician), Some(patient)) = (
        state
            .store
            .user_by_email(&email(VISIT_NOW.0)?)
            .await
            .map_err(describe)?,
        state
            .store
            .user_by_email(&email(VISIT_NOW.1)?)
            .await
            .map_err(describe)?,
    ) else {
        return Ok(());
    };
    let mut tx = state.store.begin_write().await.map_err(describe)?;
    if book_this_half_hour(&mut tx, clinician.id, patient.id, state.clock.now()).await? {
        tx.commit()
            .await
            .map_err(|e| anyhow::anyhow!("booking the demo visit: {e}"))?;
        tracing::info!("booked the demo's video visit for this half hour");
    }
    // Otherwise one is on already; the transaction rolls back as it drops.
    Ok(())
}

/// Ana's record so far: a visit three months ago with its signed note, and a chart
/// with problems, an allergy, medications (warfarin among them), vital signs, a lab result and a vaccine.
async fn seed_record(
    tx: &mut telemed_store::Conn,
    clinician: UserId,
    patient: UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use serde_json::json;
    use telemed_domain::record::{NewEntry, Section, Soap};
    use telemed_store::record;
    let then = now - chrono::Duration::days(90);
    let day = |d: i64| {
        (now - chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let earlier = telemed_store::scheduling::NewAppointment {
        clinician_id: clinician,
        patient_id: patient,
        visit_kind: VisitKind::Video,
        start_at: then,
        end_at: then + chrono::Duration::minutes(30),
        reason: "Itchy patches on the elbows",
        booked_by: patient,
    };
    let visit = telemed_store::scheduling::book(tx, earlier, then - chrono::Duration::days(3))
        .await
        .map_err(describe)?;
    use telemed_store::scheduling::AppointmentStatus;
    telemed_store::scheduling::transition(
        tx,
        visit,
        AppointmentStatus::Booked,
        AppointmentStatus::Fulfilled,
        then + chrono::Duration::minutes(30),
    )
    .await
    .map_err(describe)?;
    let entries = [
        (
            Section::Problems,
            json!({"code_system": "http://hl7.org/fhir/sid/icd-10", "code": "L40.0", "text": "Psoriasis vulgaris", "effective": day(90)}),
        ),
        (
            Section::Allergies,
            json!({"text": "Penicillin", "severity": "severe", "reaction": "Hives and facial swelling"}),
        ),
        (
            Section::Medications,
            json!({"text": "Calcipotriol/betamethasone gel", "dosage": "Once daily on plaques, 4 weeks", "effective": day(90)}),
        ),
        (
            Section::Medications,
            json!({"text": "Warfarin 5 mg", "dosage": "One tablet daily (atrial fibrillation)", "effective": day(400)}),
        ),
        (
            Section::Vitals,
            json!({"code_system": "http://loinc.org", "code": "85354-9", "value": 124, "value2": 78, "effective": day(90)}),
        ),
        (
            Section::Vitals,
            json!({"code_system": "http://loinc.org", "code": "8867-4", "value": 68, "effective": day(90)}),
        ),
        (
            Section::Vitals,
            json!({"code_system": "http://loinc.org", "code": "29463-7", "value": 64.5, "effective": day(90)}),
        ),
        (
            Section::Labs,
            json!({"code_system": "http://loinc.org", "code": "4548-4", "text": "Hemoglobin A1c", "value": 5.4, "unit": "%", "range_low": 4.0, "range_high": 5.6, "effective": day(100)}),
        ),
        (
            Section::Immunizations,
            json!({"code_system": "http://hl7.org/fhir/sid/cvx", "code": "140", "text": "Influenza, seasonal", "effective": day(40)}),
        ),
        (
            Section::History,
            json!({"text": "Psoriasis", "relation": "father"}),
        ),
    ];
    // The demo's record is written by telemed itself, in the demo clinician's name.
    let grant = telemed_domain::access::system(SystemTask::DemoSeed, patient, clinician);
    for (section, entry) in entries {
        let entry: NewEntry = serde_json::from_value(entry)?;
        let valid = entry.validate(section, now).map_err(describe)?;
        record::insert_entry(tx, &grant, &valid, then)
            .await
            .map_err(describe)?;
    }
    let soap = Soap {
        subjective: "Itchy, scaly patches on both elbows for two months; father has psoriasis."
            .into(),
        objective: "Well-demarcated erythematous plaques with silvery scale, both elbows, 2–3 cm."
            .into(),
        assessment: "Plaque psoriasis, mild.".into(),
        plan: "Calcipotriol/betamethasone gel once daily for 4 weeks; video review in 3 months."
            .into(),
    };
    let note = record::insert_note(
        tx,
        &grant,
        record::NewNote {
            appointment: Some(visit),
            template: "dermatology",
            soap: &soap,
        },
        then,
    )
    .await
    .map_err(describe)?;
    record::sign_note(tx, &grant, note, 1, then + chrono::Duration::minutes(35))
        .await
        .map_err(describe)?;
    Ok(())
}

/// Weekdays 09:00–17:00 local, video (30 min) and audio (15 min) visits.
async fn seed_schedule(
    state: &AppState,
    ctx: &telemed_server::context::Ctx,
    id: UserId,
    specialty: &str,
    zone: &str,
    languages: &[&str],
    regions: &[&str],
) -> anyhow::Result<()> {
    let time = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    let rules = [
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
    .collect();
    let update = ScheduleUpdate {
        specialty: specialty.to_owned(),
        languages: languages.iter().map(|l| l.to_string()).collect(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        bio: String::new(),
        availability: Availability {
            time_zone: parse_time_zone(zone).map_err(describe)?,
            rules,
            exceptions: Vec::new(),
            buffer_minutes: 5,
            horizon_days: 60,
            min_notice_minutes: 60,
        },
        visit_types: vec![
            VisitType {
                kind: VisitKind::Video,
                duration_minutes: 30,
                fee_cents: 6000,
                currency: "EUR".into(),
            },
            VisitType {
                kind: VisitKind::Audio,
                duration_minutes: 15,
                fee_cents: 3500,
                currency: "EUR".into(),
            },
        ],
    };
    let clinician = Principal {
        user_id: id,
        role: Role::Clinician,
        permissions: Role::Clinician.permissions().to_vec(),
    };
    set_schedule(state, ctx, &clinician, id, update)
        .await
        .map_err(describe)
}

pub fn print_logins(state: &AppState) {
    println!("\ntelemed demo is running: {}\n", state.config.public_url);
    println!("Demo logins (password for all: {DEMO_PASSWORD}):");
    for u in USERS {
        let extra = u.specialty.map(|s| format!(" — {s}")).unwrap_or_default();
        println!(
            "  {:<10} {:<34} {}{}",
            u.role.as_str(),
            u.email,
            u.name,
            extra
        );
    }
    println!(
        "\nA video visit is on now: {} (patient) with {} — open it from the patient's Appointments and the clinician's Calendar, in two browsers.",
        VISIT_NOW.1, VISIT_NOW.0
    );
    println!("\nSee someone now: a patient (e.g. ben.carter@demo.telemed.example) asks under \"See someone now\" for Dermatology, and dr.okafor@demo.telemed.example takes them under \"On demand\". (Family medicine is open too; Dr. García takes from it once the visit on now is marked done.)");
    println!("\nPrescribing: {} has a penicillin allergy and takes warfarin; prescribe from her chart or the video room, and dispense as {PHARMACIST} at /rx/verify (Farmacia Sol).", VISIT_NOW.1);
    println!("\nAdmin, clinicians and the pharmacist set up two-step verification (an authenticator app) at first sign-in.");
    println!("No SMTP server is configured: emails (verification, sign-in codes, invitations) appear under Admin → Mail outbox, and their links and codes are printed here as they are queued.\n");
}
