//! PutObjectTagging: replaces the object's tag set (an empty set removes
//! it) and answers 200 with the version tagged (`x-amz-version-id`, in a
//! bucket that was ever versioned or when the request named one). Only the
//! tags change: not the body, the ETag, nor `Last-Modified` (as S3).
//! A `versionId` names any version, current or noncurrent (see
//! [`super::versions`]): a delete marker is 405 `MethodNotAllowed`, a
//! version that does not exist `NoSuchVersion`.

use s3s::dto::{PutObjectTaggingInput, PutObjectTaggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::tagging::document_tags;
use super::versions::version_param;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let tags = document_tags(input.tagging)?;
    let tagged = s3
        .storage()
        .put_object_tags_at(caller, &input.bucket, &input.key, version, &tags)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(PutObjectTaggingOutput {
        version_id: tagged.map(|v| v.to_string()),
    }))
}
