//! DeleteBucket: only empty buckets (`BucketNotEmpty`).

use s3s::dto::{DeleteBucketInput, DeleteBucketOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let caller = caller(&req)?;
    s3.storage()
        .delete_bucket(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(DeleteBucketOutput {}))
}
