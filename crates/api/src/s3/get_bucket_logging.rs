//! GetBucketLogging: Mini AWS writes no server access logs, so every bucket
//! answers as an S3 bucket whose logging is disabled: 200 with an empty
//! `<BucketLoggingStatus/>` (S3 has no "NoSuch…" error here; s3cmd's
//! `accesslog` asks it). See
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLogging.html>.
//! PutBucketLogging accepts only the empty status (see
//! [`super::put_bucket_logging`]).

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketLoggingInput, GetBucketLoggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketLoggingInput>,
) -> S3Result<S3Response<GetBucketLoggingOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::GetBucketLogging)
        .await?;
    Ok(S3Response::new(GetBucketLoggingOutput::default()))
}
