//! PutBucketVersioning: refused. Mini AWS keeps one version of each object;
//! enabling (or suspending) versioning would promise versions it does not
//! keep, so the answer is `NotImplemented` (501) with a message that says
//! so, after the bucket's own checks (`NoSuchBucket`, `AccessDenied`).

use miniaws_core::storage::S3Action;
use s3s::dto::{PutBucketVersioningInput, PutBucketVersioningOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::PutBucketVersioning)
        .await?;
    Err(s3_error!(
        NotImplemented,
        "Mini AWS buckets are not versioned: each key holds one object, and versioning cannot be enabled or suspended (GetBucketVersioning answers that it was never enabled)"
    ))
}
