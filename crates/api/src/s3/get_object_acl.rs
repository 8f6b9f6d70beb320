//! GetObjectAcl: ACLs are disabled (see [`super::acl`]), so the answer for
//! an object that exists is always its bucket's owner with `FULL_CONTROL`,
//! whoever asks: the owner, or — when the bucket's policy grants everyone
//! `s3:GetObjectAcl` on the key, as S3 requires
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html>)
//! — another account's signed request or an unsigned one (see
//! [`super::auth::reader`]), which get exactly the owner's answer.
//! A `versionId` names that version, current or noncurrent, and is read
//! under `s3:GetObjectVersionAcl` (see [`super::versions`]).

use s3s::dto::{GetObjectAclInput, GetObjectAclOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::owner_full_control;
use super::versions::version_param;
use super::{MiniS3, object_error, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
    // Every version has the one ACL there is (the bucket owner's full
    // control); a version named must exist, current or not.
    let version = version_param(input.version_id.as_deref())?;
    let owner = s3
        .storage()
        .get_object_acl_owner(reader, &input.bucket, &input.key, version)
        .await
        .map_err(object_error)?;
    let (owner, grants) = owner_full_control(owner);
    Ok(S3Response::new(GetObjectAclOutput {
        owner: Some(owner),
        grants: Some(grants),
        request_charged: None,
    }))
}
