//! `POST /instances/{id}/stop`: stop a running instance.

use axum::extract::State;
use miniaws_wire::Instance;

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{Data, RawBody, no_options};
use crate::path::Path;
use crate::state::AppState;
use crate::views;

pub(crate) async fn stop_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Data<Instance>, ApiError> {
    no_options("stop", &body)?;
    let instance = state.compute.stop(caller, parse_id(&id)?).await?;
    Ok(Data(views::instance(instance)))
}
