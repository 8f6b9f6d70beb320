//! Request bodies: s3s's `StreamingBlob` (already de-chunked and, for
//! `aws-chunked` uploads, chunk-signature-checked by s3s) into the storage
//! engine's [`ByteStream`], verifying the S3 additional checksums on the way.
//!
//! s3s parses `x-amz-checksum-*` headers and the trailers of
//! `STREAMING-UNSIGNED-PAYLOAD-TRAILER` bodies but does not check them, so
//! this is done here: the checksum is computed while the bytes stream to
//! disk, and a mismatch ends the stream with `BadDigest`, which makes the
//! blob store discard the write before any metadata is committed.

use bytes::Bytes;
use futures::Stream;
use miniaws_core::CoreError;
use miniaws_core::multipart::ChecksumAlgorithm;
use miniaws_core::storage::{ByteStream, body_error};
use s3s::checksum::ChecksumHasher;
use s3s::dto::Checksum;
use s3s::{S3Result, TrailingHeaders, s3_error};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// An S3 additional-checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `CRC32`.
    Crc32,
    /// `CRC32C`.
    Crc32c,
    /// `CRC64NVME`.
    Crc64Nvme,
    /// `SHA1`.
    Sha1,
    /// `SHA256`.
    Sha256,
}

/// Every algorithm, in S3's order.
pub const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::Crc32,
    Algorithm::Crc32c,
    Algorithm::Crc64Nvme,
    Algorithm::Sha1,
    Algorithm::Sha256,
];

impl Algorithm {
    /// The header (and trailer) that carries this checksum.
    pub fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The same algorithm in the core's terms (multipart uploads keep it).
    pub fn core(self) -> ChecksumAlgorithm {
        match self {
            Algorithm::Crc32 => ChecksumAlgorithm::Crc32,
            Algorithm::Crc32c => ChecksumAlgorithm::Crc32c,
            Algorithm::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
            Algorithm::Sha1 => ChecksumAlgorithm::Sha1,
            Algorithm::Sha256 => ChecksumAlgorithm::Sha256,
        }
    }

    /// From the core's algorithm.
    pub fn from_core(a: ChecksumAlgorithm) -> Self {
        match a {
            ChecksumAlgorithm::Crc32 => Algorithm::Crc32,
            ChecksumAlgorithm::Crc32c => Algorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme => Algorithm::Crc64Nvme,
            ChecksumAlgorithm::Sha1 => Algorithm::Sha1,
            ChecksumAlgorithm::Sha256 => Algorithm::Sha256,
        }
    }

    /// S3's name of the algorithm (`CRC32`, `CRC64NVME`, `SHA256`…), as its
    /// error messages say it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    /// The length in bytes of this algorithm's digest.
    fn digest_len(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64Nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    /// Whether `value` can be a checksum of this algorithm: the base64 of
    /// a digest of the right length.
    pub fn is_valid_value(self, value: &str) -> bool {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .is_ok_and(|b| b.len() == self.digest_len())
    }

    /// The checksum of `data`, base64, as the header carries it.
    pub fn digest(self, data: &[u8]) -> String {
        let mut h = self.hasher();
        h.update(data);
        self.pick(h.finalize()).unwrap_or_default()
    }

    /// S3's 400 `BadDigest` for a checksum of this algorithm that did not
    /// match the bytes received.
    pub fn mismatch(self) -> CoreError {
        CoreError::BadDigest(format!(
            "The {} you specified did not match the calculated checksum.",
            self.name()
        ))
    }

    /// Parses `CRC32`, `crc32c`, … (as in `x-amz-sdk-checksum-algorithm`).
    pub fn from_name(name: &str) -> Option<Self> {
        ALGORITHMS
            .into_iter()
            .find(|a| a.header()["x-amz-checksum-".len()..].eq_ignore_ascii_case(name.trim()))
    }

    /// The algorithm a request's `x-amz-checksum-algorithm` names, if any.
    ///
    /// # Errors
    /// `InvalidArgument` naming a name that is no algorithm.
    pub fn requested(name: Option<&s3s::dto::ChecksumAlgorithm>) -> s3s::S3Result<Option<Self>> {
        name.map(|name| {
            Self::from_name(name.as_str()).ok_or_else(|| {
                s3s::s3_error!(
                    InvalidArgument,
                    "unsupported checksum algorithm {}",
                    name.as_str()
                )
            })
        })
        .transpose()
    }

    fn hasher(self) -> ChecksumHasher {
        let mut h = ChecksumHasher::default();
        match self {
            Algorithm::Crc32 => h.crc32 = Some(Default::default()),
            Algorithm::Crc32c => h.crc32c = Some(Default::default()),
            Algorithm::Crc64Nvme => h.crc64nvme = Some(Default::default()),
            Algorithm::Sha1 => h.sha1 = Some(Default::default()),
            Algorithm::Sha256 => h.sha256 = Some(Default::default()),
        }
        h
    }

    fn pick(self, c: Checksum) -> Option<String> {
        match self {
            Algorithm::Crc32 => c.checksum_crc32,
            Algorithm::Crc32c => c.checksum_crc32c,
            Algorithm::Crc64Nvme => c.checksum_crc64nvme,
            Algorithm::Sha1 => c.checksum_sha1,
            Algorithm::Sha256 => c.checksum_sha256,
        }
    }
}

/// The checksum a request asks for: the algorithm, and the value when it
/// came in a header (trailer values arrive after the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumRequest {
    /// Which checksum.
    pub algorithm: Algorithm,
    /// The expected value, base64, if sent as a header.
    pub expected: Option<String>,
}

impl ChecksumRequest {
    /// What an upload that declares no checksum gets: S3's default, a
    /// CRC64NVME of the object, computed as the body streams (nothing to
    /// compare it with).
    pub fn s3_default() -> Self {
        Self {
            algorithm: Algorithm::from_core(miniaws_core::multipart::DEFAULT_CHECKSUM),
            expected: None,
        }
    }
}

/// Refuses a PutObject or UploadPart (operation `op`) whose headers frame
/// no body: neither `Content-Length` nor `Transfer-Encoding`.
///
/// By HTTP such a request has an empty body, which was stored as an empty
/// object (or part); S3 answers 411 `MissingContentLength` instead. It is
/// decided by the headers, not by the body's size: `Content-Length: 0`
/// still writes an empty object. A chunked body is s3s's to judge (it
/// wants a `Content-Length` with a header signature, and streams one sent
/// through a presigned URL); `aws-chunked` bodies carry both a
/// `Content-Length` (or `Transfer-Encoding`) and
/// `x-amz-decoded-content-length`, and pass.
///
/// # Errors
/// `MissingContentLength` (411), before a byte of the body is read.
pub fn refuse_unframed(op: &str, headers: &http::HeaderMap) -> S3Result<()> {
    if matches!(op, "PutObject" | "UploadPart")
        && !headers.contains_key(http::header::CONTENT_LENGTH)
        && !headers.contains_key(http::header::TRANSFER_ENCODING)
    {
        return Err(s3_error!(
            MissingContentLength,
            "You must provide the Content-Length HTTP header."
        ));
    }
    Ok(())
}

/// Reads the checksum a request declares: an `x-amz-checksum-*` header, an
/// `x-amz-trailer` naming one, or `x-amz-sdk-checksum-algorithm`.
///
/// # Errors
/// `InvalidRequest` for an unknown algorithm, more than one checksum, a
/// value that is not the base64 of a digest of the algorithm's length
/// (S3's "Value for x-amz-checksum-crc32 header is invalid."), or an
/// `x-amz-sdk-checksum-algorithm` that names another algorithm than the
/// header or trailer that carries the value.
pub fn checksum_request(headers: &http::HeaderMap) -> S3Result<Option<ChecksumRequest>> {
    let declared = declared_checksum(headers)?;
    // S3 refuses an SDK algorithm that disagrees with the value's header
    // (versitygw's tests against S3, issue #1598: "Value for
    // x-amz-sdk-checksum-algorithm header is invalid."); SDKs never send
    // one, so a disagreement is a client bug that must not pick a checksum.
    if let Some(found) = &declared
        && (found.expected.is_some() || headers.contains_key("x-amz-trailer"))
        && let Some(sdk) = headers.get("x-amz-sdk-checksum-algorithm")
    {
        let sdk = sdk.to_str().unwrap_or_default().trim();
        if Algorithm::from_name(&sdk.to_ascii_lowercase()) != Some(found.algorithm) {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-sdk-checksum-algorithm header is invalid."
            ));
        }
    }
    Ok(declared)
}

/// [`checksum_request`] before the SDK algorithm is compared with it.
fn declared_checksum(headers: &http::HeaderMap) -> S3Result<Option<ChecksumRequest>> {
    let mut found = None;
    for algorithm in ALGORITHMS {
        if let Some(v) = headers.get(algorithm.header()) {
            if found.is_some() {
                return Err(s3_error!(
                    InvalidRequest,
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
                ));
            }
            let value = v
                .to_str()
                .ok()
                .filter(|v| algorithm.is_valid_value(v))
                .ok_or_else(|| {
                    s3_error!(
                        InvalidRequest,
                        "Value for {} header is invalid.",
                        algorithm.header()
                    )
                })?;
            found = Some(ChecksumRequest {
                algorithm,
                expected: Some(value.trim().to_owned()),
            });
        }
    }
    if found.is_some() {
        return Ok(found);
    }
    let named = |name: &str| -> S3Result<Option<Algorithm>> {
        let Some(v) = headers.get(name) else {
            return Ok(None);
        };
        let v = v.to_str().unwrap_or_default().trim().to_ascii_lowercase();
        let v = v.strip_prefix("x-amz-checksum-").unwrap_or(&v);
        Algorithm::from_name(v).map(Some).ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "unsupported checksum algorithm in {name}: {v}"
            )
        })
    };
    let algorithm = match named("x-amz-trailer")? {
        Some(a) => Some(a),
        None => named("x-amz-sdk-checksum-algorithm")?,
    };
    Ok(algorithm.map(|algorithm| ChecksumRequest {
        algorithm,
        expected: None,
    }))
}

/// What streaming a body learned, read by the operation afterwards.
#[derive(Debug, Default)]
pub struct BodyOutcome {
    /// The checksum computed, filled in when the body ended well.
    checksum: Mutex<Option<(Algorithm, String)>>,
    /// An `aws-chunked` chunk signature did not verify.
    signature_mismatch: AtomicBool,
    /// The body's SHA-256 is not the signed `x-amz-content-sha256`.
    content_sha256_mismatch: AtomicBool,
}

impl BodyOutcome {
    /// The computed checksum, if one was asked for and the body ended well.
    pub fn checksum(&self) -> Option<(Algorithm, String)> {
        self.checksum.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The S3 error for a failed write: a chunk signature that did not
    /// verify is `SignatureDoesNotMatch`, a body whose SHA-256 is not the
    /// signed `x-amz-content-sha256` is `XAmzContentSHA256Mismatch` (s3s
    /// reports both as body errors, which would otherwise surface as an
    /// interrupted upload).
    pub fn error(&self, err: CoreError) -> s3s::S3Error {
        if self.signature_mismatch.load(Ordering::Relaxed) {
            s3_error!(
                SignatureDoesNotMatch,
                "The chunk signature of the aws-chunked body does not match; nothing was stored."
            )
        } else if self.content_sha256_mismatch.load(Ordering::Relaxed) {
            let mut e = s3s::S3Error::with_message(
                s3s::S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
                "The provided 'x-amz-content-sha256' header does not match what was computed; nothing was stored.",
            );
            e.set_status_code(http::StatusCode::BAD_REQUEST);
            e
        } else {
            super::object_error(err)
        }
    }
}

/// Shared between the body stream and the operation.
pub type ComputedChecksum = Arc<BodyOutcome>;

/// The request body as a [`ByteStream`], checking `check` at its end.
pub(crate) fn checked_body<S, E>(
    blob: Option<S>,
    check: Option<ChecksumRequest>,
    trailers: Option<TrailingHeaders>,
) -> (ByteStream, ComputedChecksum)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
    E: BodyError,
{
    checked(blob, check, trailers)
}

/// A body that is already a [`ByteStream`] (a form upload's file),
/// checking `check` at its end; its own errors pass through unchanged.
pub fn checked_stream(
    stream: ByteStream,
    check: Option<ChecksumRequest>,
) -> (ByteStream, ComputedChecksum) {
    checked(Some(stream), check, None)
}

fn checked<S, E>(
    inner: Option<S>,
    check: Option<ChecksumRequest>,
    trailers: Option<TrailingHeaders>,
) -> (ByteStream, ComputedChecksum)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
    E: BodyError,
{
    let computed = ComputedChecksum::default();
    let stream = CheckedBody {
        inner,
        hasher: check.as_ref().map(|c| c.algorithm.hasher()),
        check,
        trailers,
        computed: computed.clone(),
        done: false,
    };
    (Box::pin(stream), computed)
}

/// How an error of the wrapped body becomes the stream's.
pub(crate) trait BodyError {
    fn into_io(self, outcome: &BodyOutcome) -> std::io::Error;
}

impl BodyError for s3s::StdError {
    fn into_io(self, outcome: &BodyOutcome) -> std::io::Error {
        // s3s's body error types (aws-chunked decoder, signed-payload
        // check) are private; their messages name the failure.
        let message = self.to_string();
        if message.contains("SignatureMismatch") {
            outcome.signature_mismatch.store(true, Ordering::Relaxed);
        } else if message.contains("Sha256Mismatch") {
            outcome
                .content_sha256_mismatch
                .store(true, Ordering::Relaxed);
        }
        std::io::Error::other(message)
    }
}

impl BodyError for std::io::Error {
    fn into_io(self, _: &BodyOutcome) -> std::io::Error {
        self
    }
}

struct CheckedBody<S> {
    inner: Option<S>,
    hasher: Option<ChecksumHasher>,
    check: Option<ChecksumRequest>,
    trailers: Option<TrailingHeaders>,
    computed: ComputedChecksum,
    done: bool,
}

impl<S> CheckedBody<S> {
    /// At the end of the body: compare, and record what was computed.
    fn finish(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        let (Some(check), Some(hasher)) = (self.check.take(), self.hasher.take()) else {
            return None;
        };
        let actual = check.algorithm.pick(hasher.finalize())?;
        let expected = check.expected.or_else(|| {
            self.trailers.as_ref().and_then(|t| {
                t.read(|h| {
                    h.get(check.algorithm.header())
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.trim().to_owned())
                })
                .flatten()
            })
        });
        if let Some(expected) = expected
            && expected != actual
        {
            return Some(Err(body_error(check.algorithm.mismatch())));
        }
        if let Ok(mut slot) = self.computed.checksum.lock() {
            *slot = Some((check.algorithm, actual));
        }
        None
    }
}

impl<S, E> Stream for CheckedBody<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: BodyError,
{
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let Some(inner) = self.inner.as_mut() else {
            self.done = true;
            return Poll::Ready(self.finish());
        };
        match Pin::new(inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(h) = self.hasher.as_mut() {
                    h.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(e.into_io(&self.computed))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(self.finish())
            }
        }
    }
}

/// A [`ByteStream`] that is also `Sync`, as s3s's `StreamingBlob` wants.
///
/// Only `poll_next` (through `&mut self`) touches the stream, so the mutex
/// is never locked: `Mutex::get_mut` is a plain field access.
pub struct SyncStream(Mutex<ByteStream>);

impl SyncStream {
    /// Wraps `stream`.
    pub fn new(stream: ByteStream) -> Self {
        Self(Mutex::new(stream))
    }
}

impl Stream for SyncStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let inner = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.as_mut().poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use s3s::dto::StreamingBlob;

    fn blob(parts: &[&'static [u8]]) -> StreamingBlob {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        StreamingBlob::wrap(futures::stream::iter(chunks))
    }

    async fn drain(mut s: ByteStream) -> Result<Vec<u8>, std::io::Error> {
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn checksums_are_computed_and_verified() {
        // CRC32 of "hello world" is 0x0d4a1185.
        let good = ChecksumRequest {
            algorithm: Algorithm::Crc32,
            expected: Some("DUoRhQ==".into()),
        };
        let (s, computed) = checked_body(Some(blob(&[b"hello ", b"world"])), Some(good), None);
        assert_eq!(
            drain(s).await.expect("a matching checksum passes"),
            b"hello world"
        );
        assert_eq!(
            computed.checksum(),
            Some((Algorithm::Crc32, "DUoRhQ==".to_owned()))
        );

        let bad = ChecksumRequest {
            algorithm: Algorithm::Sha256,
            expected: Some("AAAA".into()),
        };
        let (s, computed) = checked_body(Some(blob(&[b"hello world"])), Some(bad), None);
        let err = drain(s).await.expect_err("a wrong checksum fails the body");
        assert!(
            err.to_string()
                .contains("The SHA256 you specified did not match the calculated checksum."),
            "{err}"
        );
        assert!(computed.checksum().is_none());

        let (s, computed) = checked_body(Some(blob(&[b"x"])), None, None);
        assert_eq!(drain(s).await.expect("no checksum asked"), b"x");
        assert!(computed.checksum().is_none());
    }

    #[test]
    fn checksum_requests_are_read_from_headers() {
        let mut h = http::HeaderMap::new();
        assert_eq!(checksum_request(&h).expect("no header is fine"), None);
        h.insert(
            "x-amz-trailer",
            "x-amz-checksum-crc32c".parse().expect("valid"),
        );
        assert_eq!(
            checksum_request(&h).expect("trailer"),
            Some(ChecksumRequest {
                algorithm: Algorithm::Crc32c,
                expected: None
            })
        );
        // SHA-1 of "abc".
        let sha1 = "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=";
        h.insert("x-amz-checksum-sha1", sha1.parse().expect("valid"));
        assert_eq!(
            checksum_request(&h).expect("header wins"),
            Some(ChecksumRequest {
                algorithm: Algorithm::Sha1,
                expected: Some(sha1.into())
            })
        );
        assert_eq!(Algorithm::Sha1.digest(b"abc"), sha1);
        h.insert("x-amz-checksum-crc32", "DUoRhQ==".parse().expect("valid"));
        assert!(checksum_request(&h).is_err(), "two checksums are refused");
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-amz-sdk-checksum-algorithm",
            "MD4".parse().expect("valid"),
        );
        assert!(checksum_request(&h).is_err(), "unknown algorithm");
        for (header, value) in [
            ("x-amz-checksum-crc32", "abc="),
            ("x-amz-checksum-crc32", "not base64!"),
            ("x-amz-checksum-sha256", "DUoRhQ=="),
            ("x-amz-checksum-crc64nvme", "DUoRhQ=="),
        ] {
            let mut h = http::HeaderMap::new();
            h.insert(header, value.parse().expect("valid"));
            let err = checksum_request(&h).expect_err(value);
            assert_eq!(*err.code(), s3s::S3ErrorCode::InvalidRequest, "{value}");
            assert_eq!(
                err.message(),
                Some(format!("Value for {header} header is invalid.").as_str())
            );
        }
    }

    #[test]
    fn the_sdk_algorithm_must_name_the_checksum_sent() {
        let request = |pairs: &[(&'static str, &str)]| {
            let mut h = http::HeaderMap::new();
            for (name, value) in pairs {
                h.insert(*name, value.parse().expect("valid"));
            }
            checksum_request(&h)
        };
        let crc32 = ("x-amz-checksum-crc32", "DUoRhQ==");
        let crc32c = ("x-amz-checksum-crc32c", "ImIEBA==");
        // Agreeing (any case), or no SDK header: fine.
        for pairs in [
            vec![crc32, ("x-amz-sdk-checksum-algorithm", "CRC32")],
            vec![crc32, ("x-amz-sdk-checksum-algorithm", "crc32")],
            vec![crc32],
            vec![
                ("x-amz-trailer", "x-amz-checksum-crc32c"),
                ("x-amz-sdk-checksum-algorithm", "CRC32C"),
            ],
        ] {
            let got = request(&pairs).expect("agreeing headers");
            assert!(got.is_some(), "{pairs:?}");
        }
        // The SDK algorithm alone still asks for that checksum.
        assert_eq!(
            request(&[("x-amz-sdk-checksum-algorithm", "SHA256")])
                .expect("algorithm alone")
                .map(|c| c.algorithm),
            Some(Algorithm::Sha256)
        );
        // Disagreeing: S3's answer.
        for pairs in [
            vec![crc32c, ("x-amz-sdk-checksum-algorithm", "CRC32")],
            vec![
                ("x-amz-trailer", "x-amz-checksum-crc32"),
                ("x-amz-sdk-checksum-algorithm", "SHA1"),
            ],
            vec![crc32, ("x-amz-sdk-checksum-algorithm", "MD5")],
        ] {
            let err = request(&pairs).expect_err("disagreeing headers");
            assert_eq!(*err.code(), s3s::S3ErrorCode::InvalidRequest, "{pairs:?}");
            assert_eq!(
                err.message(),
                Some("Value for x-amz-sdk-checksum-algorithm header is invalid.")
            );
        }
    }

    #[test]
    fn a_write_needs_a_framed_body() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = http::HeaderMap::new();
            for (n, v) in pairs {
                h.insert(*n, http::HeaderValue::from_static(v));
            }
            h
        };
        let refused = |op: &str, pairs: &[(&'static str, &'static str)]| {
            refuse_unframed(op, &headers(pairs))
                .err()
                .map(|e| e.code().clone())
        };
        for op in ["PutObject", "UploadPart"] {
            assert_eq!(
                refused(op, &[]),
                Some(s3s::S3ErrorCode::MissingContentLength),
                "{op}"
            );
            // A length of 0 is an empty body, declared.
            assert_eq!(refused(op, &[("content-length", "0")]), None, "{op}");
            assert_eq!(
                refused(op, &[("transfer-encoding", "chunked")]),
                None,
                "{op}"
            );
            // (x-amz-decoded-content-length alone frames nothing.)
            assert_eq!(
                refused(op, &[("x-amz-decoded-content-length", "3")]),
                Some(s3s::S3ErrorCode::MissingContentLength),
                "{op}"
            );
        }
        // Operations without an object body are not concerned.
        assert_eq!(refused("CopyObject", &[]), None);
        assert_eq!(refused("GetObject", &[]), None);
    }
}
