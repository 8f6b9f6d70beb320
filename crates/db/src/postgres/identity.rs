//! [`IdentityRepo`] on PostgreSQL.

use async_trait::async_trait;
use miniaws_core::error::ConflictKind;
use miniaws_core::identity::{
    ApiKey, ApiKeyId, IdentityRepo, KeyPosition, NewApiKey, StoredSecret, User, UserId,
};
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{db_err, is_unique_violation};

const KEY_COLUMNS: &str = "id, user_id, name, prefix, access_key_id, created_at, last_used";

/// Users and API keys in PostgreSQL.
pub(crate) struct PgIdentityRepo {
    pool: PgPool,
}

impl PgIdentityRepo {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn key_from_row(row: &PgRow) -> Result<ApiKey, sqlx::Error> {
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(row.try_get("id")?),
        user_id: UserId::from_uuid(row.try_get("user_id")?),
        name: row
            .try_get::<Option<String>, _>("name")?
            .unwrap_or_default(),
        prefix: row
            .try_get::<Option<String>, _>("prefix")?
            .unwrap_or_default(),
        access_key_id: row
            .try_get::<Option<String>, _>("access_key_id")?
            .unwrap_or_default(),
        created_at: row
            .try_get::<Option<OffsetDateTime>, _>("created_at")?
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        last_used: row.try_get("last_used")?,
    })
}

async fn insert_key(tx: &mut Transaction<'_, Postgres>, key: &NewApiKey) -> CoreResult<ApiKey> {
    let sql = format!(
        "INSERT INTO api_keys (id, user_id, key, name, prefix, access_key_id, secret_access_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {KEY_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(key.id.as_uuid())
        .bind(key.user_id.as_uuid())
        .bind(&key.key_hash)
        .bind(key.name.as_str())
        .bind(&key.prefix)
        .bind(&key.access_key_id)
        .bind(&key.stored_secret)
        .bind(key.created_at)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                CoreError::not_found(Resource::User, key.user_id.to_string())
            }
            _ => db_err(e),
        })?;
    key_from_row(&row).map_err(db_err)
}

#[async_trait]
impl IdentityRepo for PgIdentityRepo {
    async fn create_user_with_key(&self, user: &User, key: &NewApiKey) -> CoreResult<ApiKey> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("INSERT INTO users (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(user.id.as_uuid())
            .bind(&user.name)
            .bind(user.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    CoreError::conflict(
                        ConflictKind::AlreadyExists,
                        // The unique index on the lower-cased name
                        // (migration 0026) refuses a look-alike too.
                        format!(
                            "user name `{}` is already taken (user names are unique \
                             regardless of case)",
                            user.name
                        ),
                    )
                } else {
                    db_err(e)
                }
            })?;
        let created = insert_key(&mut tx, key).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn get_user(&self, id: UserId) -> CoreResult<User> {
        let row = sqlx::query("SELECT id, name, created_at FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| CoreError::not_found(Resource::User, id.to_string()))?;
        Ok(User {
            id: UserId::from_uuid(row.try_get("id").map_err(db_err)?),
            name: row.try_get("name").map_err(db_err)?,
            created_at: row.try_get("created_at").map_err(db_err)?,
        })
    }

    async fn insert_key(&self, key: &NewApiKey) -> CoreResult<ApiKey> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let created = insert_key(&mut tx, key).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn find_key_by_hash(&self, key_hash: &str) -> CoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key = $1");
        let row = sqlx::query(&sql)
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(key_from_row).transpose().map_err(db_err)
    }

    async fn find_by_access_key_id(
        &self,
        access_key_id: &str,
    ) -> CoreResult<Option<(ApiKey, String)>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS}, secret_access_key FROM api_keys WHERE access_key_id = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(access_key_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let key = key_from_row(&row).map_err(db_err)?;
        let secret: Option<String> = row.try_get("secret_access_key").map_err(db_err)?;
        Ok(secret.map(|s| (key, s)))
    }

    async fn list_keys(
        &self,
        user: UserId,
        after: Option<&KeyPosition>,
        limit: u32,
    ) -> CoreResult<Vec<ApiKey>> {
        // A row comparison on the index's columns after the equality on
        // `user_id`: an index condition on api_keys_user_created_idx, so
        // the scan starts at the position and stops after `limit` rows.
        let rows = match after {
            None => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = $1
                     ORDER BY created_at, id LIMIT $2"
                );
                sqlx::query(&sql)
                    .bind(user.as_uuid())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
            Some(after) => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys
                     WHERE user_id = $1 AND (created_at, id) > ($2, $3)
                     ORDER BY created_at, id LIMIT $4"
                );
                sqlx::query(&sql)
                    .bind(user.as_uuid())
                    .bind(after.created_at)
                    .bind(after.id.as_uuid())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(db_err)?;
        rows.iter()
            .map(key_from_row)
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }

    async fn delete_key(&self, user: UserId, id: ApiKeyId, allow_last: bool) -> CoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Lock the user's keys so that two concurrent revocations cannot both
        // see "two keys left" and remove the last one between them.
        let ids: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM api_keys WHERE user_id = $1 FOR UPDATE")
                .bind(user.as_uuid())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
        if !ids.contains(&id.as_uuid()) {
            return Err(CoreError::not_found(Resource::ApiKey, id.to_string()));
        }
        if ids.len() == 1 && !allow_last {
            return Err(CoreError::conflict(
                ConflictKind::LastKey,
                "cannot revoke the last API key",
            ));
        }
        sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn stored_secrets(
        &self,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> CoreResult<Vec<StoredSecret>> {
        let rows = match after {
            None => {
                sqlx::query(
                    "SELECT id, access_key_id, secret_access_key FROM api_keys
                     WHERE secret_access_key IS NOT NULL ORDER BY id LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
            Some(after) => {
                sqlx::query(
                    "SELECT id, access_key_id, secret_access_key FROM api_keys
                     WHERE secret_access_key IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db_err)?;
        let decode = |row: &PgRow| -> Result<StoredSecret, sqlx::Error> {
            Ok(StoredSecret {
                id: ApiKeyId::from_uuid(row.try_get("id")?),
                access_key_id: row
                    .try_get::<Option<String>, _>("access_key_id")?
                    .unwrap_or_default(),
                stored: row.try_get("secret_access_key")?,
            })
        };
        rows.iter()
            .map(decode)
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }

    async fn replace_stored_secret(&self, id: ApiKeyId, old: &str, new: &str) -> CoreResult<bool> {
        // Compare-and-set in one statement: a key revoked, or sealed by
        // another process, since it was read is left as it is.
        let replaced = sqlx::query(
            "UPDATE api_keys SET secret_access_key = $3 WHERE id = $1 AND secret_access_key = $2",
        )
        .bind(id.as_uuid())
        .bind(old)
        .bind(new)
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(replaced == 1)
    }

    async fn record_last_used(&self, id: ApiKeyId, at: OffsetDateTime) -> CoreResult<()> {
        sqlx::query("UPDATE api_keys SET last_used = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
