//! The database's own id (see migration 0025): what a data directory
//! records to tell its database from another.

use crate::connect::{Database, DbError};

const INSERT: &str = "INSERT INTO database_identity (singleton, id) VALUES (TRUE, $1) ON CONFLICT (singleton) DO NOTHING";
const SELECT: &str = "SELECT id FROM database_identity WHERE singleton";
const ANY_BUCKET: &str = "SELECT EXISTS (SELECT 1 FROM buckets)";
const TABLE_PG: &str = "SELECT to_regclass('database_identity') IS NOT NULL";
const TABLE_SQLITE: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'database_identity')";

/// What a database says about its id before its migrations run (see
/// [`Database::identity_before_migrating`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityBeforeMigrating {
    /// No Mini AWS migration was ever applied: a new database, or another
    /// application's.
    NoSchema,
    /// Mini AWS's schema without an id: from before migration 0025, or a
    /// `migrate down` past it.
    NoId,
    /// The database's id.
    Id(String),
}

impl Database {
    /// This database's id, made (a fresh UUID) when it has none yet. Two
    /// servers asking at once get the same one: the first insert wins.
    ///
    /// # Errors
    /// [`DbError::Query`] when the database cannot be read or written (or
    /// its migrations have not run).
    pub async fn database_id(&self) -> Result<String, DbError> {
        self.database_id_or(&uuid::Uuid::new_v4().to_string()).await
    }

    /// This database's id, `candidate` when it has none yet (a data
    /// directory's record of it, for a database whose id a `migrate down`
    /// took away).
    ///
    /// # Errors
    /// As [`Self::database_id`].
    pub async fn database_id_or(&self, candidate: &str) -> Result<String, DbError> {
        let id = match self {
            Database::Postgres(pool, _) => {
                sqlx::query(INSERT).bind(candidate).execute(pool).await?;
                sqlx::query_scalar(SELECT).fetch_one(pool).await?
            }
            Database::Sqlite(pool, _) => {
                sqlx::query(INSERT).bind(candidate).execute(pool).await?;
                sqlx::query_scalar(SELECT).fetch_one(pool).await?
            }
        };
        Ok(id)
    }

    /// This database's id, if it has one yet.
    ///
    /// # Errors
    /// As [`Self::database_id`].
    pub async fn recorded_database_id(&self) -> Result<Option<String>, DbError> {
        Ok(match self {
            Database::Postgres(pool, _) => sqlx::query_scalar(SELECT).fetch_optional(pool).await?,
            Database::Sqlite(pool, _) => sqlx::query_scalar(SELECT).fetch_optional(pool).await?,
        })
    }

    /// This database's id as it is before the migrations run, reading
    /// nothing that may not exist: a data directory that records another
    /// database's id can then refuse it before anything is written to it.
    ///
    /// # Errors
    /// [`DbError::Query`] when the database cannot be read.
    pub async fn identity_before_migrating(&self) -> Result<IdentityBeforeMigrating, DbError> {
        if self.applied_versions().await?.is_empty() {
            return Ok(IdentityBeforeMigrating::NoSchema);
        }
        let table: bool = match self {
            Database::Postgres(pool, _) => sqlx::query_scalar(TABLE_PG).fetch_one(pool).await?,
            Database::Sqlite(pool, _) => sqlx::query_scalar(TABLE_SQLITE).fetch_one(pool).await?,
        };
        if !table {
            return Ok(IdentityBeforeMigrating::NoId);
        }
        Ok(match self.recorded_database_id().await? {
            Some(id) => IdentityBeforeMigrating::Id(id),
            None => IdentityBeforeMigrating::NoId,
        })
    }

    /// Whether the database holds any bucket: a database in use, not a new
    /// (or mistaken) empty one.
    ///
    /// # Errors
    /// As [`Self::database_id`].
    pub async fn holds_buckets(&self) -> Result<bool, DbError> {
        Ok(match self {
            Database::Postgres(pool, _) => sqlx::query_scalar(ANY_BUCKET).fetch_one(pool).await?,
            Database::Sqlite(pool, _) => sqlx::query_scalar(ANY_BUCKET).fetch_one(pool).await?,
        })
    }
}
