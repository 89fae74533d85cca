//! Reads answered on the caller's own thread, for the hottest single-row SQLite reads.
//!
//! sqlx runs each SQLite connection on a worker thread of its own: a query is a message
//! to that thread, its rows come back as messages, and each message wakes a thread. On
//! two cores, for a read by primary key that takes a few microseconds in SQLite, those
//! hand-overs cost more than the read. `DirectReads` keeps a few connections of its own
//! to the same database file and runs such a read where it is asked, without a hop.
//!
//! Only reads: each connection is `query_only`. Each statement is its own read
//! transaction, so it sees every write committed before it began (the write-ahead log
//! lets it read beside a writer without waiting). Only for statements that answer
//! at once — one row found through an index — because the asking thread is an async
//! worker and is blocked while SQLite runs.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::AnyPool;
use telemed_domain::{Error, Result};

/// Connections kept open between reads; more are opened when more reads run at once,
/// and closed after.
const KEPT: usize = 8;

/// How long a read waits for a lock it cannot take at once. In WAL mode a reader only
/// waits in rare moments (another connection recovering the log); the asking thread
/// blocks meanwhile, so the wait is short and a longer one fails the request.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// How many prepared statements each connection keeps.
const STATEMENTS_KEPT: usize = 32;

pub(crate) struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl DirectReads {
    /// Direct reads of the database file `pool` is connected to, as SQLite names it
    /// (the URL's path may be relative or percent-encoded); one connection is opened
    /// now, so a file that cannot be opened this way fails the start, not a request.
    pub(crate) async fn beside(pool: &AnyPool) -> Result<Self> {
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(pool)
                .await
                .map_err(|e| Error::internal(format!("database: {e}")))?;
        let reads = Self {
            path: PathBuf::from(file),
            idle: Mutex::new(Vec::with_capacity(KEPT)),
        };
        let first = reads.open().map_err(direct_error)?;
        if let Ok(mut idle) = reads.idle.lock() {
            idle.push(first);
        }
        Ok(reads)
    }

    /// Runs `read` on a connection of its own, on this thread.
    pub(crate) fn run<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let conn = match self.take() {
            Some(conn) => conn,
            None => self.open().map_err(direct_error)?,
        };
        let answer = read(&conn).map_err(direct_error);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < KEPT {
                idle.push(conn);
            }
        }
        answer
    }

    fn take(&self) -> Option<Connection> {
        self.idle.lock().ok().and_then(|mut idle| idle.pop())
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
        Ok(conn)
    }
}

fn direct_error(e: rusqlite::Error) -> Error {
    Error::internal(format!("database: {e}"))
}
