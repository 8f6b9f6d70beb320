//! GetBucketOwnershipControls: every bucket's Object Ownership is
//! `BucketOwnerEnforced` (ACLs disabled, see [`super::acl`]), which is what
//! S3 answers for a bucket created with its defaults.

use miniaws_core::storage::S3Action;
use s3s::dto::{
    GetBucketOwnershipControlsInput, GetBucketOwnershipControlsOutput, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule,
};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::BUCKET_OWNER_ENFORCED;
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(
        caller,
        &req.input.bucket,
        S3Action::GetBucketOwnershipControls,
    )
    .await?;
    Ok(S3Response::new(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: ObjectOwnership::from_static(BUCKET_OWNER_ENFORCED),
            }],
        }),
    }))
}
