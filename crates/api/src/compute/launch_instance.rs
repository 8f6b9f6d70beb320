//! `POST /instances`: launch an instance.

use axum::extract::State;
use axum::http::StatusCode;
use miniaws_core::compute::{LaunchRequest, split_command};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::InstanceView;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{Data, Json};
use crate::state::AppState;

/// A port spec: `"8080:80"`, `"80/udp"` or a bare number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PortSpec {
    /// Text form.
    Text(String),
    /// A bare container port.
    Number(u16),
}

/// One spec or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Ports {
    /// A single spec (a string may list several, comma-separated).
    One(PortSpec),
    /// A list of specs.
    Many(Vec<PortSpec>),
}

/// A command: an argument list, or one string split like a shell would.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Command {
    /// Split into arguments (quotes respected, no expansion).
    Line(String),
    /// Used as is.
    Args(Vec<String>),
}

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchBody {
    /// Instance name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Port mappings.
    #[serde(default)]
    pub ports: Option<Ports>,
    /// Environment variables.
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    /// Instance type (default `t3.micro`).
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Command override.
    #[serde(default)]
    pub command: Option<Command>,
}

fn port_strings(ports: Option<Ports>) -> Vec<String> {
    let text = |p: PortSpec| match p {
        PortSpec::Text(s) => s,
        PortSpec::Number(n) => n.to_string(),
    };
    match ports {
        None => Vec::new(),
        Some(Ports::One(PortSpec::Text(s))) => s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Ports::One(p)) => vec![text(p)],
        Some(Ports::Many(list)) => list.into_iter().map(text).collect(),
    }
}

pub(crate) async fn launch_instance(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Json(body): Json<LaunchBody>,
) -> Result<(StatusCode, Data<InstanceView>), ApiError> {
    let command = match body.command {
        None => None,
        Some(Command::Args(args)) => Some(args),
        Some(Command::Line(line)) => Some(split_command(&line)?),
    };
    let request = LaunchRequest {
        name: body.name,
        image: body.image,
        ports: port_strings(body.ports),
        env: body.env.unwrap_or_default(),
        instance_type: body.instance_type,
        command,
    };
    let instance = state.compute.launch(caller, request).await?;
    Ok((StatusCode::CREATED, Data(instance.into())))
}
