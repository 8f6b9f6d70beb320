//! DeleteObjectTagging: removes the object's tag set; 204, with the
//! version whose tags were removed, as PutObjectTagging answers (see
//! [`super::put_object_tagging`]; a `versionId` names any version).

use s3s::dto::{DeleteObjectTaggingInput, DeleteObjectTaggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::versions::version_param;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let tagged = s3
        .storage()
        .delete_object_tags_at(caller, &input.bucket, &input.key, version)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(DeleteObjectTaggingOutput {
        version_id: tagged.map(|v| v.to_string()),
    }))
}
