//! The lifecycle sweep: enforces every bucket's lifecycle configuration
//! (see [`crate::storage::LifecycleConfiguration`]) by expiring objects
//! through the storage service and aborting incomplete multipart uploads
//! through the multipart service, so rows and blobs go together exactly as
//! a DeleteObject or an AbortMultipartUpload does. The server runs it
//! every `--lifecycle-interval-secs`.

use std::sync::Arc;

use crate::StopRequested;
use crate::clock::Clock;
use crate::error::CoreResult;
use crate::multipart::MultipartService;
use crate::storage::{BucketName, StorageService};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    /// Buckets with a lifecycle configuration looked at.
    pub buckets: usize,
    /// Current versions expired: objects deleted (buckets never
    /// versioned) or given a delete marker (versioned buckets).
    pub expired_objects: usize,
    /// Noncurrent versions and expired object delete markers removed for
    /// good (versioned buckets).
    pub expired_versions: usize,
    /// Multipart uploads aborted.
    pub aborted_uploads: usize,
    /// Buckets skipped because their stored configuration does not decode.
    pub undecodable: usize,
    /// Whether the pass stopped early because it was asked to (between two
    /// steps, never inside one).
    pub stopped: bool,
}

/// What the lifecycle sweep did to one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiredCount {
    /// Current versions expired: deleted (a bucket never versioned) or
    /// replaced by a delete marker (a versioned one).
    pub objects: usize,
    /// Noncurrent versions and expired delete markers removed for good.
    pub versions: usize,
}

/// Runs lifecycle sweeps over the storage and multipart services.
pub struct LifecycleSweeper {
    storage: Arc<StorageService>,
    multipart: Arc<MultipartService>,
    clock: Arc<dyn Clock>,
}

impl LifecycleSweeper {
    /// A sweeper reading the time from `clock`.
    pub fn new(
        storage: Arc<StorageService>,
        multipart: Arc<MultipartService>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            storage,
            multipart,
            clock,
        }
    }

    /// One pass over every bucket with a lifecycle configuration, at the
    /// clock's current time. A bucket that fails is logged and skipped;
    /// the next sweep tries it again. A bucket whose stored configuration
    /// does not decode is skipped with a warning naming the bucket (never
    /// the stored text), at every sweep until its owner puts or deletes
    /// the configuration: one damaged row must not stop the others.
    ///
    /// `stop` is asked before each bucket and each delete or abort: once
    /// it answers `true` the pass returns at once with `stopped` set,
    /// having finished the step in hand (a row and its blob go together).
    ///
    /// # Errors
    /// Database failures while listing the buckets.
    #[tracing::instrument(skip_all)]
    pub async fn sweep(&self, stop: StopRequested<'_>) -> CoreResult<LifecycleReport> {
        const PAGE: u32 = 100;
        let now = self.clock.now();
        let mut report = LifecycleReport::default();
        let mut after: Option<BucketName> = None;
        loop {
            let page = self.storage.lifecycle_buckets(after.as_ref(), PAGE).await?;
            for (bucket, lifecycle) in &page {
                if stop() {
                    report.stopped = true;
                    break;
                }
                report.buckets += 1;
                let Some(lifecycle) = lifecycle else {
                    report.undecodable += 1;
                    tracing::warn!(
                        bucket = %bucket.name,
                        "the bucket's stored lifecycle configuration does not decode; skipping the bucket (put or delete its configuration to repair it)"
                    );
                    continue;
                };
                match self
                    .storage
                    .expire_objects(bucket, lifecycle, now, stop)
                    .await
                {
                    Ok(n) => {
                        report.expired_objects += n.objects;
                        report.expired_versions += n.versions;
                    }
                    Err(e) => {
                        tracing::warn!(bucket = %bucket.name, error = %e, "lifecycle expiration failed; retrying at the next sweep")
                    }
                }
                match self
                    .multipart
                    .abort_expired_uploads(bucket, lifecycle, now, stop)
                    .await
                {
                    Ok(n) => report.aborted_uploads += n,
                    Err(e) => {
                        tracing::warn!(bucket = %bucket.name, error = %e, "lifecycle abort of uploads failed; retrying at the next sweep")
                    }
                }
            }
            if stop() {
                report.stopped = true;
                break;
            }
            match page.last() {
                Some((last, _)) if page.len() == PAGE as usize => after = Some(last.name.clone()),
                _ => break,
            }
        }
        if report.stopped {
            tracing::info!(
                buckets = report.buckets,
                expired_objects = report.expired_objects,
                expired_versions = report.expired_versions,
                aborted_uploads = report.aborted_uploads,
                "lifecycle sweep stopped early (shutting down); the next one goes on"
            );
        } else if report.expired_objects > 0
            || report.expired_versions > 0
            || report.aborted_uploads > 0
        {
            tracing::info!(
                buckets = report.buckets,
                expired_objects = report.expired_objects,
                expired_versions = report.expired_versions,
                aborted_uploads = report.aborted_uploads,
                "lifecycle sweep done"
            );
        } else {
            tracing::debug!(buckets = report.buckets, "lifecycle sweep done");
        }
        Ok(report)
    }
}
