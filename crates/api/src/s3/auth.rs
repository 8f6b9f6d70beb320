//! SigV4 credentials for the S3 endpoint: s3s verifies the signature (header,
//! presigned URL, `aws-chunked` streaming and trailer bodies) with the secret
//! that [`IdentityAuth`] looks up; [`CallerAccess`] then hands the resolved
//! [`Caller`] to the operation. A SigV2 signature is checked by
//! [`IdentityAuth`] itself, in constant time, before s3s compares it (see
//! [`super::sig_v2`]): what the request signed is parked in the same
//! task-local way ([`with_caller_slot`]).
//!
//! s3s asks its `S3Auth` only for a secret, so the `Caller` found by the same
//! lookup is parked in a task-local slot for the one request being
//! served ([`with_caller_slot`]) and moved into the request's extensions by
//! the access check. Nothing outlives the request. The identity service caches
//! access keys in-process and drops a key's entry when it is revoked, so a
//! revoked key fails on its very next request.

use super::request_options::{EXPECTED_OWNER, SOURCE_EXPECTED_OWNER};
use super::sig_v2::{SignedV2, check_signature};
use miniaws_core::CoreError;
use miniaws_core::identity::{Caller, IdentityService};
use miniaws_core::storage::{
    BucketName, PublicAction, PublicGrant, Reader, StorageService, bucket_access_denied,
};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::{CopySource, GetObjectInput};
use s3s::path::S3Path;
use s3s::{S3Error, S3Request, S3Result, s3_error};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    /// The caller resolved by `get_secret_key`, with the access key it belongs to.
    static RESOLVED: RefCell<Option<(String, Caller)>>;
    /// What a SigV2 request signed, checked by `get_secret_key`.
    static SIGNED_V2: Option<SignedV2>;
    /// Whether the access check found an operation whose body is XML
    /// (see [`super::xml_limit`]).
    static XML_BODY: Cell<bool>;
    /// Whether the access check found an operation whose answer names
    /// object keys (see [`super::wire::names_keys`]).
    static NAMES_KEYS: Cell<bool>;
}

/// What the access check learnt of one request, for the answer's edge
/// ([`super::wire`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Routed {
    /// Whether the operation's request body is XML.
    pub xml_body: bool,
    /// Whether the operation's answer is an XML document naming object
    /// keys (false when the request never reached the access check: a bad
    /// signature, an unroutable request).
    pub names_keys: bool,
}

/// Runs `fut` (one S3 request) with its own empty caller slot and what
/// it signed with SigV2, if it did (`signed_v2`, see
/// [`super::sig_v2::prepare`]); also says what it was routed to.
pub async fn with_caller_slot<F: Future>(
    signed_v2: Option<SignedV2>,
    fut: F,
) -> (F::Output, Routed) {
    let run = async {
        let out = fut.await;
        let routed = Routed {
            xml_body: XML_BODY.try_with(Cell::get).unwrap_or(false),
            names_keys: NAMES_KEYS.try_with(Cell::get).unwrap_or(false),
        };
        (out, routed)
    };
    let run = SIGNED_V2.scope(signed_v2, run);
    RESOLVED
        .scope(
            RefCell::new(None),
            XML_BODY.scope(Cell::new(false), NAMES_KEYS.scope(Cell::new(false), run)),
        )
        .await
}

/// Refuses a SigV4 request carrying `x-amz-*` headers its signature does
/// not cover (see [`super::signed_headers`]), as S3 does.
///
/// # Errors
/// `AccessDenied` naming them in `<HeadersNotSigned>`.
fn refuse_unsigned_headers(headers: &http::HeaderMap, query: Option<&str>) -> S3Result<()> {
    let unsigned = super::signed_headers::unsigned_amz_headers(headers, query);
    if unsigned.is_empty() {
        return Ok(());
    }
    let names = unsigned.join(", ");
    Err(super::wire::with_details(
        s3_error!(
            AccessDenied,
            "There were headers present in the request which were not signed"
        ),
        &[("HeadersNotSigned", &names)],
    ))
}

/// s3s's secret lookup over [`IdentityService::authenticate_access_key`].
pub struct IdentityAuth {
    identity: Arc<IdentityService>,
}

impl IdentityAuth {
    /// Looks secrets up through `identity` (its key cache, else the database).
    pub fn new(identity: Arc<IdentityService>) -> Self {
        Self { identity }
    }
}

#[async_trait::async_trait]
impl S3Auth for IdentityAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.identity.authenticate_access_key(access_key).await {
            Ok((caller, secret)) => {
                // s3s asks for the secret of a SigV2 request just before it
                // compares signatures, in variable time: a wrong one is
                // refused here first, in constant time.
                // (The refusal is logged once, as every S3 error, where it
                // becomes the answer; this debug line says which check made it.)
                SIGNED_V2
                    .try_with(|signed| check_signature(signed.as_ref(), access_key, &secret))
                    .unwrap_or(Ok(()))
                    .inspect_err(|_| {
                        tracing::debug!("SigV2 signature refused by the constant-time check");
                    })?;
                // Outside a slot (never the case when served through
                // `aws_router`) the caller simply is not recorded, and the
                // access check denies the request.
                let _ = RESOLVED.try_with(|slot| {
                    *slot.borrow_mut() = Some((access_key.to_owned(), caller));
                });
                Ok(SecretKey::from(secret))
            }
            // The identity service's message says which: unknown or
            // revoked, or a secret this server's secrets key cannot open.
            Err(CoreError::Unauthorized(message)) => {
                Err(s3_error!(InvalidAccessKeyId, "{message}"))
            }
            Err(other) => Err(super::error::s3_error(other)),
        }
    }
}

/// Attaches the authenticated [`Caller`] to the request's extensions, where
/// every operation finds it (the public reads then serve another
/// account's bucket only through its policy: see [`reader`]); denies
/// anonymous requests but the public reads a bucket policy grants (see
/// [`CallerAccess::check_anonymous`]).
pub struct CallerAccess {
    /// For the answers that depend on a bucket (Object Lock's).
    pub storage: Arc<StorageService>,
}

#[async_trait::async_trait]
impl S3Access for CallerAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if super::wire::names_keys(cx.s3_op().name()) {
            let _ = NAMES_KEYS.try_with(|flag| flag.set(true));
        }
        let Some(access_key) = cx.credentials().map(|c| c.access_key.clone()) else {
            return self.check_anonymous(cx).await;
        };
        let caller = RESOLVED
            .try_with(|slot| {
                slot.borrow()
                    .as_ref()
                    .filter(|(key, _)| *key == access_key)
                    .map(|(_, caller)| *caller)
            })
            .ok()
            .flatten();
        match caller {
            Some(caller) => {
                let slot = cx
                    .extensions_mut()
                    .get::<super::document_digest::BodySlot>()
                    .cloned();
                tracing::Span::current().record("owner", tracing::field::display(caller.user_id));
                refuse_long_presigned(cx.uri().query())?;
                refuse_unsigned_headers(cx.headers(), cx.uri().query())?;
                cx.extensions_mut().insert(caller);
                // After the signature, before s3s reads an XML body whole.
                let op = cx.s3_op().name();
                if super::xml_limit::has_xml_body(op) {
                    let _ = XML_BODY.try_with(|flag| flag.set(true));
                }
                super::xml_limit::refuse_declared(op, cx.headers())?;
                super::body::refuse_unframed(op, cx.headers())?;
                // Encryption, storage class, Object Lock, expected owner:
                // honoured or refused, never ignored.
                let (bucket_owner, source_owner) = self.expected_owners(cx, caller).await?;
                let headers = cx.headers();
                // A value that is not text is never a valid one.
                let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
                super::request_options::check_owners(op, &bucket_owner, &source_owner, get)?;
                if super::request_options::asks_object_lock(op, get) {
                    let (bucket, key) = match cx.s3_path() {
                        S3Path::Object { bucket, key } => (&**bucket, &**key),
                        S3Path::Bucket { bucket } => (&**bucket, ""),
                        S3Path::Root => ("", ""),
                    };
                    super::request_options::object_lock_check(
                        &self.storage,
                        caller,
                        op,
                        bucket,
                        key,
                        get,
                    )
                    .await?;
                }
                // Last, as it reads the body: the digest of an XML document.
                super::document_digest::verify(op, cx.headers(), slot.as_ref()).await
            }
            None => Err(s3_error!(
                AccessDenied,
                "the request's credentials were not verified"
            )),
        }
    }

    /// After [`Self::check`], before s3s's own check of the `response-*`
    /// overrides, whose message echoes the value as Rust debug text: the
    /// same refusal as HeadObject's.
    async fn get_object(&self, req: &mut S3Request<GetObjectInput>) -> S3Result<()> {
        super::head_object::check_overrides(super::head_object::response_overrides!(req.input))
    }
}

impl CallerAccess {
    /// An unsigned request: allowed only for the reads a bucket policy
    /// grants to everyone (see [`public_read`]), while the bucket's
    /// `RestrictPublicBuckets` is off. The grant, a
    /// [`PublicGrant`] for exactly that bucket and key, goes into the
    /// extensions instead of a [`Caller`]: operations that need a `Caller`
    /// (every write, every bucket setting) still refuse the request.
    async fn check_anonymous(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        refuse_partial_presigned(cx.uri().query())?;
        let denied = || {
            s3_error!(
                AccessDenied,
                "Anonymous access is not allowed: sign the request with the access key id and secret of an API key, or read a bucket whose policy allows public reads"
            )
        };
        let op = cx.s3_op().name();
        let Some((bucket, action, key)) = public_read(op, cx.s3_path(), cx.uri().query()) else {
            return Err(self.anonymous_refusal(op, cx.s3_path(), denied()).await);
        };
        if matches!(
            action,
            PublicAction::GetObject | PublicAction::GetObjectVersion
        ) && has_response_overrides(cx.uri().query())
        {
            return Err(s3_error!(
                InvalidRequest,
                "Request specific response headers cannot be used for anonymous GET requests."
            ));
        }
        let Some(grant) = self
            .storage
            .public_grant(None, &bucket, action, key.as_deref())
            .await
            .map_err(super::error::s3_error)?
        else {
            return Err(self.anonymous_refusal(op, cx.s3_path(), denied()).await);
        };
        let headers = cx.headers();
        let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
        if super::request_options::asks_object_lock(op, get) {
            return Err(denied());
        }
        super::request_options::check(op, &grant.owner().to_string(), get)?;
        cx.extensions_mut().insert(grant);
        Ok(())
    }
}

impl CallerAccess {
    /// The refusal of an unsigned request no bucket policy opens: 404
    /// `NoSuchBucket` when the bucket it names does not exist, as S3
    /// answers anonymous requests (bucket names are global, and S3 tells
    /// anyone whether one exists), else `denied`. A CreateBucket, or a
    /// request naming no bucket, is `denied` either way.
    async fn anonymous_refusal(&self, op: &str, path: &S3Path, denied: S3Error) -> S3Error {
        let bucket = match path {
            S3Path::Object { bucket, .. } | S3Path::Bucket { bucket } => bucket,
            S3Path::Root => return denied,
        };
        if op == "CreateBucket" {
            return denied;
        }
        match self.storage.bucket_owner(bucket).await {
            Ok(None) => s3_error!(NoSuchBucket, "The specified bucket does not exist"),
            Ok(Some(_)) => denied,
            Err(e) => super::error::s3_error(e),
        }
    }

    /// The owner ids a signed request's `x-amz-expected-bucket-owner` and
    /// `x-amz-source-expected-bucket-owner` must name. Only its owner
    /// writes to a bucket, so that is the caller's own id, except on the
    /// reads another account's bucket policy may grant (the public
    /// reads, a copy's source): there it is the bucket's actual owner,
    /// looked up only when the header is sent, so that a caller who says
    /// "my own bucket" is never served someone else's public one.
    async fn expected_owners(
        &self,
        cx: &S3AccessContext<'_>,
        caller: Caller,
    ) -> S3Result<(String, String)> {
        let op = cx.s3_op().name();
        let headers = cx.headers();
        let bucket = public_read(op, cx.s3_path(), cx.uri().query())
            .filter(|_| headers.contains_key(EXPECTED_OWNER))
            .map(|(bucket, _, _)| bucket);
        let source = matches!(op, "CopyObject" | "UploadPartCopy")
            .then(|| {
                headers
                    .get(SOURCE_EXPECTED_OWNER)
                    .and(headers.get("x-amz-copy-source"))
            })
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| CopySource::parse(v).ok())
            .and_then(|source| match source {
                CopySource::Bucket { bucket, .. } => Some(bucket.to_string()),
                _ => None,
            });
        let me = caller.user_id.to_string();
        let mut owners = [me.clone(), me];
        for ((slot, bucket), header) in owners
            .iter_mut()
            .zip([bucket, source])
            .zip([EXPECTED_OWNER, SOURCE_EXPECTED_OWNER])
        {
            let Some(bucket) = bucket else { continue };
            // A missing bucket: checked against the caller, as before the
            // handler answers NoSuchBucket.
            let Some(owner) = self
                .storage
                .bucket_owner(&bucket)
                .await
                .map_err(super::error::s3_error)?
            else {
                continue;
            };
            let owner = owner.to_string();
            let expected = headers.get(header).and_then(|v| v.to_str().ok());
            if owner != *slot && expected.is_none_or(|e| e.trim() != owner) {
                // Another account's bucket named with the wrong owner: the
                // refusal a caller with no access to it gets, whether or not
                // a policy grants access, so that a guessed owner id is never
                // confirmed (S3 answers a bare AccessDenied either way).
                return Err(super::error::s3_error(bucket_access_denied(
                    &BucketName::parse(&bucket).map_err(super::error::s3_error)?,
                )));
            }
            *slot = owner;
        }
        let [bucket_owner, source_owner] = owners;
        Ok((bucket_owner, source_owner))
    }
}

/// The reads a bucket policy may open to everyone, anonymous or signed by
/// another account, or to particular users' signed requests: GetObject and HeadObject under `s3:GetObject` on the
/// key, GetObjectAttributes under `s3:GetObject` and
/// `s3:GetObjectAttributes`, GetObjectAcl under `s3:GetObjectAcl`,
/// GetObjectTagging under `s3:GetObjectTagging`; ListObjects,
/// ListObjectsV2 and HeadBucket under `s3:ListBucket` on the bucket,
/// ListObjectVersions under `s3:ListBucketVersions`, GetBucketAcl under
/// `s3:GetBucketAcl`. Naming a `versionId` (in `query`), GetObject and
/// HeadObject need `s3:GetObjectVersion` instead, GetObjectTagging
/// `s3:GetObjectVersionTagging`, GetObjectAcl `s3:GetObjectVersionAcl`,
/// and the other reads are the owner's
/// alone ([`PublicAction::of_version`]). The bucket, the action and (for
/// an object read) the key.
fn public_read(
    op: &str,
    path: &S3Path,
    query: Option<&str>,
) -> Option<(String, PublicAction, Option<String>)> {
    match (op, path) {
        (op, S3Path::Object { bucket, key }) => {
            let action = match op {
                "GetObject" | "HeadObject" => PublicAction::GetObject,
                "GetObjectAttributes" => PublicAction::GetObjectAttributes,
                "GetObjectAcl" => PublicAction::GetObjectAcl,
                "GetObjectTagging" => PublicAction::GetObjectTagging,
                _ => return None,
            };
            let action = if names_version(query) {
                action.of_version()?
            } else {
                action
            };
            Some((bucket.to_string(), action, Some(key.to_string())))
        }
        (op, S3Path::Bucket { bucket }) => {
            let action = match op {
                "ListObjects" | "ListObjectsV2" | "HeadBucket" => PublicAction::ListBucket,
                "ListObjectVersions" => PublicAction::ListBucketVersions,
                "GetBucketAcl" => PublicAction::GetBucketAcl,
                _ => return None,
            };
            Some((bucket.to_string(), action, None))
        }
        _ => None,
    }
}

/// Whether the query names a `versionId` (an object read of that version).
fn names_version(query: Option<&str>) -> bool {
    crate::query::has(query, "versionId")
}

/// Whether the query asks GetObject to override response headers
/// (`response-content-type` and the like). S3 refuses these on anonymous
/// requests: anyone could otherwise serve a public object as, say,
/// `text/html` from the bucket's origin. Signed requests, another
/// account's included, may use them, as on S3.
fn has_response_overrides(query: Option<&str>) -> bool {
    crate::query::names(query).any(|name| name.starts_with("response-"))
}

/// The longest validity S3 accepts for a SigV4 presigned URL: 7 days.
pub const MAX_PRESIGNED_EXPIRY_SECS: u64 = 7 * 24 * 3600;

/// Refuses a SigV4 presigned URL valid for longer than S3 allows. s3s 0.14
/// verifies the signature and that the URL has not expired, but not this
/// bound, so a URL meant to be refused (say, one valid for a year) would
/// work here and fail against S3.
fn refuse_long_presigned(query: Option<&str>) -> S3Result<()> {
    // Every value given (s3s refuses a name given twice, but not before
    // this check), decoded as s3s decodes it.
    let longest = crate::query::values(query, "X-Amz-Expires")
        .filter_map(|value| value.parse::<u64>().ok())
        .max();
    match longest {
        Some(secs) if secs > MAX_PRESIGNED_EXPIRY_SECS => Err(s3_error!(
            AuthorizationQueryParametersError,
            "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than {MAX_PRESIGNED_EXPIRY_SECS} seconds"
        )),
        _ => Ok(()),
    }
}

/// Refuses a query that starts a SigV4 presigned URL (`X-Amz-Algorithm` or
/// `X-Amz-Credential`) but has no `X-Amz-Signature`, with S3's 400
/// `AuthorizationQueryParametersError`: s3s takes such a request as an
/// anonymous one, whose `AccessDenied` would hide what is wrong with the URL.
fn refuse_partial_presigned(query: Option<&str>) -> S3Result<()> {
    let names = || crate::query::names(query);
    let starts = names().any(|n| n == "X-Amz-Algorithm" || n == "X-Amz-Credential");
    if starts && !names().any(|n| n == "X-Amz-Signature") {
        return Err(s3_error!(
            AuthorizationQueryParametersError,
            "{}",
            super::wire::PRESIGNED_V4_FIELDS
        ));
    }
    Ok(())
}

/// Who reads, for the operations a bucket policy may open to everyone
/// (see [`public_read`]): the authenticated
/// caller — their own buckets as owner, another account's through what
/// its policy grants everyone or them ([`Reader::Signed`]) —, or the anonymous
/// caller's [`PublicGrant`] (both set by [`CallerAccess`]).
pub fn reader<T>(req: &s3s::S3Request<T>) -> S3Result<Reader> {
    if let Some(caller) = req.extensions.get::<Caller>() {
        return Ok(Reader::Signed(*caller));
    }
    req.extensions
        .get::<PublicGrant>()
        .cloned()
        .map(Reader::Public)
        .ok_or_else(|| s3_error!(AccessDenied, "the request is not authenticated"))
}

/// The authenticated caller of an S3 request (set by [`CallerAccess`]).
pub fn caller<T>(req: &s3s::S3Request<T>) -> S3Result<Caller> {
    req.extensions
        .get::<Caller>()
        .copied()
        .ok_or_else(|| s3_error!(AccessDenied, "the request is not authenticated"))
}
