//! GetObjectAcl: ACLs are disabled (see [`super::acl`]), so the answer for
//! an object that exists is always the owner with `FULL_CONTROL`.
//! `versionId=null` names the current object (see [`super::versions`]).

use miniaws_core::storage::Conditions;
use s3s::dto::{GetObjectAclInput, GetObjectAclOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::owner_full_control;
use super::versions::null_version;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    null_version(input.version_id.as_deref())?;
    s3.storage()
        .head_object(caller, &input.bucket, &input.key, &Conditions::default())
        .await
        .map_err(object_error)?;
    let (owner, grants) = owner_full_control(caller);
    Ok(S3Response::new(GetObjectAclOutput {
        owner: Some(owner),
        grants: Some(grants),
        request_charged: None,
    }))
}
