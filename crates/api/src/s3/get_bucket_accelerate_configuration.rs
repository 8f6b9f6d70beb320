//! GetBucketAccelerateConfiguration: there is no Transfer Acceleration on
//! one machine, so every bucket answers as an S3 bucket on which it was
//! never configured: 200 with an empty `AccelerateConfiguration` (no
//! `Status`). See
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAccelerateConfiguration.html>.
//! PutBucketAccelerateConfiguration stays `NotImplemented`.

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketAccelerateConfigurationInput, GetBucketAccelerateConfigurationOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketAccelerateConfigurationInput>,
) -> S3Result<S3Response<GetBucketAccelerateConfigurationOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(
        caller,
        &req.input.bucket,
        S3Action::GetAccelerateConfiguration,
    )
    .await?;
    Ok(S3Response::new(
        GetBucketAccelerateConfigurationOutput::default(),
    ))
}
