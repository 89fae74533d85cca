//! The audit trail: an append-only, hash-chained log. Writes append their entry in the
//! write's own transaction (`append`); reads go through the `AuditWriter`, which
//! batches entries from many requests into one transaction (group commit). Either way
//! the chain head row is locked for the append, so the chain has one order on every
//! node, and a batch is atomic: after a crash the chain still verifies.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use telemed_domain::audit::{AuditRecord, Outcome};
use telemed_domain::{Error, Result, Role, UserId};
use tokio::sync::{mpsc, oneshot};

use crate::fhir::{bind_all, Where};
use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// Appends `records` to the chain inside the caller's transaction.
pub async fn append(conn: &mut Conn, records: &[AuditRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let n = records.len() as i64;
    // Taking the head row first serialises appenders (row lock on PostgreSQL, the write
    // lock on SQLite) for the rest of the transaction.
    let (last_seq, mut prev_hash): (i64, String) = sqlx::query_as(
        "UPDATE audit_chain_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash",
    )
    .bind(n)
    .fetch_one(&mut *conn)
    .await
    .db()?;
    let first_seq = last_seq - n + 1;
    let mut hashes = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let hash = r.chain_hash(first_seq + i as i64, &prev_hash);
        hashes.push((prev_hash, hash.clone()));
        prev_hash = hash;
    }
    // Many rows per statement, the chain head's new hash written by the last one: a
    // batch of sends costs a few round trips, not one per entry.
    let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
    let mut written = 0;
    for rows in chunk_sizes(records.len()) {
        let last = written + rows == records.len();
        let mut query = sqlx::query(insert_sql(rows, sqlite, last));
        for (i, r) in records[written..written + rows].iter().enumerate() {
            let (prev, hash) = &hashes[written + i];
            query = query
                .bind(first_seq + (written + i) as i64)
                .bind(to_micros(r.at))
                .bind(r.actor.map(|a| a.to_string()))
                .bind(r.actor_role.map(|x| x.as_str()))
                .bind(r.action.clone())
                .bind(r.resource_type.clone())
                .bind(r.resource_id.clone())
                .bind(r.patient.map(|p| p.to_string()))
                .bind(r.outcome.as_str())
                .bind(r.client_addr.clone())
                .bind(r.request_id.clone())
                .bind(r.detail.clone())
                .bind(prev.clone())
                .bind(hash.clone());
        }
        if last {
            query = query.bind(prev_hash.clone());
        }
        query.execute(&mut *conn).await.db()?;
        written += rows;
    }
    Ok(())
}

/// The rows each INSERT of a batch of `n` takes: as many of the largest size as fit, then
/// smaller ones, so that a few statement shapes (prepared once, then cached) serve every
/// batch.
fn chunk_sizes(n: usize) -> Vec<usize> {
    let mut left = n;
    let mut chunks = vec![];
    for size in CHUNK_SIZES {
        while left >= size {
            chunks.push(size);
            left -= size;
        }
    }
    chunks
}

/// The rows an audit INSERT takes, largest first.
const CHUNK_SIZES: [usize; 4] = [64, 16, 4, 1];

/// The INSERT for `rows` (one of [`CHUNK_SIZES`]) on this dialect, built once per process.
fn insert_sql(rows: usize, sqlite: bool, set_head: bool) -> &'static str {
    static SHAPES: OnceLock<HashMap<(usize, bool, bool), String>> = OnceLock::new();
    let shapes = SHAPES.get_or_init(|| {
        let mut shapes = HashMap::new();
        for rows in CHUNK_SIZES {
            for sqlite in [false, true] {
                for set_head in [false, true] {
                    let sql = build_insert_sql(rows, sqlite, set_head);
                    shapes.insert((rows, sqlite, set_head), sql);
                }
            }
        }
        shapes
    });
    shapes
        .get(&(rows, sqlite, set_head))
        .map(String::as_str)
        .unwrap_or_else(|| unreachable!("audit INSERTs take CHUNK_SIZES rows"))
}

/// An INSERT of `rows` audit rows; with `set_head`, also the chain head's new hash (the
/// parameter after the rows). SQLite takes anonymous `?` parameters, which it binds in
/// constant time (a `$N` parameter is looked up by name, costing time in proportion to
/// the statement's parameters), and runs the head update as a second statement in the
/// same call; PostgreSQL numbers its parameters and updates the head from a CTE.
fn build_insert_sql(rows: usize, sqlite: bool, set_head: bool) -> String {
    let mut n = 0;
    let mut next = || {
        n += 1;
        if sqlite {
            "?".to_owned()
        } else {
            format!("${n}")
        }
    };
    let columns = COLUMNS.split(',').count();
    let values: Vec<String> = (0..rows)
        .map(|_| {
            let cols: Vec<String> = (0..columns).map(|_| next()).collect();
            format!("({})", cols.join(", "))
        })
        .collect();
    let insert = format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES {}",
        values.join(", ")
    );
    if !set_head {
        return insert;
    }
    let head = format!("UPDATE audit_chain_head SET hash = {} WHERE id = 1", next());
    if sqlite {
        format!("{insert}; {head}")
    } else {
        format!("WITH appended AS ({insert}) {head}")
    }
}

impl Store {
    /// Appends records in a transaction of their own.
    pub async fn append_audit(&self, records: &[AuditRecord]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, records).await?;
        tx.commit().await.db()
    }
}

enum WriterMessage {
    /// A record, and who waits for its commit, if anyone.
    Record(AuditRecord, Option<oneshot::Sender<bool>>),
    Flush(oneshot::Sender<()>),
}

/// The group-committing writer for audit entries of reads. Cheap to clone.
///
/// A read's answer waits for its entry's commit (`record`), so no patient data leaves
/// unaudited, even if the process dies the next instant. Entries that arrive while a
/// commit runs queue and go together in the next one: under load one commit carries
/// many reads, and a lone read waits for one commit only.
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<WriterMessage>,
}

/// Most entries one group commit takes. While a commit runs, entries queue; a cap below
/// what queues in one commit (a busy name search audits 50 patients a request) makes
/// the writer commit back to back without gathering, and every commit costs the
/// readers their page caches: 2,048 against 512 gave 20–35 % more name searches and a
/// third lower p99 (docs/benchmarks.md).
const MAX_BATCH: usize = 2048;

impl AuditWriter {
    /// Starts the writer task. It ends, after writing what it holds, when every clone of
    /// the writer is dropped.
    pub fn start(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        let task = tokio::spawn(run_writer(store, rx));
        (Self { tx }, task)
    }

    /// Appends a record and returns once it is committed, in a commit shared with the
    /// records queued beside it. An error means the entry is not in the trail: the read
    /// it audits must not be answered.
    pub async fn record(&self, record: AuditRecord) -> Result<()> {
        self.record_all(vec![record]).await
    }

    /// Appends several records (a search's matches, one entry each) and returns once
    /// all are committed: they are queued together and share a commit, where recording
    /// them one after another would wait for one commit each.
    pub async fn record_all(&self, records: Vec<AuditRecord>) -> Result<()> {
        let stopped = || Error::internal("the audit writer has stopped");
        let mut commits = Vec::with_capacity(records.len());
        for record in records {
            let (done, committed) = oneshot::channel();
            self.tx
                .send(WriterMessage::Record(record, Some(done)))
                .await
                .map_err(|_| stopped())?;
            commits.push(committed);
        }
        for committed in commits {
            match committed.await {
                Ok(true) => {}
                Ok(false) => return Err(Error::internal("the audit entry could not be committed")),
                Err(_) => return Err(stopped()),
            }
        }
        Ok(())
    }

    /// Queues a record without waiting for its commit: for refusals, whose answer
    /// discloses nothing, and which may be made while the refused write's own
    /// transaction is still open (waiting there for the writer's commit would wait on
    /// that transaction's lock). Waits only when the queue is full.
    pub async fn queue(&self, record: AuditRecord) -> Result<()> {
        self.tx
            .send(WriterMessage::Record(record, None))
            .await
            .map_err(|_| Error::internal("the audit writer has stopped"))
    }

    /// Returns once everything queued before this call is committed.
    pub async fn flush(&self) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(WriterMessage::Flush(done))
            .await
            .map_err(|_| Error::internal("the audit writer has stopped"))?;
        wait.await
            .map_err(|_| Error::internal("the audit writer has stopped"))
    }
}

async fn run_writer(store: Store, mut rx: mpsc::Receiver<WriterMessage>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut readers = Vec::with_capacity(MAX_BATCH);
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        // Everything queued now goes in this commit; nothing waits to gather more.
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                WriterMessage::Record(r, done) => {
                    batch.push(r);
                    readers.extend(done);
                }
                WriterMessage::Flush(w) => flushes.push(w),
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        let committed = write_batch(&store, &mut batch).await;
        for done in readers.drain(..) {
            let _ = done.send(committed);
        }
        for w in flushes.drain(..) {
            let _ = w.send(());
        }
    }
}

/// Writes a batch, retrying a failed commit a few times. What still fails is logged
/// (without personal data) and counted, and its readers are told (`false`).
async fn write_batch(store: &Store, batch: &mut Vec<AuditRecord>) -> bool {
    if batch.is_empty() {
        return true;
    }
    for attempt in 1..=5u32 {
        match store.append_audit(batch).await {
            Ok(()) => {
                batch.clear();
                return true;
            }
            Err(e) => {
                // An outage is logged by `db_error`, once in a while.
                if !matches!(e, Error::Unavailable { .. }) {
                    tracing::error!(attempt, entries = batch.len(), error = %e_detail(&e), "audit batch commit failed");
                }
                tokio::time::sleep(StdDuration::from_millis(50 * u64::from(attempt))).await;
            }
        }
    }
    tracing::error!(
        entries = batch.len(),
        "audit entries not committed after repeated failures; their reads were refused"
    );
    batch.clear();
    false
}

fn e_detail(e: &Error) -> String {
    match e {
        Error::Internal(detail) => detail.clone(),
        other => other.to_string(),
    }
}

pub use telemed_domain::views::AuditEntry;

#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    at: i64,
    actor_id: Option<String>,
    actor_role: Option<String>,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    patient_id: Option<String>,
    outcome: String,
    client_addr: Option<String>,
    request_id: Option<String>,
    detail: Option<String>,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    /// Converts leniently: a tampered row must still load so `verify` can point at it.
    fn into_entry(self) -> (AuditEntry, bool) {
        let actor = self.actor_id.as_deref().map(str::parse::<UserId>);
        let role = self.actor_role.as_deref().map(str::parse::<Role>);
        let patient = self.patient_id.as_deref().map(str::parse::<UserId>);
        let outcome = Outcome::parse(&self.outcome);
        let well_formed = !matches!(actor, Some(Err(_)))
            && !matches!(role, Some(Err(_)))
            && !matches!(patient, Some(Err(_)))
            && outcome.is_some();
        let entry = AuditEntry {
            seq: self.seq,
            at: from_micros(self.at),
            actor: actor.and_then(|a| a.ok()),
            actor_role: role.and_then(|r| r.ok()),
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            patient: patient.and_then(|p| p.ok()),
            outcome: outcome.unwrap_or(Outcome::Failure),
            client_addr: self.client_addr,
            request_id: self.request_id,
            detail: self.detail,
            prev_hash: self.prev_hash,
            hash: self.hash,
        };
        (entry, well_formed)
    }
}

const COLUMNS: &str = "seq, at, actor_id, actor_role, action, resource_type, resource_id, patient_id, outcome, client_addr, \
                       request_id, detail, prev_hash, hash";

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub patient: Option<UserId>,
    /// Prefix of the action, e.g. `auth.` for every sign-in event.
    pub action_prefix: Option<String>,
    pub outcome: Option<Outcome>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only entries with a smaller sequence number (paging backwards).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Where the chain breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// Entry `seq` does not hash to what is stored, or does not link to its predecessor.
    Altered { seq: i64 },
    /// Entries between `after` and `next` are missing.
    Missing { after: i64, next: i64 },
    /// The head says `head_seq` but the log ends at `last_seq`.
    Truncated { last_seq: i64, head_seq: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: i64,
    pub first_break: Option<ChainBreak>,
}

impl Store {
    pub async fn search_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        // Only the filters given appear in the query, so that an index can serve them (a
        // patient's access log reads that patient's entries, not the whole log).
        let mut w = Where::default();
        if let Some(a) = f.actor {
            let actor = w.text(a.to_string());
            w.and(format!("actor_id = {actor}"));
        }
        if let Some(p) = f.patient {
            let patient = w.text(p.to_string());
            w.and(format!("patient_id = {patient}"));
        }
        if let Some(prefix) = &f.action_prefix {
            let pattern = w.text(format!("{}%", crate::like_escape(prefix)));
            w.and(format!("action LIKE {pattern} ESCAPE '\\'"));
        }
        if let Some(o) = f.outcome {
            let outcome = w.text(o.as_str());
            w.and(format!("outcome = {outcome}"));
        }
        if let Some(t) = f.since {
            let since = w.int(to_micros(t));
            w.and(format!("at >= {since}"));
        }
        if let Some(t) = f.until {
            let until = w.int(to_micros(t));
            w.and(format!("at < {until}"));
        }
        if let Some(seq) = f.before_seq {
            let before = w.int(seq);
            w.and(format!("seq < {before}"));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {} ORDER BY seq DESC LIMIT {}",
            w.sql(),
            f.limit.clamp(1, 1000)
        );
        let query = bind_all(sqlx::query_as::<_, AuditRow>(&sql), w.binds());
        let rows = query.fetch_all(self.pool()).await.db()?;
        Ok(rows.into_iter().map(|r| r.into_entry().0).collect())
    }

    /// Walks the whole chain in order and reports the first broken link.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport> {
        const PAGE: i64 = 5000;
        let mut prev_seq = 0i64;
        let mut prev_hash = telemed_domain::audit::GENESIS_HASH.to_owned();
        let mut entries = 0i64;
        loop {
            let rows: Vec<AuditRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind(prev_seq)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await
            .db()?;
            let page_len = rows.len() as i64;
            for row in rows {
                let (entry, well_formed) = row.into_entry();
                if entry.seq != prev_seq + 1 {
                    return Ok(ChainReport {
                        entries,
                        first_break: Some(ChainBreak::Missing {
                            after: prev_seq,
                            next: entry.seq,
                        }),
                    });
                }
                if !well_formed
                    || entry.prev_hash != prev_hash
                    || entry.record().chain_hash(entry.seq, &prev_hash) != entry.hash
                {
                    return Ok(ChainReport {
                        entries,
                        first_break: Some(ChainBreak::Altered { seq: entry.seq }),
                    });
                }
                entries += 1;
                prev_seq = entry.seq;
                prev_hash = entry.hash;
            }
            if page_len < PAGE {
                break;
            }
        }
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
                .fetch_one(self.pool())
                .await
                .db()?;
        if head_seq != prev_seq {
            return Ok(ChainReport {
                entries,
                first_break: Some(ChainBreak::Truncated {
                    last_seq: prev_seq,
                    head_seq,
                }),
            });
        }
        if head_hash != prev_hash {
            return Ok(ChainReport {
                entries,
                first_break: Some(ChainBreak::Altered { seq: prev_seq }),
            });
        }
        Ok(ChainReport {
            entries,
            first_break: None,
        })
    }
}
