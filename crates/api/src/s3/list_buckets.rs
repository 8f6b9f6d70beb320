//! ListBuckets: the caller's buckets only, in name order, with S3's
//! `prefix`, `max-buckets` (1 to 10000) and `continuation-token` paging
//! (the JavaScript SDK's `paginateListBuckets` and `MaxBuckets` use them).
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html>.

use s3s::dto::{Bucket, ListBucketsInput, ListBucketsOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::{REGION, owner, timestamp};
use super::list_objects_v2::{token, untoken};
use super::{MiniS3, caller, s3_error};

/// S3's bounds on `max-buckets`.
const MAX_BUCKETS_RANGE: std::ops::RangeInclusive<i32> = 1..=10_000;

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let prefix = input.prefix.unwrap_or_default();
    let max_buckets = match input.max_buckets {
        Some(n) if !MAX_BUCKETS_RANGE.contains(&n) => {
            return Err(s3s::s3_error!(
                InvalidArgument,
                "Argument max-buckets must be an integer between 1 and 10000."
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => usize::MAX,
    };
    let after = input
        .continuation_token
        .as_deref()
        .map(untoken)
        .transpose()?;
    let mut names: Vec<_> = s3
        .storage()
        .list_buckets(caller)
        .await
        .map_err(s3_error)?
        .into_iter()
        .filter(|b| b.name.as_str().starts_with(&prefix))
        .filter(|b| after.as_deref().is_none_or(|a| b.name.as_str() > a))
        .collect();
    names.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    let more = names.len() > max_buckets;
    names.truncate(max_buckets);
    let next = more
        .then(|| names.last().map(|b| token(b.name.as_str())))
        .flatten();
    let buckets = names
        .into_iter()
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
        continuation_token: next,
    }))
}
