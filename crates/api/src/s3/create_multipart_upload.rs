//! CreateMultipartUpload. `x-amz-checksum-algorithm` makes every part carry
//! that checksum, and gives the object either their composite
//! (`x-amz-checksum-type: COMPOSITE`, the default for CRC32, CRC32C, SHA1
//! and SHA256) or a checksum of all its bytes (`FULL_OBJECT`, the default
//! for CRC64NVME and a choice for CRC32 and CRC32C), as S3. ACL headers are
//! checked as on PutObject (see [`super::acl`]). `x-amz-tagging` gives the
//! completed object its tags; a bad tag set is refused here, not at
//! completion. `x-amz-abort-date` and `x-amz-abort-rule-id` say when the
//! bucket's lifecycle (`AbortIncompleteMultipartUpload`) aborts the upload.

use miniaws_core::multipart::NewUpload;
use s3s::dto::{ChecksumType, CreateMultipartUploadInput, CreateMultipartUploadOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::acl::{acl_headers, check_write_acl};
use super::body::Algorithm;
use super::convert::{StoredHeaders, upload_checksum, user_metadata};
use super::expiration::{abort_date, abort_rule_id};
use super::request_options::{sse_s3, stored_class};
use super::tagging::header_tags;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let tags = header_tags(input.tagging.as_deref())?;
    // `x-amz-object-lock-*`, kept with the upload for its completion.
    let lock = super::object_lock::requested_lock(
        input.object_lock_mode.as_ref(),
        input.object_lock_retain_until_date.as_ref(),
        input.object_lock_legal_hold_status.as_ref(),
    )?;
    let acl = acl_headers!(input, grant_read, grant_read_acp, grant_write_acp);
    check_write_acl(s3.storage(), caller, &input.bucket, &input.key, &acl).await?;
    let algorithm = Algorithm::requested(input.checksum_algorithm.as_ref())?;
    let full_object = match input.checksum_type.as_ref().map(|t| t.as_str()) {
        None => algorithm == Some(Algorithm::Crc64Nvme),
        Some(t) if t.eq_ignore_ascii_case(ChecksumType::FULL_OBJECT) => true,
        Some(t) if t.eq_ignore_ascii_case(ChecksumType::COMPOSITE) => false,
        Some(t) => {
            return Err(s3_error!(
                InvalidArgument,
                "unsupported checksum type {t}; use COMPOSITE or FULL_OBJECT"
            ));
        }
    };
    let mut headers = StoredHeaders {
        cache_control: input.cache_control,
        content_disposition: input.content_disposition,
        content_encoding: input.content_encoding,
        content_language: input.content_language,
        expires: input.expires,
        website_redirect_location: input.website_redirect_location,
        storage_class: stored_class(input.storage_class.as_ref())?,
    }
    .into_map();
    headers.extend(lock.to_headers());
    let (upload, abort) = s3
        .multipart()
        .create(
            caller,
            NewUpload {
                bucket: input.bucket.clone(),
                key: input.key.clone(),
                content_type: super::convert::stored_type(input.content_type),
                user_metadata: user_metadata(input.metadata),
                headers,
                checksum_algorithm: algorithm.map(Algorithm::core),
                full_object_checksum: full_object,
                tags,
            },
        )
        .await
        .map_err(object_error)?;
    let (checksum_algorithm, checksum_type) = upload_checksum(&upload);
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload.id.to_string()),
        checksum_algorithm,
        checksum_type,
        server_side_encryption: sse_s3(),
        abort_date: abort_date(abort.as_ref()),
        abort_rule_id: abort_rule_id(abort.as_ref()),
        ..Default::default()
    }))
}
