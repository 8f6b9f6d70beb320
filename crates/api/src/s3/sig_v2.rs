//! SigV2 requests for a bucket alone, signed over `/bucket/` but sent to
//! `/bucket`, as botocore sends them.
//!
//! botocore's SigV2 signer (`HmacV1Auth`, boto3's default for presigned
//! URLs to a custom endpoint, and every call of a client configured with
//! `signature_version="s3"`) signs the canonical resource `/bucket/` (its
//! `auth_path`) for ListObjects, HeadBucket, GetBucketLocation, the
//! bucket settings…, and sends the path `/bucket`. S3 accepts both
//! forms. s3s 0.14 checks a SigV2 signature against the path as sent, so
//! those requests were `SignatureDoesNotMatch`. Other signers (rclone's,
//! hand-written ones) sign `/bucket` as sent, and s3cmd sends `/bucket/`;
//! both already work.
//!
//! So, in front of s3s, a SigV2 request (an `Authorization: AWS
//! <key>:<signature>` header, or a presigned `AWSAccessKeyId` /
//! `Signature` / `Expires` query) whose path-style path is a bucket
//! alone without its slash gets the path `/bucket/` — when, and only
//! when, its signature is the one of that form and not the one of the
//! path as sent. The signature is then checked as any other (below),
//! against the path s3s is handed. Nothing is accepted here: the request
//! s3s sees is one the client could have sent itself with the same
//! signature (s3cmd does), and s3s routes `/bucket/` and `/bucket` to the
//! same bucket operation. A mistake in this computation can only leave the
//! path as it was, and the request is answered as before
//! (`SignatureDoesNotMatch`).
//! Virtual-hosted requests are left alone: their path is `/` for a
//! bucket, and `/key` names an object.
//!
//! And every SigV2 signature (header and presigned URL) is checked here,
//! in constant time: s3s 0.14 compares its own with `!=`
//! (`src/ops/signature.rs`, `v2_check_*`), which returns at the first
//! byte that differs, so the time of a refusal tells how much of a guessed
//! signature was right. [`prepare`] reads, in front of s3s, what s3s
//! will check — the access key, the string to sign of the request as s3s
//! is handed it (the virtual-hosted bucket first in the resource), the
//! signature sent — and [`check_signature`] compares it, with
//! [`subtle`], where s3s asks for the key's secret
//! ([`super::auth::IdentityAuth`]): that is after every answer s3s gives
//! before a signature (a bad path or bucket name, a presigned URL without
//! its fields or expired, no date, an unknown or revoked key), which
//! therefore stay s3s's, and just before s3s's comparison. A wrong
//! signature is refused there with s3s's own error
//! (`SignatureDoesNotMatch`, 403), so its answer and log line are the
//! ones s3s's refusal had; s3s's `!=` then only ever compares a signature
//! already found right. Unlike the rewrite, a mistake in the string to sign
//! here would refuse a request s3s accepts: the tests hold it to AWS's
//! examples and to real clients (boto3, rclone, s3cmd, hand signers).
//!
//! The string to sign is hand-written because s3s keeps its own
//! (`sig_v2::create_string_to_sign`) crate-private: [`string_to_sign`]
//! mirrors s3s 0.14.1's (`src/sig_v2/methods.rs`) over the request parts
//! s3s hands it (`src/ops/signature.rs`: `v2_check`), line for line, down
//! to which repeated header or parameter counts as absent. The secret
//! comes from [`IdentityService::authenticate_access_key`], as s3s's own
//! lookup does ([`super::auth::IdentityAuth`]): an unknown or revoked key
//! gets no rewrite, and s3s answers it `InvalidAccessKeyId`. Neither the
//! secret, the string to sign nor a signature is logged.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use miniaws_core::identity::IdentityService;
use s3s::{S3Result, s3_error};
use sha1::Sha1;
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;
use time::macros::format_description;

/// Where a SigV2 signature travels (s3s's `sig_v2::Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `Authorization: AWS <access key id>:<signature>`.
    HeaderAuth,
    /// `?AWSAccessKeyId=…&Expires=…&Signature=…`.
    PresignedUrl,
}

/// The sub-resources s3s puts in the canonical resource, in its order
/// (`INCLUDED_QUERY`, sorted).
const INCLUDED_QUERY: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The request's headers as s3s orders them (`OrderedHeaders`): values
/// that are not UTF-8 left out, sorted by (lowercase) name, a name's
/// values in the order sent.
struct Headers<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Headers<'a> {
    fn of(map: &'a HeaderMap) -> Self {
        let mut pairs: Vec<(&str, &str)> = map
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str(), std::str::from_utf8(value.as_bytes()).ok()?))
            })
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        Self(pairs)
    }

    fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.0
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The value of a header sent exactly once (s3s's `get_unique`).
    fn unique(&self, name: &str) -> Option<&'a str> {
        let mut values = self.all(name);
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }
}

/// The query as s3s reads it (`OrderedQs`): names and values decoded,
/// sorted by name.
struct Query(Vec<(String, String)>);

impl Query {
    fn of(query: Option<&str>) -> Self {
        let mut pairs: Vec<(String, String)> = crate::query::pairs(query)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Self(pairs)
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// The value of a parameter given exactly once (s3s's `get_unique`).
    fn unique(&self, name: &str) -> Option<&str> {
        let mut values = self.0.iter().filter(|(n, _)| n == name);
        let (_, first) = values.next()?;
        values.next().is_none().then_some(first.as_str())
    }
}

/// A request's SigV2 credentials, read as s3s's `v2_check` reads them:
/// a query with a `Signature` is a presigned URL (whatever the headers
/// say), else an `Authorization` header `AWS <key>:<signature>`.
struct V2Credentials {
    mode: Mode,
    access_key: String,
    signature: String,
}

impl V2Credentials {
    /// `None` for a request s3s does not check as SigV2, or refuses
    /// before its signature (missing fields, no date).
    fn of(headers: &Headers<'_>, query: &Query) -> Option<Self> {
        if query.has("Signature") {
            let access_key = query.unique("AWSAccessKeyId")?;
            expires_time(query.unique("Expires")?)?;
            // s3s decodes the (already decoded) value once more.
            let signature = percent_encoding::percent_decode_str(query.unique("Signature")?)
                .decode_utf8()
                .ok()?;
            return Some(Self {
                mode: Mode::PresignedUrl,
                access_key: access_key.to_owned(),
                signature: signature.into_owned(),
            });
        }
        let (access_key, signature) = headers
            .unique("authorization")?
            .strip_prefix("AWS ")?
            .split_once(':')?;
        headers
            .unique("date")
            .or_else(|| headers.unique("x-amz-date"))?;
        Some(Self {
            mode: Mode::HeaderAuth,
            access_key: access_key.to_owned(),
            signature: signature.to_owned(),
        })
    }
}

/// A presigned URL's `Expires` as s3s 0.14.1 reads it
/// (`parse_unix_timestamp`): whole seconds since 1970, no later than the
/// year 9999.
fn expires_time(value: &str) -> Option<OffsetDateTime> {
    value
        .parse::<i64>()
        .ok()
        .filter(|&t| t >= 0)
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
}

/// Refuses a presigned URL whose `Expires`, given once, is no time
/// [`expires_time`] reads (`abc`, `-1`, past the year 9999) with S3's
/// answer, 403 `AccessDenied` "Invalid date (should be seconds since
/// epoch)", and says what is expected. s3s 0.14 answered it 400
/// `InvalidRequest` "missing presigned url v2 fields", as if the field
/// were absent. The value is not echoed (S3 echoes it; it may hold
/// control characters, which XML cannot carry). A missing or repeated
/// `Expires` stays s3s's "missing" answer.
///
/// # Errors
/// `AccessDenied`.
fn refuse_unreadable_expires(query: &Query) -> S3Result<()> {
    if !query.has("Signature") {
        return Ok(());
    }
    match query.unique("Expires") {
        Some(value) if expires_time(value).is_none() => Err(s3_error!(
            AccessDenied,
            "Invalid date (should be seconds since epoch): the Expires of a presigned URL must be a whole number of seconds since 1970-01-01T00:00:00Z, no later than the year 9999"
        )),
        _ => Ok(()),
    }
}

/// SigV2's string to sign, as s3s 0.14.1 builds it: method, `Content-MD5`,
/// `Content-Type`, `Date` (empty when `x-amz-date` is sent) or a presigned
/// URL's `Expires`, the `x-amz-*` headers (values trimmed, a repeated
/// header's joined with commas), then `path` as sent (after `/<bucket>`
/// for a virtual-hosted request, as s3s writes it: see [`Reading::signed`]) and
/// the sub-resources s3s includes.
fn string_to_sign(
    mode: Mode,
    method: &str,
    path: &str,
    query: &Query,
    headers: &Headers<'_>,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(method);
    out.push('\n');
    out.push_str(headers.unique("content-md5").unwrap_or_default());
    out.push('\n');
    out.push_str(headers.unique("content-type").unwrap_or_default());
    out.push('\n');
    match mode {
        Mode::HeaderAuth => {
            if headers.unique("x-amz-date").is_none() {
                out.push_str(headers.unique("date").unwrap_or_default());
            }
        }
        Mode::PresignedUrl => out.push_str(query.unique("Expires").unwrap_or_default()),
    }
    out.push('\n');
    let mut last = "";
    for &(name, _) in &headers.0 {
        if !name.starts_with("x-amz-") || name == last {
            continue;
        }
        last = name;
        out.push_str(name);
        out.push(':');
        let values: Vec<&str> = headers.all(name).map(str::trim).collect();
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push_str(path);
    let mut first = true;
    for name in INCLUDED_QUERY {
        if let Some(value) = query.unique(name) {
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(name);
            if !value.is_empty() {
                out.push('=');
                out.push_str(value);
            }
        }
    }
    out
}

/// Whether `signature` (base64, as sent) is HMAC-SHA1 of `string_to_sign`
/// under `secret`: the base64 of the HMAC, compared with the text sent as
/// s3s compares them (equal strings), but in constant time — the time
/// taken depends on the lengths alone (a SigV2 signature is always 28
/// characters), never on which byte differs.
fn signs(secret: &str, string_to_sign: &str, signature: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(string_to_sign.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    expected.as_bytes().ct_eq(signature.as_bytes()).into()
}

/// What a SigV2 request asks s3s to check (see the module's
/// documentation): the access key, the string to sign s3s computes for
/// it, and the signature sent. Read by [`prepare`] in front of s3s,
/// checked by [`check_signature`] where s3s asks for the key's secret.
/// Its `Debug` shows the access key alone.
pub struct SignedV2 {
    access_key: String,
    string_to_sign: String,
    signature: String,
}

impl std::fmt::Debug for SignedV2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedV2")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// Everything done to an S3 request signed with SigV2 in front of s3s,
/// from one reading of its headers, query and credentials (`now` is the
/// server's clock):
///
/// 0. a presigned URL's `Expires` that is no time is refused
///    ([`refuse_unreadable_expires`], `AccessDenied`);
/// 1. a header-signed request's time is checked ([`Reading::check_time`]:
///    `RequestTimeTooSkewed` or `AccessDenied`, the request goes no
///    further);
/// 2. a path-style request for a bucket alone signed over `/bucket/` but
///    sent to `/bucket` gets the path `/bucket/` (the module's
///    documentation says why);
/// 3. what s3s will check of its signature is returned, for
///    [`check_signature`] ([`Reading::signed`]; `None` for a request s3s
///    checks otherwise or refuses before its signature).
///
/// Any other request (SigV4, anonymous) leaves at its first header and
/// query lookup, untouched, with `Ok(None)`.
///
/// # Errors
/// `RequestTimeTooSkewed`, `AccessDenied`.
pub async fn prepare<B>(
    identity: &IdentityService,
    req: &mut http::Request<B>,
    now: OffsetDateTime,
) -> S3Result<Option<SignedV2>> {
    let Some(reading) = Reading::of(req)? else {
        return Ok(None);
    };
    reading.check_time(now)?;
    let slashed = match reading.slash_candidate(req) {
        Some(candidate) => candidate.checked(identity).await,
        None => None,
    };
    let (slashed_uri, slashed_sts) = slashed.unzip();
    let signed = reading.signed(req, slashed_sts);
    if let Some(uri) = slashed_uri {
        tracing::debug!("SigV2 signature over the bucket's path with a trailing slash");
        *req.uri_mut() = uri;
    }
    Ok(signed)
}

/// Whether `req` carries a SigV2 signature at all, by the cheapest look:
/// an `Authorization: AWS …` header or a `Signature` parameter. Every S3
/// request asks; SigV4 and anonymous ones stop here, before the headers
/// are sorted and the query decoded.
fn claims_v2<B>(req: &http::Request<B>) -> bool {
    req.headers()
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .any(|v| v.as_bytes().starts_with(b"AWS "))
        || crate::query::has(req.uri().query(), "Signature")
}

/// A SigV2 request as s3s 0.14.1 reads it (`v2_check`), made once: its
/// headers and query in s3s's order, and its credentials.
struct Reading<'a> {
    headers: Headers<'a>,
    query: Query,
    credentials: V2Credentials,
}

impl<'a> Reading<'a> {
    /// `None` for a request s3s does not check as SigV2, or refuses
    /// before its signature (a field missing or given twice, no date).
    ///
    /// # Errors
    /// `AccessDenied` for a presigned URL's unreadable `Expires`
    /// ([`refuse_unreadable_expires`]).
    fn of<B>(req: &'a http::Request<B>) -> S3Result<Option<Self>> {
        if !claims_v2(req) {
            return Ok(None);
        }
        let headers = Headers::of(req.headers());
        let query = Query::of(req.uri().query());
        refuse_unreadable_expires(&query)?;
        let Some(credentials) = V2Credentials::of(&headers, &query) else {
            return Ok(None);
        };
        Ok(Some(Self {
            headers,
            query,
            credentials,
        }))
    }

    /// Refuses a request signed in its `Authorization` header whose time
    /// is more than [`super::MAX_CLOCK_SKEW_SECS`] from `now`
    /// (`RequestTimeTooSkewed`, 403), or whose time cannot be read
    /// (`AccessDenied`), as S3 does. The time signed is `x-amz-date` when
    /// sent (the string to sign then has an empty `Date`), else `Date`.
    /// s3s 0.14 checks only that one of the two is there, so without this
    /// a captured request could be replayed for ever; SigV4 and presigned
    /// SigV2 URLs (their `Expires`) have their time checked by s3s.
    ///
    /// # Errors
    /// `RequestTimeTooSkewed`, `AccessDenied`.
    fn check_time(&self, now: OffsetDateTime) -> S3Result<()> {
        if self.credentials.mode != Mode::HeaderAuth {
            return Ok(());
        }
        let sent = self
            .headers
            .unique("x-amz-date")
            .or_else(|| self.headers.unique("date"))
            .and_then(request_time);
        let Some(sent) = sent else {
            return Err(s3_error!(
                AccessDenied,
                "AWS authentication requires a valid Date or x-amz-date header"
            ));
        };
        if (now - sent).abs() > time::Duration::seconds(i64::from(super::MAX_CLOCK_SKEW_SECS)) {
            return Err(s3_error!(
                RequestTimeTooSkewed,
                "The difference between the request time and the server's time is too large: the request was signed at {sent}, more than 15 minutes from the server's clock"
            ));
        }
        Ok(())
    }

    /// The string to sign of `path` (the canonical resource) for this
    /// request.
    fn string_to_sign(&self, method: &str, path: &str) -> String {
        string_to_sign(
            self.credentials.mode,
            method,
            path,
            &self.query,
            &self.headers,
        )
    }

    /// For a request [`bare_bucket_path`] takes: its strings to sign with
    /// the path as sent and with its slash, for [`SlashCandidate::checked`].
    fn slash_candidate<'r, B>(&'r self, req: &'r http::Request<B>) -> Option<SlashCandidate<'r>> {
        let path = bare_bucket_path(req)?;
        let method = req.method().as_str();
        Some(SlashCandidate {
            uri: req.uri(),
            credentials: &self.credentials,
            as_sent: self.string_to_sign(method, path),
            with_slash: self.string_to_sign(method, &format!("{path}/")),
        })
    }

    /// What s3s will check of the request's signature (see [`SignedV2`]):
    /// the string to sign of its resource — the path as sent, after
    /// `/<bucket>` for a virtual-hosted request (the bucket s3s's host
    /// parser [`super::host::LocalhostHost`] reads from the `Host`
    /// header; for HTTP/2, the URI's authority, which s3s makes the
    /// `Host`), or `slashed` when the path is given its slash. A form
    /// upload (a POST of `multipart/form-data`) is checked by its own
    /// rules, never this one (and Mini AWS answers every one of them
    /// itself, see [`super::post_object`]), and a `Host` that is not text
    /// is refused by s3s before any signature: `None`.
    fn signed<B>(&self, req: &http::Request<B>, slashed: Option<String>) -> Option<SignedV2> {
        let form_upload = req.method() == http::Method::POST
            && self
                .headers
                .unique("content-type")
                .and_then(|v| v.parse::<mime::Mime>().ok())
                .is_some_and(|m| m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA);
        if form_upload {
            return None;
        }
        let host = match req.headers().get(http::header::HOST) {
            Some(value) => Some(value.to_str().ok()?),
            None if req.version() >= http::Version::HTTP_2 => {
                req.uri().authority().map(|a| a.as_str())
            }
            None => None,
        };
        let string_to_sign = match slashed {
            Some(string_to_sign) => string_to_sign,
            None => {
                let path = req.uri().path();
                let method = req.method().as_str();
                match host.and_then(super::host::bucket_of_host) {
                    Some(bucket) => self.string_to_sign(method, &format!("/{bucket}{path}")),
                    None => self.string_to_sign(method, path),
                }
            }
        };
        Some(SignedV2 {
            access_key: self.credentials.access_key.clone(),
            string_to_sign,
            signature: self.credentials.signature.clone(),
        })
    }
}

/// A path-style SigV2 request for a bucket alone, which may have been
/// signed over `/bucket/` (see the module's documentation).
struct SlashCandidate<'r> {
    uri: &'r http::Uri,
    credentials: &'r V2Credentials,
    /// The string to sign of the path as sent.
    as_sent: String,
    /// The string to sign of the path with its slash.
    with_slash: String,
}

impl SlashCandidate<'_> {
    /// Whether the signature is the one of the path with its slash and
    /// not the one of the path as sent, under `secret`.
    fn signed_with_slash(&self, secret: &str) -> bool {
        signs(secret, &self.with_slash, &self.credentials.signature)
            && !signs(secret, &self.as_sent, &self.credentials.signature)
    }

    /// The request's URI with its slash and that path's string to sign,
    /// when the key's secret says the request was signed so; `None`
    /// otherwise (an unknown, revoked or unreadable key too: s3s's own
    /// lookup answers it).
    async fn checked(self, identity: &IdentityService) -> Option<(http::Uri, String)> {
        let (_, secret) = identity
            .authenticate_access_key(&self.credentials.access_key)
            .await
            .ok()?;
        if !self.signed_with_slash(&secret) {
            return None;
        }
        Some((with_slash(self.uri)?, self.with_slash))
    }
}

/// Checks the SigV2 signature of the request being served (`signed`, from
/// [`prepare`]; `None` for any other request) when s3s asks for the
/// secret of `access_key`, which is `secret`: in constant time (see
/// [`signs`]). A request whose signature is not the one of its string to
/// sign under that secret — or, which s3s's reading of the request
/// rules out, that s3s checks under another key — is refused here,
/// before s3s's own comparison runs.
///
/// # Errors
/// `SignatureDoesNotMatch`, exactly as s3s raises it.
pub fn check_signature(signed: Option<&SignedV2>, access_key: &str, secret: &str) -> S3Result<()> {
    match signed {
        None => Ok(()),
        Some(signed)
            if signed.access_key == access_key
                && signs(secret, &signed.string_to_sign, &signed.signature) =>
        {
            Ok(())
        }
        Some(_) => Err(s3_error!(SignatureDoesNotMatch)),
    }
}

/// The path `/bucket` of a path-style request for a bucket alone, without
/// its trailing slash; `None` for anything else (an object, the root,
/// `/bucket/`, a virtual-hosted request — on `<bucket>.localhost`, as
/// s3s's host parser [`super::host::LocalhostHost`] reads it —, or an
/// escaped path, which no client sends for a bucket name).
fn bare_bucket_path<B>(req: &http::Request<B>) -> Option<&str> {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if host.and_then(super::host::bucket_of_host).is_some() {
        return None;
    }
    let path = req.uri().path();
    let name = path.strip_prefix('/')?;
    (!name.is_empty() && !name.contains(['/', '%'])).then_some(path)
}

/// The request's URI with `/` after its path (query and authority kept).
fn with_slash(uri: &http::Uri) -> Option<http::Uri> {
    let path_and_query = match uri.query() {
        Some(query) => format!("{}/?{query}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    http::Uri::from_parts(parts).ok()
}

/// A SigV2 request's time: an HTTP date (`Tue, 01 Dec 2026 23:00:00 GMT`,
/// what botocore and the Go SDK send), an RFC 2822 one with a numeric zone
/// (`Tue, 01 Dec 2026 23:00:00 +0000`, s3cmd's `x-amz-date`), or the ISO
/// 8601 basic form SigV4 uses (`20261201T230000Z`), which some clients put
/// in `x-amz-date` whatever they sign with.
fn request_time(value: &str) -> Option<OffsetDateTime> {
    if let Some(t) = crate::storage::parse_http_date_value(value) {
        return Some(t);
    }
    if let Ok(t) = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822) {
        return Some(t);
    }
    let basic = format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(value, basic)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// Only a SigV2 header-signed request has its time checked here, the
    /// one it signed (`x-amz-date`, else `Date`), 15 minutes either way.
    #[test]
    fn header_signed_requests_have_their_time_checked() {
        let now = time::macros::datetime!(2026-12-01 12:00 UTC);
        let v2 = ("authorization", "AWS AKID:c2ln");
        /// What is checked, the request's headers, the error code expected.
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            (
                "now",
                &[v2, ("date", "Tue, 01 Dec 2026 12:00:00 GMT")],
                None,
            ),
            (
                "14 min old",
                &[v2, ("date", "Tue, 01 Dec 2026 11:46:00 GMT")],
                None,
            ),
            (
                "16 min old",
                &[v2, ("date", "Tue, 01 Dec 2026 11:44:00 GMT")],
                Some("RequestTimeTooSkewed"),
            ),
            (
                "16 min ahead",
                &[v2, ("date", "Tue, 01 Dec 2026 12:16:00 GMT")],
                Some("RequestTimeTooSkewed"),
            ),
            (
                "x-amz-date wins over an old Date",
                &[
                    v2,
                    ("date", "Tue, 01 Dec 2026 08:00:00 GMT"),
                    ("x-amz-date", "Tue, 01 Dec 2026 12:01:00 GMT"),
                ],
                None,
            ),
            (
                "an old x-amz-date",
                &[
                    v2,
                    ("date", "Tue, 01 Dec 2026 12:00:00 GMT"),
                    ("x-amz-date", "20261201T100000Z"),
                ],
                Some("RequestTimeTooSkewed"),
            ),
            (
                "ISO 8601 basic",
                &[v2, ("x-amz-date", "20261201T120500Z")],
                None,
            ),
            (
                "s3cmd's numeric zone",
                &[v2, ("x-amz-date", "Tue, 01 Dec 2026 12:03:00 +0000")],
                None,
            ),
            (
                "an old numeric zone",
                &[v2, ("x-amz-date", "Tue, 01 Dec 2026 13:00:00 -0200")],
                Some("RequestTimeTooSkewed"),
            ),
            (
                "no date at all",
                &[v2, ("date", "yesterday")],
                Some("AccessDenied"),
            ),
            // Not ours to check: s3s checks SigV4's time, and a request
            // without a V2 signature is not signed with SigV2.
            (
                "SigV4",
                &[
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
                    ),
                    ("x-amz-date", "20260101T000000Z"),
                ],
                None,
            ),
            (
                "anonymous",
                &[("date", "Tue, 01 Dec 2020 12:00:00 GMT")],
                None,
            ),
        ];
        for (what, headers, expected) in cases {
            let req = request("GET", "/b/k", headers);
            let got = check_header_time(&req, now)
                .err()
                .map(|e| e.code().as_str().to_owned());
            assert_eq!(got.as_deref(), *expected, "{what}");
        }
        // A presigned URL's time is its Expires, which s3s checks.
        let presigned = request(
            "GET",
            "/b/k?AWSAccessKeyId=AKID&Expires=1&Signature=c2ln",
            &[("date", "Tue, 01 Dec 2020 12:00:00 GMT")],
        );
        assert!(check_header_time(&presigned, now).is_ok());
    }

    /// [`prepare`]'s time check alone.
    fn check_header_time(req: &http::Request<()>, now: OffsetDateTime) -> S3Result<()> {
        Reading::of(req)?.map_or(Ok(()), |reading| reading.check_time(now))
    }

    /// What [`prepare`] returns for a request it does not rewrite.
    fn signed_v2(req: &http::Request<()>) -> Option<SignedV2> {
        Reading::of(req).ok()??.signed(req, None)
    }

    /// The secret of AWS's SigV2 examples (also s3s's tests).
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::Request<()> {
        let mut req = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(()).expect("a request")
    }

    fn sts(req: &http::Request<()>, mode: Mode) -> String {
        let headers = Headers::of(req.headers());
        let query = Query::of(req.uri().query());
        string_to_sign(
            mode,
            req.method().as_str(),
            req.uri().path(),
            &query,
            &headers,
        )
    }

    /// What, mode, method, URI, headers, signature.
    type Example<'a> = (
        &'a str,
        Mode,
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a str,
    );

    /// AWS's examples, as s3s's tests check them (the virtual-hosted ones
    /// with the bucket written into the path, as s3s prepends it).
    #[test]
    fn the_string_to_sign_is_s3s_s() {
        let cases: &[Example] = &[
            (
                "list a bucket",
                Mode::HeaderAuth,
                "GET",
                "/awsexamplebucket1/",
                &[("date", "Tue, 27 Mar 2007 19:42:41 +0000")],
                "m0WP8eCtspQl5Ahe6L1SozdX9YA=",
            ),
            (
                "a sub-resource",
                Mode::HeaderAuth,
                "GET",
                "/awsexamplebucket1/?acl&list-type=2",
                &[("date", "Tue, 27 Mar 2007 19:44:46 +0000")],
                "82ZHiFIjc+WbcwFKGUVEQspPn+0=",
            ),
            (
                "x-amz-date empties the date",
                Mode::HeaderAuth,
                "DELETE",
                "/awsexamplebucket1/photos/puppy.jpg",
                &[
                    ("date", "Tue, 27 Mar 2007 21:20:27 +0000"),
                    ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
                ],
                "Ri1hpB1zpS9pGqR7y8kuNFCl4sE=",
            ),
            (
                "x-amz headers sorted, repeated ones joined",
                Mode::HeaderAuth,
                "PUT",
                "/static.example.com/db-backup.dat.gz",
                &[
                    ("date", "Tue, 27 Mar 2007 21:06:08 +0000"),
                    ("x-amz-acl", "public-read"),
                    ("content-type", "application/x-download"),
                    ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
                    ("x-amz-meta-reviewedby", "joe@example.com"),
                    ("x-amz-meta-reviewedby", "jane@example.com"),
                    ("x-amz-meta-filechecksum", "0x02661779"),
                    ("x-amz-meta-checksumalgorithm", "crc32"),
                    ("content-disposition", "attachment; filename=database.dat"),
                    ("content-encoding", "gzip"),
                    ("content-length", "5913339"),
                ],
                "jtBQa0Aq+DkULFI8qrpwIjGEx0E=",
            ),
            (
                "presigned: Expires for the date",
                Mode::PresignedUrl,
                "GET",
                "/awsexamplebucket1/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=1No4mq5ETf02z8aet9voy6gui6E%3D&Expires=1175139620",
                &[],
                "1No4mq5ETf02z8aet9voy6gui6E=",
            ),
        ];
        for (what, mode, method, uri, headers, signature) in cases {
            let req = request(method, uri, headers);
            assert!(signs(SECRET, &sts(&req, *mode), signature), "{what}");
            assert!(
                !signs("another secret", &sts(&req, *mode), signature),
                "{what}"
            );
        }
    }

    fn signed_header(secret: &str, string_to_sign: &str) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(string_to_sign.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// Whether [`prepare`] would rewrite `req` (given the key's secret).
    fn rewritten(req: &http::Request<()>) -> Option<String> {
        let reading = Reading::of(req).ok()??;
        let candidate = reading.slash_candidate(req)?;
        candidate
            .signed_with_slash(SECRET)
            .then(|| with_slash(req.uri()).expect("a uri").to_string())
    }

    const DATE: &str = "Tue, 01 Dec 2026 22:00:00 GMT";

    fn header_signed(method: &str, uri: &str, resource: &str, host: &str) -> http::Request<()> {
        let signature = signed_header(SECRET, &format!("{method}\n\n\n{DATE}\n{resource}"));
        request(
            method,
            uri,
            &[
                ("host", host),
                ("date", DATE),
                ("authorization", &format!("AWS AKID:{signature}")),
            ],
        )
    }

    #[test]
    fn only_a_bucket_signed_with_its_slash_is_rewritten() {
        let local = "127.0.0.1:4566";
        // botocore: `/b/` signed, `/b` sent.
        let req = header_signed("GET", "/b?list-type=2", "/b/", local);
        assert_eq!(rewritten(&req).as_deref(), Some("/b/?list-type=2"));
        let req = header_signed("PUT", "/b?tagging", "/b/?tagging", local);
        assert_eq!(rewritten(&req).as_deref(), Some("/b/?tagging"));
        // Signed as sent, or sent with the slash: s3s takes them as they are.
        let req = header_signed("GET", "/b?list-type=2", "/b", local);
        assert_eq!(rewritten(&req), None);
        let req = header_signed("GET", "/b/", "/b/", local);
        assert_eq!(rewritten(&req), None);
        // Another secret, another resource, an object, the root.
        let mut req = header_signed("GET", "/b", "/b/", local);
        let other = signed_header("not the secret", &format!("GET\n\n\n{DATE}\n/b/"));
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("AWS AKID:{other}")).expect("ascii"),
        );
        assert_eq!(rewritten(&req), None);
        assert_eq!(rewritten(&header_signed("GET", "/b", "/c/", local)), None);
        assert_eq!(
            rewritten(&header_signed("GET", "/b/k", "/b/k/", local)),
            None
        );
        assert_eq!(rewritten(&header_signed("GET", "/", "//", local)), None);
        // Virtual-hosted: `/k` is an object.
        let req = header_signed("GET", "/k", "/k/", "b.localhost:4566");
        assert_eq!(rewritten(&req), None);
        // Without a date s3s refuses the request before its signature.
        let mut req = header_signed("GET", "/b", "/b/", local);
        req.headers_mut().remove("date");
        assert_eq!(rewritten(&req), None);
    }

    #[test]
    fn a_presigned_url_signed_with_the_slash_is_rewritten() {
        let signature = signed_header(SECRET, "GET\n\n\n1800000000\n/b/");
        let escaped: String =
            form_urlencoded::byte_serialize(signature.as_bytes()).collect::<String>();
        let uri =
            format!("/b?list-type=2&AWSAccessKeyId=AKID&Signature={escaped}&Expires=1800000000");
        let req = request("GET", &uri, &[("host", "127.0.0.1:4566")]);
        assert_eq!(
            rewritten(&req),
            Some(uri.replacen("/b?", "/b/?", 1)),
            "{uri}"
        );
        // Another Expires than the one signed.
        let req = request("GET", &uri.replace("1800000000", "1800000001"), &[]);
        assert_eq!(rewritten(&req), None);
        // Named twice, a field counts as absent for s3s.
        let req = request("GET", &format!("{uri}&Expires=1800000000"), &[]);
        assert_eq!(rewritten(&req), None);
    }

    /// The code of [`check_signature`]'s answer, `None` for a pass.
    fn verdict(signed: Option<&SignedV2>, access_key: &str, secret: &str) -> Option<String> {
        check_signature(signed, access_key, secret)
            .err()
            .map(|e| e.code().as_str().to_owned())
    }

    /// The comparison: only the exact signature (as s3s compares it, the
    /// same string) passes; every other text, however close, is refused
    /// with s3s's `SignatureDoesNotMatch`, under the key it was read for.
    #[test]
    fn only_the_exact_signature_passes() {
        let sts = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/b/k";
        let right = signed_header(SECRET, sts);
        let mut one_off = right.clone().into_bytes();
        one_off[27] = if one_off[27] == b'=' { b'A' } else { b'=' };
        let one_off = String::from_utf8(one_off).expect("ascii");
        let mut first_off = right.clone().into_bytes();
        first_off[0] = if first_off[0] == b'A' { b'B' } else { b'A' };
        let first_off = String::from_utf8(first_off).expect("ascii");
        let claim = |signature: &str| SignedV2 {
            access_key: "AKID".into(),
            string_to_sign: sts.into(),
            signature: signature.into(),
        };
        let refused = Some("SignatureDoesNotMatch");
        let cases: &[(&str, String, &str, &str, Option<&str>)] = &[
            ("the right signature", right.clone(), "AKID", SECRET, None),
            (
                "another secret",
                right.clone(),
                "AKID",
                "another secret",
                refused,
            ),
            (
                "checked under another key",
                right.clone(),
                "OTHER",
                SECRET,
                refused,
            ),
            ("the last character off", one_off, "AKID", SECRET, refused),
            (
                "the first character off",
                first_off,
                "AKID",
                SECRET,
                refused,
            ),
            ("cut short", right[..27].to_owned(), "AKID", SECRET, refused),
            (
                "one character more",
                format!("{right}="),
                "AKID",
                SECRET,
                refused,
            ),
            ("lowercased", right.to_lowercase(), "AKID", SECRET, refused),
            ("empty", String::new(), "AKID", SECRET, refused),
            (
                "the bytes, not their base64",
                "x".repeat(20),
                "AKID",
                SECRET,
                refused,
            ),
            (
                "over another string",
                signed_header(SECRET, "GET\n\n\n\n/b/k"),
                "AKID",
                SECRET,
                refused,
            ),
        ];
        for (what, signature, key, secret, expected) in cases {
            let signed = claim(signature);
            assert_eq!(
                verdict(Some(&signed), key, secret).as_deref(),
                *expected,
                "{what}"
            );
        }
        // No SigV2 signature (SigV4, anonymous): nothing to check here.
        assert_eq!(verdict(None, "AKID", SECRET), None);
        // Its Debug names the key alone.
        let shown = format!("{:?}", claim(&right));
        assert!(shown.contains("AKID") && !shown.contains(&right), "{shown}");
    }

    /// What [`Reading::signed`] reads of a request: the string to sign s3s
    /// computes (the virtual-hosted bucket first, the sub-resources s3s
    /// signs, `versioning` among them), in both forms; and nothing for the
    /// requests s3s checks otherwise or refuses before the signature.
    #[test]
    fn signed_v2_reads_what_s3s_checks() {
        let passes = |req: &http::Request<()>| {
            let signed = signed_v2(req).expect("a SigV2 request");
            verdict(Some(&signed), "AKIAIOSFODNN7EXAMPLE", SECRET).is_none()
        };
        // AWS's virtual-hosted example, on `<bucket>.localhost`.
        let vhost = request(
            "GET",
            "/photos/puppy.jpg",
            &[
                ("host", "awsexamplebucket1.localhost:4566"),
                ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
                ),
            ],
        );
        assert!(passes(&vhost), "virtual-hosted");
        // The same path-style, as s3s reads an IP address.
        let mut path_style = request(
            "GET",
            "/awsexamplebucket1/photos/puppy.jpg",
            &[
                ("host", "127.0.0.1:4566"),
                ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
            ],
        );
        path_style.headers_mut().insert(
            "authorization",
            HeaderValue::from_static("AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="),
        );
        assert!(passes(&path_style), "path-style");
        // Virtual-hosted without the bucket in the signature.
        let mut wrong = vhost.clone_without_body();
        wrong.headers_mut().insert(
            "host",
            HeaderValue::from_static("otherbucket.localhost:4566"),
        );
        assert!(!passes(&wrong), "another bucket's host");
        // HTTP/2: the authority is the host.
        let mut h2 = request(
            "GET",
            "http://awsexamplebucket1.localhost:4566/photos/puppy.jpg",
            &[
                ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
                ),
            ],
        );
        *h2.version_mut() = http::Version::HTTP_2;
        assert!(passes(&h2), "HTTP/2 authority");
        // A presigned URL (its signature escaped in the query).
        let presigned = request(
            "GET",
            "/awsexamplebucket1/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
            &[("host", "127.0.0.1:4566")],
        );
        let signed = signed_v2(&presigned).expect("a presigned URL");
        assert_eq!(
            signed.string_to_sign,
            "GET\n\n\n1175139620\n/awsexamplebucket1/photos/puppy.jpg"
        );
        assert_eq!(signed.signature, "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
        // `versioning` is a sub-resource s3s signs.
        let date = "Tue, 01 Dec 2026 22:00:00 GMT";
        let sig = signed_header(SECRET, &format!("GET\n\n\n{date}\n/b/?versioning"));
        let req = request(
            "GET",
            "/b/?versioning",
            &[
                ("host", "127.0.0.1:4566"),
                ("date", date),
                ("authorization", &format!("AWS AKIAIOSFODNN7EXAMPLE:{sig}")),
            ],
        );
        assert!(passes(&req), "?versioning");
        let sig = signed_header(SECRET, &format!("GET\n\n\n{date}\n/b/"));
        let req = request(
            "GET",
            "/b/?versioning",
            &[
                ("date", date),
                ("authorization", &format!("AWS AKIAIOSFODNN7EXAMPLE:{sig}")),
            ],
        );
        assert!(!passes(&req), "?versioning left out of the signature");

        // Not checked as SigV2 by s3s, or refused before its signature.
        let auth = ("authorization", "AWS AKIAIOSFODNN7EXAMPLE:c2ln");
        let date = ("date", "Tue, 01 Dec 2026 22:00:00 GMT");
        let none: &[(&str, http::Request<()>)] = &[
            ("anonymous", request("GET", "/b/k", &[date])),
            (
                "SigV4",
                request(
                    "GET",
                    "/b/k",
                    &[
                        date,
                        (
                            "authorization",
                            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
                        ),
                    ],
                ),
            ),
            ("no date", request("GET", "/b/k", &[auth])),
            (
                "a form upload",
                request(
                    "POST",
                    "/b",
                    &[
                        auth,
                        date,
                        ("content-type", "multipart/form-data; boundary=x"),
                    ],
                ),
            ),
            (
                "Expires twice",
                request(
                    "GET",
                    "/b/k?AWSAccessKeyId=AKID&Signature=c2ln&Expires=1&Expires=2",
                    &[],
                ),
            ),
            (
                "Expires past year 9999",
                request(
                    "GET",
                    "/b/k?AWSAccessKeyId=AKID&Signature=c2ln&Expires=999999999999",
                    &[],
                ),
            ),
            (
                "a presigned URL without its key",
                request("GET", "/b/k?Signature=c2ln&Expires=1", &[auth, date]),
            ),
        ];
        for (what, req) in none {
            assert!(signed_v2(req).is_none(), "{what}");
        }
        let mut bad_host = request("GET", "/b/k", &[auth, date]);
        bad_host.headers_mut().insert(
            "host",
            HeaderValue::from_bytes(b"b\xff.localhost").expect("a header value"),
        );
        assert!(signed_v2(&bad_host).is_none(), "a Host that is not text");
        // s3s decodes the query's names: an escaped `Signature` is one.
        let req = request(
            "GET",
            "/b/k?AWSAccessKeyId=AKID&Expires=1&Signatur%65=c2ln",
            &[],
        );
        assert!(signed_v2(&req).is_some(), "an escaped Signature");
        // A POST that is no form is checked as any request.
        let req = request("POST", "/b/k?uploads", &[auth, date]);
        assert!(signed_v2(&req).is_some(), "CreateMultipartUpload");
    }

    trait CloneWithoutBody {
        fn clone_without_body(&self) -> http::Request<()>;
    }

    impl CloneWithoutBody for http::Request<()> {
        fn clone_without_body(&self) -> http::Request<()> {
            let mut req = http::Request::builder()
                .method(self.method().clone())
                .uri(self.uri().clone())
                .body(())
                .expect("a request");
            *req.headers_mut() = self.headers().clone();
            req
        }
    }
}
