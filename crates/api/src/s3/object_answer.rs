//! What GetObject and HeadObject answer about an object besides its bytes.
//! s3s has two output types with the same twenty-odd header fields and no
//! common one, so the values are computed once here and `object_output!`
//! spreads them into either type.

use miniaws_core::storage::{ByteRange, ObjectMeta};
use s3s::dto::{ChecksumMode, ETag, Metadata, Timestamp};

use super::convert::{StoredChecksums, StoredHeaders, etag, metadata_out, timestamp};

/// The header fields of a GetObject or HeadObject answer.
pub struct ObjectAnswer {
    /// `Content-Length`: the object's, or the range's.
    pub content_length: Option<i64>,
    /// `Content-Range` of a ranged or part read.
    pub content_range: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `ETag` (of the whole object, also for a part).
    pub e_tag: Option<ETag>,
    /// `Last-Modified`.
    pub last_modified: Option<Timestamp>,
    /// `x-amz-meta-*`.
    pub metadata: Option<Metadata>,
    /// Stored response headers (`Cache-Control`, …).
    pub headers: StoredHeaders,
    /// Checksums, when asked for and meaningful for what is answered.
    pub sums: StoredChecksums,
    /// `x-amz-mp-parts-count` of a part read of a multipart object.
    pub parts_count: Option<i32>,
    /// `x-amz-object-lock-mode`, `-retain-until-date`, `-legal-hold`
    /// of a version that has them.
    pub lock: (
        Option<s3s::dto::ObjectLockMode>,
        Option<Timestamp>,
        Option<s3s::dto::ObjectLockLegalHoldStatus>,
    ),
}

impl ObjectAnswer {
    /// The answer for `meta` read whole, by `range`, or by `part_number`
    /// (whose range `range` then is). Checksums go out only with
    /// `x-amz-checksum-mode: ENABLED`: the object's, or with a partNumber
    /// the part's; never a Range's (as S3 does).
    pub fn new(
        meta: &ObjectMeta,
        range: Option<ByteRange>,
        part_number: Option<u32>,
        checksum_mode: Option<&ChecksumMode>,
    ) -> Self {
        let wanted = checksum_mode.is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let sums = match part_number {
            _ if !wanted => StoredChecksums::default(),
            Some(n) => StoredChecksums::of_part(meta, n),
            None if range.is_none() => StoredChecksums::from_meta(meta),
            None => StoredChecksums::default(),
        };
        let length = range.map_or(meta.size_bytes, |r| r.len());
        Self {
            content_length: i64::try_from(length).ok(),
            content_range: range.map(|r| r.content_range(meta.size_bytes)),
            content_type: Some(meta.content_type.clone()),
            e_tag: Some(etag(&meta.etag)),
            last_modified: Some(timestamp(meta.last_modified)),
            metadata: metadata_out(&meta.user_metadata),
            headers: StoredHeaders::from_meta(meta),
            sums,
            parts_count: part_number
                .and(meta.parts_count())
                .and_then(|n| i32::try_from(n).ok()),
            lock: super::object_lock::answer_headers(&meta.lock),
        }
    }
}

/// Builds s3s output type `$ty` from an [`ObjectAnswer`], plus any other
/// fields given (`body: …`); the rest default.
macro_rules! object_output {
    ($ty:ident, $answer:expr $(, $field:ident : $value:expr)* $(,)?) => {{
        let a: $crate::s3::object_answer::ObjectAnswer = $answer;
        $ty {
            $($field: $value,)*
            accept_ranges: Some("bytes".to_owned()),
            content_length: a.content_length,
            content_range: a.content_range,
            content_type: a.content_type,
            e_tag: a.e_tag,
            last_modified: a.last_modified,
            metadata: a.metadata,
            cache_control: a.headers.cache_control,
            content_disposition: a.headers.content_disposition,
            content_encoding: a.headers.content_encoding,
            content_language: a.headers.content_language,
            expires: a.headers.expires,
            website_redirect_location: a.headers.website_redirect_location,
            checksum_crc32: a.sums.crc32,
            checksum_crc32c: a.sums.crc32c,
            checksum_crc64nvme: a.sums.crc64nvme,
            checksum_sha1: a.sums.sha1,
            checksum_sha256: a.sums.sha256,
            checksum_type: a.sums.checksum_type,
            parts_count: a.parts_count,
            object_lock_mode: a.lock.0,
            object_lock_retain_until_date: a.lock.1,
            object_lock_legal_hold_status: a.lock.2,
            storage_class: a.headers.storage_class.map(s3s::dto::StorageClass::from),
            server_side_encryption: $crate::s3::request_options::sse_s3(),
            ..Default::default()
        }
    }};
}
pub(crate) use object_output;
