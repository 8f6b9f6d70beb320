//! DeleteBucketWebsite: no bucket has a website configuration (see
//! [`super::get_bucket_website`]), so there is nothing to remove; S3
//! answers 204 whether or not one existed.

use miniaws_core::storage::S3Action;
use s3s::dto::{DeleteBucketWebsiteInput, DeleteBucketWebsiteOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketWebsiteInput>,
) -> S3Result<S3Response<DeleteBucketWebsiteOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::DeleteBucketWebsite)
        .await?;
    Ok(S3Response::new(DeleteBucketWebsiteOutput::default()))
}
