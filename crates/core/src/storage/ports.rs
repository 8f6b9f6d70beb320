//! The ports storage needs: metadata in a database, bytes in a blob store.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use super::cors::CorsConfiguration;
use super::domain::{
    Bucket, BucketName, DeleteMarker, ListedVersion, ObjectId, ObjectKey, ObjectMeta,
    ObjectSummary, ObjectVersion, VersionId, Versioning, WriteCondition,
};
use super::lifecycle::LifecycleConfiguration;
use super::listing::{KeyRange, NameRange};
use super::object_lock::{LockChange, ObjectLockConfig, VersionLock};
use super::policy::{BucketAccess, PublicAccessBlock};
use super::range::ByteRange;
use super::tags::Tags;
use super::website::WebsiteConfiguration;
use crate::error::{CoreError, CoreResult};
use crate::identity::UserId;

uuid_newtype!(
    /// The id of one blob in the [`BlobStore`]; its path on disk derives from
    /// it alone.
    BlobId
);

/// A body streamed in or out, chunk by chunk.
///
/// A producer may end the stream with `Err(io::Error::other(core_error))`
/// (see [`body_error`]) to abort a write with that [`CoreError`], for
/// example a checksum mismatch found by the S3 layer at the end of a body;
/// any other error aborts it as an interrupted upload.
pub type ByteStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// An `io::Error` that carries `err`, for a [`ByteStream`] producer that
/// wants a write to fail with exactly that domain error.
pub fn body_error(err: CoreError) -> std::io::Error {
    std::io::Error::other(err)
}

/// What [`BlobStore::write`] learned while streaming a body to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenBlob {
    /// Bytes written.
    pub size_bytes: u64,
    /// MD5 of the bytes, computed while streaming.
    pub md5: [u8; 16],
}

/// The storage engine: immutable blobs addressed by [`BlobId`].
///
/// # Errors
///
/// Adapters return `InsufficientStorage(Storage)` when the disk is full,
/// `Unavailable(Storage)` when it cannot be used otherwise (read-only,
/// missing) and `Internal` for anything unexpected.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Streams `body` into a new blob `id` and makes it durable: the bytes go
    /// to a temporary file while their MD5 and size are computed, the file is
    /// fsynced, renamed into place and its directory fsynced. When this
    /// returns `Ok` the blob survives a crash; when it returns `Err` nothing
    /// is left behind.
    ///
    /// # Errors
    /// `TooLarge` as soon as more than `max_size_bytes` arrive; the
    /// [`CoreError`] carried by a body error (see [`body_error`]);
    /// `InvalidInput` when the body stream fails otherwise (client gone).
    async fn write(
        &self,
        id: BlobId,
        body: ByteStream,
        max_size_bytes: u64,
    ) -> CoreResult<WrittenBlob>;

    /// Opens blob `id` and streams `range` of it (all of it when `None`),
    /// in large chunks. The caller has resolved `range` against the size.
    /// `size`, when given, is the blob's size as recorded: a blob whose
    /// stored bytes are more or fewer (a file cut or grown outside Mini
    /// AWS) is refused before a byte is sent, instead of being streamed
    /// under a length it cannot honour.
    ///
    /// # Errors
    /// `NotFound(Object)` when the blob does not exist (for instance it was
    /// replaced and removed since its metadata was read); `Internal` for a
    /// blob whose size is not `size`.
    async fn read(
        &self,
        id: BlobId,
        size: Option<u64>,
        range: Option<ByteRange>,
    ) -> CoreResult<ByteStream>;

    /// Makes a new blob `id` whose bytes are those of `parts`, in order,
    /// without copying them (a composite blob: a multipart completion, in
    /// time proportional to the number of parts, not bytes), durable as
    /// [`write`](Self::write) makes a blob: when this returns `Ok` the blob
    /// survives a crash; on `Err` nothing is left behind. The parts stay
    /// blobs of their own, and removing one later leaves `id`'s bytes
    /// whole. [`read`](Self::read), [`delete`](Self::delete) and
    /// [`list`](Self::list) treat `id` as any blob. Returns its size.
    ///
    /// # Errors
    /// `NotFound(Object)` when a part does not exist (removed meanwhile).
    async fn compose(&self, id: BlobId, parts: &[BlobId]) -> CoreResult<u64>;

    /// Removes blob `id`. A missing blob is not an error.
    async fn delete(&self, id: BlobId) -> CoreResult<()>;

    /// Every blob currently stored (for the start-up orphan sweep).
    async fn list(&self) -> CoreResult<Vec<BlobId>>;

    /// Removes temporary files left by interrupted writes; returns how many.
    /// Only safe while no write is in flight (at start-up).
    async fn remove_temporaries(&self) -> CoreResult<usize>;

    /// Bytes free for new blobs on the store's disk (what an unprivileged
    /// writer may still use), for the admission check of writes; `None`
    /// when the store cannot tell, which admits every write.
    fn free_bytes(&self) -> Option<u64> {
        None
    }
}

/// One write for [`StorageRepo::put_objects`].
#[derive(Debug, Clone)]
pub struct ObjectWrite {
    /// Who writes (must own the bucket at commit time).
    pub owner: UserId,
    /// The new version.
    pub meta: ObjectMeta,
    /// What must hold of the current version.
    pub condition: WriteCondition,
}

/// What [`StorageRepo::set_version_tags`] found at the version it was
/// asked to tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionTags {
    /// An object version, current or noncurrent: its tags were replaced.
    Tagged,
    /// A delete marker, which has no tags: nothing changed.
    DeleteMarker {
        /// When the delete happened (S3 says it in the refusal's
        /// `Last-Modified`).
        last_modified: time::OffsetDateTime,
    },
    /// No such version of the key: nothing changed.
    Missing,
}

/// What [`StorageRepo::set_bucket_object_lock`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketLockSet {
    /// The configuration was written.
    Set,
    /// The bucket's versioning is not `Enabled`: nothing written.
    NotVersioned,
    /// The owner has no such bucket: nothing written.
    Missing,
}

/// A bucket's row as the lookup every request makes reads it, for
/// [`StorageRepo::lookup_bucket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketLookup {
    /// The bucket.
    pub bucket: Bucket,
    /// Its policy document (`None`: it has none), which a `Deny` of the
    /// owner's request may be in.
    pub policy: Option<String>,
    /// Its lifecycle configuration (`None`: it has none, or the stored one
    /// does not decode), which says when its objects expire
    /// (`x-amz-expiration`).
    pub lifecycle: Option<LifecycleConfiguration>,
    /// Its versioning state.
    pub versioning: Versioning,
    /// Its Object Lock configuration (`None`: Object Lock is not enabled).
    pub object_lock: Option<ObjectLockConfig>,
}

/// Buckets and object metadata in the database.
///
/// Keys are compared as bytes (UTF-8 byte order) everywhere: listings, and
/// the [`KeyRange`] bounds, which may be byte strings that are not UTF-8.
///
/// # Errors
///
/// Adapters return `Unavailable(Database)` when the database cannot be
/// reached, and the specific errors listed per method.
#[async_trait]
pub trait StorageRepo: Send + Sync {
    /// Inserts a bucket with its tag set (empty: none) and, when `lock` is
    /// given, Object Lock with that configuration and versioning Enabled,
    /// in one statement: a bucket created with tags (S3's CreateBucket
    /// configuration) or with Object Lock never exists without them, even
    /// after a crash.
    ///
    /// # Errors
    /// `Conflict(AlreadyExists)` when the name is taken by anyone.
    async fn create_bucket(
        &self,
        bucket: &Bucket,
        tags: &Tags,
        lock: Option<&ObjectLockConfig>,
    ) -> CoreResult<()>;

    /// The bucket named `name`, whoever owns it.
    async fn get_bucket(&self, name: &BucketName) -> CoreResult<Option<Bucket>>;

    /// The bucket named `name`, whoever owns it, with its policy document
    /// and its lifecycle configuration, read in the same statement: the
    /// lookup every request makes (a `Deny` in the policy may refuse the
    /// owner's; object answers say when the lifecycle expires the object).
    /// A bucket without either costs what [`Self::get_bucket`] costs: the
    /// lifecycle is decoded only when there is one.
    ///
    /// # Errors
    /// Database failures. A stored lifecycle configuration that does not
    /// decode is `lifecycle: None` (logged), never an error: it must not
    /// make the bucket unreadable.
    async fn lookup_bucket(&self, name: &BucketName) -> CoreResult<Option<BucketLookup>>;

    /// [`Self::lookup_bucket`] and [`Self::get_object`] at once: the bucket
    /// (`None`: there is no such bucket) and the current version of `key`
    /// in it, if any. The read path of the bucket's owner (GET, HEAD), which
    /// otherwise pays two round trips to the database; adapters answer it
    /// with one statement. The default makes the two calls.
    ///
    /// # Errors
    /// As [`Self::lookup_bucket`] and [`Self::get_object`].
    async fn lookup_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> CoreResult<Option<(BucketLookup, Option<ObjectMeta>)>> {
        let Some(found) = self.lookup_bucket(bucket).await? else {
            return Ok(None);
        };
        let meta = self.get_object(bucket, key).await?;
        Ok(Some((found, meta)))
    }

    /// [`Self::lookup_bucket`] without the policy: the lookup of a read a
    /// public grant let in, whose policy was read (for the grant) by
    /// [`Self::get_bucket_access`] already.
    ///
    /// # Errors
    /// As [`Self::lookup_bucket`].
    async fn get_bucket_with_lifecycle(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<(Bucket, Option<LifecycleConfiguration>)>>;

    /// At most `limit` of `owner`'s buckets whose names lie in `range`, in
    /// byte order of names: one range scan of an index on (owner, name),
    /// never the owner's whole list.
    async fn list_buckets(
        &self,
        owner: UserId,
        range: &NameRange,
        limit: u32,
    ) -> CoreResult<Vec<Bucket>>;

    /// Deletes `owner`'s empty bucket `name`, atomically with the emptiness
    /// check, and with it the multipart uploads in progress in it (as S3
    /// does: they would otherwise show in a bucket of the same name made
    /// later, perhaps by another owner). Returns the blobs of their parts,
    /// for the caller to remove once the rows are gone.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when `owner` has no such bucket;
    /// `Conflict(BucketNotEmpty)` when it still holds objects.
    async fn delete_bucket(&self, owner: UserId, name: &BucketName) -> CoreResult<Vec<BlobId>>;

    /// The CORS configuration of bucket `name`, whoever owns it: `None`
    /// when there is no such bucket, `Some(None)` when it has none.
    async fn get_bucket_cors(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<CorsConfiguration>>>;

    /// Replaces (`Some`) or removes (`None`) the CORS configuration of
    /// `owner`'s bucket `name`, in one statement that checks the owner.
    ///
    /// # Errors
    /// None of its own: `false` when `owner` has no such bucket (nothing
    /// was written).
    async fn set_bucket_cors(
        &self,
        owner: UserId,
        name: &BucketName,
        cors: Option<&CorsConfiguration>,
    ) -> CoreResult<bool>;

    /// The website configuration of bucket `name`, whoever owns it:
    /// `None` when there is no such bucket, `Some(None)` when it has none.
    ///
    /// # Errors
    /// Database failures; a stored configuration that does not decode.
    async fn get_bucket_website(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<WebsiteConfiguration>>>;

    /// Replaces (`Some`) or removes (`None`) the website configuration of
    /// `owner`'s bucket `name`, in one statement that checks the owner.
    ///
    /// # Errors
    /// None of its own: `false` when `owner` has no such bucket (nothing
    /// was written).
    async fn set_bucket_website(
        &self,
        owner: UserId,
        name: &BucketName,
        website: Option<&WebsiteConfiguration>,
    ) -> CoreResult<bool>;

    /// The tag set of bucket `name`, whoever owns it, in the order it was
    /// put: `None` when there is no such bucket, empty when it has none.
    ///
    /// # Errors
    /// Database failures; a stored tag set that does not decode.
    async fn get_bucket_tags(&self, name: &BucketName) -> CoreResult<Option<Tags>>;

    /// Replaces the tag set of `owner`'s bucket `name` (an empty set
    /// removes it), in one statement that checks the owner.
    ///
    /// # Errors
    /// None of its own: `false` when `owner` has no such bucket (nothing
    /// was written).
    async fn set_bucket_tags(
        &self,
        owner: UserId,
        name: &BucketName,
        tags: &Tags,
    ) -> CoreResult<bool>;

    /// The lifecycle configuration of bucket `name`, whoever owns it:
    /// `None` when there is no such bucket, `Some(None)` when it has none.
    ///
    /// # Errors
    /// Database failures; a stored configuration that does not decode.
    async fn get_bucket_lifecycle(
        &self,
        name: &BucketName,
    ) -> CoreResult<Option<Option<LifecycleConfiguration>>>;

    /// Replaces (`Some`) or removes (`None`) the lifecycle configuration of
    /// `owner`'s bucket `name`, in one statement that checks the owner.
    ///
    /// # Errors
    /// None of its own: `false` when `owner` has no such bucket (nothing
    /// was written).
    async fn set_bucket_lifecycle(
        &self,
        owner: UserId,
        name: &BucketName,
        lifecycle: Option<&LifecycleConfiguration>,
    ) -> CoreResult<bool>;

    /// Up to `limit` buckets that have a lifecycle configuration, with it,
    /// by name, starting after `after` (for the lifecycle sweep). Each
    /// bucket comes with its owner, read in the same statement as the
    /// configuration: the sweep deletes only while that owner still has
    /// the bucket (see [`Self::delete_object_if`]). A stored configuration
    /// that does not decode comes back as `None`, in its place in the
    /// order, so that one bad row costs its bucket alone a sweep and the
    /// listing goes on past it.
    ///
    /// # Errors
    /// Database failures (never a configuration that does not decode).
    async fn lifecycle_buckets(
        &self,
        after: Option<&BucketName>,
        limit: u32,
    ) -> CoreResult<Vec<(Bucket, Option<LifecycleConfiguration>)>>;

    /// The owner, policy and Block Public Access settings of bucket `name`,
    /// whoever owns it: `None` when there is no such bucket. A new bucket
    /// has no policy and [`PublicAccessBlock::default`] (all four on).
    ///
    /// # Errors
    /// Database failures; a stored setting that does not decode.
    async fn get_bucket_access(&self, name: &BucketName) -> CoreResult<Option<BucketAccess>>;

    /// Replaces (`Some`) or removes (`None`) the policy document of
    /// `owner`'s bucket `name`, in one statement that checks the owner.
    ///
    /// # Errors
    /// None of its own: `false` when `owner` has no such bucket (nothing
    /// was written).
    async fn set_bucket_policy(
        &self,
        owner: UserId,
        name: &BucketName,
        policy: Option<&str>,
    ) -> CoreResult<bool>;

    /// Replaces (`Some`) or removes (`None`) the Block Public Access
    /// settings of `owner`'s bucket `name`, in one statement that checks
    /// the owner.
    ///
    /// # Errors
    /// None of its own: `false` when `owner` has no such bucket (nothing
    /// was written).
    async fn set_public_access_block(
        &self,
        owner: UserId,
        name: &BucketName,
        block: Option<&PublicAccessBlock>,
    ) -> CoreResult<bool>;

    /// The current metadata of `key` in `bucket`.
    async fn get_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> CoreResult<Option<ObjectMeta>>;

    /// Commits `meta` as the current version of its key, replacing any
    /// previous one, and returns the replaced version's blob (which the
    /// caller removes after this returns). Concurrent commits to one key
    /// serialise: each replaced blob is returned to exactly one caller.
    ///
    /// `condition` is checked against the key's current version atomically
    /// with the write (in the same statement): when it does not hold,
    /// nothing is written.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when `owner` does not own `meta.bucket` (any more)
    /// at commit time; the refusals of [`WriteCondition::check`]
    /// (`PreconditionFailed`, `NotFound(Object)`). Nothing is written then.
    async fn put_object_if(
        &self,
        owner: UserId,
        meta: &ObjectMeta,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>>;

    /// [`put_object_if`](Self::put_object_if) without a condition.
    ///
    /// # Errors
    /// `NotFound(Bucket)` as there.
    async fn put_object(&self, owner: UserId, meta: &ObjectMeta) -> CoreResult<Option<BlobId>> {
        self.put_object_if(owner, meta, &WriteCondition::Always)
            .await
    }

    /// Commits several writes, each as
    /// [`put_object_if`](Self::put_object_if) would, in one transaction
    /// where the adapter can (a group commit): one result per item, in
    /// order. Items apply in order, so of two writes to one key the later
    /// wins and is handed the earlier's blob as the replaced one, and a
    /// condition sees the writes before it. One item's failure (such as
    /// `NotFound(Bucket)` or a condition that does not hold) must not fail
    /// the others; an adapter whose batch fails as a whole retries the
    /// items one by one.
    ///
    /// The default commits the items one by one.
    async fn put_objects(&self, items: &[ObjectWrite]) -> Vec<CoreResult<Option<BlobId>>> {
        let mut results = Vec::with_capacity(items.len());
        for w in items {
            results.push(self.put_object_if(w.owner, &w.meta, &w.condition).await);
        }
        results
    }

    /// Replaces the tags of the current version of `key` in `bucket`, in
    /// one statement that also checks that `owner` owns the bucket, and
    /// returns that version's id and whether it was written with
    /// versioning Enabled ([`ObjectMeta::versioned`]: its version id is
    /// then its id, else `null`). Nothing else of the row changes (not its
    /// id, ETag, blob or last-modified time), so a concurrent write of the
    /// key either lands before (and is the version tagged) or after (and
    /// replaces the tags with its own).
    ///
    /// # Errors
    /// None of its own: `None` when there is no such key (or the bucket is
    /// not `owner`'s).
    async fn set_object_tags(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        tags: &Tags,
    ) -> CoreResult<Option<(ObjectId, bool)>>;

    /// Deletes `key` from `bucket` when `condition` holds for its current
    /// version (checked in the same statement as the delete, so no write
    /// lands in between); returns the blob of the deleted version, or
    /// `None` when there was no such key (and the condition let that be).
    ///
    /// # Errors
    /// The refusals of [`WriteCondition::check`]: `PreconditionFailed` for
    /// another ETag, `NotFound(Object)` for `If-Match` on a missing key.
    /// Nothing is deleted then.
    async fn delete_object_where(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>>;

    /// [`delete_object_where`](Self::delete_object_where) without a
    /// condition.
    async fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> CoreResult<Option<BlobId>> {
        self.delete_object_where(bucket, key, &WriteCondition::Always)
            .await
    }

    /// Deletes `key` from `bucket` only while its current version is `id`
    /// and carries exactly `tags`, and `bucket` is still `owner`'s and
    /// still has a lifecycle configuration (all checked in the same
    /// statement); returns the deleted version's blob. `None` when it wrote
    /// nothing: no such key, the key was rewritten or retagged since it was
    /// read, or the bucket was deleted (and perhaps created again by
    /// someone else) or its configuration removed since the sweep listed
    /// it. The lifecycle sweep deletes through this, so that it never
    /// deletes a version written after it looked, nor in a bucket whose
    /// configuration it no longer holds.
    ///
    /// # Errors
    /// None of its own.
    async fn delete_object_if(
        &self,
        owner: UserId,
        bucket: &BucketName,
        key: &ObjectKey,
        id: ObjectId,
        tags: &Tags,
    ) -> CoreResult<Option<BlobId>>;

    /// Up to `limit` objects of `bucket` whose keys lie in `range`, in byte
    /// order of their keys, as a listing shows them. Must be an index range
    /// scan that reads no column an [`ObjectSummary`] does not hold.
    async fn list_objects(
        &self,
        bucket: &BucketName,
        range: &KeyRange,
        limit: u32,
    ) -> CoreResult<Vec<ObjectSummary>>;

    /// The blob ids of up to `limit` objects, those after `after` (from the
    /// first when `None`), in blob-id order (the order of [`uuid::Uuid`]'s
    /// bytes). With [`Self::part_blobs_after`], every blob a row points to:
    /// the start-up sweep merges both against the sorted blob files. Must
    /// be a range scan of an index that holds the ids (no table lookups).
    async fn object_blobs_after(
        &self,
        after: Option<BlobId>,
        limit: u32,
    ) -> CoreResult<Vec<BlobId>>;

    /// The bucket and key (lossily decoded for display) of the objects
    /// whose blob is among `blobs`, in no particular order: the few the
    /// start-up sweep names in its warning about missing bytes.
    async fn objects_of_blobs(&self, blobs: &[BlobId])
    -> CoreResult<Vec<(BlobId, String, String)>>;

    /// Up to `limit` distinct blob ids that multipart parts hold, after
    /// `after` (from the first when `None`), in blob-id order. Parts'
    /// blobs are referenced like objects' (the start-up sweep keeps them).
    /// Must be an index range scan.
    async fn part_blobs_after(&self, after: Option<BlobId>, limit: u32) -> CoreResult<Vec<BlobId>>;

    /// Sets the versioning state of `owner`'s bucket `name` (`Enabled` or
    /// `Suspended`; the service never asks for `Unversioned`). `Suspended`
    /// is written only while the bucket has no Object Lock, checked in the
    /// same statement.
    ///
    /// # Errors
    /// None of its own: `false` when `owner` has no such bucket, or it has
    /// Object Lock and `Suspended` was asked (nothing written).
    async fn set_bucket_versioning(
        &self,
        _owner: UserId,
        _name: &BucketName,
        _versioning: Versioning,
    ) -> CoreResult<bool> {
        Err(no_versions())
    }

    /// Inserts `marker` as the latest version of its key in `owner`'s
    /// versioned bucket, in one transaction: the current version (if any)
    /// becomes noncurrent (or, when it and the marker are both `null`
    /// versions, is removed), and a `null` marker replaces the key's
    /// noncurrent `null` version. Returns the blob no row points to any
    /// more, for the caller to remove.
    ///
    /// `condition` is checked against the key's current version in the
    /// same transaction (a delete marker as the latest version is no
    /// current version): when it does not hold, nothing is written.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when `owner` does not own the bucket; the
    /// refusals of [`WriteCondition::check`].
    async fn put_delete_marker_if(
        &self,
        _owner: UserId,
        _marker: &DeleteMarker,
        _condition: &WriteCondition,
    ) -> CoreResult<Option<BlobId>> {
        Err(no_versions())
    }

    /// [`put_delete_marker_if`](Self::put_delete_marker_if) without a
    /// condition.
    ///
    /// # Errors
    /// `NotFound(Bucket)` as there.
    async fn put_delete_marker(
        &self,
        owner: UserId,
        marker: &DeleteMarker,
    ) -> CoreResult<Option<BlobId>> {
        self.put_delete_marker_if(owner, marker, &WriteCondition::Always)
            .await
    }

    /// The version `version` of `key`, current or not, or a delete marker.
    async fn get_object_version(
        &self,
        _bucket: &BucketName,
        _key: &ObjectKey,
        _version: VersionId,
    ) -> CoreResult<Option<ListedVersion>> {
        Err(no_versions())
    }

    /// Removes version `version` of `key` for good (in one transaction);
    /// when it was the current version, the newest noncurrent version
    /// becomes current (unless the newest is a delete marker, which then
    /// stays the latest). Returns what was removed (`None`: no such
    /// version); the caller removes an object version's blob.
    ///
    /// The version's Object Lock is checked in the same transaction, under
    /// the bucket's write lock that every lock change takes too, so a
    /// racing PutObjectRetention or PutObjectLegalHold lands before (and
    /// protects) or after (and finds nothing): a version that
    /// [`ObjectLock::protects`](super::ObjectLock::protects) at the time
    /// of the delete, given `bypass_governance`, is never removed.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when `owner` does not own the bucket;
    /// `Forbidden` ([`ObjectLock::refusal`](super::ObjectLock::refusal))
    /// when the version's lock protects it: nothing is removed.
    async fn delete_object_version(
        &self,
        _owner: UserId,
        _bucket: &BucketName,
        _key: &ObjectKey,
        _version: VersionId,
        _bypass_governance: bool,
    ) -> CoreResult<Option<ObjectVersion>> {
        Err(no_versions())
    }

    /// Enables Object Lock on `owner`'s bucket `name`, or replaces its
    /// configuration (the default retention), in one statement that
    /// checks that the bucket's versioning is `Enabled` (S3 enables Object
    /// Lock only then; an enabled bucket's versioning cannot be suspended).
    ///
    /// # Errors
    /// None of its own: [`BucketLockSet::Missing`] when `owner` has no such
    /// bucket, [`BucketLockSet::NotVersioned`] when its versioning is not
    /// `Enabled` (nothing written).
    async fn set_bucket_object_lock(
        &self,
        _owner: UserId,
        _name: &BucketName,
        _config: &ObjectLockConfig,
    ) -> CoreResult<BucketLockSet> {
        Err(no_versions())
    }

    /// Changes the Object Lock of version `version` of `key`, current or
    /// noncurrent, in `owner`'s bucket (PutObjectRetention,
    /// PutObjectLegalHold): in one transaction holding the bucket's write
    /// lock (as [`Self::delete_object_version`]), the version's lock is
    /// read, [`ObjectLock::apply`](super::ObjectLock::apply) decides the
    /// new one at `now`, and it is written to the version's row.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when `owner` does not own the bucket; the
    /// refusals of `ObjectLock::apply` (nothing written).
    async fn set_version_lock(
        &self,
        _owner: UserId,
        _bucket: &BucketName,
        _key: &ObjectKey,
        _version: VersionId,
        _change: &LockChange,
        _now: time::OffsetDateTime,
    ) -> CoreResult<VersionLock> {
        Err(no_versions())
    }

    /// Replaces the tags of version `version` of `key`, current or
    /// noncurrent, in `owner`'s bucket (S3's PutObjectTagging and
    /// DeleteObjectTagging with a `versionId`). One transaction that holds
    /// the bucket's write lock, as every versioned write, delete and
    /// promotion does, finds the version by its id in whichever table holds
    /// it, so a tagging racing the version becoming noncurrent (or current
    /// again, or being removed) tags that version or nothing, never
    /// another row, and its tags move with it. Nothing else of the version
    /// changes.
    ///
    /// # Errors
    /// `NotFound(Bucket)` when `owner` does not own the bucket.
    async fn set_version_tags(
        &self,
        _owner: UserId,
        _bucket: &BucketName,
        _key: &ObjectKey,
        _version: VersionId,
        _tags: &Tags,
    ) -> CoreResult<VersionTags> {
        Err(no_versions())
    }

    /// Up to `limit` versions (current, noncurrent, delete markers) of
    /// the keys of `bucket` in `range`, by key in byte order, then newest
    /// first; after `after` (a key, and the `seq` of a version of it,
    /// `None` for its current version) when given.
    async fn list_versions(
        &self,
        _bucket: &BucketName,
        _range: &KeyRange,
        _after: Option<(&ObjectKey, Option<i64>)>,
        _limit: u32,
    ) -> CoreResult<Vec<ListedVersion>> {
        Err(no_versions())
    }

    /// Up to `limit` blob ids of noncurrent versions, after `after`, in
    /// blob-id order: referenced like objects' blobs (the start-up sweep
    /// keeps them). Must be an index range scan.
    async fn version_blobs_after(
        &self,
        _after: Option<BlobId>,
        _limit: u32,
    ) -> CoreResult<Vec<BlobId>> {
        Ok(Vec::new())
    }
    /// The lifecycle sweep's expiration of a current version in a
    /// versioned bucket: inserts `marker` as the latest version of its key,
    /// as [`Self::put_delete_marker`] does, only while the key's current
    /// version is `current` with exactly `tags`, and the bucket is still
    /// `owner`'s, still versioned (Enabled or Suspended) and still has a
    /// lifecycle configuration (all checked in one transaction that holds
    /// the bucket's write lock). The marker is a `null` one when the bucket
    /// is Suspended at that moment, whatever `marker.versioned` says (S3:
    /// it then replaces the `null` version). `None`: nothing written (a
    /// write or retag came in between, the latest is already a marker, the
    /// bucket changed); `Some(blob)`: written, with the blob no row points
    /// to any more, for the caller to remove.
    ///
    /// # Errors
    /// None of its own.
    async fn expire_current_version(
        &self,
        _owner: UserId,
        _marker: &DeleteMarker,
        _current: ObjectId,
        _tags: &Tags,
    ) -> CoreResult<Option<Option<BlobId>>> {
        Err(no_versions())
    }

    /// The lifecycle sweep's `NoncurrentVersionExpiration`: removes for
    /// good (never while its Object Lock protects it: a legal hold, or a
    /// retention whose date has not passed, checked in the same statement;
    /// a later sweep retries) the noncurrent version (or noncurrent delete marker) `seq` of
    /// `key`, only while at least `newer` noncurrent versions of the key
    /// are newer than it (so it is never the latest version, and a
    /// version a concurrent delete made current or latest stays), a
    /// version with bytes still has exactly `tags` (the sweep's rule
    /// filtered on them: a retag in between keeps the version) and the
    /// bucket is still `owner`'s, versioned and configured. `None`: nothing
    /// removed; `Some(blob)`: removed, with its blob (`None` for a delete
    /// marker) for the caller to remove after the row.
    ///
    /// # Errors
    /// None of its own.
    async fn expire_noncurrent_version(
        &self,
        _owner: UserId,
        _bucket: &BucketName,
        _key: &ObjectKey,
        _seq: i64,
        _newer: u32,
        _tags: &Tags,
    ) -> CoreResult<Option<Option<BlobId>>> {
        Err(no_versions())
    }

    /// The lifecycle sweep's removal of an expired object delete marker:
    /// removes the delete marker `seq` of `key` only while it is the key's
    /// one and only version (no current version, no noncurrent one: a PUT
    /// that came in between keeps it), in a bucket still `owner`'s,
    /// versioned and configured. Whether it was removed.
    ///
    /// # Errors
    /// None of its own.
    async fn remove_expired_delete_marker(
        &self,
        _owner: UserId,
        _bucket: &BucketName,
        _key: &ObjectKey,
        _seq: i64,
    ) -> CoreResult<bool> {
        Err(no_versions())
    }
}

/// What a repository without versions (a test fake) answers.
fn no_versions() -> CoreError {
    CoreError::internal_msg("this repository keeps no object versions")
}
