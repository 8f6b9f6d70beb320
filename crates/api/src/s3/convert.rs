//! Conversions between s3s's DTOs and the storage domain.

use base64::Engine;
use miniaws_core::identity::Caller;
use miniaws_core::storage::{Conditions, ETag, ObjectMeta, RangeSpec, UserMetadata};
use s3s::dto::{self, ETagCondition, Metadata, Timestamp, TimestampFormat};
use s3s::{S3Result, s3_error};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::body::Algorithm;

/// The region every bucket reports.
pub const REGION: &str = "us-east-1";

/// A time as an s3s timestamp.
pub fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from(t)
}

/// An ETag on the wire.
pub fn etag(e: &ETag) -> dto::ETag {
    dto::ETag::Strong(e.as_str().to_owned())
}

/// The owner element of listings: the account is the user id.
pub fn owner(caller: Caller) -> dto::Owner {
    dto::Owner {
        id: Some(caller.user_id.to_string()),
        display_name: Some(caller.user_id.to_string()),
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
}

const CACHE_CONTROL: &str = "cache-control";
const CONTENT_DISPOSITION: &str = "content-disposition";
const CONTENT_ENCODING: &str = "content-encoding";
const CONTENT_LANGUAGE: &str = "content-language";
const EXPIRES: &str = "expires";
const WEBSITE_REDIRECT: &str = "x-amz-website-redirect-location";

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
}

impl StoredChecksums {
    /// The one computed checksum, by algorithm.
    pub fn of(computed: Option<(Algorithm, String)>) -> Self {
        let mut c = Self::default();
        if let Some((algorithm, value)) = computed {
            let slot = match algorithm {
                Algorithm::Crc32 => &mut c.crc32,
                Algorithm::Crc32c => &mut c.crc32c,
                Algorithm::Crc64Nvme => &mut c.crc64nvme,
                Algorithm::Sha1 => &mut c.sha1,
                Algorithm::Sha256 => &mut c.sha256,
            };
            *slot = Some(value);
        }
        c
    }

    /// Read back from an object's stored headers.
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        let get = |a: Algorithm| meta.headers.get(a.header()).cloned();
        Self {
            crc32: get(Algorithm::Crc32),
            crc32c: get(Algorithm::Crc32c),
            crc64nvme: get(Algorithm::Crc64Nvme),
            sha1: get(Algorithm::Sha1),
            sha256: get(Algorithm::Sha256),
        }
    }
}

/// The checksum header to store for `computed`.
pub fn checksum_header(computed: &Option<(Algorithm, String)>) -> Option<(String, String)> {
    computed
        .as_ref()
        .map(|(a, v)| (a.header().to_owned(), v.clone()))
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
