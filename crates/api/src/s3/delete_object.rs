//! DeleteObject: idempotent, 204 whether or not the key existed. Without a
//! `versionId` it removes the key of a bucket that was never versioned, and
//! inserts a delete marker in a versioned one (answered with
//! `x-amz-delete-marker: true` and the marker's `x-amz-version-id`); with
//! one it removes that version for good (answered with the version id, and
//! `x-amz-delete-marker: true` when it was a delete marker). A malformed
//! version id is `InvalidArgument` (see [`super::versions`]).
//!
//! A conditional delete (`If-Match: "<etag>"` or `If-Match: *`, S3's since
//! 2025) deletes only while the key's current version has that ETag (or
//! exists): otherwise 412 `PreconditionFailed`, or 404 `NoSuchKey` when
//! there is no current version (none, or a delete marker). The condition
//! is checked in the statement (or transaction) that deletes. The directory
//! buckets' `x-amz-if-match-last-modified-time` and `x-amz-if-match-size`
//! are `NotImplemented`, and a condition with a `versionId` is
//! `InvalidRequest` (S3 evaluates conditions against the current version).

use miniaws_core::storage::DeleteTarget;
use s3s::dto::{DeleteObjectInput, DeleteObjectOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::versions::version_param;
use super::write_conditions::write_condition;
use super::{MiniS3, caller, detached, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    if input.if_match_last_modified_time.is_some() || input.if_match_size.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "x-amz-if-match-last-modified-time and x-amz-if-match-size are for directory buckets; this endpoint's conditional delete takes If-Match"
        ));
    }
    let target = DeleteTarget {
        key: input.key,
        version: version_param(input.version_id.as_deref())?,
        condition: write_condition(input.if_match, None)?,
    };
    // `x-amz-bypass-governance-retention: true`: remove a version its
    // GOVERNANCE retention protects (s3:BypassGovernanceRetention).
    let bypass = input.bypass_governance_retention.unwrap_or(false);
    // In a task of its own: a client that goes away cannot cut the delete
    // off between the row and the blob (which would stay behind until the
    // next start-up).
    let storage = s3.state.storage.clone();
    let outcome = detached(async move {
        storage
            .delete_object_at(caller, &input.bucket, &target, bypass)
            .await
    })
    .await
    .map_err(object_error)?;
    Ok(S3Response::new(DeleteObjectOutput {
        version_id: outcome.version_id.map(|v| v.to_string()),
        delete_marker: outcome.delete_marker.then_some(true),
        ..Default::default()
    }))
}
