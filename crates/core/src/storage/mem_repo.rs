//! An in-memory [`StorageRepo`] for the unit tests of the storage and
//! multipart services (one fake, so both test the same behaviour).

use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::{
    BlobId, Bucket, BucketAccess, BucketLookup, BucketName, CorsConfiguration, KeyRange,
    LifecycleConfiguration, NameRange, ObjectId, ObjectKey, ObjectMeta, ObjectSummary, ObjectWrite,
    PublicAccessBlock, StorageRepo, Tags, WebsiteConfiguration, WriteCondition,
};
use crate::Resource;
use crate::error::{ConflictKind, CoreError, CoreResult};
use crate::identity::UserId;

/// A bucket's policy document and Block Public Access settings.
type Access = (Option<String>, Option<PublicAccessBlock>);

/// Buckets and object metadata held in maps, with the owner checks and
/// write conditions of the real repositories; `batches` records every group
/// commit and `gate` can hold one back.
#[derive(Default)]
pub(crate) struct MemRepo {
    pub(crate) buckets: Mutex<BTreeMap<String, Bucket>>,
    /// (bucket, key bytes) → meta
    pub(crate) objects: Mutex<BTreeMap<(String, Vec<u8>), ObjectMeta>>,
    /// bucket → its CORS configuration.
    pub(crate) cors: Mutex<BTreeMap<String, CorsConfiguration>>,
    /// bucket → its website configuration.
    pub(crate) website: Mutex<BTreeMap<String, WebsiteConfiguration>>,
    /// bucket → its tag set (never empty).
    pub(crate) bucket_tags: Mutex<BTreeMap<String, Tags>>,
    /// bucket → its lifecycle configuration.
    pub(crate) lifecycle: Mutex<BTreeMap<String, LifecycleConfiguration>>,
    /// Buckets whose stored lifecycle configuration no longer decodes (a
    /// row damaged behind the server's back): the sweep's listing gives
    /// them without one and a read of it fails, as the real repositories do.
    pub(crate) undecodable_lifecycle: Mutex<BTreeSet<String>>,
    /// bucket → its policy and Block Public Access settings, once written.
    pub(crate) access: Mutex<BTreeMap<String, Access>>,
    /// Blobs that multipart parts hold, for the sweep's tests (the
    /// multipart tests' repository keeps its parts itself).
    pub(crate) part_blobs: Mutex<Vec<BlobId>>,
    /// When set, the sweep's scans hand each page back in descending
    /// order (a database that sorts differently).
    pub(crate) descending_scans: Mutex<bool>,
    /// The size of every group commit, in order.
    pub(crate) batches: Mutex<Vec<usize>>,
    /// When set, a group commit waits for a permit before it applies.
    pub(crate) gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
    /// When set, an object write's answer is lost (an unknown outcome)
    /// after it applied (`true`) or before (`false`).
    pub(crate) lose_answers: Mutex<Option<bool>>,
}

impl MemRepo {
    /// [`StorageRepo::put_object_if`], synchronously: the in-memory
    /// multipart repository applies a completion's write through it while
    /// it holds its own lock, so that the write and the upload's removal
    /// are one step, as in the real repositories' transaction.
    pub(crate) fn apply_write(
        &self,
        owner: UserId,
        meta: &ObjectMeta,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>> {
        let lost = *self.lose_answers.lock().unwrap();
        let lost_answer = || {
            CoreError::unavailable_outcome_unknown(
                crate::error::Dependency::Database,
                "the connection broke",
            )
        };
        if lost == Some(false) {
            return Err(lost_answer());
        }
        let mut objects = self.objects.lock().unwrap();
        let buckets = self.buckets.lock().unwrap();
        if buckets
            .get(meta.bucket.as_str())
            .is_none_or(|b| b.owner != owner)
        {
            return Err(CoreError::not_found(Resource::Bucket, meta.bucket.as_str()));
        }
        let k = (
            meta.bucket.as_str().to_owned(),
            meta.key.as_str().as_bytes().to_vec(),
        );
        condition.check(
            meta.bucket.as_str(),
            meta.key.as_str(),
            objects.get(&k).map(|m| &m.etag),
        )?;
        let replaced = objects.insert(k, meta.clone()).map(|old| old.blob_id);
        if lost == Some(true) {
            return Err(lost_answer());
        }
        Ok(replaced)
    }
}

#[async_trait]
impl StorageRepo for MemRepo {
    async fn create_bucket(
        &self,
        bucket: &Bucket,
        tags: &Tags,
        lock: Option<&crate::storage::ObjectLockConfig>,
    ) -> CoreResult<()> {
        if lock.is_some() {
            // Object Lock needs versions, which this fake does not keep.
            return Err(crate::CoreError::internal_msg(
                "the in-memory repository keeps no versions, so no Object Lock",
            ));
        }
        let mut b = self.buckets.lock().unwrap();
        if b.contains_key(bucket.name.as_str()) {
            return Err(CoreError::conflict(ConflictKind::AlreadyExists, "taken"));
        }
        b.insert(bucket.name.as_str().to_owned(), bucket.clone());
        if !tags.is_empty() {
            let mut all = self.bucket_tags.lock().unwrap();
            all.insert(bucket.name.as_str().to_owned(), tags.clone());
        }
        Ok(())
    }
    async fn get_bucket(&self, name: &BucketName) -> CoreResult<Option<Bucket>> {
        Ok(self.buckets.lock().unwrap().get(name.as_str()).cloned())
    }
    async fn lookup_bucket(&self, name: &BucketName) -> CoreResult<Option<BucketLookup>> {
        let Some(bucket) = self.buckets.lock().unwrap().get(name.as_str()).cloned() else {
            return Ok(None);
        };
        let policy = self
            .access
            .lock()
            .unwrap()
            .get(name.as_str())
            .and_then(|(policy, _)| policy.clone());
        let lifecycle = self.lifecycle.lock().unwrap().get(name.as_str()).cloned();
        Ok(Some(BucketLookup {
            bucket,
            policy,
            lifecycle,
            versioning: crate::storage::Versioning::Unversioned,
            object_lock: None,
        }))
    }
    async fn get_bucket_with_lifecycle(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<(Bucket, Option<LifecycleConfiguration>)>> {
        Ok(self
            .lookup_bucket(name)
            .await?
            .map(|found| (found.bucket, found.lifecycle)))
    }
    async fn list_buckets(
        &self,
        owner: UserId,
        range: &NameRange,
        limit: u32,
    ) -> CoreResult<Vec<Bucket>> {
        // The map is keyed by name, so values come in byte order.
        Ok(self
            .buckets
            .lock()
            .unwrap()
            .values()
            .filter(|b| b.owner == owner && range.contains(b.name.as_str()))
            .take(limit as usize)
            .cloned()
            .collect())
    }
    async fn delete_bucket(&self, owner: UserId, name: &BucketName) -> CoreResult<Vec<BlobId>> {
        let objects = self.objects.lock().unwrap();
        let mut buckets = self.buckets.lock().unwrap();
        match buckets.get(name.as_str()) {
            Some(b) if b.owner == owner => {}
            _ => return Err(CoreError::not_found(Resource::Bucket, name.as_str())),
        }
        if objects.keys().any(|(b, _)| b == name.as_str()) {
            return Err(CoreError::conflict(
                ConflictKind::BucketNotEmpty,
                "not empty",
            ));
        }
        buckets.remove(name.as_str());
        self.cors.lock().unwrap().remove(name.as_str());
        self.website.lock().unwrap().remove(name.as_str());
        self.bucket_tags.lock().unwrap().remove(name.as_str());
        self.lifecycle.lock().unwrap().remove(name.as_str());
        self.undecodable_lifecycle
            .lock()
            .unwrap()
            .remove(name.as_str());
        self.access.lock().unwrap().remove(name.as_str());
        // No multipart uploads here: they live in the multipart repository.
        Ok(Vec::new())
    }
    async fn get_bucket_access(&self, name: &BucketName) -> CoreResult<Option<BucketAccess>> {
        let Some(owner) = self
            .buckets
            .lock()
            .unwrap()
            .get(name.as_str())
            .map(|b| b.owner)
        else {
            return Ok(None);
        };
        let (policy, public_access_block) = self
            .access
            .lock()
            .unwrap()
            .get(name.as_str())
            .cloned()
            .unwrap_or((None, Some(PublicAccessBlock::default())));
        Ok(Some(BucketAccess {
            owner,
            policy,
            public_access_block,
        }))
    }
    async fn set_bucket_policy(
        &self,
        owner: UserId,
        name: &BucketName,
        policy: Option<&str>,
    ) -> CoreResult<bool> {
        match self.buckets.lock().unwrap().get(name.as_str()) {
            Some(b) if b.owner == owner => {}
            _ => return Ok(false),
        }
        let mut all = self.access.lock().unwrap();
        let entry = all
            .entry(name.as_str().to_owned())
            .or_insert((None, Some(PublicAccessBlock::default())));
        entry.0 = policy.map(str::to_owned);
        Ok(true)
    }
    async fn set_public_access_block(
        &self,
        owner: UserId,
        name: &BucketName,
        block: Option<&PublicAccessBlock>,
    ) -> CoreResult<bool> {
        match self.buckets.lock().unwrap().get(name.as_str()) {
            Some(b) if b.owner == owner => {}
            _ => return Ok(false),
        }
        let mut all = self.access.lock().unwrap();
        let entry = all
            .entry(name.as_str().to_owned())
            .or_insert((None, Some(PublicAccessBlock::default())));
        entry.1 = block.copied();
        Ok(true)
    }
    async fn get_bucket_tags(&self, name: &BucketName) -> CoreResult<Option<Tags>> {
        if !self.buckets.lock().unwrap().contains_key(name.as_str()) {
            return Ok(None);
        }
        Ok(Some(
            self.bucket_tags
                .lock()
                .unwrap()
                .get(name.as_str())
                .cloned()
                .unwrap_or_default(),
        ))
    }
    async fn set_bucket_tags(
        &self,
        owner: UserId,
        name: &BucketName,
        tags: &Tags,
    ) -> CoreResult<bool> {
        match self.buckets.lock().unwrap().get(name.as_str()) {
            Some(b) if b.owner == owner => {}
            _ => return Ok(false),
        }
        let mut all = self.bucket_tags.lock().unwrap();
        if tags.is_empty() {
            all.remove(name.as_str());
        } else {
            all.insert(name.as_str().to_owned(), tags.clone());
        }
        Ok(true)
    }
    async fn get_bucket_cors(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<CorsConfiguration>>> {
        if !self.buckets.lock().unwrap().contains_key(name.as_str()) {
            return Ok(None);
        }
        Ok(Some(self.cors.lock().unwrap().get(name.as_str()).cloned()))
    }
    async fn set_bucket_cors(
        &self,
        owner: UserId,
        name: &BucketName,
        cors: Option<&CorsConfiguration>,
    ) -> CoreResult<bool> {
        match self.buckets.lock().unwrap().get(name.as_str()) {
            Some(b) if b.owner == owner => {}
            _ => return Ok(false),
        }
        let mut all = self.cors.lock().unwrap();
        match cors {
            Some(c) => all.insert(name.as_str().to_owned(), c.clone()),
            None => all.remove(name.as_str()),
        };
        Ok(true)
    }
    async fn get_bucket_website(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<WebsiteConfiguration>>> {
        if !self.buckets.lock().unwrap().contains_key(name.as_str()) {
            return Ok(None);
        }
        Ok(Some(
            self.website.lock().unwrap().get(name.as_str()).cloned(),
        ))
    }
    async fn set_bucket_website(
        &self,
        owner: UserId,
        name: &BucketName,
        website: Option<&WebsiteConfiguration>,
    ) -> CoreResult<bool> {
        match self.buckets.lock().unwrap().get(name.as_str()) {
            Some(b) if b.owner == owner => {}
            _ => return Ok(false),
        }
        let mut all = self.website.lock().unwrap();
        match website {
            Some(w) => all.insert(name.as_str().to_owned(), w.clone()),
            None => all.remove(name.as_str()),
        };
        Ok(true)
    }
    async fn get_bucket_lifecycle(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<LifecycleConfiguration>>> {
        if !self.buckets.lock().unwrap().contains_key(name.as_str()) {
            return Ok(None);
        }
        if self
            .undecodable_lifecycle
            .lock()
            .unwrap()
            .contains(name.as_str())
        {
            return Err(CoreError::internal_msg(
                "a stored lifecycle configuration does not decode",
            ));
        }
        Ok(Some(
            self.lifecycle.lock().unwrap().get(name.as_str()).cloned(),
        ))
    }
    async fn set_bucket_lifecycle(
        &self,
        owner: UserId,
        name: &BucketName,
        lifecycle: Option<&LifecycleConfiguration>,
    ) -> CoreResult<bool> {
        match self.buckets.lock().unwrap().get(name.as_str()) {
            Some(b) if b.owner == owner => {}
            _ => return Ok(false),
        }
        self.undecodable_lifecycle
            .lock()
            .unwrap()
            .remove(name.as_str());
        let mut all = self.lifecycle.lock().unwrap();
        match lifecycle {
            Some(c) => all.insert(name.as_str().to_owned(), c.clone()),
            None => all.remove(name.as_str()),
        };
        Ok(true)
    }
    async fn lifecycle_buckets(
        &self,
        after: Option<&BucketName>,
        limit: u32,
    ) -> CoreResult<Vec<(Bucket, Option<LifecycleConfiguration>)>> {
        let buckets = self.buckets.lock().unwrap();
        let mut stored: BTreeMap<String, Option<LifecycleConfiguration>> = self
            .lifecycle
            .lock()
            .unwrap()
            .iter()
            .map(|(name, c)| (name.clone(), Some(c.clone())))
            .collect();
        for name in self.undecodable_lifecycle.lock().unwrap().iter() {
            stored.insert(name.clone(), None);
        }
        Ok(stored
            .into_iter()
            .filter(|(name, _)| after.is_none_or(|a| name.as_str() > a.as_str()))
            .take(limit as usize)
            .filter_map(|(name, c)| Some((buckets.get(&name)?.clone(), c)))
            .collect())
    }
    async fn delete_object_if(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        id: ObjectId,
        tags: &Tags,
    ) -> CoreResult<Option<BlobId>> {
        let k = (bucket.as_str().to_owned(), key.as_str().as_bytes().to_vec());
        let mut objects = self.objects.lock().unwrap();
        let buckets = self.buckets.lock().unwrap();
        let still_swept = buckets
            .get(bucket.as_str())
            .is_some_and(|b| b.owner == owner)
            && self.lifecycle.lock().unwrap().contains_key(bucket.as_str());
        if !still_swept {
            return Ok(None);
        }
        match objects.get(&k) {
            Some(m) if m.id == id && m.tags == *tags => Ok(objects.remove(&k).map(|m| m.blob_id)),
            _ => Ok(None),
        }
    }
    async fn get_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> CoreResult<Option<ObjectMeta>> {
        let k = (bucket.as_str().to_owned(), key.as_str().as_bytes().to_vec());
        Ok(self.objects.lock().unwrap().get(&k).cloned())
    }
    async fn put_object_if(
        &self,
        owner: UserId,
        meta: &ObjectMeta,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>> {
        self.apply_write(owner, meta, condition)
    }
    async fn put_objects(&self, items: &[ObjectWrite]) -> Vec<CoreResult<Option<BlobId>>> {
        self.batches.lock().unwrap().push(items.len());
        let gate = self.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            let _permit = gate.acquire().await.unwrap();
        }
        let mut results = Vec::new();
        for w in items {
            results.push(self.put_object_if(w.owner, &w.meta, &w.condition).await);
        }
        results
    }
    async fn set_object_tags(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        tags: &Tags,
    ) -> CoreResult<Option<(ObjectId, bool)>> {
        let mut objects = self.objects.lock().unwrap();
        let owned = self
            .buckets
            .lock()
            .unwrap()
            .get(bucket.as_str())
            .is_some_and(|b| b.owner == owner);
        let k = (bucket.as_str().to_owned(), key.as_str().as_bytes().to_vec());
        Ok(match objects.get_mut(&k) {
            Some(meta) if owned => {
                meta.tags = tags.clone();
                Some((meta.id, meta.versioned))
            }
            _ => None,
        })
    }
    async fn delete_object_where(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>> {
        let k = (bucket.as_str().to_owned(), key.as_str().as_bytes().to_vec());
        let mut objects = self.objects.lock().unwrap();
        condition.check(
            bucket.as_str(),
            key.as_str(),
            objects.get(&k).map(|m| &m.etag),
        )?;
        Ok(objects.remove(&k).map(|m| m.blob_id))
    }
    async fn list_objects(
        &self,
        bucket: &BucketName,
        range: &KeyRange,
        limit: u32,
    ) -> CoreResult<Vec<ObjectSummary>> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|((b, k), _)| b == bucket.as_str() && range.contains(k))
            .take(limit as usize)
            .map(|(_, m)| m.clone().into())
            .collect())
    }
    async fn object_blobs_after(
        &self,
        after: Option<BlobId>,
        limit: u32,
    ) -> CoreResult<Vec<BlobId>> {
        let mut all: Vec<BlobId> = self
            .objects
            .lock()
            .unwrap()
            .values()
            .map(|m| m.blob_id)
            .filter(|b| after.is_none_or(|a| b.as_uuid() > a.as_uuid()))
            .collect();
        all.sort_by_key(BlobId::as_uuid);
        all.truncate(limit as usize);
        if *self.descending_scans.lock().unwrap() {
            all.reverse();
        }
        Ok(all)
    }
    async fn objects_of_blobs(
        &self,
        blobs: &[BlobId],
    ) -> CoreResult<Vec<(BlobId, String, String)>> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .values()
            .filter(|m| blobs.contains(&m.blob_id))
            .map(|m| {
                (
                    m.blob_id,
                    m.bucket.as_str().to_owned(),
                    m.key.as_str().to_owned(),
                )
            })
            .collect())
    }
    async fn part_blobs_after(&self, after: Option<BlobId>, limit: u32) -> CoreResult<Vec<BlobId>> {
        let mut all: Vec<BlobId> = self
            .part_blobs
            .lock()
            .unwrap()
            .iter()
            .filter(|b| after.is_none_or(|a| b.as_uuid() > a.as_uuid()))
            .copied()
            .collect();
        all.sort_by_key(BlobId::as_uuid);
        all.dedup();
        all.truncate(limit as usize);
        if *self.descending_scans.lock().unwrap() {
            all.reverse();
        }
        Ok(all)
    }
}
