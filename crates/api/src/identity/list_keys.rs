//! `GET /auth/keys`: the caller's keys, never their secrets.

use axum::extract::State;
use miniaws_core::identity::ApiKey;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;

pub(crate) async fn list_keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Data<Vec<ApiKey>>, ApiError> {
    Ok(Data(state.identity.list_keys(caller).await?))
}
