//! GetBucketAcl: ACLs are disabled (see [`super::acl`]), so the answer is
//! always the bucket's owner with `FULL_CONTROL`, whoever asks: the owner,
//! or another account's signed request or an unsigned one when the
//! bucket's policy grants it `s3:GetBucketAcl`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html>;
//! see [`super::auth::reader`]).

use s3s::dto::{GetBucketAclInput, GetBucketAclOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::acl::owner_full_control;
use super::{MiniS3, bucket_error, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    let reader = reader(&req)?;
    let owner = s3
        .storage()
        .bucket_acl_owner(reader, &req.input.bucket)
        .await
        .map_err(bucket_error)?;
    let (owner, grants) = owner_full_control(owner);
    Ok(S3Response::new(GetBucketAclOutput {
        owner: Some(owner),
        grants: Some(grants),
    }))
}
