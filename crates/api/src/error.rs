//! Errors at the HTTP edge: `CoreError` → status + JSON envelope.
//!
//! The table in [`wire_code`] is the only place where domain errors meet HTTP
//! statuses for the native API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use miniaws_core::error::{ConflictKind, Dependency, PartProblem, TagProblem};
use miniaws_core::{CoreError, Resource};
use miniaws_wire::{ErrorBody, ErrorEnvelope};
use s3s::S3ErrorCode;

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
        CoreError::InvalidInput(_)
        | CoreError::InvalidRequest(_)
        | CoreError::InvalidTag { .. }
        | CoreError::MetadataTooLarge(_) => (StatusCode::BAD_REQUEST, "INVALID_INPUT"),
        CoreError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
        CoreError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
        CoreError::NotFound { resource, .. } => match resource {
            Resource::Bucket => (StatusCode::NOT_FOUND, "BUCKET_NOT_FOUND"),
            Resource::Object => (StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND"),
            _ => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        },
        CoreError::VersionNotFound { .. } => (StatusCode::NOT_FOUND, "VERSION_NOT_FOUND"),
        CoreError::Conflict { kind, .. } => match kind {
            ConflictKind::PortInUse => (StatusCode::CONFLICT, "PORT_CONFLICT"),
            // The IETF Idempotency-Key draft's answer to a reused key.
            ConflictKind::TokenReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED")
            }
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
        CoreError::DeleteMarker {
            by_version: false, ..
        } => (StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND"),
        CoreError::DeleteMarker {
            by_version: true, ..
        } => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
        CoreError::InvalidPart { .. } => (StatusCode::BAD_REQUEST, "INVALID_PART"),
        CoreError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        CoreError::InsufficientStorage { .. } => {
            (StatusCode::INSUFFICIENT_STORAGE, "INSUFFICIENT_STORAGE")
        }
        CoreError::Damaged(_) | CoreError::Internal { .. } => {
            (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL")
        }
    }
}

/// The S3 endpoint's status and error code for a domain error.
///
/// Operations refine a few codes where the context says more than the
/// variant (an invalid bucket name is `InvalidBucketName`, not
/// `InvalidArgument`); everything else goes through this table.
pub fn s3_code(err: &CoreError) -> (StatusCode, S3ErrorCode) {
    match err {
        CoreError::InvalidInput(_) => (StatusCode::BAD_REQUEST, S3ErrorCode::InvalidArgument),
        CoreError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, S3ErrorCode::InvalidRequest),
        CoreError::Unauthorized(_) => (StatusCode::FORBIDDEN, S3ErrorCode::AccessDenied),
        CoreError::Forbidden(_) => (StatusCode::FORBIDDEN, S3ErrorCode::AccessDenied),
        CoreError::NotFound { resource, .. } => match resource {
            Resource::Bucket => (StatusCode::NOT_FOUND, S3ErrorCode::NoSuchBucket),
            Resource::Object => (StatusCode::NOT_FOUND, S3ErrorCode::NoSuchKey),
            Resource::Upload => (StatusCode::NOT_FOUND, S3ErrorCode::NoSuchUpload),
            Resource::User | Resource::ApiKey => {
                (StatusCode::FORBIDDEN, S3ErrorCode::InvalidAccessKeyId)
            }
            Resource::Instance | Resource::Image => (StatusCode::NOT_FOUND, S3ErrorCode::NoSuchKey),
        },
        CoreError::VersionNotFound { .. } => (StatusCode::NOT_FOUND, S3ErrorCode::NoSuchVersion),
        CoreError::Conflict { kind, .. } => match kind {
            ConflictKind::AlreadyExists => (StatusCode::CONFLICT, S3ErrorCode::BucketAlreadyExists),
            ConflictKind::AlreadyOwnedByYou => {
                (StatusCode::CONFLICT, S3ErrorCode::BucketAlreadyOwnedByYou)
            }
            ConflictKind::BucketNotEmpty => (StatusCode::CONFLICT, S3ErrorCode::BucketNotEmpty),
            ConflictKind::PortInUse
            | ConflictKind::InvalidState
            | ConflictKind::LastKey
            | ConflictKind::TokenReused => (StatusCode::CONFLICT, S3ErrorCode::OperationAborted),
        },
        CoreError::TooLarge(_) => (StatusCode::BAD_REQUEST, S3ErrorCode::EntityTooLarge),
        CoreError::BadDigest(_) => (StatusCode::BAD_REQUEST, S3ErrorCode::BadDigest),
        CoreError::MetadataTooLarge(_) => (StatusCode::BAD_REQUEST, S3ErrorCode::MetadataTooLarge),
        CoreError::PreconditionFailed(_) => (
            StatusCode::PRECONDITION_FAILED,
            S3ErrorCode::PreconditionFailed,
        ),
        CoreError::RangeNotSatisfiable { .. } => {
            (StatusCode::RANGE_NOT_SATISFIABLE, S3ErrorCode::InvalidRange)
        }
        // S3's answers about a delete marker: a GET or HEAD of a key whose
        // latest version is one is `NoSuchKey`; one that names it by its
        // version id is `MethodNotAllowed`.
        CoreError::DeleteMarker {
            by_version: false, ..
        } => (StatusCode::NOT_FOUND, S3ErrorCode::NoSuchKey),
        CoreError::DeleteMarker {
            by_version: true, ..
        } => (
            StatusCode::METHOD_NOT_ALLOWED,
            S3ErrorCode::MethodNotAllowed,
        ),
        CoreError::InvalidPart { problem, .. } => (
            StatusCode::BAD_REQUEST,
            match problem {
                PartProblem::Missing => S3ErrorCode::InvalidPart,
                PartProblem::Order => S3ErrorCode::InvalidPartOrder,
                PartProblem::TooSmall => S3ErrorCode::EntityTooSmall,
            },
        ),
        // S3 answers too many tags with a code of its own, observed as
        // `BadRequest` (400) on PutObject and PutObjectTagging alike.
        CoreError::InvalidTag { problem, .. } => (
            StatusCode::BAD_REQUEST,
            match problem {
                TagProblem::Invalid => S3ErrorCode::InvalidTag,
                TagProblem::TooMany => S3ErrorCode::Custom("BadRequest".into()),
            },
        ),
        CoreError::Unavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            S3ErrorCode::ServiceUnavailable,
        ),
        // S3 has no code for a full disk (it never fills); MinIO answers
        // 507 with a code of its own, and so do we. SDKs do not retry a
        // 507, which is right: only freeing space helps.
        CoreError::InsufficientStorage { .. } => (
            StatusCode::INSUFFICIENT_STORAGE,
            S3ErrorCode::Custom("InsufficientStorage".into()),
        ),
        CoreError::Damaged(_) | CoreError::Internal { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            S3ErrorCode::InternalError,
        ),
    }
}

/// The message a client sees; internal details stay in the log.
pub(crate) fn public_message(err: &CoreError) -> String {
    match err {
        CoreError::Internal { .. } => {
            "internal server error; the server log has the details (search for the request id)"
                .into()
        }
        CoreError::Unavailable {
            dependency: Dependency::Database,
            public: Some(public),
            ..
        } => (*public).to_owned(),
        CoreError::Unavailable {
            dependency: Dependency::Database,
            ..
        } => "the database is unavailable; retry shortly (the server log has details)".into(),
        CoreError::DeleteMarker {
            by_version: false, ..
        } => "The specified key does not exist.".into(),
        CoreError::DeleteMarker {
            by_version: true, ..
        } => "The specified method is not allowed against this resource.".into(),
        other => other.to_string(),
    }
}

/// The native API's message: [`public_message`], but a delete marker is
/// named as what it is (S3's own words, which [`public_message`] keeps for
/// the S3 answers, do not say it).
fn native_message(err: &CoreError) -> String {
    match err {
        CoreError::DeleteMarker {
            key,
            version_id,
            by_version: false,
            ..
        } => format!(
            "{key} was deleted: its latest version is a delete marker (version {version_id}); \
             its earlier versions stay, listed by ?versions"
        ),
        CoreError::DeleteMarker {
            key,
            version_id,
            by_version: true,
            ..
        } => format!("version {version_id} of {key} is a delete marker: it has no content to read"),
        other => public_message(other),
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        let (status, kind) = wire_code(&err);
        Self {
            status,
            kind,
            message: native_message(&err),
            source: Some(err),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Each error is logged once, here, where it becomes a response.
        match &self.source {
            Some(source) if self.status.is_server_error() => {
                tracing::error!(status = self.status.as_u16(), error = %source, cause = ?std::error::Error::source(source), "request failed");
            }
            _ => {
                // `reason`, not `message`: that is the event's own field, and
                // a JSON log line would carry the key twice.
                tracing::info!(status = self.status.as_u16(), kind = self.kind, reason = %self.message, "request rejected")
            }
        }
        let body = ErrorEnvelope {
            error: ErrorBody {
                message: self.message,
                kind: self.kind.to_owned(),
            },
        };
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
                CoreError::VersionNotFound {
                    key: "k".into(),
                    version_id: "v".into(),
                },
                404,
                "VERSION_NOT_FOUND",
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
                CoreError::MetadataTooLarge("x".into()),
                400,
                "INVALID_INPUT",
            ),
            (CoreError::InvalidRequest("x".into()), 400, "INVALID_INPUT"),
            (
                CoreError::InvalidTag {
                    problem: TagProblem::TooMany,
                    message: "x".into(),
                },
                400,
                "INVALID_INPUT",
            ),
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
                CoreError::DeleteMarker {
                    key: "k".into(),
                    version_id: "null".into(),
                    by_version: false,
                    last_modified: None,
                },
                404,
                "OBJECT_NOT_FOUND",
            ),
            (
                CoreError::DeleteMarker {
                    key: "k".into(),
                    version_id: "null".into(),
                    by_version: true,
                    last_modified: None,
                },
                405,
                "METHOD_NOT_ALLOWED",
            ),
            (
                CoreError::InvalidPart {
                    problem: PartProblem::Order,
                    message: "x".into(),
                },
                400,
                "INVALID_PART",
            ),
            (
                CoreError::unavailable(Dependency::Docker, "x"),
                503,
                "UNAVAILABLE",
            ),
            (CoreError::Damaged("x".into()), 500, "INTERNAL"),
            (CoreError::internal_msg("x"), 500, "INTERNAL"),
        ];
        for (err, status, kind) in cases {
            let desc = format!("{err:?}");
            let (s, k) = wire_code(&err);
            assert_eq!((s.as_u16(), k), (status, kind), "case {desc}");
        }
    }

    #[test]
    fn every_core_error_maps_to_its_s3_code() {
        let cases: Vec<(CoreError, u16, &str)> = vec![
            (CoreError::invalid("x"), 400, "InvalidArgument"),
            (CoreError::Unauthorized("x".into()), 403, "AccessDenied"),
            (CoreError::Forbidden("x".into()), 403, "AccessDenied"),
            (
                CoreError::not_found(Resource::User, "u"),
                403,
                "InvalidAccessKeyId",
            ),
            (
                CoreError::not_found(Resource::ApiKey, "k"),
                403,
                "InvalidAccessKeyId",
            ),
            (
                CoreError::not_found(Resource::Instance, "i"),
                404,
                "NoSuchKey",
            ),
            (CoreError::not_found(Resource::Image, "i"), 404, "NoSuchKey"),
            (
                CoreError::not_found(Resource::Bucket, "b"),
                404,
                "NoSuchBucket",
            ),
            (
                CoreError::not_found(Resource::Object, "o"),
                404,
                "NoSuchKey",
            ),
            (
                CoreError::not_found(Resource::Upload, "u"),
                404,
                "NoSuchUpload",
            ),
            (
                CoreError::conflict(ConflictKind::AlreadyExists, "x"),
                409,
                "BucketAlreadyExists",
            ),
            (
                CoreError::conflict(ConflictKind::AlreadyOwnedByYou, "x"),
                409,
                "BucketAlreadyOwnedByYou",
            ),
            (
                CoreError::conflict(ConflictKind::BucketNotEmpty, "x"),
                409,
                "BucketNotEmpty",
            ),
            (
                CoreError::conflict(ConflictKind::PortInUse, "x"),
                409,
                "OperationAborted",
            ),
            (
                CoreError::conflict(ConflictKind::InvalidState, "x"),
                409,
                "OperationAborted",
            ),
            (
                CoreError::conflict(ConflictKind::LastKey, "x"),
                409,
                "OperationAborted",
            ),
            (CoreError::TooLarge("x".into()), 400, "EntityTooLarge"),
            (CoreError::BadDigest("x".into()), 400, "BadDigest"),
            (
                CoreError::MetadataTooLarge("x".into()),
                400,
                "MetadataTooLarge",
            ),
            (CoreError::InvalidRequest("x".into()), 400, "InvalidRequest"),
            (
                CoreError::InvalidTag {
                    problem: TagProblem::Invalid,
                    message: "x".into(),
                },
                400,
                "InvalidTag",
            ),
            (
                CoreError::InvalidTag {
                    problem: TagProblem::TooMany,
                    message: "x".into(),
                },
                400,
                "BadRequest",
            ),
            (
                CoreError::PreconditionFailed("x".into()),
                412,
                "PreconditionFailed",
            ),
            (
                CoreError::RangeNotSatisfiable { size_bytes: 3 },
                416,
                "InvalidRange",
            ),
            (
                CoreError::DeleteMarker {
                    key: "k".into(),
                    version_id: "null".into(),
                    by_version: false,
                    last_modified: None,
                },
                404,
                "NoSuchKey",
            ),
            (
                CoreError::DeleteMarker {
                    key: "k".into(),
                    version_id: "null".into(),
                    by_version: true,
                    last_modified: None,
                },
                405,
                "MethodNotAllowed",
            ),
            (
                CoreError::VersionNotFound {
                    key: "k".into(),
                    version_id: "v".into(),
                },
                404,
                "NoSuchVersion",
            ),
            (
                CoreError::InvalidPart {
                    problem: PartProblem::Missing,
                    message: "x".into(),
                },
                400,
                "InvalidPart",
            ),
            (
                CoreError::InvalidPart {
                    problem: PartProblem::Order,
                    message: "x".into(),
                },
                400,
                "InvalidPartOrder",
            ),
            (
                CoreError::InvalidPart {
                    problem: PartProblem::TooSmall,
                    message: "x".into(),
                },
                400,
                "EntityTooSmall",
            ),
            (
                CoreError::unavailable(Dependency::Database, "x"),
                503,
                "ServiceUnavailable",
            ),
            (CoreError::Damaged("x".into()), 500, "InternalError"),
            (CoreError::internal_msg("x"), 500, "InternalError"),
        ];
        for (err, status, code) in cases {
            let desc = format!("{err:?}");
            let (s, c) = s3_code(&err);
            assert_eq!((s.as_u16(), c.as_str()), (status, code), "case {desc}");
            // The status s3s would send for the code agrees with ours
            // wherever s3s knows the code.
            if let Some(default) = c.status_code() {
                assert_eq!(default.as_u16(), status, "s3s status of {code} ({desc})");
            }
        }
    }

    #[test]
    fn internal_details_are_not_sent() {
        let api = ApiError::from(CoreError::internal_msg("secret table name"));
        assert!(!api.message.contains("secret table name"));
        // What is damaged, and how to repair it, is the client's to know.
        let damaged = ApiError::from(CoreError::Damaged("the stored x does not decode".into()));
        assert_eq!(damaged.message, "the stored x does not decode");
    }
}
