//! telemed's persistence. One `Store` over SQLite (embedded, the default) or PostgreSQL,
//! chosen by the database URL; every SQL dialect difference lives in this crate. Queries
//! are checked at run time (`sqlx::query`) so one code path serves both databases; on
//! SQLite the hottest single-row reads skip sqlx's connection threads (`direct`).
//!
//! Reads are methods on `Store`; writes are functions taking a connection so that a
//! write and its audit entry commit in one transaction (`Store::begin_write`).

pub mod audit;
pub mod blobs;
pub mod checks;
pub mod clinic;
pub mod documents;
pub mod exports;
pub mod fhir;
pub mod instance;
pub mod invitations;
pub mod jobs;
pub mod knowledge;
pub mod medications;
pub mod messaging;
pub mod migrations;
pub mod mobile;
pub mod notifications;
pub mod oauth;
pub mod on_demand;
pub mod one_time;
pub mod outbox;
pub mod pharmacies;
pub mod prescriptions;
pub mod proxy_invitations;
pub mod record;
pub mod renewals;
pub mod scheduling;
pub mod sessions;
pub mod storage;
pub mod terminology;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod visits;

mod direct;
mod time;
mod values;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Transaction};
use telemed_domain::{Error, Result};

pub use sqlx::Any;
pub use time::{from_micros, to_micros};

/// The PostgreSQL advisory lock key of conditional writes (any number telemed owns:
/// "telemed" in ASCII, then 1).
const CONDITIONAL_WRITES_LOCK: i64 = 0x7465_6c65_6d65_6401;

/// A conditional write's turn, taken by [`Store::begin_conditional_write`]: its searches
/// run while this is held, then [`ConditionalWrite::begin`] gives the write transaction,
/// which keeps the turn until it commits or rolls back.
pub struct ConditionalWrite {
    store: Store,
    /// This process's turn, on either database.
    turn: tokio::sync::OwnedMutexGuard<()>,
    /// On PostgreSQL, the transaction holding the advisory lock.
    locked: Option<Tx>,
}

impl ConditionalWrite {
    /// The write transaction, once the conditions are resolved.
    pub async fn begin(self) -> Result<Tx> {
        let mut tx = match self.locked {
            Some(tx) => tx,
            None => self.store.begin_write().await?,
        };
        tx._turn = Some(self.turn);
        Ok(tx)
    }
}

/// A write transaction. On SQLite it also holds this process's write gate: writers
/// queue here in arrival order instead of in SQLite's busy handler, which sleeps in
/// growing steps (up to 100 ms) and made the slowest writes wait far longer than needed.
pub struct Tx {
    inner: Transaction<'static, Any>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// A conditional write's turn in this process (see [`ConditionalWrite`]).
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    credentials: CredentialsEpoch,
    credentials_changed: bool,
}

impl std::ops::Deref for Tx {
    type Target = Transaction<'static, Any>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Tx {
    /// Commits; if the transaction took power away from a credential, the store's
    /// [`CredentialsEpoch`] moves on once it has.
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.inner.commit().await?;
        if self.credentials_changed {
            self.credentials.advance();
        }
        Ok(())
    }

    /// The connection the transaction runs on.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.inner
    }

    /// Marks the transaction as taking power away from a credential: an API token or
    /// an app's grant revoked, an app disabled, an account disabled or its role
    /// changed. The store's functions that do so call this themselves.
    pub fn credentials_changed(&mut self) {
        self.credentials_changed = true;
    }

    pub async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(Error::invalid(
                "database_url",
                "database_url must start with sqlite:// or postgres://",
            ))
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// One writer at a time on SQLite (see `Tx`).
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// One conditional write at a time in this process (see [`ConditionalWrite`]).
    conditional_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    credentials: CredentialsEpoch,
    /// On SQLite, connections of its own for the hottest reads (see `direct`).
    direct: Option<std::sync::Arc<direct::DirectReads>>,
    /// On SQLite, a shared lock on the database file for as long as the store is open:
    /// `telemed restore` takes it exclusively before it replaces the file, so it never
    /// swaps a database from under a running telemed (see `lock_for_replacement`).
    _in_use: Option<std::sync::Arc<std::fs::File>>,
}

/// Counts the committed changes that took power away from a credential (see
/// [`Tx::credentials_changed`]), in this process and, told over the bus, on the other
/// nodes. Whatever remembers who a token stands for keeps it only while this has not
/// moved; whatever holds a connection open for a credential (a live WebSocket) is woken
/// by `changed` to check it again. Cheap to clone.
#[derive(Clone)]
pub struct CredentialsEpoch {
    /// Every change, made here or on another node.
    all: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Changes committed by this process only: what other nodes must hear of.
    here: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for CredentialsEpoch {
    fn default() -> Self {
        CredentialsEpoch {
            all: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            here: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }
}

impl CredentialsEpoch {
    pub fn current(&self) -> u64 {
        *self.all.borrow()
    }

    /// What a committed credential change does (`Tx::commit`); anything that changes
    /// credentials outside a `Tx` calls it after its change.
    pub fn advance(&self) {
        self.here.send_modify(|epoch| *epoch += 1);
        self.all.send_modify(|epoch| *epoch += 1);
    }

    /// What another node's credential change does here (heard over the bus): the same
    /// re-checks, and nothing to tell the other nodes.
    pub fn advance_from_elsewhere(&self) {
        self.all.send_modify(|epoch| *epoch += 1);
    }

    /// Wakes on each change after this call, wherever it was made.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.all.subscribe()
    }

    /// Wakes on each change this process commits.
    pub fn changes_here(&self) -> tokio::sync::watch::Receiver<u64> {
        self.here.subscribe()
    }
}

/// The file a `sqlite://` URL names, if it names one (not `:memory:`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Opens (or creates) the SQLite file at `path` with a shared lock, held while the
/// store is open; refused while a restore holds it exclusively.
fn lock_in_use(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::internal(format!("opening {}: {e}", path.display())))?;
    match file.try_lock_shared() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Unavailable {
            retry_after_secs: 60,
            message: format!(
                "{} is being replaced by `telemed restore`; start again when it is done",
                path.display()
            ),
        }),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::internal(format!("locking {}: {e}", path.display())))
        }
    }
}

/// Takes the SQLite file at `path` for replacement: an exclusive lock, which no open
/// store shares. `None` while any telemed process (a server, a command) has it open.
pub fn lock_for_replacement(path: &Path) -> Result<Option<std::fs::File>> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::internal(format!("opening {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::internal(format!("locking {}: {e}", path.display())))
        }
    }
}

/// A pooled server connection unused this long is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// How long a request waits for a pooled connection before it is answered 503: while
/// the database is unreachable, no connection comes, and a client is better told so in
/// seconds than kept waiting.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(4);

/// How often the SQLite write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies the SQLite write-ahead log into the database file every `CHECKPOINT_EVERY`,
/// on a connection of its own, without blocking readers or writers (PASSIVE). SQLite's
/// default is to checkpoint inside the commit that crosses 1,000 pages, which made that
/// one request wait for the copy (the slowest sends of the messaging benchmark).
/// Ends when the pool closes or the last `Store` over it is dropped (`alive`).
fn checkpoint_in_background(pool: AnyPool, alive: std::sync::Weak<tokio::sync::Mutex<()>>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            if pool.is_closed() || alive.strong_count() == 0 {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
            }
        }
    });
}

impl Store {
    /// Connects and configures the pool. For SQLite the database file is created when
    /// missing, but never its folder: a wrong folder is a configuration mistake, and
    /// creating an empty database there would hide it.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        let mut url = url.to_owned();
        let mut in_use = None;
        if dialect == Dialect::Sqlite {
            let path = sqlite_path(&url).ok_or_else(|| {
                Error::invalid(
                    "database_url",
                    "sqlite database_url must name a file, e.g. sqlite://./telemed-data/telemed.db",
                )
            })?;
            let folder = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !folder.is_dir() {
                return Err(Error::invalid(
                    "database_url",
                    format!(
                        "the folder {} for the SQLite database does not exist; create it or fix database_url",
                        folder.display()
                    ),
                ));
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
            in_use = Some(std::sync::Arc::new(lock_in_use(&path)?));
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::invalid("database_url", format!("database_url is not valid: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A ping before use tells whether a server went away while the connection
            // sat idle. An embedded database cannot go away (and the ping is one more
            // trip to its worker thread); a server connection is pinged only after a
            // second unused, not on every request of a busy pool, where a broken
            // connection fails its query and is dropped.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if dialect == Dialect::Postgres && meta.idle_for >= PING_WHEN_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // Every acknowledged commit survives a power cut, not only a
                        // crash: the log is synced at each commit (about 0.17 ms on the
                        // reference machine, docs/benchmarks.md; reads' audit entries
                        // share one commit per batch).
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        // Checkpoints run beside the writers (`checkpoint_in_background`),
                        // not inside whichever commit happens to cross the WAL threshold.
                        conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| Error::internal(format!("cannot connect to the database: {e}")))?;
        let write_gate = std::sync::Arc::new(tokio::sync::Mutex::new(()));
        let mut direct = None;
        if dialect == Dialect::Sqlite {
            checkpoint_in_background(pool.clone(), std::sync::Arc::downgrade(&write_gate));
            direct = Some(std::sync::Arc::new(
                direct::DirectReads::beside(&pool).await?,
            ));
        }
        Ok(Self {
            pool,
            dialect,
            write_gate,
            conditional_gate: Default::default(),
            credentials: CredentialsEpoch::default(),
            direct,
            _in_use: in_use,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The epoch of this store's credential changes.
    pub fn credentials_epoch(&self) -> CredentialsEpoch {
        self.credentials.clone()
    }

    /// Applies the embedded migrations of this dialect that have not run yet.
    /// Whether no migration was ever applied to this database: a new, empty one.
    pub async fn is_new(&self) -> Result<bool> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let tables: i64 = sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(tables == 0)
    }

    pub async fn migrate(&self) -> Result<()> {
        migrations::migrator(self.dialect)
            .run(&self.pool)
            .await
            .map_err(|e| Error::internal(format!("database migration failed: {e}")))?;
        instance::ensure_secrets(&self.pool).await?;
        users::backfill_names(&self.pool).await
    }

    /// Answers whether the database takes a query now (for /readyz).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`) so that a read-then-write transaction waits its turn instead
    /// of failing with SQLITE_BUSY when another writer got there first.
    pub async fn begin_write(&self) -> Result<Tx> {
        match self.dialect {
            Dialect::Sqlite => {
                let gate = self.write_gate.clone().lock_owned().await;
                let inner = self
                    .pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db_error)?;
                Ok(Tx {
                    inner,
                    _gate: Some(gate),
                    _turn: None,
                    credentials: self.credentials.clone(),
                    credentials_changed: false,
                })
            }
            Dialect::Postgres => Ok(Tx {
                inner: self.pool.begin().await.map_err(db_error)?,
                _gate: None,
                _turn: None,
                credentials: self.credentials.clone(),
                credentials_changed: false,
            }),
        }
    }

    /// Begins a write that depends on searches of the committed record (a create "if
    /// none exists", a reference given as a search): the searches run between this and
    /// [`ConditionalWrite::begin`], and no other conditional write runs its searches or
    /// commits in between, on any node, so two of them cannot both find nothing and
    /// both create. Other writes do not wait. Within a process the turn is a queue (so
    /// at most one pooled connection waits for it); on SQLite that is all (one process
    /// owns the file), and the write lock is taken only after the searches, so readers
    /// and the audit writer go on meanwhile. On PostgreSQL the turn is also a
    /// transaction advisory lock, taken in the transaction that then writes and
    /// released at its end.
    pub async fn begin_conditional_write(&self) -> Result<ConditionalWrite> {
        let turn = self.conditional_gate.clone().lock_owned().await;
        let locked = match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => {
                let mut tx = self.begin_write().await?;
                sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS turn")
                    .bind(CONDITIONAL_WRITES_LOCK)
                    .execute(tx.conn())
                    .await
                    .map_err(db_error)?;
                Some(tx)
            }
        };
        Ok(ConditionalWrite {
            store: self.clone(),
            turn,
            locked,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// SQLite online backup (`VACUUM INTO`) to a new file.
    pub async fn backup_sqlite(&self, target: &Path) -> Result<()> {
        if self.dialect != Dialect::Sqlite {
            return Err(Error::invalid(
                "backup",
                "online backup to a file is for SQLite; for PostgreSQL use pg_dump (see the README)",
            ));
        }
        if target.exists() {
            return Err(Error::invalid(
                "backup",
                format!("{} exists already; name a new file", target.display()),
            ));
        }
        // Written under a temporary name, made durable, then renamed: a backup stopped
        // part-way never leaves a file under the name asked for (it would open as an
        // empty or partial database). A partial file of an earlier stopped run is ours
        // to replace.
        let mut partial = target.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        if partial.exists() {
            std::fs::remove_file(&partial).map_err(|e| {
                Error::internal(format!("removing the stale {}: {e}", partial.display()))
            })?;
        }
        let written = partial
            .to_str()
            .ok_or_else(|| Error::invalid("backup", "the backup path must be valid UTF-8"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(written.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        let durable = std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&partial, target))
            .and_then(
                |()| match target.parent().filter(|p| !p.as_os_str().is_empty()) {
                    Some(folder) => std::fs::File::open(folder)?.sync_all(),
                    None => Ok(()),
                },
            );
        durable.map_err(|e| Error::internal(format!("finishing the backup: {e}")))
    }
}

/// Maps a database error to the domain error: unique violations become conflicts, a
/// missing row not-found, everything else internal (the detail goes to the logs only).
pub fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::RowNotFound => Error::NotFound,
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::Conflict("it exists already".into())
        }
        _ if is_outage(&e) => {
            note_outage(&e);
            Error::Unavailable {
                retry_after_secs: OUTAGE_RETRY_AFTER_SECS,
                message: "the database is unreachable; try again shortly".into(),
            }
        }
        _ => Error::internal(format!("database: {e}")),
    }
}

/// What an answer to a request made during a database outage tells the client to wait.
const OUTAGE_RETRY_AFTER_SECS: u64 = 5;

/// How often an outage is logged while it lasts: every request and every background
/// loop meets it, and a line each would bury the rest of the log.
const OUTAGE_LOG_EVERY: Duration = Duration::from_secs(30);

/// Logs an outage at most once per `OUTAGE_LOG_EVERY`, with how many failures the
/// quiet time held.
fn note_outage(e: &sqlx::Error) {
    static LOG: std::sync::Mutex<LogThrottle> =
        std::sync::Mutex::new(LogThrottle::new(OUTAGE_LOG_EVERY));
    let due = LOG
        .lock()
        .map(|mut log| log.due(std::time::Instant::now()))
        .unwrap_or(Some(0));
    if let Some(quiet) = due {
        tracing::warn!(error = %e, failures_not_logged = quiet, "the database is unreachable");
    }
}

/// Lets one line through per period and counts the ones held back.
struct LogThrottle {
    every: Duration,
    last: Option<std::time::Instant>,
    held: u64,
}

impl LogThrottle {
    const fn new(every: Duration) -> Self {
        LogThrottle {
            every,
            last: None,
            held: 0,
        }
    }

    /// `Some(held back since the last line)` when a line is due at `now`, else `None`.
    fn due(&mut self, now: std::time::Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.every => {
                self.held += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held))
            }
        }
    }
}

/// Whether `e` says the database cannot be reached (no connection to be had, the
/// connection lost, the server shutting down or starting) rather than that the query
/// was wrong: the same request may succeed once it is back.
fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01-57P03 (the server is shutting
        // down or not yet accepting connections).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

pub trait DbResult<T> {
    fn db(self) -> Result<T>;
}

impl<T> DbResult<T> for std::result::Result<T, sqlx::Error> {
    fn db(self) -> Result<T> {
        self.map_err(db_error)
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A connection, whether from the pool or inside a transaction.
pub type Conn = AnyConnection;

#[cfg(test)]
mod outage_log_tests {
    use super::*;

    #[test]
    fn an_outage_is_logged_once_a_period_with_what_was_held_back() {
        let mut log = LogThrottle::new(Duration::from_secs(30));
        let t0 = std::time::Instant::now();
        assert_eq!(log.due(t0), Some(0));
        for s in 1..30 {
            assert_eq!(log.due(t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(log.due(t0 + Duration::from_secs(30)), Some(29));
        assert_eq!(log.due(t0 + Duration::from_secs(31)), None);
        assert_eq!(log.due(t0 + Duration::from_secs(90)), Some(1));
    }
}
