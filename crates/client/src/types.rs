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
