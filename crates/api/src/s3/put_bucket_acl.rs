//! PutBucketAcl: ACLs are disabled (see [`super::acl`]). An ACL that leaves
//! the owner alone with full control (`private`, or the document
//! GetBucketAcl answers) changes nothing and succeeds; any other is
//! `AccessControlListNotSupported`, as S3 answers.

use miniaws_core::storage::S3Action;
use s3s::dto::{PutBucketAclInput, PutBucketAclOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::{acl_headers, check_acl_request};
use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    s3.owned_bucket(caller, &input.bucket, S3Action::PutBucketAcl)
        .await?;
    let owner_id = caller.user_id.to_string();
    let headers = acl_headers!(
        input,
        grant_read,
        grant_write,
        grant_read_acp,
        grant_write_acp
    );
    check_acl_request(&headers, input.access_control_policy.as_ref(), &owner_id)?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}
