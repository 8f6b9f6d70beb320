//! GetBucketLocation: every bucket lives in `us-east-1`, which S3 reports
//! as an empty `LocationConstraint`.

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketLocationInput, GetBucketLocationOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::GetBucketLocation)
        .await?;
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint: None,
    }))
}
