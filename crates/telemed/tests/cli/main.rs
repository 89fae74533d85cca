//! The `telemed` command as an operator uses it, on a real SQLite file.

// Test helpers outside #[test] functions may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

mod crash_loop;
mod demo;
mod memory;
mod nodes;
mod restore;
mod spanish;

struct Folder(PathBuf);

impl Folder {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("telemed-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    fn db_url(&self) -> String {
        format!("sqlite://{}/telemed.db", self.0.display())
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn telemed(folder: &Folder, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_telemed"))
        .args(args)
        .env_clear()
        .env("TELEMED_DATABASE_URL", folder.db_url())
        .env("TELEMED_LOG", "error")
        .current_dir(&folder.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn users_audit_and_backup_from_the_shell() {
    let folder = Folder::new();
    let out = telemed(
        &folder,
        &[
            "user",
            "create",
            "--email",
            "admin@clinic.example",
            "--name",
            "Clinic Admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("violet kettle orbit 42 sandals\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("created admin admin@clinic.example"));

    let out = telemed(
        &folder,
        &[
            "user",
            "create",
            "--email",
            "dr@clinic.example",
            "--name",
            "Dr. Who",
            "--role",
            "clinician",
            "--specialty",
            "Dermatology",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("password: "),
        "a generated password is shown"
    );

    let out = telemed(
        &folder,
        &[
            "user",
            "create",
            "--email",
            "weak@clinic.example",
            "--name",
            "Weak",
            "--role",
            "staff",
            "--password-stdin",
        ],
        Some("password123\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("at least 10") || text(&out).contains("too common"),
        "{}",
        text(&out)
    );
    let out = telemed(
        &folder,
        &[
            "user",
            "create",
            "--email",
            "admin@clinic.example",
            "--name",
            "Again",
            "--role",
            "staff",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("exists already"), "{}", text(&out));
    let out = telemed(
        &folder,
        &[
            "user",
            "create",
            "--email",
            "x@clinic.example",
            "--name",
            "X",
            "--role",
            "root",
        ],
        None,
    );
    assert!(!out.status.success());

    // The first start made the master key, readable by its owner only.
    let key_file = folder.0.join("telemed-data/master.key");
    let first_key = std::fs::read_to_string(&key_file).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = telemed(&folder, &["keys", "rotate"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 data keys re-wrapped"),
        "{}",
        text(&out)
    );
    assert_ne!(std::fs::read_to_string(&key_file).unwrap(), first_key);
    let retired: Vec<_> = std::fs::read_dir(folder.0.join("telemed-data"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("master.key.retired-")
        })
        .collect();
    assert_eq!(retired.len(), 1);
    assert_eq!(
        std::fs::read_to_string(retired[0].path()).unwrap(),
        first_key
    );

    let out = telemed(&folder, &["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("intact: 3 entries"), "{}", text(&out));

    let backup = folder.0.join("backup.db");
    // A partial file left by a backup stopped part-way is replaced, never renamed as is.
    let stale = folder.0.join("backup.db.partial");
    std::fs::write(&stale, b"half a database").unwrap();
    let out = telemed(&folder, &["backup", backup.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::metadata(&backup).unwrap().len() > 0);
    assert!(!stale.exists(), "the temporary file became the backup");
    assert_eq!(
        &std::fs::read(&backup).unwrap()[..16],
        b"SQLite format 3\0",
        "a whole database"
    );
    let out = telemed(&folder, &["backup", backup.to_str().unwrap()], None);
    assert!(!out.status.success(), "an existing file is not overwritten");

    // Tamper with the live database: verify names the entry and exits 2.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&folder.db_url())
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET actor_role = 'admin' WHERE seq = 1")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let out = telemed(&folder, &["audit", "verify"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("entry 1 was altered"), "{}", text(&out));

    // The backup taken before is intact and usable on its own.
    let copy = Folder(folder.0.join("restore"));
    std::fs::create_dir_all(&copy.0).unwrap();
    std::fs::copy(&backup, copy.0.join("telemed.db")).unwrap();
    let out = telemed(&copy, &["audit", "verify"], None);
    assert!(
        out.status.success() && text(&out).contains("intact: 3 entries"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_configuration_stops_with_a_useful_message() {
    let folder = Folder::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_telemed"));
    let out = cmd
        .args(["migrate"])
        .env_clear()
        .env("TELEMED_DATABSE_URL", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown environment variable TELEMED_DATABSE_URL"),
        "{}",
        text(&out)
    );

    let missing = folder.0.join("no-such-folder/telemed.db");
    let out = Command::new(env!("CARGO_BIN_EXE_telemed"))
        .args(["migrate"])
        .env_clear()
        .env(
            "TELEMED_DATABASE_URL",
            format!("sqlite://{}", missing.display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
    assert!(
        !missing.parent().unwrap().exists(),
        "the folder was not created"
    );

    let config = folder.0.join("telemed.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:8080\"\n[session]\nidle_minutes = 5\n",
    )
    .unwrap();
    let out = telemed(
        &folder,
        &["--config", config.to_str().unwrap(), "migrate"],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("idle_minutes"), "{}", text(&out));

    let out = telemed(&folder, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out));
    let out = telemed(&folder, &["--help"], None);
    for command in ["serve", "demo", "migrate", "user", "audit", "backup"] {
        assert!(text(&out).contains(command), "{command} in --help");
    }
}

/// A clinic's database lost (or the configuration pointing at another one) while its
/// master key and files stay: telemed refuses to start an empty clinic beside them,
/// on every command, and says what to do.
#[test]
fn a_new_database_beside_a_clinics_key_or_files_is_refused() {
    let folder = Folder::new();
    let out = telemed(&folder, &["migrate"], None);
    assert!(out.status.success(), "a new clinic: {}", text(&out));
    let data = folder.0.join("telemed-data");
    std::fs::create_dir_all(data.join("files/ab")).unwrap();
    std::fs::write(data.join("master.key"), "the clinic's key").unwrap();
    for file in ["telemed.db", "telemed.db-wal", "telemed.db-shm"] {
        let _ = std::fs::remove_file(folder.0.join(file));
    }
    let out = telemed(&folder, &["migrate"], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("will not start an empty clinic")
            && text(&out).contains("master.key")
            && text(&out).contains("files folder"),
        "{}",
        text(&out)
    );
    // Moved away, as the message says: a new clinic starts.
    std::fs::rename(&data, folder.0.join("old-clinic")).unwrap();
    let out = telemed(&folder, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out));
}

/// The value of the first hidden `csrf` field in a page.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}
