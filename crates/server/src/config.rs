//! Configuration: defaults, then a TOML file, then `TELEMED_` environment variables.
//! Unknown keys and bad values fail at start with a message that says what to fix.
//! Secrets may come from files (`*_file` keys).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080`; port 0 picks a free port.
    pub listen: String,
    /// The address people use to reach telemed; links in emails start with it.
    pub public_url: String,
    /// `sqlite://path/to/file.db` (embedded) or `postgres://user@host/db`.
    pub database_url: String,
    /// Folder for the embedded database and other local state.
    pub data_dir: PathBuf,
    pub max_db_connections: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Demo mode: mail without SMTP stays readable in the admin outbox.
    pub demo: bool,
    /// `nats://host:4222`: carry live events between nodes over NATS. Unset, events stay
    /// in this process (one node).
    pub nats_url: Option<String>,
    pub session: SessionConfig,
    pub login: LoginConfig,
    pub limits: LimitsConfig,
    pub files: FilesConfig,
    pub video: VideoConfig,
    pub record: RecordConfig,
    pub prescribing: PrescribingConfig,
    pub fhir: FhirConfig,
    pub smtp: Option<SmtpConfig>,
    /// Text messages (SMS); off without this section.
    pub sms: Option<SmsConfig>,
    /// The bearer token `/metrics` asks for. Unset, `/metrics` answers only to this
    /// machine, connecting directly (not through a proxy).
    pub metrics_token: Option<String>,
    /// A file holding `metrics_token`.
    pub metrics_token_file: Option<PathBuf>,
}

/// The FHIR API's request sizes: what one body may be before it is read. Its JSON is
/// then held to `telemed_fhir::bounded::Limits` before any value is built.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FhirConfig {
    /// One resource: a create, an update, a search posted as a form.
    pub max_resource_bytes: usize,
    /// A transaction or batch Bundle posted to the base.
    pub max_bundle_bytes: usize,
}

impl Default for FhirConfig {
    fn default() -> Self {
        FhirConfig {
            max_resource_bytes: 1024 * 1024,
            max_bundle_bytes: 8 * 1024 * 1024,
        }
    }
}

/// The patient record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RecordConfig {
    /// How long a clinician's break-the-glass access to a record lasts.
    pub break_glass_minutes: i64,
    /// Fonts for the scripts Noto Sans (shipped) lacks, tried in order when a PDF
    /// (record export, prescription) holds such a character, e.g.
    /// `/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc` from Debian's
    /// `fonts-noto-cjk`. A character no font has prints as a box, and the PDF says so.
    pub pdf_fonts: Vec<PathBuf>,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            break_glass_minutes: 60,
            pdf_fonts: Vec::new(),
        }
    }
}

/// E-prescribing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrescribingConfig {
    /// The most refills a prescription may carry (schedule II substances: none).
    pub max_refills: u32,
    /// How many days a prescription's token is valid from signing.
    pub valid_days: u32,
}

impl Default for PrescribingConfig {
    fn default() -> Self {
        PrescribingConfig {
            max_refills: 5,
            valid_days: 365,
        }
    }
}

/// Live video visits: the ICE servers browsers use to reach each other.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    /// STUN servers, e.g. `stun:turn.clinic.example:3478`. None by default: no third
    /// party learns who calls; browsers on one network reach each other directly.
    pub stun_urls: Vec<String>,
    /// TURN servers, e.g. `turn:turn.clinic.example:3478?transport=udp` or
    /// `turns:turn.clinic.example:5349`, for browsers behind strict NATs.
    pub turn_urls: Vec<String>,
    /// The secret shared with the TURN server (coturn: `use-auth-secret` and
    /// `static-auth-secret`); browsers get time-limited credentials made from it.
    pub turn_secret: Option<String>,
    /// A file holding `turn_secret`.
    pub turn_secret_file: Option<PathBuf>,
    /// How long the TURN credentials a browser receives stay valid.
    pub turn_credential_minutes: i64,
    /// `all` (direct when possible) or `relay` (media always through TURN, so the
    /// parties never learn each other's addresses).
    pub ice_transport_policy: String,
    /// How long a guest's invite link stays valid.
    pub invite_hours: i64,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_secret_file: None,
            turn_credential_minutes: 12 * 60,
            ice_transport_policy: "all".into(),
            invite_hours: 24,
        }
    }
}

/// Stored files (attachments, documents, images), always encrypted at rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// `local` (a folder, `local_dir`) or `s3` (an S3-compatible bucket, `[files.s3]`).
    pub storage: String,
    /// The folder for `local` storage; default `<data_dir>/files`.
    pub local_dir: Option<PathBuf>,
    /// The master key file; default `<data_dir>/master.key`, created (mode 0600) at
    /// first start. Every node needs the same key.
    pub master_key_file: Option<PathBuf>,
    /// The master key itself (32 bytes, base64), instead of a file; e.g. from a secret
    /// manager as `TELEMED_FILES_MASTER_KEY`.
    pub master_key: Option<String>,
    /// Largest file attached to a message, in bytes.
    pub max_attachment_bytes: usize,
    /// Largest document or image filed in a patient record (DICOM can be large).
    pub max_document_bytes: usize,
    /// The most a patient (or a proxy) may store, in MiB; 0: no quota.
    pub quota_mb_patient: u64,
    /// The most one staff member may store, in MiB (a clinician files scans and imaging
    /// for many patients); 0: no quota.
    pub quota_mb_staff: u64,
    /// How long a file uploaded for a message waits to be sent before it is deleted.
    pub unsent_upload_hours: i64,
    pub s3: Option<S3Config>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// The service's address, for S3-compatible stores (MinIO, Garage, Ceph): e.g.
    /// `http://10.0.0.5:9000`. Unset: AWS in `region`.
    pub endpoint: Option<String>,
    #[serde(default = "default_s3_region")]
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Option<String>,
    /// A file holding the secret access key, instead of `secret_access_key`.
    pub secret_access_key_file: Option<PathBuf>,
    /// Allow a plain-HTTP endpoint (only inside a trusted network; the objects are
    /// encrypted either way).
    #[serde(default)]
    pub allow_http: bool,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            storage: "local".into(),
            local_dir: None,
            master_key_file: None,
            master_key: None,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_document_bytes: 64 * 1024 * 1024,
            quota_mb_patient: 1024,
            quota_mb_staff: 50 * 1024,
            unsent_upload_hours: 24,
            s3: None,
        }
    }
}

impl FilesConfig {
    pub fn local_dir(&self, data_dir: &Path) -> PathBuf {
        self.local_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("files"))
    }

    pub fn master_key_file(&self, data_dir: &Path) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("master.key"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Sign out after this long without activity.
    pub idle_timeout_minutes: i64,
    /// Sign out this long after sign-in, whatever the activity.
    pub absolute_lifetime_hours: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    pub failure_window_minutes: i64,
    pub lockout_minutes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `starttls` (default), `tls` (implicit, port 465) or `none` (local relays only).
    #[serde(default = "default_smtp_security")]
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A file holding the SMTP password, instead of `password`.
    pub password_file: Option<PathBuf>,
    /// The sender, e.g. `telemed <noreply@clinic.example>`.
    pub from: String,
}

/// Text messages through a provider's HTTP API: sign-in codes, reminders and visit
/// links for the people who ask for them by SMS. Never anything clinical.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// `twilio`, the provider spoken so far (its Messages REST API).
    #[serde(default = "default_sms_provider")]
    pub provider: String,
    /// The account the messages are sent from (Twilio's Account SID, `AC…`).
    pub account_sid: String,
    /// The account's secret: it signs the API calls and the provider's status callbacks.
    pub auth_token: Option<String>,
    /// A file holding `auth_token`, instead of it.
    pub auth_token_file: Option<PathBuf>,
    /// The sender: a phone number in E.164 form (`+34600111222`) or a messaging service
    /// (`MG…`).
    pub from: String,
    /// The API's base address; tests point it at a local server that speaks the API.
    #[serde(default = "default_sms_api_base")]
    pub api_base: String,
}

fn default_sms_provider() -> String {
    "twilio".into()
}

fn default_sms_api_base() -> String {
    "https://api.twilio.com".into()
}

fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_security() -> String {
    "starttls".into()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            database_url: "sqlite://./telemed-data/telemed.db".into(),
            data_dir: PathBuf::from("./telemed-data"),
            max_db_connections: 8,
            max_body_bytes: 1024 * 1024,
            tls_cert: None,
            tls_key: None,
            trust_forwarded_for: false,
            metrics_token: None,
            metrics_token_file: None,
            demo: false,
            nats_url: None,
            session: SessionConfig::default(),
            login: LoginConfig::default(),
            limits: LimitsConfig::default(),
            files: FilesConfig::default(),
            video: VideoConfig::default(),
            record: RecordConfig::default(),
            prescribing: PrescribingConfig::default(),
            fhir: FhirConfig::default(),
            smtp: None,
            sms: None,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout_minutes: 30,
            absolute_lifetime_hours: 12,
        }
    }
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            max_failures_per_account: 5,
            max_failures_per_address: 50,
            failure_window_minutes: 15,
            lockout_minutes: 15,
        }
    }
}

/// Rate limits, counted per hour: on what sends email or names an email address
/// (counted whether or not the address has an account, so a refusal tells nothing), and
/// on uploads. The use that reaches a limit locks its key for an hour (429 with
/// `Retry-After`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Sign-ups and password-reset requests from one client address.
    pub email_requests_per_address: i64,
    /// Emails one address can be made to receive by sign-ups, reset requests and proxy
    /// invitations (someone else typing it).
    pub emails_per_recipient: i64,
    /// Proxy invitations one person sends (a patient, the front desk).
    pub proxy_invitations_per_person: i64,
    /// Staff invitations one admin sends.
    pub staff_invitations_per_admin: i64,
    /// Requests that store files (attachments, messages with files, record documents)
    /// one patient or proxy makes.
    pub uploads_per_hour_patient: i64,
    /// The same for one staff member.
    pub uploads_per_hour_staff: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            email_requests_per_address: 20,
            emails_per_recipient: 5,
            proxy_invitations_per_person: 10,
            staff_invitations_per_admin: 100,
            uploads_per_hour_patient: 60,
            uploads_per_hour_staff: 600,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

/// Reads a secret kept in a file (`file`, named `name` in messages) into `value`, its
/// line ending dropped; both given is refused with `both`.
fn secret_from_file(
    value: &mut Option<String>,
    file: &mut Option<PathBuf>,
    name: &str,
    both: &str,
) -> Result<(), ConfigError> {
    let Some(file) = file.take() else {
        return Ok(());
    };
    if value.is_some() {
        return fail(both);
    }
    let secret = std::fs::read_to_string(&file)
        .or_else(|e| fail(format!("cannot read {name} {}: {e}", file.display())))?;
    *value = Some(secret.trim_end_matches(['\r', '\n']).to_owned());
    Ok(())
}

/// Where the scheduling policy went when it left the configuration file.
const MOVED_SCHEDULING: &str = "the [scheduling] settings (reminder_hours, \
     patient_cancel_cutoff_hours, check_in_opens_minutes, noshow_grace_minutes) are now \
     the clinic's settings, kept by an admin on the Clinic page (/admin/clinic) or with \
     PATCH /api/v1/clinic; remove them from the configuration";

/// Environment variables with the `TELEMED_` prefix that are not configuration keys.
const NOT_CONFIG_PREFIXES: [&str; 5] = [
    "TELEMED_CONFIG",
    "TELEMED_LOG",
    "TELEMED_TEST_",
    "TELEMED_REQUIRE_",
    "TELEMED_BENCH_",
];

impl Config {
    /// Loads defaults, then `file` (if any), then the `TELEMED_*` variables in `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut merged = to_table(&Config::default())?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).or_else(|e| {
                fail(format!(
                    "cannot read the config file {}: {e}",
                    path.display()
                ))
            })?;
            let from_file: toml::Table = toml::from_str(&text)
                .or_else(|e| fail(format!("{} is not valid TOML: {e}", path.display())))?;
            if from_file.contains_key("scheduling") {
                return fail(format!("{}: {MOVED_SCHEDULING}", path.display()));
            }
            // Parsed alone first, so a mistake is reported with its line and key.
            toml::from_str::<Config>(&text)
                .or_else(|e| fail(format!("{}: {e}", path.display())))?;
            merge(&mut merged, from_file);
        }
        let known = known_env_keys()?;
        for (name, value) in env {
            if name.starts_with("TELEMED_SCHEDULING_") {
                return fail(format!("{name}: {MOVED_SCHEDULING}"));
            }
            if !name.starts_with("TELEMED_")
                || NOT_CONFIG_PREFIXES.iter().any(|p| name.starts_with(p))
            {
                continue;
            }
            let Some((path, example)) = known.get(&name) else {
                return fail(format!(
                    "unknown environment variable {name}; known ones are {}",
                    known.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            };
            set_path(&mut merged, path, env_value(&name, &value, example)?);
        }
        let config: Config = toml::Value::Table(merged)
            .try_into()
            .or_else(|e: toml::de::Error| fail(e.message().to_owned()))?;
        config.validated()
    }

    fn validated(mut self) -> Result<Self, ConfigError> {
        self.listen_addr()?;
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return fail("public_url must start with http:// or https://");
        }
        self.public_url = self.public_url.trim_end_matches('/').to_owned();
        telemed_store::Dialect::of_url(&self.database_url).or_else(|e| fail(e.to_string()))?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return fail("set both tls_cert and tls_key, or neither");
        }
        if let Some(url) = &self.nats_url {
            if !(url.starts_with("nats://") || url.starts_with("tls://")) {
                return fail("nats_url must start with nats:// or tls://");
            }
        }
        if self.max_db_connections == 0 || self.max_db_connections > 500 {
            return fail("max_db_connections must be between 1 and 500");
        }
        if self.max_body_bytes < 1024 {
            return fail("max_body_bytes must be at least 1024");
        }
        let s = &self.session;
        if s.idle_timeout_minutes < 1
            || s.absolute_lifetime_hours < 1
            || s.idle_timeout_minutes > s.absolute_lifetime_hours * 60
        {
            return fail("session: idle_timeout_minutes must be at least 1 and within absolute_lifetime_hours");
        }
        let l = &self.login;
        if l.max_failures_per_account < 1
            || l.max_failures_per_address < 1
            || l.failure_window_minutes < 1
            || l.lockout_minutes < 1
        {
            return fail("login: every limit must be at least 1");
        }
        let r = &self.limits;
        if [
            r.email_requests_per_address,
            r.emails_per_recipient,
            r.proxy_invitations_per_person,
            r.staff_invitations_per_admin,
            r.uploads_per_hour_patient,
            r.uploads_per_hour_staff,
        ]
        .iter()
        .any(|n| !(1..=100_000).contains(n))
        {
            return fail("limits: every limit must be between 1 and 100000 per hour");
        }
        self.files.validate()?;
        self.video.validate()?;
        let f = &self.fhir;
        if !(1024..=64 * 1024 * 1024).contains(&f.max_resource_bytes)
            || !(f.max_resource_bytes..=256 * 1024 * 1024).contains(&f.max_bundle_bytes)
        {
            return fail("fhir: max_resource_bytes must be between 1024 and 67108864, and max_bundle_bytes between it and 268435456");
        }
        if self.prescribing.max_refills > 12 {
            return fail("prescribing.max_refills must be between 0 and 12");
        }
        if !(1..=730).contains(&self.prescribing.valid_days) {
            return fail("prescribing.valid_days must be between 1 and 730");
        }
        if !(1..=24 * 60).contains(&self.record.break_glass_minutes) {
            return fail("record.break_glass_minutes must be between 1 and 1440");
        }
        secret_from_file(
            &mut self.metrics_token,
            &mut self.metrics_token_file,
            "metrics_token_file",
            "set metrics_token or metrics_token_file, not both",
        )?;
        if self.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            return fail("metrics_token must be at least 16 characters");
        }
        if let Some(smtp) = &mut self.smtp {
            if smtp.host.trim().is_empty() {
                return fail("smtp.host is empty");
            }
            if !["starttls", "tls", "none"].contains(&smtp.security.as_str()) {
                return fail("smtp.security must be starttls, tls or none");
            }
            if smtp.from.parse::<lettre::message::Mailbox>().is_err() {
                return fail(
                    "smtp.from must be an address such as `telemed <noreply@clinic.example>`",
                );
            }
            secret_from_file(
                &mut smtp.password,
                &mut smtp.password_file,
                "smtp.password_file",
                "set smtp.password or smtp.password_file, not both",
            )?;
            if smtp.password.is_some() && smtp.username.is_none() {
                return fail("smtp.password is set but smtp.username is not");
            }
        }
        if let Some(sms) = &mut self.sms {
            if sms.provider != "twilio" {
                return fail("sms.provider must be twilio");
            }
            if sms.account_sid.trim().is_empty() {
                return fail("sms.account_sid is empty");
            }
            let e164 = sms.from.strip_prefix('+').is_some_and(|digits| {
                (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            });
            if !e164 && !sms.from.starts_with("MG") {
                return fail(
                    "sms.from must be a number such as +34600111222 or a messaging service (MG…)",
                );
            }
            if !(sms.api_base.starts_with("https://") || sms.api_base.starts_with("http://")) {
                return fail("sms.api_base must be an http(s) address");
            }
            secret_from_file(
                &mut sms.auth_token,
                &mut sms.auth_token_file,
                "sms.auth_token_file",
                "set sms.auth_token or sms.auth_token_file, not both",
            )?;
            if sms.auth_token.as_deref().is_none_or(str::is_empty) {
                return fail("sms needs auth_token or auth_token_file");
            }
        }
        Ok(self)
    }

    /// The FHIR API's base, as it appears in resource URLs and the SMART configuration.
    pub fn fhir_base_url(&self) -> String {
        format!("{}/fhir/R4", self.public_url.trim_end_matches('/'))
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().or_else(|_| {
            fail(format!(
                "listen must be an address with a port, like 127.0.0.1:8080 (got {:?})",
                self.listen
            ))
        })
    }

    /// Whether cookies get the `Secure` flag: when people reach telemed over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn to_table<T: Serialize>(value: &T) -> Result<toml::Table, ConfigError> {
    toml::Table::try_from(value).or_else(|e| fail(format!("internal: {e}")))
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(incoming)) => {
                merge(existing, incoming)
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = table;
    for p in parents {
        let entry = at
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        at = next;
    }
    at.insert(last.clone(), value);
}

/// An environment value as the TOML type the key takes (`example` is a value of it).
fn env_value(name: &str, raw: &str, example: &toml::Value) -> Result<toml::Value, ConfigError> {
    match example {
        toml::Value::Integer(_) => raw
            .trim()
            .parse()
            .map(toml::Value::Integer)
            .or_else(|_| fail(format!("{name} must be a whole number (got {raw:?})"))),
        toml::Value::Boolean(_) => raw
            .trim()
            .parse()
            .map(toml::Value::Boolean)
            .or_else(|_| fail(format!("{name} must be true or false (got {raw:?})"))),
        // Lists are comma-separated: whole numbers where the default is a list of them
        // (e.g. reminder hours), else text (e.g. server addresses).
        toml::Value::Array(items) if items.first().is_some_and(toml::Value::is_integer) => raw
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.trim().parse().map(toml::Value::Integer))
            .collect::<Result<Vec<_>, _>>()
            .map(toml::Value::Array)
            .or_else(|_| {
                fail(format!(
                    "{name} must be whole numbers separated by commas (got {raw:?})"
                ))
            }),
        toml::Value::Array(_) => Ok(toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(toml::Value::from)
                .collect(),
        )),
        _ => Ok(raw.into()),
    }
}

impl VideoConfig {
    fn validate(&mut self) -> Result<(), ConfigError> {
        let scheme_ok = |url: &str, schemes: &[&str]| {
            schemes
                .iter()
                .any(|s| url.starts_with(s) && url.len() > s.len())
        };
        if let Some(bad) = self
            .stun_urls
            .iter()
            .find(|u| !scheme_ok(u, &["stun:", "stuns:"]))
        {
            return fail(format!(
                "video.stun_urls: {bad:?} must look like stun:host:3478"
            ));
        }
        if let Some(bad) = self
            .turn_urls
            .iter()
            .find(|u| !scheme_ok(u, &["turn:", "turns:"]))
        {
            return fail(format!(
                "video.turn_urls: {bad:?} must look like turn:host:3478 or turns:host:5349"
            ));
        }
        secret_from_file(
            &mut self.turn_secret,
            &mut self.turn_secret_file,
            "video.turn_secret_file",
            "set video.turn_secret or video.turn_secret_file, not both",
        )?;
        if !self.turn_urls.is_empty() && self.turn_secret.as_deref().is_none_or(str::is_empty) {
            return fail(
                "video.turn_urls needs video.turn_secret (the TURN server's static-auth-secret)",
            );
        }
        match self.ice_transport_policy.as_str() {
            "all" => {}
            "relay" if !self.turn_urls.is_empty() => {}
            "relay" => return fail("video.ice_transport_policy = \"relay\" needs video.turn_urls"),
            _ => return fail("video.ice_transport_policy must be all or relay"),
        }
        if !(5..=7 * 24 * 60).contains(&self.turn_credential_minutes) {
            return fail("video.turn_credential_minutes must be 5 to 10080");
        }
        if !(1..=14 * 24).contains(&self.invite_hours) {
            return fail("video.invite_hours must be 1 to 336");
        }
        Ok(())
    }
}

impl FilesConfig {
    fn validate(&mut self) -> Result<(), ConfigError> {
        if !(1024..=512 * 1024 * 1024).contains(&self.max_attachment_bytes) {
            return fail("files.max_attachment_bytes must be between 1024 and 536870912");
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.max_document_bytes) {
            return fail("files.max_document_bytes must be between 1024 and 1073741824");
        }
        if self.quota_mb_patient > 1 << 30 || self.quota_mb_staff > 1 << 30 {
            return fail("files.quota_mb_patient and quota_mb_staff must be at most 1073741824 (0: no quota)");
        }
        if !(1..=24 * 90).contains(&self.unsent_upload_hours) {
            return fail("files.unsent_upload_hours must be between 1 and 2160");
        }
        if self.master_key.is_some() && self.master_key_file.is_some() {
            return fail("set files.master_key or files.master_key_file, not both");
        }
        match (self.storage.as_str(), &mut self.s3) {
            ("local", _) => {}
            ("s3", Some(s3)) => {
                if s3.bucket.trim().is_empty() || s3.access_key_id.trim().is_empty() {
                    return fail("files.s3 needs bucket and access_key_id");
                }
                secret_from_file(
                    &mut s3.secret_access_key,
                    &mut s3.secret_access_key_file,
                    "files.s3.secret_access_key_file",
                    "set files.s3.secret_access_key or secret_access_key_file, not both",
                )?;
                if s3.secret_access_key.is_none() {
                    return fail("files.s3 needs secret_access_key or secret_access_key_file");
                }
            }
            ("s3", None) => return fail("files.storage is s3 but there is no [files.s3] section"),
            _ => return fail("files.storage must be local or s3"),
        }
        Ok(())
    }
}

/// Every configuration key as its environment variable name, e.g.
/// `TELEMED_SMTP_PASSWORD_FILE` -> `smtp.password_file`.
fn known_env_keys() -> Result<BTreeMap<String, (Vec<String>, toml::Value)>, ConfigError> {
    let full = Config {
        tls_cert: Some(PathBuf::new()),
        tls_key: Some(PathBuf::new()),
        nats_url: Some(String::new()),
        files: FilesConfig {
            local_dir: Some(PathBuf::new()),
            master_key_file: Some(PathBuf::new()),
            master_key: Some(String::new()),
            s3: Some(S3Config {
                bucket: String::new(),
                endpoint: Some(String::new()),
                region: String::new(),
                access_key_id: String::new(),
                secret_access_key: Some(String::new()),
                secret_access_key_file: Some(PathBuf::new()),
                allow_http: false,
            }),
            ..FilesConfig::default()
        },
        video: VideoConfig {
            turn_secret: Some(String::new()),
            turn_secret_file: Some(PathBuf::new()),
            ..VideoConfig::default()
        },
        smtp: Some(SmtpConfig {
            host: String::new(),
            port: 0,
            security: String::new(),
            username: Some(String::new()),
            password: Some(String::new()),
            password_file: Some(PathBuf::new()),
            from: String::new(),
        }),
        sms: Some(SmsConfig {
            provider: String::new(),
            account_sid: String::new(),
            auth_token: Some(String::new()),
            auth_token_file: Some(PathBuf::new()),
            from: String::new(),
            api_base: String::new(),
        }),
        ..Config::default()
    };
    let mut keys = BTreeMap::new();
    fn walk(
        prefix: &[String],
        table: &toml::Table,
        keys: &mut BTreeMap<String, (Vec<String>, toml::Value)>,
    ) {
        for (key, value) in table {
            let mut path = prefix.to_vec();
            path.push(key.clone());
            match value {
                toml::Value::Table(inner) => walk(&path, inner, keys),
                example => {
                    keys.insert(
                        format!("TELEMED_{}", path.join("_").to_uppercase()),
                        (path, example.clone()),
                    );
                }
            }
        }
    }
    walk(&[], &to_table(&full)?, &mut keys);
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("telemed-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("telemed.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\n[session]\nidle_timeout_minutes = 10\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[("TELEMED_LISTEN", "127.0.0.1:9100"), ("PATH", "/bin")]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9100");
        assert_eq!(c.session.idle_timeout_minutes, 10);
        assert_eq!(c.session.absolute_lifetime_hours, 12);
        let c = Config::load(
            None,
            env(&[
                ("TELEMED_SESSION_IDLE_TIMEOUT_MINUTES", "5"),
                ("TELEMED_TEST_DATABASE_URL", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.session.idle_timeout_minutes, 5);
    }

    #[test]
    fn video_servers_come_from_the_environment_and_are_checked() {
        let c = Config::load(
            None,
            env(&[
                ("TELEMED_VIDEO_STUN_URLS", "stun:turn.clinic.example:3478"),
                (
                    "TELEMED_VIDEO_TURN_URLS",
                    "turn:turn.clinic.example:3478?transport=udp, turns:turn.clinic.example:5349",
                ),
                ("TELEMED_VIDEO_TURN_SECRET", "s3cret"),
                ("TELEMED_VIDEO_ICE_TRANSPORT_POLICY", "relay"),
            ]),
        )
        .unwrap();
        assert_eq!(c.video.turn_urls.len(), 2);
        assert_eq!(c.video.stun_urls, ["stun:turn.clinic.example:3478"]);
        assert_eq!(c.video.ice_transport_policy, "relay");
        let refused =
            |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).unwrap_err().to_string();
        let err = refused(&[("TELEMED_VIDEO_TURN_URLS", "turn:t.example:3478")]);
        assert!(err.contains("turn_secret"), "{err}");
        let err = refused(&[("TELEMED_VIDEO_STUN_URLS", "http://t.example")]);
        assert!(err.contains("stun_urls"), "{err}");
        let err = refused(&[("TELEMED_VIDEO_ICE_TRANSPORT_POLICY", "relay")]);
        assert!(err.contains("needs video.turn_urls"), "{err}");
    }

    #[test]
    fn the_scheduling_policy_is_the_clinics_now() {
        let err = Config::load(None, env(&[("TELEMED_SCHEDULING_REMINDER_HOURS", "24")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/admin/clinic"), "{err}");
        let dir = std::env::temp_dir().join(format!("telemed-config-moved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("telemed.toml");
        std::fs::write(&file, "[scheduling]\nreminder_hours = [24]\n").unwrap();
        let err = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            err.contains("[scheduling] settings") && err.contains("PATCH /api/v1/clinic"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_say_what_to_fix() {
        let err = Config::load(None, env(&[("TELEMED_DATABSE_URL", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TELEMED_DATABSE_URL") && err.contains("TELEMED_DATABASE_URL"),
            "{err}"
        );
        let err = Config::load(None, env(&[("TELEMED_LISTEN", "nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen"), "{err}");
        let err = Config::load(None, env(&[("TELEMED_DATABASE_URL", "mysql://x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sqlite://"), "{err}");
        let err = Config::load(None, env(&[("TELEMED_MAX_DB_CONNECTIONS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TELEMED_MAX_DB_CONNECTIONS must be a whole number"),
            "{err}"
        );
        let dir = std::env::temp_dir().join(format!("telemed-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("telemed.toml");
        std::fs::write(&file, "[session]\nidle_timeout = 3\n").unwrap();
        let err = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(err.contains("idle_timeout"), "{err}");
    }

    #[test]
    fn smtp_password_comes_from_a_file() {
        let dir =
            std::env::temp_dir().join(format!("telemed-config-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("smtp-password");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let c = Config::load(
            None,
            env(&[
                ("TELEMED_SMTP_HOST", "mail.example.org"),
                ("TELEMED_SMTP_FROM", "telemed <noreply@example.org>"),
                ("TELEMED_SMTP_USERNAME", "telemed"),
                ("TELEMED_SMTP_PASSWORD_FILE", secret.to_str().unwrap()),
            ]),
        )
        .unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!(smtp.password.as_deref(), Some("s3cret"));
        assert_eq!(smtp.port, 587);
    }
}
