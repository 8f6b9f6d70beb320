//! The answers of recent completions, so that a CompleteMultipartUpload
//! sent again gets the answer of the one that went through.
//!
//! An SDK retries CompleteMultipartUpload when the answer does not reach
//! it (a read timeout while a large object is assembled, a dropped
//! connection). The first try consumed the upload, so without this the
//! retry would be `NoSuchUpload`, and the tool would report a failed upload
//! of an object that is stored (`aws s3 cp` exits 1, rclone uploads it all
//! again). S3 answers such a retry with the same 200.
//!
//! Kept in memory, not in the database: the retries this serves come within
//! seconds or minutes of the answer they replace, and a restart in between
//! (the only case memory misses) answers `NoSuchUpload`, as before.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::Shared;

use crate::identity::UserId;
use crate::storage::{ObjectExpiry, ObjectMeta};

/// How long an answer is kept.
const KEPT_FOR: Duration = Duration::from_secs(3600);
/// How many answers are kept at most (the oldest goes first).
const KEPT_AT_MOST: usize = 1024;

/// One completion's answer.
struct Answer {
    upload_id: String,
    owner: UserId,
    meta: ObjectMeta,
    expiration: Option<ObjectExpiry>,
    at: Instant,
}

/// The answers of the completions of the last hour (at most
/// [`KEPT_AT_MOST`]), and the completions committing now.
#[derive(Default)]
pub(super) struct RecentCompletions {
    answers: Mutex<VecDeque<Answer>>,
    /// Upload ids whose completion is committing: a concurrent completion
    /// that finds the upload gone waits for the answer (the sender goes
    /// once it is kept, or the commit failed) instead of missing it by a
    /// hair.
    committing: Mutex<HashMap<String, Shared<oneshot::Receiver<()>>>>,
}

/// Marks an upload's completion as committing until dropped.
pub(super) struct Committing<'a> {
    recent: &'a RecentCompletions,
    upload_id: String,
    /// Dropped with the guard, which wakes the waiters.
    _done: oneshot::Sender<()>,
}

impl Drop for Committing<'_> {
    fn drop(&mut self) {
        if let Ok(mut committing) = self.recent.committing.lock() {
            committing.remove(&self.upload_id);
        }
    }
}

impl RecentCompletions {
    /// Marks upload `upload_id`'s completion as committing, until the
    /// returned guard is dropped (after [`Self::remember`], or on failure).
    pub(super) fn committing(&self, upload_id: &str) -> Committing<'_> {
        let (done, rx) = oneshot::channel();
        if let Ok(mut committing) = self.committing.lock() {
            committing.insert(upload_id.to_owned(), rx.shared());
        }
        Committing {
            recent: self,
            upload_id: upload_id.to_owned(),
            _done: done,
        }
    }

    /// Waits for upload `upload_id`'s completion, if one is committing.
    pub(super) async fn settled(&self, upload_id: &str) {
        let pending = self
            .committing
            .lock()
            .ok()
            .and_then(|c| c.get(upload_id).cloned());
        if let Some(done) = pending {
            // `Canceled` is the sender dropped: the only signal it gives.
            let _ = done.await;
        }
    }

    /// Keeps the answer of upload `upload_id`'s completion by `owner`.
    pub(super) fn remember(
        &self,
        upload_id: &str,
        owner: UserId,
        meta: &ObjectMeta,
        expiration: Option<&ObjectExpiry>,
    ) {
        let Ok(mut answers) = self.answers.lock() else {
            return;
        };
        let now = Instant::now();
        while answers
            .front()
            .is_some_and(|a| now.duration_since(a.at) > KEPT_FOR || answers.len() >= KEPT_AT_MOST)
        {
            answers.pop_front();
        }
        answers.push_back(Answer {
            upload_id: upload_id.to_owned(),
            owner,
            meta: meta.clone(),
            expiration: expiration.cloned(),
            at: now,
        });
    }

    /// The answer of upload `upload_id`'s completion, if `owner` completed
    /// it within the hour into `bucket`/`key` with the parts whose
    /// multipart ETag is `etag` (a retry names the same parts; other parts
    /// are another request, which the consumed upload cannot serve).
    pub(super) fn recall(
        &self,
        upload_id: &str,
        owner: UserId,
        bucket: &str,
        key: &str,
        etag: &crate::storage::ETag,
    ) -> Option<(ObjectMeta, Option<ObjectExpiry>)> {
        let answers = self.answers.lock().ok()?;
        let now = Instant::now();
        answers
            .iter()
            .rev()
            .find(|a| a.upload_id == upload_id)
            .filter(|a| {
                now.duration_since(a.at) <= KEPT_FOR
                    && a.owner == owner
                    && a.meta.bucket.as_str() == bucket
                    && a.meta.key.as_str() == key
                    && &a.meta.etag == etag
            })
            .map(|a| (a.meta.clone(), a.expiration.clone()))
    }
}
