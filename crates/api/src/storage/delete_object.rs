//! `DELETE /storage/{bucket}/{key...}`: remove the row and the blob; in a
//! versioned bucket, insert a delete marker; with `?version_id=`, remove
//! that version for good (see [`super::versions`]).
//!
//! `If-Match: "<etag>"` (or `*`) makes the delete conditional, as on S3:
//! nothing is deleted unless the key's current version has that ETag (412)
//! or exists (404); the condition is checked atomically with the delete.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use miniaws_core::storage::{DeleteTarget, WriteCondition};
use miniaws_core::{CoreError, Resource};

use super::put_object::{header_text, if_match};
use super::versions::version_param;
use super::{X_AMZ_VERSION_ID, bucket_and_key};
use crate::auth::Auth;
use crate::detached::detached;
use crate::error::ApiError;
use crate::state::AppState;

/// 204, naming in `x-amz-version-id` the marker inserted or the version
/// removed (`x-amz-delete-marker: true` when that is a marker); 404 when
/// there was nothing to delete (no object, or no such version).
pub(crate) async fn delete_object(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<(StatusCode, HeaderMap), ApiError> {
    let (bucket, key) = bucket_and_key(&uri)?;
    let version = version_param(&uri)?;
    let target = DeleteTarget {
        key: key.clone(),
        version,
        condition: delete_condition(&headers)?,
    };
    // In a task of its own: a client that goes away cannot cut the delete
    // off between the row and the blob (which would stay behind until the
    // next start-up).
    let storage = state.storage.clone();
    let outcome = detached(async move {
        storage
            .delete_object_at(caller, &bucket, &target, false)
            .await
    })
    .await?;
    if !outcome.existed {
        return Err(match version {
            Some(v) => CoreError::VersionNotFound {
                key,
                version_id: v.to_string(),
            },
            None => CoreError::not_found(Resource::Object, key),
        }
        .into());
    }
    let mut headers = HeaderMap::new();
    if let Some(v) = outcome
        .version_id
        .and_then(|v| HeaderValue::from_str(&v.to_string()).ok())
    {
        headers.insert(X_AMZ_VERSION_ID, v);
    }
    if outcome.delete_marker {
        headers.insert("x-amz-delete-marker", HeaderValue::from_static("true"));
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The delete's condition: `If-Match` only (`If-None-Match` would make a
/// delete of nothing).
fn delete_condition(headers: &HeaderMap) -> Result<WriteCondition, ApiError> {
    if header_text(headers, "if-none-match")?.is_some() {
        return Err(ApiError::bad_request(
            "a DELETE takes If-Match (delete only that version, or `*`: only if the object exists), not If-None-Match",
        ));
    }
    header_text(headers, "if-match")?
        .map_or(Ok(WriteCondition::Always), |tag| if_match(tag, "a DELETE"))
}
