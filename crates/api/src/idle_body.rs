//! An idle timeout on request bodies.
//!
//! A client that stops sending mid-body but keeps its connection open (a
//! stalled or vanished uploader behind a NAT, a hung script) would otherwise
//! hold its write, its temporary file and its connection for ever. With
//! [`IdleTimeoutBody`] the body ends with an error once no byte has arrived
//! for the timeout, and the upload is discarded like an interrupted one. S3
//! does the same (`RequestTimeout`, after about 20 s of silence).
//!
//! Hand-written rather than tower-http's `TimeoutBody` because that one
//! hides the inner body's `size_hint` and `is_end_stream` (s3s reads them:
//! an empty GET body then looks like one of unknown length) and arms a timer
//! on every frame; this one arms it only while the server actually waits
//! for bytes, so a slow disk (back-pressure: the body is not polled) never
//! trips it and the fast path costs nothing.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The error a body ends with when its client went silent.
#[derive(Debug)]
pub struct BodyIdle(Duration);

impl std::fmt::Display for BodyIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no byte of the request body arrived for {} s (the body idle timeout); the upload was abandoned",
            self.0.as_secs()
        )
    }
}

impl std::error::Error for BodyIdle {}

/// `body`, failing with [`BodyIdle`] when it yields nothing for `timeout`
/// while polled.
pub struct IdleTimeoutBody<B> {
    body: B,
    timeout: Duration,
    /// Armed when the body first has nothing to give, disarmed by the next
    /// frame.
    idle: Option<Pin<Box<Sleep>>>,
}

impl<B> IdleTimeoutBody<B> {
    /// Wraps `body`.
    pub fn new(body: B, timeout: Duration) -> Self {
        Self {
            body,
            timeout,
            idle: None,
        }
    }
}

impl<B> Body for IdleTimeoutBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.idle = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let idle = this
                    .idle
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match idle.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyIdle(timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    /// A body that yields one chunk, then never anything again.
    fn stalling() -> axum::body::Body {
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"abc"))])
            .chain(futures::stream::pending());
        axum::body::Body::from_stream(chunks)
    }

    async fn next_frame<B: Body + Unpin>(body: &mut B) -> Option<Result<Frame<B::Data>, B::Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
    }

    #[tokio::test]
    async fn a_silent_body_fails_after_the_timeout() {
        let timeout = Duration::from_millis(200);
        let mut body = IdleTimeoutBody::new(stalling(), timeout);
        let first = next_frame(&mut body).await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "abc");
        let started = std::time::Instant::now();
        let err = next_frame(&mut body).await.unwrap().unwrap_err();
        assert!(started.elapsed() >= timeout);
        assert!(err.to_string().contains("idle timeout"), "{err}");
    }

    #[test]
    fn sizes_and_ends_are_those_of_the_inner_body() {
        let body = IdleTimeoutBody::new(axum::body::Body::empty(), Duration::from_secs(5));
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
        let body = IdleTimeoutBody::new(axum::body::Body::from("12345"), Duration::from_secs(5));
        assert_eq!(body.size_hint().exact(), Some(5));
    }
}
