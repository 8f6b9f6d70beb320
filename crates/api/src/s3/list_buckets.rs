//! ListBuckets: the caller's buckets only.

use s3s::dto::{Bucket, ListBucketsInput, ListBucketsOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::{REGION, owner, timestamp};
use super::{MiniS3, caller, s3_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let caller = caller(&req)?;
    let prefix = req.input.prefix.unwrap_or_default();
    let buckets = s3
        .storage()
        .list_buckets(caller)
        .await
        .map_err(s3_error)?
        .into_iter()
        .filter(|b| b.name.as_str().starts_with(&prefix))
        .map(|b| Bucket {
            name: Some(b.name.as_str().to_owned()),
            creation_date: Some(timestamp(b.created_at)),
            bucket_region: Some(REGION.to_owned()),
        })
        .collect();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(owner(caller)),
        prefix: (!prefix.is_empty()).then_some(prefix),
        ..Default::default()
    }))
}
