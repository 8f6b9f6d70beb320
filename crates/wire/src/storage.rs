//! `/storage`: buckets and object metadata.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A bucket (`GET /storage`, `PUT /storage/{bucket}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketInfo {
    /// The globally unique name.
    pub name: String,
    /// `arn:miniaws:storage:local:<owner>:bucket/<name>`.
    pub arn: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One page of `GET /storage`: `{"data": […], "next_token": …}`, the shape
/// of `GET /instances` (the page is the whole body, not inside an
/// envelope, so a client that reads only `data` still gets the first page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketPage {
    /// The buckets, in byte order of names.
    pub data: Vec<BucketInfo>,
    /// Pass as `next_token` for the next page; null on the last page.
    pub next_token: Option<String>,
}

/// A stored object's metadata (the answer to an upload, and the entries of
/// a listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// `arn:miniaws:storage:local:<owner>:object/<bucket>/<key>`.
    pub arn: String,
    /// Length in bytes.
    pub size_bytes: u64,
    /// The ETag in double quotes (the hex MD5 for single-part uploads).
    pub etag: String,
    /// The media type.
    pub content_type: String,
    /// User metadata (`x-amz-meta-*`, names lowercased and without the
    /// prefix).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// When this version was written.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    /// The object's tags (set through the S3 endpoint), in their stored
    /// order; left out when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<ObjectTag>,
    /// The version's id (32 hex digits, or `null`) in a bucket whose
    /// versioning was ever enabled; left out in a bucket never versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// One tag of an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectTag {
    /// The tag's key.
    pub key: String,
    /// Its value (possibly empty).
    pub value: String,
}

/// One page of `GET /storage/{bucket}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectPage {
    /// Objects, in byte order of keys.
    pub objects: Vec<ObjectInfo>,
    /// Common prefixes, when a delimiter was given.
    #[serde(default)]
    pub common_prefixes: Vec<String>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A bucket's versioning state (`GET|PUT /storage/{bucket}?versioning`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketVersioning {
    /// The bucket.
    pub bucket: String,
    /// `unversioned` (never enabled), `enabled` or `suspended`.
    pub status: String,
}

/// One version or delete marker in `GET /storage/{bucket}?versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// The key.
    pub key: String,
    /// The version id: 32 hex digits, or `null` for the version written
    /// while versioning was off or suspended.
    pub version_id: String,
    /// Whether this is the key's latest version (a delete marker can be:
    /// the key is then hidden from the object listing).
    pub is_latest: bool,
    /// Whether this is a delete marker (no bytes, no ETag).
    pub delete_marker: bool,
    /// Length in bytes (0 for a delete marker).
    pub size_bytes: u64,
    /// The ETag in double quotes; null for a delete marker.
    pub etag: Option<String>,
    /// When this version (or marker) was written.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

/// One page of `GET /storage/{bucket}?versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionPage {
    /// Versions and delete markers, by key in byte order and newest first
    /// within a key.
    pub versions: Vec<VersionInfo>,
    /// Common prefixes, when a delimiter was given.
    #[serde(default)]
    pub common_prefixes: Vec<String>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
