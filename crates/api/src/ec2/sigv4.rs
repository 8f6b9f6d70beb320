//! SigV4 verification of EC2 Query requests (header form: the
//! `Authorization` header that the aws CLI, boto3 and the SDKs send).
//!
//! Hand-written: no maintained crate verifies SigV4 on the server side,
//! and s3s 0.14, which does for S3, keeps its verifier crate-private
//! (`mod sig_v4` is not `pub`) and tied to S3's rules (its canonical URI,
//! `x-amz-content-sha256`). The canonical request follows
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>;
//! the signing key is derived as in `s3/post_policy.rs`.

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, StatusCode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::Ec2Error;

type HmacSha256 = Hmac<Sha256>;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key id.
    pub access_key: &'a str,
    /// `YYYYMMDD` of the credential scope.
    pub date: &'a str,
    /// The region of the scope.
    pub region: &'a str,
    /// The service of the scope (`ec2` here).
    pub service: &'a str,
    /// The signed header names, lowercase, `;`-separated.
    pub signed_headers: &'a str,
    /// The signature, hex.
    pub signature: &'a str,
}

/// Reads an `Authorization` header; `None` unless it is a well-formed
/// SigV4 one.
pub fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let auth = Authorization {
        access_key: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed_headers?,
        signature: signature?,
    };
    (scope.next()? == "aws4_request" && scope.next().is_none()).then_some(auth)
}

/// RFC 3986 encoding as SigV4 wants it: everything but `A-Za-z0-9-_.~`.
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a query component as clients encoded it (`%XX`; a `+` stays a
/// `+`, as SigV4 clients never send it for a space). Invalid escapes stay
/// as they are, which can only make the signature not match.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The canonical query string: each name and value decoded and encoded
/// again, sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical headers of `signed` (lowercase names): values trimmed,
/// inner runs of blanks made one space, several values joined by `,`.
fn canonical_headers(headers: &HeaderMap, signed: &str) -> Option<String> {
    let mut out = String::new();
    for name in signed.split(';') {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| {
                let v = String::from_utf8_lossy(v.as_bytes());
                v.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect();
        if values.is_empty() {
            return None;
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Some(out)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A request as SigV4 sees it.
pub struct SignedRequest<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path, as sent.
    pub path: &'a str,
    /// The query string, as sent (without `?`).
    pub query: &'a str,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

/// The request time (`X-Amz-Date`, `YYYYMMDD'T'HHMMSS'Z'`).
///
/// # Errors
/// `AuthFailure`-style refusal when it is missing or malformed.
pub fn request_time(headers: &HeaderMap) -> Result<OffsetDateTime, Ec2Error> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| time::PrimitiveDateTime::parse(v, fmt).ok())
        .map(time::PrimitiveDateTime::assume_utc)
        .ok_or_else(|| {
            Ec2Error::new(
                StatusCode::BAD_REQUEST,
                "AuthFailure",
                "The request must carry an X-Amz-Date header of the form YYYYMMDDTHHMMSSZ, signed",
            )
        })
}

/// The largest difference between the request time and the server's
/// clock, as EC2 allows.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// Checks the signature of `req` with `secret`; the time was checked
/// before (see [`request_time`]).
///
/// # Errors
/// `SignatureDoesNotMatch` (403) when it does not match, also when a
/// signed header is missing or `host` or `x-amz-date` is not signed.
pub fn verify(
    req: &SignedRequest<'_>,
    auth: &Authorization<'_>,
    amz_date: &str,
    secret: &str,
) -> Result<(), Ec2Error> {
    let mismatch = |why: &str| {
        Ec2Error::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            format!(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method.{why}"
            ),
        )
    };
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"host") || !signed.contains(&"x-amz-date") {
        return Err(mismatch(" (host and x-amz-date must be signed)"));
    }
    if !amz_date.starts_with(auth.date) {
        return Err(mismatch(" (the credential's date is not the request's)"));
    }
    let Some(headers) = canonical_headers(req.headers, auth.signed_headers) else {
        return Err(mismatch(" (a signed header is missing)"));
    };
    let payload_hash = hex::encode(Sha256::digest(req.body));
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        if req.path.is_empty() { "/" } else { req.path },
        canonical_query(req.query),
        headers,
        auth.signed_headers,
        payload_hash
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let Ok(given) = hex::decode(auth.signature) else {
        return Err(mismatch(""));
    };
    let mut mac = HmacSha256::new_from_slice(&k_signing).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    // Constant time: the signature is a secret-derived value.
    mac.verify_slice(&given).map_err(|_| mismatch(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn a_botocore_signature_verifies_and_any_change_breaks_it() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let body = b"Action=DescribeInstances&Version=2016-11-15";
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:4566"));
        headers.insert("x-amz-date", HeaderValue::from_static("20261129T190000Z"));
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let method = Method::POST;
        let sign = |body: &[u8]| {
            // Our own signer over the same canonical form, checked against
            // botocore's value below.
            let canonical = format!(
                "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:127.0.0.1:4566\nx-amz-date:20261129T190000Z\n\ncontent-type;host;x-amz-date\n{}",
                hex::encode(Sha256::digest(body))
            );
            let sts = format!(
                "AWS4-HMAC-SHA256\n20261129T190000Z\n20261129/us-east-1/ec2/aws4_request\n{}",
                hex::encode(Sha256::digest(canonical.as_bytes()))
            );
            let k = hmac(format!("AWS4{secret}").as_bytes(), b"20261129");
            let k = hmac(&k, b"us-east-1");
            let k = hmac(&k, b"ec2");
            let k = hmac(&k, b"aws4_request");
            hex::encode(hmac(&k, sts.as_bytes()))
        };
        let good = sign(body);
        assert_eq!(
            good, BOTOCORE_SIGNATURE,
            "our canonical request must be botocore's"
        );
        let header = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={good}"
        );
        let auth = parse_authorization(&header).expect("well-formed");
        assert_eq!(auth.service, "ec2");
        let req = SignedRequest {
            method: &method,
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        verify(&req, &auth, "20261129T190000Z", secret).expect("verifies");
        let err = verify(&req, &auth, "20261129T190000Z", "wrong").unwrap_err();
        assert_eq!(
            (err.status.as_u16(), err.code),
            (403, "SignatureDoesNotMatch")
        );
        let tampered = SignedRequest {
            body: b"Action=TerminateInstances&Version=2016-11-15",
            ..req
        };
        assert!(verify(&tampered, &auth, "20261129T190000Z", secret).is_err());
        let mut unsigned_host = auth.clone();
        unsigned_host.signed_headers = "content-type;x-amz-date";
        assert!(verify(&req, &unsigned_host, "20261129T190000Z", secret).is_err());
    }

    /// botocore's `SigV4Auth(Credentials("AKIDEXAMPLE", secret), "ec2",
    /// "us-east-1").add_auth` of the request above (a POST of that body to
    /// `http://127.0.0.1:4566/` with that content type), its clock frozen
    /// at 2026-11-29 19:00:00 UTC (`botocore.auth.get_current_datetime`
    /// patched).
    const BOTOCORE_SIGNATURE: &str =
        "bec4282f46205a5918a920eee1b45a0963cf433fccf7dd2103421db687fe9098";

    #[test]
    fn authorization_headers_parse_or_not() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab",
        )
        .unwrap();
        assert_eq!(
            (
                a.access_key,
                a.date,
                a.region,
                a.service,
                a.signed_headers,
                a.signature
            ),
            (
                "AK",
                "20260101",
                "us-east-1",
                "ec2",
                "host;x-amz-date",
                "ab"
            )
        );
        for bad in [
            "",
            "Bearer x",
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/ec2, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/ec2/aws4_request, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/ec2/aws4_request/x, SignedHeaders=host, Signature=ab",
        ] {
            assert_eq!(parse_authorization(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_queries_are_sorted_and_encoded_again() {
        assert_eq!(
            canonical_query(
                "Version=2016-11-15&Action=DescribeInstances&Filter.1.Value.1=a%20b&X=%7E"
            ),
            "Action=DescribeInstances&Filter.1.Value.1=a%20b&Version=2016-11-15&X=~"
        );
        assert_eq!(canonical_query(""), "");
    }
}
