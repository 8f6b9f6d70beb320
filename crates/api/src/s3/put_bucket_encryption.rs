//! PutBucketEncryption: see [`super::bucket_encryption`].

use miniaws_core::storage::S3Action;
use s3s::dto::{PutBucketEncryptionInput, PutBucketEncryptionOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketEncryptionInput>,
) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(
        caller,
        &req.input.bucket,
        S3Action::PutEncryptionConfiguration,
    )
    .await?;
    super::bucket_encryption::check_configuration(&req.input.server_side_encryption_configuration)?;
    Ok(S3Response::new(PutBucketEncryptionOutput::default()))
}
