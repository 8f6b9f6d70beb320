//! CreateBucket: `BucketAlreadyOwnedByYou`, `BucketAlreadyExists`,
//! `InvalidBucketName`.

use miniaws_core::CoreError;
use s3s::dto::{CreateBucketInput, CreateBucketOutput};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result};

use super::{MiniS3, caller, s3_error, s3_error_with};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let caller = caller(&req)?;
    let name = req.input.bucket;
    s3.storage()
        .create_bucket(caller, &name)
        .await
        .map_err(|e| match e {
            e @ CoreError::InvalidInput(_) => s3_error_with(e, S3ErrorCode::InvalidBucketName),
            other => s3_error(other),
        })?;
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{name}")),
    }))
}
