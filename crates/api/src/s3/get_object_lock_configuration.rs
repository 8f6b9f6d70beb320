//! GetObjectLockConfiguration: see [`super::object_lock`].

use s3s::dto::{GetObjectLockConfigurationInput, GetObjectLockConfigurationOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::object_lock::{configuration_not_found, owned_bucket};
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let caller = caller(&req)?;
    owned_bucket(s3.storage(), caller, &req.input.bucket).await?;
    Err(configuration_not_found())
}
