//! ListObjects (v1, `marker`; `NextMarker` only with a delimiter, as on
//! S3), and the listing both versions share.

use miniaws_core::storage::Reader;
use miniaws_core::storage::{ListObjectsInput, MAX_LIST_KEYS};
use s3s::dto::{CommonPrefix, ListObjectsInput as V1Input, ListObjectsOutput, Object};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{etag, owner_of, timestamp, url_encode};
use super::request_options::listed_class;
use super::{MiniS3, bucket_error, reader};

/// A page, ready for either version's output.
pub(super) struct Listing {
    pub contents: Vec<Object>,
    pub common_prefixes: Vec<CommonPrefix>,
    pub is_truncated: bool,
    /// The last entry of the page (not URL-encoded), when truncated.
    pub next_start_after: Option<String>,
    pub max_keys: i32,
    /// Encodes names as the request asked (`encoding-type=url` or not).
    pub enc: fn(String) -> String,
}

fn plain(s: String) -> String {
    s
}

fn encoded(s: String) -> String {
    url_encode(&s)
}

/// Which listing: ListObjects(V2)'s (`s3:ListBucket`), by whoever the
/// policy lets read (ListObjectVersions has a listing of its own).
pub(super) enum Lister {
    /// ListObjects and ListObjectsV2.
    Objects(Reader),
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn list(
    s3: &MiniS3,
    lister: Lister,
    bucket: &str,
    prefix: Option<String>,
    delimiter: Option<String>,
    start_after: Option<String>,
    max_keys: Option<i32>,
    fetch_owner: bool,
    url: bool,
) -> S3Result<Listing> {
    let max_keys = match max_keys {
        None => MAX_LIST_KEYS as i32,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "max-keys must be a non-negative integer"
            ));
        }
        Some(n) => n.min(MAX_LIST_KEYS as i32),
    };
    let input = ListObjectsInput {
        prefix: prefix.unwrap_or_default(),
        delimiter: delimiter.filter(|d| !d.is_empty()),
        start_after,
        max_keys: u32::try_from(max_keys).unwrap_or(0),
    };
    let page = match lister {
        Lister::Objects(reader) => s3.storage().list_objects(reader, bucket, &input).await,
    }
    .map_err(bucket_error)?;
    let enc: fn(String) -> String = if url { encoded } else { plain };
    // A listing's owner is the bucket's, whoever reads it.
    let owner = fetch_owner.then(|| owner_of(page.owner));
    let contents = page
        .objects
        .into_iter()
        .map(|o| Object {
            key: Some(enc(o.key.as_str().to_owned())),
            e_tag: Some(etag(&o.etag)),
            last_modified: Some(timestamp(o.last_modified)),
            size: i64::try_from(o.size_bytes).ok(),
            storage_class: Some(listed_class(o.storage_class.as_ref()).into()),
            owner: owner.clone(),
            ..Default::default()
        })
        .collect();
    let common_prefixes = page
        .common_prefixes
        .into_iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc(p)),
        })
        .collect();
    Ok(Listing {
        contents,
        common_prefixes,
        is_truncated: page.is_truncated,
        next_start_after: page.next_start_after,
        max_keys,
        enc,
    })
}

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<V1Input>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
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
        Lister::Objects(reader),
        &input.bucket,
        input.prefix.clone(),
        input.delimiter.clone(),
        input.marker.clone().filter(|m| !m.is_empty()),
        input.max_keys,
        true,
        url,
    )
    .await?;
    // S3 answers NextMarker only to a listing with a delimiter; without one
    // clients resume after the page's last key (boto3's paginator and the
    // aws CLI do), and a NextMarker would be an answer S3 never gives.
    let delimited = input.delimiter.as_deref().is_some_and(|d| !d.is_empty());
    Ok(S3Response::new(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: Some(enc(input.prefix.unwrap_or_default())),
        // An empty delimiter is none: S3 leaves the element out.
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(enc),
        marker: Some(enc(input.marker.unwrap_or_default())),
        next_marker: next_start_after.filter(|_| delimited).map(enc),
        max_keys: Some(max_keys),
        is_truncated: Some(is_truncated),
        contents: Some(contents),
        common_prefixes: Some(common_prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}
