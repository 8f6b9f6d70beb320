//! `GET /instances/{id}/stats`: one sample of CPU, memory and network use.

use axum::extract::State;
use miniaws_wire::InstanceStats;

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::path::Path;
use crate::state::AppState;
use crate::views;

pub(crate) async fn instance_stats(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Data<InstanceStats>, ApiError> {
    let stats = state.compute.stats(caller, parse_id(&id)?).await?;
    Ok(Data(views::instance_stats(stats)))
}
