//! GetObject: streams the object (or a `Range` of it, or one part of a
//! multipart object with `partNumber`) from disk, after `If-Match`,
//! `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`. s3s applies
//! the `response-*` overrides to the answer.
//!
//! `partNumber=N` answers like S3: 206 with the part's `Content-Range`, the
//! whole object's ETag, and `x-amz-mp-parts-count` for a multipart object;
//! an object written in one piece is its own part 1 (206 over all of it, no
//! parts count); a part the object does not have is `InvalidPartNumber`
//! (416); a `Range` besides is `InvalidRequest`.

use miniaws_core::storage::{GetObjectOptions, GetObjectOutput as Read};
use s3s::dto::{ChecksumMode, GetObjectInput, GetObjectOutput, StreamingBlob};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::{
    StoredChecksums, StoredHeaders, conditions, etag, metadata_out, range, read_error,
    read_part_number, timestamp,
};
use super::{MiniS3, caller, not_modified};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let part_number = read_part_number(input.part_number, input.range.is_some())?;
    let options = GetObjectOptions {
        range: range(input.range),
        part_number,
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
        .map_err(|e| read_error(e, part_number.is_some()))?;
    let (meta, range, body) = match read {
        Read::Body { meta, range, body } => (meta, range, body),
        Read::NotModified(meta) => return Err(not_modified(&meta)),
    };
    let headers = StoredHeaders::from_meta(&meta);
    // Checksums are sent on request: the object's, or with a partNumber
    // the part's; never with a Range (as S3 does).
    let wanted = input
        .checksum_mode
        .as_ref()
        .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
    let sums = match part_number {
        _ if !wanted => StoredChecksums::default(),
        Some(n) => StoredChecksums::of_part(&meta, n),
        None if range.is_none() => StoredChecksums::from_meta(&meta),
        None => StoredChecksums::default(),
    };
    let length = range.map_or(meta.size_bytes, |r| r.len());
    let mut response = S3Response::new(GetObjectOutput {
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
        checksum_type: sums.checksum_type,
        parts_count: part_number
            .and(meta.parts_count())
            .and_then(|n| i32::try_from(n).ok()),
        ..Default::default()
    });
    // A part read is a ranged read (206) even when the part is the whole
    // object, as S3 answers.
    if part_number.is_some() && range.is_some() {
        response.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(response)
}
