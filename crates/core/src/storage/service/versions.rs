//! Bucket versioning in the storage service: the bucket's state, deletes
//! that leave delete markers or remove one version for good, reads of a
//! version by its id, the listing of every version, and the lifecycle
//! sweep of a versioned bucket (at the end). Split from
//! `service.rs`; same `impl`, same rules.
//!
//! Writes need nothing here: a write to a versioned bucket goes through the
//! same commit as any other, carrying whether it is a new version
//! ([`ObjectMeta::versioned`], from the bucket's state read before the
//! write), and the repository keeps the version it replaces.

use super::{
    ObjectRead, ObjectView, StorageService, bucket_access_denied, owner_may, owner_view,
    reader_view, stored_policy,
};
use crate::Resource;
use crate::StopRequested;
use crate::clock::now_utc;
use crate::error::{ConflictKind, CoreError, CoreResult};
use crate::identity::{Caller, UserId};
use crate::lifecycle::ExpiredCount;
use crate::storage::WriteCondition;
use crate::storage::domain::{
    BucketName, DeleteMarker, ListedVersion, ObjectId, ObjectKey, ObjectMeta, ObjectVersion,
    VersionId, Versioning,
};
use crate::storage::lifecycle::LifecycleConfiguration;
use crate::storage::listing::{self, KeyRange, MAX_LIST_KEYS, key_successor};
use crate::storage::policy::{Access, PublicAction, Reader, S3Action};
use crate::storage::tags::Tags;

/// S3's refusal to suspend the versioning of a bucket with Object Lock.
fn suspend_refused() -> CoreError {
    CoreError::conflict(
        ConflictKind::InvalidState,
        "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.",
    )
}

/// What a delete did (S3's DeleteObject answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// The version the answer names (`x-amz-version-id`): the delete
    /// marker inserted, or the version removed; `None` for a delete in a
    /// bucket that was never versioned that named no version.
    pub version_id: Option<VersionId>,
    /// Whether that version is a delete marker (`x-amz-delete-marker`).
    pub delete_marker: bool,
    /// Whether anything was there to delete (an unversioned bucket's key,
    /// or the version named).
    pub existed: bool,
}

/// What one delete (S3's DeleteObject, or an entry of DeleteObjects)
/// removes, and on what condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTarget {
    /// The key.
    pub key: String,
    /// The version to remove for good; `None`: the key (a delete marker
    /// in a versioned bucket).
    pub version: Option<VersionId>,
    /// S3's conditional delete (`If-Match: *` or an ETag), checked against
    /// the key's current version atomically with the delete. It applies
    /// to a delete of the key only (S3 evaluates it against the current
    /// version); with `version` anything but
    /// [`WriteCondition::Always`] is refused.
    pub condition: WriteCondition,
}

impl DeleteTarget {
    /// The unconditional delete of `key`'s current version.
    #[must_use]
    pub fn key(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            version: None,
            condition: WriteCondition::Always,
        }
    }
}

/// A ListObjectVersions request.
#[derive(Debug, Clone, Default)]
pub struct ListVersionsInput {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys that contain this after the prefix up into common prefixes.
    pub delimiter: Option<String>,
    /// Start after this key (S3's `key-marker`)…
    pub key_marker: Option<String>,
    /// …or after this version of it (`version-id-marker`).
    pub version_id_marker: Option<VersionId>,
    /// Page size (entries and common prefixes); at most [`MAX_LIST_KEYS`].
    pub max_keys: u32,
}

/// One version in a listing page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    /// The version or delete marker.
    pub version: ObjectVersion,
    /// Whether it is its key's latest version.
    pub is_latest: bool,
}

/// One page of ListObjectVersions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionsPage {
    /// Versions and delete markers, by key in byte order, newest first.
    pub entries: Vec<VersionEntry>,
    /// Common prefixes (with a delimiter), in byte order.
    pub common_prefixes: Vec<String>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// Where the next page starts (when truncated): the last key or common
    /// prefix of this one…
    pub next_key_marker: Option<String>,
    /// …and the last version's id when the page ended on a version.
    pub next_version_id_marker: Option<VersionId>,
    /// The bucket's owner (each entry's `Owner`, whoever reads).
    pub owner: UserId,
}

impl StorageService {
    /// The versioning state of the caller's bucket (GetBucketVersioning).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn bucket_versioning(&self, caller: Caller, name: &str) -> CoreResult<Versioning> {
        let found = self.owned_bucket(caller, name).await?;
        let policy = found
            .policy
            .as_deref()
            .and_then(|doc| stored_policy(&found.bucket.name, doc));
        owner_may(
            &found.bucket,
            policy.as_ref(),
            caller,
            &Access::bucket(S3Action::GetBucketVersioning),
        )?;
        Ok(found.versioning)
    }

    /// The versioning state of the caller's bucket `bucket`, for a write
    /// of `key` that does not go through [`Self::write_checked_blob`] (a
    /// multipart completion), checked as that write.
    ///
    /// # Errors
    /// As [`Self::bucket`].
    pub(crate) async fn write_versioning(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
    ) -> CoreResult<Versioning> {
        let access = Access::object(S3Action::PutObject, key);
        Ok(self
            .checked_bucket(caller, bucket, access)
            .await?
            .versioning)
    }

    /// Sets the versioning state of the caller's bucket (PutBucketVersioning):
    /// `Enabled` or `Suspended`; a bucket never goes back to unversioned.
    ///
    /// # Errors
    /// `InvalidInput` for `Unversioned`, a bad name; `NotFound(Bucket)`,
    /// `Forbidden`.
    #[tracing::instrument(skip(self), fields(owner = %caller.user_id))]
    pub async fn set_bucket_versioning(
        &self,
        caller: Caller,
        name: &str,
        versioning: Versioning,
    ) -> CoreResult<()> {
        if versioning == Versioning::Unversioned {
            return Err(CoreError::invalid(
                "versioning can be Enabled or Suspended; a bucket never goes back to unversioned",
            ));
        }
        let found = self
            .checked_bucket(caller, name, Access::bucket(S3Action::PutBucketVersioning))
            .await?;
        if versioning == Versioning::Suspended && found.object_lock.is_some() {
            return Err(suspend_refused());
        }
        let bucket = found.bucket;
        let written = self
            .repo
            .set_bucket_versioning(caller.user_id, &bucket.name, versioning)
            .await?;
        if !written {
            // Object Lock enabled since the lookup above: the statement
            // refused the suspend.
            let locked = self
                .repo
                .lookup_bucket(&bucket.name)
                .await?
                .is_some_and(|f| f.bucket.owner == caller.user_id && f.object_lock.is_some());
            if locked {
                return Err(suspend_refused());
            }
            return Err(CoreError::not_found(Resource::Bucket, bucket.name.as_str()));
        }
        tracing::info!(bucket = %bucket.name, ?versioning, "bucket versioning set");
        Ok(())
    }

    /// S3's DeleteObject: without a version, removes the key in a bucket
    /// that was never versioned, and inserts a delete marker in a versioned
    /// one (a `null` one when versioning is suspended); with one, removes
    /// that version for good (its blob too), unless its Object Lock
    /// protects it (GOVERNANCE yields to `bypass_governance`, asked by the
    /// caller, when the bucket's policy does not deny them
    /// `s3:BypassGovernanceRetention`). A delete of the key under a
    /// condition deletes nothing unless it holds for the current version.
    ///
    /// # Errors
    /// `NotFound(Bucket)`, `Forbidden` (also for a locked version),
    /// `InvalidInput` for a bad key, `InvalidRequest` for a condition on a
    /// version's delete; when the condition does not hold,
    /// `PreconditionFailed` (another ETag) or `NotFound(Object)` (no
    /// current version).
    #[tracing::instrument(skip(self), fields(owner = %caller.user_id))]
    pub async fn delete_object_at(
        &self,
        caller: Caller,
        bucket: &str,
        target: &DeleteTarget,
        bypass_governance: bool,
    ) -> CoreResult<DeleteOutcome> {
        let DeleteTarget { key, version, .. } = target;
        let (key, version) = (key.as_str(), *version);
        let found = self.owned_bucket(caller, bucket).await?;
        let policy = found
            .policy
            .as_deref()
            .and_then(|doc| stored_policy(&found.bucket.name, doc));
        let action = match version {
            None => S3Action::DeleteObject,
            Some(_) => S3Action::DeleteObjectVersion,
        };
        owner_may(
            &found.bucket,
            policy.as_ref(),
            caller,
            &Access::object(action, key),
        )?;
        let bypass = Self::may_bypass(
            &found.bucket,
            policy.as_ref(),
            caller,
            key,
            bypass_governance && version.is_some(),
        )?;
        self.delete_in(caller, &found.bucket.name, found.versioning, target, bypass)
            .await
    }

    /// The delete of [`Self::delete_object_at`] once the bucket is checked.
    pub(super) async fn delete_in(
        &self,
        caller: Caller,
        bucket: &BucketName,
        versioning: Versioning,
        target: &DeleteTarget,
        bypass_governance: bool,
    ) -> CoreResult<DeleteOutcome> {
        let key = ObjectKey::parse(&target.key)?;
        let condition = &target.condition;
        if target.version.is_some() && *condition != WriteCondition::Always {
            return Err(CoreError::InvalidRequest(
                "If-Match applies to the current version of a key; a delete that names a version takes no condition".into(),
            ));
        }
        match (target.version, versioning) {
            (None, Versioning::Unversioned) => {
                let blob = self
                    .repo
                    .delete_object_where(bucket, &key, condition)
                    .await?;
                let existed = blob.is_some();
                if let Some(blob) = blob {
                    self.discard(blob).await;
                }
                Ok(DeleteOutcome {
                    version_id: None,
                    delete_marker: false,
                    existed,
                })
            }
            (None, state) => {
                let marker = DeleteMarker {
                    id: ObjectId::new(),
                    bucket: bucket.clone(),
                    key,
                    versioned: state == Versioning::Enabled,
                    last_modified: now_utc(),
                };
                let freed = self
                    .repo
                    .put_delete_marker_if(caller.user_id, &marker, condition)
                    .await?;
                if let Some(blob) = freed {
                    self.discard(blob).await;
                }
                tracing::debug!(marker = %marker.id, "delete marker inserted");
                Ok(DeleteOutcome {
                    version_id: Some(marker.version_id()),
                    delete_marker: true,
                    existed: true,
                })
            }
            (Some(version), _) => {
                let removed = self
                    .repo
                    .delete_object_version(caller.user_id, bucket, &key, version, bypass_governance)
                    .await?;
                let delete_marker = matches!(removed, Some(ObjectVersion::DeleteMarker(_)));
                let existed = removed.is_some();
                if let Some(ObjectVersion::Object(meta)) = removed {
                    self.discard(meta.blob_id).await;
                }
                Ok(DeleteOutcome {
                    version_id: Some(version),
                    delete_marker,
                    existed,
                })
            }
        }
    }

    /// S3's DeleteObjects: each entry as [`Self::delete_object_at`], one
    /// result per entry in order (a key the bucket's policy denies is
    /// `Forbidden`, as S3 answers that entry `AccessDenied`).
    ///
    /// # Errors
    /// `NotFound(Bucket)` or `Forbidden` for the bucket as a whole.
    pub async fn delete_objects_at(
        &self,
        caller: Caller,
        bucket: &str,
        entries: &[DeleteTarget],
        bypass_governance: bool,
    ) -> CoreResult<Vec<CoreResult<DeleteOutcome>>> {
        let found = self.owned_bucket(caller, bucket).await?;
        let policy = found
            .policy
            .as_deref()
            .and_then(|doc| stored_policy(&found.bucket.name, doc));
        let mut results = Vec::with_capacity(entries.len());
        for target in entries {
            let (key, version) = (&target.key, target.version);
            let action = match version {
                None => S3Action::DeleteObject,
                Some(_) => S3Action::DeleteObjectVersion,
            };
            let result = match owner_may(
                &found.bucket,
                policy.as_ref(),
                caller,
                &Access::object(action, key),
            )
            .and_then(|()| {
                Self::may_bypass(
                    &found.bucket,
                    policy.as_ref(),
                    caller,
                    key,
                    bypass_governance && version.is_some(),
                )
            }) {
                Ok(bypass) => {
                    self.delete_in(caller, &found.bucket.name, found.versioning, target, bypass)
                        .await
                }
                Err(e) => Err(e),
            };
            results.push(result);
        }
        Ok(results)
    }

    /// The version `version` of `key` that `reader` may read for `action`
    /// (the read's action without a version: [`PublicAction::GetObject`]
    /// and so on): the bucket's owner, unless its policy denies them the
    /// version read (`s3:GetObjectVersion`, or `s3:GetObjectVersionTagging`
    /// for the tags, `s3:GetObjectVersionAcl` for the ACL); or another
    /// account or an anonymous reader whose grant is for the read of that
    /// version ([`PublicAction::of_version`]: `s3:GetObjectVersion`,
    /// `s3:GetObjectVersionTagging`, `s3:GetObjectVersionAcl`; the other
    /// reads of a version are the owner's alone). Such a reader is told a version or key is missing
    /// only when the policy also lets them list the bucket (`AccessDenied`
    /// otherwise), as for the current version.
    ///
    /// # Errors
    /// `NotFound(Bucket)`, `VersionNotFound` for a version that does not
    /// exist, `DeleteMarker { by_version: true }` for a delete marker,
    /// `Forbidden`.
    pub(super) async fn version_read(
        &self,
        reader: &Reader,
        action: PublicAction,
        bucket: &str,
        key: &str,
        version: VersionId,
    ) -> CoreResult<ObjectRead> {
        let denied = || CoreError::Forbidden("Access Denied".into());
        let version_action = action.of_version();
        let name = BucketName::parse(bucket)?;
        let Some(found) = self.repo.lookup_bucket(&name).await? else {
            return Err(match reader {
                Reader::Public(_) => denied(),
                _ => CoreError::not_found(Resource::Bucket, name.as_str()),
            });
        };
        let versioning = found.versioning;
        let lifecycle = found.lifecycle.clone();
        let mut seen_by_owner = ObjectView::HIDDEN;
        let grant = match reader {
            Reader::Owner(caller) | Reader::Signed(caller)
                if found.bucket.owner == caller.user_id =>
            {
                let policy = found
                    .policy
                    .as_deref()
                    .and_then(|doc| stored_policy(&found.bucket.name, doc));
                // The owner's read by version id is refused by a `Deny` of
                // its version action (`s3:GetObjectVersionTagging` for the
                // tags), `s3:GetObjectVersion` for the reads that have none.
                let owner_action =
                    version_action.map_or(S3Action::GetObjectVersion, |a| a.action());
                owner_may(
                    &found.bucket,
                    policy.as_ref(),
                    *caller,
                    &Access::object(owner_action, key),
                )?;
                seen_by_owner = owner_view(&found.bucket, policy.as_ref(), *caller, key, true);
                None
            }
            Reader::Owner(_) => return Err(bucket_access_denied(&name)),
            Reader::Signed(caller) => {
                let Some(version_action) = version_action else {
                    return Err(denied());
                };
                // Another account's bucket: only through its policy's
                // grant of the version read.
                let (_, grant, _) = self
                    .granted_to_other(*caller, found, version_action, Some(key))
                    .await?;
                grant
            }
            Reader::Public(grant) => {
                if version_action != Some(grant.action)
                    || grant.bucket != bucket
                    || grant.key.as_deref() != Some(key)
                    || grant.owner != found.bucket.owner
                {
                    return Err(denied());
                }
                Some(grant.clone())
            }
        };
        let key = ObjectKey::parse(key)?;
        let may_list = grant.as_ref().is_none_or(|g| g.may_list);
        match self.repo.get_object_version(&name, &key, version).await? {
            Some(ListedVersion {
                version: ObjectVersion::Object(mut meta),
                ..
            }) => {
                meta.in_versioned_bucket = versioning.is_versioned();
                let view = reader_view(grant.as_ref(), seen_by_owner);
                meta.lock = meta.lock.seen_with(view.lock);
                Ok((meta, grant, lifecycle, view.tags))
            }
            Some(ListedVersion {
                version: ObjectVersion::DeleteMarker(marker),
                ..
            }) => Err(CoreError::DeleteMarker {
                key: key.as_str().to_owned(),
                version_id: marker.version_id().to_string(),
                by_version: true,
                last_modified: Some(marker.last_modified),
            }),
            None if !may_list => Err(denied()),
            None => Err(self.missing_version(&name, &key, version).await?),
        }
    }

    /// [`Self::owned_object`] of version `version` of the key, current or
    /// noncurrent, checked against `action` (the operation's version
    /// action, such as `s3:PutObjectVersionAcl`).
    ///
    /// # Errors
    /// As [`Self::owned_object`]; `DeleteMarker` (`by_version`) when the
    /// version is a delete marker, `VersionNotFound` when the key has no
    /// such version (`NotFound(Object)` when it has none).
    pub async fn owned_object_version(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        version: VersionId,
        action: S3Action,
    ) -> CoreResult<ObjectMeta> {
        let bucket = self
            .bucket(caller, bucket, Access::object(action, key))
            .await?;
        let key = ObjectKey::parse(key)?;
        match self
            .repo
            .get_object_version(&bucket.name, &key, version)
            .await?
        {
            Some(ListedVersion {
                version: ObjectVersion::Object(meta),
                ..
            }) => Ok(meta),
            Some(ListedVersion {
                version: ObjectVersion::DeleteMarker(marker),
                ..
            }) => Err(CoreError::DeleteMarker {
                key: key.as_str().to_owned(),
                version_id: marker.version_id().to_string(),
                by_version: true,
                last_modified: Some(marker.last_modified),
            }),
            None => Err(self.missing_version(&bucket.name, &key, version).await?),
        }
    }

    /// The refusal of a request naming `version` of `key`, which does not
    /// exist: `NoSuchVersion` when the key has other versions, `NoSuchKey`
    /// when it has none, as S3 answers. (Asked only on that miss.)
    pub(super) async fn missing_version(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: VersionId,
    ) -> CoreResult<CoreError> {
        let any = self
            .repo
            .list_versions(bucket, &KeyRange::exactly(key.as_str().as_bytes()), None, 1)
            .await?;
        Ok(if any.is_empty() {
            CoreError::not_found(Resource::Object, key.as_str())
        } else {
            CoreError::VersionNotFound {
                key: key.as_str().to_owned(),
                version_id: version.to_string(),
            }
        })
    }

    /// The delete marker that is `key`'s latest version, if it is one
    /// (asked only of a versioned bucket, when the key has no current
    /// version: what makes a GET's 404 say `x-amz-delete-marker: true`).
    pub(super) async fn latest_delete_marker(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> CoreResult<Option<DeleteMarker>> {
        let newest = self
            .repo
            .list_versions(bucket, &KeyRange::exactly(key.as_str().as_bytes()), None, 1)
            .await?;
        Ok(match newest.into_iter().next() {
            Some(ListedVersion {
                version: ObjectVersion::DeleteMarker(marker),
                ..
            }) => Some(marker),
            _ => None,
        })
    }

    /// One page of S3's ListObjectVersions: every version and delete
    /// marker, by key in byte order and newest first within a key, with
    /// common prefixes; the owner's, unless the policy denies it them, or
    /// another account's or an anonymous reader's when the policy grants
    /// it them ([`PublicAction::ListBucketVersions`]).
    ///
    /// # Errors
    /// As [`Self::list_objects`]; `InvalidInput` for a page size over the
    /// maximum.
    pub async fn list_versions(
        &self,
        reader: impl Into<Reader>,
        bucket: &str,
        input: &ListVersionsInput,
    ) -> CoreResult<VersionsPage> {
        if input.max_keys > MAX_LIST_KEYS {
            return Err(CoreError::invalid(format!(
                "max-keys may be at most {MAX_LIST_KEYS}"
            )));
        }
        let action = PublicAction::ListBucketVersions;
        let (bucket, _, _) = self
            .readable_bucket(&reader.into(), bucket, action, None)
            .await?;
        let prefix = input.prefix.as_bytes();
        let mut range = KeyRange {
            start: prefix.to_vec(),
            end: key_successor(prefix),
        };
        let mut after: Option<(ObjectKey, Option<i64>)> = None;
        if let Some(marker) = input.key_marker.as_deref().filter(|m| !m.is_empty()) {
            let key = ObjectKey::parse(marker).ok();
            let position = match (&key, input.version_id_marker) {
                (Some(key), Some(v)) => self
                    .repo
                    .get_object_version(&bucket.name, key, v)
                    .await?
                    .map(|found| found.seq),
                _ => None,
            };
            match (key, position) {
                (Some(key), Some(seq)) => after = Some((key, seq)),
                // After every version of the key marker (or, when it is a
                // common prefix of this listing, after everything under it).
                _ => {
                    let rolled_up = input
                        .delimiter
                        .as_deref()
                        .filter(|d| !d.is_empty())
                        .and_then(|d| {
                            let rest = marker.strip_prefix(input.prefix.as_str())?;
                            rest.ends_with(d).then(|| key_successor(marker.as_bytes()))
                        });
                    let past = match rolled_up {
                        Some(Some(next)) => next,
                        Some(None) => return Ok(empty_page(bucket.owner)),
                        None => listing::after(marker.as_bytes()),
                    };
                    if past > range.start {
                        range.start = past;
                    }
                }
            }
        }
        let mut page = empty_page(bucket.owner);
        if input.max_keys == 0 {
            return Ok(page);
        }
        let mut previous_key: Option<ObjectKey> = after.as_ref().map(|(k, _)| k.clone());
        let mut count = 0u32;
        let batch = (input.max_keys + 1).min(MAX_LIST_KEYS);
        'pages: loop {
            let rows = self
                .repo
                .list_versions(
                    &bucket.name,
                    &range,
                    after.as_ref().map(|(k, s)| (k, *s)),
                    batch,
                )
                .await?;
            let fetched = rows.len();
            for row in rows {
                let key = row.version.key().clone();
                if count == input.max_keys {
                    page.is_truncated = true;
                    break 'pages;
                }
                if let Some(delimiter) = input.delimiter.as_deref().filter(|d| !d.is_empty()) {
                    let rest = &key.as_str()[input.prefix.len()..];
                    if let Some(at) = rest.find(delimiter) {
                        let common =
                            key.as_str()[..input.prefix.len() + at + delimiter.len()].to_owned();
                        page.common_prefixes.push(common.clone());
                        count += 1;
                        page.next_key_marker = Some(common.clone());
                        page.next_version_id_marker = None;
                        // Past everything under the common prefix.
                        match key_successor(common.as_bytes()) {
                            Some(next) => range.start = next,
                            None => break 'pages,
                        }
                        after = None;
                        previous_key = None;
                        continue 'pages;
                    }
                }
                let is_latest = previous_key.as_ref() != Some(&key);
                previous_key = Some(key.clone());
                page.next_key_marker = Some(key.as_str().to_owned());
                page.next_version_id_marker = Some(row.version.version_id());
                after = Some((key, row.seq));
                page.entries.push(VersionEntry {
                    version: row.version,
                    is_latest,
                });
                count += 1;
            }
            if fetched < batch as usize {
                break;
            }
        }
        if !page.is_truncated {
            page.next_key_marker = None;
            page.next_version_id_marker = None;
        }
        Ok(page)
    }
}

fn empty_page(owner: UserId) -> VersionsPage {
    VersionsPage {
        entries: Vec::new(),
        common_prefixes: Vec::new(),
        is_truncated: false,
        next_key_marker: None,
        next_version_id_marker: None,
        owner,
    }
}

// The lifecycle sweep on a versioned (Enabled or Suspended) bucket, as S3
// does it
// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html>):
// an `Expiration` (Days or Date) of a current version inserts a delete
// marker (a `null` one when versioning is suspended, which replaces the
// `null` version), `NoncurrentVersionExpiration` removes noncurrent
// versions for good, and a delete marker left as its key's only version
// (an expired object delete marker) is removed under
// `ExpiredObjectDeleteMarker` or an `Expiration` in Days.
//
// Every change goes through a conditional repository call that checks,
// under the bucket's write lock, that what the sweep read still holds
// (the same current version with the same tags; enough newer noncurrent
// versions; a marker still alone), so a request racing the sweep wins.
// A version's row goes before its blob, as DeleteObject?versionId does:
// a crash in between leaves a file no row points to, which the start-up
// sweep removes, never a row without its bytes.

/// One key's versions as the sweep walks them, newest first (perhaps over
/// several pages).
struct KeyWalk {
    key: ObjectKey,
    /// Whether a version of the key was seen yet (the first is the latest).
    seen: bool,
    /// The latest version, when it is a delete marker: its `seq` and when
    /// it was inserted.
    latest_marker: Option<(i64, time::OffsetDateTime)>,
    /// Versions of the key still there after the sweep's own removals.
    left: usize,
    /// Noncurrent versions kept so far: those newer than the next one.
    newer: u32,
}

impl StorageService {
    /// [`Self::expire_objects`] on a versioned bucket: pages through the
    /// versions of each prefix a rule acting on versions covers (never the
    /// whole bucket in memory: one page, and one key's counts).
    pub(super) async fn expire_versions(
        &self,
        owner: UserId,
        bucket: &BucketName,
        lifecycle: &LifecycleConfiguration,
        now: time::OffsetDateTime,
        stop: StopRequested<'_>,
    ) -> CoreResult<ExpiredCount> {
        const PAGE: u32 = 1000;
        let mut done = ExpiredCount::default();
        for prefix in lifecycle.version_prefixes() {
            let range = KeyRange {
                start: prefix.as_bytes().to_vec(),
                end: key_successor(prefix.as_bytes()),
            };
            let mut after: Option<(ObjectKey, Option<i64>)> = None;
            let mut walk: Option<KeyWalk> = None;
            loop {
                if stop() {
                    return Ok(done);
                }
                // Resume after the last (key, seq) seen, not at an offset:
                // the removals below shift any offset, and a seq is never
                // reused.
                let page = self
                    .repo
                    .list_versions(bucket, &range, after.as_ref().map(|(k, s)| (k, *s)), PAGE)
                    .await?;
                for listed in &page {
                    if stop() {
                        return Ok(done);
                    }
                    let key = listed.version.key();
                    if walk.as_ref().is_none_or(|w| w.key != *key) {
                        if let Some(w) = walk.take() {
                            self.finish_key(owner, bucket, lifecycle, now, w, &mut done)
                                .await?;
                        }
                        walk = Some(KeyWalk {
                            key: key.clone(),
                            seen: false,
                            latest_marker: None,
                            left: 0,
                            newer: 0,
                        });
                    }
                    let Some(w) = walk.as_mut() else { continue };
                    let latest = !w.seen;
                    w.seen = true;
                    match (&listed.version, listed.seq) {
                        (ObjectVersion::Object(meta), None) => {
                            w.left += 1;
                            if !lifecycle.is_expired(meta, now) {
                                continue;
                            }
                            let marker = DeleteMarker {
                                id: ObjectId::new(),
                                bucket: bucket.clone(),
                                key: meta.key.clone(),
                                versioned: true,
                                last_modified: now_utc(),
                            };
                            if let Some(freed) = self
                                .repo
                                .expire_current_version(owner, &marker, meta.id, &meta.tags)
                                .await?
                            {
                                if let Some(blob) = freed {
                                    self.discard(blob).await;
                                }
                                done.objects += 1;
                                tracing::debug!(object_id = %meta.id, "current version expired by lifecycle: delete marker inserted");
                            }
                        }
                        (ObjectVersion::DeleteMarker(marker), Some(seq)) if latest => {
                            w.left += 1;
                            w.latest_marker = Some((seq, marker.last_modified));
                        }
                        (version, Some(seq)) => {
                            let untagged = Tags::default();
                            let (tags, size) = match version {
                                ObjectVersion::Object(m) => (&m.tags, m.size_bytes),
                                ObjectVersion::DeleteMarker(_) => (&untagged, 0),
                            };
                            let keep = listed.noncurrent_at.and_then(|at| {
                                lifecycle.noncurrent_expiry(
                                    key.as_str(),
                                    tags,
                                    size,
                                    at,
                                    w.newer,
                                    now,
                                )
                            });
                            let removed = match keep {
                                Some(keep) => {
                                    self.repo
                                        .expire_noncurrent_version(
                                            owner, bucket, key, seq, keep, tags,
                                        )
                                        .await?
                                }
                                None => None,
                            };
                            match removed {
                                Some(blob) => {
                                    if let Some(blob) = blob {
                                        self.discard(blob).await;
                                    }
                                    done.versions += 1;
                                    tracing::debug!(version = %version.version_id(), "noncurrent version expired by lifecycle");
                                }
                                None => {
                                    w.left += 1;
                                    w.newer += 1;
                                }
                            }
                        }
                        // A current row is never a delete marker.
                        (ObjectVersion::DeleteMarker(_), None) => {}
                    }
                }
                match page.last() {
                    Some(last) if page.len() == PAGE as usize => {
                        after = Some((last.version.key().clone(), last.seq));
                    }
                    _ => break,
                }
            }
            if let Some(w) = walk.take() {
                self.finish_key(owner, bucket, lifecycle, now, w, &mut done)
                    .await?;
            }
        }
        Ok(done)
    }

    /// The end of one key's walk: its latest version, a delete marker now
    /// left alone, goes when a rule removes expired object delete markers.
    async fn finish_key(
        &self,
        owner: UserId,
        bucket: &BucketName,
        lifecycle: &LifecycleConfiguration,
        now: time::OffsetDateTime,
        walk: KeyWalk,
        done: &mut ExpiredCount,
    ) -> CoreResult<()> {
        let Some((seq, created)) = walk.latest_marker else {
            return Ok(());
        };
        if walk.left != 1 || !lifecycle.removes_marker(walk.key.as_str(), created, now) {
            return Ok(());
        }
        if self
            .repo
            .remove_expired_delete_marker(owner, bucket, &walk.key, seq)
            .await?
        {
            done.versions += 1;
            tracing::debug!(key = %walk.key.as_str(), "expired object delete marker removed by lifecycle");
        }
        Ok(())
    }
}
