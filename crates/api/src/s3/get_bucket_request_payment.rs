//! GetBucketRequestPayment: Mini AWS has no Requester Pays buckets, so every
//! bucket answers as an S3 bucket whose configuration was never changed:
//! `<Payer>BucketOwner</Payer>`. S3 answers this for every bucket (there is
//! no "NoSuch…" error for it), and s3cmd's `info` asks it of every bucket.
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketRequestPayment.html>.
//! PutBucketRequestPayment stays `NotImplemented`.

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketRequestPaymentInput, GetBucketRequestPaymentOutput, Payer};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketRequestPaymentInput>,
) -> S3Result<S3Response<GetBucketRequestPaymentOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::GetBucketRequestPayment)
        .await?;
    Ok(S3Response::new(GetBucketRequestPaymentOutput {
        payer: Some(Payer::from_static(Payer::BUCKET_OWNER)),
    }))
}
