//! `POST /instances`: launch an instance.

use axum::extract::State;
use axum::http::StatusCode;
use miniaws_core::compute::{LaunchRequest, split_command};
use miniaws_wire::{Command, Instance, LaunchInstance};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{Data, Json};
use crate::state::AppState;
use crate::views;

pub(crate) async fn launch_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Json(body): Json<LaunchInstance>,
) -> Result<(StatusCode, Data<Instance>), ApiError> {
    let command = match body.command {
        None => None,
        Some(Command::Args(args)) => Some(args),
        Some(Command::Line(line)) => Some(split_command(&line)?),
    };
    let request = LaunchRequest {
        name: body.name,
        image: body.image,
        ports: body.ports,
        env: body.env,
        instance_type: body.instance_type,
        command,
        tags: body.tags,
    };
    let instance = state.compute.launch(caller, request).await?;
    Ok((StatusCode::CREATED, Data(views::instance(instance))))
}
