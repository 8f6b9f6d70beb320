//! PutBucketVersioning: `Enabled` or `Suspended`, after the bucket's own
//! checks (`NoSuchBucket`, `AccessDenied`). A bucket once versioned never
//! goes back to unversioned (there is no such status to send). A `Status`
//! other than the two is `MalformedXML`, as S3 answers; MFA delete
//! (`MfaDelete` `Enabled`, or an `x-amz-mfa` header) is `NotImplemented`:
//! Mini AWS has no MFA devices. A bucket with a lifecycle configuration
//! can be versioned: the lifecycle sweep acts on versions as S3 does (see
//! the README's "Lifecycle rules").

use miniaws_core::storage::{S3Action, Versioning};
use s3s::dto::{
    BucketVersioningStatus, MFADelete, PutBucketVersioningInput, PutBucketVersioningOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    s3.owned_bucket(caller, &input.bucket, S3Action::PutBucketVersioning)
        .await?;
    let config = input.versioning_configuration;
    let versioning = match config.status.as_ref().map(BucketVersioningStatus::as_str) {
        Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
        Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: Status must be Enabled or Suspended"
            ));
        }
    };
    match config.mfa_delete.as_ref().map(MFADelete::as_str) {
        None | Some(MFADelete::DISABLED) => {}
        Some(MFADelete::ENABLED) => {
            return Err(s3_error!(
                NotImplemented,
                "MFA delete is not implemented (Mini AWS has no MFA devices)"
            ));
        }
        Some(_) => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: MfaDelete must be Enabled or Disabled"
            ));
        }
    }
    if input.mfa.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "MFA delete is not implemented (Mini AWS has no MFA devices)"
        ));
    }
    s3.storage()
        .set_bucket_versioning(caller, &input.bucket, versioning)
        .await
        // Suspending a bucket with Object Lock: 409 InvalidBucketState.
        .map_err(super::object_lock::bucket_state_error)?;
    Ok(S3Response::new(PutBucketVersioningOutput::default()))
}
