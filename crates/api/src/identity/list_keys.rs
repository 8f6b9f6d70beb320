//! `GET /auth/keys`: the caller's keys, never their secrets.

use axum::extract::State;
use miniaws_wire::ApiKey;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;
use crate::views;

pub(crate) async fn list_keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Data<Vec<ApiKey>>, ApiError> {
    let keys = state.identity.list_keys(caller).await?;
    Ok(Data(keys.into_iter().map(views::api_key).collect()))
}
