//! Group commit of object writes: every write that queues while the
//! previous commit is in flight goes into the next transaction, so that
//! under concurrency the file fsyncs, not the database commits, set the
//! pace.
//!
//! The queue is drained by one driver future ([`CommitQueue::take_driver`]),
//! which the server spawns on its runtime (the core has none). Until the
//! driver runs, and should it stop, writes commit one by one on the
//! caller's task, so a service without a driver (tests, tools) still works.

use futures::channel::{mpsc, oneshot};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
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
        let driver = drive(repo.clone(), blobs, rx, running.clone()).boxed();
        Self {
            repo,
            tx,
            driver: Mutex::new(Some(driver)),
            running,
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
        let (reply, answer) = oneshot::channel();
        if let Err(refused) = self.tx.unbounded_send(Pending { write, reply }) {
            return self.commit_alone(&refused.into_inner().write).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(CoreError::internal_msg(
                "the commit queue stopped before answering; the write may or may not be committed",
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

/// Takes the first queued write and every one queued behind it (up to
/// [`MAX_COMMIT_BATCH`]), commits them with one
/// [`StorageRepo::put_objects`], and answers each.
async fn drive(
    repo: Arc<dyn StorageRepo>,
    blobs: Arc<dyn BlobStore>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    running: Arc<AtomicBool>,
) {
    let _guard = RunningGuard(running.clone());
    running.store(true, Ordering::SeqCst);
    while let Some(first) = rx.next().await {
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
        let mut results = repo.put_objects(&items).await;
        if results.len() != items.len() {
            // A broken adapter: answer every write rather than guess.
            results = items
                .iter()
                .map(|_| {
                    Err(CoreError::internal_msg(
                        "the storage repository answered a group commit with the wrong number of results",
                    ))
                })
                .collect();
        }
        tracing::debug!(writes = items.len(), "group commit");
        for ((reply, result), write) in replies.into_iter().zip(results).zip(&items) {
            // A retried commit may report the write's own blob as replaced:
            // never hand that out for removal.
            let result = result.map(|r| r.filter(|b| *b != write.meta.blob_id));
            if let Err(Ok(Some(replaced))) = reply.send(result) {
                // The writer went away: remove what it would have.
                if let Err(e) = blobs.delete(replaced).await {
                    tracing::warn!(blob_id = %replaced, error = %e, "could not remove a replaced blob; the start-up sweep will");
                }
            }
        }
    }
}
