//! The shared state every handler receives.

use miniaws_core::compute::ComputeService;
use miniaws_core::health::HealthProbe;
use miniaws_core::identity::IdentityService;
use miniaws_core::multipart::MultipartService;
use miniaws_core::storage::StorageService;
use std::sync::Arc;

/// Services and probes, cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    /// Users, keys and authentication.
    pub identity: Arc<IdentityService>,
    /// Compute instances.
    pub compute: Arc<ComputeService>,
    /// Buckets and objects.
    pub storage: Arc<StorageService>,
    /// S3 multipart uploads, over the same storage.
    pub multipart: Arc<MultipartService>,
    /// Checks the metadata database.
    pub database_probe: Arc<dyn HealthProbe>,
    /// Checks the Docker daemon.
    pub docker_probe: Arc<dyn HealthProbe>,
    /// How long a request body may send nothing before the request is
    /// abandoned (`--body-idle-timeout-secs`).
    pub body_idle_timeout: std::time::Duration,
    /// Turns `true` when the server begins to shut down: answers that
    /// would otherwise last as long as their client likes (`logs
    /// --follow`, a streamed exec) end then, so that the graceful
    /// shutdown, which waits for every answer in flight, does not wait on
    /// them.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The terminal sessions (`exec -it`) in progress. Upgraded to
    /// WebSockets, they are no longer requests the graceful shutdown
    /// waits for: each ends when the server shuts down, killing its
    /// command, and the server waits for them here.
    pub sessions: tokio_util::task::TaskTracker,
}

impl AppState {
    /// Resolves once the server is shutting down (never, if the sender
    /// is gone without having said so).
    pub fn shutting_down(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.clone();
        async move {
            if rx.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
