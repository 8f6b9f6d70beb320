//! PutBucketOwnershipControls. Object Ownership is `BucketOwnerEnforced` on
//! every bucket (see [`super::acl`]): setting it to that changes nothing and
//! succeeds; `ObjectWriter` or `BucketOwnerPreferred` (ACLs enabled) is
//! `NotImplemented`, never a wrong success.

use miniaws_core::storage::S3Action;
use s3s::dto::{PutBucketOwnershipControlsInput, PutBucketOwnershipControlsOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::acl::BUCKET_OWNER_ENFORCED;
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    s3.owned_bucket(caller, &input.bucket, S3Action::PutBucketOwnershipControls)
        .await?;
    let rules = &input.ownership_controls.rules;
    if rules.len() != 1 {
        return Err(s3_error!(
            MalformedXML,
            "OwnershipControls must hold exactly one Rule (got {})",
            rules.len()
        ));
    }
    match rules[0].object_ownership.as_str() {
        BUCKET_OWNER_ENFORCED => Ok(S3Response::new(PutBucketOwnershipControlsOutput {})),
        other => Err(s3_error!(
            NotImplemented,
            "Object Ownership {other} is not implemented: ACLs are disabled on every bucket ({BUCKET_OWNER_ENFORCED})"
        )),
    }
}
