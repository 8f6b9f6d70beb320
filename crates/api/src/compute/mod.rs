//! `/instances` and `/instance-types`: compute instances as containers.

mod get_instance;
mod instance_logs;
mod instance_stats;
mod instance_types;
mod launch_instance;
mod list_instances;
mod reboot_instance;
mod start_instance;
mod stop_instance;
mod terminate_instance;

use axum::Router;
use axum::routing::{get, post};
use miniaws_core::compute::{Instance, InstanceId, Protocol};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

#[cfg(test)]
pub(crate) use instance_types::InstanceTypeView;
#[cfg(test)]
pub(crate) use list_instances::ListPage;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/instances",
            get(list_instances::list_instances).post(launch_instance::launch_instance),
        )
        .route(
            "/instances/{id}",
            get(get_instance::get_instance).delete(terminate_instance::terminate_instance),
        )
        .route("/instances/{id}/stop", post(stop_instance::stop_instance))
        .route(
            "/instances/{id}/start",
            post(start_instance::start_instance),
        )
        .route(
            "/instances/{id}/reboot",
            post(reboot_instance::reboot_instance),
        )
        .route("/instances/{id}/logs", get(instance_logs::instance_logs))
        .route("/instances/{id}/stats", get(instance_stats::instance_stats))
        .route("/instance-types", get(instance_types::instance_types))
}

/// Parses an instance id from the path (400 naming it when malformed).
fn parse_id(id: &str) -> Result<InstanceId, ApiError> {
    Ok(id.parse::<InstanceId>()?)
}

/// One port of an instance on the wire.
#[derive(Debug, Serialize)]
pub struct PortView {
    /// The host address, once published.
    pub host_ip: Option<String>,
    /// The real host port once published; the requested one (or null for
    /// "any") before that.
    pub host_port: Option<u16>,
    /// The port inside the container.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: Protocol,
}

/// An instance on the wire.
#[derive(Debug, Serialize)]
pub struct InstanceView {
    /// The instance id.
    pub id: InstanceId,
    /// `arn:miniaws:compute:local:<owner>:instance/<id>`.
    pub arn: String,
    /// The name.
    pub name: String,
    /// The image.
    pub image: String,
    /// The instance type.
    pub instance_type: String,
    /// `STARTING`, `RUNNING`, `STOPPING`, `STOPPED`, `TERMINATED` or `ERROR`.
    pub state: String,
    /// Why it is in this state, when there is something to say.
    pub state_reason: Option<String>,
    /// Exit code of the last run, once stopped.
    pub exit_code: Option<i64>,
    /// The Docker container id.
    pub container_id: Option<String>,
    /// Port mappings.
    pub ports: Vec<PortView>,
    /// Where the published TCP ports can be reached.
    pub urls: Vec<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Command override.
    pub command: Option<Vec<String>>,
    /// Launch time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Termination time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub terminated_at: Option<OffsetDateTime>,
}

impl From<Instance> for InstanceView {
    fn from(i: Instance) -> Self {
        let urls = i.access_urls();
        let ports = i
            .ports
            .iter()
            .map(|p| {
                let published = i
                    .published_ports
                    .iter()
                    .find(|q| q.container_port == p.container_port && q.protocol == p.protocol);
                PortView {
                    host_ip: published.map(|q| q.host_ip.clone()),
                    host_port: published.map(|q| q.host_port).or(p.host_port),
                    container_port: p.container_port,
                    protocol: p.protocol,
                }
            })
            .collect();
        Self {
            arn: format!("arn:miniaws:compute:local:{}:instance/{}", i.owner, i.id),
            id: i.id,
            name: i.name,
            image: i.image,
            instance_type: i.instance_type,
            state: i.state.as_str().to_owned(),
            state_reason: i.state_reason,
            exit_code: i.exit_code,
            container_id: i.container_id,
            ports,
            urls,
            env: i.env,
            command: i.command,
            created_at: i.created_at,
            updated_at: i.updated_at,
            terminated_at: i.deleted_at,
        }
    }
}
