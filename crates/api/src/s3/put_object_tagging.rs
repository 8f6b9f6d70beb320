//! PutObjectTagging: replaces the object's tag set (an empty set removes
//! it) and answers 200 with nothing else. Only the tags change: not the
//! body, the ETag, nor `Last-Modified` (as S3).

use s3s::dto::{PutObjectTaggingInput, PutObjectTaggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::tagging::document_tags;
use super::versions::{current_version, version_param};
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let tags = document_tags(input.tagging)?;
    let answered = current_version(s3, caller, &input.bucket, &input.key, version).await?;
    let tagged = s3
        .storage()
        .put_object_tags(caller, &input.bucket, &input.key, &tags)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(PutObjectTaggingOutput {
        version_id: answered.or(tagged.map(|v| v.to_string())),
    }))
}
