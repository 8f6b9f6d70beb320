//! `GET /instances/{id}/stats`: one sample of CPU, memory and network use.

use axum::extract::{Path, State};
use miniaws_core::compute::InstanceStats;

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;

pub(crate) async fn instance_stats(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Data<InstanceStats>, ApiError> {
    Ok(Data(state.compute.stats(caller, parse_id(&id)?).await?))
}
