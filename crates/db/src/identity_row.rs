//! The database's own id (see migration 0025): what a data directory
//! records to tell its database from another.

use crate::connect::{Database, DbError};

const INSERT: &str = "INSERT INTO database_identity (singleton, id) VALUES (TRUE, $1) ON CONFLICT (singleton) DO NOTHING";
const SELECT: &str = "SELECT id FROM database_identity WHERE singleton";

impl Database {
    /// This database's id, made (a fresh UUID) when it has none yet. Two
    /// servers asking at once get the same one: the first insert wins.
    ///
    /// # Errors
    /// [`DbError::Query`] when the database cannot be read or written (or
    /// its migrations have not run).
    pub async fn database_id(&self) -> Result<String, DbError> {
        let fresh = uuid::Uuid::new_v4().to_string();
        let id = match self {
            Database::Postgres(pool, _) => {
                sqlx::query(INSERT).bind(&fresh).execute(pool).await?;
                sqlx::query_scalar(SELECT).fetch_one(pool).await?
            }
            Database::Sqlite(pool, _) => {
                sqlx::query(INSERT).bind(&fresh).execute(pool).await?;
                sqlx::query_scalar(SELECT).fetch_one(pool).await?
            }
        };
        Ok(id)
    }
}
