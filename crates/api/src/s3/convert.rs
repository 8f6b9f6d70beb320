//! Conversions between s3s's DTOs and the storage domain.

use base64::Engine;
use miniaws_core::CoreError;
use miniaws_core::identity::Caller;
use miniaws_core::multipart::{
    CHECKSUM_TYPE_HEADER, MAX_PART_NUMBER, MultipartUpload, PartChecksum,
};
use miniaws_core::storage::{Conditions, ETag, ObjectMeta, RangeSpec, UserMetadata};
use s3s::dto::{self, ChecksumType, ETagCondition, Metadata, Timestamp, TimestampFormat};
use s3s::{S3ErrorCode, S3Result, s3_error};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::body::Algorithm;

/// The region every bucket reports.
pub const REGION: &str = "us-east-1";

/// The type S3 gives an object written without a `Content-Type`: it never
/// guesses from the key (the native API does). An S3 client that forgets
/// the type must see here what AWS would serve, not a guess that hides it.
pub const UNTYPED: &str = "binary/octet-stream";

/// The `Content-Type` an S3 write stores: the request's, else [`UNTYPED`].
pub fn stored_type(sent: Option<String>) -> Option<String> {
    Some(sent.unwrap_or_else(|| UNTYPED.to_owned()))
}

/// A time as an s3s timestamp, in whole seconds as S3 keeps them: a
/// listing's `LastModified` is then the very instant GET's and HEAD's
/// `Last-Modified` header names (`…:58.000Z`, not `…:58.457Z`), which
/// `aws s3 sync --exact-timestamps`, rclone and any "changed since I
/// listed it?" check compare exactly.
pub fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from(t.replace_nanosecond(0).unwrap_or(t))
}

/// An ETag on the wire.
pub fn etag(e: &ETag) -> dto::ETag {
    dto::ETag::Strong(e.as_str().to_owned())
}

/// The owner element of listings: the account is the user id.
pub fn owner(caller: Caller) -> dto::Owner {
    owner_of(caller.user_id)
}

/// The S3 `Owner` element naming `user_id`.
pub fn owner_of(user_id: miniaws_core::identity::UserId) -> dto::Owner {
    dto::Owner {
        id: Some(user_id.to_string()),
        display_name: Some(user_id.to_string()),
    }
}

fn condition(c: Option<ETagCondition>) -> Option<String> {
    c.map(|c| match c {
        ETagCondition::Any => "*".to_owned(),
        ETagCondition::ETag(dto::ETag::Strong(v)) => format!("\"{v}\""),
        ETagCondition::ETag(dto::ETag::Weak(v)) => format!("W/\"{v}\""),
    })
}

/// The conditional headers of a read or a copy source.
pub fn conditions(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
    if_modified_since: Option<Timestamp>,
    if_unmodified_since: Option<Timestamp>,
) -> Conditions {
    Conditions {
        if_match: condition(if_match),
        if_none_match: condition(if_none_match),
        if_modified_since: if_modified_since.map(OffsetDateTime::from),
        if_unmodified_since: if_unmodified_since.map(OffsetDateTime::from),
    }
}

/// A `Range` header as the storage service reads it. An unusable range is
/// ignored (the whole object is sent), as S3 does.
pub fn range(r: Option<dto::Range>) -> Option<RangeSpec> {
    r.and_then(|r| RangeSpec::parse(&r.to_header_string()))
}

/// `x-amz-meta-*` as stored: names lowercased.
pub fn user_metadata(m: Option<Metadata>) -> UserMetadata {
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// Stored user metadata back on the wire.
pub fn metadata_out(m: &UserMetadata) -> Option<Metadata> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// `Content-MD5` (base64) as 16 bytes.
///
/// # Errors
/// `InvalidDigest` when it is not the base64 of 16 bytes.
pub fn content_md5(v: Option<&str>) -> S3Result<Option<[u8; 16]>> {
    let Some(v) = v else { return Ok(None) };
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."))
}

/// The HTTP headers S3 keeps with an object and sends back on reads.
#[derive(Debug, Default)]
pub struct StoredHeaders {
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding` (without the transfer-only `aws-chunked`).
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Expires`.
    pub expires: Option<Timestamp>,
    /// `x-amz-website-redirect-location`.
    pub website_redirect_location: Option<String>,
    /// `x-amz-storage-class`, other than STANDARD (which is not stored, and
    /// which S3 never names on GET/HEAD); see [`super::request_options`].
    pub storage_class: Option<String>,
}

const CACHE_CONTROL: &str = "cache-control";
const CONTENT_DISPOSITION: &str = "content-disposition";
const CONTENT_ENCODING: &str = "content-encoding";
const CONTENT_LANGUAGE: &str = "content-language";
const EXPIRES: &str = "expires";
/// The stored header that redirects an object's website address.
pub(crate) const WEBSITE_REDIRECT: &str = "x-amz-website-redirect-location";
const STORAGE_CLASS: &str = super::request_options::STORAGE_CLASS;

impl StoredHeaders {
    /// As the storage service stores them.
    pub fn into_map(self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                m.insert(k.to_owned(), v);
            }
        };
        put(CACHE_CONTROL, self.cache_control);
        put(CONTENT_DISPOSITION, self.content_disposition);
        // `aws-chunked` describes the request body only, never the object.
        put(
            CONTENT_ENCODING,
            self.content_encoding.map(|e| {
                e.split(',')
                    .map(str::trim)
                    .filter(|t| !t.eq_ignore_ascii_case("aws-chunked") && !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
        );
        put(CONTENT_LANGUAGE, self.content_language);
        put(
            EXPIRES,
            self.expires.and_then(|t| {
                let mut buf = Vec::new();
                t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
                String::from_utf8(buf).ok()
            }),
        );
        put(WEBSITE_REDIRECT, self.website_redirect_location);
        put(STORAGE_CLASS, self.storage_class);
        m
    }

    /// Read back from an object's stored headers.
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        let get = |k: &str| meta.headers.get(k).cloned();
        Self {
            cache_control: get(CACHE_CONTROL),
            content_disposition: get(CONTENT_DISPOSITION),
            content_encoding: get(CONTENT_ENCODING),
            content_language: get(CONTENT_LANGUAGE),
            expires: get(EXPIRES)
                .and_then(|v| Timestamp::parse(TimestampFormat::HttpDate, &v).ok()),
            website_redirect_location: get(WEBSITE_REDIRECT),
            storage_class: get(STORAGE_CLASS),
        }
    }
}

/// The stored checksum of an object, per algorithm.
#[derive(Debug, Default)]
pub struct StoredChecksums {
    /// `x-amz-checksum-crc32`.
    pub crc32: Option<String>,
    /// `x-amz-checksum-crc32c`.
    pub crc32c: Option<String>,
    /// `x-amz-checksum-crc64nvme`.
    pub crc64nvme: Option<String>,
    /// `x-amz-checksum-sha1`.
    pub sha1: Option<String>,
    /// `x-amz-checksum-sha256`.
    pub sha256: Option<String>,
    /// `x-amz-checksum-type`: `COMPOSITE` for a multipart object's checksum
    /// of its parts' checksums, `FULL_OBJECT` for a checksum of the bytes.
    pub checksum_type: Option<ChecksumType>,
}

const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::Crc32,
    Algorithm::Crc32c,
    Algorithm::Crc64Nvme,
    Algorithm::Sha1,
    Algorithm::Sha256,
];

impl StoredChecksums {
    /// The one computed checksum, by algorithm.
    pub fn of(computed: Option<(Algorithm, String)>) -> Self {
        let mut c = Self::default();
        if let Some((algorithm, value)) = computed {
            *c.slot(algorithm) = Some(value);
        }
        c
    }

    fn slot(&mut self, algorithm: Algorithm) -> &mut Option<String> {
        match algorithm {
            Algorithm::Crc32 => &mut self.crc32,
            Algorithm::Crc32c => &mut self.crc32c,
            Algorithm::Crc64Nvme => &mut self.crc64nvme,
            Algorithm::Sha1 => &mut self.sha1,
            Algorithm::Sha256 => &mut self.sha256,
        }
    }

    /// Read back from an object's stored headers, with its type: stored
    /// (`COMPOSITE`) for a multipart object, else `FULL_OBJECT` (a checksum
    /// of the body sent in one piece).
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        let mut c = Self::default();
        for a in ALGORITHMS {
            *c.slot(a) = meta.headers.get(a.header()).cloned();
        }
        if ALGORITHMS
            .iter()
            .any(|a| meta.headers.contains_key(a.header()))
        {
            c.checksum_type = Some(ChecksumType::from(
                meta.headers
                    .get(CHECKSUM_TYPE_HEADER)
                    .cloned()
                    .unwrap_or_else(|| ChecksumType::FULL_OBJECT.to_owned()),
            ));
        }
        c
    }

    /// The checksum of part `number` of a multipart object (what S3 sends
    /// for a GetObject/HeadObject with `partNumber`): the part's own, in
    /// the algorithm of the object's composite checksum. Nothing for an
    /// object written in one piece: its part 1 is the whole object, whose
    /// checksum [`from_meta`](Self::from_meta) gives.
    pub fn of_part(meta: &ObjectMeta, number: u32) -> Self {
        if meta.parts.is_empty() {
            return Self::from_meta(meta);
        }
        let mut c = Self::default();
        let algorithm = ALGORITHMS
            .into_iter()
            .find(|a| meta.headers.contains_key(a.header()));
        let value = usize::try_from(number)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| meta.parts.get(i))
            .and_then(|p| p.checksum.clone());
        if let (Some(a), Some(v)) = (algorithm, value) {
            *c.slot(a) = Some(v);
        }
        c
    }
}

/// An upload's checksum algorithm and type on the wire (CreateMultipartUpload,
/// ListParts, ListMultipartUploads), when it has one.
pub fn upload_checksum(
    upload: &MultipartUpload,
) -> (Option<dto::ChecksumAlgorithm>, Option<ChecksumType>) {
    let Some(algorithm) = upload.checksum_algorithm else {
        return (None, None);
    };
    let kind = if upload.full_object_checksum() {
        ChecksumType::FULL_OBJECT
    } else {
        ChecksumType::COMPOSITE
    };
    (
        Some(dto::ChecksumAlgorithm::from(algorithm.name().to_owned())),
        Some(ChecksumType::from(kind.to_owned())),
    )
}

/// A checksum named in the wire's per-algorithm fields (a part of a
/// CompleteMultipartUpload request, say), as the core's part checksum.
///
/// # Errors
/// `InvalidRequest` when more than one is named.
pub fn named_checksum(
    crc32: Option<String>,
    crc32c: Option<String>,
    crc64nvme: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
) -> S3Result<Option<PartChecksum>> {
    let named: Vec<PartChecksum> = [
        (Algorithm::Crc32, crc32),
        (Algorithm::Crc32c, crc32c),
        (Algorithm::Crc64Nvme, crc64nvme),
        (Algorithm::Sha1, sha1),
        (Algorithm::Sha256, sha256),
    ]
    .into_iter()
    .filter_map(|(a, v)| {
        v.map(|value| PartChecksum {
            algorithm: a.core(),
            value: value.trim().to_owned(),
        })
    })
    .collect();
    if named.len() > 1 {
        return Err(s3_error!(
            InvalidRequest,
            "Expecting a single checksum per part. Multiple checksum Types are not allowed."
        ));
    }
    Ok(named.into_iter().next())
}

/// The `partNumber` of a GetObject or HeadObject: 1 to 10,000, and never
/// together with a `Range` (as S3).
///
/// # Errors
/// `InvalidArgument` for a number out of range; `InvalidRequest` with a
/// `Range`.
pub fn read_part_number(number: Option<i32>, has_range: bool) -> S3Result<Option<u32>> {
    let Some(n) = number else { return Ok(None) };
    if has_range {
        return Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        ));
    }
    match u32::try_from(n) {
        Ok(n) if (1..=MAX_PART_NUMBER).contains(&n) => Ok(Some(n)),
        _ => Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        )),
    }
}

/// The error of a read, by `partNumber` when `by_part`: a part the object
/// does not have is S3's `InvalidPartNumber` (416); others (and every error
/// of a read without a part number) as any object error.
pub fn read_error(err: CoreError, by_part: bool) -> s3s::S3Error {
    if by_part && matches!(err, CoreError::RangeNotSatisfiable { .. }) {
        let mut e = s3s::S3Error::with_message(
            S3ErrorCode::Custom("InvalidPartNumber".into()),
            "The requested partnumber is not satisfiable",
        );
        e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
        return e;
    }
    super::object_error(err)
}

/// The checksum header to store for `computed`.
pub fn checksum_header(computed: &Option<(Algorithm, String)>) -> Option<(String, String)> {
    computed
        .as_ref()
        .map(|(a, v)| (a.header().to_owned(), v.clone()))
}

/// Whether a listing's keys are URL-encoded: `encoding-type=url`, the one
/// encoding S3 knows; any other value is refused as S3 does (it used to
/// be ignored, and the keys sent raw).
pub fn url_encoding(encoding: Option<&dto::EncodingType>) -> S3Result<bool> {
    match encoding.map(dto::EncodingType::as_str) {
        None => Ok(false),
        Some(dto::EncodingType::URL) => Ok(true),
        Some(other) => Err(super::wire::invalid_argument(
            "Invalid Encoding Method specified in Request",
            "encoding-type",
            other,
        )),
    }
}

/// Percent-encodes a key for `encoding-type=url` listings (as S3 does:
/// everything but unreserved characters and `/`).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_whole_seconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_457_000_000).unwrap();
        let mut out = Vec::new();
        timestamp(t)
            .format(TimestampFormat::DateTime, &mut out)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn aws_chunked_is_not_stored_as_content_encoding() {
        let h = StoredHeaders {
            content_encoding: Some("aws-chunked".into()),
            ..Default::default()
        };
        assert!(h.into_map().is_empty());
        let h = StoredHeaders {
            content_encoding: Some("gzip, aws-chunked".into()),
            ..Default::default()
        };
        assert_eq!(
            h.into_map().get("content-encoding").map(String::as_str),
            Some("gzip")
        );
    }

    #[test]
    fn content_md5_must_be_16_bytes_of_base64() {
        assert_eq!(content_md5(None).expect("absent is fine"), None);
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(
            content_md5(Some("1B2M2Y8AsgTpgAmY7PhCfg==")).expect("valid"),
            Some(*b"\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98\xec\xf8\x42\x7e")
        );
        assert!(content_md5(Some("not base64!")).is_err());
        assert!(content_md5(Some("AAAA")).is_err());
    }

    #[test]
    fn keys_are_url_encoded_like_s3() {
        assert_eq!(url_encode("a b/c+d%é"), "a%20b/c%2Bd%25%C3%A9");
    }
}
