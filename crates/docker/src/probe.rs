//! Connecting to Docker and checking that it answers.

use async_trait::async_trait;
use bollard::Docker;
use miniaws_core::health::{HealthProbe, ProbeStatus};
use std::time::Duration;

/// Connects to the daemon named by `DOCKER_HOST` (or the local socket).
/// Connecting is lazy: this fails only on a malformed address, never because
/// the daemon is down.
///
/// # Errors
/// The bollard error for an unusable `docker_host`.
pub fn connect(docker_host: Option<&str>) -> Result<Docker, bollard::errors::Error> {
    match docker_host {
        Some(host) if host.starts_with("unix://") => {
            Docker::connect_with_unix(host, 120, bollard::API_DEFAULT_VERSION)
        }
        Some(host) => Docker::connect_with_http(host, 120, bollard::API_DEFAULT_VERSION),
        None => Docker::connect_with_local_defaults(),
    }
}

/// A health probe that pings the Docker daemon.
pub struct DockerProbe {
    docker: Option<Docker>,
}

impl DockerProbe {
    /// A probe for `docker`; `None` means Docker is not configured.
    pub fn new(docker: Option<Docker>) -> Self {
        Self { docker }
    }
}

#[async_trait]
impl HealthProbe for DockerProbe {
    async fn check(&self) -> ProbeStatus {
        let Some(docker) = &self.docker else {
            return ProbeStatus::Disabled;
        };
        match tokio::time::timeout(Duration::from_secs(2), docker.ping()).await {
            Ok(Ok(_)) => ProbeStatus::Up,
            Ok(Err(e)) => ProbeStatus::Down(format!("cannot reach the Docker daemon: {e}")),
            Err(_) => ProbeStatus::Down("the Docker daemon did not answer within 2 s".into()),
        }
    }
}
