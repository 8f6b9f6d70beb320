//! `GET /auth/keys[?limit=N&next_token=T]`: one page of the caller's keys,
//! oldest first, never their secrets; in the shape of `GET /instances`.

use axum::Json;
use axum::extract::State;
use miniaws_core::identity::{ApiKeyId, KeyPosition, MAX_LIST_API_KEYS};
use miniaws_wire::ApiKeyPage;
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::page_token::{decode_place, encode_place};
use crate::query_params::Query;
use crate::state::AppState;
use crate::views;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListKeysQuery {
    /// Page size, 1 to 1,000 (default 1,000).
    pub limit: Option<u32>,
    /// `next_token` of the previous page.
    pub next_token: Option<String>,
}

/// The tag of this list's tokens (see [`crate::page_token`]).
const TOKEN_TAG: &str = "k1.";

fn encode_token(after: &KeyPosition) -> String {
    encode_place(TOKEN_TAG, after.created_at, after.id.as_uuid())
}

fn decode_token(token: &str) -> Result<KeyPosition, ApiError> {
    let (created_at, id) = decode_place(TOKEN_TAG, token).ok_or_else(|| {
        ApiError::bad_request(format!(
            "next_token `{token}` is not valid: pass the next_token of a previous page of GET /auth/keys"
        ))
    })?;
    Ok(KeyPosition {
        created_at,
        id: ApiKeyId::from_uuid(id),
    })
}

pub(crate) async fn list_keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(query): Query<ListKeysQuery>,
) -> Result<Json<ApiKeyPage>, ApiError> {
    let after = query.next_token.as_deref().map(decode_token).transpose()?;
    let limit = query.limit.unwrap_or(MAX_LIST_API_KEYS);
    let page = state.identity.list_keys(caller, limit, after).await?;
    Ok(Json(ApiKeyPage {
        data: page.keys.into_iter().map(views::api_key).collect(),
        next_token: page.next.as_ref().map(encode_token),
    }))
}
