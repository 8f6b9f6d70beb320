//! PostObject: browser-form uploads (`POST /<bucket>`, or `POST /` on
//! `<bucket>.localhost`, with a `multipart/form-data` body; what boto3's
//! `generate_presigned_post` prepares), handled here in front of s3s.
//!
//! Hand-written on purpose: s3s 0.14 reads the whole `file` field into
//! memory (up to 5 GB) before it checks the form's signature, so any
//! anonymous client could exhaust the server's memory. Here the form is
//! parsed as a stream (`multer`): the fields before `file` are read with
//! S3's 20 KB bound, the form is authenticated and its policy checked from
//! them (see [`super::post_policy`]), and only then is the file streamed,
//! chunk by chunk, into the same storage path as PutObject (in a task of
//! its own, see [`detached`]), with the policy's `content-length-range` and
//! the server's `--max-object-size` enforced on the way. Fields after
//! `file` are ignored, as S3 does. A `Content-MD5` or `x-amz-checksum-*`
//! field is verified against the file as it streams (`BadDigest`, nothing
//! stored) and the checksum stored, as PutObject's headers are.
//! `x-amz-expiration` says when the bucket's lifecycle expires the object,
//! as on PutObject. The `x-amz-object-lock-mode`,
//! `x-amz-object-lock-retain-until-date` and `x-amz-object-lock-legal-hold`
//! fields lock the new version as PutObject's headers do (see
//! [`form_lock`]): the same checks of the bucket (Object Lock on, the
//! policy's `s3:PutObjectRetention` / `s3:PutObjectLegalHold`), the same
//! rule that such a write carries a checksum of its body (a `Content-MD5`
//! or `x-amz-checksum-*` field), the same refusals of bad values. Like
//! every field but the exempt ones, they must be named by a condition of
//! the form's policy.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html>

use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::Request;
use bytes::Bytes;
use futures::Stream;
use http::{HeaderValue, Method, StatusCode, header};
use miniaws_core::CoreError;
use miniaws_core::storage::{
    BucketName, ObjectLock, PutObjectInput, Tags, UserMetadata, WriteCondition, body_error,
};
use s3s::dto::{ObjectLockLegalHoldStatus, ObjectLockMode, Tagging, Timestamp, TimestampFormat};
use s3s::{S3Error, S3Result, s3_error};

use super::acl::{AclHeaders, check_write_acl};
use super::body::{ALGORITHMS, Algorithm, ChecksumRequest, checked_stream, checksum_request};
use super::convert::{StoredHeaders, content_md5, url_encode};
use super::expiration::{X_AMZ_EXPIRATION, expiration_header};
use super::host::bucket_alone;
use super::post_policy::{self, FormFields, LengthRange};
use super::request_options;
use super::tagging::{document_tags, header_tags};
use super::wire::escape;
use super::{bucket_error, object_error};
use crate::detached::detached;
use crate::state::AppState;
use s3s::dto::ServerSideEncryption;

/// S3's bound on the form data before the `file` field
/// (`MaxPostPreDataLengthExceededError`).
const PRE_DATA_MAX_BYTES: usize = 20 * 1024;

/// Counted toward [`PRE_DATA_MAX_BYTES`] for each field besides its name
/// and value (its boundary and part headers), so that many empty fields
/// reach the bound too.
const FIELD_OVERHEAD_BYTES: usize = 64;

/// The most request bytes handed to the form parser before it finds the
/// `file` field. The parser buffers a part's headers until their end, so
/// without this bound a part header that never ends would grow without
/// limit. Body chunks are handed over one at a time (see [`PacedBody`]),
/// so a well-formed form is at most [`PRE_DATA_MAX_BYTES`] plus part
/// headers plus one chunk in when its file field starts.
const PRE_FILE_STREAM_MAX_BYTES: u64 = 1 << 20;

/// True for a form upload: a POST with a `multipart/form-data` body. Every
/// such request is ours, whatever its path, so that s3s never buffers one.
pub(crate) fn is_form_post(req: &Request) -> bool {
    req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA)
}

/// Serves one form upload; errors become S3 XML at the edge (`wire`).
pub(crate) async fn handle(state: AppState, req: Request) -> S3Result<s3s::HttpResponse> {
    let Some((bucket, virtual_hosted)) = bucket_alone(&req) else {
        return Err(s3_error!(
            MethodNotAllowed,
            "A form upload (POST with multipart/form-data) goes to the bucket's URL: POST /<bucket>, or POST / on <bucket>.localhost"
        ));
    };
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| {
            s3_error!(
                MalformedPOSTRequest,
                "The body of your POST request is not well-formed multipart/form-data: no boundary."
            )
        })?;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();

    let pre_file = Arc::new(PreFile::default());
    let body = PacedBody {
        inner: req.into_body().into_data_stream(),
        pre_file: pre_file.clone(),
        seen_bytes: 0,
        yielded: false,
    };
    let mut multipart = multer::Multipart::new(body, boundary);
    let (form, file) = read_fields(&mut multipart, &pre_file).await?;
    pre_file.active.store(false, Ordering::Relaxed);

    // Authenticated and allowed by its policy before a byte of the file is read.
    let (caller, policy) = post_policy::authenticate(&state.identity, &form).await?;
    tracing::Span::current().record("owner", tracing::field::display(caller.user_id));
    let range =
        post_policy::check_policy(&policy, &form, &bucket, time::OffsetDateTime::now_utc())?;
    // Encryption, storage class, Object Lock, expected owner: as the
    // headers of a PutObject (see `super::request_options`).
    request_options::check("PostObject", &caller.user_id.to_string(), |name| {
        form.get(name)
    })?;
    let mut upload = Upload::from_form(&form, file.file_name().unwrap_or_default())?;
    // The file's digests, as PutObject's headers: verified while it streams
    // (a mismatch stores nothing), the checksum stored with the object.
    let expected_md5 = content_md5(form.get("content-md5"))?;
    let check = form_checksum(&form)?;
    if let Some(ChecksumRequest {
        algorithm,
        expected: Some(value),
    }) = &check
    {
        upload
            .headers
            .insert(algorithm.header().to_owned(), value.clone());
    }
    BucketName::parse(&bucket).map_err(bucket_error)?;
    // ACLs are disabled, as on PutObject (see `super::acl`): an `acl` field
    // other than the owner's full control is refused, after the bucket's
    // own refusal when it is missing or someone else's.
    let acl = AclHeaders {
        canned: form.get("acl"),
        ..Default::default()
    };
    check_write_acl(&state.storage, caller, &bucket, &upload.key, &acl).await?;
    // As PutObject: the bucket's answer first, then the values.
    let lock = if request_options::asks_object_lock("PostObject", |name| form.get(name)) {
        request_options::object_lock_check(
            &state.storage,
            caller,
            "PostObject",
            &bucket,
            &upload.key,
            |name| form.get(name),
        )
        .await?;
        form_lock(&form)?
    } else {
        ObjectLock::default()
    };

    let range_miss = Arc::new(OnceLock::new());
    let file_body = FileBody {
        field: file,
        range,
        size_bytes: 0,
        miss: range_miss.clone(),
        done: false,
    };
    let (body, _) = checked_stream(Box::pin(file_body), check);
    let storage = state.storage.clone();
    let input = PutObjectInput {
        bucket: bucket.clone(),
        key: upload.key.clone(),
        body,
        content_length: None,
        content_type: super::convert::stored_type(upload.content_type),
        user_metadata: upload.user_metadata,
        headers: upload.headers,
        expected_md5,
        // As PutObject: a missing bucket is NoSuchBucket, checked before
        // the file is read.
        create_bucket: false,
        condition: WriteCondition::Always,
        tags: upload.tags,
    };
    let (meta, expiration) =
        detached(async move { storage.put_object_locked(caller, input, lock).await })
            .await
            .map_err(|e| match range_miss.get() {
                Some(miss) => miss.refusal(),
                None => object_error(e),
            })?;

    let etag = meta.etag.quoted();
    let encoded_key = url_encode(&upload.key);
    let location = if virtual_hosted {
        format!("http://{host}/{encoded_key}")
    } else {
        format!("http://{host}/{bucket}/{encoded_key}")
    };
    let mut response = answer(&upload.success, &bucket, &upload.key, &etag, &location);
    // When the bucket's lifecycle expires the object, as PutObject says.
    if let Some(v) =
        expiration_header(expiration.as_ref()).and_then(|e| HeaderValue::from_str(&e).ok())
    {
        response.headers_mut().insert(X_AMZ_EXPIRATION, v);
    }
    // A new version of a versioned bucket names itself, as PutObject does.
    if let Some(v) =
        super::versions::answer_version(&meta, None).and_then(|id| HeaderValue::from_str(&id).ok())
    {
        response.headers_mut().insert("x-amz-version-id", v);
    }
    Ok(response)
}

/// The lock the form's `x-amz-object-lock-*` fields ask for, read as
/// s3s reads PutObject's headers (an empty value is no value; the date in
/// ISO 8601, `2030-01-02T00:00:00Z`) and checked by PutObject's own
/// [`super::object_lock::requested_lock`]: the mode and the date together
/// or neither, the date in the future, the legal hold `ON` or `OFF`.
///
/// # Errors
/// 400 `InvalidArgument`, as PutObject answers.
fn form_lock(form: &FormFields) -> S3Result<ObjectLock> {
    let field = |name: &str| form.get(name).filter(|v| !v.is_empty());
    let until = match field("x-amz-object-lock-retain-until-date") {
        None => None,
        Some(v) => Some(Timestamp::parse(TimestampFormat::DateTime, v).map_err(|_| {
            super::wire::invalid_argument(
                "The x-amz-object-lock-retain-until-date field must be an ISO 8601 date and time, such as 2030-01-02T00:00:00Z",
                "x-amz-object-lock-retain-until-date",
                v,
            )
        })?),
    };
    let mode = field("x-amz-object-lock-mode").map(|v| ObjectLockMode::from(v.to_owned()));
    let legal_hold = field("x-amz-object-lock-legal-hold")
        .map(|v| ObjectLockLegalHoldStatus::from(v.to_owned()));
    super::object_lock::requested_lock(mode.as_ref(), until.as_ref(), legal_hold.as_ref())
}

/// The checksum a form gives for its file: an `x-amz-checksum-*` field
/// (read as PutObject reads the header), with or without
/// `x-amz-checksum-algorithm` naming the same algorithm.
///
/// # Errors
/// `InvalidRequest` for a malformed value, two checksums, an unknown
/// algorithm, an algorithm that is not the checksum's, or an algorithm
/// without its checksum (Mini AWS stores a form's checksum only when the
/// form gives it, rather than ignoring the request for one).
fn form_checksum(form: &FormFields) -> S3Result<Option<ChecksumRequest>> {
    let mut headers = http::HeaderMap::new();
    for algorithm in ALGORITHMS {
        if let Some(value) = form.get(algorithm.header()) {
            let value = HeaderValue::from_str(value).map_err(|_| {
                s3_error!(
                    InvalidRequest,
                    "Value for {} header is invalid.",
                    algorithm.header()
                )
            })?;
            headers.insert(algorithm.header(), value);
        }
    }
    let check = checksum_request(&headers)?;
    let named = match form.get("x-amz-checksum-algorithm") {
        None => None,
        Some(name) => Some(Algorithm::from_name(name).ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
            )
        })?),
    };
    match (check, named) {
        (check, None) => Ok(check),
        (Some(check), Some(named)) if check.algorithm == named => Ok(Some(check)),
        (Some(check), Some(named)) => Err(s3_error!(
            InvalidRequest,
            "The x-amz-checksum-algorithm field names {} but the form's checksum field is {}.",
            named.name(),
            check.algorithm.header()
        )),
        (None, Some(named)) => Err(s3_error!(
            InvalidRequest,
            "x-amz-checksum-algorithm {} needs the {} field: the base64 checksum of the file.",
            named.name(),
            named.header()
        )),
    }
}

/// Reads the fields before `file` (at most [`PRE_DATA_MAX_BYTES`]) and
/// returns them with the `file` field, unread.
async fn read_fields(
    multipart: &mut multer::Multipart<'static>,
    pre_file: &PreFile,
) -> S3Result<(FormFields, multer::Field<'static>)> {
    let malformed = |e: multer::Error| -> S3Error {
        if pre_file.overflowed.load(Ordering::Relaxed) {
            pre_data_too_long()
        } else {
            s3_error!(
                MalformedPOSTRequest,
                "The body of your POST request is not well-formed multipart/form-data: {e}"
            )
        }
    };
    let mut form = FormFields::default();
    let mut used_bytes = 0usize;
    loop {
        let Some(mut field) = multipart.next_field().await.map_err(malformed)? else {
            return Err(s3_error!(
                IncorrectNumberOfFilesInPostRequest,
                "POST requires exactly one file upload per request."
            ));
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name.eq_ignore_ascii_case("file") {
            return Ok((form, field));
        }
        used_bytes += name.len() + FIELD_OVERHEAD_BYTES;
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            used_bytes += chunk.len();
            if used_bytes > PRE_DATA_MAX_BYTES {
                return Err(pre_data_too_long());
            }
            value.extend_from_slice(&chunk);
        }
        if used_bytes > PRE_DATA_MAX_BYTES {
            return Err(pre_data_too_long());
        }
        let value = String::from_utf8(value).map_err(|_| {
            s3_error!(
                InvalidArgument,
                "The form field {name:?} is not UTF-8 text."
            )
        })?;
        form.push(&name, value)?;
    }
}

fn pre_data_too_long() -> S3Error {
    s3_error!(
        MaxPostPreDataLengthExceededError,
        "Your POST request fields preceding the upload file were too large (at most 20 KB)."
    )
}

/// The object's tags: S3's `tagging` field, a `<Tagging>` document as
/// PutObjectTagging takes, or `x-amz-tagging` read as the PutObject header.
fn form_tags(form: &FormFields) -> S3Result<Tags> {
    match (form.get("tagging"), form.get("x-amz-tagging")) {
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidArgument,
            "Give the tags either as the tagging document or as x-amz-tagging, not both."
        )),
        (Some(xml), None) => {
            let mut d = s3s::xml::Deserializer::new(xml.as_bytes());
            let tagging = <Tagging as s3s::xml::Deserialize>::deserialize(&mut d)
                .and_then(|t| d.expect_eof().map(|()| t))
                .map_err(|_| {
                    s3_error!(
                        MalformedXML,
                        "The tagging field is not a well-formed <Tagging> document."
                    )
                })?;
            document_tags(tagging)
        }
        (None, header) => header_tags(header),
    }
}

/// How to answer a successful upload.
#[derive(Debug, Default)]
struct Success {
    /// `success_action_redirect` (or the older `redirect`).
    redirect: Option<String>,
    /// `success_action_status`.
    status: Option<String>,
}

/// What the form asks to store.
struct Upload {
    key: String,
    tags: Tags,
    content_type: Option<String>,
    user_metadata: UserMetadata,
    headers: std::collections::BTreeMap<String, String>,
    success: Success,
}

impl Upload {
    fn from_form(form: &FormFields, filename: &str) -> S3Result<Self> {
        let key = form
            .get("key")
            .ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields."
                )
            })?
            .replace("${filename}", filename);
        let field = |name: &str| form.get(name).map(str::to_owned);
        let tags = form_tags(form)?;
        let expires = match form.get("expires") {
            Some(v) => Some(
                Timestamp::parse(TimestampFormat::HttpDate, v.trim()).map_err(|_| {
                    s3_error!(
                        InvalidArgument,
                        "Expires must be an HTTP date (e.g. Wed, 21 Oct 2030 07:28:00 GMT)"
                    )
                })?,
            ),
            None => None,
        };
        let headers = StoredHeaders {
            cache_control: field("cache-control"),
            content_disposition: field("content-disposition"),
            content_encoding: field("content-encoding"),
            content_language: field("content-language"),
            expires,
            website_redirect_location: field("x-amz-website-redirect-location"),
            storage_class: match form.get(request_options::STORAGE_CLASS) {
                Some(class) => request_options::storage_class(class)?,
                None => None,
            },
        }
        .into_map();
        let user_metadata = form
            .iter()
            .filter_map(|(name, value)| {
                name.strip_prefix("x-amz-meta-")
                    .map(|n| (n.to_owned(), value.to_owned()))
            })
            .collect();
        Ok(Self {
            key,
            tags,
            content_type: field("content-type"),
            user_metadata,
            headers,
            success: Success {
                redirect: field("success_action_redirect").or_else(|| field("redirect")),
                status: field("success_action_status"),
            },
        })
    }
}

/// S3's answers: a 303 to `success_action_redirect` with `bucket`, `key`
/// and `etag` added to its query; else `success_action_status` 200 (empty),
/// 201 (a `PostResponse` document) or 204 (the default). `ETag` and
/// `Location` are always sent.
fn answer(
    success: &Success,
    bucket: &str,
    key: &str,
    etag: &str,
    location: &str,
) -> s3s::HttpResponse {
    let mut status = StatusCode::NO_CONTENT;
    let mut location = location.to_owned();
    let mut body = s3s::Body::empty();
    let mut xml = false;
    let redirect = success
        .redirect
        .as_deref()
        .filter(|url| url.parse::<http::Uri>().is_ok_and(|u| u.scheme().is_some()));
    if let Some(url) = redirect {
        // Everything but RFC 3986's unreserved characters.
        const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let q = |s: &str| percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string();
        let sep = if url.contains('?') { '&' } else { '?' };
        location = format!(
            "{url}{sep}bucket={}&key={}&etag={}",
            q(bucket),
            q(key),
            q(etag)
        );
        status = StatusCode::SEE_OTHER;
    } else {
        match success.status.as_deref() {
            Some("200") => status = StatusCode::OK,
            Some("201") => {
                status = StatusCode::CREATED;
                xml = true;
                body = s3s::Body::from(format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                    escape(&location),
                    escape(bucket),
                    escape(key),
                    escape(etag)
                ));
            }
            _ => {}
        }
    }
    let mut response = s3s::HttpResponse::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, v);
    }
    // SSE-S3, as on every answer about an object (see `request_options::sse_s3`).
    headers.insert(
        request_options::SSE,
        HeaderValue::from_static(ServerSideEncryption::AES256),
    );
    if xml {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    } else {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    response
}

/// Whether the parser is still before the `file` field, and whether it was
/// handed more than [`PRE_FILE_STREAM_MAX_BYTES`] there.
#[derive(Debug)]
struct PreFile {
    active: AtomicBool,
    overflowed: AtomicBool,
}

impl Default for PreFile {
    fn default() -> Self {
        Self {
            active: AtomicBool::new(true),
            overflowed: AtomicBool::new(false),
        }
    }
}

/// The request body as the form parser reads it: one chunk per poll (the
/// parser otherwise drains every chunk that is ready into its buffer), and
/// at most [`PRE_FILE_STREAM_MAX_BYTES`] before the `file` field.
struct PacedBody {
    inner: axum::body::BodyDataStream,
    pre_file: Arc<PreFile>,
    seen_bytes: u64,
    yielded: bool,
}

impl Stream for PacedBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.yielded {
            // Let the parser work through the chunk it has before the next.
            self.yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if self.pre_file.active.load(Ordering::Relaxed) {
                    if self.seen_bytes > PRE_FILE_STREAM_MAX_BYTES {
                        self.pre_file.overflowed.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(std::io::Error::other(
                            "the form's fields before its file are too long",
                        ))));
                    }
                    self.seen_bytes += chunk.len() as u64;
                }
                self.yielded = true;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(std::io::Error::other(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// How a file missed the policy's content-length-range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeMiss {
    /// It went past `max` bytes (its whole size is not read).
    TooLarge { max: u64 },
    /// It ended at `size` bytes, short of `min`.
    TooSmall { size: u64, min: u64 },
}

impl RangeMiss {
    /// S3's answer, with the sizes in the elements S3 gives them.
    fn refusal(self) -> S3Error {
        match self {
            Self::TooLarge { max } => super::wire::with_details(
                s3_error!(
                    EntityTooLarge,
                    "Your proposed upload exceeds the maximum allowed size: the policy's content-length-range allows at most {max} bytes."
                ),
                &[("MaxSizeAllowed", &max.to_string())],
            ),
            Self::TooSmall { size, min } => super::wire::with_details(
                s3_error!(
                    EntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed size: the policy's content-length-range asks for at least {min} bytes, the file has {size}."
                ),
                &[
                    ("ProposedSize", &size.to_string()),
                    ("MinSizeAllowed", &min.to_string()),
                ],
            ),
        }
    }
}

/// The `file` field as the storage engine reads it, held to the policy's
/// content-length-range: past its maximum the write fails at once, short
/// of its minimum it fails at the end, and `miss` says which (the storage
/// engine answers a failed body with its own words, so the handler reads
/// this to answer S3's).
struct FileBody {
    field: multer::Field<'static>,
    range: LengthRange,
    size_bytes: u64,
    miss: Arc<OnceLock<RangeMiss>>,
    done: bool,
}

impl Stream for FileBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let (min, max) = self.range.unwrap_or((0, u64::MAX));
        match Pin::new(&mut self.field).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                self.size_bytes += chunk.len() as u64;
                if self.size_bytes > max {
                    self.done = true;
                    let _ = self.miss.set(RangeMiss::TooLarge { max });
                    return Poll::Ready(Some(Err(body_error(CoreError::TooLarge(format!(
                        "Your proposed upload exceeds the maximum allowed size: the policy's content-length-range allows at most {max} bytes."
                    ))))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(std::io::Error::other(e))))
            }
            Poll::Ready(None) => {
                self.done = true;
                if self.size_bytes < min {
                    let size = self.size_bytes;
                    let _ = self.miss.set(RangeMiss::TooSmall { size, min });
                    return Poll::Ready(Some(Err(body_error(CoreError::invalid(format!(
                        "Your proposed upload is smaller than the minimum allowed size ({min} bytes)."
                    ))))));
                }
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use futures::stream::BoxStream;
    use s3s::S3ErrorCode;

    fn chunks(parts: Vec<&'static [u8]>) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
        Box::pin(futures::stream::iter(
            parts.into_iter().map(|p| Ok(Bytes::from_static(p))),
        ))
    }

    #[test]
    fn answers_follow_the_success_fields() {
        let etag = "\"abc\"";
        let loc = "http://h/b/k";
        let r = answer(&Success::default(), "b", "k", etag, loc);
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()[header::ETAG], etag);
        assert_eq!(r.headers()[header::LOCATION], loc);

        let ok = Success {
            redirect: None,
            status: Some("200".into()),
        };
        assert_eq!(answer(&ok, "b", "k", etag, loc).status(), StatusCode::OK);
        let created = Success {
            redirect: None,
            status: Some("201".into()),
        };
        let r = answer(&created, "b", "k", etag, loc);
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/xml");

        let redirect = Success {
            redirect: Some("http://example.test/done?x=1".into()),
            status: Some("201".into()),
        };
        let r = answer(&redirect, "b", "a b", etag, loc);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "http://example.test/done?x=1&bucket=b&key=a%20b&etag=%22abc%22"
        );
        // Not a URL: the status decides.
        let bad = Success {
            redirect: Some("not a url".into()),
            status: None,
        };
        assert_eq!(
            answer(&bad, "b", "k", etag, loc).status(),
            StatusCode::NO_CONTENT
        );
    }

    #[test]
    fn form_fields_make_the_upload() {
        let mut form = FormFields::default();
        for (n, v) in [
            ("Key", "posted/${filename}"),
            ("Content-Type", "text/plain"),
            ("x-amz-meta-Colour", "blue"),
            ("Cache-Control", "max-age=60"),
            ("success_action_status", "201"),
        ] {
            form.push(n, v.to_owned()).expect("distinct");
        }
        let up = Upload::from_form(&form, "a.txt").expect("a valid form");
        assert_eq!(up.key, "posted/a.txt");
        assert_eq!(up.content_type.as_deref(), Some("text/plain"));
        assert_eq!(
            up.user_metadata.get("colour").map(String::as_str),
            Some("blue")
        );
        assert_eq!(
            up.headers.get("cache-control").map(String::as_str),
            Some("max-age=60")
        );
        assert_eq!(up.success.status.as_deref(), Some("201"));

        let mut no_key = FormFields::default();
        no_key.push("acl", "private".into()).expect("one field");
        assert!(Upload::from_form(&no_key, "f").is_err());
        let mut tagged = FormFields::default();
        tagged.push("key", "k".into()).expect("one field");
        tagged
            .push(
                "tagging",
                "<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag></TagSet></Tagging>"
                    .into(),
            )
            .expect("two fields");
        let up = Upload::from_form(&tagged, "f").expect("tags");
        assert_eq!(
            up.tags.iter().collect::<Vec<_>>(),
            [("team", "blue")],
            "the tagging document"
        );
        let mut bad = FormFields::default();
        bad.push("key", "k".into()).expect("one field");
        bad.push("tagging", "<Tagging>".into()).expect("two fields");
        assert_eq!(
            *Upload::from_form(&bad, "f").err().expect("refused").code(),
            S3ErrorCode::MalformedXML
        );
        let mut header = FormFields::default();
        header.push("key", "k".into()).expect("one field");
        header
            .push("x-amz-tagging", "a=1&b=2".into())
            .expect("two fields");
        assert_eq!(Upload::from_form(&header, "f").expect("tags").tags.len(), 2);
    }

    /// Reads the fields of `body` (in 8 KiB chunks) as a request would.
    async fn fields_of(body: Vec<u8>) -> S3Result<(FormFields, Option<String>)> {
        let pieces: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(8192)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let pre_file = Arc::new(PreFile::default());
        let paced = PacedBody {
            inner: axum::body::Body::from_stream(futures::stream::iter(pieces)).into_data_stream(),
            pre_file: pre_file.clone(),
            seen_bytes: 0,
            yielded: false,
        };
        let mut mp = multer::Multipart::new(paced, "X");
        let (form, file) = read_fields(&mut mp, &pre_file).await?;
        Ok((form, file.file_name().map(str::to_owned)))
    }

    fn part(name: &str, value: &str) -> String {
        format!("--X\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    }

    const FILE: &str = "--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nbytes\r\n--X--\r\n";

    #[tokio::test]
    async fn fields_before_the_file_are_bounded() {
        let ok = format!("{}{}{FILE}", part("Key", "k"), part("policy", "p"));
        let (form, filename) = fields_of(ok.into_bytes()).await.expect("a good form");
        assert_eq!(form.get("key"), Some("k"), "names are lowercased");
        assert_eq!(filename.as_deref(), Some("a.txt"));

        let code = |r: S3Result<(FormFields, Option<String>)>| r.err().map(|e| e.code().clone());
        let long_value = format!("{}{FILE}", part("x-ignore-pad", &"a".repeat(21 * 1024)));
        assert_eq!(
            code(fields_of(long_value.into_bytes()).await),
            Some(S3ErrorCode::MaxPostPreDataLengthExceededError)
        );
        let many: String = (0..400).map(|i| part(&format!("f{i}"), "")).collect();
        assert_eq!(
            code(fields_of(format!("{many}{FILE}").into_bytes()).await),
            Some(S3ErrorCode::MaxPostPreDataLengthExceededError),
            "empty fields count too"
        );
        // A part header that never ends: refused once 1 MiB went in.
        let endless = format!(
            "--X\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: {}",
            "a".repeat(3 << 20)
        );
        assert_eq!(
            code(fields_of(endless.into_bytes()).await),
            Some(S3ErrorCode::MaxPostPreDataLengthExceededError)
        );
        assert_eq!(
            code(fields_of(format!("{}--X--\r\n", part("key", "k")).into_bytes()).await),
            Some(S3ErrorCode::IncorrectNumberOfFilesInPostRequest)
        );
        assert_eq!(
            code(
                fields_of(format!("{}{}{FILE}", part("key", "a"), part("KEY", "b")).into_bytes())
                    .await
            ),
            Some(S3ErrorCode::InvalidArgument),
            "a field given twice"
        );
        assert_eq!(
            code(fields_of(b"not a form".to_vec()).await),
            Some(S3ErrorCode::MalformedPOSTRequest)
        );
    }

    #[tokio::test]
    async fn the_file_is_held_to_the_length_range() {
        async fn run(range: LengthRange) -> (Result<Vec<u8>, std::io::Error>, Option<RangeMiss>) {
            let body = b"--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nhello world\r\n--X--\r\n";
            let mut mp = multer::Multipart::new(chunks(vec![&body[..20], &body[20..]]), "X");
            let field = mp.next_field().await.expect("parses").expect("a field");
            let miss = Arc::new(OnceLock::new());
            let mut s = FileBody {
                field,
                range,
                size_bytes: 0,
                miss: miss.clone(),
                done: false,
            };
            let mut out = Vec::new();
            while let Some(chunk) = s.next().await {
                match chunk {
                    Ok(c) => out.extend_from_slice(&c),
                    Err(e) => return (Err(e), miss.get().copied()),
                }
            }
            (Ok(out), miss.get().copied())
        }
        let (got, miss) = run(None).await;
        assert_eq!(got.expect("no range"), b"hello world");
        assert_eq!(miss, None);
        assert!(
            run(Some((0, 11))).await.0.is_ok(),
            "the maximum is inclusive"
        );
        let (got, miss) = run(Some((0, 10))).await;
        assert!(got.is_err(), "too large");
        assert_eq!(miss, Some(RangeMiss::TooLarge { max: 10 }));
        let (got, miss) = run(Some((12, 100))).await;
        assert!(got.is_err());
        assert_eq!(miss, Some(RangeMiss::TooSmall { size: 11, min: 12 }));
    }
}
