//! The port identity needs from a database.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::domain::{ApiKey, ApiKeyId, KeyPosition, NewApiKey, StoredSecret, User, UserId};
use crate::error::CoreResult;

/// Storage of users and API keys.
///
/// # Errors
///
/// Adapters return [`CoreError::Unavailable`](crate::CoreError::Unavailable)
/// with [`Dependency::Database`](crate::error::Dependency::Database) when the
/// database cannot be reached, and the specific errors listed per method.
#[async_trait]
pub trait IdentityRepo: Send + Sync {
    /// Creates `user` and its first key in one transaction.
    ///
    /// # Errors
    /// `Conflict(AlreadyExists)` when the user name is taken, also by a
    /// name that differs from it only by case (`ALICE` beside `alice`);
    /// the database enforces it, so concurrent creates cannot both pass.
    /// Nothing is written then.
    async fn create_user_with_key(&self, user: &User, key: &NewApiKey) -> CoreResult<ApiKey>;

    /// Fetches a user by id.
    ///
    /// # Errors
    /// `NotFound(User)` when there is no such user.
    async fn get_user(&self, id: UserId) -> CoreResult<User>;

    /// Inserts another key for an existing user.
    ///
    /// # Errors
    /// `NotFound(User)` when the user does not exist.
    async fn insert_key(&self, key: &NewApiKey) -> CoreResult<ApiKey>;

    /// Finds the live key whose SHA-256 hex digest is `key_hash`.
    async fn find_key_by_hash(&self, key_hash: &str) -> CoreResult<Option<ApiKey>>;

    /// Finds the live key with this access key id, with its secret access
    /// key as stored (see [`NewApiKey::stored_secret`]). A key with no
    /// secret (a row older than S3 credentials) is not found.
    async fn find_by_access_key_id(
        &self,
        access_key_id: &str,
    ) -> CoreResult<Option<(ApiKey, String)>>;

    /// At most `limit` of the user's keys, oldest first (ties broken by
    /// id), starting after `after` in that order: one range scan of the
    /// index on (user, created_at, id), never the user's whole list. The
    /// position need not be a key that still exists (it may have been
    /// revoked since the previous page).
    async fn list_keys(
        &self,
        user: UserId,
        after: Option<&KeyPosition>,
        limit: u32,
    ) -> CoreResult<Vec<ApiKey>>;

    /// Deletes one of `user`'s keys, atomically with the last-key check.
    ///
    /// # Errors
    /// `NotFound(ApiKey)` when `user` has no such key (including keys of other
    /// users); `Conflict(LastKey)` when it is the user's only key and
    /// `allow_last` is false.
    async fn delete_key(&self, user: UserId, id: ApiKeyId, allow_last: bool) -> CoreResult<()>;

    /// At most `limit` keys' stored secrets, in id order, starting after
    /// key `after`: one range scan of the primary key. Keys without a
    /// secret are left out.
    async fn stored_secrets(
        &self,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> CoreResult<Vec<StoredSecret>>;

    /// Replaces key `id`'s stored secret by `new` if it still is `old`, in
    /// one statement (its own transaction); whether it did. A key revoked
    /// or changed meanwhile is left as it is (`false`).
    async fn replace_stored_secret(&self, id: ApiKeyId, old: &str, new: &str) -> CoreResult<bool>;

    /// Records that a key was used at `at`. Unknown ids are ignored.
    async fn record_last_used(&self, id: ApiKeyId, at: OffsetDateTime) -> CoreResult<()>;
}
