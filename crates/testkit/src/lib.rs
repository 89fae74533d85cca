//! telemed's test kit: the real application on port 0 over a fresh database (SQLite in
//! a temporary folder, or a new PostgreSQL database), an in-process SMTP sink that
//! receives what telemed really sends, HTTP helpers, and headless Chromium.

pub mod browser;
pub mod cut;
pub mod fhir_validate;
pub mod live;
pub mod pdf_text;
pub mod smtp;
pub mod synthetic;
pub mod twilio;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use chrono::Utc;
use telemed_domain::{ManualClock, Permission, Role, UserId};
use telemed_server::accounts::admin::{create_user, ShellUser};
use telemed_server::accounts::api_tokens::{self, NewToken};
use telemed_server::config::{FilesConfig, SmtpConfig};
use telemed_server::context::Ctx;
use telemed_server::{AppState, Config, RunningServer};

pub use pdf_text::{filled_boxes, pdf_text};
pub use smtp::{ReceivedMail, SmtpSink};
pub use twilio::{FakeTwilio, SentText};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    pub url: String,
    /// A folder for this test's stored files and master key, removed with the database.
    pub files_dir: PathBuf,
    cleanup: Cleanup,
}

enum Cleanup {
    Folder(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    pub async fn create(backend: Backend) -> anyhow::Result<Self> {
        let files_dir = std::env::temp_dir().join(format!("telemed-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&files_dir)?;
        match backend {
            Backend::Sqlite => Ok(TestDb {
                url: format!("sqlite://{}/telemed.db", files_dir.display()),
                cleanup: Cleanup::Folder(files_dir.clone()),
                files_dir,
            }),
            Backend::Postgres => {
                let admin_url = std::env::var("TELEMED_TEST_DATABASE_URL")
                    .context("PostgreSQL tests need TELEMED_TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1/test")?;
                let name = format!("telemed_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
                    .await
                    .with_context(|| "connecting to TELEMED_TEST_DATABASE_URL")?;
                sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                    .await?;
                let url = replace_database(&admin_url, &name)?;
                Ok(TestDb {
                    url,
                    files_dir,
                    cleanup: Cleanup::PgDatabase { admin_url, name },
                })
            }
        }
    }
}

/// The same server URL with another database name.
fn replace_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url
        .split_once('?')
        .map(|(b, q)| (b, Some(q)))
        .unwrap_or((url, None));
    let scheme_end = base
        .find("://")
        .ok_or_else(|| anyhow!("not a URL: {url}"))?
        + 3;
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.files_dir);
        match &self.cleanup {
            Cleanup::Folder(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs outside async; a helper thread with its own runtime does the SQL.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async {
                        if let Ok(mut conn) =
                            <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await
                        {
                            let _ = sqlx::Executor::execute(
                                &mut conn,
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A running telemed with its own database, clock and mail sink.
pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub smtp: SmtpSink,
    pub backend: Backend,
    server: Option<RunningServer>,
    // Declared last: the database goes after the server is dropped. A second node
    // (`spawn_beside`) shares the first's database and owns none.
    pub db: Option<TestDb>,
    database_url: String,
    files_dir: PathBuf,
}

/// An account made for a test, with its password.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: UserId,
    pub email: String,
    pub password: String,
    pub role: Role,
}

pub const TEST_PASSWORD: &str = "violet kettle orbit 42 sandals";

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts the app with the test defaults, adjusted by `configure`.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        Self::try_spawn(backend, configure)
            .await
            .unwrap_or_else(|e| panic!("starting telemed for a test ({backend:?}): {e:#}"))
    }

    /// A second server node on this app's database (for multi-node tests), with its
    /// own clock, mail sink and live connections.
    pub async fn spawn_beside(&self, configure: impl FnOnce(&mut Config)) -> Self {
        self.try_spawn_beside(configure)
            .await
            .unwrap_or_else(|e| panic!("starting a second telemed node: {e:#}"))
    }

    /// `spawn_beside`, for tests of a node that must refuse to start.
    pub async fn try_spawn_beside(
        &self,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let shared = (self.database_url.clone(), self.files_dir.clone());
        Self::try_start(self.backend, None, shared, configure).await
    }

    async fn try_spawn(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let db = TestDb::create(backend).await?;
        let shared = (db.url.clone(), db.files_dir.clone());
        Self::try_start(backend, Some(db), shared, configure).await
    }

    /// Starts a server on `database_url` with its files (and master key) in `files_dir`.
    async fn try_start(
        backend: Backend,
        db: Option<TestDb>,
        (database_url, files_dir): (String, PathBuf),
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let smtp = SmtpSink::start().await?;
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.clone(),
            data_dir: PathBuf::from("/nonexistent-test-data-dir"),
            max_db_connections: 5,
            files: FilesConfig {
                local_dir: Some(files_dir.join("files")),
                master_key_file: Some(files_dir.join("master.key")),
                ..FilesConfig::default()
            },
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port: smtp.port(),
                security: "none".into(),
                username: None,
                password: None,
                password_file: None,
                from: "telemed <noreply@clinic.example>".into(),
            }),
            ..Config::default()
        };
        configure(&mut config);
        let clock = ManualClock::new(telemed_domain::Clock::now(&telemed_domain::SystemClock));
        let server = telemed_server::start(config, Arc::new(clock.clone())).await?;
        let scheme = if server.state.config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://{}", server.addr);
        Ok(TestApp {
            base,
            clock,
            smtp,
            backend,
            server: Some(server),
            db,
            database_url,
            files_dir,
        })
    }

    pub fn state(&self) -> &AppState {
        match &self.server {
            Some(s) => &s.state,
            None => panic!("the test app has been shut down"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("http client: {e}"))
    }

    /// Creates a verified account directly (as `telemed user create` does).
    pub async fn create_user(&self, role: Role) -> TestUser {
        self.create_named_user(role, &format!("Test {role}")).await
    }

    /// The same, with the name given.
    pub async fn create_named_user(&self, role: Role, display_name: &str) -> TestUser {
        let email = format!(
            "{}-{}@clinic.example",
            role.as_str(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let ctx = test_ctx();
        let new = ShellUser {
            email: &email,
            display_name,
            role,
            password: TEST_PASSWORD,
            specialty: None,
        };
        let id = create_user(self.state(), &ctx, new)
            .await
            .unwrap_or_else(|e| panic!("creating a {role}: {e:?}"));
        TestUser {
            id,
            email,
            password: TEST_PASSWORD.into(),
            role,
        }
    }

    /// Changes the clinic's settings as an admin would (a new admin account saves them),
    /// for tests that need a policy other than the defaults.
    pub async fn set_clinic(
        &self,
        change: impl FnOnce(&mut telemed_domain::clinic::ClinicSettings),
    ) {
        let admin = self.create_user(Role::Admin).await;
        let principal = telemed_domain::access::Principal {
            user_id: admin.id,
            role: Role::Admin,
            permissions: Role::Admin.permissions().to_vec(),
        };
        let clinic = telemed_server::clinic::reload(self.state())
            .await
            .unwrap_or_else(|e| panic!("reading the clinic: {e:?}"));
        let mut settings = clinic.settings.clone();
        change(&mut settings);
        telemed_server::clinic::update(
            self.state(),
            &test_ctx(),
            &principal,
            clinic.revision,
            settings,
        )
        .await
        .unwrap_or_else(|e| panic!("saving the clinic: {e:?}"));
    }

    /// A personal access token for `user` with `scopes` (all of the role's by default).
    pub async fn token_for(&self, user: &TestUser, scopes: Option<&[Permission]>) -> String {
        let principal = telemed_domain::access::Principal {
            user_id: user.id,
            role: user.role,
            permissions: user.role.permissions().to_vec(),
        };
        let scopes = scopes
            .map(|s| s.to_vec())
            .unwrap_or_else(|| user.role.permissions().to_vec());
        let (_, secret) = api_tokens::create(
            self.state(),
            &test_ctx(),
            &principal,
            NewToken {
                name: "test",
                scopes,
                days: 30,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("token: {e:?}"));
        secret
    }

    /// What `GET path` answers `token` as JSON, asserting a 200.
    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        let r = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The id of the newest of the tokens the owner of `token` holds.
    pub async fn newest_token_id(&self, token: &str) -> String {
        let tokens = self.get_json(token, "/api/v1/tokens").await;
        tokens[0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no token listed: {tokens}"))
            .to_owned()
    }

    /// Commits queued audit entries of reads.
    /// Gives `clinician` daily hours and books their first free video slot for
    /// `patient` (about an hour from now); returns the appointment as the API shows it.
    pub async fn book_video_visit(
        &self,
        clinician: &TestUser,
        patient: &TestUser,
    ) -> serde_json::Value {
        let app = self;
        let token = app.token_for(clinician, None).await;
        let rules: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| serde_json::json!({"weekday": d, "start": "00:00", "end": "23:55"}))
            .collect();
        let http = app.client();
        let r = http
        .put(app.url(&format!("/api/v1/clinicians/{}/schedule", clinician.id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"specialty": "Dermatology", "languages": ["en"], "regions": [], "time_zone": "UTC",
            "buffer_minutes": 0, "horizon_days": 30, "min_notice_minutes": 60, "rules": rules,
            "visit_types": [{"kind": "video", "duration_minutes": 30, "fee_cents": 0, "currency": "EUR"}]}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let now = telemed_domain::Clock::now(&app.clock);
        let patient_token = app.token_for(patient, None).await;
        let slots: Vec<serde_json::Value> = http
            .get(app.url(&format!(
                "/api/v1/clinicians/{}/slots?visit_kind=video&from={}&to={}",
                clinician.id,
                now.format("%Y-%m-%dT%H:%M:%SZ"),
                (now + chrono::Duration::days(2)).format("%Y-%m-%dT%H:%M:%SZ")
            )))
            .bearer_auth(&patient_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = http
        .post(app.url("/api/v1/appointments"))
        .bearer_auth(&patient_token)
        .json(&serde_json::json!({"clinician_id": clinician.id, "visit_kind": "video", "start": slots[0]["start"], "reason": "Check-up"}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    }

    pub async fn flush_audit(&self) {
        self.state()
            .audit
            .flush()
            .await
            .unwrap_or_else(|e| panic!("audit flush: {e:?}"));
    }

    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server
                .shutdown()
                .await
                .unwrap_or_else(|e| panic!("shutdown: {e:#}"));
        }
    }

    /// Shuts the server down and hands back its database, to inspect what was stored.
    pub async fn shutdown_keep_db(mut self) -> TestDb {
        self.stop().await;
        self.db
            .take()
            .unwrap_or_else(|| panic!("a second node owns no database"))
    }
}

/// Every visit: the reach a test inspects what the server stored with, as an operator
/// would (named as synthetic load, the task benchmarks and tests run under).
pub fn every_visit() -> telemed_domain::access::VisitReach {
    use telemed_domain::access::{system_visits, SystemTask};
    system_visits(SystemTask::SyntheticLoad)
}

pub fn test_ctx() -> Ctx {
    Ctx {
        client_addr: Some("127.0.0.1".into()),
        user_agent: "testkit".into(),
        ..Ctx::background("test")
    }
}

/// The databases a benchmark runs on: SQLite, and PostgreSQL when
/// TELEMED_TEST_DATABASE_URL is set (said when it is not).
pub fn bench_backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some() {
        backends.push(Backend::Postgres);
    } else {
        println!("PostgreSQL skipped: set TELEMED_TEST_DATABASE_URL to include it");
    }
    backends
}

/// The value at fraction `p` (0.5 for the median) of an ascending slice, as benchmarks
/// report it.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// The TOTP code an authenticator app would show for `secret` at `at`.
pub fn totp_code(secret_b32: &str, at: chrono::DateTime<Utc>) -> String {
    let bytes = totp_rs::Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .unwrap_or_else(|e| panic!("secret: {e:?}"));
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 0, 30, bytes)
        .unwrap_or_else(|e| panic!("totp: {e:?}"));
    totp.generate(at.timestamp() as u64)
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no csrf field in page:\n{html}"));
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A browser-like session against the web UI: keeps cookies, reads form tokens.
pub struct WebClient {
    pub http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    base: String,
}

impl TestApp {
    pub fn web(&self) -> WebClient {
        WebClient::for_site(&self.base)
    }
}

impl WebClient {
    /// A new browser session against the telemed at `base` (`http://host:port`).
    pub fn for_site(base: &str) -> WebClient {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        WebClient {
            http: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("http client: {e}")),
            jar,
            base: base.to_owned(),
        }
    }

    /// Enrols the second factor as a person with an authenticator app would, at the
    /// moment `now`: reads the key the enrolment page shows and answers its code.
    /// Answers the key, to make later codes with `totp_code`.
    pub async fn enrol_totp(&self, now: chrono::DateTime<Utc>) -> String {
        let page = self
            .get("/account/mfa")
            .await
            .text()
            .await
            .unwrap_or_default();
        let secret = page
            .split("id=\"totp-secret\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the enrolment page shows the key")
            .to_owned();
        let r = self
            .post("/account/mfa", &[("code", &totp_code(&secret, now))])
            .await;
        assert_eq!(r.status(), 200, "TOTP enrolment");
        secret
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Tells the site this browser's time zone, as telemed.js does (an IANA name).
    pub fn set_time_zone(&self, zone: &str) {
        let url = self
            .base
            .parse()
            .unwrap_or_else(|e| panic!("base url: {e}"));
        self.jar.add_cookie_str(
            &format!("telemed_tz={}; Path=/", zone.replace('/', "%2F")),
            &url,
        );
    }

    /// The `Cookie` header a browser would send to this site now.
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore as _;
        let url = self
            .base
            .parse()
            .unwrap_or_else(|e| panic!("base url: {e}"));
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Opens the live connection as this browser session would (cookie and Origin).
    pub async fn live(&self) -> Result<live::LiveClient, u16> {
        live::LiveClient::connect(
            &self.base,
            &[
                ("cookie", self.cookie_header()),
                ("origin", self.base.clone()),
            ],
        )
        .await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The form token a page would carry right now.
    pub async fn csrf(&self) -> String {
        let html = self.get("/login").await.text().await.unwrap_or_default();
        csrf_of(&html)
    }

    /// Submits a form like a browser: with the page's token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &token));
        self.http
            .post(self.url(path))
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Submits a form with files like a browser (multipart, the page's token first).
    /// `files` are (field, file name, content).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf().await);
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (field, name, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string());
            form = form.part(field.to_string(), part);
        }
        self.http
            .post(self.url(path))
            .header("accept", "text/html")
            .multipart(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Submits a form without any token (to check the CSRF refusal).
    pub async fn post_without_token(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("accept", "text/html")
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Signs in with a password; returns where the server sends the browser next.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> (reqwest::StatusCode, Option<String>) {
        let r = self
            .post("/login", &[("email", email), ("password", password)])
            .await;
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (r.status(), location)
    }
}

impl TestApp {
    /// A web session signed in as `user`; clinicians, staff and admins enrol their
    /// second factor on the way, as they must.
    pub async fn signed_in_web(&self, user: &TestUser) -> WebClient {
        self.signed_in_with_totp(user).await.0
    }

    /// The same, with the TOTP secret enrolled on the way (none for a role that was not
    /// asked to enrol), to make codes with `totp_code`.
    pub async fn signed_in_with_totp(&self, user: &TestUser) -> (WebClient, Option<String>) {
        let web = self.web();
        let (status, next) = web.sign_in(&user.email, &user.password).await;
        assert_eq!(status, 303, "sign-in of {}", user.email);
        if next.as_deref() != Some("/account/mfa") {
            return (web, None);
        }
        let secret = web
            .enrol_totp(telemed_domain::Clock::now(&self.clock))
            .await;
        (web, Some(secret))
    }
}

/// Where a redirect points.
pub fn location(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            super::replace_database("postgres://postgres@127.0.0.1/test", "x").unwrap(),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            super::replace_database("postgres://u:p@h:5432/test?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://h", "x").unwrap(),
            "postgres://h/x"
        );
    }
}
