//! [`StorageRepo`] on SQLite.
//!
//! Keys are bound as BLOBs everywhere, so that comparisons are bytewise
//! (`memcmp`) and range bounds that are not UTF-8 compare correctly.
//! Writes use `BEGIN IMMEDIATE`: SQLite has one writer, and taking the write
//! lock up front (waiting on the busy timeout) avoids a read-then-write
//! transaction failing with SQLITE_BUSY when it upgrades its lock.

use async_trait::async_trait;
use miniaws_core::error::ConflictKind;
use miniaws_core::identity::UserId;
use miniaws_core::storage::{
    BlobId, Bucket, BucketAccess, BucketLockSet, BucketLookup, BucketName, CorsConfiguration,
    DeleteMarker, ETag, KeyRange, LifecycleConfiguration, ListedVersion, LockChange, NameRange,
    ObjectId, ObjectKey, ObjectLockConfig, ObjectMeta, ObjectSummary, ObjectVersion, ObjectWrite,
    PublicAccessBlock, STORAGE_CLASS_HEADER, StorageRepo, Tags, VersionId, VersionLock,
    VersionTags, Versioning, WebsiteConfiguration, WriteCondition,
};
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::Connection;
use sqlx::Row;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool, SqliteRow};
use std::borrow::Cow;
use std::sync::Arc;

use super::versions;
use super::{fmt_time, parse_opt_time, parse_time, parse_uuid};
use crate::complete::first;
use crate::conditional_delete;
use crate::error::{db_err, is_unique_violation};
use crate::hot::HotConnections;
use crate::storage_rows::{
    BUCKET_AND_OBJECT_COLUMNS, BUCKET_LOOKUP_COLUMNS, BucketSetting, OBJECT_COLUMNS,
    access_block_to_json, bucket_tags_to_json, cors_to_json, decode_bucket, decode_key,
    json_to_access_block, json_to_bucket_tags, json_to_cors, json_to_lifecycle, json_to_map,
    json_to_parts, json_to_tags, json_to_website, lifecycle_to_json, map_to_json, parts_to_json,
    refusal_error, stored_arn, stored_lifecycle, stored_lock, stored_storage_class, tags_to_json,
    website_to_json,
};

/// Buckets and object metadata in SQLite.
///
/// The hot statements (`lookup_object`, `lookup_bucket`, the object
/// commits) run on connections leased from `hot`, which skip the ping sqlx
/// pays on every connection returned to the pool (see [`HotConnections`]);
/// the others on the pool.
pub(crate) struct SqliteStorageRepo {
    pool: SqlitePool,
    hot: Arc<HotConnections<Sqlite>>,
}

impl SqliteStorageRepo {
    pub(crate) fn new(pool: SqlitePool, hot: Arc<HotConnections<Sqlite>>) -> Self {
        Self { pool, hot }
    }

    /// One of the bucket's settings, whoever owns the bucket: `None` when
    /// there is no such bucket, `Some(None)` when the setting is unset.
    async fn get_bucket_setting(
        &self,
        setting: BucketSetting,
        name: &BucketName,
    ) -> CoreResult<Option<Option<String>>> {
        let sql = format!("SELECT {} FROM buckets WHERE name = ?", setting.column());
        let row: Option<(Option<String>,)> = sqlx::query_as(&sql)
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.map(|(value,)| value))
    }

    /// Sets (or clears) one of the bucket's settings, if `owner` owns it;
    /// returns whether it did.
    async fn set_bucket_setting(
        &self,
        setting: BucketSetting,
        owner: UserId,
        name: &BucketName,
        value: Option<&str>,
    ) -> CoreResult<bool> {
        let sql = format!(
            "UPDATE buckets SET {} = ? WHERE name = ? AND owner_id = ?",
            setting.column()
        );
        let done = sqlx::query(&sql)
            .bind(value)
            .bind(name.as_str())
            .bind(owner.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}

fn bucket_from_row(row: &SqliteRow) -> Result<Bucket, sqlx::Error> {
    Ok(Bucket {
        name: decode_bucket(row.try_get("name")?)?,
        owner: UserId::from_uuid(parse_uuid(row.try_get("owner_id")?)?),
        created_at: parse_time(row.try_get("created_at")?)?,
    })
}

/// An object row of `bucket` (the bucket every query here filters on, so
/// it is not decoded again per row).
fn object_from_row(row: &SqliteRow, bucket: &BucketName) -> Result<ObjectMeta, sqlx::Error> {
    let size: i64 = row.try_get("size_bytes")?;
    Ok(ObjectMeta {
        id: ObjectId::from_uuid(parse_uuid(row.try_get("id")?)?),
        bucket: bucket.clone(),
        key: decode_key(row.try_get("key")?)?,
        blob_id: BlobId::from_uuid(parse_uuid(row.try_get("blob_id")?)?),
        size_bytes: u64::try_from(size).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        etag: ETag::from_stored(row.try_get::<String, _>("etag")?),
        content_type: row
            .try_get::<Option<String>, _>("content_type")?
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        user_metadata: json_to_map(row.try_get("user_metadata")?)?,
        headers: json_to_map(row.try_get("headers")?)?,
        last_modified: parse_opt_time(row.try_get("created_at")?)?
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        parts: json_to_parts(row.try_get("parts")?)?,
        tags: json_to_tags(row.try_get("tags")?)?,
        versioned: row.try_get("versioned")?,
        in_versioned_bucket: false,
        lock: stored_lock(
            row.try_get("lock_mode")?,
            parse_opt_time(row.try_get("lock_until")?)?,
            row.try_get("legal_hold")?,
        ),
    })
}

/// Commits one write in a single statement, which is atomic on its own:
/// the owner check (`EXISTS`), the upsert, and the replaced blob (the
/// update copies the old `blob_id` into `replaced_blob_id`, migration 0008,
/// and `RETURNING` hands it back). No row back: `owner` does not own the
/// bucket, or the bucket is versioned (migration 0017: the write then goes
/// through [`versions::versioned_upsert`], which keeps the old version),
/// and nothing was written. The versioning check reads the bucket row the
/// owner check reads already: an unversioned write costs what it did.
const UPSERT_OBJECT: &str = "
    INSERT INTO objects (id, arn, bucket, key, size_bytes, content_type, created_at,
        blob_id, etag, user_metadata, headers, replaced_blob_id, parts, tags)
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?13, ?14
    WHERE EXISTS (SELECT 1 FROM buckets WHERE name = ?3 AND owner_id = ?12 AND versioning IS NULL)
    ON CONFLICT (bucket, key) DO UPDATE SET
        id = excluded.id, arn = excluded.arn, size_bytes = excluded.size_bytes,
        content_type = excluded.content_type, created_at = excluded.created_at,
        deleted_at = NULL, blob_id = excluded.blob_id, etag = excluded.etag,
        user_metadata = excluded.user_metadata, headers = excluded.headers,
        replaced_blob_id = objects.blob_id, parts = excluded.parts, tags = excluded.tags
    RETURNING replaced_blob_id";

/// [`WriteCondition::Absent`]: the insert of [`UPSERT_OBJECT`], and on a
/// conflict nothing (the key exists): no row back.
const INSERT_OBJECT_IF_ABSENT: &str = "
    INSERT INTO objects (id, arn, bucket, key, size_bytes, content_type, created_at,
        blob_id, etag, user_metadata, headers, replaced_blob_id, parts, tags)
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?13, ?14
    WHERE EXISTS (SELECT 1 FROM buckets WHERE name = ?3 AND owner_id = ?12 AND versioning IS NULL)
    ON CONFLICT (bucket, key) DO NOTHING
    RETURNING replaced_blob_id";

/// [`WriteCondition::Exists`] / [`WriteCondition::ETagIs`]: an update of
/// the existing row only, when its ETag is `?15` (any when `?15` is NULL).
/// One statement under SQLite's single writer: nothing lands between the
/// check and the write.
const UPDATE_OBJECT_IF_MATCH: &str = "
    UPDATE objects SET
        id = ?1, arn = ?2, size_bytes = ?5, content_type = ?6, created_at = ?7,
        deleted_at = NULL, blob_id = ?8, etag = ?9, user_metadata = ?10, headers = ?11,
        replaced_blob_id = blob_id, parts = ?13, tags = ?14
    WHERE bucket = ?3 AND key = ?4 AND (?15 IS NULL OR etag = ?15)
        AND EXISTS (SELECT 1 FROM buckets WHERE name = ?3 AND owner_id = ?12
                    AND versioning IS NULL)
    RETURNING replaced_blob_id";

/// Commits one write on `conn`, under `condition`. The outer error is a
/// database failure; the inner one concerns this write alone. Also the
/// object write of a multipart completion's transaction.
pub(super) async fn upsert(
    conn: &mut SqliteConnection,
    owner: UserId,
    meta: &ObjectMeta,
    condition: &WriteCondition,
) -> Result<CoreResult<Option<BlobId>>, sqlx::Error> {
    let Ok(size) = i64::try_from(meta.size_bytes) else {
        return Ok(Err(CoreError::TooLarge(
            "the object is larger than 2^63 bytes".into(),
        )));
    };
    let (sql, etag) = match condition {
        WriteCondition::Always => (UPSERT_OBJECT, None),
        WriteCondition::Absent => (INSERT_OBJECT_IF_ABSENT, None),
        WriteCondition::Exists => (UPDATE_OBJECT_IF_MATCH, None),
        WriteCondition::ETagIs(etag) => (UPDATE_OBJECT_IF_MATCH, Some(etag.as_str())),
    };
    let mut query = sqlx::query_scalar(sql)
        .bind(meta.id.to_string())
        .bind(stored_arn(owner, &meta.bucket, &meta.key))
        .bind(meta.bucket.as_str())
        .bind(meta.key.as_str().as_bytes())
        .bind(size)
        .bind(&meta.content_type)
        .bind(fmt_time(meta.last_modified))
        .bind(meta.blob_id.to_string())
        .bind(meta.etag.as_str())
        .bind(map_to_json(&meta.user_metadata))
        .bind(map_to_json(&meta.headers))
        .bind(owner.to_string())
        .bind(parts_to_json(&meta.parts))
        .bind(tags_to_json(&meta.tags));
    if sql == UPDATE_OBJECT_IF_MATCH {
        query = query.bind(etag);
    }
    let row: Option<Option<String>> = first(query.fetch_all(&mut *conn).await?);
    Ok(match row {
        Some(replaced) => replaced
            .map(|s| parse_uuid(&s).map(BlobId::from_uuid))
            .transpose()
            .map_err(db_err),
        None => {
            let (owned, versioned, current) = refusal(conn, owner, meta).await?;
            if owned && versioned {
                return versions::versioned_upsert(conn, owner, meta, condition).await;
            }
            Err(refusal_error(owned, current, meta, condition))
        }
    })
}

/// Why a write wrote nothing: whether the bucket is `owner`'s, whether it
/// is versioned, and the key's current ETag (for the condition).
async fn refusal(
    conn: &mut SqliteConnection,
    owner: UserId,
    meta: &ObjectMeta,
) -> Result<(bool, bool, Option<String>), sqlx::Error> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM buckets WHERE name = ?1 AND owner_id = ?2),
            EXISTS (SELECT 1 FROM buckets WHERE name = ?1 AND owner_id = ?2
                                          AND versioning IS NOT NULL),
            (SELECT etag FROM objects WHERE bucket = ?1 AND key = ?3)",
    )
    .bind(meta.bucket.as_str())
    .bind(owner.to_string())
    .bind(meta.key.as_str().as_bytes())
    .fetch_one(conn)
    .await
}

/// One row of a listing page, as the JSON array the listing query builds:
/// id, hex(key), size_bytes, etag, content_type, user_metadata,
/// created_at, tags, and the headers when they name a storage class.
///
/// Borrowed from the page's JSON where it can be: ids, hex and times never
/// hold an escape, and the other strings are borrowed when they hold none
/// (a listing decodes a thousand rows per page; an allocation per column
/// was a tenth of its time).
#[derive(serde::Deserialize)]
struct ListedRow<'a>(
    &'a str,
    &'a str,
    i64,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    Option<&'a str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
);

/// A listing page as the listing query's JSON array of [`ListedRow`]s.
fn decode_listed_page(json: &str) -> Result<Vec<ObjectSummary>, sqlx::Error> {
    let rows: Vec<ListedRow> =
        serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let mut objects = Vec::with_capacity(rows.len());
    for row in rows {
        objects.push(listed_into_summary(row)?);
    }
    Ok(objects)
}

fn listed_into_summary(row: ListedRow<'_>) -> Result<ObjectSummary, sqlx::Error> {
    let ListedRow(id, key_hex, size, etag, content_type, user_metadata, at, tags, headers) = row;
    Ok(ObjectSummary {
        id: ObjectId::from_uuid(parse_uuid(id)?),
        key: decode_key(unhex(key_hex)?)?,
        size_bytes: u64::try_from(size).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        etag: ETag::from_stored(etag.unwrap_or_default().into_owned()),
        content_type: content_type
            .map_or_else(|| "application/octet-stream".to_owned(), Cow::into_owned),
        user_metadata: json_to_map(&user_metadata)?,
        last_modified: at
            .map(parse_time)
            .transpose()?
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        tags: json_to_tags(&tags)?,
        storage_class: stored_storage_class(headers.as_deref())?,
    })
}

/// A bucket as [`StorageRepo::lookup_bucket`] reads it, from a row with
/// [`BUCKET_LOOKUP_COLUMNS`] (alone, or before a joined object's columns):
/// the lifecycle configuration is decoded only when there is one.
fn bucket_lookup_from_row(row: &SqliteRow) -> CoreResult<BucketLookup> {
    let (bucket, policy, lifecycle, versioning, object_lock) = (|| {
        let bucket = Bucket {
            name: decode_bucket(row.try_get("b_name")?)?,
            owner: UserId::from_uuid(parse_uuid(row.try_get("b_owner_id")?)?),
            created_at: parse_time(row.try_get("b_created_at")?)?,
        };
        let policy: Option<String> = row.try_get("b_policy")?;
        let lifecycle: Option<String> = row.try_get("b_lifecycle")?;
        let versioning: Option<String> = row.try_get("b_versioning")?;
        let object_lock: Option<String> = row.try_get("b_object_lock")?;
        Ok::<_, sqlx::Error>((bucket, policy, lifecycle, versioning, object_lock))
    })()
    .map_err(db_err)?;
    let lifecycle = stored_lifecycle(&bucket.name, lifecycle.as_deref());
    Ok(BucketLookup {
        bucket,
        policy,
        lifecycle,
        versioning: Versioning::from_stored(versioning.as_deref()),
        object_lock: object_lock.as_deref().map(ObjectLockConfig::from_stored),
    })
}

/// SQLite's `hex()` (uppercase) back to bytes.
fn unhex(s: &str) -> Result<Vec<u8>, sqlx::Error> {
    let bad = || sqlx::Error::Decode("a listed key is not hex".into());
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(bad()),
    };
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}
impl SqliteStorageRepo {
    /// Every write of `items` in one transaction (one WAL fsync for all);
    /// a database error fails the whole batch, and nothing of it is kept.
    async fn put_batch(
        &self,
        items: &[ObjectWrite],
    ) -> Result<Vec<CoreResult<Option<BlobId>>>, sqlx::Error> {
        let mut conn = self.hot.lease().await?;
        let committed = Self::commit_batch(&mut conn, items).await;
        // Cached again only once committed: after a failure the dropped
        // transaction's rollback is still to run, which sqlx's return path
        // does.
        if committed.is_ok() {
            conn.done(&committed);
        }
        committed
    }

    async fn commit_batch(
        conn: &mut SqliteConnection,
        items: &[ObjectWrite],
    ) -> Result<Vec<CoreResult<Option<BlobId>>>, sqlx::Error> {
        // BEGIN IMMEDIATE: see the module comment.
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let mut results = Vec::with_capacity(items.len());
        for w in items {
            results.push(upsert(&mut tx, w.owner, &w.meta, &w.condition).await?);
        }
        tx.commit().await?;
        Ok(results)
    }
}

#[async_trait]
impl StorageRepo for SqliteStorageRepo {
    async fn create_bucket(
        &self,
        bucket: &Bucket,
        tags: &Tags,
        lock: Option<&ObjectLockConfig>,
    ) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO buckets (name, owner_id, created_at, tags, versioning, object_lock)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(bucket.name.as_str())
        .bind(bucket.owner.to_string())
        .bind(fmt_time(bucket.created_at))
        .bind(bucket_tags_to_json(tags))
        .bind(lock.and_then(|_| Versioning::Enabled.as_stored()))
        .bind(lock.map(ObjectLockConfig::to_stored))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                CoreError::conflict(
                    ConflictKind::AlreadyExists,
                    format!("the bucket name `{}` is taken", bucket.name),
                )
            } else {
                db_err(e)
            }
        })?;
        Ok(())
    }

    async fn get_bucket(&self, name: &BucketName) -> CoreResult<Option<Bucket>> {
        let row = sqlx::query("SELECT name, owner_id, created_at FROM buckets WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref()
            .map(bucket_from_row)
            .transpose()
            .map_err(db_err)
    }

    async fn lookup_bucket(&self, name: &BucketName) -> CoreResult<Option<BucketLookup>> {
        let sql = format!("SELECT {BUCKET_LOOKUP_COLUMNS} FROM buckets b WHERE b.name = ?");
        let mut conn = self.hot.lease().await.map_err(db_err)?;
        let row = sqlx::query(&sql)
            .bind(name.as_str())
            .fetch_optional(&mut *conn)
            .await;
        conn.done(&row);
        let row = row.map_err(db_err)?;
        row.as_ref().map(bucket_lookup_from_row).transpose()
    }

    async fn lookup_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> CoreResult<Option<(BucketLookup, Option<ObjectMeta>)>> {
        // One statement for the two lookups of an owner's GET or HEAD: the
        // bucket, and the key's current version joined to it (NULL columns
        // when there is none).
        let sql = format!(
            "SELECT {BUCKET_AND_OBJECT_COLUMNS} FROM buckets b
             LEFT JOIN objects o ON o.bucket = b.name AND o.key = ?2 AND o.blob_id IS NOT NULL
             WHERE b.name = ?1"
        );
        let mut conn = self.hot.lease().await.map_err(db_err)?;
        let row = sqlx::query(&sql)
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes())
            .fetch_optional(&mut *conn)
            .await;
        conn.done(&row);
        let Some(row) = row.map_err(db_err)? else {
            return Ok(None);
        };
        let found = bucket_lookup_from_row(&row)?;
        let meta = (|| {
            if row.try_get::<Option<String>, _>("id")?.is_none() {
                return Ok(None);
            }
            object_from_row(&row, bucket).map(Some)
        })()
        .map_err(db_err)?;
        Ok(Some((found, meta)))
    }

    async fn get_bucket_with_lifecycle(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<(Bucket, Option<LifecycleConfiguration>)>> {
        let row =
            sqlx::query("SELECT name, owner_id, created_at, lifecycle FROM buckets WHERE name = ?")
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let bucket = bucket_from_row(&row).map_err(db_err)?;
        let lifecycle: Option<String> = row.try_get("lifecycle").map_err(db_err)?;
        // Decoded only when there is one, as in `lookup_bucket`.
        let lifecycle = stored_lifecycle(&bucket.name, lifecycle.as_deref());
        Ok(Some((bucket, lifecycle)))
    }

    async fn list_buckets(
        &self,
        owner: UserId,
        range: &NameRange,
        limit: u32,
    ) -> CoreResult<Vec<Bucket>> {
        // A range of buckets_owner_name_idx (BINARY collation: byte order).
        let upper = if range.end.is_some() {
            "AND name < ?4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT name, owner_id, created_at FROM buckets
             WHERE owner_id = ?1 AND name >= ?2 {upper} ORDER BY name LIMIT ?3"
        );
        let mut query = sqlx::query(&sql)
            .bind(owner.to_string())
            .bind(&range.start)
            .bind(i64::from(limit));
        if let Some(end) = &range.end {
            query = query.bind(end);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter()
            .map(bucket_from_row)
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }

    async fn delete_bucket(&self, owner: UserId, name: &BucketName) -> CoreResult<Vec<BlobId>> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        let owned: Option<String> =
            sqlx::query_scalar("SELECT owner_id FROM buckets WHERE name = ?")
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if owned != Some(owner.to_string()) {
            return Err(CoreError::not_found(Resource::Bucket, name.as_str()));
        }
        let has_objects: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = ?1)
                     OR EXISTS (SELECT 1 FROM object_versions WHERE bucket = ?1)",
        )
        .bind(name.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if has_objects {
            return Err(CoreError::conflict(
                ConflictKind::BucketNotEmpty,
                format!("the bucket `{name}` is not empty"),
            ));
        }
        // The uploads in progress go with the bucket, parts first to learn
        // their blobs.
        let blobs: Vec<String> = sqlx::query_scalar(
            "DELETE FROM multipart_parts WHERE upload_id IN
                 (SELECT id FROM multipart_uploads WHERE bucket = ?)
             RETURNING blob_id",
        )
        .bind(name.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM multipart_uploads WHERE bucket = ?")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM buckets WHERE name = ?")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        blobs
            .iter()
            .map(|s| parse_uuid(s).map(BlobId::from_uuid))
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)
    }

    async fn get_bucket_access(&self, name: &BucketName) -> CoreResult<Option<BucketAccess>> {
        let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT owner_id, policy, public_access_block FROM buckets WHERE name = ?",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some((owner, policy, block)) = row else {
            return Ok(None);
        };
        let owner = UserId::from_uuid(parse_uuid(&owner).map_err(db_err)?);
        let public_access_block = json_to_access_block(block.as_deref()).map_err(db_err)?;
        Ok(Some(BucketAccess {
            owner,
            policy,
            public_access_block,
        }))
    }

    async fn set_bucket_policy(
        &self,
        owner: UserId,
        name: &BucketName,
        policy: Option<&str>,
    ) -> CoreResult<bool> {
        self.set_bucket_setting(BucketSetting::Policy, owner, name, policy)
            .await
    }

    async fn set_public_access_block(
        &self,
        owner: UserId,
        name: &BucketName,
        block: Option<&PublicAccessBlock>,
    ) -> CoreResult<bool> {
        let json = access_block_to_json(block);
        self.set_bucket_setting(
            BucketSetting::PublicAccessBlock,
            owner,
            name,
            json.as_deref(),
        )
        .await
    }

    async fn get_bucket_cors(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<CorsConfiguration>>> {
        self.get_bucket_setting(BucketSetting::Cors, name)
            .await?
            .map(|json| json_to_cors(json.as_deref()))
            .transpose()
            .map_err(db_err)
    }

    async fn set_bucket_cors(
        &self,
        owner: UserId,
        name: &BucketName,
        cors: Option<&CorsConfiguration>,
    ) -> CoreResult<bool> {
        let json = cors_to_json(cors);
        self.set_bucket_setting(BucketSetting::Cors, owner, name, json.as_deref())
            .await
    }

    async fn get_bucket_website(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<WebsiteConfiguration>>> {
        self.get_bucket_setting(BucketSetting::Website, name)
            .await?
            .map(|json| json_to_website(json.as_deref()))
            .transpose()
            .map_err(db_err)
    }

    async fn set_bucket_website(
        &self,
        owner: UserId,
        name: &BucketName,
        website: Option<&WebsiteConfiguration>,
    ) -> CoreResult<bool> {
        let json = website_to_json(website);
        self.set_bucket_setting(BucketSetting::Website, owner, name, json.as_deref())
            .await
    }

    async fn get_bucket_tags(&self, name: &BucketName) -> CoreResult<Option<Tags>> {
        self.get_bucket_setting(BucketSetting::Tags, name)
            .await?
            .map(|json| json_to_bucket_tags(json.as_deref()))
            .transpose()
            .map_err(db_err)
    }

    async fn set_bucket_tags(
        &self,
        owner: UserId,
        name: &BucketName,
        tags: &Tags,
    ) -> CoreResult<bool> {
        let json = bucket_tags_to_json(tags);
        self.set_bucket_setting(BucketSetting::Tags, owner, name, json.as_deref())
            .await
    }

    async fn get_bucket_lifecycle(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<LifecycleConfiguration>>> {
        self.get_bucket_setting(BucketSetting::Lifecycle, name)
            .await?
            .map(|json| json_to_lifecycle(name, json.as_deref()))
            .transpose()
    }

    async fn set_bucket_lifecycle(
        &self,
        owner: UserId,
        name: &BucketName,
        lifecycle: Option<&LifecycleConfiguration>,
    ) -> CoreResult<bool> {
        let json = lifecycle_to_json(lifecycle);
        self.set_bucket_setting(BucketSetting::Lifecycle, owner, name, json.as_deref())
            .await
    }

    async fn lifecycle_buckets(
        &self,
        after: Option<&BucketName>,
        limit: u32,
    ) -> CoreResult<Vec<(Bucket, Option<LifecycleConfiguration>)>> {
        let rows = sqlx::query(
            "SELECT name, owner_id, created_at, lifecycle FROM buckets
             WHERE lifecycle IS NOT NULL AND name > ?
             ORDER BY name LIMIT ?",
        )
        .bind(after.map_or("", |a| a.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let bucket = bucket_from_row(row)?;
                let json: Option<String> = row.try_get("lifecycle")?;
                let lifecycle = stored_lifecycle(&bucket.name, json.as_deref());
                Ok((bucket, lifecycle))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_err)
    }

    async fn get_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> CoreResult<Option<ObjectMeta>> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects
             WHERE bucket = ? AND key = ? AND blob_id IS NOT NULL"
        );
        let row = sqlx::query(&sql)
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref()
            .map(|row| object_from_row(row, bucket))
            .transpose()
            .map_err(db_err)
    }

    async fn put_object_if(
        &self,
        owner: UserId,
        meta: &ObjectMeta,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>> {
        let mut conn = self.hot.lease().await.map_err(db_err)?;
        let written = upsert(&mut conn, owner, meta, condition).await;
        conn.done(&written);
        written.map_err(db_err)?
    }

    async fn put_objects(&self, items: &[ObjectWrite]) -> Vec<CoreResult<Option<BlobId>>> {
        if items.len() > 1 {
            match self.put_batch(items).await {
                Ok(results) => return results,
                Err(e) => {
                    tracing::warn!(error = %e, writes = items.len(), "a group commit failed; committing its writes one by one");
                }
            }
        }
        let mut results = Vec::with_capacity(items.len());
        for w in items {
            results.push(self.put_object_if(w.owner, &w.meta, &w.condition).await);
        }
        results
    }

    async fn set_object_tags(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        tags: &Tags,
    ) -> CoreResult<Option<(ObjectId, bool)>> {
        // One statement: the owner check and the update of whichever row is
        // current; nothing else of the row changes.
        let tagged: Option<(String, bool)> = sqlx::query_as(
            "UPDATE objects SET tags = ?1
             WHERE bucket = ?2 AND key = ?3 AND blob_id IS NOT NULL
               AND EXISTS (SELECT 1 FROM buckets WHERE name = ?2 AND owner_id = ?4)
             RETURNING id, versioned",
        )
        .bind(tags_to_json(tags))
        .bind(bucket.as_str())
        .bind(key.as_str().as_bytes())
        .bind(owner.to_string())
        .fetch_all(&self.pool)
        .await
        .map(first)
        .map_err(db_err)?;
        tagged
            .map(|(id, versioned)| parse_uuid(&id).map(|u| (ObjectId::from_uuid(u), versioned)))
            .transpose()
            .map_err(db_err)
    }

    async fn delete_object_where(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>> {
        let pool = &self.pool;
        let delete = |etag: Option<&str>| {
            let etag = etag.map(str::to_owned);
            async move {
                let deleted: Option<Option<String>> = sqlx::query_scalar(
                    "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 AND (?3 IS NULL OR etag = ?3)
                     RETURNING blob_id",
                )
                .bind(bucket.as_str())
                .bind(key.as_str().as_bytes())
                .bind(etag)
                .fetch_all(pool)
                .await
                .map(first)
                .map_err(db_err)?;
                deleted
                    .map(|blob| {
                        blob.map(|s| parse_uuid(&s).map(BlobId::from_uuid))
                            .transpose()
                    })
                    .transpose()
                    .map_err(db_err)
            }
        };
        let current = || async move {
            let etag: Option<Option<String>> =
                sqlx::query_scalar("SELECT etag FROM objects WHERE bucket = ? AND key = ?")
                    .bind(bucket.as_str())
                    .bind(key.as_str().as_bytes())
                    .fetch_optional(pool)
                    .await
                    .map_err(db_err)?;
            Ok(etag.map(|e| ETag::from_stored(e.unwrap_or_default())))
        };
        conditional_delete::delete_where(bucket, key, condition, delete, current).await
    }

    async fn delete_object_if(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        id: ObjectId,
        tags: &Tags,
    ) -> CoreResult<Option<BlobId>> {
        // One statement: the row goes only while it is still that version
        // with those tags (as stored by `tags_to_json`, deterministically)
        // in a bucket that is still the owner's, with a configuration.
        let deleted: Option<Option<String>> = sqlx::query_scalar(
            "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 AND id = ?3 AND tags = ?4
               AND EXISTS (SELECT 1 FROM buckets WHERE name = ?1 AND owner_id = ?5
                                                   AND lifecycle IS NOT NULL
                                                   AND versioning IS NULL)
             RETURNING blob_id",
        )
        .bind(bucket.as_str())
        .bind(key.as_str().as_bytes())
        .bind(id.to_string())
        .bind(tags_to_json(tags))
        .bind(owner.to_string())
        .fetch_all(&self.pool)
        .await
        .map(first)
        .map_err(db_err)?;
        deleted
            .flatten()
            .map(|s| parse_uuid(&s).map(BlobId::from_uuid))
            .transpose()
            .map_err(db_err)
    }

    async fn list_objects(
        &self,
        bucket: &BucketName,
        range: &KeyRange,
        limit: u32,
    ) -> CoreResult<Vec<ObjectSummary>> {
        // The page comes back as one JSON array in one row: sqlx hands
        // SQLite rows over from its worker thread one message per row, which
        // cost more than the scan itself on a page of 1,000. The inner query
        // is the ordered index range scan; keys travel as hex (they are
        // bytes, and JSON cannot carry a BLOB).
        let end_clause = if range.end.is_some() {
            "AND key < ?"
        } else {
            ""
        };
        // Only the columns a listing shows: the headers only when they name
        // a storage class (`instr` is a plain substring test; the decoder
        // reads the class itself).
        let sql = format!(
            "SELECT json_group_array(json_array(id, hex(key), size_bytes, etag, content_type,
                 user_metadata, created_at, tags,
                 CASE WHEN instr(headers, '{STORAGE_CLASS_HEADER}') THEN headers END))
             FROM (SELECT id, key, size_bytes, etag, content_type, user_metadata,
                       created_at, tags, headers
                   FROM objects
                   WHERE bucket = ? AND key >= ? {end_clause} AND blob_id IS NOT NULL
                   ORDER BY key LIMIT ?)"
        );
        let mut query = sqlx::query(&sql)
            .bind(bucket.as_str())
            .bind(range.start.as_slice());
        if let Some(end) = &range.end {
            query = query.bind(end.as_slice());
        }
        let row = query
            .bind(i64::from(limit))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        // Decoded from the row's own copy of the page (about 300 KB), not
        // from another.
        let json: &str = row.try_get(0).map_err(db_err)?;
        let mut objects = decode_listed_page(json).map_err(db_err)?;
        // SQLite feeds the aggregate in the subquery's order; sorting again
        // costs one pass over sorted input and makes the order certain.
        objects.sort_by(|a, b| a.key.as_str().as_bytes().cmp(b.key.as_str().as_bytes()));
        Ok(objects)
    }

    async fn object_blobs_after(
        &self,
        after: Option<BlobId>,
        limit: u32,
    ) -> CoreResult<Vec<BlobId>> {
        // A range scan of the unique index on blob_id (migration 0006),
        // which holds the ids: SQLite never reads the table (reading each
        // row's bucket and key too took ten times as long). Ids are stored
        // as hyphenated text, which sorts as the UUIDs. The page comes back
        // as one JSON row, as listings do: sqlx hands rows over from
        // SQLite's worker thread one message each.
        blob_id_page(
            &self.pool,
            "SELECT json_group_array(blob_id) FROM (
                 SELECT blob_id FROM objects
                 WHERE blob_id > ? ORDER BY blob_id LIMIT ?)",
            after,
            limit,
        )
        .await
    }

    async fn objects_of_blobs(
        &self,
        blobs: &[BlobId],
    ) -> CoreResult<Vec<(BlobId, String, String)>> {
        let mut found = Vec::new();
        // SQLite limits bound parameters per statement.
        for chunk in blobs.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT blob_id, bucket, key FROM objects WHERE blob_id IN ({placeholders})"
            );
            let mut q = sqlx::query_as::<_, (String, String, Vec<u8>)>(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for (blob, bucket, key) in q.fetch_all(&self.pool).await.map_err(db_err)? {
                found.push((
                    BlobId::from_uuid(parse_uuid(&blob).map_err(db_err)?),
                    bucket,
                    String::from_utf8_lossy(&key).into_owned(),
                ));
            }
        }
        Ok(found)
    }

    async fn set_bucket_versioning(
        &self,
        owner: UserId,
        name: &BucketName,
        versioning: Versioning,
    ) -> CoreResult<bool> {
        // A bucket with Object Lock is never suspended: checked in the
        // statement, so an Object Lock enabled meanwhile (which needs
        // Enabled, in its own statement) cannot be followed by a suspend.
        if versioning == Versioning::Suspended {
            let done = sqlx::query(
                "UPDATE buckets SET versioning = 'Suspended' WHERE name = ? AND owner_id = ?
                     AND object_lock IS NULL",
            )
            .bind(name.as_str())
            .bind(owner.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
            return Ok(done.rows_affected() == 1);
        }
        self.set_bucket_setting(
            BucketSetting::Versioning,
            owner,
            name,
            versioning.as_stored(),
        )
        .await
    }

    async fn put_delete_marker_if(
        &self,
        owner: UserId,
        marker: &DeleteMarker,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::put_delete_marker(&mut conn, owner, marker, condition)
            .await
            .map_err(db_err)?
    }

    async fn get_object_version(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: VersionId,
    ) -> CoreResult<Option<ListedVersion>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::get_object_version(&mut conn, bucket, key, version)
            .await
            .map_err(db_err)
    }

    async fn delete_object_version(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        version: VersionId,
        bypass_governance: bool,
    ) -> CoreResult<Option<ObjectVersion>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::delete_object_version(&mut conn, owner, bucket, key, version, bypass_governance)
            .await
            .map_err(db_err)?
    }

    async fn set_bucket_object_lock(
        &self,
        owner: UserId,
        name: &BucketName,
        config: &ObjectLockConfig,
    ) -> CoreResult<BucketLockSet> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::set_bucket_object_lock(&mut conn, owner, name, config)
            .await
            .map_err(db_err)
    }

    async fn set_version_lock(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        version: VersionId,
        change: &LockChange,
        now: time::OffsetDateTime,
    ) -> CoreResult<VersionLock> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::set_version_lock(&mut conn, owner, bucket, key, version, change, now)
            .await
            .map_err(db_err)?
    }

    async fn set_version_tags(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        version: VersionId,
        tags: &Tags,
    ) -> CoreResult<VersionTags> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::set_version_tags(&mut conn, owner, bucket, key, version, tags)
            .await
            .map_err(db_err)?
    }

    async fn list_versions(
        &self,
        bucket: &BucketName,
        range: &KeyRange,
        after: Option<(&ObjectKey, Option<i64>)>,
        limit: u32,
    ) -> CoreResult<Vec<ListedVersion>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::list_versions(&mut conn, bucket, range, after, limit)
            .await
            .map_err(db_err)
    }

    async fn version_blobs_after(
        &self,
        after: Option<BlobId>,
        limit: u32,
    ) -> CoreResult<Vec<BlobId>> {
        // A range scan of object_versions_blob_idx (migration 0017); delete
        // markers (NULL) sort first and are skipped by `>`.
        blob_id_page(
            &self.pool,
            "SELECT json_group_array(blob_id) FROM (
                 SELECT blob_id FROM object_versions
                 WHERE blob_id > ? ORDER BY blob_id LIMIT ?)",
            after,
            limit,
        )
        .await
    }

    async fn expire_current_version(
        &self,
        owner: UserId,
        marker: &DeleteMarker,
        current: ObjectId,
        tags: &Tags,
    ) -> CoreResult<Option<Option<BlobId>>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::expire_current_version(&mut conn, owner, marker, current, tags)
            .await
            .map_err(db_err)
    }

    async fn expire_noncurrent_version(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        seq: i64,
        newer: u32,
        tags: &Tags,
    ) -> CoreResult<Option<Option<BlobId>>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::expire_noncurrent_version(&mut conn, owner, bucket, key, seq, newer, tags)
            .await
            .map_err(db_err)
    }

    async fn remove_expired_delete_marker(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        seq: i64,
    ) -> CoreResult<bool> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        versions::remove_expired_delete_marker(&mut conn, owner, bucket, key, seq)
            .await
            .map_err(db_err)
    }

    async fn part_blobs_after(&self, after: Option<BlobId>, limit: u32) -> CoreResult<Vec<BlobId>> {
        // A range scan of multipart_parts_blob_idx (migration 0007), the
        // page as one JSON row as in `object_blobs_after`.
        blob_id_page(
            &self.pool,
            "SELECT json_group_array(blob_id) FROM (
                 SELECT DISTINCT blob_id FROM multipart_parts
                 WHERE blob_id > ? ORDER BY blob_id LIMIT ?)",
            after,
            limit,
        )
        .await
    }
}

/// One page of blob ids after `after`, from `sql` (a `json_group_array` over
/// an ordered, limited subquery taking `after` and `limit`), in the
/// subquery's order. Not sorted again here: the sweep checks that the ids
/// ascend and stops if not (a row stored in another spelling, sorting
/// elsewhere as text, would otherwise be skipped and its blob taken for an
/// orphan).
async fn blob_id_page(
    pool: &SqlitePool,
    sql: &str,
    after: Option<BlobId>,
    limit: u32,
) -> CoreResult<Vec<BlobId>> {
    let json: String = sqlx::query_scalar(sql)
        .bind(after.map(|b| b.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    let ids: Vec<String> =
        serde_json::from_str(&json).map_err(|e| db_err(sqlx::Error::Decode(Box::new(e))))?;
    ids.iter()
        .map(|id| Ok(BlobId::from_uuid(parse_uuid(id).map_err(db_err)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_rows_decode_with_and_without_escapes() {
        // As SQLite's json_array writes them: the second row's strings
        // hold escapes (quotes, a backslash, a control character), so they
        // cannot be borrowed; a legacy quoted ETag loses its quotes. The
        // last column is the headers, sent only when they name a storage
        // class.
        let metadata = serde_json::json!({ "q": "a\"b\\c\u{1}" }).to_string();
        let json = serde_json::json!([
            [
                "00000000-0000-0000-0000-000000000001",
                "612F62",
                5,
                "5d41402abc4b2a76b9719d911017c592",
                "text/plain",
                "{}",
                "2026-01-02T03:04:05.000007Z",
                "[]",
                null
            ],
            [
                "00000000-0000-0000-0000-000000000002",
                "6E756C00",
                7,
                "\"abc-2\"",
                "multipart/mixed; boundary=\"x\"",
                metadata,
                null,
                r#"[["k","v"]]"#,
                r#"{"x-amz-checksum-crc32":"AAAAAA==","x-amz-storage-class":"STANDARD_IA"}"#
            ],
            [
                "00000000-0000-0000-0000-000000000003",
                "63",
                0,
                null,
                null,
                "{}",
                null,
                "[]",
                r#"{"content-disposition":"x-amz-storage-class"}"#
            ]
        ])
        .to_string();
        let objects = decode_listed_page(&json).unwrap();
        assert_eq!(objects.len(), 3);
        let (a, b, c) = (&objects[0], &objects[1], &objects[2]);
        assert_eq!(a.key.as_str(), "a/b");
        assert_eq!(a.size_bytes, 5);
        assert_eq!(a.etag.as_str(), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(a.content_type, "text/plain");
        assert!(a.user_metadata.is_empty() && a.tags.is_empty());
        assert_eq!(a.storage_class, None);
        assert_eq!(
            a.last_modified,
            time::macros::datetime!(2026-01-02 03:04:05.000007 UTC)
        );
        assert_eq!(b.key.as_str(), "nul\0");
        assert_eq!(b.etag.as_str(), "abc-2");
        assert_eq!(b.content_type, "multipart/mixed; boundary=\"x\"");
        assert_eq!(b.user_metadata["q"], "a\"b\\c\u{1}");
        assert_eq!(b.last_modified, time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(b.tags.as_pairs(), [("k".to_owned(), "v".to_owned())]);
        assert_eq!(b.storage_class.as_deref(), Some("STANDARD_IA"));
        // The substring test let these headers through; they name no class.
        assert_eq!(c.storage_class, None);
        assert_eq!(c.content_type, "application/octet-stream");
        assert_eq!(c.etag.as_str(), "");
        assert!(decode_listed_page("[[1]]").is_err());
    }
}
