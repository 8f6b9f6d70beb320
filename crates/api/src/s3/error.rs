//! `CoreError` → `S3Error`, through the table in [`crate::error::s3_code`].

use miniaws_core::CoreError;
use s3s::{S3Error, S3ErrorCode};

/// The S3 error for a domain error; logged once here when it is our fault.
pub fn s3_error(err: CoreError) -> S3Error {
    let (status, code) = crate::error::s3_code(&err);
    s3_error_as(err, status, code)
}

/// The S3 error for a domain error, with an operation-specific code.
pub fn s3_error_with(err: CoreError, code: S3ErrorCode) -> S3Error {
    let (status, _) = crate::error::s3_code(&err);
    let status = code.status_code().unwrap_or(status);
    s3_error_as(err, status, code)
}

fn s3_error_as(err: CoreError, status: http::StatusCode, code: S3ErrorCode) -> S3Error {
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %err, cause = ?std::error::Error::source(&err), "S3 request failed");
    }
    // What is missing S3 says in its own words (the aws CLI prints them);
    // which bucket, key or upload is in `<Resource>`.
    let message = match (&err, code.as_str()) {
        (CoreError::NotFound { .. }, name @ ("NoSuchKey" | "NoSuchBucket" | "NoSuchUpload")) => {
            super::error_messages::default_message(name)
        }
        _ => crate::error::public_message(&err),
    };
    let mut e = S3Error::with_message(code, message);
    e.set_status_code(status);
    e
}
