//! The conditional delete of an unversioned bucket's object (S3's
//! DeleteObject with `If-Match`), shared by both backends: the condition is
//! decided by the delete's own statement, so no write can land between the
//! check and the delete.

use std::future::Future;

use miniaws_core::CoreResult;
use miniaws_core::storage::{
    BlobId, BucketName, CONDITIONAL_DELETE_ATTEMPTS, ETag, ObjectKey, WriteCondition,
};

/// Deletes `key` under `condition`. `delete(etag)` runs the backend's
/// statement that deletes the key's row only when its ETag is `etag` (any
/// ETag when `None`) and answers `Some(blob)` for a deleted row (`blob`:
/// its blob, if it had one), `None` when no row matched; `current` reads
/// the key's current ETag (`None`: no such key).
///
/// A refusal is explained by a read after the delete: when that read finds
/// the condition holding after all (the key was rewritten in between), the
/// delete is tried again, up to [`CONDITIONAL_DELETE_ATTEMPTS`] times.
///
/// # Errors
/// The refusals of [`WriteCondition::check`], or
/// [`WriteCondition::kept_changing`]; a database failure of either
/// function.
pub(crate) async fn delete_where<D, DF, C, CF>(
    bucket: &BucketName,
    key: &ObjectKey,
    condition: &WriteCondition,
    delete: D,
    current: C,
) -> CoreResult<Option<BlobId>>
where
    D: Fn(Option<&str>) -> DF,
    DF: Future<Output = CoreResult<Option<Option<BlobId>>>>,
    C: Fn() -> CF,
    CF: Future<Output = CoreResult<Option<ETag>>>,
{
    let check = |etag: Option<ETag>| condition.check(bucket.as_str(), key.as_str(), etag.as_ref());
    let etag = match condition {
        WriteCondition::Always => return Ok(delete(None).await?.flatten()),
        // "Only if absent" deletes nothing; it only says whether the key
        // is there.
        WriteCondition::Absent => return check(current().await?).map(|()| None),
        WriteCondition::Exists => None,
        WriteCondition::ETagIs(etag) => Some(etag.as_str()),
    };
    for _ in 0..CONDITIONAL_DELETE_ATTEMPTS {
        if let Some(blob) = delete(etag).await? {
            return Ok(blob);
        }
        check(current().await?)?;
    }
    Err(condition.kept_changing(bucket.as_str(), key.as_str()))
}
