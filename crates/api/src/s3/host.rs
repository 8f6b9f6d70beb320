//! Addressing: path style (`http://127.0.0.1:4566/bucket/key`) and virtual-hosted
//! style for `<bucket>.localhost` (`http://photos.localhost:4566/key`).
//!
//! s3s's own `SingleDomain`/`MultiDomain` treat any host that is not the base
//! domain as a CNAME bucket, which would turn `127.0.0.1:4566` into a bucket
//! name; this small `S3Host` only takes a bucket from `*.localhost`.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// The base domain of virtual-hosted addressing.
pub const VIRTUAL_HOST_DOMAIN: &str = "localhost";

/// `<bucket>.localhost[:port]` → bucket; anything else → path style.
#[derive(Debug, Default)]
pub struct LocalhostHost;

impl S3Host for LocalhostHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match bucket_of_host(host) {
            Some(bucket) => VirtualHost::new(VIRTUAL_HOST_DOMAIN).with_bucket(bucket),
            None => VirtualHost::new(host),
        })
    }
}

/// The bucket named by a virtual-hosted `Host` header, if any.
pub fn bucket_of_host(host: &str) -> Option<&str> {
    // Strip a port, but not the colons of a bracketed IPv6 literal.
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let bucket = name.strip_suffix(VIRTUAL_HOST_DOMAIN)?.strip_suffix('.')?;
    (!bucket.is_empty()).then_some(bucket)
}

/// The bucket a request addresses when it names a bucket alone, without a
/// key — `/<bucket>` path style, or `/` on `<bucket>.localhost` — and
/// whether it came virtual-hosted. (For the requests answered or inspected
/// before s3s routes them: form uploads, CreateBucket's tags.)
pub fn bucket_alone(req: &axum::extract::Request) -> Option<(String, bool)> {
    let path = percent_encoding::percent_decode_str(req.uri().path())
        .decode_utf8()
        .ok()?;
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if let Some(bucket) = host.and_then(bucket_of_host) {
        return (path == "/" || path.is_empty()).then(|| (bucket.to_owned(), true));
    }
    let name = path.trim_start_matches('/');
    let name = name.strip_suffix('/').unwrap_or(name);
    (!name.is_empty() && !name.contains('/')).then(|| (name.to_owned(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_localhost_subdomains_name_a_bucket() {
        let cases = [
            ("127.0.0.1:4566", None),
            ("localhost:4566", None),
            ("localhost", None),
            ("[::1]:4566", None),
            ("photos.localhost:4566", Some("photos")),
            ("photos.localhost", Some("photos")),
            ("my.dotted.bucket.localhost:80", Some("my.dotted.bucket")),
            ("example.com", None),
            (".localhost", None),
        ];
        for (host, want) in cases {
            assert_eq!(bucket_of_host(host), want, "host {host}");
        }
    }
}
