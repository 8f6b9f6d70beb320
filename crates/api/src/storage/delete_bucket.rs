//! `DELETE /storage/{bucket}`: delete an empty bucket.

use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::path::Path;
use crate::state::AppState;

pub(crate) async fn delete_bucket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.storage.delete_bucket(caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
