//! Embedded, reversible migrations for both backends.
//!
//! Both directories carry the same numbered list; `sqlx::migrate!` embeds them
//! in the binary so that a deployed `miniaws` needs no files beside it.

use sqlx::migrate::Migrator;

use crate::connect::{Database, DbError};

static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Whether one migration has been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied to this database.
    Applied,
    /// Not applied yet.
    Pending,
}

/// One line of `miniaws migrate status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's number.
    pub version: i64,
    /// Its description (from the file name).
    pub description: String,
    /// Applied or pending.
    pub state: MigrationState,
}

/// The up migrations of `migrator`, each applied when `applied` names it.
fn statuses(migrator: &Migrator, applied: &[i64]) -> Vec<MigrationStatus> {
    migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            state: if applied.contains(&m.version) {
                MigrationState::Applied
            } else {
                MigrationState::Pending
            },
        })
        .collect()
}

impl Database {
    fn migrator(&self) -> &'static Migrator {
        match self {
            Database::Postgres(..) => &POSTGRES,
            Database::Sqlite(..) => &SQLITE,
        }
    }

    /// Applies every pending migration; returns how many ran.
    ///
    /// # Errors
    /// [`DbError::Migrate`] when a migration fails (it is rolled back).
    pub async fn migrate_up(&self) -> Result<usize, DbError> {
        let before = self.applied_versions().await?.len();
        match self {
            Database::Postgres(pool, _) => POSTGRES.run(pool).await?,
            Database::Sqlite(pool, _) => SQLITE.run(pool).await?,
        }
        Ok(self.applied_versions().await?.len() - before)
    }

    /// Reverts the newest `steps` applied migrations; returns how many ran.
    ///
    /// # Errors
    /// [`DbError::Migrate`] when a down migration fails.
    pub async fn migrate_down(&self, steps: usize) -> Result<usize, DbError> {
        let applied = self.applied_versions().await?;
        if steps == 0 || applied.is_empty() {
            return Ok(0);
        }
        let undone = steps.min(applied.len());
        // `undo` reverts every migration newer than `target`.
        let target = if undone == applied.len() {
            0
        } else {
            applied[applied.len() - undone - 1]
        };
        match self {
            Database::Postgres(pool, _) => POSTGRES.undo(pool, target).await?,
            Database::Sqlite(pool, _) => SQLITE.undo(pool, target).await?,
        }
        Ok(undone)
    }

    /// Every known migration with its state, oldest first.
    ///
    /// # Errors
    /// [`DbError::Query`] when the bookkeeping table cannot be read.
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, DbError> {
        let applied = self.applied_versions().await?;
        Ok(statuses(self.migrator(), &applied))
    }

    /// The migration status of a SQLite database that does not exist yet:
    /// every migration pending. (Opening the file to ask would create it.)
    pub fn sqlite_status_before_creation() -> Vec<MigrationStatus> {
        statuses(&SQLITE, &[])
    }

    /// Versions recorded in `_sqlx_migrations`, ascending; empty when the
    /// table does not exist yet.
    pub(crate) async fn applied_versions(&self) -> Result<Vec<i64>, DbError> {
        const EXISTS_PG: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
        const EXISTS_SQLITE: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";
        const VERSIONS: &str =
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let versions = match self {
            Database::Postgres(pool, _) => {
                let exists: bool = sqlx::query_scalar(EXISTS_PG).fetch_one(pool).await?;
                if !exists {
                    return Ok(Vec::new());
                }
                sqlx::query_scalar(VERSIONS).fetch_all(pool).await?
            }
            Database::Sqlite(pool, _) => {
                let exists: bool = sqlx::query_scalar(EXISTS_SQLITE).fetch_one(pool).await?;
                if !exists {
                    return Ok(Vec::new());
                }
                sqlx::query_scalar(VERSIONS).fetch_all(pool).await?
            }
        };
        Ok(versions)
    }
}
