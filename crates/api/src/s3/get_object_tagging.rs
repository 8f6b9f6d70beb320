//! GetObjectTagging: the object's tag set, in the order it was given (an
//! untagged object's is empty). `versionId=null` names the current object
//! (see [`super::versions`]), as on the other two tagging operations.
//! The owner's, or another account's signed request or an unsigned one
//! when the bucket's policy grants it `s3:GetObjectTagging` on the key (see
//! [`super::auth::reader`]).

use s3s::dto::{GetObjectTaggingInput, GetObjectTaggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::tagging::tag_set;
use super::versions::{answer_version, version_param};
use super::{MiniS3, object_error, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let meta = s3
        .storage()
        .get_object_tags_at(reader, &input.bucket, &input.key, version)
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(GetObjectTaggingOutput {
        tag_set: tag_set(&meta.tags),
        version_id: answer_version(&meta, version),
    }))
}
