//! CORS on the S3 listener, as S3 enforces a bucket's CORS configuration
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>):
//!
//! - A preflight (`OPTIONS /<bucket>[/<key>]`, path style or on
//!   `<bucket>.localhost`) is answered here, in front of s3s (which has no
//!   operation for it), without authentication: browsers never sign it.
//!   The first rule matching `Origin`, `Access-Control-Request-Method` and
//!   every `Access-Control-Request-Headers` entry gives 200 with the
//!   `Access-Control-*` headers; anything else is 403 `AccessForbidden`
//!   with S3's `CORSResponse: …` message; a preflight without `Origin`
//!   (or with an empty one), or
//!   without (or with another) `Access-Control-Request-Method`, is 400.
//! - Any other request with an `Origin` gets the matching rule's
//!   `Access-Control-*` headers on its answer, errors included (S3 decides
//!   on the configuration alone, whatever the outcome of authentication).
//!   Only requests with an `Origin` look the configuration up: the others
//!   cost no database round trip.
//!
//! Hand-written: s3s stores nothing and answers no preflight, and the
//! generic `tower-http` CORS layer has one policy for a whole service,
//! while S3's is per bucket and read from the database.

use axum::extract::Request;
use axum::response::Response;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, HOST, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use miniaws_core::storage::{BucketCors, CORS_METHODS, CorsMatch};
use s3s::{S3Error, S3ErrorCode, S3Result};

use super::host::bucket_of_host;
use super::s3_error;
use crate::state::AppState;

/// What S3 answers in `Vary` to every CORS answer: the answer depends on
/// these request headers.
const VARY_VALUE: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// S3's message when no rule allows a preflight.
pub const NOT_ALLOWED: &str = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

/// S3's message for a preflight to a bucket without a configuration.
pub const NOT_ENABLED: &str = "CORSResponse: CORS is not enabled for this bucket.";

/// S3's message for a preflight to a missing bucket.
pub const NO_BUCKET: &str = "CORSResponse: Bucket not found";

/// Whether a request is a CORS preflight (every `OPTIONS` on this
/// listener: S3 has no other use for the method).
pub fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
}

/// The bucket a request addresses: the `<bucket>.localhost` host, or the
/// first path segment (bucket names need no percent-decoding: they are
/// lowercase letters, digits, dots and hyphens).
fn addressed_bucket(req_headers: &HeaderMap, path: &str) -> Option<String> {
    if let Some(bucket) = req_headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(bucket_of_host)
    {
        return Some(bucket.to_owned());
    }
    let name = path.trim_start_matches('/').split('/').next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// The header value, when it is visible ASCII.
fn header_str<'a>(headers: &'a HeaderMap, name: &http::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request's `Origin`; an empty one names no origin and counts as
/// none (a `*` rule matched it, and its answer allowed the origin "").
fn origin_of(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, &ORIGIN).filter(|o| !o.is_empty())
}

fn forbidden(message: &'static str) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom("AccessForbidden".into()), message);
    e.set_status_code(StatusCode::FORBIDDEN);
    e
}

fn bad_request(message: String) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom("BadRequest".into()), message);
    e.set_status_code(StatusCode::BAD_REQUEST);
    e
}

/// Answers a preflight from the addressed bucket's configuration.
pub async fn preflight(state: AppState, req: Request) -> S3Result<s3s::HttpResponse> {
    let headers = req.headers();
    let Some(origin) = origin_of(headers) else {
        return Err(bad_request(
            "Insufficient information. Origin request header needed.".to_owned(),
        ));
    };
    // Missing, or none of the methods a rule can allow: 400, as S3 answers.
    let method = header_str(headers, &ACCESS_CONTROL_REQUEST_METHOD);
    let Some(method) = method.filter(|m| CORS_METHODS.contains(m)) else {
        return Err(bad_request(format!(
            "Invalid Access-Control-Request-Method: {}",
            method.unwrap_or("null")
        )));
    };
    let requested: Vec<&str> = header_str(headers, &ACCESS_CONTROL_REQUEST_HEADERS)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let Some(bucket) = addressed_bucket(headers, req.uri().path()) else {
        return Err(forbidden(NO_BUCKET));
    };
    let cors = match state.storage.bucket_cors(&bucket).await.map_err(s3_error)? {
        BucketCors::NoBucket => return Err(forbidden(NO_BUCKET)),
        BucketCors::NotConfigured => return Err(forbidden(NOT_ENABLED)),
        BucketCors::Configured(cors) => cors,
    };
    let Some(matched) = cors.find_rule(origin, method, &requested) else {
        return Err(forbidden(NOT_ALLOWED));
    };
    let mut response = s3s::HttpResponse::new(s3s::Body::empty());
    let out = response.headers_mut();
    allow(out, matched, origin);
    if !requested.is_empty()
        && let Ok(v) = HeaderValue::from_str(&requested.join(", "))
    {
        out.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    Ok(response)
}

/// The `Access-Control-*` headers S3 answers for the matched rule to
/// `origin`, on a preflight and on an actual request alike.
fn allow(out: &mut HeaderMap, matched: CorsMatch<'_>, origin: &str) {
    let rule = matched.rule;
    if matched.any_origin {
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    } else if let Ok(v) = HeaderValue::from_str(origin) {
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, v);
        // S3 allows credentials to any origin named by a rule (not to `*`,
        // which browsers would refuse with credentials anyway).
        out.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&rule.allowed_methods.join(", ")) {
        out.insert(ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if !rule.expose_headers.is_empty()
        && let Ok(v) = HeaderValue::from_str(&rule.expose_headers.join(", "))
    {
        out.insert(ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
    if let Some(secs) = rule.max_age_seconds
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        out.insert(ACCESS_CONTROL_MAX_AGE, v);
    }
    out.insert(VARY, HeaderValue::from_static(VARY_VALUE));
}

/// What an actual (non-preflight) request needs to have its answer
/// decorated: its bucket, `Origin` and method. `None` (and no lookup) for a
/// request without `Origin` or not addressed to a bucket.
#[derive(Debug)]
pub struct CorsRequest {
    bucket: String,
    origin: String,
    method: String,
}

impl CorsRequest {
    /// Reads what [`decorate`] needs before the request is consumed.
    pub fn of(req: &Request) -> Option<Self> {
        let origin = origin_of(req.headers())?;
        let bucket = addressed_bucket(req.headers(), req.uri().path())?;
        Some(Self {
            bucket,
            origin: origin.to_owned(),
            method: req.method().as_str().to_owned(),
        })
    }
}

/// Adds the matching rule's `Access-Control-*` headers to `response`, when
/// the bucket has a rule for the request's origin and method. A failed
/// lookup leaves the answer as it is (the browser then refuses it, which
/// is what it would do without a configuration).
pub async fn decorate(state: &AppState, request: CorsRequest, response: &mut Response) {
    let cors = match state.storage.bucket_cors(&request.bucket).await {
        Ok(BucketCors::Configured(cors)) => cors,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "the bucket's CORS configuration could not be read");
            return;
        }
    };
    let none: [&str; 0] = [];
    if let Some(matched) = cors.find_rule(&request.origin, &request.method, &none) {
        allow(response.headers_mut(), matched, &request.origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_comes_from_the_host_or_the_path() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:4566"));
        assert_eq!(
            addressed_bucket(&h, "/photos/a/b.jpg").as_deref(),
            Some("photos")
        );
        assert_eq!(addressed_bucket(&h, "/photos").as_deref(), Some("photos"));
        assert_eq!(addressed_bucket(&h, "/"), None);
        h.insert(HOST, HeaderValue::from_static("photos.localhost:4566"));
        assert_eq!(addressed_bucket(&h, "/a/b.jpg").as_deref(), Some("photos"));
        assert_eq!(addressed_bucket(&h, "/").as_deref(), Some("photos"));
    }
}
