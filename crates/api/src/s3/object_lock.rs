//! Object Lock, as S3 answers for a bucket created without it — which every
//! Mini AWS bucket is (CreateBucket with `x-amz-bucket-object-lock-enabled:
//! true` is `NotImplemented`, see [`super::request_options`]):
//!
//! - GetObjectLockConfiguration: 404 `ObjectLockConfigurationNotFoundError`
//!   (what Terraform and other tools read to learn that a bucket has none);
//! - PutObjectLockConfiguration (on S3 it enables Object Lock on an
//!   existing bucket): `NotImplemented`;
//! - Get/PutObjectRetention and Get/PutObjectLegalHold: 400
//!   `InvalidRequest` "Bucket is missing Object Lock Configuration" (S3's
//!   wording for these operations; PutObject's lacks the spaces).
//!
//! Each answers a missing or foreign bucket as that (`NoSuchBucket`,
//! `AccessDenied`) first.

use http::StatusCode;
use miniaws_core::identity::Caller;
use miniaws_core::storage::{Access, StorageService};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use super::bucket_error;

/// Answers an Object Lock operation (`access`) on `bucket`: the bucket's
/// own refusal first (missing, another owner's, its policy denying
/// `access`), else `answer`.
pub async fn refuse<T>(
    storage: &StorageService,
    caller: Caller,
    bucket: &str,
    access: Access<'_>,
    answer: S3Error,
) -> S3Result<T> {
    storage
        .bucket(caller, bucket, access)
        .await
        .map_err(bucket_error)?;
    Err(answer)
}

/// GetObjectLockConfiguration's answer for a bucket without Object Lock.
pub fn configuration_not_found() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::ObjectLockConfigurationNotFoundError,
        "Object Lock configuration does not exist for this bucket",
    );
    e.set_status_code(StatusCode::NOT_FOUND);
    e
}

/// PutObjectLockConfiguration's answer: enabling Object Lock is not
/// implemented.
pub fn not_implemented() -> S3Error {
    s3_error!(
        NotImplemented,
        "Object Lock is not implemented: buckets cannot be given an Object Lock configuration"
    )
}

/// The answer of the retention and legal-hold operations.
pub fn missing_configuration() -> S3Error {
    s3_error!(
        InvalidRequest,
        "Bucket is missing Object Lock Configuration"
    )
}
