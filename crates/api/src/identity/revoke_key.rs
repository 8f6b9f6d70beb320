//! `DELETE /auth/keys/{id}[?force=true]`: revoke one of the caller's keys.

use axum::extract::State;
use axum::http::StatusCode;
use miniaws_core::identity::ApiKeyId;
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::path::Path;
use crate::query_params::Query;
use crate::state::AppState;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeQuery {
    /// Allow revoking the caller's last key.
    #[serde(default)]
    pub force: bool,
}

pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(query): Query<RevokeQuery>,
) -> Result<StatusCode, ApiError> {
    let id: ApiKeyId = id.parse()?;
    state.identity.revoke_key(caller, id, query.force).await?;
    Ok(StatusCode::NO_CONTENT)
}
