//! GetBucketEncryption: see [`super::bucket_encryption`].

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketEncryptionInput, GetBucketEncryptionOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(
        caller,
        &req.input.bucket,
        S3Action::GetEncryptionConfiguration,
    )
    .await?;
    Ok(S3Response::new(GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(
            super::bucket_encryption::default_configuration(),
        ),
    }))
}
