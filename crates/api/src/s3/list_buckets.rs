//! ListBuckets: the caller's buckets only, in name order, with S3's
//! `prefix`, `max-buckets` (1 to 10000) and `continuation-token` paging
//! (the JavaScript SDK's `paginateListBuckets` and `MaxBuckets` use them).
//! `bucket-region` keeps the buckets of that region: every bucket is in
//! [`REGION`], so another region lists none.
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html>.

use miniaws_core::storage::ListBucketsInput;
use s3s::dto::{Bucket, ListBucketsInput as S3ListBucketsInput, ListBucketsOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::{REGION, owner, timestamp};
use super::list_objects_v2::{token, untoken};
use super::{MiniS3, caller, s3_error};

/// S3's bounds on `max-buckets`.
const MAX_BUCKETS_RANGE: std::ops::RangeInclusive<i32> = 1..=10_000;

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<S3ListBucketsInput>,
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
        Some(n) => u32::try_from(n).ok(),
        None => None,
    };
    let after = input
        .continuation_token
        .as_deref()
        .map(untoken)
        .transpose()?;
    // Every bucket is in REGION (GetBucketLocation says so too): a filter
    // on another region leaves none, rather than listing them all.
    if input
        .bucket_region
        .as_deref()
        .is_some_and(|region| region != REGION)
    {
        return Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(Vec::new()),
            owner: Some(owner(caller)),
            prefix: (!prefix.is_empty()).then_some(prefix),
            continuation_token: None,
        }));
    }
    // One page read from the database (a range of the owner's names after
    // the token, under the prefix), not the whole list filtered here.
    let page = s3
        .storage()
        .list_buckets(
            caller,
            &ListBucketsInput {
                prefix: prefix.clone(),
                after,
                limit: max_buckets,
            },
        )
        .await
        .map_err(s3_error)?;
    let next = page.next_after.as_deref().map(token);
    let names = page.buckets;
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
