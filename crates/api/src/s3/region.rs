//! The region of a request's SigV4 credential scope, checked before s3s.
//!
//! s3s 0.14 takes any region that matches `[a-z0-9-]+` and refuses the rest
//! with a bare 400 `InvalidRequest` "invalid credential region". S3 answers a
//! region it does not serve with 400 `AuthorizationHeaderMalformed` (or
//! `AuthorizationQueryParametersError` for a presigned URL) and names the
//! right one in `<Region>`, which clients read to sign again: s3cmd, whose
//! default `bucket_location` is `US`, signs its first ListBuckets with the
//! region `US` and retries with the one named. So a region s3s would refuse
//! gets S3's answer here instead; a well-formed one is still taken, as
//! before, so that a client configured for any region works locally.

use http::HeaderMap;
use s3s::{S3Error, S3ErrorCode};

use super::convert::REGION;

/// Where a SigV4 credential came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The `Authorization` header.
    Header,
    /// A presigned URL's `X-Amz-Credential`.
    Query,
}

/// The refusal of a request whose credential scope names a region s3s
/// cannot take, or `None` when there is nothing to refuse.
pub fn check(headers: &HeaderMap, query: Option<&str>) -> Option<S3Error> {
    let (region, source) = credential_region(headers, query)?;
    if is_region_name(&region) {
        return None;
    }
    Some(wrong_region(&region, source))
}

/// Whether s3s takes `region` (its rule: `[a-z0-9-]+`).
fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The region of the request's SigV4 credential scope and where it was
/// found; `None` when the request is not SigV4-signed in a form we can read
/// (s3s then answers it as it does).
fn credential_region(headers: &HeaderMap, query: Option<&str>) -> Option<(String, Source)> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let auth = crate::ec2::sigv4::parse_authorization(value.to_str().ok()?)?;
        return Some((auth.region.to_owned(), Source::Header));
    }
    let credential = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))?;
    let credential = percent_encoding::percent_decode_str(credential)
        .decode_utf8()
        .ok()?;
    let region = credential.split('/').nth(2)?;
    Some((region.to_owned(), Source::Query))
}

/// S3's answer to a credential scope naming the wrong region.
fn wrong_region(region: &str, source: Source) -> S3Error {
    let (code, message) = match source {
        Source::Header => (
            S3ErrorCode::AuthorizationHeaderMalformed,
            format!(
                "The authorization header is malformed; the region '{region}' is wrong; expecting '{REGION}'"
            ),
        ),
        Source::Query => (
            S3ErrorCode::AuthorizationQueryParametersError,
            format!(
                "Error parsing the X-Amz-Credential parameter; the region '{region}' is wrong; expecting '{REGION}'"
            ),
        ),
    };
    super::wire::with_details(S3Error::with_message(code, message), &[("Region", REGION)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn signed(region: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261129/{region}/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
            ))
            .expect("ascii"),
        );
        h
    }

    #[test]
    fn a_region_s3s_takes_is_left_alone() {
        assert!(check(&signed("us-east-1"), None).is_none());
        assert!(check(&signed("eu-west-3"), None).is_none());
        assert!(check(&HeaderMap::new(), Some("list-type=2")).is_none());
        assert!(check(&HeaderMap::new(), None).is_none());
    }

    #[test]
    fn an_uppercase_region_gets_s3s_answer_with_the_right_one() {
        let e = check(&signed("US"), None).expect("refused");
        assert_eq!(e.code(), &S3ErrorCode::AuthorizationHeaderMalformed);
        let message = e.message().expect("a message");
        assert!(
            message.contains("'US' is wrong; expecting 'us-east-1'"),
            "{message}"
        );
        let headers = format!("{:?}", e.headers().expect("headers"));
        assert!(headers.contains("<Region>us-east-1</Region>"), "{headers}");
    }

    #[test]
    fn a_presigned_credential_is_read_from_the_query() {
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261129%2FEU%2Fs3%2Faws4_request&X-Amz-Signature=ab";
        let e = check(&HeaderMap::new(), Some(q)).expect("refused");
        assert_eq!(e.code(), &S3ErrorCode::AuthorizationQueryParametersError);
        let fine = q.replace("%2FEU%2F", "%2Feu-central-1%2F");
        assert!(check(&HeaderMap::new(), Some(&fine)).is_none());
    }

    #[test]
    fn an_unreadable_authorization_is_left_to_s3s() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("AWS AKIAEXAMPLE:c2lnbmF0dXJl"),
        );
        assert!(check(&h, None).is_none());
    }
}
