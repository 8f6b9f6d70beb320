//! DeleteBucketTagging: removes the bucket's tag set (204, also when it
//! had none).

use miniaws_core::storage::Tags;
use s3s::dto::{DeleteBucketTaggingInput, DeleteBucketTaggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    let caller = caller(&req)?;
    s3.storage()
        .set_bucket_tags(caller, &req.input.bucket, &Tags::default())
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
}
