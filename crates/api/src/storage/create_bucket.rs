//! `PUT /storage/{bucket}`: create a bucket (idempotent for its owner); with
//! `?versioning=enabled|suspended`, set an existing bucket's versioning
//! (see [`super::versions`]).

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
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

/// `PUT /storage/{bucket}`, by the query.
pub(crate) async fn put_bucket(
    state: State<AppState>,
    auth: Auth,
    name: Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    if super::versions::query_names(&uri)?
        .iter()
        .any(|n| n == "versioning")
    {
        let versioning = super::versions::set_versioning(&state.0, auth.0, &name.0, &uri).await?;
        return Ok(versioning.into_response());
    }
    Ok(create_bucket(state, auth, name).await?.into_response())
}

/// 201 when created, 200 when the caller already owns it, 409 when another
/// account has the name (names are global), 400 naming a broken rule.
async fn create_bucket(
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
