//! Writes that outlive their request.

use miniaws_core::CoreError;

/// Runs a write in a task of its own: hyper drops a request's future when
/// its client goes away, and a write cut off half-way (between its commit
/// and the removal of the blob it replaced) would leave that blob behind
/// until the next start-up sweep. In its own task a write whose body
/// arrived whole still commits or rolls back as one, and one whose body
/// stops fails and cleans up.
pub(crate) async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, CoreError>> + Send + 'static,
) -> Result<T, CoreError> {
    tokio::spawn(work)
        .await
        .map_err(|e| CoreError::internal("a write task failed", e))?
}
