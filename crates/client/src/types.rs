//! Response types of the native API.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    /// `UP` or `DOWN`.
    pub status: String,
    /// `CONNECTED` or `DISCONNECTED`.
    pub database: String,
    /// `CONNECTED`, `DISCONNECTED` or `DISABLED`.
    pub docker: String,
    /// Why a dependency is down.
    #[serde(default)]
    pub problems: Vec<String>,
    /// Server version.
    pub version: String,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

/// A key as returned at creation, with its secrets.
#[derive(Clone, Serialize, Deserialize)]
pub struct CreatedKey {
    /// Key id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Label.
    pub name: String,
    /// The `X-API-Key` value.
    pub key: String,
    /// AWS-style access key id.
    pub access_key_id: String,
    /// AWS-style secret access key.
    pub secret_access_key: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    /// Key id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Label.
    pub name: String,
    /// First characters of the key.
    pub prefix: String,
    /// AWS-style access key id.
    pub access_key_id: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last use (coalesced to about once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
}

/// A user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// User name.
    pub name: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /auth/whoami`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The user.
    pub user: User,
    /// The key in use.
    pub key_id: Uuid,
}

/// A storage bucket.
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

/// A stored object's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The object's ARN.
    pub arn: String,
    /// Length in bytes.
    pub size_bytes: u64,
    /// The quoted ETag (MD5 hex for single-part uploads).
    pub etag: String,
    /// The media type.
    pub content_type: String,
    /// User metadata (`x-amz-meta-*`).
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// When this version was written.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

/// One page of `GET /storage/{bucket}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectPage {
    /// Objects, in byte order of keys.
    pub objects: Vec<ObjectInfo>,
    /// Common prefixes (with a delimiter).
    #[serde(default)]
    pub common_prefixes: Vec<String>,
    /// The cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}
