//! Request ids and one tracing span per request.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, Request, Response};
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
        // Outermost: set the id before the span reads it.
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
}
