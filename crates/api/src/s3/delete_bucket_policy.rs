//! DeleteBucketPolicy: removes the bucket's policy (204, also when it had
//! none).

use s3s::dto::{DeleteBucketPolicyInput, DeleteBucketPolicyOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    let caller = caller(&req)?;
    s3.storage()
        .set_bucket_policy(caller, &req.input.bucket, None)
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
}
