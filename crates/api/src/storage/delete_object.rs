//! `DELETE /storage/{bucket}/{key...}`: remove the row and the blob.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use miniaws_core::{CoreError, Resource};

use super::bucket_and_key;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn delete_object(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    let (bucket, key) = bucket_and_key(&uri)?;
    if state.storage.delete_object(caller, &bucket, &key).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(CoreError::not_found(Resource::Object, key).into())
    }
}
