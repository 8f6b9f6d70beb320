//! `GET /storage[?limit=N&next_token=T]`: one page of the caller's buckets,
//! by name (byte order), in the shape of `GET /instances`.

use axum::Json;
use axum::extract::State;
use miniaws_core::storage::{ListBucketsInput, MAX_LIST_BUCKETS};
use miniaws_wire::BucketPage;
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::query_params::Query;
use crate::state::AppState;
use crate::views;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListBucketsQuery {
    /// Page size, 1 to 1,000 (default 1,000).
    pub limit: Option<u32>,
    /// `next_token` of the previous page.
    pub next_token: Option<String>,
}

/// Tokens are opaque to clients: a version tag and the hex of the last name
/// returned. A token is only a position: the owner is always the caller, so
/// one made up, or taken from another account's page, lists the caller's
/// own buckets after that name and nobody else's.
const TOKEN_TAG: &str = "b1.";

fn encode_token(after: &str) -> String {
    format!("{TOKEN_TAG}{}", hex::encode(after))
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "next_token `{token}` is not valid: pass the next_token of a previous page of GET /storage"
        ))
    };
    let hex_part = token.strip_prefix(TOKEN_TAG).ok_or_else(invalid)?;
    let name =
        String::from_utf8(hex::decode(hex_part).map_err(|_| invalid())?).map_err(|_| invalid())?;
    // Only what a bucket name can hold (S3's alphabet): not every rule, so
    // that a name made under older rules still pages.
    let name_like = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if name_like { Ok(name) } else { Err(invalid()) }
}

pub(crate) async fn list_buckets(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(query): Query<ListBucketsQuery>,
) -> Result<Json<BucketPage>, ApiError> {
    let limit = query.limit.unwrap_or(MAX_LIST_BUCKETS);
    if limit == 0 || limit > MAX_LIST_BUCKETS {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {MAX_LIST_BUCKETS} (got {limit})"
        )));
    }
    let input = ListBucketsInput {
        prefix: String::new(),
        after: query.next_token.as_deref().map(decode_token).transpose()?,
        limit: Some(limit),
    };
    let page = state.storage.list_buckets(caller, &input).await?;
    Ok(Json(BucketPage {
        data: page.buckets.into_iter().map(views::bucket).collect(),
        next_token: page.next_after.as_deref().map(encode_token),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        for name in ["abc", "a-b.c", "x"] {
            assert_eq!(decode_token(&encode_token(name)).unwrap(), name);
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "b1.",
            "b1.zz",
            "k1.616263",
            "b1.ff",
            "b1.41424300",
            &encode_token("UPPER"),
            &encode_token("a/b"),
            &encode_token(&long),
        ] {
            assert!(decode_token(bad).is_err(), "{bad:?}");
        }
    }
}
