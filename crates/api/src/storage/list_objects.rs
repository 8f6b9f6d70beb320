//! `GET /storage/{bucket}?prefix=&delimiter=&limit=&cursor=`: one page of
//! objects in byte order of keys, with common prefixes.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use miniaws_core::storage::{ListObjectsInput, MAX_LIST_KEYS};
use miniaws_wire::ObjectPage;
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
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

pub(crate) async fn list_objects(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(bucket): Path<String>,
    query: Result<Query<ListObjectsQuery>, QueryRejection>,
) -> Result<Data<ObjectPage>, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))?;
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
    let page = state.storage.list_objects(caller, &bucket, &input).await?;
    Ok(Data(ObjectPage {
        objects: page
            .objects
            .into_iter()
            .map(|o| views::object(o, caller.user_id))
            .collect(),
        common_prefixes: page.common_prefixes,
        next_cursor: page.next_start_after.as_deref().map(encode_cursor),
    }))
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
