//! Bucket versioning on the native API, over the same service calls as
//! the S3 endpoint's (see the README's **Versioning**):
//!
//! - `GET /storage/{bucket}?versioning` and
//!   `PUT /storage/{bucket}?versioning=enabled|suspended`: the bucket's
//!   state (a bucket never goes back to unversioned);
//! - `GET /storage/{bucket}?versions[&prefix=&delimiter=&limit=&cursor=]`:
//!   one page of every version and delete marker, by key in byte order and
//!   newest first within a key;
//! - `version_id=<id>` on `GET`, `HEAD` and `DELETE` of an object (parsed
//!   here, used by those handlers): that version, and a `DELETE` of it is
//!   for good.
//!
//! Which of these a request is follows from its query, as on S3
//! (`?versioning`, `?versions`): the routes stay the bucket's.

use axum::extract::Query;
use axum::http::Uri;
use miniaws_core::identity::Caller;
use miniaws_core::storage::{ListVersionsInput, MAX_LIST_KEYS, VersionId, Versioning};
use miniaws_wire::{BucketVersioning, VersionPage};
use serde::Deserialize;

use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;
use crate::views;

/// The query's parameter names, in order (values are not needed to pick
/// the call).
pub(crate) fn query_names(uri: &Uri) -> Result<Vec<String>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))?;
    Ok(pairs.into_iter().map(|(name, _)| name).collect())
}

/// The query parsed as `T`, its refusal in the envelope.
pub(crate) fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))
}

/// `version_id` of an object request: `None` without one.
///
/// Other parameters are ignored, as they always were on object requests
/// (a cache-busting `?t=…` still reads the object).
///
/// # Errors
/// 400 for a query that does not parse, or an id that is neither `null`
/// nor 32 hex digits.
pub(crate) fn version_param(uri: &Uri) -> Result<Option<VersionId>, ApiError> {
    #[derive(Deserialize)]
    struct ObjectQuery {
        version_id: Option<String>,
    }
    if uri.query().is_none() {
        // The common read: nothing to parse.
        return Ok(None);
    }
    let q: ObjectQuery = query(uri)?;
    q.version_id
        .map(|v| {
            VersionId::parse(&v).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid version_id {v:?}: a version id is `null` or 32 hex digits, as listed by GET /storage/{{bucket}}?versions"
                ))
            })
        })
        .transpose()
}

/// The wire name of a versioning state.
fn status_name(v: Versioning) -> &'static str {
    match v {
        Versioning::Unversioned => "unversioned",
        Versioning::Enabled => "enabled",
        Versioning::Suspended => "suspended",
    }
}

/// `GET /storage/{bucket}?versioning`.
pub(crate) async fn get_versioning(
    state: &AppState,
    caller: Caller,
    bucket: &str,
) -> Result<Data<BucketVersioning>, ApiError> {
    let status = state.storage.bucket_versioning(caller, bucket).await?;
    Ok(Data(BucketVersioning {
        bucket: bucket.to_owned(),
        status: status_name(status).to_owned(),
    }))
}

/// `PUT /storage/{bucket}?versioning=enabled|suspended` (the bucket must
/// exist: unlike a plain `PUT`, this does not create it).
pub(crate) async fn set_versioning(
    state: &AppState,
    caller: Caller,
    bucket: &str,
    uri: &Uri,
) -> Result<Data<BucketVersioning>, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SetQuery {
        versioning: String,
    }
    let q: SetQuery = query(uri)?;
    let status = match q.versioning.to_ascii_lowercase().as_str() {
        "enabled" => Versioning::Enabled,
        "suspended" => Versioning::Suspended,
        other => {
            return Err(ApiError::bad_request(format!(
                "versioning={other:?}: use `enabled` or `suspended` (a bucket once versioned never goes back to unversioned)"
            )));
        }
    };
    state
        .storage
        .set_bucket_versioning(caller, bucket, status)
        .await?;
    Ok(Data(BucketVersioning {
        bucket: bucket.to_owned(),
        status: status_name(status).to_owned(),
    }))
}

/// Query parameters of a version listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListVersionsQuery {
    /// Present (empty, or `true`) to ask for versions.
    versions: String,
    #[serde(default)]
    prefix: String,
    delimiter: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Version cursors: a tag, the hex of the last key (or common prefix)
/// listed and, when the page ended on a version, `.` and its id.
const CURSOR_TAG: &str = "v1.";

fn encode_cursor(key: &str, version: Option<VersionId>) -> String {
    match version {
        Some(v) => format!("{CURSOR_TAG}{}.{v}", hex::encode(key)),
        None => format!("{CURSOR_TAG}{}", hex::encode(key)),
    }
}

fn decode_cursor(cursor: &str) -> Result<(String, Option<VersionId>), ApiError> {
    let invalid = || {
        ApiError::bad_request("invalid cursor: pass the next_cursor of a previous version listing")
    };
    let rest = cursor.strip_prefix(CURSOR_TAG).ok_or_else(invalid)?;
    let (key_hex, version) = match rest.split_once('.') {
        Some((k, v)) => (k, Some(VersionId::parse(v).map_err(|_| invalid())?)),
        None => (rest, None),
    };
    let key =
        String::from_utf8(hex::decode(key_hex).map_err(|_| invalid())?).map_err(|_| invalid())?;
    Ok((key, version))
}

/// `GET /storage/{bucket}?versions…`.
pub(crate) async fn list_versions(
    state: &AppState,
    caller: Caller,
    bucket: &str,
    uri: &Uri,
) -> Result<Data<VersionPage>, ApiError> {
    let q: ListVersionsQuery = query(uri)?;
    if !matches!(q.versions.as_str(), "" | "true") {
        return Err(ApiError::bad_request(
            "versions takes no value (or `true`): GET /storage/{bucket}?versions",
        ));
    }
    let limit = q.limit.unwrap_or(MAX_LIST_KEYS);
    if limit == 0 || limit > MAX_LIST_KEYS {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIST_KEYS}"
        )));
    }
    let (key_marker, version_id_marker) = match q.cursor.as_deref().map(decode_cursor) {
        Some(c) => {
            let (key, version) = c?;
            (Some(key), version)
        }
        None => (None, None),
    };
    let input = ListVersionsInput {
        prefix: q.prefix,
        delimiter: q.delimiter,
        key_marker,
        version_id_marker,
        max_keys: limit,
    };
    let page = state.storage.list_versions(caller, bucket, &input).await?;
    let next_cursor = page
        .is_truncated
        .then(|| {
            page.next_key_marker
                .as_deref()
                .map(|k| encode_cursor(k, page.next_version_id_marker))
        })
        .flatten();
    Ok(Data(VersionPage {
        versions: page.entries.into_iter().map(views::version).collect(),
        common_prefixes: page.common_prefixes,
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let v = VersionId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let null = VersionId::parse("null").unwrap();
        for (key, version) in [("", None), ("a/b", Some(v)), ("nul\0.x", Some(null))] {
            let (k, got) = decode_cursor(&encode_cursor(key, version)).unwrap();
            assert_eq!((k.as_str(), got), (key, version));
        }
        for bad in ["", "v1.zz", "c1.00", "v1.61.nope", "v1.ff"] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn version_ids_are_checked() {
        let uri = |q: &str| format!("/storage/b/k{q}").parse::<Uri>().unwrap();
        assert_eq!(version_param(&uri("")).unwrap(), None);
        assert!(version_param(&uri("?version_id=null")).unwrap().is_some());
        assert_eq!(version_param(&uri("?t=1")).unwrap(), None);
        for bad in ["?version_id=", "?version_id=xyz", "?version_id=NULL"] {
            assert!(version_param(&uri(bad)).is_err(), "{bad}");
        }
    }
}
