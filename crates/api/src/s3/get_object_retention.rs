//! GetObjectRetention: see [`super::object_lock`].

use s3s::dto::{GetObjectRetentionInput, GetObjectRetentionOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::object_lock::{missing_configuration, owned_bucket};
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectRetentionInput>,
) -> S3Result<S3Response<GetObjectRetentionOutput>> {
    let caller = caller(&req)?;
    owned_bucket(s3.storage(), caller, &req.input.bucket).await?;
    Err(missing_configuration())
}
