//! Object versions on PostgreSQL (migration 0017): `objects` holds each key's
//! current version, `object_versions` its noncurrent versions and delete
//! markers. Every statement that changes a versioned bucket runs in one
//! transaction that first locks the bucket's row (`FOR NO KEY UPDATE`,
//! which also checks its owner, and does not block the foreign-key checks
//! of other writes), so versioned writes of one bucket serialise and no
//! other one lands between a read of a key's versions and the change made
//! from it.

use miniaws_core::identity::UserId;
use miniaws_core::storage::{
    BlobId, BucketLockSet, BucketName, DeleteMarker, ETag, KeyRange, ListedVersion, LockChange,
    ObjectId, ObjectKey, ObjectLockConfig, ObjectMeta, ObjectVersion, Tags, VersionId, VersionLock,
    VersionTags, WriteCondition,
};
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Connection, Row};

use crate::storage_rows::{
    decode_key, json_to_map, json_to_parts, json_to_tags, map_to_json, parts_to_json, stored_arn,
    stored_lock, tags_to_json,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of a version row, in both tables (`objects` has no
/// `delete_marker` and no `seq`: the select lists supply them).
const VERSION_COLUMNS: &str = "id, key, blob_id, size_bytes, etag, content_type, user_metadata, \
     headers, created_at, parts, tags, versioned, lock_mode, lock_until, legal_hold";

/// Takes the write lock for the rest of the transaction and reads the
/// bucket's versioning state, if `owner` owns it (`None`: not theirs).
async fn lock_bucket(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT versioning FROM buckets WHERE name = $1 AND owner_id = $2 FOR NO KEY UPDATE",
    )
    .bind(bucket.as_str())
    .bind(owner.as_uuid())
    .fetch_optional(&mut *conn)
    .await
}

/// Whether `condition` holds for the current version of `key` (a delete
/// marker as the latest version is none). Called under the bucket's write
/// lock ([`lock_bucket`]), so no write of the key lands between this read
/// and the write it guards.
async fn check_current(
    conn: &mut PgConnection,
    bucket: &BucketName,
    key: &ObjectKey,
    condition: &WriteCondition,
) -> Result<CoreResult<()>, sqlx::Error> {
    if *condition == WriteCondition::Always {
        return Ok(Ok(()));
    }
    let current: Option<String> =
        sqlx::query_scalar("SELECT etag FROM objects WHERE bucket = $1 AND key = $2")
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes())
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    Ok(condition.check(
        bucket.as_str(),
        key.as_str(),
        current.map(ETag::from_stored).as_ref(),
    ))
}

fn blob_of(s: Option<Uuid>) -> Result<Option<BlobId>, sqlx::Error> {
    Ok(s.map(BlobId::from_uuid))
}

/// Makes the key's current version noncurrent before a new latest version
/// (an object written with `versioned`, or a delete marker) takes its
/// place: moved into `object_versions`, unless both it and the newcomer are
/// `null` versions (then it is replaced: its blob comes back to be
/// removed). A `null` newcomer also replaces the key's noncurrent `null`
/// version. The current row is gone afterwards.
async fn retire_current(
    conn: &mut PgConnection,
    bucket: &BucketName,
    key: &ObjectKey,
    versioned: bool,
) -> Result<Option<BlobId>, sqlx::Error> {
    let now = miniaws_core::clock::now_utc();
    let current: Option<(bool, Option<Uuid>)> =
        sqlx::query_as("SELECT versioned, blob_id FROM objects WHERE bucket = $1 AND key = $2")
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes())
            .fetch_optional(&mut *conn)
            .await?;
    let mut freed = None;
    if let Some((current_versioned, blob)) = current {
        if !versioned && !current_versioned {
            freed = blob_of(blob)?;
        } else {
            sqlx::query(&format!(
                "INSERT INTO object_versions ({VERSION_COLUMNS}, bucket, delete_marker, noncurrent_at)
                 SELECT {VERSION_COLUMNS}, bucket, FALSE, $1 FROM objects
                 WHERE bucket = $2 AND key = $3"
            ))
            .bind(now)
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes())
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query("DELETE FROM objects WHERE bucket = $1 AND key = $2")
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes())
            .execute(&mut *conn)
            .await?;
    }
    if !versioned {
        let old_null: Vec<Option<Uuid>> = sqlx::query_scalar(
            "DELETE FROM object_versions WHERE bucket = $1 AND key = $2 AND NOT versioned
             RETURNING blob_id",
        )
        .bind(bucket.as_str())
        .bind(key.as_str().as_bytes())
        .fetch_all(&mut *conn)
        .await?;
        for blob in old_null {
            if let Some(b) = blob_of(blob)? {
                freed = Some(b);
            }
        }
    }
    Ok(freed)
}

/// Inserts `meta` as the current row (none is left by [`retire_current`]).
async fn insert_current(
    conn: &mut PgConnection,
    owner: UserId,
    meta: &ObjectMeta,
) -> Result<(), sqlx::Error> {
    let size = i64::try_from(meta.size_bytes).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO objects (id, arn, bucket, key, size_bytes, content_type, created_at,
             blob_id, etag, user_metadata, headers, parts, tags, versioned, lock_mode,
             lock_until, legal_hold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
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
    .bind(parts_to_json(&meta.parts))
    .bind(tags_to_json(&meta.tags))
    .bind(meta.versioned)
    .bind(meta.lock.retention.map(|r| r.mode.as_str()))
    .bind(meta.lock.retention.map(|r| r.retain_until))
    .bind(meta.lock.legal_hold)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The Object Lock configuration of `bucket` (`None`: not enabled), read
/// inside the write's transaction, after [`lock_bucket`]: a configuration
/// changed meanwhile is either seen whole or comes after the write.
async fn bucket_object_lock(
    conn: &mut PgConnection,
    bucket: &BucketName,
) -> Result<Option<ObjectLockConfig>, sqlx::Error> {
    let stored: Option<Option<String>> =
        sqlx::query_scalar("SELECT object_lock FROM buckets WHERE name = $1")
            .bind(bucket.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(stored
        .flatten()
        .as_deref()
        .map(ObjectLockConfig::from_stored))
}

/// The write of `meta` into a versioned bucket (the plain upsert refused
/// it for the bucket's versioning), under `condition`, in one transaction
/// (a savepoint inside a group commit's or a completion's): `meta.versioned`
/// says whether it is a new version (Enabled) or the `null` one
/// (Suspended). Returns the blob no row points to any more.
pub(super) async fn versioned_upsert(
    conn: &mut PgConnection,
    owner: UserId,
    meta: &ObjectMeta,
    condition: &WriteCondition,
) -> Result<CoreResult<Option<BlobId>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let Some(state) = lock_bucket(&mut tx, owner, &meta.bucket).await? else {
        return Ok(Err(CoreError::not_found(
            Resource::Bucket,
            meta.bucket.as_str(),
        )));
    };
    // A write that looked the bucket up before versioning was first
    // enabled comes as a `null` version; it is kept as a version of its
    // own rather than replace the `null` version that is there (which
    // Enabled keeps).
    let enabled_meanwhile = !meta.versioned && state.as_deref() == Some("Enabled");
    // A new version in a bucket with Object Lock gets the bucket's
    // default retention when it names none, as the configuration is now.
    let lock = bucket_object_lock(&mut tx, &meta.bucket)
        .await?
        .map(|config| config.lock_for(meta.lock, meta.last_modified));
    let promoted;
    let meta = if enabled_meanwhile || lock.is_some_and(|l| l != meta.lock) {
        promoted = ObjectMeta {
            versioned: meta.versioned || enabled_meanwhile,
            lock: lock.unwrap_or(meta.lock),
            ..meta.clone()
        };
        &promoted
    } else {
        meta
    };
    if let Err(e) = check_current(&mut tx, &meta.bucket, &meta.key, condition).await? {
        return Ok(Err(e));
    }
    let freed = retire_current(&mut tx, &meta.bucket, &meta.key, meta.versioned).await?;
    insert_current(&mut tx, owner, meta).await?;
    tx.commit().await?;
    Ok(Ok(freed))
}

/// [`StorageRepo::put_delete_marker`](miniaws_core::storage::StorageRepo::put_delete_marker).
pub(super) async fn put_delete_marker(
    conn: &mut PgConnection,
    owner: UserId,
    marker: &DeleteMarker,
    condition: &WriteCondition,
) -> Result<CoreResult<Option<BlobId>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if lock_bucket(&mut tx, owner, &marker.bucket).await?.is_none() {
        return Ok(Err(CoreError::not_found(
            Resource::Bucket,
            marker.bucket.as_str(),
        )));
    }
    if let Err(e) = check_current(&mut tx, &marker.bucket, &marker.key, condition).await? {
        return Ok(Err(e));
    }
    let freed = retire_current(&mut tx, &marker.bucket, &marker.key, marker.versioned).await?;
    let at = marker.last_modified;
    sqlx::query(
        "INSERT INTO object_versions (id, bucket, key, versioned, delete_marker, created_at,
             noncurrent_at)
         VALUES ($1, $2, $3, $4, TRUE, $5, $6)",
    )
    .bind(marker.id.as_uuid())
    .bind(marker.bucket.as_str())
    .bind(marker.key.as_str().as_bytes())
    .bind(marker.versioned)
    .bind(at)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(freed))
}

/// A version row (with `delete_marker` and `seq`, NULL for the current
/// row) of `bucket`.
fn version_from_row(row: &PgRow, bucket: &BucketName) -> Result<ListedVersion, sqlx::Error> {
    let id = ObjectId::from_uuid(row.try_get("id")?);
    let key = decode_key(row.try_get("key")?)?;
    let versioned: bool = row.try_get("versioned")?;
    let last_modified = row
        .try_get::<Option<OffsetDateTime>, _>("created_at")?
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let seq: Option<i64> = row.try_get("seq")?;
    let delete_marker: bool = row.try_get("delete_marker")?;
    let version = if delete_marker {
        ObjectVersion::DeleteMarker(DeleteMarker {
            id,
            bucket: bucket.clone(),
            key,
            versioned,
            last_modified,
        })
    } else {
        let size: i64 = row.try_get("size_bytes")?;
        let blob: Option<Uuid> = row.try_get("blob_id")?;
        let blob_id = blob_of(blob)?
            .ok_or_else(|| sqlx::Error::Decode("an object version without a blob".into()))?;
        ObjectVersion::Object(ObjectMeta {
            id,
            bucket: bucket.clone(),
            key,
            blob_id,
            size_bytes: u64::try_from(size).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            etag: ETag::from_stored(
                row.try_get::<Option<String>, _>("etag")?
                    .unwrap_or_default(),
            ),
            content_type: row
                .try_get::<Option<String>, _>("content_type")?
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            user_metadata: json_to_map(row.try_get("user_metadata")?)?,
            headers: json_to_map(row.try_get("headers")?)?,
            last_modified,
            parts: json_to_parts(row.try_get("parts")?)?,
            tags: json_to_tags(row.try_get("tags")?)?,
            versioned,
            in_versioned_bucket: false,
            lock: stored_lock(
                row.try_get("lock_mode")?,
                row.try_get("lock_until")?,
                row.try_get("legal_hold")?,
            ),
        })
    };
    let noncurrent_at = row.try_get::<Option<OffsetDateTime>, _>("noncurrent_at")?;
    Ok(ListedVersion {
        version,
        seq,
        noncurrent_at,
    })
}

/// `objects` rows shaped as version rows.
fn current_select() -> String {
    format!(
        "SELECT {VERSION_COLUMNS}, FALSE AS delete_marker, NULL::bigint AS seq, NULL::timestamptz AS noncurrent_at FROM objects"
    )
}

/// `object_versions` rows.
fn noncurrent_select() -> String {
    format!("SELECT {VERSION_COLUMNS}, delete_marker, seq, noncurrent_at FROM object_versions")
}

/// The clause naming `version` (binds: one id as `$3`, or none for `null`).
fn version_clause(version: VersionId) -> &'static str {
    match version {
        VersionId::Null => "NOT versioned",
        VersionId::Id(_) => "versioned AND id = $3",
    }
}

/// [`StorageRepo::get_object_version`](miniaws_core::storage::StorageRepo::get_object_version).
pub(super) async fn get_object_version(
    conn: &mut PgConnection,
    bucket: &BucketName,
    key: &ObjectKey,
    version: VersionId,
) -> Result<Option<ListedVersion>, sqlx::Error> {
    for select in [current_select(), noncurrent_select()] {
        let sql = format!(
            "{select} WHERE bucket = $1 AND key = $2 AND {}",
            version_clause(version)
        );
        let mut q = sqlx::query(&sql)
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes());
        if let VersionId::Id(id) = version {
            q = q.bind(id.as_uuid());
        }
        if let Some(row) = q.fetch_optional(&mut *conn).await? {
            return version_from_row(&row, bucket).map(Some);
        }
    }
    Ok(None)
}

/// [`StorageRepo::delete_object_version`](miniaws_core::storage::StorageRepo::delete_object_version).
pub(super) async fn delete_object_version(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    key: &ObjectKey,
    version: VersionId,
    bypass_governance: bool,
) -> Result<CoreResult<Option<ObjectVersion>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if lock_bucket(&mut tx, owner, bucket).await?.is_none() {
        return Ok(Err(CoreError::not_found(Resource::Bucket, bucket.as_str())));
    }
    let Some(found) = get_object_version(&mut tx, bucket, key, version).await? else {
        return Ok(Ok(None));
    };
    if let ObjectVersion::Object(meta) = &found.version
        && meta
            .lock
            .protects(miniaws_core::clock::now_utc(), bypass_governance)
    {
        return Ok(Err(meta.lock.refusal()));
    }
    match found.seq {
        None => {
            sqlx::query("DELETE FROM objects WHERE bucket = $1 AND key = $2")
                .bind(bucket.as_str())
                .bind(key.as_str().as_bytes())
                .execute(&mut *tx)
                .await?;
        }
        Some(seq) => {
            sqlx::query("DELETE FROM object_versions WHERE seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
    }
    promote(&mut tx, owner, bucket, key).await?;
    tx.commit().await?;
    Ok(Ok(Some(found.version)))
}

/// [`StorageRepo::set_object_tags`](miniaws_core::storage::StorageRepo::set_object_tags):
/// the current version's tags, under the bucket's row lock, which every
/// versioned write and delete takes. Such a write retires the current
/// row by copying it into `object_versions` and then deleting it (see
/// [`retire_current`]); a retag committed between the two would be lost
/// (the copy keeps the old tags) though answered 200, and the lifecycle
/// sweep would judge the version by tags its user had changed. A write of
/// a bucket never versioned replaces its row in one statement, which the
/// update is ordered against by the row lock. `None` when the bucket is
/// not `owner`'s or the key has no current version with bytes.
pub(super) async fn set_current_tags(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    key: &ObjectKey,
    tags: &Tags,
) -> Result<Option<(Uuid, bool)>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if lock_bucket(&mut tx, owner, bucket).await?.is_none() {
        return Ok(None);
    }
    let tagged = sqlx::query_as(
        "UPDATE objects SET tags = $1
         WHERE bucket = $2 AND key = $3 AND blob_id IS NOT NULL
         RETURNING id, versioned",
    )
    .bind(tags_to_json(tags))
    .bind(bucket.as_str())
    .bind(key.as_str().as_bytes())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(tagged)
}

/// [`StorageRepo::set_version_tags`](miniaws_core::storage::StorageRepo::set_version_tags):
/// under the bucket's row lock, which every versioned write, delete and
/// promotion takes, so that none moves the version from one table to the
/// other between the two updates (each names the version itself, never
/// "the current row"; a write of a bucket never versioned replaces its
/// row in one statement, which the first update is ordered against).
pub(super) async fn set_version_tags(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    key: &ObjectKey,
    version: VersionId,
    tags: &Tags,
) -> Result<CoreResult<VersionTags>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if lock_bucket(&mut tx, owner, bucket).await?.is_none() {
        return Ok(Err(CoreError::not_found(Resource::Bucket, bucket.as_str())));
    }
    // Binds: $1 tags, $2 bucket, $3 key, $4 the id (none for `null`).
    let clause = match version {
        VersionId::Null => "NOT versioned",
        VersionId::Id(_) => "versioned AND id = $4",
    };
    for sql in [
        format!(
            "UPDATE objects SET tags = $1 WHERE bucket = $2 AND key = $3 AND {clause}
             AND blob_id IS NOT NULL RETURNING id"
        ),
        format!(
            "UPDATE object_versions SET tags = $1 WHERE bucket = $2 AND key = $3 AND {clause}
             AND NOT delete_marker RETURNING id"
        ),
    ] {
        let mut q = sqlx::query_scalar::<_, Uuid>(&sql)
            .bind(tags_to_json(tags))
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes());
        if let VersionId::Id(id) = version {
            q = q.bind(id.as_uuid());
        }
        if !q.fetch_all(&mut *tx).await?.is_empty() {
            tx.commit().await?;
            return Ok(Ok(VersionTags::Tagged));
        }
    }
    let found = get_object_version(&mut tx, bucket, key, version).await?;
    tx.commit().await?;
    Ok(Ok(match found {
        Some(ListedVersion {
            version: ObjectVersion::DeleteMarker(marker),
            ..
        }) => VersionTags::DeleteMarker {
            last_modified: marker.last_modified,
        },
        _ => VersionTags::Missing,
    }))
}

/// [`StorageRepo::set_version_lock`](miniaws_core::storage::StorageRepo::set_version_lock):
/// under the bucket's row lock, as [`delete_object_version`], so the lock
/// read, the rule applied and the row written are one step.
pub(super) async fn set_version_lock(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    key: &ObjectKey,
    version: VersionId,
    change: &LockChange,
    now: OffsetDateTime,
) -> Result<CoreResult<VersionLock>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if lock_bucket(&mut tx, owner, bucket).await?.is_none() {
        return Ok(Err(CoreError::not_found(Resource::Bucket, bucket.as_str())));
    }
    let meta = match get_object_version(&mut tx, bucket, key, version).await? {
        None => return Ok(Ok(VersionLock::Missing)),
        Some(ListedVersion {
            version: ObjectVersion::DeleteMarker(marker),
            ..
        }) => {
            return Ok(Ok(VersionLock::DeleteMarker {
                last_modified: marker.last_modified,
            }));
        }
        Some(ListedVersion {
            version: ObjectVersion::Object(meta),
            ..
        }) => meta,
    };
    let lock = match meta.lock.apply(change, now) {
        Ok(lock) => lock,
        Err(e) => return Ok(Err(e)),
    };
    // The version is in exactly one of the tables; its id names it.
    for table in ["objects", "object_versions"] {
        sqlx::query(&format!(
            "UPDATE {table} SET lock_mode = $1, lock_until = $2, legal_hold = $3
             WHERE bucket = $4 AND id = $5"
        ))
        .bind(lock.retention.map(|r| r.mode.as_str()))
        .bind(lock.retention.map(|r| r.retain_until))
        .bind(lock.legal_hold)
        .bind(bucket.as_str())
        .bind(meta.id.as_uuid())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(VersionLock::Locked(lock)))
}

/// [`StorageRepo::set_bucket_object_lock`](miniaws_core::storage::StorageRepo::set_bucket_object_lock):
/// one statement, conditional on the versioning.
pub(super) async fn set_bucket_object_lock(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    config: &ObjectLockConfig,
) -> Result<BucketLockSet, sqlx::Error> {
    let written = sqlx::query(
        "UPDATE buckets SET object_lock = $1 WHERE name = $2 AND owner_id = $3
             AND versioning = 'Enabled'",
    )
    .bind(config.to_stored())
    .bind(bucket.as_str())
    .bind(owner.as_uuid())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if written > 0 {
        return Ok(BucketLockSet::Set);
    }
    let owned: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM buckets WHERE name = $1 AND owner_id = $2)",
    )
    .bind(bucket.as_str())
    .bind(owner.as_uuid())
    .fetch_one(&mut *conn)
    .await?;
    Ok(if owned {
        BucketLockSet::NotVersioned
    } else {
        BucketLockSet::Missing
    })
}

/// When `key` has no current row, makes its newest noncurrent version
/// current, unless that is a delete marker (which then stays the latest).
async fn promote(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    key: &ObjectKey,
) -> Result<(), sqlx::Error> {
    let has_current: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = $1 AND key = $2)")
            .bind(bucket.as_str())
            .bind(key.as_str().as_bytes())
            .fetch_one(&mut *conn)
            .await?;
    if has_current {
        return Ok(());
    }
    let newest: Option<(i64, bool)> = sqlx::query_as(
        "SELECT seq, delete_marker FROM object_versions WHERE bucket = $1 AND key = $2
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(bucket.as_str())
    .bind(key.as_str().as_bytes())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((seq, false)) = newest else {
        return Ok(());
    };
    sqlx::query(&format!(
        "INSERT INTO objects ({VERSION_COLUMNS}, bucket, arn)
         SELECT {VERSION_COLUMNS}, bucket, $1 FROM object_versions WHERE seq = $2"
    ))
    .bind(stored_arn(owner, bucket, key))
    .bind(seq)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM object_versions WHERE seq = $1")
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`StorageRepo::list_versions`](miniaws_core::storage::StorageRepo::list_versions):
/// both tables' rows in the range, merged by key, then newest first (the
/// current row, whose `seq` is NULL, sorts as the newest).
pub(super) async fn list_versions(
    conn: &mut PgConnection,
    bucket: &BucketName,
    range: &KeyRange,
    after: Option<(&ObjectKey, Option<i64>)>,
    limit: u32,
) -> Result<Vec<ListedVersion>, sqlx::Error> {
    // After (k, s): later keys, or k's versions older than s (s NULL: the
    // current row, so every noncurrent one).
    let sql = format!(
        "SELECT * FROM (
             {cur} WHERE bucket = $1 AND key >= $2 AND ($3::bytea IS NULL OR key < $3)
             UNION ALL
             {non} WHERE bucket = $1 AND key >= $2 AND ($3::bytea IS NULL OR key < $3)
         ) v WHERE ($4::bytea IS NULL OR key > $4
                    OR (key = $4 AND seq IS NOT NULL AND ($5::bigint IS NULL OR seq < $5)))
         ORDER BY key, seq IS NULL DESC, seq DESC LIMIT $6",
        cur = current_select(),
        non = noncurrent_select(),
    );
    let rows = sqlx::query(&sql)
        .bind(bucket.as_str())
        .bind(range.start.as_slice())
        .bind(range.end.as_deref())
        .bind(after.map(|(k, _)| k.as_str().as_bytes()))
        .bind(after.and_then(|(_, s)| s))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| version_from_row(r, bucket)).collect()
}

/// Locks the bucket's row, as [`lock_bucket`], for the lifecycle sweep:
/// the bucket's versioning state when it is still `owner`'s and still has
/// a lifecycle configuration (`None` otherwise).
async fn lock_configured_bucket(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT versioning FROM buckets
         WHERE name = $1 AND owner_id = $2 AND lifecycle IS NOT NULL
         FOR NO KEY UPDATE",
    )
    .bind(bucket.as_str())
    .bind(owner.as_uuid())
    .fetch_optional(&mut *conn)
    .await
}

/// [`StorageRepo::expire_current_version`](miniaws_core::storage::StorageRepo::expire_current_version).
pub(super) async fn expire_current_version(
    conn: &mut PgConnection,
    owner: UserId,
    marker: &DeleteMarker,
    current: ObjectId,
    tags: &miniaws_core::storage::Tags,
) -> Result<Option<Option<BlobId>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let versioned = match lock_configured_bucket(&mut tx, owner, &marker.bucket).await? {
        Some(Some(state)) => state == "Enabled",
        _ => return Ok(None),
    };
    // The row itself is locked too: a retag of the current version
    // (PutObjectTagging without a version id, `set_object_tags`) is one
    // UPDATE that takes no bucket lock, so without the row lock it could
    // commit between this check and the move below, and the marker would
    // land on a version the rule no longer selects (found by
    // `s3_lifecycle_torture.rs`). Under the lock READ COMMITTED re-reads a
    // row changed meanwhile, and a later retag waits for this transaction.
    let still: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM objects
         WHERE bucket = $1 AND key = $2 AND id = $3 AND tags = $4
         FOR UPDATE",
    )
    .bind(marker.bucket.as_str())
    .bind(marker.key.as_str().as_bytes())
    .bind(current.as_uuid())
    .bind(tags_to_json(tags))
    .fetch_optional(&mut *tx)
    .await?;
    if still.is_none() {
        return Ok(None);
    }
    let freed = retire_current(&mut tx, &marker.bucket, &marker.key, versioned).await?;
    let at = marker.last_modified;
    sqlx::query(
        "INSERT INTO object_versions (id, bucket, key, versioned, delete_marker, created_at,
             noncurrent_at)
         VALUES ($1, $2, $3, $4, TRUE, $5, $6)",
    )
    .bind(marker.id.as_uuid())
    .bind(marker.bucket.as_str())
    .bind(marker.key.as_str().as_bytes())
    .bind(versioned)
    .bind(at)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(freed))
}

/// [`StorageRepo::expire_noncurrent_version`](miniaws_core::storage::StorageRepo::expire_noncurrent_version).
pub(super) async fn expire_noncurrent_version(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    key: &ObjectKey,
    seq: i64,
    newer: u32,
    tags: &miniaws_core::storage::Tags,
) -> Result<Option<Option<BlobId>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if !matches!(
        lock_configured_bucket(&mut tx, owner, bucket).await?,
        Some(Some(_))
    ) {
        return Ok(None);
    }
    // The noncurrent versions newer than `seq`: the rows of
    // object_versions after it, less the latest one when the key has no
    // current row (then the newest row is the latest version, a marker).
    // At least `newer` of them also means the row is not the latest. A
    // version retagged since the sweep read it is left for the next sweep
    // (markers have no tags). A legal hold never set is NULL and holds
    // nothing: `legal_hold IS NOT TRUE`, not a test that NULL fails.
    let removed: Vec<Option<Uuid>> = sqlx::query_scalar(
        "DELETE FROM object_versions
         WHERE seq = $1 AND bucket = $2 AND key = $3
           AND (SELECT COUNT(*) FROM object_versions
                WHERE bucket = $2 AND key = $3 AND seq > $1)
             - (CASE WHEN EXISTS (SELECT 1 FROM objects WHERE bucket = $2 AND key = $3)
                     THEN 0 ELSE 1 END) >= $4
           AND (delete_marker OR tags = $5)
           AND legal_hold IS NOT TRUE AND (lock_until IS NULL OR lock_until <= $6)
         RETURNING blob_id",
    )
    .bind(seq)
    .bind(bucket.as_str())
    .bind(key.as_str().as_bytes())
    .bind(i64::from(newer))
    .bind(tags_to_json(tags))
    .bind(miniaws_core::clock::now_utc())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    match removed.into_iter().next() {
        None => Ok(None),
        Some(blob) => blob_of(blob).map(Some),
    }
}

/// [`StorageRepo::remove_expired_delete_marker`](miniaws_core::storage::StorageRepo::remove_expired_delete_marker).
pub(super) async fn remove_expired_delete_marker(
    conn: &mut PgConnection,
    owner: UserId,
    bucket: &BucketName,
    key: &ObjectKey,
    seq: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if !matches!(
        lock_configured_bucket(&mut tx, owner, bucket).await?,
        Some(Some(_))
    ) {
        return Ok(false);
    }
    let removed = sqlx::query(
        "DELETE FROM object_versions
         WHERE seq = $1 AND bucket = $2 AND key = $3 AND delete_marker
           AND NOT EXISTS (SELECT 1 FROM objects WHERE bucket = $2 AND key = $3)
           AND NOT EXISTS (SELECT 1 FROM object_versions
                           WHERE bucket = $2 AND key = $3 AND seq <> $1)",
    )
    .bind(seq)
    .bind(bucket.as_str())
    .bind(key.as_str().as_bytes())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(removed > 0)
}
