//! HeadBucket: 200 for the caller's bucket, 404 or 403 otherwise.

use s3s::dto::{HeadBucketInput, HeadBucketOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::REGION;
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket).await?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(REGION.to_owned()),
        ..Default::default()
    }))
}
