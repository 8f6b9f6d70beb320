//! `CoreError` → `S3Error`, through the table in [`crate::error::s3_code`].

use miniaws_core::CoreError;
use miniaws_core::error::Resource;
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
    // 501 is a refusal, logged as one at the edge (`wire::finish`).
    let logged = status.is_server_error() && status != http::StatusCode::NOT_IMPLEMENTED;
    if logged {
        tracing::error!(
            status = status.as_u16(),
            code = code.as_str(),
            error = %err,
            cause = ?std::error::Error::source(&err),
            "S3 request failed"
        );
    }
    // What is missing S3 says in its own words (the aws CLI prints them);
    // which bucket, key or upload is in `<Resource>`.
    let message = match (&err, code.as_str()) {
        (
            CoreError::NotFound { .. } | CoreError::VersionNotFound { .. },
            name @ ("NoSuchKey" | "NoSuchBucket" | "NoSuchUpload" | "NoSuchVersion"),
        ) => super::error_messages::default_message(name),
        _ => crate::error::public_message(&err),
    };
    // S3 names what is missing in elements of their own after the message
    // (`<Key>`, `<BucketName>`, `<UploadId>`, `<Key>` and `<VersionId>`):
    // the names looked up, which for a copy are its source's, as S3
    // answers.
    let details = not_found_details(&err, code.as_str());
    let mut e = S3Error::with_message(code, message);
    e.set_status_code(status);
    if logged {
        e = super::wire::mark_logged(e);
    }
    if details.is_empty() {
        e
    } else {
        super::wire::with_details(e, &details)
    }
}

/// The elements S3 adds to `NoSuchKey`, `NoSuchBucket`, `NoSuchUpload` and
/// `NoSuchVersion`, in S3's order.
fn not_found_details<'a>(err: &'a CoreError, code: &str) -> Vec<(&'static str, &'a str)> {
    match err {
        CoreError::DeleteMarker {
            key,
            by_version: false,
            ..
        } if code == "NoSuchKey" => vec![("Key", key)],
        CoreError::VersionNotFound { key, version_id } if code == "NoSuchVersion" => {
            vec![("Key", key), ("VersionId", version_id)]
        }
        CoreError::NotFound { resource, name } => {
            let element = match (resource, code) {
                (Resource::Object, "NoSuchKey") => "Key",
                (Resource::Bucket, "NoSuchBucket") => "BucketName",
                (Resource::Upload, "NoSuchUpload") => "UploadId",
                _ => return Vec::new(),
            };
            vec![(element, name)]
        }
        _ => Vec::new(),
    }
}
