//! The reconciler task: keeps recorded instance state true to Docker.
//!
//! It follows Docker's events for labelled containers, so that a container
//! killed, removed or exited behind Mini AWS's back is reflected within
//! moments, and resyncs every live instance (one container list, then an
//! inspect of what the list contradicts) at start-up, every
//! `--resync-interval-secs` and each time it subscribes again. When Docker
//! is down it retries every two seconds; the resync that comes with the
//! new subscription catches up with what happened meanwhile.

use futures::StreamExt;
use miniaws_core::compute::ComputeService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long to wait before resubscribing after the event stream broke.
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Starts the reconciler; it stops when `shutdown` turns true.
pub fn spawn(
    compute: Arc<ComputeService>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Whether the last resync failed: an outage is logged once as a
        // warning and once when it ends, not at every retry.
        let mut failing = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Subscribe before resyncing, so nothing that happens during the
            // resync is missed.
            let events = compute.events().await;
            match compute.reconcile_all().await {
                Ok(changed) if failing => {
                    failing = false;
                    tracing::info!(changed, "instance state resynced with Docker again");
                }
                Ok(changed) => tracing::debug!(changed, "instance state resynced with Docker"),
                Err(e) if failing => tracing::debug!(error = %e, "resync still failing"),
                Err(e) => {
                    failing = true;
                    tracing::warn!(
                        error = %e,
                        "cannot resync instance state; retrying every {} s",
                        RETRY_DELAY.as_secs()
                    );
                }
            }
            let mut events = match events {
                Ok(events) => events,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot follow Docker events; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_DELAY) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            };
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await; // the first tick fires at once
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = ticker.tick() => {
                        if let Err(e) = compute.reconcile_all().await {
                            tracing::warn!(error = %e, "periodic resync failed");
                        }
                    }
                    event = events.next() => match event {
                        Some(Ok(event)) => {
                            if let Err(e) = compute.handle_event(&event).await {
                                tracing::warn!(instance_id = %event.instance_id, error = %e, "cannot reconcile after an event");
                            }
                        }
                        // While resyncs fail, the (lazy) stream fails at once.
                        Some(Err(e)) if failing => {
                            tracing::debug!(error = %e, "cannot follow Docker events; retrying");
                            break;
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "the Docker event stream broke; resubscribing");
                            break;
                        }
                        None => {
                            tracing::warn!("the Docker event stream ended; resubscribing");
                            break;
                        }
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY_DELAY) => {},
                _ = shutdown.changed() => return,
            }
        }
    })
}
