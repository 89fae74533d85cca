//! Code systems' concepts (ICD-10-CM, LOINC, CVX), their names in other languages, and
//! the imports that bring releases in. Reference data, not anyone's record. Type-ahead
//! searches an index each node builds in memory from these rows
//! (`telemed_domain::terminology::index`).

use chrono::{DateTime, Utc};
use telemed_domain::terminology::{Category, CodeSystem, Concept};
use telemed_domain::{Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// A concept as held, and whether it may be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub display: String,
    pub selectable: bool,
    pub active: bool,
}

/// How many concepts of each system are held, and where the newest came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemSummary {
    pub system: CodeSystem,
    pub active: i64,
    pub inactive: i64,
    /// Whether a full release was imported (else: telemed's starter set only).
    pub imported: bool,
}

/// An import of a release, finished or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub id: String,
    pub system: CodeSystem,
    pub file_name: String,
    pub status: String,
    pub bytes_total: i64,
    pub bytes_read: i64,
    pub concepts: i64,
    pub added: i64,
    pub retired: i64,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

fn system_of(uri: &str) -> Result<CodeSystem> {
    CodeSystem::from_uri(uri).ok_or_else(|| Error::internal("a terminology row of no known system"))
}

/// Rows bound per statement (SQLite allows 32,766 parameters).
const BATCH: usize = 200;

/// Adds concepts or brings those held (same system and code) up to date, with their
/// names; `source` says where they came from. Returns how many were new.
pub async fn upsert(
    conn: &mut Conn,
    concepts: &[Concept],
    source: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut added = 0;
    for chunk in concepts.chunks(BATCH) {
        added += upsert_chunk(conn, chunk, source, now).await?;
    }
    Ok(added)
}

/// `$first, $first+1, …` for `n` values.
fn list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2), ($3, $4)` for rows of `per_row` values from `$first`.
fn placeholders(rows: usize, per_row: usize, first: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", list(first + r * per_row, per_row)))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn upsert_chunk(
    conn: &mut Conn,
    chunk: &[Concept],
    source: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    use std::collections::HashSet;
    // A chunk is of one system: telemed seeds and imports a system at a time.
    let Some(system) = chunk.first().map(|c| c.system) else {
        return Ok(0);
    };
    if chunk.iter().any(|c| c.system != system) {
        return Err(Error::internal("concepts of several systems in one upsert"));
    }
    let system = system.uri();
    // New concepts go in first; the rows that come back are the ones that were new (the
    // conflict is found through the primary key, whatever the planner's statistics say
    // in the middle of a bulk load). The others are then brought up to date.
    let new_codes: HashSet<String> = insert_concepts(
        conn,
        system,
        &chunk.iter().collect::<Vec<_>>(),
        source,
        now,
        false,
    )
    .await?
    .into_iter()
    .collect();
    let held: HashSet<String> = chunk
        .iter()
        .filter(|c| !new_codes.contains(&c.code))
        .map(|c| c.code.clone())
        .collect();
    let updated: Vec<&Concept> = chunk.iter().filter(|c| held.contains(&c.code)).collect();
    if !updated.is_empty() {
        insert_concepts(conn, system, &updated, source, now, true).await?;
    }
    let added = new_codes.len() as u64;

    // A release without names in other languages (CMS's, LOINC's table) keeps those
    // telemed or an earlier import gave; names are then written anew.
    let mut kept_names: std::collections::HashMap<String, Vec<(String, String)>> =
        std::collections::HashMap::new();
    let replaced: Vec<&Concept> = chunk.iter().filter(|c| held.contains(&c.code)).collect();
    if !replaced.is_empty() {
        let sql = format!(
            "SELECT code, lang, name FROM terminology_names WHERE system = $1 AND code IN ({})",
            list(2, replaced.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql).bind(system);
        for c in &replaced {
            q = q.bind(&c.code);
        }
        for (code, lang, name) in q.fetch_all(&mut *conn).await.db()? {
            kept_names.entry(code).or_default().push((lang, name));
        }
        for table in ["terminology_names"] {
            let sql = format!(
                "DELETE FROM {table} WHERE system = $1 AND code IN ({})",
                list(2, replaced.len())
            );
            let mut q = sqlx::query(&sql).bind(system);
            for c in &replaced {
                q = q.bind(&c.code);
            }
            q.execute(&mut *conn).await.db()?;
        }
    }
    let chunk: Vec<Concept> = chunk
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if c.names.is_empty() {
                c.names = kept_names.remove(&c.code).unwrap_or_default();
            }
            c
        })
        .collect();
    let names: Vec<(&str, &str, &str)> = chunk
        .iter()
        .flat_map(|c| {
            c.names
                .iter()
                .map(move |(l, n)| (c.code.as_str(), l.as_str(), n.as_str()))
        })
        .collect();
    for part in names.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO terminology_names (system, code, lang, name) VALUES {}",
            placeholders(part.len(), 4, 1)
        );
        let mut q = sqlx::query(&sql);
        for (code, lang, name) in part {
            q = q.bind(system).bind(*code).bind(*lang).bind(*name);
        }
        q.execute(&mut *conn).await.db()?;
    }
    Ok(added)
}

/// Inserts concept rows: those not held yet (`update` false: returns their codes), or
/// over those held (`update` true).
async fn insert_concepts(
    conn: &mut Conn,
    system: &str,
    concepts: &[&Concept],
    source: &str,
    now: DateTime<Utc>,
    update: bool,
) -> Result<Vec<String>> {
    let on_conflict = if update {
        "DO UPDATE SET display = excluded.display, category = excluded.category, \
         selectable = excluded.selectable, active = excluded.active, \
         source = excluded.source, updated_at = excluded.updated_at"
    } else {
        "DO NOTHING"
    };
    let sql = format!(
        "INSERT INTO terminology_concepts \
         (system, code, display, category, selectable, active, source, updated_at) \
         VALUES {} ON CONFLICT (system, code) {on_conflict} RETURNING code",
        placeholders(concepts.len(), 8, 1)
    );
    let mut q = sqlx::query_as::<_, (String,)>(&sql);
    for c in concepts {
        q = q
            .bind(system)
            .bind(&c.code)
            .bind(&c.display)
            .bind(c.category.map(Category::as_str))
            .bind(i64::from(c.selectable))
            .bind(i64::from(c.active))
            .bind(source)
            .bind(to_micros(now));
    }
    Ok(q.fetch_all(conn)
        .await
        .db()?
        .into_iter()
        .map(|(code,)| code)
        .collect())
}

/// Marks inactive the concepts of `system` the import `source` did not bring (a release
/// that no longer lists a code retires it; entries that use it keep it). Returns how
/// many were active before.
pub async fn retire_unlisted(
    conn: &mut Conn,
    system: CodeSystem,
    source: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE terminology_concepts SET active = 0, updated_at = $1 \
         WHERE system = $2 AND source <> $3 AND active = 1",
    )
    .bind(to_micros(now))
    .bind(system.uri())
    .bind(source)
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected())
}

/// Brings the planner's statistics of the terminology tables up to date (after an
/// import changed them wholesale), so that searches keep their plans.
pub async fn analyze(conn: &mut Conn) -> Result<()> {
    for table in ["terminology_concepts", "terminology_names"] {
        sqlx::query(&format!("ANALYZE {table}"))
            .execute(&mut *conn)
            .await
            .db()?;
    }
    Ok(())
}

/// Whether any concept of `system` is held.
pub async fn holds_any(conn: &mut Conn, system: CodeSystem) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM terminology_concepts WHERE system = $1 LIMIT 1")
            .bind(system.uri())
            .fetch_optional(conn)
            .await
            .db()?;
    Ok(row.is_some())
}

type ImportRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    i64,
    i64,
    Option<i64>,
);

const IMPORT_COLUMNS: &str = "id, system, file_name, status, bytes_total, bytes_read, concepts, \
     added, retired, error, started_at, updated_at, finished_at";

fn import(row: ImportRow) -> Result<Import> {
    let (id, system, file_name, status, total, read, concepts, added, retired, error, s, u, f) =
        row;
    Ok(Import {
        id,
        system: system_of(&system)?,
        file_name,
        status,
        bytes_total: total,
        bytes_read: read,
        concepts,
        added,
        retired,
        error,
        started_at: from_micros(s),
        updated_at: from_micros(u),
        finished_at: f.map(from_micros),
    })
}

/// Records an import as running. Another import of the same system still running is a
/// conflict; one that has not moved for `stale_after` is ended as interrupted first.
pub async fn start_import(
    conn: &mut Conn,
    system: CodeSystem,
    file_name: &str,
    bytes_total: i64,
    by: Option<UserId>,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Result<String> {
    sqlx::query(
        "UPDATE terminology_imports SET status = 'failed', error = 'interrupted', \
         finished_at = $1 WHERE system = $2 AND status = 'running' AND updated_at < $3",
    )
    .bind(to_micros(now))
    .bind(system.uri())
    .bind(to_micros(now - stale_after))
    .execute(&mut *conn)
    .await
    .db()?;
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO terminology_imports (id, system, file_name, status, bytes_total, bytes_read, \
         concepts, added, retired, started_by, started_at, updated_at) \
         VALUES ($1, $2, $3, 'running', $4, 0, 0, 0, 0, $5, $6, $6)",
    )
    .bind(&id)
    .bind(system.uri())
    .bind(file_name)
    .bind(bytes_total)
    .bind(by.map(|u| u.to_string()))
    .bind(to_micros(now))
    .execute(conn)
    .await
    .map_err(|e| match crate::db_error(e) {
        Error::Conflict(_) => Error::Conflict(format!(
            "an import of {} is under way: wait for it to end",
            system.label()
        )),
        other => other,
    })?;
    Ok(id)
}

/// How far a running import has come.
pub async fn import_progress(
    conn: &mut Conn,
    id: &str,
    bytes_read: i64,
    concepts: i64,
    added: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE terminology_imports SET bytes_read = $1, concepts = $2, added = $3, updated_at = $4 \
         WHERE id = $5 AND status = 'running'",
    )
    .bind(bytes_read)
    .bind(concepts)
    .bind(added)
    .bind(to_micros(now))
    .bind(id)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Ends an import: done (with what it retired) or failed (with why).
pub async fn finish_import(
    conn: &mut Conn,
    id: &str,
    outcome: std::result::Result<u64, &str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let (status, retired, error) = match outcome {
        Ok(retired) => ("done", retired as i64, None),
        Err(why) => ("failed", 0, Some(why)),
    };
    sqlx::query(
        "UPDATE terminology_imports SET status = $1, retired = $2, error = $3, \
         updated_at = $4, finished_at = $4 WHERE id = $5",
    )
    .bind(status)
    .bind(retired)
    .bind(error)
    .bind(to_micros(now))
    .bind(id)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

impl Store {
    /// Every concept of `system` with its names, for the type-ahead index.
    pub async fn concepts_of(&self, system: CodeSystem) -> Result<Vec<Concept>> {
        let rows: Vec<(String, String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT code, display, category, selectable, active FROM terminology_concepts \
             WHERE system = $1",
        )
        .bind(system.uri())
        .fetch_all(self.pool())
        .await
        .db()?;
        let names: Vec<(String, String, String)> =
            sqlx::query_as("SELECT code, lang, name FROM terminology_names WHERE system = $1")
                .bind(system.uri())
                .fetch_all(self.pool())
                .await
                .db()?;
        let mut by_code: std::collections::HashMap<String, Vec<(String, String)>> =
            std::collections::HashMap::new();
        for (code, lang, name) in names {
            by_code.entry(code).or_default().push((lang, name));
        }
        Ok(rows
            .into_iter()
            .map(|(code, display, category, selectable, active)| Concept {
                system,
                names: by_code.remove(&code).unwrap_or_default(),
                code,
                display,
                category: category.as_deref().and_then(Category::parse),
                selectable: selectable != 0,
                active: active != 0,
            })
            .collect())
    }

    /// Changes whenever an import of `system` ends (done or failed), so that a node
    /// knows its index is out of date: how many imports ended, and the last end.
    pub async fn terminology_revision(&self, system: CodeSystem) -> Result<(i64, i64)> {
        let row: (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(finished_at) FROM terminology_imports \
             WHERE system = $1 AND finished_at IS NOT NULL",
        )
        .bind(system.uri())
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok((row.0, row.1.unwrap_or(0)))
    }

    /// The concept with this code, active or not, when held.
    pub async fn concept(&self, system: CodeSystem, code: &str) -> Result<Option<Held>> {
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT display, selectable, active FROM terminology_concepts \
             WHERE system = $1 AND code = $2",
        )
        .bind(system.uri())
        .bind(code)
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row.map(|(display, selectable, active)| Held {
            display,
            selectable: selectable != 0,
            active: active != 0,
        }))
    }

    /// Whether a full release of `system` was imported (not only the starter set).
    pub async fn release_imported(&self, system: CodeSystem) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM terminology_imports WHERE system = $1 AND status = 'done' LIMIT 1",
        )
        .bind(system.uri())
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row.is_some())
    }

    /// Each system's counts, and whether a release of it was imported.
    pub async fn terminology_summary(&self) -> Result<Vec<SystemSummary>> {
        let counts: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT system, SUM(active), SUM(1 - active) FROM terminology_concepts GROUP BY system",
        )
        .fetch_all(self.pool())
        .await
        .db()?;
        let imported: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT system FROM terminology_imports WHERE status = 'done'")
                .fetch_all(self.pool())
                .await
                .db()?;
        Ok(CodeSystem::ALL
            .into_iter()
            .map(|system| {
                let (active, inactive) = counts
                    .iter()
                    .find(|(s, ..)| s == system.uri())
                    .map_or((0, 0), |(_, a, i)| (*a, *i));
                SystemSummary {
                    system,
                    active,
                    inactive,
                    imported: imported.iter().any(|(s,)| s == system.uri()),
                }
            })
            .collect())
    }

    /// The newest imports, running ones included.
    pub async fn terminology_imports(&self, limit: i64) -> Result<Vec<Import>> {
        let rows: Vec<ImportRow> = sqlx::query_as(&format!(
            "SELECT {IMPORT_COLUMNS} FROM terminology_imports ORDER BY started_at DESC LIMIT {}",
            limit.clamp(1, 100)
        ))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(import).collect()
    }

    pub async fn terminology_import(&self, id: &str) -> Result<Option<Import>> {
        let row: Option<ImportRow> = sqlx::query_as(&format!(
            "SELECT {IMPORT_COLUMNS} FROM terminology_imports WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(import).transpose()
    }
}
