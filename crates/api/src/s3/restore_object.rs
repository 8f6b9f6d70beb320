//! RestoreObject: only objects of the archive storage classes (`GLACIER`,
//! `DEEP_ARCHIVE`) can be restored, and Mini AWS stores none (a write
//! naming one is `NotImplemented`, see [`super::request_options`]). So an
//! existing object, or the version named, gets S3's answer for an object
//! of any other class: 403 `InvalidObjectState` "Restore is not allowed
//! for the object's current storage class". A missing object, version or
//! bucket, and another owner's bucket, get their usual answers first, as
//! on S3.

use miniaws_core::storage::S3Action;
use s3s::dto::{RestoreObjectInput, RestoreObjectOutput};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use super::versions::version_param;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<RestoreObjectInput>,
) -> S3Result<S3Response<RestoreObjectOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let storage = s3.storage();
    match version_param(input.version_id.as_deref())? {
        Some(version) => storage
            .owned_object_version(
                caller,
                &input.bucket,
                &input.key,
                version,
                S3Action::RestoreObject,
            )
            .await
            .map_err(object_error)?,
        None => storage
            .owned_object(caller, &input.bucket, &input.key, S3Action::RestoreObject)
            .await
            .map_err(object_error)?,
    };
    let mut e = S3Error::with_message(
        S3ErrorCode::InvalidObjectState,
        "Restore is not allowed for the object's current storage class",
    );
    e.set_status_code(http::StatusCode::FORBIDDEN);
    Err(e)
}
