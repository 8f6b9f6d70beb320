//! DeleteBucketLifecycle: removes the bucket's lifecycle configuration
//! (204, also when it had none); the sweep stops acting on the bucket.

use s3s::dto::{DeleteBucketLifecycleInput, DeleteBucketLifecycleOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    let caller = caller(&req)?;
    s3.storage()
        .set_bucket_lifecycle(caller, &req.input.bucket, None)
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
}
