//! `DELETE /instances/{id}`: terminate an instance (its container is removed; the
//! instance stays describable as TERMINATED).

use axum::extract::State;
use miniaws_wire::Instance;

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{Data, RawBody, no_options};
use crate::path::Path;
use crate::state::AppState;
use crate::views;

pub(crate) async fn terminate_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Data<Instance>, ApiError> {
    no_options("terminate", &body)?;
    let instance = state.compute.terminate(caller, parse_id(&id)?).await?;
    Ok(Data(views::instance(instance)))
}
