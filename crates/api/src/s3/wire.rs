//! The S3 listener's edge around the s3s service (and the operations we
//! answer in front of it): request ids, error XML details, and the
//! hand-off between axum and s3s bodies (a body of unknown length is
//! counted there, see [`super::xml_limit`]).
//!
//! Hand-written on purpose: s3s serialises `<Code>`, `<Message>` and (when an
//! operation sets one) `<RequestId>`, but not `<Resource>` nor `<HostId>`,
//! and its own errors (signature checks, routing) carry no request id. S3
//! clients print them, and our log is searchable by the id, so every error
//! answer gets them here, in one place; every answer also gets the request
//! id in `x-amz-request-id` and S3's extended one in `x-amz-id-2` (see
//! [`host_id`]).
//!
//! Also here: S3 details some errors in elements after the `<Message>`
//! (the argument an `InvalidArgument` is about, `<ArgumentName>` and
//! `<ArgumentValue>`; the right `<Region>`; `<MaxSizeAllowed>` …), which
//! s3s's error XML cannot hold; an operation passes them in one internal
//! header ([`with_details`], [`invalid_argument`]) that becomes those
//! elements here and is taken off every answer. And GetObjectAttributes
//! answers its `ETag` without quotes on S3 (the one answer that does),
//! while s3s quotes every XML ETag; the quotes come off in
//! [`unquote_attributes_etag`].
//!
//! And s3s writes S3's namespace on the root of most XML answers but not
//! of nine (CopyObject's, UploadPartCopy's, GetBucketEncryption's,
//! GetBucketOwnershipControls', GetPublicAccessBlock's,
//! GetObjectRetention's, GetObjectLegalHold's, GetObjectLockConfiguration's
//! and GetBucketPolicyStatus's); it is added in [`qualify_root`], as S3
//! writes it on every answer.
//!
//! And s3s 0.14 ignores the status an operation sets on its
//! `S3Response` (it always answers the output's default): an operation
//! that must answer otherwise puts a [`Status`] into the response's
//! extensions, applied in [`serve`].

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use miniaws_core::identity::IdentityService;
use s3s::service::S3Service;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::xml_limit::{CountedBody, is_overrun, too_large};

use crate::middleware::REQUEST_ID_HEADER;

/// The header AWS SDKs read the request id from.
pub const AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");

/// The header S3 sends its extended request id in (the SDKs report it as
/// the "extended request id" or "host id"; error XML repeats it as
/// `<HostId>`).
pub const AMZ_ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");

/// The extended request id of the request `request_id`: the base64 of the
/// id. S3 sends an opaque base64 token on every answer; tools that print
/// or require it get one of that shape, and it decodes to the request id,
/// which is what the server log is searched by (S3's own is a key to AWS's
/// logs, which this stands in for). `None` for a request without an id.
pub fn host_id(request_id: &str) -> Option<String> {
    use base64::Engine;
    (!request_id.is_empty())
        .then(|| base64::engine::general_purpose::STANDARD.encode(request_id.as_bytes()))
}

/// Internal header carrying extra elements of an error's XML (S3's
/// `<ArgumentName>`, `<Region>`, `<MaxSizeAllowed>` …) from an operation
/// to [`finish`], which takes it off the answer and puts them after the
/// `<Message>`; never sent.
const ERROR_DETAILS: HeaderName = HeaderName::from_static("x-miniaws-error-details");

/// Internal header marking an error already logged where it was made
/// (with the private detail the answer leaves out), so that [`finish`]
/// does not log it a second time; never sent.
const ERROR_LOGGED: HeaderName = HeaderName::from_static("x-miniaws-error-logged");

/// `e`, marked as logged already (see [`ERROR_LOGGED`]).
pub fn mark_logged(mut e: s3s::S3Error) -> s3s::S3Error {
    let mut headers = xml_error_headers(&e);
    headers.insert(ERROR_LOGGED, HeaderValue::from_static("1"));
    e.set_headers(headers);
    e
}

/// `e`'s own headers (which carry the internal ones [`finish`] takes off)
/// with the XML content type: an error's headers replace s3s's.
fn xml_error_headers(e: &s3s::S3Error) -> http::HeaderMap {
    let mut headers = e.headers().cloned().unwrap_or_default();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    headers
}

/// `e` with `elements` (each `(name, value)` one XML element, in order)
/// after its `<Message>`, as S3 details some errors. Values travel as
/// ASCII (see [`ascii_xml_text`]); an element whose value XML cannot carry
/// is left out and the others kept, so an `InvalidArgument` still names
/// an argument whose value it cannot echo. An error's headers replace
/// s3s's, so this also sets its content type.
pub fn with_details(mut e: s3s::S3Error, elements: &[(&str, &str)]) -> s3s::S3Error {
    let xml: String = elements
        .iter()
        .filter_map(|(name, value)| Some(format!("<{name}>{}</{name}>", ascii_xml_text(value)?)))
        .collect();
    let mut headers = xml_error_headers(&e);
    if !xml.is_empty()
        && let Ok(v) = HeaderValue::from_str(&xml)
    {
        headers.insert(ERROR_DETAILS, v);
    }
    e.set_headers(headers);
    e
}

/// `value` as XML text that can travel in a header (visible ASCII, space
/// and tab: [`HeaderValue::to_str`]'s rule): markup escaped, and every
/// other character XML allows written as a character reference (`é` as
/// `&#xE9;`, a line feed as `&#xA;`), which clients decode back. `None`
/// for a value holding a character XML 1.0 cannot carry at all (a control
/// character other than tab, line feed and carriage return).
fn ascii_xml_text(value: &str) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | ' '..='~' => out.push(c),
            '\u{0}'..='\u{1f}' if c != '\n' && c != '\r' => return None,
            '\u{fffe}' | '\u{ffff}' => return None,
            _ => {
                let _ = write!(out, "&#x{:X};", u32::from(c));
            }
        }
    }
    Some(out)
}

/// An `InvalidArgument` error naming its argument, as S3 answers:
/// `<ArgumentName>` and (when XML can carry it, see [`with_details`])
/// `<ArgumentValue>`.
pub fn invalid_argument(
    message: impl Into<std::borrow::Cow<'static, str>>,
    name: &str,
    value: &str,
) -> s3s::S3Error {
    with_details(
        s3s::S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, message),
        &[("ArgumentName", name), ("ArgumentValue", value)],
    )
}

/// The status a successful answer must have instead of s3s's default
/// (PutBucketTagging's 204), set in the `S3Response`'s extensions.
#[derive(Debug, Clone, Copy)]
pub struct Status(pub StatusCode);

/// Error bodies are a few hundred bytes; anything larger is passed on as is.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A GetObjectAttributes answer lists at most 1,000 parts of a few hundred
/// bytes each.
const ATTRIBUTES_BODY_LIMIT: usize = 1024 * 1024;

/// Whether a request is GetObjectAttributes (`GET /bucket/key?attributes`).
fn is_get_object_attributes(req: &Request) -> bool {
    req.method() == Method::GET && crate::query::has(req.uri().query(), "attributes")
}

/// Serves one request through s3s (`identity` finds a SigV2 request's
/// secret for [`super::sig_v2`]).
pub async fn serve(service: S3Service, identity: &IdentityService, req: Request) -> Response {
    answer(req, |req| async move {
        // A body of undeclared length is counted, for an XML body that runs
        // over s3s's limit (see `xml_limit`).
        let counted = Arc::new(AtomicU64::new(0));
        // (Only a streamed body of unknown length: an empty or declared one
        // keeps its exact size, which s3s reads.)
        let undeclared = req.body().size_hint().exact().is_none();
        let req = if undeclared {
            let counter = counted.clone();
            req.map(|body| Body::from_stream(CountedBody::new(body, counter)))
        } else {
            req
        };
        // Request options in a presigned URL's query count as headers.
        let mut req = req;
        let query = req.uri().query().map(str::to_owned);
        super::request_options::hoist_presigned(query.as_deref(), req.headers_mut())?;
        // A document's digest is checked in the access check, which reads
        // the body through this slot (see `document_digest`).
        let req = super::document_digest::hold(req);
        let mut req = req.map(s3s::Body::http_body_unsync);
        // Last, over the headers s3s sees (the error's `<Resource>` keeps
        // the path as sent): a SigV2 request's time checked, its path given
        // the slash it was signed with, and what it signed read, on the
        // path s3s is handed.
        let signed_v2 =
            super::sig_v2::prepare(identity, &mut req, miniaws_core::clock::now_utc()).await?;
        let (result, routed) = super::auth::with_caller_slot(signed_v2, service.call(req)).await;
        let mut response = result.map_err(|err| {
            // s3s gives up on a request only when it cannot even build an
            // error response; the connection would be dropped otherwise.
            tracing::error!(error = ?err, "the S3 service failed");
            internal_error()
        })?;
        if let Some(Status(status)) = response.extensions().get::<Status>().copied()
            && response.status().is_success()
        {
            *response.status_mut() = status;
        }
        if is_overrun(
            response.status(),
            routed.xml_body,
            counted.load(Ordering::Relaxed),
        ) {
            return Err(too_large());
        }
        if routed.names_keys {
            escape_line_ends_of(&mut response);
        }
        if response.status().is_success() {
            qualify_root_of(&mut response);
        }
        Ok(response)
    })
    .await
}

/// Serves one request with `handler` (s3s, or one of the operations we
/// answer in front of it): its error becomes S3 XML, and every answer gets
/// the request id (and an error its resource).
pub async fn answer<F, Fut>(req: Request, handler: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = s3s::S3Result<s3s::HttpResponse>>,
{
    let request_id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let resource = req.uri().path().to_owned();
    let is_head = req.method() == Method::HEAD;
    let attributes = is_get_object_attributes(&req);
    let response = match handler(req).await {
        Ok(response) => response,
        Err(e) => error_response(e),
    };
    finish(response, &request_id, &resource, is_head, attributes).await
}

fn internal_error() -> s3s::S3Error {
    let mut e = s3s::S3Error::new(s3s::S3ErrorCode::InternalError);
    e.set_message(
        "internal server error; the server log has the details (search for the request id)",
    );
    e
}

/// An S3 error as its XML answer.
fn error_response(e: s3s::S3Error) -> s3s::HttpResponse {
    match e.to_http_response() {
        Ok(r) => r,
        Err(_) => {
            let mut r = s3s::HttpResponse::new(s3s::Body::empty());
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

async fn finish(
    response: s3s::HttpResponse,
    request_id: &str,
    resource: &str,
    is_head: bool,
    attributes: bool,
) -> Response {
    let (mut parts, mut body) = response.into_parts();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        parts.headers.insert(AMZ_REQUEST_ID, v);
    }
    if let Some(v) = host_id(request_id).and_then(|id| HeaderValue::from_str(&id).ok()) {
        parts.headers.insert(AMZ_ID_2, v);
    }
    if parts.status == StatusCode::NOT_MODIFIED {
        // s3s builds a 304 as an error, whose XML hyper never sends: its
        // length must not go out either (RFC 9110 §8.6 allows only the
        // length a 200 would have had), nor its type.
        parts.headers.remove(CONTENT_LENGTH);
        parts.headers.remove(CONTENT_TYPE);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    let details = parts.headers.remove(ERROR_DETAILS);
    let logged = parts.headers.remove(ERROR_LOGGED).is_some();
    let is_xml = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("xml"));
    // Whether the answer's error is in the log (where it was made, or below).
    let mut in_log = logged;
    if parts.status.as_u16() >= 400
        && !is_head
        && is_xml
        && let Ok(bytes) = body.store_all_limited(ERROR_BODY_LIMIT).await
    {
        in_log = true;
        let bytes = escape_line_ends(&bytes).map_or(bytes, bytes::Bytes::from);
        let xml = refine_s3s_error(&String::from_utf8_lossy(&bytes));
        let mut annotated = annotate_error_xml(&xml, resource, request_id);
        let code = between(&annotated, "<Code>", "</Code>").unwrap_or("-");
        // 501 is a refusal (a feature Mini AWS does not have), not a fault.
        if logged {
            // Logged where it was made, with what the answer leaves out.
        } else if parts.status.is_server_error() && parts.status != StatusCode::NOT_IMPLEMENTED {
            tracing::error!(status = parts.status.as_u16(), code, "S3 error answer");
        } else {
            tracing::info!(
                status = parts.status.as_u16(),
                code,
                reason = between(&annotated, "<Message>", "</Message>").unwrap_or(""),
                "S3 request rejected"
            );
        }
        if let Some(details) = details.as_ref().and_then(|v| v.to_str().ok()) {
            annotated = add_after_message(&annotated, details);
        }
        parts.headers.remove(CONTENT_LENGTH);
        body = s3s::Body::from(annotated);
    }
    if !in_log && parts.status.is_server_error() && parts.status != StatusCode::NOT_IMPLEMENTED {
        // A HEAD's (whose error body is never sent, so not read for its
        // code) or one without an XML body: a fault all the same.
        tracing::error!(
            status = parts.status.as_u16(),
            head = is_head,
            "S3 error answer"
        );
    }
    if attributes
        && parts.status.is_success()
        && is_xml
        && let Ok(bytes) = body.store_all_limited(ATTRIBUTES_BODY_LIMIT).await
    {
        let xml = unquote_attributes_etag(&String::from_utf8_lossy(&bytes));
        parts.headers.remove(CONTENT_LENGTH);
        body = s3s::Body::from(xml);
    }
    Response::from_parts(parts, Body::new(body))
}

/// Whether a successful answer of s3s's operation `operation` is an XML
/// document naming object keys (which any byte but NUL may be part of).
pub(super) fn names_keys(operation: &str) -> bool {
    matches!(
        operation,
        "ListObjects"
            | "ListObjectsV2"
            | "ListObjectVersions"
            | "ListMultipartUploads"
            | "ListParts"
            | "CreateMultipartUpload"
            | "CompleteMultipartUpload"
            | "DeleteObjects"
    )
}

/// Writes the line ends of an XML answer s3s serialised (a whole body in
/// memory; a streamed one is left alone) as character references.
fn escape_line_ends_of(response: &mut s3s::HttpResponse) {
    let body = response.body_mut();
    if let Some(bytes) = body.bytes()
        && let Some(escaped) = escape_line_ends(&bytes)
    {
        response.headers_mut().remove(CONTENT_LENGTH);
        *response.body_mut() = s3s::Body::from(escaped);
    }
}

/// S3's XML namespace, on the root of each of its XML answers.
const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The roots s3s writes without [`S3_XMLNS`] (its generated serialiser
/// has no namespace for them), which S3 writes with it: clients that read
/// the answer namespace-aware (the .NET XmlSerializer MinIO's SDK uses,
/// Perl's Net::Amazon::S3) find no `CopyObjectResult` in an unqualified
/// one.
const UNQUALIFIED_ROOTS: &[&str] = &[
    "CopyObjectResult",
    "CopyPartResult",
    "ServerSideEncryptionConfiguration",
    "OwnershipControls",
    "PublicAccessBlockConfiguration",
    "Retention",
    "LegalHold",
    "ObjectLockConfiguration",
    "PolicyStatus",
];

/// Adds S3's namespace to the root of an XML answer s3s serialised
/// without it (a whole body in memory; a streamed one is left alone).
fn qualify_root_of(response: &mut s3s::HttpResponse) {
    if let Some(bytes) = response.body_mut().bytes()
        && let Some(qualified) = qualify_root(&bytes)
    {
        response.headers_mut().remove(CONTENT_LENGTH);
        *response.body_mut() = s3s::Body::from(qualified);
    }
}

/// `xml` with [`S3_XMLNS`] on its root when the root is one of
/// [`UNQUALIFIED_ROOTS`] without it; `None` for any other document. s3s
/// writes its declaration and then the bare root tag, `<Name>`.
pub fn qualify_root(xml: &[u8]) -> Option<Vec<u8>> {
    let decl_end = if xml.starts_with(b"<?xml") {
        xml.windows(2).position(|w| w == b"?>")? + 2
    } else {
        0
    };
    let rest = &xml[decl_end..];
    let name = UNQUALIFIED_ROOTS.iter().find(|name| {
        rest.strip_prefix(b"<")
            .and_then(|r| r.strip_prefix(name.as_bytes()))
            .is_some_and(|r| r.first() == Some(&b'>'))
    })?;
    let tag_end = decl_end + 1 + name.len();
    let mut out = Vec::with_capacity(xml.len() + S3_XMLNS.len() + 9);
    out.extend_from_slice(&xml[..tag_end]);
    out.extend_from_slice(format!(" xmlns=\"{S3_XMLNS}\"").as_bytes());
    out.extend_from_slice(&xml[tag_end..]);
    Some(out)
}

/// `xml` with every CR written `&#13;` and every LF `&#10;`, as S3 writes
/// them; `None` when it has neither. An XML parser turns a raw CR or CRLF
/// into one LF (XML 1.0 §2.11), so a key holding a CR would be listed as
/// another key; quick-xml, which s3s writes with, escapes only `<>&'"`.
/// s3s writes no line ends of its own (no indentation, none after the
/// declaration), so every one is part of a value.
pub fn escape_line_ends(xml: &[u8]) -> Option<Vec<u8>> {
    let count = xml.iter().filter(|&&b| b == b'\r' || b == b'\n').count();
    if count == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(xml.len() + count * 4);
    for &b in xml {
        match b {
            b'\r' => out.extend_from_slice(b"&#13;"),
            b'\n' => out.extend_from_slice(b"&#10;"),
            other => out.push(other),
        }
    }
    Some(out)
}

/// Takes the quotes off the `<ETag>` of a GetObjectAttributes answer.
pub fn unquote_attributes_etag(xml: &str) -> String {
    xml.replacen("<ETag>\"", "<ETag>", 1)
        .replacen("\"</ETag>", "</ETag>", 1)
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

/// What a malformed `Authorization` header is told.
pub const MALFORMED_AUTHORIZATION: &str = "The Authorization header is malformed: expected `AWS4-HMAC-SHA256 Credential=<access key id>/<yyyymmdd>/<region>/s3/aws4_request, SignedHeaders=<header names, ;-separated>, Signature=<64 hex digits>`";

/// What a SigV4 presigned URL's query needs, said when it lacks some.
pub(super) const PRESIGNED_V4_FIELDS: &str = "The presigned URL's query is malformed: it needs X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential=<access key id>/<yyyymmdd>/<region>/s3/aws4_request, X-Amz-Date=<yyyymmddThhmmssZ>, X-Amz-Expires=<seconds, 1 to 604800>, X-Amz-SignedHeaders and X-Amz-Signature, each once";

/// s3s's refusals of a malformed signature, whose terse messages
/// ("invalid header: authorization") do not say what was wrong: S3's code
/// for each, and a message that says what a well-formed one looks like.
/// (The request's own values are never echoed: they carry signatures.)
const REFINED: &[(&str, &str, &str, &str)] = &[
    (
        "InvalidRequest",
        "invalid header: authorization",
        "AuthorizationHeaderMalformed",
        MALFORMED_AUTHORIZATION,
    ),
    (
        "InvalidRequest",
        "missing presigned url v4 fields",
        "AuthorizationQueryParametersError",
        PRESIGNED_V4_FIELDS,
    ),
    (
        "SignatureDoesNotMatch",
        "invalid header: x-amz-content-sha256",
        "SignatureDoesNotMatch",
        "The x-amz-content-sha256 header is malformed: expected the body's SHA-256 in hex, UNSIGNED-PAYLOAD, or a STREAMING-… value for an aws-chunked body",
    ),
    (
        "InvalidRequest",
        "invalid header: x-amz-decoded-content-length",
        "InvalidRequest",
        "The x-amz-decoded-content-length header is malformed: expected the decoded body's length in bytes",
    ),
    (
        "InvalidRequest",
        "invalid header: x-amz-date",
        "InvalidRequest",
        "The x-amz-date header is malformed: expected an ISO 8601 basic time such as 20260102T030405Z",
    ),
    // A header-signed chunked body (s3s wants its length first): S3's
    // words, as for a write that frames no body at all (`body.rs`).
    (
        "MissingContentLength",
        "missing header: content-length",
        "MissingContentLength",
        "You must provide the Content-Length HTTP header.",
    ),
];

/// Replaces the code and message of an s3s refusal listed in [`REFINED`].
pub fn refine_s3s_error(xml: &str) -> String {
    let code = between(xml, "<Code>", "</Code>");
    let message = between(xml, "<Message>", "</Message>");
    for (from_code, from_message, code_to, message_to) in REFINED {
        if code == Some(from_code) && message == Some(from_message) {
            return xml
                .replacen(
                    &format!("<Code>{from_code}</Code>"),
                    &format!("<Code>{code_to}</Code>"),
                    1,
                )
                .replacen(
                    &format!("<Message>{from_message}</Message>"),
                    &format!("<Message>{}</Message>", escape(message_to)),
                    1,
                );
        }
    }
    xml.to_owned()
}

/// Adds S3's `<Message>` for the code (see [`super::error_messages`]),
/// `<Resource>`, `<RequestId>` and `<HostId>` (see [`host_id`]) to an S3
/// `<Error>` document when they are missing.
pub fn annotate_error_xml(xml: &str, resource: &str, request_id: &str) -> String {
    let Some(end) = xml.rfind("</Error>") else {
        return xml.to_owned();
    };
    if !xml.contains("<Message>")
        && let Some(code) = between(xml, "<Code>", "</Code>")
        && let Some(after_code) = xml.find("</Code>").map(|i| i + "</Code>".len())
    {
        let message = super::error_messages::default_message(code);
        let with_message = format!(
            "{}<Message>{}</Message>{}",
            &xml[..after_code],
            escape(&message),
            &xml[after_code..]
        );
        return annotate_error_xml(&with_message, resource, request_id);
    }
    let mut extra = String::new();
    if !xml.contains("<Resource>") {
        extra.push_str(&format!("<Resource>{}</Resource>", escape(resource)));
    }
    if !xml.contains("<RequestId>") && !request_id.is_empty() {
        extra.push_str(&format!("<RequestId>{}</RequestId>", escape(request_id)));
    }
    if !xml.contains("<HostId>")
        && let Some(id) = host_id(request_id)
    {
        extra.push_str(&format!("<HostId>{id}</HostId>"));
    }
    format!("{}{}{}", &xml[..end], extra, &xml[end..])
}

/// Inserts `extra` (XML) after an error's `<Message>`, else before its
/// `</Error>`, where S3 puts its details.
fn add_after_message(xml: &str, extra: &str) -> String {
    let Some(at) = xml
        .find("</Message>")
        .map(|i| i + "</Message>".len())
        .or_else(|| xml.rfind("</Error>"))
    else {
        return xml.to_owned();
    };
    format!("{}{}{}", &xml[..at], extra, &xml[at..])
}

/// `s` escaped for XML or HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\r', "&#13;")
        .replace('\n', "&#10;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    /// What [`finish`] logs of `response`, at ERROR level, answering a
    /// HEAD when `is_head`.
    fn errors_logged(response: s3s::HttpResponse, is_head: bool) -> String {
        #[derive(Clone, Default)]
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("sink").extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::ERROR)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime")
                .block_on(finish(response, "rid", "/b/k", is_head, false))
        });
        String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8")
    }

    #[test]
    fn a_server_error_is_logged_whatever_its_body() {
        let answer = |status: StatusCode, xml: &str| {
            let mut r = s3s::HttpResponse::new(s3s::Body::from(xml.to_owned()));
            *r.status_mut() = status;
            if !xml.is_empty() {
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
            }
            r
        };
        let xml = "<Error><Code>InternalError</Code><Message>m</Message></Error>";
        let err = StatusCode::INTERNAL_SERVER_ERROR;
        for (response, is_head, logged) in [
            (answer(err, xml), false, true),
            (answer(err, xml), true, true),
            (answer(err, ""), false, true),
            (answer(err, ""), true, true),
            (answer(StatusCode::NOT_IMPLEMENTED, ""), true, false),
            (answer(StatusCode::NOT_FOUND, ""), true, false),
        ] {
            let status = response.status();
            let log = errors_logged(response, is_head);
            assert_eq!(
                log.contains("S3 error answer"),
                logged,
                "{status} head {is_head}: {log:?}"
            );
        }
    }

    #[test]
    fn error_xml_gets_resource_and_request_id() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>m</Message></Error>"#;
        let out = annotate_error_xml(xml, "/b/a&b", "rid-1");
        assert_eq!(
            out,
            r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>m</Message><Resource>/b/a&amp;b</Resource><RequestId>rid-1</RequestId><HostId>cmlkLTE=</HostId></Error>"#
        );
        // Present ones are kept, not doubled.
        let xml = "<Error><Code>X</Code><Message>m</Message><RequestId>r0</RequestId></Error>";
        assert_eq!(
            annotate_error_xml(xml, "/", "rid-2"),
            "<Error><Code>X</Code><Message>m</Message><RequestId>r0</RequestId><Resource>/</Resource><HostId>cmlkLTI=</HostId></Error>"
        );
        // A missing message is S3's for the code.
        let xml = "<Error><Code>SignatureDoesNotMatch</Code></Error>";
        let out = annotate_error_xml(xml, "/", "r");
        assert!(
            out.starts_with("<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature that the server calculated does not match"),
            "{out}"
        );
        assert!(
            out.ends_with(
                "</Message><Resource>/</Resource><RequestId>r</RequestId><HostId>cg==</HostId></Error>"
            ),
            "{out}"
        );
        assert_eq!(annotate_error_xml("not xml", "/", "r"), "not xml");
        // No request id, no host id.
        assert_eq!(
            annotate_error_xml("<Error><Code>X</Code><Message>m</Message></Error>", "/", ""),
            "<Error><Code>X</Code><Message>m</Message><Resource>/</Resource></Error>"
        );
    }

    #[test]
    fn terse_s3s_refusals_get_s3_codes_and_messages() {
        let xml = "<Error><Code>InvalidRequest</Code><Message>invalid header: authorization</Message></Error>";
        let out = refine_s3s_error(xml);
        assert!(
            out.starts_with("<Error><Code>AuthorizationHeaderMalformed</Code><Message>The Authorization header is malformed: expected `AWS4-HMAC-SHA256 Credential=&lt;access key id&gt;/"),
            "{out}"
        );
        let xml = "<Error><Code>InvalidRequest</Code><Message>missing presigned url v4 fields</Message></Error>";
        assert!(refine_s3s_error(xml).contains("<Code>AuthorizationQueryParametersError</Code>"));
        // Anything else is left alone.
        let xml = "<Error><Code>InvalidRequest</Code><Message>something else</Message></Error>";
        assert_eq!(refine_s3s_error(xml), xml);
    }

    /// The body and headers of `e` answered as `method` through
    /// [`answer`], as a client gets them.
    async fn answered(method: Method, e: s3s::S3Error) -> (String, HeaderMap) {
        let req = Request::builder()
            .method(method)
            .uri("/b/k")
            .header(REQUEST_ID_HEADER, "rid-9")
            .body(Body::empty())
            .expect("a request");
        let response = answer(req, |_| async { Err(e) }).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.expect("a body");
        (String::from_utf8_lossy(&bytes).into_owned(), parts.headers)
    }

    fn no_internal_headers(headers: &HeaderMap) {
        let internal: Vec<_> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("x-miniaws-"))
            .collect();
        assert!(internal.is_empty(), "internal headers sent: {headers:?}");
    }

    #[tokio::test]
    async fn an_invalid_argument_names_it_and_no_internal_header_is_sent() {
        let e = invalid_argument("Invalid version id specified", "versionId", "a<b");
        let (body, headers) = answered(Method::GET, e).await;
        assert!(
            body.contains(
                "<Message>Invalid version id specified</Message><ArgumentName>versionId</ArgumentName><ArgumentValue>a&lt;b</ArgumentValue><Resource>/b/k</Resource><RequestId>rid-9</RequestId><HostId>cmlkLTk=</HostId></Error>"
            ),
            "{body}"
        );
        no_internal_headers(&headers);
        assert_eq!(headers[CONTENT_TYPE], "application/xml");
        // The extended request id, as a header and in the body.
        assert_eq!(headers[AMZ_ID_2], "cmlkLTk=");
        assert!(body.contains("<HostId>cmlkLTk=</HostId></Error>"), "{body}");
        // Characters beyond visible ASCII travel as character references.
        for (value, text) in [
            ("caf\u{e9}", "caf&#xE9;"),
            ("a\nb", "a&#xA;b"),
            ("\u{7f}", "&#x7F;"),
            ("\u{1F600}", "&#x1F600;"),
        ] {
            let e = invalid_argument("Invalid version id specified", "versionId", value);
            let (body, headers) = answered(Method::GET, e).await;
            assert!(
                body.contains(&format!(
                    "<ArgumentName>versionId</ArgumentName><ArgumentValue>{text}</ArgumentValue><Resource>"
                )),
                "{value:?}: {body}"
            );
            no_internal_headers(&headers);
        }
        // A value XML cannot carry: the name stays.
        for value in ["a\u{1}b", "\u{0}"] {
            let e = invalid_argument("Invalid version id specified", "versionId", value);
            let (body, headers) = answered(Method::GET, e).await;
            assert!(
                body.contains(
                    "<Message>Invalid version id specified</Message><ArgumentName>versionId</ArgumentName><Resource>"
                ),
                "{value:?}: {body}"
            );
            no_internal_headers(&headers);
        }
        // A HEAD's answer (whose body hyper does not send) is not
        // annotated, and loses the header all the same.
        let e = invalid_argument("Invalid version id specified", "versionId", "x");
        let (_, headers) = answered(Method::HEAD, e).await;
        no_internal_headers(&headers);
    }

    #[tokio::test]
    async fn details_follow_the_message_in_order() {
        let e = with_details(
            s3s::S3Error::with_message(s3s::S3ErrorCode::EntityTooSmall, "m"),
            &[("ProposedSize", "1"), ("MinSizeAllowed", "5")],
        );
        let (body, headers) = answered(Method::POST, e).await;
        assert!(
            body.contains("<Message>m</Message><ProposedSize>1</ProposedSize><MinSizeAllowed>5</MinSizeAllowed><Resource>"),
            "{body}"
        );
        no_internal_headers(&headers);
        // Nothing to add: no header, the error as it was.
        let e = with_details(
            s3s::S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, "m"),
            &[("ArgumentValue", "\u{1}")],
        );
        assert!(e.headers().is_some_and(|h| !h.contains_key(ERROR_DETAILS)));
    }

    #[test]
    fn details_go_after_the_message_or_before_the_end() {
        assert_eq!(
            add_after_message(
                "<Error><Code>X</Code><Message>m</Message></Error>",
                "<A>1</A>"
            ),
            "<Error><Code>X</Code><Message>m</Message><A>1</A></Error>"
        );
        assert_eq!(
            add_after_message("<Error><Code>X</Code></Error>", "<A>1</A>"),
            "<Error><Code>X</Code><A>1</A></Error>"
        );
    }

    #[test]
    fn line_ends_become_character_references() {
        assert_eq!(escape_line_ends(b"<K>plain</K>"), None);
        assert_eq!(
            escape_line_ends(b"<K>a\rb\r\nc\nd</K>").as_deref(),
            Some(&b"<K>a&#13;b&#13;&#10;c&#10;d</K>"[..])
        );
        assert_eq!(escape("a<\r\n>"), "a&lt;&#13;&#10;&gt;");
    }

    #[test]
    fn unqualified_roots_get_the_s3_namespace() {
        let decl = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
        let copy = format!("{decl}<CopyObjectResult><ETag>e</ETag></CopyObjectResult>");
        assert_eq!(
            qualify_root(copy.as_bytes()).map(|x| String::from_utf8(x).expect("UTF-8")),
            Some(format!(
                r#"{decl}<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>e</ETag></CopyObjectResult>"#
            ))
        );
        let status = format!("{decl}<PolicyStatus><IsPublic>false</IsPublic></PolicyStatus>");
        assert_eq!(
            qualify_root(status.as_bytes()).map(|x| String::from_utf8(x).expect("UTF-8")),
            Some(format!(
                r#"{decl}<PolicyStatus xmlns="{S3_XMLNS}"><IsPublic>false</IsPublic></PolicyStatus>"#
            ))
        );
        // Another root, one qualified already, a root whose name merely
        // starts alike: unchanged.
        for xml in [
            format!("{decl}<Tagging><TagSet/></Tagging>"),
            format!(r#"{decl}<OwnershipControls xmlns="{S3_XMLNS}"><Rule/></OwnershipControls>"#),
            format!("{decl}<CopyPartResultX></CopyPartResultX>"),
            String::new(),
        ] {
            assert_eq!(qualify_root(xml.as_bytes()), None, "{xml}");
        }
    }

    #[test]
    fn attributes_etag_loses_its_quotes() {
        let xml = r#"<GetObjectAttributesResponse><ETag>"d41d8cd9-2"</ETag><ObjectSize>0</ObjectSize></GetObjectAttributesResponse>"#;
        assert_eq!(
            unquote_attributes_etag(xml),
            "<GetObjectAttributesResponse><ETag>d41d8cd9-2</ETag><ObjectSize>0</ObjectSize></GetObjectAttributesResponse>"
        );
        assert_eq!(unquote_attributes_etag("<A><B/></A>"), "<A><B/></A>");
    }
}
