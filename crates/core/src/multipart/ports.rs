//! The port multipart uploads need: their metadata in the database.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::domain::{MultipartUpload, Part, UploadId};
use crate::error::CoreResult;
use crate::identity::UserId;
use crate::storage::{BlobId, BucketName, ObjectWrite};

/// What [`MultipartRepo::complete_upload`] committed: the blobs that no row
/// points to any more, for the caller to remove once it returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedUpload {
    /// The blob of the object version the completion replaced, if any (as
    /// [`StorageRepo::put_object_if`](crate::storage::StorageRepo::put_object_if)
    /// returns it; it may be the write's own blob on a retried commit, which
    /// the caller never removes).
    pub replaced: Option<BlobId>,
    /// The blobs of every part of the upload whose row the completion
    /// deleted (in no particular order): the parts it assembled and any other
    /// (a part uploaded but not named, or one replaced after the assembly
    /// read it).
    pub part_blobs: Vec<BlobId>,
}

/// Uploads in progress and their parts.
///
/// # Errors
///
/// Adapters return `Unavailable(Database)` when the database cannot be
/// reached, and the specific errors listed per method.
#[async_trait]
pub trait MultipartRepo: Send + Sync {
    /// Inserts an upload, if its bucket exists and is still
    /// `bucket_owner`'s, as one step with that check: a bucket deleted (or
    /// deleted and made again by someone else) since the caller looked it
    /// up gets no upload, which it would otherwise keep, orphaned, or hand
    /// to the bucket's next owner.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when its bucket does not exist (or is another's).
    async fn create_upload(&self, upload: &MultipartUpload, bucket_owner: UserId)
    -> CoreResult<()>;

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

    /// Completes upload `id`: in ONE transaction, commits `write` exactly
    /// as [`StorageRepo::put_object_if`](crate::storage::StorageRepo::put_object_if)
    /// would (the owner check on the bucket and `write.condition`, checked
    /// atomically with the write) and deletes the upload's row and all its
    /// parts' rows. Either both happen or neither: the completed object
    /// never coexists with its upload, and an upload completes at most once.
    ///
    /// The upload must exist when the transaction runs and be of
    /// `write.meta.bucket`, `write.meta.key` and `write.owner`. Concurrent
    /// calls for one upload (and a concurrent [`delete_upload`](Self::delete_upload)
    /// or [`put_part`](Self::put_part)) serialise on the upload: exactly
    /// one completion (or the delete) finds it.
    ///
    /// # Errors
    /// `NotFound(Upload)` when there is no such upload (any more: completed,
    /// aborted or expired meanwhile), or it is of another bucket, key or
    /// owner; this is checked first. Otherwise the refusals of
    /// `put_object_if` (`NotFound(Bucket)`, `PreconditionFailed`,
    /// `NotFound(Object)`), and the upload and its parts stay. On any error
    /// nothing is written.
    async fn complete_upload(
        &self,
        id: UploadId,
        write: &ObjectWrite,
    ) -> CoreResult<CompletedUpload>;

    /// Ids of uploads initiated before `cutoff`, oldest first, at most `limit`.
    async fn uploads_initiated_before(
        &self,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> CoreResult<Vec<UploadId>>;
}
