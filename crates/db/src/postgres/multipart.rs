//! [`MultipartRepo`] on PostgreSQL.

use async_trait::async_trait;
use miniaws_core::identity::UserId;
use miniaws_core::multipart::{CompletedUpload, MultipartRepo, MultipartUpload, Part, UploadId};
use miniaws_core::storage::{BlobId, BucketName, ETag, ObjectWrite};
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};
use time::OffsetDateTime;
use uuid::Uuid;

use super::storage::{upsert, upsert_error};
use crate::error::db_err;
use crate::storage_rows::{
    decode_algorithm, decode_bucket, decode_key, decode_part_checksum, json_to_map, json_to_tags,
    map_to_json, tags_to_json,
};

const UPLOAD_COLUMNS: &str = "id, bucket, key, owner_id, content_type, user_metadata, headers, initiated_at, checksum_algorithm, tags";
const PART_COLUMNS: &str = "upload_id, part_number, blob_id, size_bytes, etag, last_modified, \
     checksum_algorithm, checksum_value, crc64nvme";

/// Multipart uploads and parts in PostgreSQL.
pub(crate) struct PgMultipartRepo {
    pool: PgPool,
}

impl PgMultipartRepo {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn upload_from_row(row: &PgRow) -> Result<MultipartUpload, sqlx::Error> {
    Ok(MultipartUpload {
        id: UploadId::from_uuid(row.try_get("id")?),
        bucket: decode_bucket(row.try_get("bucket")?)?,
        key: decode_key(row.try_get("key")?)?,
        owner: miniaws_core::identity::UserId::from_uuid(row.try_get("owner_id")?),
        content_type: row.try_get("content_type")?,
        user_metadata: json_to_map(row.try_get("user_metadata")?)?,
        headers: json_to_map(row.try_get("headers")?)?,
        initiated_at: row.try_get("initiated_at")?,
        checksum_algorithm: decode_algorithm(row.try_get("checksum_algorithm")?)?,
        tags: json_to_tags(row.try_get("tags")?)?,
    })
}

fn part_from_row(row: &PgRow) -> Result<Part, sqlx::Error> {
    Ok(Part {
        upload_id: UploadId::from_uuid(row.try_get("upload_id")?),
        part_number: u32::try_from(row.try_get::<i32, _>("part_number")?)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        blob_id: BlobId::from_uuid(row.try_get("blob_id")?),
        size_bytes: u64::try_from(row.try_get::<i64, _>("size_bytes")?)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        etag: ETag::from_stored(row.try_get::<String, _>("etag")?),
        last_modified: row.try_get("last_modified")?,
        checksum: decode_part_checksum(
            row.try_get("checksum_algorithm")?,
            row.try_get("checksum_value")?,
        )?,
        crc64nvme: row.try_get("crc64nvme")?,
    })
}

fn part_i32(n: u32) -> CoreResult<i32> {
    i32::try_from(n).map_err(|_| CoreError::invalid("part number out of range"))
}

fn size_i64(n: u64) -> CoreResult<i64> {
    i64::try_from(n).map_err(|_| CoreError::invalid("size out of range"))
}

#[async_trait]
impl MultipartRepo for PgMultipartRepo {
    async fn create_upload(&self, u: &MultipartUpload, bucket_owner: UserId) -> CoreResult<()> {
        // The bucket's row is locked (key share) by the insert: a
        // `delete_bucket` holding it waits for the insert, then removes the
        // upload with the bucket; one that took it first leaves no row to
        // insert from.
        let inserted = sqlx::query(&format!(
            "INSERT INTO multipart_uploads ({UPLOAD_COLUMNS})
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM buckets
             WHERE name = $2 AND owner_id = $11 FOR KEY SHARE"
        ))
        .bind(u.id.as_uuid())
        .bind(u.bucket.as_str())
        .bind(u.key.as_str().as_bytes())
        .bind(u.owner.as_uuid())
        .bind(&u.content_type)
        .bind(map_to_json(&u.user_metadata))
        .bind(map_to_json(&u.headers))
        .bind(u.initiated_at)
        .bind(u.checksum_algorithm.map(|a| a.name()))
        .bind(tags_to_json(&u.tags))
        .bind(bucket_owner.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if inserted.rows_affected() == 0 {
            return Err(CoreError::not_found(Resource::Bucket, u.bucket.as_str()));
        }
        Ok(())
    }

    async fn get_upload(&self, id: UploadId) -> CoreResult<Option<MultipartUpload>> {
        let row = sqlx::query(&format!(
            "SELECT {UPLOAD_COLUMNS} FROM multipart_uploads WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref()
            .map(upload_from_row)
            .transpose()
            .map_err(db_err)
    }

    async fn list_uploads(
        &self,
        bucket: &BucketName,
        prefix: &str,
        after: Option<(&str, Option<UploadId>)>,
        limit: u32,
    ) -> CoreResult<Vec<MultipartUpload>> {
        // Keys are BYTEA: the prefix test compares bytes, exactly (LIKE
        // would treat % and _ as wildcards).
        let (after_key, after_id): (Option<&[u8]>, Option<Uuid>) = match after {
            None => (None, None),
            Some((k, id)) => (Some(k.as_bytes()), id.map(|i| i.as_uuid())),
        };
        let rows = sqlx::query(&format!(
            "SELECT {UPLOAD_COLUMNS} FROM multipart_uploads
             WHERE bucket = $1 AND substring(key from 1 for length($2::bytea)) = $2::bytea
               AND ($3::bytea IS NULL
                    OR key > $3
                    OR ($4::uuid IS NOT NULL AND key = $3 AND (initiated_at, id) >
                        (SELECT initiated_at, id FROM multipart_uploads WHERE id = $4)))
             ORDER BY key, initiated_at, id LIMIT $5"
        ))
        .bind(bucket.as_str())
        .bind(prefix.as_bytes())
        .bind(after_key)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(upload_from_row)
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }

    async fn put_part(&self, p: &Part) -> CoreResult<Option<BlobId>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Lock the upload row exclusively: against a concurrent abort or
        // complete, and against a concurrent upload of the same part. Under
        // READ COMMITTED two writers of a part that does not exist yet would
        // both read "no old part" (there is no row to lock), and the second
        // upsert would then replace the first one's blob without returning
        // it, leaving an orphan file. The lock is held for three short
        // statements, not for the body transfer.
        let exists = sqlx::query("SELECT 1 FROM multipart_uploads WHERE id = $1 FOR UPDATE")
            .bind(p.upload_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .is_some();
        if !exists {
            return Err(CoreError::not_found(
                Resource::Upload,
                p.upload_id.to_string(),
            ));
        }
        let old: Option<Uuid> = sqlx::query_scalar(
            "SELECT blob_id FROM multipart_parts WHERE upload_id = $1 AND part_number = $2",
        )
        .bind(p.upload_id.as_uuid())
        .bind(part_i32(p.part_number)?)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(&format!(
            "INSERT INTO multipart_parts ({PART_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (upload_id, part_number) DO UPDATE SET
               blob_id = EXCLUDED.blob_id, size_bytes = EXCLUDED.size_bytes,
               etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
               checksum_algorithm = EXCLUDED.checksum_algorithm,
               checksum_value = EXCLUDED.checksum_value,
               crc64nvme = EXCLUDED.crc64nvme"
        ))
        .bind(p.upload_id.as_uuid())
        .bind(part_i32(p.part_number)?)
        .bind(p.blob_id.as_uuid())
        .bind(size_i64(p.size_bytes)?)
        .bind(p.etag.as_str())
        .bind(p.last_modified)
        .bind(p.checksum.as_ref().map(|c| c.algorithm.name()))
        .bind(p.checksum.as_ref().map(|c| c.value.as_str()))
        .bind(p.crc64nvme.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(old.map(BlobId::from_uuid))
    }

    async fn list_parts(&self, upload: UploadId, after: u32, limit: u32) -> CoreResult<Vec<Part>> {
        let rows = sqlx::query(&format!(
            "SELECT {PART_COLUMNS} FROM multipart_parts
             WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3"
        ))
        .bind(upload.as_uuid())
        .bind(i64::from(after))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(part_from_row)
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }

    async fn delete_upload(&self, id: UploadId) -> CoreResult<Option<Vec<BlobId>>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Lock the upload first, as `put_part` does: a part committed after
        // the parts were read would otherwise be cascaded away unseen.
        sqlx::query("SELECT 1 FROM multipart_uploads WHERE id = $1 FOR UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        // Parts first, to learn their blobs (deleting the upload would
        // cascade them away unseen).
        let blobs: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM multipart_parts WHERE upload_id = $1 RETURNING blob_id",
        )
        .bind(id.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let deleted = sqlx::query("DELETE FROM multipart_uploads WHERE id = $1 RETURNING id")
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(deleted.map(|_| blobs.into_iter().map(BlobId::from_uuid).collect()))
    }

    async fn complete_upload(
        &self,
        id: UploadId,
        write: &ObjectWrite,
    ) -> CoreResult<CompletedUpload> {
        // An error return drops the transaction, which rolls it back:
        // nothing is written.
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let meta = &write.meta;
        // Lock the upload first, as `put_part` and `delete_upload` do: a
        // concurrent completion or abort of it waits here, then finds no
        // row (READ COMMITTED reads the committed delete), so exactly one
        // of them consumes the upload; and no part lands after the parts
        // are deleted below.
        let found = sqlx::query(
            "SELECT 1 FROM multipart_uploads
             WHERE id = $1 AND bucket = $2 AND key = $3 AND owner_id = $4 FOR UPDATE",
        )
        .bind(id.as_uuid())
        .bind(meta.bucket.as_str())
        .bind(meta.key.as_str().as_bytes())
        .bind(write.owner.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .is_some();
        if !found {
            return Err(CoreError::not_found(Resource::Upload, id.to_string()));
        }
        let replaced = upsert(&mut tx, write.owner, meta, &write.condition)
            .await
            .map_err(|e| upsert_error(e, &meta.bucket))??;
        // Parts first, to learn their blobs (deleting the upload would
        // cascade them away unseen).
        let parts: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM multipart_parts WHERE upload_id = $1 RETURNING blob_id",
        )
        .bind(id.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM multipart_uploads WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(CompletedUpload {
            replaced,
            part_blobs: parts.into_iter().map(BlobId::from_uuid).collect(),
        })
    }

    async fn uploads_initiated_before(
        &self,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> CoreResult<Vec<UploadId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM multipart_uploads WHERE initiated_at < $1 ORDER BY initiated_at, id LIMIT $2",
        )
        .bind(cutoff)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(UploadId::from_uuid).collect())
    }
}
