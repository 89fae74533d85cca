//! The application: shared state, the router with its middleware, and starting and
//! stopping the server.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::serve::ListenerExt as _;
use axum::Router;
use telemed_domain::Clock;
use telemed_store::audit::AuditWriter;
use telemed_store::{Dialect, Store};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::{api, context, fhir, metrics, openapi, ops, respond, security, web};

/// Everything a request handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// The group-commit writer for audit entries of reads (a read waits for its own).
    pub audit: AuditWriter,
    /// Wakes the mail sender when something is queued.
    pub mail_wake: Arc<Notify>,
    /// Wakes the SMS sender when a text is queued.
    pub sms_wake: Arc<Notify>,
    /// Wakes the job worker when a job is queued to run now.
    pub jobs_wake: Arc<Notify>,
    pub metrics: Metrics,
    pub csrf_key: Vec<u8>,
    /// Signs OpenID Connect id_tokens.
    pub id_token_key: Arc<crate::jws::JwsKey>,
    /// Signs prescriptions' verifiable tokens (a key of its own).
    pub prescription_key: Arc<crate::jws::JwsKey>,
    /// Live events between nodes.
    pub bus: crate::realtime::Bus,
    /// This node's live connections.
    pub hub: Arc<crate::realtime::Hub>,
    /// The encrypted file store.
    pub blobs: telemed_store::blobs::Blobs,
    /// Writes messages to existing threads in batches (group commit).
    pub message_writer: crate::messaging::writer::Writer,
    /// Who FHIR bearer tokens stand for (one node only; see the module).
    pub callers: crate::fhir::caller_cache::CallerCache,
    /// What the prescribing checks consult: drug classes, interactions, dose ranges and
    /// the known ingredient names, as the database held them at start or at this node's
    /// last import (`knowledge()`).
    pub knowledge: std::sync::RwLock<Arc<crate::prescribing::Reference>>,
    /// What parsed FHIR bodies may hold at once (see `fhir::body`).
    pub json_budget: crate::fhir::body::JsonBudget,
    /// This node's copy of the clinic's settings (see `clinic::current`).
    pub clinic: Arc<crate::clinic::ClinicCache>,
    /// This node's type-ahead indexes of the code systems (see `terminology`).
    pub terminology: crate::terminology::Indexes,
    /// The fonts PDFs are written in (Noto Sans and `record.pdf_fonts`).
    pub pdf_fonts: Arc<crate::pdf::Fonts>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The prescribing knowledge as this node holds it.
    pub fn knowledge(&self) -> Arc<crate::prescribing::Reference> {
        match self.knowledge.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Builds the state over an open, migrated store and starts the audit writer.
    pub async fn new(
        config: Config,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<(Self, JoinHandle<()>)> {
        let csrf_key =
            telemed_store::instance::secret(store.pool(), telemed_store::instance::CSRF_KEY)
                .await
                .map_err(|e| anyhow::anyhow!("reading the instance secret: {e:?}"))?
                .into_bytes();
        let id_token_key =
            telemed_store::instance::secret(store.pool(), telemed_store::instance::ID_TOKEN_KEY)
                .await
                .and_then(|k| crate::jws::JwsKey::from_hex(&k))
                .map_err(|e| anyhow::anyhow!("reading the id_token key: {e:?}"))?;
        let prescription_key = telemed_store::instance::secret(
            store.pool(),
            telemed_store::instance::PRESCRIPTION_KEY,
        )
        .await
        .and_then(|k| crate::jws::JwsKey::from_hex(&k))
        .map_err(|e| anyhow::anyhow!("reading the prescription key: {e:?}"))?;
        let (audit, audit_task) = AuditWriter::start(store.clone());
        let blobs = crate::files::open(&config).map_err(describe)?;
        blobs.check_keys(&store).await.map_err(describe)?;
        let sealed = blobs.seal_totp_secrets(&store).await.map_err(describe)?;
        if sealed > 0 {
            tracing::info!(sealed, "second-factor secrets sealed under the master key");
        }
        let clinic = Arc::new(crate::clinic::ClinicCache::default());
        let message_writer = crate::messaging::writer::Writer::start(
            store.clone(),
            config.public_url.clone(),
            clinic.clone(),
        );
        let bus = crate::realtime::Bus::connect(config.nats_url.as_deref()).await?;
        let hub = crate::realtime::Hub::new();
        tokio::spawn(hub.clone().run(bus.subscribe()));
        let credentials = store.credentials_epoch();
        bus.relay_credential_changes(credentials.clone());
        crate::prescribing::seed_starter(&store, clock.now())
            .await
            .map_err(describe)?;
        crate::terminology::seed_starter(&store, clock.now())
            .await
            .map_err(describe)?;
        let knowledge = std::sync::RwLock::new(Arc::new(
            crate::prescribing::Reference::load(&store)
                .await
                .map_err(describe)?,
        ));
        let pdf_fonts = Arc::new(
            crate::pdf::Fonts::with_fallbacks(&config.record.pdf_fonts)
                .map_err(|e| anyhow::anyhow!(e))?,
        );
        let inner = Inner {
            config: Arc::new(config),
            store,
            clock,
            audit,
            mail_wake: Arc::new(Notify::new()),
            sms_wake: Arc::new(Notify::new()),
            jobs_wake: Arc::new(Notify::new()),
            metrics: Metrics::default(),
            csrf_key,
            id_token_key: Arc::new(id_token_key),
            prescription_key: Arc::new(prescription_key),
            callers: crate::fhir::caller_cache::CallerCache::new(!bus.is_shared(), credentials),
            bus,
            hub,
            blobs,
            message_writer,
            knowledge,
            json_budget: Default::default(),
            clinic,
            terminology: Default::default(),
            pdf_fonts,
        };
        Ok((AppState(Arc::new(inner)), audit_task))
    }
}

/// Opens the configured database and applies pending migrations. The default data
/// folder is created when the default database is used; a configured folder never is.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let defaults = Config::default();
    if config.database_url == defaults.database_url && config.data_dir == defaults.data_dir {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.database_url, config.max_db_connections)
        .await
        .map_err(describe)?;
    if store.is_new().await.map_err(describe)? {
        refuse_a_new_database_beside_a_clinic(config)?;
    }
    store.migrate().await.map_err(describe)?;
    Ok(store)
}

/// A new, empty database is a new clinic only where nothing says a clinic existed: a
/// master key file (made at a clinic's first start) or stored files in the files folder
/// mean its database was lost or is not the one configured, and starting an empty
/// clinic beside them would hide that until someone missed a record.
fn refuse_a_new_database_beside_a_clinic(config: &Config) -> anyhow::Result<()> {
    let key = config.files.master_key_file(&config.data_dir);
    let files = config.files.local_dir(&config.data_dir);
    let mut traces = Vec::new();
    if config.files.master_key.is_none() && key.exists() {
        traces.push(format!("the master key file {}", key.display()));
    }
    let holds_files = config.files.storage != "s3"
        && std::fs::read_dir(&files).is_ok_and(|mut entries| entries.next().is_some());
    if holds_files {
        traces.push(format!("the files folder {}", files.display()));
    }
    if traces.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the database is new and empty, but {} belong to a clinic that existed: telemed \
         will not start an empty clinic beside them. Point database_url at that clinic's \
         database or restore its backup; to start a new clinic instead, move them away first",
        traces.join(" and ")
    )
}

/// Turns a domain error into a message for the operator (internal detail included).
pub fn describe(e: telemed_domain::Error) -> anyhow::Error {
    match e {
        telemed_domain::Error::Internal(detail) => anyhow::anyhow!(detail),
        other => anyhow::anyhow!(other.to_string()),
    }
}

pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let max_upload = security::upload_limit(&state.config);
    let csrf = from_fn_with_state(state.clone(), security::csrf_protect);
    let plain = Router::new()
        .merge(web::router().layer(csrf.clone()))
        .nest("/api/v1", api::router())
        .merge(web::oauth::endpoints().layer(security::cors_for_apps()))
        .merge(ops::router())
        .merge(crate::sms::router())
        .merge(openapi::router())
        .layer(from_fn(security::refuse_nul))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body));
    let uploads = Router::new()
        .merge(web::upload_router().layer(csrf))
        .nest("/api/v1", api::upload_router())
        .layer(from_fn(security::refuse_nul_in_address))
        .layer(DefaultBodyLimit::max(max_upload))
        .layer(RequestBodyLimitLayer::new(max_upload));
    let releases = Router::new()
        .merge(
            web::release_router().layer(from_fn_with_state(state.clone(), security::csrf_protect)),
        )
        .layer(from_fn(security::refuse_nul_in_address))
        .layer(DefaultBodyLimit::max(web::terminology::MAX_RELEASE_BYTES))
        .layer(RequestBodyLimitLayer::new(
            web::terminology::MAX_RELEASE_BYTES,
        ));
    // FHIR: each route sets its own limit (a resource, a bundle) within the bundle's.
    let fhir_limits = &state.config.fhir;
    let fhir = Router::new()
        .nest(
            "/fhir/R4",
            fhir::router(fhir_limits).layer(security::cors_for_apps()),
        )
        .route(
            "/fhir/R4/",
            fhir::base_with_slash(fhir_limits).layer(security::cors_for_apps()),
        )
        .layer(from_fn(security::refuse_nul_in_address))
        .layer(RequestBodyLimitLayer::new(fhir_limits.max_bundle_bytes));
    Router::new()
        .merge(plain)
        .merge(releases)
        .merge(uploads)
        .merge(fhir)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(from_fn(respond::render_errors))
        .layer(from_fn_with_state(
            state.clone(),
            security::security_headers,
        ))
        .layer(from_fn_with_state(state.clone(), context::assign_context))
        .with_state(state)
}

/// A running server. Dropping it does not stop it; call `shutdown`.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    serving: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and commits queued audit entries.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = (&mut self.serving).await;
        let flushed = self.state.audit.flush().await;
        for task in &self.background {
            task.abort();
        }
        served.context("server task")?.context("server")?;
        flushed.map_err(describe)
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Opens the store, starts background work and serves HTTP (or HTTPS with a
/// certificate) on the configured address.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<RunningServer> {
    let store = open_store(&config).await?;
    start_with_store(config, store, clock).await
}

pub async fn start_with_store(
    config: Config,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningServer> {
    let addr = config.listen_addr()?;
    let dialect = store.dialect();
    let (state, audit_task) = AppState::new(config, store, clock).await?;
    let mail_task = tokio::spawn(crate::mail::run_sender(
        state.store.clone(),
        state.config.clone(),
        state.clock.clone(),
        state.mail_wake.clone(),
    ));
    let sms_task = tokio::spawn(crate::sms::run_sender(
        state.store.clone(),
        state.config.clone(),
        state.clock.clone(),
        state.sms_wake.clone(),
    ));
    let jobs_task = tokio::spawn(crate::jobs::run_worker(state.clone()));
    let sweep_task = tokio::spawn(crate::files::run_sweeper(state.clone()));
    let exports_task = tokio::spawn(fhir::watch_stalled_exports(state.clone()));
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = match (&state.config.tls_cert, &state.config.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "loading the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                let _ = stopped.await;
                stopper.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            // TCP_NODELAY: live events are small frames sent back to back (an SDP answer,
            // then its ICE candidates); Nagle's algorithm would hold the second one until
            // the browser's delayed ACK, 40 ms later.
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                .acceptor(axum_server::accept::NoDelayAcceptor::new());
            let server = axum_server::from_tcp(listener)
                .acceptor(acceptor)
                .handle(handle);
            tokio::spawn(async move { server.serve(app).await })
        }
        _ => {
            let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
            })
        }
    };
    let scheme = if state.config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let db = match dialect {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
    };
    let memory_task = tokio::spawn(state.json_budget.clone().return_memory_after_bursts());
    tracing::info!(%bound, %scheme, database = db, "telemed is listening");
    Ok(RunningServer {
        addr: bound,
        state,
        stop: Some(stop),
        serving,
        background: vec![
            audit_task,
            mail_task,
            sms_task,
            jobs_task,
            sweep_task,
            exports_task,
            memory_task,
        ],
    })
}
