//! PutObject: streams the body to disk; `Content-MD5` → `BadDigest`,
//! `x-amz-checksum-*` (header or trailer) verified, stored and returned; an
//! object uploaded without one gets S3's default, a CRC64NVME.
//!
//! The object is written in the storage service's two steps (a verified
//! blob, then the metadata commit) rather than through `put_object`,
//! because a trailing checksum is known only after the last byte, and it is
//! part of the metadata committed.
//!
//! `If-None-Match: *` and `If-Match` make the write conditional (see
//! [`super::write_conditions`]): checked before the body is read, and again
//! atomically by the commit. `x-amz-tagging` gives the object its tags
//! (see [`super::tagging`]); a bad tag set is refused before the body is
//! read, and so is a tagged write the bucket's policy denies
//! `s3:PutObjectTagging` (S3 authorizes tags given with the write as that
//! action too).
//!
//! `x-amz-expiration` says when the bucket's lifecycle (read with the
//! bucket, before the body) expires the new object.
//!
//! ACLs are disabled (see [`super::acl`]): `x-amz-acl: private` or
//! `bucket-owner-full-control` (or none) is accepted, any other ACL or grant
//! is `AccessControlListNotSupported`, before the body is read.

use miniaws_core::storage::{BucketName, CommitObject, S3Action};
use s3s::dto::{PutObjectInput, PutObjectOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::acl::{acl_headers, check_write_acl};
use super::body::{ChecksumRequest, checked_body, checksum_request};
use super::convert::{
    StoredChecksums, StoredHeaders, checksum_header, content_md5, etag, user_metadata,
};
use super::expiration::expiration_header;
use super::object_lock::requested_lock;
use super::request_options::{carries_checksum, sse_s3, stored_class};
use super::tagging::header_tags;
use super::write_conditions::write_condition;
use super::{MiniS3, bucket_error, caller, detached, object_error};
use crate::linger::SharedBody;

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let caller = caller(&req)?;
    // Without a checksum of its own, the object gets S3's default one.
    let check = checksum_request(&req.headers)?.unwrap_or_else(ChecksumRequest::s3_default);
    // A write the bucket's default retention will lock needs a checksum
    // of its body (checked with the bucket, before the body is read).
    let summed = carries_checksum(&req.headers);
    let input = req.input;
    if input.write_offset_bytes.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "appends (x-amz-write-offset-bytes) are not implemented"
        ));
    }
    let condition = write_condition(input.if_match, input.if_none_match)?;
    let acl = acl_headers!(input, grant_read, grant_read_acp, grant_write_acp);
    check_write_acl(s3.storage(), caller, &input.bucket, &input.key, &acl).await?;
    let expected_md5 = content_md5(input.content_md5.as_deref())?;
    let tags = header_tags(input.tagging.as_deref())?;
    // `x-amz-object-lock-*` (the bucket has Object Lock: the access check
    // refused them otherwise).
    let lock = requested_lock(
        input.object_lock_mode.as_ref(),
        input.object_lock_retain_until_date.as_ref(),
        input.object_lock_legal_hold_status.as_ref(),
    )?;
    // A bad name is `InvalidBucketName`; every other refusal of the
    // bucket, the key or the condition comes from the write below.
    BucketName::parse(&input.bucket).map_err(bucket_error)?;
    let content_length = input.content_length.and_then(|l| u64::try_from(l).ok());
    let mut headers = StoredHeaders {
        cache_control: input.cache_control,
        content_disposition: input.content_disposition,
        content_encoding: input.content_encoding,
        content_language: input.content_language,
        expires: input.expires,
        website_redirect_location: input.website_redirect_location,
        storage_class: stored_class(input.storage_class.as_ref())?,
    }
    .into_map();
    // Kept to drain what is left of a body refused before it is read.
    let shared = input.body.map(|b| SharedBody::new(b, &req.headers));
    let (body, outcome) = checked_body(shared.clone(), Some(check), req.trailing_headers);
    // The blob and its commit in one task of its own (as UploadPart): a
    // client that goes away mid-body fails the write (nothing is kept), and
    // one that goes away after its last byte, while the blob is made
    // durable, cannot leave that blob behind without its row (found by the
    // storage torture test).
    let storage = s3.state.storage.clone();
    let computed = outcome.clone();
    let (bucket, key) = (input.bucket, input.key);
    let (content_type, metadata) = (
        super::convert::stored_type(input.content_type),
        input.metadata,
    );
    let written = detached(async move {
        let written = storage
            .write_checked_blob(
                caller,
                &bucket,
                &key,
                // Tags from `x-amz-tagging` need s3:PutObjectTagging too.
                S3Action::object_write(!tags.is_empty()),
                false,
                &condition,
                body,
                content_length,
                expected_md5,
                summed,
            )
            .await;
        // A refused or failed write: its own error, told apart from the
        // commit's below.
        let (blob_id, written, lifecycle, versioning) = match written {
            Ok(written) => written,
            Err(e) => return Ok(Err(e)),
        };
        let computed = computed.checksum();
        if let Some((name, value)) = checksum_header(&computed) {
            headers.insert(name, value);
        }
        let meta = storage
            .commit_object(
                caller,
                CommitObject {
                    bucket,
                    key,
                    blob_id,
                    size_bytes: written.size_bytes,
                    etag: miniaws_core::storage::ETag::from_md5(&written.md5),
                    content_type,
                    user_metadata: user_metadata(metadata),
                    headers,
                    condition,
                    parts: Vec::new(),
                    tags,
                    versioning,
                    lock,
                },
            )
            .await?;
        Ok(Ok((meta, lifecycle, computed)))
    })
    .await
    .map_err(object_error)?;
    let (meta, lifecycle, computed) = SharedBody::on_refusal(shared, written)
        .await
        .map_err(|e| outcome.error(e))?;
    // A PutObject's checksum is always of the whole body (S3 names the
    // type on the answer too).
    let checksum_type = computed
        .is_some()
        .then(|| s3s::dto::ChecksumType::from_static(s3s::dto::ChecksumType::FULL_OBJECT));
    let sums = StoredChecksums::of(computed);
    Ok(S3Response::new(PutObjectOutput {
        e_tag: Some(etag(&meta.etag)),
        checksum_type,
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        size: i64::try_from(meta.size_bytes).ok(),
        server_side_encryption: sse_s3(),
        expiration: expiration_header(lifecycle.and_then(|l| l.expiration(&meta)).as_ref()),
        version_id: super::versions::answer_version(&meta, None),
        ..Default::default()
    }))
}
