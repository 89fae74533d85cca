//! Terminology as a service: telemed's starter set at a clinic's first start, type-ahead
//! search for the chart's coded fields (over an index each node holds in memory, built
//! again when an import ends), the check that a typed code exists, and imports of full
//! releases (the CMS ICD-10-CM order file, LOINC's `Loinc.csv`) read line by line,
//! upserted in batches, with their progress kept where every node can read it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use telemed_domain::access::Principal;
use telemed_domain::audit::Outcome;
use telemed_domain::record::Section;
use telemed_domain::terminology::index::Index;
use telemed_domain::terminology::{
    for_section, icd10cm_order_line, is_icd10cm_shaped, starter, Category, CodeSystem, Concept,
    LoincReader, Typed,
};
use telemed_domain::{Error, Permission, Result};
use telemed_store::terminology::{self as store, Import, SystemSummary};
use telemed_store::{DbResult, Store};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::AppState;

/// Concepts upserted per transaction during an import (and progress saved after each).
const IMPORT_BATCH: usize = 2_000;

/// An import that has not moved for this long is taken as interrupted (its node
/// stopped), so that another may start.
const STALE_AFTER_MINUTES: i64 = 10;

/// Puts telemed's starter set in place for each system that holds nothing yet.
pub async fn seed_starter(store: &Store, now: DateTime<Utc>) -> Result<()> {
    let concepts = starter()?;
    let mut tx = store.begin_write().await?;
    for system in CodeSystem::ALL {
        if !store::holds_any(&mut tx, system).await? {
            let mine: Vec<Concept> = concepts
                .iter()
                .filter(|c| c.system == system)
                .cloned()
                .collect();
            store::upsert(&mut tx, &mine, "starter", now).await?;
        }
    }
    tx.commit().await.db()
}

/// A concept a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub system: CodeSystem,
    pub code: String,
    /// The code system's own name for it.
    pub display: String,
    /// Its name in the language asked for, when it has one.
    pub name: Option<String>,
}

/// This node's type-ahead index of each code system, built from the database on first
/// use and built again once an import of the system has ended (on any node: the
/// imports table says so).
#[derive(Default)]
pub struct Indexes {
    held: tokio::sync::RwLock<HashMap<CodeSystem, Arc<HeldIndex>>>,
    building: tokio::sync::Mutex<()>,
}

struct HeldIndex {
    revision: (i64, i64),
    index: Index,
}

async fn index_of(state: &AppState, system: CodeSystem) -> Result<Arc<HeldIndex>> {
    let revision = state.store.terminology_revision(system).await?;
    let current = || async {
        state
            .terminology
            .held
            .read()
            .await
            .get(&system)
            .filter(|h| h.revision == revision)
            .cloned()
    };
    if let Some(held) = current().await {
        return Ok(held);
    }
    // One node builds an index once, however many searches wait for it.
    let _building = state.terminology.building.lock().await;
    if let Some(held) = current().await {
        return Ok(held);
    }
    let concepts = state.store.concepts_of(system).await?;
    let index = tokio::task::spawn_blocking(move || Index::new(concepts))
        .await
        .map_err(Error::internal)?;
    let held = Arc::new(HeldIndex { revision, index });
    state
        .terminology
        .held
        .write()
        .await
        .insert(system, held.clone());
    Ok(held)
}

async fn search_index(
    state: &AppState,
    system: CodeSystem,
    category: Option<Category>,
    q: &str,
    lang: &str,
    limit: i64,
) -> Result<Vec<Found>> {
    let typed = Typed::parse(q)?;
    if typed.is_empty() {
        return Ok(Vec::new());
    }
    let held = index_of(state, system).await?;
    let limit = usize::try_from(limit.clamp(1, 50)).unwrap_or(1);
    Ok(held
        .index
        .search(&typed, category, lang, limit)
        .into_iter()
        .map(|h| Found {
            system,
            code: h.code.to_owned(),
            display: h.display.to_owned(),
            name: h.name.map(str::to_owned),
        })
        .collect())
}

/// The concepts a chart section's code field offers for what was typed (at most
/// `limit`), with names in `lang` where they exist. Anyone signed in may search: the
/// code systems are reference data, not anyone's record.
pub async fn search_for_section(
    state: &AppState,
    section: Section,
    q: &str,
    lang: &str,
    limit: i64,
) -> Result<Vec<Found>> {
    let (system, category) = for_section(section).ok_or_else(|| {
        Error::invalid(
            "section",
            "that part of the chart is not coded from a code system here",
        )
    })?;
    search_index(state, system, category, q, lang, limit).await
}

/// Searches one code system, all categories.
pub async fn search(
    state: &AppState,
    system: CodeSystem,
    q: &str,
    lang: &str,
    limit: i64,
) -> Result<Vec<Found>> {
    search_index(state, system, None, q, lang, limit).await
}

/// Refuses a code typed into the chart that the code system, as imported here, does
/// not have, retired, or does not let one record (a category heading). Checked only once a full
/// release of the system is in: the starter set alone would refuse good codes.
pub async fn check_typed_code(state: &AppState, system_uri: &str, code: &str) -> Result<()> {
    let Some(system) = CodeSystem::from_uri(system_uri) else {
        return Ok(());
    };
    if system == CodeSystem::Icd10Cm && !is_icd10cm_shaped(code) {
        return Err(Error::invalid(
            "code",
            format!("{code} is not written as an ICD-10-CM code is (a letter, two characters, a dot and up to four more: L23.9)"),
        ));
    }
    let held = state.store.concept(system, code).await?;
    match held {
        Some(c) if !c.active => Err(Error::invalid(
            "code",
            format!(
                "{code} ({}) is no longer in {}: the release imported here retired it",
                c.display,
                system.label()
            ),
        )),
        Some(c) if c.selectable => Ok(()),
        Some(c) => Err(Error::invalid(
            "code",
            format!(
                "{code} ({}) is a heading of {}: choose one of the codes under it",
                c.display,
                system.label()
            ),
        )),
        None if state.store.release_imported(system).await? => Err(Error::invalid(
            "code",
            format!(
                "{code} is not a code of {} (the release imported here)",
                system.label()
            ),
        )),
        None => Ok(()),
    }
}

/// What each code system holds (admins).
pub async fn summary(state: &AppState, principal: &Principal) -> Result<Vec<SystemSummary>> {
    principal.require(Permission::ClinicWrite)?;
    state.store.terminology_summary().await
}

/// The newest imports, running ones first among them (admins).
pub async fn imports(state: &AppState, principal: &Principal) -> Result<Vec<Import>> {
    principal.require(Permission::ClinicWrite)?;
    state.store.terminology_imports(10).await
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub id: String,
    pub concepts: u64,
    pub added: u64,
    pub retired: u64,
}

/// Starts an import (recorded as running, so one runs per system at a time), for
/// `run_import` to carry out. Admins only; `None` is the operator at the server's shell.
pub async fn begin_import(
    state: &AppState,
    principal: Option<&Principal>,
    system: CodeSystem,
    file_name: &str,
    bytes_total: u64,
) -> Result<String> {
    if let Some(p) = principal {
        p.require(Permission::ClinicWrite)?;
    }
    if system == CodeSystem::Cvx {
        return Err(Error::invalid(
            "system",
            "CVX is kept from telemed's starter set; releases of ICD-10-CM and LOINC are imported",
        ));
    }
    let mut tx = state.store.begin_write().await?;
    let id = store::start_import(
        &mut tx,
        system,
        file_name,
        i64::try_from(bytes_total).unwrap_or(i64::MAX),
        principal.map(|p| p.user_id),
        state.clock.now(),
        chrono::Duration::minutes(STALE_AFTER_MINUTES),
    )
    .await?;
    tx.commit().await.db()?;
    Ok(id)
}

/// Reads a release line by line and upserts its concepts in batches, saving progress
/// after each; at the end, concepts of the system the release did not list are marked
/// inactive and the import is audited (`terminology.import`). A line that does not read
/// ends the import as failed, naming the line; what earlier batches wrote stays (it is
/// the release's own data) and nothing is retired.
pub async fn run_import(
    state: &AppState,
    ctx: &Ctx,
    principal: Option<&Principal>,
    id: &str,
    system: CodeSystem,
    input: impl AsyncBufRead + Unpin,
) -> Result<ImportReport> {
    let outcome = read_and_upsert(state, id, system, input).await;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let mut event = Event::new(ctx, now, "terminology.import", "terminology").on(id);
    if let Some(p) = principal {
        event = event.by(p.user_id, p.role);
    }
    let result = match outcome {
        Ok((concepts, added)) => {
            let retired = store::retire_unlisted(change.tx(), system, &source_of(id), now).await?;
            store::finish_import(change.tx(), id, Ok(retired), now).await?;
            change.audit(event.detail(format!(
                "{}: {concepts} concepts ({added} new, {retired} retired)",
                system.key()
            )));
            Ok(ImportReport {
                id: id.to_owned(),
                concepts,
                added,
                retired,
            })
        }
        Err(e) => {
            let why = match &e {
                Error::Invalid { message, .. } => message.clone(),
                _ => "the import stopped on an internal error".to_owned(),
            };
            store::finish_import(change.tx(), id, Err(&why), now).await?;
            change.audit(
                event
                    .outcome(Outcome::Failure)
                    .detail(format!("{}: failed", system.key())),
            );
            Err(e)
        }
    };
    change.commit().await?;
    if result.is_ok() {
        let mut conn = state.store.begin_write().await?;
        store::analyze(&mut conn).await?;
        conn.commit().await.db()?;
    }
    result
}

/// Ends an import that could not run (its file was lost), so that another may start.
pub async fn abandon_import(state: &AppState, ctx: &Ctx, id: &str, why: &str) {
    let ended = async {
        let now = state.clock.now();
        let mut change = Change::begin(state).await?;
        store::finish_import(change.tx(), id, Err(why), now).await?;
        change.audit(
            Event::new(ctx, now, "terminology.import", "terminology")
                .on(id)
                .outcome(Outcome::Failure)
                .detail("abandoned"),
        );
        change.commit().await
    }
    .await;
    if let Err(e) = ended {
        tracing::warn!(import = %id, error = %e, "an abandoned terminology import stays running");
    }
}

fn source_of(import_id: &str) -> String {
    format!("import {import_id}")
}

async fn read_and_upsert(
    state: &AppState,
    id: &str,
    system: CodeSystem,
    mut input: impl AsyncBufRead + Unpin,
) -> Result<(u64, u64)> {
    let source = source_of(id);
    let mut loinc: Option<LoincReader> = None;
    let (mut line_no, mut bytes, mut concepts, mut added) = (0u64, 0u64, 0u64, 0u64);
    let mut batch: Vec<Concept> = Vec::with_capacity(IMPORT_BATCH);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        let n = input
            .read_until(b'\n', &mut raw)
            .await
            .map_err(|e| Error::invalid("file", format!("the file does not read: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bytes += n as u64;
        let line = std::str::from_utf8(&raw)
            .map_err(|_| Error::invalid("file", format!("line {line_no} is not UTF-8 text")))?;
        let at_line = |e: Error| match e {
            Error::Invalid { message, .. } => {
                Error::invalid("file", format!("line {line_no}: {message}"))
            }
            other => other,
        };
        let concept = match system {
            CodeSystem::Icd10Cm => icd10cm_order_line(line).map_err(at_line)?,
            CodeSystem::Loinc => match &mut loinc {
                None => {
                    loinc = Some(LoincReader::new(line).map_err(at_line)?);
                    None
                }
                Some(reader) => reader.line(line).map_err(at_line)?,
            },
            CodeSystem::Cvx => None,
        };
        if let Some(c) = concept {
            batch.push(c);
        }
        if batch.len() >= IMPORT_BATCH {
            added +=
                write_batch(state, id, &source, &mut batch, bytes, &mut concepts, added).await?;
        }
    }
    if concepts == 0 && batch.is_empty() {
        return Err(Error::invalid(
            "file",
            format!("the file holds no {} code", system.label()),
        ));
    }
    added += write_batch(state, id, &source, &mut batch, bytes, &mut concepts, added).await?;
    Ok((concepts, added))
}

/// Upserts one batch (a code listed twice: the later line wins) and saves the progress.
async fn write_batch(
    state: &AppState,
    id: &str,
    source: &str,
    batch: &mut Vec<Concept>,
    bytes_read: u64,
    concepts: &mut u64,
    added_before: u64,
) -> Result<u64> {
    let mut seen = std::collections::HashSet::new();
    let mut unique: Vec<Concept> = batch
        .drain(..)
        .rev()
        .filter(|c| seen.insert(c.code.clone()))
        .collect();
    unique.reverse();
    let now = state.clock.now();
    let mut tx = state.store.begin_write().await?;
    let added = store::upsert(&mut tx, &unique, source, now).await?;
    *concepts += unique.len() as u64;
    store::import_progress(
        &mut tx,
        id,
        i64::try_from(bytes_read).unwrap_or(i64::MAX),
        i64::try_from(*concepts).unwrap_or(i64::MAX),
        i64::try_from(added_before + added).unwrap_or(i64::MAX),
        now,
    )
    .await?;
    tx.commit().await.db()?;
    Ok(added)
}
