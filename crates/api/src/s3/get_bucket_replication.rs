//! GetBucketReplication: Mini AWS does not replicate, so no bucket has a
//! replication configuration and the answer is S3's for such a bucket, 404
//! `ReplicationConfigurationNotFoundError` (minio-py's
//! `get_bucket_replication` asks it). See
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketReplication.html>.
//! PutBucketReplication stays `NotImplemented`.

use miniaws_core::storage::S3Action;
use s3s::dto::{GetBucketReplicationInput, GetBucketReplicationOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketReplicationInput>,
) -> S3Result<S3Response<GetBucketReplicationOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(
        caller,
        &req.input.bucket,
        S3Action::GetReplicationConfiguration,
    )
    .await?;
    Err(s3_error!(
        ReplicationConfigurationNotFoundError,
        "The replication configuration was not found"
    ))
}
