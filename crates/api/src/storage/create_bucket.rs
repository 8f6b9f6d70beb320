//! `PUT /storage/{bucket}`: create a bucket (idempotent for its owner).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use miniaws_core::CoreError;
use miniaws_core::error::ConflictKind;

use super::BucketView;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;

/// 201 when created, 200 when the caller already owns it, 409 when another
/// account has the name (names are global), 400 naming a broken rule.
pub(crate) async fn create_bucket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<(StatusCode, Data<BucketView>), ApiError> {
    match state.storage.create_bucket(caller, &name).await {
        Ok(bucket) => Ok((StatusCode::CREATED, Data(bucket.into()))),
        Err(CoreError::Conflict {
            kind: ConflictKind::AlreadyOwnedByYou,
            ..
        }) => {
            let bucket = state.storage.bucket(caller, &name).await?;
            Ok((StatusCode::OK, Data(bucket.into())))
        }
        Err(e) => Err(e.into()),
    }
}
