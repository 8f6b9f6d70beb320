//! GetObject: streams the object (or a `Range` of it) from disk, after
//! `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`.
//! s3s applies the `response-*` overrides to the answer.

use miniaws_core::storage::{GetObjectOptions, GetObjectOutput as Read};
use s3s::dto::{ChecksumMode, GetObjectInput, GetObjectOutput, StreamingBlob};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{
    StoredChecksums, StoredHeaders, conditions, etag, metadata_out, range, timestamp,
};
use super::{MiniS3, caller, not_modified, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    if input.part_number.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "GetObject with partNumber is not implemented; use a Range instead"
        ));
    }
    let options = GetObjectOptions {
        range: range(input.range),
        conditions: conditions(
            input.if_match,
            input.if_none_match,
            input.if_modified_since,
            input.if_unmodified_since,
        ),
    };
    let read = s3
        .storage()
        .get_object(caller, &input.bucket, &input.key, &options)
        .await
        .map_err(object_error)?;
    let (meta, range, body) = match read {
        Read::Body { meta, range, body } => (meta, range, body),
        Read::NotModified(meta) => return Err(not_modified(&meta)),
    };
    let headers = StoredHeaders::from_meta(&meta);
    // Checksums describe the whole object: sent on request, and never
    // with a range (as S3 does).
    let sums = if range.is_none()
        && input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
    {
        StoredChecksums::from_meta(&meta)
    } else {
        StoredChecksums::default()
    };
    let length = range.map_or(meta.size_bytes, |r| r.len());
    Ok(S3Response::new(GetObjectOutput {
        body: Some(StreamingBlob::wrap(super::body::SyncStream::new(body))),
        accept_ranges: Some("bytes".to_owned()),
        content_length: i64::try_from(length).ok(),
        content_range: range.map(|r| r.content_range(meta.size_bytes)),
        content_type: Some(meta.content_type.clone()),
        e_tag: Some(etag(&meta.etag)),
        last_modified: Some(timestamp(meta.last_modified)),
        metadata: metadata_out(&meta.user_metadata),
        cache_control: headers.cache_control,
        content_disposition: headers.content_disposition,
        content_encoding: headers.content_encoding,
        content_language: headers.content_language,
        expires: headers.expires,
        website_redirect_location: headers.website_redirect_location,
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        ..Default::default()
    }))
}
