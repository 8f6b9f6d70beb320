//! The multipart service: the rules of S3 multipart uploads over the
//! [`MultipartRepo`] and the storage service's blob store.

use futures::{StreamExt, TryStreamExt};
use std::sync::Arc;
use std::time::Duration;

use super::checksum::{
    ChecksumAlgorithm, ChecksumHasher, PartChecksum, combine_crcs, composite_checksum,
};
use super::domain::{
    FULL_OBJECT, MAX_PART_NUMBER, MIN_PART_SIZE_BYTES, MultipartUpload, NewUpload, Part, UploadId,
    multipart_etag, multipart_etag_of,
};
use super::ports::MultipartRepo;
use super::recent::RecentCompletions;
use crate::clock::now_utc;
use crate::error::{CoreError, CoreResult, PartProblem};
use crate::identity::Caller;
use crate::storage::{
    Access, BlobId, Bucket, BucketLookup, ByteStream, CommitObject, ETag, GetObjectOptions,
    GetObjectOutput, LifecycleConfiguration, ObjectExpiry, ObjectKey, ObjectLock, ObjectLockConfig,
    ObjectMeta, ObjectPart, RangeSpec, Reader, S3Action, StorageService, UploadAbort, VersionId,
    WriteCondition, commit_error, lock_needs_checksum, object_write, validate_object_fields,
};
use crate::{Resource, StopRequested};

/// A completion's object before its commit: its blob (durable), its
/// parts, and the metadata they give it.
struct Assembled {
    blob_id: BlobId,
    size_bytes: u64,
    chosen: Vec<Part>,
    headers: std::collections::BTreeMap<String, String>,
    parts: Vec<ObjectPart>,
}

/// A part named in a CompleteMultipartUpload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// Its number.
    pub part_number: u32,
    /// The ETag the client got when it uploaded the part (quotes optional).
    pub etag: String,
    /// The checksum the client names for the part, if any: it must be the
    /// one the part was stored with.
    pub checksum: Option<PartChecksum>,
}

/// What a completion's client says of the object it expects; each check is
/// made when given.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExpectedObject<'a> {
    /// Its checksum (CompleteMultipartUpload's `x-amz-checksum-*`).
    pub checksum: Option<&'a PartChecksum>,
    /// Its size in bytes (`x-amz-mp-object-size`).
    pub size: Option<u64>,
    /// Whether its checksum is of the whole object, `FULL_OBJECT`, rather
    /// than of its parts', `COMPOSITE` (`x-amz-checksum-type`): it must be
    /// the upload's.
    pub full_object: Option<bool>,
}

/// One page of an upload's parts.
#[derive(Debug, Clone)]
pub struct PartListing {
    /// The upload.
    pub upload: MultipartUpload,
    /// Parts by number.
    pub parts: Vec<Part>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// The marker for the next page, when truncated.
    pub next_part_number_marker: Option<u32>,
    /// When the bucket's lifecycle aborts the upload (`None`: never).
    pub abort: Option<UploadAbort>,
}

/// One page of a bucket's uploads in progress.
#[derive(Debug, Clone)]
pub struct UploadListing {
    /// Uploads by key, then initiation.
    pub uploads: Vec<MultipartUpload>,
    /// Common prefixes (with a delimiter), in key order.
    pub common_prefixes: Vec<String>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// The key and upload-id markers of the next page, when truncated (no
    /// upload id when the page ended on a common prefix).
    pub next_marker: Option<(String, Option<UploadId>)>,
}

/// Multipart uploads: create, parts, complete, abort, list, expire.
pub struct MultipartService {
    repo: Arc<dyn MultipartRepo>,
    storage: Arc<StorageService>,
    /// What the last hour's completions answered, for their retries.
    recent: RecentCompletions,
}

impl MultipartService {
    /// A service storing upload metadata in `repo` and bytes through
    /// `storage`'s blob store.
    pub fn new(repo: Arc<dyn MultipartRepo>, storage: Arc<StorageService>) -> Self {
        Self {
            repo,
            storage,
            recent: RecentCompletions::default(),
        }
    }

    /// Starts an upload into the caller's bucket.
    ///
    /// # Errors
    /// `InvalidInput` (name, key), `NotFound(Bucket)`, `Forbidden`.
    #[tracing::instrument(skip(self, new), fields(owner = %caller.user_id, bucket = %new.bucket))]
    pub async fn create(
        &self,
        caller: Caller,
        new: NewUpload,
    ) -> CoreResult<(MultipartUpload, Option<UploadAbort>)> {
        // Tags given now need s3:PutObjectTagging too, as on PutObject.
        let access = Access::object(S3Action::object_write(!new.tags.is_empty()), &new.key);
        let (bucket, lifecycle) = self
            .storage
            .bucket_with_lifecycle(caller, &new.bucket, access)
            .await?;
        let key = ObjectKey::parse(&new.key)?;
        validate_object_fields(
            new.content_type.as_deref(),
            &new.user_metadata,
            &new.headers,
        )?;
        let mut headers = new.headers;
        headers.remove(CHECKSUM_TYPE_HEADER);
        match (new.checksum_algorithm, new.full_object_checksum) {
            (None, true) => {
                return Err(CoreError::InvalidRequest(
                    "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.".into(),
                ));
            }
            (Some(a), true) if !a.supports_full_object() => {
                return Err(CoreError::InvalidRequest(format!(
                    "The FULL_OBJECT checksum type cannot be used with the {} checksum algorithm.",
                    a.name().to_ascii_lowercase()
                )));
            }
            (Some(a), false) if !a.supports_composite() => {
                return Err(CoreError::InvalidRequest(format!(
                    "The COMPOSITE checksum type cannot be used with the {} checksum algorithm.",
                    a.name().to_ascii_lowercase()
                )));
            }
            (Some(_), true) => {
                headers.insert(CHECKSUM_TYPE_HEADER.to_owned(), FULL_OBJECT.to_owned());
            }
            _ => {}
        }
        let upload = MultipartUpload {
            id: UploadId::new(),
            bucket: bucket.name,
            key,
            owner: caller.user_id,
            content_type: new.content_type,
            user_metadata: new.user_metadata,
            headers,
            initiated_at: now_utc(),
            checksum_algorithm: new.checksum_algorithm,
            tags: new.tags,
        };
        self.repo.create_upload(&upload, bucket.owner).await?;
        tracing::debug!(upload_id = %upload.id, "multipart upload created");
        let abort = lifecycle.and_then(|l| l.abort(upload.key.as_str(), upload.initiated_at));
        Ok((upload, abort))
    }

    /// The caller's upload `id` of `bucket`/`key`, for `action` on the key
    /// (which the bucket's policy may deny).
    async fn upload_of(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        id: &str,
        action: S3Action,
    ) -> CoreResult<MultipartUpload> {
        Ok(self
            .upload_and_bucket(caller, bucket, key, id, action)
            .await?
            .0)
    }

    /// [`upload_of`](Self::upload_of), with its bucket as the lookup read
    /// it (lifecycle configuration, Object Lock), in the same lookup.
    async fn upload_and_bucket(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        id: &str,
        action: S3Action,
    ) -> CoreResult<(MultipartUpload, BucketLookup)> {
        let access = Access::object(action, key);
        let found = self.storage.bucket_lookup(caller, bucket, access).await?;
        let bucket = &found.bucket;
        let no_such = || CoreError::not_found(Resource::Upload, id);
        let id: UploadId = id.parse().map_err(|_| no_such())?;
        let upload = self
            .repo
            .get_upload(id)
            .await?
            .filter(|u| {
                u.bucket == bucket.name && u.key.as_str() == key && u.owner == caller.user_id
            })
            .ok_or_else(no_such)?;
        Ok((upload, found))
    }

    /// Stores part `part_number` of an upload from `body`. `checksum` is
    /// asked, once the body has been stored, for the additional checksum
    /// the body was verified against (the caller computes it while the body
    /// streams; `client_checksum` says the client declared one, so that it
    /// will be there): an upload created with a checksum algorithm needs one of
    /// that algorithm on every part, as S3 does. A part of an upload
    /// created without one keeps the client's checksum when it sent one,
    /// and otherwise gets S3's default, a CRC64NVME of its bytes
    /// ([`DEFAULT_CHECKSUM`]), computed here as the body streams (S3's
    /// `Part` and `ObjectPart` references: "present … if the object was
    /// uploaded without a checksum (and Amazon S3 added the default
    /// checksum, CRC64NVME, to the uploaded object)").
    ///
    /// # Errors
    /// `summed` says the request carries a checksum of its body (or needs
    /// none, as a part copied from an object): S3 refuses a part without
    /// one when the object will be locked — the upload was created with a
    /// retention or legal hold, or the bucket has a default retention
    /// ([`lock_needs_checksum`]) — before a byte is read.
    ///
    /// # Errors
    /// `NotFound(Upload)`, bucket errors, `InvalidInput` for a part number
    /// outside 1..=10000, a short body, or a missing or other-algorithm
    /// checksum; `InvalidRequest` for a missing checksum of a locked
    /// upload's part; `TooLarge`, `BadDigest`.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip(self, body, checksum), fields(owner = %caller.user_id))]
    pub async fn upload_part(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: ByteStream,
        content_length: Option<u64>,
        expected_md5: Option<[u8; 16]>,
        client_checksum: bool,
        summed: bool,
        checksum: impl FnOnce() -> Option<PartChecksum> + Send,
    ) -> CoreResult<Part> {
        check_part_number(part_number)?;
        let (upload, found) = self
            .upload_and_bucket(caller, bucket, key, upload_id, S3Action::PutObject)
            .await?;
        if !summed && will_be_locked(&upload, found.object_lock.as_ref()) {
            return Err(lock_needs_checksum("Put Part"));
        }
        // Every part of an upload without an algorithm gets its CRC64NVME
        // as it streams: the default checksum of a part sent without one,
        // and in any case what completion combines into the object's
        // default full-object checksum without reading the part again.
        let crc64 = upload
            .checksum_algorithm
            .is_none()
            .then(|| Arc::new(std::sync::Mutex::new(Some(DEFAULT_CHECKSUM.hasher()))));
        let body = feeding(body, crc64.as_ref());
        let (blob_id, written) = self
            .storage
            .write_verified_blob(body, content_length, expected_md5)
            .await?;
        let crc64nvme = crc64
            .and_then(|state| state.lock().ok()?.take())
            .map(ChecksumHasher::finalize);
        // A client that declared a checksum of its own keeps it alone.
        let checksum = checksum().or_else(|| {
            (!client_checksum)
                .then(|| crc64nvme.clone())
                .flatten()
                .map(|value| PartChecksum {
                    algorithm: DEFAULT_CHECKSUM,
                    value,
                })
        });
        if let Err(e) = check_part_checksum(upload.checksum_algorithm, checksum.as_ref()) {
            self.discard(blob_id).await;
            return Err(e);
        }
        let part = Part {
            upload_id: upload.id,
            part_number,
            blob_id,
            size_bytes: written.size_bytes,
            etag: ETag::from_md5(&written.md5),
            last_modified: now_utc(),
            checksum,
            crc64nvme,
        };
        self.record_part(part).await
    }

    /// Stores part `part_number` of an upload from (a range of) an existing
    /// object (UploadPartCopy): the caller's own, or another account's that
    /// its bucket's policy lets everyone read (`s3:GetObject`), read as a
    /// [`Reader::Signed`].
    ///
    /// # Errors
    /// As [`upload_part`](Self::upload_part), plus the source read's errors
    /// (a "not modified" source is `PreconditionFailed`).
    ///
    /// Returns the part and the version id of the source version copied,
    /// as an answer names it ([`ObjectMeta::answered_version_id`]: S3's
    /// `x-amz-copy-source-version-id`).
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip(self, options), fields(owner = %caller.user_id))]
    pub async fn upload_part_copy(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        src_bucket: &str,
        src_key: &str,
        options: &GetObjectOptions,
    ) -> CoreResult<(Part, Option<VersionId>)> {
        check_part_number(part_number)?;
        let upload = self
            .upload_of(caller, bucket, key, upload_id, S3Action::PutObject)
            .await?;
        let read = self
            .storage
            .get_object(Reader::Signed(caller), src_bucket, src_key, options)
            .await
            .map_err(|e| match e {
                // A copy range starting past the end: S3 answers
                // `InvalidArgument`, not a read's 416.
                CoreError::RangeNotSatisfiable { size_bytes } => invalid_copy_range(size_bytes),
                other => crate::storage::copy_source_error(other),
            })?;
        if let (Some(RangeSpec::FromTo(_, Some(last))), GetObjectOutput::Body { meta, .. }) =
            (options.range, &read)
            && last >= meta.size_bytes
        {
            // A read clamps a range that ends past the object; a copy must
            // not, or a source that changed under a client copying ranges
            // of it would make a silently shorter part.
            return Err(invalid_copy_range(meta.size_bytes));
        }
        let (body, length, source_version) = match read {
            // The copied length is declared, so that a copy that cannot fit
            // is refused before a byte is read (`check_room`).
            GetObjectOutput::Body {
                body, range, meta, ..
            } => (
                body,
                range.map_or(meta.size_bytes, |r| r.len()),
                meta.answered_version_id(),
            ),
            GetObjectOutput::NotModified(..) => {
                return Err(CoreError::PreconditionFailed(
                    "the copy source matches If-None-Match / was not modified since".into(),
                ));
            }
        };
        // The copied bytes never pass through the S3 layer: an upload with
        // a checksum algorithm gets the part's checksum computed here (one
        // without gets S3's default from `upload_part`).
        let hashed = upload
            .checksum_algorithm
            .map(|a| (a, Arc::new(std::sync::Mutex::new(Some(a.hasher())))));
        let body = feeding(body, hashed.as_ref().map(|(_, state)| state));
        let checksum = move || {
            let (algorithm, state) = hashed?;
            let hasher = state.lock().ok()?.take()?;
            Some(PartChecksum {
                algorithm,
                value: hasher.finalize(),
            })
        };
        self.upload_part(
            caller,
            bucket,
            key,
            upload_id,
            part_number,
            body,
            Some(length),
            None,
            false,
            // No body of the request's own to sum.
            true,
            checksum,
        )
        .await
        .map(|part| (part, source_version))
    }

    async fn record_part(&self, part: Part) -> CoreResult<Part> {
        match self.repo.put_part(&part).await {
            Ok(replaced) => {
                if let Some(old) = replaced {
                    self.discard(old).await;
                }
                Ok(part)
            }
            Err(e) => {
                self.storage.discard_uncommitted(part.blob_id, &e).await;
                Err(e)
            }
        }
    }

    /// Completes an upload with the named parts, in order: the object's
    /// blob is a composite of the parts' blobs ([`BlobStore::compose`]:
    /// no byte is copied, in time proportional to the number of parts),
    /// committed as the key's new version, with its parts' sizes and
    /// checksums (for reads by part number) and its checksum (the
    /// composite of the parts', or a CRC of all the bytes combined from
    /// the parts' CRCs). The commit deletes the upload and its parts' rows
    /// in the same transaction ([`MultipartRepo::complete_upload`]); the
    /// parts' own blobs (their files' other names) are removed after it.
    ///
    /// [`BlobStore::compose`]: crate::storage::BlobStore::compose
    ///
    /// # Errors
    /// `NotFound(Upload)`, also when the upload was completed, aborted or
    /// expired while its parts were being composed (nothing is committed
    /// then, and the composite blob is removed: of racing completes of one
    /// upload exactly one succeeds); `InvalidInput` for an empty part list, or a part
    /// without its checksum in a composite-checksum upload;
    /// `InvalidPart` (`Order`, `Missing` — unknown number, wrong ETag or
    /// wrong checksum —, `TooSmall` for a non-final part under 5 MiB); the
    /// refusals of [`WriteCondition::check`] (the upload stays then); the
    /// write's errors.
    pub async fn complete(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
        requested: &[CompletedPart],
        condition: &WriteCondition,
    ) -> CoreResult<ObjectMeta> {
        let (meta, _) = self
            .complete_with_checksum(caller, bucket, key, upload_id, requested, condition, None)
            .await?;
        Ok(meta)
    }

    /// [`complete`](Self::complete), checking the object's checksum
    /// against `object_checksum` when the client names one (the
    /// `x-amz-checksum-*` of CompleteMultipartUpload): the full-object CRC,
    /// or the composite (with or without its `-N`). When the bucket's
    /// lifecycle expires the object comes back with it.
    ///
    /// # Errors
    /// As [`complete`](Self::complete); `BadDigest` when `object_checksum`
    /// differs (nothing is committed, the upload stays); `InvalidInput`
    /// when it names another algorithm than the upload's (than CRC64NVME,
    /// S3's default, for an upload created without one).
    #[allow(clippy::too_many_arguments)]
    pub async fn complete_with_checksum(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
        requested: &[CompletedPart],
        condition: &WriteCondition,
        object_checksum: Option<&PartChecksum>,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>)> {
        let expected = ExpectedObject {
            checksum: object_checksum,
            ..ExpectedObject::default()
        };
        self.complete_checked(
            caller, bucket, key, upload_id, requested, condition, &expected,
        )
        .await
    }

    /// [`complete_with_checksum`](Self::complete_with_checksum), checking
    /// also what else the client says of the object it expects
    /// ([`ExpectedObject`]): guards a client sets to make a wrong assembly
    /// fail rather than commit.
    ///
    /// # Errors
    /// As [`complete_with_checksum`](Self::complete_with_checksum);
    /// `InvalidRequest` when the size or the checksum type differs (nothing
    /// is committed, the upload stays).
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip(self, requested, condition, expected), fields(owner = %caller.user_id, parts = requested.len()))]
    pub async fn complete_checked(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
        requested: &[CompletedPart],
        condition: &WriteCondition,
        expected: &ExpectedObject<'_>,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>)> {
        let object_checksum = expected.checksum;
        let (upload, found) = match self
            .upload_and_bucket(caller, bucket, key, upload_id, S3Action::PutObject)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                return self
                    .answered_before(caller, bucket, key, upload_id, requested, e)
                    .await;
            }
        };
        let lifecycle = found.lifecycle;
        // An upload without an algorithm gets S3's default, which the
        // request may name (and which is then compared).
        if let Some(c) = object_checksum
            && upload.checksum_algorithm.unwrap_or(DEFAULT_CHECKSUM) != c.algorithm
        {
            return Err(CoreError::InvalidRequest(format!(
                "The upload was not created with a {} checksum; the complete request cannot name one",
                c.algorithm
            )));
        }
        let full_object = upload.full_object_checksum();
        // An upload created without an algorithm gets S3's default, a
        // FULL_OBJECT CRC64NVME.
        let full = full_object || upload.checksum_algorithm.is_none();
        if let Some(wanted) = expected.full_object
            && wanted != full
        {
            let name = |full: bool| if full { "FULL_OBJECT" } else { "COMPOSITE" };
            return Err(CoreError::InvalidRequest(format!(
                "The upload was created with the checksum type {}, not the {} this request names",
                name(full),
                name(wanted)
            )));
        }
        // Whether the object is a new version of its own (versioning
        // Enabled) or the `null` one, and whether its answer names it: one
        // more lookup of the bucket, for a completion only.
        let versioning = self.storage.write_versioning(caller, bucket, key).await?;
        // A refused conditional completion composes nothing; the commit
        // checks again, atomically.
        self.storage
            .check_write(caller, bucket, key, condition)
            .await?;
        if requested.is_empty() {
            return Err(CoreError::invalid(
                "You must specify at least one part to complete a multipart upload",
            ));
        }
        if requested
            .windows(2)
            .any(|w| w[0].part_number >= w[1].part_number)
        {
            return Err(CoreError::InvalidPart {
                problem: PartProblem::Order,
                message: "The list of parts was not in ascending order. Parts must be ordered by part number.".into(),
            });
        }
        // A completion that fails while it reads the parts because a
        // concurrent completion or abort consumed the upload (its parts'
        // rows, then their files, vanish) answers what happened: the upload
        // is gone.
        let Assembled {
            blob_id,
            size_bytes,
            chosen,
            mut headers,
            parts,
        } = match self
            .assemble(&upload, requested, object_checksum, full_object)
            .await
        {
            Ok(assembled) => assembled,
            Err(e) => {
                let e = self.unless_consumed(&upload, upload_id, e).await;
                return self
                    .answered_before(caller, bucket, key, upload_id, requested, e)
                    .await;
            }
        };
        if let Some(size) = expected.size
            && size != size_bytes
        {
            self.discard(blob_id).await;
            return Err(CoreError::InvalidRequest(format!(
                "The object assembled from these parts has {size_bytes} bytes, not the {size} the request's x-amz-mp-object-size names"
            )));
        }
        let lock = crate::storage::ObjectLock::take_from_headers(&mut headers);
        let commit = CommitObject {
            bucket: upload.bucket.as_str().to_owned(),
            key: upload.key.as_str().to_owned(),
            blob_id,
            size_bytes,
            etag: multipart_etag(&chosen),
            content_type: upload.content_type.clone(),
            user_metadata: upload.user_metadata.clone(),
            headers,
            parts,
            condition: condition.clone(),
            tags: upload.tags.clone(),
            versioning,
            lock,
        };
        let write = match object_write(caller, commit) {
            Ok(write) => write,
            Err(e) => {
                self.discard(blob_id).await;
                return Err(e);
            }
        };
        // The object's commit and the upload's removal are one transaction
        // (so a crash never leaves both, and of racing completes and aborts
        // exactly one wins). It is its own transaction, not a place in the
        // storage service's group commit: it writes two more tables and
        // hands back the parts' blobs, which the batch interface of small
        // PUTs does not carry, and a completion (rare) gains nothing from
        // sharing an fsync.
        let committing = self.recent.committing(upload_id);
        let done = match self.repo.complete_upload(upload.id, &write).await {
            Ok(done) => done,
            Err(e) => {
                self.storage.discard_uncommitted(blob_id, &e).await;
                if matches!(
                    e,
                    CoreError::NotFound {
                        resource: Resource::Upload,
                        ..
                    }
                ) {
                    tracing::info!(upload_id = %upload.id, "the upload was completed, aborted or expired meanwhile; the composed object is discarded");
                    drop(committing);
                    return self
                        .answered_before(
                            caller,
                            bucket,
                            key,
                            upload_id,
                            requested,
                            CoreError::not_found(Resource::Upload, upload_id),
                        )
                        .await;
                }
                return Err(commit_error(e, &write.meta.bucket));
            }
        };
        // Kept before anything else is awaited, for the completions of this
        // upload that wait on `committing`.
        let meta = write.meta;
        let expiration = lifecycle.and_then(|l| l.expiration(&meta));
        self.recent
            .remember(upload_id, caller.user_id, &meta, expiration.as_ref());
        drop(committing);
        // Blobs go only once no row points to them: a crash before (or a
        // failed removal) leaves orphans, which the start-up sweep removes.
        if let Some(old) = done.replaced.filter(|b| *b != blob_id) {
            self.discard(old).await;
        }
        for part in done.part_blobs {
            self.discard(part).await;
        }
        tracing::info!(upload_id = %upload.id, size_bytes = meta.size_bytes, "multipart upload completed");
        Ok((meta, expiration))
    }

    /// For a completion that found no upload (`missing`): the answer its
    /// upload's completion gave, when this is that completion sent again
    /// (same caller, bucket, key and parts; see [`RecentCompletions`]),
    /// else `missing`.
    async fn answered_before(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
        requested: &[CompletedPart],
        missing: CoreError,
    ) -> CoreResult<(ObjectMeta, Option<ObjectExpiry>)> {
        if !matches!(
            missing,
            CoreError::NotFound {
                resource: Resource::Upload,
                ..
            }
        ) {
            return Err(missing);
        }
        // A completion of this upload committing right now: its answer.
        self.recent.settled(upload_id).await;
        let etag = multipart_etag_of(
            requested
                .iter()
                .map(|p| p.etag.trim().trim_start_matches("W/").trim_matches('"')),
        );
        match self
            .recent
            .recall(upload_id, caller.user_id, bucket, key, &etag)
        {
            Some(answer) => {
                tracing::info!(
                    upload_id,
                    "a completed upload's completion sent again: its answer is repeated"
                );
                Ok(answer)
            }
            None => Err(missing),
        }
    }

    /// Checks the named parts against the stored ones and composes them, in
    /// order, into a new blob; the completed object's headers (with its
    /// checksum) and parts. On an error no blob is left.
    ///
    /// A part sent again while this runs (an SDK retrying an upload whose
    /// answer it lost) replaces its row and removes its old blob, which the
    /// compose (or a CRC read) then finds gone: the parts are listed again
    /// and the compose redone, a few times. The same bytes give the same
    /// ETag, so the completion goes through as it would have; other bytes
    /// are `InvalidPart`, as on S3.
    async fn assemble(
        &self,
        upload: &MultipartUpload,
        requested: &[CompletedPart],
        object_checksum: Option<&PartChecksum>,
        full_object: bool,
    ) -> CoreResult<Assembled> {
        const ATTEMPTS: u32 = 5;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .assemble_once(upload, requested, object_checksum, full_object)
                .await
            {
                Err(CoreError::NotFound {
                    resource: Resource::Object,
                    name,
                }) => {
                    if attempt < ATTEMPTS {
                        tracing::debug!(upload_id = %upload.id, blob = %name, "a part was replaced during the completion; listing the parts again");
                        continue;
                    }
                    // Not a replaced part: its bytes are gone from the store.
                    return Err(CoreError::internal_msg(format!(
                        "the bytes of a part of upload {} (blob {name}) are missing",
                        upload.id
                    )));
                }
                other => return other,
            }
        }
    }

    /// One try of [`assemble`](Self::assemble).
    async fn assemble_once(
        &self,
        upload: &MultipartUpload,
        requested: &[CompletedPart],
        object_checksum: Option<&PartChecksum>,
        full_object: bool,
    ) -> CoreResult<Assembled> {
        let stored = self.repo.list_parts(upload.id, 0, MAX_PART_NUMBER).await?;
        let mut chosen = Vec::with_capacity(requested.len());
        for want in requested {
            let etag = want.etag.trim().trim_start_matches("W/").trim_matches('"');
            // A composite is made of the parts' checksums: each must be named.
            if let Some(a) = upload.checksum_algorithm
                && !full_object
                && want.checksum.is_none()
            {
                return Err(CoreError::InvalidRequest(format!(
                    "The upload was created using a {a} checksum. The complete request must include the checksum for each part. It was missing for part {} in the request.",
                    want.part_number
                )));
            }
            match stored.iter().find(|p| p.part_number == want.part_number) {
                Some(p)
                    if p.etag.as_str() == etag
                        && want.checksum.as_ref().is_none_or(|c| {
                            p.checksum.as_ref().is_some_and(|s| {
                                s.algorithm == c.algorithm && s.value == c.value.trim()
                            })
                        }) =>
                {
                    chosen.push(p.clone())
                }
                _ => {
                    return Err(CoreError::InvalidPart {
                        problem: PartProblem::Missing,
                        message: format!(
                            "One or more of the specified parts could not be found: part {} with ETag {}{} was not uploaded, or its ETag or checksum differs.",
                            want.part_number,
                            want.etag,
                            want.checksum
                                .as_ref()
                                .map(|c| format!(" and {} {}", c.algorithm, c.value))
                                .unwrap_or_default()
                        ),
                    });
                }
            }
        }
        if let Some(small) = chosen[..chosen.len() - 1]
            .iter()
            .find(|p| p.size_bytes < MIN_PART_SIZE_BYTES)
        {
            return Err(CoreError::InvalidPart {
                problem: PartProblem::TooSmall,
                message: format!(
                    "Your proposed upload is smaller than the minimum allowed size: part {} has {} bytes; every part but the last needs at least {MIN_PART_SIZE_BYTES}.",
                    small.part_number, small.size_bytes
                ),
            });
        }

        let size_bytes: u64 = chosen.iter().map(|p| p.size_bytes).sum();
        let max = self.storage.max_object_size_bytes();
        if size_bytes > max {
            return Err(too_large(max));
        }
        // The full-object checksum (S3's default CRC64NVME for an upload
        // created without an algorithm) combines the parts' CRCs, computed
        // while they streamed in, as S3 does: no byte is read again.
        let full_algorithm = match upload.checksum_algorithm {
            Some(a) => full_object.then_some(a),
            None => Some(DEFAULT_CHECKSUM),
        };
        let full_value = match full_algorithm {
            Some(a) => Some(self.combined_crc(a, &chosen).await?),
            None => None,
        };
        let (headers, parts) = completed_checksums(upload, &chosen, full_value, object_checksum)?;
        // The object's blob is a composite of the parts' blobs: made in
        // time proportional to their number, with no byte copied, so a
        // completion needs no room beyond its parts (see `BlobStore::compose`).
        let blob_id = BlobId::new();
        let ids: Vec<BlobId> = chosen.iter().map(|p| p.blob_id).collect();
        let composed = self.storage.blobs().compose(blob_id, &ids).await?;
        if composed != size_bytes {
            self.discard(blob_id).await;
            return Err(CoreError::internal_msg(format!(
                "composed {composed} bytes from parts totalling {size_bytes}"
            )));
        }
        Ok(Assembled {
            blob_id,
            size_bytes,
            chosen,
            headers,
            parts,
        })
    }

    /// The CRC (`algorithm`) of the parts' bytes, in order, combined from
    /// each part's own: its checksum when of `algorithm`, else (CRC64NVME)
    /// the one computed while it streamed in. A part stored before parts
    /// kept that (migration 0015) has its bytes read to compute it, once,
    /// without copying them.
    async fn combined_crc(
        &self,
        algorithm: ChecksumAlgorithm,
        chosen: &[Part],
    ) -> CoreResult<String> {
        let mut crcs = Vec::with_capacity(chosen.len());
        for p in chosen {
            let stored = p
                .checksum
                .as_ref()
                .filter(|c| c.algorithm == algorithm)
                .map(|c| c.value.clone())
                .or_else(|| {
                    (algorithm == ChecksumAlgorithm::Crc64Nvme)
                        .then(|| p.crc64nvme.clone())
                        .flatten()
                });
            let crc = match stored {
                Some(crc) => crc,
                None => self.read_crc(algorithm, p.blob_id, p.size_bytes).await?,
            };
            crcs.push((crc, p.size_bytes));
        }
        let refs: Vec<(&str, u64)> = crcs.iter().map(|(c, n)| (c.as_str(), *n)).collect();
        combine_crcs(algorithm, &refs)
    }

    /// The CRC of blob `id`'s bytes, read through.
    async fn read_crc(
        &self,
        algorithm: ChecksumAlgorithm,
        id: BlobId,
        size: u64,
    ) -> CoreResult<String> {
        let mut hasher = algorithm.hasher();
        let mut body = self.storage.blobs().read(id, Some(size), None).await?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| CoreError::internal("cannot read a part", e))?;
            hasher.update(&chunk);
        }
        Ok(hasher.finalize())
    }

    /// `e`, or `NoSuchUpload` when `upload` no longer exists.
    async fn unless_consumed(
        &self,
        upload: &MultipartUpload,
        upload_id: &str,
        e: CoreError,
    ) -> CoreError {
        match self.repo.get_upload(upload.id).await {
            Ok(None) => {
                tracing::info!(upload_id = %upload.id, error = %e, "the upload was completed, aborted or expired meanwhile");
                CoreError::not_found(Resource::Upload, upload_id)
            }
            _ => e,
        }
    }

    /// Aborts an upload: its parts are removed.
    ///
    /// # Errors
    /// `NotFound(Upload)` and bucket errors.
    #[tracing::instrument(skip(self), fields(owner = %caller.user_id))]
    pub async fn abort(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> CoreResult<()> {
        let upload = self
            .upload_of(
                caller,
                bucket,
                key,
                upload_id,
                S3Action::AbortMultipartUpload,
            )
            .await?;
        if !self.remove(upload.id).await? {
            return Err(CoreError::not_found(Resource::Upload, upload_id));
        }
        Ok(())
    }

    /// Deletes an upload's rows, then its blobs; whether it existed.
    async fn remove(&self, id: UploadId) -> CoreResult<bool> {
        let Some(blobs) = self.repo.delete_upload(id).await? else {
            return Ok(false);
        };
        for blob in blobs {
            self.discard(blob).await;
        }
        Ok(true)
    }

    /// One page of an upload's parts, numbered above `after`.
    ///
    /// # Errors
    /// `NotFound(Upload)` and bucket errors.
    pub async fn list_parts(
        &self,
        caller: Caller,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        max_parts: u32,
    ) -> CoreResult<PartListing> {
        let (upload, found) = self
            .upload_and_bucket(
                caller,
                bucket,
                key,
                upload_id,
                S3Action::ListMultipartUploadParts,
            )
            .await?;
        let lifecycle = found.lifecycle;
        let max_parts = max_parts.min(1000);
        // `max-parts=0` asks for no part: an empty page, not truncated, as
        // S3 answers `max-keys=0` on a listing of objects.
        let mut parts = if max_parts == 0 {
            Vec::new()
        } else {
            self.repo
                .list_parts(upload.id, after, max_parts + 1)
                .await?
        };
        let is_truncated = parts.len() > max_parts as usize;
        parts.truncate(max_parts as usize);
        let next_part_number_marker = is_truncated
            .then(|| parts.last().map(|p| p.part_number))
            .flatten();
        Ok(PartListing {
            abort: lifecycle.and_then(|l| l.abort(upload.key.as_str(), upload.initiated_at)),
            upload,
            parts,
            is_truncated,
            next_part_number_marker,
        })
    }

    /// One page of the uploads in progress in the caller's bucket, keys
    /// starting with `prefix`. With a `delimiter`, keys that contain it
    /// after the prefix roll up into one common prefix each (up to and
    /// including the delimiter), which counts as one entry of the page, as
    /// in S3.
    ///
    /// # Errors
    /// Bucket errors; `InvalidInput` for a malformed upload-id marker.
    #[allow(clippy::too_many_arguments)]
    pub async fn list_uploads(
        &self,
        caller: Caller,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
        max_uploads: u32,
    ) -> CoreResult<UploadListing> {
        let access = Access::bucket(S3Action::ListBucketMultipartUploads);
        let bucket = self.storage.bucket(caller, bucket, access).await?;
        let max_uploads = max_uploads.min(1000) as usize;
        let delimiter = delimiter.filter(|d| !d.is_empty());
        // An upload-id marker only counts together with a key marker (S3).
        let id_marker = match upload_id_marker {
            Some(m) if key_marker.is_some() => Some(
                m.parse::<UploadId>()
                    .map_err(|_| CoreError::invalid(format!("invalid upload-id-marker {m:?}")))?,
            ),
            _ => None,
        };
        if max_uploads == 0 {
            // `max-uploads=0` asks for no upload: an empty page, not
            // truncated, as S3 answers `max-keys=0` on a listing of objects.
            return Ok(UploadListing {
                uploads: Vec::new(),
                common_prefixes: Vec::new(),
                is_truncated: false,
                next_marker: None,
            });
        }
        let common_prefix = |key: &str| -> Option<String> {
            let d = delimiter?;
            let rest = key.strip_prefix(prefix)?;
            rest.find(d)
                .map(|i| format!("{prefix}{}", &rest[..i + d.len()]))
        };
        // A key marker that is a common prefix (the previous page ended on
        // it) skips every key under it.
        let mut skip: Option<String> = key_marker
            .filter(|m| id_marker.is_none() && common_prefix(m).as_deref() == Some(*m))
            .map(str::to_owned);
        let mut after: Option<(String, Option<UploadId>)> =
            key_marker.map(|k| (k.to_owned(), id_marker));
        let mut uploads = Vec::new();
        let mut common_prefixes: Vec<String> = Vec::new();
        let mut last: Option<(String, Option<UploadId>)> = None;
        let mut is_truncated = false;
        const PAGE: u32 = 1000;
        'pages: loop {
            let page = self
                .repo
                .list_uploads(
                    &bucket.name,
                    prefix,
                    after.as_ref().map(|(k, id)| (k.as_str(), *id)),
                    PAGE,
                )
                .await?;
            let n = page.len();
            for upload in page {
                after = Some((upload.key.as_str().to_owned(), Some(upload.id)));
                let key = upload.key.as_str();
                if skip.as_deref().is_some_and(|s| key.starts_with(s)) {
                    continue;
                }
                if uploads.len() + common_prefixes.len() == max_uploads {
                    is_truncated = true;
                    break 'pages;
                }
                match common_prefix(key) {
                    Some(cp) => {
                        skip = Some(cp.clone());
                        last = Some((cp.clone(), None));
                        common_prefixes.push(cp);
                    }
                    None => {
                        last = Some((key.to_owned(), Some(upload.id)));
                        uploads.push(upload);
                    }
                }
            }
            if n < PAGE as usize {
                break;
            }
        }
        Ok(UploadListing {
            uploads,
            common_prefixes,
            is_truncated,
            next_marker: if is_truncated { last } else { None },
        })
    }

    /// Aborts every upload initiated more than `max_age` ago; returns how
    /// many. Run periodically by the server. `stop` is asked before each
    /// upload (rows, then blobs: one step); once it answers `true` this
    /// returns what it removed.
    ///
    /// # Errors
    /// Database failures.
    #[tracing::instrument(skip(self, stop))]
    pub async fn expire_abandoned(
        &self,
        max_age: Duration,
        stop: StopRequested<'_>,
    ) -> CoreResult<usize> {
        let cutoff = now_utc() - max_age;
        let mut removed = 0;
        'batches: loop {
            let batch = self.repo.uploads_initiated_before(cutoff, 100).await?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len();
            for id in batch {
                if stop() {
                    break 'batches;
                }
                if self.remove(id).await? {
                    removed += 1;
                }
            }
            if n < 100 {
                break;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "abandoned multipart uploads removed");
        }
        Ok(removed)
    }

    /// Aborts the uploads of `bucket` that `lifecycle`'s
    /// `AbortIncompleteMultipartUpload` rules expire at `now`, parts and
    /// all, as AbortMultipartUpload does; returns how many. Pages through
    /// the uploads under each prefix such a rule covers. Only
    /// `bucket.owner`'s uploads go: the bucket may have been deleted and
    /// created again by another account since `bucket` was read, and an
    /// upload's owner never changes. `stop` is asked before each abort;
    /// once it answers `true` this returns what it aborted.
    ///
    /// # Errors
    /// Database failures (what was aborted before stays aborted).
    #[tracing::instrument(skip(self, bucket, lifecycle, stop), fields(bucket = %bucket.name))]
    pub async fn abort_expired_uploads(
        &self,
        bucket: &Bucket,
        lifecycle: &LifecycleConfiguration,
        now: time::OffsetDateTime,
        stop: StopRequested<'_>,
    ) -> CoreResult<usize> {
        const PAGE: u32 = 1000;
        let (owner, bucket) = (bucket.owner, &bucket.name);
        let mut aborted = 0;
        for prefix in lifecycle.abort_prefixes() {
            let mut after: Option<(String, UploadId)> = None;
            loop {
                if stop() {
                    return Ok(aborted);
                }
                let page = self
                    .repo
                    .list_uploads(
                        bucket,
                        &prefix,
                        after.as_ref().map(|(k, id)| (k.as_str(), Some(*id))),
                        PAGE,
                    )
                    .await?;
                for upload in &page {
                    if stop() {
                        return Ok(aborted);
                    }
                    let due = lifecycle.abort_of(upload.key.as_str(), upload.initiated_at);
                    if upload.owner == owner
                        && due.is_some_and(|at| at <= now)
                        && self.remove(upload.id).await?
                    {
                        aborted += 1;
                        tracing::debug!(upload_id = %upload.id, "upload aborted by lifecycle");
                    }
                }
                match page.last() {
                    Some(last) if page.len() == PAGE as usize => {
                        after = Some((last.key.as_str().to_owned(), last.id));
                    }
                    _ => break,
                }
            }
        }
        Ok(aborted)
    }

    /// Removes a blob; a failure only leaves an orphan for the start-up sweep.
    async fn discard(&self, blob: BlobId) {
        if let Err(e) = self.storage.blobs().delete(blob).await {
            tracing::warn!(blob_id = %blob, error = %e, "could not remove a blob; the start-up sweep will");
        }
    }
}

/// A running checksum that a body feeds as it streams and its reader
/// takes at the end.
pub(crate) type SharedHasher = Arc<std::sync::Mutex<Option<ChecksumHasher>>>;

/// `body`, feeding every chunk to `hasher` (when there is one) on its way.
pub(crate) fn feeding(body: ByteStream, hasher: Option<&SharedHasher>) -> ByteStream {
    let Some(state) = hasher.cloned() else {
        return body;
    };
    body.inspect_ok(move |chunk| {
        if let Ok(mut h) = state.lock()
            && let Some(h) = h.as_mut()
        {
            h.update(chunk);
        }
    })
    .boxed()
}

/// The stored header of an object's additional checksum (the S3 name;
/// single-part objects store theirs the same way).
pub fn checksum_header(algorithm: ChecksumAlgorithm) -> String {
    format!("x-amz-checksum-{}", algorithm.name().to_ascii_lowercase())
}

/// The checksum S3 gives an object uploaded without one: a full-object
/// CRC64NVME ("Amazon S3 added the default checksum, CRC64NVME, to the
/// uploaded object", S3's `Checksum` reference).
pub const DEFAULT_CHECKSUM: ChecksumAlgorithm = ChecksumAlgorithm::Crc64Nvme;

/// The stored header naming how an object's checksum was computed
/// (`COMPOSITE` for a multipart object's checksum of part checksums).
pub const CHECKSUM_TYPE_HEADER: &str = "x-amz-checksum-type";

/// The completed object's headers (the upload's, plus its checksum:
/// `full_value`, the CRC of all the bytes — S3's default
/// CRC64NVME for an upload without an algorithm —, or the composite of the
/// parts') and its parts, with their checksums of the object's algorithm
/// (the default CRC64NVME for an upload without one); `BadDigest` when
/// the checksum the client named for the object differs.
fn completed_checksums(
    upload: &MultipartUpload,
    chosen: &[Part],
    full_value: Option<String>,
    named: Option<&PartChecksum>,
) -> CoreResult<(std::collections::BTreeMap<String, String>, Vec<ObjectPart>)> {
    let mut headers = upload.headers.clone();
    let algorithm = upload.checksum_algorithm;
    // The parts' checksums of the object's algorithm; of an upload without
    // one, the parts' default CRC64NVMEs when every part has one (parts
    // stored before parts got it, or sent with a checksum of the client's
    // own, have none).
    let part_algorithm = algorithm.unwrap_or(DEFAULT_CHECKSUM);
    let part_sums: Option<Vec<&str>> = chosen
        .iter()
        .map(|p| {
            p.checksum
                .as_ref()
                .filter(|c| c.algorithm == part_algorithm)
                .map(|c| c.value.as_str())
        })
        .collect();
    let object_sum = match (algorithm, full_value, &part_sums) {
        (Some(a), Some(full), _) => Some((a, full)),
        (Some(a), None, Some(sums)) => {
            headers.insert(CHECKSUM_TYPE_HEADER.to_owned(), "COMPOSITE".to_owned());
            Some((a, composite_checksum(a, sums)?))
        }
        (None, Some(full), _) => {
            headers.insert(CHECKSUM_TYPE_HEADER.to_owned(), FULL_OBJECT.to_owned());
            Some((DEFAULT_CHECKSUM, full))
        }
        _ => None,
    };
    if let Some((a, value)) = object_sum {
        // A checksum named on completion is compared when it is of the
        // object's algorithm (an upload without one: only a CRC64NVME).
        if let Some(named) = named.filter(|n| algorithm.is_some() || n.algorithm == a) {
            let given = named.value.trim();
            let bare = value.split_once('-').map_or(value.as_str(), |(v, _)| v);
            if given != value && given != bare {
                return Err(CoreError::BadDigest(format!(
                    "The {} you specified for the object did not match the calculated checksum.",
                    checksum_header(a)
                )));
            }
        }
        headers.insert(checksum_header(a), value);
    }
    let parts = chosen
        .iter()
        .enumerate()
        .map(|(i, p)| ObjectPart {
            size_bytes: p.size_bytes,
            checksum: part_sums
                .as_ref()
                .and_then(|sums| sums.get(i))
                .map(|s| (*s).to_owned()),
        })
        .collect();
    Ok((headers, parts))
}

/// A part of an upload created with `algorithm` must carry a checksum of
/// that algorithm (S3's rule).
fn check_part_checksum(
    algorithm: Option<ChecksumAlgorithm>,
    checksum: Option<&PartChecksum>,
) -> CoreResult<()> {
    match (algorithm, checksum) {
        (None, _) => Ok(()),
        (Some(a), Some(c)) if c.algorithm == a => Ok(()),
        (Some(a), Some(c)) => Err(CoreError::InvalidRequest(format!(
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            a.name().to_ascii_lowercase(),
            c.algorithm.name().to_ascii_lowercase()
        ))),
        (Some(a), None) => Err(CoreError::InvalidRequest(format!(
            "The upload was created using a {} checksum. The part upload request must include a checksum header.",
            a.name().to_ascii_lowercase()
        ))),
    }
}

/// Whether the object `upload` completes into will be locked: the upload
/// was created with a retention or a legal hold ON (one OFF protects
/// nothing), or its bucket (`config`) gives new versions a default
/// retention.
fn will_be_locked(upload: &MultipartUpload, config: Option<&ObjectLockConfig>) -> bool {
    let asked = ObjectLock::of_headers(&upload.headers);
    asked.retention.is_some() || asked.held() || ObjectLockConfig::retains_by_default(config)
}

/// S3's answer to an `x-amz-copy-source-range` outside its source
/// (observed: `InvalidArgument`, "Range specified is not valid for source
/// object of size: N").
fn invalid_copy_range(size_bytes: u64) -> CoreError {
    CoreError::InvalidInput(format!(
        "Range specified is not valid for source object of size: {size_bytes}"
    ))
}

fn check_part_number(n: u32) -> CoreResult<()> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(CoreError::invalid(format!(
            "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive (got {n})"
        )))
    }
}

fn too_large(max: u64) -> CoreError {
    CoreError::TooLarge(format!(
        "the part or object is larger than this server's limit of {max} bytes (--max-object-size)"
    ))
}
