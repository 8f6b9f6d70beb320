//! Reading what is left of a refused upload before answering ("lingering
//! close", as Apache and nginx do it).
//!
//! A write may be refused before its body is read (too large, no room, not
//! the caller's bucket). If the server then answered and closed while the
//! client was still sending, the client's kernel would see a reset and the
//! client a broken connection instead of the answer (the aws SDK reports a
//! dispatch failure with no status). So the handler keeps a handle on the
//! body and reads and discards the rest, within limits, before answering.

use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long a refused upload is still read before the answer is sent.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// How many bytes of a refused upload are read, at most.
const DRAIN_MAX_BYTES: u64 = 64 << 20;

/// A request body shared between the write (which may stop reading early)
/// and the handler (which then drains what is left).
pub(crate) struct SharedBody<S> {
    body: Arc<Mutex<S>>,
    /// Whether anyone asked for the body yet: hyper answers a client's
    /// `Expect: 100-continue` at the first ask, and only then does such a
    /// client send its body.
    asked: Arc<AtomicBool>,
    /// Whether the request asked `Expect: 100-continue`.
    expects_continue: bool,
}

impl<S> Clone for SharedBody<S> {
    fn clone(&self) -> Self {
        Self {
            body: self.body.clone(),
            asked: self.asked.clone(),
            expects_continue: self.expects_continue,
        }
    }
}

impl<S> SharedBody<S> {
    /// Shares `body`, the body of a request with `headers`.
    pub(crate) fn new(body: S, headers: &http::HeaderMap) -> Self {
        Self {
            body: Arc::new(Mutex::new(body)),
            asked: Arc::new(AtomicBool::new(false)),
            expects_continue: crate::expect_continue::expects_continue(headers),
        }
    }
}

impl<S: Stream + Unpin> Stream for SharedBody<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.asked.store(true, Ordering::Relaxed);
        // Uncontended: only one side polls at a time.
        let mut inner = match self.body.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        inner.poll_next_unpin(cx)
    }
}

impl<S, E> SharedBody<S>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    /// `result`, once the rest of `body` is drained if it is an error (a
    /// write refused, perhaps before it read its body).
    pub(crate) async fn on_refusal<T, R>(body: Option<Self>, result: Result<T, R>) -> Result<T, R> {
        if result.is_err()
            && let Some(body) = body
        {
            body.drain().await;
        }
        result
    }

    /// Reads and discards the rest of the body, within the drain limits;
    /// nothing when the client waits for `100 Continue` and was never
    /// asked for its body: it sends none, and asking now would make hyper
    /// invite it to.
    async fn drain(self) {
        if self.expects_continue && !self.asked.load(Ordering::Relaxed) {
            return;
        }
        let mut body = self;
        let mut drained = 0u64;
        let _ = tokio::time::timeout(DRAIN_LIMIT, async {
            while let Some(Ok(chunk)) = body.next().await {
                drained += chunk.len() as u64;
                if drained > DRAIN_MAX_BYTES {
                    break;
                }
            }
        })
        .await;
    }
}
