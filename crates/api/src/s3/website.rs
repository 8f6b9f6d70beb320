//! The website endpoint: a request on the AWS listener whose `Host` is
//! `<bucket>.s3-website.localhost[:port]` (or AWS's two regional forms,
//! `<bucket>.s3-website-<region>.localhost` and
//! `<bucket>.s3-website.<region>.localhost`) is served as S3's static
//! website endpoint serves it, in front of s3s
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteEndpoints.html>):
//!
//! - GET and HEAD only (anything else 405), anonymous (a signature is not
//!   looked at), and an object is served only when the bucket's policy
//!   grants everyone `s3:GetObject` on its key (else 403 `AccessDenied`);
//! - errors are HTML pages in S3's format (`<li>Code: NoSuchKey</li>`…),
//!   or the bucket's `ErrorDocument` with the error's status;
//! - `/` and `/dir/` serve the `IndexDocument` under them; `/dir` with no
//!   object `dir` but a `dir/<index>` is a 302 to `/dir/`;
//! - `RedirectAllRequestsTo`, `RoutingRules` and an object's
//!   `x-amz-website-redirect-location` redirect;
//! - the path is percent-decoded once into the key; the object is read
//!   through the storage service's read path (streamed, `Range` and the
//!   conditional headers honoured), for that bucket and key only.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use miniaws_core::CoreError;
use miniaws_core::storage::{
    BucketWebsite, GetObjectOptions, GetObjectOutput, ObjectMeta, PublicAction, RangeSpec, Reader,
    RoutingRule, Site, WebsiteTarget,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::convert::WEBSITE_REDIRECT;
use super::wire::{AMZ_ID_2, AMZ_REQUEST_ID, escape, host_id};
use crate::middleware::REQUEST_ID_HEADER;
use crate::state::AppState;
use crate::storage::get_object::conditions;
use crate::storage::object_headers;

/// The label that marks a website host, before `.localhost`.
const WEBSITE_LABEL: &str = ".s3-website";

/// What a key keeps unencoded in a redirect's `Location`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The bucket a website `Host` names, if it is one:
/// `<bucket>.s3-website[-<region>|.<region>].localhost[:port]`.
pub fn website_bucket(host: &str) -> Option<&str> {
    // Strip a port, but not the colons of a bracketed IPv6 literal.
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let rest = name
        .strip_suffix(super::host::VIRTUAL_HOST_DOMAIN)?
        .strip_suffix('.')?;
    let (bucket, region) = rest.rsplit_once(WEBSITE_LABEL)?;
    let region_ok = |r: &str| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let tail_ok = match region.as_bytes().first() {
        None => true,
        Some(b'-' | b'.') => region_ok(&region[1..]),
        Some(_) => false,
    };
    (tail_ok && !bucket.is_empty()).then_some(bucket)
}

/// The website bucket a request's `Host` names, if any.
pub fn website_request(req: &Request) -> Option<String> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    website_bucket(host).map(str::to_owned)
}

/// One error answer: status, S3 code, message and the extra lines S3's
/// page lists (`Key`, `BucketName`, `Method`…).
#[derive(Debug, Clone)]
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<(&'static str, String)>,
    headers: HeaderMap,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            headers: HeaderMap::new(),
        }
    }

    fn with(mut self, name: &'static str, value: &str) -> Self {
        self.details.push((name, value.to_owned()));
        self
    }

    fn no_such_key(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
        .with("Key", key)
    }

    fn access_denied() -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
    }
}

/// What one request for a key came to.
enum Outcome {
    /// An object (or a 304 about it).
    Object(Response),
    /// A redirect.
    Redirect(StatusCode, String),
    /// An error.
    Failed(Failure),
}

/// Everything an answer needs besides the bucket's configuration.
struct Ctx<'a> {
    state: &'a AppState,
    bucket: &'a str,
    request_id: String,
    head: bool,
    /// The request's `Host`, for redirects that keep it.
    host: String,
    headers: HeaderMap,
}

/// Serves one website request for `bucket`.
pub async fn serve(state: AppState, bucket: String, req: Request) -> Response {
    let request_id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let head = req.method() == Method::HEAD;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let ctx = Ctx {
        state: &state,
        bucket: &bucket,
        request_id,
        head,
        host,
        headers: req.headers().clone(),
    };
    if req.method() != Method::GET && !head {
        let mut f = Failure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
        .with("Method", req.method().as_str())
        .with("ResourceType", "OBJECT");
        f.headers
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return ctx.page(f);
    }
    let raw_path = req.uri().path().to_owned();
    let website = match state.storage.bucket_website(&bucket).await {
        Ok(BucketWebsite::Configured(website)) => website,
        Ok(BucketWebsite::NoBucket) => {
            return ctx.page(
                Failure::new(
                    StatusCode::NOT_FOUND,
                    "NoSuchBucket",
                    "The specified bucket does not exist",
                )
                .with("BucketName", &bucket),
            );
        }
        Ok(BucketWebsite::NotConfigured) => {
            return ctx.page(
                Failure::new(
                    StatusCode::NOT_FOUND,
                    "NoSuchWebsiteConfiguration",
                    "The specified bucket does not have a website configuration",
                )
                .with("BucketName", &bucket),
            );
        }
        Err(e) => return ctx.page(server_failure(&e)),
    };
    // The key is the path percent-decoded once, without its first `/`.
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(&raw_path).collect();
    let Ok(path) = String::from_utf8(decoded) else {
        return ctx.page(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidURI",
            "Couldn't parse the specified URI.",
        ));
    };
    let key = path.strip_prefix('/').unwrap_or(&path).to_owned();
    match website.target() {
        WebsiteTarget::RedirectAll(all) => {
            let protocol = all.protocol.as_deref().unwrap_or("http");
            let location = format!(
                "{protocol}://{}/{}",
                all.host_name,
                raw_path.trim_start_matches('/')
            );
            ctx.redirect(StatusCode::MOVED_PERMANENTLY, &location)
        }
        WebsiteTarget::Site(site) => ctx.site(site, &key, &raw_path).await,
    }
}

impl Ctx<'_> {
    async fn site(&self, site: &Site, key: &str, raw_path: &str) -> Response {
        if let Some(rule) = site.rule_before(key) {
            let (status, location) = self.rule_location(rule, key);
            return self.redirect(status, &location);
        }
        let served = site.served_key(key);
        let failure = match self.object(&served, true).await {
            Outcome::Object(response) => return response,
            Outcome::Redirect(status, location) => return self.redirect(status, &location),
            Outcome::Failed(f) => f,
        };
        // `/dir` without an object `dir`: a directory when `dir/<index>`
        // exists, as on S3.
        if failure.status == StatusCode::NOT_FOUND
            && !key.is_empty()
            && !key.ends_with('/')
            && self.exists(&format!("{key}/{}", site.index_suffix)).await
        {
            return self.redirect(StatusCode::FOUND, &format!("{raw_path}/"));
        }
        if let Some(rule) = site.rule_on_error(key, failure.status.as_u16()) {
            let (status, location) = self.rule_location(rule, key);
            return self.redirect(status, &location);
        }
        self.error(site, failure).await
    }

    /// Where `rule` sends a request for `key`.
    fn rule_location(&self, rule: &RoutingRule, key: &str) -> (StatusCode, String) {
        let protocol = rule.redirect.protocol.as_deref().unwrap_or("http");
        let host = rule.redirect.host_name.as_deref().unwrap_or(&self.host);
        let target = rule.target_key(key);
        let location = format!("{protocol}://{host}/{}", utf8_percent_encode(&target, PATH));
        let status = StatusCode::from_u16(rule.status()).unwrap_or(StatusCode::MOVED_PERMANENTLY);
        (status, location)
    }

    /// Reads `key` for the website: served (with `Range` and the
    /// conditional headers when `with_request`), redirected by its
    /// `x-amz-website-redirect-location`, or why not.
    async fn object(&self, key: &str, with_request: bool) -> Outcome {
        let grant = match self
            .state
            .storage
            .public_grant(None, self.bucket, PublicAction::GetObject, Some(key))
            .await
        {
            Ok(Some(grant)) => grant,
            Ok(None) => return Outcome::Failed(Failure::access_denied()),
            Err(e) => return Outcome::Failed(server_failure(&e)),
        };
        let options = if with_request {
            GetObjectOptions {
                if_range: None,
                range: self
                    .headers
                    .get(header::RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(RangeSpec::parse),
                part_number: None,
                conditions: conditions(&self.headers),
                version: None,
            }
        } else {
            GetObjectOptions::default()
        };
        let read = self
            .state
            .storage
            .get_object(Reader::Public(grant), self.bucket, key, &options)
            .await;
        let (meta, range, body) = match read {
            Ok(GetObjectOutput::Body {
                meta, range, body, ..
            }) => (meta, range, body),
            Ok(GetObjectOutput::NotModified(meta, _)) => {
                if let Some(location) = redirect_of(&meta) {
                    return Outcome::Redirect(StatusCode::MOVED_PERMANENTLY, location);
                }
                let mut headers = answer_headers(&meta);
                headers.remove(header::CONTENT_TYPE);
                return Outcome::Object(self.finish(
                    StatusCode::NOT_MODIFIED,
                    headers,
                    Body::empty(),
                ));
            }
            Err(e) => return Outcome::Failed(read_failure(e, key)),
        };
        if let Some(location) = redirect_of(&meta) {
            return Outcome::Redirect(StatusCode::MOVED_PERMANENTLY, location);
        }
        let mut headers = answer_headers(&meta);
        let (status, length) = match range {
            Some(r) => {
                if let Ok(v) = HeaderValue::from_str(&r.content_range(meta.size_bytes)) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
                (StatusCode::PARTIAL_CONTENT, r.len())
            }
            None => (StatusCode::OK, meta.size_bytes),
        };
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        let body = if self.head {
            Body::empty()
        } else {
            Body::from_stream(body)
        };
        Outcome::Object(self.finish(status, headers, body))
    }

    /// Whether `key` is an object the website may serve.
    async fn exists(&self, key: &str) -> bool {
        let Ok(Some(grant)) = self
            .state
            .storage
            .public_grant(None, self.bucket, PublicAction::GetObject, Some(key))
            .await
        else {
            return false;
        };
        self.state
            .storage
            .head_object(Reader::Public(grant), self.bucket, key, &Default::default())
            .await
            .is_ok()
    }

    /// The answer to `failure`: the bucket's error document with the
    /// failure's status (for a 4XX), else S3's page.
    async fn error(&self, site: &Site, failure: Failure) -> Response {
        let Some(error_key) = site
            .error_key
            .as_deref()
            .filter(|_| failure.status.is_client_error())
        else {
            return self.page(failure);
        };
        match self.object(error_key, false).await {
            Outcome::Object(mut response) => {
                // The error document, with the error's status.
                if response.status().is_success() {
                    *response.status_mut() = failure.status;
                    return response;
                }
                self.page(failure)
            }
            Outcome::Redirect(..) => self.page(failure),
            Outcome::Failed(document) => self.page_with_document_error(failure, Some(document)),
        }
    }

    fn redirect(&self, status: StatusCode, location: &str) -> Response {
        let mut headers = HeaderMap::new();
        match HeaderValue::from_str(location) {
            Ok(v) => {
                headers.insert(header::LOCATION, v);
            }
            Err(_) => {
                return self.page(Failure::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidRedirectLocation",
                    "The website redirect location is not a valid header value.",
                ));
            }
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
        tracing::info!(status = status.as_u16(), location, "website redirect");
        self.finish(status, headers, Body::empty())
    }

    fn page(&self, failure: Failure) -> Response {
        self.page_with_document_error(failure, None)
    }

    /// S3's HTML error page for `failure` (and, when the error document
    /// could not be served, why not).
    fn page_with_document_error(&self, failure: Failure, document: Option<Failure>) -> Response {
        if failure.status.is_server_error() {
            tracing::error!(
                status = failure.status.as_u16(),
                code = failure.code,
                "website error answer"
            );
        } else {
            tracing::info!(
                status = failure.status.as_u16(),
                code = failure.code,
                reason = %failure.message,
                "website request rejected"
            );
        }
        let title = format!(
            "{} {}",
            failure.status.as_u16(),
            failure.status.canonical_reason().unwrap_or("Error")
        );
        let mut html = format!(
            "<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n<li>Code: {}</li>\n<li>Message: {}</li>\n",
            failure.code,
            escape(&failure.message)
        );
        for (name, value) in &failure.details {
            html.push_str(&format!("<li>{name}: {}</li>\n", escape(value)));
        }
        html.push_str(&format!(
            "<li>RequestId: {}</li>\n",
            escape(&self.request_id)
        ));
        if let Some(id) = host_id(&self.request_id) {
            html.push_str(&format!("<li>HostId: {id}</li>\n"));
        }
        html.push_str("</ul>\n");
        if let Some(document) = document {
            html.push_str(&format!(
                "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>\n<ul>\n<li>Code: {}</li>\n<li>Message: {}</li>\n",
                document.code,
                escape(&document.message)
            ));
            for (name, value) in &document.details {
                html.push_str(&format!("<li>{name}: {}</li>\n", escape(value)));
            }
            html.push_str("</ul>\n");
        }
        html.push_str("<hr/>\n</body>\n</html>\n");
        let mut headers = failure.headers;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert("x-amz-error-code", HeaderValue::from_static(failure.code));
        if let Ok(v) = HeaderValue::from_str(&failure.message) {
            headers.insert("x-amz-error-message", v);
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(html.len()));
        let body = if self.head {
            Body::empty()
        } else {
            Body::from(html)
        };
        self.finish(failure.status, headers, body)
    }

    fn finish(&self, status: StatusCode, headers: HeaderMap, body: Body) -> Response {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert(AMZ_REQUEST_ID, v);
        }
        if let Some(v) = host_id(&self.request_id).and_then(|id| HeaderValue::from_str(&id).ok()) {
            response.headers_mut().insert(AMZ_ID_2, v);
        }
        response
    }
}

/// The headers of an object's answer (its redirect header is not one).
fn answer_headers(meta: &ObjectMeta) -> HeaderMap {
    let mut headers = object_headers(meta);
    headers.remove(WEBSITE_REDIRECT);
    headers
}

/// An object's `x-amz-website-redirect-location`.
fn redirect_of(meta: &ObjectMeta) -> Option<String> {
    meta.headers
        .get(WEBSITE_REDIRECT)
        .filter(|v| !v.is_empty())
        .cloned()
}

/// A failed read of `key`, as the website answers it. A reader the policy
/// lets read the key is told a missing key is missing (404, as S3's
/// website endpoint documents), whether or not it may list the bucket.
fn read_failure(e: CoreError, key: &str) -> Failure {
    match e {
        CoreError::NotFound { .. } | CoreError::DeleteMarker { .. } | CoreError::Forbidden(_) => {
            Failure::no_such_key(key)
        }
        CoreError::InvalidInput(_) if key.len() > miniaws_core::storage::MAX_OBJECT_KEY_BYTES => {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "KeyTooLongError",
                "Your key is too long",
            )
        }
        CoreError::InvalidInput(_) => Failure::no_such_key(key),
        CoreError::PreconditionFailed(_) => Failure::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
        CoreError::RangeNotSatisfiable { size_bytes } => {
            let mut f = Failure::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range is not satisfiable",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size_bytes}")) {
                f.headers.insert(header::CONTENT_RANGE, v);
            }
            f
        }
        other => server_failure(&other),
    }
}

/// A fault of ours (a database or disk failure), logged with its chain
/// where it is answered.
fn server_failure(e: &CoreError) -> Failure {
    tracing::error!(error = %e, "the website request failed");
    match e {
        CoreError::Unavailable { .. } => Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Please reduce your request rate.",
        ),
        _ => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_hosts_name_their_bucket() {
        let cases = [
            ("site.s3-website.localhost:4566", Some("site")),
            ("site.s3-website.localhost", Some("site")),
            ("site.s3-website.localhost.", Some("site")),
            ("my.site.s3-website-us-east-1.localhost:80", Some("my.site")),
            ("site.s3-website.eu-west-1.localhost", Some("site")),
            ("s3-website.localhost", None),
            (".s3-website.localhost", None),
            ("site.localhost:4566", None),
            ("site.s3-websitex.localhost", None),
            ("site.s3-website.EU.localhost", None),
            ("site.s3-website.example.com", None),
            ("127.0.0.1:4566", None),
        ];
        for (host, want) in cases {
            assert_eq!(website_bucket(host), want, "host {host}");
        }
    }

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
