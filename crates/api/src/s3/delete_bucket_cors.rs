//! DeleteBucketCors: removes the bucket's CORS configuration (204, also
//! when it had none).

use s3s::dto::{DeleteBucketCorsInput, DeleteBucketCorsOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteBucketCorsInput>,
) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    let caller = caller(&req)?;
    s3.storage()
        .set_bucket_cors(caller, &req.input.bucket, None)
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(DeleteBucketCorsOutput::default()))
}
