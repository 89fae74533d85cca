//! The demo clinic: an admin, three clinicians of different specialties and five
//! patients, created on first start of `telemed demo`. Demo passwords are fixed and
//! printed; they are for trying telemed, never for real patients.

use telemed_domain::Role;
use telemed_server::accounts::admin::{create_user, ShellUser};
use telemed_server::app::describe;
use telemed_server::AppState;

pub const DEMO_PASSWORD: &str = "lantern-copper-river-42";

struct DemoUser {
    email: &'static str,
    name: &'static str,
    role: Role,
    specialty: Option<&'static str>,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        email: "admin@demo.telemed.example",
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
];

pub async fn seed_if_empty(state: &AppState) -> anyhow::Result<()> {
    if state.store.count_users().await.map_err(describe)? > 0 {
        return Ok(());
    }
    let ctx = crate::shell_ctx();
    for u in USERS {
        let new = ShellUser {
            email: u.email,
            display_name: u.name,
            role: u.role,
            password: DEMO_PASSWORD,
            specialty: u.specialty,
        };
        create_user(state, &ctx, new).await.map_err(describe)?;
    }
    tracing::info!(accounts = USERS.len(), "seeded the demo clinic");
    Ok(())
}

pub fn print_logins(state: &AppState) {
    println!("\ntelemed demo is running: {}\n", state.config.public_url);
    println!("Demo logins (password for all: {DEMO_PASSWORD}):");
    for u in USERS {
        let extra = u.specialty.map(|s| format!(" — {s}")).unwrap_or_default();
        println!(
            "  {:<9} {:<34} {}{}",
            u.role.as_str(),
            u.email,
            u.name,
            extra
        );
    }
    println!("\nAdmin and clinicians set up two-step verification (an authenticator app) at first sign-in.");
    println!("No SMTP server is configured: emails (verification, invitations) appear under Admin → Mail outbox.\n");
}
