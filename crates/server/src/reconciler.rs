//! The reconciler task: keeps recorded instance state true to Docker.
//!
//! It follows Docker's events for labelled containers, so that a container
//! killed, removed or exited behind Mini AWS's back is reflected within
//! moments, and resyncs every live instance (one container list, then an
//! inspect of what the list contradicts) at start-up, every
//! `--resync-interval-secs` and each time it subscribes again. When Docker
//! is down it retries every two seconds; the resync that comes with the
//! new subscription catches up with what happened meanwhile.
//!
//! An event is settled in a task of its own ([`EventWork`]): settling takes
//! the instance's lock, which a stop holds through its whole grace period,
//! and one instance's wait must not hold up every other instance's events.
//! The resync likewise skips an instance being changed.

use futures::StreamExt;
use miniaws_core::compute::{ComputeService, ContainerEvent, InstanceId};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

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
            let mut work = EventWork::default();
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    Some(_) = work.tasks.join_next(), if !work.tasks.is_empty() => {}
                    _ = ticker.tick() => {
                        if let Err(e) = compute.reconcile_all().await {
                            tracing::warn!(error = %e, "periodic resync failed");
                        }
                    }
                    event = events.next() => match event {
                        Some(Ok(event)) => work.settle(&compute, &event),
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

/// The events being settled: at most one task per instance, which settles
/// it again when more of its events came in meanwhile (the settling reads
/// the container's state afresh, so one more pass covers them all).
/// Dropping it aborts the tasks (at shutdown).
#[derive(Default)]
struct EventWork {
    tasks: JoinSet<()>,
    pending: Arc<Mutex<Pending>>,
}

#[derive(Default)]
struct Pending {
    /// Instances a task is settling.
    running: HashSet<InstanceId>,
    /// Those of them whose events came in since their task started.
    again: HashSet<InstanceId>,
}

impl EventWork {
    /// Settles `event`'s instance in a task of its own, or has the task
    /// already settling it go once more.
    fn settle(&mut self, compute: &Arc<ComputeService>, event: &ContainerEvent) {
        if !ComputeService::settles_on(event) {
            return;
        }
        let id = event.instance_id;
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if !pending.running.insert(id) {
                pending.again.insert(id);
                return;
            }
        }
        let compute = compute.clone();
        let pending = self.pending.clone();
        self.tasks.spawn(async move {
            loop {
                if let Err(e) = compute.reconcile_one(id).await {
                    tracing::warn!(instance_id = %id, error = %e, "cannot reconcile after an event");
                }
                let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
                if !pending.again.remove(&id) {
                    pending.running.remove(&id);
                    return;
                }
            }
        });
    }
}
