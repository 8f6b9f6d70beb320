//! `Connection: close` on the answer to an `Expect: 100-continue` request
//! whose body was not read to its end.
//!
//! Such a client sends its headers and waits for `100 Continue` before the
//! body; answered with a final status instead (a refusal: no such bucket,
//! access denied, an ACL S3 does not allow…) it may or may not have sent
//! the body anyway: botocore, for one, sends a body it holds as bytes in
//! the same write as the headers, `Expect` or not. The server cannot know
//! which, so the connection's next bytes are ambiguous. hyper guesses: when
//! the handler drops the unread body it reads whatever is already buffered
//! as that body, and closes the connection if that is not enough. The
//! guess goes wrong when the body is dropped after the answer went out
//! and the client, which sent no body, has already sent its next request:
//! hyper then takes that request's first bytes as the old body and reads
//! the rest as a request (`UT /bucket/key`), which the S3 endpoint refused
//! as `SignatureDoesNotMatch` (boto3: PutObject with a refused ACL, then
//! any PutObject on the same connection, about one time in a hundred).
//!
//! RFC 9110 §10.1.1 asks a server that answers before reading the whole
//! body to say whether it will close the connection; this layer says it
//! will, whenever the body was not read to its end, and hyper then closes
//! after the answer. The client opens a new connection for its next
//! request; nothing is misread. Requests without `Expect` are unambiguous
//! (the client always sends the declared body) and pass untouched.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONNECTION, EXPECT};
use axum::http::{HeaderValue, Response};
use axum::middleware::Next;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// Whether a request with `headers` asked `Expect: 100-continue`.
pub(crate) fn expects_continue(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The middleware: see the module documentation.
pub async fn close_if_unread(req: Request, next: Next) -> Response<Body> {
    if !expects_continue(req.headers()) {
        return next.run(req).await;
    }
    let ended = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| {
        if body.is_end_stream() {
            ended.store(true, Ordering::Relaxed);
        }
        Body::new(Watched {
            body,
            ended: ended.clone(),
        })
    });
    let mut response = next.run(req).await;
    if !ended.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that notes when it has been read to its end.
struct Watched {
    body: Body,
    ended: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.body.is_end_stream() {
            self.ended.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    /// The declared length passes through: s3s reads it.
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
