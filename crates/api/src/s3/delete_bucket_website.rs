//! DeleteBucketWebsite: removes the bucket's website configuration (204,
//! also when it had none, as on S3); the website endpoint then answers 404
//! `NoSuchWebsiteConfiguration`.

use s3s::dto::{DeleteBucketWebsiteInput, DeleteBucketWebsiteOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketWebsiteInput>,
) -> S3Result<S3Response<DeleteBucketWebsiteOutput>> {
    let caller = caller(&req)?;
    s3.storage()
        .set_bucket_website(caller, &req.input.bucket, None)
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(DeleteBucketWebsiteOutput::default()))
}
