//! The region of a request's SigV4 credential scope, checked before s3s,
//! and the service of a presigned URL's.
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

use s3s::{S3Error, S3ErrorCode};

use super::convert::REGION;
use crate::credential_scope::{CredentialScope, ScopeSource};

/// The refusal of a request whose credential scope names a region s3s
/// cannot take, or of a presigned URL signed for another service than
/// S3, or `None` when there is nothing to refuse.
///
/// The listener routes a request by the service of its `Authorization`
/// header (EC2, STS, S3), and takes every presigned URL for S3's (the
/// Query APIs have no presigned form here). s3s checks a presigned
/// signature with the key of the service the URL names, so without this
/// a URL presigned for `sts` (an EKS-style `GetCallerIdentity` token, say)
/// would be a valid S3 request — `GET /?Action=…` is ListBuckets. S3
/// refuses it: "Error parsing the X-Amz-Credential parameter; incorrect
/// service".
pub fn check(scope: &CredentialScope<'_>) -> Option<S3Error> {
    if scope.source() == ScopeSource::Query && scope.service() != "s3" {
        return Some(S3Error::with_message(
            S3ErrorCode::AuthorizationQueryParametersError,
            format!(
                "Error parsing the X-Amz-Credential parameter; incorrect service \"{}\". This \
                 endpoint belongs to \"s3\".",
                scope.service()
            ),
        ));
    }
    let region = scope.region();
    if is_region_name(region) {
        return None;
    }
    Some(wrong_region(region, scope.source()))
}

/// Whether s3s takes `region` (its rule: `[a-z0-9-]+`).
fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// S3's answer to a credential scope naming the wrong region.
fn wrong_region(region: &str, source: ScopeSource) -> S3Error {
    let (code, message) = match source {
        ScopeSource::Header => (
            S3ErrorCode::AuthorizationHeaderMalformed,
            format!(
                "The authorization header is malformed; the region '{region}' is wrong; expecting '{REGION}'"
            ),
        ),
        ScopeSource::Query => (
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
    use http::{HeaderMap, HeaderValue};

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

    /// The router's check: the scope, if any, then the region.
    fn check_request(headers: &HeaderMap, query: Option<&str>) -> Option<S3Error> {
        CredentialScope::of(headers, query).as_ref().and_then(check)
    }

    #[test]
    fn a_url_presigned_for_another_service_is_refused() {
        let presigned = |service: &str| {
            format!(
                "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261129%2Fus-east-1%2F{service}%2Faws4_request&X-Amz-Signature=ab"
            )
        };
        let none = HeaderMap::new();
        for service in ["sts", "ec2", "iam", "S3"] {
            let q = presigned(service);
            let e = check_request(&none, Some(&q)).expect("refused");
            assert_eq!(
                *e.code(),
                S3ErrorCode::AuthorizationQueryParametersError,
                "{service}"
            );
            assert!(
                e.message()
                    .is_some_and(|m| m.contains(&format!("incorrect service \"{service}\""))),
                "{e:?}"
            );
        }
        assert!(check_request(&none, Some(&presigned("s3"))).is_none());
    }

    #[test]
    fn a_region_s3s_takes_is_left_alone() {
        assert!(check_request(&signed("us-east-1"), None).is_none());
        assert!(check_request(&signed("eu-west-3"), None).is_none());
        assert!(check_request(&HeaderMap::new(), Some("list-type=2")).is_none());
        assert!(check_request(&HeaderMap::new(), None).is_none());
    }

    #[test]
    fn an_uppercase_region_gets_s3s_answer_with_the_right_one() {
        let e = check_request(&signed("US"), None).expect("refused");
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
        let e = check_request(&HeaderMap::new(), Some(q)).expect("refused");
        assert_eq!(e.code(), &S3ErrorCode::AuthorizationQueryParametersError);
        let fine = q.replace("%2FEU%2F", "%2Feu-central-1%2F");
        assert!(check_request(&HeaderMap::new(), Some(&fine)).is_none());
    }

    #[test]
    fn an_unreadable_authorization_is_left_to_s3s() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("AWS AKIAEXAMPLE:c2lnbmF0dXJl"),
        );
        assert!(check_request(&h, None).is_none());
    }
}
