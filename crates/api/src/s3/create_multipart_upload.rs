//! CreateMultipartUpload.

use miniaws_core::multipart::NewUpload;
use s3s::dto::{CreateMultipartUploadInput, CreateMultipartUploadOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{StoredHeaders, user_metadata};
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    if input.tagging.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "object tagging is not implemented"
        ));
    }
    let upload = s3
        .multipart()
        .create(
            caller,
            NewUpload {
                bucket: input.bucket.clone(),
                key: input.key.clone(),
                content_type: input.content_type,
                user_metadata: user_metadata(input.metadata),
                headers: StoredHeaders {
                    cache_control: input.cache_control,
                    content_disposition: input.content_disposition,
                    content_encoding: input.content_encoding,
                    content_language: input.content_language,
                    expires: input.expires,
                    website_redirect_location: input.website_redirect_location,
                }
                .into_map(),
            },
        )
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload.id.to_string()),
        ..Default::default()
    }))
}
