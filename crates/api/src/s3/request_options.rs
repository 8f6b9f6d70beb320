//! Request headers that change what S3 does with an object: server-side
//! encryption, storage class, Object Lock, expected bucket owner. None of
//! them may be silently ignored (a client that asked for SSE-KMS or
//! GLACIER and got a plain 200 would believe something false), so
//! [`check`] runs for every request in the access check
//! ([`super::auth::CallerAccess`]), after the signature and before any
//! body byte is read, and for form uploads on their fields
//! ([`super::post_object`]). One check for every operation, rather than a
//! copy in each handler, because the answers depend on the header alone.
//!
//! - **SSE-S3** (`x-amz-server-side-encryption: AES256`) is accepted: S3
//!   encrypts every object this way since January 2023, so asking for it
//!   changes nothing. Mini AWS keeps the bytes unencrypted on the local
//!   disk (said in the README). **SSE-KMS** (`aws:kms`, `aws:kms:dsse`, or
//!   a KMS key id / context with them) and **SSE-C** (the
//!   `x-amz-server-side-encryption-customer-*` and
//!   `x-amz-copy-source-server-side-encryption-customer-*` headers, on
//!   writes and reads) are `NotImplemented`, after S3's 400
//!   `InvalidArgument` for SSE-C headers no request could use (beside
//!   `x-amz-server-side-encryption`, a key without its algorithm or the
//!   reverse: [`check_sse_c_shape`]); any other value, and
//!   `x-amz-server-side-encryption` on a GetObject or HeadObject, are
//!   `InvalidArgument`, as S3 answers.
//! - **Storage class**: the classes whose objects are readable at once are
//!   accepted and stored with the object ([`storage_class`]); the archive
//!   classes (`GLACIER`, `DEEP_ARCHIVE`), which need a restore before a
//!   read, are `NotImplemented`; anything else (including the classes of
//!   directory buckets, Outposts and Snow, which a general-purpose bucket
//!   refuses) is `InvalidStorageClass`.
//! - **Object Lock**: a write with `x-amz-object-lock-*` into a bucket of
//!   the caller's without Object Lock is S3's 400 `InvalidRequest` "Bucket
//!   is missing ObjectLockConfiguration" ([`object_lock_check`], which
//!   looks the bucket up first, as S3 answers a missing or foreign
//!   bucket, and refuses a lock the bucket policy denies the owner:
//!   `s3:PutObjectRetention`, `s3:PutObjectLegalHold`); the handlers check
//!   and apply the headers' values.
//! - **User metadata without a name** (an `x-amz-meta-` header or form
//!   field, nothing after the prefix) on a write is 400 `InvalidArgument`
//!   "invalid metadata name \"\"", on PutObject, CopyObject and
//!   CreateMultipartUpload as on a form upload: s3s drops it from the
//!   metadata it parses, so it would otherwise be lost without a word.
//! - **Presigned URLs** may carry any of these as query parameters
//!   (`x-amz-server-side-encryption=aws:kms`, `x-amz-storage-class=GLACIER`:
//!   the AWS JS SDK's presigner hoists every `x-amz-*` header into the
//!   query, and S3 reads them there as headers). s3s reads them only from
//!   headers, so [`hoist_presigned`] copies them into the headers before
//!   s3s sees the request: every rule here, and every operation, then
//!   applies to them as to headers (`x-amz-meta-*`, `x-amz-tagging` and
//!   `x-amz-acl` too).
//! - **Expected bucket owner**: `x-amz-expected-bucket-owner` and
//!   `x-amz-source-expected-bucket-owner` other than the owner id (of
//!   ListBuckets and ACLs) of the bucket they are about are 403
//!   `AccessDenied`, as S3 answers a mismatch. Only its owner writes to a
//!   bucket, so that is the caller's id, except for the reads a bucket
//!   policy may open to other accounts (GetObject, HeadObject, ListObjects,
//!   ListObjectsV2, and a copy's source): there the access check looks the
//!   bucket's owner up when the header is sent ([`super::auth`]).

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use miniaws_core::identity::Caller;
use miniaws_core::storage::{LockHeaders, StorageService};
use s3s::dto::{ServerSideEncryption, StorageClass};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use super::bucket_error;

/// The header naming the server-side encryption of a write.
pub const SSE: &str = "x-amz-server-side-encryption";
/// The header naming the storage class of a write (stored under this name).
pub const STORAGE_CLASS: &str = miniaws_core::storage::STORAGE_CLASS_HEADER;

const KMS_HEADERS: [&str; 2] = [
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
];
const BUCKET_KEY: &str = "x-amz-server-side-encryption-bucket-key-enabled";
const SSE_C_HEADERS: [&str; 6] = [
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
    "x-amz-copy-source-server-side-encryption-customer-algorithm",
    "x-amz-copy-source-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key-md5",
];
const OBJECT_LOCK_HEADERS: [&str; 3] = [
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
];
/// The header naming the account a request expects to own the bucket.
pub const EXPECTED_OWNER: &str = "x-amz-expected-bucket-owner";
/// The header naming the account a copy expects to own the source bucket.
pub const SOURCE_EXPECTED_OWNER: &str = "x-amz-source-expected-bucket-owner";

/// Query parameters of a SigV4 presigned URL that are not request
/// headers: the signature's own, and the body checksum an SDK computed
/// over an empty body when it presigned (S3 ignores those in a URL; the
/// body's checksum is checked from headers only). `x-amz-checksum-mode`,
/// `-algorithm` and `-type` are options like the others.
fn never_hoisted(name: &str) -> bool {
    matches!(
        name,
        "x-amz-algorithm"
            | "x-amz-credential"
            | "x-amz-date"
            | "x-amz-expires"
            | "x-amz-signedheaders"
            | "x-amz-signature"
            | "x-amz-security-token"
            | "x-amz-content-sha256"
            | "x-amz-decoded-content-length"
            | "x-amz-trailer"
            | "x-amz-sdk-checksum-algorithm"
    ) || super::body::ALGORITHMS.iter().any(|a| a.header() == name)
}

/// Copies the `x-amz-*` query parameters of a SigV4 presigned URL into
/// the request's headers (unless a header of the name is already there),
/// as S3 reads them. The signature covers the whole query, so they are
/// as signed as the URL; a SigV4 presigned signature covers only the
/// headers `X-Amz-SignedHeaders` lists, so adding headers leaves it valid.
/// Only SigV4: a SigV2 signature covers every `x-amz-*` header, so one
/// added here would break it.
///
/// # Errors
/// `InvalidArgument` for a parameter that cannot be a header value.
pub fn hoist_presigned(query: Option<&str>, headers: &mut HeaderMap) -> S3Result<()> {
    let Some(query) = query else { return Ok(()) };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
    let pairs: Vec<(String, Vec<u8>)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (
                String::from_utf8_lossy(&decode(name)).to_ascii_lowercase(),
                decode(value),
            )
        })
        .collect();
    if !pairs.iter().any(|(n, _)| n == "x-amz-signature") {
        return Ok(());
    }
    for (name, value) in pairs {
        if !name.starts_with("x-amz-") || never_hoisted(&name) {
            continue;
        }
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            return Err(s3_error!(
                InvalidArgument,
                "the query parameter {name} cannot be a request header"
            ));
        };
        if headers.contains_key(&header) {
            continue;
        }
        let value = HeaderValue::from_bytes(&value).map_err(|_| {
            s3_error!(
                InvalidArgument,
                "the value of the query parameter {name} cannot be a request header"
            )
        })?;
        headers.insert(header, value);
    }
    Ok(())
}

/// Operations that write a new object (or upload) and so may name its
/// encryption, storage class and lock.
fn creates_object(op: &str) -> bool {
    matches!(
        op,
        "PutObject" | "CopyObject" | "CreateMultipartUpload" | "PostObject"
    )
}

/// The server-side encryption every object has: SSE-S3.
///
/// Every answer about an object says `x-amz-server-side-encryption:
/// AES256`, as S3 does for every object since 2023: the header tells a
/// client that the service, not the client, manages encryption at rest, and
/// code that checks it (compliance checks, tests of upload helpers) must
/// see what S3 would send. What Mini AWS does at rest — bytes unencrypted
/// on the developer's own disk — is said in the README, not in a header
/// that would then differ from S3's.
pub fn sse_s3() -> Option<ServerSideEncryption> {
    Some(ServerSideEncryption::from_static(
        ServerSideEncryption::AES256,
    ))
}

/// Checks the request options of operation `op` (s3s's name, or
/// `PostObject`), reading each header (lowercase name) through `get`, for a
/// caller whose owner id is `owner_id`.
///
/// # Errors
/// `NotImplemented`, `InvalidArgument`, `InvalidStorageClass`,
/// `InvalidRequest` or `AccessDenied`, as described in the module.
pub fn check<'a>(op: &str, owner_id: &str, get: impl Fn(&str) -> Option<&'a str>) -> S3Result<()> {
    check_owners(op, owner_id, owner_id, get)
}

/// [`check`], with the owner id of the bucket (`bucket_owner_id`, for
/// `x-amz-expected-bucket-owner`) and of a copy's source bucket
/// (`source_owner_id`, for `x-amz-source-expected-bucket-owner`).
///
/// # Errors
/// As [`check`].
pub fn check_owners<'a>(
    op: &str,
    bucket_owner_id: &str,
    source_owner_id: &str,
    get: impl Fn(&str) -> Option<&'a str>,
) -> S3Result<()> {
    for (name, owner_id) in [
        (EXPECTED_OWNER, bucket_owner_id),
        (SOURCE_EXPECTED_OWNER, source_owner_id),
    ] {
        if let Some(expected) = get(name)
            && expected.trim() != owner_id
        {
            return Err(s3_error!(
                AccessDenied,
                "Access Denied: {name} does not name the bucket's owner"
            ));
        }
    }
    check_sse_c_shape(&get)?;
    if SSE_C_HEADERS.iter().any(|n| get(n).is_some()) {
        return Err(s3_error!(
            NotImplemented,
            "SSE-C (server-side encryption with customer-provided keys) is not implemented"
        ));
    }
    if matches!(op, "GetObject" | "HeadObject") && get(SSE).is_some() {
        // S3 documents a 400 for it: a read cannot choose the encryption.
        return Err(invalid_sse(
            "Unsupported header 'x-amz-server-side-encryption' received for this API call.",
        ));
    }
    if !creates_object(op) {
        return Ok(());
    }
    check_sse(&get)?;
    // An `x-amz-meta-` header (or form field) with no name after the
    // prefix: s3s drops it from a PutObject's metadata, so it would be
    // lost without a word, where a form upload refused it.
    if get(crate::storage::USER_METADATA_PREFIX).is_some() {
        miniaws_core::storage::check_user_metadata_name("").map_err(super::s3_error)?;
    }
    if let Some(class) = get(STORAGE_CLASS) {
        storage_class(class)?;
    }
    if let Some(location) = get(super::convert::WEBSITE_REDIRECT) {
        website_redirect(location)?;
    }
    Ok(())
}

/// The longest `x-amz-website-redirect-location` S3 stores.
const MAX_REDIRECT_LOCATION: usize = 2048;

/// Checks a write's `x-amz-website-redirect-location`, as S3 does: the
/// website endpoint answers a GET of the object with a 301 to it, so it
/// must be a path on the site (`/…`) or an absolute `http(s)://` URL, at
/// most 2 KiB. An empty value means none (it is not stored).
///
/// # Errors
/// 400 `InvalidRedirectLocation`.
pub fn website_redirect(location: &str) -> S3Result<()> {
    let invalid = |message: &str| {
        let mut e = S3Error::with_message(
            S3ErrorCode::Custom("InvalidRedirectLocation".into()),
            message.to_owned(),
        );
        e.set_status_code(StatusCode::BAD_REQUEST);
        e
    };
    if location.is_empty() {
        return Ok(());
    }
    if location.len() > MAX_REDIRECT_LOCATION {
        return Err(invalid(
            "The length of website redirect location cannot exceed 2,048 characters.",
        ));
    }
    let lower = location.get(..8).unwrap_or(location).to_ascii_lowercase();
    if !(location.starts_with('/') || lower.starts_with("http://") || lower.starts_with("https://"))
    {
        return Err(invalid(
            "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.",
        ));
    }
    Ok(())
}

/// Whether a request of operation `op` asks for Object Lock on the object
/// it writes (`x-amz-object-lock-*`), which [`object_lock_check`] then
/// answers.
pub fn asks_object_lock<'a>(op: &str, get: impl Fn(&str) -> Option<&'a str>) -> bool {
    creates_object(op) && OBJECT_LOCK_HEADERS.iter().any(|n| get(n).is_some())
}

/// Whether a request carries a checksum of its body (`Content-MD5`, an
/// `x-amz-checksum-*` header or trailer, or `x-amz-sdk-checksum-algorithm`),
/// which S3 requires of a PutObject with Object Lock parameters, and of a
/// PutObject or UploadPart whose object the bucket's default retention
/// will lock.
fn has_checksum<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> bool {
    [
        "content-md5",
        "x-amz-sdk-checksum-algorithm",
        "x-amz-trailer",
    ]
    .iter()
    .any(|n| get(n).is_some())
        || super::body::ALGORITHMS
            .iter()
            .any(|a| get(a.header()).is_some())
}

/// [`has_checksum`] of a request's headers.
pub fn carries_checksum(headers: &HeaderMap) -> bool {
    has_checksum(&|n: &str| headers.get(n).and_then(|v| v.to_str().ok()))
}

/// Checks a write (`op`) of `key` asking for Object Lock in `bucket`:
/// the bucket's own refusal first when it is missing, someone else's or
/// its policy denies the write (`NoSuchBucket`, `AccessDenied`), or
/// denies the lock the headers set (`s3:PutObjectRetention` for a
/// retention, `s3:PutObjectLegalHold` for a legal hold, as S3 requires of
/// a write that sets them; see [`LockHeaders`]); then, for
/// a bucket without Object Lock, 400 `InvalidRequest` "Bucket is missing
/// ObjectLockConfiguration" (S3's wording for PutObject, CopyObject and
/// CreateMultipartUpload). In a bucket with it, PutObject needs a body
/// checksum (S3: "Content-MD5 OR x-amz-checksum- HTTP header is required
/// for Put Object requests with Object Lock parameters"; a copy has no
/// body to sum), and so does a form upload (PostObject), in its fields
/// (`Content-MD5`, `x-amz-checksum-*`): the same write with the same
/// parameters.
///
/// # Errors
/// As said.
pub async fn object_lock_check<'a>(
    storage: &StorageService,
    caller: Caller,
    op: &str,
    bucket: &str,
    key: &str,
    get: impl Fn(&str) -> Option<&'a str>,
) -> S3Result<()> {
    let config = storage
        .object_lock_for_write(caller, bucket, key, LockHeaders::sent(|n| get(n).is_some()))
        .await
        .map_err(bucket_error)?;
    if config.is_none() {
        return Err(s3_error!(
            InvalidRequest,
            "Bucket is missing ObjectLockConfiguration"
        ));
    }
    match op {
        "PutObject" | "PostObject" if !has_checksum(&get) => Err(s3_error!(
            InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
        )),
        _ => Ok(()),
    }
}

/// S3's 400s for SSE-C headers no request could use, answered before the
/// `NotImplemented` of SSE-C itself, as S3 answers them: with
/// `x-amz-server-side-encryption` beside them (the two choose different
/// keys), or a key without its algorithm or an algorithm without its key.
/// A client sending these has a bug AWS would report; a 501 would hide it.
fn check_sse_c_shape<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> S3Result<()> {
    // The object's own key, then a copy's source's (whose SSE-C may sit
    // beside an SSE-S3 for the copy: they name different objects' keys).
    for (names, own) in [(&SSE_C_HEADERS[..3], true), (&SSE_C_HEADERS[3..], false)] {
        let (algorithm, key, md5) = (get(names[0]), get(names[1]), get(names[2]));
        if algorithm.is_none() && key.is_none() && md5.is_none() {
            continue;
        }
        if own && algorithm.is_some() && key.is_some() && get(SSE).is_some() {
            return Err(invalid_sse(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
            ));
        }
        if algorithm.is_none() {
            return Err(invalid_sse(
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
            ));
        }
        if key.is_none() {
            return Err(invalid_sse(
                "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
            ));
        }
    }
    Ok(())
}

fn check_sse<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> S3Result<()> {
    let kms_detail = KMS_HEADERS.iter().any(|n| get(n).is_some());
    match get(SSE).map(str::trim) {
        Some("aws:kms" | "aws:kms:dsse") => Err(kms_not_implemented()),
        Some(ServerSideEncryption::AES256) | None if kms_detail => {
            // S3's answer to a KMS key or context without aws:kms.
            Err(invalid_sse(
                "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
            ))
        }
        Some(ServerSideEncryption::AES256) | None => {
            // A bucket key applies to SSE-KMS only; asked for, it would
            // claim KMS where there is none.
            if get(BUCKET_KEY).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
                return Err(kms_not_implemented());
            }
            Ok(())
        }
        Some(_) => Err(invalid_sse(
            "The encryption method specified is not supported",
        )),
    }
}

/// `NotImplemented` for SSE-KMS.
pub fn kms_not_implemented() -> S3Error {
    s3_error!(
        NotImplemented,
        "SSE-KMS is not implemented (Mini AWS has no KMS)"
    )
}

fn invalid_sse(message: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message.to_owned())
}

/// The storage classes whose objects are readable at once, as Mini AWS
/// stores them all: STANDARD and the infrequent-access, reduced-redundancy,
/// Intelligent-Tiering (its archive tiers are opt-in, by a bucket
/// configuration Mini AWS does not have) and Glacier Instant Retrieval
/// classes.
const READABLE_CLASSES: [&str; 6] = [
    StorageClass::STANDARD,
    StorageClass::REDUCED_REDUNDANCY,
    StorageClass::STANDARD_IA,
    StorageClass::ONEZONE_IA,
    StorageClass::INTELLIGENT_TIERING,
    StorageClass::GLACIER_IR,
];

/// The storage class to store for `class`: `None` for STANDARD (the
/// default, which S3 never names in a GET/HEAD answer), else the class.
///
/// # Errors
/// `NotImplemented` for the archive classes, `InvalidStorageClass` for any
/// other class.
pub fn storage_class(class: &str) -> S3Result<Option<String>> {
    let class = class.trim();
    if class == StorageClass::STANDARD {
        return Ok(None);
    }
    if READABLE_CLASSES.contains(&class) {
        return Ok(Some(class.to_owned()));
    }
    if matches!(class, StorageClass::GLACIER | StorageClass::DEEP_ARCHIVE) {
        return Err(s3_error!(
            NotImplemented,
            "archive storage classes are not implemented: {class} objects need a restore before a read; use STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR or REDUCED_REDUNDANCY"
        ));
    }
    let mut e = S3Error::with_message(
        S3ErrorCode::InvalidStorageClass,
        "The storage class you specified is not valid",
    );
    e.set_status_code(StatusCode::BAD_REQUEST);
    Err(e)
}

/// The storage class to store from a write's `x-amz-storage-class`
/// (already checked by [`check`]).
///
/// # Errors
/// As [`storage_class`].
pub fn stored_class(class: Option<&StorageClass>) -> S3Result<Option<String>> {
    class.map_or(Ok(None), |c| storage_class(c.as_str()))
}

/// A stored storage class (none: STANDARD) as listings name it.
pub fn listed_class(stored: Option<&String>) -> String {
    stored.map_or_else(|| StorageClass::STANDARD.to_owned(), Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "6f1c1c4e-0000-4000-8000-000000000001";

    /// What, operation, headers, the refusal expected (none: accepted).
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        Option<S3ErrorCode>,
    );

    fn run(op: &str, headers: &[(&str, &str)]) -> Result<(), (S3ErrorCode, Option<StatusCode>)> {
        check(op, OWNER, |n| {
            headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
        })
        .map_err(|e| (e.code().clone(), e.status_code()))
    }

    #[test]
    fn presigned_query_options_become_headers() {
        let mut h = HeaderMap::new();
        h.insert(STORAGE_CLASS, HeaderValue::from_static("STANDARD_IA"));
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc&x-amz-server-side-encryption=aws%3Akms\
            &x-amz-storage-class=GLACIER&x-amz-meta-colour=blue%20green&x-amz-checksum-crc32=AAAAAA%3D%3D\
            &x-amz-checksum-mode=ENABLED&X-Amz-Date=20260101T000000Z&x-id=PutObject&tagging";
        hoist_presigned(Some(query), &mut h).expect("valid");
        let got = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
        assert_eq!(got(SSE), Some("aws:kms"));
        assert_eq!(got(STORAGE_CLASS), Some("STANDARD_IA"), "a header wins");
        assert_eq!(got("x-amz-meta-colour"), Some("blue green"));
        assert_eq!(got("x-amz-checksum-crc32"), None, "checksums stay out");
        assert_eq!(got("x-amz-checksum-mode"), Some("ENABLED"), "an option");
        assert_eq!(got("x-amz-date"), None, "the signature's own stay out");
        assert_eq!(got("x-id"), None);
        assert_eq!(got("tagging"), None);

        let mut h = HeaderMap::new();
        hoist_presigned(Some("x-amz-storage-class=GLACIER"), &mut h).expect("valid");
        assert!(h.is_empty(), "not presigned: nothing hoisted");
        hoist_presigned(
            Some("Signature=abc&AWSAccessKeyId=k&x-amz-storage-class=GLACIER"),
            &mut h,
        )
        .expect("valid");
        assert!(h.is_empty(), "SigV2: nothing hoisted");
        let err = hoist_presigned(Some("X-Amz-Signature=abc&x-amz-meta-a=%0A"), &mut h)
            .expect_err("a newline is no header value");
        assert_eq!(*err.code(), S3ErrorCode::InvalidArgument);
    }

    #[test]
    fn website_redirects_are_paths_or_http_urls() {
        for ok in [
            "/about.html",
            "/",
            "http://example.com/x",
            "HTTPS://example.com",
            "",
        ] {
            assert_eq!(
                run(
                    "PutObject",
                    &[(super::super::convert::WEBSITE_REDIRECT, ok)]
                ),
                Ok(()),
                "{ok:?}"
            );
        }
        let long = format!("/{}", "a".repeat(2048));
        for bad in [
            "about.html",
            "ftp://example.com",
            "javascript:alert(1)",
            long.as_str(),
        ] {
            for op in [
                "PutObject",
                "CopyObject",
                "CreateMultipartUpload",
                "PostObject",
            ] {
                let got = run(op, &[(super::super::convert::WEBSITE_REDIRECT, bad)]);
                assert_eq!(
                    got,
                    Err((
                        S3ErrorCode::Custom("InvalidRedirectLocation".into()),
                        Some(StatusCode::BAD_REQUEST)
                    )),
                    "{op} {bad:?}"
                );
            }
        }
        assert_eq!(
            run(
                "GetObject",
                &[(super::super::convert::WEBSITE_REDIRECT, "x")]
            ),
            Ok(()),
            "only writes store one"
        );
    }

    #[test]
    fn object_lock_is_asked_by_writes_only() {
        let lock = |op: &str, name: &str| asks_object_lock(op, |n| (n == name).then_some("ON"));
        assert!(lock("PutObject", OBJECT_LOCK_HEADERS[0]));
        assert!(lock("CopyObject", OBJECT_LOCK_HEADERS[1]));
        assert!(lock("CreateMultipartUpload", OBJECT_LOCK_HEADERS[2]));
        assert!(lock("PostObject", OBJECT_LOCK_HEADERS[2]));
        assert!(!lock("GetObject", OBJECT_LOCK_HEADERS[2]));
        assert!(!lock("PutObject", STORAGE_CLASS));
    }

    #[test]
    fn each_option_is_honoured_or_refused() {
        use S3ErrorCode as C;
        let cases: &[Case] = &[
            ("nothing", "PutObject", &[], None),
            ("SSE-S3", "PutObject", &[(SSE, "AES256")], None),
            (
                "SSE-KMS",
                "PutObject",
                &[(SSE, "aws:kms")],
                Some(C::NotImplemented),
            ),
            (
                "DSSE-KMS",
                "CopyObject",
                &[(SSE, "aws:kms:dsse")],
                Some(C::NotImplemented),
            ),
            (
                "unknown SSE",
                "PutObject",
                &[(SSE, "ROT13")],
                Some(C::InvalidArgument),
            ),
            (
                "KMS key without aws:kms",
                "PutObject",
                &[(KMS_HEADERS[0], "alias/foo")],
                Some(C::InvalidArgument),
            ),
            (
                "bucket key",
                "CreateMultipartUpload",
                &[(BUCKET_KEY, "true")],
                Some(C::NotImplemented),
            ),
            ("no bucket key", "PutObject", &[(BUCKET_KEY, "false")], None),
            (
                "SSE on a read",
                "HeadObject",
                &[(SSE, "AES256")],
                Some(C::InvalidArgument),
            ),
            (
                "SSE-C on a read",
                "GetObject",
                &[(SSE_C_HEADERS[0], "AES256"), (SSE_C_HEADERS[1], "k")],
                Some(C::NotImplemented),
            ),
            (
                "SSE-C beside SSE-S3",
                "PutObject",
                &[
                    (SSE, "AES256"),
                    (SSE_C_HEADERS[0], "AES256"),
                    (SSE_C_HEADERS[1], "k"),
                ],
                Some(C::InvalidArgument),
            ),
            (
                "SSE-C key without its algorithm",
                "PutObject",
                &[(SSE_C_HEADERS[1], "k"), (SSE_C_HEADERS[2], "m")],
                Some(C::InvalidArgument),
            ),
            (
                "SSE-C algorithm without its key",
                "CreateMultipartUpload",
                &[(SSE_C_HEADERS[0], "AES256")],
                Some(C::InvalidArgument),
            ),
            (
                "SSE-C source key without its algorithm",
                "CopyObject",
                &[(SSE_C_HEADERS[4], "k")],
                Some(C::InvalidArgument),
            ),
            (
                "SSE-C of a source",
                "UploadPartCopy",
                &[(SSE_C_HEADERS[3], "AES256"), (SSE_C_HEADERS[4], "k")],
                Some(C::NotImplemented),
            ),
            (
                "SSE-C on a part",
                "UploadPart",
                &[(SSE_C_HEADERS[0], "AES256"), (SSE_C_HEADERS[1], "k")],
                Some(C::NotImplemented),
            ),
            (
                "STANDARD_IA",
                "PutObject",
                &[(STORAGE_CLASS, "STANDARD_IA")],
                None,
            ),
            (
                "GLACIER_IR",
                "PostObject",
                &[(STORAGE_CLASS, "GLACIER_IR")],
                None,
            ),
            (
                "GLACIER",
                "PutObject",
                &[(STORAGE_CLASS, "GLACIER")],
                Some(C::NotImplemented),
            ),
            (
                "DEEP_ARCHIVE",
                "CopyObject",
                &[(STORAGE_CLASS, "DEEP_ARCHIVE")],
                Some(C::NotImplemented),
            ),
            (
                "EXPRESS_ONEZONE",
                "PutObject",
                &[(STORAGE_CLASS, "EXPRESS_ONEZONE")],
                Some(C::InvalidStorageClass),
            ),
            (
                "lowercase class",
                "PutObject",
                &[(STORAGE_CLASS, "standard")],
                Some(C::InvalidStorageClass),
            ),
            (
                "locked bucket",
                "CreateBucket",
                &[("x-amz-bucket-object-lock-enabled", "true")],
                None,
            ),
            (
                "expected owner",
                "ListObjectsV2",
                &[(EXPECTED_OWNER, OWNER)],
                None,
            ),
            (
                "other owner",
                "HeadBucket",
                &[(EXPECTED_OWNER, "123456789012")],
                Some(C::AccessDenied),
            ),
            (
                "other source owner",
                "CopyObject",
                &[(SOURCE_EXPECTED_OWNER, "123456789012")],
                Some(C::AccessDenied),
            ),
        ];
        for (what, op, headers, want) in cases {
            let got = run(op, headers);
            match want {
                None => assert!(got.is_ok(), "{what}: {got:?}"),
                Some(code) => {
                    let (got_code, status) = got.expect_err(what);
                    assert_eq!(&got_code, code, "{what}");
                    if *code == C::InvalidStorageClass {
                        assert_eq!(status, Some(StatusCode::BAD_REQUEST), "{what}");
                    }
                }
            }
        }
    }
}
