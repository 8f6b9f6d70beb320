//! DeleteObject: idempotent, 204 whether or not the key existed.
//! `versionId=null` deletes the current object (the one version an
//! unversioned bucket keeps) and is answered with `x-amz-version-id: null`;
//! any other version id is `InvalidArgument` (see [`super::versions`]).

use s3s::dto::{DeleteObjectInput, DeleteObjectOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::versions::{echo, null_version};
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
    let named_null = null_version(input.version_id.as_deref())?;
    // In a task of its own: a client that goes away cannot cut the delete
    // off between the row and the blob (which would stay behind until the
    // next start-up).
    let storage = s3.state.storage.clone();
    detached(async move {
        storage
            .delete_object(caller, &input.bucket, &input.key)
            .await
    })
    .await
    .map_err(object_error)?;
    Ok(S3Response::new(DeleteObjectOutput {
        version_id: echo(named_null),
        ..Default::default()
    }))
}
