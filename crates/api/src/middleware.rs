//! Request ids and one tracing span per request.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, Response};
use std::time::Duration;
use tower::util::MapRequestLayer;

use crate::idle_body::IdleTimeoutBody;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// The header that carries a request's id, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Opens the request span. Only the method and path are recorded: headers
/// (API keys, Authorization) and the query string (presigned signatures) may
/// carry secrets and never reach the log.
fn make_span<B>(req: &Request<B>) -> Span {
    let request_id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
        owner = tracing::field::Empty,
    )
}

fn on_response<B>(res: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = res.status().as_u16(),
        latency_us = latency.as_micros() as u64,
        "response"
    );
}

/// The longest request id taken from a client.
pub const MAX_CLIENT_REQUEST_ID_LEN: usize = 128;

/// Whether a client's `X-Request-Id` is kept. The id goes unquoted into
/// every log line of the request (and back in a header): one with blanks,
/// `=` or quotes could forge fields (`x method=DELETE path=/auth/keys`),
/// and a long one bloats every line. Anything else is replaced by a
/// generated id.
fn acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_CLIENT_REQUEST_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+".contains(b))
}

/// Drops a client's `X-Request-Id` that [`acceptable_request_id`]
/// refuses, so that one is generated instead.
fn drop_unacceptable_request_id(mut req: Request<Body>) -> Request<Body> {
    let refused = req
        .headers()
        .get_all(&REQUEST_ID_HEADER)
        .iter()
        .any(|v| !acceptable_request_id(v));
    if refused {
        req.headers_mut().remove(&REQUEST_ID_HEADER);
    }
    req
}

/// Gives the request's body an idle timeout (see [`IdleTimeoutBody`]).
fn body_idle_timeout(timeout: Duration) -> impl Fn(Request<Body>) -> Request<Body> + Clone {
    move |req: Request<Body>| req.map(|body| Body::new(IdleTimeoutBody::new(body, timeout)))
}

/// Adds request-id propagation, request tracing, `Connection: close` after
/// an unread `Expect: 100-continue` body (see [`crate::expect_continue`]) and the request bodies'
/// idle timeout around `router`.
pub fn wrap(router: Router, body_idle: Duration) -> Router {
    router
        .layer(MapRequestLayer::new(body_idle_timeout(body_idle)))
        .layer(axum::middleware::from_fn(
            crate::expect_continue::close_if_unread,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response)
                .on_failure(()),
        )
        // Set the id before the span reads it.
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
        // Outermost: a client's id is checked before it is kept.
        .layer(MapRequestLayer::new(drop_unacceptable_request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_request_ids_are_kept() {
        let cases = [
            ("test-rid-42", true),
            ("1f0e6a4c-3b1d-4c9e-9a57-5f0c2f1b7d11", true),
            ("trace:abc/def+1.2_3", true),
            ("", false),
            ("x method=DELETE path=/auth/keys", false),
            ("a\"b", false),
            ("caf\u{e9}", false),
        ];
        for (id, kept) in cases {
            let value = HeaderValue::from_str(id).expect("a header value");
            assert_eq!(acceptable_request_id(&value), kept, "{id:?}");
        }
        let long =
            HeaderValue::from_str(&"a".repeat(MAX_CLIENT_REQUEST_ID_LEN + 1)).expect("value");
        assert!(!acceptable_request_id(&long));
    }
}
