//! PutBucketLogging: Mini AWS writes no server access logs, so the one
//! status it can honour is the empty one (`<BucketLoggingStatus/>`, which
//! is how S3 clients and infrastructure tools turn a bucket's logging
//! off): it succeeds and changes nothing, and the bucket keeps answering
//! GetBucketLogging with an empty status (see
//! [`super::get_bucket_logging`]). A status that names a target bucket
//! (`LoggingEnabled`) would promise log objects that never come:
//! `NotImplemented`, and nothing changes.

use miniaws_core::storage::S3Action;
use s3s::dto::{PutBucketLoggingInput, PutBucketLoggingOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketLoggingInput>,
) -> S3Result<S3Response<PutBucketLoggingOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::PutBucketLogging)
        .await?;
    if req.input.bucket_logging_status.logging_enabled.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "Mini AWS writes no server access logs: only an empty BucketLoggingStatus (logging off) is accepted"
        ));
    }
    Ok(S3Response::new(PutBucketLoggingOutput::default()))
}
