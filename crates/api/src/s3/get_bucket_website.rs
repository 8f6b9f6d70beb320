//! GetBucketWebsite: Mini AWS does not host static websites, so no bucket
//! has a website configuration and the answer is S3's for such a bucket,
//! 404 `NoSuchWebsiteConfiguration` (s3cmd's `ws-info` asks it). See
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketWebsite.html>.
//! PutBucketWebsite stays `NotImplemented`.

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketWebsiteInput, GetBucketWebsiteOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketWebsiteInput>,
) -> S3Result<S3Response<GetBucketWebsiteOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::GetBucketWebsite)
        .await?;
    Err(s3_error!(
        NoSuchWebsiteConfiguration,
        "The specified bucket does not have a website configuration"
    ))
}
