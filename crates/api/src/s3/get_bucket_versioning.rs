//! GetBucketVersioning: the bucket's `Status` (`Enabled` or `Suspended`)
//! once versioning was set, and, as S3 answers for a bucket whose
//! versioning was never enabled, an empty `VersioningConfiguration`
//! before (no `Status`, no `MfaDelete`).

use miniaws_core::storage::Versioning;
use s3s::dto::{BucketVersioningStatus, GetBucketVersioningInput, GetBucketVersioningOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let caller = caller(&req)?;
    let versioning = s3
        .storage()
        .bucket_versioning(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?;
    let status = match versioning {
        Versioning::Unversioned => None,
        Versioning::Enabled => Some(BucketVersioningStatus::ENABLED),
        Versioning::Suspended => Some(BucketVersioningStatus::SUSPENDED),
    };
    Ok(S3Response::new(GetBucketVersioningOutput {
        status: status.map(BucketVersioningStatus::from_static),
        ..Default::default()
    }))
}
