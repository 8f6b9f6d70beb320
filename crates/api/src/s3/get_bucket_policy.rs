//! GetBucketPolicy: the policy document as the owner put it;
//! `NoSuchBucketPolicy` (404) when the bucket has none.

use s3s::dto::{GetBucketPolicyInput, GetBucketPolicyOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let caller = caller(&req)?;
    let Some(policy) = s3
        .storage()
        .get_bucket_policy(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?
    else {
        return Err(s3_error!(
            NoSuchBucketPolicy,
            "The bucket policy does not exist"
        ));
    };
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(policy),
    }))
}
