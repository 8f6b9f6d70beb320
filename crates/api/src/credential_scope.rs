//! The SigV4 credential scope of a request on the AWS listener
//! (`<access key id>/<yyyymmdd>/<region>/<service>/aws4_request`), read
//! once by the listener's router and handed to each decision that needs
//! it: whether the request is EC2's ([`crate::ec2::is_ec2_request`]),
//! STS's or a service's Mini AWS does not have ([`crate::sts`]), and
//! whether s3s can take its region ([`crate::s3::region`]).
//!
//! It comes from the `Authorization` header when there is one (and only
//! a well-formed SigV4 header counts, as
//! [`parse_authorization`](crate::ec2::sigv4::parse_authorization) reads
//! it), else from a presigned URL's `X-Amz-Credential`. Cheap on S3's
//! path: the parts borrow from the request, and a presigned credential
//! is split at its (escaped) slashes before it is decoded, so only a part
//! with an escape of its own allocates.

use std::borrow::Cow;

use http::HeaderMap;

/// Where a request's credential scope was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeSource {
    /// The `Authorization` header.
    Header,
    /// A presigned URL's `X-Amz-Credential`.
    Query,
}

/// A request's SigV4 credential scope and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope<'a> {
    access_key: Cow<'a, str>,
    date: Cow<'a, str>,
    region: Cow<'a, str>,
    service: Cow<'a, str>,
    source: ScopeSource,
}

impl<'a> CredentialScope<'a> {
    /// The scope of a request with `headers` and `query`: the
    /// `Authorization` header's when the request has one (`None` when
    /// that is not a well-formed SigV4 header, whatever the query holds),
    /// else the query's `X-Amz-Credential`'s. `None` also when the
    /// request is not SigV4-signed in a form read here (s3s then answers
    /// it as it does).
    pub fn of(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<Self> {
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            return Self::from_authorization(value.to_str().ok()?);
        }
        Self::from_query(query?)
    }

    /// The scope of an `Authorization: AWS4-HMAC-SHA256 …` header.
    pub fn from_authorization(value: &'a str) -> Option<Self> {
        let auth = crate::ec2::sigv4::parse_authorization(value)?;
        Some(Self {
            access_key: Cow::Borrowed(auth.access_key),
            date: Cow::Borrowed(auth.date),
            region: Cow::Borrowed(auth.region),
            service: Cow::Borrowed(auth.service),
            source: ScopeSource::Header,
        })
    }

    /// The scope of a presigned URL's query (its first
    /// `X-Amz-Credential`, the name read decoded as s3s reads it, so that
    /// `X-Amz-Credentia%6C` is found too), percent-decoded.
    pub fn from_query(query: &'a str) -> Option<Self> {
        let raw = query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            crate::query::raw_name_is(name, "X-Amz-Credential").then_some(value)
        })?;
        let mut parts = split_slashes(raw);
        let mut next = || {
            parts
                .next()
                .and_then(|p| percent_encoding::percent_decode_str(p).decode_utf8().ok())
        };
        let scope = Self {
            access_key: next()?,
            date: next()?,
            region: next()?,
            service: next()?,
            source: ScopeSource::Query,
        };
        (next()? == "aws4_request" && next().is_none()).then_some(scope)
    }

    /// The access key id.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The date of the scope (`YYYYMMDD` when the client is right).
    pub fn date(&self) -> &str {
        &self.date
    }

    /// The region of the scope.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The service of the scope (`s3`, `ec2`, `sts` …).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Where the scope was read.
    pub fn source(&self) -> ScopeSource {
        self.source
    }

    /// The service the request was signed for in its `Authorization`
    /// header, which is what the listener routes by (a presigned URL is
    /// S3's: the Query APIs take no presigned form).
    pub fn header_service(&self) -> Option<&str> {
        (self.source == ScopeSource::Header).then_some(self.service())
    }
}

/// The parts of a credential as sent in a query, split at each slash,
/// plain (`/`) or escaped (`%2F`, `%2f`). Every cut is at an ASCII byte,
/// so on a character boundary.
fn split_slashes(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let s = rest?;
        let bytes = s.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let width = match b {
                b'/' => 1,
                b'%' if bytes.get(i + 1) == Some(&b'2')
                    && matches!(bytes.get(i + 2), Some(b'f' | b'F')) =>
                {
                    3
                }
                _ => continue,
            };
            rest = Some(&s[i + width..]);
            return Some(&s[..i]);
        }
        rest = None;
        Some(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn header(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("a header value"),
        );
        h
    }

    fn parts<'s>(scope: &'s CredentialScope<'_>) -> (&'s str, &'s str, &'s str, &'s str) {
        (
            scope.access_key(),
            scope.date(),
            scope.region(),
            scope.service(),
        )
    }

    const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261129/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd";

    #[test]
    fn a_signed_header_gives_its_scope_borrowed() {
        let h = header(SIGNED);
        let scope = CredentialScope::of(
            &h,
            Some("X-Amz-Credential=OTHER%2F1%2F2%2Fs3%2Faws4_request"),
        )
        .expect("a scope");
        assert_eq!(
            parts(&scope),
            ("AKIAEXAMPLE", "20261129", "us-east-1", "ec2")
        );
        assert_eq!(scope.source(), ScopeSource::Header);
        assert_eq!(scope.header_service(), Some("ec2"));
        assert!(matches!(scope.service, Cow::Borrowed(_)), "no copy");
    }

    #[test]
    fn a_presigned_credential_is_decoded_part_by_part() {
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261129%2Feu-west-3%2Fs3%2Faws4_request&X-Amz-Signature=ab";
        let none = HeaderMap::new();
        let scope = CredentialScope::of(&none, Some(q)).expect("a scope");
        assert_eq!(
            parts(&scope),
            ("AKIAEXAMPLE", "20261129", "eu-west-3", "s3")
        );
        assert_eq!(scope.source(), ScopeSource::Query);
        assert_eq!(scope.header_service(), None, "a presigned URL routes to S3");
        // Only the escaped slashes: nothing is copied.
        assert!(matches!(scope.region, Cow::Borrowed(_)));
        // Plain and lowercase-escaped slashes, and an escape in a part.
        let q = "X-Amz-Credential=AK/20261129%2fUS%20X/s3%2Faws4_request";
        let scope = CredentialScope::from_query(q).expect("a scope");
        assert_eq!(parts(&scope), ("AK", "20261129", "US X", "s3"));
        // An escaped `%` is not a slash.
        let q = "X-Amz-Credential=AK%252F20261129%2Fr%2Fs3%2Faws4_request";
        assert_eq!(CredentialScope::from_query(q), None);
        // A name written with an escape is the name s3s reads.
        let q = "a=b&X-Amz-Credentia%6C=AK%2F20261129%2Fus-east-1%2Fsts%2Faws4_request";
        let scope = CredentialScope::from_query(q).expect("a scope");
        assert_eq!(parts(&scope), ("AK", "20261129", "us-east-1", "sts"));
    }

    #[test]
    fn no_scope_without_a_signature_read_here() {
        assert_eq!(CredentialScope::of(&HeaderMap::new(), None), None);
        assert_eq!(
            CredentialScope::of(&HeaderMap::new(), Some("list-type=2&prefix=a")),
            None
        );
        // A header that is not SigV4 hides the query's credential.
        let h = header("AWS AKIAEXAMPLE:c2lnbmF0dXJl");
        let q = "X-Amz-Credential=AK%2F20261129%2Fus-east-1%2Fs3%2Faws4_request";
        assert_eq!(CredentialScope::of(&h, Some(q)), None);
        // A header that is not even visible ASCII.
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_bytes("AWS4-HMAC-SHA256 Credential=é".as_bytes()).expect("obs-text"),
        );
        assert_eq!(CredentialScope::of(&h, Some(q)), None);
    }

    #[test]
    fn malformed_headers_give_no_scope_and_no_panic() {
        for bad in [
            "",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA256 Credential=",
            "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3/aws4_request/x, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3/aws4_reques, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab, Extra=1",
            "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3/aws4_request,, Signature=ab",
            "AWS4-HMAC-SHA256 Credential AK/20261129/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AK/2026é1129/ré/s3é/aws4_requesté, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=é/é/é/é/é/é, SignedHeaders=é, Signature=é",
            "AWS4-HMAC-SHA256é",
            "éAWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA1 Credential=AK/20261129/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
            "Bearer AKIAEXAMPLE",
        ] {
            assert_eq!(CredentialScope::from_authorization(bad), None, "{bad}");
        }
        // Multibyte characters in a part are kept whole.
        let scope = CredentialScope::from_authorization(
            "AWS4-HMAC-SHA256 Credential=ÅK/20261129/rég/s3/aws4_request, SignedHeaders=host, Signature=ab",
        )
        .expect("well-formed");
        assert_eq!(parts(&scope), ("ÅK", "20261129", "rég", "s3"));
    }

    #[test]
    fn malformed_presigned_credentials_give_no_scope_and_no_panic() {
        for bad in [
            "X-Amz-Credential=",
            "X-Amz-Credential=garbage",
            "X-Amz-Credential=AK%2F20261129%2FEU",
            "X-Amz-Credential=AK%2F20261129%2FEU%2Fs3",
            "X-Amz-Credential=AK%2F20261129%2FEU%2Fs3%2Faws4_request%2Fx",
            "X-Amz-Credential=AK%2F20261129%2FEU%2Fs3%2Faws4_request%2F",
            "X-Amz-Credential=AK%2F20261129%2FEU%2Fs3%2Faws4_requesx",
            "X-Amz-Credential=%FF%2F20261129%2FEU%2Fs3%2Faws4_request",
            "X-Amz-Credential=AK%2F20261129%2F%FF%2Fs3%2Faws4_request",
            "X-Amz-Credential=AK%2F20261129%2FEU%2Fs3%2Faws4_request%FF",
            "X-Amz-Credential=AK%2",
            "X-Amz-Credential=AK%",
            "X-Amz-Credential=%2",
            "X-Amz-Credential=%",
            "X-Amz-Credential=é%2Fé%2Fé%2F%C3",
            "X-Amz-Credential=é%2Fé%2Fé%2Fé%2Faws4_request%C3",
            "x-amz-credential=AK%2F20261129%2FEU%2Fs3%2Faws4_request",
        ] {
            assert_eq!(CredentialScope::from_query(bad), None, "{bad}");
        }
        let scope =
            CredentialScope::from_query("X-Amz-Credential=é%2F%C3%A9%2Fé%2Fé%2Faws4_request")
                .expect("well-formed, if odd");
        assert_eq!(parts(&scope), ("é", "é", "é", "é"));
    }

    #[test]
    fn slashes_split_plain_or_escaped() {
        let split = |s| split_slashes(s).collect::<Vec<_>>();
        assert_eq!(split(""), [""]);
        assert_eq!(split("a/b%2Fc%2fd"), ["a", "b", "c", "d"]);
        assert_eq!(split("a%2"), ["a%2"]);
        assert_eq!(split("a%25%2F"), ["a%25", ""]);
        assert_eq!(split("é/%2Fé"), ["é", "", "é"]);
    }
}
