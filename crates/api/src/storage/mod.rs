//! `/storage`: the native object storage API over
//! [`StorageService`](miniaws_core::storage::StorageService).
//!
//! Bodies stream in and out; keys are taken from the raw request path and
//! percent-decoded here (so `%2F`, `%00` and `%2e%2e` are key bytes, never
//! path structure).
//!
//! Object answers (PUT, GET, HEAD, a 304 too) carry `x-amz-expiration` when
//! the bucket's lifecycle expires the object, as on the S3 endpoint; the
//! configuration comes with the bucket's row in the one lookup.

mod copy_object;
mod create_bucket;
mod delete_bucket;
mod delete_object;
pub(crate) mod get_object;
mod list_buckets;
mod list_objects;
mod put_object;
mod versions;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use axum::routing::{any, get, put};
use miniaws_core::storage::{ObjectExpiry, ObjectMeta, UserMetadata};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// The prefix of user metadata headers (the S3 one, so the same metadata is
/// seen through both APIs).
pub const USER_METADATA_PREFIX: &str = "x-amz-meta-";

/// The header naming the version an answer is about (S3's name, so the
/// same clients read it from both APIs).
pub(crate) const X_AMZ_VERSION_ID: HeaderName = HeaderName::from_static("x-amz-version-id");

/// Standard response headers stored with an object when sent on upload.
pub const STORED_HEADERS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/storage", get(list_buckets::list_buckets))
        .route(
            "/storage/{bucket}",
            put(create_bucket::put_bucket)
                .get(list_objects::get_bucket)
                .delete(delete_bucket::delete_bucket),
        )
        // `{*key}` needs at least one character: without this route an
        // empty key was "no such endpoint".
        .route("/storage/{bucket}/", any(empty_key))
        .route(
            "/storage/{bucket}/{*key}",
            put(put_object::put_object)
                .get(get_object::get_object)
                .head(get_object::head_object)
                .delete(delete_object::delete_object),
        )
        // Object bodies are streamed and limited by --max-object-size, not
        // by the JSON body limit.
        .layer(DefaultBodyLimit::disable())
}

/// `/storage/{bucket}/`, any method: an object needs a key.
async fn empty_key() -> ApiError {
    ApiError::bad_request(
        "the object key is empty: objects are at /storage/{bucket}/{key} (GET /storage/{bucket} lists a bucket)",
    )
}

/// The bucket and key of `/storage/{bucket}/{key...}`, from the raw path.
pub(crate) fn bucket_and_key(uri: &Uri) -> Result<(String, String), ApiError> {
    let rest = uri
        .path()
        .strip_prefix("/storage/")
        .ok_or_else(|| ApiError::bad_request("expected /storage/{bucket}/{key}"))?;
    let (bucket, key) = rest
        .split_once('/')
        .ok_or_else(|| ApiError::bad_request("expected /storage/{bucket}/{key}"))?;
    let decode = |what: &str, s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "the {what} is not valid UTF-8 once percent-decoded"
                ))
            })
    };
    Ok((decode("bucket name", bucket)?, decode("object key", key)?))
}

/// `x-amz-meta-*` headers as user metadata (names lowercased, prefix cut).
pub(crate) fn user_metadata(headers: &HeaderMap) -> Result<UserMetadata, ApiError> {
    let mut meta = UserMetadata::new();
    for (name, value) in headers {
        if let Some(short) = name.as_str().strip_prefix(USER_METADATA_PREFIX) {
            let value = value.to_str().map_err(|_| {
                ApiError::bad_request(format!("header {name} must be printable ASCII"))
            })?;
            meta.insert(short.to_owned(), value.to_owned());
        }
    }
    Ok(meta)
}

/// The standard headers to store with an upload.
pub(crate) fn stored_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    STORED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect()
}

/// The headers every read sends: Content-Type, ETag, Last-Modified,
/// Accept-Ranges, the stored headers and the user metadata.
pub(crate) fn object_headers(meta: &ObjectMeta) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut set = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            h.insert(n, v);
        }
    };
    set("content-type", &meta.content_type);
    set("etag", &meta.etag.quoted());
    set("last-modified", &http_date(meta.last_modified));
    set("accept-ranges", "bytes");
    for (name, value) in &meta.headers {
        set(name, value);
    }
    for (name, value) in &meta.user_metadata {
        set(&format!("{USER_METADATA_PREFIX}{name}"), value);
    }
    h
}

/// `x-amz-expiration`, as the S3 endpoint sends it (see
/// [`crate::s3::expiration`]), when the bucket's lifecycle expires the
/// object.
pub(crate) fn insert_expiration(headers: &mut HeaderMap, expiration: Option<&ObjectExpiry>) {
    if let Some(v) = crate::s3::expiration::expiration_header(expiration)
        .and_then(|e| HeaderValue::from_str(&e).ok())
    {
        headers.insert(crate::s3::expiration::X_AMZ_EXPIRATION, v);
    }
}

/// An HTTP date (IMF-fixdate).
pub(crate) fn http_date(t: OffsetDateTime) -> String {
    let secs = u64::try_from(t.unix_timestamp()).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Parses an HTTP date header; a malformed date is ignored, as RFC 9110
/// requires for conditional headers.
pub(crate) fn parse_http_date(headers: &HeaderMap, name: &str) -> Option<OffsetDateTime> {
    parse_http_date_value(headers.get(name)?.to_str().ok()?)
}

/// An HTTP date (RFC 9110 §5.6.7) as a time.
pub(crate) fn parse_http_date_value(value: &str) -> Option<OffsetDateTime> {
    let t = httpdate::parse_http_date(value).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_raw_path_percent_decoded() {
        let cases = [
            ("/storage/b/plain.txt", Some(("b", "plain.txt"))),
            ("/storage/b/a/b/c", Some(("b", "a/b/c"))),
            (
                "/storage/b/..%2F..%2Fetc%2Fpasswd",
                Some(("b", "../../etc/passwd")),
            ),
            ("/storage/b/%252e%252e", Some(("b", "%2e%2e"))),
            ("/storage/b/nul%00byte", Some(("b", "nul\0byte"))),
            ("/storage/b/%E6%97%A5", Some(("b", "日"))),
            ("/storage/b/%FF", None),
        ];
        for (path, expected) in cases {
            let uri: Uri = path.parse().unwrap();
            let got = bucket_and_key(&uri).ok();
            let got = got.as_ref().map(|(b, k)| (b.as_str(), k.as_str()));
            assert_eq!(got, expected, "{path}");
        }
    }

    #[test]
    fn http_dates_round_trip_to_the_second() {
        let t = time::macros::datetime!(2026-03-04 05:06:07.5 UTC);
        let s = http_date(t);
        assert_eq!(s, "Wed, 04 Mar 2026 05:06:07 GMT");
        let mut h = HeaderMap::new();
        h.insert("if-modified-since", s.parse().unwrap());
        assert_eq!(
            parse_http_date(&h, "if-modified-since"),
            Some(time::macros::datetime!(2026-03-04 05:06:07 UTC))
        );
    }
}
