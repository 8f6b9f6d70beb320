//! Group commit of object writes: every write that queues while the
//! previous commit is in flight goes into the next transaction, so that
//! under concurrency the file fsyncs, not the database commits, set the
//! pace.
//!
//! The queue is drained by one driver future ([`CommitQueue::take_driver`]),
//! which the server spawns on its runtime (the core has none). Until the
//! driver runs, and should it stop, writes commit one by one on the
//! caller's task, so a service without a driver (tests, tools) still works.
//!
//! One commit is in flight at a time (the commit slot). A write that finds
//! the slot free and nothing queued commits on its own task, as a group of
//! one: at low concurrency a write then pays no hop to the driver task and
//! back (two thread wake-ups, a measurable share of a 4 KiB PUT). Writes
//! that arrive while a commit is in flight queue for the driver, which
//! takes the slot next and commits everything queued by then at once.

use futures::channel::{mpsc, oneshot};
use futures::future::BoxFuture;
use futures::lock::Mutex as AsyncMutex;
use futures::{FutureExt, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::ports::{BlobId, BlobStore, ObjectWrite, StorageRepo};
use crate::error::{CoreError, CoreResult};

/// The most writes one transaction takes: keeps a transaction (and the
/// write lock it holds) short when a burst queues up.
pub const MAX_COMMIT_BATCH: usize = 64;

/// One write waiting for its commit.
struct Pending {
    write: ObjectWrite,
    reply: oneshot::Sender<CoreResult<Option<BlobId>>>,
}

/// The queue of writes waiting to commit, and its driver.
pub(crate) struct CommitQueue {
    repo: Arc<dyn StorageRepo>,
    tx: mpsc::UnboundedSender<Pending>,
    driver: Mutex<Option<BoxFuture<'static, ()>>>,
    running: Arc<AtomicBool>,
    flow: Arc<Flow>,
}

/// What the writers and the driver share to keep one commit in flight.
#[derive(Default)]
struct Flow {
    /// Held by whoever is committing.
    slot: AsyncMutex<()>,
    /// Writes sent to the driver and not yet answered: while there are
    /// any, a new write queues behind them rather than overtaking them.
    queued: AtomicUsize,
}

/// Clears `running` when the driver ends or is dropped, so that writes fall
/// back to committing on their own task instead of waiting forever.
struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl CommitQueue {
    pub(crate) fn new(repo: Arc<dyn StorageRepo>, blobs: Arc<dyn BlobStore>) -> Self {
        let (tx, rx) = mpsc::unbounded();
        let running = Arc::new(AtomicBool::new(false));
        let flow = Arc::new(Flow::default());
        let driver = drive(repo.clone(), blobs, rx, running.clone(), flow.clone()).boxed();
        Self {
            repo,
            tx,
            driver: Mutex::new(Some(driver)),
            running,
            flow,
        }
    }

    /// The future that commits queued writes; `None` once taken.
    pub(crate) fn take_driver(&self) -> Option<BoxFuture<'static, ()>> {
        self.driver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Commits `write`, in the next group when the driver runs; returns
    /// the replaced version's blob, as [`StorageRepo::put_object_if`].
    pub(crate) async fn commit(&self, write: ObjectWrite) -> CoreResult<Option<BlobId>> {
        if !self.running.load(Ordering::SeqCst) {
            return self.commit_alone(&write).await;
        }
        if self.flow.queued.load(Ordering::SeqCst) == 0
            && let Some(slot) = self.flow.slot.try_lock()
        {
            let result = commit_group(&*self.repo, std::slice::from_ref(&write))
                .await
                .pop()
                .unwrap_or_else(|| {
                    Err(CoreError::internal_msg(
                        "a group commit of one answered nothing",
                    ))
                });
            drop(slot);
            return result;
        }
        let (reply, answer) = oneshot::channel();
        self.flow.queued.fetch_add(1, Ordering::SeqCst);
        if let Err(refused) = self.tx.unbounded_send(Pending { write, reply }) {
            self.flow.queued.fetch_sub(1, Ordering::SeqCst);
            return self.commit_alone(&refused.into_inner().write).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(CoreError::unavailable_outcome_unknown(
                crate::error::Dependency::Database,
                "the commit queue stopped before answering (the server is stopping); the write may or may not be committed",
            ))
        })
    }
}

impl CommitQueue {
    /// Commits `write` on the caller's task, without the queue.
    async fn commit_alone(&self, write: &ObjectWrite) -> CoreResult<Option<BlobId>> {
        let replaced = self
            .repo
            .put_object_if(write.owner, &write.meta, &write.condition)
            .await?;
        Ok(replaced.filter(|b| *b != write.meta.blob_id))
    }
}

/// Commits `items` with one [`StorageRepo::put_objects`]: one result per
/// item, never the write's own blob as the replaced one.
async fn commit_group(
    repo: &dyn StorageRepo,
    items: &[ObjectWrite],
) -> Vec<CoreResult<Option<BlobId>>> {
    let results = repo.put_objects(items).await;
    if results.len() != items.len() {
        // A broken adapter: answer every write rather than guess.
        return items
            .iter()
            .map(|_| {
                Err(CoreError::internal_msg(
                    "the storage repository answered a group commit with the wrong number of results",
                ))
            })
            .collect();
    }
    // A retried commit may report the write's own blob as replaced: never
    // hand that out for removal.
    results
        .into_iter()
        .zip(items)
        .map(|(result, write)| result.map(|r| r.filter(|b| *b != write.meta.blob_id)))
        .collect()
}

/// Takes the first queued write, waits for the commit slot, then takes
/// every write queued by then (up to [`MAX_COMMIT_BATCH`]), commits them
/// as one group, and answers each.
async fn drive(
    repo: Arc<dyn StorageRepo>,
    blobs: Arc<dyn BlobStore>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    running: Arc<AtomicBool>,
    flow: Arc<Flow>,
) {
    let _guard = RunningGuard(running.clone());
    running.store(true, Ordering::SeqCst);
    while let Some(first) = rx.next().await {
        let slot = flow.slot.lock().await;
        let mut items = vec![first.write];
        let mut replies = vec![first.reply];
        while items.len() < MAX_COMMIT_BATCH {
            match rx.try_recv() {
                Ok(p) => {
                    items.push(p.write);
                    replies.push(p.reply);
                }
                _ => break,
            }
        }
        let results = commit_group(&*repo, &items).await;
        flow.queued.fetch_sub(items.len(), Ordering::SeqCst);
        drop(slot);
        tracing::debug!(writes = items.len(), "group commit");
        for (reply, result) in replies.into_iter().zip(results) {
            if let Err(Ok(Some(replaced))) = reply.send(result) {
                // The writer went away: remove what it would have.
                if let Err(e) = blobs.delete(replaced).await {
                    tracing::warn!(blob_id = %replaced, error = %e, "could not remove a replaced blob; the start-up sweep will");
                }
            }
        }
    }
}
