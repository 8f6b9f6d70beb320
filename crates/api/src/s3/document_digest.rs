//! `Content-MD5` and `x-amz-checksum-*` of request bodies that are XML
//! documents rather than object data: DeleteObjects, PutObjectTagging,
//! every Put*Bucket* configuration, the ACLs, CreateBucket's
//! configuration, CompleteMultipartUpload (its `Content-MD5` only: there
//! `x-amz-checksum-*` names the completed object's checksum)… — every
//! operation [`has_xml_body`] names, so a configuration added later is
//! covered without work. S3 verifies them (and requires one on
//! DeleteObjects); a document that does not match is 400 `BadDigest` and
//! nothing is applied.
//!
//! Hand-written because s3s 0.14 checks neither: it verifies only
//! `x-amz-content-sha256` (the signed payload hash), then reads the
//! document whole and hands the operation the parsed input, never the
//! bytes. So the check sits between the two, in the access check
//! ([`super::auth::CallerAccess`], after the signature, before s3s reads
//! the body): [`hold`] puts the body of a request that carries a digest
//! behind a [`BodySlot`] on its way into s3s, and [`verify`] takes it out,
//! reads it (at most the XML limit, 20 MiB), checks it and puts the bytes
//! back for s3s to parse. Object bodies (PutObject, UploadPart) pass
//! through the slot untouched, streaming; their checksums are verified
//! while they are written (see [`super::body`]), with the same
//! algorithms.
//!
//! An `aws-chunked` document is refused (501 `NotImplemented`, saying to
//! send it plain, as every SDK and the CLI do): s3s 0.14 decodes such a
//! body inside its signature check, below this slot, and then fails the
//! document with `IncompleteBody` anyway (it compares the decoded bytes
//! with the zeroed `Content-Length`).

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use s3s::crypto::{Checksum as _, Md5};
use s3s::{S3Result, s3_error};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use super::body::{ALGORITHMS, checksum_request};

const CONTENT_MD5: &str = "content-md5";
use super::convert::content_md5;
use super::xml_limit::{XML_MAX_BODY_BYTES, has_xml_body, too_large};

/// Whether a request carries a digest of its body (`Content-MD5` or an
/// `x-amz-checksum-*` value).
pub fn carries_digest(headers: &HeaderMap) -> bool {
    headers.contains_key(CONTENT_MD5) || ALGORITHMS.iter().any(|a| headers.contains_key(a.header()))
}

/// What the slot holds.
enum Held {
    /// The body as it arrives (never read by [`verify`]: object data).
    Streaming(axum::body::Body),
    /// The document, verified, until s3s reads it.
    Verified(Option<Bytes>),
    /// Taken out by [`verify`] and not (yet) put back.
    Out,
}

/// The handle to a request body held behind [`SlotBody`], in the
/// request's extensions for [`verify`].
#[derive(Clone)]
pub struct BodySlot(Arc<Mutex<Held>>);

impl BodySlot {
    fn with<R>(&self, f: impl FnOnce(&mut Held) -> R) -> R {
        // Locked only inside `poll_frame` and `verify`'s two swaps, never
        // across an await.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The body s3s reads: what the slot holds.
pub struct SlotBody(BodySlot);

impl Body for SlotBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.with(|held| match held {
            Held::Streaming(body) => Pin::new(body).poll_frame(cx),
            Held::Verified(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Held::Out => Poll::Ready(Some(Err(axum::Error::new(
                "the request body was taken for its digest and not put back",
            )))),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.0.with(|held| match held {
            Held::Streaming(body) => body.is_end_stream(),
            Held::Verified(bytes) => bytes.is_none(),
            Held::Out => false,
        })
    }

    fn size_hint(&self) -> SizeHint {
        self.0.with(|held| match held {
            Held::Streaming(body) => body.size_hint(),
            Held::Verified(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Held::Out => SizeHint::default(),
        })
    }
}

/// A request on its way into s3s: when it carries a digest, its body goes
/// behind a slot that [`verify`] can read (a pass-through otherwise).
pub fn hold(req: axum::extract::Request) -> axum::extract::Request {
    if !carries_digest(req.headers()) {
        return req;
    }
    let (mut parts, body) = req.into_parts();
    let slot = BodySlot(Arc::new(Mutex::new(Held::Streaming(body))));
    parts.extensions.insert(slot.clone());
    axum::extract::Request::from_parts(parts, axum::body::Body::new(SlotBody(slot)))
}

/// Checks the digests of operation `op`'s document, if it has one: after
/// the signature, before s3s parses the document and the operation applies
/// it.
///
/// # Errors
/// `BadDigest` for a digest that does not match, `InvalidDigest` for a
/// `Content-MD5` that is not one, `InvalidRequest` for a malformed
/// checksum or a DeleteObjects without either, `NotImplemented` for an
/// `aws-chunked` document, `MaxMessageLengthExceeded`, `IncompleteBody`.
pub async fn verify(op: &str, headers: &HeaderMap, slot: Option<&BodySlot>) -> S3Result<()> {
    if !has_xml_body(op) {
        return Ok(());
    }
    let streaming = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    if streaming {
        return Err(s3_error!(
            NotImplemented,
            "aws-chunked request bodies are not implemented for {op}: send the XML document as a plain body, with its Content-MD5 or x-amz-checksum-* in a header (as the AWS SDKs and CLI do)"
        ));
    }
    let md5 = match headers.get(CONTENT_MD5) {
        None => None,
        Some(v) => content_md5(Some(v.to_str().unwrap_or("\u{fffd}")))?,
    };
    // CompleteMultipartUpload's x-amz-checksum-* is the object's checksum,
    // checked when the parts are assembled.
    let checksum = if op == "CompleteMultipartUpload" {
        None
    } else {
        checksum_request(headers)?.and_then(|c| c.expected.map(|e| (c.algorithm, e)))
    };
    if md5.is_none() && checksum.is_none() {
        if op == "DeleteObjects" {
            // S3's answer (the SDKs always send one of them).
            return Err(s3_error!(
                InvalidRequest,
                "Missing required header for this request: Content-MD5"
            ));
        }
        return Ok(());
    }
    let Some(slot) = slot else {
        // `hold` puts every request with a digest behind a slot.
        tracing::error!(
            op,
            "a document with a digest reached the check without its body slot"
        );
        return Err(s3_error!(
            InternalError,
            "the request body could not be checked"
        ));
    };
    let body = slot.with(|held| match std::mem::replace(held, Held::Out) {
        Held::Streaming(body) => Some(body),
        other => {
            *held = other;
            None
        }
    });
    let Some(body) = body else {
        return Err(s3_error!(
            InternalError,
            "the request body could not be checked"
        ));
    };
    let document = read_limited(body).await?;
    if let Some(expected) = md5
        && Md5::checksum(&document) != expected
    {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    if let Some((algorithm, expected)) = checksum
        && algorithm.digest(&document) != expected
    {
        return Err(super::s3_error(algorithm.mismatch()));
    }
    if has_forbidden_character(&document) {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: it holds a control character other than tab, line feed and carriage return, which XML 1.0 does not allow"
        ));
    }
    slot.with(|held| *held = Held::Verified(Some(document)));
    Ok(())
}

/// Whether `document` holds a character XML 1.0 does not allow: a control
/// character other than tab, line feed and carriage return, raw or as a
/// character reference (`&#1;`, `&#x1F;`). S3 refuses such a document;
/// s3s's parser takes it, and a configuration stored with one (a CORS or
/// lifecycle rule `ID` of `"a\u{1}b"`) was answered back in XML no client
/// could read.
fn has_forbidden_character(document: &[u8]) -> bool {
    let forbidden = |c: u32| c < 0x20 && !matches!(c, 0x9 | 0xA | 0xD);
    if document.iter().any(|&b| forbidden(u32::from(b))) {
        return true;
    }
    let mut rest = document;
    while let Some(at) = rest.windows(2).position(|w| w == b"&#") {
        rest = &rest[at + 2..];
        let (radix, digits) = match rest.first() {
            Some(b'x') => (16, &rest[1..]),
            _ => (10, rest),
        };
        let end = digits
            .iter()
            .position(|&b| b == b';')
            .unwrap_or(digits.len());
        let value = std::str::from_utf8(&digits[..end])
            .ok()
            .and_then(|n| u32::from_str_radix(n, radix).ok());
        if value.is_some_and(forbidden) {
            return true;
        }
    }
    false
}

/// The whole document, at most the XML limit.
async fn read_limited(body: axum::body::Body) -> S3Result<Bytes> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut document = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            s3_error!(
                IncompleteBody,
                "The request body ended before it was complete: {e}"
            )
        })?;
        if document.len() + chunk.len() > XML_MAX_BODY_BYTES {
            return Err(too_large());
        }
        document.extend_from_slice(&chunk);
    }
    Ok(document.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::S3ErrorCode;

    #[test]
    fn control_characters_xml_forbids_are_found_raw_or_as_references() {
        for (doc, forbidden) in [
            (&b"<ID>a\tb\nc\rd</ID>"[..], false),
            (b"<ID>&#9;&#10;&#13;&#x41;&amp;&#x1F600;</ID>", false),
            (b"<ID>a\x01b</ID>", true),
            (b"<ID>a\x00b</ID>", true),
            (b"<ID>&#1;</ID>", true),
            (b"<ID>&#x1F;</ID>", true),
            (b"<ID>&#0;</ID>", true),
            (b"<ID>&#", false),
            (b"<ID>&#x;</ID>", false),
        ] {
            assert_eq!(
                has_forbidden_character(doc),
                forbidden,
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    const DOC: &[u8] = b"<Delete><Object><Key>a</Key></Object></Delete>";

    fn request(headers: &[(&str, String)]) -> axum::extract::Request {
        let mut b = http::Request::builder();
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        b.body(axum::body::Body::from(DOC))
            .expect("a valid request")
    }

    async fn check(op: &str, headers: &[(&str, String)]) -> Result<Vec<u8>, S3ErrorCode> {
        let req = hold(request(headers));
        let (parts, body) = req.into_parts();
        verify(op, &parts.headers, parts.extensions.get::<BodySlot>())
            .await
            .map_err(|e| e.code().clone())?;
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the body is readable after the check");
        Ok(bytes.to_vec())
    }

    #[tokio::test]
    async fn documents_are_checked_and_passed_on() {
        use super::super::body::Algorithm;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let md5 = b64.encode(Md5::checksum(DOC));
        let crc = Algorithm::Crc32.digest(DOC);
        let wrong_crc = Algorithm::Crc32.digest(b"something else");
        let zero_md5 = b64.encode([0u8; 16]);
        use S3ErrorCode as C;
        type Case<'a> = (&'a str, &'a str, Vec<(&'a str, String)>, Option<C>);
        let cases: Vec<Case> = vec![
            (
                "right MD5",
                "DeleteObjects",
                vec![("content-md5", md5.clone())],
                None,
            ),
            (
                "right CRC32",
                "PutBucketCors",
                vec![("x-amz-checksum-crc32", crc.clone())],
                None,
            ),
            (
                "both right",
                "PutObjectTagging",
                vec![
                    ("content-md5", md5.clone()),
                    ("x-amz-checksum-crc32", crc.clone()),
                ],
                None,
            ),
            (
                "wrong MD5",
                "DeleteObjects",
                vec![("content-md5", zero_md5.clone())],
                Some(C::BadDigest),
            ),
            (
                "wrong CRC32",
                "DeleteObjects",
                vec![("x-amz-checksum-crc32", wrong_crc.clone())],
                Some(C::BadDigest),
            ),
            (
                "right MD5, wrong CRC32",
                "PutBucketTagging",
                vec![
                    ("content-md5", md5.clone()),
                    ("x-amz-checksum-crc32", wrong_crc.clone()),
                ],
                Some(C::BadDigest),
            ),
            (
                "MD5 not base64",
                "PutBucketPolicy",
                vec![("content-md5", "nope!".into())],
                Some(C::InvalidDigest),
            ),
            (
                "malformed CRC32",
                "PutBucketAcl",
                vec![("x-amz-checksum-crc32", "AAAA".into())],
                Some(C::InvalidRequest),
            ),
            (
                "DeleteObjects without digest",
                "DeleteObjects",
                vec![],
                Some(C::InvalidRequest),
            ),
            (
                "configuration without digest",
                "PutBucketVersioning",
                vec![],
                None,
            ),
            (
                "the object checksum of CompleteMultipartUpload",
                "CompleteMultipartUpload",
                vec![("x-amz-checksum-crc32", wrong_crc.clone())],
                None,
            ),
            (
                "CompleteMultipartUpload's Content-MD5",
                "CompleteMultipartUpload",
                vec![("content-md5", zero_md5.clone())],
                Some(C::BadDigest),
            ),
            (
                "object data is not read here",
                "PutObject",
                vec![("content-md5", zero_md5.clone())],
                None,
            ),
            (
                "aws-chunked document",
                "DeleteObjects",
                vec![
                    (
                        "x-amz-content-sha256",
                        "STREAMING-UNSIGNED-PAYLOAD-TRAILER".into(),
                    ),
                    ("x-amz-trailer", "x-amz-checksum-crc32".into()),
                ],
                Some(C::NotImplemented),
            ),
        ];
        for (what, op, headers, want) in cases {
            match (check(op, &headers).await, want) {
                (Ok(body), None) => assert_eq!(body, DOC, "{what}: the body is passed on whole"),
                (Err(got), Some(want)) => assert_eq!(got, want, "{what}"),
                (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_oversized_document_is_refused() {
        let big = vec![b'x'; XML_MAX_BODY_BYTES + 1];
        let req = http::Request::builder()
            .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
            .body(axum::body::Body::from(big))
            .expect("a valid request");
        let req = hold(req);
        let err = verify(
            "PutBucketCors",
            req.headers(),
            req.extensions().get::<BodySlot>(),
        )
        .await
        .expect_err("over the limit");
        assert_eq!(*err.code(), S3ErrorCode::MaxMessageLengthExceeded);
    }
}
