//! PutObjectAcl: ACLs are disabled (see [`super::acl`]). On an object that
//! exists, an ACL that leaves the owner alone with full control (`private`,
//! `bucket-owner-full-control`, or the document GetObjectAcl answers)
//! changes nothing and succeeds; any other is
//! `AccessControlListNotSupported`, as S3 answers.

use miniaws_core::storage::S3Action;
use s3s::dto::{PutObjectAclInput, PutObjectAclOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::{acl_headers, check_acl_request};
use super::versions::version_param;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutObjectAclInput>,
) -> S3Result<S3Response<PutObjectAclOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // Every version has the one ACL there is; a version named must exist,
    // current or not, and is written under `s3:PutObjectVersionAcl`.
    match version_param(input.version_id.as_deref())? {
        Some(version) => s3
            .storage()
            .owned_object_version(
                caller,
                &input.bucket,
                &input.key,
                version,
                S3Action::PutObjectVersionAcl,
            )
            .await
            .map_err(object_error)?,
        None => s3
            .storage()
            .owned_object(caller, &input.bucket, &input.key, S3Action::PutObjectAcl)
            .await
            .map_err(object_error)?,
    };
    let headers = acl_headers!(
        input,
        grant_read,
        grant_write,
        grant_read_acp,
        grant_write_acp
    );
    check_acl_request(
        &headers,
        input.access_control_policy.as_ref(),
        &caller.user_id.to_string(),
    )?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}
