//! CopyObject: within or across the caller's buckets, `COPY` or `REPLACE`
//! metadata directive, `x-amz-copy-source-if-*` conditions on the source,
//! `If-Match` / `If-None-Match: *` on the destination (as PutObject's, see
//! [`super::write_conditions`]), and `COPY`
//! (the source's tags, the default) or `REPLACE` (those of `x-amz-tagging`,
//! none when it is absent) tagging directive. A source
//! `?versionId=null` names the current object and is answered with
//! `x-amz-copy-source-version-id: null` (see [`super::versions`]). ACL
//! headers are checked as on PutObject (see [`super::acl`]). The copy's
//! storage class is `x-amz-storage-class`, else STANDARD, whatever the
//! metadata directive, as S3 documents for CopyObject; so is its website
//! redirect (`x-amz-website-redirect-location`, none when absent: S3 never
//! copies the source's), and its checksum is the source's (whatever the
//! directive) unless `x-amz-checksum-algorithm` names one. `x-amz-expiration`
//! says when the destination bucket's lifecycle expires the copy.
//! `x-amz-object-lock-mode`, `-retain-until-date` and `-legal-hold` lock
//! the copy as PutObject's lock the object it writes (see
//! [`super::object_lock`]); a copy never takes its source's lock, only
//! what it names or the destination bucket's default retention.

use miniaws_core::storage::{MetadataDirective, TaggingDirective};
use s3s::dto::{CopyObjectInput, CopyObjectOutput, CopyObjectResult, CopySource};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::acl::{acl_headers, check_write_acl};
use super::body::Algorithm;
use super::convert::{
    StoredChecksums, StoredHeaders, WEBSITE_REDIRECT, conditions, etag, timestamp, user_metadata,
};
use super::expiration::expiration_header;
use super::object_lock::requested_lock;
use super::request_options::{STORAGE_CLASS, sse_s3, stored_class};
use super::tagging::{header_tags, replaces_tags};
use super::versions::{answer_version, version_param};
use super::write_conditions::header_write_condition;
use super::{MiniS3, caller, detached, object_error};
use miniaws_core::storage::VersionId;

/// The bucket and key of a copy source, and the version it named (no
/// access points).
pub(super) fn source(src: &CopySource) -> S3Result<(&str, &str, Option<VersionId>)> {
    match src {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok((bucket, key, version_param(version_id.as_deref())?)),
        _ => Err(s3_error!(
            NotImplemented,
            "access-point copy sources are not implemented"
        )),
    }
}

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let caller = caller(&req)?;
    let dst_condition = header_write_condition(&req.headers)?;
    let input = req.input;
    // `x-amz-tagging` counts (and is checked) only with REPLACE.
    let tagging = if replaces_tags(input.tagging_directive.as_ref())? {
        TaggingDirective::Replace(header_tags(input.tagging.as_deref())?)
    } else {
        TaggingDirective::Copy
    };
    let (src_bucket, src_key, src_version) = source(&input.copy_source)?;
    // `x-amz-object-lock-*`, checked as PutObject's (the destination
    // has Object Lock: the access check refused them otherwise). The
    // source's lock is never copied.
    let lock = requested_lock(
        input.object_lock_mode.as_ref(),
        input.object_lock_retain_until_date.as_ref(),
        input.object_lock_legal_hold_status.as_ref(),
    )?;
    let acl = acl_headers!(input, grant_read, grant_read_acp, grant_write_acp);
    check_write_acl(s3.storage(), caller, &input.bucket, &input.key, &acl).await?;
    let replace = match input.metadata_directive.as_ref().map(|d| d.as_str()) {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(other) => {
            return Err(s3_error!(
                InvalidArgument,
                "Unknown metadata directive {other:?}: use COPY or REPLACE"
            ));
        }
    };
    // A copy's storage class is the one it names, else STANDARD, never the
    // source's (S3's CopyObject; see `super::request_options`).
    let class = stored_class(input.storage_class.as_ref())?;
    // Naming a storage class or SSE-S3 makes a copy onto itself legal, as
    // on S3 (how a client changes an object's class in place).
    let changes_attributes = input.storage_class.is_some()
        || input.server_side_encryption.is_some()
        || input.website_redirect_location.is_some();
    // A source version named makes it legal too: copying a previous
    // version onto its own key is how S3 restores it
    // (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/RestoringPreviousVersions.html>).
    if !replace
        && !changes_attributes
        && src_version.is_none()
        && src_bucket == input.bucket
        && src_key == input.key
    {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let directive = if replace {
        MetadataDirective::Replace {
            content_type: super::convert::stored_type(input.content_type),
            user_metadata: user_metadata(input.metadata),
            headers: StoredHeaders {
                cache_control: input.cache_control,
                content_disposition: input.content_disposition,
                content_encoding: input.content_encoding,
                content_language: input.content_language,
                expires: input.expires,
                website_redirect_location: input.website_redirect_location,
                storage_class: class,
            }
            .into_map(),
        }
    } else {
        // S3 never copies an object's website redirect: the copy has the
        // one the request names, if any, whatever the directive.
        let redirect = input.website_redirect_location.filter(|l| !l.is_empty());
        MetadataDirective::CopyChanging(
            [
                (STORAGE_CLASS.to_owned(), class),
                (WEBSITE_REDIRECT.to_owned(), redirect),
            ]
            .into_iter()
            .collect(),
        )
    };
    let checksum = Algorithm::requested(input.checksum_algorithm.as_ref())?;
    let conditions = conditions(
        input.copy_source_if_match,
        input.copy_source_if_none_match,
        input.copy_source_if_modified_since,
        input.copy_source_if_unmodified_since,
    );
    // The copy runs to the end even if the client goes away.
    let storage = s3.state.storage.clone();
    let (src_bucket, src_key) = (src_bucket.to_owned(), src_key.to_owned());
    let (bucket, key) = (input.bucket, input.key);
    let (meta, expiration, source_version) = detached(async move {
        storage
            .copy_object_version(
                caller,
                &src_bucket,
                &src_key,
                src_version,
                &conditions,
                &bucket,
                &key,
                directive,
                tagging,
                dst_condition,
                lock,
                checksum.map(Algorithm::core),
            )
            .await
    })
    .await
    .map_err(object_error)?;
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some({
            let sums = StoredChecksums::from_meta(&meta);
            CopyObjectResult {
                e_tag: Some(etag(&meta.etag)),
                last_modified: Some(timestamp(meta.last_modified)),
                checksum_crc32: sums.crc32,
                checksum_crc32c: sums.crc32c,
                checksum_crc64nvme: sums.crc64nvme,
                checksum_sha1: sums.sha1,
                checksum_sha256: sums.sha256,
                checksum_type: sums.checksum_type,
            }
        }),
        copy_source_version_id: source_version.or(src_version).map(|v| v.to_string()),
        version_id: answer_version(&meta, None),
        server_side_encryption: sse_s3(),
        expiration: expiration_header(expiration.as_ref()),
        ..Default::default()
    }))
}
