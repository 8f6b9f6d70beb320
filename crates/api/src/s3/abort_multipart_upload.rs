//! AbortMultipartUpload: the upload and its parts are removed.

use s3s::dto::{AbortMultipartUploadInput, AbortMultipartUploadOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    s3.multipart()
        .abort(caller, &input.bucket, &input.key, &input.upload_id)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}
