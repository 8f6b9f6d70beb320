//! DeleteObjectTagging: removes the object's tag set; 204.

use s3s::dto::{DeleteObjectTaggingInput, DeleteObjectTaggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::versions::{echo, null_version};
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let named_null = null_version(input.version_id.as_deref())?;
    s3.storage()
        .delete_object_tags(caller, &input.bucket, &input.key)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(DeleteObjectTaggingOutput {
        version_id: echo(named_null),
    }))
}
