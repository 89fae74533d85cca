//! Whether a database is whole and one this telemed can run: what `telemed restore`
//! asks of a backup before it replaces anything, and `telemed restore --check` of the
//! database in use.

use telemed_domain::Result;

use crate::{db_error, migrations, Dialect, Store};

/// Where a database stands against this binary's migrations.
#[derive(Debug, Default)]
pub struct MigrationState {
    /// Migrations applied, as the database records them.
    pub applied: usize,
    /// This binary's migrations not applied yet (the next start applies them).
    pub pending: usize,
    /// What stops this binary from running on it: migrations from a newer telemed,
    /// changed or failed ones.
    pub problems: Vec<String>,
}

impl Store {
    /// SQLite's own check of every page and index ("ok" is none); nothing on PostgreSQL,
    /// whose dump and restore tools check what they copy.
    pub async fn integrity_problems(&self) -> Result<Vec<String>> {
        if self.dialect != Dialect::Sqlite {
            return Ok(vec![]);
        }
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(20)")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }

    /// The migrations the database records, against this binary's.
    pub async fn migration_state(&self) -> Result<MigrationState> {
        if self.is_new().await? {
            return Ok(MigrationState {
                problems: vec!["it holds no telemed schema (not a telemed database?)".into()],
                ..MigrationState::default()
            });
        }
        let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT version, CAST(success AS INTEGER), checksum FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let ours = migrations::migrator(self.dialect);
        let mut state = MigrationState {
            applied: rows.len(),
            ..MigrationState::default()
        };
        for (version, success, checksum) in &rows {
            match ours.iter().find(|m| m.version == *version) {
                None => state.problems.push(format!(
                    "migration {version} comes from a newer telemed than this one; restore with that version"
                )),
                Some(m) if m.checksum.as_ref() != checksum.as_slice() => state
                    .problems
                    .push(format!("migration {version} differs from this telemed's")),
                Some(_) if *success == 0 => state
                    .problems
                    .push(format!("migration {version} failed part-way")),
                Some(_) => {}
            }
        }
        state.pending = ours
            .iter()
            .filter(|m| !rows.iter().any(|(v, _, _)| *v == m.version))
            .count();
        Ok(state)
    }
}
