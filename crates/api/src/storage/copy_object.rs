//! `PUT /storage/{bucket}/{key...}` with `x-amz-copy-source`: a copy made
//! on the server, its bytes streamed from one blob into a new one, with
//! the source's content type, user metadata, stored headers and tags
//! (`x-amz-metadata-directive: REPLACE` takes the first three from the
//! request instead). The header and its directive are S3's, so the same
//! words work on both APIs. The source may be another owner's object
//! only where its bucket's policy lets the caller read it, as on S3's
//! CopyObject.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use miniaws_core::identity::Caller;
use miniaws_core::storage::{MetadataDirective, TaggingDirective, VersionId};

use super::get_object::prefixed_conditions;
use super::put_object::{content_length, write_condition};
use super::{USER_METADATA_PREFIX, stored_headers, user_metadata};
use crate::detached::detached;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;
use crate::views;

/// The header that makes a PUT a copy.
pub(crate) const COPY_SOURCE: &str = "x-amz-copy-source";

/// The header choosing where the copy's metadata comes from.
const METADATA_DIRECTIVE: &str = "x-amz-metadata-directive";

/// The header answering which version of the source was copied.
const COPY_SOURCE_VERSION_ID: &str = "x-amz-copy-source-version-id";

/// The object a copy reads: bucket, key and version (`None`: current).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CopySource {
    pub bucket: String,
    pub key: String,
    pub version: Option<VersionId>,
}

/// Parses `x-amz-copy-source`: `bucket/key`, percent-encoded as a path
/// (an optional leading `/`), optionally followed by `?versionId=ID`
/// (S3's spelling; `version_id`, the native query's, is taken too). The
/// query is split off before decoding, so an encoded `?` (`%3F`) stays
/// part of the key.
pub(crate) fn copy_source(value: &HeaderValue) -> Result<CopySource, ApiError> {
    let shape = "x-amz-copy-source must be `bucket/key`, percent-encoded, optionally followed by `?versionId=ID`";
    let text = value.to_str().map_err(|_| ApiError::bad_request(shape))?;
    let (path, query) = match text.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (text, None),
    };
    let version = match query {
        None => None,
        Some(query) => {
            let id = query
                .strip_prefix("versionId=")
                .or_else(|| query.strip_prefix("version_id="))
                .filter(|id| !id.contains('&'))
                .ok_or_else(|| ApiError::bad_request(shape))?;
            Some(VersionId::parse(id).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid version id {id:?} in x-amz-copy-source: a version id is `null` or 32 hex digits, as listed by GET /storage/{{bucket}}?versions"
                ))
            })?)
        }
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = path
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| ApiError::bad_request(shape))?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| {
                ApiError::bad_request("x-amz-copy-source is not valid UTF-8 once percent-decoded")
            })
    };
    Ok(CopySource {
        bucket: decode(bucket)?,
        key: decode(key)?,
        version,
    })
}

/// The metadata directive: `COPY` (the default) keeps the source's
/// content type, user metadata and stored headers, and then the request
/// may not send its own (they would be ignored, as S3 ignores them);
/// `REPLACE` takes them from the request.
fn metadata_directive(headers: &HeaderMap) -> Result<MetadataDirective, ApiError> {
    let directive = headers
        .get(METADATA_DIRECTIVE)
        .map(|v| v.to_str().unwrap_or(""));
    match directive {
        None | Some("COPY") => {
            let sends_metadata = headers.contains_key(header::CONTENT_TYPE)
                || headers
                    .keys()
                    .any(|n| n.as_str().starts_with(USER_METADATA_PREFIX))
                || !stored_headers(headers).is_empty();
            if sends_metadata {
                return Err(ApiError::bad_request(
                    "a copy keeps the source's Content-Type, x-amz-meta-* and stored headers; send x-amz-metadata-directive: REPLACE to set them instead",
                ));
            }
            Ok(MetadataDirective::Copy)
        }
        Some("REPLACE") => Ok(MetadataDirective::Replace {
            content_type: headers
                .get(header::CONTENT_TYPE)
                .map(|v| {
                    v.to_str()
                        .map(str::to_owned)
                        .map_err(|_| ApiError::bad_request("Content-Type must be printable ASCII"))
                })
                .transpose()?,
            user_metadata: user_metadata(headers)?,
            headers: stored_headers(headers),
        }),
        Some(other) => Err(ApiError::bad_request(format!(
            "x-amz-metadata-directive must be COPY or REPLACE, not {other:?}"
        ))),
    }
}

/// Refuses what a copy request cannot carry: a body, or a copy onto itself
/// that changes nothing.
fn check_copy_request(
    headers: &HeaderMap,
    body: &Body,
    source: &CopySource,
    (bucket, key): (&str, &str),
    directive: &MetadataDirective,
) -> Result<(), ApiError> {
    let declared = content_length(headers)?.unwrap_or(0);
    let sent = http_body::Body::size_hint(body).lower();
    if declared != 0 || sent != 0 || headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(ApiError::bad_request(
            "a copy (x-amz-copy-source) takes no body: send it empty",
        ));
    }
    if headers.contains_key("x-amz-copy-source-range") {
        return Err(ApiError::bad_request(
            "x-amz-copy-source-range is for S3's UploadPartCopy; a copy here copies the whole object",
        ));
    }
    if source.bucket == bucket
        && source.key == key
        && source.version.is_none()
        && matches!(directive, MetadataDirective::Copy)
    {
        return Err(ApiError::bad_request(
            "copying an object onto itself changes nothing: send x-amz-metadata-directive: REPLACE with the new metadata, or name a previous version to restore it",
        ));
    }
    Ok(())
}

/// Copies the object `x-amz-copy-source` names to `bucket`/`key`; the
/// answer is a PUT's (the new object, `ETag`, `x-amz-version-id`,
/// `x-amz-expiration`) with `x-amz-copy-source-version-id` when the
/// source is a version. The destination bucket must exist (an upload's
/// creates it; a copy is not an upload). `If-None-Match: *` / `If-Match`
/// are conditions on the destination, as on a PUT.
pub(crate) async fn copy_object(
    state: AppState,
    caller: Caller,
    (bucket, key): (String, String),
    headers: &HeaderMap,
    body: Body,
    source: &HeaderValue,
) -> Result<Response, ApiError> {
    let source = copy_source(source)?;
    let directive = metadata_directive(headers)?;
    check_copy_request(headers, &body, &source, (&bucket, &key), &directive)?;
    // `x-amz-copy-source-if-*`: conditions on the source (412 when one
    // fails, as S3's CopyObject answers).
    let conditions = prefixed_conditions(headers, "x-amz-copy-source-");
    let dst_condition = write_condition(headers)?;
    let storage = state.storage.clone();
    // The copy runs to the end even if the client goes away, so no
    // half-made copy is left to the sweep.
    let copied = detached(async move {
        storage
            .copy_object_version(
                caller,
                &source.bucket,
                &source.key,
                source.version,
                &conditions,
                &bucket,
                &key,
                directive,
                TaggingDirective::Copy,
                dst_condition,
                // The native API names no lock: the bucket's default.
                miniaws_core::storage::ObjectLock::default(),
                // Nor a checksum: the source's (or S3's default) is kept.
                None,
            )
            .await
    })
    .await;
    let (meta, expiration, source_version) = copied?;
    let etag = meta.etag.quoted();
    let object = views::object(meta, caller.user_id);
    let version = object.version_id.clone();
    let mut res = Data(object).into_response();
    let answer = res.headers_mut();
    if let Ok(v) = etag.parse() {
        answer.insert(header::ETAG, v);
    }
    if let Some(v) = version.and_then(|v| v.parse().ok()) {
        answer.insert(super::X_AMZ_VERSION_ID, v);
    }
    if let Some(v) = source_version.and_then(|v| HeaderValue::from_str(&v.to_string()).ok()) {
        answer.insert(COPY_SOURCE_VERSION_ID, v);
    }
    super::insert_expiration(answer, expiration.as_ref());
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(value: &str) -> Option<(String, String, Option<VersionId>)> {
        copy_source(&HeaderValue::from_str(value).unwrap())
            .ok()
            .map(|s| (s.bucket, s.key, s.version))
    }

    #[test]
    fn copy_sources_are_bucket_slash_key_percent_encoded() {
        let plain = |b: &str, k: &str| Some((b.to_owned(), k.to_owned(), None));
        assert_eq!(parsed("src/a.txt"), plain("src", "a.txt"));
        assert_eq!(parsed("/src/a/b/c.txt"), plain("src", "a/b/c.txt"));
        assert_eq!(parsed("src/sp%20ace%3Fq"), plain("src", "sp ace?q"));
        assert_eq!(parsed("src/..%2F..%2Fetc"), plain("src", "../../etc"));
        assert_eq!(parsed("src/%E6%97%A5"), plain("src", "日"));
        assert_eq!(
            parsed("src/k?versionId=null"),
            Some(("src".into(), "k".into(), Some(VersionId::Null)))
        );
        assert!(
            parsed("src/k?version_id=0123456789abcdef0123456789abcdef")
                .is_some_and(|(_, _, v)| v.is_some())
        );
        for bad in [
            "",
            "src",
            "src/",
            "/src",
            "/",
            "src/k?versionId=",
            "src/k?versionId=nope",
            "src/k?other=1",
            "src/k?versionId=null&x=1",
            "src/%FF",
        ] {
            assert_eq!(parsed(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_copy_keeps_metadata_unless_told_to_replace_it() {
        let mut h = HeaderMap::new();
        assert!(matches!(
            metadata_directive(&h),
            Ok(MetadataDirective::Copy)
        ));
        h.insert("x-amz-meta-a", HeaderValue::from_static("1"));
        assert!(metadata_directive(&h).is_err(), "metadata under COPY");
        h.insert(METADATA_DIRECTIVE, HeaderValue::from_static("REPLACE"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        match metadata_directive(&h) {
            Ok(MetadataDirective::Replace {
                content_type,
                user_metadata,
                ..
            }) => {
                assert_eq!(content_type.as_deref(), Some("text/plain"));
                assert_eq!(user_metadata.get("a").map(String::as_str), Some("1"));
            }
            other => panic!("{other:?}"),
        }
        h.insert(METADATA_DIRECTIVE, HeaderValue::from_static("MERGE"));
        assert!(metadata_directive(&h).is_err());
    }
}
