//! The S3-compatible endpoint (the AWS listener, `--aws-listen`).
//!
//! The protocol — routing, XML, SigV4 in headers and presigned URLs,
//! `aws-chunked` bodies with signed chunks or unsigned trailers — is the
//! `s3s` crate's. This module implements its traits over our services:
//! [`MiniS3`] (`s3s::S3`) dispatches each operation to a module of its own,
//! [`auth::IdentityAuth`] (`s3s::auth::S3Auth`) finds secrets through the
//! identity service, [`host::LocalhostHost`] reads virtual-hosted bucket
//! names, and [`wire`] adds request ids and resources to error XML.
//! CORS preflights never reach s3s and every answer to a request with an
//! `Origin` gets its bucket's CORS headers ([`cors`]).
//! CreateBucket's tags, which s3s drops, are read from a copy of its body
//! ([`create_bucket_tags`]).
//! Form uploads (PostObject) never reach s3s: `post_object` (with
//! [`post_policy`]) serves them, streamed and authenticated before the
//! file; [`xml_limit`] turns s3s's 500 for an oversized XML body into S3's
//! 400 `MaxMessageLengthExceeded`.
//! The `Content-MD5` / `x-amz-checksum-*` of XML documents (DeleteObjects,
//! PutObjectTagging, the bucket configurations…) are verified by
//! [`document_digest`] before the document is applied.
//! Request headers that change what S3 does with an object (encryption,
//! storage class, Object Lock, expected bucket owner) are honoured or
//! refused by [`request_options`], from the access check.
//! A SigV2 request for a bucket signed over `/bucket/` but sent to
//! `/bucket` (botocore's) is handed to s3s with the path it signed
//! ([`sig_v2`]).
//! Requests on a website host (`<bucket>.s3-website.localhost`) never
//! reach s3s: [`website`] serves them as S3's website endpoint does.
//! Operations not listed in the `impl s3s::S3` below fall through to s3s's
//! defaults, which answer `NotImplemented` (501).

pub mod acl;
pub mod auth;
pub mod body;
pub mod bucket_encryption;
pub mod convert;
pub mod cors;
pub mod create_bucket_tags;
pub mod document_digest;
pub mod error;
pub mod error_messages;
pub mod expiration;
pub mod host;
pub mod object_answer;
pub mod object_lock;
pub mod post_policy;
pub mod region;
pub mod request_options;
mod restore_object;
pub mod sig_v2;
pub mod signed_headers;
pub mod tagging;
pub mod versions;
pub mod website;
pub mod wire;
pub mod write_conditions;
pub mod xml_limit;

mod abort_multipart_upload;
mod complete_multipart_upload;
mod copy_object;
mod create_bucket;
mod create_multipart_upload;
mod delete_bucket;
mod delete_bucket_cors;
mod delete_bucket_encryption;
mod delete_bucket_lifecycle;
mod delete_bucket_ownership_controls;
mod delete_bucket_policy;
mod delete_bucket_tagging;
mod delete_bucket_website;
mod delete_object;
mod delete_object_tagging;
mod delete_objects;
mod get_bucket_accelerate_configuration;
mod get_bucket_acl;
mod get_bucket_cors;
mod get_bucket_encryption;
mod get_bucket_lifecycle_configuration;
mod get_bucket_location;
mod get_bucket_logging;
mod get_bucket_notification_configuration;
mod get_bucket_ownership_controls;
mod get_bucket_policy;
mod get_bucket_policy_status;
mod get_bucket_replication;
mod get_bucket_request_payment;
mod get_bucket_tagging;
mod get_bucket_versioning;
mod get_bucket_website;
mod get_object;
mod get_object_acl;
mod get_object_attributes;
mod get_object_tagging;
mod head_bucket;
mod head_object;
mod list_buckets;
mod list_multipart_uploads;
mod list_object_versions;
mod list_objects;
mod list_objects_v2;
mod list_parts;
mod post_object;
mod public_access_block;
mod put_bucket_acl;
mod put_bucket_cors;
mod put_bucket_encryption;
mod put_bucket_lifecycle_configuration;
mod put_bucket_logging;
mod put_bucket_notification_configuration;
mod put_bucket_ownership_controls;
mod put_bucket_policy;
mod put_bucket_request_payment;
mod put_bucket_tagging;
mod put_bucket_versioning;
mod put_bucket_website;
mod put_object;
mod put_object_acl;
mod put_object_tagging;
mod upload_part;
mod upload_part_copy;

use axum::Router;
use axum::extract::Request;
use http::{HeaderMap, HeaderValue, StatusCode};
use miniaws_core::CoreError;
use miniaws_core::identity::Caller;
use miniaws_core::multipart::MultipartService;
use miniaws_core::storage::{Access, Bucket, ObjectExpiry, ObjectMeta, S3Action, StorageService};
use s3s::config::{S3Config, StaticConfigProvider};
use s3s::dto::*;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use std::sync::Arc;

use crate::credential_scope::CredentialScope;
use crate::detached::detached;
use crate::state::AppState;

pub use error::{s3_error, s3_error_with};

/// Largest clock skew SigV4 accepts, header-signed or presigned (S3's own
/// limit): beyond it a request fails with `RequestTimeTooSkewed`.
pub const MAX_CLOCK_SKEW_SECS: u32 = 15 * 60;

/// Our implementation of the S3 operations, over the core services.
#[derive(Clone)]
pub struct MiniS3 {
    state: AppState,
}

impl MiniS3 {
    fn storage(&self) -> &StorageService {
        &self.state.storage
    }

    fn multipart(&self) -> &MultipartService {
        &self.state.multipart
    }

    /// Bucket `name`, if `caller` owns it and its policy does not deny
    /// them `action` on it; else S3's refusal (`NoSuchBucket`,
    /// `AccessDenied`, `InvalidBucketName`).
    async fn owned_bucket(&self, caller: Caller, name: &str, action: S3Action) -> S3Result<Bucket> {
        self.storage()
            .bucket(caller, name, Access::bucket(action))
            .await
            .map_err(bucket_error)
    }
}

/// Who reads (the public reads of [`auth::reader`] only): the
/// authenticated caller (another account's bucket only through what its
/// policy grants everyone or them), or an anonymous caller with a public
/// grant.
fn reader<T>(req: &S3Request<T>) -> S3Result<miniaws_core::storage::Reader> {
    auth::reader(req)
}

/// The authenticated caller of a request.
fn caller<T>(req: &S3Request<T>) -> S3Result<Caller> {
    auth::caller(req)
}

/// Errors of bucket-level operations: a bad name is `InvalidBucketName`.
fn bucket_error(err: CoreError) -> S3Error {
    match err {
        e @ CoreError::InvalidInput(_) => s3_error_with(e, S3ErrorCode::InvalidBucketName),
        other => s3_error(other),
    }
}

/// Errors of object-level operations, through the table (a range that
/// selects nothing also names the object's size; a delete marker says it
/// is one, with its version id, as S3 answers).
fn object_error(err: CoreError) -> S3Error {
    let size = match &err {
        CoreError::RangeNotSatisfiable { size_bytes } => Some(*size_bytes),
        _ => None,
    };
    let marker = match &err {
        CoreError::DeleteMarker {
            version_id,
            by_version,
            last_modified,
            ..
        } => HeaderValue::from_str(version_id)
            .ok()
            .map(|v| (v, *by_version, *last_modified)),
        _ => None,
    };
    let mut e = s3_error(err);
    // Added to the error's own headers (which carry its XML details).
    let mut headers = e.headers().cloned().unwrap_or_default();
    if let Some((version_id, by_version, last_modified)) = marker {
        headers.insert("x-amz-delete-marker", HeaderValue::from_static("true"));
        headers.insert("x-amz-version-id", version_id);
        // When the delete happened, as S3 says it on a read of the marker;
        // and, for the 405, the one method a marker's version allows.
        if let Some(v) =
            last_modified.and_then(|t| HeaderValue::from_str(&crate::storage::http_date(t)).ok())
        {
            headers.insert(http::header::LAST_MODIFIED, v);
        }
        if by_version {
            headers.insert(http::header::ALLOW, HeaderValue::from_static("DELETE"));
        }
    }
    if let Some(size) = size
        && let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}"))
    {
        headers.insert(http::header::CONTENT_RANGE, v);
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    }
    if !headers.is_empty() {
        e.set_headers(headers);
    }
    e
}

/// 304 Not Modified, with the validators S3 sends along, the version it
/// is about (`x-amz-version-id`, as on the 200 it stands for), and
/// `x-amz-expiration` when the bucket's lifecycle expires the object (S3
/// sends it on a 304 too).
fn not_modified(
    meta: &ObjectMeta,
    expiration: Option<&ObjectExpiry>,
    version_id: Option<String>,
) -> S3Error {
    let mut e = S3Error::new(S3ErrorCode::NotModified);
    e.set_status_code(StatusCode::NOT_MODIFIED);
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&meta.etag.quoted()) {
        headers.insert(http::header::ETAG, v);
    }
    let mut date = Vec::new();
    if convert::timestamp(meta.last_modified)
        .format(TimestampFormat::HttpDate, &mut date)
        .is_ok()
        && let Ok(v) = HeaderValue::from_bytes(&date)
    {
        headers.insert(http::header::LAST_MODIFIED, v);
    }
    if let Some(v) =
        expiration::expiration_header(expiration).and_then(|e| HeaderValue::from_str(&e).ok())
    {
        headers.insert(expiration::X_AMZ_EXPIRATION, v);
    }
    if let Some(v) = version_id.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert("x-amz-version-id", v);
    }
    e.set_headers(headers);
    e
}

/// A part number from the wire.
fn part_number(n: i32) -> S3Result<u32> {
    u32::try_from(n).map_err(|_| {
        s3s::s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        )
    })
}

#[async_trait::async_trait]
impl s3s::S3 for MiniS3 {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        list_buckets::handle(self, req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        create_bucket::handle(self, req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        head_bucket::handle(self, req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        delete_bucket::handle(self, req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        get_bucket_location::handle(self, req).await
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        get_bucket_versioning::handle(self, req).await
    }

    async fn get_bucket_request_payment(
        &self,
        req: S3Request<GetBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<GetBucketRequestPaymentOutput>> {
        get_bucket_request_payment::handle(self, req).await
    }

    async fn get_bucket_website(
        &self,
        req: S3Request<GetBucketWebsiteInput>,
    ) -> S3Result<S3Response<GetBucketWebsiteOutput>> {
        get_bucket_website::handle(self, req).await
    }

    async fn put_bucket_website(
        &self,
        req: S3Request<PutBucketWebsiteInput>,
    ) -> S3Result<S3Response<PutBucketWebsiteOutput>> {
        put_bucket_website::handle(self, req).await
    }

    async fn delete_bucket_website(
        &self,
        req: S3Request<DeleteBucketWebsiteInput>,
    ) -> S3Result<S3Response<DeleteBucketWebsiteOutput>> {
        delete_bucket_website::handle(self, req).await
    }

    async fn get_bucket_logging(
        &self,
        req: S3Request<GetBucketLoggingInput>,
    ) -> S3Result<S3Response<GetBucketLoggingOutput>> {
        get_bucket_logging::handle(self, req).await
    }

    async fn put_bucket_logging(
        &self,
        req: S3Request<PutBucketLoggingInput>,
    ) -> S3Result<S3Response<PutBucketLoggingOutput>> {
        put_bucket_logging::handle(self, req).await
    }

    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        get_bucket_notification_configuration::handle(self, req).await
    }

    async fn get_bucket_replication(
        &self,
        req: S3Request<GetBucketReplicationInput>,
    ) -> S3Result<S3Response<GetBucketReplicationOutput>> {
        get_bucket_replication::handle(self, req).await
    }

    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        put_bucket_notification_configuration::handle(self, req).await
    }

    async fn put_bucket_request_payment(
        &self,
        req: S3Request<PutBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<PutBucketRequestPaymentOutput>> {
        put_bucket_request_payment::handle(self, req).await
    }

    async fn get_bucket_accelerate_configuration(
        &self,
        req: S3Request<GetBucketAccelerateConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketAccelerateConfigurationOutput>> {
        get_bucket_accelerate_configuration::handle(self, req).await
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        put_bucket_versioning::handle(self, req).await
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        list_object_versions::handle(self, req).await
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        get_bucket_policy::handle(self, req).await
    }

    async fn get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        get_bucket_policy_status::handle(self, req).await
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        put_bucket_policy::handle(self, req).await
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        delete_bucket_policy::handle(self, req).await
    }

    async fn get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        public_access_block::get(self, req).await
    }

    async fn put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
        public_access_block::put(self, req).await
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        public_access_block::delete(self, req).await
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        get_bucket_cors::handle(self, req).await
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        put_bucket_cors::handle(self, req).await
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        delete_bucket_cors::handle(self, req).await
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        get_bucket_tagging::handle(self, req).await
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        put_bucket_tagging::handle(self, req).await
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        delete_bucket_tagging::handle(self, req).await
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        get_bucket_lifecycle_configuration::handle(self, req).await
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        put_bucket_lifecycle_configuration::handle(self, req).await
    }

    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        delete_bucket_lifecycle::handle(self, req).await
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        get_bucket_encryption::handle(self, req).await
    }

    async fn put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        put_bucket_encryption::handle(self, req).await
    }

    async fn delete_bucket_encryption(
        &self,
        req: S3Request<DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
        delete_bucket_encryption::handle(self, req).await
    }

    async fn get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        object_lock::get_configuration(self, req).await
    }

    async fn put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        object_lock::put_configuration(self, req).await
    }

    async fn get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        object_lock::get_retention(self, req).await
    }

    async fn put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        object_lock::put_retention(self, req).await
    }

    async fn get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        object_lock::get_legal_hold(self, req).await
    }

    async fn put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        object_lock::put_legal_hold(self, req).await
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        get_bucket_acl::handle(self, req).await
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        put_bucket_acl::handle(self, req).await
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        get_bucket_ownership_controls::handle(self, req).await
    }

    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        put_bucket_ownership_controls::handle(self, req).await
    }

    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        delete_bucket_ownership_controls::handle(self, req).await
    }

    async fn get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        get_object_acl::handle(self, req).await
    }

    async fn restore_object(
        &self,
        req: S3Request<RestoreObjectInput>,
    ) -> S3Result<S3Response<RestoreObjectOutput>> {
        restore_object::handle(self, req).await
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        get_object_attributes::handle(self, req).await
    }

    async fn put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        put_object_acl::handle(self, req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        put_object::handle(self, req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        get_object::handle(self, req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        head_object::handle(self, req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        delete_object::handle(self, req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        delete_objects::handle(self, req).await
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        get_object_tagging::handle(self, req).await
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        put_object_tagging::handle(self, req).await
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        delete_object_tagging::handle(self, req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        copy_object::handle(self, req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        list_objects::handle(self, req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        list_objects_v2::handle(self, req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        create_multipart_upload::handle(self, req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        upload_part::handle(self, req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        upload_part_copy::handle(self, req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        complete_multipart_upload::handle(self, req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        abort_multipart_upload::handle(self, req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        list_parts::handle(self, req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        list_multipart_uploads::handle(self, req).await
    }
}

/// The s3s service with our auth, access check, host parsing and limits.
pub fn s3_service(state: AppState) -> S3Service {
    let mut config = S3Config::default();
    config.presigned_url_max_skew_time_secs = MAX_CLOCK_SKEW_SECS;
    config.xml_max_body_size = xml_limit::XML_MAX_BODY_BYTES;
    let identity = state.identity.clone();
    let storage = state.storage.clone();
    let mut builder = S3ServiceBuilder::new(MiniS3 { state });
    builder.set_config(Arc::new(StaticConfigProvider::new(Arc::new(config))));
    builder.set_auth(auth::IdentityAuth::new(identity));
    builder.set_access(auth::CallerAccess { storage });
    builder.set_host(host::LocalhostHost);
    builder.build()
}

/// The methods of the S3 API: anything else (PATCH, TRACE, a made-up
/// one) is S3's 405 `MethodNotAllowed`, not s3s's 501 "Unknown operation",
/// which would tell a client the server lacks a feature.
const S3_METHODS: [http::Method; 6] = [
    http::Method::GET,
    http::Method::HEAD,
    http::Method::PUT,
    http::Method::POST,
    http::Method::DELETE,
    http::Method::OPTIONS,
];

/// S3's refusal of a method it has no operation for, with `Allow`.
fn method_not_allowed(method: &http::Method) -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::MethodNotAllowed,
        format!(
            "The specified method is not allowed against this resource: {method} (the S3 API uses GET, HEAD, PUT, POST, DELETE and OPTIONS)"
        ),
    );
    // The error's headers replace s3s's, its content type included.
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    headers.insert(
        http::header::ALLOW,
        HeaderValue::from_static("GET, HEAD, PUT, POST, DELETE, OPTIONS"),
    );
    e.set_headers(headers);
    e
}

/// The AWS listener's router, inside the same request-id and tracing
/// middleware as the native API: form uploads (PostObject) are ours (see
/// `post_object`: s3s would buffer them whole), and so are CORS preflights
/// (see [`cors`]); everything else goes to s3s. A request with an `Origin`
/// gets its bucket's CORS headers on the answer, whoever produced it.
pub fn aws_router(state: AppState) -> Router {
    let body_idle = state.body_idle_timeout;
    let service = s3_service(state.clone());
    let routes = Router::new().fallback(move |req: Request| {
        let service = service.clone();
        let state = state.clone();
        async move {
            if let Some((status, message)) = crate::framing::problem(&req) {
                let code = if status == StatusCode::NOT_IMPLEMENTED {
                    S3ErrorCode::NotImplemented
                } else {
                    S3ErrorCode::InvalidRequest
                };
                let refusal = S3Error::with_message(code, message);
                return wire::answer(req, |_| async { Err(refusal) }).await;
            }
            // The credential scope, read once for the decisions below.
            let scope = CredentialScope::of(req.headers(), req.uri().query());
            let signed_for = scope.as_ref().and_then(CredentialScope::header_service);
            // EC2's Query API shares the listener: signed for `ec2`, or
            // an unsigned form POST / Action query to `/`.
            if crate::ec2::is_ec2_request(&req, signed_for) {
                return crate::ec2::handle(state, req).await;
            }
            // So does STS (GetCallerIdentity); a service Mini AWS does not
            // have is refused in its own protocol, not answered as S3.
            match signed_for {
                Some("sts") => return crate::sts::handle(state, req).await,
                Some(service) if service != "s3" => {
                    return crate::sts::other_service(service, &req);
                }
                _ => {}
            }
            // The website endpoint: anonymous GETs of a bucket's site.
            if let Some(bucket) = website::website_request(&req) {
                return website::serve(state, bucket, req).await;
            }
            if cors::is_preflight(&req) {
                return wire::answer(req, |req| cors::preflight(state, req)).await;
            }
            if !S3_METHODS.contains(req.method()) {
                let refusal = method_not_allowed(req.method());
                return wire::answer(req, |_| async { Err(refusal) }).await;
            }
            // s3s takes an Authorization header that is not ASCII for no
            // header at all, and the signed request for an anonymous one.
            if req
                .headers()
                .get(http::header::AUTHORIZATION)
                .is_some_and(|v| v.to_str().is_err())
            {
                let refusal = S3Error::with_message(
                    S3ErrorCode::AuthorizationHeaderMalformed,
                    wire::MALFORMED_AUTHORIZATION,
                );
                return wire::answer(req, |_| async { Err(refusal) }).await;
            }
            if let Some(refusal) = scope.as_ref().and_then(region::check) {
                return wire::answer(req, |_| async { Err(refusal) }).await;
            }
            let cors_request = cors::CorsRequest::of(&req);
            let mut response = if post_object::is_form_post(&req) {
                wire::answer(req, |req| post_object::handle(state.clone(), req)).await
            } else {
                wire::serve(service, &state.identity, create_bucket_tags::capture(req)).await
            };
            if let Some(cors_request) = cors_request {
                cors::decorate(&state, cors_request, &mut response).await;
            }
            response
        }
    });
    crate::middleware::wrap(routes, body_idle)
}
