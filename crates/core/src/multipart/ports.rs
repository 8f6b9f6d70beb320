//! The port multipart uploads need: their metadata in the database.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::domain::{MultipartUpload, Part, UploadId};
use crate::error::CoreResult;
use crate::storage::{BlobId, BucketName};

/// Uploads in progress and their parts.
///
/// # Errors
///
/// Adapters return `Unavailable(Database)` when the database cannot be
/// reached, and the specific errors listed per method.
#[async_trait]
pub trait MultipartRepo: Send + Sync {
    /// Inserts an upload.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when its bucket does not exist.
    async fn create_upload(&self, upload: &MultipartUpload) -> CoreResult<()>;

    /// The upload `id`, if it exists.
    async fn get_upload(&self, id: UploadId) -> CoreResult<Option<MultipartUpload>>;

    /// Up to `limit` uploads of `bucket` whose keys start with `prefix`,
    /// ordered by key (bytes), then initiation time, then id, starting after
    /// the position (`key`, `upload`): strictly after `key` when `upload` is
    /// `None`, else after that upload of `key`.
    async fn list_uploads(
        &self,
        bucket: &BucketName,
        prefix: &str,
        after: Option<(&str, Option<UploadId>)>,
        limit: u32,
    ) -> CoreResult<Vec<MultipartUpload>>;

    /// Records `part`, replacing an earlier upload of the same number, and
    /// returns the replaced part's blob (which the caller removes).
    ///
    /// # Errors
    /// `NotFound(Upload)` when the upload no longer exists (aborted or
    /// completed meanwhile): nothing is written then.
    async fn put_part(&self, part: &Part) -> CoreResult<Option<BlobId>>;

    /// Up to `limit` parts of `upload` numbered above `after`, by number.
    async fn list_parts(&self, upload: UploadId, after: u32, limit: u32) -> CoreResult<Vec<Part>>;

    /// Deletes the upload and all its parts; returns the parts' blobs (for
    /// the caller to remove), or `None` when there was no such upload.
    async fn delete_upload(&self, id: UploadId) -> CoreResult<Option<Vec<BlobId>>>;

    /// Ids of uploads initiated before `cutoff`, oldest first, at most `limit`.
    async fn uploads_initiated_before(
        &self,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> CoreResult<Vec<UploadId>>;
}
