//! The identity service: sign-up, key management and authentication.

use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use super::domain::{ApiKey, ApiKeyId, Caller, KeyName, NewApiKey, User, UserId, UserName};
use super::ports::IdentityRepo;
use super::secrets::{IssuedSecrets, hash_api_key};
use crate::clock::now_utc;
use crate::error::{CoreError, CoreResult};

/// How often at most `last_used` is written for one key.
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

/// A key as returned once at creation: the only time its secrets are shown.
#[derive(Clone, Serialize)]
pub struct CreatedKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// The owner.
    pub user_id: UserId,
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

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedKey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Sign-up, API keys and authentication.
pub struct IdentityService {
    repo: Arc<dyn IdentityRepo>,
    open_signup: bool,
    /// When each key's `last_used` was last written, to coalesce writes.
    last_used_written: Mutex<HashMap<ApiKeyId, Instant>>,
}

impl IdentityService {
    /// A service over `repo`; `open_signup` allows key-less sign-up.
    pub fn new(repo: Arc<dyn IdentityRepo>, open_signup: bool) -> Self {
        Self {
            repo,
            open_signup,
            last_used_written: Mutex::new(HashMap::new()),
        }
    }

    /// Whether anonymous sign-up is enabled.
    pub fn open_signup(&self) -> bool {
        self.open_signup
    }

    fn new_key(user_id: UserId, name: KeyName) -> (NewApiKey, IssuedSecrets) {
        let secrets = IssuedSecrets::generate();
        let key = NewApiKey {
            id: ApiKeyId::new(),
            user_id,
            name,
            key_hash: hash_api_key(&secrets.api_key),
            prefix: secrets.prefix(),
            access_key_id: secrets.access_key_id.clone(),
            secret_access_key: secrets.secret_access_key.clone(),
            created_at: now_utc(),
        };
        (key, secrets)
    }

    fn created(key: ApiKey, secrets: IssuedSecrets) -> CreatedKey {
        CreatedKey {
            id: key.id,
            user_id: key.user_id,
            name: key.name,
            key: secrets.api_key,
            access_key_id: secrets.access_key_id,
            secret_access_key: secrets.secret_access_key,
            created_at: key.created_at,
        }
    }

    /// Creates user `name` with a first key named after the user.
    ///
    /// # Errors
    /// `Forbidden` when sign-up is closed, `InvalidInput` for a bad name,
    /// `Conflict(AlreadyExists)` when the name is taken.
    #[tracing::instrument(skip(self))]
    pub async fn sign_up(&self, name: &str) -> CoreResult<CreatedKey> {
        if !self.open_signup {
            return Err(CoreError::Forbidden(
                "sign-up is disabled on this server (--open-signup=false); \
                 ask an existing user for a key"
                    .into(),
            ));
        }
        let user_name = UserName::parse(name)?;
        let key_name = KeyName::parse(name)?;
        let user = User {
            id: UserId::new(),
            name: user_name.as_str().to_owned(),
            created_at: now_utc(),
        };
        let (new_key, secrets) = Self::new_key(user.id, key_name);
        let key = self.repo.create_user_with_key(&user, &new_key).await?;
        tracing::info!(user_id = %user.id, key_id = %key.id, "user signed up");
        Ok(Self::created(key, secrets))
    }

    /// Creates another key for the caller.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name.
    #[tracing::instrument(skip(self))]
    pub async fn create_key(&self, caller: Caller, name: &str) -> CoreResult<CreatedKey> {
        let key_name = KeyName::parse(name)?;
        let (new_key, secrets) = Self::new_key(caller.user_id, key_name);
        let key = self.repo.insert_key(&new_key).await?;
        tracing::info!(key_id = %key.id, "API key created");
        Ok(Self::created(key, secrets))
    }

    /// The caller's keys, oldest first.
    pub async fn list_keys(&self, caller: Caller) -> CoreResult<Vec<ApiKey>> {
        self.repo.list_keys(caller.user_id).await
    }

    /// The caller's user record.
    pub async fn whoami(&self, caller: Caller) -> CoreResult<User> {
        self.repo.get_user(caller.user_id).await
    }

    /// Revokes one of the caller's keys; the last one only with `force`.
    ///
    /// # Errors
    /// `NotFound(ApiKey)` for unknown keys and other users' keys;
    /// `Conflict(LastKey)` for the last key without `force`.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_key(&self, caller: Caller, id: ApiKeyId, force: bool) -> CoreResult<()> {
        self.repo
            .delete_key(caller.user_id, id, force)
            .await
            .map_err(|e| match e {
                CoreError::Conflict { kind, .. } => CoreError::conflict(
                    kind,
                    "this is your last API key; revoking it locks you out. \
                     Create another key first, or pass ?force=true",
                ),
                other => other,
            })?;
        self.lock_last_used().remove(&id);
        tracing::info!(key_id = %id, "API key revoked");
        Ok(())
    }

    /// Resolves an `X-API-Key` value to the caller.
    ///
    /// # Errors
    /// `Unauthorized` for unknown or revoked keys, with no hint of how close
    /// the key was.
    pub async fn authenticate(&self, api_key: &str) -> CoreResult<Caller> {
        // SHA-256 of a short key takes well under a microsecond, so it runs
        // inline rather than in spawn_blocking.
        let key = self
            .repo
            .find_key_by_hash(&hash_api_key(api_key))
            .await?
            .ok_or_else(|| CoreError::Unauthorized("invalid or revoked API key".into()))?;
        self.touch(key.id).await;
        Ok(Caller {
            user_id: key.user_id,
            key_id: key.id,
        })
    }

    /// Resolves an access key id to the caller and the secret SigV4 needs.
    ///
    /// # Errors
    /// `Unauthorized` for unknown or revoked access keys.
    pub async fn authenticate_access_key(
        &self,
        access_key_id: &str,
    ) -> CoreResult<(Caller, String)> {
        let (key, secret) = self
            .repo
            .find_by_access_key_id(access_key_id)
            .await?
            .ok_or_else(|| CoreError::Unauthorized("unknown or revoked access key id".into()))?;
        self.touch(key.id).await;
        Ok((
            Caller {
                user_id: key.user_id,
                key_id: key.id,
            },
            secret,
        ))
    }

    fn lock_last_used(&self) -> std::sync::MutexGuard<'_, HashMap<ApiKeyId, Instant>> {
        // A poisoned map only loses coalescing state; carry on with it.
        self.last_used_written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `last_used` at most once per [`LAST_USED_INTERVAL`] per key.
    async fn touch(&self, id: ApiKeyId) {
        let now = Instant::now();
        let due = {
            let mut map = self.lock_last_used();
            match map.get(&id) {
                Some(at) if now.duration_since(*at) < LAST_USED_INTERVAL => false,
                _ => {
                    map.insert(id, now);
                    true
                }
            }
        };
        if !due {
            return;
        }
        if let Err(e) = self.repo.record_last_used(id, now_utc()).await {
            // Losing a last_used stamp must not fail the request.
            tracing::warn!(key_id = %id, error = %e, "could not record key use");
        }
    }
}
