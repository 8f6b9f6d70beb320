//! `GET /instances/{id}/logs[?tail=N&since=T&follow=true&timestamps=true]`:
//! the container's stdout and stderr as `text/plain`; with `follow` the
//! body streams (chunked) until the container stops or the client leaves.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use miniaws_core::compute::LogOptions;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::parse_id;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::path::Path;
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
    query: Result<Query<LogsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let options = LogOptions {
        tail: parse_tail(query.tail.as_deref())?,
        since: parse_since(query.since.as_deref())?,
        follow: query.follow,
        timestamps: query.timestamps,
    };
    let id = parse_id(&id)?;
    let stream = state.compute.logs(caller, id, &options).await?;
    // A followed log ends when the server shuts down, as when the
    // container stops.
    let stream = stream.take_until(state.shutting_down());
    let body = Body::from_stream(stream.map(|chunk| {
        chunk.map_err(|e| {
            tracing::warn!(error = %e, "log stream ended early");
            std::io::Error::other(e.to_string())
        })
    }));
    Ok((
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

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
