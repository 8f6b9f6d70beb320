//! The identity service: sign-up, key management and authentication.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use super::domain::{
    ApiKey, ApiKeyId, Caller, KeyName, KeyPosition, NewApiKey, User, UserId, UserName,
};
use super::ports::IdentityRepo;
use super::sealing::{Opened, SecretSealer};
use super::secrets::{IssuedSecrets, hash_api_key};
use crate::clock::now_utc;
use crate::error::{CoreError, CoreResult};

/// The refusal of an access key id that no key has (unknown, or revoked).
/// Other `Unauthorized` refusals of an access key say something else (its
/// secret cannot be opened): the Query APIs answer this one in their own
/// words and pass the others on.
pub const UNKNOWN_ACCESS_KEY: &str =
    "The AWS access key Id you provided does not exist in our records (unknown or revoked).";

/// How often at most `last_used` is written for one key.
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

/// The most keys one page of `GET /auth/keys` may hold (and its default
/// page size).
pub const MAX_LIST_API_KEYS: u32 = 1000;

/// One page of a user's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys, oldest first.
    pub keys: Vec<ApiKey>,
    /// Where the next page starts, when there is one.
    pub next: Option<KeyPosition>,
}

/// A key as returned once at creation: the only time its secrets are shown.
#[derive(Clone)]
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

/// What the start-up pass over the stored secrets did
/// ([`IdentityService::seal_stored_secrets`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealingReport {
    /// Secrets found in clear and sealed in place.
    pub sealed: u64,
    /// Sealed secrets that do not open with this service key: their S3
    /// credentials are refused until the right key file is back.
    pub unopenable: u64,
}

/// How many stored secrets the sealing pass reads at a time.
const SEALING_PAGE: u32 = 100;

/// Sign-up, API keys and authentication.
pub struct IdentityService {
    repo: Arc<dyn IdentityRepo>,
    /// Seals secret access keys before they are stored, opens them on lookup.
    sealer: SecretSealer,
    open_signup: bool,
    /// When each key's `last_used` was last written, to coalesce writes.
    last_used_written: Mutex<HashMap<ApiKeyId, Instant>>,
    /// Callers of recently presented keys, by key hash.
    known_keys: Mutex<KeyCache>,
    /// How long a cached key is trusted ([`KEY_CACHE_TTL`]; tests shorten it).
    key_cache_ttl: Duration,
}

/// The most keys [`KeyCache`] holds before it starts over.
const KEY_CACHE_ENTRIES: usize = 10_000;

/// How long a cached key is trusted before the database is asked again.
/// Revocation through this process drops the entry at once; the bound is
/// for a revocation made by another process sharing the database (not a
/// supported set-up, but one that must not leave a key alive for ever).
const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

/// Callers of keys seen recently, so that a request costs no database round
/// trip to authenticate. Revocation empties the entries of the revoked key
/// at once; there is one server process per database, and entries expire
/// after [`KEY_CACHE_TTL`] in case another process revokes behind this
/// one's back.
#[derive(Default)]
struct KeyCache {
    /// API key hash → caller.
    callers: CacheMap<Caller>,
    /// SigV4 access key id → caller and secret (the S3 endpoint's lookup).
    access_keys: CacheMap<(Caller, String)>,
    /// Bumped by every revocation: a lookup that started before one must
    /// not cache what it found, as that may be the revoked key.
    generation: u64,
}

/// What a cache entry says about the key it was found by.
trait KeyEntry: Clone {
    fn caller(&self) -> Caller;
}

impl KeyEntry for Caller {
    fn caller(&self) -> Caller {
        *self
    }
}

impl KeyEntry for (Caller, String) {
    fn caller(&self) -> Caller {
        self.0
    }
}

/// One map of [`KeyCache`]: entries with the time they were cached, at
/// most [`KEY_CACHE_ENTRIES`] of them.
struct CacheMap<V> {
    entries: HashMap<String, (V, Instant)>,
}

impl<V> Default for CacheMap<V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<V: KeyEntry> CacheMap<V> {
    /// The entry of `k` if it was cached less than `ttl` ago.
    fn fresh(&self, k: &str, ttl: Duration) -> Option<V> {
        self.entries
            .get(k)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(v, _)| v.clone())
    }

    fn insert(&mut self, k: String, v: V) {
        if self.entries.len() >= KEY_CACHE_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(k, (v, Instant::now()));
    }

    /// Drops every entry of API key `id`.
    fn forget(&mut self, id: ApiKeyId) {
        self.entries.retain(|_, (v, _)| v.caller().key_id != id);
    }
}

impl IdentityService {
    /// A service over `repo` that stores secret access keys sealed by
    /// `sealer`; `open_signup` allows key-less sign-up.
    pub fn new(repo: Arc<dyn IdentityRepo>, sealer: SecretSealer, open_signup: bool) -> Self {
        Self {
            repo,
            sealer,
            open_signup,
            last_used_written: Mutex::new(HashMap::new()),
            known_keys: Mutex::new(KeyCache::default()),
            key_cache_ttl: KEY_CACHE_TTL,
        }
    }

    /// Whether anonymous sign-up is enabled.
    pub fn open_signup(&self) -> bool {
        self.open_signup
    }

    fn new_key(&self, user_id: UserId, name: KeyName) -> (NewApiKey, IssuedSecrets) {
        let secrets = IssuedSecrets::generate();
        let key = NewApiKey {
            id: ApiKeyId::new(),
            user_id,
            name,
            key_hash: hash_api_key(&secrets.api_key),
            prefix: secrets.prefix(),
            access_key_id: secrets.access_key_id.clone(),
            // Sealed before the row is written: the clear secret never
            // reaches the database.
            stored_secret: self
                .sealer
                .seal(&secrets.access_key_id, &secrets.secret_access_key),
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
        let (new_key, secrets) = self.new_key(user.id, key_name);
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
        let (new_key, secrets) = self.new_key(caller.user_id, key_name);
        let key = self.repo.insert_key(&new_key).await?;
        tracing::info!(key_id = %key.id, "API key created");
        Ok(Self::created(key, secrets))
    }

    /// One page of the caller's keys, oldest first (ties broken by id),
    /// after `after` (the owner is always the caller: a position from
    /// anyone's page only says where to start).
    ///
    /// # Errors
    /// `InvalidInput` for a limit outside 1..=[`MAX_LIST_API_KEYS`];
    /// database failures.
    pub async fn list_keys(
        &self,
        caller: Caller,
        limit: u32,
        after: Option<KeyPosition>,
    ) -> CoreResult<KeyPage> {
        if limit == 0 || limit > MAX_LIST_API_KEYS {
            return Err(CoreError::invalid(format!(
                "limit must be from 1 to {MAX_LIST_API_KEYS} (got {limit})"
            )));
        }
        // One row more than the page tells whether another page follows.
        let mut keys = self
            .repo
            .list_keys(caller.user_id, after.as_ref(), limit + 1)
            .await?;
        let next = if keys.len() > limit as usize {
            keys.truncate(limit as usize);
            keys.last().map(KeyPosition::of)
        } else {
            None
        };
        Ok(KeyPage { keys, next })
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
        {
            let mut cache = self.lock_known_keys();
            cache.generation += 1;
            cache.callers.forget(id);
            cache.access_keys.forget(id);
        }
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
        let hash = hash_api_key(api_key);
        self.cached_lookup(
            |cache| &mut cache.callers,
            hash.clone(),
            || async {
                let key =
                    self.repo.find_key_by_hash(&hash).await?.ok_or_else(|| {
                        CoreError::Unauthorized("invalid or revoked API key".into())
                    })?;
                Ok(Caller {
                    user_id: key.user_id,
                    key_id: key.id,
                })
            },
        )
        .await
    }

    /// Resolves an access key id to the caller and the secret SigV4 needs
    /// (opened from its sealed form).
    ///
    /// # Errors
    /// `Unauthorized` for unknown or revoked access keys, and for keys whose
    /// sealed secret does not open with this server's secrets key (the key
    /// file was replaced or lost), each with a message for the S3 client.
    pub async fn authenticate_access_key(
        &self,
        access_key_id: &str,
    ) -> CoreResult<(Caller, String)> {
        // Cached like API keys (see `KeyCache`): an S3 request then costs no
        // database round trip to find its secret, nor a decryption, and
        // revocation drops the entry at once.
        self.cached_lookup(
            |cache| &mut cache.access_keys,
            access_key_id.to_owned(),
            || async {
                let (key, stored) = self
                    .repo
                    .find_by_access_key_id(access_key_id)
                    .await?
                    .ok_or_else(|| CoreError::Unauthorized(UNKNOWN_ACCESS_KEY.into()))?;
                // A secret still in clear (written by an older version since
                // this server's start-up pass) is used as it is; the next
                // start-up seals it.
                let secret = self
                    .sealer
                    .open(&key.access_key_id, &stored)
                    .map(Opened::into_secret)
                    .map_err(|_| {
                        CoreError::Unauthorized(format!(
                            "The secret of access key Id {} cannot be opened with this server's \
                             secrets key (its key file was replaced or lost), so its S3 \
                             credentials no longer work; its API key still does. Create a new \
                             API key (POST /auth/keys) and use its access key Id and secret.",
                            key.access_key_id
                        ))
                    })?;
                let caller = Caller {
                    user_id: key.user_id,
                    key_id: key.id,
                };
                Ok((caller, secret))
            },
        )
        .await
    }

    /// Seals every secret access key still stored in clear (as versions
    /// before sealing wrote them), and counts the sealed ones that do not
    /// open with this server's key. Run at start-up.
    ///
    /// Each key is replaced by one compare-and-set statement, so the pass
    /// is idempotent, may be interrupted anywhere (what it sealed stays
    /// sealed, the rest is sealed next time), and is safe beside requests
    /// and other processes: a key revoked or re-sealed meanwhile is left
    /// alone, and keys created meanwhile are sealed already.
    ///
    /// # Errors
    /// Database failures; what was sealed before one stays sealed.
    #[tracing::instrument(skip(self))]
    pub async fn seal_stored_secrets(&self) -> CoreResult<SealingReport> {
        let mut report = SealingReport::default();
        let mut after = None;
        loop {
            let page = self.repo.stored_secrets(after, SEALING_PAGE).await?;
            for row in &page {
                if SecretSealer::is_sealed(&row.stored) {
                    if self.sealer.open(&row.access_key_id, &row.stored).is_err() {
                        report.unopenable += 1;
                    }
                } else {
                    let sealed = self.sealer.seal(&row.access_key_id, &row.stored);
                    if self
                        .repo
                        .replace_stored_secret(row.id, &row.stored, &sealed)
                        .await?
                    {
                        report.sealed += 1;
                    }
                }
            }
            if page.len() < SEALING_PAGE as usize {
                return Ok(report);
            }
            after = page.last().map(|row| row.id);
        }
    }

    /// The entry of `k` in the cache map `map` picks, else what `load`
    /// finds (cached unless a revocation happened meanwhile); either way the
    /// key's `last_used` is touched.
    async fn cached_lookup<V, Fut>(
        &self,
        map: fn(&mut KeyCache) -> &mut CacheMap<V>,
        k: String,
        load: impl FnOnce() -> Fut,
    ) -> CoreResult<V>
    where
        V: KeyEntry,
        Fut: std::future::Future<Output = CoreResult<V>>,
    {
        let (cached, generation) = {
            let mut cache = self.lock_known_keys();
            let generation = cache.generation;
            (map(&mut cache).fresh(&k, self.key_cache_ttl), generation)
        };
        let value = match cached {
            Some(v) => v,
            None => {
                let v = load().await?;
                let mut cache = self.lock_known_keys();
                if cache.generation == generation {
                    map(&mut cache).insert(k, v.clone());
                }
                v
            }
        };
        self.touch(value.caller().key_id).await;
        Ok(value)
    }

    fn lock_known_keys(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        // A poisoned cache may be half-updated: start it over.
        self.known_keys.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            guard.callers = CacheMap::default();
            guard.access_keys = CacheMap::default();
            guard.generation += 1;
            guard
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::error::ConflictKind;
    use crate::identity::{SecretsKey, StoredSecret};
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An in-memory `IdentityRepo` for service tests.
    #[derive(Default)]
    struct FakeRepo {
        users: Mutex<Vec<User>>,
        keys: Mutex<Vec<NewApiKey>>,
        touches: AtomicUsize,
    }

    fn stored(k: &NewApiKey) -> ApiKey {
        ApiKey {
            id: k.id,
            user_id: k.user_id,
            name: k.name.as_str().to_owned(),
            prefix: k.prefix.clone(),
            access_key_id: k.access_key_id.clone(),
            created_at: k.created_at,
            last_used: None,
        }
    }

    #[async_trait]
    impl IdentityRepo for FakeRepo {
        async fn create_user_with_key(&self, user: &User, key: &NewApiKey) -> CoreResult<ApiKey> {
            let mut users = self.users.lock().unwrap();
            if users.iter().any(|u| u.name == user.name) {
                return Err(CoreError::conflict(ConflictKind::AlreadyExists, "taken"));
            }
            users.push(user.clone());
            self.keys.lock().unwrap().push(key.clone());
            Ok(stored(key))
        }
        async fn get_user(&self, id: UserId) -> CoreResult<User> {
            let users = self.users.lock().unwrap();
            users
                .iter()
                .find(|u| u.id == id)
                .cloned()
                .ok_or_else(|| CoreError::not_found(Resource::User, id.to_string()))
        }
        async fn insert_key(&self, key: &NewApiKey) -> CoreResult<ApiKey> {
            self.keys.lock().unwrap().push(key.clone());
            Ok(stored(key))
        }
        async fn find_key_by_hash(&self, key_hash: &str) -> CoreResult<Option<ApiKey>> {
            let keys = self.keys.lock().unwrap();
            Ok(keys.iter().find(|k| k.key_hash == key_hash).map(stored))
        }
        async fn find_by_access_key_id(&self, id: &str) -> CoreResult<Option<(ApiKey, String)>> {
            let keys = self.keys.lock().unwrap();
            Ok(keys
                .iter()
                .find(|k| k.access_key_id == id)
                .map(|k| (stored(k), k.stored_secret.clone())))
        }
        async fn stored_secrets(
            &self,
            after: Option<ApiKeyId>,
            limit: u32,
        ) -> CoreResult<Vec<StoredSecret>> {
            let keys = self.keys.lock().unwrap();
            let mut all: Vec<StoredSecret> = keys
                .iter()
                .filter(|k| after.is_none_or(|a| k.id.to_string() > a.to_string()))
                .map(|k| StoredSecret {
                    id: k.id,
                    access_key_id: k.access_key_id.clone(),
                    stored: k.stored_secret.clone(),
                })
                .collect();
            all.sort_by_key(|k| k.id.to_string());
            all.truncate(limit as usize);
            Ok(all)
        }
        async fn replace_stored_secret(
            &self,
            id: ApiKeyId,
            old: &str,
            new: &str,
        ) -> CoreResult<bool> {
            let mut keys = self.keys.lock().unwrap();
            match keys
                .iter_mut()
                .find(|k| k.id == id && k.stored_secret == old)
            {
                Some(k) => {
                    k.stored_secret = new.to_owned();
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        async fn list_keys(
            &self,
            user: UserId,
            after: Option<&KeyPosition>,
            limit: u32,
        ) -> CoreResult<Vec<ApiKey>> {
            let keys = self.keys.lock().unwrap();
            let mut mine: Vec<ApiKey> = keys
                .iter()
                .filter(|k| k.user_id == user)
                .map(stored)
                .collect();
            let place = |k: &ApiKey| (k.created_at, k.id.to_string());
            mine.sort_by_key(place);
            Ok(mine
                .into_iter()
                .filter(|k| after.is_none_or(|a| place(k) > (a.created_at, a.id.to_string())))
                .take(limit as usize)
                .collect())
        }
        async fn delete_key(&self, user: UserId, id: ApiKeyId, allow_last: bool) -> CoreResult<()> {
            let mut keys = self.keys.lock().unwrap();
            let mine = keys.iter().filter(|k| k.user_id == user).count();
            let Some(pos) = keys.iter().position(|k| k.id == id && k.user_id == user) else {
                return Err(CoreError::not_found(Resource::ApiKey, id.to_string()));
            };
            if mine == 1 && !allow_last {
                return Err(CoreError::conflict(ConflictKind::LastKey, "last"));
            }
            keys.remove(pos);
            Ok(())
        }
        async fn record_last_used(&self, _id: ApiKeyId, _at: OffsetDateTime) -> CoreResult<()> {
            self.touches.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn service(open: bool) -> (IdentityService, Arc<FakeRepo>) {
        let repo = Arc::new(FakeRepo::default());
        (
            IdentityService::new(
                repo.clone(),
                SecretSealer::new(&SecretsKey::generate()),
                open,
            ),
            repo,
        )
    }

    #[tokio::test]
    async fn secrets_are_stored_sealed_and_open_on_lookup() {
        let (svc, repo) = service(true);
        let created = svc.sign_up("dev").await.unwrap();
        let caller = svc.authenticate(&created.key).await.unwrap();
        let other = svc.create_key(caller, "ci").await.unwrap();
        for (k, row) in [&created, &other]
            .iter()
            .zip(repo.keys.lock().unwrap().iter())
        {
            assert!(row.stored_secret.starts_with("sealed1:"), "sealed at rest");
            assert!(!row.stored_secret.contains(&k.secret_access_key));
        }
        for k in [&created, &other] {
            let (_, secret) = svc.authenticate_access_key(&k.access_key_id).await.unwrap();
            assert_eq!(secret, k.secret_access_key);
        }
    }

    /// A row as an older version wrote it: the secret in clear.
    fn plant_clear_key(repo: &FakeRepo, user_id: UserId, access_key_id: &str, secret: &str) {
        repo.keys.lock().unwrap().push(NewApiKey {
            id: ApiKeyId::new(),
            user_id,
            name: KeyName::parse("old").unwrap(),
            key_hash: hash_api_key(access_key_id),
            prefix: "mk_old".into(),
            access_key_id: access_key_id.into(),
            stored_secret: secret.into(),
            created_at: now_utc(),
        });
    }

    #[tokio::test]
    async fn the_sealing_pass_seals_clear_secrets_once_and_counts_unopenable_ones() {
        let (svc, repo) = service(true);
        let created = svc.sign_up("dev").await.unwrap();
        // More than one page of clear secrets.
        let clear: Vec<(String, String)> = (0..SEALING_PAGE + 5)
            .map(|_| {
                let s = IssuedSecrets::generate();
                (s.access_key_id, s.secret_access_key)
            })
            .collect();
        for (akid, secret) in &clear {
            plant_clear_key(&repo, created.user_id, akid, secret);
        }
        // Clear secrets work before the pass…
        let (_, secret) = svc.authenticate_access_key(&clear[0].0).await.unwrap();
        assert_eq!(secret, clear[0].1);

        let report = svc.seal_stored_secrets().await.unwrap();
        assert_eq!(
            report,
            SealingReport {
                sealed: u64::from(SEALING_PAGE) + 5,
                unopenable: 0
            }
        );
        assert!(
            repo.keys
                .lock()
                .unwrap()
                .iter()
                .all(|k| SecretSealer::is_sealed(&k.stored_secret))
        );
        // …and after it, from a service that never cached them.
        let again = IdentityService::new(repo.clone(), svc.sealer.clone(), true);
        for (akid, secret) in clear.iter().step_by(17) {
            let (_, opened) = again.authenticate_access_key(akid).await.unwrap();
            assert_eq!(&opened, secret);
        }
        // A second pass has nothing to do.
        assert_eq!(
            svc.seal_stored_secrets().await.unwrap(),
            SealingReport::default()
        );

        // Under another service key, every sealed secret is unopenable,
        // and their S3 lookups say why; the API key still works.
        let elsewhere = IdentityService::new(
            repo.clone(),
            SecretSealer::new(&SecretsKey::generate()),
            true,
        );
        assert_eq!(
            elsewhere.seal_stored_secrets().await.unwrap(),
            SealingReport {
                sealed: 0,
                unopenable: u64::from(SEALING_PAGE) + 6
            }
        );
        match elsewhere
            .authenticate_access_key(&created.access_key_id)
            .await
        {
            Err(CoreError::Unauthorized(m)) => {
                assert!(
                    m.contains("cannot be opened with this server's secrets key"),
                    "{m}"
                );
                assert!(m.contains("new API key"), "{m}");
                assert!(!m.contains(&created.secret_access_key));
            }
            other => panic!("expected Unauthorized, got {other:?}"),
        }
        assert!(elsewhere.authenticate(&created.key).await.is_ok());
    }

    #[tokio::test]
    async fn the_sealing_pass_leaves_a_key_changed_behind_its_back() {
        let (svc, repo) = service(true);
        let created = svc.sign_up("dev").await.unwrap();
        plant_clear_key(&repo, created.user_id, "AKIAOLD", "old-secret");
        let id = repo.keys.lock().unwrap()[1].id;
        // The compare-and-set refuses a value that is no longer the one read.
        assert!(!repo.replace_stored_secret(id, "stale", "x").await.unwrap());
        assert_eq!(repo.keys.lock().unwrap()[1].stored_secret, "old-secret");
    }

    #[tokio::test]
    async fn sign_up_issues_working_credentials() {
        let (svc, _) = service(true);
        let created = svc.sign_up("dev").await.unwrap();
        let caller = svc.authenticate(&created.key).await.unwrap();
        assert_eq!(caller.user_id, created.user_id);
        let (by_ak, secret) = svc
            .authenticate_access_key(&created.access_key_id)
            .await
            .unwrap();
        assert_eq!(by_ak, caller);
        assert_eq!(secret, created.secret_access_key);
    }

    #[tokio::test]
    async fn closed_sign_up_is_forbidden() {
        let (svc, _) = service(false);
        assert!(matches!(
            svc.sign_up("dev").await,
            Err(CoreError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn bad_names_are_rejected_with_the_rule() {
        let (svc, _) = service(true);
        for (name, needle) in [
            ("", "1 to 63"),
            ("a b", "letters"),
            (&"x".repeat(64), "1 to 63"),
        ] {
            match svc.sign_up(name).await {
                Err(CoreError::InvalidInput(m)) => assert!(m.contains(needle), "{name:?}: {m}"),
                other => panic!("{name:?}: expected invalid input, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn unknown_keys_are_unauthorized() {
        let (svc, _) = service(true);
        svc.sign_up("dev").await.unwrap();
        assert!(matches!(
            svc.authenticate("mk_nope").await,
            Err(CoreError::Unauthorized(_))
        ));
        assert!(matches!(
            svc.authenticate_access_key("AKIANOPE").await,
            Err(CoreError::Unauthorized(_))
        ));
    }

    #[tokio::test]
    async fn last_used_writes_are_coalesced() {
        let (svc, repo) = service(true);
        let created = svc.sign_up("dev").await.unwrap();
        for _ in 0..50 {
            svc.authenticate(&created.key).await.unwrap();
        }
        assert_eq!(repo.touches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn revoked_keys_stop_working_and_the_last_needs_force() {
        let (svc, _) = service(true);
        let first = svc.sign_up("dev").await.unwrap();
        let caller = svc.authenticate(&first.key).await.unwrap();
        let second = svc.create_key(caller, "ci").await.unwrap();
        svc.revoke_key(caller, first.id, false).await.unwrap();
        assert!(svc.authenticate(&first.key).await.is_err());
        let caller = svc.authenticate(&second.key).await.unwrap();
        match svc.revoke_key(caller, second.id, false).await {
            Err(CoreError::Conflict { message, .. }) => assert!(message.contains("force=true")),
            other => panic!("expected a conflict, got {other:?}"),
        }
        svc.revoke_key(caller, second.id, true).await.unwrap();
        assert!(svc.authenticate(&second.key).await.is_err());
    }

    #[tokio::test]
    async fn cached_access_keys_are_dropped_on_revoke() {
        let (svc, _) = service(true);
        let first = svc.sign_up("dev").await.unwrap();
        let caller = svc.authenticate(&first.key).await.unwrap();
        let second = svc.create_key(caller, "ci").await.unwrap();
        for _ in 0..3 {
            let (who, secret) = svc
                .authenticate_access_key(&first.access_key_id)
                .await
                .expect("a known access key (cached after the first lookup)");
            assert_eq!(who, caller);
            assert_eq!(secret, first.secret_access_key);
        }
        svc.revoke_key(caller, first.id, false).await.unwrap();
        assert!(matches!(
            svc.authenticate_access_key(&first.access_key_id).await,
            Err(CoreError::Unauthorized(_))
        ));
        assert!(
            svc.authenticate_access_key(&second.access_key_id)
                .await
                .is_ok(),
            "other keys stay valid"
        );
    }

    /// A key deleted behind the service's back (another process sharing the
    /// database) stays usable only until its cache entry expires.
    #[tokio::test]
    async fn cached_keys_expire_after_their_ttl() {
        let (mut svc, repo) = service(true);
        svc.key_cache_ttl = Duration::from_millis(50);
        let first = svc.sign_up("dev").await.unwrap();
        let caller = svc.authenticate(&first.key).await.unwrap();
        svc.authenticate_access_key(&first.access_key_id)
            .await
            .unwrap();
        repo.delete_key(caller.user_id, first.id, true)
            .await
            .unwrap();
        assert!(svc.authenticate(&first.key).await.is_ok(), "cached");
        assert!(
            svc.authenticate_access_key(&first.access_key_id)
                .await
                .is_ok(),
            "cached"
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(matches!(
            svc.authenticate(&first.key).await,
            Err(CoreError::Unauthorized(_))
        ));
        assert!(matches!(
            svc.authenticate_access_key(&first.access_key_id).await,
            Err(CoreError::Unauthorized(_))
        ));
    }
}
