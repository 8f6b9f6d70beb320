//! `GET` and `HEAD /storage/{bucket}/{key...}`: stream an object back, with
//! `Range` (206/416, `If-Range` honoured on GET) and conditional requests (304/412); `x-amz-expiration`
//! when the bucket's lifecycle expires the object (on a 304 too).
//! `?version_id=` reads that version, and every answer about a version
//! names it in `x-amz-version-id` (by the S3 endpoint's rule).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use miniaws_core::CoreError;
use miniaws_core::storage::{
    Conditions, GetObjectOptions, GetObjectOutput, HeadObjectOutput, IfRange, ObjectExpiry,
    ObjectMeta, RangeSpec, VersionId,
};

use super::versions::version_param;
use super::{bucket_and_key, insert_expiration, object_headers, parse_http_date};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

/// The conditional headers of a request.
pub(crate) fn conditions(headers: &HeaderMap) -> Conditions {
    prefixed_conditions(headers, "")
}

/// The conditional headers whose names start with `prefix` (a copy's
/// conditions on its source are `x-amz-copy-source-if-match` and so on).
pub(crate) fn prefixed_conditions(headers: &HeaderMap, prefix: &str) -> Conditions {
    let text = |name: &str| {
        headers
            .get(format!("{prefix}{name}"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let date = |name: &str| parse_http_date(headers, &format!("{prefix}{name}"));
    Conditions {
        if_match: text("if-match"),
        if_none_match: text("if-none-match"),
        if_modified_since: date("if-modified-since"),
        if_unmodified_since: date("if-unmodified-since"),
    }
}

/// `x-amz-version-id` of the version read, as the S3 endpoint answers it.
fn insert_version(headers: &mut HeaderMap, meta: &ObjectMeta, requested: Option<VersionId>) {
    if let Some(v) = crate::s3::versions::answer_version(meta, requested)
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert(super::X_AMZ_VERSION_ID, v);
    }
}

fn not_modified(
    meta: &ObjectMeta,
    expiration: Option<&ObjectExpiry>,
    requested: Option<VersionId>,
) -> Response {
    let mut headers = object_headers(meta);
    headers.remove(header::CONTENT_TYPE);
    insert_expiration(&mut headers, expiration);
    insert_version(&mut headers, meta, requested);
    (StatusCode::NOT_MODIFIED, headers).into_response()
}

/// A 416 with `Content-Range: bytes */<size>`, in the JSON envelope.
fn range_not_satisfiable(err: CoreError) -> Response {
    let size = match &err {
        CoreError::RangeNotSatisfiable { size_bytes } => Some(*size_bytes),
        _ => None,
    };
    let mut res = ApiError::from(err).into_response();
    if let Some(v) = size.and_then(|s| HeaderValue::from_str(&format!("bytes */{s}")).ok()) {
        res.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    res
}

pub(crate) async fn get_object(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (bucket, key) = bucket_and_key(&uri)?;
    let version = version_param(&uri)?;
    let options = GetObjectOptions {
        range: headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(RangeSpec::parse),
        part_number: None,
        conditions: conditions(&headers),
        if_range: headers
            .get(header::IF_RANGE)
            .map(|v| IfRange::parse(v.to_str().unwrap_or(""), super::parse_http_date_value)),
        version,
    };
    let out = match state
        .storage
        .get_object(caller, &bucket, &key, &options)
        .await
    {
        Ok(out) => out,
        Err(e @ CoreError::RangeNotSatisfiable { .. }) => return Ok(range_not_satisfiable(e)),
        Err(e) => return Err(e.into()),
    };
    let (meta, expiration, range, body) = match out {
        GetObjectOutput::NotModified(meta, expiration) => {
            return Ok(not_modified(&meta, expiration.as_ref(), version));
        }
        GetObjectOutput::Body {
            meta,
            expiration,
            range,
            body,
        } => (meta, expiration, range, body),
    };
    let mut headers = object_headers(&meta);
    insert_expiration(&mut headers, expiration.as_ref());
    insert_version(&mut headers, &meta, version);
    let (status, length) = match range {
        Some(r) => {
            if let Ok(v) = HeaderValue::from_str(&r.content_range(meta.size_bytes)) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, r.len())
        }
        None => (StatusCode::OK, meta.size_bytes),
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok((status, headers, Body::from_stream(body)).into_response())
}

pub(crate) async fn head_object(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (bucket, key) = bucket_and_key(&uri)?;
    let version = version_param(&uri)?;
    let out = state
        .storage
        .head_object_at(caller, &bucket, &key, &conditions(&headers), version)
        .await?;
    let (meta, expiration) = match out {
        HeadObjectOutput::NotModified(meta, expiration) => {
            return Ok(not_modified(&meta, expiration.as_ref(), version));
        }
        HeadObjectOutput::Found { meta, expiration } => (meta, expiration),
    };
    let mut headers = object_headers(&meta);
    insert_expiration(&mut headers, expiration.as_ref());
    insert_version(&mut headers, &meta, version);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size_bytes));
    Ok((StatusCode::OK, headers).into_response())
}
