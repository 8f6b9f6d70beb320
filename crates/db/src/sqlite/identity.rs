//! [`IdentityRepo`] on SQLite.

use async_trait::async_trait;
use miniaws_core::error::ConflictKind;
use miniaws_core::identity::{
    ApiKey, ApiKeyId, IdentityRepo, KeyPosition, NewApiKey, StoredSecret, User, UserId,
};
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};
use time::OffsetDateTime;

use super::{fmt_time, parse_opt_time, parse_time, parse_uuid};
use crate::error::{db_err, is_unique_violation};

const KEY_COLUMNS: &str = "id, user_id, name, prefix, access_key_id, created_at, last_used";

/// Users and API keys in SQLite.
pub(crate) struct SqliteIdentityRepo {
    pool: SqlitePool,
}

impl SqliteIdentityRepo {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn key_from_row(row: &SqliteRow) -> Result<ApiKey, sqlx::Error> {
    let created: Option<String> = row.try_get("created_at")?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(parse_uuid(row.try_get("id")?)?),
        user_id: UserId::from_uuid(parse_uuid(row.try_get("user_id")?)?),
        name: row
            .try_get::<Option<String>, _>("name")?
            .unwrap_or_default(),
        prefix: row
            .try_get::<Option<String>, _>("prefix")?
            .unwrap_or_default(),
        access_key_id: row
            .try_get::<Option<String>, _>("access_key_id")?
            .unwrap_or_default(),
        created_at: parse_opt_time(created)?.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        last_used: parse_opt_time(row.try_get("last_used")?)?,
    })
}

async fn insert_key(tx: &mut Transaction<'_, Sqlite>, key: &NewApiKey) -> CoreResult<ApiKey> {
    // SQLite cannot carry the foreign key (see migration 0004), so check the
    // user inside the same transaction.
    let user_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)")
        .bind(key.user_id.to_string())
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    if !user_exists {
        return Err(CoreError::not_found(
            Resource::User,
            key.user_id.to_string(),
        ));
    }
    let sql = format!(
        "INSERT INTO api_keys (id, user_id, key, name, prefix, access_key_id, secret_access_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {KEY_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(key.id.to_string())
        .bind(key.user_id.to_string())
        .bind(&key.key_hash)
        .bind(key.name.as_str())
        .bind(&key.prefix)
        .bind(&key.access_key_id)
        .bind(&key.stored_secret)
        .bind(fmt_time(key.created_at))
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    key_from_row(&row).map_err(db_err)
}

#[async_trait]
impl IdentityRepo for SqliteIdentityRepo {
    async fn create_user_with_key(&self, user: &User, key: &NewApiKey) -> CoreResult<ApiKey> {
        // IMMEDIATE: the write lock is taken at BEGIN, where the busy
        // timeout waits for it. A deferred transaction reads first and
        // upgrades at its first write, and an upgrade after another
        // connection's commit (a key's `last_used`, written as requests
        // come in) fails at once with SQLITE_BUSY: a 500 for a request
        // that only had to wait.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)")
            .bind(user.id.to_string())
            .bind(&user.name)
            .bind(fmt_time(user.created_at))
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
        let row = sqlx::query("SELECT id, name, created_at FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| CoreError::not_found(Resource::User, id.to_string()))?;
        let decode = || -> Result<User, sqlx::Error> {
            Ok(User {
                id: UserId::from_uuid(parse_uuid(row.try_get("id")?)?),
                name: row.try_get("name")?,
                created_at: parse_time(row.try_get("created_at")?)?,
            })
        };
        decode().map_err(db_err)
    }

    async fn insert_key(&self, key: &NewApiKey) -> CoreResult<ApiKey> {
        // IMMEDIATE, as in `create_user_with_key`.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        let created = insert_key(&mut tx, key).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn find_key_by_hash(&self, key_hash: &str) -> CoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key = ?");
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
            "SELECT {KEY_COLUMNS}, secret_access_key FROM api_keys WHERE access_key_id = ?"
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
        // A row-value comparison on the index's columns after the equality
        // on `user_id`: SQLite seeks to the position in
        // api_keys_user_created_idx and reads `limit` entries from there.
        // Times are text of one fixed width, so text order is time order.
        let rows = match after {
            None => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ?1
                     ORDER BY created_at, id LIMIT ?2"
                );
                sqlx::query(&sql)
                    .bind(user.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
            Some(after) => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys
                     WHERE user_id = ?1 AND (created_at, id) > (?2, ?3)
                     ORDER BY created_at, id LIMIT ?4"
                );
                sqlx::query(&sql)
                    .bind(user.to_string())
                    .bind(fmt_time(after.created_at))
                    .bind(after.id.to_string())
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
        // One statement: SQLite runs writers one at a time, so the count and
        // the delete cannot interleave with another revocation.
        let deleted = sqlx::query(
            "DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2
               AND (?3 OR (SELECT COUNT(*) FROM api_keys WHERE user_id = ?2) > 1)",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(allow_last)
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if deleted == 1 {
            return Ok(());
        }
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND user_id = ?)",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        if exists {
            Err(CoreError::conflict(
                ConflictKind::LastKey,
                "cannot revoke the last API key",
            ))
        } else {
            Err(CoreError::not_found(Resource::ApiKey, id.to_string()))
        }
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
                     WHERE secret_access_key IS NOT NULL ORDER BY id LIMIT ?1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
            Some(after) => {
                sqlx::query(
                    "SELECT id, access_key_id, secret_access_key FROM api_keys
                     WHERE secret_access_key IS NOT NULL AND id > ?1 ORDER BY id LIMIT ?2",
                )
                .bind(after.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db_err)?;
        let decode = |row: &SqliteRow| -> Result<StoredSecret, sqlx::Error> {
            Ok(StoredSecret {
                id: ApiKeyId::from_uuid(parse_uuid(row.try_get("id")?)?),
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
            "UPDATE api_keys SET secret_access_key = ?3 WHERE id = ?1 AND secret_access_key = ?2",
        )
        .bind(id.to_string())
        .bind(old)
        .bind(new)
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(replaced == 1)
    }

    async fn record_last_used(&self, id: ApiKeyId, at: OffsetDateTime) -> CoreResult<()> {
        sqlx::query("UPDATE api_keys SET last_used = ? WHERE id = ?")
            .bind(fmt_time(at))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
