//! The bucket settings of the storage service — CORS, tags, lifecycle
//! (and what the lifecycle sweep asks of the service), policy, Block Public
//! Access — and the policy reads that let someone other than the owner in
//! ([`StorageService::public_grant`]). Split from `service.rs`, which keeps
//! buckets and objects; same `impl`, same rules.

use super::{
    BucketCors, BucketWebsite, StorageService, bucket_access_denied, owner_may, still_there,
    stored_policy,
};
use crate::error::{CoreError, CoreResult};
use crate::identity::{Caller, UserId};
use crate::lifecycle::ExpiredCount;
use crate::storage::cors::CorsConfiguration;
use crate::storage::domain::{Bucket, BucketName};
use crate::storage::lifecycle::LifecycleConfiguration;
use crate::storage::listing::{self, KeyRange, key_successor};
use crate::storage::object_lock::LockView;
use crate::storage::policy::{
    Access, BucketPolicy, PublicAccessBlock, PublicAction, PublicGrant, Reader, S3Action,
};
use crate::storage::ports::BucketLookup;
use crate::storage::tags::Tags;
use crate::storage::website::WebsiteConfiguration;
use crate::{Resource, StopRequested};

impl StorageService {
    /// The CORS configuration of the caller's bucket `name` (`None`: it
    /// has none).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn get_bucket_cors(
        &self,
        caller: Caller,
        name: &str,
    ) -> CoreResult<Option<CorsConfiguration>> {
        let bucket = self
            .bucket(caller, name, Access::bucket(S3Action::GetBucketCors))
            .await?;
        still_there(&bucket, self.repo.get_bucket_cors(&bucket.name).await?)
    }

    /// Replaces (`Some`) or removes (`None`) the CORS configuration of the
    /// caller's bucket `name`.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    #[tracing::instrument(skip(self, cors), fields(owner = %caller.user_id, rules = cors.map(|c| c.rules().len())))]
    pub async fn set_bucket_cors(
        &self,
        caller: Caller,
        name: &str,
        cors: Option<&CorsConfiguration>,
    ) -> CoreResult<()> {
        let bucket = self
            .bucket(caller, name, Access::bucket(S3Action::PutBucketCors))
            .await?;
        let written = self
            .repo
            .set_bucket_cors(caller.user_id, &bucket.name, cors)
            .await?;
        still_there(&bucket, written.then_some(()))?;
        tracing::info!(bucket = %bucket.name, "bucket CORS configuration set");
        Ok(())
    }

    /// The website configuration of the caller's bucket `name` (`None`:
    /// it has none).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn get_bucket_website(
        &self,
        caller: Caller,
        name: &str,
    ) -> CoreResult<Option<WebsiteConfiguration>> {
        let bucket = self
            .bucket(caller, name, Access::bucket(S3Action::GetBucketWebsite))
            .await?;
        still_there(&bucket, self.repo.get_bucket_website(&bucket.name).await?)
    }

    /// Replaces (`Some`, PutBucketWebsite) or removes (`None`,
    /// DeleteBucketWebsite) the website configuration of the caller's
    /// bucket `name`.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    #[tracing::instrument(skip(self, website), fields(owner = %caller.user_id, set = website.is_some()))]
    pub async fn set_bucket_website(
        &self,
        caller: Caller,
        name: &str,
        website: Option<&WebsiteConfiguration>,
    ) -> CoreResult<()> {
        let action = if website.is_some() {
            S3Action::PutBucketWebsite
        } else {
            S3Action::DeleteBucketWebsite
        };
        let bucket = self.bucket(caller, name, Access::bucket(action)).await?;
        let written = self
            .repo
            .set_bucket_website(caller.user_id, &bucket.name, website)
            .await?;
        still_there(&bucket, written.then_some(()))?;
        tracing::info!(bucket = %bucket.name, "bucket website configuration written");
        Ok(())
    }

    /// What bucket `name` says about its website, whoever owns it: the
    /// website endpoint's requests are anonymous, as on S3.
    ///
    /// # Errors
    /// Database failures.
    pub async fn bucket_website(&self, name: &str) -> CoreResult<BucketWebsite> {
        let Ok(name) = BucketName::parse(name) else {
            return Ok(BucketWebsite::NoBucket);
        };
        Ok(match self.repo.get_bucket_website(&name).await? {
            None => BucketWebsite::NoBucket,
            Some(None) => BucketWebsite::NotConfigured,
            Some(Some(website)) => BucketWebsite::Configured(website),
        })
    }

    /// The tag set of the caller's bucket `name`, in the order it was put
    /// (empty: it has none).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn get_bucket_tags(&self, caller: Caller, name: &str) -> CoreResult<Tags> {
        let bucket = self
            .bucket(caller, name, Access::bucket(S3Action::GetBucketTagging))
            .await?;
        still_there(&bucket, self.repo.get_bucket_tags(&bucket.name).await?)
    }

    /// Replaces the tag set of the caller's bucket `name`; an empty set
    /// removes it (PutBucketTagging with an empty `TagSet`, and
    /// DeleteBucketTagging).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    #[tracing::instrument(skip(self, tags), fields(owner = %caller.user_id, tags = tags.len()))]
    pub async fn set_bucket_tags(&self, caller: Caller, name: &str, tags: &Tags) -> CoreResult<()> {
        let bucket = self
            .bucket(caller, name, Access::bucket(S3Action::PutBucketTagging))
            .await?;
        let written = self
            .repo
            .set_bucket_tags(caller.user_id, &bucket.name, tags)
            .await?;
        still_there(&bucket, written.then_some(()))?;
        tracing::info!(bucket = %bucket.name, "bucket tags set");
        Ok(())
    }

    /// The lifecycle configuration of the caller's bucket `name` (`None`:
    /// it has none).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn get_bucket_lifecycle(
        &self,
        caller: Caller,
        name: &str,
    ) -> CoreResult<Option<LifecycleConfiguration>> {
        let bucket = self
            .bucket(
                caller,
                name,
                Access::bucket(S3Action::GetLifecycleConfiguration),
            )
            .await?;
        still_there(&bucket, self.repo.get_bucket_lifecycle(&bucket.name).await?)
    }

    /// Replaces (`Some`) or removes (`None`) the lifecycle configuration
    /// of the caller's bucket `name`. The lifecycle sweep enforces it.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    #[tracing::instrument(skip(self, lifecycle), fields(owner = %caller.user_id, rules = lifecycle.map(|c| c.rules().len())))]
    pub async fn set_bucket_lifecycle(
        &self,
        caller: Caller,
        name: &str,
        lifecycle: Option<&LifecycleConfiguration>,
    ) -> CoreResult<()> {
        let bucket = self
            .bucket(
                caller,
                name,
                Access::bucket(S3Action::PutLifecycleConfiguration),
            )
            .await?;
        let written = self
            .repo
            .set_bucket_lifecycle(caller.user_id, &bucket.name, lifecycle)
            .await?;
        still_there(&bucket, written.then_some(()))?;
        tracing::info!(bucket = %bucket.name, "bucket lifecycle configuration set");
        Ok(())
    }

    /// Up to `limit` buckets with a lifecycle configuration, by name,
    /// after `after` (for the lifecycle sweep); `None` for a stored
    /// configuration that does not decode (see
    /// [`StorageRepo::lifecycle_buckets`](crate::storage::StorageRepo::lifecycle_buckets)).
    ///
    /// # Errors
    /// Database failures.
    pub async fn lifecycle_buckets(
        &self,
        after: Option<&BucketName>,
        limit: u32,
    ) -> CoreResult<Vec<(Bucket, Option<LifecycleConfiguration>)>> {
        self.repo.lifecycle_buckets(after, limit).await
    }

    /// Expires what `lifecycle` expires at `now` in `bucket`, and returns
    /// how much. In a bucket never versioned, deletes the objects due, row
    /// and blob as a DeleteObject does; in a versioned one, see
    /// [`Self::expire_versions`] (delete markers for current versions due,
    /// noncurrent versions and expired delete markers removed for good).
    /// It pages through the ordered listing of each prefix a rule covers,
    /// and changes a key only while it is still the version that was looked
    /// at (a write or retag in between keeps the key) and the bucket is
    /// still `bucket.owner`'s with a configuration, in the versioning state
    /// the sweep read: one deleted and created again by another account
    /// since `bucket` was read keeps its objects, and one whose versioning
    /// was enabled meanwhile is left for the next sweep. `stop` is asked
    /// before each change (row, then blob: one step); once it answers
    /// `true` this returns what it did.
    ///
    /// # Errors
    /// Database failures (what was done before stays done).
    #[tracing::instrument(skip(self, bucket, lifecycle, stop), fields(bucket = %bucket.name))]
    pub async fn expire_objects(
        &self,
        bucket: &Bucket,
        lifecycle: &LifecycleConfiguration,
        now: time::OffsetDateTime,
        stop: StopRequested<'_>,
    ) -> CoreResult<ExpiredCount> {
        const PAGE: u32 = 1000;
        let (owner, bucket) = (bucket.owner, &bucket.name);
        match self.repo.lookup_bucket(bucket).await? {
            Some(found) if found.bucket.owner == owner => {
                if found.versioning.is_versioned() {
                    return self
                        .expire_versions(owner, bucket, lifecycle, now, stop)
                        .await;
                }
            }
            _ => return Ok(ExpiredCount::default()),
        }
        let mut expired = 0;
        for prefix in lifecycle.expiration_prefixes() {
            let mut range = KeyRange {
                start: prefix.as_bytes().to_vec(),
                end: key_successor(prefix.as_bytes()),
            };
            loop {
                // Also between pages: a bucket with nothing due may be long.
                if stop() {
                    return Ok(ExpiredCount {
                        objects: expired,
                        versions: 0,
                    });
                }
                let page = self.repo.list_objects(bucket, &range, PAGE).await?;
                for meta in page.iter().filter(|m| lifecycle.is_expired(*m, now)) {
                    if stop() {
                        return Ok(ExpiredCount {
                            objects: expired,
                            versions: 0,
                        });
                    }
                    if let Some(blob) = self
                        .repo
                        .delete_object_if(owner, bucket, &meta.key, meta.id, &meta.tags)
                        .await?
                    {
                        self.discard(blob).await;
                        expired += 1;
                        tracing::debug!(object_id = %meta.id, "object expired by lifecycle");
                    }
                }
                match page.last() {
                    Some(last) if page.len() == PAGE as usize => {
                        // Resume just past the last key seen, not at an
                        // offset: the deletes above shift any offset.
                        range.start = listing::after(last.key.as_str().as_bytes());
                    }
                    _ => break,
                }
            }
        }
        Ok(ExpiredCount {
            objects: expired,
            versions: 0,
        })
    }

    /// What bucket `name` says about CORS, whoever owns it: CORS is
    /// answered before (and regardless of) authentication, as on S3.
    ///
    /// # Errors
    /// Database failures.
    pub async fn bucket_cors(&self, name: &str) -> CoreResult<BucketCors> {
        let Ok(name) = BucketName::parse(name) else {
            return Ok(BucketCors::NoBucket);
        };
        Ok(match self.repo.get_bucket_cors(&name).await? {
            None => BucketCors::NoBucket,
            Some(None) => BucketCors::NotConfigured,
            Some(Some(cors)) => BucketCors::Configured(cors),
        })
    }

    /// The bucket `name` as `reader` may read it for `action` (on `key`,
    /// for an object read; `None` for [`PublicAction::ListBucket`]): the
    /// owner's own bucket (unless its policy denies them `action`), or exactly the bucket, key and action a public
    /// grant was given for, still owned by the same account. A
    /// [`Reader::Signed`] caller reads their own bucket as its owner and
    /// another account's through the grant its policy gives everyone or
    /// them. The grant comes back when it is what let the read in, and the
    /// bucket's lifecycle configuration always (S3 tells any reader when an
    /// object expires); both come with the bucket's row, in its one lookup.
    pub(super) async fn readable_bucket(
        &self,
        reader: &Reader,
        name: &str,
        action: PublicAction,
        key: Option<&str>,
    ) -> CoreResult<(Bucket, Option<PublicGrant>, Option<LifecycleConfiguration>)> {
        let owner_access = match key {
            Some(key) => Access::object(action.action(), key),
            None => Access::bucket(action.action()),
        };
        let grant = match reader {
            Reader::Owner(caller) => {
                let (bucket, lifecycle) = self
                    .bucket_with_lifecycle(*caller, name, owner_access)
                    .await?;
                return Ok((bucket, None, lifecycle));
            }
            Reader::Signed(caller) => {
                let bucket_name = BucketName::parse(name)?;
                let found = match self.repo.lookup_bucket(&bucket_name).await? {
                    None => {
                        return Err(CoreError::not_found(Resource::Bucket, bucket_name.as_str()));
                    }
                    Some(found) if found.bucket.owner == caller.user_id => {
                        let b = found.bucket;
                        let policy = found.policy.and_then(|doc| stored_policy(&b.name, &doc));
                        owner_may(&b, policy.as_ref(), *caller, &owner_access)?;
                        return Ok((b, None, found.lifecycle));
                    }
                    Some(found) => found,
                };
                return self.granted_to_other(*caller, found, action, key).await;
            }
            Reader::Public(grant) => grant,
        };
        let denied = || CoreError::Forbidden("Access Denied".into());
        if grant.bucket != name || grant.action != action || grant.key.as_deref() != key {
            return Err(denied());
        }
        let name = BucketName::parse(name)?;
        match self.repo.get_bucket_with_lifecycle(&name).await? {
            Some((b, lifecycle)) if b.owner == grant.owner => {
                Ok((b, Some(grant.clone()), lifecycle))
            }
            _ => Err(denied()),
        }
    }

    /// Another account's bucket, as [`Self::lookup_bucket`] found it, read
    /// by `caller`: only what its policy grants everyone or this caller,
    /// checked as for an anonymous caller.
    ///
    /// # Errors
    /// `Forbidden` without a grant; database failures.
    pub(super) async fn granted_to_other(
        &self,
        caller: Caller,
        found: BucketLookup,
        action: PublicAction,
        key: Option<&str>,
    ) -> CoreResult<(Bucket, Option<PublicGrant>, Option<LifecycleConfiguration>)> {
        let name = found.bucket.name.clone();
        match self
            .public_grant(Some(caller.user_id), name.as_str(), action, key)
            .await?
        {
            Some(grant) if grant.owner == found.bucket.owner => {
                Ok((found.bucket, Some(grant), found.lifecycle))
            }
            _ => Err(bucket_access_denied(&name)),
        }
    }

    /// Whether the policy of bucket `bucket` lets `who` — an anonymous
    /// caller (`None`), or a signed caller of another account — perform `action`
    /// (on `key`, for an object read: [`PublicAction::on_object`]): the
    /// bucket exists, its policy has an `Allow` naming `who` (everyone, or
    /// that user) that matches each IAM action `action` needs and no `Deny`
    /// naming `who` that does, and — if the policy is public
    /// ([`BucketPolicy::is_public`]) — the bucket's Block Public Access
    /// setting `RestrictPublicBuckets` is off (or the settings were
    /// deleted). S3 restricts only buckets with a public policy, and then
    /// every cross-account grant in it, "including non-public delegation to
    /// specific accounts"
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html>);
    /// a policy that names only users keeps granting them with all four
    /// settings on. `None` otherwise; a stored policy that no longer
    /// validates grants nothing.
    ///
    /// # Errors
    /// Database failures.
    pub async fn public_grant(
        &self,
        who: Option<UserId>,
        bucket: &str,
        action: PublicAction,
        key: Option<&str>,
    ) -> CoreResult<Option<PublicGrant>> {
        let Ok(name) = BucketName::parse(bucket) else {
            return Ok(None);
        };
        let key = match (action.on_object(), key) {
            (true, Some(key)) => Some(key),
            (false, None) => None,
            _ => return Ok(None),
        };
        let Some(access) = self.repo.get_bucket_access(&name).await? else {
            return Ok(None);
        };
        let Some(document) = access.policy else {
            return Ok(None);
        };
        let policy = match BucketPolicy::from_stored(name.as_str(), &document) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(bucket = %name, error = %e, "a stored bucket policy does not validate; it grants nothing");
                return Ok(None);
            }
        };
        let restricted = access
            .public_access_block
            .is_some_and(|b| b.restrict_public_buckets);
        if (restricted && policy.is_public())
            || !policy.grants(who, action, name.as_str(), key.unwrap_or(""))
        {
            return Ok(None);
        }
        let may_list = policy.grants(who, PublicAction::ListBucket, name.as_str(), "");
        // A copy takes the source's tags along only if the reader may read
        // them: `s3:GetObjectVersionTagging` for a version named, as S3
        // checks it.
        let tag_read = if action == PublicAction::GetObjectVersion {
            PublicAction::GetObjectVersionTagging
        } else {
            PublicAction::GetObjectTagging
        };
        let may_read_tags = key.is_some_and(|k| policy.grants(who, tag_read, name.as_str(), k));
        let holds =
            |action| key.is_some_and(|k| policy.grants_on_object(who, action, name.as_str(), k));
        let lock_view = LockView {
            retention: holds(S3Action::GetObjectRetention),
            legal_hold: holds(S3Action::GetObjectLegalHold),
        };
        Ok(Some(PublicGrant {
            bucket: name.as_str().to_owned(),
            owner: access.owner,
            action,
            key: key.map(str::to_owned),
            may_list,
            may_read_tags,
            lock_view,
        }))
    }

    /// The policy document of the caller's bucket `name` (`None`: it has
    /// none).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn get_bucket_policy(
        &self,
        caller: Caller,
        name: &str,
    ) -> CoreResult<Option<String>> {
        let bucket = self
            .bucket(caller, name, Access::bucket(S3Action::GetBucketPolicy))
            .await?;
        match self.repo.get_bucket_access(&bucket.name).await? {
            Some(access) => Ok(access.policy),
            None => Err(CoreError::not_found(Resource::Bucket, bucket.name.as_str())),
        }
    }

    /// Whether the policy of the caller's bucket `name` is public
    /// ([`BucketPolicy::is_public`]: GetBucketPolicyStatus's `IsPublic`);
    /// `None`: it has no policy. The policy alone decides, as on S3 (the
    /// Block Public Access settings say what is done with a public one).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn get_bucket_policy_status(
        &self,
        caller: Caller,
        name: &str,
    ) -> CoreResult<Option<bool>> {
        let bucket = self
            .bucket(
                caller,
                name,
                Access::bucket(S3Action::GetBucketPolicyStatus),
            )
            .await?;
        let access = self
            .repo
            .get_bucket_access(&bucket.name)
            .await?
            .ok_or_else(|| CoreError::not_found(Resource::Bucket, bucket.name.as_str()))?;
        Ok(access.policy.map(|document| {
            // A stored policy that no longer validates grants nothing.
            stored_policy(&bucket.name, &document).is_some_and(|p| p.is_public())
        }))
    }

    /// Sets the policy of the caller's bucket `name` (validated by the
    /// caller with [`BucketPolicy::parse`] against this bucket's name), or
    /// removes it (`None`). A public policy is refused while the bucket's
    /// `BlockPublicPolicy` setting is on.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name or a policy parsed for another
    /// bucket, `NotFound(Bucket)`, `Forbidden` (someone else's bucket, or
    /// public policies blocked, with S3's message).
    #[tracing::instrument(skip(self, policy), fields(owner = %caller.user_id))]
    pub async fn set_bucket_policy(
        &self,
        caller: Caller,
        name: &str,
        policy: Option<&BucketPolicy>,
    ) -> CoreResult<()> {
        // Never denied to the owner (see `BucketPolicy::denies_owner`).
        let action = if policy.is_some() {
            S3Action::PutBucketPolicy
        } else {
            S3Action::DeleteBucketPolicy
        };
        let bucket = self.bucket(caller, name, Access::bucket(action)).await?;
        if let Some(policy) = policy {
            // The caller parsed it for a bucket name; make sure it is this one.
            BucketPolicy::parse(bucket.name.as_str(), policy.document())
                .map_err(|e| CoreError::invalid(e.0))?;
            let access = self
                .repo
                .get_bucket_access(&bucket.name)
                .await?
                .ok_or_else(|| CoreError::not_found(Resource::Bucket, bucket.name.as_str()))?;
            if policy.is_public()
                && access
                    .public_access_block
                    .is_some_and(|b| b.block_public_policy)
            {
                return Err(CoreError::Forbidden(format!(
                    "User: {} is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::{}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
                    caller.user_id, bucket.name
                )));
            }
        }
        if self
            .repo
            .set_bucket_policy(
                caller.user_id,
                &bucket.name,
                policy.map(BucketPolicy::document),
            )
            .await?
        {
            tracing::info!(bucket = %bucket.name, set = policy.is_some(), "bucket policy written");
            Ok(())
        } else {
            Err(CoreError::not_found(Resource::Bucket, bucket.name.as_str()))
        }
    }

    /// The Block Public Access settings of the caller's bucket `name`
    /// (`None`: deleted).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn get_public_access_block(
        &self,
        caller: Caller,
        name: &str,
    ) -> CoreResult<Option<PublicAccessBlock>> {
        let bucket = self
            .bucket(
                caller,
                name,
                Access::bucket(S3Action::GetBucketPublicAccessBlock),
            )
            .await?;
        match self.repo.get_bucket_access(&bucket.name).await? {
            Some(access) => Ok(access.public_access_block),
            None => Err(CoreError::not_found(Resource::Bucket, bucket.name.as_str())),
        }
    }

    /// Replaces (`Some`) or deletes (`None`) the Block Public Access
    /// settings of the caller's bucket `name`.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    #[tracing::instrument(skip(self), fields(owner = %caller.user_id))]
    pub async fn set_public_access_block(
        &self,
        caller: Caller,
        name: &str,
        block: Option<&PublicAccessBlock>,
    ) -> CoreResult<()> {
        let bucket = self
            .bucket(
                caller,
                name,
                Access::bucket(S3Action::PutBucketPublicAccessBlock),
            )
            .await?;
        if self
            .repo
            .set_public_access_block(caller.user_id, &bucket.name, block)
            .await?
        {
            tracing::info!(bucket = %bucket.name, ?block, "block public access settings written");
            Ok(())
        } else {
            Err(CoreError::not_found(Resource::Bucket, bucket.name.as_str()))
        }
    }
}
