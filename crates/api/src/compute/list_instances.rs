//! `GET /instances[?all=true&limit=N&next_token=ID]`: the caller's instances.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use miniaws_core::compute::InstanceId;
use miniaws_wire::InstancePage;
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::ApiError;
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

pub(crate) async fn list_instances(
    State(state): State<AppState>,
    Auth(caller): Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<InstancePage>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let after = query
        .next_token
        .as_deref()
        .map(|t| {
            t.parse::<InstanceId>()
                .map_err(|_| ApiError::bad_request(format!("next_token `{t}` is not valid")))
        })
        .transpose()?;
    let page = state
        .compute
        .list(caller, query.all, query.limit, after)
        .await?;
    Ok(Json(InstancePage {
        data: page.instances.into_iter().map(views::instance).collect(),
        next_token: page.next.map(|id| id.to_string()),
    }))
}
