//! `POST /instances/{id}/stop`: stop a running instance.

use axum::extract::{Path, State};

use super::{InstanceView, parse_id};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;

pub(crate) async fn stop_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Data<InstanceView>, ApiError> {
    let instance = state.compute.stop(caller, parse_id(&id)?).await?;
    Ok(Data(instance.into()))
}
