//! Request bodies that are XML documents (DeleteObjects,
//! CompleteMultipartUpload, CreateBucket's configuration, the Put*
//! configurations…) are read whole by s3s, up to `xml_max_body_size`. A
//! larger one is S3's 400 `MaxMessageLengthExceeded`.
//!
//! Works around an s3s 0.14 bug: its limit error (`http_body_util`'s
//! `LengthLimitError`) is not the type s3s checks for
//! (`BodySizeLimitExceeded`), so an oversized XML body is answered 500
//! `InternalError`. Fixed in s3s 0.15, which needs rustc 1.96 (the
//! workspace is on 1.95). Two parts:
//! - a body that declares its length (`Content-Length`, or
//!   `x-amz-decoded-content-length` for `aws-chunked`) above the limit is
//!   refused by the access check ([`refuse_declared`]), after the
//!   signature and before a byte of the body is read;
//! - a body without a declared length (`Transfer-Encoding: chunked`) is
//!   counted on its way into s3s ([`CountedBody`]); when s3s then answers
//!   500 for an XML operation after more than the limit went in, the answer
//!   becomes `MaxMessageLengthExceeded` ([`is_overrun`]). s3s stops reading
//!   at the limit, so at most the limit (and one chunk) is buffered.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use http::HeaderMap;
use s3s::{S3Error, S3Result, s3_error};

/// The largest XML request body (S3's own limit is of this order; s3s's
/// default).
pub const XML_MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

/// Whether s3s reads operation `name`'s body whole as an XML document (the
/// operations its router marks as needing the full body: every Put* but
/// PutObject, and these).
pub fn has_xml_body(name: &str) -> bool {
    matches!(
        name,
        "DeleteObjects"
            | "CompleteMultipartUpload"
            | "CreateBucket"
            | "CreateBucketMetadataTableConfiguration"
            | "SelectObjectContent"
            | "RestoreObject"
    ) || (name.starts_with("Put") && name != "PutObject")
}

/// S3's answer to an XML body over the limit.
pub fn too_large() -> S3Error {
    s3_error!(
        MaxMessageLengthExceeded,
        "Your request was too big: an XML request body may have at most {XML_MAX_BODY_BYTES} bytes."
    )
}

/// The body length a request declares: the decoded length of an
/// `aws-chunked` body, else `Content-Length`.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    number("x-amz-decoded-content-length").or_else(|| number(http::header::CONTENT_LENGTH.as_str()))
}

/// Refuses an XML operation whose declared body is over the limit.
///
/// # Errors
/// `MaxMessageLengthExceeded`.
pub fn refuse_declared(op: &str, headers: &HeaderMap) -> S3Result<()> {
    if has_xml_body(op)
        && declared_length(headers).is_some_and(|len| len > XML_MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    Ok(())
}

/// Whether a 500 from s3s for an XML operation whose body ran to `counted`
/// bytes is really an overrun of the limit.
pub fn is_overrun(status: http::StatusCode, xml_op: bool, counted: u64) -> bool {
    status == http::StatusCode::INTERNAL_SERVER_ERROR
        && xml_op
        && counted > XML_MAX_BODY_BYTES as u64
}

/// A request body without a declared length, counted on its way to s3s.
pub struct CountedBody {
    inner: axum::body::BodyDataStream,
    counted: Arc<AtomicU64>,
}

impl CountedBody {
    /// Counts `body` into `counted`.
    pub fn new(body: axum::body::Body, counted: Arc<AtomicU64>) -> Self {
        Self {
            inner: body.into_data_stream(),
            counted,
        }
    }
}

impl Stream for CountedBody {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.counted
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_operations_and_declared_lengths() {
        for op in [
            "DeleteObjects",
            "CompleteMultipartUpload",
            "CreateBucket",
            "PutBucketTagging",
            "PutObjectAcl",
        ] {
            assert!(has_xml_body(op), "{op}");
        }
        for op in [
            "PutObject",
            "UploadPart",
            "GetObject",
            "CreateMultipartUpload",
        ] {
            assert!(!has_xml_body(op), "{op}");
        }
        let mut h = HeaderMap::new();
        assert!(
            refuse_declared("DeleteObjects", &h).is_ok(),
            "no declared length"
        );
        h.insert("content-length", "20971521".parse().expect("valid"));
        let err = refuse_declared("DeleteObjects", &h).expect_err("over the limit");
        assert_eq!(*err.code(), s3s::S3ErrorCode::MaxMessageLengthExceeded);
        assert!(refuse_declared("PutObject", &h).is_ok(), "not XML");
        h.insert(
            "x-amz-decoded-content-length",
            "100".parse().expect("valid"),
        );
        assert!(
            refuse_declared("DeleteObjects", &h).is_ok(),
            "the decoded length counts"
        );
        h.insert("content-length", "20971520".parse().expect("valid"));
        h.remove("x-amz-decoded-content-length");
        assert!(
            refuse_declared("DeleteObjects", &h).is_ok(),
            "the limit itself is allowed"
        );

        let limit = XML_MAX_BODY_BYTES as u64;
        assert!(is_overrun(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            true,
            limit + 1
        ));
        assert!(!is_overrun(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            true,
            limit
        ));
        assert!(!is_overrun(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            false,
            limit + 1
        ));
        assert!(!is_overrun(http::StatusCode::BAD_REQUEST, true, limit + 1));
    }
}
