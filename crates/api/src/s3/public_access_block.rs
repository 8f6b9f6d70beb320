//! Get/Put/DeletePublicAccessBlock: the bucket's four Block Public Access
//! settings. A new bucket has all four on (S3's default for buckets created
//! since April 2023), so GetPublicAccessBlock answers them; once deleted it
//! is `NoSuchPublicAccessBlockConfiguration` (404). A setting left out of
//! PutPublicAccessBlock is off, as on S3.

use http::StatusCode;
use miniaws_core::storage::PublicAccessBlock;
use s3s::dto::{
    DeletePublicAccessBlockInput, DeletePublicAccessBlockOutput, GetPublicAccessBlockInput,
    GetPublicAccessBlockOutput, PublicAccessBlockConfiguration, PutPublicAccessBlockInput,
    PutPublicAccessBlockOutput,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller};

fn no_configuration() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into()),
        "The public access block configuration was not found",
    );
    e.set_status_code(StatusCode::NOT_FOUND);
    e
}

pub(super) async fn get(
    s3: &MiniS3,
    req: S3Request<GetPublicAccessBlockInput>,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let caller = caller(&req)?;
    let Some(b) = s3
        .storage()
        .get_public_access_block(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?
    else {
        return Err(no_configuration());
    };
    Ok(S3Response::new(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(PublicAccessBlockConfiguration {
            block_public_acls: Some(b.block_public_acls),
            ignore_public_acls: Some(b.ignore_public_acls),
            block_public_policy: Some(b.block_public_policy),
            restrict_public_buckets: Some(b.restrict_public_buckets),
        }),
    }))
}

pub(super) async fn put(
    s3: &MiniS3,
    req: S3Request<PutPublicAccessBlockInput>,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let caller = caller(&req)?;
    let c = &req.input.public_access_block_configuration;
    let block = PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    };
    s3.storage()
        .set_public_access_block(caller, &req.input.bucket, Some(&block))
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
}

pub(super) async fn delete(
    s3: &MiniS3,
    req: S3Request<DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    let caller = caller(&req)?;
    s3.storage()
        .set_public_access_block(caller, &req.input.bucket, None)
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(DeletePublicAccessBlockOutput::default()))
}
