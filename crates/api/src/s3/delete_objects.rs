//! DeleteObjects: up to 1,000 keys; quiet mode reports errors only.

use s3s::dto::{DeleteObjectsInput, DeleteObjectsOutput, DeletedObject, Error};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, bucket_error, caller};

/// S3's limit on keys per request.
const MAX_KEYS: usize = 1000;

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let objects = input.delete.objects;
    if objects.is_empty() || objects.len() > MAX_KEYS {
        return Err(s3_error!(
            MalformedXML,
            "a DeleteObjects request names 1 to {MAX_KEYS} keys (got {})",
            objects.len()
        ));
    }
    if objects.iter().any(|o| o.version_id.is_some()) {
        return Err(s3_error!(
            NotImplemented,
            "versioned deletes are not implemented"
        ));
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    let keys: Vec<String> = objects.into_iter().map(|o| o.key).collect();
    let results = s3
        .storage()
        .delete_objects(caller, &input.bucket, &keys)
        .await
        .map_err(bucket_error)?;
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for (key, result) in keys.into_iter().zip(results) {
        match result {
            Ok(_) if quiet => {}
            Ok(_) => deleted.push(DeletedObject {
                key: Some(key),
                ..Default::default()
            }),
            Err(e) => {
                let (_, code) = crate::error::s3_code(&e);
                errors.push(Error {
                    code: Some(code.as_str().to_owned()),
                    key: Some(key),
                    message: Some(crate::error::public_message(&e)),
                    version_id: None,
                });
            }
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }))
}
