//! HeadObject: the object's metadata, after its conditions. With a
//! `Range`, the answer is what GetObject would send without the body: 206
//! with `Content-Range` and the range's length (416 when it selects nothing),
//! as S3 does. With `partNumber`, the same for that part (see
//! [`super::get_object`]).

use miniaws_core::storage::HeadObjectOutput as Head;
use s3s::dto::{ChecksumMode, HeadObjectInput, HeadObjectOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::{
    StoredChecksums, StoredHeaders, conditions, etag, metadata_out, range, read_error,
    read_part_number, timestamp,
};
use super::{MiniS3, caller, not_modified, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let part_number = read_part_number(input.part_number, input.range.is_some())?;
    let range_spec = range(input.range);
    let conditions = conditions(
        input.if_match,
        input.if_none_match,
        input.if_modified_since,
        input.if_unmodified_since,
    );
    let meta = match s3
        .storage()
        .head_object(caller, &input.bucket, &input.key, &conditions)
        .await
        .map_err(object_error)?
    {
        Head::Found(meta) => meta,
        Head::NotModified(meta) => return Err(not_modified(&meta)),
    };
    let range = match part_number {
        Some(n) => meta.part_range(n).map_err(|e| read_error(e, true))?,
        None => range_spec
            .map(|spec| spec.resolve(meta.size_bytes))
            .transpose()
            .map_err(object_error)?,
    };
    let headers = StoredHeaders::from_meta(&meta);
    // As on GetObject: the object's checksums, or the part's; never a
    // Range's.
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
    let mut response = S3Response::new(HeadObjectOutput {
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
    if range.is_some() {
        response.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(response)
}
