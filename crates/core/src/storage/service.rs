//! The storage service: the rules of buckets and objects over the ports.
//! Bucket settings (CORS, tags, lifecycle, policy, Block Public Access)
//! and the policy reads are in [`bucket_settings`], the same `impl`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::multipart::{
    CHECKSUM_TYPE_HEADER, ChecksumAlgorithm, DEFAULT_CHECKSUM, checksum_header, feeding,
};

use super::commit::CommitQueue;
use super::cors::CorsConfiguration;
use super::domain::{
    Bucket, BucketName, ETag, ObjectId, ObjectKey, ObjectMeta, ObjectPart, UserMetadata, VersionId,
    Versioning, WriteCondition, guess_content_type, validate_content_type, validate_user_metadata,
};
use super::lifecycle::{LifecycleConfiguration, ObjectExpiry};
use super::listing::{self, BucketPage, ListBucketsInput, ListObjectsInput, ListObjectsPage};
use super::object_lock::{LockView, ObjectLock, ObjectLockConfig, lock_needs_checksum};
use super::policy::{Access, BucketPolicy, PublicAction, PublicGrant, Reader, S3Action};
use super::ports::{
    BlobId, BlobStore, BucketLookup, ByteStream, ObjectWrite, StorageRepo, VersionTags, WrittenBlob,
};
use super::range::{ByteRange, Conditions, Evaluation, IfRange, RangeSpec};
use super::tags::Tags;
use super::website::WebsiteConfiguration;
use crate::Resource;
use crate::clock::now_utc;
use crate::error::{ConflictKind, CoreError, CoreResult};
use crate::identity::{Caller, UserId};

mod bucket_settings;
mod object_lock;
mod versions;

pub use versions::{DeleteOutcome, DeleteTarget, ListVersionsInput, VersionEntry, VersionsPage};

/// The largest declared body whose bucket lookup overlaps its blob write
/// (see [`StorageService::write_checked_blob`]): at most this much is read before
/// a write to a bucket that turns out to be missing or foreign is refused.
const OVERLAPPED_CHECK_MAX_BYTES: u64 = 64 * 1024;

/// How many times a read retries when the blob it was about to open was
/// replaced (and removed) by a concurrent write in between.
const READ_ATTEMPTS: usize = 5;

/// Everything a write needs besides the caller.
pub struct PutObjectInput {
    /// The bucket name (validated here).
    pub bucket: String,
    /// The key (validated here).
    pub key: String,
    /// The body, streamed.
    pub body: ByteStream,
    /// The declared length, if known: checked against the size limit before
    /// a byte is read, and against what actually arrives.
    pub content_length: Option<u64>,
    /// The media type as sent; `None`: guessed from the key's extension.
    pub content_type: Option<String>,
    /// `x-amz-meta-*` user metadata.
    pub user_metadata: UserMetadata,
    /// Other response headers to store (lowercase names; see
    /// [`ObjectMeta::headers`]).
    pub headers: BTreeMap<String, String>,
    /// The MD5 the client says the body has (`Content-MD5`): a mismatch is
    /// `BadDigest` and nothing is stored.
    pub expected_md5: Option<[u8; 16]>,
    /// Create the bucket for the caller when it does not exist (the native
    /// API's behaviour; S3 answers NoSuchBucket instead).
    pub create_bucket: bool,
    /// What must hold of the key's current version: checked before the
    /// body is read (a refused write costs no transfer) and again,
    /// atomically, by the commit.
    pub condition: WriteCondition,
    /// The object's tags (validated by [`Tags::new`]).
    pub tags: Tags,
}

/// What a bucket says about CORS, for a request that may not be
/// authenticated (a preflight, or an actual request's `Origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketCors {
    /// There is no such bucket (or the name is not a bucket name).
    NoBucket,
    /// The bucket has no CORS configuration.
    NotConfigured,
    /// The bucket's configuration.
    Configured(CorsConfiguration),
}

/// What a bucket says about its website, for the website endpoint's
/// anonymous requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketWebsite {
    /// There is no such bucket (or the name is not a bucket name).
    NoBucket,
    /// The bucket has no website configuration.
    NotConfigured,
    /// The bucket's configuration.
    Configured(WebsiteConfiguration),
}

/// A blob already in the store, to be committed as an object: by
/// [`StorageService::commit_object`] (an S3 PutObject whose body was
/// written first), or by a multipart completion, whose commit also
/// consumes its upload ([`MultipartRepo::complete_upload`](crate::multipart::MultipartRepo::complete_upload)).
#[derive(Debug, Clone)]
pub struct CommitObject {
    /// The bucket name.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The blob holding the bytes.
    pub blob_id: BlobId,
    /// Its length.
    pub size_bytes: u64,
    /// Its ETag.
    pub etag: ETag,
    /// The media type; `None`: guessed.
    pub content_type: Option<String>,
    /// User metadata.
    pub user_metadata: UserMetadata,
    /// Other stored headers.
    pub headers: BTreeMap<String, String>,
    /// What must hold of the key's current version at commit time.
    pub condition: WriteCondition,
    /// The parts of a multipart object, in order (empty otherwise).
    pub parts: Vec<ObjectPart>,
    /// The object's tags.
    pub tags: Tags,
    /// The bucket's versioning state when the write looked the bucket up:
    /// `Enabled` makes the object a new version of its own rather than the
    /// `null` version ([`ObjectMeta::versioned`]), and any versioned state
    /// makes its answer name its version ([`ObjectMeta::in_versioned_bucket`]).
    pub versioning: Versioning,
    /// The Object Lock the write asks for (`x-amz-object-lock-*`); the
    /// repository gives a version that names no retention its bucket's
    /// default one, in the commit's transaction.
    pub lock: ObjectLock,
}

/// Options of a read.
#[derive(Debug, Clone, Default)]
pub struct GetObjectOptions {
    /// `Range`, parsed.
    pub range: Option<RangeSpec>,
    /// S3's `partNumber`: read that part (see [`ObjectMeta::part_range`])
    /// instead of a `range` (the caller refuses both at once).
    pub part_number: Option<u32>,
    /// Conditional headers.
    pub conditions: Conditions,
    /// `If-Range`: the `range` is read only while this holds, else the
    /// whole object (the native API's; S3 has no `If-Range`).
    pub if_range: Option<IfRange>,
    /// The version to read (`None`: the current one).
    pub version: Option<VersionId>,
}

/// What a read returns.
pub enum GetObjectOutput {
    /// The body (or the requested range of it).
    Body {
        /// The object's metadata.
        meta: ObjectMeta,
        /// When the bucket's lifecycle expires the object (`None`: never).
        expiration: Option<ObjectExpiry>,
        /// The range sent, when the request had a satisfiable one (206).
        range: Option<ByteRange>,
        /// The bytes.
        body: ByteStream,
    },
    /// A condition says the client's copy is current (304): the object's
    /// metadata, and when the bucket's lifecycle expires it (S3 sends
    /// `x-amz-expiration` on a 304 too).
    NotModified(ObjectMeta, Option<ObjectExpiry>),
}

/// What a metadata read returns.
#[derive(Debug, Clone)]
pub enum HeadObjectOutput {
    /// The object's metadata.
    Found {
        /// The object's metadata.
        meta: ObjectMeta,
        /// When the bucket's lifecycle expires the object (`None`: never).
        expiration: Option<ObjectExpiry>,
    },
    /// A condition says the client's copy is current (304): the object's
    /// metadata, and when the bucket's lifecycle expires it (S3 sends
    /// `x-amz-expiration` on a 304 too).
    NotModified(ObjectMeta, Option<ObjectExpiry>),
}

/// How a copy gets its metadata.
#[derive(Debug, Clone, Default)]
pub enum MetadataDirective {
    /// Keep the source's content type, user metadata and headers.
    #[default]
    Copy,
    /// Keep the source's content type and user metadata, and its headers
    /// changed: each name given with `Some` is set to that value, with
    /// `None` removed (S3's storage class is not metadata: a copy gets the
    /// one it names, else the default, whatever the directive).
    CopyChanging(BTreeMap<String, Option<String>>),
    /// Use these instead.
    Replace {
        /// The media type; `None`: guessed from the destination key.
        content_type: Option<String>,
        /// User metadata.
        user_metadata: UserMetadata,
        /// Other stored headers.
        headers: BTreeMap<String, String>,
    },
}

/// How a copy gets its tags (S3's `x-amz-tagging-directive`).
#[derive(Debug, Clone, Default)]
pub enum TaggingDirective {
    /// Keep the source's tags.
    #[default]
    Copy,
    /// Use these instead.
    Replace(Tags),
}

/// What the start-up sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Temporary files of interrupted writes.
    pub temporaries: usize,
    /// Blobs no row pointed to.
    pub orphans: usize,
    /// Objects whose blob is not on disk (removed outside Mini AWS): they
    /// are left as they are, and logged.
    pub missing: usize,
    /// Noncurrent versions (of versioned buckets) whose blob is not on
    /// disk: left as they are, and logged.
    pub missing_versions: usize,
}

/// `bytes` for a person: `512 B`, `40.1 MiB`, `2.0 GiB`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// How many objects without their bytes the start-up sweep names in its
/// warning (the count covers them all).
const MISSING_NAMED: usize = 10;

/// Rows per page of the start-up sweep's scans.
const SWEEP_PAGE: u32 = 1000;

/// Checks that a page of a sweep's scan of `table` ascends strictly from
/// `after`, before any of it is used: the merge would otherwise take
/// referenced blobs for orphans. The page's last id (`after` if empty).
fn ascending(
    after: Option<BlobId>,
    page: impl IntoIterator<Item = BlobId>,
    table: &str,
) -> CoreResult<Option<BlobId>> {
    let mut previous = after;
    for id in page {
        if previous.is_some_and(|p| id.as_uuid() <= p.as_uuid()) {
            return Err(CoreError::internal_msg(format!(
                "the start-up sweep read the blob ids of {table} out of order; \
                 it stopped there (the blobs after that point were neither checked nor removed)"
            )));
        }
        previous = Some(id);
    }
    Ok(previous)
}

/// The blob ids multipart parts (or noncurrent object versions) hold, read
/// forward a page at a time (see [`StorageRepo::part_blobs_after`],
/// [`StorageRepo::version_blobs_after`]) as the sweep's merge asks about
/// ascending blob ids.
#[derive(Default)]
struct PartBlobs {
    /// Noncurrent versions' blobs rather than parts'.
    versions: bool,
    /// The current page, its first id at the back.
    page: Vec<BlobId>,
    /// The last id read from the repository.
    after: Option<BlobId>,
    /// The scan reached the end.
    done: bool,
}

impl PartBlobs {
    /// Whether a part holds `blob`. Each call must ask about an id above
    /// the previous call's: ids below it are dropped on the way.
    async fn holds(&mut self, repo: &dyn StorageRepo, blob: BlobId) -> CoreResult<bool> {
        loop {
            while let Some(head) = self.page.last() {
                match head.as_uuid().cmp(&blob.as_uuid()) {
                    std::cmp::Ordering::Less => {
                        self.page.pop();
                    }
                    std::cmp::Ordering::Equal => return Ok(true),
                    std::cmp::Ordering::Greater => return Ok(false),
                }
            }
            if self.done {
                return Ok(false);
            }
            let (page, table) = if self.versions {
                let page = repo.version_blobs_after(self.after, SWEEP_PAGE).await?;
                (page, "object versions")
            } else {
                let page = repo.part_blobs_after(self.after, SWEEP_PAGE).await?;
                (page, "multipart parts")
            };
            self.done = page.len() < SWEEP_PAGE as usize;
            self.after = ascending(self.after, page.iter().copied(), table)?;
            self.page = page;
            self.page.reverse();
        }
    }
}

/// The blobs rows other than current objects' hold, for the sweep.
struct Held {
    parts: PartBlobs,
    versions: PartBlobs,
}

/// Buckets and objects: ownership, naming, the write protocol, reads,
/// listings. Shared by the native API and the S3 endpoint.
pub struct StorageService {
    repo: Arc<dyn StorageRepo>,
    blobs: Arc<dyn BlobStore>,
    commits: CommitQueue,
    max_object_size_bytes: u64,
    min_free_bytes: u64,
}

/// Checks what an object version carries besides its bytes: the content
/// type, the user metadata (S3's 2 KiB) and the stored headers. Every write
/// checks them before it reads a body, and a multipart upload when it is
/// created, not when it completes after all its parts were sent.
pub(crate) fn validate_object_fields(
    content_type: Option<&str>,
    user_metadata: &UserMetadata,
    headers: &BTreeMap<String, String>,
) -> CoreResult<()> {
    if let Some(ct) = content_type {
        validate_content_type(ct)?;
    }
    validate_user_metadata(user_metadata)?;
    validate_headers(headers)
}

fn validate_headers(headers: &BTreeMap<String, String>) -> CoreResult<()> {
    for (name, value) in headers {
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok || value.len() > 1024 || value.chars().any(|c| c.is_control()) {
            return Err(CoreError::invalid(format!(
                "header {name:?} cannot be stored: names are lowercase letters, digits and '-', \
                 values at most 1,024 characters without control characters"
            )));
        }
    }
    Ok(())
}

impl StorageService {
    /// A service over `repo` and `blobs`, refusing objects larger than
    /// `max_object_size_bytes`.
    pub fn new(
        repo: Arc<dyn StorageRepo>,
        blobs: Arc<dyn BlobStore>,
        max_object_size_bytes: u64,
    ) -> Self {
        Self {
            commits: CommitQueue::new(repo.clone(), blobs.clone()),
            repo,
            blobs,
            max_object_size_bytes,
            min_free_bytes: 0,
        }
    }

    /// Keeps `bytes` free on the object store's disk: a write whose
    /// declared size would leave less is refused before its body is read
    /// ([`CoreError::InsufficientStorage`]), so that a disk filled by
    /// uploads still has room for the database to record deletes (which is
    /// how space is given back). 0 turns the check off.
    #[must_use]
    pub fn with_min_free_bytes(mut self, bytes: u64) -> Self {
        self.min_free_bytes = bytes;
        self
    }

    /// The space kept free on the object store's disk (`--min-free-space`).
    pub fn min_free_bytes(&self) -> u64 {
        self.min_free_bytes
    }

    /// Refuses a write of `needed` bytes (0 when its size is not declared)
    /// that would leave less than [`Self::min_free_bytes`] free on the
    /// object store's disk. Only an admission check: writers that pass it
    /// together can still fill the disk, and then meet the disk's own
    /// refusal (also `InsufficientStorage`), with nothing stored.
    ///
    /// # Errors
    /// `InsufficientStorage(Storage)`, naming the figures.
    pub fn check_room(&self, needed: u64) -> CoreResult<()> {
        let keep = self.min_free_bytes;
        if keep == 0 {
            return Ok(());
        }
        let Some(free) = self.blobs.free_bytes() else {
            return Ok(());
        };
        if free >= needed.saturating_add(keep) {
            return Ok(());
        }
        let wanted = if needed == 0 {
            String::new()
        } else {
            format!("this write needs {} and ", human_bytes(needed))
        };
        Err(CoreError::insufficient_storage(
            crate::error::Dependency::Storage,
            format!(
                "not enough free space on the server's data directory: {} free; {wanted}the server keeps {} free (--min-free-space) so that deletes can still be recorded; delete objects or free space, nothing was stored",
                human_bytes(free),
                human_bytes(keep)
            ),
        ))
    }

    /// `body`, ended with `InsufficientStorage` once the disk's free space
    /// falls below [`Self::min_free_bytes`] while it streams: the admission
    /// check ([`Self::check_room`]) knows nothing of a body of undeclared
    /// size, nor of the writes admitted beside it, and either could
    /// otherwise use up the reserve that lets deletes be recorded. Checked
    /// every quarter of the reserve (1 to 16 MiB), a `statfs` each.
    fn guarding_reserve(&self, body: ByteStream) -> ByteStream {
        const MIB: u64 = 1024 * 1024;
        let keep = self.min_free_bytes;
        if keep == 0 {
            return body;
        }
        let every = (keep / 4).clamp(MIB, 16 * MIB);
        let blobs = self.blobs.clone();
        let mut since_check = 0u64;
        Box::pin(futures::StreamExt::map(body, move |chunk| {
            let chunk = chunk?;
            since_check += chunk.len() as u64;
            if since_check >= every {
                since_check = 0;
                if let Some(free) = blobs.free_bytes()
                    && free < keep
                {
                    return Err(crate::storage::body_error(CoreError::insufficient_storage(
                        crate::error::Dependency::Storage,
                        format!(
                            "the server's data directory ran short of space during this upload: {} free, and the server keeps {} free (--min-free-space) so that deletes can still be recorded; delete objects or free space, nothing was stored",
                            human_bytes(free),
                            human_bytes(keep)
                        ),
                    )));
                }
            }
            Ok(chunk)
        }))
    }

    /// The group committer of object writes, to be spawned once on the
    /// runtime (`None` once taken). While it runs, writes that queue during
    /// a commit share the next transaction; without it, each write commits
    /// on its own.
    pub fn commit_driver(&self) -> Option<futures::future::BoxFuture<'static, ()>> {
        self.commits.take_driver()
    }

    /// The largest object accepted.
    pub fn max_object_size_bytes(&self) -> u64 {
        self.max_object_size_bytes
    }

    /// The blob store (multipart parts are written through it too).
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// Removes temporary files and blobs that no row points to, and counts
    /// the objects whose blob file is missing. Run at start-up, before
    /// serving: a write in flight would look like garbage.
    ///
    /// One pass: the sorted list of blob files is merged against the blob
    /// ids the rows point to, paged in blob-id order from one ordered index
    /// scan per table (objects, multipart parts). A file no row points to
    /// is an orphan and removed; an object row without its file is counted
    /// and named (see [`Self::report_missing`]), its row kept.
    ///
    /// The missing-bytes count comes out of the same merge, so it costs
    /// nothing more than the orphan sweep and stays before serving too
    /// (measured in BENCHMARKS.md, session 8): moving it to a task after
    /// serving starts would mean a second scan of the objects.
    ///
    /// # Errors
    /// Whatever the ports return, and `Internal` if the database does not
    /// hand the ids back in ascending order: the merge would then take
    /// referenced blobs for orphans, so the sweep stops before removing
    /// anything it cannot vouch for.
    #[tracing::instrument(skip(self))]
    pub async fn sweep(&self) -> CoreResult<SweepReport> {
        let temporaries = self.blobs.remove_temporaries().await?;
        let mut files = self.blobs.list().await?;
        files.sort_unstable_by_key(BlobId::as_uuid);
        files.dedup();
        // Kept for the noncurrent versions' check after the merge (16 bytes
        // a blob: 1.6 MB for 100,000).
        let on_disk = files.clone();
        let mut files = files.into_iter().peekable();
        let mut held = Held {
            parts: PartBlobs::default(),
            versions: PartBlobs {
                versions: true,
                ..PartBlobs::default()
            },
        };
        let mut orphans = 0;
        let mut missing = 0;
        // The first few objects without their file, named once the pass
        // is over: the scan reads blob ids only (the index holds them, so
        // SQLite never visits the table: a tenth of the time of reading
        // each row's bucket and key, BENCHMARKS.md session 8).
        let mut unnamed = Vec::new();
        let mut after: Option<BlobId> = None;
        loop {
            let page = self.repo.object_blobs_after(after, SWEEP_PAGE).await?;
            let last_page = page.len() < SWEEP_PAGE as usize;
            after = ascending(after, page.iter().copied(), "objects")?;
            for blob in page {
                orphans += self
                    .remove_orphans(&mut files, Some(blob), &mut held)
                    .await?;
                if files.next_if_eq(&blob).is_none() {
                    missing += 1;
                    if unnamed.len() < MISSING_NAMED {
                        unnamed.push(blob);
                    }
                }
            }
            if last_page {
                break;
            }
        }
        orphans += self.remove_orphans(&mut files, None, &mut held).await?;
        if missing > 0 {
            let mut named = self.repo.objects_of_blobs(&unnamed).await?;
            named.sort_by_key(|(blob, _, _)| blob.as_uuid());
            let named: Vec<String> = named
                .into_iter()
                .map(|(_, bucket, key)| format!("{bucket}/{key}"))
                .collect();
            Self::report_missing(missing, &named);
        }
        let missing_versions = self.missing_versions(&on_disk).await?;
        if missing_versions > 0 {
            tracing::warn!(
                missing_versions,
                "noncurrent object versions whose bytes are missing from the data directory (removed outside Mini AWS?): \
                 reading them by version id fails with 500; delete them by version id (`cloud storage ls <bucket> --versions` lists them)"
            );
        }
        let report = SweepReport {
            temporaries,
            orphans,
            missing,
            missing_versions,
        };
        tracing::info!(
            temporaries,
            orphans,
            missing,
            missing_versions,
            "storage sweep done"
        );
        Ok(report)
    }

    /// Removes the blob files of `files` below `bound` (all of them when
    /// `None`) that no part and no noncurrent version holds either: the
    /// caller has seen every object row below `bound`, and none pointed to
    /// them. How many it removed.
    async fn remove_orphans(
        &self,
        files: &mut std::iter::Peekable<std::vec::IntoIter<BlobId>>,
        bound: Option<BlobId>,
        held: &mut Held,
    ) -> CoreResult<usize> {
        let mut removed = 0;
        while let Some(file) = files.next_if(|f| bound.is_none_or(|b| f.as_uuid() < b.as_uuid())) {
            if !held.parts.holds(&*self.repo, file).await?
                && !held.versions.holds(&*self.repo, file).await?
            {
                self.blobs.delete(file).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// How many noncurrent versions point to a blob that is not in
    /// `on_disk` (sorted): one more scan of the versions' blob index, empty
    /// where no bucket was ever versioned. (Their blobs are never removed
    /// by the sweep, so the listing from before it is the right one.)
    async fn missing_versions(&self, on_disk: &[BlobId]) -> CoreResult<usize> {
        let mut missing = 0;
        let mut after: Option<BlobId> = None;
        loop {
            let page = self.repo.version_blobs_after(after, SWEEP_PAGE).await?;
            let last_page = page.len() < SWEEP_PAGE as usize;
            after = ascending(after, page.iter().copied(), "object versions")?;
            missing += page
                .iter()
                .filter(|b| {
                    on_disk
                        .binary_search_by_key(&b.as_uuid(), BlobId::as_uuid)
                        .is_err()
                })
                .count();
            if last_page {
                return Ok(missing);
            }
        }
    }

    /// Warns once about the `missing` objects whose blob is not on disk,
    /// naming the first few. Mini AWS never commits a row before its bytes
    /// are durable, so such a row means files were removed behind its back
    /// (or restored from an older backup): a GET of it fails with 500 until
    /// it is overwritten or deleted. The rows are left as they are:
    /// deciding to drop an object is the operator's.
    fn report_missing(missing: usize, named: &[String]) {
        tracing::warn!(
            missing,
            objects = ?named,
            "objects whose bytes are missing from the data directory (removed outside Mini AWS?): \
             reading them fails with 500; overwrite or delete them"
        );
    }

    /// The caller's bucket `name`, for `access`: the owner's request, which
    /// an explicit `Deny` in the bucket's policy may still refuse (see
    /// [`BucketPolicy::denies_owner`]). The policy comes with the bucket's
    /// row, in the one lookup; a bucket without one costs nothing more.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, and `Forbidden`
    /// when someone else owns it or the policy denies `access`.
    pub async fn bucket(
        &self,
        caller: Caller,
        name: &str,
        access: Access<'_>,
    ) -> CoreResult<Bucket> {
        Ok(self.bucket_with_lifecycle(caller, name, access).await?.0)
    }

    /// [`Self::bucket`], with the bucket's lifecycle configuration (`None`:
    /// it has none), which came with the bucket's row: what says when an
    /// object written or read there expires.
    ///
    /// # Errors
    /// As [`Self::bucket`].
    pub async fn bucket_with_lifecycle(
        &self,
        caller: Caller,
        name: &str,
        access: Access<'_>,
    ) -> CoreResult<(Bucket, Option<LifecycleConfiguration>)> {
        let found = self.checked_bucket(caller, name, access).await?;
        Ok((found.bucket, found.lifecycle))
    }

    /// [`Self::bucket`] as the lookup read it (with its policy, lifecycle
    /// configuration and versioning state), access checked.
    async fn checked_bucket(
        &self,
        caller: Caller,
        name: &str,
        access: Access<'_>,
    ) -> CoreResult<BucketLookup> {
        let found = self.owned_bucket(caller, name).await?;
        let policy = found
            .policy
            .as_deref()
            .and_then(|doc| stored_policy(&found.bucket.name, doc));
        owner_may(&found.bucket, policy.as_ref(), caller, &access)?;
        Ok(found)
    }

    /// The caller's bucket `name` as the lookup reads it (access not
    /// checked yet: see [`owner_may`]).
    async fn owned_bucket(&self, caller: Caller, name: &str) -> CoreResult<BucketLookup> {
        let name = BucketName::parse(name)?;
        match self.repo.lookup_bucket(&name).await? {
            None => Err(CoreError::not_found(Resource::Bucket, name.as_str())),
            Some(found) if found.bucket.owner != caller.user_id => Err(bucket_access_denied(&name)),
            Some(found) => Ok(found),
        }
    }

    /// The owner of bucket `name`, whoever asks (`None`: no such bucket, or
    /// not a valid name). Only for checking what a request says the owner
    /// is (S3's `x-amz-expected-bucket-owner`) where the caller need not
    /// own the bucket; never to decide access.
    ///
    /// # Errors
    /// Database failures.
    pub async fn bucket_owner(&self, name: &str) -> CoreResult<Option<UserId>> {
        let Ok(name) = BucketName::parse(name) else {
            return Ok(None);
        };
        Ok(self.repo.get_bucket(&name).await?.map(|b| b.owner))
    }

    /// Creates bucket `name` for the caller.
    ///
    /// # Errors
    /// `InvalidInput` naming the broken naming rule;
    /// `Conflict(AlreadyOwnedByYou)` when the caller has it already;
    /// `Conflict(AlreadyExists)` when another account has it.
    pub async fn create_bucket(&self, caller: Caller, name: &str) -> CoreResult<Bucket> {
        self.create_bucket_with_tags(caller, name, &Tags::default())
            .await
    }

    /// Creates bucket `name` for the caller with the tag set `tags`
    /// (S3's CreateBucket configuration), in the same statement: the bucket
    /// never exists without them.
    ///
    /// # Errors
    /// As [`Self::create_bucket`].
    pub async fn create_bucket_with_tags(
        &self,
        caller: Caller,
        name: &str,
        tags: &Tags,
    ) -> CoreResult<Bucket> {
        self.create_new_bucket(caller, name, tags, None).await
    }

    /// Creates bucket `name` for the caller with `tags` and, when `lock`
    /// is given, Object Lock (and versioning Enabled), all in one
    /// statement.
    ///
    /// # Errors
    /// As [`Self::create_bucket`].
    #[tracing::instrument(skip(self, tags, lock), fields(owner = %caller.user_id, tags = tags.len(), locked = lock.is_some()))]
    pub(crate) async fn create_new_bucket(
        &self,
        caller: Caller,
        name: &str,
        tags: &Tags,
        lock: Option<&ObjectLockConfig>,
    ) -> CoreResult<Bucket> {
        let (bucket, created, _, _) = self.ensure(caller, name, tags, None, lock).await.map_err(|e| match e {
            CoreError::Forbidden(_) => CoreError::conflict(
                ConflictKind::AlreadyExists,
                format!(
                    "the bucket name `{name}` is taken by another account; bucket names are global, pick another"
                ),
            ),
            other => other,
        })?;
        if !created {
            return Err(CoreError::conflict(
                ConflictKind::AlreadyOwnedByYou,
                format!("you already own the bucket `{name}`"),
            ));
        }
        Ok(bucket)
    }

    /// The caller's bucket `name`, created if it does not exist; the flag
    /// says whether it was created now.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name; `Forbidden` when another account owns
    /// the name.
    pub async fn ensure_bucket(
        &self,
        caller: Caller,
        name: &str,
        access: Access<'_>,
    ) -> CoreResult<(Bucket, bool)> {
        let (bucket, created, _, _) = self
            .ensure(caller, name, &Tags::default(), Some(access), None)
            .await?;
        Ok((bucket, created))
    }

    /// [`Self::ensure_bucket`], creating the bucket with `tags`; an
    /// existing bucket is checked for `access` (`None`: CreateBucket, which
    /// refuses an existing bucket anyway), and comes with its lifecycle
    /// configuration and versioning state (a new one has neither). A bucket
    /// created here gets `lock` (Object Lock, versioning Enabled) in the
    /// same statement.
    async fn ensure(
        &self,
        caller: Caller,
        name: &str,
        tags: &Tags,
        access: Option<Access<'_>>,
        lock: Option<&ObjectLockConfig>,
    ) -> CoreResult<(Bucket, bool, Option<LifecycleConfiguration>, Versioning)> {
        let name = BucketName::parse(name)?;
        loop {
            if let Some(found) = self.repo.lookup_bucket(&name).await? {
                let b = found.bucket;
                if b.owner != caller.user_id {
                    return Err(bucket_access_denied(&name));
                }
                if let (Some(access), Some(doc)) = (access, found.policy) {
                    owner_may(&b, stored_policy(&b.name, &doc).as_ref(), caller, &access)?;
                }
                return Ok((b, false, found.lifecycle, found.versioning));
            }
            let bucket = Bucket {
                name: BucketName::parse_new(name.as_str())?,
                owner: caller.user_id,
                created_at: now_utc(),
            };
            match self.repo.create_bucket(&bucket, tags, lock).await {
                Ok(()) => {
                    tracing::info!(bucket = %name, "bucket created");
                    let versioning = if lock.is_some() {
                        Versioning::Enabled
                    } else {
                        Versioning::Unversioned
                    };
                    return Ok((bucket, true, None, versioning));
                }
                // Someone created it in between: look again at who.
                Err(CoreError::Conflict {
                    kind: ConflictKind::AlreadyExists,
                    ..
                }) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The bucket `name` if `reader` may see it (S3's HeadBucket, which
    /// needs `s3:ListBucket`): the caller's own bucket, or one whose
    /// policy grants `s3:ListBucket` to everyone.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn head_bucket(&self, reader: impl Into<Reader>, name: &str) -> CoreResult<Bucket> {
        Ok(self
            .readable_bucket(&reader.into(), name, PublicAction::ListBucket, None)
            .await?
            .0)
    }

    /// One page of the caller's buckets, by name (the owner is always the
    /// caller: a position from anyone's page only says where to start).
    ///
    /// # Errors
    /// `InvalidInput` for a limit of 0; database failures.
    pub async fn list_buckets(
        &self,
        caller: Caller,
        input: &ListBucketsInput,
    ) -> CoreResult<BucketPage> {
        listing::list_buckets(self.repo.as_ref(), caller.user_id, input).await
    }

    /// Deletes the caller's empty bucket.
    ///
    /// # Errors
    /// `NotFound(Bucket)`, `Forbidden` (someone else's),
    /// `Conflict(BucketNotEmpty)`.
    #[tracing::instrument(skip(self), fields(owner = %caller.user_id))]
    pub async fn delete_bucket(&self, caller: Caller, name: &str) -> CoreResult<()> {
        let found = self
            .checked_bucket(caller, name, Access::bucket(S3Action::DeleteBucket))
            .await?;
        // In a bucket that was ever versioned, what is left may be only
        // noncurrent versions and delete markers, which a plain listing
        // does not show: say where to look.
        let what = if found.versioning == Versioning::Unversioned {
            "its objects".to_owned()
        } else {
            format!(
                "every version and delete marker in it (S3's ListObjectVersions lists them, \
                 as does GET /storage/{name}?versions)"
            )
        };
        let part_blobs = self
            .repo
            .delete_bucket(caller.user_id, &found.bucket.name)
            .await
            .map_err(|e| match e {
                CoreError::Conflict {
                    kind: ConflictKind::BucketNotEmpty,
                    ..
                } => CoreError::conflict(
                    ConflictKind::BucketNotEmpty,
                    format!("the bucket `{name}` is not empty; delete {what} first"),
                ),
                other => other,
            })?;
        // The parts of the uploads that were in progress in it.
        for blob in part_blobs {
            self.discard(blob).await;
        }
        tracing::info!(bucket = %name, "bucket deleted");
        Ok(())
    }

    /// Writes an object: the body streams to a new blob (durable when the
    /// call returns), then the metadata commits, then the replaced version's
    /// blob is removed. A failure at any step leaves the previous version.
    ///
    /// # Errors
    /// `InvalidInput` (name, key, metadata, interrupted body), `NotFound`/
    /// `Forbidden` for the bucket, `TooLarge`, `BadDigest`.
    #[tracing::instrument(skip(self, input), fields(owner = %caller.user_id, bucket = %input.bucket))]
    pub async fn put_object(
        &self,
        caller: Caller,
        input: PutObjectInput,
    ) -> CoreResult<ObjectMeta> {
        Ok(self.put_object_expiring(caller, input).await?.0)
    }

    /// [`Self::put_object`], with when the bucket's lifecycle expires the
    /// new object (`None`: never), from the configuration read with the
    /// bucket before the body (S3's `x-amz-expiration`). A write that
    /// gives the object tags needs `s3:PutObjectTagging` too
    /// ([`S3Action::object_write`]).
    ///
    /// # Errors
    /// As [`Self::put_object`].
    pub async fn put_object_expiring(
        &self,
        caller: Caller,
        input: PutObjectInput,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>)> {
        self.put_object_locked(caller, input, ObjectLock::default())
            .await
    }

    /// [`Self::put_object_expiring`], the new version locked by `lock` (a
    /// form upload's `x-amz-object-lock-*` fields; the bucket's default
    /// retention, if any, when it names none). The caller has checked the
    /// lock against the bucket ([`Self::object_lock_for_write`]), as an S3
    /// PutObject's access check does.
    ///
    /// # Errors
    /// As [`Self::put_object`].
    pub async fn put_object_locked(
        &self,
        caller: Caller,
        input: PutObjectInput,
        lock: ObjectLock,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>)> {
        let action = S3Action::object_write(!input.tags.is_empty());
        self.put_object_as(caller, input, action, lock, DEFAULT_CHECKSUM)
            .await
    }

    /// [`Self::put_object_expiring`], checked for `action` (a copy keeping
    /// its source's tags sets none of its own: `s3:PutObject` alone), the
    /// new version locked by `lock` (the bucket's default retention, if
    /// any, when it names none).
    async fn put_object_as(
        &self,
        caller: Caller,
        input: PutObjectInput,
        action: S3Action,
        lock: ObjectLock,
        sum: ChecksumAlgorithm,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>)> {
        let PutObjectInput {
            bucket,
            key,
            body,
            content_length,
            content_type,
            user_metadata,
            headers,
            expected_md5,
            create_bucket,
            condition,
            tags,
        } = input;
        validate_object_fields(content_type.as_deref(), &user_metadata, &headers)?;
        // Without a checksum of its own (a form's field), the object gets
        // S3's default one, computed as the body streams (as PutObject on
        // the S3 endpoint does).
        let mut headers = headers;
        let default_sum = (!headers
            .keys()
            .any(|k| k.starts_with("x-amz-checksum-") && k != CHECKSUM_TYPE_HEADER))
        .then(|| Arc::new(std::sync::Mutex::new(Some(sum.hasher()))));
        let body = feeding(body, default_sum.as_ref());
        let (blob_id, written, lifecycle, versioning) = self
            .write_checked_blob(
                caller,
                &bucket,
                &key,
                action,
                create_bucket,
                &condition,
                body,
                content_length,
                expected_md5,
                // The native API and form uploads: S3's checksum rule
                // for locked writes is the S3 PutObject's.
                true,
            )
            .await?;
        if let Some(value) = default_sum
            .and_then(|state| state.lock().ok()?.take())
            .map(|h| h.finalize())
        {
            headers.insert(checksum_header(sum), value);
        }
        let meta = self
            .commit_object(
                caller,
                CommitObject {
                    bucket,
                    key,
                    blob_id,
                    size_bytes: written.size_bytes,
                    etag: ETag::from_md5(&written.md5),
                    content_type,
                    user_metadata,
                    headers,
                    condition,
                    parts: Vec::new(),
                    tags,
                    versioning,
                    lock,
                },
            )
            .await?;
        let expiration = lifecycle.and_then(|l| l.expiration(&meta));
        Ok((meta, expiration))
    }

    /// Checks that `caller` may write `key` into `bucket` under
    /// `condition` for `action` (`PutObject`, or `PutObjectWithTags` when
    /// the request gives the object tags: [`S3Action::object_write`]),
    /// creating the bucket for them when `create_bucket` says so and the
    /// write does not need the key to exist, and streams `body`
    /// into a verified blob (see
    /// [`write_verified_blob`](Self::write_verified_blob)), which the caller
    /// then commits, with the bucket's lifecycle configuration (which says
    /// when the object will expire). A large or undeclared body, or a conditional write, is
    /// refused before a byte is read; a small declared body has its bucket
    /// looked up while the blob is written (the lookup hides behind the
    /// fsync), and a refusal then removes the blob; a write that sets tags
    /// is checked before a byte is read whatever its size.
    ///
    /// `summed` says the request carries a checksum of its body, or needs
    /// none: S3 refuses a PutObject without one into a bucket whose
    /// default retention would lock the new version
    /// ([`lock_needs_checksum`]; the native API has no such rule).
    ///
    /// # Errors
    /// Bucket and condition refusals (`InvalidRequest` for a missing
    /// checksum), and those of
    /// [`write_verified_blob`](Self::write_verified_blob).
    #[allow(clippy::too_many_arguments)]
    pub async fn write_checked_blob(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        action: S3Action,
        create_bucket: bool,
        condition: &WriteCondition,
        body: ByteStream,
        content_length: Option<u64>,
        expected_md5: Option<[u8; 16]>,
        summed: bool,
    ) -> CoreResult<(
        BlobId,
        WrittenBlob,
        Option<LifecycleConfiguration>,
        Versioning,
    )> {
        // The names first: a request that can only be refused must not
        // write (and fsync) a blob before it is.
        BucketName::parse(bucket)?;
        ObjectKey::parse(key)?;
        if content_length.is_some_and(|len| len > self.max_object_size_bytes) {
            return Err(self.too_large());
        }
        if create_bucket {
            // Before the bucket is made: a write refused for want of space
            // must not leave a new empty bucket behind.
            self.check_room(content_length.unwrap_or(0))?;
        }
        let allowed = async {
            let target = self
                .writable_bucket(
                    caller,
                    bucket,
                    key,
                    action,
                    create_bucket,
                    condition,
                    summed,
                )
                .await?;
            self.check_write(caller, bucket, key, condition).await?;
            Ok(target)
        };
        // The size was checked above; the room too, when a bucket may be
        // made (else here, as the write starts, as before).
        let write = async {
            if !create_bucket {
                self.check_room(content_length.unwrap_or(0))?;
            }
            self.write_admitted_blob(body, content_length, expected_md5)
                .await
        };
        if *condition != WriteCondition::Always
            || action != S3Action::PutObject
            || content_length.is_none_or(|len| len > OVERLAPPED_CHECK_MAX_BYTES)
        {
            let (lifecycle, versioning) = allowed.await?;
            let (blob_id, written) = write.await?;
            return Ok((blob_id, written, lifecycle, versioning));
        }
        let (allowed, written) = futures::join!(allowed, write);
        match allowed {
            Ok((lifecycle, versioning)) => {
                written.map(|(blob_id, written)| (blob_id, written, lifecycle, versioning))
            }
            Err(e) => {
                if let Ok((blob_id, _)) = written {
                    self.discard(blob_id).await;
                }
                Err(e)
            }
        }
    }

    /// Streams `body` into a new blob and checks it against the declared
    /// length and MD5; on a mismatch the blob is removed. The caller commits
    /// the blob (or removes it): writers that learn part of the metadata only
    /// from the body itself (the S3 trailing checksums of `aws-chunked`
    /// uploads) and multipart parts commit it themselves.
    ///
    /// # Errors
    /// `TooLarge`, `InvalidInput` (short or interrupted body), `BadDigest`,
    /// and the errors a body carries (see [`body_error`](super::body_error)).
    pub async fn write_verified_blob(
        &self,
        body: ByteStream,
        content_length: Option<u64>,
        expected_md5: Option<[u8; 16]>,
    ) -> CoreResult<(BlobId, WrittenBlob)> {
        if content_length.is_some_and(|len| len > self.max_object_size_bytes) {
            return Err(self.too_large());
        }
        self.check_room(content_length.unwrap_or(0))?;
        self.write_admitted_blob(body, content_length, expected_md5)
            .await
    }

    /// [`Self::write_verified_blob`] once its admission (size, room) has
    /// been checked.
    async fn write_admitted_blob(
        &self,
        body: ByteStream,
        content_length: Option<u64>,
        expected_md5: Option<[u8; 16]>,
    ) -> CoreResult<(BlobId, WrittenBlob)> {
        let body = self.guarding_reserve(body);
        let blob_id = BlobId::new();
        let written = self
            .blobs
            .write(blob_id, body, self.max_object_size_bytes)
            .await
            .map_err(|e| match e {
                CoreError::TooLarge(_) => self.too_large(),
                other => other,
            })?;
        let mismatch = match (content_length, expected_md5) {
            (Some(len), _) if len != written.size_bytes => Some(CoreError::invalid(format!(
                "the body had {} bytes but Content-Length said {len}",
                written.size_bytes
            ))),
            (_, Some(md5)) if md5 != written.md5 => Some(CoreError::BadDigest(
                "The Content-MD5 you specified did not match what we received.".into(),
            )),
            _ => None,
        };
        if let Some(err) = mismatch {
            self.discard(blob_id).await;
            return Err(err);
        }
        Ok((blob_id, written))
    }

    /// The bucket a write goes to, which `caller` must own; created for
    /// them when `create` says so (the native API) and the write does not
    /// need the key to exist. Its lifecycle configuration comes back.
    #[allow(clippy::too_many_arguments)]
    async fn writable_bucket(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        action: S3Action,
        create: bool,
        condition: &WriteCondition,
        summed: bool,
    ) -> CoreResult<(Option<LifecycleConfiguration>, Versioning)> {
        let access = Access::object(action, key);
        let found =
            if create && matches!(condition, WriteCondition::Always | WriteCondition::Absent) {
                let (_, _, lifecycle, versioning) = self
                    .ensure(caller, bucket, &Tags::default(), Some(access), None)
                    .await?;
                if summed {
                    return Ok((lifecycle, versioning));
                }
                // Only the native API creates buckets on a write, and it
                // passes `summed`: this second lookup is for completeness.
                self.checked_bucket(caller, bucket, Access::object(action, key))
                    .await?
            } else {
                self.checked_bucket(caller, bucket, access).await?
            };
        if !summed && ObjectLockConfig::retains_by_default(found.object_lock.as_ref()) {
            return Err(lock_needs_checksum("Put Object"));
        }
        Ok((found.lifecycle, found.versioning))
    }

    /// [`Self::bucket`] as the lookup read it (lifecycle, versioning,
    /// Object Lock), access checked.
    ///
    /// # Errors
    /// As [`Self::bucket`].
    pub(crate) async fn bucket_lookup(
        &self,
        caller: Caller,
        name: &str,
        access: Access<'_>,
    ) -> CoreResult<BucketLookup> {
        self.checked_bucket(caller, name, access).await
    }

    /// Checks `condition` against the current version of `bucket`/`key`,
    /// before a conditional write reads its body. Only an early answer: the
    /// commit checks again, atomically.
    ///
    /// # Errors
    /// Bucket and key errors; the refusals of [`WriteCondition::check`].
    pub async fn check_write(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        condition: &WriteCondition,
    ) -> CoreResult<()> {
        if *condition == WriteCondition::Always {
            return Ok(());
        }
        let bucket = self
            .bucket(caller, bucket, Access::object(S3Action::PutObject, key))
            .await?;
        let key = ObjectKey::parse(key)?;
        let current = self.repo.get_object(&bucket.name, &key).await?;
        condition.check(
            bucket.name.as_str(),
            key.as_str(),
            current.as_ref().map(|m| &m.etag),
        )
    }

    /// Commits a blob that is already durable in the store as the current
    /// version of a key (through the group commit), then removes the
    /// replaced version's blob. On failure the new blob is removed and the
    /// previous version stays.
    ///
    /// # Errors
    /// As [`put_object`](Self::put_object), minus the body errors.
    pub async fn commit_object(&self, caller: Caller, c: CommitObject) -> CoreResult<ObjectMeta> {
        let blob_id = c.blob_id;
        let write = match object_write(caller, c) {
            Ok(write) => write,
            Err(e) => {
                self.discard(blob_id).await;
                return Err(e);
            }
        };
        let replaced = match self.commits.commit(write.clone()).await {
            Ok(replaced) => replaced,
            Err(e) => {
                self.discard_uncommitted(blob_id, &e).await;
                return Err(commit_error(e, &write.meta.bucket));
            }
        };
        if let Some(old) = replaced {
            self.discard(old).await;
        }
        let meta = write.meta;
        tracing::debug!(object_id = %meta.id, size_bytes = meta.size_bytes, "object written");
        Ok(meta)
    }

    /// Removes the blob of a write whose commit failed, unless the commit
    /// may have happened all the same (its answer lost with the
    /// connection, see [`CoreError::outcome_unknown`]): then the blob
    /// stays, since removing it could leave a committed row without its
    /// bytes; if nothing was committed it is an orphan, which the next
    /// start-up sweep removes. (Asking the database again could race a
    /// commit still in flight on its side.)
    pub(crate) async fn discard_uncommitted(&self, blob: BlobId, err: &CoreError) {
        if err.outcome_unknown() {
            tracing::warn!(blob_id = %blob, error = %err, "the answer to a write's commit was lost; its blob is kept in case it was committed (if not, the start-up sweep removes it)");
        } else {
            self.discard(blob).await;
        }
    }

    /// Removes a blob that is no longer (or never was) referenced; a
    /// failure only leaves an orphan for the next start-up sweep.
    async fn discard(&self, blob: BlobId) {
        if let Err(e) = self.blobs.delete(blob).await {
            tracing::warn!(blob_id = %blob, error = %e, "could not remove a blob; the start-up sweep will");
        }
    }

    fn too_large(&self) -> CoreError {
        CoreError::TooLarge(format!(
            "the object is larger than this server's limit of {} bytes (--max-object-size)",
            self.max_object_size_bytes
        ))
    }

    /// The metadata of an object `reader` may read for `action`, with the
    /// public grant that let the read in (if it was not the owner's) and
    /// the bucket's lifecycle configuration.
    async fn object_meta_as(
        &self,
        reader: &Reader,
        action: PublicAction,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> CoreResult<ObjectRead> {
        if let Some(version) = version {
            return self
                .version_read(reader, action, bucket, key, version)
                .await;
        }
        if let Some(found) = self.joined_read(reader, action, bucket, key).await? {
            return Ok(found);
        }
        let (bucket, grant, lifecycle) = self
            .readable_bucket(reader, bucket, action, Some(key))
            .await?;
        let key = ObjectKey::parse(key)?;
        let meta = self.repo.get_object(&bucket.name, &key).await?;
        // Only requests refused above come here (a name that does not
        // parse, a grant not for this object), so no bucket state is read
        // for the answer.
        found_object(
            meta,
            grant,
            lifecycle,
            Versioning::Unversioned,
            key.as_str(),
            ObjectView::HIDDEN,
        )
    }

    /// [`Self::object_meta_as`] with the bucket and the object read by one
    /// [`StorageRepo::lookup_object`] (the two lookups of every GET and
    /// HEAD, one round trip to the database). `None` when the names do not
    /// parse, or an anonymous reader's grant is not for this object: the
    /// general path then answers, with its errors in its order.
    async fn joined_read(
        &self,
        reader: &Reader,
        action: PublicAction,
        bucket: &str,
        key: &str,
    ) -> CoreResult<Option<ObjectRead>> {
        let Reader::Public(grant) = reader else {
            return self.signed_read(reader, action, bucket, key).await;
        };
        if grant.bucket != bucket || grant.action != action || grant.key.as_deref() != Some(key) {
            return Ok(None);
        }
        let (Ok(name), Ok(object_key)) = (BucketName::parse(bucket), ObjectKey::parse(key)) else {
            return Ok(None);
        };
        let denied = || CoreError::Forbidden("Access Denied".into());
        // The grant was given for the bucket of this owner: a bucket that
        // went away or changed hands since is refused, as a missing one.
        let (found, meta) = match self.repo.lookup_object(&name, &object_key).await? {
            Some((found, meta)) if found.bucket.owner == grant.owner => (found, meta),
            _ => return Err(denied()),
        };
        if meta.is_none() && grant.may_list && found.versioning.is_versioned() {
            self.refuse_delete_marker(&name, &object_key).await?;
        }
        found_object(
            meta,
            Some(grant.clone()),
            found.lifecycle,
            found.versioning,
            key,
            ObjectView::HIDDEN,
        )
        .map(Some)
    }

    /// [`Self::joined_read`] for a signed reader: the bucket's owner, or
    /// another account's caller through its grant.
    async fn signed_read(
        &self,
        reader: &Reader,
        action: PublicAction,
        bucket: &str,
        key: &str,
    ) -> CoreResult<Option<ObjectRead>> {
        let (Reader::Owner(caller) | Reader::Signed(caller)) = reader else {
            return Ok(None);
        };
        let (Ok(name), Ok(object_key)) = (BucketName::parse(bucket), ObjectKey::parse(key)) else {
            return Ok(None);
        };
        let Some((found, meta)) = self.repo.lookup_object(&name, &object_key).await? else {
            return Err(CoreError::not_found(Resource::Bucket, name.as_str()));
        };
        let versioning = found.versioning;
        let versioned = versioning.is_versioned();
        if found.bucket.owner != caller.user_id {
            if matches!(reader, Reader::Owner(_)) {
                return Err(bucket_access_denied(&name));
            }
            // Another account's bucket: its grant, and the object already
            // read (refused below unless granted).
            let (_, grant, lifecycle) = self
                .granted_to_other(*caller, found, action, Some(key))
                .await?;
            if meta.is_none() && versioned && grant.as_ref().is_none_or(|g| g.may_list) {
                self.refuse_delete_marker(&name, &object_key).await?;
            }
            return found_object(meta, grant, lifecycle, versioning, key, ObjectView::HIDDEN)
                .map(Some);
        }
        let policy = found
            .policy
            .and_then(|doc| stored_policy(&found.bucket.name, &doc));
        owner_may(
            &found.bucket,
            policy.as_ref(),
            *caller,
            &Access::object(action.action(), key),
        )?;
        if meta.is_none() && versioned {
            self.refuse_delete_marker(&name, &object_key).await?;
        }
        let view = owner_view(&found.bucket, policy.as_ref(), *caller, key, false);
        found_object(meta, None, found.lifecycle, versioning, key, view).map(Some)
    }

    /// For a key of a versioned bucket that has no current version: S3's
    /// answer when its latest version is a delete marker (404 `NoSuchKey`
    /// saying `x-amz-delete-marker: true`), else nothing (plain
    /// `NoSuchKey` follows). Only on that miss: a read that finds its
    /// object, or a miss in a bucket never versioned, asks nothing more.
    async fn refuse_delete_marker(&self, bucket: &BucketName, key: &ObjectKey) -> CoreResult<()> {
        match self.latest_delete_marker(bucket, key).await? {
            Some(marker) => Err(CoreError::DeleteMarker {
                key: key.as_str().to_owned(),
                version_id: marker.version_id().to_string(),
                by_version: false,
                last_modified: Some(marker.last_modified),
            }),
            None => Ok(()),
        }
    }

    /// An object's metadata, after its conditions, with when the bucket's
    /// lifecycle expires it.
    ///
    /// # Errors
    /// `NotFound(Bucket|Object)`, `Forbidden`, `PreconditionFailed`.
    pub async fn head_object(
        &self,
        caller: impl Into<Reader>,
        bucket: &str,
        key: &str,
        conditions: &Conditions,
    ) -> CoreResult<HeadObjectOutput> {
        self.head_object_at(caller, bucket, key, conditions, None)
            .await
    }

    /// [`Self::head_object`] of version `version` (`None`: the current
    /// one; a version is read by the bucket's owner, or by whom its policy
    /// grants `s3:GetObjectVersion`, see [`Self::version_read`]).
    ///
    /// # Errors
    /// As [`Self::head_object`]; `VersionNotFound`, `DeleteMarker`.
    pub async fn head_object_at(
        &self,
        caller: impl Into<Reader>,
        bucket: &str,
        key: &str,
        conditions: &Conditions,
        version: Option<VersionId>,
    ) -> CoreResult<HeadObjectOutput> {
        let (mut meta, _, lifecycle, tags_readable) = self
            .object_meta_as(
                &caller.into(),
                PublicAction::GetObject,
                bucket,
                key,
                version,
            )
            .await?;
        let expiration = lifecycle.and_then(|l| l.expiration(&meta));
        hide_tags_unless_readable(&mut meta, tags_readable);
        Ok(match conditions.evaluate(&meta)? {
            Evaluation::Proceed => HeadObjectOutput::Found { expiration, meta },
            Evaluation::NotModified => HeadObjectOutput::NotModified(meta, expiration),
        })
    }

    /// An object's metadata for S3's GetObjectAttributes: the owner's
    /// object, or another account's whose policy grants everyone both
    /// `s3:GetObject` and `s3:GetObjectAttributes` on it
    /// ([`PublicAction::GetObjectAttributes`]). Whoever reads, the answer
    /// is the same.
    ///
    /// # Errors
    /// `NotFound(Bucket|Object)` (a missing key is `Forbidden` for a
    /// reader the policy does not also let list the bucket), `Forbidden`.
    pub async fn get_object_attributes(
        &self,
        reader: impl Into<Reader>,
        bucket: &str,
        key: &str,
    ) -> CoreResult<ObjectMeta> {
        self.get_object_attributes_at(reader, bucket, key, None)
            .await
    }

    /// [`Self::get_object_attributes`] of version `version` (`None`: the
    /// current one).
    ///
    /// # Errors
    /// As [`Self::get_object_attributes`]; `VersionNotFound`,
    /// `DeleteMarker`.
    pub async fn get_object_attributes_at(
        &self,
        reader: impl Into<Reader>,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> CoreResult<ObjectMeta> {
        let reader = reader.into();
        let action = PublicAction::GetObjectAttributes;
        Ok(self
            .object_meta_as(&reader, action, bucket, key, version)
            .await?
            .0)
    }

    /// The owner of an existing object, for S3's GetObjectAcl (ACLs are
    /// disabled: an object's ACL is its bucket owner's full control): the
    /// caller's own object, or another account's whose policy grants
    /// everyone `s3:GetObjectAcl` on it ([`PublicAction::GetObjectAcl`]).
    /// With `version`, that version of the key, current or not, under
    /// `s3:GetObjectVersionAcl`.
    ///
    /// # Errors
    /// As [`Self::get_object_attributes`].
    pub async fn get_object_acl_owner(
        &self,
        reader: impl Into<Reader>,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> CoreResult<UserId> {
        let reader = reader.into();
        let action = PublicAction::GetObjectAcl;
        let (_, grant, _, _) = self
            .object_meta_as(&reader, action, bucket, key, version)
            .await?;
        // Without a grant the reader read their own bucket.
        Ok(match (grant, reader) {
            (Some(grant), _) => grant.owner,
            (None, Reader::Owner(caller) | Reader::Signed(caller)) => caller.user_id,
            (None, Reader::Public(grant)) => grant.owner,
        })
    }

    /// Reads an object (or a range of it), after its conditions, with when
    /// the bucket's lifecycle expires it.
    ///
    /// # Errors
    /// `NotFound(Bucket|Object)`, `Forbidden`, `PreconditionFailed`,
    /// `RangeNotSatisfiable`.
    pub async fn get_object(
        &self,
        caller: impl Into<Reader>,
        bucket: &str,
        key: &str,
        options: &GetObjectOptions,
    ) -> CoreResult<GetObjectOutput> {
        let (mut read, tags_readable) = self
            .read_object(&caller.into(), bucket, key, options)
            .await?;
        let (GetObjectOutput::Body { meta, .. } | GetObjectOutput::NotModified(meta, _)) =
            &mut read;
        hide_tags_unless_readable(meta, tags_readable);
        Ok(read)
    }

    /// [`get_object`](Self::get_object), with the public grant that let the
    /// read in (if it was not the owner's).
    async fn read_object(
        &self,
        reader: &Reader,
        bucket: &str,
        key: &str,
        options: &GetObjectOptions,
    ) -> CoreResult<(GetObjectOutput, bool)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (meta, _, lifecycle, tags_readable) = self
                .object_meta_as(
                    reader,
                    PublicAction::GetObject,
                    bucket,
                    key,
                    options.version,
                )
                .await?;
            if conditions_say_not_modified(&options.conditions, &meta)? {
                let expiration = lifecycle.and_then(|l| l.expiration(&meta));
                return Ok((
                    GetObjectOutput::NotModified(meta, expiration),
                    tags_readable,
                ));
            }
            let range = match options.part_number {
                Some(number) => meta.part_range(number)?,
                None => options
                    .range
                    .filter(|_| {
                        options
                            .if_range
                            .as_ref()
                            .is_none_or(|v| v.holds(meta.etag.as_str(), meta.last_modified))
                    })
                    .map(|spec| spec.resolve(meta.size_bytes))
                    .transpose()?,
            };
            match self
                .blobs
                .read(meta.blob_id, Some(meta.size_bytes), range)
                .await
            {
                Ok(body) => {
                    let expiration = lifecycle.and_then(|l| l.expiration(&meta));
                    let read = GetObjectOutput::Body {
                        meta,
                        expiration,
                        range,
                        body,
                    };
                    return Ok((read, tags_readable));
                }
                // Replaced and removed between the row and the open: the row
                // now names a newer blob.
                Err(CoreError::NotFound { .. }) if attempt < READ_ATTEMPTS => continue,
                Err(CoreError::NotFound { .. }) => {
                    return Err(CoreError::internal_msg(format!(
                        "the blob of object {} is missing",
                        meta.id
                    )));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes an object (row and blob); returns whether it existed. In a
    /// versioned bucket it inserts a delete marker instead (see
    /// [`Self::delete_object_at`]), and answers `true`.
    ///
    /// # Errors
    /// `NotFound(Bucket)`, `Forbidden`, `InvalidInput` for a bad key.
    pub async fn delete_object(&self, caller: Caller, bucket: &str, key: &str) -> CoreResult<bool> {
        Ok(self
            .delete_object_at(caller, bucket, &DeleteTarget::key(key), false)
            .await?
            .existed)
    }

    /// Deletes several objects of one bucket; one result per key, in order
    /// (a key the bucket's policy denies `s3:DeleteObject` on is
    /// `Forbidden`, as S3 answers that entry `AccessDenied`).
    ///
    /// # Errors
    /// `NotFound(Bucket)` or `Forbidden` for the bucket as a whole.
    pub async fn delete_objects(
        &self,
        caller: Caller,
        bucket: &str,
        keys: &[String],
    ) -> CoreResult<Vec<CoreResult<bool>>> {
        let entries: Vec<DeleteTarget> = keys.iter().map(DeleteTarget::key).collect();
        Ok(self
            .delete_objects_at(caller, bucket, &entries, false)
            .await?
            .into_iter()
            .map(|r| r.map(|outcome| outcome.existed))
            .collect())
    }

    /// One page of the caller's bucket, in byte order of keys.
    ///
    /// # Errors
    /// `NotFound(Bucket)`, `Forbidden`, `InvalidInput` for a page size over
    /// the maximum.
    pub async fn list_objects(
        &self,
        caller: impl Into<Reader>,
        bucket: &str,
        input: &ListObjectsInput,
    ) -> CoreResult<ListObjectsPage> {
        let (bucket, _, _) = self
            .readable_bucket(&caller.into(), bucket, PublicAction::ListBucket, None)
            .await?;
        listing::list(self.repo.as_ref(), &bucket, input).await
    }

    /// The owner of bucket `name`, for S3's GetBucketAcl (ACLs are
    /// disabled: a bucket's ACL is its owner's full control): the caller's
    /// own bucket (unless the policy denies them `s3:GetBucketAcl`), or
    /// another account's whose policy grants the reader `s3:GetBucketAcl`
    /// ([`PublicAction::GetBucketAcl`]).
    ///
    /// # Errors
    /// `InvalidInput` for a bad name, `NotFound(Bucket)`, `Forbidden`.
    pub async fn bucket_acl_owner(
        &self,
        reader: impl Into<Reader>,
        name: &str,
    ) -> CoreResult<UserId> {
        let action = PublicAction::GetBucketAcl;
        let (bucket, _, _) = self
            .readable_bucket(&reader.into(), name, action, None)
            .await?;
        Ok(bucket.owner)
    }

    /// The metadata of the caller's object `key` of `bucket`, for an
    /// operation on it other than a read of it (`action`: S3's
    /// PutObjectAcl, GetObjectTagging …), which the bucket's policy may
    /// deny.
    ///
    /// # Errors
    /// `NotFound(Bucket|Object)`, `Forbidden`, `InvalidInput` for a bad key.
    pub async fn owned_object(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        action: S3Action,
    ) -> CoreResult<ObjectMeta> {
        let bucket = self
            .bucket(caller, bucket, Access::object(action, key))
            .await?;
        let key = ObjectKey::parse(key)?;
        match self.repo.get_object(&bucket.name, &key).await? {
            Some(meta) => Ok(meta),
            None => Err(CoreError::not_found(Resource::Object, key.as_str())),
        }
    }

    /// Copies an object (streaming its bytes into a new blob) to a bucket
    /// of the caller's, under `conditions` on the source; its metadata and
    /// its tags come from the source or the directives. The source is read
    /// as a [`Reader::Signed`]: the caller's own object, or another
    /// account's that the bucket's policy lets everyone read
    /// (`s3:GetObject`, as S3 requires of a copy source).
    ///
    /// # Errors
    /// As a read of the source (a "not modified" source is
    /// `PreconditionFailed`) and a write of the destination; `Forbidden`
    /// for copying the tags of another account's object (the default
    /// tagging directive) when its policy does not also grant
    /// `s3:GetObjectTagging` on it (`s3:GetObjectVersionTagging` for a
    /// version named).
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip(self, conditions, directive, tagging), fields(owner = %caller.user_id))]
    pub async fn copy_object(
        &self,
        caller: Caller,
        src_bucket: &str,
        src_key: &str,
        conditions: &Conditions,
        dst_bucket: &str,
        dst_key: &str,
        directive: MetadataDirective,
        tagging: TaggingDirective,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>)> {
        let (meta, expiration, _) = self
            .copy_object_version(
                caller,
                src_bucket,
                src_key,
                None,
                conditions,
                dst_bucket,
                dst_key,
                directive,
                tagging,
                WriteCondition::Always,
                ObjectLock::default(),
                None,
            )
            .await?;
        Ok((meta, expiration))
    }

    /// [`Self::copy_object`] from version `src_version` of the source
    /// (`None`: its current version; another account's version needs its
    /// bucket's policy to grant `s3:GetObjectVersion`). Also answers the version id of the source version
    /// copied, as an answer names it ([`ObjectMeta::answered_version_id`]:
    /// S3's `x-amz-copy-source-version-id`). `dst_condition` is checked
    /// against the destination key, before the copy and atomically with
    /// its commit, as a PUT's.
    ///
    /// # Errors
    /// As [`Self::copy_object`]; `VersionNotFound`, `DeleteMarker`;
    /// `PreconditionFailed` (or `NotFound(Object)` for `If-Match` on a
    /// missing key) when `dst_condition` does not hold.
    ///
    /// The copy is a new version locked by `lock` (the request's
    /// `x-amz-object-lock-*`), else by the destination bucket's default
    /// retention; never by the source's lock, which S3 does not copy.
    ///
    /// With `checksum` (S3's `x-amz-checksum-algorithm`) the copy gets a
    /// checksum of its bytes in that algorithm, computed as they stream,
    /// instead of the source's: how S3 adds or changes an object's checksum.
    #[allow(clippy::too_many_arguments)]
    pub async fn copy_object_version(
        &self,
        caller: Caller,
        src_bucket: &str,
        src_key: &str,
        src_version: Option<VersionId>,
        conditions: &Conditions,
        dst_bucket: &str,
        dst_key: &str,
        directive: MetadataDirective,
        tagging: TaggingDirective,
        dst_condition: WriteCondition,
        lock: ObjectLock,
        checksum: Option<ChecksumAlgorithm>,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>, Option<VersionId>)> {
        // Tags given by the request (`REPLACE`) need s3:PutObjectTagging
        // too; the source's, copied along, do not.
        let action = S3Action::object_write(
            matches!(&tagging, TaggingDirective::Replace(tags) if !tags.is_empty()),
        );
        self.bucket(caller, dst_bucket, Access::object(action, dst_key))
            .await?;
        ObjectKey::parse(dst_key)?;
        let options = GetObjectOptions {
            if_range: None,
            range: None,
            part_number: None,
            conditions: conditions.clone(),
            version: src_version,
        };
        let (source, body, tags_readable) = match self
            .read_object(&Reader::Signed(caller), src_bucket, src_key, &options)
            .await
            .map_err(copy_source_error)?
        {
            (GetObjectOutput::Body { meta, body, .. }, tags_readable) => {
                (meta, body, tags_readable)
            }
            (GetObjectOutput::NotModified(..), _) => {
                return Err(CoreError::PreconditionFailed(
                    "the copy source matches If-None-Match / was not modified since".into(),
                ));
            }
        };
        let tags = match tagging {
            TaggingDirective::Copy => {
                // Tags are not part of what s3:GetObject reads: taking them
                // along needs reading them too (another account's object:
                // the policy's grant; the owner: no `Deny` of it).
                if !source.tags.is_empty() && !tags_readable {
                    let needed = if src_version.is_some() {
                        "s3:GetObjectVersionTagging"
                    } else {
                        "s3:GetObjectTagging"
                    };
                    return Err(CoreError::Forbidden(format!(
                        "Access Denied: copying the source's tags needs {needed} on it; copy with the tagging directive REPLACE instead"
                    )));
                }
                source.tags.clone()
            }
            TaggingDirective::Replace(tags) => tags,
        };
        let source_version = source.answered_version_id();
        let mut source_headers = source.headers;
        if !source.parts.is_empty() {
            // The copy is one piece: a multipart source's composite
            // checksum (of its parts' checksums) does not describe it.
            source_headers.retain(|name, _| !name.starts_with("x-amz-checksum-"));
        }
        let (content_type, user_metadata, headers) = match directive {
            MetadataDirective::Copy | MetadataDirective::CopyChanging(_) => {
                let mut headers = source_headers;
                if let MetadataDirective::CopyChanging(changes) = directive {
                    for (name, value) in changes {
                        match value {
                            Some(v) => headers.insert(name, v),
                            None => headers.remove(&name),
                        };
                    }
                    validate_headers(&headers)?;
                }
                (Some(source.content_type), source.user_metadata, headers)
            }
            MetadataDirective::Replace {
                content_type,
                user_metadata,
                mut headers,
            } => {
                // The checksum is not metadata: S3 copies it whatever the
                // directive, unless the request names an algorithm.
                headers.extend(
                    source_headers
                        .into_iter()
                        .filter(|(name, _)| name.starts_with("x-amz-checksum-")),
                );
                (content_type, user_metadata, headers)
            }
        };
        let mut headers = headers;
        if checksum.is_some() {
            // The one asked for replaces whatever the source had.
            headers.retain(|name, _| !name.starts_with("x-amz-checksum-"));
        }
        self.put_object_as(
            caller,
            PutObjectInput {
                bucket: dst_bucket.to_owned(),
                key: dst_key.to_owned(),
                body,
                content_length: Some(source.size_bytes),
                content_type,
                user_metadata,
                headers,
                expected_md5: None,
                create_bucket: false,
                condition: dst_condition,
                tags,
            },
            action,
            lock,
            checksum.unwrap_or(DEFAULT_CHECKSUM),
        )
        .await
        .map(|(meta, expiration)| (meta, expiration, source_version))
    }

    /// The tags of an object, in their stored order: the owner's object
    /// (unless the policy denies them `s3:GetObjectTagging`), or another
    /// account's whose policy grants the reader `s3:GetObjectTagging` on
    /// it ([`PublicAction::GetObjectTagging`]).
    ///
    /// # Errors
    /// `NotFound(Bucket|Object)` (a missing key is `Forbidden` for a
    /// reader the policy does not also let list the bucket), `Forbidden`,
    /// `InvalidInput` for a bad key.
    pub async fn get_object_tags(
        &self,
        reader: impl Into<Reader>,
        bucket: &str,
        key: &str,
    ) -> CoreResult<Tags> {
        Ok(self
            .get_object_tags_at(reader, bucket, key, None)
            .await?
            .tags)
    }

    /// The metadata (with the tags) of version `version` (`None`: the
    /// current one) of an object, for S3's GetObjectTagging, which answers
    /// the version id too.
    ///
    /// # Errors
    /// As [`Self::get_object_tags`]; `VersionNotFound`, `DeleteMarker`.
    pub async fn get_object_tags_at(
        &self,
        reader: impl Into<Reader>,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> CoreResult<ObjectMeta> {
        let reader = reader.into();
        let action = PublicAction::GetObjectTagging;
        Ok(self
            .object_meta_as(&reader, action, bucket, key, version)
            .await?
            .0)
    }

    /// Replaces the tags of the caller's object (an empty set removes
    /// them). Only the tags change: not the body, the ETag, the version id
    /// nor the last-modified time. The update applies, in one statement,
    /// to whichever version is current when it runs; its version id comes
    /// back as an answer names it ([`ObjectMeta::answered_version_id`]:
    /// none in a bucket never versioned).
    ///
    /// # Errors
    /// `NotFound(Bucket|Object)`, `Forbidden`, `InvalidInput` for a bad key.
    pub async fn put_object_tags(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        tags: &Tags,
    ) -> CoreResult<Option<VersionId>> {
        self.put_object_tags_at(caller, bucket, key, None, tags)
            .await
    }

    /// [`Self::put_object_tags`] of version `version` (`None`: the current
    /// one), current or noncurrent (S3's PutObjectTagging with a
    /// `versionId`, which needs `s3:PutObjectVersionTagging`); the answer
    /// names the version.
    ///
    /// # Errors
    /// As [`Self::put_object_tags`]; for a version named, `DeleteMarker`
    /// (`by_version`) when it is a delete marker, `VersionNotFound` when
    /// the key has no such version (`NotFound(Object)` when it has none).
    #[tracing::instrument(skip(self, tags), fields(owner = %caller.user_id, tags = tags.len()))]
    pub async fn put_object_tags_at(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
        tags: &Tags,
    ) -> CoreResult<Option<VersionId>> {
        let action = match version {
            None => S3Action::PutObjectTagging,
            Some(_) => S3Action::PutObjectVersionTagging,
        };
        let access = Access::object(action, key);
        self.write_object_tags(caller, bucket, key, version, tags, access)
            .await
    }

    /// Removes the tags of the caller's object (S3's DeleteObjectTagging,
    /// which needs `s3:DeleteObjectTagging`).
    ///
    /// # Errors
    /// As [`Self::put_object_tags`].
    pub async fn delete_object_tags(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
    ) -> CoreResult<Option<VersionId>> {
        self.delete_object_tags_at(caller, bucket, key, None).await
    }

    /// [`Self::delete_object_tags`] of version `version` (`None`: the
    /// current one), as [`Self::put_object_tags_at`] (a version named
    /// needs `s3:DeleteObjectVersionTagging`).
    ///
    /// # Errors
    /// As [`Self::put_object_tags_at`].
    pub async fn delete_object_tags_at(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> CoreResult<Option<VersionId>> {
        let action = match version {
            None => S3Action::DeleteObjectTagging,
            Some(_) => S3Action::DeleteObjectVersionTagging,
        };
        let access = Access::object(action, key);
        self.write_object_tags(caller, bucket, key, version, &Tags::default(), access)
            .await
    }

    async fn write_object_tags(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
        tags: &Tags,
        access: Access<'_>,
    ) -> CoreResult<Option<VersionId>> {
        let found = self.checked_bucket(caller, bucket, access).await?;
        let name = found.bucket.name;
        let key = ObjectKey::parse(key)?;
        if let Some(version) = version {
            return match self
                .repo
                .set_version_tags(caller.user_id, &name, &key, version, tags)
                .await
                .map_err(|e| commit_error(e, &name))?
            {
                VersionTags::Tagged => {
                    tracing::debug!(%version, "object version tags set");
                    Ok(Some(version))
                }
                VersionTags::DeleteMarker { last_modified } => Err(CoreError::DeleteMarker {
                    key: key.as_str().to_owned(),
                    version_id: version.to_string(),
                    by_version: true,
                    last_modified: Some(last_modified),
                }),
                VersionTags::Missing => Err(self.missing_version(&name, &key, version).await?),
            };
        }
        match self
            .repo
            .set_object_tags(caller.user_id, &name, &key, tags)
            .await?
        {
            Some((id, versioned)) => {
                tracing::debug!(object_id = %id, "object tags set");
                Ok((versioned || found.versioning.is_versioned())
                    .then(|| VersionId::of(id, versioned)))
            }
            None => Err(CoreError::not_found(Resource::Object, key.as_str())),
        }
    }
}

/// An object a read found: its metadata, the grant it was read under (a
/// reader other than the owner), its bucket's lifecycle configuration and
/// whether the reader may see its tags ([`ObjectView::tags`]).
type ObjectRead = (
    ObjectMeta,
    Option<PublicGrant>,
    Option<LifecycleConfiguration>,
    bool,
);

/// What a reader sees of an object beside its body and plain metadata:
/// for the owner, all of it unless the bucket's policy `Deny`s them a read
/// (see [`owner_view`]); for another reader, what the policy's grant
/// allows ([`PublicGrant::lock_view`], [`PublicGrant::may_read_tags`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct ObjectView {
    /// What of the lock is seen.
    pub(super) lock: LockView,
    /// The tags are seen (`x-amz-tagging-count`, and a copy takes them
    /// along): `s3:GetObjectTagging`, `s3:GetObjectVersionTagging` for a
    /// version named.
    pub(super) tags: bool,
}

impl ObjectView {
    /// Nothing beside the body and plain metadata is seen.
    pub(super) const HIDDEN: Self = Self {
        lock: LockView::HIDDEN,
        tags: false,
    };
}

/// The answer of a read that looked `key` up: the object, or `NotFound`
/// for a missing key, except that S3 tells a reader other than the owner
/// that a key is missing only when the policy lets them list the bucket
/// (`AccessDenied` otherwise). The object is told its bucket's
/// `versioning` ([`ObjectMeta::in_versioned_bucket`]), read with the
/// bucket.
fn found_object(
    meta: Option<ObjectMeta>,
    grant: Option<PublicGrant>,
    lifecycle: Option<LifecycleConfiguration>,
    versioning: Versioning,
    key: &str,
    owner_view: ObjectView,
) -> CoreResult<ObjectRead> {
    match meta {
        Some(mut meta) => {
            meta.in_versioned_bucket = versioning.is_versioned();
            let view = reader_view(grant.as_ref(), owner_view);
            meta.lock = meta.lock.seen_with(view.lock);
            Ok((meta, grant, lifecycle, view.tags))
        }
        None if grant.as_ref().is_some_and(|g| !g.may_list) => {
            Err(CoreError::Forbidden("Access Denied".into()))
        }
        None => Err(CoreError::not_found(Resource::Object, key)),
    }
}

/// Empties the tags of `meta`, read for HeadObject or GetObject, when its
/// reader may not read them (`tags_readable`, [`ObjectView::tags`]): S3
/// sends `x-amz-tagging-count` only to a reader who may read the tags.
/// After the lifecycle's expiration is worked out, which a rule's tag
/// filter may decide.
fn hide_tags_unless_readable(meta: &mut ObjectMeta, tags_readable: bool) {
    if !tags_readable {
        meta.tags = Tags::default();
    }
}

/// What of an object its reader sees (see [`ObjectView`]): what the
/// policy's grant lets a reader other than the owner see, `owner_view` for
/// the owner.
pub(super) fn reader_view(grant: Option<&PublicGrant>, owner_view: ObjectView) -> ObjectView {
    grant.map_or(owner_view, |g| ObjectView {
        lock: g.lock_view,
        tags: g.may_read_tags,
    })
}

/// What of `key` the owner `caller` of `bucket` sees: all of it, unless
/// the bucket's `policy` denies them `s3:GetObjectRetention` (the
/// retention), `s3:GetObjectLegalHold` (the legal hold) or
/// `s3:GetObjectTagging` (the tags; `s3:GetObjectVersionTagging` when
/// `by_version`, a version named).
pub(super) fn owner_view(
    bucket: &Bucket,
    policy: Option<&BucketPolicy>,
    caller: Caller,
    key: &str,
    by_version: bool,
) -> ObjectView {
    let holds = |action| {
        policy.is_none_or(|p| {
            p.denies_owner(
                bucket.name.as_str(),
                caller.user_id,
                &Access::object(action, key),
            )
            .is_none()
        })
    };
    let tag_read = if by_version {
        S3Action::GetObjectVersionTagging
    } else {
        S3Action::GetObjectTagging
    };
    ObjectView {
        lock: LockView {
            retention: holds(S3Action::GetObjectRetention),
            legal_hold: holds(S3Action::GetObjectLegalHold),
        },
        tags: holds(tag_read),
    }
}

fn conditions_say_not_modified(conditions: &Conditions, meta: &ObjectMeta) -> CoreResult<bool> {
    Ok(conditions.evaluate(meta)? == Evaluation::NotModified)
}

/// What the repository answered about a setting of `bucket` after the
/// bucket was looked up (`None`, or a write that found no row to change,
/// owner checked): the bucket was deleted, or given away, in between, so
/// it is `NotFound(Bucket)` as if it had been gone all along.
fn still_there<T>(bucket: &Bucket, answer: Option<T>) -> CoreResult<T> {
    answer.ok_or_else(|| CoreError::not_found(Resource::Bucket, bucket.name.as_str()))
}

/// A policy read back with its bucket; one that no longer validates (it
/// was validated when it was put) denies nothing and grants nothing.
fn stored_policy(bucket: &BucketName, document: &str) -> Option<BucketPolicy> {
    match BucketPolicy::from_stored(bucket.as_str(), document) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(bucket = %bucket, error = %e, "a stored bucket policy does not validate; it is ignored");
            None
        }
    }
}

/// Whether the owner `caller` of `bucket` may perform `access`: refused
/// only by an explicit `Deny` of the bucket's `policy`
/// ([`BucketPolicy::denies_owner`]), with S3's message.
fn owner_may(
    bucket: &Bucket,
    policy: Option<&BucketPolicy>,
    caller: Caller,
    access: &Access<'_>,
) -> CoreResult<()> {
    let Some(denied) =
        policy.and_then(|p| p.denies_owner(bucket.name.as_str(), caller.user_id, access))
    else {
        return Ok(());
    };
    Err(CoreError::Forbidden(format!(
        "User: {} is not authorized to perform: {denied} on resource: \"arn:aws:s3:::{}\" with an explicit deny in a resource-based policy (the bucket's policy: the owner can still get, put and delete it)",
        caller.user_id,
        access.resource(bucket.name.as_str())
    )))
}

/// The refusal of a request on another account's bucket `name` that
/// nothing grants the caller. Also the answer to a request that names the
/// wrong owner of such a bucket (S3's `x-amz-expected-bucket-owner`): one
/// and the same refusal, so that the header cannot be used to learn who
/// owns a bucket.
pub fn bucket_access_denied(name: &BucketName) -> CoreError {
    CoreError::Forbidden(format!(
        "access denied: the bucket `{name}` belongs to another account"
    ))
}

/// The write that commits `c` for `caller`: the bucket, key and fields
/// validated, the new version's metadata built (a new id, the time now, the
/// media type guessed from the key when `c` names none). The blob is the
/// caller's to remove when this fails.
///
/// # Errors
/// `InvalidInput` for a bad bucket name, key or field.
pub(crate) fn object_write(caller: Caller, c: CommitObject) -> CoreResult<ObjectWrite> {
    let bucket = BucketName::parse(&c.bucket)?;
    let key = ObjectKey::parse(&c.key)?;
    validate_object_fields(c.content_type.as_deref(), &c.user_metadata, &c.headers)?;
    let content_type = c
        .content_type
        .unwrap_or_else(|| guess_content_type(key.as_str()).to_owned());
    Ok(ObjectWrite {
        owner: caller.user_id,
        meta: ObjectMeta {
            id: ObjectId::new(),
            bucket,
            key,
            blob_id: c.blob_id,
            size_bytes: c.size_bytes,
            etag: c.etag,
            content_type,
            user_metadata: c.user_metadata,
            headers: c.headers,
            last_modified: now_utc(),
            parts: c.parts,
            tags: c.tags,
            versioned: c.versioning == Versioning::Enabled,
            in_versioned_bucket: c.versioning.is_versioned(),
            lock: c.lock,
        },
        condition: c.condition,
    })
}

/// A commit's error as the client gets it: a bucket the caller does not
/// own (any more) is named as the client named it.
pub(crate) fn commit_error(e: CoreError, bucket: &BucketName) -> CoreError {
    match e {
        CoreError::NotFound {
            resource: Resource::Bucket,
            ..
        } => CoreError::not_found(Resource::Bucket, bucket.as_str()),
        other => other,
    }
}

/// A copy source's read error as S3 answers it for a copy: a delete marker
/// named by its version id is 400 `InvalidRequest` (a read's 405 says the
/// method does not apply to it; a copy's source may not name one at all).
/// The latest version being a delete marker stays `NoSuchKey`.
pub(crate) fn copy_source_error(e: CoreError) -> CoreError {
    match e {
        CoreError::DeleteMarker {
            by_version: true, ..
        } => CoreError::InvalidRequest(
            "The source of a copy request may not specifically refer to a delete marker by version id."
                .into(),
        ),
        other => other,
    }
}
