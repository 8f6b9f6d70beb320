//! `GET /instances/{id}/logs[?tail=N&since=T&follow=true&timestamps=true]`:
//! the container's stdout and stderr as `text/plain`; with `follow` the
//! body streams (chunked) until the container stops or the client leaves.

use std::future::Future;
use std::task::Poll;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use miniaws_core::compute::LogOptions;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::path::Path;
use crate::query_params::Query;
use crate::state::AppState;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Last N lines, or `all` (the default).
    pub tail: Option<String>,
    /// Unix seconds or an RFC 3339 time.
    pub since: Option<String>,
    /// Keep streaming.
    #[serde(default)]
    pub follow: bool,
    /// Prefix lines with timestamps.
    #[serde(default)]
    pub timestamps: bool,
}

fn parse_tail(tail: Option<&str>) -> Result<Option<u32>, ApiError> {
    match tail {
        None | Some("all") => Ok(None),
        Some(t) => t.parse::<u32>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "tail must be a number of lines or `all` (got `{t}`)"
            ))
        }),
    }
}

fn parse_since(since: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    let Some(s) = since else { return Ok(None) };
    if let Ok(secs) = s.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp(secs)
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("since `{s}` is out of range")));
    }
    OffsetDateTime::parse(s, &Rfc3339).map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "since must be Unix seconds or an RFC 3339 time such as 2026-01-02T03:04:05Z (got `{s}`)"
        ))
    })
}

pub(crate) async fn instance_logs(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(query): Query<LogsQuery>,
) -> Result<Response, ApiError> {
    let options = LogOptions {
        tail: parse_tail(query.tail.as_deref())?,
        since: parse_since(query.since.as_deref())?,
        follow: query.follow,
        timestamps: query.timestamps,
    };
    let id = parse_id(&id)?;
    let stream = state.compute.logs(caller, id, &options).await?;
    let body = Body::from_stream(cut_at_shutdown(
        stream.map(|chunk| {
            chunk.map_err(|e| {
                tracing::warn!(error = %e, "log stream ended early");
                std::io::Error::other(e.to_string())
            })
        }),
        state.shutting_down(),
    ));
    Ok((
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// Ends `stream` when `shutdown` completes, with an error as its last item
/// if it had not ended by then. A followed log would otherwise keep a
/// graceful shutdown waiting for as long as its client likes; and since a
/// `text/plain` body has no room for a closing message, the error (which
/// makes hyper cut the chunked body short instead of finishing it) is how
/// the client learns that the log did not end with the container.
fn cut_at_shutdown<S>(
    stream: S,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let mut stream = Box::pin(stream);
    let mut shutdown = Box::pin(shutdown);
    let mut ended = false;
    futures::stream::poll_fn(move |cx| {
        if ended {
            return Poll::Ready(None);
        }
        // The shutdown first: a container that never stops printing must
        // not hold the server up.
        if shutdown.as_mut().poll(cx).is_ready() {
            ended = true;
            return Poll::Ready(Some(Err(std::io::Error::other(
                "the server is shutting down",
            ))));
        }
        let next = stream.as_mut().poll_next(cx);
        ended = matches!(next, Poll::Ready(None));
        next
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_shutdown_cuts_the_stream_with_an_error() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let lines = futures::stream::iter([Ok(Bytes::from_static(b"one\n"))])
            .chain(futures::stream::pending());
        let mut cut = Box::pin(cut_at_shutdown(lines, async move {
            let _ = rx.await;
        }));
        assert_eq!(cut.next().await.unwrap().unwrap(), "one\n");
        tx.send(()).unwrap();
        assert!(cut.next().await.unwrap().is_err(), "the cut is an error");
        assert!(cut.next().await.is_none());
    }

    #[tokio::test]
    async fn a_stream_that_ends_first_ends_cleanly() {
        let lines = futures::stream::iter([Ok(Bytes::from_static(b"last\n"))]);
        let all: Vec<_> = cut_at_shutdown(lines, std::future::pending())
            .collect()
            .await;
        assert_eq!(all.len(), 1);
        assert!(all[0].is_ok());
    }

    #[test]
    fn tail_and_since_parse() {
        assert_eq!(parse_tail(None).unwrap(), None);
        assert_eq!(parse_tail(Some("all")).unwrap(), None);
        assert_eq!(parse_tail(Some("10")).unwrap(), Some(10));
        assert!(parse_tail(Some("-1")).is_err());
        assert_eq!(
            parse_since(Some("60")).unwrap().unwrap().unix_timestamp(),
            60
        );
        assert!(parse_since(Some("2026-01-02T03:04:05Z")).unwrap().is_some());
        assert!(parse_since(Some("yesterday")).is_err());
    }
}
