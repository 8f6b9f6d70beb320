//! GetBucketNotificationConfiguration: Mini AWS sends no event
//! notifications, so every bucket answers as an S3 bucket with none
//! configured: 200 with an empty `<NotificationConfiguration/>` (minio-py's
//! `get_bucket_notification` and s3cmd's `getnotification` ask it). See
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketNotificationConfiguration.html>.
//! PutBucketNotificationConfiguration stays `NotImplemented`.

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketNotificationConfigurationInput, GetBucketNotificationConfigurationOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketNotificationConfigurationInput>,
) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::GetBucketNotification)
        .await?;
    Ok(S3Response::new(
        GetBucketNotificationConfigurationOutput::default(),
    ))
}
