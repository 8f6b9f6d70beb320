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
            CoreError::NotFound { .. },
            name @ ("NoSuchKey" | "NoSuchBucket" | "NoSuchUpload" | "NoSuchVersion"),
        ) => super::error_messages::default_message(name),
        _ => crate::error::public_message(&err),
    };
    // S3 names what is missing in an element of its own after the message
    // (`<Key>`, `<BucketName>`, `<UploadId>`): the name looked up, which
    // for a copy is its source's, as S3 answers.
    let detail = not_found_detail(&err, code.as_str());
    let mut e = S3Error::with_message(code, message);
    e.set_status_code(status);
    if logged {
        e = super::wire::mark_logged(e);
    }
    match detail {
        Some(detail) => super::wire::with_details(e, &[detail]),
        None => e,
    }
}

/// The element S3 adds to `NoSuchKey`, `NoSuchBucket`, `NoSuchUpload` and
/// `NoSuchVersion` (which S3 also gives a `<Key>`: not known here).
fn not_found_detail<'a>(err: &'a CoreError, code: &str) -> Option<(&'static str, &'a str)> {
    match err {
        CoreError::DeleteMarker {
            key,
            by_version: false,
            ..
        } if code == "NoSuchKey" => Some(("Key", key)),
        CoreError::NotFound { resource, name } => {
            let element = match (resource, code) {
                (Resource::Object, "NoSuchKey") => "Key",
                (Resource::Bucket, "NoSuchBucket") => "BucketName",
                (Resource::Upload, "NoSuchUpload") => "UploadId",
                (Resource::Version, "NoSuchVersion") => "VersionId",
                _ => return None,
            };
            Some((element, name))
        }
        _ => None,
    }
}
