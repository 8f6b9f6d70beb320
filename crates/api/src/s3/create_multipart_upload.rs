//! CreateMultipartUpload. `x-amz-checksum-algorithm` (CRC32, CRC32C, SHA1,
//! SHA256) makes every part carry that checksum and gives the object their
//! composite (`x-amz-checksum-type: COMPOSITE`); full-object checksums of
//! multipart uploads (`FULL_OBJECT`, CRC64NVME) are not implemented.

use miniaws_core::multipart::NewUpload;
use s3s::dto::{
    ChecksumAlgorithm, ChecksumType, CreateMultipartUploadInput, CreateMultipartUploadOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::body::Algorithm;
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
    let algorithm = match input.checksum_algorithm.as_ref() {
        None => None,
        Some(name) => Some(Algorithm::from_name(name.as_str()).ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "unsupported checksum algorithm {}",
                name.as_str()
            )
        })?),
    };
    let full_object = input
        .checksum_type
        .as_ref()
        .is_some_and(|t| t.as_str().eq_ignore_ascii_case(ChecksumType::FULL_OBJECT));
    if full_object || algorithm == Some(Algorithm::Crc64Nvme) {
        return Err(s3_error!(
            NotImplemented,
            "full-object checksums of multipart uploads (FULL_OBJECT, CRC64NVME) are not implemented; use the COMPOSITE type with CRC32, CRC32C, SHA1 or SHA256"
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
                checksum_algorithm: algorithm.map(Algorithm::core),
            },
        )
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload.id.to_string()),
        checksum_algorithm: upload
            .checksum_algorithm
            .map(|a| ChecksumAlgorithm::from(a.name().to_owned())),
        checksum_type: upload
            .checksum_algorithm
            .map(|_| ChecksumType::from(ChecksumType::COMPOSITE.to_owned())),
        ..Default::default()
    }))
}
