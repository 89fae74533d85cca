//! `telemed restore`: puts a backup of the embedded database back, only once it is
//! shown to belong with the files and the master key configured; and `--check`, the
//! same questions asked of the database in use (after `pg_restore`, or any day).
//!
//! A backup is checked as a copy beside the database it will replace: SQLite's
//! integrity check, migrations this telemed knows, an intact audit chain, every file
//! sealed under a key this node has, every file's object present (`--deep`: and
//! opening). Only then is the database in use moved aside — never deleted — and the
//! copy renamed into its place, while an exclusive lock shows that no telemed process
//! has it open.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use telemed_domain::{Clock as _, SystemClock};
use telemed_server::app::describe;
use telemed_server::Config;
use telemed_store::{Dialect, Store};

/// What the checks found: problems stop a restore; notes are for the operator.
#[derive(Default)]
pub struct Findings {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// Asks every question of `store` against the files and keys of `config`.
pub async fn check(store: &Store, config: &Config, deep: bool) -> anyhow::Result<Findings> {
    let mut found = Findings::default();
    for problem in store.integrity_problems().await.map_err(describe)? {
        found
            .problems
            .push(format!("the database is damaged: {problem}"));
    }
    let migrations = store.migration_state().await.map_err(describe)?;
    found.problems.extend(migrations.problems);
    if migrations.pending > 0 {
        found.notes.push(format!(
            "{} migration(s) of this telemed will be applied at the next start",
            migrations.pending
        ));
    }
    if !found.problems.is_empty() {
        // A database that is not whole or not ours is not read further.
        return Ok(found);
    }
    let chain = store.verify_audit_chain().await.map_err(describe)?;
    match chain.first_break {
        None => found
            .notes
            .push(format!("audit chain intact: {} entries", chain.entries)),
        Some(b) => found.problems.push(format!(
            "the audit chain is broken: {}",
            telemed_server::api::describe_break(&b)
        )),
    }
    let key_file = config.files.master_key_file(&config.data_dir);
    if config.files.master_key.is_none() && !key_file.exists() {
        found.problems.push(format!(
            "the master key file {} is missing: put back the clinic's key (kept apart from \
             backups) before restoring",
            key_file.display()
        ));
        return Ok(found);
    }
    let blobs = telemed_server::files::open(config).map_err(describe)?;
    if let Err(e) = blobs.check_keys(store).await {
        found.problems.push(describe(e).to_string());
        return Ok(found);
    }
    let objects = blobs.check_objects(store, deep).await.map_err(describe)?;
    let some = |ids: &[String]| {
        let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
        let more = ids.len().saturating_sub(shown.len());
        match more {
            0 => shown.join(", "),
            n => format!("{} and {n} more", shown.join(", ")),
        }
    };
    let place = match config.files.storage.as_str() {
        "s3" => "the bucket".to_owned(),
        _ => config
            .files
            .local_dir(&config.data_dir)
            .display()
            .to_string(),
    };
    if !objects.missing.is_empty() {
        found.problems.push(format!(
            "{} of {} files are not in {place}: {}",
            objects.missing.len(),
            objects.rows,
            some(&objects.missing)
        ));
    }
    if !objects.wrong_size.is_empty() {
        found.problems.push(format!(
            "{} files in {place} are not the size the database says: {}",
            objects.wrong_size.len(),
            some(&objects.wrong_size)
        ));
    }
    if !objects.unreadable.is_empty() {
        found.problems.push(format!(
            "{} files do not open (altered, or under another key): {}",
            objects.unreadable.len(),
            some(&objects.unreadable)
        ));
    }
    if objects.is_whole() {
        found.notes.push(format!(
            "{} files present{}",
            objects.rows,
            if deep { " and opening" } else { "" }
        ));
    }
    if objects.unreferenced > 0 {
        found.notes.push(format!(
            "{} stored objects are not in this database (uploads made after it was taken); \
             the hourly sweep deletes those older than an hour",
            objects.unreferenced
        ));
    }
    Ok(found)
}

/// Prints the findings; `true` when nothing stops the database from being used.
pub fn report(found: &Findings) -> bool {
    for note in &found.notes {
        println!("  ok: {note}");
    }
    for problem in &found.problems {
        println!("  PROBLEM: {problem}");
    }
    found.problems.is_empty()
}

/// Checks `backup` and, if it belongs with the configured files and key, puts it in the
/// place of the configured SQLite database. Returns where the replaced database went.
pub async fn restore(config: &Config, backup: &Path, deep: bool) -> anyhow::Result<Restored> {
    if Dialect::of_url(&config.database_url).map_err(describe)? == Dialect::Postgres {
        bail!(
            "telemed restore puts back a backup of the embedded SQLite database. For \
             PostgreSQL, restore the dump with its own tools (pg_restore --dbname=… \
             telemed.dump), then run `telemed restore --check`"
        );
    }
    let target = telemed_store::sqlite_path(&config.database_url)
        .context("database_url does not name a SQLite file")?;
    if !backup.is_file() {
        bail!("{} is not a file", backup.display());
    }
    if same_file(backup, &target) {
        bail!("{} is the database in use; name a backup", backup.display());
    }
    let copy = with_suffix(&target, ".restoring");
    if copy.exists() {
        std::fs::remove_file(&copy)
            .with_context(|| format!("removing the stale {}", copy.display()))?;
    }
    std::fs::copy(backup, &copy)
        .with_context(|| format!("copying {} to {}", backup.display(), copy.display()))?;
    std::fs::File::open(&copy)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", copy.display()))?;

    let url = format!("sqlite://{}", copy.display());
    let findings = async {
        let store = Store::connect(&url, 2).await.map_err(describe)?;
        let found = check(&store, config, deep).await;
        store.pool().close().await;
        found
    }
    .await;
    // The checks only read: a copy whose log holds anything was written by someone else.
    let _ = std::fs::remove_file(with_suffix(&copy, "-shm"));
    let log = with_suffix(&copy, "-wal");
    if std::fs::metadata(&log).is_ok_and(|m| m.len() > 0) {
        remove_copy(&copy);
        bail!(
            "{} was written to while it was checked; nothing was changed",
            copy.display()
        );
    }
    let _ = std::fs::remove_file(&log);
    let findings = match findings {
        Ok(f) if f.problems.is_empty() => f,
        other => {
            remove_copy(&copy);
            let found = other?;
            report(&found);
            bail!(
                "{} does not belong with this clinic's files and key; nothing was changed",
                backup.display()
            );
        }
    };

    // Nothing may have the database open while it is swapped: a server would go on
    // writing to the file moved aside.
    let lock = if target.exists() {
        match telemed_store::lock_for_replacement(&target).map_err(describe)? {
            Some(lock) => Some(lock),
            None => {
                remove_copy(&copy);
                bail!(
                    "telemed is running on {} (a server or another command has it open); \
                     stop it, then restore again",
                    target.display()
                );
            }
        }
    } else {
        None
    };
    let replaced = if target.exists() {
        let aside = with_suffix(
            &target,
            &format!(".replaced-{}", SystemClock.now().format("%Y%m%dT%H%M%SZ")),
        );
        for suffix in ["-wal", "-shm"] {
            let side = with_suffix(&target, suffix);
            if side.exists() {
                std::fs::rename(&side, with_suffix(&aside, suffix))
                    .with_context(|| format!("moving {} aside", side.display()))?;
            }
        }
        std::fs::rename(&target, &aside)
            .with_context(|| format!("moving {} aside", target.display()))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&copy, &target)
        .with_context(|| format!("putting the backup in place as {}", target.display()))?;
    if let Some(folder) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(folder)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("syncing {}", folder.display()))?;
    }
    drop(lock);
    Ok(Restored { findings, replaced })
}

pub struct Restored {
    pub findings: Findings,
    /// Where the database it replaced was moved (none if there was none).
    pub replaced: Option<PathBuf>,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn remove_copy(copy: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(copy, suffix));
    }
}
