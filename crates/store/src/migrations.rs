//! The schema's migrations, one source for both databases.
//!
//! Each `migrations/NNNN_name.sql` is the same SQL for SQLite and PostgreSQL, except the
//! lines marked for one of them: `-- [sqlite] ` or `-- [postgres] ` at the start of a
//! line keeps the rest of that line for that database only (the marker removed), and
//! drops it for the other. What each database runs, and the checksum sqlx records for
//! it, is byte for byte what its migration was when the two were separate folders;
//! `migrations/checksums.txt` holds those checksums and the tests below hold every
//! source to them, so an applied migration cannot be edited by mistake.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Dialect;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The text `dialect` runs for a migration written for both.
pub fn for_dialect(source: &str, dialect: Dialect) -> String {
    let (mine, theirs) = match dialect {
        Dialect::Sqlite => ("-- [sqlite] ", "-- [postgres] "),
        Dialect::Postgres => ("-- [postgres] ", "-- [sqlite] "),
    };
    source
        .split('\n')
        .filter(|line| !line.starts_with(theirs))
        .map(|line| line.strip_prefix(mine).unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The migrations of `dialect`, versioned and described from their file names as
/// `sqlx::migrate!` does (`0001_foundation.sql`: version 1, "foundation").
fn build(dialect: Dialect) -> Migrator {
    let migrations = SOURCES
        .iter()
        .filter_map(|(name, source)| {
            let (version, rest) = name.split_once('_')?;
            let description = rest.trim_end_matches(".sql").replace('_', " ");
            let sql = for_dialect(source, dialect);
            let no_tx = sql.starts_with("-- no-transaction");
            Some(Migration::new(
                version.parse().ok()?,
                Cow::Owned(description),
                MigrationType::Simple,
                Cow::Owned(sql),
                no_tx,
            ))
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

static SQLITE: LazyLock<Migrator> = LazyLock::new(|| build(Dialect::Sqlite));
static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| build(Dialect::Postgres));

/// The migrator of `dialect`.
pub fn migrator(dialect: Dialect) -> &'static Migrator {
    match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKSUMS: &str = include_str!("../migrations/checksums.txt");

    #[test]
    fn every_migration_is_what_each_database_applied() {
        let mut recorded = 0;
        for line in CHECKSUMS.lines().filter(|l| !l.starts_with('#')) {
            let mut fields = line.split_whitespace();
            let (Some(version), Some(dialect), Some(sum)) =
                (fields.next(), fields.next(), fields.next())
            else {
                panic!("a malformed line in checksums.txt: {line:?}");
            };
            let dialect = match dialect {
                "sqlite" => Dialect::Sqlite,
                "postgres" => Dialect::Postgres,
                other => panic!("unknown dialect {other}"),
            };
            let version: i64 = version.parse().unwrap();
            let m = migrator(dialect)
                .iter()
                .find(|m| m.version == version)
                .unwrap_or_else(|| panic!("migration {version} is missing"));
            assert_eq!(
                hex::encode(&m.checksum),
                sum,
                "migration {version} for {dialect:?} is not what databases applied"
            );
            recorded += 1;
        }
        // Every migration of both dialects is recorded: a new one adds its two lines.
        assert_eq!(
            recorded,
            2 * SOURCES.len(),
            "checksums.txt lists every migration"
        );
        assert_eq!(migrator(Dialect::Sqlite).iter().count(), SOURCES.len());
    }

    #[test]
    fn lines_marked_for_a_dialect_go_to_it_alone() {
        let source = "CREATE TABLE t (\n-- [sqlite]     w TEXT,\n-- [postgres]     w TEXT COLLATE \"C\",\n    x INT\n);\n";
        assert_eq!(
            for_dialect(source, Dialect::Sqlite),
            "CREATE TABLE t (\n    w TEXT,\n    x INT\n);\n"
        );
        assert_eq!(
            for_dialect(source, Dialect::Postgres),
            "CREATE TABLE t (\n    w TEXT COLLATE \"C\",\n    x INT\n);\n"
        );
    }
}
