//! Users left with a look-alike name by migration 0026: names that differ
//! only by case from an older user's, made before the database refused
//! them. The migration keeps them (renaming or deleting an account is not
//! an upgrade's call); start-up names them so that the operator knows.

use crate::connect::{Database, DbError};

const SELECT: &str = "SELECT id, name FROM users WHERE name_case_duplicate ORDER BY created_at, id";

/// A user whose name differs only by case from an older user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDuplicateUser {
    /// The user's id.
    pub id: uuid::Uuid,
    /// Its name, as it was created.
    pub name: String,
}

impl Database {
    /// The users marked by migration 0026 as look-alikes of an older
    /// user's name, oldest first. Only databases that held such names
    /// before it have any.
    ///
    /// # Errors
    /// [`DbError::Query`] when the table cannot be read (or migration 0026
    /// has not run).
    pub async fn case_duplicate_users(&self) -> Result<Vec<CaseDuplicateUser>, DbError> {
        Ok(match self {
            Database::Postgres(pool, _) => sqlx::query_as::<_, (uuid::Uuid, String)>(SELECT)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|(id, name)| CaseDuplicateUser { id, name })
                .collect(),
            Database::Sqlite(pool, _) => {
                let rows = sqlx::query_as::<_, (String, String)>(SELECT)
                    .fetch_all(pool)
                    .await?;
                rows.into_iter()
                    .map(|(id, name)| {
                        Ok(CaseDuplicateUser {
                            id: crate::sqlite::parse_uuid(&id)?,
                            name,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()?
            }
        })
    }
}
