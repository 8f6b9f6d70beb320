//! PutBucketTagging: replaces the bucket's tag set, validated as object
//! tags are but with up to 50 tags (see
//! [`miniaws_core::storage::Tags::for_bucket`]). An empty `TagSet` is
//! accepted and removes the tags ("A tag set can contain as many as 50
//! tags, or it can be empty",
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/CostAllocTagging.html>).
//! Answers 204, as S3's documented sample response
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html>);
//! s3s would answer 200 (see [`super::wire::Status`]).

use http::StatusCode;
use miniaws_core::storage::S3Action;
use s3s::dto::{PutBucketTaggingInput, PutBucketTaggingOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::tagging::document_bucket_tags;
use super::wire::Status;
use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketTaggingInput>,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // The bucket's own refusals (NoSuchBucket, AccessDenied) come before
    // the document's, as on S3.
    s3.owned_bucket(caller, &input.bucket, S3Action::PutBucketTagging)
        .await?;
    let tags = document_bucket_tags(input.tagging.tag_set)?;
    s3.storage()
        .set_bucket_tags(caller, &input.bucket, &tags)
        .await
        .map_err(bucket_error)?;
    let mut response = S3Response::new(PutBucketTaggingOutput::default());
    response.extensions.insert(Status(StatusCode::NO_CONTENT));
    Ok(response)
}
