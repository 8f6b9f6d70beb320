//! [`MultipartRepo`] on SQLite.
//!
//! Writes that read first (`put_part`, `delete_upload`) use `BEGIN
//! IMMEDIATE`: it takes SQLite's single write lock up front, so two
//! uploads of the same part serialise, and the second sees (and returns)
//! the first one's blob. A deferred transaction would read the part under a
//! snapshot and then fail with SQLITE_BUSY when upgrading to write.
//! `complete_upload` too: under the write lock, the upload it finds is
//! still there when it commits the object and deletes the upload.

use async_trait::async_trait;
use miniaws_core::identity::UserId;
use miniaws_core::multipart::{CompletedUpload, MultipartRepo, MultipartUpload, Part, UploadId};
use miniaws_core::storage::{BlobId, BucketName, ETag, ObjectWrite};
use miniaws_core::{CoreError, CoreResult, Resource};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use time::OffsetDateTime;

use super::storage::upsert;
use super::{fmt_time, parse_time, parse_uuid};
use crate::error::db_err;
use crate::storage_rows::{
    decode_algorithm, decode_bucket, decode_key, decode_part_checksum, json_to_map, json_to_tags,
    map_to_json, tags_to_json,
};

const UPLOAD_COLUMNS: &str = "id, bucket, key, owner_id, content_type, user_metadata, headers, initiated_at, checksum_algorithm, tags";
const PART_COLUMNS: &str = "upload_id, part_number, blob_id, size_bytes, etag, last_modified, \
     checksum_algorithm, checksum_value, crc64nvme";

/// Multipart uploads and parts in SQLite.
pub(crate) struct SqliteMultipartRepo {
    pool: SqlitePool,
}

impl SqliteMultipartRepo {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn upload_from_row(row: &SqliteRow) -> Result<MultipartUpload, sqlx::Error> {
    Ok(MultipartUpload {
        id: UploadId::from_uuid(parse_uuid(row.try_get("id")?)?),
        bucket: decode_bucket(row.try_get("bucket")?)?,
        key: decode_key(row.try_get("key")?)?,
        owner: miniaws_core::identity::UserId::from_uuid(parse_uuid(row.try_get("owner_id")?)?),
        content_type: row.try_get("content_type")?,
        user_metadata: json_to_map(row.try_get("user_metadata")?)?,
        headers: json_to_map(row.try_get("headers")?)?,
        initiated_at: parse_time(row.try_get("initiated_at")?)?,
        checksum_algorithm: decode_algorithm(row.try_get("checksum_algorithm")?)?,
        tags: json_to_tags(row.try_get("tags")?)?,
    })
}

fn part_from_row(row: &SqliteRow) -> Result<Part, sqlx::Error> {
    Ok(Part {
        upload_id: UploadId::from_uuid(parse_uuid(row.try_get("upload_id")?)?),
        part_number: u32::try_from(row.try_get::<i64, _>("part_number")?)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        blob_id: BlobId::from_uuid(parse_uuid(row.try_get("blob_id")?)?),
        size_bytes: u64::try_from(row.try_get::<i64, _>("size_bytes")?)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        etag: ETag::from_stored(row.try_get::<String, _>("etag")?),
        last_modified: parse_time(row.try_get("last_modified")?)?,
        checksum: decode_part_checksum(
            row.try_get("checksum_algorithm")?,
            row.try_get("checksum_value")?,
        )?,
        crc64nvme: row.try_get("crc64nvme")?,
    })
}

fn size_i64(n: u64) -> CoreResult<i64> {
    i64::try_from(n).map_err(|_| CoreError::invalid("size out of range"))
}

#[async_trait]
impl MultipartRepo for SqliteMultipartRepo {
    async fn create_upload(&self, u: &MultipartUpload, bucket_owner: UserId) -> CoreResult<()> {
        // One statement, so one step with the check: SQLite has one writer,
        // and `delete_bucket` writes in a `BEGIN IMMEDIATE` transaction.
        let inserted = sqlx::query(&format!(
            "INSERT INTO multipart_uploads ({UPLOAD_COLUMNS})
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
             WHERE EXISTS (SELECT 1 FROM buckets WHERE name = ?2 AND owner_id = ?11)"
        ))
        .bind(u.id.to_string())
        .bind(u.bucket.as_str())
        .bind(u.key.as_str().as_bytes())
        .bind(u.owner.to_string())
        .bind(&u.content_type)
        .bind(map_to_json(&u.user_metadata))
        .bind(map_to_json(&u.headers))
        .bind(fmt_time(u.initiated_at))
        .bind(u.checksum_algorithm.map(|a| a.name()))
        .bind(tags_to_json(&u.tags))
        .bind(bucket_owner.to_string())
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
            "SELECT {UPLOAD_COLUMNS} FROM multipart_uploads WHERE id = ?"
        ))
        .bind(id.to_string())
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
        // Keys are BLOBs: `substr`/`length` count bytes, and the test is
        // exact (LIKE would treat % and _ as wildcards).
        let mut sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM multipart_uploads
             WHERE bucket = ? AND substr(key, 1, length(?)) = ?"
        );
        match after {
            None => {}
            Some((_, None)) => sql.push_str(" AND key > ?"),
            Some((_, Some(_))) => sql.push_str(
                " AND (key > ? OR (key = ? AND (initiated_at, id) > (SELECT initiated_at, id FROM multipart_uploads WHERE id = ?)))",
            ),
        }
        sql.push_str(" ORDER BY key, initiated_at, id LIMIT ?");
        let mut q = sqlx::query(&sql)
            .bind(bucket.as_str())
            .bind(prefix.as_bytes())
            .bind(prefix.as_bytes());
        match after {
            None => {}
            Some((key, None)) => q = q.bind(key.as_bytes()),
            Some((key, Some(id))) => {
                q = q
                    .bind(key.as_bytes())
                    .bind(key.as_bytes())
                    .bind(id.to_string())
            }
        }
        let rows = q
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM multipart_uploads WHERE id = ?)")
                .bind(p.upload_id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if !exists {
            return Err(CoreError::not_found(
                Resource::Upload,
                p.upload_id.to_string(),
            ));
        }
        let old: Option<String> = sqlx::query_scalar(
            "SELECT blob_id FROM multipart_parts WHERE upload_id = ? AND part_number = ?",
        )
        .bind(p.upload_id.to_string())
        .bind(i64::from(p.part_number))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(&format!(
            "INSERT INTO multipart_parts ({PART_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (upload_id, part_number) DO UPDATE SET
               blob_id = excluded.blob_id, size_bytes = excluded.size_bytes,
               etag = excluded.etag, last_modified = excluded.last_modified,
               checksum_algorithm = excluded.checksum_algorithm,
               checksum_value = excluded.checksum_value,
               crc64nvme = excluded.crc64nvme"
        ))
        .bind(p.upload_id.to_string())
        .bind(i64::from(p.part_number))
        .bind(p.blob_id.to_string())
        .bind(size_i64(p.size_bytes)?)
        .bind(p.etag.as_str())
        .bind(fmt_time(p.last_modified))
        .bind(p.checksum.as_ref().map(|c| c.algorithm.name()))
        .bind(p.checksum.as_ref().map(|c| c.value.as_str()))
        .bind(p.crc64nvme.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        old.map(|s| parse_uuid(&s).map(BlobId::from_uuid))
            .transpose()
            .map_err(db_err)
    }

    async fn list_parts(&self, upload: UploadId, after: u32, limit: u32) -> CoreResult<Vec<Part>> {
        let rows = sqlx::query(&format!(
            "SELECT {PART_COLUMNS} FROM multipart_parts
             WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?"
        ))
        .bind(upload.to_string())
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        let blobs: Vec<String> =
            sqlx::query_scalar("SELECT blob_id FROM multipart_parts WHERE upload_id = ?")
                .bind(id.to_string())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
        sqlx::query("DELETE FROM multipart_parts WHERE upload_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let deleted = sqlx::query("DELETE FROM multipart_uploads WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        tx.commit().await.map_err(db_err)?;
        if deleted == 0 {
            return Ok(None);
        }
        blobs
            .iter()
            .map(|s| parse_uuid(s).map(BlobId::from_uuid))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(db_err)
    }

    async fn complete_upload(
        &self,
        id: UploadId,
        write: &ObjectWrite,
    ) -> CoreResult<CompletedUpload> {
        // BEGIN IMMEDIATE: see the module comment. An error return drops
        // the transaction, which rolls it back: nothing is written.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        let meta = &write.meta;
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM multipart_uploads
                            WHERE id = ? AND bucket = ? AND key = ? AND owner_id = ?)",
        )
        .bind(id.to_string())
        .bind(meta.bucket.as_str())
        .bind(meta.key.as_str().as_bytes())
        .bind(write.owner.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if !found {
            return Err(CoreError::not_found(Resource::Upload, id.to_string()));
        }
        let replaced = upsert(&mut tx, write.owner, meta, &write.condition)
            .await
            .map_err(db_err)??;
        // Parts first, to learn their blobs (deleting the upload would
        // cascade them away unseen).
        let parts: Vec<String> =
            sqlx::query_scalar("DELETE FROM multipart_parts WHERE upload_id = ? RETURNING blob_id")
                .bind(id.to_string())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
        sqlx::query("DELETE FROM multipart_uploads WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let part_blobs = parts
            .iter()
            .map(|s| parse_uuid(s).map(BlobId::from_uuid))
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        Ok(CompletedUpload {
            replaced,
            part_blobs,
        })
    }

    async fn uploads_initiated_before(
        &self,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> CoreResult<Vec<UploadId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM multipart_uploads WHERE initiated_at < ? ORDER BY initiated_at, id LIMIT ?",
        )
        .bind(fmt_time(cutoff))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        ids.iter()
            .map(|s| parse_uuid(s).map(UploadId::from_uuid))
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }
}
