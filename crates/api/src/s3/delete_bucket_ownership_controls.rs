//! DeleteBucketOwnershipControls: on S3, deleting a bucket's Object
//! Ownership setting enables ACLs (as `ObjectWriter`); every bucket here
//! keeps `BucketOwnerEnforced` (see [`super::acl`]), so it is
//! `NotImplemented`, never a wrong success.

use miniaws_core::storage::S3Action;
use s3s::dto::{DeleteBucketOwnershipControlsInput, DeleteBucketOwnershipControlsOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::acl::BUCKET_OWNER_ENFORCED;
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(
        caller,
        &req.input.bucket,
        S3Action::PutBucketOwnershipControls,
    )
    .await?;
    Err(s3_error!(
        NotImplemented,
        "deleting Object Ownership (which enables ACLs) is not implemented: ACLs are disabled on every bucket ({BUCKET_OWNER_ENFORCED})"
    ))
}
