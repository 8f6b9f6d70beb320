//! DeleteObject: idempotent, 204 whether or not the key existed.

use s3s::dto::{DeleteObjectInput, DeleteObjectOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    if input.if_match.is_some() || input.version_id.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "conditional and versioned deletes are not implemented"
        ));
    }
    s3.storage()
        .delete_object(caller, &input.bucket, &input.key)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(DeleteObjectOutput::default()))
}
