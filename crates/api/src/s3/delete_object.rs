//! DeleteObject: idempotent, 204 whether or not the key existed. Without a
//! `versionId` it removes the key of a bucket that was never versioned, and
//! inserts a delete marker in a versioned one (answered with
//! `x-amz-delete-marker: true` and the marker's `x-amz-version-id`); with
//! one it removes that version for good (answered with the version id, and
//! `x-amz-delete-marker: true` when it was a delete marker). A malformed
//! version id is `InvalidArgument` (see [`super::versions`]).

use s3s::dto::{DeleteObjectInput, DeleteObjectOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::versions::version_param;
use super::{MiniS3, caller, detached, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    if input.if_match.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "conditional deletes (If-Match) are not implemented"
        ));
    }
    let version = version_param(input.version_id.as_deref())?;
    // `x-amz-bypass-governance-retention: true`: remove a version its
    // GOVERNANCE retention protects (s3:BypassGovernanceRetention).
    let bypass = input.bypass_governance_retention.unwrap_or(false);
    // In a task of its own: a client that goes away cannot cut the delete
    // off between the row and the blob (which would stay behind until the
    // next start-up).
    let storage = s3.state.storage.clone();
    let outcome = detached(async move {
        storage
            .delete_object_at(caller, &input.bucket, &input.key, version, bypass)
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
