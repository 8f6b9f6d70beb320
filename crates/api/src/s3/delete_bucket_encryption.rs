//! DeleteBucketEncryption: see [`super::bucket_encryption`].

use miniaws_core::storage::S3Action;
use s3s::dto::{DeleteBucketEncryptionInput, DeleteBucketEncryptionOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(
        caller,
        &req.input.bucket,
        S3Action::PutEncryptionConfiguration,
    )
    .await?;
    Ok(S3Response::new(DeleteBucketEncryptionOutput::default()))
}
