//! Errors at the HTTP edge: `CoreError` → status + JSON envelope.
//!
//! The table in [`wire_code`] is the only place where domain errors meet HTTP
//! statuses for the native API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use miniaws_core::error::{ConflictKind, Dependency};
use miniaws_core::{CoreError, Resource};
use serde_json::json;

/// An error answer of the native API:
/// `{"error": {"type": "...", "message": "..."}}` with a status.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The machine-readable `type`.
    pub kind: &'static str,
    /// What was wrong and what to do.
    pub message: String,
    /// The domain error behind it, for the log.
    source: Option<CoreError>,
}

impl ApiError {
    /// An error with an explicit status and type.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// 400 `INVALID_INPUT`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_INPUT", message)
    }
}

/// The native API's status and `type` for a domain error.
pub fn wire_code(err: &CoreError) -> (StatusCode, &'static str) {
    match err {
        CoreError::InvalidInput(_) => (StatusCode::BAD_REQUEST, "INVALID_INPUT"),
        CoreError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
        CoreError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
        CoreError::NotFound { resource, .. } => match resource {
            Resource::Bucket => (StatusCode::NOT_FOUND, "BUCKET_NOT_FOUND"),
            Resource::Object => (StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND"),
            _ => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        },
        CoreError::Conflict { kind, .. } => match kind {
            ConflictKind::PortInUse => (StatusCode::CONFLICT, "PORT_CONFLICT"),
            _ => (StatusCode::CONFLICT, "CONFLICT"),
        },
        CoreError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE"),
        CoreError::BadDigest(_) => (StatusCode::BAD_REQUEST, "BAD_DIGEST"),
        CoreError::PreconditionFailed(_) => {
            (StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED")
        }
        CoreError::RangeNotSatisfiable { .. } => {
            (StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_NOT_SATISFIABLE")
        }
        CoreError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        CoreError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
    }
}

/// The message a client sees; internal details stay in the log.
fn public_message(err: &CoreError) -> String {
    match err {
        CoreError::Internal { .. } => {
            "internal server error; the server log has the details (search for the request id)"
                .into()
        }
        CoreError::Unavailable {
            dependency: Dependency::Database,
            ..
        } => "the database is unavailable; retry shortly (the server log has details)".into(),
        other => other.to_string(),
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        let (status, kind) = wire_code(&err);
        Self {
            status,
            kind,
            message: public_message(&err),
            source: Some(err),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Each error is logged once, here, where it becomes a response.
        match &self.source {
            Some(source) if self.status.is_server_error() => {
                tracing::error!(status = %self.status.as_u16(), error = %source, cause = ?std::error::Error::source(source), "request failed");
            }
            _ => {
                tracing::info!(status = %self.status.as_u16(), kind = self.kind, message = %self.message, "request rejected")
            }
        }
        let body = json!({ "error": { "type": self.kind, "message": self.message } });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read, so the connection cannot
            // carry another request: tell the client before it tries.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

/// Fallback for unknown routes: 404 in the JSON envelope.
pub async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no such endpoint: {}", uri.path()),
    )
}

/// Fallback for a known path with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not supported on {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_maps_to_its_status() {
        let cases: Vec<(CoreError, u16, &str)> = vec![
            (CoreError::invalid("x"), 400, "INVALID_INPUT"),
            (CoreError::Unauthorized("x".into()), 401, "UNAUTHORIZED"),
            (CoreError::Forbidden("x".into()), 403, "FORBIDDEN"),
            (
                CoreError::not_found(Resource::Instance, "i"),
                404,
                "NOT_FOUND",
            ),
            (
                CoreError::not_found(Resource::Bucket, "b"),
                404,
                "BUCKET_NOT_FOUND",
            ),
            (
                CoreError::not_found(Resource::Object, "o"),
                404,
                "OBJECT_NOT_FOUND",
            ),
            (
                CoreError::conflict(ConflictKind::AlreadyExists, "x"),
                409,
                "CONFLICT",
            ),
            (
                CoreError::conflict(ConflictKind::PortInUse, "x"),
                409,
                "PORT_CONFLICT",
            ),
            (CoreError::TooLarge("x".into()), 413, "TOO_LARGE"),
            (CoreError::BadDigest("x".into()), 400, "BAD_DIGEST"),
            (
                CoreError::PreconditionFailed("x".into()),
                412,
                "PRECONDITION_FAILED",
            ),
            (
                CoreError::RangeNotSatisfiable { size_bytes: 3 },
                416,
                "RANGE_NOT_SATISFIABLE",
            ),
            (
                CoreError::unavailable(Dependency::Docker, "x"),
                503,
                "UNAVAILABLE",
            ),
            (CoreError::internal_msg("x"), 500, "INTERNAL"),
        ];
        for (err, status, kind) in cases {
            let desc = format!("{err:?}");
            let (s, k) = wire_code(&err);
            assert_eq!((s.as_u16(), k), (status, kind), "case {desc}");
        }
    }

    #[test]
    fn internal_details_are_not_sent() {
        let api = ApiError::from(CoreError::internal_msg("secret table name"));
        assert!(!api.message.contains("secret table name"));
    }
}
