//! Connecting to Docker, agreeing on an API version, and checking that it
//! answers.

use async_trait::async_trait;
use bollard::{ClientVersion, Docker};
use miniaws_core::health::{HealthProbe, ProbeStatus};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The oldest API version we speak (Docker 20.10). Daemons reject a client
/// version newer than theirs, and since Docker 25 also much older ones, so
/// the connection first offers bollard's version and falls back to this.
const OLDEST_API: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// Time limit of the version negotiation.
const NEGOTIATE_TIMEOUT: Duration = Duration::from_secs(3);

/// A lazily negotiated connection to one Docker daemon, shared by the
/// compute driver and the health probe.
pub struct DockerConnection {
    docker_host: Option<String>,
    negotiated: OnceCell<Docker>,
    host: String,
}

impl DockerConnection {
    /// The daemon address, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `DOCKER_HOST` as given (`None`: the local socket), for a connection
    /// made without bollard.
    pub(crate) fn docker_host(&self) -> Option<&str> {
        self.docker_host.as_deref()
    }

    /// The client at the version agreed with the daemon. A daemon that is
    /// down is asked again on the next call.
    ///
    /// # Errors
    /// What went wrong, as text for a message.
    pub async fn client(&self) -> Result<&Docker, String> {
        self.negotiated
            .get_or_try_init(|| async {
                let attempt = |d: Docker| async move {
                    match tokio::time::timeout(NEGOTIATE_TIMEOUT, d.negotiate_version()).await {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(_) => Err("no answer within 3 s".to_owned()),
                    }
                };
                // Built here rather than at start-up: bollard checks that a
                // unix socket exists, and Docker may start after Mini AWS.
                let at = |v| connect_at(self.docker_host.as_deref(), v).map_err(|e| e.to_string());
                match attempt(at(bollard::API_DEFAULT_VERSION)?).await {
                    Ok(d) => Ok(d),
                    Err(e) if e.contains("too new") => attempt(at(&OLDEST_API)?).await,
                    Err(e) => Err(e),
                }
            })
            .await
    }
}

fn connect_at(
    docker_host: Option<&str>,
    version: &ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    match docker_host {
        Some(host) if host.starts_with("unix://") => Docker::connect_with_unix(host, 120, version),
        Some(host) => Docker::connect_with_http(host, 120, version),
        None => Docker::connect_with_local("unix:///var/run/docker.sock", 120, version),
    }
}

/// Connects to the daemon named by `DOCKER_HOST` (or the local socket).
/// Connecting is lazy: this fails only on a malformed address, never because
/// the daemon is down.
///
/// # Errors
/// The bollard error for an unusable `docker_host`.
pub fn connect(docker_host: Option<&str>) -> Result<Arc<DockerConnection>, bollard::errors::Error> {
    match connect_at(docker_host, &OLDEST_API) {
        Ok(_) | Err(bollard::errors::Error::SocketNotFoundError(_)) => {}
        Err(e) => return Err(e),
    }
    Ok(Arc::new(DockerConnection {
        docker_host: docker_host.map(str::to_owned),
        negotiated: OnceCell::new(),
        host: docker_host
            .unwrap_or("unix:///var/run/docker.sock")
            .to_owned(),
    }))
}

/// A health probe that pings the Docker daemon.
pub struct DockerProbe {
    docker: Option<Arc<DockerConnection>>,
}

impl DockerProbe {
    /// A probe for `docker`; `None` means Docker is not configured.
    pub fn new(docker: Option<Arc<DockerConnection>>) -> Self {
        Self { docker }
    }
}

#[async_trait]
impl HealthProbe for DockerProbe {
    async fn check(&self) -> ProbeStatus {
        let Some(conn) = &self.docker else {
            return ProbeStatus::Disabled;
        };
        let ping = async {
            let client = conn.client().await?;
            client.ping().await.map(drop).map_err(|e| e.to_string())
        };
        match tokio::time::timeout(Duration::from_secs(2), ping).await {
            Ok(Ok(())) => ProbeStatus::Up,
            Ok(Err(e)) => ProbeStatus::Down(format!(
                "cannot reach the Docker daemon at {}: {e}",
                conn.host()
            )),
            Err(_) => ProbeStatus::Down(format!(
                "the Docker daemon at {} did not answer within 2 s",
                conn.host()
            )),
        }
    }
}
