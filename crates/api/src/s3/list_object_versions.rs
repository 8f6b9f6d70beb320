//! ListObjectVersions: every version and delete marker of the bucket's
//! keys, by key in byte order and newest first within a key, with
//! `IsLatest`; prefix, delimiter with common prefixes, max-keys,
//! encoding-type=url, paged by `key-marker` and `version-id-marker` (which
//! needs a key marker). In a bucket that was never versioned each object is
//! its one `null` version. This is what `aws s3api list-object-versions`
//! and boto3's `bucket.object_versions` read. The owner's, or another
//! account's signed request or an unsigned one when the bucket's policy
//! grants it `s3:ListBucketVersions` (see [`super::auth::reader`]).

use miniaws_core::storage::{ListVersionsInput, MAX_LIST_KEYS, ObjectVersion, VersionId};
use s3s::dto::{
    CommonPrefix, DeleteMarkerEntry, ListObjectVersionsInput, ListObjectVersionsOutput,
    ObjectVersion as WireVersion, ObjectVersionStorageClass,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{etag, owner_of, timestamp, url_encode};
use super::request_options::{STORAGE_CLASS, listed_class};
use super::versions::invalid_version_id;
use super::wire::invalid_argument;
use super::{MiniS3, bucket_error, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
    let key_marker = input.key_marker.clone().filter(|m| !m.is_empty());
    let version_id_marker = match input.version_id_marker.as_deref() {
        None | Some("") => None,
        Some(marker) if key_marker.is_none() => {
            return Err(invalid_argument(
                "A version-id marker cannot be specified without a key marker.",
                "version-id-marker",
                marker,
            ));
        }
        Some(marker) => Some(
            VersionId::parse(marker)
                .map_err(|_| invalid_version_id("version-id-marker", marker))?,
        ),
    };
    let max_keys = match input.max_keys {
        None => MAX_LIST_KEYS as i32,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "max-keys must be a non-negative integer"
            ));
        }
        Some(n) => n.min(MAX_LIST_KEYS as i32),
    };
    let url = super::convert::url_encoding(input.encoding_type.as_ref())?;
    let enc = |s: String| if url { url_encode(&s) } else { s };
    let page = s3
        .storage()
        .list_versions(
            reader,
            &input.bucket,
            &ListVersionsInput {
                prefix: input.prefix.clone().unwrap_or_default(),
                delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
                key_marker,
                version_id_marker,
                max_keys: u32::try_from(max_keys).unwrap_or(0),
            },
        )
        .await
        .map_err(bucket_error)?;
    // A listing's owner is the bucket's, whoever reads it.
    let owner = owner_of(page.owner);
    let mut versions = Vec::new();
    let mut delete_markers = Vec::new();
    for entry in page.entries {
        match entry.version {
            ObjectVersion::Object(meta) => versions.push(WireVersion {
                key: Some(enc(meta.key.as_str().to_owned())),
                e_tag: Some(etag(&meta.etag)),
                last_modified: Some(timestamp(meta.last_modified)),
                size: i64::try_from(meta.size_bytes).ok(),
                owner: Some(owner.clone()),
                storage_class: Some(ObjectVersionStorageClass::from(
                    listed_class(meta.headers.get(STORAGE_CLASS)).to_owned(),
                )),
                version_id: Some(meta.version_id().to_string()),
                is_latest: Some(entry.is_latest),
                ..Default::default()
            }),
            ObjectVersion::DeleteMarker(marker) => delete_markers.push(DeleteMarkerEntry {
                key: Some(enc(marker.key.as_str().to_owned())),
                last_modified: Some(timestamp(marker.last_modified)),
                owner: Some(owner.clone()),
                version_id: Some(marker.version_id().to_string()),
                is_latest: Some(entry.is_latest),
            }),
        }
    }
    let common_prefixes = page
        .common_prefixes
        .into_iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc(p)),
        })
        .collect();
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(enc(input.prefix.unwrap_or_default())),
        // An empty delimiter is none: S3 leaves the element out.
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(enc),
        key_marker: Some(enc(input.key_marker.unwrap_or_default())),
        version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
        next_key_marker: page.next_key_marker.map(enc),
        next_version_id_marker: page.next_version_id_marker.map(|v| v.to_string()),
        max_keys: Some(max_keys),
        is_truncated: Some(page.is_truncated),
        versions: Some(versions),
        delete_markers: (!delete_markers.is_empty()).then_some(delete_markers),
        common_prefixes: Some(common_prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}
