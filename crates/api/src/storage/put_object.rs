//! `PUT /storage/{bucket}/{key...}`: stream the body into a new version;
//! `x-amz-expiration` says when the bucket's lifecycle expires it, and
//! `x-amz-version-id` (and the answer's `version_id`) names the version in
//! a versioned bucket. With `x-amz-copy-source` it is a copy instead (see
//! [`super::copy_object`]).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures::StreamExt;
use miniaws_core::storage::{ETag, PutObjectInput, Tags, WriteCondition};

use super::{bucket_and_key, copy_object, stored_headers, user_metadata};
use crate::auth::Auth;
use crate::detached::detached;
use crate::error::ApiError;
use crate::json::Data;
use crate::linger::SharedBody;
use crate::state::AppState;
use crate::views;

/// The declared body length, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    headers
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| ApiError::bad_request("Content-Length is not a number"))
        })
        .transpose()
}

/// `Content-MD5`: base64 of the 16-byte digest.
pub(crate) fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, ApiError> {
    let Some(value) = headers.get("content-md5") else {
        return Ok(None);
    };
    let invalid =
        || ApiError::bad_request("Content-MD5 must be the base64 of a 16-byte MD5 digest");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.as_bytes())
        .map_err(|_| invalid())?;
    bytes.try_into().map(Some).map_err(|_| invalid())
}

/// The write's condition: `If-None-Match: *` (create only) or `If-Match:
/// "<etag>"` / `*` (replace only that version / an existing object). The
/// storage service checks it before the body is read and again, atomically,
/// at the commit.
pub(crate) fn write_condition(headers: &HeaderMap) -> Result<WriteCondition, ApiError> {
    match (
        header_text(headers, "if-match")?,
        header_text(headers, "if-none-match")?,
    ) {
        (None, None) => Ok(WriteCondition::Always),
        (None, Some("*")) => Ok(WriteCondition::Absent),
        (None, Some(_)) => Err(ApiError::bad_request(
            "If-None-Match on a PUT accepts only `*` (create the object only if it does not exist)",
        )),
        (Some(tag), None) => if_match(tag, "a PUT"),
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "a PUT takes If-Match or If-None-Match, not both",
        )),
    }
}

/// The trimmed text of header `name`, if sent.
///
/// # Errors
/// 400 when it is not printable ASCII.
pub(crate) fn header_text<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| ApiError::bad_request(format!("{name} must be printable ASCII")))
        })
        .transpose()
}

/// The condition of an `If-Match` header on `request` (named in the
/// message): `*` (the object exists) or one quoted ETag, strong or weak.
///
/// # Errors
/// 400 for anything else.
pub(crate) fn if_match(tag: &str, request: &str) -> Result<WriteCondition, ApiError> {
    if tag == "*" {
        return Ok(WriteCondition::Exists);
    }
    let value = tag.strip_prefix("W/").unwrap_or(tag);
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) if !inner.is_empty() && !inner.contains('"') => {
            Ok(WriteCondition::ETagIs(ETag::from_stored(inner)))
        }
        _ => Err(ApiError::bad_request(format!(
            "If-Match on {request} takes `*` or one quoted ETag, such as \"9a0364b9e99bb480dd25e1f0284c8555\""
        ))),
    }
}

pub(crate) async fn put_object(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (bucket, key) = bucket_and_key(&uri)?;
    if let Some(source) = headers.get(copy_object::COPY_SOURCE).cloned() {
        return copy_object::copy_object(state, caller, (bucket, key), &headers, body, &source)
            .await;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| ApiError::bad_request("Content-Type must be printable ASCII"))
        })
        .transpose()?;
    let shared = SharedBody::new(
        body.into_data_stream()
            .map(|r| r.map_err(std::io::Error::other)),
        &headers,
    );
    let input = PutObjectInput {
        bucket,
        key,
        body: shared.clone().boxed(),
        content_length: content_length(&headers)?,
        content_type,
        user_metadata: user_metadata(&headers)?,
        headers: stored_headers(&headers),
        expected_md5: content_md5(&headers)?,
        create_bucket: true,
        condition: write_condition(&headers)?,
        tags: Tags::default(),
    };
    let storage = state.storage.clone();
    let put = detached(async move { storage.put_object_expiring(caller, input).await }).await;
    // Whatever the refusal (too large, bad digest, bad name, not yours),
    // let the client finish sending so it reads the answer.
    let (meta, expiration) = SharedBody::on_refusal(Some(shared), put).await?;
    let etag = meta.etag.quoted();
    let object = views::object(meta, caller.user_id);
    let version = object.version_id.clone();
    let mut res = Data(object).into_response();
    if let Ok(v) = etag.parse() {
        res.headers_mut().insert(header::ETAG, v);
    }
    if let Some(v) = version.and_then(|v| v.parse().ok()) {
        res.headers_mut().insert(super::X_AMZ_VERSION_ID, v);
    }
    super::insert_expiration(res.headers_mut(), expiration.as_ref());
    *res.status_mut() = StatusCode::OK;
    Ok(res)
}
