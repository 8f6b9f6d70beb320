//! GetBucketAcl: ACLs are disabled (see [`super::acl`]), so the answer is
//! always the owner with `FULL_CONTROL`.

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketAclInput, GetBucketAclOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::owner_full_control;
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::GetBucketAcl)
        .await?;
    let (owner, grants) = owner_full_control(caller.user_id);
    Ok(S3Response::new(GetBucketAclOutput {
        owner: Some(owner),
        grants: Some(grants),
    }))
}
