//! [`StorageRepo`] on PostgreSQL.

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
use sqlx::postgres::{PgConnection, PgPool, PgRow, Postgres};
use sqlx::{Connection, Row};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

use super::versions;
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

/// Buckets and object metadata in PostgreSQL.
///
/// The hot statements (`lookup_object`, `lookup_bucket`, the object
/// commits) run on connections leased from `hot`, which skip the ping sqlx
/// pays on every connection returned to the pool (see [`HotConnections`]);
/// the others on the pool.
pub(crate) struct PgStorageRepo {
    pool: PgPool,
    hot: Arc<HotConnections<Postgres>>,
}

impl PgStorageRepo {
    pub(crate) fn new(pool: PgPool, hot: Arc<HotConnections<Postgres>>) -> Self {
        Self { pool, hot }
    }

    /// One of the bucket's settings, whoever owns the bucket: `None` when
    /// there is no such bucket, `Some(None)` when the setting is unset.
    async fn get_bucket_setting(
        &self,
        setting: BucketSetting,
        name: &BucketName,
    ) -> CoreResult<Option<Option<String>>> {
        let sql = format!("SELECT {} FROM buckets WHERE name = $1", setting.column());
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
            "UPDATE buckets SET {} = $1 WHERE name = $2 AND owner_id = $3",
            setting.column()
        );
        let done = sqlx::query(&sql)
            .bind(value)
            .bind(name.as_str())
            .bind(owner.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}

fn bucket_from_row(row: &PgRow) -> Result<Bucket, sqlx::Error> {
    Ok(Bucket {
        name: decode_bucket(row.try_get("name")?)?,
        owner: UserId::from_uuid(row.try_get("owner_id")?),
        created_at: row.try_get("created_at")?,
    })
}

/// An object row of `bucket` (the bucket every query here filters on, so
/// it is not decoded again per row).
fn object_from_row(row: &PgRow, bucket: &BucketName) -> Result<ObjectMeta, sqlx::Error> {
    let size: i64 = row.try_get("size_bytes")?;
    Ok(ObjectMeta {
        id: ObjectId::from_uuid(row.try_get("id")?),
        bucket: bucket.clone(),
        key: decode_key(row.try_get("key")?)?,
        blob_id: BlobId::from_uuid(row.try_get("blob_id")?),
        size_bytes: u64::try_from(size).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        etag: ETag::from_stored(row.try_get::<String, _>("etag")?),
        content_type: row
            .try_get::<Option<String>, _>("content_type")?
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        user_metadata: json_to_map(row.try_get("user_metadata")?)?,
        headers: json_to_map(row.try_get("headers")?)?,
        last_modified: row
            .try_get::<Option<OffsetDateTime>, _>("created_at")?
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        parts: json_to_parts(row.try_get("parts")?)?,
        tags: json_to_tags(row.try_get("tags")?)?,
        versioned: row.try_get("versioned")?,
        in_versioned_bucket: false,
        lock: stored_lock(
            row.try_get("lock_mode")?,
            row.try_get("lock_until")?,
            row.try_get("legal_hold")?,
        ),
    })
}

/// The columns of a listing, in the order [`summary_from_row`] reads them
/// by position: the headers only when they name a storage class
/// (`strpos` is a plain substring test for [`STORAGE_CLASS_HEADER`]; the
/// decoder reads the class).
const LISTED_COLUMNS: &str = "id, key, size_bytes, etag, content_type, user_metadata, created_at,
     tags, CASE WHEN strpos(headers, 'x-amz-storage-class') > 0 THEN headers END";
const _: () = assert!(matches!(
    STORAGE_CLASS_HEADER.as_bytes(),
    b"x-amz-storage-class"
));

/// An object as a listing shows it, from a row of [`LISTED_COLUMNS`].
fn summary_from_row(row: &PgRow) -> Result<ObjectSummary, sqlx::Error> {
    let size: i64 = row.try_get(2)?;
    Ok(ObjectSummary {
        id: ObjectId::from_uuid(row.try_get(0)?),
        key: decode_key(row.try_get(1)?)?,
        size_bytes: u64::try_from(size).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        etag: ETag::from_stored(row.try_get::<String, _>(3)?),
        content_type: row
            .try_get::<Option<String>, _>(4)?
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        user_metadata: json_to_map(row.try_get(5)?)?,
        last_modified: row
            .try_get::<Option<OffsetDateTime>, _>(6)?
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        tags: json_to_tags(row.try_get(7)?)?,
        storage_class: stored_storage_class(row.try_get(8)?)?,
    })
}

/// A bucket as [`StorageRepo::lookup_bucket`] reads it, from a row with
/// [`BUCKET_LOOKUP_COLUMNS`] (alone, or before a joined object's columns):
/// the lifecycle configuration is decoded only when there is one.
fn bucket_lookup_from_row(row: &PgRow) -> CoreResult<BucketLookup> {
    let (bucket, policy, lifecycle, versioning, object_lock) = (|| {
        let bucket = Bucket {
            name: decode_bucket(row.try_get("b_name")?)?,
            owner: UserId::from_uuid(row.try_get("b_owner_id")?),
            created_at: row.try_get("b_created_at")?,
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

fn size_param(meta: &ObjectMeta) -> CoreResult<i64> {
    i64::try_from(meta.size_bytes)
        .map_err(|_| CoreError::TooLarge("the object is larger than 2^63 bytes".into()))
}

/// Commits one write in a single statement: the owner check (`EXISTS`),
/// the upsert, and the replaced blob (the update copies the old `blob_id`
/// into `replaced_blob_id`, migration 0008, and `RETURNING` hands it back;
/// `ON CONFLICT DO UPDATE` locks the row, so of two concurrent writes the
/// second returns the first's blob). No row back: `owner` does not own the
/// bucket, or the bucket is versioned (migration 0017: the write then goes
/// through [`versions::versioned_upsert`], which keeps the old version),
/// and nothing was written. The versioning check reads the bucket row the
/// owner check reads already: an unversioned write costs what it did. A
/// bucket deleted meanwhile fails the foreign key.
const UPSERT_OBJECT: &str = "
    INSERT INTO objects (id, arn, bucket, key, size_bytes, content_type, created_at,
        blob_id, etag, user_metadata, headers, replaced_blob_id, parts, tags)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $13, $14
    WHERE EXISTS (SELECT 1 FROM buckets WHERE name = $3 AND owner_id = $12 AND versioning IS NULL)
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
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $13, $14
    WHERE EXISTS (SELECT 1 FROM buckets WHERE name = $3 AND owner_id = $12 AND versioning IS NULL)
    ON CONFLICT (bucket, key) DO NOTHING
    RETURNING replaced_blob_id";

/// [`WriteCondition::Exists`] / [`WriteCondition::ETagIs`]: an update of
/// the existing row only, when its ETag is `$15` (any when `$15` is NULL).
/// The row lock makes it a compare-and-swap: a concurrent writer of the key
/// waits, then the condition is evaluated again on the row it committed.
const UPDATE_OBJECT_IF_MATCH: &str = "
    UPDATE objects SET
        id = $1, arn = $2, size_bytes = $5, content_type = $6, created_at = $7,
        deleted_at = NULL, blob_id = $8, etag = $9, user_metadata = $10, headers = $11,
        replaced_blob_id = blob_id, parts = $13, tags = $14
    WHERE bucket = $3 AND key = $4 AND ($15::text IS NULL OR etag = $15)
        AND EXISTS (SELECT 1 FROM buckets WHERE name = $3 AND owner_id = $12
                    AND versioning IS NULL)
    RETURNING replaced_blob_id";

/// Commits one write on `conn`, under `condition`. The outer error is a
/// database failure; the inner one concerns this write alone. Also the
/// object write of a multipart completion's transaction.
pub(super) async fn upsert(
    conn: &mut PgConnection,
    owner: UserId,
    meta: &ObjectMeta,
    condition: &WriteCondition,
) -> Result<CoreResult<Option<BlobId>>, sqlx::Error> {
    let size = match size_param(meta) {
        Ok(size) => size,
        Err(e) => return Ok(Err(e)),
    };
    let (sql, etag) = match condition {
        WriteCondition::Always => (UPSERT_OBJECT, None),
        WriteCondition::Absent => (INSERT_OBJECT_IF_ABSENT, None),
        WriteCondition::Exists => (UPDATE_OBJECT_IF_MATCH, None),
        WriteCondition::ETagIs(etag) => (UPDATE_OBJECT_IF_MATCH, Some(etag.as_str())),
    };
    let mut query = sqlx::query_scalar(sql)
        .bind(meta.id.as_uuid())
        .bind(stored_arn(owner, &meta.bucket, &meta.key))
        .bind(meta.bucket.as_str())
        .bind(meta.key.as_str().as_bytes())
        .bind(size)
        .bind(&meta.content_type)
        .bind(meta.last_modified)
        .bind(meta.blob_id.as_uuid())
        .bind(meta.etag.as_str())
        .bind(map_to_json(&meta.user_metadata))
        .bind(map_to_json(&meta.headers))
        .bind(owner.as_uuid())
        .bind(parts_to_json(&meta.parts))
        .bind(tags_to_json(&meta.tags));
    if sql == UPDATE_OBJECT_IF_MATCH {
        query = query.bind(etag);
    }
    let row: Option<Option<Uuid>> = first(query.fetch_all(&mut *conn).await?);
    Ok(match row {
        Some(replaced) => Ok(replaced.map(BlobId::from_uuid)),
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
/// is versioned, and the key's current ETag (for the condition; read again
/// after the fact: should the key have changed in between, still
/// `PreconditionFailed`).
async fn refusal(
    conn: &mut PgConnection,
    owner: UserId,
    meta: &ObjectMeta,
) -> Result<(bool, bool, Option<String>), sqlx::Error> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM buckets WHERE name = $1 AND owner_id = $2),
            EXISTS (SELECT 1 FROM buckets WHERE name = $1 AND owner_id = $2
                                          AND versioning IS NOT NULL),
            (SELECT etag FROM objects WHERE bucket = $1 AND key = $3)",
    )
    .bind(meta.bucket.as_str())
    .bind(owner.as_uuid())
    .bind(meta.key.as_str().as_bytes())
    .fetch_one(conn)
    .await
}

pub(super) fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// The error of an [`upsert`] into `bucket`: a foreign-key violation means
/// the bucket was deleted between the owner check and the insert.
pub(super) fn upsert_error(e: sqlx::Error, bucket: &BucketName) -> CoreError {
    if is_fk_violation(&e) {
        CoreError::not_found(Resource::Bucket, bucket.as_str())
    } else {
        db_err(e)
    }
}

impl PgStorageRepo {
    /// Every write of `items` in one transaction; a database error fails
    /// the whole batch, and nothing of it is kept.
    async fn put_batch(
        &self,
        items: &[ObjectWrite],
    ) -> Result<Vec<CoreResult<Option<BlobId>>>, sqlx::Error> {
        let mut conn = self.hot.lease().await?;
        let committed = Self::commit_batch(&mut conn, items).await;
        // Cached again only once committed: after a failure the dropped
        // transaction's ROLLBACK is still queued, which sqlx's return path
        // flushes.
        if committed.is_ok() {
            conn.done(&committed);
        }
        committed
    }

    async fn commit_batch(
        conn: &mut PgConnection,
        items: &[ObjectWrite],
    ) -> Result<Vec<CoreResult<Option<BlobId>>>, sqlx::Error> {
        let mut tx = conn.begin().await?;
        let mut results = Vec::with_capacity(items.len());
        for w in items {
            results.push(upsert(&mut tx, w.owner, &w.meta, &w.condition).await?);
        }
        tx.commit().await?;
        Ok(results)
    }
}

#[async_trait]
impl StorageRepo for PgStorageRepo {
    async fn create_bucket(
        &self,
        bucket: &Bucket,
        tags: &Tags,
        lock: Option<&ObjectLockConfig>,
    ) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO buckets (name, owner_id, created_at, tags, versioning, object_lock)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(bucket.name.as_str())
        .bind(bucket.owner.as_uuid())
        .bind(bucket.created_at)
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
        let row = sqlx::query("SELECT name, owner_id, created_at FROM buckets WHERE name = $1")
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
        let sql = format!("SELECT {BUCKET_LOOKUP_COLUMNS} FROM buckets b WHERE b.name = $1");
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
             LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2 AND o.blob_id IS NOT NULL
             WHERE b.name = $1"
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
            if row.try_get::<Option<Uuid>, _>("id")?.is_none() {
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
        let row = sqlx::query(
            "SELECT name, owner_id, created_at, lifecycle FROM buckets WHERE name = $1",
        )
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
        // Byte order is the "C" collation; buckets_owner_name_c_idx
        // (migration 0016) is in that collation, so this is one range of
        // it. The database's default collation may be another, whose index
        // could serve neither the order nor the bounds.
        let upper = if range.end.is_some() {
            "AND name COLLATE \"C\" < $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT name, owner_id, created_at FROM buckets
             WHERE owner_id = $1 AND name COLLATE \"C\" >= $2 {upper}
             ORDER BY name COLLATE \"C\" LIMIT $3"
        );
        let mut query = sqlx::query(&sql)
            .bind(owner.as_uuid())
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
        let not_empty = || {
            CoreError::conflict(
                ConflictKind::BucketNotEmpty,
                format!("the bucket `{name}` is not empty"),
            )
        };
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let owned: Option<Uuid> =
            sqlx::query_scalar("SELECT owner_id FROM buckets WHERE name = $1 FOR UPDATE")
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if owned != Some(owner.as_uuid()) {
            return Err(CoreError::not_found(Resource::Bucket, name.as_str()));
        }
        let has_objects: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = $1)
                     OR EXISTS (SELECT 1 FROM object_versions WHERE bucket = $1)",
        )
        .bind(name.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if has_objects {
            return Err(not_empty());
        }
        // The uploads in progress go with the bucket: locked first, as
        // `put_part` locks its upload (a part committed after the parts
        // were read would otherwise be cascaded away unseen), then parts
        // first to learn their blobs.
        sqlx::query("SELECT 1 FROM multipart_uploads WHERE bucket = $1 FOR UPDATE")
            .bind(name.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let blobs: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM multipart_parts WHERE upload_id IN
                 (SELECT id FROM multipart_uploads WHERE bucket = $1)
             RETURNING blob_id",
        )
        .bind(name.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM multipart_uploads WHERE bucket = $1")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // The foreign key catches an object committed after the check.
        sqlx::query("DELETE FROM buckets WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => not_empty(),
                _ => db_err(e),
            })?;
        tx.commit().await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => not_empty(),
            _ => db_err(e),
        })?;
        Ok(blobs.into_iter().map(BlobId::from_uuid).collect())
    }

    async fn get_bucket_access(&self, name: &BucketName) -> CoreResult<Option<BucketAccess>> {
        let row: Option<(uuid::Uuid, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT owner_id, policy, public_access_block FROM buckets WHERE name = $1",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some((owner, policy, block)) = row else {
            return Ok(None);
        };
        let owner = UserId::from_uuid(owner);
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
        // Byte order, as `list_buckets` (and SQLite) order names.
        let rows = sqlx::query(
            "SELECT name, owner_id, created_at, lifecycle FROM buckets
             WHERE lifecycle IS NOT NULL AND name COLLATE \"C\" > $1
             ORDER BY name COLLATE \"C\" LIMIT $2",
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
             WHERE bucket = $1 AND key = $2 AND blob_id IS NOT NULL"
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
        written.map_err(|e| upsert_error(e, &meta.bucket))?
    }

    async fn put_objects(&self, items: &[ObjectWrite]) -> Vec<CoreResult<Option<BlobId>>> {
        if items.len() > 1 {
            match self.put_batch(items).await {
                Ok(results) => return results,
                // A foreign-key failure (a bucket deleted meanwhile) aborts
                // the transaction: the others commit one by one.
                Err(e) => {
                    tracing::debug!(error = %e, writes = items.len(), "a group commit failed; committing its writes one by one");
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
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let tagged = versions::set_current_tags(&mut conn, owner, bucket, key, tags)
            .await
            .map_err(db_err)?;
        Ok(tagged.map(|(id, versioned)| (ObjectId::from_uuid(id), versioned)))
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
                let deleted: Option<Option<Uuid>> = sqlx::query_scalar(
                    "DELETE FROM objects
                     WHERE bucket = $1 AND key = $2 AND ($3::text IS NULL OR etag = $3)
                     RETURNING blob_id",
                )
                .bind(bucket.as_str())
                .bind(key.as_str().as_bytes())
                .bind(etag)
                .fetch_all(pool)
                .await
                .map(first)
                .map_err(db_err)?;
                Ok(deleted.map(|blob| blob.map(BlobId::from_uuid)))
            }
        };
        let current = || async move {
            let etag: Option<Option<String>> =
                sqlx::query_scalar("SELECT etag FROM objects WHERE bucket = $1 AND key = $2")
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
        let deleted: Option<Option<Uuid>> = sqlx::query_scalar(
            "DELETE FROM objects WHERE bucket = $1 AND key = $2 AND id = $3 AND tags = $4
               AND EXISTS (SELECT 1 FROM buckets WHERE name = $1 AND owner_id = $5
                                                   AND lifecycle IS NOT NULL
                                                   AND versioning IS NULL)
             RETURNING blob_id",
        )
        .bind(bucket.as_str())
        .bind(key.as_str().as_bytes())
        .bind(id.as_uuid())
        .bind(tags_to_json(tags))
        .bind(owner.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map(first)
        .map_err(db_err)?;
        Ok(deleted.flatten().map(BlobId::from_uuid))
    }

    async fn list_objects(
        &self,
        bucket: &BucketName,
        range: &KeyRange,
        limit: u32,
    ) -> CoreResult<Vec<ObjectSummary>> {
        // Only the columns a listing shows (see [`LISTED_COLUMNS`]).
        let rows = match &range.end {
            Some(end) => {
                let sql = format!(
                    "SELECT {LISTED_COLUMNS} FROM objects
                     WHERE bucket = $1 AND key >= $2 AND key < $3 AND blob_id IS NOT NULL
                     ORDER BY key LIMIT $4"
                );
                sqlx::query(&sql)
                    .bind(bucket.as_str())
                    .bind(range.start.as_slice())
                    .bind(end.as_slice())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                let sql = format!(
                    "SELECT {LISTED_COLUMNS} FROM objects
                     WHERE bucket = $1 AND key >= $2 AND blob_id IS NOT NULL
                     ORDER BY key LIMIT $3"
                );
                sqlx::query(&sql)
                    .bind(bucket.as_str())
                    .bind(range.start.as_slice())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(db_err)?;
        rows.iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }

    async fn object_blobs_after(
        &self,
        after: Option<BlobId>,
        limit: u32,
    ) -> CoreResult<Vec<BlobId>> {
        // A range scan of the unique index on blob_id (migration 0006),
        // index-only once the table is vacuumed.
        blob_id_page(
            &self.pool,
            "SELECT blob_id FROM objects
                 WHERE blob_id IS NOT NULL ORDER BY blob_id LIMIT $1",
            "SELECT blob_id FROM objects
                 WHERE blob_id > $2 ORDER BY blob_id LIMIT $1",
            after,
            limit,
        )
        .await
    }

    async fn objects_of_blobs(
        &self,
        blobs: &[BlobId],
    ) -> CoreResult<Vec<(BlobId, String, String)>> {
        let ids: Vec<Uuid> = blobs.iter().map(BlobId::as_uuid).collect();
        let rows: Vec<(Uuid, String, Vec<u8>)> =
            sqlx::query_as("SELECT blob_id, bucket, key FROM objects WHERE blob_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(blob, bucket, key)| {
                (
                    BlobId::from_uuid(blob),
                    bucket,
                    String::from_utf8_lossy(&key).into_owned(),
                )
            })
            .collect())
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
                "UPDATE buckets SET versioning = 'Suspended' WHERE name = $1 AND owner_id = $2
                     AND object_lock IS NULL",
            )
            .bind(name.as_str())
            .bind(owner.as_uuid())
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
            .map_err(|e| upsert_error(e, &marker.bucket))?
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
        // A range scan of object_versions_blob_idx (migration 0017), as
        // `object_blobs_after` scans objects'.
        blob_id_page(
            &self.pool,
            "SELECT blob_id FROM object_versions
                 WHERE blob_id IS NOT NULL ORDER BY blob_id LIMIT $1",
            "SELECT blob_id FROM object_versions
                 WHERE blob_id > $2 ORDER BY blob_id LIMIT $1",
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
        // A range scan of multipart_parts_blob_idx (migration 0007).
        blob_id_page(
            &self.pool,
            "SELECT DISTINCT blob_id FROM multipart_parts ORDER BY blob_id LIMIT $1",
            "SELECT DISTINCT blob_id FROM multipart_parts
                 WHERE blob_id > $2 ORDER BY blob_id LIMIT $1",
            after,
            limit,
        )
        .await
    }
}

/// One page of blob ids after `after`: `first` (taking the limit as `$1`)
/// for the first page, `next` (the limit as `$1`, `after` as `$2`) for the
/// others. Two statements rather than `$2 IS NULL OR blob_id > $2`: a
/// generic plan of that one filters the index from its start on every page.
async fn blob_id_page(
    pool: &PgPool,
    first: &'static str,
    next: &'static str,
    after: Option<BlobId>,
    limit: u32,
) -> CoreResult<Vec<BlobId>> {
    let found: Vec<Uuid> = match after {
        None => sqlx::query_scalar(first).bind(i64::from(limit)),
        Some(after) => sqlx::query_scalar(next)
            .bind(i64::from(limit))
            .bind(after.as_uuid()),
    }
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    Ok(found.into_iter().map(BlobId::from_uuid).collect())
}
