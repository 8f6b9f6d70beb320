//! `PUT /storage/{bucket}`: create a bucket (idempotent for its owner).

use axum::extract::State;
use axum::http::StatusCode;
use miniaws_core::CoreError;
use miniaws_core::error::ConflictKind;
use miniaws_core::storage::{Access, S3Action};
use miniaws_wire::BucketInfo;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::path::Path;
use crate::state::AppState;
use crate::views;

/// 201 when created, 200 when the caller already owns it, 409 when another
/// account has the name (names are global), 400 naming a broken rule.
pub(crate) async fn create_bucket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<(StatusCode, Data<BucketInfo>), ApiError> {
    match state.storage.create_bucket(caller, &name).await {
        Ok(bucket) => Ok((StatusCode::CREATED, Data(views::bucket(bucket)))),
        Err(CoreError::Conflict {
            kind: ConflictKind::AlreadyOwnedByYou,
            ..
        }) => {
            // As HeadBucket would answer it (`s3:ListBucket`).
            let access = Access::bucket(S3Action::ListBucket);
            let bucket = state.storage.bucket(caller, &name, access).await?;
            Ok((StatusCode::OK, Data(views::bucket(bucket))))
        }
        Err(e) => Err(e.into()),
    }
}
