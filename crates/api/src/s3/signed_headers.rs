//! SigV4's rule that every `x-amz-*` header of a request is signed.
//!
//! s3s checks a SigV4 signature over the headers its `SignedHeaders` lists
//! and nothing else, so a header added after signing passes unseen: the
//! holder of a presigned PUT URL could add `x-amz-copy-source` (and copy
//! into the key any object the signer can read), an Object Lock retention
//! the signer can never lift, tags or a website redirect. S3 refuses such
//! a request: 403 `AccessDenied` "There were headers present in the request
//! which were not signed", naming them in `<HeadersNotSigned>`. Checked in
//! the access check, after the signature and before any body is read.
//!
//! What counts as signed: a header `SignedHeaders` lists (the
//! `Authorization` header's, or a presigned URL's `X-Amz-SignedHeaders`);
//! for a presigned URL also an `x-amz-*` query parameter (the signature
//! covers the whole query; [`super::request_options::hoist_presigned`]
//! copies them into headers) when the header has that very value; and
//! `x-amz-content-sha256`, which only describes the body and is checked
//! against it. SigV2 needs no check (its signature covers every `x-amz-*`
//! header), nor does an anonymous request (it speaks for no signer).

use http::HeaderMap;
use percent_encoding::percent_decode_str;

/// The headers always accepted unsigned.
const ALWAYS_ACCEPTED: &[&str] = &["x-amz-content-sha256"];

/// The `x-amz-*` headers of a SigV4 request (header-signed or presigned)
/// that its signature does not cover, in the order they came; empty for
/// any other request.
#[must_use]
pub fn unsigned_amz_headers(headers: &HeaderMap, query: Option<&str>) -> Vec<String> {
    let Some(signed) = signed_by(headers, query) else {
        return Vec::new();
    };
    let mut unsigned: Vec<String> = Vec::new();
    for (name, value) in headers {
        let name = name.as_str();
        if !name.starts_with("x-amz-")
            || ALWAYS_ACCEPTED.contains(&name)
            || signed.headers.iter().any(|s| s == name)
            || signed
                .query
                .iter()
                .any(|(n, v)| n == name && v.as_slice() == value.as_bytes())
            || unsigned.iter().any(|u| u == name)
        {
            continue;
        }
        unsigned.push(name.to_owned());
    }
    unsigned
}

/// What a SigV4 signature covers.
struct Signed {
    /// `SignedHeaders`, lowercase.
    headers: Vec<String>,
    /// A presigned URL's `x-amz-*` query parameters (names lowercase,
    /// values decoded).
    query: Vec<(String, Vec<u8>)>,
}

/// What the SigV4 signature of the request covers; `None` when it has
/// none (SigV2, anonymous).
fn signed_by(headers: &HeaderMap, query: Option<&str>) -> Option<Signed> {
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    };
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("AWS4-HMAC-SHA256"))
    {
        let signed = auth
            .split(',')
            .filter_map(|part| part.trim().strip_prefix("SignedHeaders="))
            .next()
            .map(list)
            .unwrap_or_default();
        return Some(Signed {
            headers: signed,
            query: Vec::new(),
        });
    }
    let params: Vec<(String, Vec<u8>)> = query?
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            let name = String::from_utf8_lossy(&percent_decode_str(name).collect::<Vec<u8>>())
                .to_ascii_lowercase();
            (name, percent_decode_str(value).collect())
        })
        .collect();
    let value_of = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    if value_of("x-amz-algorithm").as_deref() != Some("AWS4-HMAC-SHA256") {
        return None;
    }
    let signed = value_of("x-amz-signedheaders")
        .map(|v| list(&v))
        .unwrap_or_default();
    Some(Signed {
        headers: signed,
        query: params
            .into_iter()
            .filter(|(n, _)| n.starts_with("x-amz-"))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn header_signed_requests_name_what_they_did_not_sign() {
        let auth = "AWS4-HMAC-SHA256 Credential=AK/20261201/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-a, Signature=00";
        let h = headers(&[
            ("authorization", auth),
            ("x-amz-date", "20261201T000000Z"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amz-meta-a", "1"),
            ("x-amz-copy-source", "other/secret"),
            ("x-amz-tagging", "k=v"),
            ("content-type", "text/plain"),
        ]);
        assert_eq!(
            unsigned_amz_headers(&h, None),
            vec!["x-amz-copy-source", "x-amz-tagging"]
        );
    }

    #[test]
    fn presigned_urls_sign_their_query_parameters() {
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&x-amz-tagging=k%3Dv&X-Amz-Signature=00";
        // Hoisted from the query, with the same value: signed.
        let hoisted = headers(&[("x-amz-tagging", "k=v")]);
        assert!(unsigned_amz_headers(&hoisted, Some(query)).is_empty());
        // The same name with another value, or a header of its own: not.
        let swapped = headers(&[
            ("x-amz-tagging", "k=evil"),
            ("x-amz-object-lock-legal-hold", "ON"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ]);
        assert_eq!(
            unsigned_amz_headers(&swapped, Some(query)),
            vec!["x-amz-tagging", "x-amz-object-lock-legal-hold"]
        );
    }

    #[test]
    fn other_requests_are_not_checked_here() {
        let h = headers(&[("x-amz-copy-source", "b/k")]);
        assert!(unsigned_amz_headers(&h, None).is_empty(), "anonymous");
        let v2 = headers(&[("authorization", "AWS AK:sig"), ("x-amz-meta-a", "1")]);
        assert!(unsigned_amz_headers(&v2, None).is_empty(), "SigV2");
        assert!(
            unsigned_amz_headers(&h, Some("AWSAccessKeyId=AK&Expires=1&Signature=x")).is_empty(),
            "SigV2 presigned"
        );
    }
}
