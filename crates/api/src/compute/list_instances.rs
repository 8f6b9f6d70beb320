//! `GET /instances[?all=true&limit=N&next_token=T]`: the caller's instances.

use axum::Json;
use axum::extract::State;
use miniaws_core::compute::{InstanceId, InstancePosition};
use miniaws_wire::InstancePage;
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
pub struct ListQuery {
    /// Include terminated instances.
    #[serde(default)]
    pub all: bool,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Where the previous page ended.
    pub next_token: Option<String>,
}

/// The tag of this list's tokens (see [`crate::page_token`]).
const TOKEN_TAG: &str = "i1.";

fn encode_token(after: &InstancePosition) -> String {
    encode_place(TOKEN_TAG, after.created_at, after.id.as_uuid())
}

fn decode_token(token: &str) -> Result<InstancePosition, ApiError> {
    let (created_at, id) = decode_place(TOKEN_TAG, token).ok_or_else(|| {
        ApiError::bad_request(format!(
            "next_token `{token}` is not valid: pass the next_token of a previous page of GET /instances"
        ))
    })?;
    Ok(InstancePosition {
        created_at,
        id: InstanceId::from_uuid(id),
    })
}

pub(crate) async fn list_instances(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<InstancePage>, ApiError> {
    let after = query.next_token.as_deref().map(decode_token).transpose()?;
    let page = state
        .compute
        .list(caller, query.all, query.limit, after)
        .await?;
    Ok(Json(InstancePage {
        data: page.instances.into_iter().map(views::instance).collect(),
        next_token: page.next.as_ref().map(encode_token),
    }))
}
