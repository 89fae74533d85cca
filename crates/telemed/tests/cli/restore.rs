//! `telemed restore`: a backup goes back only beside the files and key it belongs
//! with, never under a running telemed, and the database it replaces is kept.

use std::process::{Child, Command, Stdio};

use crate::{csrf_of, telemed, text, Folder};

const PASSWORD: &str = "violet kettle orbit 42 sandals";

/// `telemed serve` on the folder's clinic, stopped when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(folder: &Folder) -> Served {
    let port = crate::nodes::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_telemed"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_clear()
        .env("TELEMED_DATABASE_URL", folder.db_url())
        .env("TELEMED_LOG", "error")
        .current_dir(&folder.0)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let served = Served {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    crate::nodes::wait_until_ready(&served.base).await;
    served
}

/// Signs the patient in on the web and makes an API token there.
async fn token(base: &str) -> String {
    let (web, status, _) = crate::demo::sign_in(base, "pat@clinic.example", PASSWORD).await;
    assert_eq!(status, 303);
    let page = web
        .get(format!("{base}/account/tokens"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let created = web
        .post(format!("{base}/account/tokens"))
        .form(&[
            ("name", "restore"),
            ("days", "1"),
            ("scope", "messages"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    created
        .split("id=\"new-token\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned()
}

fn report_pdf(n: u8) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.4\n% lab report {n}\n").into_bytes();
    bytes.extend(std::iter::repeat_n(b'x', 4096));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

async fn upload(base: &str, token: &str, n: u8) -> String {
    let part = reqwest::multipart::Part::bytes(report_pdf(n)).file_name(format!("report-{n}.pdf"));
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/attachments"))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn download(base: &str, token: &str, id: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/attachments/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// The object of file `id` in the folder's files store.
fn object_of(folder: &Folder, id: &str) -> std::path::PathBuf {
    let files = folder.0.join("telemed-data/files/blobs");
    std::fs::read_dir(&files)
        .unwrap()
        .flatten()
        .map(|d| d.path().join(id))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no object for {id}"))
}

/// Rows of blobs in the clinic's database (read with the sqlite3 of sqlx).
async fn files_in_database(folder: &Folder) -> i64 {
    use sqlx::Connection as _;
    let mut db = sqlx::SqliteConnection::connect(&format!("{}?mode=ro", folder.db_url()))
        .await
        .unwrap();
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM blobs")
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_goes_back_only_beside_its_files_and_key() {
    let folder = Folder::new();
    let out = telemed(
        &folder,
        &[
            "user",
            "create",
            "--email",
            "pat@clinic.example",
            "--name",
            "Pat",
            "--role",
            "patient",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", text(&out));
    let server = serve(&folder).await;
    let token = token(&server.base).await;
    let before = upload(&server.base, &token, 1).await;
    let backup = folder.0.join("backup.db");
    let out = telemed(&folder, &["backup", backup.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out));
    let after = upload(&server.base, &token, 2).await;

    // Never under a running telemed.
    let out = telemed(&folder, &["restore", backup.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("telemed is running"), "{}", text(&out));
    drop(server);
    assert_eq!(files_in_database(&folder).await, 2, "nothing changed");

    // The database in use, checked: whole.
    let out = telemed(&folder, &["restore", "--check", "--deep"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("2 files present and opening"),
        "{}",
        text(&out)
    );

    // Not beside a lost key, missing files or a damaged copy: refused, nothing changed.
    let key = folder.0.join("telemed-data/master.key");
    let kept_key = folder.0.join("key.elsewhere");
    std::fs::rename(&key, &kept_key).unwrap();
    let out = telemed(&folder, &["restore", backup.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("master key file"), "{}", text(&out));
    assert!(!key.exists(), "no new key was made in its place");
    std::fs::rename(&kept_key, &key).unwrap();

    let object = object_of(&folder, &before);
    let kept_object = folder.0.join("object.elsewhere");
    std::fs::rename(&object, &kept_object).unwrap();
    let out = telemed(&folder, &["restore", backup.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("1 of 1 files are not in") && text(&out).contains(&before),
        "{}",
        text(&out)
    );
    std::fs::rename(&kept_object, &object).unwrap();

    let mut damaged = std::fs::read(&backup).unwrap();
    let middle = damaged.len() / 2;
    for b in &mut damaged[middle..middle + 4096] {
        *b = !*b;
    }
    let damaged_backup = folder.0.join("damaged.db");
    std::fs::write(&damaged_backup, damaged).unwrap();
    let out = telemed(
        &folder,
        &["restore", damaged_backup.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(files_in_database(&folder).await, 2, "nothing changed");

    // The real thing: the backup goes back, the database it replaced is kept.
    let out = telemed(&folder, &["restore", backup.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 stored objects are not in this database"),
        "the upload made after the backup is named: {}",
        text(&out)
    );
    let kept: Vec<_> = std::fs::read_dir(&folder.0)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("telemed.db.replaced-") && !name.ends_with("-wal"))
        .filter(|name| !name.ends_with("-shm"))
        .collect();
    assert_eq!(kept.len(), 1, "the replaced database is kept");
    assert_eq!(files_in_database(&folder).await, 1);
    let server = serve(&folder).await;
    assert_eq!(
        download(&server.base, &token, &before).await,
        (200, report_pdf(1))
    );
    assert_eq!(download(&server.base, &token, &after).await.0, 404);
    drop(server);
    let out = telemed(&folder, &["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out));
}
