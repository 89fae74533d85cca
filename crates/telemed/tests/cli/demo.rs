//! `telemed demo`, the README's first command: a newcomer's clinic starts on the
//! embedded database in an empty folder, prints logins that work, and starts again on
//! the same data without seeding twice.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{csrf_of, Folder};

/// A `telemed demo` process and the lines it printed, stopped when dropped.
pub struct Demo {
    child: Child,
    pub base: String,
    printed: mpsc::Receiver<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    pub async fn start(folder: &Folder) -> Demo {
        let port = crate::nodes::free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_telemed"))
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("TELEMED_LOG", "error")
            .current_dir(&folder.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, printed) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let demo = Demo {
            child,
            base: format!("http://127.0.0.1:{port}"),
            printed,
        };
        crate::nodes::wait_until_ready(&demo.base).await;
        demo
    }

    /// What it printed, once it printed where to sign in.
    pub fn logins(&self) -> Vec<String> {
        let mut lines = vec![];
        while let Ok(line) = self.printed.recv_timeout(Duration::from_secs(30)) {
            let done = line.starts_with("No SMTP server");
            lines.push(line);
            if done {
                return lines;
            }
        }
        panic!("the demo did not print its logins: {lines:?}");
    }
}

/// The demo password, from what the demo printed.
pub fn printed_password(printed: &[String]) -> String {
    printed
        .iter()
        .find_map(|l| l.strip_prefix("Demo logins (password for all: "))
        .and_then(|l| l.strip_suffix("):"))
        .unwrap_or_else(|| panic!("a password is printed: {printed:?}"))
        .to_owned()
}

/// Signs in on the web; the signed-in client, the answer's status and where it leads.
pub async fn sign_in(base: &str, email: &str, password: &str) -> (reqwest::Client, u16, String) {
    let web = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = web.get(format!("{base}/login")).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let r = web
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (web, r.status().as_u16(), to)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_in_an_empty_folder_and_its_logins_work() {
    let folder = Folder::new();
    let demo = Demo::start(&folder).await;
    let printed = demo.logins();
    let password = printed_password(&printed);
    // The patient of the visit that is on now.
    let patient = printed
        .iter()
        .find_map(|l| l.strip_prefix("A video visit is on now: "))
        .and_then(|l| l.split(" (patient)").next())
        .unwrap_or_else(|| panic!("the visit on now is printed: {printed:?}"))
        .to_owned();
    assert!(
        printed
            .iter()
            .any(|l| l.trim_start().starts_with("patient") && l.contains(&patient)),
        "{printed:?}"
    );

    let (web, status, to) = sign_in(&demo.base, &patient, &password).await;
    assert_eq!((status, to.as_str()), (303, "/"), "the printed login works");
    let visits = web
        .get(format!("{}/appointments", demo.base))
        .send()
        .await
        .unwrap();
    assert_eq!(visits.status(), 200);
    assert!(
        visits.text().await.unwrap().contains("/waiting-room"),
        "the visit on now can be joined"
    );

    // Without an SMTP server, a sign-in code is printed on the terminal too.
    let code = {
        let web = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = web
            .get(format!("{}/login/code", demo.base))
            .send()
            .await
            .unwrap();
        let csrf = csrf_of(&page.text().await.unwrap());
        let asked = web
            .post(format!("{}/login/code", demo.base))
            .form(&[("email", patient.as_str()), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(asked.status(), 200);
        let mut for_patient = false;
        let mut code = None;
        while let Ok(line) = demo.printed.recv_timeout(Duration::from_secs(30)) {
            if line.starts_with("✉ demo mail to ") {
                for_patient = line.contains(&patient) && line.contains("sign-in code");
            } else if for_patient && line.trim().len() == 6 {
                code = Some(line.trim().to_owned());
                break;
            }
        }
        let code = code.expect("the code is printed");
        let signed_in = web
            .post(format!("{}/login/code/verify", demo.base))
            .form(&[
                ("email", patient.as_str()),
                ("code", &code),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303, "the printed code signs in");
        code
    };
    assert_eq!(code.len(), 6);
    drop(demo);

    // Hours later the demo's visit is long over: moved two hours back, as if so (with
    // the clinician's time it holds).
    let db = folder.0.join("telemed-data/telemed.db");
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let two_hours: i64 = 2 * 3600 * 1_000_000;
    sqlx::query("UPDATE appointments SET start_at = start_at - $1, end_at = end_at - $1")
        .bind(two_hours)
        .execute(&mut conn)
        .await
        .unwrap();
    let tick_micros = telemed_domain::schedule::TICK_MINUTES * 60 * 1_000_000;
    sqlx::query("UPDATE appointment_ticks SET tick = tick - $1")
        .bind(two_hours / tick_micros)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    // Started again on the same folder: the same clinic, not seeded twice, and a visit
    // on now again.
    let again = Demo::start(&folder).await;
    again.logins();
    let (web, status, _) = sign_in(&again.base, &patient, &password).await;
    assert_eq!(status, 303);
    let visits = web
        .get(format!("{}/appointments", again.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(visits.contains("/waiting-room"), "a visit is on now again");
    drop(again);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let patients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(&patient)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(patients, 1, "seeded once");
}
