//! Object Lock in the storage service: a bucket's configuration, each
//! version's retention and legal hold, and who may bypass GOVERNANCE.
//! Split from `service.rs`; same `impl`, same rules. The checks that must
//! be atomic with a change (a delete racing a new retention) are in the
//! repository's transactions; the rules they apply are
//! [`ObjectLock::apply`] and [`ObjectLock::protects`].

use super::{StorageService, owner_may, stored_policy};
use crate::Resource;
use crate::clock::now_utc;
use crate::error::{ConflictKind, CoreError, CoreResult};
use crate::identity::Caller;
use crate::storage::domain::{Bucket, BucketName, ObjectKey, VersionId};
use crate::storage::object_lock::{
    LockChange, LockHeaders, ObjectLock, ObjectLockConfig, VersionLock,
};
use crate::storage::policy::{Access, BucketPolicy, S3Action};
use crate::storage::ports::BucketLockSet;
use crate::storage::tags::Tags;

/// S3's answer to an Object Lock operation on a bucket without it.
fn not_enabled_conflict() -> CoreError {
    CoreError::conflict(
        ConflictKind::InvalidState,
        "Object Lock configuration cannot be enabled on existing buckets unless versioning is Enabled; enable versioning first",
    )
}

impl StorageService {
    /// CreateBucket with `x-amz-bucket-object-lock-enabled: true`: the
    /// bucket, its versioning `Enabled` and Object Lock enabled (without a
    /// default retention), in one statement: no crash leaves the bucket
    /// without its lock.
    ///
    /// # Errors
    /// As [`Self::create_bucket_with_tags`].
    #[tracing::instrument(skip(self, tags), fields(owner = %caller.user_id))]
    pub async fn create_locked_bucket(
        &self,
        caller: Caller,
        name: &str,
        tags: &Tags,
    ) -> CoreResult<Bucket> {
        self.create_new_bucket(caller, name, tags, Some(&ObjectLockConfig::default()))
            .await
    }

    /// The Object Lock configuration of the caller's bucket
    /// (GetObjectLockConfiguration): `None` when it is not enabled.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn bucket_object_lock(
        &self,
        caller: Caller,
        name: &str,
    ) -> CoreResult<Option<ObjectLockConfig>> {
        let access = Access::bucket(S3Action::GetBucketObjectLockConfiguration);
        Ok(self.checked_bucket(caller, name, access).await?.object_lock)
    }

    /// The Object Lock configuration of the caller's bucket `bucket` for a
    /// write of `key` that asks for a lock (`x-amz-object-lock-*`),
    /// checked as that write: `s3:PutObject`, and for what `sent` names
    /// `s3:PutObjectRetention` and `s3:PutObjectLegalHold` (see
    /// [`LockHeaders`]; the owner holds them unless the bucket policy
    /// denies them). Run before a byte of the body is read, so a refused
    /// write stores nothing and creates no upload. `None` when the bucket
    /// has no Object Lock.
    ///
    /// # Errors
    /// As [`Self::bucket`]; `Forbidden` naming the lock action the policy
    /// denies.
    pub async fn object_lock_for_write(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        sent: LockHeaders,
    ) -> CoreResult<Option<ObjectLockConfig>> {
        let access = Access::object(S3Action::PutObject, key);
        let found = self.checked_bucket(caller, bucket, access).await?;
        let policy = found
            .policy
            .as_deref()
            .and_then(|doc| stored_policy(&found.bucket.name, doc));
        for (named, action) in [
            (sent.retention, S3Action::PutObjectRetention),
            (sent.legal_hold, S3Action::PutObjectLegalHold),
        ] {
            if named {
                owner_may(
                    &found.bucket,
                    policy.as_ref(),
                    caller,
                    &Access::object(action, key),
                )?;
            }
        }
        Ok(found.object_lock)
    }

    /// PutObjectLockConfiguration: enables Object Lock on the caller's
    /// bucket (its versioning must be `Enabled`) and sets its default
    /// retention (`config`).
    ///
    /// # Errors
    /// `Conflict(InvalidState)` when the bucket's versioning is not
    /// `Enabled`; `InvalidInput` for a bad name, `NotFound(Bucket)`,
    /// `Forbidden`.
    #[tracing::instrument(skip(self), fields(owner = %caller.user_id))]
    pub async fn set_bucket_object_lock(
        &self,
        caller: Caller,
        name: &str,
        config: &ObjectLockConfig,
    ) -> CoreResult<()> {
        let access = Access::bucket(S3Action::PutBucketObjectLockConfiguration);
        let found = self.checked_bucket(caller, name, access).await?;
        match self
            .repo
            .set_bucket_object_lock(caller.user_id, &found.bucket.name, config)
            .await?
        {
            BucketLockSet::Set => {
                tracing::info!(bucket = %found.bucket.name, "Object Lock configuration set");
                Ok(())
            }
            BucketLockSet::NotVersioned => Err(not_enabled_conflict()),
            BucketLockSet::Missing => Err(CoreError::not_found(
                Resource::Bucket,
                found.bucket.name.as_str(),
            )),
        }
    }

    /// Whether the caller, the bucket's owner, may bypass GOVERNANCE
    /// retention on `key` when they ask for it (`asked`): they hold
    /// `s3:BypassGovernanceRetention` unless the bucket's policy denies it.
    ///
    /// # Errors
    /// `Forbidden` when they ask and the policy denies it, as S3 refuses
    /// such a request.
    pub(super) fn may_bypass(
        bucket: &Bucket,
        policy: Option<&BucketPolicy>,
        caller: Caller,
        key: &str,
        asked: bool,
    ) -> CoreResult<bool> {
        if !asked {
            return Ok(false);
        }
        owner_may(
            bucket,
            policy,
            caller,
            &Access::object(S3Action::BypassGovernanceRetention, key),
        )?;
        Ok(true)
    }

    /// The lock of version `version` of `key` (the current version when
    /// `None`), for GetObjectRetention and GetObjectLegalHold (`action`).
    ///
    /// # Errors
    /// `InvalidRequest` when the bucket has no Object Lock (S3's
    /// "Bucket is missing Object Lock Configuration"); `NotFound(Object)`,
    /// `VersionNotFound`, `DeleteMarker`; `NotFound(Bucket)`, `Forbidden`.
    pub async fn object_lock(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
        action: S3Action,
    ) -> CoreResult<ObjectLock> {
        let found = self
            .checked_bucket(caller, bucket, Access::object(action, key))
            .await?;
        if found.object_lock.is_none() {
            return Err(missing_configuration());
        }
        let meta = match version {
            Some(version) => {
                self.owned_object_version(caller, bucket, key, version, action)
                    .await?
            }
            None => self.current_version(&found.bucket.name, key).await?,
        };
        Ok(meta.lock)
    }

    /// PutObjectRetention and PutObjectLegalHold (`action`): changes the
    /// lock of version `version` of `key` (the current version when
    /// `None`) by `change`. A `bypass` in `change` is honoured only when
    /// the caller may bypass GOVERNANCE (see [`Self::may_bypass`]).
    ///
    /// # Errors
    /// `InvalidRequest` when the bucket has no Object Lock; `Forbidden`
    /// for a change S3's rules refuse (see [`ObjectLock::apply`]) or a
    /// bypass the policy denies; `NotFound(Object)`, `VersionNotFound`,
    /// `DeleteMarker` (S3's `MethodNotAllowed`); `NotFound(Bucket)`.
    #[tracing::instrument(skip(self), fields(owner = %caller.user_id))]
    pub async fn set_object_lock(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
        action: S3Action,
        change: LockChange,
    ) -> CoreResult<ObjectLock> {
        let found = self
            .checked_bucket(caller, bucket, Access::object(action, key))
            .await?;
        if found.object_lock.is_none() {
            return Err(missing_configuration());
        }
        let policy = found
            .policy
            .as_deref()
            .and_then(|doc| stored_policy(&found.bucket.name, doc));
        let change = match change {
            LockChange::Retention { retention, bypass } => LockChange::Retention {
                retention,
                bypass: Self::may_bypass(&found.bucket, policy.as_ref(), caller, key, bypass)?,
            },
            other => other,
        };
        let name = &found.bucket.name;
        let object_key = ObjectKey::parse(key)?;
        let version = match version {
            Some(v) => v,
            None => self.current_version(name, key).await?.version_id(),
        };
        match self
            .repo
            .set_version_lock(
                caller.user_id,
                name,
                &object_key,
                version,
                &change,
                now_utc(),
            )
            .await?
        {
            VersionLock::Locked(lock) => Ok(lock),
            VersionLock::DeleteMarker { last_modified } => Err(CoreError::DeleteMarker {
                key: key.to_owned(),
                version_id: version.to_string(),
                by_version: true,
                last_modified: Some(last_modified),
            }),
            VersionLock::Missing => Err(self.missing_version(name, &object_key, version).await?),
        }
    }

    /// The current version of `key`: `NotFound(Object)` when there is
    /// none (no key, or its latest version is a delete marker).
    async fn current_version(
        &self,
        bucket: &BucketName,
        key: &str,
    ) -> CoreResult<crate::storage::domain::ObjectMeta> {
        let object_key = ObjectKey::parse(key)?;
        self.repo
            .get_object(bucket, &object_key)
            .await?
            .ok_or_else(|| CoreError::not_found(Resource::Object, key))
    }
}

/// S3's answer to the retention and legal-hold operations on a bucket
/// without Object Lock.
pub(super) fn missing_configuration() -> CoreError {
    CoreError::InvalidRequest("Bucket is missing Object Lock Configuration".into())
}
