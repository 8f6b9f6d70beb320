//! `DELETE /storage/{bucket}/{key...}`: remove the row and the blob.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use miniaws_core::{CoreError, Resource};

use super::bucket_and_key;
use crate::auth::Auth;
use crate::detached::detached;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn delete_object(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    let (bucket, key) = bucket_and_key(&uri)?;
    // In a task of its own: a client that goes away cannot cut the delete
    // off between the row and the blob (which would stay behind until the
    // next start-up).
    let storage = state.storage.clone();
    let deleted = {
        let key = key.clone();
        detached(async move { storage.delete_object(caller, &bucket, &key).await }).await?
    };
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(CoreError::not_found(Resource::Object, key).into())
    }
}
