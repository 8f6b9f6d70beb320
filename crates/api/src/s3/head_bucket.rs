//! HeadBucket: 200 for the caller's bucket, and, as on S3 (where it needs
//! `s3:ListBucket`), for a bucket whose policy grants `s3:ListBucket` to
//! everyone — to another account's signed request or an unsigned one;
//! 404 or 403 otherwise.

use s3s::dto::{HeadBucketInput, HeadBucketOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::REGION;
use super::{MiniS3, bucket_error, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let reader = reader(&req)?;
    s3.storage()
        .head_bucket(reader, &req.input.bucket)
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(REGION.to_owned()),
        ..Default::default()
    }))
}
