//! DeleteObjects: up to 1,000 keys; quiet mode reports errors only. Each
//! entry is a DeleteObject: without `VersionId` it removes the key (a
//! bucket never versioned) or inserts a delete marker (reported with
//! `DeleteMarker` and `DeleteMarkerVersionId`); with one it removes that
//! version for good. A malformed version id is that entry's
//! `InvalidArgument` error (see [`super::versions`]).
//!
//! An entry with an `ETag` is a conditional delete, as DeleteObject with
//! `If-Match` (`*`: only if the key exists): refused, it is that entry's
//! `PreconditionFailed` or `NoSuchKey` error and the rest go ahead. The
//! directory buckets' `LastModifiedTime` and `Size` make the entry's
//! `NotImplemented` error (not deleted: dropping the condition would delete
//! what the client meant to keep unless it had changed).

use miniaws_core::storage::{DeleteTarget, ETag, WriteCondition};
use s3s::dto::{self, DeleteObjectsInput, DeleteObjectsOutput, DeletedObject, Error};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::versions::version_param;
use super::{MiniS3, bucket_error, caller, detached};

/// S3's limit on keys per request.
const MAX_KEYS: usize = 1000;

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let objects = input.delete.objects;
    if objects.is_empty() || objects.len() > MAX_KEYS {
        return Err(s3_error!(
            MalformedXML,
            "a DeleteObjects request names 1 to {MAX_KEYS} keys (got {})",
            objects.len()
        ));
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    // The entries whose version id parses, and what each deletes.
    let mut current = Vec::with_capacity(objects.len());
    let mut entries = Vec::with_capacity(objects.len());
    for o in objects {
        if o.last_modified_time.is_some() || o.size.is_some() {
            errors.push(Error {
                code: Some("NotImplemented".to_owned()),
                key: Some(o.key),
                message: Some(
                    "LastModifiedTime and Size in a DeleteObjects entry are for directory buckets; this endpoint's conditional delete takes ETag. The object was not deleted."
                        .to_owned(),
                ),
                version_id: o.version_id,
            });
            continue;
        }
        match version_param(o.version_id.as_deref()) {
            Ok(version) => {
                entries.push(DeleteTarget {
                    key: o.key.clone(),
                    version,
                    condition: entry_condition(o.e_tag.as_ref()),
                });
                current.push(o);
            }
            Err(e) => errors.push(Error {
                code: Some(e.code().as_str().to_owned()),
                key: Some(o.key),
                message: e.message().map(str::to_owned),
                version_id: o.version_id,
            }),
        }
    }
    // In a task of its own: a client that goes away cannot cut a delete off
    // between a row and its blob (which would stay behind until the next
    // start-up).
    let storage = s3.state.storage.clone();
    let bucket = input.bucket;
    let bypass = input.bypass_governance_retention.unwrap_or(false);
    let results = detached(async move {
        storage
            .delete_objects_at(caller, &bucket, &entries, bypass)
            .await
    })
    .await
    .map_err(bucket_error)?;
    for (o, result) in current.into_iter().zip(results) {
        match result {
            Ok(_) if quiet => {}
            // A delete marker inserted (no version named): S3 names it.
            Ok(outcome) if o.version_id.is_none() && outcome.delete_marker => {
                deleted.push(DeletedObject {
                    key: Some(o.key),
                    delete_marker: Some(true),
                    delete_marker_version_id: outcome.version_id.map(|v| v.to_string()),
                    ..Default::default()
                });
            }
            Ok(outcome) => deleted.push(DeletedObject {
                key: Some(o.key),
                delete_marker: outcome.delete_marker.then_some(true),
                delete_marker_version_id: outcome
                    .delete_marker
                    .then(|| o.version_id.clone())
                    .flatten(),
                version_id: o.version_id,
            }),
            Err(e) => {
                let (_, code) = crate::error::s3_code(&e);
                errors.push(Error {
                    code: Some(code.as_str().to_owned()),
                    key: Some(o.key),
                    message: Some(crate::error::public_message(&e)),
                    version_id: o.version_id,
                });
            }
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }))
}

/// The condition of an entry's `<ETag>`: `*` is "only if it exists" (s3s
/// reads an unquoted `*` as a strong ETag of that text; no stored ETag is
/// `*`), any other value "only if the current version has this ETag".
fn entry_condition(etag: Option<&dto::ETag>) -> WriteCondition {
    match etag.map(dto::ETag::value) {
        None => WriteCondition::Always,
        Some("*") => WriteCondition::Exists,
        Some(value) => WriteCondition::ETagIs(ETag::from_stored(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_etag_is_its_condition() {
        assert_eq!(entry_condition(None), WriteCondition::Always);
        let star = dto::ETag::Strong("*".into());
        assert_eq!(entry_condition(Some(&star)), WriteCondition::Exists);
        let tag = dto::ETag::Strong("9a0364b9e99bb480dd25e1f0284c8555".into());
        assert_eq!(
            entry_condition(Some(&tag)),
            WriteCondition::ETagIs(ETag::from_stored("9a0364b9e99bb480dd25e1f0284c8555"))
        );
    }
}
