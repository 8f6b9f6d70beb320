//! GetBucketVersioning: no bucket is ever versioned, so the answer is what
//! S3 gives for a bucket whose versioning was never enabled: an empty
//! `VersioningConfiguration` (no `Status`, no `MfaDelete`).

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketVersioningInput, GetBucketVersioningOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::GetBucketVersioning)
        .await?;
    Ok(S3Response::new(GetBucketVersioningOutput::default()))
}
