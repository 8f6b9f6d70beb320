//! GetBucketTagging: the bucket's tag set, in the order it was put;
//! `NoSuchTagSet` (404) when it has none, as S3 answers (unlike
//! GetObjectTagging, which answers an empty set).

use s3s::dto::{GetBucketTaggingInput, GetBucketTaggingOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::tagging::tag_set;
use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketTaggingInput>,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let caller = caller(&req)?;
    let tags = s3
        .storage()
        .get_bucket_tags(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?;
    if tags.is_empty() {
        return Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"));
    }
    Ok(S3Response::new(GetBucketTaggingOutput {
        tag_set: tag_set(&tags),
    }))
}
