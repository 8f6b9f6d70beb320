//! `GET /storage/{bucket}?prefix=&delimiter=&limit=&cursor=`: one page of
//! objects in byte order of keys, with common prefixes. The same route
//! answers `?versioning` and `?versions` (see [`super::versions`]).

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use miniaws_core::identity::Caller;
use miniaws_core::storage::{ListObjectsInput, MAX_LIST_KEYS};
use miniaws_wire::ObjectPage;
use serde::Deserialize;

use super::versions;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::SizedData;
use crate::path::Path;
use crate::state::AppState;
use crate::views;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListObjectsQuery {
    /// Only keys starting with this.
    #[serde(default)]
    pub prefix: String,
    /// Roll keys up to the first occurrence after the prefix.
    pub delimiter: Option<String>,
    /// Page size, 1 to 1,000 (default 1,000).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Cursors are opaque to clients: a version tag and the hex of the last
/// entry returned.
const CURSOR_TAG: &str = "c1.";

fn encode_cursor(after: &str) -> String {
    format!("{CURSOR_TAG}{}", hex::encode(after))
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid =
        || ApiError::bad_request("invalid cursor: pass the next_cursor of a previous page");
    let hex_part = cursor.strip_prefix(CURSOR_TAG).ok_or_else(invalid)?;
    let bytes = hex::decode(hex_part).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// `GET /storage/{bucket}`: the versioning state, the version listing or
/// the object listing, by the query.
pub(crate) async fn get_bucket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(bucket): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let names = versions::query_names(&uri)?;
    let has = |name: &str| names.iter().any(|n| n == name);
    Ok(if has("versioning") {
        if names.len() > 1 {
            return Err(ApiError::bad_request(
                "?versioning takes no other parameter: GET /storage/{bucket}?versioning",
            ));
        }
        versions::get_versioning(&state, caller, &bucket)
            .await?
            .into_response()
    } else if has("versions") {
        versions::list_versions(&state, caller, &bucket, &uri)
            .await?
            .into_response()
    } else {
        list_objects(&state, caller, &bucket, &uri)
            .await?
            .into_response()
    })
}

async fn list_objects(
    state: &AppState,
    caller: Caller,
    bucket: &str,
    uri: &Uri,
) -> Result<SizedData<ObjectPage>, ApiError> {
    let q: ListObjectsQuery = versions::query(uri)?;
    let limit = q.limit.unwrap_or(MAX_LIST_KEYS);
    if limit == 0 || limit > MAX_LIST_KEYS {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIST_KEYS}"
        )));
    }
    let input = ListObjectsInput {
        prefix: q.prefix,
        delimiter: q.delimiter,
        start_after: q.cursor.as_deref().map(decode_cursor).transpose()?,
        max_keys: limit,
    };
    let page = state.storage.list_objects(caller, bucket, &input).await?;
    // Only the owner lists through this API; the ARNs name the bucket's.
    let (bucket, owner) = (&page.bucket, page.owner);
    // About 300 bytes of JSON per object without metadata or tags.
    let capacity_bytes = 256 + 384 * page.objects.len() + 64 * page.common_prefixes.len();
    Ok(SizedData {
        data: ObjectPage {
            objects: page
                .objects
                .into_iter()
                .map(|o| views::listed_object(o, bucket, owner))
                .collect(),
            common_prefixes: page.common_prefixes,
            next_cursor: page.next_start_after.as_deref().map(encode_cursor),
        },
        capacity_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for key in ["", "a/b", "nul\0", "日本"] {
            assert_eq!(decode_cursor(&encode_cursor(key)).unwrap(), key);
        }
        for bad in ["", "c1.zz", "c2.00", "c1.ff"] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
