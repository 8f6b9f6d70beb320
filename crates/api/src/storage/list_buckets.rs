//! `GET /storage`: the caller's buckets, by name.

use axum::extract::State;
use miniaws_wire::BucketInfo;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;
use crate::views;

pub(crate) async fn list_buckets(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Data<Vec<BucketInfo>>, ApiError> {
    let buckets = state.storage.list_buckets(caller).await?;
    Ok(Data(buckets.into_iter().map(views::bucket).collect()))
}
