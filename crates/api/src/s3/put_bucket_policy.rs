//! PutBucketPolicy: validates the JSON policy (see
//! [`miniaws_core::storage::BucketPolicy`]: only what Mini AWS enforces
//! exactly is accepted, the rest is `MalformedPolicy` naming the element)
//! and stores it; a public policy is `AccessDenied` while the bucket's
//! `BlockPublicPolicy` setting is on, as on S3.

use miniaws_core::storage::BucketPolicy;
use miniaws_core::storage::S3Action;
use s3s::dto::{PutBucketPolicyInput, PutBucketPolicyOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketPolicyInput>,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // The owner first: another account learns nothing about the policy.
    let bucket = s3
        .owned_bucket(caller, &input.bucket, S3Action::PutBucketPolicy)
        .await?;
    let policy = BucketPolicy::parse(bucket.name.as_str(), &input.policy)
        .map_err(|e| s3_error!(MalformedPolicy, "{}", e.0))?;
    s3.storage()
        .set_bucket_policy(caller, &input.bucket, Some(&policy))
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(PutBucketPolicyOutput::default()))
}
