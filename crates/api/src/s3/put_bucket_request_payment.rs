//! PutBucketRequestPayment: `BucketOwner` is what every bucket already is
//! (see [`super::get_bucket_request_payment`]), so it succeeds and changes
//! nothing (s3cmd's `payer` sends it); `Requester` would make a Requester
//! Pays bucket, which Mini AWS has no notion of: `NotImplemented`, and
//! nothing changes.

use miniaws_core::storage::S3Action;
use s3s::dto::{Payer, PutBucketRequestPaymentInput, PutBucketRequestPaymentOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketRequestPaymentInput>,
) -> S3Result<S3Response<PutBucketRequestPaymentOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::PutBucketRequestPayment)
        .await?;
    if req.input.request_payment_configuration.payer.as_str() != Payer::BUCKET_OWNER {
        return Err(s3_error!(
            NotImplemented,
            "Mini AWS has no Requester Pays buckets: the bucket owner pays, and only Payer BucketOwner is accepted"
        ));
    }
    Ok(S3Response::new(PutBucketRequestPaymentOutput::default()))
}
