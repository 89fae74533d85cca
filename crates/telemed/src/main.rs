//! The `telemed` command: serve the platform, run a demo, migrate, manage users from
//! the shell, verify the audit chain, back up and restore the embedded database.

mod demo;
mod restore;

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use telemed_domain::{Role, SystemClock};
use telemed_server::accounts::admin::{create_user, ShellUser};
use telemed_server::app::describe;
use telemed_server::context::Ctx;
use telemed_server::{open_store, AppState, Config};

#[derive(Parser)]
#[command(
    name = "telemed",
    version,
    about = "A self-hosted telemedicine platform in one binary"
)]
struct Cli {
    /// A TOML configuration file (settings there are overridden by TELEMED_* variables).
    #[arg(long, global = true, env = "TELEMED_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve telemed (HTTP, or HTTPS with --tls-cert and --tls-key).
    Serve(ServeArgs),
    /// Serve with a seeded demo clinic on the embedded database; prints the demo logins.
    Demo(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the medication catalogue prescriptions are written from.
    #[command(subcommand)]
    Medications(MedicationsCommand),
    /// Manage the code systems clinicians pick codes from (ICD-10-CM, LOINC, CVX).
    #[command(subcommand)]
    Terminology(TerminologyCommand),
    /// Manage the master key that protects stored files.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Back up the embedded SQLite database to a new file while telemed runs.
    Backup {
        /// The file to write; it must not exist.
        target: PathBuf,
    },
    /// Put a backup of the embedded database back, once it is shown to belong with the
    /// configured files and master key (integrity, migrations, audit chain, keys, every
    /// file present). The database it replaces is moved aside, never deleted. Stop
    /// telemed first. With --check instead of a file: ask the same of the database in
    /// use (SQLite or PostgreSQL, e.g. after pg_restore), changing nothing.
    Restore {
        /// The backup file (made by `telemed backup`).
        #[arg(required_unless_present = "check", conflicts_with = "check")]
        backup: Option<PathBuf>,
        /// Check the configured database against the files and key; change nothing.
        #[arg(long)]
        check: bool,
        /// Also open every stored file (reads them all; slow on a large clinic).
        #[arg(long)]
        deep: bool,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long)]
    listen: Option<String>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a verified account (admins, clinicians, staff). Prints a generated
    /// password unless one is given on standard input with --password-stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, clinician, staff or patient.
        #[arg(long)]
        role: String,
        /// A clinician's specialty, e.g. "Dermatology".
        #[arg(long)]
        specialty: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TerminologyCommand {
    /// Import a full release: `icd10cm` takes the order file CMS publishes
    /// (icd10cm_order_YYYY.txt), `loinc` the table of a LOINC release
    /// (LoincTable/Loinc.csv). Codes are added or brought up to date; codes the
    /// release no longer lists are kept, inactive. A line that does not read stops
    /// the import and is named.
    Import {
        /// icd10cm or loinc.
        system: String,
        /// The release file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Replace the master key: every file's data key is re-wrapped and every
    /// second-factor seed re-sealed under a new master key (files are not rewritten);
    /// the old key is kept beside the key file as `.retired-<id>`. Stop telemed first;
    /// run again to finish an interrupted rotation.
    Rotate,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole hash chain; exits non-zero and names the first broken link if any.
    Verify,
}

#[derive(Subcommand)]
enum MedicationsCommand {
    /// Import an RxNorm release: the folder holding its RRF files (RXNCONSO.RRF,
    /// RXNREL.RRF, RXNSAT.RRF). Its clinical and branded drugs become the catalogue's
    /// RxNorm products; earlier ones it no longer lists are kept, inactive.
    ImportRxnorm {
        /// The release's `rrf` folder.
        dir: PathBuf,
    },
    /// Replace the interaction pairs the prescribing checks use with a licensed
    /// knowledge base: a CSV file with the header a,b,severity,mechanism,advice (a side
    /// is an ingredient's generic name or class:<id>). Refused whole, naming the line,
    /// if any line is wrong.
    ImportInteractions {
        /// The CSV file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("telemed: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("telemed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TELEMED_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn load_config(cli: &Cli, serve: Option<&ServeArgs>, demo: bool) -> anyhow::Result<Config> {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(args) = serve {
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            config.tls_cert = Some(cert.clone());
            config.tls_key = Some(key.clone());
        }
        if let Some(listen) = &args.listen {
            config.listen = listen.clone();
            let addr = config.listen_addr()?;
            // Links in emails follow the address unless a public_url was configured.
            if config.public_url == Config::default().public_url && !addr.ip().is_unspecified() {
                let scheme = if config.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                config.public_url = format!("{scheme}://{addr}");
            }
        }
    }
    config.demo |= demo;
    Ok(config)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve(args) => {
            let config = load_config(&cli, Some(args), false)?;
            let server = telemed_server::start(config, Arc::new(SystemClock)).await?;
            println!("telemed is serving on {}", server.state.config.public_url);
            server.run_until_signal().await?;
        }
        Command::Demo(args) => {
            let config = load_config(&cli, Some(args), true)?;
            let server = telemed_server::start(config, Arc::new(SystemClock)).await?;
            demo::seed_if_empty(&server.state).await?;
            demo::keep_a_visit_on_now(&server.state).await?;
            demo::print_logins(&server.state);
            server.run_until_signal().await?;
        }
        Command::Migrate => {
            let config = load_config(&cli, None, false)?;
            open_store(&config).await?;
            println!("the database is up to date");
        }
        Command::User(UserCommand::Create {
            email,
            name,
            role,
            specialty,
            password_stdin,
        }) => {
            let config = load_config(&cli, None, false)?;
            let role: Role = role.parse().map_err(describe)?;
            let (password, generated) = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (generate_password(), true)
            };
            let store = open_store(&config).await?;
            let (state, _writer) = AppState::new(config, store, Arc::new(SystemClock)).await?;
            let ctx = shell_ctx();
            let new = ShellUser {
                email,
                display_name: name,
                role,
                password: &password,
                specialty: specialty.as_deref(),
            };
            let id = create_user(&state, &ctx, new).await.map_err(describe)?;
            println!("created {role} {email} (id {id})");
            if generated {
                println!("password: {password}");
            }
            if role.requires_mfa() {
                println!("two-step verification is set up at the first sign-in");
            }
        }
        Command::Audit(AuditCommand::Verify) => {
            let config = load_config(&cli, None, false)?;
            let store = open_store(&config).await?;
            let report = store.verify_audit_chain().await.map_err(describe)?;
            match report.first_break {
                None => println!("audit chain intact: {} entries", report.entries),
                Some(b) => {
                    println!(
                        "audit chain BROKEN: {} ({} entries verified before it)",
                        telemed_server::api::describe_break(&b),
                        report.entries
                    );
                    return Ok(ExitCode::from(2));
                }
            }
        }
        Command::Medications(MedicationsCommand::ImportRxnorm { dir }) => {
            let config = load_config(&cli, None, false)?;
            let store = open_store(&config).await?;
            let (state, _writer) = AppState::new(config, store, Arc::new(SystemClock)).await?;
            let mut progress = |file: &str, lines: u64| eprintln!("{file}: {lines} lines read");
            let report = telemed_server::prescribing::import_rxnorm(
                &state,
                &shell_ctx(),
                dir,
                &mut progress,
            )
            .await
            .map_err(describe)?;
            let r = &report.read;
            println!(
                "read {} RXNCONSO, {} RXNREL and {} RXNSAT lines; {} RxNorm concepts used, {} suppressed or obsolete left out",
                r.conso_lines, r.rel_lines, r.sat_lines, r.concepts, r.suppressed
            );
            println!(
                "imported {} products ({} new, {} updated; {} controlled substances); {} without an ingredient left out; {} earlier products no longer listed are now inactive",
                r.products, report.added, report.updated, r.controlled, r.without_ingredients, report.retired
            );
        }
        Command::Medications(MedicationsCommand::ImportInteractions { file }) => {
            let config = load_config(&cli, None, false)?;
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let store = open_store(&config).await?;
            let (state, _writer) = AppState::new(config, store, Arc::new(SystemClock)).await?;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("csv");
            let report = telemed_server::prescribing::import_interactions(
                &state,
                &shell_ctx(),
                &text,
                &format!("csv {name}"),
            )
            .await
            .map_err(describe)?;
            println!(
                "imported {} interaction pairs; they replace the {} held before (restart other nodes to use them)",
                report.imported, report.replaced
            );
        }
        Command::Terminology(TerminologyCommand::Import { system, file }) => {
            let system = telemed_domain::terminology::CodeSystem::from_key(system)
                .ok_or_else(|| anyhow::anyhow!("the code system is icd10cm or loinc"))?;
            let config = load_config(&cli, None, false)?;
            let opened = tokio::fs::File::open(file)
                .await
                .with_context(|| format!("reading {}", file.display()))?;
            let size = opened.metadata().await.map(|m| m.len()).unwrap_or(0);
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("release");
            let store = open_store(&config).await?;
            let (state, _writer) = AppState::new(config, store, Arc::new(SystemClock)).await?;
            let id = telemed_server::terminology::begin_import(&state, None, system, name, size)
                .await
                .map_err(describe)?;
            eprintln!("importing {} from {name} ({size} bytes)…", system.label());
            let report = telemed_server::terminology::run_import(
                &state,
                &shell_ctx(),
                None,
                &id,
                system,
                tokio::io::BufReader::with_capacity(256 * 1024, opened),
            )
            .await
            .map_err(describe)?;
            println!(
                "imported {} {} codes ({} new); {} codes the release no longer lists are now inactive",
                report.concepts,
                system.label(),
                report.added,
                report.retired
            );
        }
        Command::Keys(KeysCommand::Rotate) => {
            let config = load_config(&cli, None, false)?;
            if config.files.master_key.is_some() {
                bail!("the master key is given inline (files.master_key), so telemed cannot replace it. Put it in a file named by files.master_key_file, or rotate it in your secret manager and restart.");
            }
            let store = open_store(&config).await?;
            let location = telemed_server::files::location(&config).map_err(describe)?;
            let key_file = config.files.master_key_file(&config.data_dir);
            let done = telemed_store::blobs::rotate_key_file(&store, &location, &key_file)
                .await
                .map_err(describe)?;
            let now = telemed_domain::Clock::now(&SystemClock);
            let record =
                telemed_server::audit::Event::new(&shell_ctx(), now, "keys.rotate", "master_key")
                    .on(&done.new_key_id)
                    .detail(format!(
                        "from {} ({} data keys re-wrapped, {} secrets re-sealed)",
                        done.old_key_id, done.rewrapped, done.secrets_resealed
                    ))
                    .build();
            let mut tx = store.begin_write().await.map_err(describe)?;
            telemed_store::audit::append(&mut tx, &[record])
                .await
                .map_err(describe)?;
            tx.commit().await?;
            println!(
                "master key {} replaced by {}; {} data keys re-wrapped, {} second-factor secrets re-sealed. The old key is kept as {}.retired-{}: keep it with your backups, which still need it.",
                done.old_key_id,
                done.new_key_id,
                done.rewrapped,
                done.secrets_resealed,
                key_file.display(),
                done.old_key_id
            );
        }
        Command::Backup { target } => {
            let config = load_config(&cli, None, false)?;
            if telemed_store::Dialect::of_url(&config.database_url).map_err(describe)?
                == telemed_store::Dialect::Postgres
            {
                bail!("telemed backup copies the embedded SQLite database. For PostgreSQL use its own tools, e.g. `pg_dump --format=custom --file=telemed.dump \"$DATABASE_URL\"` (restore with pg_restore).");
            }
            let store = open_store(&config).await?;
            store.backup_sqlite(target).await.map_err(describe)?;
            println!("backed up to {}", target.display());
        }
        Command::Restore {
            backup: None, deep, ..
        } => {
            let config = load_config(&cli, None, false)?;
            // Connected, not opened for serving: nothing is migrated or created.
            let store = telemed_store::Store::connect(&config.database_url, 2)
                .await
                .map_err(describe)?;
            println!("checking the database in use against the files and the key:");
            let found = restore::check(&store, &config, *deep).await?;
            if !restore::report(&found) {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Restore {
            backup: Some(backup),
            deep,
            ..
        } => {
            let config = load_config(&cli, None, false)?;
            println!("checking {}:", backup.display());
            let restored = restore::restore(&config, backup, *deep).await?;
            restore::report(&restored.findings);
            match restored.replaced {
                Some(aside) => println!(
                    "restored; the database it replaced is kept as {}",
                    aside.display()
                ),
                None => println!("restored"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The request context of a command run from the shell (audited as such).
pub fn shell_ctx() -> Ctx {
    Ctx {
        client_addr: Some("shell".into()),
        user_agent: "telemed-cli".into(),
        ..Ctx::background("shell")
    }
}

/// Five random words' worth of entropy in a form people can type.
fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}
