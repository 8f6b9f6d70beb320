//! AbortMultipartUpload: the upload and its parts are removed.

use s3s::dto::{AbortMultipartUploadInput, AbortMultipartUploadOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller, detached, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // In a task of its own: a client that goes away cannot cut the abort
    // off between the rows and the parts' blobs (which would stay behind
    // until the next start-up).
    let multipart = s3.state.multipart.clone();
    detached(async move {
        multipart
            .abort(caller, &input.bucket, &input.key, &input.upload_id)
            .await
    })
    .await
    .map_err(object_error)?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}
