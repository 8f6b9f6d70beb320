//! HTTP/1.1 framing rules hyper leaves to the application (RFC 9112),
//! checked on both listeners before anything else reads the request.
//!
//! - A transfer coding other than `chunked` (say `gzip, chunked`): hyper
//!   takes the chunks apart and hands over the still-coded bytes, which
//!   would be stored as the object, silently corrupt. A server that does
//!   not understand a coding answers 501 (§6.1).
//! - Two `Host` headers: which one names the server? The native API's
//!   host check would depend on their order. 400 (§3.2).
//! - An HTTP/1.1 request without a `Host`: 400 (§3.2).

use axum::extract::Request;
use axum::http::{StatusCode, Version, header};

/// What is wrong with `req`'s framing, if anything: the status to answer
/// and a message that says what to send instead.
pub fn problem(req: &Request) -> Option<(StatusCode, String)> {
    for value in req.headers().get_all(header::TRANSFER_ENCODING) {
        let text = value.to_str().unwrap_or("\u{fffd}");
        if let Some(coding) = text
            .split(',')
            .map(str::trim)
            .find(|c| !c.eq_ignore_ascii_case("chunked"))
        {
            return Some((
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "the transfer coding `{}` is not supported: send the body as it is, or chunked",
                    coding.escape_default()
                ),
            ));
        }
    }
    let hosts = req.headers().get_all(header::HOST).iter().count();
    if hosts > 1 {
        return Some((
            StatusCode::BAD_REQUEST,
            "the request has more than one Host header: send one".to_owned(),
        ));
    }
    if hosts == 0 && req.version() == Version::HTTP_11 && req.uri().authority().is_none() {
        return Some((
            StatusCode::BAD_REQUEST,
            "an HTTP/1.1 request needs a Host header".to_owned(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(version: Version, headers: &[(&str, &str)]) -> Request {
        let mut builder = axum::http::Request::builder().uri("/x").version(version);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn framing_rules() {
        let ok = [
            request(Version::HTTP_11, &[("host", "a")]),
            request(
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "chunked")],
            ),
            request(
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "Chunked")],
            ),
            request(Version::HTTP_10, &[]),
        ];
        for r in &ok {
            assert_eq!(problem(r), None, "{:?}", r.headers());
        }
        let refused = [
            (
                request(
                    Version::HTTP_11,
                    &[("host", "a"), ("transfer-encoding", "gzip, chunked")],
                ),
                StatusCode::NOT_IMPLEMENTED,
            ),
            (
                request(Version::HTTP_11, &[("host", "a"), ("host", "b")]),
                StatusCode::BAD_REQUEST,
            ),
            (request(Version::HTTP_11, &[]), StatusCode::BAD_REQUEST),
        ];
        for (r, status) in &refused {
            assert_eq!(problem(r).map(|p| p.0), Some(*status), "{:?}", r.headers());
        }
    }
}
