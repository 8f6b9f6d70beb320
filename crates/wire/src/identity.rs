//! `/auth/*`: users and API keys.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The body of `POST /auth/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// The user name (sign-up, without a key) or the new key's label (with
    /// a key).
    pub name: String,
}

/// A key as returned once, at creation: the only answer that carries its
/// secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// The key's id.
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// The key's label.
    pub name: String,
    /// The `X-API-Key` value.
    pub key: String,
    /// The AWS-style access key id.
    pub access_key_id: String,
    /// The AWS-style secret access key.
    pub secret_access_key: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Leaves the secrets out, so a key never reaches a log through `{:?}`.
impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A key as listed by `GET /auth/keys`: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The key's id.
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// The key's label.
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    /// The AWS-style access key id.
    pub access_key_id: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last use (coalesced: written about once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
}

/// One page of `GET /auth/keys`: `{"data": […], "next_token": …}`, the
/// shape of `GET /instances` (the page is the whole body, not inside an
/// envelope, so a client that reads only `data` still gets the first page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyPage {
    /// The keys, oldest first.
    pub data: Vec<ApiKey>,
    /// Pass as `next_token` for the next page; null on the last page.
    pub next_token: Option<String>,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id (the owner in ARNs).
    pub id: Uuid,
    /// The unique user name.
    pub name: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /auth/whoami`: the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The user.
    pub user: User,
    /// The key that authenticated the request.
    pub key_id: Uuid,
}
