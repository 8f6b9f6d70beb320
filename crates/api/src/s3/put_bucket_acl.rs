//! PutBucketAcl: ACLs are disabled (see [`super::acl`]). An ACL that leaves
//! the owner alone with full control (`private`, or the document
//! GetBucketAcl answers) changes nothing and succeeds; any other is
//! `AccessControlListNotSupported`, as S3 answers.

use s3s::dto::{PutBucketAclInput, PutBucketAclOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::{AclHeaders, check_acl_request};
use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    s3.storage()
        .bucket(caller, &input.bucket)
        .await
        .map_err(bucket_error)?;
    let owner_id = caller.user_id.to_string();
    let headers = AclHeaders {
        canned: input.acl.as_ref().map(|a| a.as_str()),
        full_control: input.grant_full_control.as_deref(),
        others: [
            input.grant_read.as_deref(),
            input.grant_write.as_deref(),
            input.grant_read_acp.as_deref(),
            input.grant_write_acp.as_deref(),
        ],
    };
    check_acl_request(&headers, input.access_control_policy.as_ref(), &owner_id)?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}
