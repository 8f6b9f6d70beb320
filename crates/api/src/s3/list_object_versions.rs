//! ListObjectVersions on buckets that are never versioned: every object is
//! its one version, `null`, and the latest; there are no delete markers.
//! Built on the same listing as ListObjects (prefix, delimiter with common
//! prefixes, max-keys, encoding-type=url, keys in byte order), paged by
//! `key-marker` (with `version-id-marker`, which can only be `null`), as S3
//! answers for an unversioned bucket. This is what `aws s3api
//! list-object-versions` and boto3's `bucket.object_versions` read. The
//! owner's, or another account's signed request or an unsigned one when
//! the bucket's policy grants it `s3:ListBucketVersions` (see
//! [`super::auth::reader`]).

use s3s::dto::{
    ListObjectVersionsInput, ListObjectVersionsOutput, ObjectVersion, ObjectVersionStorageClass,
};
use s3s::{S3Request, S3Response, S3Result};

use super::list_objects::{Lister, Listing, list};
use super::versions::{NULL_VERSION, invalid_version_id};
use super::wire::invalid_argument;
use super::{MiniS3, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
    let key_marker = input.key_marker.clone().filter(|m| !m.is_empty());
    match input.version_id_marker.as_deref() {
        None | Some("") => {}
        Some(marker) if key_marker.is_none() => {
            return Err(invalid_argument(
                "A version-id marker cannot be specified without a key marker.",
                "version-id-marker",
                marker,
            ));
        }
        // The key marker's one version: resume after the key.
        Some(NULL_VERSION) => {}
        Some(marker) => return Err(invalid_version_id("version-id-marker", marker)),
    }
    let url = super::convert::url_encoding(input.encoding_type.as_ref())?;
    let Listing {
        contents,
        common_prefixes,
        is_truncated,
        next_start_after,
        max_keys,
        enc,
    } = list(
        s3,
        Lister::Versions(reader),
        &input.bucket,
        input.prefix.clone(),
        input.delimiter.clone(),
        key_marker,
        input.max_keys,
        true,
        url,
    )
    .await?;
    let next_key_marker = next_start_after.map(enc);
    // A page that ends on a version names it; one that ends on a common
    // prefix names only the prefix.
    let ends_on_version = next_key_marker
        .as_ref()
        .is_some_and(|m| contents.last().and_then(|o| o.key.as_ref()) == Some(m));
    let versions: Vec<ObjectVersion> = contents
        .into_iter()
        .map(|o| ObjectVersion {
            key: o.key,
            e_tag: o.e_tag,
            last_modified: o.last_modified,
            size: o.size,
            owner: o.owner,
            storage_class: o
                .storage_class
                .map(|c| ObjectVersionStorageClass::from(c.as_str().to_owned())),
            version_id: Some(NULL_VERSION.to_owned()),
            is_latest: Some(true),
            ..Default::default()
        })
        .collect();
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(enc(input.prefix.unwrap_or_default())),
        delimiter: input.delimiter.map(enc),
        key_marker: Some(enc(input.key_marker.unwrap_or_default())),
        version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
        next_key_marker,
        next_version_id_marker: ends_on_version.then(|| NULL_VERSION.to_owned()),
        max_keys: Some(max_keys),
        is_truncated: Some(is_truncated),
        versions: Some(versions),
        common_prefixes: Some(common_prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}
