//! GetBucketPolicyStatus (`GET /<bucket>?policyStatus`): whether the
//! bucket's policy is public (`IsPublic`), by S3's rule (see
//! `BucketPolicy::is_public`): an `Allow` naming everyone is public, one
//! naming only users is not; `NoSuchBucketPolicy` (404) when the bucket has
//! none, as on S3.

use s3s::dto::{GetBucketPolicyStatusInput, GetBucketPolicyStatusOutput, PolicyStatus};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let caller = caller(&req)?;
    let Some(is_public) = s3
        .storage()
        .get_bucket_policy_status(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?
    else {
        return Err(s3_error!(
            NoSuchBucketPolicy,
            "The bucket policy does not exist"
        ));
    };
    Ok(S3Response::new(GetBucketPolicyStatusOutput {
        policy_status: Some(PolicyStatus {
            is_public: Some(is_public),
        }),
    }))
}
